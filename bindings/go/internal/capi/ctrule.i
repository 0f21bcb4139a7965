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
 *     match (ctrgo_match_pack, the match saved for its JSON line), with the
 *     scanner's counters as they stood,
 *     into a queue in C memory (struct ctrgo_ctx), and Go reads it in place
 *     (ctrgo_queue_data, then ctrgo_queue_clear) after each feed, or
 *     mid-feed once it holds CTRGO_FLUSH_AT bytes (ctrgoFlush). A call into
 *     Go from C for each match cost about 2 us of cold runtime state on a
 *     scan that alerts rarely, and far more with GOMAXPROCS=1, where each
 *     could wait for a P; the Go side keeps the per-alert semantics (see
 *     ctrule/scanner.go).
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

#define CTRGO_NAMES_SLOTS 64u /* rules whose names a context keeps packed (a power of two) */

/* A rule's names as a pack carries them (ctrgo_match_pack), kept by the
 * address of the rule's name: stable and the rule's own while the scanner
 * holds its ruleset, as it does for the context's life. */
struct ctrgo_names {
  const char *rule;
  unsigned char *bytes;
  size_t len;
};

/* A Go scanner's C side: the queue of matches not yet taken by Go. Each item
 * is its pack's size, the CTR_STAT__COUNT counters when the match was made,
 * then the pack; all native-endian uint64s but the pack's bytes. */
struct ctrgo_ctx {
  uintptr_t handle; /* the runtime/cgo.Handle of the Go side */
  ctr_scanner *sc;
  unsigned char *q;
  size_t len, cap;
  int want;   /* Go has a match callback: else matches are only counted (by C) */
  int oom;    /* the queue could not grow: the scan was stopped */
  int pooled; /* a ScanFiles thread's (ctrgo_pool): the queue is never handed to Go mid-feed */
  /* The names of the rules matched lately, by rule: a rule seen again costs
   * one copy of them, not a strlen and a copy of each (ctrgo_names_of). */
  struct ctrgo_names names[CTRGO_NAMES_SLOTS];
};

/* Frees what c holds (not c). */
static void ctrgo_ctx_release(struct ctrgo_ctx *c)
{
  free(c->q);
  for (size_t i = 0; i < CTRGO_NAMES_SLOTS; i++)
    free(c->names[i].bytes);
}

#define CTRGO_FLUSH_AT (256u * 1024u) /* queued bytes that make Go take the queue mid-feed */
#define CTRGO_ITEM_HEAD (8u * (1u + CTR_STAT__COUNT))

static unsigned char *ctrgo_queue_room(struct ctrgo_ctx *c, size_t n);
static int ctrgo_match_pack(struct ctrgo_ctx *c, const ctr_match *m);

static int ctrgo_match_tramp(const ctr_match *m, void *user_data)
{
  struct ctrgo_ctx *c = user_data;
  if (!c->want)
    return 0;
  if (ctrgo_match_pack(c, m) != 0) {
    c->oom = 1;
    return 1;
  }
  return c->len >= CTRGO_FLUSH_AT && !c->pooled ? ctrgoFlush(c->handle) : 0;
}

static void ctrgo_record_error_tramp(const ctr_record_error *e, void *user_data)
{
  ctrgoRecordError((uintptr_t)e, ((struct ctrgo_ctx *)user_data)->handle);
}
%}

/* ScanFiles' scanning threads (ctrgo_pool): POSIX threads, not goroutines.
 * A goroutine inside a long cgo call keeps its P in a syscall state; with
 * every P so (two workers, GOMAXPROCS 2) Go's sysmon takes the P away
 * after a tick and hands it to another thread, and the call's return then
 * waits for a P, often on another thread: the scan moved between five
 * threads, each move a sleep and a wake-up (0.4 ms on average on the
 * loaded test machine), and two workers ran 1.5x as fast as one. The pool
 * is bindings/ctrbind_pool.c, shared with Python's scan_files and inserted
 * here by SWIG (the generated wrapper holds it): each thread claims the
 * next file in order, scans it with a scanner of its own (open, read,
 * feed, finish) and leaves its result, serialized by ctrgo_pool_end, in
 * the file's slot; Go takes the slots in order, waiting in C for runs of
 * CTRGO_POOL_BATCH (the caller does not scan: it is a goroutine). */
