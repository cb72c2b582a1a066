"""Interrupted runs never end in a dead end: safe checkpoints, resume from the run record, --restart,
clean-up after a kill, and exit code 2 with advice for what the user can fix."""

from __future__ import annotations

import csv
import errno
import json
import pickle
import shutil

import pytest

from desktop_app.cli.app import main as cli_main
from desktop_app.core.data import LabeledData, load_labeled
from desktop_app.core.errors import TrainingCancelled, UserInputError
from desktop_app.core.events import EventLog
from desktop_app.core.runs import RunRecord, read_record
from desktop_app.core.settings import TrainSettings
from desktop_app.core.training import TrainJob, train

SETTINGS = TrainSettings(epochs=3, max_length=32, batch_size=8, early_stopping_patience=0)


def _cancelled_run(tiny_models, csv_path, run_dir, after_steps=2, valid=None, valid_path=None, settings=SETTINGS):
    loaded = load_labeled(csv_path)
    log = EventLog()
    result = train(TrainJob(train=loaded.data, out_dir=run_dir, model=str(tiny_models["bert"]), settings=settings,
                            text_column=loaded.text_column, label_column=loaded.label_column, valid=valid,
                            valid_path=valid_path), log, lambda: len(log.of("step")) >= after_steps)
    assert result.status == "cancelled"
    return result


