/* eval.c - runs compiled conditions on one event, and a record's candidate
 * rules one after the other (ctr__eval_rules). Every field is extracted
 * at most once per event: values are cached per slot and stamped with the
 * event's generation, so nothing needs clearing between events. */
#include "eval.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int extract_slot(ctr__evalctx *cx, uint32_t slot, ctr__value *out)
{
  ctr__cache_entry *ce = &cx->cache[slot];
  if (ce->gen != cx->gen) {
    const ctr__slot *s = &cx->rs->slots[slot];
    memset(&ce->v, 0, sizeof ce->v);
    int rc = s->def->extract(cx->ev, s->arg, s->argnum, &ce->v);
    if (rc != CTR_OK) {
      /* Not cached: every rule that reads this field sees the failure, not a
       * cached "absent" that would read as a real value. */
      cx->error = rc;
      memset(out, 0, sizeof *out);
      return rc;
    }
    ce->gen = cx->gen;
  }
  *out = ce->v;
  return CTR_OK;
}

static int b64val(unsigned char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

/* Standard or URL-safe base64, padding optional; false if not base64. */
static bool b64_decode(ctr__arena *a, const char *s, size_t len, ctr__value *out)
{
  char *dst = ctr__arena_alloc(a, len / 4 * 3 + 4);
  if (!dst)
    return false;
  size_t n = 0;
  unsigned acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < len && s[i] != '='; i++) {
    int v = b64val((unsigned char)s[i]);
    if (v < 0)
      return false;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      dst[n++] = (char)((acc >> bits) & 0xFF);
    }
  }
  for (; i < len; i++)
    if (s[i] != '=')
      return false;
  dst[n] = '\0';
  ctr__value_str(out, dst, n);
  return true;
}

static int nomem(ctr__evalctx *cx)
{
  cx->error = CTR_ENOMEM;
  return CTR_ENOMEM;
}

/* One value as a string, numbers in decimal (in the event arena). */
static bool value_str(ctr__evalctx *cx, const ctr__value *v, ctr__str *out)
{
  if (v->kind == CTR__V_STR) {
    *out = (ctr__str){v->str, v->len};
    return true;
  }
  if (v->kind != CTR__V_U64)
    return false;
  char buf[24];
  int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v->u64);
  out->s = ctr__arena_strndup(cx->ev->arena, buf, (size_t)n);
  out->len = (size_t)n;
  return out->s != NULL;
}

/* A growing list of strings in the event arena (old arrays stay there). */
typedef struct strlist {
  ctr__str *v;
  size_t n, cap;
} strlist;

static bool strlist_push(ctr__evalctx *cx, strlist *l, const char *s, size_t len)
{
  ctr__str *v = ctr__arena_grow(cx->ev->arena, l->v, l->n, &l->cap, sizeof *v);
  if (!v)
    return false;
  l->v = v;
  l->v[l->n++] = (ctr__str){s, len};
  return true;
}

/* Appends a value (a list's items, or one value) to l; false if absent. */
static int strlist_add_value(ctr__evalctx *cx, strlist *l, const ctr__value *v)
{
  if (v->kind == CTR__V_LIST) {
    for (size_t i = 0; i < v->count; i++)
      if (!strlist_push(cx, l, v->items[i].s, v->items[i].len))
        return nomem(cx);
    return CTR_OK;
  }
  ctr__str one;
  if (!value_str(cx, v, &one))
    return v->kind == CTR__V_ABSENT ? CTR_ENOENT : nomem(cx);
  return strlist_push(cx, l, one.s, one.len) ? CTR_OK : nomem(cx);
}

static void value_list(ctr__value *out, const strlist *l)
{
  memset(out, 0, sizeof *out);
  out->kind = CTR__V_LIST;
  out->items = l->v;
  out->count = l->n;
}

/* getopt(3) over a command line, as Falco's getopt() transformer reads it:
 * each option letter found, then its argument when the option string gives
 * it one (the rest of the word, else the next word, else ""); words that are
 * not options are skipped, "--" ends the options, unknown letters are
 * skipped. */
