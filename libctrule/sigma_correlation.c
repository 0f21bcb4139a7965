/* sigma_correlation.c - Sigma correlation documents (event_count,
 * value_count, temporal, temporal_ordered) checked whole, every mistake
 * reported where it lies, and kept as a ctr__corrdef in defs->corr; the
 * rules they name are resolved when the ruleset compiles (correlate.c). */
#include "sigma.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef ctr__sigma_ctx sctx;
#define err ctr__sigma_err

/* Most rules one correlation may name: temporal_ordered keeps a chain per
 * rule and group (correlate.c). */
#define MAX_CORR_RULES 64

static void free_strv(char **v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

static void corrdef_free(ctr__corrdef *d)
{
  free(d->title);
  free(d->desc);
  free_strv(d->rules, d->nrules);
  free(d->rule_pos);
  free_strv(d->group_by, d->ngroup);
  free(d->field);
  free(d->span_text);
  free(d->cond_text);
  free_strv(d->tags, d->ntags);
}

void ctr__corrdefs_free(ctr__corrdefs *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++)
    corrdef_free(&c->v[i]);
  free(c->v);
  free(c);
}

/* Whether a rule defined so far is `ref`: by name (a Falco rule or a Sigma
 * title), or a Sigma rule by its id or name (the sigma.id: / sigma.name:
 * tags sigma.c gives it). */
static bool rule_defined(const ctr__defs *defs, const char *ref)
{
  for (size_t i = 0; i < defs->nrules; i++) {
    const ctr__rule_def *r = &defs->rules[i];
    if (strcmp(r->name, ref) == 0)
      return true;
    for (size_t t = 0; t < r->ntags; t++) {
      const char *tag = r->tags[t];
      if ((strncmp(tag, "sigma.id:", 9) == 0 && strcmp(tag + 9, ref) == 0) ||
          (strncmp(tag, "sigma.name:", 11) == 0 && strcmp(tag + 11, ref) == 0))
        return true;
    }
  }
  return false;
}

/* "<digits><s|m|h|d>", not zero, in seconds; 0 if invalid. */
static uint64_t timespan_s(const char *s, size_t n)
{
  if (n < 2 || n > 12 || !ctr__one_of("smhd", s[n - 1]))
    return 0;
  uint64_t v = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  static const struct { char unit; uint64_t s; } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
  for (size_t u = 0; u < CTR__COUNTOF(units); u++)
    if (units[u].unit == s[n - 1])
      v *= units[u].s;
  return v;
}

static bool is_count(const ctr__ynode *v)
{
  if (!ctr__is_scalar(v) || v->style != YAML_PLAIN_SCALAR_STYLE || v->len == 0 || v->len > 18)
    return false;
  for (size_t i = 0; i < v->len; i++)
    if (v->value[i] < '0' || v->value[i] > '9')
      return false;
  return true;
}

/* The threshold of event_count / value_count: gt, gte, lt, lte, eq, neq
 * (several are and-ed: a range) and, for value_count, the field counted.
 * A condition with an upper bound (lt, lte, eq, neq) is decided when its
 * window closes (correlate.c); one no window can meet is an error at the
 * comparison that made it so (a window holds at least one event). */
