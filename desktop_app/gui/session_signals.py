"""The session's change notices as a Qt signal, delivered on the GUI thread.

``core.session.Session`` calls plain Python observers; ``SessionSignals`` is one of them and
re-emits each notice as ``changed(str)``. A queued connection carries a notice made on another
thread to the GUI thread, so views can connect their redraw slots to it without caring where a
change came from.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class SessionSignals(QObject):
    changed = Signal(str)  # one of core.session.CHANGES

    def __init__(self, session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self._unsubscribe = session.subscribe(self.changed.emit)

    def detach(self) -> None:
        self._unsubscribe()
