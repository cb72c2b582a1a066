"""A loaded classifier for inference: length-sorted batches, no gradient, plain-data results.

One Classifier, two engines:

- ONNX Runtime (``engine`` "onnx-fp32", or "onnx-int8" for the fast variant) on the CPU: the run's
  graph comes from ``onnx_graph`` (exported once, fused for transformer encoders, cached in
  RUN/onnx/). This is what ``Classifier.load`` gives on a CPU when onnxruntime works.
- PyTorch ("torch") on CUDA and MPS, for a model passed in directly (the training loop's
  validation), when ``engine="torch"`` is asked for, and as the fallback when ONNX Runtime is missing
  or the export fails; the reason is logged once and kept in ``engine_note``.

``.model`` is the PyTorch model either way; with ONNX Runtime it is loaded only when first used.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from . import batching
from .device import choose
from .errors import TrainingCancelled, UserInputError
from .metrics import sigmoid, softmax

log = logging.getLogger(__name__)

DEFAULT_BATCH = 64
ENGINES = ("auto", "onnx", "torch")
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
_said: set[str] = set()  # fallback notes already logged in this process


def quiet_transformers() -> None:
    """No progress bars or 'newly initialized weights' chatter on our users' terminals."""
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


MULTI_LABEL = "multi_label_classification"
STUDIO_KEY = "classifier_studio"  # our block in config.json: thresholds, long-document choice (ignored by transformers)


@dataclass
class Prediction:
    label: str  # multi-label: the predicted labels joined by ";" ("" when none passes its threshold)
    confidence: float  # multi-label: the lowest probability among the predicted labels (the highest when none)
    probabilities: dict[str, float]
    labels: list[str] | None = None  # multi-label: the predicted labels


