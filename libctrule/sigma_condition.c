/* sigma_condition.c - a Sigma detection's condition language (`sel1 and not
 * 1 of filter_*`, `all of them`, parentheses) read into the engine's
 * condition text, each selection replaced by its translation (sigma.c) in
 * parentheses and every piece of syntax positioned at the condition scalar.
 * Its own file: a small recursive-descent grammar of its own, apart from
 * the fields, values and modifiers of the selections. */
#include "sigma.h"

#include <string.h>
#include <strings.h>

typedef ctr__sigma_ctx sctx;
typedef ctr__sigma_named named;
typedef ctr__sigma_tb tb;

typedef struct cparse {
  sctx *x;
  const ctr__ynode *cond; /* the condition scalar */
  const char *s;
  size_t n, i;
  named *sel;
  size_t nsel;
  tb *out;
  unsigned depth;
} cparse;

static void skip_ws(cparse *p)
{
  while (p->i < p->n && ctr__one_of(" \t\r\n", p->s[p->i]))
    p->i++;
}

/* The word at the cursor (not consumed): up to a blank or parenthesis. */
static size_t word_len(const cparse *p)
{
  size_t j = p->i;
  while (j < p->n && !ctr__one_of(" \t\r\n()", p->s[j]))
    j++;
  return j - p->i;
}

static bool word_is(const cparse *p, const char *w)
{
  size_t n = word_len(p);
  return n == strlen(w) && strncasecmp(p->s + p->i, w, n) == 0;
}

/* Sigma's identifier patterns: '*' any run of characters. */
static bool name_match(const char *pat, size_t pn, const char *s, size_t sn)
{
  if (pn == 0)
    return sn == 0;
  if (pat[0] == '*') {
    for (size_t k = 0; k <= sn; k++)
      if (name_match(pat + 1, pn - 1, s + k, sn - k))
        return true;
    return false;
  }
  return sn > 0 && pat[0] == s[0] && name_match(pat + 1, pn - 1, s + 1, sn - 1);
}

static int cond_or(cparse *p);

/* 1 of / any of / all of PATTERN|them */
static int cond_quant(cparse *p, bool all, size_t at)
{
  p->i += word_len(p);
  skip_ws(p);
  if (!word_is(p, "of"))
    return ctr__sigma_err(p->x, p->cond, p->i, CODE_INVALID, "'of' expected after '%s'", all ? "all" : "1");
  p->i += 2;
  skip_ws(p);
  size_t pn = word_len(p), pat = p->i;
  if (pn == 0)
    return ctr__sigma_err(p->x, p->cond, p->i, CODE_INVALID, "a selection name, pattern or 'them' expected");
  bool them = word_is(p, "them");
  p->i += pn;
  size_t hits = 0;
  for (size_t k = 0; k < p->nsel; k++) {
    const ctr__ynode *nm = p->sel[k].name;
    bool in = them ? nm->value[0] != '_' : name_match(p->s + pat, pn, nm->value, nm->len);
    if (!in)
      continue;
    ctr__sigma_tb_gen(p->out, hits ? (all ? " and " : " or ") : "(");
    ctr__sigma_tb_gen(p->out, "(");
    ctr__sigma_tb_cat(p->out, &p->sel[k].text);
    ctr__sigma_tb_gen(p->out, ")");
    hits++;
  }
  if (!hits)
    return ctr__sigma_err(p->x, p->cond, them ? at : pat, CODE_INVALID, "no selection matches '%.*s'", (int)pn, p->s + pat);
  ctr__sigma_tb_gen(p->out, ")");
  return CTR_OK;
}

