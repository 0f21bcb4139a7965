#!/usr/bin/env bash
# The README's main job: set up the machine, build libctrule and the `ctrule`
# CLI, then scan the bundled sample CloudTrail log file with the built-in RDS
# rules and print every alert, followed by the account -> region -> rule
# drill-down. Exits 0 when the scan ran (alerts found or not); non-zero if a
# step fails.
#
#   bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized
ninja -C build

sample=examples/data/cloudtrail-sample.json.gz
echo
echo "== build/examples/cli/ctrule scan --summary $sample"
echo
build/examples/cli/ctrule scan --summary "$sample"
