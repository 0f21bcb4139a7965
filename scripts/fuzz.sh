#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/: clang, ASan + UBSan, -Dfuzz=true),
# builds their seed corpora, and runs each target for a given time.
#
#   bash scripts/fuzz.sh SECONDS [--parallel] [TARGET...]
#
# TARGET is rules, condition, scanner or render (default: all four, one
# after the other; --parallel runs them at once under nice). The corpora in
# build-fuzz/corpus/<target> grow across runs; logs go to build-fuzz/logs/,
# crashes, hangs (-timeout=10) and leaks to build-fuzz/artifacts/<target>/.
# Prints one line per target (executions, coverage, result); exits non-zero
# if any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && [[ $1 =~ ^[0-9]+$ ]] || { echo "usage: $0 SECONDS [--parallel] [TARGET...]" >&2; exit 2; }
seconds=$1
shift
parallel=0
targets=()
for arg in "$@"; do
  case $arg in
    --parallel) parallel=1 ;;
    rules|condition|scanner|render) targets+=("$arg") ;;
    *) echo "unknown target '$arg' (rules, condition, scanner, render)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(rules condition scanner render)

build=build-fuzz
if [ ! -f $build/build.ninja ]; then
  CC=clang meson setup $build -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Ddefault_library=static -Dtests=disabled -Dexamples=false --buildtype=debugoptimized >/dev/null
fi
nice -n 19 ninja -C $build >/dev/null
python3 tests/fuzz/make_corpus.py $build/corpus >/dev/null
mkdir -p $build/logs

max_len() {
  case $1 in
    rules|scanner) echo 65536 ;;  # a whole rules file; several records in any framing
    render) echo 8192 ;;
    condition) echo 4096 ;;
  esac
}
dict() {
  case $1 in
    rules) echo tests/fuzz/rules.dict ;;
    condition|render) echo $build/tests/fuzz/condition.dict ;;
    scanner) echo tests/fuzz/json.dict ;;
  esac
}

run_target() {
  local t=$1
  mkdir -p $build/artifacts/$t
  # -fork=0: one process, so the final stats are the whole run's.
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
    nice -n 19 $build/tests/fuzz/fuzz_$t $build/corpus/$t \
      -max_total_time="$seconds" -max_len="$(max_len "$t")" -rss_limit_mb=2048 -timeout=10 \
      -dict="$(dict "$t")" -print_final_stats=1 -artifact_prefix=$build/artifacts/$t/ \
      >"$build/logs/$t.log" 2>&1
}

summary() {
  local t=$1 rc=$2 log=$build/logs/$1.log
  local execs cov
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $t: PASS (${seconds}s, ${execs:-?} executions, ${cov:-no coverage line})"
  else
    echo "fuzz $t: FAIL (exit $rc after ${execs:-?} executions; see $log and $build/artifacts/$t/)"
    grep -m1 -A12 -E 'ERROR: |fuzz invariant broken|Test unit written' "$log" || true
  fi
}

failed=0
if [ $parallel -eq 1 ]; then
  pids=()
  for t in "${targets[@]}"; do
    run_target "$t" &
    pids+=($!)
  done
  for i in "${!targets[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    summary "${targets[$i]}" $rc
    [ $rc -eq 0 ] || failed=1
  done
else
  for t in "${targets[@]}"; do
    rc=0
    run_target "$t" || rc=$?
    summary "$t" $rc
    [ $rc -eq 0 ] || failed=1
  done
fi
exit $failed
