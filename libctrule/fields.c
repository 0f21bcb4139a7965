/*
 * fields.c - the field registry (the four family tables assembled into one),
 * the public ctr_field_* accessors, the helpers every extractor uses, the
 * compact JSON writer and the eventTime parser.
 *
 * Nothing here allocates on the heap: values are borrowed from the json_t
 * tree, static, or written into the per-event arena.
 */
#include "internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ registry */

typedef struct family {
  const ctr__field_def *defs;
  const size_t *count;
} family;

/* Order of ctr_field_name(i): plugin fields first, as Falco lists them. */
static const family families[] = {
  {ctr__fields_cloudtrail, &ctr__fields_cloudtrail_count},
  {ctr__fields_json, &ctr__fields_json_count},
  {ctr__fields_evt, &ctr__fields_evt_count},
  {ctr__fields_rds, &ctr__fields_rds_count},
};

static const ctr__field_def *field_at(size_t i)
{
  for (size_t f = 0; f < CTR__COUNTOF(families); f++) {
    size_t n = *families[f].count;
    if (i < n)
      return &families[f].defs[i];
    i -= n;
  }
  return NULL;
}

const ctr__field_def *ctr__field_lookup(const char *name, size_t len)
{
  if (!name)
    return NULL;
  for (size_t f = 0; f < CTR__COUNTOF(families); f++) {
    const ctr__field_def *d = families[f].defs;
    for (size_t i = 0, n = *families[f].count; i < n; i++)
      if (strlen(d[i].name) == len && memcmp(d[i].name, name, len) == 0)
        return &d[i];
  }
  return NULL;
}

CTR_API size_t ctr_field_count(void)
{
  size_t n = 0;
  for (size_t f = 0; f < CTR__COUNTOF(families); f++)
    n += *families[f].count;
  return n;
}

CTR_API const char *ctr_field_name(size_t i)
{
  const ctr__field_def *d = field_at(i);
  return d ? d->name : NULL;
}

CTR_API const char *ctr_field_desc(size_t i)
{
  const ctr__field_def *d = field_at(i);
  return d ? d->desc : NULL;
}

CTR_API const char *ctr_field_type(size_t i)
{
  const ctr__field_def *d = field_at(i);
  if (!d)
    return NULL;
  switch (d->type) {
  case CTR__FT_UINT64:
    return "uint64";
  case CTR__FT_LIST:
    return "list";
  default:
    return "string";
  }
}

/* ------------------------------------------------------------ JSON access */

json_t *ctr__json_get(const json_t *obj, const char *key)
{
  if (!obj || !key || !json_is_object(obj))
    return NULL;
  return json_object_get(obj, key);
}

/* jansson < 2.14 has no json_object_getn. */
json_t *ctr__json_getn(const json_t *obj, const char *key, size_t n)
{
  if (!json_is_object(obj))
    return NULL;
#if JANSSON_VERSION_HEX >= 0x020e00
  return json_object_getn(obj, key, n);
#else
  char buf[128];
  if (n < sizeof buf) {
    memcpy(buf, key, n);
    buf[n] = '\0';
    return json_object_get(obj, buf);
  }
  for (void *it = json_object_iter((json_t *)obj); it; it = json_object_iter_next((json_t *)obj, it)) {
    const char *k = json_object_iter_key(it);
    if (strlen(k) == n && memcmp(k, key, n) == 0)
      return json_object_iter_value(it);
  }
  return NULL;
#endif
}

json_t *ctr__json_path(const json_t *root, const char *dotted)
{
  if (!root || !dotted)
    return NULL;
  const json_t *cur = root;
  const char *p = dotted;
  for (;;) {
    if (!json_is_object(cur))
      return NULL;
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    cur = ctr__json_getn(cur, p, n);
    if (!cur)
      return NULL;
    if (!dot)
      return (json_t *)cur;
    p = dot + 1;
  }
}

