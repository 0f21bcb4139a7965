/*
 * walk.c - one pass over a record's raw bytes that both checks its JSON
 * grammar and reads the top-level keys the prefilter needs.
 *
 * The framer cuts a record with it when the record lies in one chunk, and the
 * prefilter decides from what it read, so a record that no rule can match is
 * crossed once and never parsed. The walk vouches for a record only when it
 * is sure jansson would accept it; whatever it does not model exactly is left
 * to jansson (NULL is returned and the caller takes the slow path):
 *   - \u escapes (jansson decodes them and checks surrogates and NUL);
 *   - numbers with an exponent or more than 18 integer digits (jansson
 *     rejects integers and reals that overflow);
 *   - non-ASCII bytes that are not well-formed UTF-8, control characters in
 *     strings, nesting deeper than CTR__WALK_MAX_DEPTH;
 *   - a top-level key holding an escape (it may decode to one we read) or a
 *     read key that appears twice (jansson keeps the last one).
 * Keys nested below the top level and literals inside strings are never
 * read as keys.
 */
#include "internal.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define CTR__WALK_MAX_DEPTH 256

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

static bytes skip_ws(bytes p, bytes end)
{
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

/* A string starting at the quote *p: returns the byte after its closing
 * quote, NULL if the pass cannot vouch for it (jansson decides). *escaped is
 * set when it holds any backslash escape. */
static inline __attribute__((always_inline)) bytes skip_string(bytes p, bytes end, bool *escaped)
{
  p++;
  for (;;) {
#ifdef __SSE2__
    /* 16 bytes at a time; as signed bytes, control characters and non-ASCII
     * are exactly those below 0x20. Never reads past `end`. */
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
      __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                  _mm_cmplt_epi8(v, space));
      unsigned mask = (unsigned)_mm_movemask_epi8(stop);
      if (mask) {
        p += __builtin_ctz(mask);
        goto stopped;
      }
      p += 16;
    }
#endif
    while (p < end && !k_string_stop[*p])
      p++;
    if (p >= end)
      return NULL;
#ifdef __SSE2__
  stopped:
#endif
    if (*p == '"')
      return p + 1;
    if (*p == '\\') {
      if (end - p < 2)
        return NULL;
      /* \uXXXX (surrogates, NUL) is left to jansson: it decodes and checks it. */
      if (!memchr("\"\\/bfnrt", p[1], 8) || p[1] == '\0')
        return NULL;
      *escaped = true;
      p += 2;
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

/* A JSON number jansson certainly accepts: no exponent and at most 18 integer
 * digits, so it neither overflows a json_int_t nor a double. */
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
  if (p < end && ((*p >= '0' && *p <= '9') || *p == 'e' || *p == 'E'))
    return NULL;
  return p;
}

/* A key and its length, for tables of the keys a walk looks for. */
typedef struct named_key {
  const char *s;
  size_t len;
} named_key;

static const named_key k_top_keys[CTR__TOP__COUNT] = {
  [CTR__TOP_EVENT_NAME] = {"eventName", 9},        [CTR__TOP_ERROR_CODE] = {"errorCode", 9},
  [CTR__TOP_EVENT_SOURCE] = {"eventSource", 11},   [CTR__TOP_EVENT_TYPE] = {"eventType", 9},
  [CTR__TOP_EVENT_VERSION] = {"eventVersion", 12}, [CTR__TOP_EVENT_TIME] = {"eventTime", 9},
  [CTR__TOP_AWS_REGION] = {"awsRegion", 9},        [CTR__TOP_USER_IDENTITY] = {"userIdentity", 12},
};

static const struct {
  named_key key;
  unsigned flag;
} k_shape_keys[] = {
  {{"Records", 7}, CTR__SHAPE_RECORDS},         {{"digestStartTime", 15}, CTR__SHAPE_DIGEST_START},
  {{"logFiles", 8}, CTR__SHAPE_LOG_FILES},      {{"detail-type", 11}, CTR__SHAPE_DETAIL_TYPE},
  {{"detail", 6}, CTR__SHAPE_DETAIL},           {{"logEvents", 9}, CTR__SHAPE_LOG_EVENTS},
  {{"messageType", 11}, CTR__SHAPE_MESSAGE_TYPE},
};

unsigned ctr__shape_key(const char *s, size_t len)
{
  for (size_t i = 0; i < CTR__COUNTOF(k_shape_keys); i++)
    if (k_shape_keys[i].key.len == len && memcmp(k_shape_keys[i].key.s, s, len) == 0)
      return k_shape_keys[i].flag;
  return 0;
}

/* The CTR__TOP_ index of a top-level key, -1 for a key the walk ignores. */
static int top_key(bytes s, size_t len)
{
  if (len < 9 || len > 12 || (s[0] != 'e' && s[0] != 'a' && s[0] != 'u'))
    return -1;
  for (int k = 0; k < CTR__TOP__COUNT; k++)
    if (k_top_keys[k].len == len && memcmp(k_top_keys[k].s, s, len) == 0)
      return k;
  return -1;
}

const char *ctr__walk_object(const char *from, const char *to, bool bail_on_shape_keys, ctr__record_facts *facts)
{
  bytes p = (bytes)from, end = (bytes)to;
  unsigned char stack[CTR__WALK_MAX_DEPTH]; /* '}' or ']': what closes each open container */
  size_t depth = 0;
  int cur = -1; /* the top-level key whose value comes next */
  ctr__topval *top = facts->top;

  memset(facts, 0, sizeof *facts);
  if (p >= end || *p != '{')
    return NULL;
  goto value;

value:
  p = skip_ws(p, end);
  if (p >= end)
    return NULL;
  if (depth == 1 && cur >= 0) {
    top[cur].kind = *p == '"' || *p == '{' ? (char)*p : 'x';
    if (*p == '"')
      top[cur].s = (const char *)p + 1;
  }
  switch (*p) {
  case '{':
  case '[':
    if (depth == CTR__WALK_MAX_DEPTH)
      return NULL;
    stack[depth++] = *p == '{' ? '}' : ']';
    if (depth > facts->depth)
      facts->depth = (unsigned)depth;
    p = skip_ws(p + 1, end);
    if (p < end && *p == stack[depth - 1]) {
      p++;
      depth--;
      goto after_value;
    }
    if (stack[depth - 1] == '}')
      goto key;
    goto value;
  case '"': {
    bool escaped = false;
    bytes close = skip_string(p, end, &escaped);
    if (!close)
      return NULL;
    if (depth == 1 && cur >= 0) {
      top[cur].len = (size_t)(close - 1 - (bytes)top[cur].s);
      top[cur].escaped = escaped;
    }
    facts->escaped |= escaped;
    p = close;
    goto after_value;
  }
  case 't':
  case 'n':
    if (end - p < 4 || memcmp(p, *p == 't' ? "true" : "null", 4) != 0)
      return NULL;
    p += 4;
    goto after_value;
  case 'f':
    if (end - p < 5 || memcmp(p, "false", 5) != 0)
      return NULL;
    p += 5;
    goto after_value;
  default:
    if (*p != '-' && (*p < '0' || *p > '9'))
      return NULL;
    if (!(p = skip_number(p, end)))
      return NULL;
    goto after_value;
  }

after_value:
  if (depth == 0)
    return (const char *)p;
  p = skip_ws(p, end);
  if (p >= end)
    return NULL;
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
  p = skip_ws(p, end);
  if (p >= end || *p != '"')
    return NULL;
  {
    bool escaped = false;
    bytes close = skip_string(p, end, &escaped);
    if (!close)
      return NULL;
    facts->escaped |= escaped;
    cur = -1;
    if (depth == 1) {
      if (escaped)
        return NULL; /* an escaped key may decode to one we read */
      size_t len = (size_t)(close - 1 - (p + 1));
      cur = top_key(p + 1, len);
      if (cur >= 0 && top[cur].kind)
        return NULL; /* a duplicate: let jansson pick the value */
      if (bail_on_shape_keys && ctr__shape_key((const char *)p + 1, len))
        return NULL;
    }
    p = skip_ws(close, end);
  }
  if (p >= end || *p != ':')
    return NULL;
  p++;
  goto value;
}