static int getopt_values(ctr__evalctx *cx, const ctr__value *args, const ctr__str *optstring, strlist *out)
{
  for (size_t w = 0; w < args->count; w++) {
    const ctr__str *word = &args->items[w];
    if (word->len == 2 && word->s[0] == '-' && word->s[1] == '-')
      break;
    if (word->len < 2 || word->s[0] != '-')
      continue;
    for (size_t k = 1; k < word->len; k++) {
      char c = word->s[k];
      const char *spec = c != ':' ? memchr(optstring->s, c, optstring->len) : NULL;
      if (!spec)
        continue;
      if (!strlist_push(cx, out, word->s + k, 1))
        return nomem(cx);
      if ((size_t)(spec - optstring->s) + 1 < optstring->len && spec[1] == ':') {
        bool ok;
        if (k + 1 < word->len)
          ok = strlist_push(cx, out, word->s + k + 1, word->len - k - 1);
        else if (w + 1 < args->count) {
          w++;
          ok = strlist_push(cx, out, args->items[w].s, args->items[w].len);
        }
        else
          ok = strlist_push(cx, out, "", 0);
        if (!ok)
          return nomem(cx);
        break;
      }
    }
  }
  return CTR_OK;
}

/* tolower / toupper / b64 / basename of one string; false: no value. */
static bool transform_one(ctr__evalctx *cx, ctr__tf tf, const char *str, size_t len, ctr__value *out)
{
  ctr__arena *a = cx->ev->arena;
  switch (tf) {
  case CTR__TF_TOLOWER:
  case CTR__TF_TOUPPER: {
    char *s = ctr__arena_strndup(a, str, len);
    if (!s)
      return nomem(cx), false;
    for (size_t i = 0; i < len; i++)
      s[i] = (char)(tf == CTR__TF_TOLOWER ? tolower((unsigned char)s[i]) : toupper((unsigned char)s[i]));
    ctr__value_str(out, s, len);
    return true;
  }
  case CTR__TF_B64:
    return b64_decode(a, str, len, out); /* not base64: no value */
  case CTR__TF_BASENAME: {
    const char *slash = NULL;
    for (size_t i = 0; i < len; i++)
      if (str[i] == '/')
        slash = str + i;
    size_t off = slash ? (size_t)(slash - str) + 1 : 0;
    ctr__value_str(out, str + off, len - off);
    return true;
  }
  default:
    return false;
  }
}

/* join / concat / getopt and transformer lists: values of every argument. */
static int eval_multi(ctr__evalctx *cx, const ctr__cexpr *e, ctr__value *out)
{
  ctr__value v;
  strlist l = {0};
  int rc = CTR_OK;
  switch (e->tf) {
  case CTR__TF_LIST:
    for (size_t i = 0; i < e->nargs && rc == CTR_OK; i++)
      if ((rc = ctr__eval_expr(cx, e->args[i], &v)) == CTR_OK)
        rc = strlist_add_value(cx, &l, &v);
    if (rc == CTR_OK)
      value_list(out, &l);
    break;
  case CTR__TF_CONCAT:
  case CTR__TF_JOIN: {
    ctr__str sep = {"", 0};
    if (e->tf == CTR__TF_JOIN) {
      if ((rc = ctr__eval_expr(cx, e->args[0], &v)) != CTR_OK || !value_str(cx, &v, &sep))
        break;
      if ((rc = ctr__eval_expr(cx, e->args[1], &v)) != CTR_OK || (rc = strlist_add_value(cx, &l, &v)) != CTR_OK)
        break;
    } else {
      for (size_t i = 0; i < e->nargs && rc == CTR_OK; i++)
        if ((rc = ctr__eval_expr(cx, e->args[i], &v)) == CTR_OK)
          rc = strlist_add_value(cx, &l, &v);
    }
    if (rc != CTR_OK)
      break;
    ctr__buf b = {0};
    for (size_t i = 0; i < l.n && rc == CTR_OK; i++)
      if ((i && ctr__buf_append(&b, sep.s, sep.len) != CTR_OK) || ctr__buf_append(&b, l.v[i].s, l.v[i].len) != CTR_OK)
        rc = CTR_ENOMEM;
    size_t len = b.len;
    char *s = rc == CTR_OK ? ctr__arena_strndup(cx->ev->arena, b.data ? b.data : "", len) : NULL;
    ctr__buf_free(&b);
    if (!s)
      return nomem(cx);
    ctr__value_str(out, s, len);
    break;
  }
  case CTR__TF_GETOPT: {
    ctr__value opt;
    ctr__str os;
    if ((rc = ctr__eval_expr(cx, e->args[0], &v)) != CTR_OK || v.kind != CTR__V_LIST ||
        (rc = ctr__eval_expr(cx, e->args[1], &opt)) != CTR_OK || !value_str(cx, &opt, &os))
      break;
    if ((rc = getopt_values(cx, &v, &os, &l)) == CTR_OK)
      value_list(out, &l);
    break;
  }
  default:
    break;
  }
  return rc == CTR_ENOMEM ? nomem(cx) : CTR_OK; /* anything else: no value */
}

