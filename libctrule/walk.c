/*
 * walk.c - one pass over a record's raw bytes that both checks its JSON
 * grammar and reads the top-level keys the prefilter needs; and, for a
 * record some rule may match, where each top-level member lies, so that the
 * rules' reads parse only the members they need (event.c).
 *
 * The framer cuts a record with it when the record lies in one chunk, and the
 * prefilter decides from what it read, so a record that no rule can match is
 * crossed once and never parsed. The walk vouches for a record only when it
 * is sure jansson would accept it; whatever it does not model exactly is left
 * to jansson (NULL is returned and the caller takes the slow path):
 *   - a \u escape that is not one jansson decodes (a lone or unpaired
 *     surrogate, bad hex) or that spells U+0000 (which jansson refuses in a
 *     key); the others are crossed, and the record marked (facts->unicode):
 *     any character may be spelt so, which the literal prefilter must know;
 *   - numbers with more than 18 integer digits or an exponent over 280
 *     (jansson rejects integers and reals that overflow);
 *   - non-ASCII bytes that are not well-formed UTF-8, control characters in
 *     strings, nesting deeper than CTR__WALK_MAX_DEPTH;
 *   - a top-level key holding an escape (it may decode to one we read) or a
 *     read key that appears twice (jansson keeps the last one).
 * Keys nested below the top level and literals inside strings are never
 * read as keys.
 */
#include "internal.h"

#include <stddef.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define CTR__WALK_MAX_DEPTH 256

/* How far ahead of the block being classified its line is asked for. A scan
 * streams records from memory once, and the walk, about 0.4 ns a byte, does
 * not read fast enough for the hardware prefetcher alone to hide the memory's
 * latency: asking 2 KiB ahead made a scan of the real records 18% faster
 * (1,024-4,096 bytes all gained; docs/performance.md). Past the input's end
 * the hint is harmless: a prefetch never faults. */
#define WALK_PREFETCH_AHEAD 2048

/* Bytes that end a run of plain string content: '"', '\\', control
 * characters (invalid in a JSON string) and non-ASCII (UTF-8 to check). */
static const unsigned char k_string_stop[256] = {
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
  0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 '"' */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50 '\\' */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x80 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

typedef const unsigned char *bytes;

/* The bytes a backslash may precede in a string the walk vouches for (JSON's
 * escapes but \u): a table, not memchr, since JSON inside JSON strings (IAM
 * policies, request bodies) escapes a quote every few bytes. */
/* The escapes other than \u, by the byte after the backslash: their
 * CTR__ESC_ bit (0: not one). */
static const unsigned char k_simple_escape[256] = {
  ['"'] = CTR__ESC_QUOTE, ['\\'] = CTR__ESC_BACKSLASH, ['/'] = CTR__ESC_SLASH, ['b'] = CTR__ESC_B,
  ['f'] = CTR__ESC_F,     ['n'] = CTR__ESC_N,          ['r'] = CTR__ESC_R,     ['t'] = CTR__ESC_T,
};

static inline bytes skip_ws(bytes p, bytes end)
{
  if (p < end && *p > ' ') /* compact JSON: the usual case */
    return p;
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  return p;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), 0 if it is not one. */
static size_t utf8_sequence(bytes p, bytes end)
{
  unsigned c = p[0];
  size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (!n || (size_t)(end - p) < n)
    return 0;
  uint32_t cp = c & (0xFFu >> (n + 1));
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3Fu);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return n;
}

/* How many bytes the wide walk indexes at a time (stop_index_fill). A fill
 * costs more than its bytes: the walk waits for it where the index ran out,
 * mid-string. 1,024 (two fills for most CloudTrail records, 1-2 KB) scanned
 * the real records 5% faster than 512 (three) on the stop-22 machine;
 * 1,280, 1,536 and 2,048 were slower on one corpus or both (more of the
 * next record indexed, and indexed again for it). Keeping the index from
 * one record to the next, so that no byte is indexed twice, was slower
 * still: every record then met a fill at an odd place (docs/performance.md,
 * stop 22). */
#define STOP_BATCH 1024

/* Where the bytes that stop a run of plain string content are, 64 bytes at a
 * time: one block serves every short string in it, so crossing a string
 * costs a shift and a count of trailing zeros rather than a vector load.
 * Bit i of mask is set when base[i] stops a run; only the first len bytes
 * from base are covered. The wide walk uses an index instead (ix_*). */
typedef struct stop_block {
  bytes base;
  size_t len;
  uint64_t mask;
  bool unicode; /* a \u escape was crossed: any character may be spelt so */
  /* The wide walk's index of stops: pos[0..) are the offsets from ix_base
   * of every stop in ix_base[0..ix_len), in order, then ix_len. */
  bytes ix_base;
  int ix_len;
  unsigned ix_i; /* the first stop not yet passed */
  uint16_t *pos; /* STOP_BATCH + 64 entries, the walk's own (kept out of this
                  * struct so that its other fields may live in registers) */
} stop_block;

