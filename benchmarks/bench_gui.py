"""GUI responsiveness while the bundled model trains on the CPU, and launch time.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--epochs 1]

1. Launch: wall time from starting a new Python process to the main window being shown
   (torch and transformers must not be imported before that).
2. Responsiveness: a 5 ms QTimer on the GUI thread records when it actually fires while a real
   training epoch of all-MiniLM-L6-v2 on the sample data runs in the worker; the longest gap
   between firings is the longest time the GUI could not react (target: <= 100 ms).
   The plain reference is the same timer with no training running.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LAUNCH = """
import os, sys, time
from PySide6.QtWidgets import QApplication
from desktop_app.gui.window import MainWindow
app = QApplication(sys.argv)
w = MainWindow(); w.show(); app.processEvents()
print(time.time() - float(os.environ["T0"]), "torch" in sys.modules, flush=True)
os._exit(0)  # measure the start only; background loaders are not waited for
"""


def launch_time() -> tuple[float, bool]:
    env = {**os.environ, "T0": repr(time.time()), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", LAUNCH], capture_output=True, text=True, env=env, cwd=ROOT, check=True).stdout
    seconds, torch_loaded = out.split()
    return float(seconds), torch_loaded == "True"


def gaps_during(app, condition, timeout_s: float) -> list[float]:
    from PySide6.QtCore import QTimer

    stamps: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: stamps.append(time.perf_counter()))
    timer.start()
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and not condition():
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return [1000 * (b - a) for a, b in zip(stamps, stamps[1:])]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=float, default=1.0)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    os.environ.setdefault("CLASSIFIER_STUDIO_HOME", tempfile.mkdtemp())
    launches = [launch_time() for _ in range(3)]

    import numpy as np
    from PySide6.QtWidgets import QApplication

    from desktop_app.core.resources import bundled_model_dir, sample_training_file
    from desktop_app.gui.screenshots import wait_until
    from desktop_app.gui.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    window.data_page.open_path(str(sample_training_file()))
    wait_until(lambda: window.data_page.labeled is not None and not window.tasks.is_running("load"), 60)
    wait_until(lambda: window.model_page.models, 60)
    model = str(bundled_model_dir().resolve())
    window.model_page.select_model(model)
    wait_until(lambda: window.model_path() and Path(window.model_path()) == Path(model), 60)
    window.model_page.update_settings(epochs=args.epochs, max_length=64)
    wait_until(lambda: window.data_page.lengths is not None, 120)
    idle = gaps_during(app, lambda: False, 3.0)
    window.sidebar.setCurrentRow(2)
    window.train_page.start()
    busy = gaps_during(app, lambda: not window.train_page.is_training(), 900)
    window.shutdown() if hasattr(window, "shutdown") else None
    window.close()

    print("\n| measure | value |")
    print("|---|---|")
    print(f"| launch to window shown (s), 3 runs | {', '.join(f'{s:.2f}' for s, _ in launches)} |")
    print(f"| torch imported before the window showed | {any(t for _, t in launches)} |")
    print(f"| longest event-loop gap while training (ms) | {max(busy):.0f} |")
    print(f"| 99th percentile gap while training (ms) | {np.percentile(busy, 99):.0f} |")
    print(f"| longest gap idle, same timer (ms) | {max(idle):.0f} |")
    print(f"| timer firings observed during training | {len(busy)} |")


if __name__ == "__main__":
    main()
