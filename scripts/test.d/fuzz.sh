#!/usr/bin/env bash
# Smoke of the hardening tools: each libFuzzer target (ASan + UBSan) for a
# short while on its seed corpus, then valgrind memcheck on the regression
# tests and the CLI on the sample data. The long runs are
# `bash scripts/fuzz.sh SECONDS` and `bash scripts/valgrind.sh`.
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
seconds=${CTR_FUZZ_SMOKE_SECONDS:-15}
rc=0
bash scripts/fuzz.sh "$seconds" || rc=1
vg_out=$(bash scripts/valgrind.sh --quick 2>&1) || { rc=1; echo "$vg_out" | tail -40; }
echo "$vg_out" | grep -E '^valgrind:' || true
if [ $rc -eq 0 ]; then
  echo "fuzz.sh: PASS (7 fuzz targets ${seconds}s each, valgrind quick run clean)"
else
  echo "fuzz.sh: FAIL"
fi
exit $rc
