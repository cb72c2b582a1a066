#!/usr/bin/env bash
# Build "Classifier Studio.app" and a .dmg on macOS:
#   bash packaging/macos/build_macos.sh
# Output: dist/Classifier Studio.app, dist/classifier-studio/ (CLI folder),
#         dist/classifier-studio-<version>-macos-<arch>.dmg
# Unsigned: sign/notarize with codesign + notarytool before distributing outside your team.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/build/venv"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install --upgrade pip
"$PY" -m pip install -c constraints.txt -e . "pyinstaller>=6.10"

VERSION="$("$PY" -c 'import desktop_app; print(desktop_app.__version__)')"
ARCH="$(uname -m)"
echo "==> building Classifier Studio $VERSION ($ARCH)"
rm -rf "$ROOT/dist/classifier-studio" "$ROOT/dist/Classifier Studio.app"
# On darwin the spec also produces the .app (BUNDLE).
"$PY" -m PyInstaller --noconfirm --clean \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
    packaging/classifier_studio.spec

APP="$ROOT/dist/Classifier Studio.app"
"$APP/Contents/MacOS/classifier-studio" --version

DMG="$ROOT/dist/classifier-studio-$VERSION-macos-$ARCH.dmg"
STAGE="$ROOT/build/dmg"
rm -rf "$STAGE" "$DMG"
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "Classifier Studio" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
du -sh "$APP" "$DMG"
