/*
 * frame.c - cuts a byte stream, fed in any chunking, into CloudTrail records.
 *
 * Three parts:
 *
 *   input      frame_gzip.c: sniffs the gzip magic (1f 8b) and inflates,
 *              member after member (gzip inside gzip too), with the output
 *              bounded; otherwise passes the bytes through.
 *   envelopes  frame_envelope.c: digest files, EventBridge events and
 *              CloudWatch Logs payloads, recognised in a whole object.
 *   JSON       here: a string- and escape-aware, grammar-checking scanner over the (decompressed)
 *          bytes. It builds no tree and keeps only the bytes of the value
 *          being cut out, so memory is bounded by the largest record, never
 *          by the stream. All of its state lives in the framer, so a chunk
 *          may end on any byte; nothing recurses on the input's depth.
 *
 * Top-level values:
 *
 *   {"Records":[...]}  each element is a record, emitted as soon as it closes;
 *                      the rest of the object is read and ignored.
 *   [ ... ]            the same for a top-level array.
 *   { ... }            buffered whole. Envelopes (digest file, EventBridge,
 *                      CloudWatch Logs) are recognised from the keys seen at
 *                      depth 1 and only then parsed with jansson; any other
 *                      object is itself a record, passed on byte for byte.
 *   anything else      one bad record, then resynchronise at the next newline.
 *
 * A record wholly inside one chunk is handed out as a pointer into that chunk
 * (the caller's buffer, or the inflate buffer); one that spans chunks is
 * held, and walked once the next chunk completes it (see "held records"),
 * or gathered byte by byte; both buffers are reused, so the hot path does
 * not allocate.
 */
#include "frame.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static void report_garbage(ctr__framer *f, unsigned char c, uint64_t offset)
{
  if (c > 0x20 && c < 0x7f)
    snprintf(f->msg, sizeof f->msg, "expected a JSON object or array, found '%c'", c);
  else
    snprintf(f->msg, sizeof f->msg, "expected a JSON object or array, found '\\x%02X'", c);
  bad_record(f, CTR_EDATA, offset, f->msg);
}

/* Whitespace bytes between the last newline and p, or -1 when another byte
 * lies between: how far a value starting at p is indented, if it begins its
 * line. */
static int64_t indent_at(const ctr__framer *f, const char *p)
{
  int64_t n = 0;
  for (const char *q = p; q > f->chunk;) {
    char c = *--q;
    if (c == '\n')
      return n;
    if (c != ' ' && c != '\t' && c != '\r')
      return -1;
    n++;
  }
  return f->line_ws < 0 ? -1 : f->line_ws + n;
}

/* ------------------------------------------------------------ capture */

static void cap_begin(ctr__framer *f, const char *p)
{
  f->cap_on = true;
  f->bad = BAD_NONE;
  f->span = p;
  f->cap_offset = offset_of(f, p);
  f->cap_indent = indent_at(f, p);
  ctr__buf_clear(&f->buf);
}

/* Length of the value so far, up to (not including) p. */
static uint64_t cap_len(const ctr__framer *f, const char *p) { return f->buf.len + (uint64_t)(p - f->span); }

/* A record reports a limit as soon as it is hit. A top-level object waits for
 * its end: a Records array found later would make the limit moot. */
static void mark_bad(ctr__framer *f, bad_kind kind)
{
  f->bad = kind;
  ctr__buf_clear(&f->buf);
  if (f->in_record)
    report_limit(f, kind, f->cap_offset);
}

/* The bytes of the value ending just before `end`: borrowed from the chunk
 * when the value lies wholly in it, else gathered in buf. */
static int cap_take(ctr__framer *f, const char *end, const char **p, size_t *n)
{
  if (f->buf.len == 0) { /* started in this chunk: it wrote nothing to buf yet */
    *p = f->span;
    *n = (size_t)(end - f->span);
    return CTR_OK;
  }
  if (ctr__buf_append(&f->buf, f->span, (size_t)(end - f->span)) != CTR_OK)
    return CTR_ENOMEM;
  *p = f->buf.data;
  *n = f->buf.len;
  return CTR_OK;
}

/* At the end of a chunk, the part of the value in it moves to buf. */
static int cap_flush(ctr__framer *f, const char *end)
{
  if (!f->cap_on || f->bad)
    return CTR_OK;
  if (cap_len(f, end) > f->lim.max_record_bytes) {
    mark_bad(f, BAD_SIZE);
    return CTR_OK;
  }
  return ctr__buf_append(&f->buf, f->span, (size_t)(end - f->span)) == CTR_OK ? CTR_OK : CTR_ENOMEM;
}

/* Called after the depth grew at p. Whichever limit is crossed at the
 * earlier byte is the one reported, so the verdict does not depend on where
 * chunks end. */
