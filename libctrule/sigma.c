/* sigma.c - Sigma detection rules for logsource aws/cloudtrail, translated
 * into the engine's own condition text, with every piece of that text
 * mapped back to the Sigma scalar it came from (ctr__span), so a problem is
 * reported at file:line:column of the Sigma document and the rule is then
 * compiled, indexed, prefiltered and rendered like any Falco rule.
 *
 * The data model (docs/sigma.md): a field name is a dotted path into the
 * record, read by json.values[path] (arrays crossed, any element matches;
 * objects, booleans and numbers as compact JSON text; null is no value);
 * matching is case-insensitive (iglob) unless `cased`. Here: the fields,
 * values and modifiers of the selections, and the document; the condition
 * that combines the selections is read in sigma_condition.c. */
#include "sigma.h"

#define PCRE2_CODE_UNIT_WIDTH 8 /* re: the pattern is checked with PCRE2 (emit_re) */
#include <pcre2.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

typedef ctr__sigma_ctx sctx;
typedef ctr__sigma_named named;

/* Reports at byte `off` of scalar `at` (any other node: its start). Returns
 * CTR_ESYNTAX for `return ctr__sigma_err(...)`. */
int ctr__sigma_err(sctx *x, const ctr__ynode *at, size_t off, const char *code, const char *fmt, ...)
{
  unsigned line = at->line, col = at->col;
  if (at->kind == CTR__Y_SCALAR)
    ctr__ynode_pos(at, off, &line, &col);
  va_list ap;
  va_start(ap, fmt);
  ctr__diag_vadd(x->diags, CTR_SEVERITY_ERROR, at->src->name, line, col, x->title, code, fmt, ap);
  va_end(ap);
  return CTR_ESYNTAX;
}


/* The key node of `key` in a map (where a map-valued entry is reported). */
const ctr__ynode *ctr__sigma_key(const ctr__ynode *map, const char *key)
{
  for (size_t i = 0; map && map->kind == CTR__Y_MAP && i + 1 < map->n; i += 2)
    if (ctr__is_scalar(map->items[i]) && strcmp(map->items[i]->value, key) == 0)
      return map->items[i];
  return NULL;
}

/* A YAML null: a plain ~, null (any case YAML allows) or empty scalar. */
static bool is_null(const ctr__ynode *n)
{
  return ctr__is_scalar(n) && n->style == YAML_PLAIN_SCALAR_STYLE &&
         (n->len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
          strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0);
}

/* A plain YAML boolean, as JSON spells it; NULL if not one. */
const char *ctr__sigma_bool(const ctr__ynode *n)
{
  if (!ctr__is_scalar(n) || n->style != YAML_PLAIN_SCALAR_STYLE)
    return NULL;
  if (!strcmp(n->value, "true") || !strcmp(n->value, "True") || !strcmp(n->value, "TRUE"))
    return "true";
  if (!strcmp(n->value, "false") || !strcmp(n->value, "False") || !strcmp(n->value, "FALSE"))
    return "false";
  return NULL;
}

/* ------------------------------------------------------------ text builder
 * The condition as it is built: its bytes and, for each piece, the scalar
 * (and offset in it) it stands for; NULL for pure syntax. */

typedef ctr__sigma_tb tb;

static void tb_put(tb *t, const char *s, size_t n, const ctr__ynode *sc, size_t off)
{
  if (t->oom || n == 0)
    return;
  if (t->nsp == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    ctr__span *v = realloc(t->sp, cap * sizeof *v);
    if (!v) {
      t->oom = true;
      return;
    }
    t->sp = v;
    t->cap = cap;
  }
  size_t at = t->b.len;
  if (ctr__buf_append(&t->b, s, n) != CTR_OK) {
    t->oom = true;
    return;
  }
  t->sp[t->nsp++] = (ctr__span){.at = at, .len = n, .scalar = sc, .scalar_off = off};
}

void ctr__sigma_tb_gen(tb *t, const char *s) { tb_put(t, s, strlen(s), NULL, 0); }

/* Generated text that stands for scalar `sc` (an error in it points there). */
static void tb_at(tb *t, const char *s, const ctr__ynode *sc) { tb_put(t, s, strlen(s), sc, 0); }

void ctr__sigma_tb_cat(tb *t, const tb *o)
{
  for (size_t i = 0; i < o->nsp && !t->oom; i++)
    tb_put(t, o->b.data + o->sp[i].at, o->sp[i].len, o->sp[i].scalar, o->sp[i].scalar_off);
  t->oom |= o->oom;
}

static void tb_free(tb *t)
{
  ctr__buf_free(&t->b);
  free(t->sp);
  memset(t, 0, sizeof *t);
}

/* Moves the builder's content into a ctr__text (replacing what it held). */
static int tb_take(tb *t, ctr__text *out)
{
  if (t->oom || (!t->b.data && ctr__buf_reserve(&t->b, 0) != CTR_OK))
    return CTR_ENOMEM;
  ctr__text_free(out);
  out->s = t->b.data;
  out->len = t->b.len;
  out->spans = t->sp;
  out->nspans = t->nsp;
  memset(t, 0, sizeof *t);
  return CTR_OK;
}

/* A double-quoted string literal of the condition grammar holding s[0..n)
 * exactly (lex.c's escapes), standing for scalar sc. */
