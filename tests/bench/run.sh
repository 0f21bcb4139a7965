#!/usr/bin/env bash
# The full benchmark, as recorded in docs/performance.md: the C cases, then
# the Python and Go bindings on the same corpus, each as a ratio to the C
# figure with the same rules (RDS + 20).
#
#   bash tests/bench/run.sh [RECORDS] [REPEATS]     (default 200000 3)
#
# Builds build-perf (release) if needed, the Python package into
# build-perf/venv (pip install .) and the Go driver against build-perf.
# Heavy: run it alone, on an otherwise idle machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
records=${1:-200000}
repeats=${2:-3}
build=$root/build-perf
cd "$root"

[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release -Dtests=enabled
ninja -C "$build" tests/bench/ctrule-bench >/dev/null

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
echo "commit:  $(git rev-parse --short HEAD)"
corpus=$build/bench-corpus.ndjson
"$build/tests/bench/ctrule-bench" -n "$records" -r "$repeats" -o "$corpus"
rules=$root/tests/bench/rules/cloudtrail_rules.yaml

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
# The C figure again, right before and right after a binding runs; the
# binding is compared with the faster of the two (the machine is shared).
c_again() { "$build/tests/bench/ctrule-bench" -f "$corpus" -r "$repeats" -1 | sed -n 's/^c-rate rds+20 //p'; }
faster() { python3 -c "import sys; print(max(float(a) for a in sys.argv[1:]))" "$@"; }

venv=$build/venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$root" >/dev/null
before=$(c_again)
py_line=$("$venv/bin/python" "$root/tests/bench/bench.py" "$corpus" "$rules" "$repeats")
after=$(c_again)
c_rate=$(faster "$before" "$after")
py_rate=$(echo "$py_line" | awk '{print $3}')
echo "Python binding, RDS + 20:  $py_line"
echo "  C before/after: $before / $after records/s => $(ratio "$py_rate" "$c_rate")x the C figure (target >= 0.9x)"

die() { echo "run.sh: $*" >&2; exit 1; }
# shellcheck source=../../scripts/go-env.sh
. "$root/scripts/go-env.sh"
(cd "$root/tests/bench/go" && "$GO" build -o "$build/bench-go" .)
before=$(c_again)
go_line=$("$build/bench-go" "$corpus" "$rules" "$repeats")
after=$(c_again)
c_rate=$(faster "$before" "$after")
go_rate=$(echo "$go_line" | awk '{print $3}')
echo "Go binding, RDS + 20:      $go_line"
echo "  C before/after: $before / $after records/s => $(ratio "$go_rate" "$c_rate")x the C figure (target >= 0.9x)"
rm -f "$corpus"