static void check_depth(ctr__framer *f, const char *p)
{
  if (!f->cap_on || f->bad)
    return;
  uint64_t rel = f->in_record ? f->depth - f->elem_depth : f->depth;
  if (rel <= f->lim.max_depth)
    return;
  mark_bad(f, cap_len(f, p + 1) > f->lim.max_record_bytes ? BAD_SIZE : BAD_DEPTH);
}

/* ------------------------------------------------------------ JSON layer */

static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* Bytes of a number or a literal (true, false, null). Which ones spell a
 * valid token is jansson's to say: the framer only needs to know where the
 * token ends. */
static const unsigned char k_scalar[256] = {
  ['+'] = 1, ['-'] = 1, ['.'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
  ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
  ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1,
  ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1,
  ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,
  ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
  ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static void nest_set(ctr__framer *f, uint64_t depth, bool object)
{
  uint64_t bit = (uint64_t)1 << (depth & 63);
  if (object)
    f->objects[depth >> 6] |= bit;
  else
    f->objects[depth >> 6] &= ~bit;
}

static bool nest_is_object(const ctr__framer *f, uint64_t depth)
{
  return (f->objects[depth >> 6] >> (depth & 63)) & 1;
}

static void key_add(ctr__framer *f, const char *p, size_t n)
{
  if (f->key_long || n > KEY_MAX - 1 - f->key_len) {
    f->key_long = true;
    return;
  }
  memcpy(f->key + f->key_len, p, n);
  f->key_len += n;
}

static void key_end(ctr__framer *f)
{
  f->in_key = false;
  f->records_pending = false;
  if (f->key_esc) { /* the raw bytes are not the key: let jansson judge */
    f->odd_keys = true;
    return;
  }
  if (f->key_long)
    return;
  unsigned flag = ctr__shape_key(f->key, f->key_len);
  f->keys |= flag;
  f->records_pending = flag == CTR__SHAPE_RECORDS;
}

/* First '"', '\\' or newline in [p, end), or end: the bytes that end a run
 * of string content for the framer. Strings are short: 16 bytes at a time
 * inline beats a memchr call per string. */
static const char *find_string_stop(const char *p, const char *end)
{
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), newline = _mm_set1_epi8('\n');
  for (; end - p >= 16; p += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    unsigned mask = (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), _mm_cmpeq_epi8(v, newline)));
    if (mask)
      return p + __builtin_ctz(mask);
  }
#endif
  while (p < end && *p != '"' && *p != '\\' && *p != '\n')
    p++;
  return p;
}

typedef enum {
  BRK_GRAMMAR, /* a byte the JSON grammar does not allow there */
  BRK_NEWLINE, /* a raw newline inside a string: the record was cut short */
  BRK_NEST,    /* nesting deeper than the framer follows */
  BRK_END,     /* the input ended inside the value */
} brk_kind;

static const char *broken(ctr__framer *f, const char *p, const char *end, brk_kind kind, int *rc);

static const char *scan_string(ctr__framer *f, const char *p, const char *end, int *rc)
{
  if (f->esc) { /* the byte after a backslash never ends the string */
    f->esc = false;
    if (*p == '\n')
      return broken(f, p, end, BRK_NEWLINE, rc);
    if (f->in_key)
      key_add(f, p, 1);
    return p + 1;
  }
  const char *q = find_string_stop(p, end);
  if (f->in_key)
    key_add(f, p, (size_t)(q - p));
  if (q == end)
    return end;
  if (*q == '\\') {
    f->key_esc |= f->in_key;
    f->esc = true;
    return q + 1;
  }
  /* JSON strings hold no raw newline: the record ended here, cut short. */
  if (*q == '\n')
    return broken(f, q, end, BRK_NEWLINE, rc);
  f->in_str = false;
  if (f->in_key)
    key_end(f);
  return q + 1;
}

static void begin_object(ctr__framer *f, const char *p)
{
  f->top = TOP_OBJECT;
  f->depth = 1;
  nest_set(f, 1, true);
  f->g = G_OBJ_OPEN;
  f->top_offset = offset_of(f, p);
  f->streamed = false;
  f->elem_depth = 0;
  f->keys = 0;
  f->odd_keys = false;
  f->in_key = false;
  f->records_pending = false;
  f->in_record = false;
  cap_begin(f, p);
  check_depth(f, p);
}

static void begin_array(ctr__framer *f, const char *p)
{
  f->top = TOP_ARRAY;
  f->depth = 1;
  nest_set(f, 1, false);
  f->elem_depth = 1;
  f->top_offset = offset_of(f, p);
  f->in_scalar = false;
}

/* "Records":[ at depth 1: from here on each element is a record and the
 * object itself is no longer kept. */
static void begin_records(ctr__framer *f)
{
  f->cap_on = false;
  f->bad = BAD_NONE;
  ctr__buf_clear(&f->buf);
  f->streamed = true;
  f->records_pending = false;
  f->depth = 2;
  nest_set(f, 2, false);
  f->elem_depth = 2;
  f->in_scalar = false;
}

