/*
 * prefilter.c - decides from a record's raw bytes, before jansson parses it,
 * that no enabled rule can match it.
 *
 * At compile time every enabled rule must prove a key: the constant values
 * its condition requires of one top-level field (`= X` or `in (...)`, through
 * and/or and macros, never under `not`) - eventName (ct.name) if it can,
 * else errorCode (ct.error), else eventSource (ct.src). The rule is filed
 * under each of those values, together with what it also requires of the
 * other two fields (`ct.src = "kms.amazonaws.com" and ct.error =
 * "AccessDenied"` needs both). If one rule has no key, there is no prefilter
 * and every record is parsed.
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
 *   - no rule filed under its eventName, errorCode or eventSource also has
 *     what it requires of the other two (an absent field satisfies nothing:
 *     every operator is false on an absent field).
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

/* What one rule requires of the keyed fields (NULL: nothing). */
typedef struct rule_needs {
  ctr__strset *need[KEYED__COUNT];
} rule_needs;

/* A value of a keyed field and the rules filed under it. */
typedef struct key_entry {
  ctr__str value; /* value.s NULL: empty slot */
  uint32_t first, n; /* range of ctr__prefilter.filed */
} key_entry;

typedef struct key_table {
  key_entry *slots; /* open addressing */
  size_t cap;
} key_table;

struct ctr__prefilter {
  key_table by[KEYED__COUNT]; /* a rule is filed under the values of its preferred keyed field */
  uint32_t *filed;            /* indexes into needs, grouped by key_entry */
  rule_needs *needs;          /* one per enabled rule */
};

/* ------------------------------------------------------------ compile time */

static const ctr__keyset k_any = {.any = true};

ctr__keyset ctr__required_values(ctr__arena *scratch, const ctr_ruleset *rs, const ctr__field_def *field,
                                 const ctr__cnode *c)
{
  if (!c)
    return k_any;
  switch (c->kind) {
  case CTR__N_CHECK:
    if (c->lhs->tf != CTR__TF_NONE || rs->slots[c->lhs->slot].def != field || c->rhs_expr || c->mod)
      return k_any;
    if (c->op == CTR__OP_EQ)
      return (ctr__keyset){.v = &c->rhs, .n = 1};
    if (c->op == CTR__OP_IN || c->op == CTR__OP_INTERSECTS)
      return (ctr__keyset){.v = c->rhs_list, .n = c->nrhs};
    return k_any;
  case CTR__N_AND: {
    ctr__keyset best = k_any;
    for (size_t i = 0; i < c->nkids; i++) {
      ctr__keyset k = ctr__required_values(scratch, rs, field, c->kids[i]);
      if (!k.any && (best.any || k.n < best.n))
        best = k;
    }
    return best;
  }
  case CTR__N_OR: {
    /* Every branch must be keyed; the rule's keys are their union. */
    ctr__keyset *kids = ctr__arena_alloc(scratch, (c->nkids ? c->nkids : 1) * sizeof *kids);
    if (!kids)
      return k_any;
    size_t total = 0;
    for (size_t i = 0; i < c->nkids; i++) {
      kids[i] = ctr__required_values(scratch, rs, field, c->kids[i]);
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
    return (ctr__keyset){.v = u, .n = n};
  }
  default:
    return k_any; /* `not`: nothing is required */
  }
}

/* (field, value, rule) before grouping. */
typedef struct filing {
  int field;
  ctr__str value;
  uint32_t rule;
} filing;

static int filing_cmp(const void *a, const void *b)
{
  const filing *x = a, *y = b;
  if (x->field != y->field)
    return x->field - y->field;
  if (x->value.len != y->value.len)
    return x->value.len < y->value.len ? -1 : 1;
  int c = memcmp(x->value.s, y->value.s, x->value.len);
  if (c)
    return c;
  return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static const key_entry *key_lookup(const key_table *t, const char *s, size_t len)
{
  if (!t->cap)
    return NULL;
  for (size_t k = ctr__hash(s, len) & (t->cap - 1); t->slots[k].value.s; k = (k + 1) & (t->cap - 1))
    if (t->slots[k].value.len == len && memcmp(t->slots[k].value.s, s, len) == 0)
      return &t->slots[k];
  return NULL;
}

static void *pool_zalloc(ctr__arena *pool, size_t n)
{
  void *p = ctr__arena_alloc(pool, n ? n : 1);
  if (p)
    memset(p, 0, n ? n : 1);
  return p;
}

static bool same_key(const filing *a, const filing *b)
{
  return a->field == b->field && a->value.len == b->value.len && memcmp(a->value.s, b->value.s, a->value.len) == 0;
}

/* Files the rules' filings (sorted) into pf's tables. */
static bool file_rules(ctr__arena *pool, ctr__prefilter *pf, const filing *v, size_t n)
{
  if (!(pf->filed = pool_zalloc(pool, n * sizeof *pf->filed)))
    return false;
  size_t groups[KEYED__COUNT] = {0};
  for (size_t i = 0; i < n; i++)
    if (i == 0 || !same_key(&v[i], &v[i - 1]))
      groups[v[i].field]++;
  for (int f = 0; f < KEYED__COUNT; f++) {
    size_t cap = 8;
    while (cap < groups[f] * 2)
      cap *= 2;
    if (!(pf->by[f].slots = pool_zalloc(pool, cap * sizeof *pf->by[f].slots)))
      return false;
    pf->by[f].cap = cap;
  }
  uint32_t nfiled = 0;
  key_entry *e = NULL;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || !same_key(&v[i], &v[i - 1])) {
      key_table *t = &pf->by[v[i].field];
      size_t k = ctr__hash(v[i].value.s, v[i].value.len) & (t->cap - 1);
      while (t->slots[k].value.s)
        k = (k + 1) & (t->cap - 1);
      e = &t->slots[k];
      e->value = v[i].value;
      e->first = nfiled;
    } else if (v[i].rule == v[i - 1].rule) {
      continue; /* the same value listed twice */
    }
    pf->filed[nfiled++] = v[i].rule;
    e->n++;
  }
  return true;
}

