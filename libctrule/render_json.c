/* render_json.c - an alert as Falco's json_output writes it (ctr_match_json):
 * one line, keys sorted at both levels, strings escaped as nlohmann's dump()
 * does (docs/alert-format.md). What the line needs beyond the public match
 * accessors comes from the JSON trailer render.c keeps (its top comment).
 *
 * Every binding and `ctrule scan --json` pay this per alert, so: runs of
 * bytes that need no escaping are found 16 bytes at a time (SSE2; 8 with
 * word arithmetic elsewhere) and copied whole,
 * room is made once per string rather than per byte, and what is the same
 * in every line of a rule (its output fields' keys in key order, its
 * priority, name and tags, escaped) is written when the rule is compiled
 * (ctr__json_rule_make), so that a line costs only its alert's own bytes. */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/* ------------------------------------------------------------ strings */

/* Where a line is written: a ctr__buf's memory, or the caller's
 * (ctr_match_json_to) until the line outgrows it; then memory of its own
 * holding what was written so far, so that the writer never stops short
 * and the line's length is known. room() always keeps a byte past what is
 * written: the NUL is put there once, when the line (or a ctr__json_str
 * string) is done, not after every piece. */
typedef struct jw {
  char *data;
  size_t len, cap;
  bool borrowed; /* data is the caller's: never reallocated nor freed here */
} jw;

/* Makes room in b for n more bytes and the NUL (room()'s slow path). */
static int jw_grow(jw *b, size_t n)
{
  ctr__buf own = {0};
  if (!b->borrowed)
    own = (ctr__buf){b->data, b->len, b->cap};
  if (ctr__buf_reserve(&own, b->borrowed ? b->len + n : n) != CTR_OK)
    return CTR_ENOMEM;
  if (b->borrowed && b->len)
    memcpy(own.data, b->data, b->len);
  b->data = own.data;
  b->cap = own.cap;
  b->borrowed = false;
  return CTR_OK;
}

/* Room in b for n more bytes and the NUL after them: where they go, NULL
 * when memory ran out. What is put there is counted by moving b->len. */
static inline char *room(jw *b, size_t n)
{
  if (b->cap - b->len <= n && jw_grow(b, n) != CTR_OK)
    return NULL;
  return b->data + b->len;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
  unsigned c = s[0], cp, min;
  size_t k;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    k = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    k = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    k = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (n < k)
    return 0;
  cp = c & (0x7fu >> k);
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : k;
}

static inline bool byte_plain(unsigned char c)
{
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* CTR_JSON_NO_SIMD: the word-at-a-time scan (tests/test_render_json.c
 * checks both). */
#if defined(__SSE2__) && !defined(CTR_JSON_NO_SIMD)
#include <emmintrin.h>

/* The bytes of v that end a run of bytes needing no escaping, as a mask: a
 * control byte, '"', '\\' or a byte >= 0x80 (UTF-8, checked apart); as
 * signed bytes, those >= 0x80 are below 0x20. */
static inline unsigned block_hits_of(__m128i v)
{
  const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                             _mm_cmplt_epi8(v, space));
  return (unsigned)_mm_movemask_epi8(hit);
}

static inline unsigned block_hits(const unsigned char *s)
{
  return block_hits_of(_mm_loadu_si128((const __m128i *)(const void *)s));
}

/* block_hits of the 8 bytes at s (the upper lanes, zero, masked off). */
static inline unsigned half_hits(const unsigned char *s)
{
  return block_hits_of(_mm_loadl_epi64((const __m128i *)(const void *)s)) & 0xffu;
}

/* How many of s[0..n) from the start need no escaping: 16 bytes at a
 * time. */
