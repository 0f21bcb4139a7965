#!/usr/bin/env bash
# The SQS worker (examples/sqs-worker) end to end, against a local
# S3+SQS+SNS-compatible server.
#
#   bash scripts/test.d/sqs.sh [REPO_ROOT]
#
# Run by scripts/test.sh after the C library is built in <root>/build.
# Installs moto's server into a venv under build-sqs/ (once), starts it on a
# free 127.0.0.1 port, runs go vet and the worker's go tests (which build
# the worker binary and drive it as a user would), and stops the server.
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
build=$root/build
work=$root/build-sqs
example=$root/examples/sqs-worker

step() { echo "-- sqs: $*"; }
die() { echo "sqs.sh: FAILED: $*" >&2; exit 1; }

# ---------------------------------------------------------------- Go and the library
# shellcheck source=../go-env.sh
. "$root/scripts/go-env.sh"
export CTRULE_REQUIRE_DATA=1 CTRULE_SQS_REQUIRE_E2E=1
# /metrics is linted by promtool (Debian's prometheus package, installed by scripts/setup.sh).
command -v promtool >/dev/null && export CTRULE_SQS_REQUIRE_PROMTOOL=1

# ---------------------------------------------------------------- moto
venv=$work/moto-venv
if [ ! -x "$venv/bin/moto_server" ]; then
  step "installing moto[server] into $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check 'moto[server]>=5'
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null && break
  kill -0 "$moto_pid" 2>/dev/null || { cat "$work/moto.log"; die "moto_server exited"; }
  sleep 0.2
done
step "moto $("$venv/bin/python" -c 'import moto; print(moto.__version__)') on 127.0.0.1:$port"
export CTRULE_SQS_TEST_ENDPOINT=http://127.0.0.1:$port

# ---------------------------------------------------------------- tests
cd "$example"
step "gofmt"
unformatted=$(gofmt -l .)
[ -z "$unformatted" ] || die "not gofmt-formatted: $unformatted"
step "go vet"
go vet ./... || die "go vet"
step "go test (message shapes, then the worker binary end to end)"
log=$work/test.log
rc=0
# The worker the tests drive is also built with the race detector (the
# memory and load tests measure the plain build).
race=1
[ -z "${CTRULE_SQS_LOAD_OBJECTS:-}" ] || race=""
CTRULE_SQS_WORKER_RACE=$race go test -count=1 -v -timeout 30m -run "${CTRULE_SQS_TEST_RUN:-.}" ./... > "$log" 2>&1 || rc=$?
grep -E '^(--- |PASS|FAIL|ok|panic)|_test.go:[0-9]+:' "$log" | grep -v '^        {' || true
step "moto used $(ps -o cputime= -p "$moto_pid" | tr -d ' ') of CPU"
[ "$rc" -eq 0 ] || { tail -n 60 "$log"; die "go test (full log: $log)"; }
echo "sqs: all passed"
