// Package capi is the SWIG-generated cgo layer of the Go binding of
// libctrule: one Go function per function of include/ctrule.h, plus the
// handle-based callback shims declared in ctrule.i. It is internal; use
// package ctrule.
//
// capi.go and ctrule_wrap.c are generated (go generate, or sh generate.sh)
// and committed, so building needs only a C compiler and the installed C
// library (pkg-config ctrule), not SWIG.
package capi

//go:generate sh generate.sh
