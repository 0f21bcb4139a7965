#!/usr/bin/env bash
# Runs valgrind memcheck over the C test suite (every Criterion program, via
# `meson test --wrapper`) and the ctrule CLI on the sample data, in a build
# without sanitizers (build-valgrind/ unless $CTR_VALGRIND_BUILD says
# otherwise). Any memcheck error, or any definitely/indirectly lost block,
# fails the run. Logs: <build>/valgrind-logs/.
#
#   bash scripts/valgrind.sh           # the whole suite and the CLI (long: ~10+ min)
#   bash scripts/valgrind.sh --quick   # regression tests and the CLI on the sample only
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
build=${CTR_VALGRIND_BUILD:-build-valgrind}
logs=$build/valgrind-logs

command -v valgrind >/dev/null || { echo "valgrind: FAIL (valgrind not installed; run scripts/setup.sh)"; exit 1; }
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=debug -Dexamples=true
nice -n 19 ninja -C "$build" >"$build/ninja.log" 2>&1 || { cat "$build/ninja.log"; echo "valgrind: FAIL (build)"; exit 1; }
rm -rf "$logs"
mkdir -p "$logs"
logs_abs=$(cd "$logs" && pwd)

# Criterion forks and re-executes its test program for each test, so
# children are traced and each process writes its own log.
vg=(valgrind --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --track-origins=yes --num-callers=30
    --log-file="$logs_abs/%q{CTR_VG_NAME}.%p.log")

suites=()
if [ $quick -eq 1 ]; then
  suites=(regressions)
fi
echo "== valgrind: C suite (${suites[*]:-all})"
CTR_VG_NAME=suite nice -n 19 meson test -C "$build" --num-processes 1 --wrapper "${vg[*]}" --timeout-multiplier 20 \
  --print-errorlogs "${suites[@]}" || { echo "valgrind: FAIL (a test failed under valgrind)"; exit 1; }

cli=$build/examples/cli/ctrule
shared=../shared/data/cloudtrail
run_cli() {  # name, expected exit status, command...
  local name=$1 want=$2 rc=0
  shift 2
  CTR_VG_NAME=cli-$name "${vg[@]}" "$cli" "$@" >/dev/null 2>"$logs/cli-$name.stderr" || rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "valgrind: FAIL (ctrule $* exited $rc, expected $want; see $logs/cli-$name.stderr)"
    exit 1
  fi
}
echo "== valgrind: ctrule CLI"
run_cli sample 0 scan examples/data/cloudtrail-sample.json.gz
run_cli sample-json 0 scan --json examples/data/cloudtrail-sample.json.gz
if [ $quick -eq 0 ]; then
  run_cli validate 0 validate libctrule/rules/aws_rds_rules.yaml
  run_cli fixtures 0 test
  [ -d "$shared" ] && run_cli shared-gz 0 scan "$shared/records.json.gz"
  [ -d "$shared" ] && run_cli partial 0 scan -v "$shared/partial.ndjson"
  # Some envelopes carry non-CloudTrail messages: bad records, exit 4.
  [ -d "$shared" ] && run_cli envelopes 4 scan --json "$shared/envelopes"
fi

# Every process's log ends with an ERROR SUMMARY; leaks of the kinds above
# count as errors there.
bad=0 processes=0
for log in "$logs"/*.log; do
  processes=$((processes + 1))
  if ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
    grep -q 'ERROR SUMMARY' "$log" || continue  # a process that exec'd away writes no summary
    bad=$((bad + 1))
    echo "--- $log"
    grep -m1 -B2 -A25 -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|Source and|Argument|[0-9,]+ bytes in)' "$log" || true
  fi
done
if [ $bad -ne 0 ]; then
  echo "valgrind: FAIL ($bad of $processes processes reported errors; logs in $logs)"
  exit 1
fi
echo "valgrind: PASS ($processes processes, 0 errors, no definite or indirect leaks)"