static void tb_lit(tb *t, const char *s, size_t n, const ctr__ynode *sc)
{
  ctr__buf q = {0};
  bool ok = ctr__buf_append_char(&q, '"') == CTR_OK;
  for (size_t i = 0; i < n && ok; i++) {
    const char *e = NULL;
    switch (s[i]) {
    case '\\': e = "\\\\"; break;
    case '"': e = "\\\""; break;
    case '\n': e = "\\n"; break;
    case '\r': e = "\\r"; break;
    case '\t': e = "\\t"; break;
    case '\b': e = "\\b"; break;
    case '\f': e = "\\f"; break;
    default: break;
    }
    ok = (e ? ctr__buf_append_str(&q, e) : ctr__buf_append_char(&q, s[i])) == CTR_OK;
  }
  ok = ok && ctr__buf_append_char(&q, '"') == CTR_OK;
  if (ok)
    tb_put(t, q.data, q.len, sc, 0);
  else
    t->oom = true;
  ctr__buf_free(&q);
}

/* ------------------------------------------------------------ fields */

typedef enum { MK_EQ, MK_CONTAINS, MK_STARTSWITH, MK_ENDSWITH, MK_RE, MK_CIDR, MK_EXISTS, MK_FIELDREF } mkind;

typedef struct field {
  const ctr__ynode *key; /* the "name|mod|mod" scalar */
  char *name;            /* the field path (owned) */
  mkind kind;
  bool all, cased, b64, b64offset, expand;
  char re_flags[4]; /* i m s, as given */
} field;

/* A Sigma field name this translation can pass to json.values[...]: dotted
 * keys of letters, digits and _ - @ $ : / (no empty key). */
bool ctr__sigma_path(const char *s, size_t n)
{
  if (n == 0 || s[0] == '.' || s[n - 1] == '.')
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || ctr__one_of("_-@$:/.", c);
    if (!ok || (c == '.' && s[i + 1] == '.'))
      return false;
  }
  return true;
}

/* Reads "name|mod|mod" into f. */
static int read_field(sctx *x, const ctr__ynode *key, field *f)
{
  memset(f, 0, sizeof *f);
  f->key = key;
  if (!ctr__is_scalar(key))
    return ctr__sigma_err(x, key, 0, CODE_INVALID, "a detection key must be a field name (with modifiers)");
  const char *s = key->value, *bar = strchr(s, '|');
  size_t n = bar ? (size_t)(bar - s) : key->len;
  if (n == 0)
    return ctr__sigma_err(x, key, 0, CODE_UNSUPPORTED, "keyword (field-less) search is not supported: name a field");
  if (!ctr__sigma_path(s, n))
    return ctr__sigma_err(x, key, 0, CODE_UNSUPPORTED,
               "field name '%.*s' is not a dotted path of keys made of letters, digits and _ - @ $ : /", (int)n, s);
  if (!(f->name = ctr__strndup(s, n)))
    return CTR_ENOMEM;
  bool kind_set = false, re_seen = false;
  while (bar) {
    const char *m = bar + 1;
    bar = strchr(m, '|');
    size_t mn = bar ? (size_t)(bar - m) : strlen(m);
    size_t off = (size_t)(m - s);
    static const struct { const char *name; mkind kind; } kinds[] = {
      {"contains", MK_CONTAINS}, {"startswith", MK_STARTSWITH}, {"endswith", MK_ENDSWITH}, {"re", MK_RE},
      {"cidr", MK_CIDR}, {"exists", MK_EXISTS}, {"fieldref", MK_FIELDREF}};
    bool known = false;
    for (size_t k = 0; k < CTR__COUNTOF(kinds); k++)
      if (strlen(kinds[k].name) == mn && memcmp(kinds[k].name, m, mn) == 0) {
        if (kind_set)
          return ctr__sigma_err(x, key, off, CODE_INVALID, "modifier '%.*s' cannot be combined with another matching modifier", (int)mn, m);
        f->kind = kinds[k].kind;
        kind_set = known = true;
        re_seen = f->kind == MK_RE;
      }
    if (known)
      continue;
#define IS(w) (strlen(w) == mn && memcmp(w, m, mn) == 0)
    if (IS("all")) {
      f->all = true;
    } else if (IS("cased")) {
      f->cased = true;
    } else if (IS("base64") || IS("base64offset")) {
      if (kind_set)
        return ctr__sigma_err(x, key, off, CODE_INVALID, "'%.*s' must come before the matching modifier", (int)mn, m);
      if (f->b64 || f->b64offset)
        return ctr__sigma_err(x, key, off, CODE_INVALID, "base64 and base64offset cannot both apply");
      f->b64 = IS("base64");
      f->b64offset = !f->b64;
    } else if (IS("i") || IS("ignorecase") || IS("m") || IS("multiline") || IS("s") || IS("dotall")) {
      if (!re_seen)
        return ctr__sigma_err(x, key, off, CODE_INVALID, "regular expression flag '%.*s' must follow 're'", (int)mn, m);
      char fl = m[0] == 'i' ? 'i' : m[0] == 'm' ? 'm' : 's';
      if (!strchr(f->re_flags, fl))
        f->re_flags[strlen(f->re_flags)] = fl;
    } else if (IS("expand")) {
      f->expand = true;
    } else if (IS("windash") || IS("wide") || IS("utf16") || IS("utf16le") || IS("utf16be")) {
      return ctr__sigma_err(x, key, off, CODE_UNSUPPORTED,
                 "modifier '%.*s' is for Windows command lines and encodings, not CloudTrail records", (int)mn, m);
    } else if (IS("lt") || IS("lte") || IS("gt") || IS("gte") || IS("neq") || IS("minute") || IS("hour") ||
               IS("day") || IS("week") || IS("month") || IS("year")) {
      return ctr__sigma_err(x, key, off, CODE_UNSUPPORTED, "modifier '%.*s' is not supported", (int)mn, m);
    } else {
      return ctr__sigma_err(x, key, off, CODE_INVALID, "unknown modifier '%.*s'", (int)mn, m);
    }
#undef IS
  }
  if ((f->b64 || f->b64offset) && f->kind != MK_EQ && f->kind != MK_CONTAINS && f->kind != MK_STARTSWITH &&
      f->kind != MK_ENDSWITH)
    return ctr__sigma_err(x, key, 0, CODE_INVALID, "base64 modifiers apply to plain, contains, startswith or endswith matching only");
  if (f->kind == MK_EXISTS && (f->all || f->cased))
    return ctr__sigma_err(x, key, 0, CODE_INVALID, "'exists' takes no other modifier");
  if (f->expand && (f->kind != MK_EQ || f->b64 || f->b64offset || f->cased))
    return ctr__sigma_err(x, key, 0, CODE_UNSUPPORTED, "'expand' is supported alone: a placeholder stands for a Falco list of values");
  return CTR_OK;
}

