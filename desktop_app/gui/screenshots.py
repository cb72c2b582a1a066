"""Drive the app offscreen on the sample data and save one PNG per page (docs, visual checks)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def settle(seconds: float = 0.3) -> None:
    wait_until(lambda: False, seconds)


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'1024x700' -> (1024, 700)."""
    if not text:
        return None
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def label_session(window, labeled_file: Path, labels: int = 30) -> None:
    """The Label page mid-session: the sample's texts without their labels (written to a temporary
    folder, so the labels saved as you go land there), the categories typed, and the first labels given
    from the known answers, as a person who reads each text does: each after the background retrain
    has updated the suggestions, so the chart has its points."""
    import csv
    import tempfile

    rows = list(csv.DictReader(Path(labeled_file).open(encoding="utf-8", newline="")))[:80]
    truth = {r["text"]: r["label"] for r in rows}
    path = Path(tempfile.mkdtemp(prefix="cs-label-")) / "tickets_to_label.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text"])
        writer.writerows([r["text"]] for r in rows)
    page = window.label_page
    page.open_file(path)
    wait_until(lambda: page.store is not None, 60)
    page.set_categories(", ".join(sorted(set(truth.values()))))
    for _ in range(labels):
        if not wait_until(lambda: page.current is not None and page.current_suggestion() is not None, 120):
            break
        page.give_label(truth[page.store.texts[page.current]])
        wait_until(lambda: window.tasks.settled("label-suggest"), 120)
    wait_until(lambda: window.tasks.settled("label-suggest") and page.current_suggestion() is not None, 120)


def take_screenshots(window, out_dir: str, model: str | None = None, size: tuple[int, int] | None = None) -> int:
    """One PNG per page. ``size``: the window's size in logical pixels (default 1280x800, never larger than the screen)."""
    from ..core.resources import bundled_model_dir, sample_training_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    window.resize(*(size or (1280, 800)))
    window.fit_to_screen()
    print(f"window {window.width()}x{window.height()} (logical pixels), scale {window.devicePixelRatioF():g}")
    model = model or (str(bundled_model_dir()) if bundled_model_dir() else None)
    if model is None:
        print("No model: pass --model PATH")
        return 2

    def shot(page, name: str) -> None:
        window.show_page(page)
        settle(0.4)
        window.grab().save(str(out / name))
        print(f"saved {out / name}")

    window.data_page.open_path(str(sample_training_file()))
    if not wait_until(lambda: window.session.data is not None and window.tasks.settled("load", "check"), 60):
        print("The sample data did not load")
        return 1
    wait_until(lambda: window.model_page.models, 60)
    window.model_page.select_model(str(Path(model).resolve()))
    wait_until(lambda: window.model_path() and Path(window.model_path()) == Path(model).resolve(), 60)
    window.model_page.update_settings(epochs=1.0, max_length=64)
    wait_until(lambda: window.data_page.lengths is not None and window.tasks.settled("check", "lengths"), 120)
    shot(window.data_page, "data.png")
    label_session(window, sample_training_file())
    shot(window.label_page, "label.png")
    shot(window.model_page, "model.png")
    window.show_page(window.train_page)
    window.train_page.start()
    if not wait_until(lambda: window.tasks.settled("train") and window.train_page.finished_run, 540):
        print("Training did not finish")
        return 1
    window.show_page(window.train_page)
    shot(window.train_page, "train.png")
    # training ends with the results in words; the validation part is evaluated again for the examples
    wait_until(lambda: window.evaluate_page.result is not None and window.tasks.settled("evaluate"), 120)
    conf = window.evaluate_page.confusion
    cells = [(int(conf.item(r, c).text()), r, c) for r in range(conf.rowCount()) for c in range(conf.columnCount()) if r != c]
    if cells:
        _, r, c = max(cells)
        window.evaluate_page.show_cell(r, c)
    shot(window.evaluate_page, "evaluate.png")
    window.show_page(window.classify_page)
    window.classify_page.text.setPlainText("I was charged twice for my subscription this month, please refund one payment.")
    wait_until(lambda: window.classify_page.last_result is not None, 120)
    from ..core.resources import sample_unlabeled_file

    window.classify_page.classify_path(str(sample_unlabeled_file()))
    wait_until(lambda: window.classify_page.output_path is not None and window.tasks.settled("predict"), 120)
    shot(window.classify_page, "classify.png")

    # compare: one model with two settings (1 and 2 epochs), trained one after another
    page = window.compare_page
    page.add_current()
    window.model_page.update_settings(epochs=2.0)
    page.add_current()
    window.show_page(page)
    page.start()
    if not wait_until(lambda: window.tasks.settled("compare") and page.rows, 900):
        print("The comparison did not finish")
        return 1
    shot(page, "compare.png")
    shot(window.runs_page, "runs.png")
    # Shrink: what to expect, measured before it starts
    runs = window.runs_page
    first = next((i for i, r in enumerate(runs.runs) if r.status == "finished"), None)
    if first is not None:
        runs.table.selectRow(first)
        dialog, _, _, show = runs.distill_dialog(runs.selected())
        dialog.show()
        wait_until(lambda: window.session.current_shrink_estimate(runs.selected().path) is not None
                   and window.tasks.settled("estimate"), 180)
        settle(0.3)
        dialog.grab().save(str(out / "shrink.png"))
        print(f"saved {out / 'shrink.png'}")
        window.session_signals.changed.disconnect(show)
        dialog.close()
    window.show_guide()
    settle(0.3)
    window.guide.grab().save(str(out / "guide.png"))
    print(f"saved {out / 'guide.png'}")
    window.guide.close()
    return 0