/* The keys of the walk's facts, by CTR__TOP_ index. */
static const char *const top_names[CTR__TOP__COUNT] = {
  [CTR__TOP_EVENT_NAME] = "eventName",       [CTR__TOP_ERROR_CODE] = "errorCode",
  [CTR__TOP_EVENT_SOURCE] = "eventSource",   [CTR__TOP_EVENT_TYPE] = "eventType",
  [CTR__TOP_EVENT_VERSION] = "eventVersion", [CTR__TOP_EVENT_TIME] = "eventTime",
  [CTR__TOP_AWS_REGION] = "awsRegion",       [CTR__TOP_USER_IDENTITY] = "userIdentity",
  [CTR__TOP_SOURCE_IP] = "sourceIPAddress",
};

/* The CTR__TOP_ index of key[0..n) when it is a top-level key the walk
 * reads into a record's facts, else -1. */
static int top_index(const char *key, size_t n)
{
  int t = -1;
  switch (n) {
  case 9: /* eventName, eventType, eventTime, errorCode, awsRegion */
    if (key[0] == 'e')
      t = key[1] == 'r' ? CTR__TOP_ERROR_CODE
          : key[5] == 'N' ? CTR__TOP_EVENT_NAME
          : key[6] == 'y' ? CTR__TOP_EVENT_TYPE
                          : CTR__TOP_EVENT_TIME;
    else
      t = CTR__TOP_AWS_REGION;
    break;
  case 11:
    t = CTR__TOP_EVENT_SOURCE;
    break;
  case 12:
    t = key[0] == 'e' ? CTR__TOP_EVENT_VERSION : CTR__TOP_USER_IDENTITY;
    break;
  case 15:
    t = CTR__TOP_SOURCE_IP;
    break;
  default:
    return -1;
  }
  return ctr__same_key(key, top_names[t], n) ? t : -1;
}

/* A top-level member from the facts of the walk that cut the record (NULL:
 * not one it reads): the record's keys are unique there, so its bytes are
 * those ctr__lazy_member would find, without a lookup. */
static const ctr__topval *facts_member(const ctr__event *ev, const char *key, size_t n)
{
  int t = ev->facts ? top_index(key, n) : -1;
  return t < 0 ? NULL : &ev->facts->top[t];
}

ctr__step ctr__bytes_member(const ctr__event *ev, const char *key, size_t n, ctr__bspan *out)
{
  /* Parsed already: read where it lies. Most records have no member parsed
   * (root empty), and then no lookup is needed to know it. */
  if (!ev->lazy || (json_object_size(ev->root) && ctr__json_getn(ev->root, key, n)))
    return CTR__STEP_UNSURE;
  const ctr__topval *t = facts_member(ev, key, n);
  if (t) {
    if (!t->kind)
      return CTR__STEP_ABSENT;
    /* A string's facts hold its content: the span takes its quotes too. */
    *out = t->kind == '"' ? (ctr__bspan){t->s - 1, t->len + 2, !t->escaped} : (ctr__bspan){t->s, t->len, false};
    return CTR__STEP_FOUND;
  }
  const ctr__member *m = ctr__lazy_member(ev, key, n);
  if (!m)
    return CTR__STEP_ABSENT;
  *out = (ctr__bspan){m->value, m->value_len, m->plain_string};
  return CTR__STEP_FOUND;
}

const char *ctr__bytes_string(const ctr__event *ev, const ctr__bspan *s)
{
  char *str = ctr__arena_strndup(ev->arena, s->v + 1, s->len - 2);
  if (!str && ev->lazy)
    ev->lazy->failed = true; /* read as absent; the scanner trusts nothing of the record */
  return str;
}

/* Step `key` into the object at o (a value of a walked record), from its
 * members walked once for the record (ctr__walked): UNSURE when they are not
 * kept (not an object, an escaped key, more members than kept, no room
 * left), and the caller walks the path itself. */