static int end_object(ctr__framer *f, const char *p)
{
  f->top = TOP_NONE;
  f->depth = 0;
  if (f->streamed) {
    f->streamed = false;
    return CTR_OK;
  }
  f->cap_on = false;
  bad_kind kind = f->bad;
  f->bad = BAD_NONE;
  if (kind == BAD_NONE && cap_len(f, p + 1) > f->lim.max_record_bytes)
    kind = BAD_SIZE;
  if (kind != BAD_NONE) {
    report_limit(f, kind, f->cap_offset);
    return CTR_OK;
  }
  const char *s;
  size_t n;
  int rc = cap_take(f, p + 1, &s, &n);
  return rc != CTR_OK ? rc : ctr__frame_object(f, s, n, f->cap_offset);
}

static int end_record(ctr__framer *f, const char *p)
{
  f->in_record = false;
  f->cap_on = false;
  if (f->bad != BAD_NONE) { /* reported when it was hit */
    f->bad = BAD_NONE;
    return CTR_OK;
  }
  if (cap_len(f, p + 1) > f->lim.max_record_bytes) {
    report_limit(f, BAD_SIZE, f->cap_offset);
    return CTR_OK;
  }
  const char *s;
  size_t n;
  int rc = cap_take(f, p + 1, &s, &n);
  return rc != CTR_OK ? rc : emit(f, s, n, f->cap_offset);
}

/* ------------------------------------------------------------ held records
 *
 * A record that a chunk's end cuts is, on the byte path, framed byte by
 * byte from its '{' on (value_byte, scan_string) in this chunk and the next:
 * with 32 KiB chunks that made a scan 20% slower than with 1 MiB ones. So a
 * record the walk could not finish because the chunk ended (on the chunk's
 * last line, neither closed nor broken: ends_before) is held instead: its
 * bytes are copied aside, nothing of it is framed, and the next chunk's first
 * bytes are appended until one walk over them finds its end. Whatever the
 * walk cannot vouch for (a malformed or oversized record, a record longer
 * than HELD_MAX, a next chunk too small to complete it) is framed by the byte
 * path as before, from the held '{' on, at the same offsets: the records and
 * reports are the same, in the same order, and no record waits for a later
 * feed than on the byte path (the report of a value a grammar error broke on
 * the last line may). A stream error, finish and reset see to what is held
 * (ctr__frame_release_held, frame_end, ctr__framer_reset). */

#define HELD_FIRST (4u * 1024u)   /* a held record's first walk: at least this many bytes */
#define HELD_MAX (256u * 1024u)   /* longer records take the byte path */
/* A record that starts this close to a chunk's end is offered to the hold
 * before it is walked: the record a chunk's end cuts is then not walked twice
 * (a walk that fails at the end, then one over the whole record). A whole
 * record on a line of its own is turned away at once (its newline), and one
 * in a log file after a look for its end (ends_before). Built-in RDS rules,
 * real records fed 32 KiB at a time, 1% faster; 4 KiB, 4%; gzip log files as
 * before (docs/performance.md, stop 22). */
#define HOLD_BEFORE_WALK 2048u

static int frame_chunk(ctr__framer *f, const char *data, size_t from, size_t n);

/* Whether the object at p may be a log file or an envelope (its first key
 * is one ctr__shape_key knows: Records, detail, ...), or its first key cannot
 * be read plainly (escaped, or cut by the chunk's end before it is longer
 * than those keys): either way the byte path frames it. */
static bool opens_unlike_record(const char *p, const char *end)
{
  for (p++; p < end && is_ws(*p); p++)
    ;
  if (p == end || *p != '"')
    return true;
  const char *key = ++p;
  while (p < end && *p != '"' && *p != '\\' && p - key < KEY_MAX)
    p++;
  /* Longer than every key ctr__shape_key knows ("additionalEventData",
   * "requestParameters": a record's first key often is): a record. */
  if (p - key == KEY_MAX)
    return false;
  if (p == end || *p != '"')
    return true;
  return ctr__shape_key(key, (size_t)(p - key)) != 0;
}

/* Whether the value opening at p closes before end, [p, end) holding no
 * raw newline: only a value that does not may be held, so that a hold
 * delays no record and no report the byte path would make in this chunk (a
 * walk fails on a value it cannot vouch for too). */
static bool ends_before(const char *p, const char *end) { return ctr__skip_container(p, end) != NULL; }

bool ctr__frame_no_hold;

/* Holds [p, end), a record starting at p that the walk could not finish
 * (top: a top-level value). False when it takes the byte path instead. */