static int check_condition(sctx *x, const ctr__ynode *key, const ctr__ynode *cond, bool value_count, ctr__corrdef *d)
{
  static const char *const ops[] = {"gt", "gte", "lt", "lte", "eq", "neq"};
  if (!cond || cond->kind != CTR__Y_MAP || cond->n == 0)
    return err(x, cond ? cond : key, 0, CODE_INVALID,
               "a count correlation needs a 'condition' map (gt, gte, lt, lte, eq, neq%s)",
               value_count ? " and field" : "");
  const ctr__ynode *counted = NULL, *never = NULL;
  size_t nops = 0;
  ctr__buf text = {0};
  d->max_count = UINT64_MAX;
  for (size_t i = 0; i + 1 < cond->n; i += 2) {
    const ctr__ynode *k = cond->items[i], *v = cond->items[i + 1];
    if (ctr__is_scalar(k) && strcmp(k->value, "field") == 0) {
      if (!value_count)
        return ctr__buf_free(&text), err(x, k, 0, CODE_INVALID, "'field' belongs to a value_count correlation");
      if (!ctr__is_scalar(v) || !ctr__sigma_path(v->value, v->len))
        return ctr__buf_free(&text),
               err(x, v, 0, CODE_UNSUPPORTED, "the counted field must be a field name (a dotted path of keys)");
      counted = v;
      continue;
    }
    size_t o = 0;
    while (o < CTR__COUNTOF(ops) && !(ctr__is_scalar(k) && strcmp(k->value, ops[o]) == 0))
      o++;
    if (o == CTR__COUNTOF(ops))
      return ctr__buf_free(&text), err(x, k, 0, CODE_INVALID, "'%s' is not a correlation condition (gt, gte, lt, lte, eq, neq%s)",
                                       ctr__is_scalar(k) ? k->value : "?", value_count ? ", field" : "");
    if (!is_count(v))
      return ctr__buf_free(&text), err(x, v, 0, CODE_INVALID, "'%s' needs a whole number", k->value);
    uint64_t n = strtoull(v->value, NULL, 10);
    uint64_t lo = o == 0 ? n + 1 : o == 1 || o == 4 ? n : 0;
    uint64_t hi = o == 2 ? (n ? n - 1 : 0) : o == 3 || o == 4 ? n : UINT64_MAX;
    if (lo > d->min_count)
      d->min_count = lo;
    if (hi < d->max_count)
      d->max_count = hi;
    if (o == 5) {
      d->neq = n;
      d->has_neq = true;
    }
    uint64_t least = d->min_count ? d->min_count : 1;
    if (!never && ((o == 2 && n == 0) || least > d->max_count ||
                   (d->has_neq && least == d->max_count && d->neq == least)))
      never = k;
    if (ctr__buf_printf(&text, "%s%s %s", nops ? " and " : "", k->value, v->value) != CTR_OK)
      return ctr__buf_free(&text), CTR_ENOMEM;
    nops++;
  }
  if (value_count && !counted)
    return ctr__buf_free(&text), err(x, key, 0, CODE_INVALID, "a value_count correlation names the counted 'field' in its condition");
  if (!nops)
    return ctr__buf_free(&text), err(x, cond, 0, CODE_INVALID, "the condition has no comparison (gt, gte, lt, lte, eq, neq)");
  if (never) {
    int rc = err(x, never, 0, CODE_INVALID, "the condition '%s' can never hold (a window holds at least one event)",
                 text.data);
    ctr__buf_free(&text);
    return rc;
  }
  if (d->min_count == 0)
    d->min_count = 1; /* gte 0: any event */
  d->cond_text = text.data;
  if (counted && !(d->field = ctr__strdup(counted->value)))
    return CTR_ENOMEM;
  return CTR_OK;
}

/* A copy of the scalars of a scalar-or-sequence node into *v, *n. */
static int copy_names(const ctr__ynode *node, char ***v, size_t *n, ctr__pos **pos)
{
  size_t k = !node ? 0 : node->kind == CTR__Y_SEQ ? node->n : 1;
  *v = calloc(k ? k : 1, sizeof **v);
  if (pos)
    *pos = calloc(k ? k : 1, sizeof **pos);
  if (!*v || (pos && !*pos))
    return CTR_ENOMEM;
  for (size_t i = 0; i < k; i++) {
    const ctr__ynode *s = node->kind == CTR__Y_SEQ ? node->items[i] : node;
    if (!((*v)[i] = ctr__strdup(s->value)))
      return CTR_ENOMEM;
    (*n)++;
    if (pos)
      (*pos)[i] = (ctr__pos){s->src, s->line, s->col};
  }
  return CTR_OK;
}

/* The tags of the correlation's rule: the document's, then sigma,
 * sigma.correlation and sigma.id:<id> (as a Sigma rule has them). */
static int copy_tags(sctx *x, ctr__corrdef *d)
{
  const ctr__ynode *tags = ctr__ymap_get(x->doc, "tags"), *id = ctr__ymap_get(x->doc, "id");
  if (tags && tags->kind != CTR__Y_SEQ)
    return err(x, tags, 0, CODE_INVALID, "'tags' must be a list");
  size_t n = (tags ? tags->n : 0) + 3;
  if (!(d->tags = calloc(n, sizeof *d->tags)))
    return CTR_ENOMEM;
  for (size_t i = 0; tags && i < tags->n; i++) {
    if (!ctr__is_scalar(tags->items[i]))
      return err(x, tags->items[i], 0, CODE_INVALID, "a tag must be a string");
    if (!(d->tags[d->ntags++] = ctr__strdup(tags->items[i]->value)))
      return CTR_ENOMEM;
  }
  if (!(d->tags[d->ntags++] = ctr__strdup("sigma")) || !(d->tags[d->ntags++] = ctr__strdup("sigma.correlation")))
    return CTR_ENOMEM;
  if (ctr__is_scalar(id)) {
    ctr__buf b = {0};
    if (ctr__buf_printf(&b, "sigma.id:%s", id->value) != CTR_OK)
      return CTR_ENOMEM;
    d->tags[d->ntags++] = b.data;
  }
  return CTR_OK;
}

