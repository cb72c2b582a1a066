"""Issue #27, the folder and write holes: folders received from someone else, planted links, stray files,
a full disk. Each test builds its hostile folder and checks that nothing runs, nothing outside is written,
and the command ends with exit 2 and a fix (never exit 1 with a traceback)."""

from __future__ import annotations

import builtins
import csv
import errno
import json
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest

from desktop_app.cli.app import main
from desktop_app.core import model_files
from desktop_app.core.errors import UserInputError
from desktop_app.core.outputs import LOCK_FILE, lock_output_file, lock_run_dir
from desktop_app.core.runs import as_os_error, atomic_path

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["billing", "bug", "login"]
EVIL_PY = """
from pathlib import Path
Path({marker!r}).write_text("code from the model folder ran")
from transformers import BertConfig as EvilConfig, BertForSequenceClassification as EvilModel
"""


def cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.err


def make_run(model_src: Path, folder: Path, status: str = "finished") -> Path:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(
        model_src, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    model.save_pretrained(folder / "model")
    AutoTokenizer.from_pretrained(model_src).save_pretrained(folder / "model")
    record = {"status": status, "labels": LABELS, "settings": {"max_length": 32}, "final_metrics": {}}
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def base_run(tiny_models, tmp_path_factory) -> Path:
    return make_run(tiny_models["distilbert"], tmp_path_factory.mktemp("hostile") / "run1")


@pytest.fixture
def run1(base_run, tmp_path) -> Path:
    return Path(shutil.copytree(base_run, tmp_path / "run1"))


@pytest.fixture
def docs(tmp_path) -> Path:
    path = tmp_path / "data.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for i in range(12):
            w.writerow([f"my invoice shows a double charge {i}", "billing"])
            w.writerow([f"the app crashes when i open settings {i}", "bug"])
            w.writerow([f"i cannot log in after a password reset {i}", "login"])
    return path


@pytest.fixture
def said_yes(monkeypatch):
    """Anyone asking on the terminal gets "y" (as `yes y | classifier-studio ...`), and is recorded."""
    asked = []

    def answer(prompt=""):
        asked.append(prompt)
        return "y"

    monkeypatch.setattr(builtins, "input", answer)
    return asked


def plant_custom_code(model_dir: Path, marker: Path, keep_model_type: bool = False) -> None:
    """config.json pointing at evil.py in the same folder (auto_map), as a received folder may."""
    config = json.loads((model_dir / "config.json").read_text())
    if not keep_model_type:
        config.pop("model_type", None)
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel",
                          "AutoModelForSequenceClassification": "evil.EvilModel"}
    (model_dir / "config.json").write_text(json.dumps(config))
    (model_dir / "evil.py").write_text(EVIL_PY.format(marker=str(marker)))


class _Evil:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def evil_pickle(path: Path, marker: Path) -> None:
    with open(path, "wb") as fh:
        pickle.dump({"weight": _Evil(marker)}, fh)


def _assert_refused_code(code: int, err: str, marker: Path, asked: list) -> None:
    assert code == 2, err
    assert "needs code that ships with it" in err and "does not run code from model folders" in err, err
    assert "Traceback" not in err and "Unexpected error" not in err
    assert not marker.exists(), "code from the model folder ran"
    assert not asked, f"the user was asked: {asked}"


# ----------------------------------------------------------------------------- 1: custom code


@pytest.mark.parametrize("keep_model_type", [False, True])
def test_predict_never_asks_and_never_runs_code_from_a_run_folder(capsys, run1, docs, tmp_path, said_yes, keep_model_type):
    marker = tmp_path / "pwned"
    plant_custom_code(run1 / "model", marker, keep_model_type)
    code, err = cli(capsys, "predict", run1, docs, "--out", tmp_path / "o.csv")
    _assert_refused_code(code, err, marker, said_yes)
    assert not (tmp_path / "o.csv").exists()