static bool hold_record(ctr__framer *f, const char *p, const char *end, bool top)
{
  size_t n = (size_t)(end - p);
  if (ctr__frame_no_hold || f->held_off || f->replaying || n > HELD_MAX || n > f->lim.max_record_bytes)
    return false;
  /* Held: a value on the chunk's last line that has neither closed nor
   * broken; not a top-level value that may be an envelope or a log file
   * (the walk stops at its first such key: the byte path frames those). */
  if (memchr(p, '\n', n) || (top && opens_unlike_record(p, end)) || ends_before(p, end))
    return false;
  ctr__buf_clear(&f->held);
  if (ctr__buf_append(&f->held, p, n) != CTR_OK)
    return false; /* the byte path needs no memory up front */
  f->held_pos = offset_of(f, p);
  f->held_line_ws = indent_at(f, p);
  f->held_tried = n;
  f->held_top = top;
  return true;
}

/* Frames the held bytes with the byte path, at their own offsets, as if
 * nothing had been held. */
int ctr__frame_release_held(ctr__framer *f)
{
  const char *chunk = f->chunk, *fresh = f->fresh;
  uint64_t pos = f->pos;
  int64_t line_ws = f->line_ws;
  ctr__buf t = f->held; /* moved aside: framing it holds nothing, but keeps held's memory */
  f->held = (ctr__buf){0};
  f->pos = f->held_pos;
  f->line_ws = f->held_line_ws;
  f->held_off = true;
  int rc = frame_chunk(f, t.data, 0, t.len);
  f->held_off = false;
  f->held = t;
  ctr__buf_clear(&f->held);
  f->chunk = chunk;
  f->fresh = fresh;
  f->pos = pos;
  f->line_ws = line_ws;
  return rc;
}

/* The next chunk, data: its first bytes are appended to the held record
 * until a walk finds its end (emitted, *used: how many of data's bytes it
 * took), the chunk ends (still held, *used = n) or the record proves a case
 * for the byte path (released, *used: the bytes appended, which it framed). */
static int resume_held(ctr__framer *f, const char *data, size_t n, size_t *used)
{
  size_t base = f->held.len, at = 0; /* held[base + k] is data[k] */
  for (;;) {
    size_t target = f->held_tried * 2 > HELD_FIRST ? f->held_tried * 2 : HELD_FIRST;
    size_t take = n - at < target - f->held.len ? n - at : target - f->held.len;
    /* On a line of its own (NDJSON), a record ends before the line does:
     * its first walk reads to the line's end, no further. */
    const char *nl = at == 0 ? memchr(data, '\n', take) : NULL;
    if (nl)
      take = (size_t)(nl - data) + 1;
    /* A chunk much smaller than the record is better framed on the byte
     * path than walked again from the '{' each time. */
    if (!nl && at + take == n && f->held.len + take < target && 2 * (at + take) < base)
      break;
    if (ctr__buf_append(&f->held, data + at, take) != CTR_OK)
      break;
    at += take;
    ctr__record_facts facts;
    const char *h = f->held.data, *after = ctr__walk_object(h, h + f->held.len, f->held_top, &facts);
    if (after) {
      size_t len = (size_t)(after - h);
      if (len <= base || facts.depth > f->lim.max_depth || len > f->lim.max_record_bytes)
        break; /* over a limit: the byte path reports it */
      *used = len - base;
      int rc = emit_walked(f, h, len, f->held_pos, &facts);
      ctr__buf_clear(&f->held);
      return rc;
    }
    f->held_tried = f->held.len;
    /* The walk failed on a value that a line's end may have broken, or that
     * has ended: the byte path frames it, now. (held has no raw newline when
     * ends_before reads it: the hold had none, and this test comes first.) */
    if (memchr(data + at - take, '\n', take) || ends_before(h, h + f->held.len) || f->held.len >= HELD_MAX ||
        f->held.len >= f->lim.max_record_bytes)
      break;
    if (at == n) {
      *used = n;
      return CTR_OK;
    }
  }
  *used = at;
  return ctr__frame_release_held(f);
}

/* A record that lies wholly in this chunk is cut with one walk (walk.c),
 * which also reads what the prefilter needs; one that the chunk's end cuts is
 * held (hold_record: near the end, before any walk). Whatever the walk does
 * not vouch for, or that is over a limit, takes the byte-by-byte path below,
 * which frames and reports it. Returns the byte after the record, or NULL. */
static const char *walk_record(ctr__framer *f, const char *p, const char *end, bool top_level, int *rc)
{
  bool offered = (size_t)(end - p) < HOLD_BEFORE_WALK; /* hold_record's answer cannot change after the walk */
  if (offered && hold_record(f, p, end, top_level))
    return end;
  ctr__record_facts facts;
  const char *after = ctr__walk_object(p, end, top_level, &facts);
  if (!after) {
    if (!offered && hold_record(f, p, end, top_level))
      return end;
    return NULL;
  }
  if (facts.depth > f->lim.max_depth || (uint64_t)(after - p) > f->lim.max_record_bytes)
    return NULL;
  *rc = emit_walked(f, p, (size_t)(after - p), offset_of(f, p), &facts);
  return after;
}

