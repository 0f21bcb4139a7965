#!/usr/bin/env bash
# Benchmark smoke: runs every case of tests/bench/ctrule-bench on a small
# generated corpus (the figures mean nothing at this size; docs/performance.md
# has the real ones, from tests/bench/run.sh), and the Python driver when the
# Python package is installed. Fails if a case fails or if the index and
# prefilter change the number of alerts. Called by scripts/test.sh with the
# repo root as $1; takes a few seconds.
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
build=$root/build
bench=$build/tests/bench/ctrule-bench
ninja -C "$build" tests/bench/ctrule-bench >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if ! "$bench" -n 3000 -r 1 -s 0.05 -o "$out/corpus.ndjson" >"$out/c.txt" 2>&1; then
  cat "$out/c.txt"
  echo "bench: FAIL (ctrule-bench exited non-zero)"
  exit 1
fi
cat "$out/c.txt"
for want in "memchr over the bytes" "jansson parse-only" "built-in RDS rules" "RDS + 20 CloudTrail rules" \
            "1,000 generated rules" "CTR_SCAN_NO_INDEX" "zlib inflate-only" "gzipped log file, built-in RDS rules" "gzipped log file, RDS + 20" \
            "log file streamed"; do
  grep -q "$want" "$out/c.txt" || { echo "bench: FAIL (no '$want' line)"; exit 1; }
done
if grep -q FAILED "$out/c.txt"; then
  echo "bench: FAIL (a case failed)"
  exit 1
fi

py=${CTRULE_PY_VENV:-$root/build-py/venv}/bin/python
if [ -x "$py" ] && "$py" -c 'import ctrule' 2>/dev/null; then
  "$py" "$root/tests/bench/bench.py" "$out/corpus.ndjson" "$root/tests/bench/rules/cloudtrail_rules.yaml" 1 ||
    { echo "bench: FAIL (Python driver)"; exit 1; }
else
  echo "bench: Python package not installed yet: driver not run (tests/bench/run.sh runs it)"
fi
echo "bench: PASS (smoke; figures in docs/performance.md)"