class _Marker:
    """A pickle that would create a file when unpickled."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_malicious_pickle_in_the_checkpoint_runs_no_code(tiny_models, small_csv, tmp_path, capsys):
    run = tmp_path / "run"
    _cancelled_run(tiny_models, small_csv, run)
    marker = tmp_path / "pwned"
    shutil.rmtree(run / "checkpoint")
    (run / "checkpoint").mkdir()
    (run / "checkpoint" / "state.pt").write_bytes(pickle.dumps(_Marker(marker)))
    assert cli_main(["train", "--resume", "--out", str(run)]) == 2
    assert not marker.exists()
    assert "--restart" in capsys.readouterr().err
    # a damaged checkpoint in the current format: exit 2 as well
    (run / "checkpoint" / "weights.safetensors").write_bytes(pickle.dumps(_Marker(marker)))
    (run / "checkpoint" / "state.json").write_text("{}")
    assert cli_main(["train", "--resume", "--out", str(run)]) == 2
    assert not marker.exists()
    assert cli_main(["train", str(small_csv), "--out", str(run), "--restart", "--model", str(tiny_models["bert"]),
                     "--epochs", "1", "--max-length", "32"]) == 0
    assert read_record(run).status == "finished"


def test_resume_takes_model_data_and_validation_from_the_run_record(tiny_models, small_csv, sample_csv, tmp_path, capsys):
    run = tmp_path / "run"
    valid_csv = tmp_path / "valid.csv"
    rows = list(csv.DictReader(sample_csv.open(encoding="utf-8")))[-30:]
    with valid_csv.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows({"text": r["text"], "label": r["label"]} for r in rows)
    _cancelled_run(tiny_models, small_csv, run, valid=load_labeled(valid_csv).data, valid_path=str(valid_csv))
    assert "Resume with: classifier-studio train --resume --out" not in capsys.readouterr().err
    # the hint's one command: no DATA, no --model, no --valid
    assert cli_main(["train", "--resume", "--out", str(run), "--json"]) == 0
    record = read_record(run)
    assert record.status == "finished" and record.final_metrics["n"] == 30  # validated on the valid file again
    assert record.model["path"] == str(tiny_models["bert"])


def test_resume_of_a_split_run_re_creates_the_same_validation_rows(tiny_models, small_csv, tmp_path):
    run = tmp_path / "run"
    _cancelled_run(tiny_models, small_csv, run)
    before = read_record(run)
    assert before.split["kind"] == "stratified" and len(before.split["valid_rows"]) == before.data["n_valid"]
    assert train(TrainJob(train=None, out_dir=run, resume=True)).status == "finished"
    after = read_record(run)
    assert after.split == before.split and after.final_metrics["n"] == before.data["n_valid"]


def test_a_run_killed_before_its_first_checkpoint_resumes_or_restarts(tiny_models, small_csv, tmp_path, capsys):
    run = tmp_path / "run"
    _cancelled_run(tiny_models, small_csv, run)
    shutil.rmtree(run / "checkpoint")  # as if killed before any checkpoint: the record says "running"
    raw = json.loads((run / "run.json").read_text())
    raw["status"] = "running"
    (run / "run.json").write_text(json.dumps(raw))
    (run / ".model.abc123").mkdir()  # stale temporary folders and files of the killed process
    (run / ".model.abc123" / "config.json").write_text("{}")
    (run / ".run.json.xyz.tmp").write_text("{")
    args = ["train", str(small_csv), "--out", str(run), "--model", str(tiny_models["bert"])]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert f"classifier-studio train --resume --out {run}" in err and "--restart" in err
    assert cli_main(["train", "--resume", "--out", str(run)]) == 0
    assert not list(run.glob(".model.*")) and not list(run.glob(".run.json.*"))
    assert read_record(run).status == "finished"
    assert "No checkpoint was saved" in capsys.readouterr().err


def test_restart_discards_an_unfinished_run_and_a_finished_run_is_kept(tiny_models, small_csv, tmp_path, capsys):
    run = tmp_path / "run"
    _cancelled_run(tiny_models, small_csv, run)
    base = ["train", str(small_csv), "--out", str(run), "--model", str(tiny_models["bert"]), "--epochs", "1",
            "--max-length", "32"]
    assert cli_main(base + ["--restart"]) == 0
    record = read_record(run)
    assert record.status == "finished" and record.settings["epochs"] == 1
    assert cli_main(base + ["--restart"]) == 2 and "finished" in capsys.readouterr().err
    assert cli_main(["train", "--resume", "--out", str(run)]) == 2


def test_folders_that_are_not_runs_and_files_are_refused(tiny_models, small_csv, tmp_path, capsys):
    foreign = tmp_path / "mine"
    (foreign / "model").mkdir(parents=True)
    (foreign / "notes.txt").write_text("keep me")
    args = ["--model", str(tiny_models["bert"]), "--epochs", "1", "--max-length", "32"]
    assert cli_main(["train", str(small_csv), "--out", str(foreign), *args]) == 2
    assert (foreign / "notes.txt").read_text() == "keep me" and (foreign / "model").is_dir()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert cli_main(["train", str(small_csv), "--out", str(a_file), *args]) == 2
    assert cli_main(["train", str(small_csv), "--out", str(tmp_path / "r"), "--max-length", "5000",
                     "--model", str(tiny_models["bert"])]) == 2
    assert "--max-length" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # nothing left behind: the same command with a fixed setting just works


def test_a_second_writer_is_refused(tiny_models, small_csv, tmp_path):
    from desktop_app.core.runs import RunLock

    run = tmp_path / "run"
    run.mkdir()
    lock = RunLock(run).acquire()
    try:
        with pytest.raises(UserInputError, match="being written by another Classifier Studio process"):
            train(TrainJob(train=load_labeled(small_csv).data, out_dir=run, model=str(tiny_models["bert"]), settings=SETTINGS))
    finally:
        lock.release()


def test_ctrl_c_while_tokenizing_exits_130_without_claiming_a_checkpoint(tiny_models, small_csv, tmp_path, monkeypatch, capsys):
    import threading
    from contextlib import contextmanager

    from desktop_app.cli import common

    log = EventLog()
    with pytest.raises(TrainingCancelled):
        train(TrainJob(train=load_labeled(small_csv).data, out_dir=tmp_path / "a", model=str(tiny_models["bert"]),
                       settings=SETTINGS), log, lambda: True)
    assert not log.of("cancelled")[0].resumable and not (tmp_path / "a").exists()

    calls = []

    @contextmanager
    def pressed():  # Ctrl-C already pressed once the file is read (the first interruptible stretch is the reading)
        ev = threading.Event()
        if calls:
            ev.set()
        calls.append(ev)
        yield ev

    monkeypatch.setattr(common, "interruptible", pressed)
    assert cli_main(["train", str(small_csv), "--out", str(tmp_path / "b"), "--model", str(tiny_models["bert"])]) == 130
    err = capsys.readouterr().err
    assert "nothing was saved" in err and "checkpoint" not in err.lower()


@pytest.mark.parametrize("failure", ["memory", "disk"])
def test_out_of_memory_and_a_full_disk_exit_2_with_advice(failure, tiny_models, small_csv, tmp_path, monkeypatch, capsys):
    import torch

    from desktop_app.core import checkpoint, training

    if failure == "memory":
        def boom(*a, **k):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        monkeypatch.setattr(training._Trainer, "_forward_backward", boom)
    else:
        def boom(*a, **k):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(checkpoint, "save", boom)
    run = tmp_path / "run"
    code = cli_main(["train", str(small_csv), "--out", str(run), "--model", str(tiny_models["bert"]), "--epochs", "3",
                     "--max-length", "32", "--batch-size", "8"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert ("--batch-size" in err and "--max-length" in err) if failure == "memory" else ("disk is full" in err and "MB" in err)
    record = read_record(run)
    assert record.status == "failed" and record.error


def test_train_checks_its_data_itself(tiny_models, tmp_path):
    data = LabeledData(texts=[f"text {i}" for i in range(20)], labels=["a"] * 20, rows=list(range(2, 22)), source="one.csv")
    with pytest.raises(UserInputError, match="same label"):
        train(TrainJob(train=data, out_dir=tmp_path / "run", model=str(tiny_models["bert"]), settings=SETTINGS))
    assert not (tmp_path / "run").exists()


def test_old_run_records_still_open(tmp_path):
    old = {"format": 1, "status": "finished", "created": "2025-01-01T00:00:00", "model": {"name": "x"},
           "data": {"source": "d.csv", "valid_source": "10% stratified split"}, "labels": ["a", "b"],
           "settings": {"epochs": 3}, "history": [], "final_metrics": {"accuracy": 0.9}, "custom": 1}
    (tmp_path / "run.json").write_text(json.dumps(old))
    record = read_record(tmp_path)
    assert record.format == 1 and record.kind == "train" and record.finished and record.final_metrics["accuracy"] == 0.9
    assert record.to_dict()["custom"] == 1 and RunRecord.from_dict(record.to_dict()) == record


def test_a_resumed_run_equals_an_uninterrupted_one(tiny_models, small_csv, tmp_path):
    import torch

    data = load_labeled(small_csv).data
    settings = TrainSettings(epochs=2, max_length=32, batch_size=8, early_stopping_patience=0, seed=5, keep_best=False)
    whole = train(TrainJob(train=data, out_dir=tmp_path / "whole", model=str(tiny_models["bert"]), settings=settings,
                           checkpoint_every_min=0))
    polls = []

    def stop_in_the_middle_of_the_first_epoch() -> bool:
        polls.append(1)
        return len(polls) > 5  # called before every optimizer step (and a few times before training)

    part = train(TrainJob(train=data, out_dir=tmp_path / "split", model=str(tiny_models["bert"]), settings=settings),
                 should_stop=stop_in_the_middle_of_the_first_epoch)
    assert part.status == "cancelled" and not part.record.history  # stopped within the first epoch
    resumed = train(TrainJob(train=None, out_dir=tmp_path / "split", resume=True))
    assert resumed.status == "finished"
    a, b = read_record(tmp_path / "whole"), read_record(tmp_path / "split")
    assert [h["step"] for h in a.history] == [h["step"] for h in b.history]
    for ha, hb in zip(a.history, b.history):
        assert abs(ha["val_loss"] - hb["val_loss"]) < 1e-4 and ha["accuracy"] == hb["accuracy"]
    wa, wb = _weights(tmp_path / "whole"), _weights(tmp_path / "split")
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-4
    assert torch.is_tensor(next(iter(wa.values())))


def _weights(run):
    from desktop_app.core.inference import Classifier

    return Classifier.load(run, device="cpu").model.state_dict()


def test_a_damaged_model_folder_exits_2(tiny_models, small_csv, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_models["bert"], broken)
    weights = next(broken.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:100])
    assert cli_main(["train", str(small_csv), "--out", str(tmp_path / "run"), "--model", str(broken)]) == 2
    assert "cannot be loaded" in capsys.readouterr().err


def test_atomic_folder_swap_and_recovery_after_a_kill(tmp_path):
    from desktop_app.core.runs import atomic_dir, recover_folders

    run = tmp_path / "run"
    with atomic_dir(run / "model") as tmp:
        (tmp / "config.json").write_text("1")
    with atomic_dir(run / "model") as tmp:
        (tmp / "config.json").write_text("2")
    assert (run / "model" / "config.json").read_text() == "2" and [p.name for p in run.iterdir()] == ["model"]
    # killed in the instant between the two renames of the fallback swap: the old folder is put back
    (run / "model").rename(run / ".model.old-123-456")
    (run / ".checkpoint.tmp42").mkdir()
    (run / ".run.json.x.tmp").write_text("{")
    recover_folders(run)
    assert (run / "model" / "config.json").read_text() == "2" and [p.name for p in run.iterdir()] == ["model"]
