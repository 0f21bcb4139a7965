#!/usr/bin/env bash
# Installs everything libctrule needs to build and test on a Debian/Ubuntu machine.
# Idempotent: re-running only checks what is already there.
set -euo pipefail

need_apt=()
for pkg in build-essential pkg-config ninja-build clang \
           libjansson-dev libyaml-dev zlib1g-dev libdeflate-dev libisal-dev libpcre2-dev libcriterion-dev \
           python3-dev python3-venv libclang-rt-14-dev valgrind libsimdjson-dev prometheus; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

# meson and swig from PyPI: Debian's are too old for meson-python and Go >= 1.22.
python3 -m pip install -q --disable-pip-version-check 'meson>=1.3' 'swig>=4.4' 'meson-python>=0.15' pytest
