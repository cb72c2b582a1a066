"""A run's ONNX graph for CPU inference with ONNX Runtime: exported once, cached, rebuilt when the model changes.

    graph_path(model_dir, variant="fp32"|"int8", cache_dir=None, on_status=None) -> Path
    open_session(path) -> onnxruntime.InferenceSession   (threads set from the machine)
    run_logits(session, ids, pad_id) -> np.ndarray        (one padded batch)

How the graph is made (one way, no extra dependencies beyond onnxruntime and onnx):

1. ``torch.onnx.export(..., dynamo=False)``: the TorchScript exporter, with dynamic batch and
   sequence axes, inputs ``input_ids`` and ``attention_mask``, output ``logits``. torch 2.13 still
   ships it (with a deprecation notice); the newer ``dynamo=True`` exporter needs the extra
   ``onnxscript`` package, and ONNX Runtime's transformer fusions are written for the graphs the
   TorchScript exporter makes. The model is loaded with eager attention, which traces to plain ops.
2. ``onnxruntime.transformers.optimizer.optimize_model(model_type="bert")`` fuses attention,
   embedding + LayerNorm, skip + LayerNorm and bias + GELU (BERT, DistilBERT, RoBERTa, XLM-R...).
   A graph the optimizer cannot handle is kept unfused (still exact, just slower).
3. int8 (the fast variant): ``onnxruntime.quantization.quantize_dynamic`` on the optimized graph
   (int8 weights, activations quantized on the fly).

The files live in ``RUN/onnx/`` (``model.onnx``, ``model.int8.onnx``, ``onnx.json``) next to
``RUN/model/``; ``onnx.json`` holds a fingerprint (SHA-256 of config.json and the weight files,
plus the onnxruntime version and this module's FORMAT) and a graph is rebuilt when it no longer
matches. Every file is written to a temporary name and swapped in with ``os.replace``. A model
folder that is not a run (the bundled model, a Hugging Face cache folder) is cached in the app's
data folder under ``onnx-cache/<fingerprint>``; so is a run whose folder cannot be written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the export recipe changes: cached graphs are rebuilt
OPSET = 17
TOLERANCE = 1e-3  # max |logit difference| between the fp32 graph and PyTorch, checked at export
ONNX_DIR = "onnx"
META = "onnx.json"
FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx"}
VARIANTS = tuple(FILES)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
INPUTS = ("input_ids", "attention_mask")


class OnnxUnavailable(RuntimeError):
    """ONNX Runtime is not installed, or this model could not be exported; callers fall back to PyTorch."""


def import_runtime():
    """The onnxruntime module, or OnnxUnavailable (it is a regular dependency, but a broken install must not stop the app)."""
    try:
        import onnxruntime
    except Exception as exc:  # noqa: BLE001 - ImportError, or a DLL that fails to load
        raise OnnxUnavailable(f"ONNX Runtime is not available ({exc.__class__.__name__}: {exc})") from exc
    return onnxruntime


def fingerprint(model_dir: str | Path) -> str:
    """SHA-256 over config.json and every weight file in ``model_dir`` (names and bytes), the
    onnxruntime version and FORMAT: any change to the model gives a new fingerprint."""
    ort = import_runtime()
    model_dir = Path(model_dir)
    digest = hashlib.sha256(f"format={FORMAT};onnxruntime={ort.__version__};opset={OPSET}".encode())
    files = [model_dir / "config.json"] + [p for p in [model_dir / "head.json"] if p.is_file()] + sorted(p for p in model_dir.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file())
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def cache_dir_for(model_dir: str | Path, fp: str | None = None) -> Path:
    """RUN/onnx for a run's model/ folder; the app's data folder for any other model folder."""
    model_dir = Path(model_dir)
    if model_dir.name == "model" and (model_dir.parent / "run.json").is_file() and not (model_dir.parent / ONNX_DIR).is_symlink():
        return model_dir.parent / ONNX_DIR  # (a link there, planted in a received run, would send our writes elsewhere)
    return shared_cache_dir(fp or fingerprint(model_dir))


def shared_cache_dir(fp: str) -> Path:
    from .appdirs import user_dir

    return user_dir("data") / "onnx-cache" / fp[:24]


def graph_path(model_dir: str | Path, variant: str = "fp32", cache_dir: str | Path | None = None,
               on_status: Callable[[str], None] | None = None) -> Path:
    """The cached ONNX graph of ``model_dir`` in ``variant``, exported first when missing or stale.

    Raises OnnxUnavailable when onnxruntime is missing or the export fails."""
    if variant not in FILES:
        raise ValueError(f"unknown ONNX variant {variant!r}")
    model_dir = Path(model_dir)
    fp = fingerprint(model_dir)
    folder = Path(cache_dir) if cache_dir is not None else cache_dir_for(model_dir, fp)
    path = _cached(folder, variant, fp)
    if path is not None:
        return path
    try:
        return _build(model_dir, folder, variant, fp, on_status)
    except OSError as exc:  # a read-only run folder: use the app's own cache instead
        fallback = shared_cache_dir(fp)
        if folder == fallback:
            raise OnnxUnavailable(f"Could not write the ONNX graph ({exc})") from exc
        log.info("Cannot write %s (%s); caching the ONNX graph in %s", folder, exc, fallback)
        return _cached(fallback, variant, fp) or _build(model_dir, fallback, variant, fp, on_status)


def _read_meta(folder: Path) -> dict:
    try:
        return json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _cached(folder: Path, variant: str, fp: str) -> Path | None:
    meta = _read_meta(folder)
    entry = (meta.get("variants") or {}).get(variant)
    path = folder / FILES[variant]
    if meta.get("fingerprint") == fp and entry and path.is_file() and path.stat().st_size == entry.get("bytes"):
        return path
    return None


def _build(model_dir: Path, folder: Path, variant: str, fp: str, on_status) -> Path:
    say = on_status or (lambda message: None)
    folder.mkdir(parents=True, exist_ok=True)
    meta = _read_meta(folder)
    if meta.get("fingerprint") != fp:
        meta = {"fingerprint": fp, "format": FORMAT, "source": str(model_dir), "variants": {}}
    fp32 = _cached(folder, "fp32", fp)
    if fp32 is None:
        say("Preparing the fast CPU engine (ONNX export, once per model)")
        t0 = time.perf_counter()
        fp32 = folder / FILES["fp32"]
        info = _atomic_file(fp32, lambda tmp: export_optimized(model_dir, tmp))
        meta["variants"]["fp32"] = {**info, "bytes": fp32.stat().st_size, "seconds": round(time.perf_counter() - t0, 2)}
        _write_meta(folder, meta)
    if variant == "fp32":
        return fp32
    say("Quantizing the ONNX model to int8")
    t0 = time.perf_counter()
    path = folder / FILES[variant]
    info = _atomic_file(path, lambda tmp: quantize_int8(fp32, tmp))
    meta["variants"][variant] = {**info, "bytes": path.stat().st_size, "seconds": round(time.perf_counter() - t0, 2)}
    _write_meta(folder, meta)
    return path


def _atomic_file(final: Path, make: Callable[[Path], dict]) -> dict:
    from .runs import atomic_path

    # runs.atomic_path: a new random name made with O_EXCL (a link planted at a guessable name such as
    # .model.onnx.PID.tmp is never written through), renamed over ``final`` (a link there is replaced)
    with atomic_path(final) as tmp:
        return make(tmp)


def _write_meta(folder: Path, meta: dict) -> None:
    def write(tmp: Path) -> dict:
        tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return {}

    _atomic_file(folder / META, write)


@contextlib.contextmanager
def _quiet():
    """Mute log records below ERROR while ONNX Runtime's optimizer and quantizer run: they log every
    fusion at INFO and advice meant for other workflows at WARNING, on loggers of their own."""
    before = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(before)


def graph_record(path: str | Path) -> dict:
    """What onnx.json says about the cached graph at ``path``: exporter, fused operators, the checked
    logit difference (fp32), the quantization (int8), bytes and seconds."""
    path = Path(path)
    for variant, name in FILES.items():
        if path.name == name:
            return dict((_read_meta(path.parent).get("variants") or {}).get(variant) or {})
    return {}


# -- making the graphs ----------------------------------------------------------------------------
def export_optimized(model_dir: str | Path, out_path: str | Path) -> dict:
    """Export ``model_dir`` (a sequence-classification model) to ``out_path`` and fuse it for ONNX Runtime."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from .inference import quiet_transformers
    from .model_files import load_model

    import_runtime()
    quiet_transformers()
    from . import sentence_head

    if sentence_head.is_head_folder(model_dir):  # few-shot / zero-shot: encoder + our linear head
        model = sentence_head.load_model(model_dir)[0].float().eval()
    else:
        try:
            model = load_model(model_dir, AutoModelForSequenceClassification, attn_implementation="eager").float().eval()
        except Exception as exc:  # noqa: BLE001 - a model without eager attention: any loadable one will do
            log.debug("eager attention unavailable (%s); exporting the default attention", exc)
            model = load_model(model_dir, AutoModelForSequenceClassification).float().eval()
    out_path = Path(out_path)
    raw = out_path.with_name(out_path.name + ".raw")
    try:
        _torch_export(model, raw)
        fused = optimize(raw, out_path, model.config)
        worst = max_logit_difference(out_path, model)
    except Exception as exc:  # noqa: BLE001 - any exporter failure means: stay on PyTorch
        raise OnnxUnavailable(f"The ONNX export failed ({exc.__class__.__name__}: {exc})") from exc
    finally:
        if raw.exists():
            raw.unlink()
    if not worst < TOLERANCE:
        raise OnnxUnavailable(f"The ONNX model differs from PyTorch by {worst:.2e} (tolerance {TOLERANCE:g})")
    return {"exporter": f"torch {torch.__version__} torch.onnx.export(dynamo=False), opset {OPSET}", "fused": fused,
            "max_abs_diff": worst, "tolerance": TOLERANCE}


