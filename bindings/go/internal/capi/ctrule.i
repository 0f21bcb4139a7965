/*
 * ctrule.i - SWIG interface for the Go binding of libctrule.
 *
 * SWIG generates capi.go and ctrule_wrap.c from this file and include/ctrule.h
 * (see generate.sh; the generated files are committed so `go get` users need no
 * SWIG). The package is internal: the idiomatic API lives in ../../ctrule.
 *
 * What is special here:
 *   - Callbacks. C function pointers cannot carry Go functions, so the raw
 *     callback-taking functions are ignored and replaced by shims that install
 *     the C trampolines below with a runtime/cgo.Handle (an integer, never a Go
 *     pointer) as user_data. The trampolines call the //export'ed functions in
 *     callback.go.
 *   - Out parameters (`T **out`) become a one-element []uintptr the C side
 *     fills in, so no Go pointer is ever stored by C.
 *   - Strings the library may return as NULL become *string (nil for NULL);
 *     the raw event bytes become a []byte copy.
 *   - Byte buffers ([]byte) are only read during the call: the C scanner copies
 *     any partial record it keeps, as cgo's pointer rules require.
 */
%module capi

%{
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctrule.h"

/* Implemented in Go (callback.go, //export). h is a runtime/cgo.Handle. */
extern int ctrgoMatch(uintptr_t m, uintptr_t h);
extern void ctrgoRecordError(uintptr_t e, uintptr_t h);

static int ctrgo_match_tramp(const ctr_match *m, void *user_data)
{
  return ctrgoMatch((uintptr_t)m, (uintptr_t)user_data);
}

static void ctrgo_record_error_tramp(const ctr_record_error *e, void *user_data)
{
  ctrgoRecordError((uintptr_t)e, (uintptr_t)user_data);
}
%}

%include <stdint.i>

/* ------------------------------------------------------------ out params */

/* `T **out`: the Go caller passes a []uintptr of length >= 1; on CTR_OK its
 * first element is the new object (0 otherwise, as the C API leaves *out
 * unwritten on failure). */
%define CTRGO_OUT_PTR(TYPE)
%typemap(gotype) TYPE **out "[]uintptr"
%typemap(in) TYPE **out (TYPE *out_temp)
%{
  if ($input.len < 1) {
    _swig_gopanic("ctrule: out slice must have one element");
  }
  out_temp = NULL;
  $1 = &out_temp;
%}
%typemap(argout) TYPE **out
%{ ((uintptr_t *)$input.array)[0] = (uintptr_t)out_temp$argnum; %}
%enddef

CTRGO_OUT_PTR(ctr_compiler)
CTRGO_OUT_PTR(ctr_ruleset)
CTRGO_OUT_PTR(ctr_scanner)

/* ---------------------------------------------------------- byte buffers */

/* Input bytes: []byte for scanner feeds (valid only during the call),
 * string for rule text. Neither is kept by C. */
%typemap(gotype) (const void *buf, size_t len) "[]byte"
%typemap(in) (const void *buf, size_t len)
%{
  $1 = ($1_ltype)$input.array;
  $2 = ($2_ltype)$input.len;
%}

%apply (const char *STRING, size_t LENGTH) { (const char *yaml, size_t len) };

/* ------------------------------------------------------- returned strings */

/* SWIG's own CopyString turns a uintptr back into an unsafe.Pointer, which
 * `go vet` reports. These replacements read the C bytes through the string
 * header SWIG already built (no uintptr -> Pointer conversion), copy them
 * into Go memory, and free the malloc'ed C copy. */
%go_import("strings")

