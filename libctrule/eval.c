/* eval.c - runs compiled conditions on one event. Every field is extracted
 * at most once per event: values are cached per slot and stamped with the
 * event's generation, so nothing needs clearing between events. */
#include "engine.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
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

int ctr__eval_expr(ctr__evalctx *cx, const ctr__cexpr *e, ctr__value *out)
{
  if (e->tf == CTR__TF_NONE)
    return extract_slot(cx, e->slot, out);
  ctr__value in;
  ctr__eval_expr(cx, e->inner, &in);
  memset(out, 0, sizeof *out);
  if (in.kind == CTR__V_ABSENT)
    return CTR_OK;
  ctr__arena *a = cx->ev->arena;
  switch (e->tf) {
  case CTR__TF_LEN:
    ctr__value_u64(out, in.kind == CTR__V_LIST ? in.count : in.len);
    return CTR_OK;
  case CTR__TF_TOLOWER:
  case CTR__TF_TOUPPER: {
    if (in.kind != CTR__V_STR)
      return CTR_OK;
    char *s = ctr__arena_strndup(a, in.str, in.len);
    if (!s) {
      cx->error = CTR_ENOMEM;
      return CTR_ENOMEM;
    }
    for (size_t i = 0; i < in.len; i++)
      s[i] = (char)(e->tf == CTR__TF_TOLOWER ? tolower((unsigned char)s[i]) : toupper((unsigned char)s[i]));
    ctr__value_str(out, s, in.len);
    return CTR_OK;
  }
  case CTR__TF_B64:
    if (in.kind == CTR__V_STR)
      b64_decode(a, in.str, in.len, out); /* not base64: absent */
    return CTR_OK;
  case CTR__TF_BASENAME:
    if (in.kind == CTR__V_STR) {
      const char *slash = NULL;
      for (size_t i = 0; i < in.len; i++)
        if (in.str[i] == '/')
          slash = in.str + i;
      size_t off = slash ? (size_t)(slash - in.str) + 1 : 0;
      ctr__value_str(out, in.str + off, in.len - off);
    }
    return CTR_OK;
  default:
    return CTR_OK;
  }
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

static bool pmatch1(const char *s, size_t n, const ctr__str *p)
{
  if (p->len == 1 && p->s[0] == '/')
    return n > 0 && s[0] == '/';
  if (n < p->len || memcmp(s, p->s, p->len) != 0)
    return false;
  return n == p->len || s[p->len] == '/';
}

/* One string compared with one literal. */
static bool cmp_str(ctr__evalctx *cx, const ctr__cnode *c, ctr__op op, const char *s, size_t n, const ctr__str *lit)
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
    return fnmatch(lit->s, s, 0) == 0;
  case CTR__OP_IGLOB:
    return fnmatch(lit->s, s, FNM_CASEFOLD) == 0;
  case CTR__OP_REGEX: {
    int rc = pcre2_match(c->re, (PCRE2_SPTR)s, n, 0, 0, cx->md, cx->mctx);
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT)
      cx->error = CTR_ELIMIT;
    return rc >= 0;
  }
  case CTR__OP_PMATCH:
    return pmatch1(s, n, lit);
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
    for (size_t i = 0; i < c->nrhs; i++)
      if (pmatch1(s, n, &c->rhs_list[i]))
        return true;
    return false;
  default:
    break;
  }
  if (c->mod) {
    size_t hits = 0;
    for (size_t i = 0; i < c->nrhs; i++)
      hits += cmp_str(cx, c, c->op, s, n, &c->rhs_list[i]);
    return c->mod == CTR__MOD_ANYOF ? hits > 0 : c->mod == CTR__MOD_ALLOF ? hits == c->nrhs && hits > 0 : hits == 1;
  }
  return cmp_str(cx, c, c->op, s, n, &c->rhs);
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

static bool check(ctr__evalctx *cx, const ctr__cnode *c)
{
  ctr__value v;
  ctr__eval_expr(cx, c->lhs, &v);
  /* Absent is false for every operator, != included (Falco). */
  if (v.kind == CTR__V_ABSENT || (v.kind == CTR__V_LIST && v.count == 0))
    return false;
  if (c->op == CTR__OP_EXISTS)
    return true;
  if (c->rhs_expr) {
    ctr__value r;
    ctr__eval_expr(cx, c->rhs_expr, &r);
    if (r.kind == CTR__V_ABSENT)
      return false;
    if (v.kind == CTR__V_U64 && r.kind == CTR__V_U64)
      return cmp_u64(c->op, v.u64, r.u64);
    if (v.kind == CTR__V_STR && r.kind == CTR__V_STR) {
      ctr__str lit = {r.str, r.len};
      if (c->op == CTR__OP_GLOB || c->op == CTR__OP_IGLOB) {
        /* fnmatch needs a NUL-terminated pattern: field strings are. */
        return fnmatch(r.str, v.str, c->op == CTR__OP_IGLOB ? FNM_CASEFOLD : 0) == 0;
      }
      return cmp_str(cx, c, c->op, v.str, v.len, &lit);
    }
    if (v.kind == CTR__V_LIST && r.kind == CTR__V_STR) {
      ctr__str lit = {r.str, r.len};
      for (size_t i = 0; i < v.count; i++)
        if (cmp_str(cx, c, c->op, v.items[i].s, v.items[i].len, &lit))
          return true;
    }
    return false;
  }
  if (v.kind == CTR__V_U64) {
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
