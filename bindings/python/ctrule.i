/*
 * ctrule.i - SWIG interface of the Python binding of libctrule.
 *
 * SWIG generates `ctrule/_capi.py` (the low-level module) and the extension
 * `ctrule/_ctrule` from this file. Every call into libctrule goes through the
 * generated wrappers; the pythonic API lives in `ctrule/__init__.py` and its
 * private modules. Built with `swig -python -threads`: the GIL is released
 * around the wrapped C calls that may take long (see %threadallow below) and
 * re-acquired by the two trampolines below whenever the library calls back
 * into Python.
 *
 * Python-specific conventions of this interface:
 *   - `T **out` parameters are hidden: the function returns [status, pointer]
 *     (pointer is None unless status == CTR_OK).
 *   - `(const void *buf, size_t len)` takes any C-contiguous object exporting
 *     the buffer protocol (bytes, bytearray, memoryview, mmap, ...) without
 *     copying it; the buffer stays exported (so a bytearray cannot be
 *     resized) for the duration of the call.
 *   - `(ctr_match_fn fn, void *user_data)` takes None or a tuple
 *     (on_match, state, stop_type), the Scanner's policy (_engine.py):
 *     on_match is called as on_match(alert), alert a ctrule.Alert made in C
 *     (ctrpy_match_alert: its slots set as Alert.__init__ sets them, the
 *     match saved for its JSON line (ctr_match_save; ctrpy_alert_line
 *     writes the line, ctr_match_json's with CTR_JSON_EVENT_ID, the line
 *     every tool of the project writes, when to_json() asks for it)); a
 *     true return value, or
 *     stop_type (StopScan) raised, stops the scan, the latter cleared. No
 *     alert is made once state[0] (a list's first item) is not None: a
 *     strict scan met a bad record. The tuple is *borrowed*: the caller
 *     keeps it alive for as long as the scanner may call it.
 *     ctrpy_alert_setup must have been called.
 *   - `(ctr_record_error_fn fn, void *user_data)` likewise takes a callable
 *     called as fn(status, index, offset, message, evaluated, text).
 *   - An exception raised by a callback stays pending: the match trampoline
 *     then asks the scanner to stop, every later callback of the same C call
 *     is skipped, and the wrapper of feed/finish raises it unchanged.
 */
%module(package="ctrule", docstring="Low-level SWIG wrapper of libctrule (private; use the ctrule package).") _capi

%{
#define PY_SSIZE_T_CLEAN
#include "ctrule.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
%}

%include <stdint.i>

/* ------------------------------------------------------------- helpers */

%{
/* A Python str from a library string: None for NULL, invalid UTF-8 (never
 * expected: jansson and libyaml validate it) replaced rather than raised. */
static PyObject *ctrpy_str(const char *s)
{
  if (!s)
    Py_RETURN_NONE;
  return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

/* ------------------------------------------------- Alerts made in C
 *
 * Every match becomes a ctrule.Alert (_model.py) built here, its slots set
 * directly: an argument tuple of eleven objects handed to Alert.__init__,
 * which ran in Python, and every string decoded afresh cost about 1 us of
 * the 2.8 us an alert added to a scan (docs/performance.md, stop 17).
 * What an alert holds per match beyond its rule (the record, the match
 * saved for its JSON line, the output and the fields) is copied into one
 * bytes object, the pack (ctrpy_pack_new), and made into Python objects
 * only when one of them is first read (ctrpy_alert_unpack): a dict of
 * fields and five objects more per alert were 0.4 us of the 2 us left. The
 * JSON line itself is written only when to_json() asks for it (from the
 * saved match, ctr_saved_json): writing it for every alert was a third of
 * what an alert cost (docs/performance.md, stop 23). ctrpy_alert_setup,
 * called once by _model.py, gives the class (its slots found by their
 * member descriptors) and the Priority members. */
#ifndef Py_T_OBJECT_EX
#include "structmember.h"
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

enum {
  CTRPY_A_RULE, CTRPY_A_PRIORITY, CTRPY_A_OUTPUT, CTRPY_A_TAGS, CTRPY_A_FIELDS, CTRPY_A_TIME_NS, CTRPY_A_RAW,
  CTRPY_A_RECORD_INDEX, CTRPY_A_BYTE_OFFSET, CTRPY_A_SILENCED, CTRPY_A_EVENT, CTRPY_A_JSON, CTRPY_A_SAVED,
  CTRPY_A_PACK, CTRPY_A__COUNT
};
static const char *const ctrpy_alert_slots[CTRPY_A__COUNT] = {
    "rule", "priority", "_output", "tags", "_fields", "time_ns", "_raw", "record_index", "byte_offset",
    "silenced", "_event", "_json", "_saved", "_pack"};
static PyTypeObject *ctrpy_alert_type; /* ctrule.Alert; NULL until ctrpy_alert_setup */
static Py_ssize_t ctrpy_alert_off[CTRPY_A__COUNT];
static PyObject *ctrpy_priorities; /* the 8 Priority members, by value */

/* Rule names, tags and field names repeat from alert to alert: each is
 * decoded once and shared (a str is immutable). A small table indexed by a
 * hash of the bytes, an entry checked against the bytes themselves (a
 * rule's text may move or be freed with its ruleset); the GIL guards it. */
#define CTRPY_INTERN_SLOTS 512u
#define CTRPY_INTERN_MAX 256u /* longer strings are decoded each time */
static struct {
  uint64_t hash;
  PyObject *str;
} ctrpy_interned[CTRPY_INTERN_SLOTS];

static PyObject *ctrpy_intern(const char *s, size_t n)
{
  if (n > CTRPY_INTERN_MAX)
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)n, "replace");
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  unsigned k = (unsigned)(h % CTRPY_INTERN_SLOTS);
  if (ctrpy_interned[k].str && ctrpy_interned[k].hash == h) {
    Py_ssize_t len = 0;
    /* A str decoded with "replace" from bad UTF-8 never equals its bytes:
     * it is decoded again each time, as before. */
    const char *u = PyUnicode_AsUTF8AndSize(ctrpy_interned[k].str, &len);
    if (u && (size_t)len == n && memcmp(u, s, n) == 0) {
      Py_INCREF(ctrpy_interned[k].str);
      return ctrpy_interned[k].str;
    }
    PyErr_Clear();
  }
  PyObject *str = PyUnicode_DecodeUTF8(s, (Py_ssize_t)n, "replace");
  if (str) {
    Py_INCREF(str);
    Py_XSETREF(ctrpy_interned[k].str, str);
    ctrpy_interned[k].hash = h;
  }
  return str;
}

/* The Priority member of p (a value outside 0-7 raises as Priority(p)). */
static PyObject *ctrpy_priority(long long p)
{
  if (p >= 0 && p < PyTuple_GET_SIZE(ctrpy_priorities)) {
    PyObject *v = PyTuple_GET_ITEM(ctrpy_priorities, (Py_ssize_t)p);
    Py_INCREF(v);
    return v;
  }
  return PyObject_CallFunction((PyObject *)Py_TYPE(PyTuple_GET_ITEM(ctrpy_priorities, 0)), "L", p);
}

/* An Alert holding v (indexed by CTRPY_A_*), whose references it steals;
 * NULL (and every v released) if one of them is NULL or on no memory. */
