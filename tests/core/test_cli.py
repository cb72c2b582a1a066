"""The command-line contract: words, exit codes, JSON output, messages without tracebacks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_app import __version__

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, timeout=300, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "desktop_app", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env, **kw)


def test_version():
    r = cli("--version")
    assert r.returncode == 0 and __version__ in r.stdout


def test_models_json_lists_the_bundled_default():
    r = cli("models", "--json")
    assert r.returncode == 0
    models = json.loads(r.stdout.strip().splitlines()[-1])["models"]
    bundled = models[0]
    assert bundled["source"] == "bundled" and bundled["architecture"] == "bert"
    assert 22e6 < bundled["parameters"] < 23.5e6


def test_train_evaluate_predict_round_trip(tiny_models, small_csv, sample_csv, tmp_path):
    run = tmp_path / "run"
    r = cli("train", small_csv, "--out", run, "--model", tiny_models["distilbert"], "--epochs", 1, "--max-length", 32,
            "--random-batches", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["settings"]["group_by_length"] is False
    assert {"accuracy", "macro_f1", "labels", "per_class", "confusion_matrix", "n"} <= set(out)
    assert "Settings chosen for you" in r.stderr

    r = cli("evaluate", run, small_csv, "--json")
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout.strip().splitlines()[-1])
    assert metrics["n"] == 100 and len(metrics["confusion_matrix"]) == 5

    preds = tmp_path / "p.csv"
    r = cli("predict", run, sample_csv.parent / "support_tickets_unlabeled.csv", "--out", preds)
    assert r.returncode == 0, r.stderr
    assert preds.read_text(encoding="utf-8").splitlines()[0].startswith("id,text,predicted_label,confidence,prob_")


@pytest.mark.parametrize("content, needle", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "not a text"),
    (b"", "empty"),
    (b"text,label\nonly one class,a\nanother,a\n", "class"),
])
def test_broken_files_exit_2_with_a_clear_message(content, needle, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    r = cli("train", bad, "--out", tmp_path / "run", "--epochs", 1)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "bad.csv" in r.stderr and "Fix:" in r.stderr
    assert needle.lower() in r.stderr.lower()


def test_usage_errors_exit_2(tmp_path, small_csv):
    assert cli("train", small_csv).returncode == 2  # --out missing
    r = cli("train", small_csv, "--out", tmp_path / "r", "--text-column", "nope")
    assert r.returncode == 2 and "nope" in r.stderr and "Traceback" not in r.stderr
    r = cli("evaluate", tmp_path / "no-such-run", small_csv)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_offline_hub_id_fails_at_once(small_csv, tmp_path):
    start = time.monotonic()
    r = cli("train", small_csv, "--out", tmp_path / "r", "--model", "some-org/not-downloaded-model")
    assert r.returncode == 2 and "not on this computer" in r.stderr
    assert time.monotonic() - start < 60


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_saves_a_checkpoint_exits_130_and_resumes(tiny_models, sample_csv, tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "desktop_app", "train", str(sample_csv), "--out", str(run), "--model",
                             str(tiny_models["bert"]), "--epochs", "50", "--max-length", "32",
                             "--early-stopping-patience", "0", "--time-budget", "0.5"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (run / "run.json").exists():
        time.sleep(0.2)
    time.sleep(1)
    assert proc.poll() is None, "training ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err
    assert (run / "checkpoint" / "state.json").is_file()
    r = cli("train", sample_csv, "--out", run, "--model", tiny_models["bert"], "--resume", "--json")
    assert r.returncode == 0, r.stderr
    assert "Resuming" in r.stderr


def test_unexpected_errors_exit_1_and_name_the_log(monkeypatch, capsys):
    from desktop_app.cli import app

    def boom(args):
        raise RuntimeError("simulated bug")

    parser = app.build_parser()
    monkeypatch.setattr(app, "build_parser", lambda: parser)
    args = parser.parse_args(["models"])
    monkeypatch.setattr(parser, "parse_args", lambda argv: args)
    args.run = boom
    assert app.main(["models"]) == 1
    err = capsys.readouterr().err
    assert "simulated bug" in err and "log file" in err


def test_no_option_hides_the_function_a_command_runs():
    """Every sub-command keeps its function in args.run: an option with dest 'run' would replace it
    (label-next's --run once did, and every call crashed)."""
    import argparse

    from desktop_app.cli import app

    parser = app.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert {"train", "evaluate", "predict", "label-next", "distill", "export", "compare"} <= set(commands)
    for name, sub in commands.items():
        assert all(action.dest != "run" for action in sub._actions), name
        assert callable(sub.get_default("run")), name
