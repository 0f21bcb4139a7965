/* render.c - Falco output rendering: the template with every field replaced
 * by its value (`<NA>` when absent), the output_fields values, and the
 * alert as Falco's json_output writes it (ctr_match_json).
 *
 * Rendered text never holds a NUL byte (a "\u0000" in a record's value
 * becomes U+FFFD), since the public API hands it out as C strings: a NUL
 * would silently cut an alert's output short.
 *
 * What ctr_match_json needs beyond the public match accessors is kept by
 * ctr__render in the render output's `json` buffer (the "JSON trailer",
 * written and read only in this file; ctr__match_render reaches it):
 *   hostname NUL
 *   'a' | 's' eventID NUL                     ct.id: absent or its string
 *   per output field: 'a' | 's' | 'u' | 'l' JSON-array NUL
 * ('a' absent, 's' string, 'u' uint64, 'l' list, followed by its items as a
 * JSON array). It costs a byte per field and the eventID per match; the JSON
 * itself is built only when asked for. */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/* Appends n bytes, each NUL as U+FFFD. */
static int append_text(ctr__buf *b, const char *s, size_t n)
{
  int rc = CTR_OK;
  while (rc == CTR_OK && n) {
    const char *nul = memchr(s, '\0', n);
    size_t k = nul ? (size_t)(nul - s) : n;
    rc = ctr__buf_append(b, s, k);
    if (rc == CTR_OK && nul) {
      rc = ctr__buf_append(b, REPLACEMENT, 3);
      k++;
    }
    s += k;
    n -= k;
  }
  return rc;
}

int ctr__render_value(ctr__buf *b, const ctr__value *v)
{
  switch (v->kind) {
  case CTR__V_STR:
    return append_text(b, v->str, v->len);
  case CTR__V_U64:
    return ctr__buf_printf(b, "%llu", (unsigned long long)v->u64);
  case CTR__V_LIST: {
    /* Falco renders a multi-value field as (a,b,c). */
    int rc = ctr__buf_append_char(b, '(');
    for (size_t i = 0; rc == CTR_OK && i < v->count; i++) {
      if (i)
        rc = ctr__buf_append_char(b, ',');
      if (rc == CTR_OK)
        rc = append_text(b, v->items[i].s, v->items[i].len);
    }
    return rc == CTR_OK ? ctr__buf_append_char(b, ')') : rc;
  }
  default:
    return ctr__buf_append_str(b, "<NA>");
  }
}

/* ------------------------------------------------------------ JSON text */

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

/* A JSON string as nlohmann::json's dump() writes it in Falco (no ASCII
 * escaping, invalid UTF-8 replaced by U+FFFD, NUL included). Runs of
 * printable ASCII, the common case, are copied whole. */
static int json_str_body(ctr__buf *b, const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  int rc = ctr__buf_reserve(b, n + 2);
  size_t i = 0;
  while (rc == CTR_OK && i < n) {
    size_t run = i;
    while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
      run++;
    if (run > i)
      rc = ctr__buf_append(b, s + i, run - i);
    i = run;
    if (rc != CTR_OK || i == n)
      break;
    unsigned char c = s[i];
    size_t k = 1;
    char tmp[8];
    const char *esc = tmp;
    switch (c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\n': esc = "\\n"; break;
    case '\r': esc = "\\r"; break;
    case '\t': esc = "\\t"; break;
    case '\b': esc = "\\b"; break;
    case '\f': esc = "\\f"; break;
    default:
      if (c < 0x20) {
        snprintf(tmp, sizeof tmp, "\\u%04x", c);
      } else if ((k = utf8_len(s + i, n - i)) != 0) {
        esc = NULL; /* valid UTF-8: as is */
      } else {
        esc = REPLACEMENT;
        k = 1;
      }
    }
    rc = esc ? ctr__buf_append_str(b, esc) : ctr__buf_append(b, s + i, k);
    i += k;
  }
  return rc;
}

static int json_str(ctr__buf *b, const char *s, size_t n)
{
  int rc = ctr__buf_append_char(b, '"');
  if (rc == CTR_OK)
    rc = json_str_body(b, s, n);
  return rc == CTR_OK ? ctr__buf_append_char(b, '"') : rc;
}

static int json_cstr(ctr__buf *b, const char *s)
{
  return json_str(b, s, strlen(s));
}

/* ------------------------------------------------------------ render */

/* The start of the JSON trailer (see the top of the file): the hostname and
 * the eventID. */
