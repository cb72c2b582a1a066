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


def _model_arg(argv: list[str]) -> str | None:
    if "--model" in argv:
        i = argv.index("--model")
        if i + 1 < len(argv):
            return argv[i + 1]
    return None


def run_gui(argv: list[str]) -> int:
    argv = list(argv)
    screenshots = bool(argv) and argv[0] == "screenshots"
    if screenshots:
        if len(argv) < 2:
            sys.stderr.write("usage: classifier-studio screenshots OUT_DIR [--model PATH]\n")
            return 2
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ..applog import setup_logging

    setup_logging()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "classifier-studio"])
    app.setApplicationName("Classifier Studio")
    app.setOrganizationName("ClassifierStudio")
    from .window import MainWindow

    window = MainWindow()
    install_excepthooks(lambda: window)
    window.show()
    QTimer.singleShot(0, window.start_background)
    if screenshots:
        from .screenshots import take_screenshots

        code = take_screenshots(window, argv[1], _model_arg(argv))
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