/* The field's operand in the condition: json.values[path]. */
static void tb_field(tb *t, const field *f, const char *family)
{
  char buf[32];
  snprintf(buf, sizeof buf, "json.%s[", family);
  tb_at(t, buf, f->key);
  tb_put(t, f->name, strlen(f->name), f->key, 0);
  tb_at(t, "]", f->key);
}

/* ------------------------------------------------------------ values */

/* A Sigma string (escapes \* \? \\; * and ? wildcards) as a glob pattern
 * (eval.c: * ? [ \ escaped with a backslash). *wild: it has a wildcard.
 * Number and boolean scalars have no wildcards. */
static int sigma_glob(const ctr__ynode *v, bool literal, ctr__buf *out, bool *wild)
{
  *wild = false;
  const char *s = v->value;
  for (size_t i = 0; i < v->len; i++) {
    char c = s[i];
    if (!literal && c == '\\' && i + 1 < v->len && ctr__one_of("*?\\", s[i + 1])) {
      c = s[++i];
    } else if (!literal && (c == '*' || c == '?')) {
      *wild = true;
      if (ctr__buf_append_char(out, c) != CTR_OK)
        return CTR_ENOMEM;
      continue;
    }
    if (ctr__one_of("*?[\\", c) && ctr__buf_append_char(out, '\\') != CTR_OK)
      return CTR_ENOMEM;
    if (ctr__buf_append_char(out, c) != CTR_OK)
      return CTR_ENOMEM;
  }
  return CTR_OK;
}

/* base64 of s[0..n) (standard alphabet, padded) appended to out. */
static int b64_encode(const unsigned char *s, size_t n, ctr__buf *out)
{
  static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
    char q[4] = {al[v >> 18 & 63], al[v >> 12 & 63], i + 1 < n ? al[v >> 6 & 63] : '=', i + 2 < n ? al[v & 63] : '='};
    if (ctr__buf_append(out, q, 4) != CTR_OK)
      return CTR_ENOMEM;
  }
  return CTR_OK;
}

/* One check of a plain string comparison: `pat` is a glob pattern. */
static void emit_match(tb *t, const field *f, const ctr__ynode *v, const char *pat, size_t n, bool wild, bool cased)
{
  bool star_l = f->kind == MK_CONTAINS || f->kind == MK_ENDSWITH;
  bool star_r = f->kind == MK_CONTAINS || f->kind == MK_STARTSWITH;
  wild |= star_l || star_r;
  if (cased && !wild) {
    /* Exact: eventName and eventSource through ct.name / ct.src, the
     * fields the eventName index and the prefilter are keyed on. */
    bool ct = n > 0 && (!strcmp(f->name, "eventName") || !strcmp(f->name, "eventSource"));
    if (ct)
      tb_at(t, f->name[5] == 'N' ? "ct.name" : "ct.src", f->key);
    else
      tb_field(t, f, "values");
    tb_at(t, " = ", f->key);
    /* the pattern has no wildcard: unescape it back */
    ctr__buf lit = {0};
    for (size_t i = 0; i < n; i++) {
      if (pat[i] == '\\' && i + 1 < n)
        i++;
      if (ctr__buf_append_char(&lit, pat[i]) != CTR_OK) {
        t->oom = true;
        break;
      }
    }
    tb_lit(t, lit.data ? lit.data : "", lit.len, v);
    ctr__buf_free(&lit);
    return;
  }
  tb_field(t, f, "values");
  tb_at(t, cased ? " glob " : " iglob ", f->key);
  ctr__buf g = {0};
  if ((star_l && ctr__buf_append_char(&g, '*')) || ctr__buf_append(&g, pat, n) ||
      (star_r && ctr__buf_append_char(&g, '*')) || (!g.data && ctr__buf_reserve(&g, 0)))
    t->oom = true;
  else
    tb_lit(t, g.data, g.len, v);
  ctr__buf_free(&g);
}

/* Sigma's base64 / base64offset of a value: the one or three encodings a
 * match may look for (pySigma's offsets), each checked case-sensitively. */
