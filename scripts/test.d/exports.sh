#!/usr/bin/env bash
# The shared library exports exactly the functions declared CTR_API in
# include/ctrule.h: nothing internal (ctr__*) and nothing missing.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
lib=$(ls "$root"/build/libctrule/libctrule.so.* | head -n 1)
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDR]$/ {print $3}' | sort)
declared=$(grep -oE '^CTR_API [^(]*\(' "$root/include/ctrule.h" | sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort)
fail=0
stray=$(comm -23 <(echo "$exported") <(echo "$declared"))
missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
if [ -n "$stray" ]; then echo "exported but not in ctrule.h:"; echo "$stray"; fail=1; fi
if [ -n "$missing" ]; then echo "declared in ctrule.h but not exported:"; echo "$missing"; fail=1; fi
n=$(echo "$declared" | wc -l)
if [ "$fail" -eq 0 ]; then echo "exports: $n passed, 0 failed"; else echo "exports: 0 passed, 1 failed"; exit 1; fi
