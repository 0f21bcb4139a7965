#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/: clang, ASan + UBSan, -Dfuzz=true),
# builds their seed corpora, and runs each target for a given time.
#
#   bash scripts/fuzz.sh SECONDS [--parallel] [--keep-going] [TARGET...]
#
# TARGET is rules, condition, scanner, render, saved, walk or frame (default: all seven, one
# after the other; --parallel runs them at once under nice). --keep-going
# (for long runs) uses libFuzzer's fork mode, which records a crash, hang or
# leak and carries on fuzzing for the rest of the time. The corpora in
# build-fuzz/corpus/<target> grow across runs; logs go to build-fuzz/logs/,
# crashes, hangs (-timeout=10) and leaks to build-fuzz/artifacts/<target>/.
# Prints one line per target (executions, coverage, result); exits non-zero
# if any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && [[ $1 =~ ^[0-9]+$ ]] || { echo "usage: $0 SECONDS [--parallel] [--keep-going] [TARGET...]" >&2; exit 2; }
seconds=$1
shift
parallel=0
keep_going=()
targets=()
for arg in "$@"; do
  case $arg in
    --parallel) parallel=1 ;;
    --keep-going) keep_going=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1) ;;
    rules|condition|scanner|render|saved|walk|frame) targets+=("$arg") ;;
    *) echo "unknown target '$arg' (rules, condition, scanner, render, saved, walk, frame)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(rules condition scanner render saved walk frame)

build=build-fuzz
if [ ! -f $build/build.ninja ]; then
  CC=clang meson setup $build -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Ddefault_library=static -Dtests=disabled -Dexamples=false --buildtype=debugoptimized
fi
nice -n 19 ninja -C $build >$build/ninja.log 2>&1 || { cat $build/ninja.log; echo "fuzz: FAIL (build)"; exit 1; }
python3 tests/fuzz/make_corpus.py $build/corpus >/dev/null
mkdir -p $build/logs
started=$build/logs/.started
touch "$started"  # artifacts newer than this are this run's findings

max_len() {
  case $1 in
    rules|scanner|frame) echo 65536 ;;  # a whole rules file; several records in any framing
    walk) echo 16384 ;;  # one record or a few
    render|saved) echo 8192 ;;
    condition) echo 4096 ;;
  esac
}
dict() {
  case $1 in
    rules) echo tests/fuzz/rules.dict ;;
    condition|render) echo $build/tests/fuzz/condition.dict ;;
    saved) echo tests/fuzz/json.dict ;;  # a damaged block's text: JSON escapes and quotes
    scanner|walk|frame) echo tests/fuzz/json.dict ;;
  esac
}

run_target() {
  local t=$1
  mkdir -p $build/artifacts/$t
  # -fork=0: one process, so the final stats are the whole run's.
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
    nice -n 19 $build/tests/fuzz/fuzz_$t $build/corpus/$t \
      -max_total_time="$seconds" -max_len="$(max_len "$t")" -rss_limit_mb=2048 -timeout=10 \
      -dict="$(dict "$t")" -print_final_stats=1 -artifact_prefix=$build/artifacts/$t/ "${keep_going[@]}" \
      >"$build/logs/$t.log" 2>&1
}

summary() {
  local t=$1 rc=$2 log=$build/logs/$1.log
  local execs cov findings
  # Plain mode ends with stat:: lines; fork mode only has "#N: cov: ..." lines.
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' | tail -1)
  findings=$(find $build/artifacts/$t -type f -newer "$started" | wc -l)
  if [ "$rc" -eq 0 ] && [ "$findings" -eq 0 ]; then
    echo "fuzz $t: PASS (${seconds}s, ${execs:-?} executions, ${cov:-no coverage line})"
  else
    echo "fuzz $t: FAIL (exit $rc, $findings findings after ${execs:-?} executions, ${cov:-?};" \
         "see $log and $build/artifacts/$t/)"
    grep -m1 -A12 -E 'ERROR: |fuzz invariant broken|Test unit written' "$log" || true
  fi
}

# Each target runs in the background; without --parallel it is waited for
# before the next one starts.
failed=0 pids=() rcs=()
for i in "${!targets[@]}"; do
  run_target "${targets[$i]}" &
  pids[$i]=$!
  if [ $parallel -eq 0 ]; then
    rcs[$i]=0
    wait "${pids[$i]}" || rcs[$i]=$?
  fi
done
for i in "${!targets[@]}"; do
  if [ $parallel -eq 1 ]; then
    rcs[$i]=0
    wait "${pids[$i]}" || rcs[$i]=$?
  fi
  summary "${targets[$i]}" "${rcs[$i]}"
  [ "${rcs[$i]}" -eq 0 ] || failed=1
done
exit $failed
