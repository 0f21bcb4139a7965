/*
 * prefilter.c - decides from a record's raw bytes, before jansson parses it,
 * that no enabled rule can match it.
 *
 * At compile time every enabled rule must prove a key: the constant values
 * its condition requires of one top-level field (`= X` or `in (...)`, through
 * and/or and macros, never under `not`) - eventName (ct.name) if it can,
 * else errorCode (ct.error), else eventSource (ct.src). The rule is filed
 * under each of those values, together with what it also requires of the
 * other two fields (`ct.src = "kms.amazonaws.com" and ct.error =
 * "AccessDenied"` needs both). If one rule has no key, there is no prefilter
 * and every record is parsed.
 *
 * At scan time the walk (walk.c) has crossed the record once - it checks the
 * grammar and reads the top-level keys - and a record is skipped only when
 *   - the walk vouched for it, so jansson would accept it and no bad-record
 *     report is ever hidden;
 *   - it is a complete CloudTrail record (the keys ctr__event_complete checks,
 *     with their types), so no incomplete-record report is hidden either, and
 *     it is not an Insight record;
 *   - no rule filed under its eventName, errorCode or eventSource also has
 *     what it requires of the other two (an absent field satisfies nothing:
 *     every operator is false on an absent field).
 * The values compared are raw, and a value that holds a backslash escape or
 * is not a string sends the record to jansson.
 */
#include "engine.h"

#include <string.h>

/* The fields a rule may be keyed on, in order of preference (the most
 * selective first), with the top-level key each one reads verbatim (their
 * CTR__TOP_ indexes in the walk's facts are the same). */
enum { KEYED_NAME, KEYED_ERROR, KEYED_SOURCE, KEYED__COUNT };
_Static_assert((int)KEYED_NAME == (int)CTR__TOP_EVENT_NAME && (int)KEYED_ERROR == (int)CTR__TOP_ERROR_CODE &&
                   (int)KEYED_SOURCE == (int)CTR__TOP_EVENT_SOURCE,
               "keyed fields and their top-level keys share an index");
static const char *const k_keyed_fields[KEYED__COUNT] = {"ct.name", "ct.error", "ct.src"};

/* What one rule requires of the keyed fields (NULL: nothing). */
typedef struct rule_needs {
  ctr__strset *need[KEYED__COUNT];
} rule_needs;

/* A value of a keyed field and the rules filed under it. */
typedef struct key_entry {
  ctr__str value; /* value.s NULL: empty slot */
  uint32_t first, n; /* range of ctr__prefilter.filed */
} key_entry;

typedef struct key_table {
  key_entry *slots; /* open addressing */
  size_t cap;
} key_table;

struct ctr__prefilter {
  key_table by[KEYED__COUNT]; /* a rule is filed under the values of its preferred keyed field */
  uint32_t *filed;            /* indexes into needs, grouped by key_entry */
  rule_needs *needs;          /* one per enabled rule */
};

/* ------------------------------------------------------------ compile time */

static const ctr__keyset k_any = {.any = true};

ctr__keyset ctr__required_values(ctr__arena *scratch, const ctr_ruleset *rs, const ctr__field_def *field,
                                 const ctr__cnode *c)
{
  if (!c)
    return k_any;
  switch (c->kind) {
  case CTR__N_CHECK:
    if (c->lhs->tf != CTR__TF_NONE || rs->slots[c->lhs->slot].def != field || c->rhs_expr || c->mod)
      return k_any;
    if (c->op == CTR__OP_EQ)
      return (ctr__keyset){.v = &c->rhs, .n = 1};
    if (c->op == CTR__OP_IN || c->op == CTR__OP_INTERSECTS)
      return (ctr__keyset){.v = c->rhs_list, .n = c->nrhs};
    return k_any;
  case CTR__N_AND: {
    ctr__keyset best = k_any;
    for (size_t i = 0; i < c->nkids; i++) {
      ctr__keyset k = ctr__required_values(scratch, rs, field, c->kids[i]);
      if (!k.any && (best.any || k.n < best.n))
        best = k;
    }
    return best;
  }
  case CTR__N_OR: {
    /* Every branch must be keyed; the rule's keys are their union. */
    ctr__keyset *kids = ctr__arena_alloc(scratch, (c->nkids ? c->nkids : 1) * sizeof *kids);
    if (!kids)
      return k_any;
    size_t total = 0;
    for (size_t i = 0; i < c->nkids; i++) {
      kids[i] = ctr__required_values(scratch, rs, field, c->kids[i]);
      if (kids[i].any)
        return k_any;
      total += kids[i].n;
    }
    ctr__str *u = ctr__arena_alloc(scratch, (total ? total : 1) * sizeof *u);
    if (!u)
      return k_any;
    size_t n = 0;
    for (size_t i = 0; i < c->nkids; i++)
      for (size_t j = 0; j < kids[i].n; j++)
        u[n++] = kids[i].v[j];
    return (ctr__keyset){.v = u, .n = n};
  }
  default:
    return k_any; /* `not`: nothing is required */
  }
}