/* Between top-level values: skip whitespace, then open the next one. */
static const char *top_level(ctr__framer *f, const char *p, const char *end, int *rc)
{
  while (p < end && is_ws(*p))
    p++;
  if (p == end)
    return p;
  const char *after;
  if (*p == '{' && (after = walk_record(f, p, end, true, rc)))
    return after;
  if (*p == '{')
    begin_object(f, p);
  else if (*p == '[')
    begin_array(f, p);
  else if ((unsigned char)*p == k_bom[0] && offset_of(f, p) == 0) {
    f->top = TOP_BOM;
    f->bom_len = 1;
  } else {
    report_garbage(f, (unsigned char)*p, offset_of(f, p));
    f->top = TOP_GARBAGE;
  }
  return p + 1;
}

static const char *bom_byte(ctr__framer *f, const char *p)
{
  if ((unsigned char)*p == k_bom[f->bom_len]) {
    if (++f->bom_len == sizeof k_bom)
      f->top = TOP_NONE;
    return p + 1;
  }
  report_garbage(f, k_bom[0], 0);
  f->top = TOP_GARBAGE;
  return p; /* this byte may be the newline that ends the garbage */
}

static const char *skip_garbage(ctr__framer *f, const char *p, const char *end)
{
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  if (!nl)
    return end;
  f->top = TOP_NONE;
  return nl + 1;
}

/* After a broken value: skips to the next line that begins, at the broken
 * value's own indentation, with '{' (or '[' at the top level), and carries
 * on there, in the array the value was an element of if it was one; or that
 * begins with '{' or '[' at column 0, which starts a top-level value (NDJSON,
 * the next log file). Lines indented otherwise are the rest of a
 * pretty-printed record, not a new one. */
static const char *seek(ctr__framer *f, const char *p, const char *end)
{
  while (p < end) {
    if (f->seek_ws < 0) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      if (!nl)
        return end;
      f->seek_ws = 0;
      p = nl + 1;
      continue;
    }
    char c = *p;
    if (c == '\n') {
      f->seek_ws = 0;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      f->seek_ws++;
    } else if (f->seek_ws == f->seek_indent && (c == '{' || (c == '[' && !f->seek_elem))) {
      f->top = f->seek_elem ? f->seek_top : TOP_NONE;
      if (f->seek_elem)
        f->depth = f->elem_depth;
      return p;
    } else if (f->seek_ws == 0 && (c == '{' || c == '[')) { /* column 0 always begins a top-level value */
      f->top = TOP_NONE;
      f->depth = f->elem_depth = 0;
      f->streamed = false;
      return p;
    } else {
      f->seek_ws = -1;
      continue;
    }
    p++;
  }
  return p;
}

/* The report of a broken value whose bytes from its first on are at hand. */
static int report_broken(ctr__framer *f, const char *p, brk_kind kind)
{
  const char *s = f->buf.data;
  size_t n = f->buf.len;
  if (kind != BRK_END) {
    int rc = cap_take(f, p + 1, &s, &n);
    if (rc != CTR_OK)
      return rc;
  }
  if (kind == BRK_END) {
    bad_record(f, CTR_EDATA, f->cap_offset,
               f->in_str ? "truncated record: input ended inside a JSON string"
                         : "truncated record: input ended inside a JSON object");
    return CTR_OK;
  }
  if (kind == BRK_NEWLINE) {
    snprintf(f->msg, sizeof f->msg,
             "invalid JSON at byte %zu of the record: a line break inside a string (the record is cut short)", n - 1);
    bad_record(f, CTR_EDATA, f->cap_offset, f->msg);
    return CTR_OK;
  }
  /* Worded by the parser that judges every record, as if the framer had
   * passed the record on. */
  json_t *root = NULL;
  ctr__buf_clear(&f->tmp);
  int rc = ctr__event_parse(s, n, &root, &f->tmp);
  json_decref(root);
  if (rc == CTR_ENOMEM)
    return rc;
  if (rc == CTR_OK || !f->tmp.data) /* cannot be: the bytes end before the value does */
    snprintf(f->msg, sizeof f->msg, "invalid JSON at byte %zu of the record", n - 1);
  else
    snprintf(f->msg, sizeof f->msg, "%s", f->tmp.data);
  bad_record(f, CTR_EDATA, f->cap_offset, f->msg);
  return CTR_OK;
}

/* The value being framed cannot be JSON from the byte at p on (at the end of
 * the input for BRK_END). It is reported once, and framing resynchronises:
 * everything after the value's first byte is read again (seek) for a line
 * that can begin a record, so records the broken value swallowed are still
 * framed. When the value's bytes are gone (it was over a limit), the search
 * starts at p. Returns where framing carries on in this chunk. */