static int trailer_head(ctr__evalctx *cx, ctr__buf *b)
{
  int rc = ctr__buf_append(b, cx->ev->hostname, strlen(cx->ev->hostname) + 1);
  const ctr__field_def *id = ctr__field_lookup("ct.id", 5);
  ctr__value v = {0};
  if (rc == CTR_OK && id)
    rc = id->extract(cx->ev, NULL, 0, &v);
  if (rc == CTR_OK)
    rc = ctr__buf_append_char(b, v.kind == CTR__V_STR ? 's' : 'a');
  if (rc == CTR_OK && v.kind == CTR__V_STR)
    rc = append_text(b, v.str, v.len);
  return rc == CTR_OK ? ctr__buf_append_char(b, '\0') : rc;
}

/* One output field's entry in the JSON trailer. */
static int trailer_field(const ctr__value *v, ctr__buf *b)
{
  static const char kinds[] = {[CTR__V_ABSENT] = 'a', [CTR__V_STR] = 's', [CTR__V_U64] = 'u', [CTR__V_LIST] = 'l'};
  int rc = ctr__buf_append_char(b, (size_t)v->kind < sizeof kinds ? kinds[v->kind] : 'a');
  if (rc != CTR_OK || v->kind != CTR__V_LIST)
    return rc;
  rc = ctr__buf_append_char(b, '[');
  ctr__buf item = {0};
  for (size_t k = 0; rc == CTR_OK && k < v->count; k++) {
    if (k)
      rc = ctr__buf_append_char(b, ',');
    /* Each item as the text output shows it (NUL as U+FFFD). */
    ctr__buf_clear(&item);
    if (rc == CTR_OK)
      rc = append_text(&item, v->items[k].s, v->items[k].len);
    if (rc == CTR_OK)
      rc = json_str(b, item.data ? item.data : "", item.len);
  }
  ctr__buf_free(&item);
  return rc == CTR_OK ? ctr__buf_append(b, "]", 2) : rc; /* with its NUL */
}

int ctr__render(ctr__evalctx *cx, const ctr__crule *r, ctr__render_out *out)
{
  ctr__buf_clear(&out->text);
  ctr__buf_clear(&out->json);
  ctr__buf_clear(&out->values);
  if (r->nofields > out->cap_values) {
    size_t *v = realloc(out->value_off, r->nofields * sizeof *v);
    if (!v)
      return CTR_ENOMEM;
    out->value_off = v;
    out->cap_values = r->nofields;
  }
  int rc = CTR_OK;
  for (size_t i = 0; rc == CTR_OK && i < r->noseg; i++) {
    const ctr__oseg *s = &r->oseg[i];
    if (s->lit) {
      rc = append_text(&out->text, s->lit, s->len);
    } else {
      ctr__value v;
      ctr__eval_expr(cx, s->expr, &v);
      rc = ctr__render_value(&out->text, &v);
    }
  }
  /* Always a terminated string, "" for an empty template. */
  if (rc == CTR_OK)
    rc = ctr__buf_append(&out->text, "", 1);
  if (rc == CTR_OK)
    rc = trailer_head(cx, &out->json);
  for (size_t i = 0; rc == CTR_OK && i < r->nofields; i++) {
    ctr__value v;
    ctr__eval_expr(cx, r->ofield_exprs[i], &v);
    rc = trailer_field(&v, &out->json);
    if (v.kind == CTR__V_ABSENT) {
      out->value_off[i] = (size_t)-1;
      continue;
    }
    out->value_off[i] = out->values.len;
    if (rc == CTR_OK)
      rc = ctr__render_value(&out->values, &v);
    if (rc == CTR_OK)
      rc = ctr__buf_append_char(&out->values, '\0');
  }
  return rc;
}

/* ------------------------------------------------------------ ctr_match_json */

/* One member of output_fields: its name and where its value comes from. */
typedef struct json_field {
  const char *name;
  char kind;         /* 'a' 's' 'u' 'l', or 't': the event time in ns (a number) */
  const char *value; /* 's', 'u': the rendered value; 'l': the JSON array */
} json_field;