class Classifier:
    """Model + tokenizer + labels on one device. Thread-confined: use it from one thread."""

    def __init__(self, model, tokenizer, labels: Sequence[str], device: torch.device, max_length: int, autocast_dtype=None,
                 *, session=None, onnx_path: str | Path | None = None, model_dir: str | Path | None = None,
                 engine: str | None = None, engine_note: str | None = None):
        self._model = model
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.device = device
        self.max_length = int(max_length)
        self.autocast_dtype = autocast_dtype
        self.pad_id = batching.pad_id_of(tokenizer)
        self.session = session  # an onnxruntime.InferenceSession, or None for PyTorch
        self.onnx_path = Path(onnx_path) if onnx_path is not None else None  # the graph the session runs
        self.model_dir = Path(model_dir) if model_dir is not None else None
        self.engine = engine or ("onnx-fp32" if session is not None else "torch")
        self.engine_note = engine_note  # why PyTorch was used although ONNX Runtime was wanted
        # multi-label: sigmoid per label and one threshold each (tuned on validation); else softmax + argmax
        self.multi_label = False
        self.thresholds = np.full(len(self.labels), 0.5)
        # long documents: "auto" (the run's own choice, from config.json), "on" (every text longer than
        # max_length is read in windows) or "off" (cut at max_length, as before long-document mode)
        self.long_documents = "auto"
        self.recorded_long = None  # "on" / "off": what the run was trained with (run.json / config.json)
        self.combine_method = "mean"
        self.model_limit: int | None = None  # the most tokens the model reads at all (None: unknown)
        self.last_long = 0  # documents longer than one window in the last call (predict and evaluate report it)

    def configure(self, config_block: dict | None = None, problem_type: str | None = None) -> "Classifier":
        """Multi-label and long-document settings from config.json's "classifier_studio" block."""
        block = config_block or {}
        self.multi_label = (problem_type or block.get("problem_type")) == MULTI_LABEL
        thresholds = block.get("thresholds") or {}
        self.thresholds = np.asarray([float(thresholds.get(l, 0.5)) for l in self.labels])
        long = block.get("long_documents") or {}
        if long.get("mode") in ("on", "off"):
            self.recorded_long = long["mode"]
        if long.get("combine"):
            self.combine_method = str(long["combine"])
        return self

    @property
    def model(self):
        """The PyTorch model (loaded on first use when ONNX Runtime does the predicting)."""
        if self._model is None and self.model_dir is not None:
            self._model = _load_torch_model(self.model_dir).to(self.device).eval()
        return self._model

    @model.setter
    def model(self, value) -> None:
        self._model = value

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", precision: str = "auto", engine: str = "auto",
             on_status: Callable[[str], None] | None = None) -> "Classifier":
        """Load a run folder (RUN_DIR) or a Hugging Face model folder with a classification head; also a
        few-shot or zero-shot run (a sentence encoder with our linear head, see sentence_head.py).

        ``precision="int8"`` is the fast variant: the int8 ONNX model on the CPU. ``engine``: "auto"
        (ONNX Runtime on the CPU, PyTorch on a GPU), "onnx" (ONNX Runtime or UserInputError) or
        "torch". ``on_status`` hears the one-time export ("Preparing the fast CPU engine...")."""
        from .model_files import load_config, load_tokenizer

        quiet_transformers()
        from .models import check_model_folder

        model_dir = check_model_folder(path).model_dir  # exit 2 for a missing, damaged or unsafe model
        if engine not in ENGINES:
            raise UserInputError(f"Unknown engine '{engine}'.", where="engine", fix=f"Use one of: {', '.join(ENGINES)}.")
        if precision not in PRECISIONS:
            raise UserInputError(f"Unknown precision '{precision}'.", where="precision", fix=f"Use one of: {', '.join(PRECISIONS)}.")
        int8 = precision == "int8"
        if int8 and device not in ("auto", "cpu"):
            raise UserInputError("The int8 model runs on the CPU only.", where=f"--device {device}", fix="Use --device cpu or auto.")
        choice = choose("cpu" if int8 else device, "fp32" if int8 else precision)
        tokenizer = load_tokenizer(model_dir)
        config = load_config(model_dir)
        id2label = config.id2label or {}
        labels = [str(id2label.get(i, id2label.get(str(i), i))) for i in range(config.num_labels)]
        from . import sentence_head

        if sentence_head.is_head_folder(model_dir):
            labels = [str(l) for l in sentence_head.read_meta(model_dir)["labels"]]
        max_length = _max_length_for(model_dir, tokenizer, config)
        limit = _model_limit(tokenizer, config)
        block = dict(getattr(config, STUDIO_KEY, None) or {})
        problem = getattr(config, "problem_type", None)
        note = None
        if choice.device.type == "cpu" and engine != "torch":
            variant = "int8" if int8 else "fp32"
            try:
                from . import onnx_graph

                graph = onnx_graph.graph_path(model_dir, variant, on_status=on_status)
                clf = cls(None, tokenizer, labels, choice.device, max_length, None, session=onnx_graph.open_session(graph),
                          onnx_path=graph, model_dir=model_dir, engine=f"onnx-{variant}").configure(block, problem)
                clf.model_limit = max(limit, max_length)
                return clf
            except TrainingCancelled:  # the caller stopped the job while the graph was being made
                raise
            except Exception as exc:  # noqa: BLE001 - OnnxUnavailable, or a session that would not open
                if engine == "onnx":
                    raise UserInputError(f"ONNX Runtime cannot run this model: {exc}", where=str(path),
                                         fix="Install onnxruntime (pip install onnxruntime), or use the PyTorch engine.") from exc
                note = (f"Using PyTorch for {'int8' if int8 else 'CPU'} inference instead of ONNX Runtime: {exc}"
                        + (" (the int8 variant needs ONNX Runtime; this is the fp32 model)" if int8 else ""))
                _say_once(note, on_status)
        elif engine == "onnx":
            raise UserInputError("ONNX Runtime runs on the CPU only.", where=f"--device {device}", fix="Use --device cpu.")
        model = _load_torch_model(model_dir)
        model.to(choice.device).eval()
        clf = cls(model, tokenizer, labels, choice.device, max_length, choice.autocast_dtype, model_dir=model_dir,
                  engine_note=note).configure(block, problem)
        clf.model_limit = max(limit, max_length)
        return clf

    # -- core paths ---------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return batching.encode(self.tokenizer, [t if t else "" for t in texts], self.max_length)

    @torch.inference_mode()
    def logits_for_ids(self, ids: Sequence[Sequence[int]], batch_size: int = DEFAULT_BATCH,
                       should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        """Logits in input order, computed over length-sorted batches."""
        out = np.zeros((len(ids), len(self.labels)), dtype=np.float32)
        if not len(ids):
            return out
        if self.session is not None:
            from .onnx_graph import run_logits

            for batch_idx in batching.sorted_batches(batching.lengths_of(ids), batch_size):
                if should_stop is not None and should_stop():
                    raise TrainingCancelled()
                out[batch_idx] = run_logits(self.session, [ids[i] for i in batch_idx], self.pad_id)
            return out
        was_training = self.model.training
        self.model.eval()
        try:
            for batch_idx in batching.sorted_batches(batching.lengths_of(ids), batch_size):
                if should_stop is not None and should_stop():
                    raise TrainingCancelled()
                batch = batching.collate([ids[i] for i in batch_idx], self.pad_id, self.device)
                if self.autocast_dtype is not None:
                    with torch.autocast(self.device.type, dtype=self.autocast_dtype):
                        logits = self.model(**batch).logits
                else:
                    logits = self.model(**batch).logits
                out[batch_idx] = logits.float().cpu().numpy()
        finally:
            if was_training:
                self.model.train()
        return out

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Sigmoid per label (multi-label) or softmax over the labels."""
        return sigmoid(logits) if self.multi_label else softmax(logits)

    def decide(self, probs: np.ndarray) -> list[list[int]]:
        """The predicted label positions per row: those at or above their threshold (multi-label), or the argmax."""
        if self.multi_label:
            return [np.flatnonzero(row >= self.thresholds).tolist() for row in probs]
        return [[int(row.argmax())] for row in probs]

    def reads_in_windows(self, n_tokens: int) -> bool:
        """Whether a text of ``n_tokens`` (special tokens included) is read in windows (see ``long_documents``)."""
        if n_tokens <= self.max_length or self.long_documents == "off":
            return False
        return self.long_documents == "on" or self.recorded_long == "on"

    def document_logits(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH,
                        should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        """Logits per text; texts longer than one window are read in windows when ``reads_in_windows``
        says so (combined with ``combine_method``), else cut at max_length. ``last_long`` counts the texts
        longer than one window."""
        texts = [t if t else "" for t in texts]
        whole = batching.tokenize(self.tokenizer, texts, should_stop)
        if len(whole) < len(texts):  # stopped while tokenizing: no partial answer
            raise TrainingCancelled()
        lengths = whole.lengths
        long = np.flatnonzero(lengths > self.max_length).tolist()
        self.last_long = len(long)
        if not long:
            return self.logits_for_ids(whole, batch_size, should_stop)
        windowed = [i for i in long if self.reads_in_windows(int(lengths[i]))]
        layout = batching.special_layout(self.tokenizer)
        if not windowed:
            return self.logits_for_ids(whole.truncated(self.max_length, layout), batch_size, should_stop)
        from . import long_documents as ld

        parts, doc = ld.split_all([whole[i] for i in windowed], self.max_length, *layout)
        ids = whole.truncated(self.max_length, layout)
        chosen = set(windowed)
        short = [i for i in range(len(texts)) if i not in chosen]
        logits = self.logits_for_ids([ids[i] for i in short] + list(parts), batch_size, should_stop)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        out[short] = logits[:len(short)]
        out[windowed] = ld.combine(logits[len(short):], doc, len(windowed), self.combine_method, self.multi_label)
        return out

    def predict_proba(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH,
                      should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        return self.probabilities(self.document_logits(texts, batch_size, should_stop))

    def predict(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH) -> list[Prediction]:
        probs = self.predict_proba(texts, batch_size)
        return [self.to_prediction(row) for row in probs]

    def to_prediction(self, row: np.ndarray) -> Prediction:
        probabilities = {l: float(p) for l, p in zip(self.labels, row)}
        if self.multi_label:
            chosen = self.decide(row[None, :])[0]
            names = [self.labels[i] for i in chosen]
            confidence = float(min(row[i] for i in chosen)) if chosen else float(row.max())
            return Prediction(";".join(names), confidence, probabilities, names)
        best = int(row.argmax())
        return Prediction(self.labels[best], float(row[best]), probabilities)


def _load_torch_model(model_dir: Path):
    """The PyTorch model of a model folder: a sequence classifier, or an encoder with our linear head."""
    from transformers import AutoModelForSequenceClassification

    from . import sentence_head
    from .model_files import load_model

    if sentence_head.is_head_folder(model_dir):
        return sentence_head.load_model(model_dir)[0]
    return load_model(model_dir, AutoModelForSequenceClassification)


def _say_once(note: str, on_status: Callable[[str], None] | None) -> None:
    """Log a fallback reason once per process; tell ``on_status`` every time (each caller shows it once)."""
    if note not in _said:
        _said.add(note)
        log.warning(note)
    if on_status is not None:
        on_status(note)


def _model_limit(tokenizer, config) -> int:
    """The most tokens the model reads at all (its position embeddings, at most 512)."""
    limit = getattr(config, "max_position_embeddings", 512) or 512
    if getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
        limit -= 2
    tok_limit = getattr(tokenizer, "model_max_length", limit) or limit
    return int(min(limit, tok_limit, 512))


def _max_length_for(model_dir: Path, tokenizer, config) -> int:
    """The max length the model was trained with (run.json), else the model's own limit."""
    run_json = model_dir.parent / "run.json"
    if run_json.is_file():
        try:
            chosen = json.loads(run_json.read_text(encoding="utf-8"))["settings"]["max_length"]
            if chosen:
                return int(chosen)
        except (OSError, KeyError, ValueError, TypeError):
            pass
    limit = getattr(config, "max_position_embeddings", 512) or 512
    if getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
        limit -= 2
    tok_limit = getattr(tokenizer, "model_max_length", limit) or limit
    return int(min(limit, tok_limit, 512))