static int emit_b64(sctx *x, tb *t, const field *f, const ctr__ynode *v)
{
  if (memchr(v->value, '*', v->len) || memchr(v->value, '?', v->len))
    return ctr__sigma_err(x, v, 0, CODE_INVALID, "a base64 value cannot hold wildcards");
  size_t variants = f->b64offset ? 3 : 1;
  static const size_t start[3] = {0, 2, 3};
  static const size_t endcut[3] = {0, 3, 2}; /* by (len + i) % 3 */
  if (variants > 1)
    ctr__sigma_tb_gen(t, "(");
  for (size_t i = 0; i < variants; i++) {
    ctr__buf raw = {0}, enc = {0}, pat = {0};
    int rc = CTR_OK;
    for (size_t k = 0; k < i && rc == CTR_OK; k++)
      rc = ctr__buf_append_char(&raw, ' ');
    if (rc == CTR_OK)
      rc = ctr__buf_append(&raw, v->value, v->len);
    if (rc == CTR_OK)
      rc = b64_encode((const unsigned char *)(raw.data ? raw.data : ""), raw.len, &enc);
    size_t a = 0, b = enc.len;
    if (f->b64offset) {
      a = start[i];
      size_t cut = endcut[(v->len + i) % 3];
      b = enc.len >= cut ? enc.len - cut : 0;
      if (b < a)
        b = a;
    }
    ctr__ynode lit = *v; /* the encoding as a literal string (no wildcards) */
    lit.value = enc.data ? enc.data + a : "";
    lit.len = b - a;
    bool wild;
    if (rc == CTR_OK)
      rc = sigma_glob(&lit, true, &pat, &wild);
    if (rc == CTR_OK) {
      if (i)
        ctr__sigma_tb_gen(t, " or ");
      emit_match(t, f, v, pat.data ? pat.data : "", pat.len, false, true);
    }
    ctr__buf_free(&raw);
    ctr__buf_free(&enc);
    ctr__buf_free(&pat);
    if (rc != CTR_OK)
      return rc;
  }
  if (variants > 1)
    ctr__sigma_tb_gen(t, ")");
  return CTR_OK;
}

/* Sigma's re: a PCRE2 search (the engine's regex is a full match, so the
 * pattern is wrapped), flags i m s from the modifiers. */
static int emit_re(sctx *x, tb *t, const field *f, const ctr__ynode *v)
{
  uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  for (const char *p = f->re_flags; *p; p++)
    opts |= *p == 'i' ? PCRE2_CASELESS : *p == 'm' ? PCRE2_MULTILINE : PCRE2_DOTALL;
  int ec;
  PCRE2_SIZE eoff;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)v->value, v->len, opts, &ec, &eoff, NULL);
  if (!re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(ec, msg, sizeof msg);
    return ctr__sigma_err(x, v, eoff, CODE_INVALID, "invalid regular expression: %s", (const char *)msg);
  }
  pcre2_code_free(re);
  /* Wrapping must not change the pattern: extended mode could comment the
   * wrapper out, and a leading (*VERB) must stay first. */
  for (size_t i = 0; i + 1 < v->len; i++) {
    if (v->value[i] == '\\') {
      i++;
      continue;
    }
    if (v->value[i] == '(' && v->value[i + 1] == '*')
      return ctr__sigma_err(x, v, i, CODE_UNSUPPORTED, "(*VERB) pattern options are not supported in a Sigma regular expression");
    if (v->value[i] == '(' && v->value[i + 1] == '?') {
      size_t k = i + 2;
      while (k < v->len && ctr__one_of("imnsxJU-^", v->value[k]))
        if (v->value[k++] == 'x')
          return ctr__sigma_err(x, v, i, CODE_UNSUPPORTED, "the x (extended) flag is not supported in a Sigma regular expression");
    }
  }
  ctr__buf w = {0};
  int rc = ctr__buf_append_str(&w, "(?s:.*)(?:");
  if (rc == CTR_OK && f->re_flags[0])
    rc = ctr__buf_printf(&w, "(?%s)", f->re_flags);
  if (rc == CTR_OK)
    rc = ctr__buf_append(&w, v->value, v->len);
  if (rc == CTR_OK)
    rc = ctr__buf_append_str(&w, "\\E)(?s:.*)"); /* \E closes a \Q left open */
  if (rc == CTR_OK) {
    tb_field(t, f, "values");
    tb_at(t, " regex ", f->key);
    tb_lit(t, w.data, w.len, v);
  }
  ctr__buf_free(&w);
  return rc;
}

/* Sigma's cidr: json.ip[path] (4:/6: and hex digits) starts with the
 * block's prefix digits; a prefix ending inside a digit is a class. */
static int emit_cidr(sctx *x, tb *t, const field *f, const ctr__ynode *v)
{
  char addr[64];
  const char *slash = strchr(v->value, '/');
  size_t an = slash ? (size_t)(slash - v->value) : v->len;
  unsigned char bin[16];
  bool v6 = memchr(v->value, ':', an) != NULL;
  unsigned maxbits = v6 ? 128 : 32, bits = maxbits;
  if (an >= sizeof addr)
    return ctr__sigma_err(x, v, 0, CODE_INVALID, "'%s' is not a CIDR block", v->value);
  memcpy(addr, v->value, an);
  addr[an] = '\0';
  if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) != 1)
    return ctr__sigma_err(x, v, 0, CODE_INVALID, "'%s' is not a CIDR block (address/prefix length)", v->value);
  if (slash) {
    char *end;
    unsigned long b = strtoul(slash + 1, &end, 10);
    if (!slash[1] || *end || b > maxbits)
      return ctr__sigma_err(x, v, (size_t)(slash - v->value) + 1, CODE_INVALID, "prefix length must be 0 to %u", maxbits);
    bits = (unsigned)b;
  }
  char pat[64];
  size_t k = (size_t)snprintf(pat, sizeof pat, "%c:", v6 ? '6' : '4');
  static const char hex[] = "0123456789abcdef";
  for (unsigned d = 0; d < bits / 4; d++)
    pat[k++] = hex[(bin[d / 2] >> (d % 2 ? 0 : 4)) & 15];
  if (bits % 4) {
    unsigned d = bits / 4, digit = (bin[d / 2] >> (d % 2 ? 0 : 4)) & 15, free_bits = 4 - bits % 4;
    unsigned lo = digit & ~((1u << free_bits) - 1), hi = lo | ((1u << free_bits) - 1);
    k += (size_t)snprintf(pat + k, sizeof pat - k, "[%c-%c]", hex[lo], hex[hi]);
  }
  if (bits < maxbits)
    pat[k++] = '*';
  pat[k] = '\0';
  tb_field(t, f, "ip");
  tb_at(t, " glob ", f->key);
  tb_lit(t, pat, k, v);
  return CTR_OK;
}

