#!/usr/bin/env bash
# Sets up a fresh machine and runs every test of libctrule:
#   1. the C suite (Criterion) in a normal build,
#   2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. scripts/test.d/*: the end-to-end, Python and Go suites of the
#      components that exist, the fuzz smoke, and the C suite once more under
#      clang's UBSan.
# Idempotent; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/setup.sh

echo "== C library and tests (build/)"
[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized
ninja -C build
meson test -C build --print-errorlogs

echo "== C tests under ASan + UBSan (build-asan/)"
# Criterion forks; sanitizer reports make the test fail (halt_on_error).
[ -f build-asan/build.ninja ] || meson setup build-asan --buildtype=debug \
  -Db_sanitize=address,undefined -Db_lundef=false -Dexamples=true
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C build-asan --print-errorlogs

for extra in scripts/test.d/*.sh; do
  [ -e "$extra" ] || continue
  echo "== $(basename "$extra" .sh)"
  bash "$extra" "$root"
done

echo "== all tests passed"