static ctr__step walked_step(const ctr__event *ev, const ctr__bspan *o, const ctr__pathstep *step, ctr__bspan *out)
{
  ctr__lazy *lz = ev->lazy;
  ctr__walked *w = lz->walked;
  if (!w || o->v[0] != '{')
    return CTR__STEP_UNSURE;
  size_t k = 0;
  while (k < lz->nwalked && w->object[k] != o->v)
    k++;
  if (k == lz->nwalked) {
    if (k == CTR__WALKED_OBJECTS)
      return CTR__STEP_UNSURE;
    size_t n = ctr__walk_members(o->v, o->len, w->members[k], CTR__WALKED_MEMBERS);
    w->object[k] = o->v;
    w->nmembers[k] = n <= CTR__WALKED_MEMBERS ? n : SIZE_MAX;
    lz->nwalked++;
  } else {
    w->reused++;
  }
  if (w->nmembers[k] == SIZE_MAX)
    return CTR__STEP_UNSURE;
  for (size_t i = w->nmembers[k]; i-- > 0;) { /* the last of a repeated key, as jansson keeps */
    const ctr__member *m = &w->members[k][i];
    if (m->key_len == step->len && ctr__same_key(m->key, step->key, step->len)) {
      *out = (ctr__bspan){m->value, m->value_len, m->plain_string};
      return CTR__STEP_FOUND;
    }
  }
  return CTR__STEP_ABSENT;
}

ctr__step ctr__bytes_path(const ctr__event *ev, const ctr__pathstep *steps, size_t n, ctr__bspan *out)
{
  ctr__step st = ctr__bytes_member(ev, steps[0].key, steps[0].len, out);
  size_t done = 1;
  if (st == CTR__STEP_FOUND && n > 1) {
    ctr__bspan o = *out;
    ctr__step kept = walked_step(ev, &o, &steps[1], out);
    if (kept != CTR__STEP_UNSURE) {
      st = kept;
      done = 2;
    }
  }
  if (st == CTR__STEP_FOUND && n > done)
    st = ctr__walk_path(out->v, out->len, steps + done, n - done, out);
  return st;
}

/* The value at steps[0..n) from the walked bytes of an unparsed member:
 * true when decided, false when jansson must (see ctr__step; also a string
 * with an escape). jansson's cost is per byte parsed: a rule reading
 * userIdentity.type or requestParameters.bucketName would otherwise parse
 * the whole object for one string. */
static bool path_from_bytes(const ctr__event *ev, const ctr__pathstep *steps, size_t n, ctr__pathval *out)
{
  ctr__bspan s;
  ctr__step st = ctr__bytes_path(ev, steps, n, &s);
  *out = (ctr__pathval){CTR__PV_ABSENT, NULL, 0};
  if (st != CTR__STEP_FOUND)
    return st == CTR__STEP_ABSENT;
  if (s.v[0] != '"') {
    out->kind = CTR__PV_OTHER;
    return true;
  }
  if (!s.plain)
    return false;
  const char *str = ctr__bytes_string(ev, &s);
  if (str)
    *out = (ctr__pathval){CTR__PV_STRING, str, s.len - 2};
  return true;
}

static ctr__pathval pathval_of(const json_t *j)
{
  if (!j)
    return (ctr__pathval){CTR__PV_ABSENT, NULL, 0};
  if (!json_is_string(j))
    return (ctr__pathval){CTR__PV_OTHER, NULL, 0};
  return (ctr__pathval){CTR__PV_STRING, json_string_value(j), json_string_length(j)};
}

ctr__pathval ctr__event_steps_value(const ctr__event *ev, const ctr__pathstep *steps, size_t n)
{
  ctr__pathval pv;
  /* A top-level member the walk read (ct.name, ct.error, ct.srcip, ...):
   * its facts say it all unless it is an escaped string. */
  const ctr__topval *t = ev->lazy && n == 1 ? facts_member(ev, steps[0].key, steps[0].len) : NULL;
  if (t && !(t->kind == '"' && t->escaped)) {
    if (t->kind != '"')
      return (ctr__pathval){t->kind ? CTR__PV_OTHER : CTR__PV_ABSENT, NULL, 0};
    const char *str = ctr__bytes_string(ev, &(ctr__bspan){t->s - 1, t->len + 2, true});
    return str ? (ctr__pathval){CTR__PV_STRING, str, t->len} : (ctr__pathval){CTR__PV_ABSENT, NULL, 0};
  }
  if (ev->lazy && path_from_bytes(ev, steps, n, &pv))
    return pv;
  /* As ctr__event_path reads a dotted path: the member, then objects' keys. */
  const json_t *j = ctr__event_getn(ev, steps[0].key, steps[0].len);
  for (size_t i = 1; j && i < n; i++)
    j = ctr__json_getn(j, steps[i].key, steps[i].len);
  return pathval_of(j);
}

