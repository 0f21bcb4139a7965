/*
 * fields_json.c - the fields of Falco's json plugin over the CloudTrail
 * record: json.value[<JSON pointer>], json.obj, json.rawtime and their jevt.*
 * aliases; and the fields Sigma rules are translated to (sigma.c):
 * json.values[<dotted path>] and json.ip[<dotted path>].
 */
#include "internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ JSON pointer */

/* Array index the way the plugin's fastjson reads it (Go strconv.Atoi): an
 * optional sign and decimal digits; out-of-range or malformed -> -1. */
static long long array_index(const char *s, size_t n, size_t size)
{
  size_t i = 0;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-'))
    neg = s[i++] == '-';
  if (i == n)
    return -1;
  unsigned long long v = 0;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (unsigned)(s[i] - '0');
    if (v > (unsigned long long)size) /* already out of range; also stops overflow */
      return -1;
  }
  if (neg)
    return v == 0 ? 0 : -1;
  return v < size ? (long long)v : -1;
}

/* Decodes one pointer segment as the plugin does: every "~1" becomes '/',
 * then every "~0" becomes '~'. `dst` has room for n + 1 bytes. */
static size_t decode_segment(const char *s, size_t n, char *dst)
{
  if (!memchr(s, '~', n)) { /* the usual segment: nothing to decode */
    memcpy(dst, s, n);
    dst[n] = '\0';
    return n;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '~' && i + 1 < n && s[i + 1] == '1') {
      dst[k++] = '/';
      i++;
    } else {
      dst[k++] = s[i];
    }
  }
  size_t m = 0;
  for (size_t i = 0; i < k; i++) {
    if (dst[i] == '~' && i + 1 < k && dst[i + 1] == '0') {
      dst[m++] = '~';
      i++;
    } else {
      dst[m++] = dst[i];
    }
  }
  dst[m] = '\0';
  return m;
}

/* Follows an RFC 6901 pointer ("/requestParameters/valuesToAdd/0"); one
 * leading '/' is optional, as in the plugin. *res = NULL when missing. */
static int pointer_get(const ctr__event *ev, const char *ptr, const json_t **res)
{
  *res = NULL;
  if (!ptr || !*ptr)
    return CTR_OK;
  if (*ptr == '/')
    ptr++;
  size_t plen = strlen(ptr);
  char stack[256];
  char *buf = stack;
  if (plen >= sizeof stack) {
    buf = ctr__arena_alloc(ev->arena, plen + 1);
    if (!buf)
      return CTR_ENOMEM;
  }
  const json_t *cur = NULL;
  const char *seg = ptr;
  for (bool top = true;; top = false) {
    const char *slash = strchr(seg, '/');
    size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
    if (top) {
      /* The record's member: a lazy event parses just that one. */
      cur = ctr__event_getn(ev, buf, decode_segment(seg, n, buf));
    } else if (json_is_object(cur)) {
      decode_segment(seg, n, buf);
      cur = json_object_get(cur, buf);
    } else if (json_is_array(cur)) {
      size_t m = decode_segment(seg, n, buf);
      long long idx = array_index(buf, m, json_array_size(cur));
      cur = idx < 0 ? NULL : json_array_get(cur, (size_t)idx);
    } else {
      cur = NULL;
    }
    if (!cur)
      return CTR_OK;
    if (!slash)
      break;
    seg = slash + 1;
  }
  *res = cur;
  return CTR_OK;
}

/* A value found in a walked record's bytes (s), as json.value gives it: a
 * string without escapes its content, true, false and null their words,
 * a number or a container its compact text where the bytes hold it
 * (ctr__bytes_compact); json.values (`values`) gives null no value, and
 * leaves an array (each element a value) to jansson. false: jansson must
 * read it. */
static bool leaf_from_bytes(const ctr__event *ev, const ctr__bspan *s, bool values, ctr__value *out)
{
  const char *str = NULL;
  size_t len = 0;
  switch (s->v[0]) {
  case '"':
    if (!s->plain)
      return false;
    str = ctr__bytes_string(ev, s);
    len = s->len - 2;
    break;
  case 't':
    ctr__value_cstr(out, "true");
    return true;
  case 'f':
    ctr__value_cstr(out, "false");
    return true;
  case 'n':
    if (values)
      ctr__value_absent(out);
    else
      ctr__value_cstr(out, "null");
    return true;
  default: {
    if (values && s->v[0] == '[')
      return false;
    char *p = ctr__arena_alloc(ev->arena, s->len + 1);
    len = p ? ctr__bytes_compact(s->v, s->len, p) : 0;
    if (len == (size_t)-1)
      return false;
    if (p)
      p[len] = '\0';
    str = p;
    break;
  }
  }
  if (str) {
    ctr__value_str(out, str, len);
  } else {
    ev->lazy->failed = true; /* out of memory: read as absent, and nothing of the record is trusted */
    ctr__value_absent(out);
  }
  return true;
}