#ifdef __SSE2__
static inline uint64_t stop_mask16(bytes p)
{
  /* As signed bytes, control characters and non-ASCII are exactly those
   * below 0x20. */
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i stop =
      _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), _mm_cmplt_epi8(v, space));
  return (uint64_t)(unsigned)_mm_movemask_epi8(stop);
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define CTR__WIDE_WALK 1
#include <immintrin.h>
/* The walk compiled a second time for processors with AVX-512BW and VBMI2
 * (and the BMI2 every one of them has): strings are crossed by an index of
 * the stops (next_stop_wide) instead of a mask per 64-byte block. On the
 * real records the block's mask cost a mispredicted branch wherever a
 * string crossed a block's end, and each string's end was found from the
 * last one through a chain of dependent shifts; the floor of a scan of the
 * real records is 23% less time (docs/performance.md, stop 20). */
#define WIDE_WALK_TARGET __attribute__((target("avx512bw,avx512vbmi2,bmi,bmi2,popcnt,lzcnt")))

/* Indexes the stops of at[0..min(STOP_BATCH, end - at)): a block's stop
 * mask, then its bytes' offsets compressed into pos (VBMI2), with no branch
 * that depends on the bytes. */
static WIDE_WALK_TARGET __attribute__((noinline)) int stop_index_fill(uint16_t *pos, bytes at, bytes end)
{
  const __m512i quote = _mm512_set1_epi8('"'), backslash = _mm512_set1_epi8('\\'), space = _mm512_set1_epi8(0x20);
  const __m512i step = _mm512_set1_epi16(64);
  __m512i lo = _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10,
                                9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  __m512i hi = _mm512_add_epi16(lo, _mm512_set1_epi16(32));
  size_t left = (size_t)(end - at);
  int len = left < STOP_BATCH ? (int)left : STOP_BATCH;
  unsigned n = 0;
  for (int off = 0; off < len; off += 64) {
    __mmask64 k = len - off >= 64 ? ~(__mmask64)0 : _bzhi_u64(~0ull, (unsigned)(len - off));
    __m512i v = _mm512_maskz_loadu_epi8(k, (const void *)(at + off));
    __builtin_prefetch(at + off + WALK_PREFETCH_AHEAD);
    uint64_t m = _mm512_mask_cmpeq_epi8_mask(k, v, quote) | _mm512_mask_cmpeq_epi8_mask(k, v, backslash) |
                 _mm512_mask_cmplt_epi8_mask(k, v, space);
    _mm512_storeu_si512((void *)(pos + n), _mm512_maskz_compress_epi16((__mmask32)m, lo));
    n += (unsigned)__builtin_popcount((uint32_t)m);
    _mm512_storeu_si512((void *)(pos + n), _mm512_maskz_compress_epi16((__mmask32)(m >> 32), hi));
    n += (unsigned)__builtin_popcount((uint32_t)(m >> 32));
    lo = _mm512_add_epi16(lo, step);
    hi = _mm512_add_epi16(hi, step);
  }
  pos[n] = (uint16_t)len;
  return len;
}

/* The first stop at or after p, or end, from the index: the next stop is
 * found by its number, not from where the last one was, so that crossing
 * strings is not one long chain of dependent loads and shifts, and no
 * branch depends on where a 64-byte block ends. */
static inline WIDE_WALK_TARGET bytes next_stop_wide(stop_block *b, bytes p, bytes end)
{
  for (;;) {
    ptrdiff_t d = p - b->ix_base;
    int off = d > b->ix_len ? b->ix_len : (int)d;
    unsigned i = b->ix_i;
    while ((int)b->pos[i] < off)
      i++;
    int at = b->pos[i];
    if (__builtin_expect(at < b->ix_len, 1)) {
      b->ix_i = i + 1; /* passed: every caller moves on past the stop it is given */
      return b->ix_base + at;
    }
    b->ix_i = i;
    bytes next = b->ix_base + b->ix_len;
    if (next >= end)
      return end;
    b->ix_base = next > p ? next : p;
    b->ix_len = stop_index_fill(b->pos, b->ix_base, end);
    b->ix_i = 0;
  }
}
#endif

/* The first byte at or after p that stops a run of string content, or end. */
static inline __attribute__((always_inline)) bytes next_stop(stop_block *b, bytes p, bytes end, bool wide)
{
#ifdef CTR__WIDE_WALK
  if (wide)
    return next_stop_wide(b, p, end);
#endif
  for (;;) {
    size_t off = (size_t)(p - b->base);
    if (off < b->len) {
      uint64_t m = b->mask >> off;
      if (m)
        return p + __builtin_ctzll(m);
      p = b->base + b->len;
    }
#ifdef __SSE2__
    if (end - p >= 64) {
      b->base = p;
      b->len = 64;
      __builtin_prefetch(p + WALK_PREFETCH_AHEAD);
      b->mask = stop_mask16(p) | stop_mask16(p + 16) << 16 | stop_mask16(p + 32) << 32 | stop_mask16(p + 48) << 48;
      continue;
    }
#endif
    while (p < end && !k_string_stop[*p])
      p++;
    return p;
  }
}

/* The value of the four hex digits at p (jansson reads either case), -1 if
 * they are not. */
static inline int hex4(bytes p)
{
  int v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i], d = c - '0' < 10 ? c - '0' : (c | 0x20) - 'a' < 6 ? (c | 0x20) - 'a' + 10 : 16;
    if (d > 15)
      return -1;
    v = v << 4 | (int)d;
  }
  return v;
}

