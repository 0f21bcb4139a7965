/* compile_output.c - a rule's output template compiled: literal text and
 * `%field` directives, each field read by the condition grammar's operand
 * parser and compiled as a condition's field is (ctr__compile_fexpr), and
 * the rule's output fields collected in order of appearance. Its own file:
 * an output is a template, not a condition; it shares with compile.c only
 * the field expressions and the one way of reporting. */
#include "compile.h"
#include "render.h"

#include <string.h>

typedef ctr__compile_ctx compiler_ctx;

static bool output_field(compiler_ctx *cx, ctr__crule *cr, const char *display, size_t dlen, ctr__cexpr *e,
                         uint32_t *index)
{
  for (size_t i = 0; i < cr->nofields; i++)
    if (strlen(cr->ofield_names[i]) == dlen && memcmp(cr->ofield_names[i], display, dlen) == 0) {
      *index = (uint32_t)i;
      return true;
    }
  /* Grown in the pool by doubling: old arrays are simply left there. */
  if ((cr->nofields & (cr->nofields - 1)) == 0) {
    size_t cap = cr->nofields ? cr->nofields * 2 : 4;
    char **names = ctr__compile_alloc(cx, cap * sizeof *names);
    ctr__cexpr **exprs = ctr__compile_alloc(cx, cap * sizeof *exprs);
    if (!names || !exprs)
      return false;
    if (cr->nofields) {
      memcpy(names, cr->ofield_names, cr->nofields * sizeof *names);
      memcpy(exprs, cr->ofield_exprs, cr->nofields * sizeof *exprs);
    }
    cr->ofield_names = names;
    cr->ofield_exprs = exprs;
  }
  if (!(cr->ofield_names[cr->nofields] = ctr__compile_strndup(cx, display, dlen)))
    return false;
  cr->ofield_exprs[cr->nofields] = e;
  *index = (uint32_t)cr->nofields++;
  return true;
}

/* An output's segments, grown in the pool by doubling (old arrays are left
 * there). */
typedef struct oseg_vec {
  ctr__oseg *v;
  size_t n, cap;
} oseg_vec;

static bool oseg_push(compiler_ctx *cx, oseg_vec *sv, ctr__oseg seg)
{
  ctr__oseg *v = ctr__arena_grow(&cx->rs->pool, sv->v, sv->n, &sv->cap, sizeof *v);
  if (!v) {
    ctr__compile_nomem(cx);
    return false;
  }
  sv->v = v;
  sv->v[sv->n++] = seg;
  return true;
}

/* How reading one `%` directive of an output ended. */
typedef enum { DIR_FIELD, DIR_BAD, DIR_BAD_SKIP, DIR_END, DIR_NOMEM } dir_result;

/* The `%` directive at t->s[i]: DIR_FIELD with *e compiled, the operand
 * at t->s[*at] ending at *next; DIR_BAD (reported: go on at *next, the text so far a
 * literal), DIR_BAD_SKIP (reported: go on at *next, the operand dropped),
 * DIR_END (reported: nothing more can be read) or DIR_NOMEM. */
static dir_result output_directive(compiler_ctx *cx, const ctr__text *t, size_t i, size_t *at, size_t *next,
                                   ctr__cexpr **e)
{
  size_t j = i + 1;
  while (j < t->len && t->s[j] >= '0' && t->s[j] <= '9') /* a width: accepted, ignored */
    j++;
  if (j >= t->len) {
    ctr__compile_report(cx, CTR_SEVERITY_ERROR, "LOAD_ERR_COMPILE_OUTPUT", t, i, "invalid formatting syntax: formatting cannot end with %s",
           j == i + 1 ? "a %" : "a number");
    return DIR_END;
  }
  ctr__lexer lx = {t->s, t->len, j};
  size_t idn = ctr__lex_ident_len(&lx), name_len, arg_start, arg_len;
  bool is_tf = idn && j + idn < t->len && t->s[j + idn] == '(';
  if (!is_tf && !ctr__lex_field_len(&lx, &name_len, &arg_start, &arg_len)) {
    /* Falco's formatter takes every % for a field: a literal % is an error. */
    size_t k = j;
    while (k < t->len && k - j < 20 && t->s[k] != '\n')
      k++;
    ctr__compile_report(cx, CTR_SEVERITY_ERROR, "LOAD_ERR_COMPILE_OUTPUT", t, j,
           "invalid formatting token '%.*s': a field (such as %%ct.name) or a transformer is expected after %%",
           (int)(k - j), t->s + j);
    *next = j;
    return DIR_BAD;
  }
  /* The operand is read by the condition grammar's own operand parser. */
  *at = j;
  ctr__parse_error perr = {0};
  ctr__fexpr *f = ctr__parse_operand(t, j, next, &perr);
  if (!f && perr.nomem)
    return DIR_NOMEM;
  if (!f) {
    ctr__compile_report(cx, CTR_SEVERITY_ERROR, "LOAD_ERR_COMPILE_OUTPUT", t, perr.pos, "invalid output field: %s", perr.msg);
    *next = perr.pos > i ? perr.pos : i + 1;
    return DIR_BAD;
  }
  const ctr__text *saved = cx->r.text;
  cx->r.text = t;
  cx->r.in_output = true;
  *e = ctr__compile_fexpr(cx, f);
  cx->r.in_output = false;
  cx->r.text = saved;
  ctr__fexpr_free(f);
  return *e ? DIR_FIELD : DIR_BAD_SKIP;
}