static PyObject *ctrpy_alert_new(PyObject **v)
{
  int ok = 1;
  for (int i = 0; i < CTRPY_A__COUNT; i++)
    ok &= v[i] != NULL;
  PyObject *a = NULL;
  if (!ctrpy_alert_type)
    PyErr_SetString(PyExc_RuntimeError, "ctrule: ctrpy_alert_setup was not called");
  else if (ok)
    a = ctrpy_alert_type->tp_alloc(ctrpy_alert_type, 0); /* object.__new__: no Python runs */
  for (int i = 0; i < CTRPY_A__COUNT; i++) {
    if (a)
      *(PyObject **)((char *)a + ctrpy_alert_off[i]) = v[i]; /* the slots start NULL */
    else
      Py_XDECREF(v[i]);
  }
  return a;
}

/* An Alert's numbers into v, and None into the slots its pack fills. */
static void ctrpy_alert_numbers(PyObject **v, long long priority, long long time_ns, unsigned long long index,
                                unsigned long long offset, int silenced)
{
  v[CTRPY_A_PRIORITY] = ctrpy_priority(priority);
  v[CTRPY_A_TIME_NS] = PyLong_FromLongLong(time_ns);
  v[CTRPY_A_RECORD_INDEX] = PyLong_FromUnsignedLongLong(index);
  v[CTRPY_A_BYTE_OFFSET] = PyLong_FromUnsignedLongLong(offset);
  v[CTRPY_A_SILENCED] = PyBool_FromLong(silenced);
  static const int unpacked[] = {CTRPY_A_OUTPUT, CTRPY_A_FIELDS, CTRPY_A_RAW, CTRPY_A_JSON, CTRPY_A_SAVED, CTRPY_A_EVENT};
  for (size_t i = 0; i < sizeof unpacked / sizeof unpacked[0]; i++) {
    Py_INCREF(Py_None);
    v[unpacked[i]] = Py_None;
  }
}

/* A string of a match: its bytes (NULL for None) and length. */
struct ctrpy_sv {
  const char *p;
  size_t n;
};

static struct ctrpy_sv ctrpy_sv(const char *s) { return (struct ctrpy_sv){s, s ? strlen(s) : 0}; }

#define CTRPY_NONE UINT64_MAX /* a length in a pack: None */
#define CTRPY_FIELDS_ON_STACK 32u

/* An alert's pack: native uint64s (the field count; the lengths of the
 * record, the saved match (ctr_match_save) and the output; each field's
 * name and value lengths, CTRPY_NONE for None), then those bytes in that
 * order. Names come first in ctrpy_sv arrays: f[0..n) names, f[n..2n)
 * values. With m, saved.p is NULL and m is saved straight into the pack
 * (saved.n bytes, as ctr_match_save sized it). */
static PyObject *ctrpy_pack_new(struct ctrpy_sv raw, struct ctrpy_sv saved, struct ctrpy_sv output,
                                const struct ctrpy_sv *f, size_t nfields, const ctr_match *m)
{
  struct ctrpy_sv parts[3] = {raw, saved, output};
  size_t head = 8 * (4 + 2 * nfields), size = head + raw.n + saved.n + output.n;
  for (size_t i = 0; i < 2 * nfields; i++)
    size += f[i].n;
  PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
  if (!b)
    return NULL;
  unsigned char *h = (unsigned char *)PyBytes_AS_STRING(b), *d = h + head;
  uint64_t u = nfields;
  memcpy(h, &u, 8);
  for (int i = 0; i < 3; i++) {
    u = parts[i].p || (i == 1 && m) ? (uint64_t)parts[i].n : CTRPY_NONE;
    memcpy(h + 8 * (1 + i), &u, 8);
    if (i == 1 && m) {
      size_t n = 0;
      if (ctr_match_save(m, d, parts[i].n, &n) != CTR_OK || n != parts[i].n) {
        Py_DECREF(b);
        return PyErr_NoMemory();
      }
    } else if (parts[i].n) {
      memcpy(d, parts[i].p, parts[i].n);
    }
    d += parts[i].n;
  }
  for (size_t i = 0; i < nfields; i++) {
    const struct ctrpy_sv *kv[2] = {&f[i], &f[nfields + i]};
    for (int k = 0; k < 2; k++) {
      u = kv[k]->p ? (uint64_t)kv[k]->n : CTRPY_NONE;
      memcpy(h + 8 * (4 + 2 * i + (size_t)k), &u, 8);
      if (kv[k]->n)
        memcpy(d, kv[k]->p, kv[k]->n);
      d += kv[k]->n;
    }
  }
  return b;
}

/* The Alert of a match's parts; f, saved and m as ctrpy_pack_new's; tags
 * interned. */
static PyObject *ctrpy_alert_of(const char *rule, size_t rule_len, const struct ctrpy_sv *tags, size_t ntags,
                                struct ctrpy_sv raw, struct ctrpy_sv saved, struct ctrpy_sv output,
                                const struct ctrpy_sv *f, size_t nfields, const ctr_match *m, PyObject **v)
{
  v[CTRPY_A_RULE] = rule ? ctrpy_intern(rule, rule_len) : (Py_INCREF(Py_None), Py_None);
  if ((v[CTRPY_A_TAGS] = PyTuple_New((Py_ssize_t)ntags)))
    for (size_t i = 0; i < ntags; i++) {
      PyObject *t = tags[i].p ? ctrpy_intern(tags[i].p, tags[i].n) : (Py_INCREF(Py_None), Py_None);
      if (!t) {
        Py_CLEAR(v[CTRPY_A_TAGS]); /* its NULL items are skipped */
        break;
      }
      PyTuple_SET_ITEM(v[CTRPY_A_TAGS], (Py_ssize_t)i, t);
    }
  v[CTRPY_A_PACK] = ctrpy_pack_new(raw, saved, output, f, nfields, m);
  return ctrpy_alert_new(v);
}

/* A match as an Alert: everything is copied, since the match is a borrowed
 * view valid only during the callback. */
static PyObject *ctrpy_match_alert(const ctr_match *m)
{
  PyObject *v[CTRPY_A__COUNT] = {0};
  size_t ntags = ctr_match_tag_count(m), nfields = ctr_match_field_count(m), len = 0;
  struct ctrpy_sv on_stack[2 * CTRPY_FIELDS_ON_STACK + CTRPY_FIELDS_ON_STACK];
  struct ctrpy_sv *f = on_stack, saved = {NULL, 0}; /* saved into the pack by ctrpy_pack_new */
  if (nfields > CTRPY_FIELDS_ON_STACK || ntags > CTRPY_FIELDS_ON_STACK)
    f = malloc((2 * nfields + ntags) * sizeof *f);
  ctrpy_alert_numbers(v, ctr_match_priority(m), (long long)ctr_match_time(m),
                      (unsigned long long)ctr_match_record_index(m),
                      (unsigned long long)ctr_match_byte_offset(m), ctr_match_silenced(m));
  if (!f || ctr_match_save(m, NULL, 0, &saved.n) != CTR_OK) {
    if (f != on_stack)
      free(f);
    PyErr_NoMemory();
    return ctrpy_alert_new(v); /* releases v */
  }
  struct ctrpy_sv *tags = f + 2 * nfields;
  for (size_t i = 0; i < nfields; i++) {
    f[i] = ctrpy_sv(ctr_match_field_name(m, i));
    f[nfields + i] = ctrpy_sv(ctr_match_field_value(m, i));
  }
  for (size_t i = 0; i < ntags; i++)
    tags[i] = ctrpy_sv(ctr_match_tag(m, i));
  const char *raw = ctr_match_event(m, &len), *rule = ctr_match_rule(m);
  PyObject *a = ctrpy_alert_of(rule, rule ? strlen(rule) : 0, tags, ntags, (struct ctrpy_sv){raw ? raw : "", raw ? len : 0},
                               saved, ctrpy_sv(ctr_match_output(m)), f, nfields, m, v);
  if (f != on_stack)
    free(f);
  return a;
}