/* Sigma's expand: a value '%name%' is a placeholder, and the values it
 * stands for are those of the Falco list `name`, which must be defined
 * before the Sigma document (a tuning file loaded first); the field matches
 * when any of its values is one of the list's items (exactly). */
static int emit_expand(sctx *x, tb *t, const field *f, const ctr__ynode *v)
{
  size_t n = v->len;
  if (n < 3 || v->value[0] != '%' || v->value[n - 1] != '%')
    return ctr__sigma_err(x, v, 0, CODE_UNSUPPORTED, "an 'expand' value must be one placeholder, '%%name%%'");
  const char *name = v->value + 1;
  for (size_t i = 0; i < n - 2; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') ||
          name[i] == '_' || (i > 0 && (name[i] == '-' || name[i] == '.'))))
      return ctr__sigma_err(x, v, 1 + i, CODE_UNSUPPORTED, "placeholder '%s' is not a Falco list name", v->value);
  if (!ctr__defs_list(x->defs, name, n - 2))
    return ctr__sigma_err(x, v, 1, CODE_INVALID,
               "placeholder '%s' has no values: define the Falco list '%.*s' in a rules file loaded before this one",
               v->value, (int)(n - 2), name);
  tb_field(t, f, "values");
  tb_at(t, " intersects (", f->key);
  tb_put(t, name, n - 2, v, 1);
  tb_at(t, ")", f->key);
  return CTR_OK;
}

/* One value of a field: one check (or a group of them). */
static int emit_value(sctx *x, tb *t, const field *f, const ctr__ynode *v)
{
  if (!ctr__is_scalar(v))
    return ctr__sigma_err(x, v, 0, CODE_INVALID, "a field's value must be a scalar or a list of scalars");
  if (memchr(v->value, '\0', v->len))
    return ctr__sigma_err(x, v, 0, CODE_UNSUPPORTED, "a value holding a NUL character is not supported");
  if (f->kind == MK_EXISTS) {
    const char *b = ctr__sigma_bool(v);
    if (!b)
      return ctr__sigma_err(x, v, 0, CODE_INVALID, "'exists' takes true or false");
    if (b[0] == 'f')
      tb_at(t, "not ", f->key);
    tb_field(t, f, "values");
    tb_at(t, " exists", f->key);
    return CTR_OK;
  }
  if (is_null(v)) {
    if (f->kind != MK_EQ || f->b64 || f->b64offset)
      return ctr__sigma_err(x, v, 0, CODE_INVALID, "null cannot be matched with a modifier");
    tb_at(t, "not ", f->key); /* null: no value (absent, or JSON null) */
    tb_field(t, f, "values");
    tb_at(t, " exists", f->key);
    return CTR_OK;
  }
  if (f->b64 || f->b64offset)
    return emit_b64(x, t, f, v);
  if (f->expand)
    return emit_expand(x, t, f, v);
  switch (f->kind) {
  case MK_RE:
    return emit_re(x, t, f, v);
  case MK_CIDR:
    return emit_cidr(x, t, f, v);
  case MK_FIELDREF:
    if (!ctr__sigma_path(v->value, v->len))
      return ctr__sigma_err(x, v, 0, CODE_INVALID, "'%s' is not a field name", v->value);
    ctr__sigma_tb_gen(t, f->cased ? "" : "tolower(");
    tb_field(t, f, "values");
    tb_at(t, f->cased ? " = val(json.values[" : ") = tolower(json.values[", f->key);
    tb_put(t, v->value, v->len, v, 0);
    tb_at(t, "])", v);
    return CTR_OK;
  default:
    break;
  }
  const char *b = ctr__sigma_bool(v);
  ctr__ynode boolnode = *v;
  if (b) { /* compares as JSON spells it */
    boolnode.value = (char *)b;
    boolnode.len = strlen(b);
  }
  ctr__buf pat = {0};
  bool wild;
  /* numbers and booleans (plain scalars) have no wildcards */
  bool literal = v->style == YAML_PLAIN_SCALAR_STYLE && (b || strspn(v->value, "+-0123456789.eE") == v->len);
  int rc = sigma_glob(&boolnode, literal, &pat, &wild);
  if (rc == CTR_OK)
    emit_match(t, f, v, pat.data ? pat.data : "", pat.len, wild, f->cased);
  ctr__buf_free(&pat);
  return rc;
}

