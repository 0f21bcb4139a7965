/*
 * prefilter.c - decides from a record's raw bytes, before jansson parses it,
 * that no enabled rule can match it.
 *
 * At compile time every enabled rule must prove a key: the constant values
 * its condition requires of one top-level field (`= X` or `in (...)`, through
 * and/or and macros, never under `not`) - eventName (ct.name) if it can,
 * else errorCode (ct.error), else eventSource (ct.src). If one rule has none,
 * there is no prefilter and every record is parsed.
 *
 * At scan time one pass over the record both validates it and reads its
 * top-level keys. A record is skipped only when the pass proves that
 *   - jansson would accept it (the grammar is checked; anything the pass does
 *     not fully model - \u escapes, exponents, long integers, deep nesting,
 *     bad UTF-8 - sends the record to jansson instead), so no bad-record
 *     report is ever hidden;
 *   - it is a complete CloudTrail record (the keys ctr__event_complete checks,
 *     with their types), so no incomplete-record report is hidden either, and
 *     it is not an Insight record;
 *   - none of its eventName, errorCode and eventSource is a key of a rule
 *     keyed on that field (an absent errorCode is no rule's key: every
 *     operator is false on an absent field).
 * The values compared are taken raw and only when they hold no backslash, and
 * a top-level key that holds one or appears twice sends the record to jansson:
 * `"event\u004eame"` or a second eventName cannot hide a candidate.
 */
#include "engine.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The fields a rule may be keyed on, in order of preference (the most
 * selective first), with the top-level key each one reads verbatim. */
enum { KEYED_NAME, KEYED_ERROR, KEYED_SOURCE, KEYED__COUNT };
static const char *const k_keyed_fields[KEYED__COUNT] = {"ct.name", "ct.error", "ct.src"};

struct ctr__prefilter {
  ctr__strset keys[KEYED__COUNT]; /* the values rules keyed on each field require */
};

/* ------------------------------------------------------------ compile time */

typedef struct keyset {
  const ctr__str *v;
  size_t n;
  bool any; /* no constant found: the rule may match any value */
} keyset;

static const keyset k_any = {.any = true};

/* The constants of `field` without which the condition cannot be true. */
static keyset required_keys(ctr__arena *scratch, const ctr_ruleset *rs, const ctr__field_def *field,
                            const ctr__cnode *c)
{
  if (!c)
    return k_any;
  switch (c->kind) {
  case CTR__N_CHECK:
    if (c->lhs->tf != CTR__TF_NONE || rs->slots[c->lhs->slot].def != field || c->rhs_expr || c->mod)
      return k_any;
    if (c->op == CTR__OP_EQ)
      return (keyset){.v = &c->rhs, .n = 1};
    if (c->op == CTR__OP_IN || c->op == CTR__OP_INTERSECTS)
      return (keyset){.v = c->rhs_list, .n = c->nrhs};
    return k_any;
  case CTR__N_AND: {
    keyset best = k_any;
    for (size_t i = 0; i < c->nkids; i++) {
      keyset k = required_keys(scratch, rs, field, c->kids[i]);
      if (!k.any && (best.any || k.n < best.n))
        best = k;
    }
    return best;
  }
  case CTR__N_OR: {
    /* Every branch must be keyed; the rule's keys are their union. */
    keyset *kids = ctr__arena_alloc(scratch, (c->nkids ? c->nkids : 1) * sizeof *kids);
    if (!kids)
      return k_any;
    size_t total = 0;
    for (size_t i = 0; i < c->nkids; i++) {
      kids[i] = required_keys(scratch, rs, field, c->kids[i]);
      if (kids[i].any)
        return k_any;
      total += kids[i].n;
    }
    ctr__str *u = ctr__arena_alloc(scratch, (total ? total : 1) * sizeof *u);
    if (!u)
      return k_any;
    size_t n = 0;
    for (size_t i = 0; i < c->nkids; i++)
      for (size_t j = 0; j < kids[i].n; j++)
        u[n++] = kids[i].v[j];
    return (keyset){.v = u, .n = n};
  }
  default:
    return k_any; /* `not`: nothing is required */
  }
}