static int str_ptr_cmp(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int json_field_cmp(const void *a, const void *b)
{
  return strcmp(((const json_field *)a)->name, ((const json_field *)b)->name);
}

/* Falco's JSON gives the event's timestamp (a number of ns) for these, as
 * libsinsp's extract_as_js does; ours render them as text. */
static bool is_time_field(const char *name)
{
  static const char *const names[] = {"evt.time", "evt.time.s", "evt.time.iso8601", "evt.datetime",
                                      "evt.datetime.s"};
  if (strncmp(name, "evt.", 4) != 0)
    return false;
  for (size_t i = 0; i < CTR__COUNTOF(names); i++)
    if (strcmp(name, names[i]) == 0)
      return true;
  return false;
}

/* The event time as Falco prints it: evt.time ("HH:MM:SS.nnnnnnnnn"), or with
 * `iso` evt.time.iso8601 ("YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000"), in UTC, the
 * same text as those fields (fields_evt.c; tests/test_render.c compares
 * them). Written here, not through the field registry, because an alert's
 * JSON needs it without an event to extract from. */
static char *put_digits(char *p, unsigned v, int width)
{
  for (int i = width - 1; i >= 0; i--, v /= 10)
    p[i] = (char)('0' + v % 10);
  return p + width;
}

/* The event time, broken down once per line. */
typedef struct event_time {
  uint64_t ns; /* since the epoch; 0 for a record without a valid eventTime */
  struct tm tm;
} event_time;

static event_time event_time_of(int64_t time_ns)
{
  event_time t = {.ns = time_ns > 0 ? (uint64_t)time_ns : 0};
  time_t sec = (time_t)(t.ns / 1000000000u);
  if (!gmtime_r(&sec, &t.tm))
    memset(&t.tm, 0, sizeof t.tm);
  return t;
}

/* (Hand-formatted: printf was most of the cost of an alert's JSON.) */
static int time_text(const event_time *t, bool iso, ctr__buf *out)
{
  const struct tm *tm = &t->tm;
  char buf[40], *p = buf;
  if (iso) {
    p = put_digits(p, (unsigned)(tm->tm_year + 1900), 4);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm->tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm->tm_mday, 2);
    *p++ = 'T';
  }
  p = put_digits(p, (unsigned)tm->tm_hour, 2);
  *p++ = ':';
  p = put_digits(p, (unsigned)tm->tm_min, 2);
  *p++ = ':';
  p = put_digits(p, (unsigned)tm->tm_sec, 2);
  *p++ = '.';
  p = put_digits(p, (unsigned)(t->ns % 1000000000u), 9);
  if (iso) {
    memcpy(p, "+0000", 5);
    p += 5;
  }
  return ctr__buf_append(out, buf, (size_t)(p - buf));
}