/* json.value from a walked record's bytes, while the member it lies in is
 * unparsed: a string leaf without escapes, true, false and null are their
 * own bytes, numbers and containers their compact text where the bytes hold
 * it (ctr__bytes_compact), and a pointer that leads nowhere is absent,
 * without parsing the member (a rule's output naming one string of a large
 * responseElements would otherwise parse it whole). What only jansson can
 * tell (ctr__step, an escape, a real) is left to pointer_get: false. */
static bool value_from_bytes(const ctr__event *ev, const char *ptr, ctr__value *out)
{
  if (!ev->lazy || !ptr || !*ptr)
    return false;
  if (*ptr == '/')
    ptr++;
  /* Segments without '~' (nearly all pointers) are their own keys, borrowed
   * from the pointer; with one, each is decoded into buf. */
  size_t plen = strlen(ptr);
  bool tildes = memchr(ptr, '~', plen) != NULL;
  const char *stop = ptr + plen;
  char buf[256];
  ctr__pathstep steps[16];
  size_t n = 0, used = 0;
  for (const char *seg = ptr;; n++) {
    const char *end = memchr(seg, '/', (size_t)(stop - seg));
    size_t len = (size_t)((end ? end : stop) - seg);
    if (n == CTR__COUNTOF(steps) || (tildes && len >= sizeof buf - used))
      return false;
    const char *key = seg;
    if (tildes) {
      key = buf + used;
      len = decode_segment(seg, len, buf + used);
      used += len + 1;
    }
    /* An index as pointer_get reads one, its range checked by the walk. */
    long long idx = len && key[0] <= '9' ? array_index(key, len, (size_t)1 << 40) : -1;
    steps[n] = (ctr__pathstep){key, len, idx < 0 ? SIZE_MAX : (size_t)idx};
    if (!end)
      break;
    seg = end + 1;
  }
  n++;
  ctr__bspan s;
  ctr__step st = ctr__bytes_path(ev, steps, n, &s);
  if (st == CTR__STEP_UNSURE)
    return false;
  if (st == CTR__STEP_ABSENT) {
    ctr__value_absent(out);
    return true;
  }
  return leaf_from_bytes(ev, &s, false, out);
}

/* json.value[ptr]: a string leaf unquoted; any other value as compact JSON
 * (true, 12, ["all"], null, {...}); absent when the pointer leads nowhere. */
static int x_value(const ctr__event *ev, const char *arg, uint64_t argnum, ctr__value *out)
{
  CTR__UNUSED(argnum);
  if (value_from_bytes(ev, arg, out))
    return CTR_OK;
  const json_t *j;
  int rc = pointer_get(ev, arg, &j);
  if (rc != CTR_OK)
    return rc;
  if (json_is_string(j)) {
    ctr__value_str(out, json_string_value(j), json_string_length(j));
    return CTR_OK;
  }
  return ctr__value_compact(ev, j, out);
}

/* ------------------------------------------------------------ json.obj */

/* Re-indents JSON text exactly as Go's json.Indent(dst, src, "", "  ") does
 * (the plugin's json.obj): insignificant whitespace dropped, one member or
 * element per line, ": " after keys, empty {} and [] kept on one line,
 * strings and numbers copied byte for byte, whitespace after the top-level
 * value kept. dst == NULL measures. Returns (size_t)-1 if src is not a
 * well-formed value. */