def max_logit_difference(path: Path, model) -> float:
    """Largest |logit difference| between the graph in ONNX Runtime and ``model`` in PyTorch, over
    padded batches of random token ids of several lengths (one row of each batch is unpadded)."""
    import torch

    rng = np.random.default_rng(0)
    limit = int(getattr(model.config, "max_position_embeddings", 64) or 64) - 2
    session = open_session(path)
    worst = 0.0
    for batch, width in ((1, 5), (3, min(17, limit)), (4, min(61, limit))):
        lengths = [width] + [int(rng.integers(2, width + 1)) for _ in range(batch - 1)]
        ids = [rng.integers(5, model.config.vocab_size, size=n).tolist() for n in lengths]
        feed = pad_batch(ids, int(getattr(model.config, "pad_token_id", 0) or 0))
        got = session.run(["logits"], feed)[0]
        with torch.no_grad():
            expected = model(**{k: torch.as_tensor(v) for k, v in feed.items()}).logits.float().numpy()
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def _torch_export(model, path: Path) -> None:
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    # two rows of different lengths: the mask has padding, so its code path is the one traced
    ids = torch.tensor([[5, 6, 7, 8, 9, 10], [5, 6, 7, 0, 0, 0]], dtype=torch.long).clamp(max=model.config.vocab_size - 1)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
        torch.onnx.export(LogitsOnly(model).eval(), (ids, mask), str(path), input_names=list(INPUTS), output_names=["logits"],
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, dynamo=False)


