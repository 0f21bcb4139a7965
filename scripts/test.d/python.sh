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
# boto3 (the s3 extra) and moto's server: test_s3.py and test_hunt.py hunt
# through a bucket on a moto server they start on 127.0.0.1.
"${pip[@]}" install -q pytest mypy boto3 'moto[server]>=5'
echo "python: pip install $root"
# Build isolation fetches meson-python, meson and swig>=4.4 (see pyproject.toml).
"${pip[@]}" install -q --force-reinstall --no-deps "$root"

# Run from the repo root: no directory there shadows the installed package.
cd "$root"
CTRULE_REQUIRE_S3=1 "$py" -m pytest -p no:cacheprovider -ra -q bindings/python/tests
# The Python snippets of the READMEs, run as written in this venv.
echo "python: README snippets"
CTRULE_PYTHON=$py CTRULE_DOCS_KINDS=python CTRULE_REQUIRE_DOCS=python \
  "$py" -m pytest -p no:cacheprovider -ra -q tests/e2e/test_docs.py

# ---------------------------------------------------------------- the self-contained wheel
# scripts/wheel.sh builds the manylinux wheel (auditwheel bundles jansson,
# libyaml, libdeflate and PCRE2); it is installed into a fresh venv and the
# suite runs against it with the system's copies of those libraries made
# unloadable (bind-mounted over by /dev/null in a private mount namespace),
# which proves the wheel needs nothing but the manylinux baseline. The CLI
# parity tests are skipped there: the CLI itself loads the system libraries.
# CTRULE_TEST_WHEEL=0 skips this part.
if [ "${CTRULE_TEST_WHEEL:-1}" = 1 ]; then
  echo "python: self-contained wheel (scripts/wheel.sh)"
  wdir=${CTRULE_WHEEL_DIR:-$root/build-wheel}
  whl=$(CTRULE_WHEEL_VENV=$wdir/venv bash "$root/scripts/wheel.sh" "$wdir/dist" | tail -n 1)
  echo "python: $(basename "$whl")"
  wvenv=$wdir/test-venv
  rm -rf "$wvenv"
  python3 -m venv "$wvenv"
  "$wvenv/bin/python" -m pip install -q --disable-pip-version-check pytest "$whl"
  # pcre2 last: mount(8) itself loads it (through libselinux).
  libs=$(ldconfig -p | awk '/lib(jansson|yaml-0|deflate|pcre2-8)\.so/ {print $NF}' | xargs -n1 readlink -f |
         sort -u | awk '/pcre2/ {last = $0; next} {print} END {if (last) print last}' | tr '\n' ' ')
  run_wheel_suite="CTRULE_CLI=/nonexistent '$wvenv/bin/python' -m pytest -p no:cacheprovider -ra -q bindings/python/tests"
  if [ "$(id -u)" -eq 0 ] && unshare -m --propagation private true 2>/dev/null; then
    echo "python: running the suite with the system's copies hidden: $libs"
    unshare -m --propagation private bash -c "
      set -e
      for l in $libs; do mount --bind /dev/null \$l; done
      '$wvenv/bin/python' -c 'import ctrule; ctrule.builtin()'
      $run_wheel_suite"
  else
    # Without a mount namespace: the loader must resolve every bundled
    # library inside the wheel.
    so=$("$wvenv/bin/python" -c 'import ctrule._ctrule as m; print(m.__file__)')
    if ldd "$so" | grep -E 'lib(jansson|yaml-0|deflate|pcre2-8)' | grep -v 'ctrule.libs'; then
      echo "python: the wheel's extension loads system libraries (above)" >&2
      exit 1
    fi
    bash -c "$run_wheel_suite"
  fi
fi