/* field: value or field: [values]: any value (all with |all). */
static int emit_field(sctx *x, tb *t, const ctr__ynode *key, const ctr__ynode *val)
{
  field f;
  int rc = read_field(x, key, &f);
  if (rc == CTR_OK) {
    if (val->kind == CTR__Y_SEQ) {
      if (val->n == 0)
        rc = ctr__sigma_err(x, val, 0, CODE_INVALID, "a field's list of values is empty");
      if (f.kind == MK_EXISTS && rc == CTR_OK)
        rc = ctr__sigma_err(x, val, 0, CODE_INVALID, "'exists' takes one value, true or false");
      ctr__sigma_tb_gen(t, "(");
      for (size_t i = 0; i < val->n && rc == CTR_OK; i++) {
        if (i)
          ctr__sigma_tb_gen(t, f.all ? " and " : " or ");
        rc = emit_value(x, t, &f, val->items[i]);
      }
      ctr__sigma_tb_gen(t, ")");
    } else {
      rc = emit_value(x, t, &f, val);
    }
  }
  free(f.name);
  return rc;
}

/* A selection: a map (every field) or a list of maps (any of them). */
static int emit_selection(sctx *x, tb *t, const ctr__ynode *sel)
{
  if (sel->kind == CTR__Y_MAP) {
    if (sel->n == 0)
      return ctr__sigma_err(x, sel, 0, CODE_INVALID, "a selection is empty");
    ctr__sigma_tb_gen(t, "(");
    for (size_t i = 0; i < sel->n / 2; i++) {
      if (i)
        ctr__sigma_tb_gen(t, " and ");
      int rc = emit_field(x, t, sel->items[2 * i], sel->items[2 * i + 1]);
      if (rc != CTR_OK)
        return rc;
    }
    ctr__sigma_tb_gen(t, ")");
    return CTR_OK;
  }
  if (sel->kind == CTR__Y_SEQ && sel->n > 0) {
    ctr__sigma_tb_gen(t, "(");
    for (size_t i = 0; i < sel->n; i++) {
      if (sel->items[i]->kind != CTR__Y_MAP)
        return ctr__sigma_err(x, sel->items[i], 0, CODE_UNSUPPORTED,
                   "keyword (field-less) search is not supported: a selection lists maps of fields");
      if (i)
        ctr__sigma_tb_gen(t, " or ");
      int rc = emit_selection(x, t, sel->items[i]);
      if (rc != CTR_OK)
        return rc;
    }
    ctr__sigma_tb_gen(t, ")");
    return CTR_OK;
  }
  return ctr__sigma_err(x, sel, 0, sel->kind == CTR__Y_SEQ ? CODE_INVALID : CODE_UNSUPPORTED,
             sel->kind == CTR__Y_SEQ ? "a selection is empty" : "keyword (field-less) search is not supported: a selection is a map of fields");
}

/* The detection into one condition text. */
static int translate_detection(sctx *x, const ctr__ynode *det, tb *out)
{
  if (!det || det->kind != CTR__Y_MAP)
    return ctr__sigma_err(x, det ? det : x->doc, 0, CODE_INVALID, "'detection' must be a map of selections and a condition");
  const ctr__ynode *cond = ctr__ymap_get(det, "condition");
  if (!cond)
    return ctr__sigma_err(x, det, 0, CODE_INVALID, "detection has no condition");
  if (ctr__ymap_get(det, "timeframe"))
    return ctr__sigma_err(x, ctr__ymap_get(det, "timeframe"), 0, CODE_UNSUPPORTED,
               "'timeframe' (aggregation) is not supported; Sigma correlation rules are the successor");
  named *sel = calloc(det->n ? det->n : 1, sizeof *sel);
  if (!sel)
    return CTR_ENOMEM;
  size_t nsel = 0;
  int rc = CTR_OK;
  for (size_t i = 0; i < det->n / 2 && rc == CTR_OK; i++) {
    const ctr__ynode *k = det->items[2 * i];
    if (!ctr__is_scalar(k))
      rc = ctr__sigma_err(x, k, 0, CODE_INVALID, "a selection name must be a string");
    else if (strcmp(k->value, "condition") != 0) {
      sel[nsel].name = k;
      rc = emit_selection(x, &sel[nsel].text, det->items[2 * i + 1]);
      nsel++;
      if (rc == CTR_OK && sel[nsel - 1].text.oom)
        rc = CTR_ENOMEM;
    }
  }
  if (rc == CTR_OK && cond->kind == CTR__Y_SEQ) {
    /* a list of conditions (older Sigma): any of them */
    if (cond->n == 0)
      rc = ctr__sigma_err(x, cond, 0, CODE_INVALID, "condition list is empty");
    for (size_t i = 0; i < cond->n && rc == CTR_OK; i++) {
      ctr__sigma_tb_gen(out, i ? " or (" : "(");
      rc = ctr__sigma_condition(x, cond->items[i], sel, nsel, out);
      ctr__sigma_tb_gen(out, ")");
    }
  } else if (rc == CTR_OK) {
    rc = ctr__sigma_condition(x, cond, sel, nsel, out);
  }
  for (size_t i = 0; i < nsel; i++)
    tb_free(&sel[i].text);
  free(sel);
  return rc;
}

/* ------------------------------------------------------------ the rule */

bool ctr__sigma_is_doc(const ctr__ynode *doc)
{
  static const char *const keys[] = {"detection", "logsource", "correlation", "filter", "action"};
  if (!doc || doc->kind != CTR__Y_MAP)
    return false;
  for (size_t i = 0; i < CTR__COUNTOF(keys); i++)
    if (ctr__ymap_get(doc, keys[i]))
      return true;
  return false;
}