static size_t plain_run(const unsigned char *s, size_t n)
{
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    unsigned mask = block_hits(s + i);
    if (mask)
      return i + (size_t)__builtin_ctz(mask);
  }
  if (n >= 16) {
    if (i == n)
      return n;
    /* the rest: the last 16 bytes, those already seen masked off */
    unsigned mask = block_hits(s + n - 16) >> (i - (n - 16));
    return mask ? i + (size_t)__builtin_ctz(mask) : n;
  }
  if (n >= 8) { /* 8 to 15 bytes (most values and names): the first 8, then the last 8 */
    unsigned mask = half_hits(s);
    if (mask)
      return (size_t)__builtin_ctz(mask);
    mask = half_hits(s + n - 8) >> (16 - n);
    return mask ? 8 + (size_t)__builtin_ctz(mask) : n;
  }
  while (i < n && byte_plain(s[i]))
    i++;
  return i;
}
#else
#define ONES 0x0101010101010101u
#define HIGHS 0x8080808080808080u

/* Whether none of the 8 bytes of x needs more than a copy: no control byte,
 * '"', '\\' or byte >= 0x80 (UTF-8, checked byte by byte). The tests of
 * "Bit Twiddling Hacks" (a byte below n; a zero byte) are exact per word,
 * whatever the byte order. */
static inline bool word_plain(uint64_t x)
{
  uint64_t q = x ^ (ONES * '"'), bs = x ^ (ONES * '\\');
  uint64_t hit = ((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) | ((bs - ONES) & ~bs) | x;
  return !(hit & HIGHS);
}

/* How many of s[0..n) from the start need no escaping. */
static size_t plain_run(const unsigned char *s, size_t n)
{
  size_t i = 0;
  uint64_t x;
  while (i + 8 <= n && (memcpy(&x, s + i, 8), word_plain(x)))
    i += 8;
  if (i < n && n >= 8 && n - i < 8 && (memcpy(&x, s + n - 8, 8), word_plain(x)))
    return n; /* the tail: the last 8 bytes, some already seen */
  while (i < n && byte_plain(s[i]))
    i++;
  return i;
}
#endif

/* Writes what the byte(s) at s (n left, s[0] not plain) become at p: an
 * escape, a valid UTF-8 sequence as is, or U+FFFD for an invalid byte; at
 * most 6 bytes. *k: the bytes of s used. */
static char *put_special(char *p, const unsigned char *s, size_t n, size_t *k)
{
  static const char hex[] = "0123456789abcdef";
  const char *two;
  *k = 1;
  switch (s[0]) {
  case '"': two = "\\\""; break;
  case '\\': two = "\\\\"; break;
  case '\n': two = "\\n"; break;
  case '\r': two = "\\r"; break;
  case '\t': two = "\\t"; break;
  case '\b': two = "\\b"; break;
  case '\f': two = "\\f"; break;
  default:
    if (s[0] < 0x20) { /* "\u%04x", as nlohmann writes it */
      memcpy(p, "\\u00", 4);
      p[4] = hex[s[0] >> 4];
      p[5] = hex[s[0] & 15];
      return p + 6;
    }
    if ((*k = utf8_len(s, n)) != 0) {
      memcpy(p, s, *k);
      return p + *k;
    }
    *k = 1;
    memcpy(p, REPLACEMENT, 3);
    return p + 3;
  }
  memcpy(p, two, 2);
  return p + 2;
}

/* A JSON string's body as nlohmann::json's dump() writes it in Falco (no
 * ASCII escaping, invalid UTF-8 replaced by U+FFFD, NUL included), b's NUL
 * after it. Room is kept for the rest as is plus one byte (a closing quote):
 * made once for a string with nothing to escape. */
static int json_str_body(jw *b, const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  if (n > SIZE_MAX / 2 || !room(b, n + 1))
    return CTR_ENOMEM;
  size_t i = 0;
  while (i < n) {
    size_t run = plain_run(s + i, n - i);
    memcpy(b->data + b->len, s + i, run);
    b->len += run;
    i += run;
    if (i == n)
      break;
    /* Up to 6 bytes for 1. */
    char *p = room(b, n - i + 6 + 1);
    if (!p)
      return CTR_ENOMEM;
    size_t k;
    b->len = (size_t)(put_special(p, s + i, n - i, &k) - b->data);
    i += k;
  }
  return CTR_OK;
}

static int json_str(jw *b, const char *s, size_t n)
{
  char *p = room(b, 1);
  if (!p)
    return CTR_ENOMEM;
  *p = '"';
  b->len++;
  if (json_str_body(b, s, n) != CTR_OK)
    return CTR_ENOMEM;
  b->data[b->len++] = '"'; /* json_str_body kept room for it */
  return CTR_OK;
}

int ctr__json_str(ctr__buf *b, const char *s, size_t n)
{
  jw w = {b->data, b->len, b->cap, false};
  int rc = json_str(&w, s, n);
  if (w.data)
    w.data[w.len] = '\0'; /* room() kept the byte (on failure: the text so far) */
  *b = (ctr__buf){w.data, w.len, w.cap};
  return rc;
}

static int json_cstr(jw *b, const char *s)
{
  return json_str(b, s, strlen(s));
}

/* Bytes known to need no escaping (the line's own keys and punctuation).
 * Inline: most are literals, whose copy the compiler then makes of fixed
 * size. */
static inline int put(jw *b, const char *s, size_t n)
{
  char *p = room(b, n);
  if (!p)
    return CTR_ENOMEM;
  memcpy(p, s, n);
  b->len += n;
  return CTR_OK;
}
#define PUT_LIT(b, lit) put((b), (lit), sizeof(lit) - 1)

/* ------------------------------------------------------------ key order */

typedef struct named_index {
  const char *name;
  uint32_t i;
} named_index;

static int named_index_cmp(const void *a, const void *b)
{
  const named_index *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->i > y->i) - (x->i < y->i);
}