/* The length of the \u escape at p (6, or 12 for a surrogate pair) when
 * jansson decodes it, 0 otherwise: a high surrogate must be followed at
 * once by a low one, a low one never comes alone. U+0000 is left to jansson
 * too (it refuses it in a key). */
static size_t unicode_escape(bytes p, bytes end)
{
  int v = end - p >= 6 ? hex4(p + 2) : -1;
  if (v <= 0 || (v >= 0xDC00 && v <= 0xDFFF))
    return 0;
  if (v < 0xD800 || v > 0xDBFF)
    return 6;
  int w = end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8) : -1;
  return w >= 0xDC00 && w <= 0xDFFF ? 12 : 0;
}

/* A string starting at the quote *p: returns the byte after its closing
 * quote, NULL if the walk cannot vouch for it (jansson decides). *escaped is
 * set when it holds any backslash escape, b->unicode when a \u one. */
static inline __attribute__((always_inline)) bytes skip_string(stop_block *b, bytes p, bytes end, bool *escaped,
                                                               bool wide)
{
  p++;
  for (;;) {
    p = next_stop(b, p, end, wide);
    if (p >= end)
      return NULL;
    if (*p == '"')
      return p + 1;
    if (*p == '\\') {
      if (end - p < 2)
        return NULL;
      *escaped = true;
      if (k_simple_escape[p[1]]) {
        p += 2;
        continue;
      }
      size_t n = p[1] == 'u' ? unicode_escape(p, end) : 0;
      if (!n)
        return NULL;
      b->unicode = true;
      p += n;
      continue;
    }
    if (*p < 0x20)
      return NULL;
    size_t n = utf8_sequence(p, end);
    if (!n)
      return NULL;
    p += n;
  }
}

/* A JSON number jansson certainly accepts: at most 18 integer digits, so an
 * integer does not overflow a json_int_t, and an exponent of at most 280, so
 * a real stays below 10^299 and does not overflow a double (the one error
 * jansson reports for a real). Real records hold such numbers (CloudWatch's
 * `1.5e-07`); anything beyond is left to jansson. */
static bytes skip_number(bytes p, bytes end)
{
  if (*p == '-')
    p++;
  if (p >= end)
    return NULL;
  if (*p == '0') {
    p++;
  } else if (*p >= '1' && *p <= '9') {
    bytes first = p;
    while (p < end && *p >= '0' && *p <= '9')
      p++;
    if (p - first > 18)
      return NULL;
  } else {
    return NULL;
  }
  if (p < end && *p == '.') {
    bytes first = ++p;
    while (p < end && *p >= '0' && *p <= '9')
      p++;
    if (p == first)
      return NULL;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    bytes first = p;
    unsigned exp = 0;
    while (p < end && *p >= '0' && *p <= '9' && exp <= 280)
      exp = exp * 10 + (unsigned)(*p++ - '0');
    if (p == first || exp > 280)
      return NULL;
  }
  if (p < end && *p >= '0' && *p <= '9')
    return NULL;
  return p;
}

#define KEY_IS(s, lit) ctr__same_key((const char *)(s), lit, sizeof lit - 1)

static inline unsigned shape_key(const void *s, size_t len)
{
  switch (len) {
  case 6:
    return KEY_IS(s, "detail") ? CTR__SHAPE_DETAIL : 0;
  case 7:
    return KEY_IS(s, "Records") ? CTR__SHAPE_RECORDS : 0;
  case 8:
    return KEY_IS(s, "logFiles") ? CTR__SHAPE_LOG_FILES : 0;
  case 9:
    return KEY_IS(s, "logEvents") ? CTR__SHAPE_LOG_EVENTS : 0;
  case 11:
    return KEY_IS(s, "detail-type") ? CTR__SHAPE_DETAIL_TYPE : KEY_IS(s, "messageType") ? CTR__SHAPE_MESSAGE_TYPE : 0;
  case 15:
    return KEY_IS(s, "digestStartTime") ? CTR__SHAPE_DIGEST_START : 0;
  default:
    return 0;
  }
}

unsigned ctr__shape_key(const char *s, size_t len) { return shape_key(s, len); }

/* The top-level keys a walk reads, placed by (s[0] + s[6] + len) % 32, which
 * tells the nine apart: one table load and one comparison per key instead
 * of a switch the branch predictor cannot learn (key lengths vary record to
 * record). Every key read has 9 to 15 bytes. */
static const struct top_slot {
  const char *lit;
  unsigned char len;
  signed char id;
} k_top_slots[32] = {
  [15] = {"eventName", 9, CTR__TOP_EVENT_NAME},       [29] = {"errorCode", 9, CTR__TOP_ERROR_CODE},
  [31] = {"eventSource", 11, CTR__TOP_EVENT_SOURCE},  [7] = {"eventType", 9, CTR__TOP_EVENT_TYPE},
  [22] = {"eventVersion", 12, CTR__TOP_EVENT_VERSION}, [23] = {"eventTime", 9, CTR__TOP_EVENT_TIME},
  [19] = {"awsRegion", 9, CTR__TOP_AWS_REGION},       [6] = {"userIdentity", 12, CTR__TOP_USER_IDENTITY},
  [11] = {"sourceIPAddress", 15, CTR__TOP_SOURCE_IP},
};