static const char *broken(ctr__framer *f, const char *p, const char *end, brk_kind kind, int *rc)
{
  /* A value over the size limit before the byte that broke it reports the
   * limit, as it does when a chunk's end came between the two (cap_flush). */
  if (p && f->cap_on && f->bad == BAD_NONE && cap_len(f, p + 1) > f->lim.max_record_bytes)
    mark_bad(f, BAD_SIZE);
  bool have = f->cap_on && f->bad == BAD_NONE;
  size_t earlier = f->buf.len; /* of its bytes, those from earlier chunks */
  uint64_t first = f->cap_offset;
  bool elem = f->in_record && f->cap_indent >= 0;
  if (have) {
    if ((*rc = report_broken(f, p, kind)) != CTR_OK)
      return end;
    f->buf.len = earlier; /* report_broken may have gathered this chunk's part */
  } else if (f->cap_on) {
    if (!f->in_record) /* a record reported its limit when it hit it */
      report_limit(f, f->bad, f->cap_offset);
  } else { /* the array or log file around the records */
    char what[24] = "unexpected byte";
    if (kind == BRK_GRAMMAR && *p > 0x20 && *p < 0x7f)
      snprintf(what, sizeof what, "unexpected '%c'", *p);
    snprintf(f->msg, sizeof f->msg, "invalid JSON at byte %llu of the input: %s", (unsigned long long)offset_of(f, p),
             kind == BRK_NEST      ? "nesting too deep to follow"
             : kind == BRK_NEWLINE ? "a line break inside a string"
                                   : what);
    bad_record(f, CTR_EDATA, f->top_offset, f->msg);
  }
  f->seek_indent = f->cap_on && f->cap_indent >= 0 ? f->cap_indent : 0;
  f->seek_elem = elem;
  f->seek_top = elem ? f->top : TOP_NONE;
  f->in_str = f->esc = f->in_key = f->in_scalar = f->records_pending = false;
  f->cap_on = f->in_record = false;
  f->bad = BAD_NONE;
  if (!elem) {
    f->depth = f->elem_depth = 0;
    f->streamed = false;
  }
  f->top = TOP_SEEK;
  if (!have || (earlier > 0 && f->replaying)) {
    f->seek_ws = kind == BRK_END ? -1 : indent_at(f, p);
    return p;
  }
  f->seek_ws = -1; /* the value's first byte is on the line: it is no candidate */
  if (earlier == 0)
    return f->span + 1;
  /* The value began in an earlier chunk: its bytes are read again from buf
   * (moved aside, as framing them may capture a record into buf). A value
   * that begins in them lies in them, so this never nests deeper. */
  ctr__buf t = f->replay;
  f->replay = f->buf;
  f->buf = t;
  ctr__buf_clear(&f->buf);
  const char *chunk = f->chunk, *fresh = f->fresh;
  uint64_t pos = f->pos;
  f->pos = first + 1;
  f->line_ws = -1;
  f->replaying = true;
  *rc = ctr__frame_bytes(f, f->replay.data + 1, f->replay.len - 1);
  f->replaying = false;
  f->chunk = chunk;
  f->fresh = fresh;
  f->pos = pos;
  if (f->cap_on && f->bad == BAD_NONE)
    f->span = fresh;
  return *rc == CTR_OK ? fresh : end;
}

/* One byte outside strings inside a top-level object or a record: checked
 * against the grammar, nesting followed, depth-1 keys of a top-level object
 * read. Returns where framing carries on. */
static const char *value_byte(ctr__framer *f, const char *p, const char *end, int *rc)
{
  if (f->g == G_SCALAR) {
    while (p < end && k_scalar[(unsigned char)*p])
      p++;
    if (p == end)
      return p;
    f->g = G_COMMA;
  }
  char c = *p;
  if (is_ws(c)) {
    do
      p++;
    while (p < end && is_ws(*p));
    return p;
  }
  bool key_level = f->depth == 1 && f->top == TOP_OBJECT;
  switch (c) {
  case '"':
    if (f->g == G_OBJ_OPEN || f->g == G_KEY) {
      f->g = G_COLON;
      if (key_level) {
        f->in_key = true;
        f->key_len = 0;
        f->key_long = f->key_esc = false;
      }
    } else if (f->g == G_VALUE || f->g == G_ARR_OPEN) {
      f->g = G_COMMA;
      f->records_pending = false;
    } else {
      break;
    }
    f->in_str = true;
    return p + 1;
  case ':':
    if (f->g != G_COLON)
      break;
    f->g = G_VALUE;
    return p + 1;
  case ',':
    if (f->g != G_COMMA)
      break;
    f->g = nest_is_object(f, f->depth) ? G_KEY : G_VALUE;
    return p + 1;
  case '{':
  case '[':
    if (f->g != G_VALUE && f->g != G_ARR_OPEN)
      break;
    if (key_level && c == '[' && f->records_pending) {
      begin_records(f);
      return p + 1;
    }
    f->records_pending = false;
    if (f->depth + 1 >= FRAME_NEST_MAX)
      return broken(f, p, end, BRK_NEST, rc);
    f->depth++;
    nest_set(f, f->depth, c == '{');
    f->g = c == '{' ? G_OBJ_OPEN : G_ARR_OPEN;
    check_depth(f, p);
    return p + 1;
  case '}':
  case ']':
    if (nest_is_object(f, f->depth) != (c == '}') || (f->g != G_COMMA && f->g != (c == '}' ? G_OBJ_OPEN : G_ARR_OPEN)))
      break;
    f->depth--;
    f->g = G_COMMA;
    if (f->depth == 0)
      *rc = end_object(f, p);
    else if (f->in_record && f->depth == f->elem_depth)
      *rc = end_record(f, p);
    return p + 1;
  default:
    if ((f->g == G_VALUE || f->g == G_ARR_OPEN) && k_scalar[(unsigned char)c]) {
      f->g = G_SCALAR;
      f->records_pending = false;
      return p + 1;
    }
    break;
  }
  return broken(f, p, end, BRK_GRAMMAR, rc);
}