/* Matches batched by ctrpy_scan_file for scan_files' workers: each match is
 * packed in C while the GIL stays released and the batch is handed to
 * Python after the feed, the GIL taken once for many matches. Taking it at
 * every match, a scanning thread waited for it while the other held it for
 * its Python work. Packed: priority, time, record index, byte offset,
 * silenced, tag count, field count (uint64s); then length-prefixed strings
 * (UINT64_MAX: NULL): rule, output, each tag, each field's name and value,
 * the record, the match saved for its JSON line (ctr_match_save). */
struct ctrpy_batch {
  PyObject *fn; /* the match callback (borrowed) */
  unsigned char *p;
  size_t len, cap;
  int oom;    /* a match could not be packed: the scan was stopped (MemoryError) */
  int failed; /* an error callback raised: stop at the next match, as unbatched */
};
/* The batch of the ctrpy_scan_file running on this thread, if it batches. */
static _Thread_local struct ctrpy_batch *ctrpy_batching;
/* Record error callbacks made on this thread: a feed that made one ran
 * Python. (No statistic counts every report: those about a rule or a
 * correlation count in none.) */
static _Thread_local unsigned long long ctrpy_errors_called;

#define CTRPY_BATCH_FLUSH (1u << 20) /* packed bytes handed to Python between two feeds */

/* Room for n more bytes in b; 0 (and b->oom set) on no memory. */
static int ctrpy_batch_reserve(struct ctrpy_batch *b, size_t n)
{
  if (b->oom)
    return 0;
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 64u * 1024u;
    while (cap - b->len < n)
      cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return 0;
    }
    b->p = p;
    b->cap = cap;
  }
  return 1;
}

