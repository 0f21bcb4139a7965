#!/usr/bin/env bash
# The Python binding: builds and installs the package from the repository root
# with pip (meson-python + SWIG, the way users install it) into a venv, then
# runs its pytest suite. Called by scripts/test.sh with the repo root as $1.
# Idempotent; exits non-zero on failure.
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
venv=${CTRULE_PY_VENV:-$root/build-py/venv}
py=$venv/bin/python

# Building the extension needs Python.h (python3-dev on Debian/Ubuntu).
inc=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
if [ ! -f "$inc/Python.h" ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "python: installing python3-dev (Python.h is missing)"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-dev
  else
    echo "python: Python.h not found in $inc: install the Python development headers" >&2
    exit 1
  fi
fi

if [ ! -x "$py" ]; then
  echo "python: creating venv $venv"
  python3 -m venv "$venv"
fi
pip=("$py" -m pip --disable-pip-version-check)
"${pip[@]}" install -q pytest mypy
echo "python: pip install $root"
# Build isolation fetches meson-python, meson and swig>=4.4 (see pyproject.toml).
"${pip[@]}" install -q --force-reinstall --no-deps "$root"

# Run from the repo root: no directory there shadows the installed package.
cd "$root"
"$py" -m pytest -p no:cacheprovider -ra -q bindings/python/tests
# The Python snippets of the READMEs, run as written in this venv.
echo "python: README snippets"
CTRULE_PYTHON=$py CTRULE_DOCS_KINDS=python CTRULE_REQUIRE_DOCS=python \
  "$py" -m pytest -p no:cacheprovider -ra -q tests/e2e/test_docs.py
