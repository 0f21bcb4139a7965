#!/usr/bin/env bash
# The library built without ISA-L (-Disal=disabled: what `pip install .` or a
# build on a machine without libisal-dev makes) compiles its gzip layer
# without a warning, and its CLI reports the same alerts, errors and exit
# status as the ISA-L build over gzip input: the real records' log file, one
# member of several MB, and that member cut short.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
b=build-noisal
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf $b # built whole each time, so that the compiler's warnings are seen
meson setup $b --buildtype=debugoptimized -Disal=disabled -Dtests=disabled >/dev/null
ninja -C $b examples/cli/ctrule > "$tmp/ninja.log" 2>&1 || { cat "$tmp/ninja.log"; exit 1; }
if grep -q CTR_HAVE_ISAL $b/build.ninja; then echo "noisal: ISA-L was not left out"; exit 1; fi
if grep -E "frame_(isal|gzip)\.c.*warning:" "$tmp/ninja.log"; then echo "noisal: warnings without ISA-L"; exit 1; fi
gz=../shared/data/cloudtrail/records.json.gz
for _ in 1 2 3 4 5 6 7 8; do gzip -dc "$gz"; done | gzip -1 > "$tmp/big.json.gz"
head -c $(( $(stat -c %s "$tmp/big.json.gz") * 2 / 3 )) "$tmp/big.json.gz" > "$tmp/cut.json.gz"
scan() { # build-dir input -> $tmp/<build-dir>.{out,err,rc}
  local rc=0
  "$1/examples/cli/ctrule" scan --json --no-progress "$2" > "$tmp/$1.out" 2> "$tmp/$1.err" || rc=$?
  echo $rc > "$tmp/$1.rc"
}
fail=0
for input in "$gz" "$tmp/big.json.gz" "$tmp/cut.json.gz"; do
  scan build "$input"
  scan $b "$input"
  for part in out err rc; do
    if ! cmp -s "$tmp/build.$part" "$tmp/$b.$part"; then
      echo "noisal: $(basename "$input"): the build without ISA-L differs ($part)"
      fail=1
    fi
  done
  [ -s "$tmp/build.out" ] || { echo "noisal: $(basename "$input"): no alerts to compare"; fail=1; }
done
grep -q "truncated gzip stream" "$tmp/build.err" || { echo "noisal: the cut member gave no error"; fail=1; }
if [ $fail -eq 0 ]; then echo "noisal: 3 passed, 0 failed"; else exit 1; fi