typedef struct strvec {
  ctr__str *v;
  size_t n, cap;
} strvec;

static bool strvec_add(ctr__arena *scratch, strvec *sv, const keyset *k)
{
  if (sv->n + k->n > sv->cap) {
    size_t cap = sv->cap ? sv->cap : 64;
    while (cap < sv->n + k->n)
      cap *= 2;
    ctr__str *v = ctr__arena_alloc(scratch, cap * sizeof *v);
    if (!v)
      return false;
    if (sv->n)
      memcpy(v, sv->v, sv->n * sizeof *v);
    sv->v = v;
    sv->cap = cap;
  }
  memcpy(sv->v + sv->n, k->v, k->n * sizeof *k->v);
  sv->n += k->n;
  return true;
}

int ctr__prefilter_build(ctr_ruleset *rs)
{
  const ctr__field_def *fields[KEYED__COUNT];
  for (int f = 0; f < KEYED__COUNT; f++)
    fields[f] = ctr__field_lookup(k_keyed_fields[f], strlen(k_keyed_fields[f]));
  ctr__arena scratch = {0};
  strvec keys[KEYED__COUNT] = {{0}};
  int rc = CTR_OK;
  rs->prefilter = NULL;
  for (size_t i = 0; i < rs->nall; i++) {
    const ctr__cnode *cond = rs->rules[rs->all[i]].cond;
    keyset k = k_any;
    int f = 0;
    for (; f < KEYED__COUNT && k.any; f++)
      k = required_keys(&scratch, rs, fields[f], cond);
    if (k.any)
      goto done; /* this rule may match any record: no prefilter */
    if (!strvec_add(&scratch, &keys[f - 1], &k)) {
      rc = CTR_ENOMEM;
      goto done;
    }
  }
  ctr__prefilter *pf = ctr__arena_alloc(&rs->pool, sizeof *pf);
  if (!pf) {
    rc = CTR_ENOMEM;
    goto done;
  }
  for (int f = 0; f < KEYED__COUNT; f++) {
    if (!ctr__strset_build(&rs->pool, &pf->keys[f], keys[f].v, keys[f].n)) {
      rc = CTR_ENOMEM;
      goto done;
    }
  }
  rs->prefilter = pf;
done:
  ctr__arena_free(&scratch);
  return rc;
}

/* ------------------------------------------------------------ scan time */

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

/* The top-level keys the decision reads. */
enum { K_NONE = -1, K_EVENT_NAME, K_ERROR_CODE, K_EVENT_SOURCE, K_EVENT_TYPE, K_EVENT_VERSION, K_EVENT_TIME,
       K_AWS_REGION, K_USER_IDENTITY, K__COUNT };

/* The first KEYED__COUNT entries are the keys of k_keyed_fields, in order. */
_Static_assert((int)K_EVENT_NAME == (int)KEYED_NAME && (int)K_ERROR_CODE == (int)KEYED_ERROR &&
                   (int)K_EVENT_SOURCE == (int)KEYED_SOURCE,
               "keyed fields and their top-level keys share an index");
static const ctr__str k_keys[K__COUNT] = {
  {"eventName", 9},    {"errorCode", 9}, {"eventSource", 11}, {"eventType", 9},
  {"eventVersion", 12}, {"eventTime", 9}, {"awsRegion", 9},    {"userIdentity", 12},
};

static int key_id(bytes s, size_t len)
{
  if (len < 9 || len > 12 || (s[0] != 'e' && s[0] != 'a' && s[0] != 'u'))
    return K_NONE;
  for (int k = 0; k < K__COUNT; k++)
    if (k_keys[k].len == len && memcmp(k_keys[k].s, s, len) == 0)
      return k;
  return K_NONE;
}

typedef struct topval {
  bytes s;   /* string content (kind '"') */
  size_t len;
  char kind; /* 0: key absent, '"' string, '{' object, 'x' anything else */
  bool escaped;
} topval;