/* The CTR__TOP_ index of a top-level key, -1 for a key the walk ignores. */
static inline int top_key(bytes s, size_t len)
{
  if (len - 9 > 6)
    return -1;
  const struct top_slot *t = &k_top_slots[(s[0] + s[6] + len) & 31];
  return t->len == len && ctr__same_key((const char *)s, t->lit, len) ? t->id : -1;
}

/* Moves p to the next byte that is not JSON whitespace; the walk gives up
 * (NULL) when there is none. Compact JSON has no whitespace between tokens,
 * so the loop is the rare path. */
#define NEXT_TOKEN(p)                                                                                             \
  do {                                                                                                            \
    if ((p) >= end)                                                                                               \
      return NULL;                                                                                                \
    if (*(p) <= ' ') {                                                                                            \
      (p) = skip_ws((p), end);                                                                                    \
      if ((p) >= end)                                                                                             \
        return NULL;                                                                                              \
    }                                                                                                             \
  } while (0)

/* A scalar value at p (true, false, null or a number): the byte after it, or
 * NULL. */
static inline bytes skip_scalar(bytes p, bytes end)
{
  if (*p == 't' || *p == 'n') {
    if (end - p < 4 || !(*p == 't' ? KEY_IS(p, "true") : KEY_IS(p, "null")))
      return NULL;
    return p + 4;
  }
  if (*p == 'f') {
    if (end - p < 5 || !KEY_IS(p, "false"))
      return NULL;
    return p + 5;
  }
  if (*p != '-' && (*p < '0' || *p > '9'))
    return NULL;
  return skip_number(p, end);
}

/* The two bytes at p as one number, to test a pair such as `,"` with one
 * comparison. */
static inline unsigned two_bytes(bytes p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }
#define TWO_BYTES(a, b) ((unsigned)(unsigned char)(a) | (unsigned)(unsigned char)(b) << 8)

/* What a walk carries from one nested value to the next. */
typedef struct walk_state {
  stop_block blk;
  size_t deepest; /* deepest nesting seen; the record object is 1 */
  bool any_escape;
} walk_state;

/* The container opening at p ('{' or '['), a value of the record's depth-1
 * key: checked without reading any key, so nothing here asks "is this the
 * top level?" for every token. Returns the byte after its end, or NULL. */
static inline __attribute__((always_inline)) bytes skip_nested(walk_state *w, bytes p, bytes end, bool wide)
{
  unsigned char stack[CTR__WALK_MAX_DEPTH - 1]; /* '}' or ']': what closes each open container */
  size_t depth = 0; /* below the record object */
  goto open;

value:
  NEXT_TOKEN(p);
  if (*p == '"') {
  value_string:;
    bool escaped = false;
    if (!(p = skip_string(&w->blk, p, end, &escaped, wide)))
      return NULL;
    w->any_escape |= escaped;
    goto after_value;
  }
  if (*p == '{' || *p == '[') {
  open:;
    if (depth == CTR__WALK_MAX_DEPTH - 1)
      return NULL;
    unsigned char close = *p == '{' ? '}' : ']';
    stack[depth++] = close;
    if (depth + 1 > w->deepest)
      w->deepest = depth + 1;
    p++;
    if (close == '}' && p < end && *p == '"')
      goto key_string; /* `{"`: the first key */
    NEXT_TOKEN(p);
    if (*p == close) {
      p++;
      depth--;
      goto after_value;
    }
    if (close == '}')
      goto key;
    goto value;
  }
  if (!(p = skip_scalar(p, end)))
    return NULL;
  goto after_value;

after_value:
  if (depth == 0)
    return p;
  /* `,"` inside an object: the next key, without the general dispatch. */
  if (end - p >= 2 && two_bytes(p) == TWO_BYTES(',', '"') && stack[depth - 1] == '}') {
    p++;
    goto key_string;
  }
  NEXT_TOKEN(p);
  if (*p == ',') {
    p++;
    if (stack[depth - 1] == '}')
      goto key;
    goto value;
  }
  if (*p != stack[depth - 1])
    return NULL;
  p++;
  depth--;
  goto after_value;

key:
  NEXT_TOKEN(p);
  if (*p != '"')
    return NULL;
key_string: {
  bool escaped = false;
  if (!(p = skip_string(&w->blk, p, end, &escaped, wide)))
    return NULL;
  w->any_escape |= escaped;
}
  /* `:"`: a string value, without the general dispatch. */
  if (end - p >= 2 && two_bytes(p) == TWO_BYTES(':', '"')) {
    p++;
    goto value_string;
  }
  NEXT_TOKEN(p);
  if (*p != ':')
    return NULL;
  p++;
  goto value;
}

/* skip_nested for each version of the walk: out of line (a record's
 * nested values are crossed in one call each), its string crossing inlined. */
static bytes skip_nested_narrow(walk_state *w, bytes p, bytes end) { return skip_nested(w, p, end, false); }

#ifdef CTR__WIDE_WALK
static WIDE_WALK_TARGET bytes skip_nested_wide(walk_state *w, bytes p, bytes end)
{
  return skip_nested(w, p, end, true);
}
#else
#define skip_nested_wide skip_nested_narrow
#endif

