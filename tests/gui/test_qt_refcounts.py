"""The Qt binding must not leak references to Python's shared singletons.

PySide6 6.12.0's Signal.emit() drops one reference to True on every call under Python 3.11 (where
True and None are not immortal): after enough emits in one session (every training step, every
progress report emits) the interpreter aborts with "Fatal Python error: bool_dealloc" (seen in the
GUI suite as none_dealloc). pyproject.toml excludes that version and constraints.txt pins 6.11.3;
this test fails on any binding with such a leak."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal, Slot


class _Emitter(QObject):
    changed = Signal(object)


class _Receiver(QObject):
    def __init__(self):
        super().__init__()
        self.got = 0

    @Slot(object)
    def take(self, value):
        self.got += 1


def test_emitting_a_signal_keeps_the_references_of_true_false_and_none(qapp):
    emitter, receiver = _Emitter(), _Receiver()
    emitter.changed.connect(receiver.take)
    emitter.changed.connect(lambda value: None)
    before = [sys.getrefcount(x) for x in (True, False, None)]
    for i in range(200):
        emitter.changed.emit(i)
        emitter.changed.emit(None)
    after = [sys.getrefcount(x) for x in (True, False, None)]
    assert receiver.got == 400
    lost = [b - a for b, a in zip(before, after)]
    assert max(lost) < 50, f"references lost per 400 emits (True, False, None): {lost}"