%insert("header") "../../../ctrbind_pool.c"

%{

/* A growable byte buffer; oom once it could not grow. */
struct ctrgo_buf {
  unsigned char *p;
  size_t len, cap;
  int oom;
};

static void ctrgo_buf_put(struct ctrgo_buf *b, const void *src, size_t n)
{
  if (b->oom)
    return;
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n)
      cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void ctrgo_buf_u64(struct ctrgo_buf *b, uint64_t v) { ctrgo_buf_put(b, &v, 8); }

static void ctrgo_buf_str(struct ctrgo_buf *b, const char *str)
{
  size_t n = str ? strlen(str) : 0;
  ctrgo_buf_u64(b, n);
  ctrgo_buf_put(b, str, n);
}

#define CTRGO_POOL_CHUNK (256u * 1024u) /* read size (the Go binding's readChunk) */
#define CTRGO_POOL_BATCH 32u           /* results ready in a row that wake the taker */
#define CTRGO_POOL_HEAD 16u            /* uint64s before a result's items (see ctrgo_pool_end) */

/* A pool worker's collectors (its ctrbind_worker's user): its scanner's
 * context and queue of matches (ctrgo_match_tramp), its record errors. */
struct ctrgo_worker {
  struct ctrgo_ctx ctx;
  struct ctrgo_buf errs;
  uint64_t nerrs;
};

/* A pool thread's record error callback: packed (status, index, offset,
 * evaluated, message, text) for Go's RecordError. */
static void ctrgo_pool_error_tramp(const ctr_record_error *e, void *user_data)
{
  struct ctrgo_worker *w = user_data;
  int evaluated = ctr_record_error_evaluated(e);
  int status = ctr_record_error_status(e);
  ctrgo_buf_u64(&w->errs, (uint64_t)(int64_t)status);
  ctrgo_buf_u64(&w->errs, ctr_record_error_index(e));
  ctrgo_buf_u64(&w->errs, ctr_record_error_offset(e));
  ctrgo_buf_u64(&w->errs, (uint64_t)evaluated);
  ctrgo_buf_str(&w->errs, ctr_record_error_message(e));
  ctrgo_buf_str(&w->errs, ctr_record_error_text(e));
  w->nerrs++;
}

static int ctrgo_pool_begin(struct ctrbind_worker *bw, struct ctrbind_slot *s)
{
  struct ctrgo_worker *w = bw->user;
  (void)s;
  w->ctx.len = 0;
  w->errs.len = 0;
  w->nerrs = 0;
  return 0;
}

/* A file's result, serialized into s->out (non-zero: out of memory),
 * CTRGO_POOL_HEAD uint64s: status, errno, the failed operation (0 none, 1
 * open, 2 read), flags (1 finished, 2 cancelled, 4 a match or error could
 * not be queued), the CTR_STAT__COUNT counters of the file, the sizes of the
 * matches (ctrgo_ctx
 * queue items) and of the record errors, the record errors' count, the
 * length of the scanner's last error; then those bytes. */
static int ctrgo_pool_end(struct ctrbind_worker *bw, struct ctrbind_slot *s)
{
  struct ctrgo_worker *w = bw->user;
  const char *last = s->status != CTR_OK && s->last_error ? s->last_error : "";
  size_t last_len = strlen(last);
  size_t head = 8u * CTRGO_POOL_HEAD, need = head + w->ctx.len + w->errs.len + last_len;
  unsigned char *out = malloc(need);
  if (!out)
    return 1;
  int flags = (s->finished ? 1 : 0) | (s->cancelled ? 2 : 0) | (w->ctx.oom || w->errs.oom ? 4 : 0);
  uint64_t h[CTRGO_POOL_HEAD] = {(uint64_t)(int64_t)s->status, (uint64_t)s->err, (uint64_t)s->op, (uint64_t)flags};
  for (int k = 0; k < CTR_STAT__COUNT; k++)
    h[4 + k] = s->stats[k];
  h[4 + CTR_STAT__COUNT] = w->ctx.len;
  h[5 + CTR_STAT__COUNT] = w->errs.len;
  h[6 + CTR_STAT__COUNT] = w->nerrs;
  h[7 + CTR_STAT__COUNT] = last_len;
  memcpy(out, h, head);
  if (w->ctx.len)
    memcpy(out + head, w->ctx.q, w->ctx.len);
  if (w->errs.len)
    memcpy(out + head + w->ctx.len, w->errs.p, w->errs.len);
  if (last_len)
    memcpy(out + head + w->ctx.len + w->errs.len, last, last_len);
  w->ctx.oom = 0;
  w->errs.oom = 0;
  s->out = out;
  s->out_len = need;
  return 0;
}

static void ctrgo_pool_clear(struct ctrbind_slot *s)
{
  free(s->out);
  s->out = NULL;
}

static void ctrgo_pool_fini(struct ctrbind_worker *bw)
{
  struct ctrgo_worker *w = bw->user;
  ctrgo_ctx_release(&w->ctx);
  free(w->errs.p);
  free(w);
  bw->user = NULL; /* its scanner, bw->sc, is freed by the pool */
}

static const struct ctrbind_pool_ops ctrgo_pool_ops = {ctrgo_pool_begin, ctrgo_pool_end, ctrgo_pool_clear,
                                                      ctrgo_pool_fini};
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
CTRGO_OUT_PTR(ctrgo_pool)

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
%apply (const char *STRING, size_t LENGTH) { (const char *path, size_t path_len) };

/* Output bytes: a []byte C writes into during the call (ctrgo_pool_take). */
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
/* The match is saved into its pack (ctrgo_match_pack) and Alert.JSON
 * writes the line from it (ctrgo_saved_json). */
%ignore ctr_match_json;
%ignore ctr_match_json_to;
%ignore ctr_match_save;
%ignore ctr_saved_json;
%ignore ctr_saved_json_to;
%ignore ctr_free;

%include "ctrule.h"

/* ------------------------------------------------------- saved matches */

%inline %{
/* Alert.JSON: Falco's JSON line (CTR_JSON_EVENT_ID) of the match saved in
 * an alert's pack, buf, written into pack_buf as ctr_saved_json_to writes
 * it. Returns the line's length (more than pack_len: call again with that
 * many bytes), or the error's ctr_status (negative). */
static long long ctrgo_saved_json(const void *buf, size_t len, void *pack_buf, size_t pack_len)
{
  size_t n = 0;
  int st = ctr_saved_json_to(buf, len, CTR_JSON_EVENT_ID, pack_buf, pack_len, &n);
  return st == CTR_OK ? (long long)n : st;
}
%}

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
    ctrgo_ctx_release(c);
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

/* Empties the queue once Go has read it (ctrgo_queue_data). */
static void ctrgo_queue_clear(ctrgo_ctx *c)
{
  c->len = 0;
  if (c->cap > 4 * CTRGO_FLUSH_AT) { /* grown for a huge record: not kept */
    free(c->q);
    c->q = NULL;
    c->cap = 0;
  }
}
%}