/* (field, value, rule) before grouping. */
typedef struct filing {
  int field;
  ctr__str value;
  uint32_t rule;
} filing;

static int filing_cmp(const void *a, const void *b)
{
  const filing *x = a, *y = b;
  if (x->field != y->field)
    return x->field - y->field;
  if (x->value.len != y->value.len)
    return x->value.len < y->value.len ? -1 : 1;
  int c = memcmp(x->value.s, y->value.s, x->value.len);
  if (c)
    return c;
  return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static const key_entry *key_lookup(const key_table *t, const char *s, size_t len)
{
  if (!t->cap)
    return NULL;
  for (size_t k = ctr__hash(s, len) & (t->cap - 1); t->slots[k].value.s; k = (k + 1) & (t->cap - 1))
    if (t->slots[k].value.len == len && memcmp(t->slots[k].value.s, s, len) == 0)
      return &t->slots[k];
  return NULL;
}

static void *pool_zalloc(ctr__arena *pool, size_t n)
{
  void *p = ctr__arena_alloc(pool, n ? n : 1);
  if (p)
    memset(p, 0, n ? n : 1);
  return p;
}

static bool same_key(const filing *a, const filing *b)
{
  return a->field == b->field && a->value.len == b->value.len && memcmp(a->value.s, b->value.s, a->value.len) == 0;
}

/* Files the rules' filings (sorted) into pf's tables. */
static bool file_rules(ctr__arena *pool, ctr__prefilter *pf, const filing *v, size_t n)
{
  if (!(pf->filed = pool_zalloc(pool, n * sizeof *pf->filed)))
    return false;
  size_t groups[KEYED__COUNT] = {0};
  for (size_t i = 0; i < n; i++)
    if (i == 0 || !same_key(&v[i], &v[i - 1]))
      groups[v[i].field]++;
  for (int f = 0; f < KEYED__COUNT; f++) {
    size_t cap = 8;
    while (cap < groups[f] * 2)
      cap *= 2;
    if (!(pf->by[f].slots = pool_zalloc(pool, cap * sizeof *pf->by[f].slots)))
      return false;
    pf->by[f].cap = cap;
  }
  uint32_t nfiled = 0;
  key_entry *e = NULL;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || !same_key(&v[i], &v[i - 1])) {
      key_table *t = &pf->by[v[i].field];
      size_t k = ctr__hash(v[i].value.s, v[i].value.len) & (t->cap - 1);
      while (t->slots[k].value.s)
        k = (k + 1) & (t->cap - 1);
      e = &t->slots[k];
      e->value = v[i].value;
      e->first = nfiled;
    } else if (v[i].rule == v[i - 1].rule) {
      continue; /* the same value listed twice */
    }
    pf->filed[nfiled++] = v[i].rule;
    e->n++;
  }
  return true;
}