int ctr__eval_expr(ctr__evalctx *cx, const ctr__cexpr *e, ctr__value *out)
{
  if (e->tf == CTR__TF_NONE) /* most expressions: a field, extract_slot writes all of *out */
    return extract_slot(cx, e->slot, out);
  memset(out, 0, sizeof *out);
  switch (e->tf) {
  case CTR__TF_LIT:
    ctr__value_str(out, e->lit.s, e->lit.len);
    return CTR_OK;
  case CTR__TF_LIST:
  case CTR__TF_JOIN:
  case CTR__TF_CONCAT:
  case CTR__TF_GETOPT:
    return eval_multi(cx, e, out);
  default:
    break;
  }
  ctr__value in;
  int rc = ctr__eval_expr(cx, e->args[0], &in);
  if (rc != CTR_OK || in.kind == CTR__V_ABSENT)
    return rc;
  if (e->tf == CTR__TF_LEN) {
    ctr__value_u64(out, in.kind == CTR__V_LIST ? in.count : in.len);
    return CTR_OK;
  }
  if (in.kind == CTR__V_STR) {
    transform_one(cx, e->tf, in.str, in.len, out);
    return cx->error == CTR_ENOMEM ? CTR_ENOMEM : CTR_OK;
  }
  if (in.kind != CTR__V_LIST)
    return CTR_OK;
  /* A list: each item transformed; an item without a value drops the list. */
  strlist l = {0};
  for (size_t i = 0; i < in.count; i++) {
    ctr__value one;
    memset(&one, 0, sizeof one);
    if (!transform_one(cx, e->tf, in.items[i].s, in.items[i].len, &one))
      return cx->error == CTR_ENOMEM ? CTR_ENOMEM : CTR_OK;
    if (!strlist_push(cx, &l, one.str, one.len))
      return nomem(cx);
  }
  value_list(out, &l);
  return CTR_OK;
}

static bool icontains(const char *h, size_t hn, const char *n, size_t nn)
{
  if (nn == 0)
    return true;
  for (size_t i = 0; i + nn <= hn; i++)
    if (strncasecmp(h + i, n, nn) == 0)
      return true;
  return false;
}

static int lexcmp(const char *a, size_t an, const char *b, size_t bn)
{
  int c = memcmp(a, b, an < bn ? an : bn);
  return c ? c : (an < bn ? -1 : an > bn);
}