static void not_an_object(ctr__framer *f, const char *p)
{
  bad_record(f, CTR_EDATA, offset_of(f, p), "record is not a JSON object");
}

/* A byte between the elements of a streamed array. Separators are taken
 * loosely here (a missing comma loses nothing); each element is checked on
 * its own. */
static const char *element_byte(ctr__framer *f, const char *p, const char *end, int *rc)
{
  char c = *p;
  if (is_ws(c) || c == ',') {
    f->in_scalar = false;
    return p + 1;
  }
  switch (c) {
  case '{':
  case '[':
    f->in_scalar = false;
    f->depth++;
    nest_set(f, f->depth, c == '{');
    f->g = c == '{' ? G_OBJ_OPEN : G_ARR_OPEN;
    if (c == '[') {
      not_an_object(f, p);
      return p + 1;
    }
    f->in_record = true;
    cap_begin(f, p);
    check_depth(f, p);
    return p + 1;
  case '"':
    f->in_scalar = false;
    f->in_str = true;
    not_an_object(f, p);
    return p + 1;
  case '}':
    return broken(f, p, end, BRK_GRAMMAR, rc);
  case ']':
    f->in_scalar = false;
    f->depth--;
    f->elem_depth = 0;
    f->g = G_COMMA;
    if (f->top == TOP_ARRAY)
      f->top = TOP_NONE;
    return p + 1;
  default:
    if (!f->in_scalar) {
      f->in_scalar = true;
      not_an_object(f, p);
    }
    return p + 1;
  }
}

int ctr__frame_bytes(ctr__framer *f, const char *data, size_t n)
{
  size_t from = 0;
  if (f->held.len && !f->held_off && !f->replaying) {
    int rc = resume_held(f, data, n, &from);
    if (rc != CTR_OK)
      return rc;
  }
  return frame_chunk(f, data, from, n);
}

/* Frames data[from, n): data is the chunk, its first `from` bytes already
 * framed (resume_held). */
static int frame_chunk(ctr__framer *f, const char *data, size_t from, size_t n)
{
  const char *p = data + from, *end = data + n;
  f->chunk = data;
  f->fresh = p;
  if (f->cap_on && !f->bad)
    f->span = p;
  while (p < end) {
    int rc = CTR_OK;
    if (f->in_str) {
      p = scan_string(f, p, end, &rc);
    } else {
      switch (f->top) {
      case TOP_NONE:
        p = top_level(f, p, end, &rc);
        break;
      case TOP_GARBAGE:
        p = skip_garbage(f, p, end);
        break;
      case TOP_SEEK:
        p = seek(f, p, end);
        break;
      case TOP_BOM:
        p = bom_byte(f, p);
        break;
      case TOP_OBJECT:
      case TOP_ARRAY:
        if (f->depth == f->elem_depth) {
          const char *after;
          if (*p == '{' && (after = walk_record(f, p, end, false, &rc))) {
            f->in_scalar = false;
            p = after;
          } else {
            p = element_byte(f, p, end, &rc);
          }
        } else {
          p = value_byte(f, p, end, &rc);
        }
        break;
      }
    }
    if (rc != CTR_OK)
      return rc;
  }
  int rc = cap_flush(f, end);
  f->line_ws = indent_at(f, end);
  f->pos += n;
  return rc;
}

/* End of input: whatever is still open is reported once; a record cut short
 * is read again for the records it swallowed. */