#define MAX_NEST 256

bool ctr__prefilter_skips(const ctr__prefilter *pf, const char *data, size_t len)
{
  bytes p = (bytes)data, end = p + len;
  unsigned char stack[MAX_NEST]; /* '}' or ']': what closes each open container */
  size_t depth = 0;
  topval top[K__COUNT] = {0};
  int cur = K_NONE; /* the top-level key whose value comes next */

  p = skip_ws(p, end);
  if (p >= end || *p != '{')
    return false;
  goto value;

value:
  p = skip_ws(p, end);
  if (p >= end)
    return false;
  if (depth == 1 && cur != K_NONE) {
    top[cur].kind = *p == '"' || *p == '{' ? (char)*p : 'x';
    if (*p == '"')
      top[cur].s = p + 1;
  }
  switch (*p) {
  case '{':
  case '[':
    if (depth == MAX_NEST)
      return false;
    stack[depth++] = *p == '{' ? '}' : ']';
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
      return false;
    if (depth == 1 && cur != K_NONE) {
      top[cur].len = (size_t)(close - 1 - top[cur].s);
      top[cur].escaped = escaped;
    }
    p = close;
    goto after_value;
  }
  case 't':
  case 'n':
    if (end - p < 4 || memcmp(p, *p == 't' ? "true" : "null", 4) != 0)
      return false;
    p += 4;
    goto after_value;
  case 'f':
    if (end - p < 5 || memcmp(p, "false", 5) != 0)
      return false;
    p += 5;
    goto after_value;
  default:
    if (*p != '-' && (*p < '0' || *p > '9'))
      return false;
    if (!(p = skip_number(p, end)))
      return false;
    goto after_value;
  }

after_value:
  p = skip_ws(p, end);
  if (depth == 0)
    goto decide;
  if (p >= end)
    return false;
  if (*p == ',') {
    p++;
    if (stack[depth - 1] == '}')
      goto key;
    goto value;
  }
  if (*p != stack[depth - 1])
    return false;
  p++;
  depth--;
  goto after_value;

key:
  p = skip_ws(p, end);
  if (p >= end || *p != '"')
    return false;
  {
    bool escaped = false;
    bytes close = skip_string(p, end, &escaped);
    if (!close)
      return false;
    cur = K_NONE;
    if (depth == 1) {
      if (escaped)
        return false; /* an escaped key may decode to one we read */
      cur = key_id(p + 1, (size_t)(close - 1 - (p + 1)));
      if (cur != K_NONE && top[cur].kind)
        return false; /* a duplicate: let jansson pick the value */
    }
    p = skip_ws(close, end);
  }
  if (p >= end || *p != ':')
    return false;
  p++;
  goto value;

decide:
  if (p != end)
    return false; /* trailing bytes: jansson reports them */
  for (int k = 0; k < K__COUNT; k++) {
    if (k == K_EVENT_TYPE || k == K_ERROR_CODE)
      continue;
    char want = k == K_USER_IDENTITY ? '{' : '"';
    if (top[k].kind != want)
      return false; /* incomplete: parsed so that it is reported */
  }
  const topval *src = &top[K_EVENT_SOURCE], *type = &top[K_EVENT_TYPE];
  static const char suffix[] = ".amazonaws.com";
  if (src->len < sizeof suffix - 1 || memcmp(src->s + src->len - (sizeof suffix - 1), suffix, sizeof suffix - 1) != 0)
    return false;
  if (type->kind && (type->kind != '"' || type->escaped ||
                     (type->len == 20 && memcmp(type->s, "AwsCloudTrailInsight", 20) == 0)))
    return false;
  for (int f = 0; f < KEYED__COUNT; f++) {
    const topval *v = &top[f];
    if (!v->kind)
      continue; /* absent: no comparison on it is true */
    if (v->kind != '"' || v->escaped)
      return false; /* a non-string reads as "", an escape must be decoded: jansson decides */
    if (ctr__strset_has(&pf->keys[f], (const char *)v->s, v->len))
      return false;
  }
  return true;
}
