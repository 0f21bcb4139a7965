#!/usr/bin/env bash
# Load test of the SQS worker: N objects (default 1000) through two workers
# against a local moto server, then a paced run for the event-to-alert delay.
#
#   bash examples/sqs-worker/loadtest.sh [OBJECTS] [CONCURRENCY_PER_WORKER]
#
# Needs the C library built in build/ (ninja -C build). Prints objects/s,
# records/s and the delay percentiles.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CTRULE_SQS_LOAD_OBJECTS=${1:-1000} CTRULE_SQS_LOAD_CONCURRENCY=${2:-8} CTRULE_SQS_TEST_RUN='^TestLoad$'
exec bash "$here/../../scripts/test.d/sqs.sh" "$here/../.."
