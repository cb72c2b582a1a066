"""GUI responsiveness while the bundled model trains on the CPU, and launch time.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--epochs 1]

1. Launch: wall time from starting a new Python process to the main window being shown
   (torch and transformers must not be imported before that).
2. Responsiveness: a 5 ms QTimer on the GUI thread records when it actually fires while a real
   training epoch of all-MiniLM-L6-v2 on the sample data runs in the worker; the longest gap
   between firings is the longest time the GUI could not react (target: <= 100 ms).
   The plain reference is the same timer with no training running.

--diagnose GAP_MS: also sample every thread's Python stack from a separate thread every few ms and
time every garbage collection; for each event-loop gap longer than GAP_MS, print what the GUI thread
(and the other threads) were doing, and any collection that overlapped it.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import subprocess
import sys
import threading
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


class Diagnosis:
    """Samples stacks of all threads from a plain Python thread, and times garbage collections."""

    def __init__(self, period_s: float = 0.004):
        self.period_s = period_s
        self.samples: collections.deque = collections.deque(maxlen=400_000)  # (t, {thread name: frames})
        self.collections: list[tuple[float, float, int, str, int]] = []  # start, end, generation, thread, collected
        self._gc_start: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-sampler", daemon=True)

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        ident = threading.get_ident()
        if phase == "start":
            self._gc_start[ident] = time.perf_counter()
        elif ident in self._gc_start:
            self.collections.append((self._gc_start.pop(ident), time.perf_counter(), info["generation"],
                                     threading.current_thread().name, info.get("collected", 0)))

    @staticmethod
    def _frames(frame, depth: int = 14) -> tuple:
        out = []
        while frame is not None and len(out) < depth:
            code = frame.f_code
            out.append((os.path.basename(code.co_filename), frame.f_lineno, code.co_name))
            frame = frame.f_back
        return tuple(out)

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.is_set():
            names = {t.ident: t.name for t in threading.enumerate()}
            now = time.perf_counter()
            stacks = {names.get(tid, str(tid)): self._frames(f) for tid, f in sys._current_frames().items() if tid != me}
            self.samples.append((now, stacks))
            time.sleep(self.period_s)

    def report(self, stamps: list[float], gap_ms: float, limit: int = 12) -> None:
        gaps = sorted(((1000 * (b - a), a, b) for a, b in zip(stamps, stamps[1:]) if 1000 * (b - a) > gap_ms), reverse=True)
        print(f"\n== {len(gaps)} event-loop gaps over {gap_ms:.0f} ms; the longest {min(limit, len(gaps))}: ==")
        t0 = stamps[0] if stamps else 0
        culprits: collections.Counter = collections.Counter()
        for ms, a, b in gaps[:limit]:
            print(f"\n-- gap {ms:.0f} ms at t={a - t0:.2f}s --")
            for start, end, gen, thread, collected in self.collections:
                if start < b and end > a:
                    print(f"   gc gen {gen} in {thread}: {1000 * (end - start):.0f} ms, {collected} collected")
                    culprits[f"gc.collect(gen {gen}) in {thread}"] += 1
            inside = [(t, st) for t, st in self.samples if a <= t <= b]
            times = [a] + [t for t, _ in inside] + [b]
            hole = max(y - x for x, y in zip(times, times[1:]))
            print(f"   {len(inside)} stack samples; the sampler itself was starved (GIL held) for up to {1000 * hole:.0f} ms")
            for thread in ("MainThread",) + tuple(sorted({n for _, st in inside for n in st} - {"MainThread"})):
                tops = collections.Counter(st[thread] for _, st in inside if thread in st)
                for frames, n in tops.most_common(2):
                    print(f"   [{thread}] {n}/{len(inside)} samples:")
                    for f, line, name in frames[:10]:
                        print(f"      {f}:{line} {name}")
                    if thread == "MainThread":
                        key = next((f"{f}:{name}" for f, _, name in frames if f not in ("bench_gui.py", "threading.py")), "?")
                        culprits[f"main thread in {key}"] += n
        print("\n== summary of the gaps over the threshold ==")
        for what, n in culprits.most_common(10):
            print(f"   {n:5d}  {what}")
        long_gcs = sorted(self.collections, key=lambda c: c[0] - c[1])[:8]
        print("   longest collections: " + ", ".join(f"gen {g} {1000 * (e - s):.0f} ms ({th})" for s, e, g, th, _ in long_gcs))


def gaps_during(app, condition, timeout_s: float, stamps_out: list | None = None) -> list[float]:
    from PySide6.QtCore import QTimer

    stamps: list[float] = [] if stamps_out is None else stamps_out
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
    ap.add_argument("--diagnose", type=float, metavar="GAP_MS", default=None,
                    help="sample stacks and time collections; explain every gap longer than GAP_MS")
    ap.add_argument("--skip-launch", action="store_true", help="do not measure the launch time")
    ap.add_argument("--show-page-first", action="store_true",
                    help="let the Train page paint before pressing Start (as a user on that page would)")
    ap.add_argument("--switch-interval", type=float, metavar="MS", default=None,
                    help="experiment: sys.setswitchinterval (Python's default is 5 ms)")
    ap.add_argument("--gc-interval", type=int, metavar="MS", default=None,
                    help="experiment: install the GUI-thread garbage collector with this timer interval")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    os.environ.setdefault("CLASSIFIER_STUDIO_HOME", tempfile.mkdtemp())
    launches = [] if args.skip_launch else [launch_time() for _ in range(3)]

    import numpy as np
    from PySide6.QtWidgets import QApplication

    from desktop_app.core.resources import bundled_model_dir, sample_training_file
    from desktop_app.gui.screenshots import wait_until
    from desktop_app.gui.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval / 1000)
    if args.gc_interval is not None:
        from desktop_app.gui import main_thread_gc

        main_thread_gc.install(args.gc_interval)  # the window's own install() is then a no-op
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    window.data_page.open_path(str(sample_training_file()))
    wait_until(lambda: window.session.data is not None and window.tasks.settled("load", "check"), 60)
    wait_until(lambda: window.model_page.models, 60)
    model = str(bundled_model_dir().resolve())
    window.model_page.select_model(model)
    wait_until(lambda: window.model_path() and Path(window.model_path()) == Path(model), 60)
    window.model_page.update_settings(epochs=args.epochs, max_length=64)
    wait_until(lambda: window.data_page.lengths is not None and window.tasks.settled("check", "lengths"), 120)
    idle = gaps_during(app, lambda: False, 3.0)
    if args.show_page_first:
        window.sidebar.setCurrentRow(2)
        gaps_during(app, lambda: False, 1.0)
    diagnosis = Diagnosis() if args.diagnose is not None else None
    if diagnosis:
        diagnosis.start()
    stamps: list[float] = []
    window._start_training()  # what Ctrl+R does: show the Train page, then start
    if not window.train_page.is_training():  # it stopped at a "Before you start" warning: press Start
        window.train_page.start()
    busy = gaps_during(app, lambda: not window.train_page.is_training(), 900, stamps)
    if diagnosis:
        diagnosis.stop()
        diagnosis.report(stamps, args.diagnose)
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
