/* correlate_compile.c - Sigma correlations compiled (docs/sigma.md): each
 * correlation kept by sigma_correlation.c becomes a rule of the ruleset (its
 * name, priority, tags and an output listing its base events), its base
 * rules are resolved by name or Sigma id, and the ruleset learns which rules
 * feed which correlations and which `generate: false` silences. The state
 * those rules feed at scan time is correlate.c's. */
#include "correlate.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ccx {
  const ctr__defs *defs;
  ctr__diags *diags;
  ctr_ruleset *rs;
  size_t nbase_rules; /* rules before the correlations */
  bool failed, nomem;
} ccx;

static void *palloc(ccx *x, size_t n)
{
  void *p = ctr__arena_alloc(&x->rs->pool, n ? n : 1);
  if (!p)
    x->nomem = true;
  else
    memset(p, 0, n ? n : 1);
  return p;
}

static char *pstrdup(ccx *x, const char *s)
{
  char *p = ctr__arena_strndup(&x->rs->pool, s, strlen(s));
  if (!p)
    x->nomem = true;
  return p;
}

/* The compiled rule a correlation refers to: by name, else a Sigma rule by
 * its id or name tag; UINT32_MAX if none was compiled. */
static uint32_t find_rule(const ccx *x, const char *ref)
{
  for (size_t i = 0; i < x->nbase_rules; i++)
    if (strcmp(x->rs->rules[i].name, ref) == 0)
      return (uint32_t)i;
  for (size_t i = 0; i < x->nbase_rules; i++)
    for (size_t t = 0; t < x->rs->rules[i].ntags; t++) {
      const char *tag = x->rs->rules[i].tags[t];
      if ((strncmp(tag, "sigma.id:", 9) == 0 && strcmp(tag + 9, ref) == 0) ||
          (strncmp(tag, "sigma.name:", 11) == 0 && strcmp(tag + 11, ref) == 0))
        return (uint32_t)i;
    }
  return UINT32_MAX;
}

static void cerr(ccx *x, const ctr__pos *p, const char *rule, const char *fmt, const char *arg)
{
  ctr__diag_add(x->diags, CTR_SEVERITY_ERROR, p->src ? p->src->name : NULL, p->line, p->col, rule, "LOAD_ERR_SIGMA",
                fmt, arg);
  x->failed = true;
}

/* A slot reading json.value[ptr] of the alert's record, as a cache slot. */
static ctr__cexpr *field_expr(ccx *x, const char *ptr)
{
  ctr_ruleset *rs = x->rs;
  ctr__slot *v = realloc(rs->slots, (rs->nslots + 1) * sizeof *v);
  if (!v) {
    x->nomem = true;
    return NULL;
  }
  rs->slots = v;
  ctr__slot *s = &rs->slots[rs->nslots];
  ctr__buf d = {0};
  int rc = ctr__buf_printf(&d, "json.value[%s]", ptr);
  *s = (ctr__slot){.def = ctr__field_lookup("json.value", 10), .arg = pstrdup(x, ptr), .display = rc == CTR_OK ? pstrdup(x, d.data) : NULL};
  ctr__buf_free(&d);
  ctr__cexpr *e = palloc(x, sizeof *e);
  if (!s->def || !s->arg || !s->display || !e) {
    x->nomem = true;
    return NULL;
  }
  e->tf = CTR__TF_NONE;
  e->slot = (uint32_t)rs->nslots++;
  e->type = CTR__FT_STRING;
  return e;
}

/* The constant part of the alert's JSON line (render_json.c), made once
 * here, as compile_output.c makes a rule's. */
static void json_part(ccx *x, ctr__crule *cr)
{
  cr->json = ctr__json_rule_make(&x->rs->pool, cr->name, cr->priority, cr->tags, cr->ntags, cr->ofield_names,
                                 cr->nofields);
  x->nomem |= !cr->json;
}

/* The correlation's rule: its output is a template over the alert record
 * (ctr__correlate_next), whose fields are correlation.count, .group, .events
 * and each group-by field under its own name. */