static void ctrpy_batch_put(struct ctrpy_batch *b, const void *src, size_t n)
{
  if (!ctrpy_batch_reserve(b, n))
    return;
  if (n)
    memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void ctrpy_batch_u64(struct ctrpy_batch *b, uint64_t v) { ctrpy_batch_put(b, &v, 8); }

static void ctrpy_batch_bytes(struct ctrpy_batch *b, const char *s, size_t n)
{
  ctrpy_batch_u64(b, s ? (uint64_t)n : UINT64_MAX);
  if (s)
    ctrpy_batch_put(b, s, n);
}

static void ctrpy_batch_str(struct ctrpy_batch *b, const char *s) { ctrpy_batch_bytes(b, s, s ? strlen(s) : 0); }

/* Packs a match (no GIL); non-zero stops the scan. */
static int ctrpy_batch_match(struct ctrpy_batch *b, const ctr_match *m)
{
  if (b->failed)
    return 1;
  size_t ntags = ctr_match_tag_count(m), nfields = ctr_match_field_count(m), len = 0;
  ctrpy_batch_u64(b, (uint64_t)(int64_t)ctr_match_priority(m));
  ctrpy_batch_u64(b, (uint64_t)ctr_match_time(m));
  ctrpy_batch_u64(b, ctr_match_record_index(m));
  ctrpy_batch_u64(b, ctr_match_byte_offset(m));
  ctrpy_batch_u64(b, (uint64_t)ctr_match_silenced(m));
  ctrpy_batch_u64(b, ntags);
  ctrpy_batch_u64(b, nfields);
  ctrpy_batch_str(b, ctr_match_rule(m));
  ctrpy_batch_str(b, ctr_match_output(m));
  for (size_t i = 0; i < ntags; i++)
    ctrpy_batch_str(b, ctr_match_tag(m, i));
  for (size_t i = 0; i < nfields; i++) {
    ctrpy_batch_str(b, ctr_match_field_name(m, i));
    ctrpy_batch_str(b, ctr_match_field_value(m, i));
  }
  const char *raw = ctr_match_event(m, &len);
  ctrpy_batch_bytes(b, raw ? raw : "", raw ? len : 0);
  /* The match saved in place, after its length (known beforehand). */
  if (ctr_match_save(m, NULL, 0, &len) != CTR_OK)
    b->oom = 1;
  ctrpy_batch_u64(b, len);
  if (ctrpy_batch_reserve(b, len)) {
    if (ctr_match_save(m, b->p + b->len, len, &len) != CTR_OK)
      b->oom = 1;
    b->len += len;
  }
  return b->oom;
}

/* Reads what ctrpy_batch_match packed at *at: a uint64, a string (NULL
 * for NULL), or a string as ctrpy_str makes it. */
static uint64_t ctrpy_unpack_u64(const unsigned char *p, size_t *at)
{
  uint64_t v;
  memcpy(&v, p + *at, 8);
  *at += 8;
  return v;
}

static struct ctrpy_sv ctrpy_unpack_sv(const unsigned char *p, size_t *at)
{
  uint64_t n = ctrpy_unpack_u64(p, at);
  if (n == UINT64_MAX)
    return (struct ctrpy_sv){NULL, 0};
  struct ctrpy_sv sv = {(const char *)p + *at, (size_t)n};
  *at += (size_t)n;
  return sv;
}

static PyObject *ctrpy_unpack_str(const unsigned char *p, size_t *at)
{
  struct ctrpy_sv sv = ctrpy_unpack_sv(p, at);
  if (!sv.p)
    Py_RETURN_NONE;
  return PyUnicode_DecodeUTF8(sv.p, (Py_ssize_t)sv.n, "replace");
}

/* One packed match as the Alert ctrpy_match_alert makes of it. *at moves
 * past the match even when this fails. */
static PyObject *ctrpy_unpack_alert(const unsigned char *p, size_t *at)
{
  PyObject *v[CTRPY_A__COUNT] = {0};
  long long priority = (long long)(int64_t)ctrpy_unpack_u64(p, at), time_ns = (long long)(int64_t)ctrpy_unpack_u64(p, at);
  unsigned long long index = ctrpy_unpack_u64(p, at), offset = ctrpy_unpack_u64(p, at);
  int silenced = ctrpy_unpack_u64(p, at) != 0;
  size_t ntags = (size_t)ctrpy_unpack_u64(p, at), nfields = (size_t)ctrpy_unpack_u64(p, at);
  struct ctrpy_sv on_stack[2 * CTRPY_FIELDS_ON_STACK + CTRPY_FIELDS_ON_STACK], *f = on_stack;
  if (nfields > CTRPY_FIELDS_ON_STACK || ntags > CTRPY_FIELDS_ON_STACK)
    f = malloc((2 * nfields + ntags + 1) * sizeof *f);
  struct ctrpy_sv rule = ctrpy_unpack_sv(p, at), output = ctrpy_unpack_sv(p, at), *tags = f ? f + 2 * nfields : NULL;
  for (size_t i = 0; i < ntags; i++) { /* read even without f: *at moves on */
    struct ctrpy_sv t = ctrpy_unpack_sv(p, at);
    if (f)
      tags[i] = t;
  }
  for (size_t i = 0; i < nfields; i++) {
    struct ctrpy_sv k = ctrpy_unpack_sv(p, at), val = ctrpy_unpack_sv(p, at);
    if (f) {
      f[i] = k;
      f[nfields + i] = val;
    }
  }
  struct ctrpy_sv raw = ctrpy_unpack_sv(p, at), saved = ctrpy_unpack_sv(p, at);
  ctrpy_alert_numbers(v, priority, time_ns, index, offset, silenced);
  if (!f) {
    PyErr_NoMemory();
    return ctrpy_alert_new(v); /* releases v */
  }
  PyObject *a = ctrpy_alert_of(rule.p, rule.n, tags, ntags, raw, saved, output, f, nfields, NULL, v);
  if (f != on_stack)
    free(f);
  return a;
}

/* The scanner's match callback (see the top of this file): a tuple
 * (on_match, state, stop_type). Whether a strict scan met a bad record
 * (state[0] set): no more alerts are delivered. */
static int ctrpy_cb_halted(PyObject *cb) { return PyList_GET_ITEM(PyTuple_GET_ITEM(cb, 1), 0) != Py_None; }

/* Gives alert to on_match (GIL held); non-zero stops the scan: a true
 * return, stop_type raised (cleared: a clean stop) or another exception
 * (left pending). Here and not in a Python wrapper around on_match: its
 * frame was a tenth of what an alert cost. */
static int ctrpy_cb_call(PyObject *cb, PyObject *alert)
{
  PyObject *r = PyObject_CallOneArg(PyTuple_GET_ITEM(cb, 0), alert);
  if (!r) {
    if (PyErr_ExceptionMatches(PyTuple_GET_ITEM(cb, 2)))
      PyErr_Clear();
    return 1;
  }
  int stop = PyObject_IsTrue(r) != 0; /* -1 (error in __bool__) stops too */
  Py_DECREF(r);
  return stop;
}

/* Whether cb is a match callback tuple; TypeError if not. */
static int ctrpy_cb_check(PyObject *cb)
{
  if (PyTuple_Check(cb) && PyTuple_GET_SIZE(cb) == 3 && PyCallable_Check(PyTuple_GET_ITEM(cb, 0)) &&
      PyList_Check(PyTuple_GET_ITEM(cb, 1)) && PyList_GET_SIZE(PyTuple_GET_ITEM(cb, 1)) > 0 &&
      PyExceptionClass_Check(PyTuple_GET_ITEM(cb, 2)))
    return 1;
  PyErr_SetString(PyExc_TypeError, "the match callback must be None or (on_match, state, stop_type)");
  return 0;
}

/* Hands the batch to cb, one call per match, in order (GIL held), and
 * empties it. Returns non-zero if the scan is to stop: cb stopped it, or
 * a match could not be packed or unpacked (MemoryError). */
static int ctrpy_batch_deliver(struct ctrpy_batch *b, PyObject *cb)
{
  int stop = 0;
  for (size_t at = 0; at < b->len && !stop;) {
    if (PyErr_Occurred() || ctrpy_cb_halted(cb)) {
      stop = 1;
      break;
    }
    PyObject *alert = ctrpy_unpack_alert(b->p, &at);
    stop = !alert || ctrpy_cb_call(cb, alert);
    Py_XDECREF(alert);
  }
  b->len = 0;
  if (b->oom && !stop) {
    PyErr_NoMemory();
    stop = 1;
  }
  return stop || PyErr_Occurred() != NULL;
}

/* ctr_match_fn: runs on the scanning thread with the GIL released by the
 * wrapper of feed/finish; takes the GIL back for the Python call. */
static int ctrpy_match_tramp(const ctr_match *m, void *user_data)
{
  if (ctrpy_batching)
    return ctrpy_batch_match(ctrpy_batching, m);
  int stop = 1;
  SWIG_PYTHON_THREAD_BEGIN_BLOCK;
  /* A previous callback of this C call raised: stop, keep its exception. */
  if (!PyErr_Occurred() && !ctrpy_cb_halted((PyObject *)user_data)) {
    PyObject *alert = ctrpy_match_alert(m);
    if (alert) {
      stop = ctrpy_cb_call((PyObject *)user_data, alert);
      Py_DECREF(alert);
    }
  }
  SWIG_PYTHON_THREAD_END_BLOCK;
  return stop;
}

/* ctr_record_error_fn: the library carries on after a bad record; if the
 * Python handler raises, the exception stays pending and the next match
 * callback stops the scan. */
static void ctrpy_record_error_tramp(const ctr_record_error *e, void *user_data)
{
  ctrpy_errors_called++;
  SWIG_PYTHON_THREAD_BEGIN_BLOCK;
  /* Batched matches made before this record come first, as unbatched. */
  if (ctrpy_batching && ctrpy_batching->len && !PyErr_Occurred() &&
      ctrpy_batch_deliver(ctrpy_batching, ctrpy_batching->fn))
    ctrpy_batching->failed = 1;
  if (!PyErr_Occurred() && !(ctrpy_batching && ctrpy_batching->failed)) {
    PyObject *message = ctrpy_str(ctr_record_error_message(e));
    PyObject *text = message ? ctrpy_str(ctr_record_error_text(e)) : NULL;
    PyObject *r = NULL;
    if (text)
      r = PyObject_CallFunction((PyObject *)user_data, "iKKNiN", ctr_record_error_status(e),
                                (unsigned long long)ctr_record_error_index(e),
                                (unsigned long long)ctr_record_error_offset(e), message,
                                ctr_record_error_evaluated(e), text);
    else
      Py_XDECREF(message);
    Py_XDECREF(r);
  }
  if (ctrpy_batching && PyErr_Occurred())
    ctrpy_batching->failed = 1; /* the matches after it are not delivered, as unbatched */
  SWIG_PYTHON_THREAD_END_BLOCK;
}
%}

/* ------------------------------------------------------------- typemaps */

/* `T **out` -> an extra return value (None unless the call succeeded). */
%define CTRPY_OUT_PTR(TYPE)
%typemap(in, numinputs=0) TYPE **out (TYPE *tmp = NULL) { $1 = &tmp; }
%typemap(argout) TYPE **out {
  %append_output(SWIG_NewPointerObj(SWIG_as_voidptr(tmp$argnum), $descriptor(TYPE *), 0));
}
%enddef
CTRPY_OUT_PTR(ctr_compiler)
CTRPY_OUT_PTR(ctr_ruleset)
CTRPY_OUT_PTR(ctr_scanner)

/* Zero-copy input through the buffer protocol. */
%typemap(in) (const void *buf, size_t len) (Py_buffer view, int have_view = 0) {
  if (PyObject_GetBuffer($input, &view, PyBUF_SIMPLE) != 0)
    SWIG_fail;
  have_view = 1;
  $1 = view.buf;
  $2 = (size_t)view.len;
}
%typemap(freearg) (const void *buf, size_t len) {
  if (have_view$argnum)
    PyBuffer_Release(&view$argnum);
}
%typemap(typecheck, precedence=SWIG_TYPECHECK_POINTER) (const void *buf, size_t len) {
  $1 = PyObject_CheckBuffer($input) ? 1 : 0;
}

