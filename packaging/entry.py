"""PyInstaller entry script: the frozen `classifier-studio` executable (GUI with no args, else CLI)."""

from desktop_app.main import main

if __name__ == "__main__":
    raise SystemExit(main())