/* Sigma's level as a Falco priority (docs/sigma.md); NULL if unknown. */
static const char *priority_of(const char *level)
{
  static const char *const map[][2] = {{"informational", "informational"}, {"low", "notice"}, {"medium", "warning"},
                                       {"high", "error"}, {"critical", "critical"}};
  for (size_t i = 0; i < CTR__COUNTOF(map); i++)
    if (strcasecmp(level, map[i][0]) == 0)
      return map[i][1];
  return NULL;
}

/* The priority of `level` (Warning when there is none). */
int ctr__sigma_level(sctx *x, const ctr__ynode *level, const char **prio)
{
  *prio = "warning";
  if (level && (!ctr__is_scalar(level) || !(*prio = priority_of(level->value))))
    return ctr__sigma_err(x, level, 0, CODE_INVALID, "level '%s' is not informational, low, medium, high or critical",
               ctr__is_scalar(level) ? level->value : "?");
  return CTR_OK;
}

static int check_logsource(sctx *x)
{
  const ctr__ynode *ls = ctr__ymap_get(x->doc, "logsource");
  if (!ls || ls->kind != CTR__Y_MAP)
    return ctr__sigma_err(x, ls ? ls : x->doc, 0, CODE_INVALID, "a Sigma rule needs a logsource map");
  const ctr__ynode *product = ctr__ymap_get(ls, "product"), *service = ctr__ymap_get(ls, "service"),
                   *category = ctr__ymap_get(ls, "category");
  if (category)
    return ctr__sigma_err(x, category, 0, CODE_UNSUPPORTED, "logsource category '%s' is not supported (product aws, service cloudtrail only)",
               ctr__is_scalar(category) ? category->value : "?");
  if (!ctr__is_scalar(product) || strcasecmp(product->value, "aws") != 0)
    return ctr__sigma_err(x, product ? product : ls, 0, CODE_UNSUPPORTED,
               "logsource product '%s' is not supported (product aws, service cloudtrail only)",
               ctr__is_scalar(product) ? product->value : "(none)");
  if (!ctr__is_scalar(service) || strcasecmp(service->value, "cloudtrail") != 0)
    return ctr__sigma_err(x, service ? service : ls, 0, CODE_UNSUPPORTED,
               "logsource service '%s' is not supported (product aws, service cloudtrail only)",
               ctr__is_scalar(service) ? service->value : "(none)");
  return CTR_OK;
}

/* The alert text: who did what to which resource, where (as the built-in
 * rules say it), then the fields the rule lists under `fields`. */
static int build_output(sctx *x, tb *t)
{
  ctr__sigma_tb_gen(t, "%ct.name on %ct.src (user=%ct.user arn=%ct.user.arn account=%ct.user.accountid "
            "resources=%ct.resources request=%ct.request region=%ct.region ip=%ct.srcip agent=%ct.useragent "
            "error=%ct.error");
  const ctr__ynode *fields = ctr__ymap_get(x->doc, "fields");
  if (fields && fields->kind == CTR__Y_SEQ) {
    for (size_t i = 0; i < fields->n; i++) {
      const ctr__ynode *f = fields->items[i];
      if (!ctr__is_scalar(f) || !ctr__sigma_path(f->value, f->len))
        return ctr__sigma_err(x, f, 0, CODE_UNSUPPORTED, "a 'fields' entry must be a field name (a dotted path of keys)");
      ctr__sigma_tb_gen(t, " ");
      tb_put(t, f->value, f->len, f, 0);
      ctr__sigma_tb_gen(t, "=%json.values[");
      tb_put(t, f->value, f->len, f, 0);
      ctr__sigma_tb_gen(t, "]");
    }
  }
  ctr__sigma_tb_gen(t, ")");
  return t->oom ? CTR_ENOMEM : CTR_OK;
}

/* A synthetic scalar node at the position of `at`, for merge.c. */
static ctr__ynode synth(const ctr__ynode *at, const char *value)
{
  ctr__ynode n = *at;
  n.kind = CTR__Y_SCALAR;
  n.value = (char *)value;
  n.len = strlen(value);
  n.style = YAML_PLAIN_SCALAR_STYLE;
  n.items = NULL;
  n.n = 0;
  return n;
}

/* Hands merge.c a rule item (so a Sigma rule is a rule like any other:
 * tags, limits, later appends and overrides by its title), then gives it
 * the translated condition and output. */