def test_label_next_train_and_compare_refuse_custom_code(capsys, run1, docs, tmp_path, said_yes):
    marker = tmp_path / "pwned"
    plant_custom_code(run1 / "model", marker)
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(docs.read_text() + "please refund my card,\nthe page is blank,\n", encoding="utf-8")
    code, err = cli(capsys, "label-next", mixed, "--run", run1, "--out", tmp_path / "next.csv")
    _assert_refused_code(code, err, marker, said_yes)
    code, err = cli(capsys, "train", docs, "--model", run1 / "model", "--out", tmp_path / "t", "--epochs", "1",
                    "--max-length", "16", "--method", "fine-tune")
    _assert_refused_code(code, err, marker, said_yes)
    code, err = cli(capsys, "compare", docs, "--models", run1 / "model", "--out", tmp_path / "c", "--epochs", "1",
                    "--max-length", "16")
    _assert_refused_code(code, err, marker, said_yes)


def test_resume_refuses_custom_code_at_the_recorded_model_path(capsys, tiny_models, docs, tmp_path, said_yes):
    base = Path(shutil.copytree(tiny_models["bert"], tmp_path / "base"))
    out = tmp_path / "run"
    code, err = cli(capsys, "train", docs, "--model", base, "--out", out, "--epochs", "1", "--max-length", "16", "--method", "fine-tune")
    assert code == 0, err
    record = json.loads((out / "run.json").read_text())
    assert Path(record["model"]["path"]).resolve() == base.resolve()
    record["status"] = "cancelled"  # an unfinished run whose base model was swapped for a hostile one
    (out / "run.json").write_text(json.dumps(record))
    marker = tmp_path / "pwned"
    plant_custom_code(base, marker)
    code, err = cli(capsys, "train", docs, "--out", out, "--resume")
    _assert_refused_code(code, err, marker, said_yes)


def test_a_tokenizer_that_points_at_code_is_refused_too(run1, tmp_path, said_yes):
    tok = json.loads((run1 / "model" / "tokenizer_config.json").read_text())
    tok["auto_map"] = {"AutoTokenizer": ["evil.EvilTokenizer", None]}
    (run1 / "model" / "tokenizer_config.json").write_text(json.dumps(tok))
    with pytest.raises(UserInputError, match="tokenizer_config.json points at evil.py"):
        model_files.load_tokenizer(run1 / "model")
    assert not said_yes


