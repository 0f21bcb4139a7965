#!/usr/bin/env bash
# The Falco conformance suite (tests/conformance/): every transcribed case run
# through the `ctrule` CLI and the library of build/ (and of build-asan/ when
# it exists, so the cases also run under ASan+UBSan), compared with Falco's
# recorded outcome. Fails on any disagreement not listed in
# tests/conformance/known_failures.txt and on any listed case that now agrees.
#
#   bash scripts/test.d/conformance.sh [REPO_ROOT] [BUILD_DIR...]
#
# Called by scripts/test.sh after both builds; exits non-zero on failure.
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
cd "$root"
shift || true
builds=("$@")
if [ ${#builds[@]} -eq 0 ]; then
  builds=(build)
  [ -x build-asan/examples/cli/ctrule ] && builds+=(build-asan)
fi

python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check pyyaml

for b in "${builds[@]}"; do
  echo "-- conformance: $b"
  if python3 -c 'import json,sys; o={x["name"]: x["value"] for x in json.load(open(sys.argv[1]))}; sys.exit("address" not in str(o.get("b_sanitize")))' \
       "$b/meson-info/intro-buildoptions.json" 2>/dev/null; then
    # ctypes loads the library into python: the sanitizer runtimes must come
    # first, and python's own allocations are not ours to leak-check. The CLI
    # (a child process) runs without the preload and with leak checking.
    LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
      ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:exitcode=86 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      CONFORMANCE_CLI_ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:exitcode=86 \
      python3 tests/conformance/run.py --build "$b"
  else
    python3 tests/conformance/run.py --build "$b"
  fi
done
echo "conformance: all passed"