%{
/* The queue's bytes and their number, for Go to read in place (callback.go:
 * Queue; not wrapped by SWIG, which would copy them) until ctrgo_queue_clear
 * or the scanner's next feed or finish: copying them out first cost one more
 * copy of every alert. c is a ctrgo_ctx * as Go holds it. */
unsigned char *ctrgo_queue_data(uintptr_t c, size_t *len)
{
  ctrgo_ctx *ctx = (ctrgo_ctx *)c;
  *len = ctx->len;
  return ctx->q;
}

/* Room for n more bytes at the end of c's queue (grown, its bytes kept):
 * where they go, NULL when out of memory. */
static unsigned char *ctrgo_queue_room(struct ctrgo_ctx *c, size_t n)
{
  if (c->cap - c->len < n) {
    size_t cap = c->cap ? c->cap : 64u * 1024u;
    while (cap - c->len < n)
      cap *= 2;
    unsigned char *q = realloc(c->q, cap);
    if (!q)
      return NULL;
    c->q = q;
    c->cap = cap;
  }
  return c->q + c->len;
}

#define CTRGO_PUT_U64(x) do { uint64_t v_ = (uint64_t)(x); memcpy(p, &v_, 8); p += 8; } while (0)
#define CTRGO_PUT_STR(s, n) do { size_t n_ = (n); CTRGO_PUT_U64(n_); if (n_) memcpy(p, (s), n_); p += n_; } while (0)

/* The names of m's rule as a pack carries them (ctrgo_match_pack): tag
 * count, field count, length-prefixed rule, source, each tag, each field
 * name; *len their length. Packed once per rule while it keeps its slot in
 * c. NULL when out of memory. */
static const unsigned char *ctrgo_names_of(struct ctrgo_ctx *c, const ctr_match *m, size_t *len)
{
  const char *rule = ctr_match_rule(m);
  struct ctrgo_names *e = &c->names[(uint64_t)(uintptr_t)rule * 0x9e3779b97f4a7c15u >> 58];
  if (e->rule != rule) {
    size_t ntags = ctr_match_tag_count(m), nfields = ctr_match_field_count(m);
    const char *source = ctr_match_source(m);
    size_t rule_len = strlen(rule), source_len = strlen(source), n = 32 + rule_len + source_len;
    for (size_t i = 0; i < ntags; i++)
      n += 8 + strlen(ctr_match_tag(m, i));
    for (size_t i = 0; i < nfields; i++)
      n += 8 + strlen(ctr_match_field_name(m, i));
    unsigned char *b = malloc(n), *p = b;
    if (!b)
      return NULL;
    CTRGO_PUT_U64(ntags);
    CTRGO_PUT_U64(nfields);
    CTRGO_PUT_STR(rule, rule_len);
    CTRGO_PUT_STR(source, source_len);
    for (size_t i = 0; i < ntags; i++) {
      const char *t = ctr_match_tag(m, i);
      CTRGO_PUT_STR(t, strlen(t));
    }
    for (size_t i = 0; i < nfields; i++) {
      const char *k = ctr_match_field_name(m, i);
      CTRGO_PUT_STR(k, strlen(k));
    }
    free(e->bytes);
    *e = (struct ctrgo_names){rule, b, n};
  }
  *len = e->len;
  return e->bytes;
}

#define CTRGO_PACK_NUMS 10u /* the uint64s a pack starts with (ctrgo_match_pack) */
#define CTRGO_SAVED_GUESS 2048u /* room for the saved match beyond its output and values, tried first */

/* Appends a queue item for m to c: its size, the CTR_STAT__COUNT counters
 * as they stand, then the pack, everything an alert holds, all
 * native-endian uint64s but the bytes:
 *   time_ns, record index, byte offset, priority, silenced
 *   (ctr_match_silenced), names length, text length, saved length,
 *   record length, output length;
 *   the names: tag count, field count, length-prefixed rule, source, each
 *   tag, each field name (what is the same for every match of a rule: Go
 *   shares it, found by these bytes);
 *   each field value's length (UINT64_MAX: no value);
 *   the text: the output, then each value present;
 *   the match saved for its JSON line (ctr_match_save): Alert.JSON writes
 *   the line from it when asked, since writing it for every alert was a
 *   tenth of a scan where one record in seven alerts (docs/performance.md,
 *   stop 24);
 *   last the record's bytes (Go copies text, saved match and record as
 *   one block).
 * Non-zero when out of memory (nothing is queued). */
static int ctrgo_match_pack(struct ctrgo_ctx *c, const ctr_match *m)
{
  size_t nfields = ctr_match_field_count(m), raw_len = 0, names_len;
  const char *raw = ctr_match_event(m, &raw_len);
  const char *output = ctr_match_output(m);
  const unsigned char *names = ctrgo_names_of(c, m, &names_len);
  if (!output || !names)
    return 1; /* out of memory rendering the match or packing its names */
  size_t output_len = strlen(output);
  if (!raw)
    raw_len = 0;
  size_t values_len = 0;
  for (size_t i = 0; i < nfields; i++) {
    const char *v = ctr_match_field_value(m, i);
    values_len += v ? strlen(v) : 0;
  }
  /* The match is saved where it goes, into room guessed from its output
   * and values (its own bytes) and saved again when it needs more. */
  size_t before = CTRGO_ITEM_HEAD + 8 * CTRGO_PACK_NUMS + names_len + 8 * nfields + output_len + values_len;
  size_t guess = CTRGO_SAVED_GUESS + output_len + values_len, saved_len = 0;
  unsigned char *item = ctrgo_queue_room(c, before + guess + raw_len);
  if (!item || ctr_match_save(m, item + before, guess, &saved_len) != CTR_OK)
    return 1;
  if (saved_len > guess) {
    item = ctrgo_queue_room(c, before + saved_len + raw_len);
    size_t again = 0;
    if (!item || ctr_match_save(m, item + before, saved_len, &again) != CTR_OK || again != saved_len)
      return 1;
  }
  size_t size = before + saved_len + raw_len - CTRGO_ITEM_HEAD;
  uint64_t head[1 + CTR_STAT__COUNT + CTRGO_PACK_NUMS] = {size};
  for (int k = 0; k < CTR_STAT__COUNT; k++)
    head[1 + k] = ctr_scanner_stat(c->sc, k);
  uint64_t *nums = head + 1 + CTR_STAT__COUNT;
  nums[0] = (uint64_t)ctr_match_time(m);
  nums[1] = ctr_match_record_index(m);
  nums[2] = ctr_match_byte_offset(m);
  nums[3] = (uint64_t)(int64_t)ctr_match_priority(m);
  nums[4] = (uint64_t)ctr_match_silenced(m);
  nums[5] = names_len;
  nums[6] = output_len + values_len;
  nums[7] = saved_len;
  nums[8] = raw_len;
  nums[9] = output_len;
  memcpy(item, head, sizeof head);
  unsigned char *p = item + sizeof head;
  memcpy(p, names, names_len);
  p += names_len;
  for (size_t i = 0; i < nfields; i++) {
    const char *v = ctr_match_field_value(m, i);
    CTRGO_PUT_U64(v ? strlen(v) : UINT64_MAX);
  }
  memcpy(p, output, output_len);
  p += output_len;
  for (size_t i = 0; i < nfields; i++) {
    const char *v = ctr_match_field_value(m, i);
    if (v) {
      size_t n = strlen(v);
      memcpy(p, v, n);
      p += n;
    }
  }
  p += saved_len; /* the saved match is in place */
  if (raw_len)
    memcpy(p, raw, raw_len);
#undef CTRGO_PUT_STR
#undef CTRGO_PUT_U64
  c->len += CTRGO_ITEM_HEAD + size;
  return 0;
}
%}