static int add_rule(sctx *x, const ctr__ynode *title, const ctr__ynode *desc, const char *prio, tb *cond, tb *out)
{
  const ctr__ynode *tags = ctr__ymap_get(x->doc, "tags"), *id = ctr__ymap_get(x->doc, "id");
  const ctr__ynode *sname = ctr__ymap_get(x->doc, "name");
  size_t ntags = (tags && tags->kind == CTR__Y_SEQ ? tags->n : 0) + 3;
  ctr__ynode *tagv = calloc(ntags, sizeof *tagv), **tagp = calloc(ntags, sizeof *tagp);
  char *idtag = NULL, *nametag = NULL;
  int rc = CTR_OK;
  if (!tagv || !tagp)
    rc = CTR_ENOMEM;
  size_t nt = 0;
  for (size_t i = 0; rc == CTR_OK && tags && tags->kind == CTR__Y_SEQ && i < tags->n; i++) {
    if (!ctr__is_scalar(tags->items[i]))
      rc = ctr__sigma_err(x, tags->items[i], 0, CODE_INVALID, "a tag must be a string");
    else
      tagv[nt++] = *tags->items[i];
  }
  if (rc == CTR_OK && tags && tags->kind != CTR__Y_SEQ)
    rc = ctr__sigma_err(x, tags, 0, CODE_INVALID, "'tags' must be a list");
  if (rc == CTR_OK) {
    tagv[nt++] = synth(title, "sigma");
    if (ctr__is_scalar(id)) {
      size_t n = strlen(id->value) + 10;
      if (!(idtag = malloc(n)))
        rc = CTR_ENOMEM;
      else {
        snprintf(idtag, n, "sigma.id:%s", id->value);
        tagv[nt++] = synth(id, idtag);
      }
    }
    /* the name a correlation may refer to the rule by */
    if (rc == CTR_OK && ctr__is_scalar(sname) && sname->len) {
      size_t n = sname->len + 12;
      if (!(nametag = malloc(n)))
        rc = CTR_ENOMEM;
      else {
        snprintf(nametag, n, "sigma.name:%s", sname->value);
        tagv[nt++] = synth(sname, nametag);
      }
    }
  }
  if (rc == CTR_OK) {
    for (size_t i = 0; i < nt; i++)
      tagp[i] = &tagv[i];
    ctr__ynode k[7], v[7], seq = synth(tags ? tags : title, "");
    seq.kind = CTR__Y_SEQ;
    seq.items = tagp;
    seq.n = nt;
    static const char *const keys[] = {"rule", "condition", "output", "desc", "priority", "source", "tags"};
    v[0] = *title;
    v[1] = synth(title, "sigma");
    v[2] = synth(title, "sigma");
    v[3] = *desc;
    v[4] = synth(ctr__ymap_get(x->doc, "level") ? ctr__ymap_get(x->doc, "level") : title, prio);
    v[5] = synth(title, "aws_cloudtrail");
    v[6] = seq;
    ctr__ynode *items[14];
    for (size_t i = 0; i < 7; i++) {
      k[i] = synth(title, keys[i]);
      items[2 * i] = &k[i];
      items[2 * i + 1] = &v[i];
    }
    ctr__ynode item = synth(x->doc, "");
    item.kind = CTR__Y_MAP;
    item.items = items;
    item.n = 14; /* keys and values */
    size_t before = x->defs->nrules;
    rc = ctr__merge_item(x->defs, x->diags, &item);
    if (rc == CTR_OK && x->defs->nrules == before + 1) {
      ctr__rule_def *r = &x->defs->rules[before];
      if ((rc = tb_take(cond, &r->cond)) == CTR_OK)
        rc = tb_take(out, &r->output);
      if (rc != CTR_OK) { /* no span may point at this function's nodes */
        ctr__text_free(&r->cond);
        ctr__text_free(&r->output);
      }
    } else if (rc == CTR_OK) {
      rc = ctr__sigma_err(x, title, 0, CODE_INVALID, "internal: the rule was not added"); /* cannot happen: name checked unique */
    }
  }
  free(idtag);
  free(nametag);
  free(tagv);
  free(tagp);
  return rc;
}

int ctr__sigma_merge(ctr__defs *defs, ctr__diags *diags, const ctr__ynode *doc)
{
  sctx x = {.defs = defs, .diags = diags, .doc = doc, .max_bytes = defs->limits[CTR_LIMIT_CONDITION_BYTES]};
  const ctr__ynode *title = ctr__ymap_get(doc, "title");
  if (!ctr__is_scalar(title) || title->len == 0)
    return ctr__sigma_err(&x, title ? title : doc, 0, CODE_INVALID, "a Sigma rule needs a title (it names the rule)");
  x.title = title->value;
  const ctr__ynode *n;
  if ((n = ctr__sigma_key(doc, "correlation")))
    return ctr__sigma_correlation(&x, n);
  if ((n = ctr__sigma_key(doc, "filter")))
    return ctr__sigma_err(&x, n, 0, CODE_UNSUPPORTED, "Sigma filter documents are not supported");
  if ((n = ctr__ymap_get(doc, "action")))
    return ctr__sigma_err(&x, n, 0, CODE_UNSUPPORTED, "Sigma rule collections (action: %s) are not supported: write one document per rule",
               ctr__is_scalar(n) ? n->value : "?");
  int rc = check_logsource(&x);
  if (rc != CTR_OK)
    return rc;
  const ctr__ynode *level = ctr__ymap_get(doc, "level"), *desc = ctr__ymap_get(doc, "description");
  const char *prio;
  if (ctr__sigma_level(&x, level, &prio) != CTR_OK)
    return CTR_ESYNTAX;
  if (desc && !ctr__is_scalar(desc))
    return ctr__sigma_err(&x, desc, 0, CODE_INVALID, "'description' must be a string");
  for (size_t i = 0; i < defs->nrules; i++)
    if (strcmp(defs->rules[i].name, title->value) == 0) {
      const ctr__pos *p = &defs->rules[i].pos;
      return ctr__sigma_err(&x, title, 0, CODE_INVALID, "a rule named '%s' is already defined at %s:%u:%u", title->value,
                 p->src ? p->src->name : "?", p->line, p->col);
    }
  tb cond = {0}, out = {0};
  rc = translate_detection(&x, ctr__ymap_get(doc, "detection"), &cond);
  if (rc == CTR_OK)
    rc = build_output(&x, &out);
  if (rc == CTR_OK)
    rc = add_rule(&x, title, desc ? desc : title, prio, &cond, &out);
  tb_free(&cond);
  tb_free(&out);
  return rc;
}