def test_every_model_load_in_the_app_goes_through_model_files():
    """No from_pretrained on a user's folder outside core/model_files.py; the exported predict.py's passes
    trust_remote_code=False itself."""
    offenders = []
    for path in sorted((ROOT / "desktop_app").rglob("*.py")):
        if path.name == "model_files.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ".from_pretrained(" in line and "trust_remote_code=False" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
    from desktop_app.core.export import PREDICT_SCRIPTS

    assert "from_pretrained(HERE, trust_remote_code=False, use_safetensors=True)" in PREDICT_SCRIPTS["hf"]
    assert "AutoTokenizer.from_pretrained(HERE, trust_remote_code=False)" in PREDICT_SCRIPTS["hf"]


def test_the_helpers_pass_trust_remote_code_false_explicitly(run1, monkeypatch):
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    seen = []
    for cls in (AutoConfig, AutoTokenizer, AutoModelForSequenceClassification):
        original = cls.from_pretrained

        def spy(*args, _original=original, **kwargs):
            seen.append(dict(kwargs))
            return _original(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", spy)
    model_files.load_config(run1 / "model")
    model_files.load_tokenizer(run1 / "model")
    model_files.load_model(run1 / "model")
    assert len(seen) >= 3 and all(k.get("trust_remote_code") is False for k in seen)
    assert seen[-1].get("use_safetensors") is True


# ----------------------------------------------------------------------------- 2: planted links


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    return victim


def test_predict_never_writes_through_a_link_at_its_lock_file(capsys, run1, docs, tmp_path):
    victim = _victim(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    os.symlink("../victim.txt", work / ".out.csv.lock")
    code, err = cli(capsys, "predict", run1, docs, "--out", work / "out.csv")
    assert code == 0, err
    assert victim.read_text(encoding="utf-8") == "precious"
    assert (work / "out.csv").is_file()


def test_a_hard_link_at_the_lock_file_is_never_truncated(tmp_path):
    victim = _victim(tmp_path)
    os.link(victim, tmp_path / ".out.csv.lock")
    with lock_output_file(tmp_path / "out.csv", command="predict"):
        assert victim.read_text(encoding="utf-8") == "precious"
    assert victim.read_text(encoding="utf-8") == "precious"


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo"])
def test_run_lock_never_follows_a_planted_entry(tmp_path, kind):
    victim = _victim(tmp_path)
    run = tmp_path / "RUN"
    run.mkdir()
    lock = run / LOCK_FILE
    if kind == "symlink":
        os.symlink(victim, lock)
    elif kind == "hardlink":
        os.link(victim, lock)
    else:
        os.mkfifo(lock)
    with lock_run_dir(run, command="train"):
        assert lock.is_file() and not lock.is_symlink() and os.stat(lock).st_nlink == 1
    assert victim.read_text(encoding="utf-8") == "precious"


def test_train_resume_restart_and_export_never_write_through_a_planted_lock(capsys, tiny_models, docs, tmp_path):
    victims = []
    out = tmp_path / "RUN"
    code, err = cli(capsys, "train", docs, "--model", tiny_models["bert"], "--out", out, "--epochs", "1", "--max-length", "16", "--method", "fine-tune")
    assert code == 0, err
    record = json.loads((out / "run.json").read_text())
    record["status"] = "cancelled"
    (out / "run.json").write_text(json.dumps(record))
    for args in (["train", docs, "--out", out, "--resume"], ["train", docs, "--out", out, "--restart", "--epochs", "1",
                                                               "--max-length", "16", "--model", tiny_models["bert"],
                                                               "--method", "fine-tune"]):
        victim = tmp_path / f"victim{len(victims)}.txt"
        victim.write_text("precious")
        victims.append(victim)
        record = json.loads((out / "run.json").read_text())
        record["status"] = "cancelled"
        (out / "run.json").write_text(json.dumps(record))
        (out / LOCK_FILE).unlink(missing_ok=True)
        os.symlink(victim, out / LOCK_FILE)
        code, err = cli(capsys, *args)
        assert code == 0, err
    victim = tmp_path / "victim_export.txt"
    victim.write_text("precious")
    victims.append(victim)
    os.symlink(victim, tmp_path / ".exp.lock")  # an export's lock lies beside its folder
    code, err = cli(capsys, "export", out, "--format", "hf", "--out", tmp_path / "exp")
    assert code == 0, err
    assert [v.read_text() for v in victims] == ["precious"] * 3


def test_atomic_writes_replace_a_planted_link_at_the_target_and_refuse_one_at_the_tmp_name(tmp_path):
    victim = _victim(tmp_path)
    target = tmp_path / "out.json"
    os.symlink(victim, target)
    with atomic_path(target) as tmp:
        tmp.write_text("ours")
    assert not target.is_symlink() and target.read_text() == "ours"
    assert victim.read_text() == "precious"
    target2 = tmp_path / "second.json"
    with pytest.raises(OSError):
        with atomic_path(target2) as tmp:
            tmp.unlink()
            os.symlink(victim, tmp)  # swapped for a link while we wrote
    assert not target2.exists() and victim.read_text() == "precious"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".second.json.")]


# ----------------------------------------------------------------------------- 3: stray files in an export


def test_export_carries_only_what_we_wrote(capsys, run1, docs, tmp_path):
    marker = tmp_path / "pwned"
    model = run1 / "model"
    for name in ("pytorch_model.bin", "optimizer.pt", "stuff.pkl", "training_args.bin"):
        evil_pickle(model / name, marker)
    (model / "evil.py").write_text(f"open({str(marker)!r}, 'w')")
    (model / "notes.txt").write_text("private")
    code, err = cli(capsys, "export", run1, "--format", "hf", "--out", tmp_path / "exp")
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "exp").iterdir())
    assert not {"pytorch_model.bin", "optimizer.pt", "stuff.pkl", "training_args.bin", "evil.py", "notes.txt"} & set(names)
    assert {"config.json", "model.safetensors", "tokenizer.json", "predict.py", "labels.json", "README.md",
            "export.json"} <= set(names)
    assert all(model_files.allowed_model_file(n) or n in {"predict.py", "labels.json", "README.md", "export.json"}
               for n in names), names
    assert not marker.exists()
    code, err = cli(capsys, "predict", tmp_path / "exp", docs, "--out", tmp_path / "p.csv")  # the export still predicts
    assert code == 0, err