/* ------------------------------------------------------- ScanFiles' pool */

%{
struct ctrgo_pool {
  struct ctrbind_pool *core;
};
%}

%inline %{
typedef struct ctrgo_pool ctrgo_pool;

static void ctrgo_pool_free(ctrgo_pool *p);

/* A pool of `threads` scanners on rs (each with flags) for n files, at most
 * `window` files claimed beyond the one the taker waits for. Paths are set
 * with ctrgo_pool_path, limits with ctrgo_pool_set_limit, then
 * ctrgo_pool_start starts the threads. */
static int ctrgo_pool_new(ctr_ruleset *rs, unsigned flags, int threads, size_t window, size_t n, ctrgo_pool **out)
{
  if (threads < 1 || !window)
    return CTR_EINVAL;
  ctrgo_pool *p = calloc(1, sizeof *p);
  if (!p || !(p->core = ctrbind_pool_new(threads, threads, n, window, CTRGO_POOL_CHUNK, &ctrgo_pool_ops))) {
    free(p);
    return CTR_ENOMEM;
  }
  int st = CTR_OK;
  for (int k = 0; st == CTR_OK && k < threads; k++) {
    struct ctrbind_worker *bw = &p->core->workers[k];
    struct ctrgo_worker *w = calloc(1, sizeof *w);
    if (!(bw->user = w)) {
      st = CTR_ENOMEM;
      break;
    }
    w->ctx.want = 1;
    w->ctx.pooled = 1;
    if ((st = ctr_scanner_new(rs, ctrgo_match_tramp, &w->ctx, &w->ctx.sc)) != CTR_OK)
      break;
    bw->sc = w->ctx.sc;
    ctr_scanner_set_error_callback(bw->sc, ctrgo_pool_error_tramp, w);
    if (flags)
      st = ctr_scanner_set_flags(bw->sc, flags);
  }
  if (st != CTR_OK) {
    ctrgo_pool_free(p);
    return st;
  }
  *out = p;
  return CTR_OK;
}

/* Sets a limit on every scanner of the pool (before ctrgo_pool_start). */
static int ctrgo_pool_set_limit(ctrgo_pool *p, int limit, uint64_t value)
{
  for (int k = 0; k < p->core->nworkers; k++) {
    int st = ctr_scanner_set_limit(p->core->workers[k].sc, limit, value);
    if (st != CTR_OK)
      return st;
  }
  return CTR_OK;
}

/* Sets file i's path (a copy; before ctrgo_pool_start), in order from 0. */
static int ctrgo_pool_path(ctrgo_pool *p, size_t i, const char *path, size_t path_len)
{
  if (i != p->core->pushed)
    return CTR_EINVAL;
  return ctrbind_pool_push(p->core, path ? path : "", path_len);
}

/* Starts the threads. */
static int ctrgo_pool_start(ctrgo_pool *p) { return ctrbind_pool_start(p->core); }

/* Waits for file i's result (the taker takes them in order, from 0) and,
 * if it fits, copies it into buf and frees its slot. Returns its size (more
 * than len: nothing copied, call again with a larger buf), or 0 once the
 * pool was cancelled (or a result could not be allocated: ctrgo_pool_failed).
 * While it waits it waits for a run of results, so that it wakes once for
 * many files. */
static size_t ctrgo_pool_take(ctrgo_pool *p, size_t i, void *pack_buf, size_t pack_len)
{
  int timed_out = 0;
  struct ctrbind_slot *s = ctrbind_pool_wait(p->core, i, CTRGO_POOL_BATCH, 0, 0, &timed_out);
  if (!s)
    return 0;
  size_t n = s->out_len;
  if (n <= pack_len) {
    memcpy(pack_buf, s->out, n);
    ctrbind_pool_release(p->core, i);
  }
  return n;
}

/* Whether the pool stopped because a result could not be allocated. */
static int ctrgo_pool_failed(ctrgo_pool *p) { return ctrbind_pool_failed(p->core); }

/* Stops the pool: the threads end their files early and take no more, a
 * waiting taker returns 0. */
static void ctrgo_pool_cancel(ctrgo_pool *p) { ctrbind_pool_cancel(p->core); }

/* Cancels, joins the threads and frees everything. */
static void ctrgo_pool_free(ctrgo_pool *p)
{
  if (!p)
    return;
  ctrbind_pool_free(p->core);
  free(p);
}
%}