/* Rules text: str (UTF-8 encoded) or a bytes-like object. */
%typemap(in) (const char *yaml, size_t len) (Py_buffer view, int have_view = 0) {
  if (PyUnicode_Check($input)) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize($input, &n);
    if (!s)
      SWIG_fail;
    $1 = (char *)s;
    $2 = (size_t)n;
  } else {
    if (PyObject_GetBuffer($input, &view, PyBUF_SIMPLE) != 0)
      SWIG_fail;
    have_view = 1;
    $1 = (char *)view.buf;
    $2 = (size_t)view.len;
  }
}
%typemap(freearg) (const char *yaml, size_t len) {
  if (have_view$argnum)
    PyBuffer_Release(&view$argnum);
}

/* Callbacks: a Python callable (borrowed, see above) or None. */
%typemap(in) (ctr_match_fn fn, void *user_data) {
  if ($input == Py_None) {
    $1 = NULL;
    $2 = NULL;
  } else if (ctrpy_cb_check($input)) {
    $1 = ctrpy_match_tramp;
    $2 = (void *)$input;
  } else {
    SWIG_fail;
  }
}
%typemap(in) (ctr_record_error_fn fn, void *user_data) {
  if ($input == Py_None) {
    $1 = NULL;
    $2 = NULL;
  } else if (PyCallable_Check($input)) {
    $1 = ctrpy_record_error_tramp;
    $2 = (void *)$input;
  } else {
    SWIG_exception_fail(SWIG_TypeError, "the error callback must be callable or None");
  }
}

/* The calls that may run callbacks: re-raise what a callback raised. */
%define CTRPY_CALLS_BACK(NAME)
%exception NAME {
  $action
  if (PyErr_Occurred())
    SWIG_fail;
}
%enddef
CTRPY_CALLS_BACK(ctr_scanner_feed)
CTRPY_CALLS_BACK(ctr_scanner_finish)
CTRPY_CALLS_BACK(ctrpy_scanner_feed_held)

/* The GIL is released only around the calls that may take long: scanning,
 * loading and compiling rules, and freeing what they built. The others (a
 * counter, a reset, an accessor) keep it: released at each of the twenty
 * small calls an input takes, it went from thread to thread at every one,
 * and scan_files on two threads ran no faster than on one. */
%nothreadallow;
%threadallow ctr_scanner_feed;
%threadallow ctr_scanner_finish;
%threadallow ctr_compiler_add_file;
%threadallow ctr_compiler_add_string;
%threadallow ctr_compiler_add_builtin;
%threadallow ctr_compiler_compile;
%threadallow ctr_compiler_free;
%threadallow ctr_ruleset_unref;

/* ctr_builtin_yaml(name) -> str or None. */
%typemap(in, numinputs=0) size_t *len (size_t tmp = 0) { $1 = &tmp; }
%typemap(out) const char *ctr_builtin_yaml "";
%typemap(argout) size_t *len {
  Py_XDECREF($result);
  if (result) {
    $result = PyUnicode_DecodeUTF8(result, (Py_ssize_t)tmp$argnum, "replace");
    if (!$result)
      SWIG_fail;
  } else {
    $result = Py_None;
    Py_INCREF(Py_None);
  }
}

/* ---------------------------------------------------------- not wrapped */

/* Function-pointer setters taking raw C callbacks: the diag callback is not
 * needed (diagnostics are read with ctr_compiler_diag after each call). */
%ignore ctr_compiler_set_diag_callback;
/* The one-shot scan reports no record errors; the binding uses a scanner. */
%ignore ctr_scan_buffer;
/* Matches and record errors are borrowed views valid only inside a
 * callback: the trampolines copy them, Python never sees them. */
%rename("$ignore", regextarget=1) "^ctr_match_";
/* Only the C side frees (ctrpy_alert_line's line). */
%ignore ctr_free;
/* Saved matches are written and read by the C side (ctrpy_pack_new, ctrpy_alert_line). */
%ignore ctr_saved_json;
%ignore ctr_saved_json_to;
%rename("$ignore", regextarget=1) "^ctr_record_error_";

%include "ctrule.h"

/* Every counter of a scanner in one call, indexed by CTR_STAT_*: a tuple of
 * ints. scan_files reads them twice per input with the GIL held; seven
 * calls each time were a good part of what it did per input. */
%inline %{
PyObject *ctrpy_scanner_stats(const ctr_scanner *sc)
{
  PyObject *t = PyTuple_New(CTR_STAT__COUNT);
  for (int i = 0; t && i < CTR_STAT__COUNT; i++) {
    PyObject *v = PyLong_FromUnsignedLongLong(ctr_scanner_stat(sc, i));
    if (!v) {
      Py_CLEAR(t);
      break;
    }
    PyTuple_SET_ITEM(t, i, v);
  }
  return t;
}

/* ctr_scanner_feed keeping the GIL, for a short buffer: scan_files'
 * correlator feeds one noted record at a time, a few microseconds each,
 * and releasing the GIL for each handed it to a worker thread, which kept
 * it for its own Python work while the correlator waited to get it back. */
int ctrpy_scanner_feed_held(ctr_scanner *sc, const void *buf, size_t len)
{
  return ctr_scanner_feed(sc, buf, len);
}
%}

/* Gives the C side the Alert class and the 8 Priority members (by value),
 * once, from _model.py: each slot of `cls` named in ctrpy_alert_slots must
 * be an object slot (__slots__) of its own. */
%inline %{
PyObject *ctrpy_alert_setup(PyObject *cls, PyObject *priorities)
{
  Py_ssize_t off[CTRPY_A__COUNT];
  if (!PyType_Check(cls) || !PyTuple_Check(priorities) || PyTuple_GET_SIZE(priorities) != 8) {
    PyErr_SetString(PyExc_TypeError, "ctrpy_alert_setup(cls, priorities): a class and a tuple of 8 priorities");
    return NULL;
  }
  for (int i = 0; i < CTRPY_A__COUNT; i++) {
    PyObject *d = PyObject_GetAttrString(cls, ctrpy_alert_slots[i]);
    int slot = d && PyObject_TypeCheck(d, &PyMemberDescr_Type) &&
               ((PyMemberDescrObject *)d)->d_common.d_type == (PyTypeObject *)cls &&
               ((PyMemberDescrObject *)d)->d_member->type == Py_T_OBJECT_EX;
    if (slot)
      off[i] = ((PyMemberDescrObject *)d)->d_member->offset;
    Py_XDECREF(d);
    if (!slot) {
      PyErr_Format(PyExc_TypeError, "ctrpy_alert_setup: %s is not a slot of the class", ctrpy_alert_slots[i]);
      return NULL;
    }
  }
  Py_INCREF(cls);
  Py_INCREF(priorities);
  Py_XSETREF(ctrpy_alert_type, (PyTypeObject *)cls);
  Py_XSETREF(ctrpy_priorities, priorities);
  memcpy(ctrpy_alert_off, off, sizeof off);
  Py_RETURN_NONE;
}
%}

/* Makes the Python objects of an Alert's pack (ctrpy_pack_new) and sets
 * them into its slots, the pack's slot to None: _raw (bytes), _saved (bytes:
 * the saved match, its line written by ctrpy_alert_line when to_json()
 * asks), _output (str), _fields (dict). In one call with
 * the GIL held, so a thread never sees half of them; an Alert without a
 * pack is left as it is. */