int ctr__prefilter_build(ctr_ruleset *rs)
{
  const ctr__field_def *fields[KEYED__COUNT];
  for (int f = 0; f < KEYED__COUNT; f++)
    fields[f] = ctr__field_lookup(k_keyed_fields[f], strlen(k_keyed_fields[f]));
  ctr__arena scratch = {0};
  filing *filings = NULL;
  size_t nfilings = 0, cap = 0;
  int rc = CTR_ENOMEM;
  rs->prefilter = NULL;
  ctr__prefilter *pf = pool_zalloc(&rs->pool, sizeof *pf);
  if (!pf || !(pf->needs = pool_zalloc(&rs->pool, rs->nall * sizeof *pf->needs)))
    goto done;
  for (size_t i = 0; i < rs->nall; i++) {
    const ctr__cnode *cond = rs->rules[rs->all[i]].cond;
    int primary = -1;
    for (int f = 0; f < KEYED__COUNT; f++) {
      ctr__keyset k = ctr__required_values(&scratch, rs, fields[f], cond);
      if (k.any)
        continue;
      if (primary < 0) {
        primary = f;
        if (nfilings + k.n > cap) {
          cap = (nfilings + k.n) * 2 + 64;
          filing *grown = realloc(filings, cap * sizeof *filings);
          if (!grown)
            goto done;
          filings = grown;
        }
        for (size_t j = 0; j < k.n; j++)
          filings[nfilings++] = (filing){f, k.v[j], (uint32_t)i};
      } else {
        ctr__strset *set = ctr__arena_alloc(&rs->pool, sizeof *set);
        if (!set || !ctr__strset_build(&rs->pool, set, k.v, k.n))
          goto done;
        pf->needs[i].need[f] = set;
      }
    }
    if (primary < 0) {
      rc = CTR_OK; /* this rule may match any record: no prefilter */
      goto done;
    }
  }
  if (nfilings)
    qsort(filings, nfilings, sizeof *filings, filing_cmp);
  if (!file_rules(&rs->pool, pf, filings, nfilings))
    goto done;
  rs->prefilter = pf;
  rc = CTR_OK;
done:
  free(filings);
  ctr__arena_free(&scratch);
  return rc;
}

/* ------------------------------------------------------------ scan time */

/* Whether a rule filed under one of the record's values also gets what it
 * requires of the other keyed fields. */
static bool may_match(const rule_needs *r, const ctr__topval *top)
{
  for (int f = 0; f < KEYED__COUNT; f++) {
    const ctr__strset *need = r->need[f];
    if (!need)
      continue;
    const ctr__topval *v = &top[f];
    if (!v->kind)
      return false; /* absent: the required comparison is false */
    if (v->kind != '"' || v->escaped)
      return true; /* jansson decides */
    if (!ctr__strset_has(need, v->s, v->len))
      return false;
  }
  return true;
}

/* Whether a record the walk vouched for is complete and no rule can match it. */
static bool rules_out(const ctr__prefilter *pf, const ctr__record_facts *facts)
{
  const ctr__topval *top = facts->top;
  for (int k = 0; k < CTR__TOP__COUNT; k++) {
    if (k == CTR__TOP_EVENT_TYPE || k == CTR__TOP_ERROR_CODE)
      continue;
    char want = k == CTR__TOP_USER_IDENTITY ? '{' : '"';
    if (top[k].kind != want)
      return false; /* incomplete: parsed so that it is reported */
  }
  const ctr__topval *src = &top[CTR__TOP_EVENT_SOURCE], *type = &top[CTR__TOP_EVENT_TYPE];
  static const char suffix[] = ".amazonaws.com";
  if (src->len < sizeof suffix - 1 || memcmp(src->s + src->len - (sizeof suffix - 1), suffix, sizeof suffix - 1) != 0)
    return false;
  if (type->kind && (type->kind != '"' || type->escaped ||
                     (type->len == 20 && memcmp(type->s, "AwsCloudTrailInsight", 20) == 0)))
    return false;
  for (int f = 0; f < KEYED__COUNT; f++) {
    const ctr__topval *v = &top[f];
    if (!v->kind)
      continue; /* absent: no comparison on it is true */
    if (v->kind != '"' || v->escaped)
      return false; /* a non-string reads as "", an escape must be decoded: jansson decides */
    const key_entry *e = key_lookup(&pf->by[f], v->s, v->len);
    for (uint32_t i = 0; e && i < e->n; i++)
      if (may_match(&pf->needs[pf->filed[e->first + i]], top))
        return false;
  }
  return true;
}

static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

bool ctr__prefilter_skips(const ctr__prefilter *pf, const char *data, size_t len, const ctr__record_facts *facts)
{
  if (facts)
    return rules_out(pf, facts);
  /* Not cut by a walk (it spanned chunks, or came out of an envelope). */
  const char *p = data, *end = data + len;
  while (p < end && is_ws(*p))
    p++;
  ctr__record_facts walked;
  if (!(p = ctr__walk_object(p, end, false, &walked)))
    return false;
  while (p < end && is_ws(*p))
    p++;
  return p == end && rules_out(pf, &walked); /* trailing bytes: jansson reports them */
}