static size_t reindent(const char *src, size_t n, char *dst)
{
  size_t k = 0;
#define PUT(c)       \
  do {               \
    if (dst)         \
      dst[k] = (c);  \
    k++;             \
  } while (0)
#define NEWLINE(d)                          \
  do {                                      \
    PUT('\n');                              \
    for (size_t i_ = 0; i_ < (d); i_++) {   \
      PUT(' ');                             \
      PUT(' ');                             \
    }                                       \
  } while (0)
  size_t depth = 0;
  bool need_indent = false, in_str = false, esc = false, started = false, done = false;
  for (size_t i = 0; i < n; i++) {
    char c = src[i];
    if (in_str) {
      PUT(c);
      if (esc)
        esc = false;
      else if (c == '\\')
        esc = true;
      else if (c == '"')
        in_str = false;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (done)
        PUT(c);
      continue;
    }
    if (done)
      return (size_t)-1; /* a second value */
    if (need_indent && c != '}' && c != ']') {
      need_indent = false;
      depth++;
      NEWLINE(depth);
    }
    started = true;
    switch (c) {
    case '"':
      in_str = true;
      PUT(c);
      break;
    case '{':
    case '[':
      need_indent = true;
      PUT(c);
      break;
    case ',':
      PUT(c);
      NEWLINE(depth);
      break;
    case ':':
      PUT(c);
      PUT(' ');
      break;
    case '}':
    case ']':
      if (need_indent) {
        need_indent = false; /* empty object/array */
      } else {
        if (depth == 0)
          return (size_t)-1;
        depth--;
        NEWLINE(depth);
      }
      PUT(c);
      if (depth == 0)
        done = true;
      break;
    default:
      PUT(c);
      break;
    }
  }
#undef PUT
#undef NEWLINE
  if (in_str || need_indent || depth != 0 || !started || !done)
    return (size_t)-1;
  return k;
}

static int indent_into_arena(const ctr__event *ev, const char *src, size_t n, ctr__value *out, bool *ok)
{
  *ok = false;
  size_t len = reindent(src, n, NULL);
  if (len == (size_t)-1)
    return CTR_OK;
  char *p = ctr__arena_alloc(ev->arena, len + 1);
  if (!p)
    return CTR_ENOMEM;
  reindent(src, n, p);
  p[len] = '\0';
  ctr__value_str(out, p, len);
  *ok = true;
  return CTR_OK;
}

/* json.obj: the record's own bytes re-indented (Go json.Indent, two spaces);
 * when the raw bytes are unavailable, the parsed record re-serialised. */
static int x_obj(const ctr__event *ev, const char *arg, uint64_t argnum, ctr__value *out)
{
  CTR__UNUSED(arg);
  CTR__UNUSED(argnum);
  bool ok = false;
  int rc;
  if (ev->raw && ev->raw_len) {
    rc = indent_into_arena(ev, ev->raw, ev->raw_len, out, &ok);
    if (rc != CTR_OK || ok)
      return rc;
  }
  const json_t *whole = ev->root ? ctr__event_whole(ev) : NULL;
  if (!whole) {
    memset(out, 0, sizeof *out);
    return CTR_OK;
  }
  ctr__value compact;
  rc = ctr__value_compact(ev, whole, &compact);
  if (rc != CTR_OK)
    return rc;
  rc = indent_into_arena(ev, compact.str, compact.len, out, &ok);
  if (rc == CTR_OK && !ok)
    *out = compact; /* cannot happen: our own output is well formed */
  return rc;
}

/* json.rawtime: the event time in ns since the epoch, as decimal text. */
static int x_rawtime(const ctr__event *ev, const char *arg, uint64_t argnum, ctr__value *out)
{
  CTR__UNUSED(arg);
  CTR__UNUSED(argnum);
  char buf[24];
  int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)(ev->time_ns > 0 ? ev->time_ns : 0));
  char *p = ctr__arena_strndup(ev->arena, buf, (size_t)n);
  if (!p)
    return CTR_ENOMEM;
  ctr__value_str(out, p, (size_t)n);
  return CTR_OK;
}

/* ------------------------------------------------------------ json.values */

/* Values collected in the event arena (a grown array is copied; the old one
 * stays in the arena until the event ends). */
typedef struct vlist {
  ctr__str *v;
  size_t n, cap;
} vlist;

static int vl_push(const ctr__event *ev, vlist *l, const char *s, size_t n)
{
  ctr__str *v = ctr__arena_grow(ev->arena, l->v, l->n, &l->cap, sizeof *v);
  if (!v)
    return CTR_ENOMEM;
  l->v = v;
  l->v[l->n++] = (ctr__str){s, n};
  return CTR_OK;
}

/* What SIEM backends index for a leaf: a string its content, an array each
 * of its elements (arrays within crossed too), null nothing, any other value
 * its compact JSON text (true, 12, {"a":1}). Recursion is bounded by the
 * record depth limit the framer enforces. */
static int leaf_values(const ctr__event *ev, const json_t *j, vlist *l)
{
  if (!j || json_is_null(j))
    return CTR_OK;
  if (json_is_array(j)) {
    for (size_t i = 0; i < json_array_size(j); i++) {
      int rc = leaf_values(ev, json_array_get(j, i), l);
      if (rc != CTR_OK)
        return rc;
    }
    return CTR_OK;
  }
  if (json_is_string(j))
    return vl_push(ev, l, json_string_value(j), json_string_length(j));
  ctr__value c;
  int rc = ctr__value_compact(ev, j, &c);
  return rc != CTR_OK ? rc : vl_push(ev, l, c.str, c.len);
}

