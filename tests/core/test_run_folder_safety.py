"""`train --out` never touches a folder that is not ours, nor an input (issue: deleted user files)."""

from __future__ import annotations

from desktop_app.cli.app import main as cli_main


def _user_folder(tmp_path):
    mine = tmp_path / "project"
    (mine / "model").mkdir(parents=True)
    (mine / "checkpoint").mkdir()
    (mine / "model" / "my_notes.txt").write_text("keep me", encoding="utf-8")
    (mine / "checkpoint" / "draft.txt").write_text("keep me too", encoding="utf-8")
    (mine / "budget.xlsx").write_bytes(b"not really excel")
    return mine


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_train_refuses_a_folder_of_the_users_files_and_changes_nothing(tiny_models, small_csv, tmp_path, capsys):
    mine = _user_folder(tmp_path)
    before = _snapshot(mine)
    code = cli_main(["train", str(small_csv), "--out", str(mine), "--model", str(tiny_models["bert"]), "--epochs", "1",
                     "--max-length", "16"])
    assert code == 2
    err = capsys.readouterr().err
    assert "not a training run made by Classifier Studio" in err and "Traceback" not in err
    assert _snapshot(mine) == before  # the user's model/ and checkpoint/ subfolders survive, byte for byte


def test_train_refuses_an_output_inside_its_own_model_or_over_its_data(tiny_models, small_csv, tmp_path, capsys):
    code = cli_main(["train", str(small_csv), "--out", str(tiny_models["bert"] / "run"), "--model", str(tiny_models["bert"]),
                     "--epochs", "1"])
    assert code == 2 and "inside" in capsys.readouterr().err
    assert not (tiny_models["bert"] / "run").exists()
    code = cli_main(["train", str(small_csv), "--out", str(small_csv), "--model", str(tiny_models["bert"]), "--epochs", "1"])
    assert code == 2
    assert small_csv.read_text(encoding="utf-8").startswith("text,label")