static int cond_factor(cparse *p)
{
  skip_ws(p);
  if (p->i >= p->n)
    return ctr__sigma_err(p->x, p->cond, p->i, CODE_INVALID, "condition ends where a selection was expected");
  if (p->depth > 64)
    return ctr__sigma_err(p->x, p->cond, p->i, CODE_INVALID, "condition nested too deeply");
  char c = p->s[p->i];
  if (c == '(') {
    size_t open = p->i++;
    p->depth++;
    ctr__sigma_tb_gen(p->out, "(");
    int rc = cond_or(p);
    p->depth--;
    if (rc != CTR_OK)
      return rc;
    skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != ')')
      return ctr__sigma_err(p->x, p->cond, open, CODE_INVALID, "unclosed '('");
    p->i++;
    ctr__sigma_tb_gen(p->out, ")");
    return CTR_OK;
  }
  if (c == ')')
    return ctr__sigma_err(p->x, p->cond, p->i, CODE_INVALID, "unexpected ')'");
  if (c == '|')
    return ctr__sigma_err(p->x, p->cond, p->i, CODE_UNSUPPORTED,
               "aggregation ('| count()' and the like) is not supported; Sigma correlation rules are the successor");
  if (word_is(p, "not")) {
    p->i += 3;
    ctr__sigma_tb_gen(p->out, "not ");
    p->depth++;
    int rc = cond_factor(p);
    p->depth--;
    return rc;
  }
  if (word_is(p, "1") || word_is(p, "any") || word_is(p, "all"))
    return cond_quant(p, word_is(p, "all"), p->i);
  size_t n = word_len(p);
  if (memchr(p->s + p->i, '|', n))
    return ctr__sigma_err(p->x, p->cond, p->i + (size_t)((const char *)memchr(p->s + p->i, '|', n) - (p->s + p->i)), CODE_UNSUPPORTED,
               "aggregation ('| count()' and the like) is not supported; Sigma correlation rules are the successor");
  if (word_is(p, "and") || word_is(p, "or") || word_is(p, "of") || word_is(p, "them"))
    return ctr__sigma_err(p->x, p->cond, p->i, CODE_INVALID, "'%.*s' where a selection was expected", (int)n, p->s + p->i);
  for (size_t k = 0; k < p->nsel; k++)
    if (p->sel[k].name->len == n && memcmp(p->sel[k].name->value, p->s + p->i, n) == 0) {
      p->i += n;
      ctr__sigma_tb_gen(p->out, "(");
      ctr__sigma_tb_cat(p->out, &p->sel[k].text);
      ctr__sigma_tb_gen(p->out, ")");
      return CTR_OK;
    }
  return ctr__sigma_err(p->x, p->cond, p->i, CODE_INVALID, "no selection named '%.*s' in detection", (int)n, p->s + p->i);
}

static int cond_and(cparse *p)
{
  int rc = cond_factor(p);
  for (;;) {
    skip_ws(p);
    if (rc != CTR_OK || !word_is(p, "and"))
      return rc;
    p->i += 3;
    ctr__sigma_tb_gen(p->out, " and ");
    rc = cond_factor(p);
  }
}

static int cond_or(cparse *p)
{
  int rc = cond_and(p);
  for (;;) {
    skip_ws(p);
    if (rc != CTR_OK || !word_is(p, "or"))
      return rc;
    p->i += 2;
    ctr__sigma_tb_gen(p->out, " or ");
    rc = cond_and(p);
  }
}

/* One condition scalar into out. */
int ctr__sigma_condition(sctx *x, const ctr__ynode *cond, named *sel, size_t nsel, tb *out)
{
  if (!ctr__is_scalar(cond) || cond->len == 0)
    return ctr__sigma_err(x, cond, 0, CODE_INVALID, "condition must be a non-empty string");
  cparse p = {.x = x, .cond = cond, .s = cond->value, .n = cond->len, .sel = sel, .nsel = nsel, .out = out};
  int rc = cond_or(&p);
  if (rc != CTR_OK)
    return rc;
  skip_ws(&p);
  if (p.i < p.n) {
    if (p.s[p.i] == '|')
      return ctr__sigma_err(x, cond, p.i, CODE_UNSUPPORTED,
                 "aggregation ('| count()' and the like) is not supported; Sigma correlation rules are the successor");
    return ctr__sigma_err(x, cond, p.i, CODE_INVALID, "unexpected '%.*s' (and, or or the end of the condition expected)",
               (int)word_len(&p) ? (int)word_len(&p) : 1, p.s + p.i);
  }
  if (out->b.len > x->max_bytes)
    return ctr__sigma_err(x, cond, 0, CODE_INVALID, "the translated condition is longer than %zu bytes (limit %s)", x->max_bytes,
               ctr_limit_name(CTR_LIMIT_CONDITION_BYTES));
  return out->oom ? CTR_ENOMEM : CTR_OK;
}
