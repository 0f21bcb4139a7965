#!/usr/bin/env bash
# The C suite once more, built by clang with its UndefinedBehaviorSanitizer
# alone (build-ubsan-clang/): clang checks what gcc's UBSan does not, such as
# a null pointer plus an offset (a missing value's span looked into: found by
# fuzz_scanner in the RDS fields read from a record's bytes, 8813e3a).
# halt_on_error makes any report fail its test. ASan runs in build-asan/.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
build=build-ubsan-clang
if [ ! -f $build/build.ninja ]; then
  CC=clang meson setup $build --buildtype=debugoptimized -Db_sanitize=undefined -Db_lundef=false >/dev/null
fi
ninja -C $build >/dev/null
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 meson test -C $build --print-errorlogs