%inline %{
PyObject *ctrpy_alert_unpack(PyObject *alert)
{
  if (!ctrpy_alert_type || !PyObject_TypeCheck(alert, ctrpy_alert_type)) {
    PyErr_SetString(PyExc_TypeError, "ctrpy_alert_unpack: not an Alert");
    return NULL;
  }
  PyObject **slot[CTRPY_A__COUNT];
  for (int i = 0; i < CTRPY_A__COUNT; i++)
    slot[i] = (PyObject **)((char *)alert + ctrpy_alert_off[i]);
  PyObject *pack = *slot[CTRPY_A_PACK];
  if (!pack || pack == Py_None)
    Py_RETURN_NONE;
  if (!PyBytes_Check(pack)) {
    PyErr_SetString(PyExc_TypeError, "ctrpy_alert_unpack: the pack is not bytes");
    return NULL;
  }
  const unsigned char *h = (const unsigned char *)PyBytes_AS_STRING(pack);
  size_t size = (size_t)PyBytes_GET_SIZE(pack), nfields = 0, at;
  uint64_t u;
  if (size >= 32) {
    memcpy(&u, h, 8);
    nfields = u < size / 16 ? (size_t)u : SIZE_MAX;
  }
  if (size < 32 || nfields == SIZE_MAX || 8 * (4 + 2 * nfields) > size) {
    PyErr_SetString(PyExc_ValueError, "ctrpy_alert_unpack: not a pack");
    return NULL;
  }
  at = 8 * (4 + 2 * nfields);
  /* The next string of the pack, its length at h[8 * k]; NULL when it does not fit. */
#define CTRPY_PACK_NEXT(k, out)                                                                  \
  do {                                                                                           \
    memcpy(&u, h + 8 * (k), 8);                                                                  \
    (out) = (struct ctrpy_sv){NULL, 0};                                                          \
    if (u != CTRPY_NONE && u <= size - at) {                                                     \
      (out) = (struct ctrpy_sv){(const char *)h + at, (size_t)u};                                \
      at += (size_t)u;                                                                           \
    } else if (u != CTRPY_NONE) {                                                                \
      bad = 1;                                                                                   \
    }                                                                                            \
  } while (0)
  int bad = 0;
  struct ctrpy_sv raw, saved, output;
  CTRPY_PACK_NEXT(1, raw);
  CTRPY_PACK_NEXT(2, saved);
  CTRPY_PACK_NEXT(3, output);
  PyObject *fields = PyDict_New();
  for (size_t i = 0; fields && !bad && i < nfields; i++) {
    struct ctrpy_sv k, val;
    CTRPY_PACK_NEXT(4 + 2 * i, k);
    CTRPY_PACK_NEXT(5 + 2 * i, val);
    PyObject *key = k.p ? ctrpy_intern(k.p, k.n) : NULL;
    PyObject *value = !key ? NULL : val.p ? PyUnicode_DecodeUTF8(val.p, (Py_ssize_t)val.n, "replace")
                                          : (Py_INCREF(Py_None), Py_None);
    if (!key && !PyErr_Occurred())
      bad = 1;
    if (!value || PyDict_SetItem(fields, key, value) != 0)
      Py_CLEAR(fields);
    Py_XDECREF(key);
    Py_XDECREF(value);
  }
#undef CTRPY_PACK_NEXT
  PyObject *got[4] = {fields, NULL, NULL, NULL};
  if (bad || !raw.p || !saved.p) {
    if (!PyErr_Occurred())
      PyErr_SetString(PyExc_ValueError, "ctrpy_alert_unpack: not a pack");
  } else if (fields) {
    got[1] = PyBytes_FromStringAndSize(raw.p, (Py_ssize_t)raw.n);
    got[2] = PyBytes_FromStringAndSize(saved.p, (Py_ssize_t)saved.n);
    got[3] = output.p ? PyUnicode_DecodeUTF8(output.p, (Py_ssize_t)output.n, "replace") : (Py_INCREF(Py_None), Py_None);
  }
  if (!got[0] || !got[1] || !got[2] || !got[3]) {
    for (int i = 0; i < 4; i++)
      Py_XDECREF(got[i]);
    return NULL;
  }
  Py_XSETREF(*slot[CTRPY_A_FIELDS], got[0]);
  Py_XSETREF(*slot[CTRPY_A_RAW], got[1]);
  Py_XSETREF(*slot[CTRPY_A_SAVED], got[2]);
  Py_XSETREF(*slot[CTRPY_A_OUTPUT], got[3]);
  Py_INCREF(Py_None);
  Py_XSETREF(*slot[CTRPY_A_PACK], Py_None); /* the last reference to the pack, read until here */
  Py_RETURN_NONE;
}

#define CTRPY_LINE_ON_STACK 4096u

/* Alert.to_json()'s line: unpacks the alert if it is still packed (as the
 * first read of any packed attribute does), then writes the line of its
 * saved match (ctr_saved_json_to with CTR_JSON_EVENT_ID) into the stack
 * when it fits, and sets _json to it as a str and _saved to None, in one
 * call with the GIL held. Returns _json as it then is: the str, or
 * whatever an alert built by hand holds (None, bytes or a str). */
PyObject *ctrpy_alert_line(PyObject *alert)
{
  PyObject *unpacked = ctrpy_alert_unpack(alert); /* checks the type too */
  if (!unpacked)
    return NULL;
  Py_DECREF(unpacked);
  PyObject **json = (PyObject **)((char *)alert + ctrpy_alert_off[CTRPY_A_JSON]);
  PyObject **saved = (PyObject **)((char *)alert + ctrpy_alert_off[CTRPY_A_SAVED]);
  if (*saved && *saved != Py_None) {
    if (!PyBytes_Check(*saved)) {
      PyErr_SetString(PyExc_TypeError, "ctrpy_alert_line: the saved match is not bytes");
      return NULL;
    }
    char buf[CTRPY_LINE_ON_STACK], *heap = NULL;
    const char *p = PyBytes_AS_STRING(*saved);
    size_t n = (size_t)PyBytes_GET_SIZE(*saved), len = 0;
    int rc = ctr_saved_json_to(p, n, CTR_JSON_EVENT_ID, buf, sizeof buf, &len);
    if (rc == CTR_OK && len > sizeof buf)
      rc = ctr_saved_json(p, n, CTR_JSON_EVENT_ID, &heap, &len);
    if (rc == CTR_ENOMEM)
      return PyErr_NoMemory();
    if (rc != CTR_OK) {
      PyErr_SetString(PyExc_ValueError, "ctrpy_alert_line: not a saved match");
      return NULL;
    }
    PyObject *line = PyUnicode_DecodeUTF8(heap ? heap : buf, (Py_ssize_t)len, NULL);
    ctr_free(heap);
    if (!line)
      return NULL;
    Py_XSETREF(*json, line);
    Py_INCREF(Py_None);
    Py_XSETREF(*saved, Py_None);
  }
  PyObject *r = *json ? *json : Py_None;
  Py_INCREF(r);
  return r;
}
%}