def optimize(raw: Path, out_path: Path, config) -> dict:
    """Fuse the transformer blocks of ``raw`` into ``out_path``; returns the fused operator counts."""
    from onnxruntime.transformers.optimizer import optimize_model

    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", 0)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", 0)
    with _quiet():  # a graph the optimizer cannot fuse stays as it is ("failed to fuse" notes)
        opt = optimize_model(str(raw), model_type="bert", num_heads=int(heads or 0), hidden_size=int(hidden or 0))
        stats = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
        opt.save_model_to_file(str(out_path))
    return stats


def quantize_int8(fp32_path: str | Path, out_path: str | Path) -> dict:
    """Dynamic int8 quantization (weights int8, activations quantized per batch) of an fp32 graph."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from onnx import TensorProto

    try:
        with _quiet():
            # fused attention comes from the com.microsoft domain, which ONNX shape inference cannot type
            quantize_dynamic(str(fp32_path), str(out_path), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": TensorProto.FLOAT})
    except Exception as exc:  # noqa: BLE001
        raise OnnxUnavailable(f"int8 quantization failed ({exc.__class__.__name__}: {exc})") from exc
    return {"quantization": "onnxruntime.quantization.quantize_dynamic(QInt8, per_channel=True)"}


# -- running them ---------------------------------------------------------------------------------
def machine_threads() -> int:
    """Threads for one inference session: torch's intra-op count (physical cores by default, fewer
    where the app keeps a core for the window), never more than this process may use."""
    try:
        import torch

        wanted = torch.get_num_threads()
    except ImportError:
        wanted = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(wanted, usable))


def open_session(path: str | Path, threads: int | None = None):
    ort = import_runtime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or machine_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int) -> dict[str, np.ndarray]:
    """int64 input_ids and attention_mask, padded to the batch's longest sequence."""
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


def run_logits(session, ids: Sequence[Sequence[int]], pad_id: int) -> np.ndarray:
    return session.run(["logits"], pad_batch(ids, pad_id))[0]