ctr__pathval ctr__event_path_value(const ctr__event *ev, const char *dotted)
{
  ctr__pathstep steps[16];
  size_t n = 0;
  for (const char *seg = dotted;; n++) {
    const char *dot = strchr(seg, '.');
    if (n == CTR__COUNTOF(steps))
      return pathval_of(ctr__event_path(ev, dotted)); /* deeper than any field reads */
    steps[n] = (ctr__pathstep){seg, dot ? (size_t)(dot - seg) : strlen(seg), SIZE_MAX};
    if (!dot)
      break;
    seg = dot + 1;
  }
  return ctr__event_steps_value(ev, steps, n + 1);
}

/* ------------------------------------------------------------ values */

void ctr__value_str(ctr__value *out, const char *s, size_t len)
{
  memset(out, 0, sizeof *out);
  out->kind = CTR__V_STR;
  out->str = s;
  out->len = len;
}

void ctr__value_cstr(ctr__value *out, const char *s)
{
  ctr__value_str(out, s, strlen(s));
}

void ctr__value_u64(ctr__value *out, uint64_t v)
{
  memset(out, 0, sizeof *out);
  out->kind = CTR__V_U64;
  out->u64 = v;
}

void ctr__value_plain(const json_t *j, ctr__value *out)
{
  if (!j) {
    memset(out, 0, sizeof *out);
    return;
  }
  if (json_is_string(j))
    ctr__value_str(out, json_string_value(j), json_string_length(j));
  else
    ctr__value_str(out, "", 0);
}

/* ------------------------------------------------------------ compact JSON
 * Re-serialises a json_t the way the plugins' fastjson MarshalTo does:
 * no whitespace, keys in the record's order, strings escaped only where JSON
 * requires it. Two passes (measure, then write) so the text goes into the
 * arena in one piece; jansson's own dumper is not used because it allocates
 * on the heap and prints reals with 17 significant digits (0.1 ->
 * 0.10000000000000001). */

typedef struct jwriter {
  char *p; /* NULL: measure only */
  size_t n;
} jwriter;

static void jw_put(jwriter *w, const char *s, size_t n)
{
  if (w->p)
    memcpy(w->p + w->n, s, n);
  w->n += n;
}

static void jw_char(jwriter *w, char c)
{
  if (w->p)
    w->p[w->n] = c;
  w->n++;
}

static void jw_string(jwriter *w, const char *s, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  jw_char(w, '"');
  size_t run = 0; /* start of the pending run of plain bytes */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    jw_put(w, s + run, i - run);
    run = i + 1;
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t n = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      n = 6;
    }
    jw_put(w, esc, n);
  }
  jw_put(w, s + run, len - run);
  jw_char(w, '"');
}

/* Shortest text that reads back as the same double, written the way the
 * number would usually appear in the record: plain decimals for exponents
 * -6..20 ("0.1", "500.0", "123456.789"), else C's exponent form ("1e+300");
 * always with a '.' or an exponent so it stays a real. */