static inline __attribute__((always_inline)) const char *walk_object(const char *from, const char *to,
                                                                      bool bail_on_shape_keys,
                                                                      ctr__record_facts *facts, bool wide,
                                                                      uint16_t *stop_pos)
{
  bytes p = (bytes)from, end = (bytes)to;
  walk_state w;
  w.blk.pos = stop_pos;
  w.blk.base = p;
  w.blk.len = 0;
  w.blk.mask = 0;
  w.blk.unicode = false;
  w.blk.ix_base = p;
  w.blk.ix_len = 0;
  w.blk.ix_i = 0;
  if (wide)
    stop_pos[0] = 0;
  w.deepest = 1;
  w.any_escape = false;
  ctr__topval *top = facts->top;
  unsigned nmembers = 0;

  memset(facts, 0, offsetof(ctr__record_facts, value));
  if (p >= end || *p != '{')
    return NULL;
  p++;
  NEXT_TOKEN(p);
  if (*p == '}')
    goto done;
  /* The record's own keys: each is read, then its value is checked. */
  for (;;) {
    if (*p != '"')
      return NULL;
    bool escaped = false;
    bytes key = p + 1, close = skip_string(&w.blk, p, end, &escaped, wide);
    if (!close || escaped)
      return NULL; /* an escaped key may decode to one we read */
    size_t len = (size_t)(close - 1 - key);
    int cur = top_key(key, len);
    if (cur >= 0 && top[cur].kind)
      return NULL; /* a duplicate: let jansson pick the value */
    if (bail_on_shape_keys && cur < 0 && shape_key(key, len))
      return NULL;
    p = close;
    NEXT_TOKEN(p);
    if (*p != ':')
      return NULL;
    p++;
    NEXT_TOKEN(p);
    if (nmembers < CTR__MAX_MEMBERS)
      facts->value[nmembers] = (const char *)p;
    nmembers++;
    if (*p == '"') {
      bool value_escaped = false;
      bytes vclose = skip_string(&w.blk, p, end, &value_escaped, wide);
      if (!vclose)
        return NULL;
      w.any_escape |= value_escaped;
      if (cur >= 0)
        top[cur] = (ctr__topval){(const char *)p + 1, (size_t)(vclose - 1 - (p + 1)), '"', value_escaped};
      p = vclose;
    } else {
      bytes value = p;
      if (*p == '{' || *p == '[')
        p = wide ? skip_nested_wide(&w, p, end) : skip_nested_narrow(&w, p, end);
      else
        p = skip_scalar(p, end);
      if (!p)
        return NULL;
      if (cur >= 0)
        top[cur] = (ctr__topval){(const char *)value, (size_t)(p - value), *value == '{' ? '{' : 'x', false};
    }
    NEXT_TOKEN(p);
    if (*p == '}')
      break;
    if (*p != ',')
      return NULL;
    p++;
    NEXT_TOKEN(p);
  }
done:
  facts->nmembers = nmembers;
  facts->depth = (unsigned)w.deepest;
  facts->escaped = w.any_escape;
  facts->unicode = w.blk.unicode;
  return (const char *)p + 1;
}

static const char *walk_object_narrow(const char *from, const char *to, bool bail_on_shape_keys,
                                      ctr__record_facts *facts)
{
  return walk_object(from, to, bail_on_shape_keys, facts, false, NULL);
}

#ifdef CTR__WIDE_WALK
static WIDE_WALK_TARGET const char *walk_object_wide(const char *from, const char *to, bool bail_on_shape_keys,
                                                     ctr__record_facts *facts)
{
  uint16_t stop_pos[STOP_BATCH + 64]; /* the index of stops: the wide walk's alone */
  return walk_object(from, to, bail_on_shape_keys, facts, true, stop_pos);
}
#endif

bool ctr__walk_wide_runs(void)
{
#ifdef CTR__WIDE_WALK
  /* __builtin_cpu_supports reads what libgcc found at start (AVX-512 only
   * where the operating system saves its registers). */
  return ctr__walk_wide_blocks && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi2") &&
         __builtin_cpu_supports("bmi2");
#else
  return false;
#endif
}

/* By the widest version the processor runs (ctr__walk_wide_runs). */
const char *ctr__walk_object(const char *from, const char *to, bool bail_on_shape_keys, ctr__record_facts *facts)
{
#ifdef CTR__WIDE_WALK
  if (ctr__walk_wide_runs())
    return walk_object_wide(from, to, bail_on_shape_keys, facts);
#endif
  return walk_object_narrow(from, to, bail_on_shape_keys, facts);
}

unsigned char ctr__escape_kinds(const char *data, size_t len)
{
  unsigned char kinds = 0;
  const char *end = data + len;
  for (const char *p = data; (p = memchr(p, '\\', (size_t)(end - p))) && end - p >= 2; p += 2)
    kinds |= k_simple_escape[(unsigned char)p[1]];
  return kinds;
}

bool ctr__walk_record(const char *data, size_t len, ctr__record_facts *facts)
{
  bytes end = (bytes)data + len, p = skip_ws((bytes)data, end);
  const char *after = ctr__walk_object((const char *)p, (const char *)end, false, facts);
  return after && skip_ws((bytes)after, end) == end;
}

/* ------------------------------------------------------------ members */