def test_copy_model_files_drops_auto_map_and_refuses_links(run1, tmp_path):
    config = json.loads((run1 / "model" / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil.EvilModel"}
    (run1 / "model" / "config.json").write_text(json.dumps(config))
    copied = model_files.copy_model_files(run1 / "model", tmp_path / "out")
    assert "config.json" in copied and "auto_map" not in json.loads((tmp_path / "out" / "config.json").read_text())
    assert json.loads((tmp_path / "out" / "config.json").read_text())["model_type"] == config["model_type"]
    (run1 / "model" / "vocab.txt").unlink(missing_ok=True)
    os.symlink(tmp_path / "outside.txt", run1 / "model" / "vocab.txt")
    with pytest.raises(UserInputError, match="not a plain file"):
        model_files.copy_model_files(run1 / "model", tmp_path / "out2")


def test_allow_list():
    for name in ("config.json", "tokenizer.json", "vocab.txt", "merges.txt", "model.safetensors", "head.json",
                 "head.safetensors", "model-00001-of-00002.safetensors", "model.safetensors.index.json"):
        assert model_files.allowed_model_file(name), name
    for name in ("pytorch_model.bin", "optimizer.pt", "x.pkl", "training_args.bin", "evil.py", "modeling_evil.py",
                 "model.safetensors.py", "notes.txt", "tf_model.h5"):
        assert not model_files.allowed_model_file(name), name


# ----------------------------------------------------------------------------- 4: a full disk


def _disk_full(*args, **kwargs):
    from safetensors import SafetensorError

    raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")


def test_train_on_a_full_disk_is_exit_2_and_resumable(capsys, tiny_models, docs, tmp_path, monkeypatch):
    import transformers.modeling_utils

    out = tmp_path / "RUN"
    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", _disk_full)
    code, err = cli(capsys, "train", docs, "--model", tiny_models["bert"], "--out", out, "--epochs", "1", "--max-length", "16", "--method", "fine-tune")
    assert code == 2, err
    assert "The disk is full" in err and "MB" in err and "--resume" in err and "Unexpected" not in err, err
    assert not [p for p in out.iterdir() if p.name.startswith(".model.")]  # no half-written model left
    monkeypatch.undo()  # space freed
    code, err = cli(capsys, "train", docs, "--out", out, "--resume")
    assert code == 0, err
    assert json.loads((out / "run.json").read_text())["status"] == "finished"


def test_distill_on_a_full_disk_is_exit_2(capsys, tiny_models, docs, tmp_path, monkeypatch):
    import transformers.modeling_utils

    teacher = tmp_path / "teacher"
    code, err = cli(capsys, "train", docs, "--model", tiny_models["bert"], "--out", teacher, "--epochs", "1",
                    "--max-length", "16", "--method", "fine-tune")
    assert code == 0, err
    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", _disk_full)
    code, err = cli(capsys, "distill", teacher, docs, "--out", tmp_path / "student", "--layers", "1", "--epochs", "1")
    assert code == 2, err
    assert "The disk is full" in err and "Unexpected" not in err, err


@pytest.mark.parametrize("fmt", ["hf", "int8"])
def test_export_on_a_full_disk_says_how_much_is_free_and_needed(capsys, run1, tmp_path, monkeypatch, fmt):
    if fmt == "int8":
        pytest.importorskip("onnxruntime")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", full)
    code, err = cli(capsys, "export", run1, "--format", fmt, "--out", tmp_path / "exp")
    assert code == 2, err
    assert re.search(r"The disk is full: \d+ MB free, about \d+ MB needed", err), err
    assert not (tmp_path / "exp").exists() or not any((tmp_path / "exp").iterdir())


SYSTEM_ERRORS = [(errno.ENOSPC, "disk is full"), (errno.EMFILE, "too many files"), (errno.EROFS, "read-only"),
                 (errno.EACCES, "permission")]


@pytest.mark.parametrize("number, words", SYSTEM_ERRORS)
def test_predict_maps_system_errors_while_writing_to_exit_2(capsys, run1, docs, tmp_path, monkeypatch, number, words):
    from desktop_app.core import predict

    def fail(*args, **kwargs):
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(predict, "iter_documents", fail)
    code, err = cli(capsys, "predict", run1, docs, "--out", tmp_path / "o.csv")
    assert code == 2, err
    assert words in err.lower() and "Unexpected" not in err, err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.csv.")]


@pytest.mark.parametrize("number, words", SYSTEM_ERRORS)
def test_any_command_maps_system_errors_to_exit_2(capsys, run1, docs, tmp_path, monkeypatch, number, words):
    """Outside our own writers too (here: while loading the model), the CLI says what to do."""
    from desktop_app.core.inference import Classifier

    def fail(*args, **kwargs):
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(Classifier, "load", fail)
    code, err = cli(capsys, "predict", run1, docs, "--out", tmp_path / "o.csv")
    assert code == 2, err
    assert words in err.lower() and "Unexpected" not in err and "Fix:" in err, err


def test_as_os_error_reads_what_safetensors_and_torch_say(tmp_path):
    from safetensors import SafetensorError

    err = as_os_error(SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)"))
    assert isinstance(err, OSError) and err.errno == errno.ENOSPC
    err = as_os_error(RuntimeError("I/O error: Too many open files (os error 24)"))
    assert isinstance(err, OSError) and err.errno == errno.EMFILE
    other = RuntimeError("shape mismatch")
    assert as_os_error(other, tmp_path) is other  # this disk has room: not taken for a full one
    user = UserInputError("bad")
    assert as_os_error(user, tmp_path) is user


# ----------------------------------------------------------------------------- 8: pickle-only base models


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_base_model_with_only_a_pickle_is_an_unsafe_model_file(capsys, tiny_models, docs, tmp_path):
    base = Path(shutil.copytree(tiny_models["bert"], tmp_path / "BASE"))
    marker = tmp_path / "pwned"
    (base / "model.safetensors").unlink()
    evil_pickle(base / "pytorch_model.bin", marker)
    code, err = cli(capsys, "train", docs, "--model", base, "--out", tmp_path / "t", "--epochs", "1", "--max-length", "16", "--method", "fine-tune")
    assert code == 2 and "Unsafe model file" in err and "UnpicklingError" not in err, err
    code, err = cli(capsys, "compare", docs, "--models", base, "--out", tmp_path / "c", "--epochs", "1",
                    "--max-length", "16")
    assert code == 2 and "Unsafe model file" in err, err
    assert not marker.exists()


# ----------------------------------------------------------------------------- 9: leftovers of a killed predict


def test_predict_removes_what_a_killed_predict_left(capsys, run1, docs, tmp_path):
    out = tmp_path / "pk.csv"
    leftover = tmp_path / ".pk.csv.ab12cd_3.tmp"  # as runs.atomic_path names them (mkstemp: 8 characters)
    leftover.write_bytes(b"x" * 4096)
    other = tmp_path / ".pk.csv.notes.txt"  # not ours
    other.write_text("keep")
    code, err = cli(capsys, "predict", run1, docs, "--out", out)
    assert code == 0, err
    assert not leftover.exists() and other.read_text() == "keep" and out.is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".pk.csv")) == [".pk.csv.notes.txt"]


def test_cleaning_a_run_folder_removes_a_planted_link_not_what_it_points_at(tmp_path):
    from desktop_app.core.runs import recover_folders

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    run = tmp_path / "RUN"
    run.mkdir()
    os.symlink(outside, run / ".model.abc123")
    assert ".model.abc123" in recover_folders(run)
    assert not (run / ".model.abc123").is_symlink() and (outside / "keep.txt").read_text() == "precious"


def test_a_planted_onnx_link_in_a_run_sends_no_graph_outside(capsys, run1, tmp_path):
    pytest.importorskip("onnxruntime")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, run1 / "onnx")
    code, err = cli(capsys, "export", run1, "--format", "onnx", "--out", tmp_path / "exp")
    assert code == 0, err
    assert list(outside.iterdir()) == [] and (tmp_path / "exp" / "model.onnx").is_file()
