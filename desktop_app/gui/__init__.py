"""PySide6 desktop app. Workers reach the GUI only through signals carrying plain data."""