/* One element of a glob pattern at p[pi] against c; *next: after it. */
static bool glob_one(const char *p, size_t pn, size_t pi, char c, bool fold, size_t *next)
{
  unsigned char uc = (unsigned char)(fold ? tolower((unsigned char)c) : c);
  if (p[pi] == '?') {
    *next = pi + 1;
    return true;
  }
  if (p[pi] == '[') {
    size_t j = pi + 1;
    bool neg = j < pn && (p[j] == '!' || p[j] == '^'), hit = false;
    j += neg;
    for (bool first = true; j < pn && (first || p[j] != ']'); first = false, j++) {
      unsigned char lo = (unsigned char)p[j], hi;
      if (lo == '\\' && j + 1 < pn)
        lo = (unsigned char)p[++j];
      hi = lo;
      if (j + 2 < pn && p[j + 1] == '-' && p[j + 2] != ']') {
        j += 2;
        hi = (unsigned char)(p[j] == '\\' && j + 1 < pn ? p[++j] : p[j]);
      }
      if (fold) {
        lo = (unsigned char)tolower(lo);
        hi = (unsigned char)tolower(hi);
      }
      hit |= uc >= lo && uc <= hi;
    }
    if (j < pn) {
      *next = j + 1;
      return hit != neg;
    }
    /* no closing ']': the '[' is an ordinary character */
  }
  size_t k = pi;
  if (p[k] == '\\' && k + 1 < pn)
    k++;
  *next = k + 1;
  return (unsigned char)(fold ? tolower((unsigned char)p[k]) : p[k]) == uc;
}

/* fnmatch(3) with no flags (or FNM_CASEFOLD) over counted strings: '*'
 * crosses '/', as in Falco's glob. */
static bool glob_match(const char *p, size_t pn, const char *s, size_t sn, bool fold)
{
  size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0, next;
  while (si < sn) {
    if (pi < pn && p[pi] == '*') {
      star_p = ++pi;
      star_s = si;
      continue;
    }
    if (pi < pn && glob_one(p, pn, pi, s[si], fold, &next)) {
      pi = next;
      si++;
      continue;
    }
    if (star_p == SIZE_MAX)
      return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < pn && p[pi] == '*')
    pi++;
  return pi == pn;
}

/* Falco's pmatch: the pattern's path components match the value's first
 * ones (each component a glob when `glob`; "/" matches any absolute path). */
static bool pmatch1(const char *s, size_t n, const ctr__str *p, bool glob)
{
  if (p->len == 1 && p->s[0] == '/')
    return n > 0 && s[0] == '/';
  if (!glob) {
    if (n < p->len || memcmp(s, p->s, p->len) != 0)
      return false;
    return n == p->len || s[p->len] == '/';
  }
  for (size_t pi = 0, si = 0;;) {
    const char *pe = memchr(p->s + pi, '/', p->len - pi), *se = memchr(s + si, '/', n - si);
    size_t pend = pe ? (size_t)(pe - p->s) : p->len, send = se ? (size_t)(se - s) : n;
    if (!glob_match(p->s + pi, pend - pi, s + si, send - si, false))
      return false;
    if (pend == p->len)
      return true;
    if (send == n)
      return false; /* the pattern has more components than the value */
    pi = pend + 1;
    si = send + 1;
  }
}

static bool regex_match(ctr__evalctx *cx, const pcre2_code *re, const char *s, size_t n)
{
  int rc = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, cx->md, cx->mctx);
  if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT)
    cx->error = CTR_ELIMIT;
  return rc >= 0;
}

/* One string compared with one literal (re: the compiled regex of it). */
static bool cmp_str(ctr__evalctx *cx, const pcre2_code *re, ctr__op op, const char *s, size_t n, const ctr__str *lit)
{
  switch (op) {
  case CTR__OP_EQ:
    return n == lit->len && memcmp(s, lit->s, n) == 0;
  case CTR__OP_NE:
    return !(n == lit->len && memcmp(s, lit->s, n) == 0);
  case CTR__OP_LT:
    return lexcmp(s, n, lit->s, lit->len) < 0;
  case CTR__OP_LE:
    return lexcmp(s, n, lit->s, lit->len) <= 0;
  case CTR__OP_GT:
    return lexcmp(s, n, lit->s, lit->len) > 0;
  case CTR__OP_GE:
    return lexcmp(s, n, lit->s, lit->len) >= 0;
  case CTR__OP_CONTAINS:
    return lit->len == 0 || memmem(s, n, lit->s, lit->len) != NULL;
  case CTR__OP_ICONTAINS:
    return icontains(s, n, lit->s, lit->len);
  case CTR__OP_STARTSWITH:
    return n >= lit->len && memcmp(s, lit->s, lit->len) == 0;
  case CTR__OP_ENDSWITH:
    return n >= lit->len && memcmp(s + n - lit->len, lit->s, lit->len) == 0;
  case CTR__OP_GLOB:
  case CTR__OP_IGLOB:
    return glob_match(lit->s, lit->len, s, n, op == CTR__OP_IGLOB);
  case CTR__OP_REGEX:
    return re && regex_match(cx, re, s, n);
  case CTR__OP_PMATCH:
  case CTR__OP_PMATCH_GLOB:
    return pmatch1(s, n, lit, op == CTR__OP_PMATCH_GLOB);
  default:
    return false;
  }
}