/* Scans the file at `path` as the scanner's current stream: opens it, reads
 * it in chunks of at most `chunk` bytes (no larger than the file) and feeds
 * each until one is not CTR_OK, then finishes if every feed was, all with the
 * GIL released (the callbacks take it back). One release per input instead
 * of one per open, read, feed and finish: threads scanning many small files
 * each waited for the GIL at every one. Returns (status, finished, errno):
 * the status of the last feed or of finish, whether finish was called, and
 * the errno of a failed open or read (the stream is then left unfinished).
 * A feed that ran Python callbacks is followed by a look, with the GIL, for
 * an exception they left, which stops the scan as between two feeds.
 * deliver: None, or the match callback tuple (as the scanner's) to batch
 * for (ctrpy_batch: the matches are handed to it after the feeds, at most
 * 1 MiB of them at a time; only for a callback that never stops the scan,
 * scan_files'). */
%typemap(in) const char *fspath {
  if (!PyBytes_Check($input))
    SWIG_exception_fail(SWIG_TypeError, "the path must be bytes (os.fsencode)");
  $1 = PyBytes_AS_STRING($input);
  if (strlen($1) != (size_t)PyBytes_GET_SIZE($input))
    SWIG_exception_fail(SWIG_ValueError, "embedded null byte");
}
%inline %{
PyObject *ctrpy_scan_file(ctr_scanner *sc, const char *fspath, size_t chunk, PyObject *deliver)
{
  int status = CTR_OK, finished = 0, err = 0, stop = 0;
  char *buf = NULL;
  struct ctrpy_batch batch = {deliver, NULL, 0, 0, 0, 0};
  int batching = deliver != Py_None;
  if (batching && !ctrpy_cb_check(deliver))
    return NULL;
  Py_BEGIN_ALLOW_THREADS
  if (batching)
    ctrpy_batching = &batch;
  int fd = open(fspath, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0) {
    err = errno;
  } else {
    if (fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size < chunk)
      chunk = (size_t)st.st_size;
    if (!chunk)
      err = EINVAL;
    else if (!(buf = malloc(chunk)))
      err = ENOMEM;
    while (!err && status == CTR_OK) {
      ssize_t n = read(fd, buf, chunk);
      if (n < 0) {
        if (errno != EINTR)
          err = errno;
        continue;
      }
      if (n == 0) {
        status = ctr_scanner_finish(sc);
        finished = 1;
        break;
      }
      /* Batched matches call no Python during the feed: only errors do. */
      uint64_t calls = (batching ? 0 : ctr_scanner_stat(sc, CTR_STAT_MATCHES)) + ctrpy_errors_called;
      status = ctr_scanner_feed(sc, buf, (size_t)n);
      int called = calls != (batching ? 0 : ctr_scanner_stat(sc, CTR_STAT_MATCHES)) + ctrpy_errors_called;
      if (status == CTR_OK && (called || batch.len >= CTRPY_BATCH_FLUSH)) {
        PyGILState_STATE g = PyGILState_Ensure();
        if (batch.len >= CTRPY_BATCH_FLUSH && !PyErr_Occurred())
          stop = ctrpy_batch_deliver(&batch, deliver);
        int raised = PyErr_Occurred() != NULL;
        PyGILState_Release(g);
        if (raised || stop)
          break;
      }
    }
    free(buf);
    close(fd);
  }
  ctrpy_batching = NULL;
  Py_END_ALLOW_THREADS
  /* What the scan queued (the GIL held again), unless a callback raised. */
  if (batching && !stop && !PyErr_Occurred())
    stop = ctrpy_batch_deliver(&batch, deliver);
  free(batch.p);
  if (PyErr_Occurred()) /* left by a callback: raised as feed and finish raise it */
    return NULL;
  if (stop && (status == CTR_OK || status == CTR_STOPPED)) /* the callback asked to stop: as unbatched */
    status = CTR_STOPPED;
  return Py_BuildValue("(iii)", status, finished, err);
}
%}

/* ------------------------------------------------------ scan_files' pool */

/* scan_files' C threads for path inputs: bindings/ctrbind_pool.c (shared
 * with Go's ScanFiles), with the caller helping (threads=1: no thread, the
 * caller scans every file). A file's matches are packed as ctrpy_batch
 * packs them and its record errors likewise, into the slot's ctrpy_result;
 * the caller builds the Alerts and error tuples when it takes the slot. */
%insert("header") "ctrbind_pool.c"

%{
struct ctrpy_result {
  struct ctrpy_batch matches; /* ctrpy_batch_match */
  struct ctrpy_batch errs;    /* status, index, offset, evaluated; message, text */
  uint64_t nerrs, last_offset; /* record errors, the last one's offset */
};

#define CTRPY_POOL_SIGNALS_MS 100u /* a waiting caller runs the signal handlers this often */

struct ctrpy_pool {
  struct ctrbind_pool *core;
  uint64_t keep_errors; /* record errors kept per input */
};

static int ctrpy_pool_match(const ctr_match *m, void *user_data)
{
  struct ctrpy_result *r = ((struct ctrbind_worker *)user_data)->cur->out;
  return ctrpy_batch_match(&r->matches, m);
}

static void ctrpy_pool_error(const ctr_record_error *e, void *user_data)
{
  struct ctrbind_worker *w = user_data;
  struct ctrpy_result *r = w->cur->out;
  int status = ctr_record_error_status(e), evaluated = ctr_record_error_evaluated(e);
  r->last_offset = ctr_record_error_offset(e);
  if (r->nerrs++ >= ((struct ctrpy_pool *)w->user)->keep_errors)
    return;
  ctrpy_batch_u64(&r->errs, (uint64_t)(int64_t)status);
  ctrpy_batch_u64(&r->errs, ctr_record_error_index(e));
  ctrpy_batch_u64(&r->errs, r->last_offset);
  ctrpy_batch_u64(&r->errs, (uint64_t)evaluated);
  ctrpy_batch_str(&r->errs, ctr_record_error_message(e));
  ctrpy_batch_str(&r->errs, ctr_record_error_text(e));
}

static int ctrpy_pool_begin(struct ctrbind_worker *w, struct ctrbind_slot *s)
{
  (void)w;
  return !(s->out = calloc(1, sizeof(struct ctrpy_result)));
}

static int ctrpy_pool_end(struct ctrbind_worker *w, struct ctrbind_slot *s)
{
  (void)w;
  (void)s;
  return 0; /* a match that could not be packed is the taker's MemoryError */
}

static void ctrpy_pool_clear(struct ctrbind_slot *s)
{
  struct ctrpy_result *r = s->out;
  free(r->matches.p);
  free(r->errs.p);
  free(r);
  s->out = NULL;
}

static void ctrpy_pool_fini(struct ctrbind_worker *w) { (void)w; /* user: the ctrpy_pool, not the worker's */ }

static const struct ctrbind_pool_ops ctrpy_pool_ops = {ctrpy_pool_begin, ctrpy_pool_end, ctrpy_pool_clear,
                                                      ctrpy_pool_fini};

/* The record errors packed by ctrpy_pool_error, as a list of
 * (status, index, offset, message, evaluated, text). */
static PyObject *ctrpy_pool_errors(const struct ctrpy_batch *b)
{
  PyObject *list = PyList_New(0);
  for (size_t at = 0; list && at < b->len;) {
    long long status = (long long)(int64_t)ctrpy_unpack_u64(b->p, &at);
    unsigned long long index = ctrpy_unpack_u64(b->p, &at), offset = ctrpy_unpack_u64(b->p, &at);
    int evaluated = ctrpy_unpack_u64(b->p, &at) != 0;
    PyObject *message = ctrpy_unpack_str(b->p, &at), *text = ctrpy_unpack_str(b->p, &at);
    PyObject *t = message && text ? Py_BuildValue("(LKKNNN)", status, index, offset, message,
                                                  PyBool_FromLong(evaluated), text) : NULL;
    if (!t) {
      if (!message || !text) {
        Py_XDECREF(message);
        Py_XDECREF(text);
      }
      Py_CLEAR(list);
    } else if (PyList_Append(list, t) != 0) {
      Py_CLEAR(list);
    }
    Py_XDECREF(t);
  }
  return list;
}

/* The packed matches as a list of Alerts. */
static PyObject *ctrpy_pool_alerts(const struct ctrpy_batch *b)
{
  PyObject *list = PyList_New(0);
  for (size_t at = 0; list && at < b->len;) {
    PyObject *a = ctrpy_unpack_alert(b->p, &at);
    if (!a || PyList_Append(list, a) != 0)
      Py_CLEAR(list);
    Py_XDECREF(a);
  }
  return list;
}
%}