static void build_output(ccx *x, const ctr__corrdef *d, ctr__crule *cr)
{
  static const char *const kind[] = {"event_count", "value_count", "temporal", "temporal_ordered"};
  size_t nf = 3 + d->ngroup;
  cr->ofield_names = palloc(x, nf * sizeof *cr->ofield_names);
  cr->ofield_exprs = palloc(x, nf * sizeof *cr->ofield_exprs);
  cr->oseg = palloc(x, 7 * sizeof *cr->oseg);
  if (!cr->ofield_names || !cr->ofield_exprs || !cr->oseg)
    return;
  static const char *const names[] = {"correlation.count", "correlation.group", "correlation.events"};
  static const char *const ptrs[] = {"/correlation/count", "/correlation/group", "/correlation/events"};
  for (size_t i = 0; i < 3; i++) {
    cr->ofield_names[i] = (char *)names[i];
    cr->ofield_exprs[i] = field_expr(x, ptrs[i]);
  }
  for (size_t g = 0; g < d->ngroup; g++) {
    ctr__buf p = {0};
    bool ok = ctr__buf_append_str(&p, "/correlation/groupBy/") == CTR_OK;
    for (const char *c = d->group_by[g]; ok && *c; c++) /* a path holds no '~' (sigma.c) */
      ok = (*c == '/' ? ctr__buf_append_str(&p, "~1") : ctr__buf_append_char(&p, *c)) == CTR_OK;
    cr->ofield_names[3 + g] = pstrdup(x, d->group_by[g]);
    cr->ofield_exprs[3 + g] = ok ? field_expr(x, p.data) : NULL;
    x->nomem |= !ok;
    ctr__buf_free(&p);
  }
  cr->nofields = nf;
  ctr__buf lit = {0};
  bool ok = ctr__buf_printf(&lit, "%s of ", kind[d->type]) == CTR_OK;
  for (size_t i = 0; ok && i < d->nrules; i++)
    ok = ctr__buf_printf(&lit, "%s%s", i ? ", " : "", d->rules[i]) == CTR_OK;
  ok = ok && ctr__buf_printf(&lit, " within %s (%s): count=", d->span_text, d->cond_text) == CTR_OK;
  char *head = ok ? pstrdup(x, lit.data) : NULL;
  ctr__buf_free(&lit);
  x->nomem |= !ok;
  const char *lits[] = {head, " group=", " events="};
  for (size_t i = 0; head && i < 3; i++) {
    cr->oseg[2 * i] = (ctr__oseg){.lit = lits[i], .len = strlen(lits[i])};
    cr->oseg[2 * i + 1] = (ctr__oseg){.expr = cr->ofield_exprs[i], .field = (uint32_t)i};
  }
  cr->noseg = 6;
  ctr__buf t = {0};
  ok = ok && ctr__buf_printf(&t, "%s%%correlation.count group=%%correlation.group events=%%correlation.events", head) == CTR_OK;
  cr->output_text = ok ? pstrdup(x, t.data) : NULL;
  ctr__buf_free(&t);
  x->nomem |= !ok;
}

/* The rule of correlation d, its references resolved into c. */
static void compile_one(ccx *x, const ctr__corrdef *d, ctr__ccorr *c, const ctr__selection *sel, size_t nsel,
                        int min_priority)
{
  ctr_ruleset *rs = x->rs;
  for (size_t i = 0; i < rs->nrules; i++)
    if (strcmp(rs->rules[i].name, d->title) == 0) {
      cerr(x, &d->pos, d->title, "a rule named '%s' is already defined", d->title);
      return;
    }
  c->type = d->type;
  c->span_ns = (int64_t)d->span_s * 1000000000;
  c->min_count = d->min_count;
  c->max_count = d->max_count;
  c->neq = d->neq;
  c->has_neq = d->has_neq;
  c->bounded = d->type <= CTR__CORR_VALUE_COUNT && (d->max_count != UINT64_MAX || d->has_neq);
  c->base = palloc(x, d->nrules * sizeof *c->base);
  c->group_by = palloc(x, (d->ngroup ? d->ngroup : 1) * sizeof *c->group_by);
  c->field = d->field ? pstrdup(x, d->field) : NULL;
  if (!c->base || !c->group_by)
    return;
  for (size_t i = 0; i < d->nrules; i++)
    if ((c->base[i] = find_rule(x, d->rules[i])) == UINT32_MAX) {
      cerr(x, &d->rule_pos[i], d->title,
           "'%s' names no compiled rule (it was dropped: skip-if-unknown-filter, or is another correlation)", d->rules[i]);
      return;
    }
  c->nbase = d->nrules;
  for (size_t g = 0; g < d->ngroup; g++)
    c->group_by[g] = pstrdup(x, d->group_by[g]);
  c->ngroup = d->ngroup;
  ctr__crule *cr = &rs->rules[rs->nrules];
  memset(cr, 0, sizeof *cr);
  ctr__buf cond = {0};
  static const char *const kind[] = {"event_count", "value_count", "temporal", "temporal_ordered"};
  bool ok = ctr__buf_printf(&cond, "sigma correlation %s of (", kind[d->type]) == CTR_OK;
  for (size_t i = 0; ok && i < d->nrules; i++)
    ok = ctr__buf_printf(&cond, "%s%s", i ? ", " : "", d->rules[i]) == CTR_OK;
  ok = ok && ctr__buf_append_str(&cond, ") by (") == CTR_OK;
  for (size_t g = 0; ok && g < d->ngroup; g++)
    ok = ctr__buf_printf(&cond, "%s%s", g ? ", " : "", d->group_by[g]) == CTR_OK;
  ok = ok && ctr__buf_printf(&cond, ") within %s: %s%s%s", d->span_text, d->field ? "distinct " : "",
                             d->field ? d->field : "", d->field ? " " : "") == CTR_OK &&
       ctr__buf_append_str(&cond, d->cond_text) == CTR_OK;
  cr->cond_text = ok ? pstrdup(x, cond.data) : NULL;
  ctr__buf_free(&cond);
  x->nomem |= !ok;
  cr->name = pstrdup(x, d->title);
  cr->desc = pstrdup(x, d->desc);
  cr->priority = d->priority;
  cr->tags = palloc(x, (d->ntags ? d->ntags : 1) * sizeof *cr->tags);
  for (size_t t = 0; cr->tags && t < d->ntags; t++)
    cr->tags[t] = pstrdup(x, d->tags[t]);
  cr->ntags = d->ntags;
  ctr__rule_def sel_view = {.name = d->title, .tags = d->tags, .ntags = d->ntags, .priority = d->priority, .enabled = true};
  cr->enabled = ctr__rule_selected(&sel_view, sel, nsel, min_priority);
  build_output(x, d, cr);
  if (!x->nomem)
    json_part(x, cr);
  c->rule = (uint32_t)rs->nrules++;
  if (cr->enabled)
    rs->nenabled++;
}