/* The title names no rule and no correlation yet. */
static int check_title(sctx *x, const ctr__ynode *title)
{
  for (size_t i = 0; i < x->defs->nrules; i++)
    if (strcmp(x->defs->rules[i].name, title->value) == 0) {
      const ctr__pos *p = &x->defs->rules[i].pos;
      return err(x, title, 0, CODE_INVALID, "a rule named '%s' is already defined at %s:%u:%u", title->value,
                 p->src ? p->src->name : "?", p->line, p->col);
    }
  for (size_t i = 0; x->defs->corr && i < x->defs->corr->n; i++)
    if (strcmp(x->defs->corr->v[i].title, title->value) == 0) {
      const ctr__pos *p = &x->defs->corr->v[i].pos;
      return err(x, title, 0, CODE_INVALID, "a correlation named '%s' is already defined at %s:%u:%u", title->value,
                 p->src ? p->src->name : "?", p->line, p->col);
    }
  return CTR_OK;
}

/* Everything but the condition, into d. */
static int read_correlation(sctx *x, const ctr__ynode *key, const ctr__ynode *c, ctr__corrdef *d)
{
  static const char *const types[] = {"event_count", "value_count", "temporal", "temporal_ordered"};
  static const char *const known[] = {"type", "rules", "group-by", "timespan", "condition", "generate", "aliases"};
  for (size_t i = 0; i + 1 < c->n; i += 2) {
    const ctr__ynode *k = c->items[i];
    size_t j = 0;
    while (j < CTR__COUNTOF(known) && !(ctr__is_scalar(k) && strcmp(k->value, known[j]) == 0))
      j++;
    if (j == CTR__COUNTOF(known))
      return err(x, k, 0, CODE_UNSUPPORTED, "correlation attribute '%s' is not supported", ctr__is_scalar(k) ? k->value : "?");
  }
  const ctr__ynode *type = ctr__ymap_get(c, "type");
  size_t t = 0;
  while (t < CTR__COUNTOF(types) && !(ctr__is_scalar(type) && strcmp(type->value, types[t]) == 0))
    t++;
  if (t == CTR__COUNTOF(types))
    return err(x, type ? type : key, 0, CODE_INVALID,
               "correlation type '%s' is not event_count, value_count, temporal or temporal_ordered",
               ctr__is_scalar(type) ? type->value : "(none)");
  d->type = (ctr__corr_type)t;
  const ctr__ynode *rules = ctr__ymap_get(c, "rules");
  if (!rules || (rules->kind == CTR__Y_SEQ && rules->n == 0) || rules->kind == CTR__Y_MAP)
    return err(x, rules ? rules : key, 0, CODE_INVALID, "a correlation needs 'rules': the rules it correlates");
  size_t nrules = rules->kind == CTR__Y_SEQ ? rules->n : 1;
  if (nrules > MAX_CORR_RULES)
    return err(x, rules, 0, CODE_UNSUPPORTED, "a correlation names at most %d rules", MAX_CORR_RULES);
  for (size_t i = 0; i < nrules; i++) {
    const ctr__ynode *r = rules->kind == CTR__Y_SEQ ? rules->items[i] : rules;
    if (!ctr__is_scalar(r))
      return err(x, r, 0, CODE_INVALID, "a correlated rule is named by a string");
    if (!rule_defined(x->defs, r->value))
      return err(x, r, 0, CODE_INVALID,
                 "'%s' names no rule defined before this correlation (a rule name, or a Sigma rule's id or name)",
                 r->value);
  }
  const ctr__ynode *gb = ctr__ymap_get(c, "group-by");
  if (gb && gb->kind == CTR__Y_MAP)
    return err(x, gb, 0, CODE_INVALID, "'group-by' must be a list of field names");
  for (size_t i = 0; gb && i < (gb->kind == CTR__Y_SEQ ? gb->n : 1); i++) {
    const ctr__ynode *f = gb->kind == CTR__Y_SEQ ? gb->items[i] : gb;
    if (!ctr__is_scalar(f) || !ctr__sigma_path(f->value, f->len))
      return err(x, f, 0, CODE_UNSUPPORTED, "a 'group-by' entry must be a field name (a dotted path of keys)");
  }
  const ctr__ynode *ts = ctr__ymap_get(c, "timespan");
  if (!ctr__is_scalar(ts) || !(d->span_s = timespan_s(ts->value, ts->len)))
    return err(x, ts ? ts : key, 0, CODE_INVALID, "a correlation needs a 'timespan': a number and s, m, h or d (e.g. 1h)");
  if (d->span_s > (uint64_t)INT64_MAX / 1000000000) /* held in int64 nanoseconds, as event times are */
    return err(x, ts, 0, CODE_INVALID, "a 'timespan' must fit in 292 years (at most 106751d, or 9223372036s)");
  const ctr__ynode *gen = ctr__ymap_get(c, "generate");
  if (gen && !ctr__sigma_bool(gen))
    return err(x, gen, 0, CODE_INVALID, "'generate' is true or false");
  d->generate = gen && strcmp(ctr__sigma_bool(gen), "true") == 0;
  const ctr__ynode *cond_key = ctr__sigma_key(c, "condition");
  if (t < 2) {
    int rc = check_condition(x, cond_key ? cond_key : type, ctr__ymap_get(c, "condition"), t == 1, d);
    if (rc != CTR_OK)
      return rc;
  } else if (cond_key) {
    return err(x, cond_key, 0, CODE_UNSUPPORTED, "a %s correlation takes no condition: every rule it names must match",
               type->value);
  }
  const ctr__ynode *aliases = ctr__sigma_key(c, "aliases");
  if (aliases)
    return err(x, aliases, 0, CODE_UNSUPPORTED, "correlation 'aliases' are not supported");
  if (copy_names(rules, &d->rules, &d->nrules, &d->rule_pos) != CTR_OK ||
      copy_names(gb, &d->group_by, &d->ngroup, NULL) != CTR_OK || !(d->span_text = ctr__strdup(ts->value)))
    return CTR_ENOMEM;
  if (!d->cond_text) {
    ctr__buf b = {0};
    if (ctr__buf_printf(&b, "every rule%s", t == 3 ? ", in order" : "") != CTR_OK)
      return CTR_ENOMEM;
    d->cond_text = b.data;
  }
  return CTR_OK;
}