static size_t format_real(double d, char *buf, size_t size)
{
  if (!isfinite(d)) /* jansson never produces these; keep the output valid JSON */
    return (size_t)snprintf(buf, size, "null");
  int prec = 0, n = 0;
  for (prec = 0; prec <= 16; prec++) {
    n = snprintf(buf, size, "%.*e", prec, d);
    if (strtod(buf, NULL) == d)
      break;
  }
  if (prec > 16)
    prec = 16;
  const char *e = strpbrk(buf, "eE");
  int exp10 = e ? atoi(e + 1) : 0;
  if (exp10 >= -6 && exp10 <= 20) {
    int decimals = prec - exp10 > 0 ? prec - exp10 : 0;
    n = snprintf(buf, size, "%.*f", decimals, d);
  } /* else buf holds the shortest "%.*e" form already */
  if (n < 0 || (size_t)n >= size)
    n = 0;
  bool dot = false;
  for (int i = 0; i < n; i++) {
    if (buf[i] == ',') /* a locale's decimal comma */
      buf[i] = '.';
    if (buf[i] == '.' || buf[i] == 'e' || buf[i] == 'E')
      dot = true;
  }
  if (!dot && (size_t)n + 2 < size) {
    buf[n++] = '.';
    buf[n++] = '0';
    buf[n] = '\0';
  }
  return (size_t)n;
}

static void jw_value(jwriter *w, const json_t *j)
{
  char num[64];
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    jw_char(w, '{');
    bool first = true;
    for (void *it = json_object_iter((json_t *)j); it; it = json_object_iter_next((json_t *)j, it)) {
      if (!first)
        jw_char(w, ',');
      first = false;
      const char *k = json_object_iter_key(it); /* keys never hold a NUL */
      jw_string(w, k, strlen(k));
      jw_char(w, ':');
      jw_value(w, json_object_iter_value(it));
    }
    jw_char(w, '}');
    break;
  }
  case JSON_ARRAY:
    jw_char(w, '[');
    for (size_t i = 0, n = json_array_size(j); i < n; i++) {
      if (i)
        jw_char(w, ',');
      jw_value(w, json_array_get(j, i));
    }
    jw_char(w, ']');
    break;
  case JSON_STRING:
    jw_string(w, json_string_value(j), json_string_length(j));
    break;
  case JSON_INTEGER: {
    int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    jw_put(w, num, n > 0 ? (size_t)n : 0);
    break;
  }
  case JSON_REAL:
    jw_put(w, num, format_real(json_real_value(j), num, sizeof num));
    break;
  case JSON_TRUE:
    jw_put(w, "true", 4);
    break;
  case JSON_FALSE:
    jw_put(w, "false", 5);
    break;
  default:
    jw_put(w, "null", 4);
    break;
  }
}

int ctr__value_compact(const ctr__event *ev, const json_t *j, ctr__value *out)
{
  if (!j) {
    memset(out, 0, sizeof *out);
    return CTR_OK;
  }
  jwriter w = {NULL, 0};
  jw_value(&w, j);
  char *p = ctr__arena_alloc(ev->arena, w.n + 1);
  if (!p)
    return CTR_ENOMEM;
  size_t n = w.n;
  w.p = p;
  w.n = 0;
  jw_value(&w, j);
  p[n] = '\0';
  ctr__value_str(out, p, n);
  return CTR_OK;
}

/* Objects nested deeper, or holding more keys, than this are left to jansson. */
enum { COMPACT_DEPTH = 16, COMPACT_KEYS = 32 };

/* Written from the bytes with whitespace dropped, every other byte as it
 * is: that is jansson's text only when the value holds no backslash (a
 * string is then its bytes, and a walked record's strings hold no control
 * character), no real (jansson reformats one), no "-0", no integer of more
 * than 18 digits (no overflow to think about), and no object with a
 * repeated key (jansson keeps the first place and the last value); and for
 * objects of at most COMPACT_KEYS keys, COMPACT_DEPTH deep. */