%inline %{
typedef struct ctrpy_pool ctrpy_pool;
%}
CTRPY_OUT_PTR(ctrpy_pool)
%threadallow ctrpy_pool_free;

%inline %{
void ctrpy_pool_free(ctrpy_pool *p);

/* A pool of `threads` scanners on rs (the caller's and threads - 1 with a
 * thread each), at most `cap` inputs pushed and not taken, reading `chunk`
 * bytes at a time, keeping `keep_errors` record errors per input. Each
 * scanner is set up with ctrpy_pool_scanner before ctrpy_pool_start. */
int ctrpy_pool_new(ctr_ruleset *rs, int threads, size_t cap, size_t chunk, uint64_t keep_errors, ctrpy_pool **out)
{
  if (threads < 1 || !cap || !chunk)
    return CTR_EINVAL;
  ctrpy_pool *p = calloc(1, sizeof *p);
  if (!p || !(p->core = ctrbind_pool_new(threads, threads - 1, cap, cap, chunk, &ctrpy_pool_ops))) {
    free(p);
    return CTR_ENOMEM;
  }
  p->keep_errors = keep_errors;
  for (int k = 0; k < threads; k++) {
    struct ctrbind_worker *w = &p->core->workers[k];
    w->user = p;
    int st = ctr_scanner_new(rs, ctrpy_pool_match, w, &w->sc);
    if (st != CTR_OK) {
      ctrpy_pool_free(p);
      return st;
    }
    ctr_scanner_set_error_callback(w->sc, ctrpy_pool_error, w);
  }
  *out = p;
  return CTR_OK;
}

/* Scanner k of the pool, to set its flags and limits (before start). */
ctr_scanner *ctrpy_pool_scanner(ctrpy_pool *p, int k)
{
  return k >= 0 && k < p->core->nworkers ? p->core->workers[k].sc : NULL;
}

int ctrpy_pool_start(ctrpy_pool *p) { return ctrbind_pool_start(p->core); }

/* Pushes the next input: its path (bytes, no NUL), or None for one the
 * caller scans in Python (ctrpy_pool_skip). */
PyObject *ctrpy_pool_push(ctrpy_pool *p, PyObject *fspath)
{
  char *s = NULL;
  Py_ssize_t n = 0;
  if (fspath != Py_None && PyBytes_AsStringAndSize(fspath, &s, &n) != 0) /* TypeError; ValueError: a NUL */
    return NULL;
  int st = ctrbind_pool_push(p->core, s, (size_t)n);
  if (st == CTR_ENOMEM)
    return PyErr_NoMemory();
  if (st != CTR_OK) {
    PyErr_SetString(PyExc_RuntimeError, "ctrpy_pool_push: the pool is full");
    return NULL;
  }
  Py_RETURN_NONE;
}

/* Takes the next input, pushed as None: the caller scanned it. Only the
 * caller's thread changes what is taken and the slots' paths. */
PyObject *ctrpy_pool_skip(ctrpy_pool *p)
{
  struct ctrbind_pool *c = p->core;
  if (c->taken >= c->pushed || c->slots[c->taken % c->cap].path) {
    PyErr_SetString(PyExc_RuntimeError, "ctrpy_pool_skip: the next input is a path");
    return NULL;
  }
  ctrbind_pool_release(c, c->taken);
  Py_RETURN_NONE;
}

/* Takes the next input's result, pushed as a path, waiting for it (the GIL
 * released) and scanning the next unclaimed paths meanwhile: (status,
 * finished, errno, counters indexed by CTR_STAT_*, alerts (ctrpy_unpack_alert),
 * record errors (ctrpy_pool_errors), incomplete (the input's CTR_STAT_INCOMPLETE), the last record error's
 * offset or None, the last error or None). MemoryError if a match could not
 * be kept. */
PyObject *ctrpy_pool_take(ctrpy_pool *p)
{
  struct ctrbind_pool *c = p->core;
  size_t i = c->taken;
  if (i >= c->pushed || !c->slots[i % c->cap].path) {
    PyErr_SetString(PyExc_RuntimeError, "ctrpy_pool_take: the next input is not a pushed path");
    return NULL;
  }
  /* Waits in slices, to run the signal handlers between them: a Ctrl-C
   * while another thread scans a large file is not held until it ends. */
  struct ctrbind_slot *s;
  int timed_out;
  do {
    timed_out = 0;
    Py_BEGIN_ALLOW_THREADS
    s = ctrbind_pool_wait(c, i, 1, 1, CTRPY_POOL_SIGNALS_MS, &timed_out);
    Py_END_ALLOW_THREADS
    if (timed_out && PyErr_CheckSignals() != 0)
      return NULL; /* KeyboardInterrupt, or what a handler raised */
  } while (timed_out);
  if (!s)
    return ctrbind_pool_failed(c) ? PyErr_NoMemory() : (PyErr_SetString(PyExc_RuntimeError, "ctrpy_pool_take: the pool was stopped"), NULL);
  struct ctrpy_result *r = s->out;
  PyObject *out = NULL, *stats = PyTuple_New(CTR_STAT__COUNT), *alerts = NULL, *errors = NULL, *last = NULL;
  for (int k = 0; stats && k < CTR_STAT__COUNT; k++) {
    PyObject *v = PyLong_FromUnsignedLongLong(s->stats[k]);
    if (!v)
      Py_CLEAR(stats);
    else
      PyTuple_SET_ITEM(stats, k, v);
  }
  if (r->matches.oom || r->errs.oom)
    PyErr_NoMemory();
  else if (stats && (alerts = ctrpy_pool_alerts(&r->matches)) && (errors = ctrpy_pool_errors(&r->errs)) &&
           (last = r->nerrs ? PyLong_FromUnsignedLongLong(r->last_offset) : (Py_INCREF(Py_None), Py_None)))
    out = Py_BuildValue("(iiiOOOKON)", s->status, s->finished, s->err, stats, alerts, errors,
                        (unsigned long long)s->stats[CTR_STAT_INCOMPLETE], last, ctrpy_str(s->last_error));
  Py_XDECREF(last);
  Py_XDECREF(stats);
  Py_XDECREF(alerts);
  Py_XDECREF(errors);
  ctrbind_pool_release(c, i);
  return out;
}

/* Stops the threads (a file being scanned is left at its next read), joins
 * them and frees everything. */
void ctrpy_pool_free(ctrpy_pool *p)
{
  if (!p)
    return;
  ctrbind_pool_free(p->core);
  free(p);
}
%}