/* Follows `path` (dotted object keys, [path, end)) from j: an array met on
 * the way is crossed, each element following the rest of the path. */
static int path_values(const ctr__event *ev, const json_t *j, const char *path, const char *end, vlist *l)
{
  if (json_is_array(j)) {
    for (size_t i = 0; i < json_array_size(j); i++) {
      int rc = path_values(ev, json_array_get(j, i), path, end, l);
      if (rc != CTR_OK)
        return rc;
    }
    return CTR_OK;
  }
  if (path >= end)
    return leaf_values(ev, j, l);
  const char *dot = memchr(path, '.', (size_t)(end - path));
  const char *seg_end = dot ? dot : end;
  const json_t *kid = ctr__json_getn(j, path, (size_t)(seg_end - path));
  return kid ? path_values(ev, kid, dot ? dot + 1 : end, end, l) : CTR_OK;
}

/* Every value the dotted path reaches in the record (see path_values). */
static int collect_values(const ctr__event *ev, const char *arg, vlist *l)
{
  if (!arg || !*arg)
    return CTR_OK;
  const char *end = arg + strlen(arg);
  const char *dot = strchr(arg, '.');
  const char *seg_end = dot ? dot : end;
  /* The record's member: a lazy event parses just that one. */
  const json_t *top = ctr__event_getn(ev, arg, (size_t)(seg_end - arg));
  return top ? path_values(ev, top, dot ? dot + 1 : end, end, l) : CTR_OK;
}

static void set_values(const vlist *l, ctr__value *out)
{
  if (l->n == 0) {
    ctr__value_absent(out);
  } else if (l->n == 1) {
    ctr__value_str(out, l->v[0].s, l->v[0].len); /* one value compares as a string (val() on the right) */
  } else {
    memset(out, 0, sizeof *out);
    out->kind = CTR__V_LIST;
    out->items = l->v;
    out->count = l->n;
  }
}

/* json.values from a walked record's bytes while the member is unparsed
 * (correlations group by such paths on every match they count): a path that
 * meets no array, to a leaf leaf_from_bytes reads, or to nothing. false:
 * jansson reads it (an array on the way or at the end, an escape, a real). */
static bool values_from_bytes(const ctr__event *ev, const char *arg, ctr__value *out)
{
  if (!ev->lazy || !arg || !*arg)
    return false;
  ctr__pathstep steps[16];
  size_t n = 0;
  for (const char *seg = arg;; n++) {
    const char *dot = strchr(seg, '.');
    if (n == CTR__COUNTOF(steps))
      return false;
    steps[n] = (ctr__pathstep){seg, dot ? (size_t)(dot - seg) : strlen(seg), SIZE_MAX};
    if (!dot || !dot[1])
      break; /* a dot ending the path ends it, as path_values reads it */
    seg = dot + 1;
  }
  n++;
  ctr__bspan s;
  ctr__step st = ctr__bytes_path(ev, steps, n, &s);
  if (st == CTR__STEP_UNSURE)
    return false;
  if (st == CTR__STEP_ABSENT) {
    /* A key step leads nowhere on an array, where jansson's reading crosses
     * it: absent only when no prefix of the path is an array. */
    for (size_t i = 1; i < n; i++) {
      st = ctr__bytes_path(ev, steps, i, &s);
      if (st == CTR__STEP_UNSURE || (st == CTR__STEP_FOUND && s.v[0] == '['))
        return false;
      if (st == CTR__STEP_ABSENT)
        break;
    }
    ctr__value_absent(out);
    return true;
  }
  return leaf_from_bytes(ev, &s, true, out);
}

/* json.values[a.b.c]: the values of a dotted path, arrays crossed; absent
 * when there is none. */
static int x_values(const ctr__event *ev, const char *arg, uint64_t argnum, ctr__value *out)
{
  CTR__UNUSED(argnum);
  if (values_from_bytes(ev, arg, out))
    return CTR_OK;
  vlist l = {0};
  int rc = collect_values(ev, arg, &l);
  if (rc == CTR_OK)
    set_values(&l, out);
  return rc;
}

/* json.ip[a.b.c]: those values of the path that are IP addresses, as "4:"
 * and 8 hex digits or "6:" and 32 (lower case): an address in a CIDR block
 * then starts with the block's prefix digits, which a glob checks. */