size_t ctr__json_key_order(char *const *names, size_t n, bool unique, uint32_t *order)
{
  named_index *v = malloc((n ? n : 1) * sizeof *v);
  if (!v)
    return (size_t)-1;
  for (size_t i = 0; i < n; i++)
    v[i] = (named_index){names[i], (uint32_t)i};
  qsort(v, n, sizeof *v, named_index_cmp);
  size_t w = 0;
  for (size_t i = 0; i < n; i++)
    if (!unique || !w || strcmp(v[i].name, names[order[w - 1]]) != 0)
      order[w++] = v[i].i;
  free(v);
  return w;
}


/* ------------------------------------------------------------ a rule's constant part */

/* The extras' names (CTR__JSON_EXTRA_*), in key order. */
static const char *const extra_names[CTR__JSON_NEXTRA] = {"ct.id", "evt.time", "evt.time.iso8601"};

/* Falco's JSON gives the event's timestamp (a number of ns) for these, as
 * libsinsp's extract_as_js does; ours render them as text. */
static bool is_time_field(const char *name)
{
  static const char *const names[] = {"evt.time", "evt.time.s", "evt.time.iso8601", "evt.datetime",
                                      "evt.datetime.s"};
  for (size_t i = 0; i < CTR__COUNTOF(names); i++)
    if (strcmp(name, names[i]) == 0)
      return true;
  return false;
}

/* Writes what ctr__json_rule_make keeps into b: each key (its offset and
 * length in key_at), then the head, then the tags; the offsets of both in
 * ends[0..1], where each ends. */
static int rule_text(jw *b, const char *name, const char *prio, char *const *tags, size_t ntags,
                     char *const *fields, const uint32_t *order, size_t nfields, size_t *key_at, size_t *ends)
{
  int rc = CTR_OK;
  for (size_t k = 0; rc == CTR_OK && k < nfields; k++) {
    key_at[k] = b->len;
    rc = PUT_LIT(b, ",");
    if (rc == CTR_OK)
      rc = json_cstr(b, fields[order[k]]);
    if (rc == CTR_OK)
      rc = PUT_LIT(b, ":");
  }
  key_at[nfields] = b->len;
  if (rc == CTR_OK)
    rc = PUT_LIT(b, ",\"priority\":");
  if (rc == CTR_OK)
    rc = json_cstr(b, prio);
  if (rc == CTR_OK)
    rc = PUT_LIT(b, ",\"rule\":");
  if (rc == CTR_OK)
    rc = json_cstr(b, name);
  ends[0] = b->len;
  if (rc == CTR_OK)
    rc = PUT_LIT(b, ",\"tags\":[");
  for (size_t i = 0; rc == CTR_OK && i < ntags; i++) {
    if (i)
      rc = PUT_LIT(b, ",");
    if (rc == CTR_OK)
      rc = json_cstr(b, tags[order[nfields + i]]);
  }
  if (rc == CTR_OK)
    rc = PUT_LIT(b, "]");
  ends[1] = b->len;
  return rc;
}

