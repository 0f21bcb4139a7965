#!/usr/bin/env bash
# End-to-end tests of the `ctrule` CLI, driven as a user drives it
# (tests/e2e/test_cli.py, pytest): exit codes, text/JSON output, stdin, a
# directory tree, a corrupt file among good ones, validate/list/test, and the
# built-in rules' fixtures. Runs against build/ and, when it exists, against
# the ASan+UBSan build in build-asan/ (leaks and UB fail the run).
#
#   bash scripts/test.d/cli.sh [REPO_ROOT]
#
# Called by scripts/test.sh after both builds; exits non-zero on any failure.
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
cd "$root"

python3 -c 'import pytest, yaml, jsonschema' 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check pytest pyyaml jsonschema

run() {
  local label=$1 cli=$2
  [ -x "$cli" ] || { echo "cli.sh: $cli is not built (ninja -C $(dirname "$(dirname "$(dirname "$cli")")"))" >&2; exit 1; }
  echo "-- cli: $label ($cli)"
  CTRULE_CLI=$cli python3 -m pytest -p no:cacheprovider -ra -q tests/e2e
}

# The C and shell snippets of the READMEs run against this build (tests/e2e/test_docs.py).
CTRULE_DOCS_KINDS=c,sh CTRULE_REQUIRE_DOCS=c,sh run "build" "$root/build/examples/cli/ctrule"
if [ -x "$root/build-asan/examples/cli/ctrule" ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:exitcode=86 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  CTRULE_CLI_SANITIZED=1 run "build-asan" "$root/build-asan/examples/cli/ctrule"
fi
echo "cli: all passed"