int ctr__prefilter_build(ctr_ruleset *rs)
{
  const ctr__field_def *fields[KEYED__COUNT];
  for (int f = 0; f < KEYED__COUNT; f++)
    fields[f] = ctr__field_lookup(k_keyed_fields[f], strlen(k_keyed_fields[f]));
  ctr__arena scratch = {0};
  filing *filings = NULL;
  size_t nfilings = 0, cap = 0;
  int rc = CTR_ENOMEM;
  rs->prefilter = NULL;
  ctr__prefilter *pf = pool_zalloc(&rs->pool, sizeof *pf);
  if (!pf || !(pf->needs = pool_zalloc(&rs->pool, rs->nall * sizeof *pf->needs)))
    goto done;
  for (size_t i = 0; i < rs->nall; i++) {
    const ctr__cnode *cond = rs->rules[rs->all[i]].cond;
    int primary = -1;
    for (int f = 0; f < KEYED__COUNT; f++) {
      ctr__keyset k = ctr__required_values(&scratch, rs, fields[f], cond);
      if (k.any)
        continue;
      if (primary < 0) {
        primary = f;
        if (nfilings + k.n > cap) {
          cap = (nfilings + k.n) * 2 + 64;
          filing *grown = realloc(filings, cap * sizeof *filings);
          if (!grown)
            goto done;
          filings = grown;
        }
        for (size_t j = 0; j < k.n; j++)
          filings[nfilings++] = (filing){f, k.v[j], (uint32_t)i};
      } else {
        ctr__strset *set = ctr__arena_alloc(&rs->pool, sizeof *set);
        if (!set || !ctr__strset_build(&rs->pool, set, k.v, k.n))
          goto done;
        pf->needs[i].need[f] = set;
      }
    }
    if (primary < 0) {
      rc = CTR_OK; /* this rule may match any record: no prefilter */
      goto done;
    }
  }
  if (nfilings)
    qsort(filings, nfilings, sizeof *filings, filing_cmp);
  if (!file_rules(&rs->pool, pf, filings, nfilings))
    goto done;
  rs->prefilter = pf;
  rc = CTR_OK;
done:
  free(filings);
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

/* Whether a rule filed under one of the record's values also gets what it
 * requires of the other keyed fields. */
static bool may_match(const rule_needs *r, const topval *top)
{
  for (int f = 0; f < KEYED__COUNT; f++) {
    const ctr__strset *need = r->need[f];
    if (!need)
      continue;
    const topval *v = &top[f];
    if (!v->kind)
      return false; /* absent: the required comparison is false */
    if (v->kind != '"' || v->escaped)
      return true; /* jansson decides */
    if (!ctr__strset_has(need, (const char *)v->s, v->len))
      return false;
  }
  return true;
}

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
    const key_entry *e = key_lookup(&pf->by[f], (const char *)v->s, v->len);
    for (uint32_t i = 0; e && i < e->n; i++)
      if (may_match(&pf->needs[pf->filed[e->first + i]], top))
        return false;
  }
  return true;
}
