# Sourced by the scripts that build Go code against the uninstalled C library
# (scripts/test.d/go.sh, scripts/test.d/sqs.sh). Expects $build (the meson
# build dir holding the library) and a `die` function; sets up the Go
# toolchain (Go >= 1.24, cgo) and pkg-config, rpath and LD_LIBRARY_PATH so
# that the binding links build/libctrule without installing anything.

GO=$(command -v go || true)
[ -n "$GO" ] || GO=/usr/local/go/bin/go
[ -x "$GO" ] || die "Go not found (need Go >= 1.24 on PATH or in /usr/local/go)"
export PATH=$(dirname "$GO"):$PATH
export GOTOOLCHAIN=local CGO_ENABLED=1
# The go command needs a cache directory; CI may run without HOME.
[ -n "${HOME:-}" ] || [ -n "${GOCACHE:-}" ] || export GOCACHE=$build/go-cache GOPATH=$build/go-path
gover=$("$GO" env GOVERSION)
case "$gover" in
  go1.2[4-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
  *) die "need Go >= 1.24, found $gover" ;;
esac

pcdir=$build/meson-uninstalled
[ -f "$pcdir/ctrule-uninstalled.pc" ] || die "no $pcdir/ctrule-uninstalled.pc: build the C library first (meson setup build && ninja -C build)"
export PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
libdirs=$(pkg-config --libs-only-L ctrule | sed 's/-L//g')
[ -n "$libdirs" ] || die "pkg-config gives no library directory for ctrule"
rpath=""
for d in $libdirs; do rpath="$rpath -Wl,-rpath,$d"; done
export CGO_LDFLAGS="${CGO_LDFLAGS:-}$rpath"
export LD_LIBRARY_PATH=$(echo $libdirs | tr ' ' ':')${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
