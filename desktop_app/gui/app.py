"""``run_gui(argv)``: the desktop app, ``--sample`` to start on the sample data, ``screenshots OUT_DIR``."""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback

log = logging.getLogger("desktop_app.gui")


def install_excepthooks(parent_getter) -> None:
    """Unexpected errors are logged and shown in a dialog; the app keeps running."""
    from PySide6.QtCore import QObject, Qt, Signal

    class _Bridge(QObject):
        show = Signal(str, str)

        def _show(self, message: str, details: str) -> None:
            from .widgets import show_error

            show_error(parent_getter(), message, details, title="Something went wrong")

    bridge = _Bridge()
    bridge.show.connect(bridge._show, Qt.QueuedConnection)
    install_excepthooks.bridge = bridge  # keep alive

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("Unhandled error:\n%s", details)
        from ..core.errors import UserInputError

        message = exc.describe() if isinstance(exc, UserInputError) else (
            f"An unexpected error happened: {exc_type.__name__}: {exc}\n\nThe app keeps running. "
            "The details are also in the log file (Help → Open log folder).")
        bridge.show.emit(message, details)

    def thread_hook(args):
        hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook


def _option(argv: list[str], name: str) -> str | None:
    if name in argv:
        i = argv.index(name)
        if i + 1 < len(argv):
            return argv[i + 1]
    return None


def _offscreen_screen(size: str) -> None:
    """The offscreen platform's screen (default 800x800) as large as a real one: a JSON config file."""
    import json
    import tempfile

    w, _, h = size.lower().partition("x")
    config = {"screens": [{"name": "screen", "x": 0, "y": 0, "width": int(w), "height": int(h), "logicalDpi": 96,
                           "logicalBaseDpi": 96, "dpr": 1}]}
    path = os.path.join(tempfile.mkdtemp(prefix="cs-screen-"), "screen.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(config, fh)
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={path}"


def run_gui(argv: list[str]) -> int:
    argv = list(argv)
    screenshots = bool(argv) and argv[0] == "screenshots"
    if screenshots:
        if len(argv) < 2:
            sys.stderr.write("usage: classifier-studio screenshots OUT_DIR [--model PATH] [--size WxH] [--screen WxH]\n"
                             "  --size: the window in logical pixels (default 1280x800); --screen: the screen in pixels\n"
                             "  (default 1920x1200). For 200%: QT_SCALE_FACTOR=2 ... --screen 1440x900\n")
            return 2
        if "QT_QPA_PLATFORM" not in os.environ:
            _offscreen_screen(_option(argv, "--screen") or "1920x1200")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ..applog import setup_logging

    setup_logging()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "classifier-studio"])
    app.setApplicationName("Classifier Studio")
    app.setOrganizationName("ClassifierStudio")
    from .window import MainWindow

    window = MainWindow()
    if screenshots:
        window.offer_resume = lambda: None  # never a question in front of the pages
    install_excepthooks(lambda: window)
    window.show()
    QTimer.singleShot(0, window.start_background)
    if screenshots:
        from .screenshots import take_screenshots

        from .screenshots import parse_size

        code = take_screenshots(window, argv[1], _option(argv, "--model"), parse_size(_option(argv, "--size")))
        window.confirm_close = lambda: True
        window.close()
        return code
    if any(a.startswith("--sample") for a in argv):
        from ..core.resources import bundled_model_dir, sample_training_file


        def sample():
            window.data_page.open_path(str(sample_training_file()))
            bundled = bundled_model_dir()
            if bundled is not None:
                window.model_page.select_model(str(bundled))

        QTimer.singleShot(0, sample)
    code = app.exec()
    if not window.closing:
        window.shutdown()
    return int(code)