/* One scalar string against the check's right-hand side. */
static bool check_str(ctr__evalctx *cx, const ctr__cnode *c, const char *s, size_t n)
{
  switch (c->op) {
  case CTR__OP_IN:
  case CTR__OP_INTERSECTS:
    return ctr__strset_has(&c->set, s, n);
  case CTR__OP_PMATCH:
  case CTR__OP_PMATCH_GLOB:
    for (size_t i = 0; i < c->nrhs; i++)
      if (pmatch1(s, n, &c->rhs_list[i], c->op == CTR__OP_PMATCH_GLOB))
        return true;
    return false;
  default:
    break;
  }
  if (c->mod) {
    /* Falco counts the list's items, duplicates included. */
    size_t hits = 0;
    for (size_t i = 0; i < c->nrhs; i++)
      hits += cmp_str(cx, c->res ? c->res[i] : NULL, c->op, s, n, &c->rhs_list[i]);
    return c->mod == CTR__MOD_ANYOF ? hits > 0 : c->mod == CTR__MOD_ALLOF ? hits == c->nrhs && hits > 0 : hits == 1;
  }
  return cmp_str(cx, c->re, c->op, s, n, &c->rhs);
}

static bool cmp_u64(ctr__op op, uint64_t a, uint64_t b)
{
  switch (op) {
  case CTR__OP_EQ: return a == b;
  case CTR__OP_NE: return a != b;
  case CTR__OP_LT: return a < b;
  case CTR__OP_LE: return a <= b;
  case CTR__OP_GT: return a > b;
  case CTR__OP_GE: return a >= b;
  default: return false;
  }
}

/* The values of a value: a list's items, or the value itself. */
static const ctr__str *values_of(const ctr__value *v, ctr__str *one, size_t *n)
{
  if (v->kind == CTR__V_LIST) {
    *n = v->count;
    return v->items;
  }
  *one = (ctr__str){v->str, v->len};
  *n = 1;
  return one;
}

static bool has_value(const ctr__str *v, size_t n, const ctr__str *s)
{
  for (size_t i = 0; i < n; i++)
    if (v[i].len == s->len && memcmp(v[i].s, s->s, s->len) == 0)
      return true;
  return false;
}

/* A check whose right-hand side is a field or a transformer (val(f),
 * tolower(f), join(...)): its value, or its values for in / intersects /
 * pmatch, as the literal list would be. */
static bool check_rhs_expr(ctr__evalctx *cx, const ctr__cnode *c, const ctr__value *v)
{
  ctr__value r;
  if (ctr__eval_expr(cx, c->rhs_expr, &r) != CTR_OK || r.kind == CTR__V_ABSENT)
    return false;
  if (v->kind == CTR__V_U64 || r.kind == CTR__V_U64) {
    if (v->kind != CTR__V_U64 || r.kind != CTR__V_U64)
      return false;
    return c->op == CTR__OP_IN || c->op == CTR__OP_INTERSECTS ? v->u64 == r.u64 : cmp_u64(c->op, v->u64, r.u64);
  }
  ctr__str lone, rone;
  size_t ln, rn;
  const ctr__str *lv = values_of(v, &lone, &ln), *rv = values_of(&r, &rone, &rn);
  switch (c->op) {
  case CTR__OP_IN: /* every value of the left among the right's */
    for (size_t i = 0; i < ln; i++)
      if (!has_value(rv, rn, &lv[i]))
        return false;
    return true;
  case CTR__OP_INTERSECTS:
    for (size_t i = 0; i < ln; i++)
      if (has_value(rv, rn, &lv[i]))
        return true;
    return false;
  case CTR__OP_PMATCH:
    for (size_t i = 0; i < ln; i++)
      for (size_t k = 0; k < rn; k++) {
        ctr__str pat = rv[k];
        bool glob = ctr__pmatch_pattern(&pat);
        if (pmatch1(lv[i].s, lv[i].len, &pat, glob))
          return true;
      }
    return false;
  default:
    break;
  }
  if (r.kind != CTR__V_STR || c->op == CTR__OP_REGEX)
    return false; /* one value on the right (regex takes literals only) */
  for (size_t i = 0; i < ln; i++)
    if (cmp_str(cx, NULL, c->op, lv[i].s, lv[i].len, &rone))
      return true;
  return false;
}