/* Which correlations each rule feeds, and whose own matches are silent. */
static void link_feeds(ccx *x, ctr__corrset *cs)
{
  size_t nr = x->rs->nrules;
  cs->feeds = palloc(x, nr * sizeof *cs->feeds);
  cs->nfeeds = palloc(x, nr * sizeof *cs->nfeeds);
  cs->silent = palloc(x, nr * sizeof *cs->silent);
  bool *loud = palloc(x, nr * sizeof *loud);
  if (!cs->feeds || !cs->nfeeds || !cs->silent || !loud)
    return;
  for (size_t k = 0; k < cs->n; k++) {
    const ctr__ccorr *c = &cs->v[k];
    if (!x->rs->rules[c->rule].enabled)
      continue;
    for (size_t i = 0; i < c->nbase; i++) {
      uint32_t r = c->base[i];
      if (cs->nfeeds[r] && cs->feeds[r][cs->nfeeds[r] - 1] == k)
        continue; /* named twice (temporal_ordered A, B, A): fed once */
      bool seen = false;
      for (size_t j = 0; j < cs->nfeeds[r]; j++)
        seen |= cs->feeds[r][j] == k;
      if (seen)
        continue;
      uint32_t *v = palloc(x, (cs->nfeeds[r] + 1) * sizeof *v);
      if (!v)
        return;
      if (cs->nfeeds[r])
        memcpy(v, cs->feeds[r], cs->nfeeds[r] * sizeof *v);
      v[cs->nfeeds[r]++] = (uint32_t)k;
      cs->feeds[r] = v;
      if (x->defs->corr->v[k].generate)
        loud[r] = true;
      else
        cs->silent[r] = true;
    }
  }
  for (size_t r = 0; r < nr; r++)
    cs->silent[r] = cs->silent[r] && !loud[r];
}

int ctr__correlate_compile(const ctr__defs *defs, ctr__diags *diags, const ctr__selection *sel, size_t nsel,
                           int min_priority, ctr_ruleset *rs)
{
  const ctr__corrdefs *cd = defs->corr;
  if (!cd || cd->n == 0)
    return CTR_OK;
  ccx x = {defs, diags, rs, rs->nrules, false, false};
  ctr__crule *rules = realloc(rs->rules, (rs->nrules + cd->n) * sizeof *rules);
  if (!rules)
    return CTR_ENOMEM;
  rs->rules = rules;
  ctr__corrset *cs = palloc(&x, sizeof *cs);
  if (cs && !(cs->v = palloc(&x, cd->n * sizeof *cs->v)))
    cs = NULL;
  for (size_t k = 0; cs && k < cd->n && !x.nomem; k++) {
    compile_one(&x, &cd->v[k], &cs->v[k], sel, nsel, min_priority);
    if (x.failed)
      continue;
    /* A disabled base rule is never evaluated: the correlation could not fire. */
    for (size_t i = 0; i < cs->v[k].nbase; i++)
      if (!rs->rules[cs->v[k].base[i]].enabled && rs->rules[cs->v[k].rule].enabled)
        ctr__diag_add(diags, CTR_SEVERITY_WARNING, cd->v[k].rule_pos[i].src->name, cd->v[k].rule_pos[i].line,
                      cd->v[k].rule_pos[i].col, cd->v[k].title, "LOAD_SIGMA_CORRELATION_DISABLED_RULE",
                      "rule '%s' is disabled: this correlation cannot fire", cd->v[k].rules[i]);
  }
  if (cs && !x.failed && !x.nomem) {
    cs->n = cd->n;
    link_feeds(&x, cs);
    rs->corr = cs;
  }
  if (x.nomem)
    return CTR_ENOMEM;
  return x.failed ? CTR_ESYNTAX : CTR_OK;
}