static int x_ip(const ctr__event *ev, const char *arg, uint64_t argnum, ctr__value *out)
{
  CTR__UNUSED(argnum);
  vlist all = {0}, ips = {0};
  int rc = collect_values(ev, arg, &all);
  for (size_t i = 0; i < all.n && rc == CTR_OK; i++) {
    char text[64];
    unsigned char bin[16];
    if (all.v[i].len >= sizeof text)
      continue;
    memcpy(text, all.v[i].s, all.v[i].len);
    text[all.v[i].len] = '\0';
    bool v6 = strchr(text, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, text, bin) != 1)
      continue;
    size_t nb = v6 ? 16 : 4;
    char *s = ctr__arena_alloc(ev->arena, 2 + 2 * nb + 1);
    if (!s)
      return CTR_ENOMEM;
    s[0] = v6 ? '6' : '4';
    s[1] = ':';
    for (size_t k = 0; k < nb; k++)
      snprintf(s + 2 + 2 * k, 3, "%02x", bin[k]);
    rc = vl_push(ev, &ips, s, 2 + 2 * nb);
  }
  if (rc == CTR_OK)
    set_values(&ips, out);
  return rc;
}

#define VALUE_DESC                                                                                         \
  "JSON pointer (RFC 6901, ~0 ~1 escapes, array indexes; leading '/' optional) into the record: a string " \
  "leaf unquoted, any other value as compact JSON (true, 12, [\"all\"], null, {...}); absent if the path "  \
  "does not exist."
#define OBJ_DESC "The whole record as JSON indented with two spaces (Go json.Indent of the record's bytes)."
#define VALUES_DESC                                                                                        \
  "Every value a dotted path of object keys reaches in the record (a.b.c; an array on the way is crossed, "   \
  "each element followed): a string its content, an array each element, any other value its compact JSON "  \
  "(true, 12, {...}); null has none. One value is a string, several a list; absent if there is none. "      \
  "What Sigma field names are translated to (docs/sigma.md)."
#define IP_DESC                                                                                            \
  "The values of json.values[path] that are IP addresses, as 4:<8 hex digits> or 6:<32 hex digits> (lower " \
  "case), so that a CIDR block is a prefix (Sigma's cidr modifier)."
#define RAWTIME_DESC "The event time (eventTime) in nanoseconds since the epoch, as decimal text (= evt.rawtime)."

/* json.value, jevt.value and json.values are CTR__RAW_JSON_LEAF: a string
 * leaf is its content, anything else compact JSON (see x_value, leaf_values).
 * json.obj is CTR__RAW_JSON_TEXT: it re-indents the record's bytes, strings
 * as written (jansson's compact text of the parsed record only when they do
 * not indent, and then a \u escape the record holds keeps it a candidate).
 * json.rawtime formats a number: not verbatim. */
const ctr__field_def ctr__fields_json[] = {
  {"json.value", CTR__FT_STRING, CTR__ARG_KEY_REQUIRED, x_value, VALUE_DESC, CTR__RAW_JSON_LEAF, 0},
  {"json.obj", CTR__FT_STRING, CTR__ARG_NONE, x_obj, OBJ_DESC, CTR__RAW_JSON_TEXT, 0},
  {"json.rawtime", CTR__FT_STRING, CTR__ARG_NONE, x_rawtime, RAWTIME_DESC, CTR__RAW_NONE, 0},
  {"json.values", CTR__FT_LIST, CTR__ARG_KEY_REQUIRED, x_values, VALUES_DESC, CTR__RAW_JSON_LEAF, 0},
  {"json.ip", CTR__FT_LIST, CTR__ARG_KEY_REQUIRED, x_ip, IP_DESC, CTR__RAW_NONE, 0},
  {"jevt.value", CTR__FT_STRING, CTR__ARG_KEY_REQUIRED, x_value, "Alias of json.value: " VALUE_DESC, CTR__RAW_JSON_LEAF,
   0},
  {"jevt.obj", CTR__FT_STRING, CTR__ARG_NONE, x_obj, "Alias of json.obj: " OBJ_DESC, CTR__RAW_JSON_TEXT, 0},
  {"jevt.rawtime", CTR__FT_STRING, CTR__ARG_NONE, x_rawtime, "Alias of json.rawtime: " RAWTIME_DESC, CTR__RAW_NONE, 0},
};

const size_t ctr__fields_json_count = CTR__COUNTOF(ctr__fields_json);