%fragment("CtrgoCopyString", "go_runtime") %{
type ctrgoGoString struct {
	p uintptr
	n int
}

// ctrgoCopyString copies a string returned by a C wrapper (whose bytes live
// in memory malloc'ed by Swig_AllocateString) into Go memory and frees the C
// copy.
func ctrgoCopyString(s string) string {
	p := (*ctrgoGoString)(unsafe.Pointer(&s)).p
	r := strings.Clone(s)
	if p != 0 {
		Swig_free(p)
	}
	return r
}

// ctrgoCopyBytes is ctrgoCopyString for bytes.
func ctrgoCopyBytes(s string) []byte {
	p := (*ctrgoGoString)(unsafe.Pointer(&s)).p
	r := []byte(s)
	if p != 0 {
		Swig_free(p)
	}
	return r
}

// ctrgoCopyNullableString is ctrgoCopyString for a C string that may be
// NULL: nil for NULL.
func ctrgoCopyNullableString(s string) *string {
	if (*ctrgoGoString)(unsafe.Pointer(&s)).p == 0 {
		return nil
	}
	r := ctrgoCopyString(s)
	return &r
}
%}

%typemap(goout, fragment="CtrgoCopyString") char *, const char *
%{ $result = ctrgoCopyString($1) %}

/* Strings the library may return as NULL become *string, nil for NULL. */
%typemap(gotype) const char *NULLABLE "*string"
%typemap(imtype) const char *NULLABLE "string"
%typemap(out, fragment="AllocateString") const char *NULLABLE
%{
  if ($1) {
    $result = Swig_AllocateString((const char *)$1, strlen((const char *)$1));
  } else {
    $result.p = NULL;
    $result.n = 0;
  }
%}
%typemap(goout, fragment="CtrgoCopyString") const char *NULLABLE
%{ $result = ctrgoCopyNullableString($1) %}

%apply const char *NULLABLE {
  const char *ctr_priority_name,
  const char *ctr_diag_item,
  const char *ctr_match_field_value,
  const char *ctr_builtin_name,
  const char *ctr_ruleset_rule_name,
  const char *ctr_ruleset_rule_desc,
  const char *ctr_ruleset_rule_condition,
  const char *ctr_ruleset_rule_output,
  const char *ctr_ruleset_rule_tag,
  const char *ctr_match_tag,
  const char *ctr_match_field_name,
  const char *ctr_field_name,
  const char *ctr_field_desc,
  const char *ctr_field_type
};

/* ---------------------------------------------------------- event bytes */

/* const char *ctr_match_event(const ctr_match *m, size_t *len) -> []byte
 * (a copy in Go memory; the C view is only valid inside the callback). */
%typemap(in, numinputs=0) size_t *len (size_t len_temp)
%{
  len_temp = 0;
  $1 = &len_temp;
%}
%typemap(gotype) const char *ctr_match_event "[]byte"
%typemap(imtype) const char *ctr_match_event "string"
%typemap(out, fragment="AllocateString") const char *ctr_match_event
%{ $result = Swig_AllocateString($1 ? (const char *)$1 : "", $1 ? len_temp2 : 0); %}
%typemap(goout, fragment="CtrgoCopyString") const char *ctr_match_event
%{ $result = ctrgoCopyBytes($1) %}

/* ------------------------------------------------------------- ignored */

/* Raw function-pointer APIs: replaced by the handle-based shims below. */
%ignore ctr_compiler_set_diag_callback;
%ignore ctr_scanner_new;
%ignore ctr_scanner_set_error_callback;
%ignore ctr_scan_buffer;
/* The binding reads output fields by index; the YAML text of built-ins is
 * not needed (compile by name). */
%ignore ctr_match_field;
%ignore ctr_builtin_yaml;

%include "ctrule.h"

/* ------------------------------------------------------- handle shims */

%inline %{
/* Creates a scanner whose match and record-error callbacks are the Go
 * functions registered behind `handle` (a runtime/cgo.Handle). */
static int ctrgo_scanner_new(ctr_ruleset *rs, uintptr_t handle, ctr_scanner **out)
{
  ctr_scanner *sc = NULL;
  int st = ctr_scanner_new(rs, ctrgo_match_tramp, (void *)handle, &sc);
  if (st != CTR_OK)
    return st;
  ctr_scanner_set_error_callback(sc, ctrgo_record_error_tramp, (void *)handle);
  *out = sc;
  return CTR_OK;
}
%}