/* The end of the array or object opening at p, in a record already walked
 * (so valid JSON: no grammar is checked here): brackets counted outside
 * strings, 64 bytes at a time. Reading a member below the top level (a
 * RunInstances response, a session context) crosses every container before
 * it, and containers are dense in short strings and brackets, where a byte
 * loop pays a dispatch for each. */
typedef struct bracket_masks {
  uint64_t quote, backslash, open, close; /* bit i: the byte at i */
} bracket_masks;

#ifdef __SSE2__
static inline uint64_t movemask_eq(__m128i v, __m128i c) { return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, c)); }
#endif

static inline bracket_masks classify_brackets(bytes p)
{
  bracket_masks m = {0, 0, 0, 0};
#ifdef __SSE2__
  /* '[' and '{' differ by 0x20 only, and so do ']' and '}': or-ing 0x20
   * in makes each pair one byte, which no other byte becomes. */
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), open = _mm_set1_epi8('{'),
                close = _mm_set1_epi8('}'), fold = _mm_set1_epi8(0x20);
  for (unsigned i = 0; i < 64; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i)), f = _mm_or_si128(v, fold);
    m.quote |= movemask_eq(v, quote) << i;
    m.backslash |= movemask_eq(v, backslash) << i;
    m.open |= movemask_eq(f, open) << i;
    m.close |= movemask_eq(f, close) << i;
  }
#else
  for (unsigned i = 0; i < 64; i++) {
    uint64_t bit = 1ull << i;
    m.quote |= p[i] == '"' ? bit : 0;
    m.backslash |= p[i] == '\\' ? bit : 0;
    m.open |= p[i] == '{' || p[i] == '[' ? bit : 0;
    m.close |= p[i] == '}' || p[i] == ']' ? bit : 0;
  }
#endif
  return m;
}

/* Bit i set when an odd number of set bits lie at or below i: the bytes from
 * a string's opening quote up to (not including) its closing one. */
static inline uint64_t prefix_xor(uint64_t x)
{
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

/* Where the strings of a walked value end, 64 bytes at a time: only its
 * quotes and backslashes are looked for (the walk that vouched for the
 * record checked the rest: control characters, UTF-8, escapes), so crossing
 * a string costs a shift and a count of trailing zeros, its last bytes
 * included (the block is padded there, not read a byte at a time). */
typedef struct quote_block {
  bytes base;                /* the block: base[0..64) (bytes past end read as NUL) */
  bytes end;                 /* the value's end: nothing at or past it is read */
  uint64_t quote, backslash; /* bit i: base[i] */
} quote_block;

static void quote_load(quote_block *b, bytes p)
{
  unsigned char tail[64];
  bytes at = p;
  if (b->end - p < 64) {
    memset(tail, 0, sizeof tail);
    memcpy(tail, p, (size_t)(b->end - p));
    at = tail;
  }
  uint64_t q = 0, s = 0;
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  for (unsigned i = 0; i < 64; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(at + i));
    q |= movemask_eq(v, quote) << i;
    s |= movemask_eq(v, backslash) << i;
  }
#else
  for (unsigned i = 0; i < 64; i++) {
    q |= (uint64_t)(at[i] == '"') << i;
    s |= (uint64_t)(at[i] == '\\') << i;
  }
#endif
  b->base = p;
  b->quote = q;
  b->backslash = s;
}

/* A block for the value p[0..end) (p < end), its first block loaded. */
static void quote_init(quote_block *b, bytes p, bytes end)
{
  b->end = end;
  quote_load(b, p);
}

/* The byte after the string whose opening quote is at p (a string of a
 * walked value), NULL when it does not end before end; *escaped is set when
 * it holds a backslash. */
static inline bytes member_string(quote_block *b, bytes p, bool *escaped)
{
  p++;
  for (;;) {
    size_t off = (size_t)(p - b->base);
    if (off >= 64) { /* past the block (or before it: the block is loaded at p) */
      if (p >= b->end)
        return NULL;
      quote_load(b, p);
      off = 0;
    }
    uint64_t q = b->quote >> off, stop = q | b->backslash >> off;
    if (!stop) {
      p = b->base + 64;
      continue;
    }
    unsigned i = (unsigned)__builtin_ctzll(stop);
    if (q >> i & 1)
      return p + i + 1;
    *escaped = true; /* a backslash: the byte after it is escaped */
    p += i + 2;
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define CTR__WIDE_BLOCKS 1
#include <immintrin.h>
/* classify_brackets with AVX2: two 32-byte loads for each of the four
 * masks instead of four 16-byte ones (only where cross_container_wide runs:
 * the processor has AVX2 and POPCNT). */
static inline __attribute__((target("avx2,popcnt"))) bracket_masks classify_brackets_wide(bytes p)
{
  const __m256i quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\'), open = _mm256_set1_epi8('{'),
                close = _mm256_set1_epi8('}'), fold = _mm256_set1_epi8(0x20);
  bracket_masks m = {0, 0, 0, 0};
  for (unsigned i = 0; i < 64; i += 32) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i)), f = _mm256_or_si256(v, fold);
    m.quote |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, quote)) << i;
    m.backslash |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, backslash)) << i;
    m.open |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(f, open)) << i;
    m.close |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(f, close)) << i;
  }
  return m;
}
#endif