int ctr__sigma_correlation(sctx *x, const ctr__ynode *key)
{
  const ctr__ynode *c = ctr__ymap_get(x->doc, "correlation"), *level = ctr__ymap_get(x->doc, "level");
  const ctr__ynode *title = ctr__ymap_get(x->doc, "title"), *desc = ctr__ymap_get(x->doc, "description");
  if (!c || c->kind != CTR__Y_MAP)
    return err(x, c ? c : key, 0, CODE_INVALID, "'correlation' must be a map (type, rules, group-by, timespan, condition)");
  const char *prio;
  if (ctr__sigma_level(x, level, &prio) != CTR_OK)
    return CTR_ESYNTAX;
  if (desc && !ctr__is_scalar(desc))
    return err(x, desc, 0, CODE_INVALID, "'description' must be a string");
  int rc = check_title(x, title);
  if (rc != CTR_OK)
    return rc;
  size_t defined = x->defs->nrules + (x->defs->corr ? x->defs->corr->n : 0);
  if (defined >= x->defs->limits[CTR_LIMIT_RULES]) /* a correlation is a rule of the ruleset */
    return err(x, title, 0, "LOAD_ERR_VALIDATE", "more than %llu rules (limit %s)",
               (unsigned long long)x->defs->limits[CTR_LIMIT_RULES], ctr_limit_name(CTR_LIMIT_RULES));
  ctr__corrdef d = {.priority = ctr_priority_parse(prio), .pos = {title->src, title->line, title->col}};
  rc = read_correlation(x, key, c, &d);
  if (rc == CTR_OK)
    rc = copy_tags(x, &d);
  if (rc == CTR_OK && (!(d.title = ctr__strdup(title->value)) || !(d.desc = ctr__strdup(desc ? desc->value : title->value))))
    rc = CTR_ENOMEM;
  ctr__corrdefs *all = x->defs->corr;
  if (rc == CTR_OK && !all && !(all = x->defs->corr = calloc(1, sizeof *all)))
    rc = CTR_ENOMEM;
  if (rc == CTR_OK && all->n == all->cap) {
    size_t cap = all->cap ? all->cap * 2 : 4;
    ctr__corrdef *v = realloc(all->v, cap * sizeof *v);
    if (!v)
      rc = CTR_ENOMEM;
    else {
      all->v = v;
      all->cap = cap;
    }
  }
  if (rc != CTR_OK) {
    corrdef_free(&d);
    return rc;
  }
  all->v[all->n++] = d;
  return CTR_OK;
}