/* The constant part of the alert's JSON line (render_json.c), written here
 * once rather than per alert: the output fields' keys (collected above) in
 * key order, the priority, name and tags. r's name, priority and tags are
 * the ones compile.c copies into cr. */
static bool json_part(compiler_ctx *cx, const ctr__rule_def *r, ctr__crule *cr)
{
  cr->json = ctr__json_rule_make(&cx->rs->pool, r->name, r->priority, r->tags, r->ntags, cr->ofield_names,
                                 cr->nofields);
  if (!cr->json)
    ctr__compile_nomem(cx);
  return cr->json != NULL;
}

/* A literal segment's text copied into the pool as rendered (render.c
 * copies it as it is): a NUL (a YAML "\0") as U+FFFD, since the output is
 * handed out as a C string. */
static bool literal_text(compiler_ctx *cx, ctr__oseg *seg)
{
  size_t nuls = 0;
  for (size_t i = 0; i < seg->len; i++)
    nuls += seg->lit[i] == '\0';
  char *p = ctr__compile_alloc(cx, seg->len + 2 * nuls + 1);
  if (!p)
    return false;
  size_t k = 0;
  for (size_t i = 0; i < seg->len; i++) {
    if (seg->lit[i])
      p[k++] = seg->lit[i];
    else
      memcpy(p + k, "\xef\xbf\xbd", 3), k += 3;
  }
  seg->lit = p;
  seg->len = k;
  return true;
}

/* Falco output template: `%field`, `%field[arg]`, `%transformer(...)`, an
 * optional width `%20field` (accepted, ignored); any other `%` is an error,
 * as in Falco's formatter. Every error is reported; false after any. */
bool ctr__compile_output(compiler_ctx *cx, const ctr__rule_def *r, ctr__crule *cr)
{
  const ctr__text *t = &r->output;
  oseg_vec sv = {0};
  size_t lit_start = 0, i = 0;
  bool ok = true;
  while (i < t->len) {
    if (t->s[i] != '%') {
      i++;
      continue;
    }
    size_t at = i, end = i;
    ctr__cexpr *e = NULL;
    dir_result d = output_directive(cx, t, i, &at, &end, &e);
    if (d == DIR_NOMEM) {
      ctr__compile_nomem(cx);
      return false;
    }
    if (d != DIR_FIELD) {
      ok = false;
      if (d == DIR_END)
        break;
      i = end;
      if (d == DIR_BAD_SKIP)
        lit_start = end;
      continue;
    }
    uint32_t idx;
    if ((i > lit_start && !oseg_push(cx, &sv, (ctr__oseg){.lit = t->s + lit_start, .len = i - lit_start})) ||
        !output_field(cx, cr, t->s + at, end - at, e, &idx) ||
        !oseg_push(cx, &sv, (ctr__oseg){.lit = NULL, .expr = e, .field = idx}))
      return false;
    i = lit_start = end;
  }
  if (lit_start < t->len && !oseg_push(cx, &sv, (ctr__oseg){.lit = t->s + lit_start, .len = t->len - lit_start}))
    return false;
  /* Literal segments point into the rule text: copy them into the pool. */
  for (size_t k = 0; k < sv.n; k++)
    if (sv.v[k].lit && !literal_text(cx, &sv.v[k]))
      return false;
  if (!sv.v && !(sv.v = ctr__compile_alloc(cx, sizeof *sv.v)))
    return false;
  cr->oseg = sv.v;
  cr->noseg = sv.n;
  return ok && json_part(cx, r, cr);
}