/* The byte after the container whose opening bracket is at p, NULL when it
 * does not end before end. `wide`: classify_brackets_wide, and a block in
 * which fewer brackets close than are open crossed by two counts instead of
 * bracket by bracket (without POPCNT each count is a libgcc call: only the
 * wide version does it). */
static inline __attribute__((always_inline)) bytes cross_container(bytes p, bytes end, bool wide)
{
  size_t depth = 0;
  uint64_t in_string = 0;     /* all ones when the block starts inside a string */
  uint64_t next_escaped = 0;  /* 1 when the block's first byte is escaped */
  unsigned char tail[64];
  for (; p < end; p += 64) {
    bytes at = p;
    if (end - p < 64) { /* never read past end: the last bytes padded with spaces */
      memset(tail, ' ', sizeof tail);
      memcpy(tail, p, (size_t)(end - p));
      at = tail;
    }
    bracket_masks m;
#ifdef CTR__WIDE_BLOCKS
    m = wide ? classify_brackets_wide(at) : classify_brackets(at);
#else
    m = classify_brackets(at);
#endif
    /* Escaped bytes: each backslash not itself escaped escapes the next. */
    uint64_t escaped = next_escaped;
    next_escaped = 0;
    for (uint64_t b = m.backslash & ~escaped; b; b &= b - 1) {
      unsigned i = (unsigned)__builtin_ctzll(b);
      if (escaped >> i & 1)
        continue;
      if (i == 63)
        next_escaped = 1;
      else
        escaped |= 2ull << i;
    }
    uint64_t inside = prefix_xor(m.quote & ~escaped) ^ in_string;
    in_string = (uint64_t)((int64_t)inside >> 63);
    uint64_t opens = m.open & ~inside, closes = m.close & ~inside;
    if (wide) {
      size_t nclose = (size_t)__builtin_popcountll(closes);
      if (nclose < depth) { /* the depth cannot reach 0 in this block */
        depth = depth + (size_t)__builtin_popcountll(opens) - nclose;
        continue;
      }
    }
    for (uint64_t s = opens | closes; s; s &= s - 1) {
      unsigned i = (unsigned)__builtin_ctzll(s);
      if (opens >> i & 1)
        depth++;
      else if (--depth == 0)
        return p + i + 1;
    }
  }
  return NULL;
}

static bytes skip_container_narrow(bytes p, bytes end) { return cross_container(p, end, false); }

#ifdef CTR__WIDE_BLOCKS
static __attribute__((target("avx2,popcnt"))) bytes skip_container_wide(bytes p, bytes end)
{
  return cross_container(p, end, true);
}
#endif

bool ctr__walk_wide_blocks = true;

/* Containers crossed by the widest version the processor runs
 * (__builtin_cpu_supports: a load of what libgcc found at start). Records
 * crossed whole by ctr__walk_members: 0.078-0.082 s -> 0.069-0.076 s over
 * 200,000 real records (docs/performance.md, stop 19). */