static int frame_end(ctr__framer *f)
{
  int rc = f->held.len ? ctr__frame_release_held(f) : CTR_OK; /* the input ended inside it: the byte path reports it */
  while (rc == CTR_OK && (f->top == TOP_OBJECT || f->top == TOP_ARRAY)) {
    if (f->in_record || (f->top == TOP_OBJECT && !f->streamed)) {
      if (f->bad != BAD_NONE) {
        if (!f->in_record) /* a record reported it when it was hit */
          report_limit(f, f->bad, f->cap_offset);
        break;
      }
      f->chunk = f->span = f->buf.data + f->buf.len; /* every byte of the value is in buf */
      (void)broken(f, NULL, NULL, BRK_END, &rc);
    } else {
      bad_record(f, CTR_EDATA, f->top_offset,
                 f->top == TOP_ARRAY ? "truncated input: ended inside a top-level JSON array"
                 : f->elem_depth     ? "truncated input: ended inside the Records array"
                                     : "truncated input: ended inside a top-level JSON object");
      break;
    }
  }
  if (f->top == TOP_BOM)
    report_garbage(f, k_bom[0], 0);
  f->top = TOP_NONE;
  return rc;
}

/* ------------------------------------------------------------ API */

void ctr__frame_limits_default(ctr__frame_limits *l)
{
  l->max_record_bytes = ctr_limit_default(CTR_LIMIT_RECORD_BYTES);
  l->max_depth = (uint32_t)ctr_limit_default(CTR_LIMIT_JSON_DEPTH);
  l->max_gzip_output = ctr_limit_default(CTR_LIMIT_GZIP_OUTPUT);
  l->max_gzip_ratio = ctr_limit_default(CTR_LIMIT_GZIP_RATIO);
}

int ctr__framer_new(const ctr__frame_sink *sink, ctr__framer **out)
{
  if (!sink || !out)
    return CTR_EINVAL;
  ctr__framer *f = calloc(1, sizeof *f);
  if (!f)
    return CTR_ENOMEM;
  f->sink = *sink;
  ctr__frame_limits_default(&f->lim);
  *out = f;
  return CTR_OK;
}

void ctr__framer_free(ctr__framer *f)
{
  if (!f)
    return;
  ctr__gz_free(f);
  ctr__buf_free(&f->buf);
  ctr__buf_free(&f->tmp);
  ctr__buf_free(&f->replay);
  ctr__buf_free(&f->held);
  free(f);
}

/* A zero field keeps its default. Takes effect at once, mid-stream too. */
void ctr__framer_set_limits(ctr__framer *f, const ctr__frame_limits *l)
{
  if (!f || !l)
    return;
  ctr__frame_limits d;
  ctr__frame_limits_default(&d);
  f->lim.max_record_bytes = l->max_record_bytes ? l->max_record_bytes : d.max_record_bytes;
  f->lim.max_depth = l->max_depth ? l->max_depth : d.max_depth;
  f->lim.max_gzip_output = l->max_gzip_output ? l->max_gzip_output : d.max_gzip_output;
  f->lim.max_gzip_ratio = l->max_gzip_ratio ? l->max_gzip_ratio : d.max_gzip_ratio;
}

int ctr__framer_feed(ctr__framer *f, const void *data, size_t len)
{
  if (!f || (!data && len))
    return CTR_EINVAL;
  if (f->busy)
    return CTR_EBUSY;
  if (f->sticky)
    return f->sticky;
  if (f->finished)
    return CTR_ESTATE;
  if (len == 0)
    return CTR_OK;
  const unsigned char *p = data;
  int rc = CTR_OK;
  f->busy = true;
  if (f->mode == IN_SNIFF)
    rc = ctr__gz_sniff(f, &p, &len);
  if (rc == CTR_OK && len > 0)
    rc = ctr__gz_pass_on(f, p, len);
  f->busy = false;
  if (rc != CTR_OK)
    f->sticky = rc;
  return rc;
}

int ctr__framer_finish(ctr__framer *f)
{
  if (!f)
    return CTR_EINVAL;
  if (f->busy)
    return CTR_EBUSY;
  if (f->sticky)
    return f->sticky;
  if (f->finished)
    return CTR_OK;
  f->busy = true;
  int rc = CTR_OK;
  if (f->held_magic) { /* a lone 1f byte: not gzip after all */
    f->held_magic = false;
    f->mode = IN_PLAIN;
    rc = ctr__frame_bytes(f, (const char *)k_gzip_magic, 1);
  }
  if (rc == CTR_OK)
    rc = ctr__gz_finish(f);
  if (rc == CTR_OK)
    rc = frame_end(f);
  f->busy = false;
  f->finished = true;
  if (rc != CTR_OK)
    f->sticky = rc;
  return rc;
}

void ctr__framer_reset(ctr__framer *f)
{
  if (!f || f->busy)
    return;
  memset(&f->sticky, 0, sizeof *f - offsetof(ctr__framer, sticky));
  ctr__gz_reset(f);
  ctr__buf_clear(&f->buf);
  ctr__buf_clear(&f->tmp);
  ctr__buf_clear(&f->held);
}