const ctr__json_rule *ctr__json_rule_make(ctr__arena *pool, const char *name, int priority, char *const *tags,
                                          size_t ntags, char *const *fields, size_t nfields)
{
  const char *prio = ctr_priority_name(priority);
  if (!prio)
    prio = "Debug";
  /* The fields' order, then the tags' (each once) after it; the keys'
   * offsets in the text. */
  uint32_t *order = malloc((nfields + ntags + 1) * sizeof *order);
  size_t *key_at = malloc((nfields + 1) * sizeof *key_at), ends[2];
  ctr__json_rule *jr = ctr__arena_alloc(pool, sizeof *jr);
  ctr__json_key *keys = ctr__arena_alloc(pool, (nfields ? nfields : 1) * sizeof *keys);
  jw b = {0};
  size_t nt = 0;
  bool ok = order && key_at && jr && keys &&
            ctr__json_key_order(fields, nfields, false, order) != (size_t)-1 &&
            (nt = ctr__json_key_order(tags, ntags, true, order + nfields)) != (size_t)-1 &&
            rule_text(&b, name, prio, tags, nt, fields, order, nfields, key_at, ends) == CTR_OK;
  char *text = ok ? ctr__arena_alloc(pool, b.len + 1) : NULL;
  if (text) {
    memcpy(text, b.data, b.len);
    text[b.len] = '\0';
    *jr = (ctr__json_rule){.keys = keys, .nkeys = nfields, .prio = prio, .prio_len = strlen(prio),
                           .head = text + key_at[nfields], .head_len = ends[0] - key_at[nfields],
                           .tags = text + ends[0], .tags_len = ends[1] - ends[0]};
    for (size_t k = 0; k < nfields; k++) {
      const char *f = fields[order[k]];
      keys[k] = (ctr__json_key){.text = text + key_at[k], .len = key_at[k + 1] - key_at[k], .field = order[k],
                                .time = is_time_field(f)};
      for (size_t e = 0; e < CTR__JSON_NEXTRA; e++) {
        int c = strcmp(f, extra_names[e]);
        jr->extra_before[e] += c < 0;
        jr->extra_named[e] |= c == 0;
      }
    }
  }
  free(b.data);
  free(order);
  free(key_at);
  return text && ctr__saved_rule_make(pool, jr) == CTR_OK ? jr : NULL;
}

/* ------------------------------------------------------------ time */

#define TIME_ISO_LEN 34 /* evt.time.iso8601 */
#define TIME_CLOCK_AT 11 /* evt.time: the part from the hour */
#define TIME_FRAC_AT 20 /* the nine digits of the fraction */

/* The event time of a line, written once (UTC): ns since the epoch (0 for
 * a record without a valid eventTime) and the text of evt.time.iso8601,
 * "YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000", whose part from the hour is
 * evt.time's (the same text as those fields: fields_evt.c;
 * tests/test_render.c compares them). Written here, not through the field
 * registry, because an alert's JSON needs it without an event to extract
 * from; by hand, as printf was most of the cost of an alert's JSON. */
typedef struct event_time {
  uint64_t ns;
  char iso[TIME_ISO_LEN + 1];
} event_time;