static bytes skip_container(bytes p, bytes end)
{
#ifdef CTR__WIDE_BLOCKS
  if (ctr__walk_wide_blocks && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt"))
    return skip_container_wide(p, end);
#endif
  return skip_container_narrow(p, end);
}

const char *ctr__skip_container(const char *p, const char *end)
{
  return (const char *)skip_container((bytes)p, (bytes)end);
}

/* Kept apart from ctr__walk_object's loops (it is not the framer's hot path,
 * and sharing their helpers changes how the compiler inlines them there). */
size_t ctr__walk_members(const char *data, size_t len, ctr__member *members, size_t cap)
{
  bytes p = (bytes)data, end = p + len;
  quote_block blk;
  size_t n = 0;
  p = skip_ws(p, end);
  if (p >= end || *p != '{')
    return SIZE_MAX;
  quote_init(&blk, p, end);
  p = skip_ws(p + 1, end);
  if (p < end && *p == '}')
    return 0;
  for (;;) {
    bool escaped = false;
    if (p >= end || *p != '"')
      return SIZE_MAX;
    bytes key = p + 1, close = member_string(&blk, p, &escaped);
    if (!close || escaped)
      return SIZE_MAX;
    p = skip_ws(close, end);
    if (p >= end || *p != ':')
      return SIZE_MAX;
    p = skip_ws(p + 1, end);
    if (p >= end)
      return SIZE_MAX;
    bytes value = p;
    bool plain = false;
    if (*p == '"') {
      p = member_string(&blk, p, &escaped);
      plain = !escaped;
    } else if (*p == '{' || *p == '[') {
      p = skip_container(p, end);
    } else {
      while (p < end && *p != ',' && *p != '}' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
        p++;
    }
    if (!p)
      return SIZE_MAX;
    if (n < cap)
      members[n] = (ctr__member){(const char *)key, (const char *)value, (size_t)(close - 1 - key),
                                 (size_t)(p - value), plain};
    n++;
    p = skip_ws(p, end);
    if (p < end && *p == '}')
      return n;
    if (p >= end || *p != ',')
      return SIZE_MAX;
    p = skip_ws(p + 1, end);
  }
}

/* p moved back over the JSON whitespace before it, not before from. */
static bytes back_over_ws(bytes from, bytes p)
{
  while (p > from && (p[-1] == ' ' || p[-1] == '\n' || p[-1] == '\r' || p[-1] == '\t'))
    p--;
  return p;
}

/* The closing quote of the top-level key whose value starts at v: back
 * over `:` and the whitespace around it. */
static inline bytes key_close(bytes start, bytes v) { return back_over_ws(start, back_over_ws(start, v) - 1) - 1; }

bool ctr__facts_member(const char *data, size_t len, const ctr__record_facts *facts, const char *key, size_t n,
                       ctr__member *out)
{
  size_t count = facts->nmembers;
  if (count > CTR__MAX_MEMBERS || memchr(key, '"', n))
    return false; /* where the values lie is not kept; or no such key (a top-level key holds no quote) */
  bytes start = (bytes)data;
  /* From the last member back (jansson keeps the last of a repeated key):
   * the key is `key` when the n bytes before its closing quote are, with a
   * quote before them, so no other key is looked at more closely. */
  for (size_t i = count; i-- > 0;) {
    bytes v = (bytes)facts->value[i], kclose = key_close(start, v);
    if ((size_t)(kclose - start) < n + 1 || kclose[-(ptrdiff_t)n - 1] != '"' ||
        !ctr__same_key((const char *)kclose - n, key, n))
      continue;
    /* The value ends where the next member's key starts (the quote before
     * its closing one: a top-level key the walk vouched for holds no
     * escape), less the comma between them; the last one before the
     * record's closing brace. */
    bytes next_close = i + 1 < count ? key_close(start, (bytes)facts->value[i + 1]) : NULL;
    bytes next_key = next_close ? memrchr(start, '"', (size_t)(next_close - start)) : start + len;
    if (!next_key)
      return false; /* not a record the walk vouched for */
    bytes value_end = back_over_ws(start, back_over_ws(start, next_key) - 1);
    size_t vlen = (size_t)(value_end - v);
    bool plain = *v == '"' && (!facts->escaped || !memchr(v, '\\', vlen));
    *out = (ctr__member){(const char *)kclose - n, (const char *)v, n, vlen, plain};
    return true;
  }
  return false;
}

/* The value at p: the byte after it, NULL if it does not end before end.
 * *plain: a string without escapes. */
static bytes skip_value(quote_block *b, bytes p, bytes end, bool *plain)
{
  *plain = false;
  if (*p == '"') {
    bool escaped = false;
    bytes after = member_string(b, p, &escaped);
    *plain = !escaped;
    return after;
  }
  if (*p == '{' || *p == '[')
    return skip_container(p, end);
  while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
    p++;
  return p;
}

/* The value at p, walked once: the byte after it, and in *res what the path
 * steps[0..n) reaches below it. Each object and array on the path is crossed
 * once, the member or element the path names walked down on the way, so a
 * path into a large responseElements costs one pass over it, not one per
 * level. NULL: give up (an escaped key on the way: it may decode to the one
 * asked for; or bytes that are not what a walked record holds). */
static bytes path_down(quote_block *b, bytes p, bytes end, const ctr__pathstep *steps, size_t n, ctr__bspan *res,
                       ctr__step *st)
{
  bool plain;
  if (n == 0) {
    bytes after = skip_value(b, p, end, &plain);
    if (after) {
      *res = (ctr__bspan){(const char *)p, (size_t)(after - p), plain};
      *st = CTR__STEP_FOUND;
    }
    return after;
  }
  *st = CTR__STEP_ABSENT;
  if (*p != '{' && *p != '[')
    return skip_value(b, p, end, &plain);
  bool object = *p == '{';
  char close = object ? '}' : ']';
  p = skip_ws(p + 1, end);
  if (p < end && *p == (unsigned char)close)
    return p + 1;
  for (size_t i = 0;; i++) {
    bool hit = !object && i == steps[0].index;
    if (object) {
      bool escaped = false;
      bytes key = p + 1, after = p < end && *p == '"' ? member_string(b, p, &escaped) : NULL;
      if (!after || escaped)
        return NULL;
      size_t len = (size_t)(after - 1 - key);
      hit = len == steps[0].len && memcmp(key, steps[0].key, len) == 0;
      p = skip_ws(after, end);
      if (p >= end || *p != ':')
        return NULL;
      p = skip_ws(p + 1, end);
    }
    if (p >= end)
      return NULL;
    if (hit) { /* the last of a repeated key counts, as jansson keeps */
      p = path_down(b, p, end, steps + 1, n - 1, res, st);
    } else {
      p = skip_value(b, p, end, &plain);
    }
    if (!p)
      return NULL;
    p = skip_ws(p, end);
    if (p < end && *p == (unsigned char)close)
      return p + 1;
    if (p >= end || *p != ',')
      return NULL;
    p = skip_ws(p + 1, end);
  }
}

ctr__step ctr__walk_path(const char *v, size_t len, const ctr__pathstep *steps, size_t n, ctr__bspan *out)
{
  bytes p = (bytes)v, end = p + len;
  quote_block blk;
  ctr__step st = CTR__STEP_UNSURE;
  p = skip_ws(p, end);
  if (p >= end)
    return CTR__STEP_UNSURE;
  quote_init(&blk, p, end);
  if (!path_down(&blk, p, end, steps, n, out, &st))
    return CTR__STEP_UNSURE;
  return st;
}