static bool check(ctr__evalctx *cx, const ctr__cnode *c)
{
  ctr__value v;
  ctr__eval_expr(cx, c->lhs, &v);
  /* Absent is false for every operator, != included (Falco). */
  if (v.kind == CTR__V_ABSENT || (v.kind == CTR__V_LIST && v.count == 0))
    return false;
  if (c->op == CTR__OP_EXISTS)
    return true;
  if (c->rhs_expr)
    return check_rhs_expr(cx, c, &v);
  if (v.kind == CTR__V_U64) {
    if (c->mod) { /* = / != oneof|anyof|allof on a number: the values were checked numeric at compile */
      size_t hits = 0;
      for (size_t i = 0; i < c->nrhs; i++)
        hits += cmp_u64(c->op, v.u64, c->rhs_u64s[i]);
      return c->mod == CTR__MOD_ANYOF ? hits > 0 : c->mod == CTR__MOD_ALLOF ? hits == c->nrhs && hits > 0 : hits == 1;
    }
    if (c->op == CTR__OP_IN || c->op == CTR__OP_INTERSECTS) {
      char buf[24];
      int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v.u64);
      return ctr__strset_has(&c->set, buf, (size_t)n);
    }
    return cmp_u64(c->op, v.u64, c->rhs_u64);
  }
  if (v.kind == CTR__V_LIST) {
    /* in: every element in the set; intersects: any; others: any element. */
    if (c->op == CTR__OP_IN) {
      for (size_t i = 0; i < v.count; i++)
        if (!ctr__strset_has(&c->set, v.items[i].s, v.items[i].len))
          return false;
      return true;
    }
    for (size_t i = 0; i < v.count; i++)
      if (check_str(cx, c, v.items[i].s, v.items[i].len))
        return true;
    return false;
  }
  return check_str(cx, c, v.str, v.len);
}

bool ctr__eval(ctr__evalctx *cx, const ctr__cnode *n)
{
  switch (n->kind) {
  case CTR__N_CHECK:
    return check(cx, n);
  case CTR__N_NOT:
    return !ctr__eval(cx, n->kids[0]);
  case CTR__N_AND:
    for (size_t i = 0; i < n->nkids; i++)
      if (!ctr__eval(cx, n->kids[i]))
        return false;
    return true;
  case CTR__N_OR:
    for (size_t i = 0; i < n->nkids; i++)
      if (ctr__eval(cx, n->kids[i]))
        return true;
    return false;
  default:
    return false;
  }
}

int ctr__eval_rules(ctr__evalctx *cx, const uint32_t *cand, size_t n, bool first_only, const ctr__eval_sink *sink)
{
  cx->gen++;
  for (size_t i = 0; i < n; i++) {
    const ctr__crule *r = &cx->rs->rules[cand[i]];
    cx->error = CTR_OK;
    bool hit = ctr__eval(cx, r->cond);
    if (cx->error == CTR_ENOMEM)
      return CTR_ENOMEM;
    if (cx->error == CTR_ELIMIT) {
      sink->undecided(sink->ud, r);
      continue;
    }
    if (!hit)
      continue;
    int rc = sink->hit(sink->ud, r);
    if (rc != CTR_OK)
      return rc;
    if (first_only)
      break;
  }
  return CTR_OK;
}
