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
 *   - Matches are delivered to Go in batches: the C callback packs each
 *     match (ctrgo_match_pack), with the scanner's counters as they stood,
 *     into a queue in C memory (struct ctrgo_ctx), and Go takes the queue
 *     after each feed (ctrgo_queue_take), or mid-feed once it holds
 *     CTRGO_FLUSH_AT bytes (ctrgoFlush). A call into Go from C for each match
 *     cost about 2 us of cold runtime state on a scan that alerts rarely,
 *     and far more with GOMAXPROCS=1, where each could wait for a P; the Go
 *     side keeps the per-alert semantics (see ctrule/scanner.go).
 */
%module capi

%{
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctrule.h"

/* Implemented in Go (callback.go, //export). h is a runtime/cgo.Handle. */
extern int ctrgoFlush(uintptr_t h);
extern void ctrgoRecordError(uintptr_t e, uintptr_t h);

/* A Go scanner's C side: the queue of matches not yet taken by Go. Each item
 * is its pack's size, the CTR_STAT__COUNT counters when the match was made,
 * then the pack; all native-endian uint64s but the pack's bytes. */
struct ctrgo_ctx {
  uintptr_t handle; /* the runtime/cgo.Handle of the Go side */
  ctr_scanner *sc;
  unsigned char *q;
  size_t len, cap;
  int want; /* Go has a match callback: else matches are only counted (by C) */
  int oom;  /* the queue could not grow: the scan was stopped */
};

#define CTRGO_FLUSH_AT (256u * 1024u) /* queued bytes that make Go take the queue mid-feed */
#define CTRGO_ITEM_HEAD (8u * (1u + CTR_STAT__COUNT))

static size_t ctrgo_match_pack(const ctr_match *m, const char *json, size_t json_len, void *pack_buf,
                               size_t pack_len);

static int ctrgo_match_tramp(const ctr_match *m, void *user_data)
{
  struct ctrgo_ctx *c = user_data;
  if (!c->want)
    return 0;
  /* Falco's JSON line, the one every tool of the project writes. */
  char *json = NULL;
  size_t json_len = 0;
  if (ctr_match_json(m, CTR_JSON_EVENT_ID, &json, &json_len) != CTR_OK) {
    c->oom = 1;
    return 1;
  }
  size_t need = ctrgo_match_pack(m, json, json_len, NULL, 0), item = CTRGO_ITEM_HEAD + need;
  if (c->cap - c->len < item) {
    size_t cap = c->cap ? c->cap : 64u * 1024u;
    while (cap - c->len < item)
      cap *= 2;
    unsigned char *q = realloc(c->q, cap);
    if (!q) {
      ctr_free(json);
      c->oom = 1;
      return 1;
    }
    c->q = q;
    c->cap = cap;
  }
  unsigned char *p = c->q + c->len;
  uint64_t v = need;
  memcpy(p, &v, 8);
  for (int k = 0; k < CTR_STAT__COUNT; k++) {
    v = ctr_scanner_stat(c->sc, k);
    memcpy(p + 8u * (1u + (unsigned)k), &v, 8);
  }
  ctrgo_match_pack(m, json, json_len, p + CTRGO_ITEM_HEAD, need);
  ctr_free(json);
  c->len += item;
  return c->len >= CTRGO_FLUSH_AT ? ctrgoFlush(c->handle) : 0;
}

static void ctrgo_record_error_tramp(const ctr_record_error *e, void *user_data)
{
  ctrgoRecordError((uintptr_t)e, ((struct ctrgo_ctx *)user_data)->handle);
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

/* Output bytes: a []byte C writes into during the call (ctrgo_match_pack). */
%typemap(gotype) (void *pack_buf, size_t pack_len) "[]byte"
%typemap(in) (void *pack_buf, size_t pack_len)
%{
  $1 = ($1_ltype)$input.array;
  $2 = ($2_ltype)$input.len;
%}

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
/* The JSON line travels in the match pack (ctrgo_match_pack). */
%ignore ctr_match_json;
%ignore ctr_free;

%include "ctrule.h"

/* ------------------------------------------------------- handle shims */

%inline %{
typedef struct ctrgo_ctx ctrgo_ctx;

/* The C side of a Go scanner whose callbacks are the Go functions behind
 * `handle` (a runtime/cgo.Handle); matches are queued only if want_matches.
 * NULL when out of memory. */
static ctrgo_ctx *ctrgo_ctx_new(uintptr_t handle, int want_matches)
{
  ctrgo_ctx *c = calloc(1, sizeof *c);
  if (c) {
    c->handle = handle;
    c->want = want_matches;
  }
  return c;
}

/* After ctr_scanner_free of its scanner. */
static void ctrgo_ctx_free(ctrgo_ctx *c)
{
  if (c) {
    free(c->q);
    free(c);
  }
}

/* Whether a match could not be queued (the scan was stopped for it). */
static int ctrgo_ctx_oom(ctrgo_ctx *c) { return c->oom; }

/* Creates a scanner that queues its matches in c and hands record errors to
 * Go at once. */
static int ctrgo_scanner_new(ctr_ruleset *rs, ctrgo_ctx *c, ctr_scanner **out)
{
  ctr_scanner *sc = NULL;
  int st = ctr_scanner_new(rs, ctrgo_match_tramp, c, &sc);
  if (st != CTR_OK)
    return st;
  ctr_scanner_set_error_callback(sc, ctrgo_record_error_tramp, c);
  c->sc = sc;
  *out = sc;
  return CTR_OK;
}

/* Copies the queue into buf and empties it, if it fits; returns its size
 * (0: empty; more than len: nothing copied, call again with a larger buf). */
static size_t ctrgo_queue_take(ctrgo_ctx *c, void *pack_buf, size_t pack_len)
{
  size_t n = c->len;
  if (n > pack_len)
    return n;
  if (n)
    memcpy(pack_buf, c->q, n);
  c->len = 0;
  if (c->cap > 4 * CTRGO_FLUSH_AT) { /* grown for a huge record: not kept */
    free(c->q);
    c->q = NULL;
    c->cap = 0;
  }
  return n;
}
%}

%{
/* Everything an alert holds, written into buf as native-endian uint64s:
 * time_ns, record index, byte offset, priority, tag count, field count,
 * record length, silenced (ctr_match_silenced); then length-prefixed strings: rule, source, output, the
 * JSON line (ctr_match_json), each tag, each field's name and value (length
 * UINT64_MAX: no value); last the record's bytes (so that Go can take the
 * text before them as one string). Returns the size needed: nothing is
 * written unless it fits in len. */
static size_t ctrgo_match_pack(const ctr_match *m, const char *json, size_t json_len, void *pack_buf,
                               size_t pack_len)
{
  size_t ntags = ctr_match_tag_count(m), nfields = ctr_match_field_count(m), raw_len = 0;
  const char *raw = ctr_match_event(m, &raw_len);
  const char *fixed[4] = {ctr_match_rule(m), ctr_match_source(m), ctr_match_output(m), json};
  size_t fixed_len[4] = {strlen(fixed[0]), strlen(fixed[1]), strlen(fixed[2]), json_len};
  if (!raw)
    raw_len = 0;
  size_t need = 8 * 8 + raw_len;
  for (int i = 0; i < 4; i++)
    need += 8 + fixed_len[i];
  for (size_t i = 0; i < ntags; i++)
    need += 8 + strlen(ctr_match_tag(m, i));
  for (size_t i = 0; i < nfields; i++) {
    const char *v = ctr_match_field_value(m, i);
    need += 16 + strlen(ctr_match_field_name(m, i)) + (v ? strlen(v) : 0);
  }
  if (need > pack_len)
    return need;
  unsigned char *p = pack_buf;
#define CTRGO_PUT_U64(x) do { uint64_t v_ = (uint64_t)(x); memcpy(p, &v_, 8); p += 8; } while (0)
#define CTRGO_PUT_STR(s, n) do { size_t n_ = (n); CTRGO_PUT_U64(n_); if (n_) memcpy(p, (s), n_); p += n_; } while (0)
  CTRGO_PUT_U64(ctr_match_time(m));
  CTRGO_PUT_U64(ctr_match_record_index(m));
  CTRGO_PUT_U64(ctr_match_byte_offset(m));
  CTRGO_PUT_U64(ctr_match_priority(m));
  CTRGO_PUT_U64(ntags);
  CTRGO_PUT_U64(nfields);
  CTRGO_PUT_U64(raw_len);
  CTRGO_PUT_U64(ctr_match_silenced(m));
  for (int i = 0; i < 4; i++)
    CTRGO_PUT_STR(fixed[i], fixed_len[i]);
  for (size_t i = 0; i < ntags; i++) {
    const char *t = ctr_match_tag(m, i);
    CTRGO_PUT_STR(t, strlen(t));
  }
  for (size_t i = 0; i < nfields; i++) {
    const char *k = ctr_match_field_name(m, i), *v = ctr_match_field_value(m, i);
    CTRGO_PUT_STR(k, strlen(k));
    if (v) {
      CTRGO_PUT_STR(v, strlen(v));
    } else {
      CTRGO_PUT_U64(UINT64_MAX);
    }
  }
  if (raw_len)
    memcpy(p, raw, raw_len);
#undef CTRGO_PUT_STR
#undef CTRGO_PUT_U64
  return need;
}
%}