static int append_u64(ctr__buf *b, uint64_t v)
{
  char buf[24], *p = buf + sizeof buf;
  do {
    *--p = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return ctr__buf_append(b, p, (size_t)(buf + sizeof buf - p));
}

static int json_output_fields(const ctr_match *m, unsigned flags, const char *trailer, const char *event_id,
                              const event_time *t, ctr__buf *b)
{
  size_t n = ctr_match_field_count(m);
  json_field *f = malloc((n + 2) * sizeof *f);
  if (!f)
    return CTR_ENOMEM;
  size_t nf = 0;
  /* The prefix's time field and the eventID, unless the template names them. */
  const char *prefix = flags & CTR_JSON_TIME_ISO8601 ? "evt.time.iso8601" : "evt.time";
  bool have_prefix = false, have_id = false;
  const char *tr = trailer;
  for (size_t i = 0; i < n; i++) {
    json_field *x = &f[nf++];
    x->name = ctr_match_field_name(m, i);
    x->kind = *tr++;
    x->value = x->kind == 'l' ? tr : ctr_match_field_value(m, i);
    if (x->kind == 'l')
      tr += strlen(tr) + 1;
    if (x->kind != 'a' && is_time_field(x->name))
      x->kind = 't';
    have_prefix |= strcmp(x->name, prefix) == 0;
    have_id |= strcmp(x->name, "ct.id") == 0;
  }
  if (!have_prefix)
    f[nf++] = (json_field){prefix, 't', NULL};
  if ((flags & CTR_JSON_EVENT_ID) && !have_id)
    f[nf++] = (json_field){"ct.id", event_id ? 's' : 'a', event_id};
  /* Falco's nlohmann::json objects keep their keys sorted. */
  qsort(f, nf, sizeof *f, json_field_cmp);
  int rc = ctr__buf_append_char(b, '{');
  for (size_t i = 0; rc == CTR_OK && i < nf; i++) {
    if (i)
      rc = ctr__buf_append_char(b, ',');
    if (rc == CTR_OK)
      rc = json_cstr(b, f[i].name);
    if (rc == CTR_OK)
      rc = ctr__buf_append_char(b, ':');
    if (rc != CTR_OK)
      break;
    switch (f[i].kind) {
    case 's':
      rc = json_cstr(b, f[i].value);
      break;
    case 'u':
    case 'l':
      rc = ctr__buf_append_str(b, f[i].value);
      break;
    case 't':
      rc = append_u64(b, t->ns);
      break;
    default:
      rc = ctr__buf_append_str(b, "null");
    }
  }
  free(f);
  return rc == CTR_OK ? ctr__buf_append_char(b, '}') : rc;
}

/* The members after "hostname", in Falco's (sorted) key order. */
static int json_members(const ctr_match *m, unsigned flags, const char *trailer, const char *event_id,
                        const event_time *t, ctr__buf *b)
{
  const char *message = ctr_match_output(m);
  const char *prio = ctr_priority_name(ctr_match_priority(m));
  int rc = CTR_OK;
  if (flags & CTR_JSON_MESSAGE) {
    rc = ctr__buf_append_str(b, ",\"message\":");
    if (rc == CTR_OK)
      rc = json_cstr(b, message);
  }
  if (rc == CTR_OK && !(flags & CTR_JSON_NO_OUTPUT)) {
    /* Falco's output: "<evt.time>: <Priority> <message>". */
    rc = ctr__buf_append_str(b, ",\"output\":\"");
    if (rc == CTR_OK)
      rc = time_text(t, flags & CTR_JSON_TIME_ISO8601, b);
    if (rc == CTR_OK)
      rc = ctr__buf_append(b, ": ", 2);
    if (rc == CTR_OK)
      rc = ctr__buf_append_str(b, prio ? prio : "Debug");
    if (rc == CTR_OK)
      rc = ctr__buf_append_char(b, ' ');
    if (rc == CTR_OK)
      rc = json_str_body(b, message, strlen(message));
    if (rc == CTR_OK)
      rc = ctr__buf_append_char(b, '"');
  }
  if (rc == CTR_OK && !(flags & CTR_JSON_NO_OUTPUT_FIELDS)) {
    rc = ctr__buf_append_str(b, ",\"output_fields\":");
    if (rc == CTR_OK)
      rc = json_output_fields(m, flags, trailer, event_id, t, b);
  }
  if (rc == CTR_OK)
    rc = ctr__buf_append_str(b, ",\"priority\":");
  if (rc == CTR_OK)
    rc = json_cstr(b, prio ? prio : "Debug");
  if (rc == CTR_OK)
    rc = ctr__buf_append_str(b, ",\"rule\":");
  if (rc == CTR_OK)
    rc = json_cstr(b, ctr_match_rule(m));
  if (rc == CTR_OK)
    rc = ctr__buf_append_str(b, ",\"source\":");
  if (rc == CTR_OK)
    rc = json_cstr(b, ctr_match_source(m));
  if (rc == CTR_OK && !(flags & CTR_JSON_NO_TAGS)) {
    /* Falco keeps tags in a std::set: sorted, each once. */
    size_t n = ctr_match_tag_count(m);
    const char **tags = malloc((n ? n : 1) * sizeof *tags);
    if (!tags)
      return CTR_ENOMEM;
    for (size_t i = 0; i < n; i++)
      tags[i] = ctr_match_tag(m, i);
    qsort(tags, n, sizeof *tags, str_ptr_cmp);
    rc = ctr__buf_append_str(b, ",\"tags\":[");
    for (size_t i = 0, w = 0; rc == CTR_OK && i < n; i++) {
      if (i && strcmp(tags[i], tags[i - 1]) == 0)
        continue;
      if (w++)
        rc = ctr__buf_append_char(b, ',');
      if (rc == CTR_OK)
        rc = json_cstr(b, tags[i]);
    }
    free(tags);
    if (rc == CTR_OK)
      rc = ctr__buf_append_char(b, ']');
  }
  return rc;
}

CTR_API int ctr_match_json(const ctr_match *m, unsigned flags, char **out, size_t *len)
{
  if (!m || !out || (flags & ~(unsigned)CTR__JSON_ALL))
    return CTR_EINVAL;
  const char *output = ctr_match_output(m);
  const char *hostname = ctr__match_render(m)->json.data;
  const char *id = hostname + strlen(hostname) + 1;
  const char *trailer = id + strlen(id) + 1;
  const char *event_id = *id == 's' ? id + 1 : NULL;

  ctr__buf b = {0};
  /* One allocation for most lines: the output appears twice at most. */
  int rc = ctr__buf_reserve(&b, 512 + 2 * strlen(output));
  if (rc == CTR_OK)
    rc = ctr__buf_append_str(&b, "{\"hostname\":");
  if (rc == CTR_OK)
    rc = json_cstr(&b, hostname);
  event_time t = event_time_of(ctr_match_time(m));
  if (rc == CTR_OK)
    rc = json_members(m, flags, trailer, event_id, &t, &b);
  /* Falco's time: ISO 8601, UTC, always nine digits of nanoseconds, "Z". */
  if (rc == CTR_OK)
    rc = ctr__buf_append_str(&b, ",\"time\":\"");
  if (rc == CTR_OK)
    rc = time_text(&t, true, &b);
  if (rc == CTR_OK) {
    b.len -= 5; /* "+0000" */
    rc = ctr__buf_append_str(&b, "Z\"}");
  }
  if (rc != CTR_OK) {
    ctr__buf_free(&b);
    return rc;
  }
  if (len)
    *len = b.len;
  *out = b.data;
  return CTR_OK;
}

CTR_API void ctr_free(void *p)
{
  free(p);
}
