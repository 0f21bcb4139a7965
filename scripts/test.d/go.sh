#!/usr/bin/env bash
# Go binding (bindings/go) and its example service (examples/go).
#
#   bash scripts/test.d/go.sh [REPO_ROOT]
#
# Run by scripts/test.sh after the C library is built in <root>/build. Checks
# that the committed SWIG output matches a fresh run of SWIG, then runs
# `go vet` and `go test -race` on the binding and the example, and builds
# the example and pipes the sample corpus through it. The binding finds the
# uninstalled library through pkg-config (build/meson-uninstalled) and links
# it with an rpath, so nothing has to be installed.
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
build=$root/build
bindings=$root/bindings/go
example=$root/examples/go
capi=$bindings/internal/capi

step() { echo "-- go: $*"; }
die() { echo "go.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- toolchain and library
# shellcheck source=../go-env.sh
. "$root/scripts/go-env.sh"
step "$gover"

# Tests: the shared corpus must be there, and the C CLI is used when built.
export CTRULE_REQUIRE_DATA=1
export CTRULE_CLI=${CTRULE_CLI:-$build/examples/cli/ctrule}

# ---------------------------------------------------------------- SWIG
swig_version() { "$1" -version 2>/dev/null | sed -n 's/^SWIG Version //p'; }
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

have=$(swig_version swig || true)
if [ -z "$have" ] || ! version_ge "$have" 4.4; then
  step "installing swig>=4.4 from PyPI (found '${have:-none}')"
  python3 -m pip install -q --disable-pip-version-check 'swig>=4.4'
  hash -r
  have=$(swig_version swig || true)
  [ -n "$have" ] && version_ge "$have" 4.4 || die "swig >= 4.4 not available after pip install"
fi
step "swig $have"

# The committed capi.go and ctrule_wrap.c must be what SWIG makes of ctrule.i
# and include/ctrule.h. The output names the SWIG version, so the check uses
# the version generate.sh pins (a private venv when PATH has another one).
pinned=$(sed -n 's/^SWIG_VERSION=//p' "$capi/generate.sh")
swig_bin=swig
if [ "$have" != "$pinned" ]; then
  venv=$build/go-swig-$pinned
  if [ "$(swig_version "$venv/bin/swig" || true)" != "$pinned" ]; then
    step "installing swig==$pinned into $venv for the generated-files check"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "swig==$pinned"
  fi
  swig_bin=$venv/bin/swig
fi
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
SWIG=$swig_bin CTRULE_INCLUDE_DIR=$root/include sh "$capi/generate.sh" "$gen"
for f in capi.go ctrule_wrap.c; do
  if ! diff -u "$capi/$f" "$gen/$f" > "$gen/$f.diff"; then
    head -n 40 "$gen/$f.diff"
    die "bindings/go/internal/capi/$f is stale: run 'go generate ./internal/capi' in bindings/go (SWIG $pinned) and commit the result"
  fi
done
step "generated SWIG layer is up to date (SWIG $pinned)"

# ---------------------------------------------------------------- binding
# go_test LABEL: go test -race in the current directory; prints its output
# (verbose, without the === RUN noise) and fails on failure.
go_test() {
  local log=$gen/test-$1.log rc=0
  go test -race -count=1 -v ./... > "$log" 2>&1 || rc=$?
  grep -Ev '^=== (RUN|PAUSE|CONT|NAME)' "$log" || true
  [ "$rc" -eq 0 ] || die "go test -race failed ($1)"
}

step "gofmt"
unformatted=$(gofmt -l "$bindings/ctrule" "$capi/callback.go" "$capi/doc.go" "$example")
[ -z "$unformatted" ] || die "not gofmt-formatted: $unformatted"

cd "$bindings"
step "go vet (bindings/go)"
go vet ./...
step "go test -race (bindings/go)"
go_test bindings

# ---------------------------------------------------------------- example
cd "$example"
step "go vet (examples/go)"
go vet ./...
step "go test -race (examples/go)"
go_test example

step "build and run examples/go on the sample corpus"
mkdir -p "$build/go"
go build -o "$build/go/ctrule-alerts" ./ctrule-alerts
data=$root/../shared/data/cloudtrail/records.json.gz
[ -f "$data" ] || data=$root/../shared/data/cloudtrail/records.ndjson
[ -f "$data" ] || die "no sample corpus in $root/../shared/data/cloudtrail"
check_alerts() { # FILE MIN: every line is a Falco-shaped alert, at least MIN of them
  python3 - "$1" "$2" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    a = json.loads(line)
    for k in ("time", "rule", "priority", "output", "output_fields", "source", "tags", "hostname"):
        assert k in a, (k, line)
    n += 1
assert n >= int(sys.argv[2]), "%d alerts, want at least %s" % (n, sys.argv[2])
print("ctrule-alerts: %d alert lines, all Falco-shaped JSON" % n)
PY
}
# Built-in RDS rules on the gzipped log file, then the example's demo rules.
"$build/go/ctrule-alerts" < "$data" > "$gen/alerts.ndjson" 2> "$gen/alerts.err" ||
  { cat "$gen/alerts.err"; die "ctrule-alerts failed"; }
check_alerts "$gen/alerts.ndjson" 0
tail -n 1 "$gen/alerts.err"
"$build/go/ctrule-alerts" -no-builtin -r "$example/ctrule-alerts/testdata/demo_rules.yaml" < "$data" \
  > "$gen/demo.ndjson" 2> "$gen/demo.err" || { cat "$gen/demo.err"; die "ctrule-alerts failed"; }
check_alerts "$gen/demo.ndjson" 1
tail -n 1 "$gen/demo.err"

step "static link (pkg-config --static): libctrule and its dependencies inside the binary"
CGO_LDFLAGS="-Wl,--as-needed -Wl,-Bstatic $(pkg-config --static --libs ctrule) -Wl,-Bdynamic" \
  go build -o "$build/go/ctrule-alerts-static" ./ctrule-alerts
if ldd "$build/go/ctrule-alerts-static" | grep -E 'libctrule|libjansson|libyaml|libz[.]|libdeflate|libpcre2'; then
  die "the static build still loads the libraries above"
fi
"$build/go/ctrule-alerts-static" < "$data" > "$gen/static.ndjson" 2> "$gen/static.err" ||
  { cat "$gen/static.err"; die "the static ctrule-alerts failed"; }
cmp -s "$gen/alerts.ndjson" "$gen/static.ndjson" || die "the static build's alerts differ from the shared build's"

step "README Go snippets, each built in a fresh module outside the repository"
(cd "$root" && CTRULE_DOCS_KINDS=go CTRULE_REQUIRE_DOCS=go python3 -m pytest -p no:cacheprovider -ra -q tests/e2e/test_docs.py) ||
  die "a Go snippet of the READMEs does not run as written"

echo "go: all passed"