/* "00" to "99": two digits per division. */
static const char two_digits[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                    "8081828384858687888990919293949596979899";

static char *put_digits(char *p, uint64_t v, int width)
{
  int i = width;
  for (; i >= 2; i -= 2, v /= 100)
    memcpy(p + i - 2, two_digits + 2 * (v % 100), 2);
  if (i)
    p[0] = (char)('0' + v % 10);
  return p + width;
}

/* The date by H. Hinnant's civil_from_days rather than gmtime_r, which
 * takes the time zone lock on every call. */
static void event_time_of(int64_t time_ns, event_time *t)
{
  t->ns = time_ns > 0 ? (uint64_t)time_ns : 0;
  uint64_t sec = t->ns / 1000000000u, days = sec / 86400, rem = sec % 86400;
  uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
  uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  uint64_t mon = mp < 10 ? mp + 3 : mp - 9;
  char *p = put_digits(t->iso, yoe + era * 400 + (mon <= 2), 4);
  *p++ = '-';
  p = put_digits(p, mon, 2);
  *p++ = '-';
  p = put_digits(p, doy - (153 * mp + 2) / 5 + 1, 2);
  *p++ = 'T';
  p = put_digits(p, rem / 3600, 2);
  *p++ = ':';
  p = put_digits(p, rem / 60 % 60, 2);
  *p++ = ':';
  p = put_digits(p, rem % 60, 2);
  *p++ = '.';
  p = put_digits(p, t->ns % 1000000000u, 9);
  memcpy(p, "+0000", 6);
}

/* The event time in ns as a JSON number: the seconds' digits, then the
 * nine of the fraction evt.time.iso8601 already holds. */
static int append_time_ns(jw *b, const event_time *t)
{
  char buf[32], *p = buf + sizeof buf - 9;
  uint64_t sec = t->ns / 1000000000u;
  memcpy(p, t->iso + TIME_FRAC_AT, 9);
  for (; sec >= 100; sec /= 100)
    memcpy(p -= 2, two_digits + 2 * (sec % 100), 2);
  if (sec >= 10)
    memcpy(p -= 2, two_digits + 2 * sec, 2);
  else if (sec)
    *--p = (char)('0' + sec);
  else /* under a second: the fraction without its leading zeros */
    while (p < buf + sizeof buf - 1 && *p == '0')
      p++;
  return put(b, p, (size_t)(buf + sizeof buf - p));
}

/* ------------------------------------------------------------ ctr_match_json */

/* What the line is written from (ctr__line_src) and how. */
typedef struct line_src {
  const ctr__line_src *s;
  unsigned flags;
  event_time t;
} line_src;

/* An output field's value, of the trailer's kind ('a' 's' 'u' 'l'; list:
 * its JSON array at kind + 1), or 't': the event time in ns. */
static int json_value(jw *b, const line_src *x, size_t i, const char *kind)
{
  const ctr__line_src *s = x->s;
  switch (*kind) {
  case 's':
    return json_str(b, s->values + s->value_off[i], s->value_len[i]);
  case 'u':
    return put(b, s->values + s->value_off[i], s->value_len[i]);
  case 'l':
    return put(b, kind + 1, strlen(kind + 1));
  case 't':
    return append_time_ns(b, &x->t);
  default:
    return PUT_LIT(b, "null");
  }
}

/* An extra member of output_fields, `,"name":value` (no comma if first). */
static int json_extra(jw *b, const line_src *x, int e, bool first)
{
  static const char *const keys[CTR__JSON_NEXTRA] = {",\"ct.id\":", ",\"evt.time\":", ",\"evt.time.iso8601\":"};
  int rc = put(b, keys[e] + first, strlen(keys[e]) - first);
  if (rc != CTR_OK)
    return rc;
  if (e != CTR__JSON_EXTRA_ID)
    return append_time_ns(b, &x->t);
  return x->s->event_id ? json_str(b, x->s->event_id, x->s->event_id_len) : PUT_LIT(b, "null");
}

/* Where each output field's value is: for field i, its kind in the trailer
 * and, for a list, its JSON array (entries in field order). */
static void trailer_fields(const char *tr, size_t n, const char **kinds)
{
  for (size_t i = 0; i < n; i++) {
    kinds[i] = tr++;
    if (*kinds[i] == 'l')
      tr += strlen(tr) + 1;
  }
}

/* output_fields: the rule's fields, the prefix's time field and the
 * eventID (unless the template names them), in key order: each extra goes
 * where the rule's part says it sorts. */
static int json_output_fields(const line_src *x, jw *b)
{
  const ctr__json_rule *jr = x->s->jr;
  size_t n = jr->nkeys;
  const char *kinds_here[32], **kinds = n <= 32 ? kinds_here : malloc(n * sizeof *kinds);
  if (!kinds)
    return CTR_ENOMEM;
  trailer_fields(x->s->kinds, n, kinds);
  int extra[2], ne = 0;
  if (x->flags & CTR_JSON_EVENT_ID)
    extra[ne++] = CTR__JSON_EXTRA_ID;
  extra[ne++] = x->flags & CTR_JSON_TIME_ISO8601 ? CTR__JSON_EXTRA_ISO8601 : CTR__JSON_EXTRA_TIME;
  int rc = PUT_LIT(b, "{"), e = 0;
  bool first = true;
  for (size_t k = 0; rc == CTR_OK; k++) {
    for (; rc == CTR_OK && e < ne && jr->extra_before[extra[e]] <= k; e++)
      if (!jr->extra_named[extra[e]]) {
        rc = json_extra(b, x, extra[e], first);
        first = false;
      }
    if (k == n || rc != CTR_OK)
      break;
    const ctr__json_key *key = &jr->keys[k];
    const char *kind = kinds[key->field];
    rc = put(b, key->text + first, key->len - first);
    first = false;
    if (rc == CTR_OK)
      rc = json_value(b, x, key->field, *kind != 'a' && key->time ? "t" : kind);
  }
  if (kinds != kinds_here)
    free(kinds);
  return rc == CTR_OK ? PUT_LIT(b, "}") : rc;
}

/* The members after "hostname", in Falco's (sorted) key order. */
static int json_members(const line_src *x, jw *b)
{
  const ctr__json_rule *jr = x->s->jr;
  const char *message = x->s->output;
  size_t message_len = x->s->output_len;
  int rc = CTR_OK;
  if (x->flags & CTR_JSON_MESSAGE) {
    rc = PUT_LIT(b, ",\"message\":");
    if (rc == CTR_OK)
      rc = json_str(b, message, message_len);
  }
  if (rc == CTR_OK && !(x->flags & CTR_JSON_NO_OUTPUT)) {
    /* Falco's output: "<evt.time>: <Priority> <message>", its prefix in one piece. */
    bool iso = x->flags & CTR_JSON_TIME_ISO8601;
    const char *t = iso ? x->t.iso : x->t.iso + TIME_CLOCK_AT;
    size_t tn = iso ? TIME_ISO_LEN : TIME_ISO_LEN - 5 - TIME_CLOCK_AT;
    char *p = room(b, 11 + tn + 2 + jr->prio_len + 1);
    if (!p)
      return CTR_ENOMEM;
    memcpy(p, ",\"output\":\"", 11);
    memcpy(p + 11, t, tn);
    memcpy(p + 11 + tn, ": ", 2);
    memcpy(p + 13 + tn, jr->prio, jr->prio_len);
    p[13 + tn + jr->prio_len] = ' ';
    b->len += 14 + tn + jr->prio_len;
    rc = json_str_body(b, message, message_len);
    if (rc == CTR_OK)
      rc = PUT_LIT(b, "\"");
  }
  if (rc == CTR_OK && !(x->flags & CTR_JSON_NO_OUTPUT_FIELDS)) {
    rc = PUT_LIT(b, ",\"output_fields\":");
    if (rc == CTR_OK)
      rc = json_output_fields(x, b);
  }
  if (rc == CTR_OK) /* ,"priority":...,"rule":... */
    rc = put(b, jr->head, jr->head_len);
  if (rc == CTR_OK)
    rc = PUT_LIT(b, ",\"source\":");
  if (rc == CTR_OK)
    rc = json_str(b, x->s->source, x->s->source_len);
  if (rc == CTR_OK && !(x->flags & CTR_JSON_NO_TAGS)) /* Falco keeps tags in a std::set: sorted, each once */
    rc = put(b, jr->tags, jr->tags_len);
  return rc;
}

/* The whole line into b (its memory grown as needed). */
static int write_line(const ctr__line_src *src, unsigned flags, jw *b)
{
  line_src x = {.s = src, .flags = flags};
  event_time_of(src->time_ns, &x.t);

  int rc = PUT_LIT(b, "{\"hostname\":");
  if (rc == CTR_OK)
    rc = json_str(b, src->hostname, src->hostname_len);
  if (rc == CTR_OK)
    rc = json_members(&x, b);
  /* Falco's time: ISO 8601, UTC, always nine digits of nanoseconds, "Z". */
  char *p = rc == CTR_OK ? room(b, 9 + TIME_ISO_LEN - 5 + 3) : NULL;
  if (!p)
    return CTR_ENOMEM;
  memcpy(p, ",\"time\":\"", 9);
  memcpy(p + 9, x.t.iso, TIME_ISO_LEN - 5); /* without "+0000" */
  memcpy(p + 9 + TIME_ISO_LEN - 5, "Z\"}", 3);
  b->len += 9 + TIME_ISO_LEN - 5 + 3;
  b->data[b->len] = '\0';
  return CTR_OK;
}

int ctr__line_src_of(const ctr_match *m, ctr__line_src *x)
{
  const ctr__render_out *ro = ctr__match_render(m);
  if (!ro)
    return CTR_ENOMEM; /* rendering the match ran out of memory */
  const char *hostname = ro->json.data; /* the trailer: hostname, event id, the fields' kinds */
  const char *id = hostname + ro->hostname_len + 1;
  size_t id_len = strlen(id);
  *x = (ctr__line_src){.jr = ro->rule->json,
                       .hostname = hostname,
                       .hostname_len = ro->hostname_len,
                       .event_id = *id == 's' ? id + 1 : NULL,
                       .event_id_len = *id == 's' ? id_len - 1 : 0,
                       .kinds = id + id_len + 1,
                       .kinds_len = ro->json.len - (size_t)(id + id_len + 1 - hostname),
                       .output = ro->text.data,
                       .output_len = ro->text.len - 1, /* render.c ends the text with its NUL */
                       .source = ctr_match_source(m),
                       .source_len = strlen(ctr_match_source(m)),
                       .values = ro->values.data,
                       .values_len = ro->values.len,
                       .value_off = ro->value_off,
                       .value_len = ro->value_len,
                       .time_ns = ctr_match_time(m)};
  return CTR_OK;
}

int ctr__json_line(const ctr__line_src *x, unsigned flags, char **out, size_t *len)
{
  jw b = {0};
  /* One allocation for most lines: the output appears twice at most, the
   * values once (escapes aside). */
  int rc = jw_grow(&b, 512 + 2 * x->output_len + x->values_len);
  if (rc == CTR_OK)
    rc = write_line(x, flags, &b);
  if (rc != CTR_OK) {
    free(b.data);
    return rc;
  }
  if (len)
    *len = b.len;
  *out = b.data;
  return CTR_OK;
}

/* In place while the line fits (room() keeps a byte for the NUL, so a line
 * of exactly cap bytes is written in memory of its own and copied). */
int ctr__json_line_to(const ctr__line_src *x, unsigned flags, char *buf, size_t cap, size_t *len)
{
  jw b = {buf, 0, cap, true};
  int rc = write_line(x, flags, &b);
  if (!b.borrowed) {
    if (rc == CTR_OK && cap)
      memcpy(buf, b.data, b.len < cap ? b.len : cap);
    free(b.data);
  }
  if (rc == CTR_OK)
    *len = b.len;
  return rc;
}

CTR_API int ctr_match_json(const ctr_match *m, unsigned flags, char **out, size_t *len)
{
  if (!m || !out || (flags & ~(unsigned)CTR__JSON_ALL))
    return CTR_EINVAL;
  ctr__line_src x;
  int rc = ctr__line_src_of(m, &x);
  return rc == CTR_OK ? ctr__json_line(&x, flags, out, len) : rc;
}

CTR_API int ctr_match_json_to(const ctr_match *m, unsigned flags, char *buf, size_t cap, size_t *len)
{
  if (!m || !len || (!buf && cap) || (flags & ~(unsigned)CTR__JSON_ALL))
    return CTR_EINVAL;
  ctr__line_src x;
  int rc = ctr__line_src_of(m, &x);
  return rc == CTR_OK ? ctr__json_line_to(&x, flags, buf, cap, len) : rc;
}

CTR_API void ctr_free(void *p)
{
  free(p);
}
