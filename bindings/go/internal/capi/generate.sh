#!/bin/sh
# generate.sh - regenerates the SWIG layer of the Go binding.
#
#   sh generate.sh [OUTDIR]
#
# Runs SWIG on ctrule.i and the repository's include/ctrule.h and writes
# capi.go and ctrule_wrap.c into OUTDIR (default: this directory). The output
# is committed so that `go get` users need no SWIG; scripts/test.d/go.sh
# regenerates into a temporary directory and fails if the result differs.
#
# The output carries the SWIG version, so it is pinned: SWIG_VERSION below must
# be the version on PATH (pip install "swig==$SWIG_VERSION"). Override the
# header location with CTRULE_INCLUDE_DIR.
set -eu

SWIG_VERSION=4.5.1

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
inc=${CTRULE_INCLUDE_DIR:-$here/../../../../include}
swig=${SWIG:-swig}

have=$("$swig" -version 2>/dev/null | sed -n 's/^SWIG Version //p')
if [ "$have" != "$SWIG_VERSION" ]; then
  echo "generate.sh: need SWIG $SWIG_VERSION (found '${have:-none}'): pip install 'swig==$SWIG_VERSION'" >&2
  exit 1
fi
[ -f "$inc/ctrule.h" ] || { echo "generate.sh: no ctrule.h in $inc" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Run from here with a relative input name: the name is written into the output.
cd "$here"
"$swig" -go -package capi -I"$inc" -o "$out/ctrule_wrap.c" -outdir "$out" ctrule.i
