"""Errors the user can fix, with what went wrong, where, and how to fix it."""

from __future__ import annotations


class UserInputError(Exception):
    """Bad input (a file, a column, a setting) that the user can correct.

    The CLI turns it into exit code 2 with a short message; the GUI shows it in a dialog.
    ``where`` names the file, row or column; ``fix`` says what to do about it.
    """

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.fix = fix

    def describe(self) -> str:
        """A few lines for a person: what, where, how to fix."""
        lines = [self.message]
        if self.where:
            lines.append(f"Where: {self.where}")
        if self.fix:
            lines.append(f"Fix: {self.fix}")
        return "\n".join(lines)

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.describe()


class TrainingCancelled(Exception):
    """Raised inside the engine when a cancel request is honoured."""
