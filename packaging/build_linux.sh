#!/usr/bin/env bash
# Build the Linux one-folder bundle and a .tar.gz of it, from a fresh clone:
#   bash packaging/build_linux.sh
# Output: dist/classifier-studio/ and dist/classifier-studio-<version>-linux-x86_64.tar.gz
# Slow (several minutes): run it before a release, not as part of the test suite.
# PYTHON=python3.11 to choose the interpreter; SKIP_INSTALL=1 to reuse build/venv as is;
# TORCH_INDEX_URL=<pip index> installs torch (the constraints.txt version) from that index first,
# e.g. PyTorch's CPU or CUDA wheel index (see packaging/README.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/build/venv"

if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
if [ "${SKIP_INSTALL:-0}" != 1 ]; then
    echo "==> installing the app and PyInstaller (CPU torch via constraints.txt)"
    "$PY" -m pip install --upgrade pip
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
        "$PY" -m pip install -c constraints.txt torch --index-url "$TORCH_INDEX_URL"
    fi
    "$PY" -m pip install -c constraints.txt -e . "pyinstaller>=6.10"
fi

VERSION="$("$PY" -c 'import desktop_app; print(desktop_app.__version__)')"
echo "==> building classifier-studio $VERSION"
rm -rf "$ROOT/dist/classifier-studio"
"$PY" -m PyInstaller --noconfirm --clean \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
    packaging/classifier_studio.spec

BUNDLE="$ROOT/dist/classifier-studio"
# Strip torch's own libraries only (415 -> 330 MB for libtorch_cpu.so). Not the spec's strip=True:
# that also strips numpy.libs' OpenBLAS, which then fails to load.
if command -v strip > /dev/null; then
    echo "==> stripping torch libraries"
    strip --strip-unneeded "$BUNDLE"/_internal/torch/lib/*.so* "$BUNDLE"/_internal/torch/_C*.so || true
fi
"$BUNDLE/classifier-studio" --version

TARBALL="$ROOT/dist/classifier-studio-$VERSION-linux-x86_64.tar.gz"
echo "==> packing $TARBALL"
tar -C "$ROOT/dist" -czf "$TARBALL" classifier-studio

echo "==> sizes"
du -sh "$BUNDLE" "$TARBALL"
echo "Built $BUNDLE; check it with: bash packaging/smoke_test.sh $BUNDLE"