size_t ctr__bytes_compact(const char *v, size_t len, char *dst)
{
  if (memchr(v, '\\', len))
    return (size_t)-1;
  struct level {
    bool object, want_key;
    size_t nkeys;
    ctr__str keys[COMPACT_KEYS];
  } stack[COMPACT_DEPTH];
  size_t depth = 0, k = 0;
  for (size_t i = 0; i < len;) {
    char c = v[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      i++;
      continue;
    }
    struct level *top = depth ? &stack[depth - 1] : NULL;
    size_t end = i + 1;
    if (c == '"') {
      const char *q = memchr(v + i + 1, '"', len - i - 1);
      if (!q)
        return (size_t)-1;
      end = (size_t)(q - v) + 1;
      if (top && top->object && top->want_key) {
        ctr__str key = {v + i + 1, end - i - 2};
        for (size_t j = 0; j < top->nkeys; j++)
          if (top->keys[j].len == key.len && memcmp(top->keys[j].s, key.s, key.len) == 0)
            return (size_t)-1; /* a repeated key */
        if (top->nkeys == COMPACT_KEYS)
          return (size_t)-1;
        top->keys[top->nkeys++] = key;
        top->want_key = false;
      }
    } else if (c == '{' || c == '[') {
      if (depth == COMPACT_DEPTH)
        return (size_t)-1;
      struct level *l = &stack[depth++];
      l->object = l->want_key = c == '{';
      l->nkeys = 0;
    } else if (c == '}' || c == ']') {
      if (!depth)
        return (size_t)-1;
      depth--;
    } else if (c == ',') {
      if (top && top->object)
        top->want_key = true;
    } else if (c != ':') { /* a number, true, false or null */
      while (end < len && v[end] != ',' && v[end] != ']' && v[end] != '}' && v[end] != ' ' && v[end] != '\n' &&
             v[end] != '\r' && v[end] != '\t')
        end++;
      size_t n = end - i;
      bool number = c == '-' || (c >= '0' && c <= '9');
      if (number && (memchr(v + i, '.', n) || memchr(v + i, 'e', n) || memchr(v + i, 'E', n) ||
                     n > 18 + (c == '-') || (n == 2 && c == '-' && v[i + 1] == '0')))
        return (size_t)-1;
    }
    memcpy(dst + k, v + i, end - i);
    k += end - i;
    i = end;
  }
  return depth ? (size_t)-1 : k;
}

/* ------------------------------------------------------------ eventTime */

static bool digits(const char *s, int n, int *out)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

static int days_in_month(int year, int month)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
    return 29;
  return days[month - 1];
}

/* Days from 1970-01-01 to year-month-day of the proleptic Gregorian calendar,
 * as timegm counts them (H. Hinnant's days_from_civil): arithmetic instead of
 * the C library's call, which cost most of a parse for every evaluated record. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                   /* [0, 399] */
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)" (RFC 3339; 't'/'z' accepted)
 * or Panther's "YYYY-MM-DD HH:MM:SS[.f{1,9}]" (UTC; a zone is accepted too). */
bool ctr__parse_time(const char *s, int64_t *ns_out)
{
  if (!s || !ns_out)
    return false;
  int year, mon, day, hour, min, sec;
  if (!digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &mon) || s[7] != '-' ||
      !digits(s + 8, 2, &day))
    return false;
  char sep = s[10];
  if (sep != 'T' && sep != 't' && sep != ' ')
    return false;
  if (!digits(s + 11, 2, &hour) || s[13] != ':' || !digits(s + 14, 2, &min) || s[16] != ':' ||
      !digits(s + 17, 2, &sec))
    return false;
  if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 || min > 59 ||
      sec > 59)
    return false;
  const char *p = s + 19;
  int64_t frac = 0;
  if (*p == '.') {
    p++;
    int n = 0;
    while (p[n] >= '0' && p[n] <= '9')
      n++;
    if (n < 1 || n > 9)
      return false;
    for (int i = 0; i < 9; i++)
      frac = frac * 10 + (i < n ? p[i] - '0' : 0);
    p += n;
  }
  int64_t offset = 0; /* seconds east of UTC */
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
      return false;
    offset = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    p += 6;
  } else if (sep != ' ') {
    return false; /* RFC 3339 requires a zone */
  }
  if (*p != '\0')
    return false;

  int64_t secs = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
  /* int64 nanoseconds cover 1677-09-21 .. 2262-04-11. */
  if (secs > INT64_MAX / 1000000000 - 1 || secs < INT64_MIN / 1000000000 + 1)
    return false;
  *ns_out = secs * 1000000000 + frac;
  return true;
}
