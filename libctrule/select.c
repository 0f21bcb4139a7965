/* select.c - candidate selection (select.h): what a rule's compiled
 * condition requires of a field (ctr__required_keys: the one derivation the
 * eventName index and the prefilter key on), the eventName index built from
 * it and looked up per record, and the stage's build. */
#include "select.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ keys */

/* One derivation: the keys of `field` (folded ones too when folded). */
typedef struct key_ctx {
  const ctr__keys_ctx *kx;
  const ctr__field_def *field;
  const char *values_arg; /* json.values[values_arg] reads the field too; NULL: no such alias */
  bool folded;
} key_ctx;

static const ctr__keyset k_any = {.any = true};

static ctr__keyset keys_of(const key_ctx *x, const ctr__str *v, size_t n, bool folded)
{
  ctr__key *k = ctr__arena_alloc(x->kx->scratch, (n ? n : 1) * sizeof *k);
  if (!k)
    return k_any;
  for (size_t i = 0; i < n; i++)
    k[i] = (ctr__key){v[i], folded};
  return (ctr__keyset){.v = k, .n = n};
}

/* An iglob pattern with no wildcard matches one string up to case: that
 * string lowered, else NULL (len in *len). */
static const char *iglob_key(const key_ctx *x, const ctr__str *p, size_t *len)
{
  char *k = ctr__arena_alloc(x->kx->scratch, p->len + 1);
  size_t n = 0;
  if (!k)
    return NULL;
  for (size_t i = 0; i < p->len; i++) {
    char c = p->s[i];
    if (c == '*' || c == '?' || c == '[')
      return NULL;
    if (c == '\\' && i + 1 < p->len)
      c = p->s[++i];
    k[n++] = (char)tolower((unsigned char)c);
  }
  *len = n;
  return k;
}

/* A check's keys: field = / in / intersects (exact); when folded,
 * tolower(field) = / in, and field or its json.values alias iglob with no
 * wildcard (what Sigma writes for eventName). */
static ctr__keyset check_keys(const key_ctx *x, const ctr__cnode *c)
{
  const ctr__cexpr *lhs = c->lhs;
  bool lowered = lhs->tf == CTR__TF_TOLOWER && lhs->nargs == 1;
  if (lowered)
    lhs = lhs->args[0];
  if (lhs->tf != CTR__TF_NONE || c->rhs_expr || c->mod || (lowered && !x->folded))
    return k_any;
  const ctr__slot *slot = &x->kx->rs->slots[lhs->slot];
  bool field = slot->def == x->field;
  bool values = !lowered && x->values_arg && slot->def == x->kx->values && slot->arg &&
                strcmp(slot->arg, x->values_arg) == 0;
  if (field && c->op == CTR__OP_EQ)
    return keys_of(x, &c->rhs, 1, lowered);
  if (field && (c->op == CTR__OP_IN || (c->op == CTR__OP_INTERSECTS && !lowered)))
    return keys_of(x, c->rhs_list, c->nrhs, lowered);
  if ((field || values) && x->folded && !lowered && c->op == CTR__OP_IGLOB) {
    ctr__str k;
    if (!(k.s = iglob_key(x, &c->rhs, &k.len)))
      return k_any;
    ctr__keyset ks = keys_of(x, &k, 1, true);
    ks.nonstring = values;
    return ks;
  }
  return k_any;
}

static ctr__keyset cond_keys(const key_ctx *x, const ctr__cnode *c)
{
  if (!c)
    return k_any;
  switch (c->kind) {
  case CTR__N_CHECK:
    return check_keys(x, c);
  case CTR__N_AND: {
    /* The fewest keys; of as many, those an eventName that is no string
     * cannot satisfy. */
    ctr__keyset best = k_any;
    for (size_t i = 0; i < c->nkids; i++) {
      ctr__keyset k = cond_keys(x, c->kids[i]);
      if (!k.any && (best.any || k.n < best.n || (k.n == best.n && best.nonstring && !k.nonstring)))
        best = k;
    }
    return best;
  }
  case CTR__N_OR: {
    /* Every branch must be keyed; the condition's keys are their union. */
    ctr__keyset *kids = ctr__arena_alloc(x->kx->scratch, (c->nkids ? c->nkids : 1) * sizeof *kids);
    if (!kids)
      return k_any;
    ctr__keyset u = {0};
    for (size_t i = 0; i < c->nkids; i++) {
      kids[i] = cond_keys(x, c->kids[i]);
      if (kids[i].any)
        return k_any;
      u.n += kids[i].n;
      u.nonstring |= kids[i].nonstring;
    }
    ctr__key *v = ctr__arena_alloc(x->kx->scratch, (u.n ? u.n : 1) * sizeof *v);
    if (!v)
      return k_any;
    for (size_t i = 0, n = 0; i < c->nkids; i++)
      for (size_t j = 0; j < kids[i].n; j++)
        v[n++] = kids[i].v[j];
    u.v = v;
    return u;
  }
  default:
    return k_any; /* `not`: nothing is required */
  }
}

ctr__keys_ctx ctr__keys_ctx_make(ctr__arena *scratch, const ctr_ruleset *rs)
{
  return (ctr__keys_ctx){scratch, rs, ctr__field_lookup("ct.name", 7), ctr__field_lookup("json.values", 11)};
}

ctr__keyset ctr__required_keys(const ctr__keys_ctx *kx, const ctr__field_def *field, const ctr__cnode *c,
                               bool folded)
{
  key_ctx x = {kx, field, field == kx->ct_name ? "eventName" : NULL, folded};
  return cond_keys(&x, c);
}

/* ------------------------------------------------------------ the eventName index */

typedef struct index_entry {
  char *event_name; /* the key: an eventName, or in the folded table what tolower(eventName) must be */
  size_t len;
  uint32_t *rules; /* enabled rules to evaluate, in definition order */
  size_t n;
} index_entry;

/* Open-addressing tables (event_name NULL: empty), all in the ruleset's pool. */
struct ctr__index {
  index_entry *exact;
  size_t exact_cap;
  index_entry *folded; /* keys compared case-insensitively (tolower(ct.name) =, iglob): */
  size_t folded_cap;   /* looked up by tolower(eventName) when exact has no entry */
  uint32_t *wildcard;  /* enabled rules with no eventName constraint */
  size_t nwildcard;
  uint32_t *nonstring; /* for an eventName absent or not a string: the wildcard rules and */
  size_t nnonstring;   /* those keyed through json.values[eventName], which reads any value */
};

void *ctr__select_zalloc(ctr__arena *pool, size_t n)
{
  void *p = ctr__arena_alloc(pool, n ? n : 1);
  if (p)
    memset(p, 0, n ? n : 1);
  return p;
}

/* The entry of key (s,len) in an index table; with `pool`, a new one if it
 * has none (NULL: out of memory, or not found). */
static index_entry *index_slot(ctr__arena *pool, index_entry *tab, size_t cap, const char *s, size_t len)
{
  size_t h = ctr__hash(s, len) & (cap - 1);
  while (tab[h].event_name && !(tab[h].len == len && memcmp(tab[h].event_name, s, len) == 0))
    h = (h + 1) & (cap - 1);
  if (!tab[h].event_name && (!pool || !(tab[h].event_name = ctr__arena_strndup(pool, s, len))))
    return NULL;
  tab[h].len = len;
  return &tab[h];
}

static index_entry *key_slot(ctr__arena *pool, ctr__index *ix, const ctr__key *k)
{
  return k->folded ? index_slot(pool, ix->folded, ix->folded_cap, k->s.s, k->s.len)
                   : index_slot(pool, ix->exact, ix->exact_cap, k->s.s, k->s.len);
}

/* The folded table's entry for an eventName: the key equal to tolower() of
 * its bytes, as the check `tolower(ct.name) = key` compares. */
static const index_entry *folded_find(const index_entry *tab, size_t cap, const char *name, size_t len)
{
  if (!cap)
    return NULL;
  for (size_t h = ctr__hash_lower(name, len) & (cap - 1); tab[h].event_name; h = (h + 1) & (cap - 1)) {
    if (tab[h].len != len)
      continue;
    size_t i = 0;
    while (i < len && (unsigned char)tab[h].event_name[i] == (unsigned char)tolower((unsigned char)name[i]))
      i++;
    if (i == len)
      return &tab[h];
  }
  return NULL;
}

static size_t table_cap(size_t keys)
{
  size_t cap = 16;
  while (cap < keys * 2)
    cap *= 2;
  return cap;
}

/* Appends rule r to a list in definition order, once. */
static void file_rule(index_entry *e, uint32_t r)
{
  if (!e->n || e->rules[e->n - 1] != r)
    e->rules[e->n++] = r;
}

/* An eventName in both tables (GetObject exact, getobject folded): its
 * rules are the two lists merged, in definition order. */
static bool merge_folded(ctr__arena *pool, index_entry *e, const index_entry *f)
{
  uint32_t *m = ctr__arena_alloc(pool, (e->n + f->n) * sizeof *m);
  if (!m)
    return false;
  size_t n = 0, i = 0, j = 0;
  while (i < e->n || j < f->n) {
    uint32_t r = j == f->n || (i < e->n && e->rules[i] <= f->rules[j]) ? e->rules[i++] : f->rules[j++];
    if (!n || m[n - 1] != r)
      m[n++] = r;
  }
  e->rules = m;
  e->n = n;
  return true;
}

/* The tables sized for the keys[] of the enabled rules, with an entry per
 * key whose list has room for its rules and the wildcards (its n counts
 * filings until file_all fills it). */
static bool make_entries(ctr__arena *pool, const ctr_ruleset *rs, const ctr__keyset *keys, ctr__index *ix)
{
  size_t nexact = 0, nfolded = 0;
  for (size_t i = 0; i < rs->nall; i++)
    for (size_t k = 0; k < keys[i].n; k++)
      *(keys[i].v[k].folded ? &nfolded : &nexact) += 1;
  ix->exact_cap = table_cap(nexact);
  ix->folded_cap = nfolded ? table_cap(nfolded) : 0;
  if (!(ix->exact = ctr__select_zalloc(pool, ix->exact_cap * sizeof *ix->exact)) ||
      (nfolded && !(ix->folded = ctr__select_zalloc(pool, ix->folded_cap * sizeof *ix->folded))))
    return false;
  for (size_t i = 0; i < rs->nall; i++)
    for (size_t k = 0; k < keys[i].n; k++) {
      index_entry *e = key_slot(pool, ix, &keys[i].v[k]);
      if (!e)
        return false;
      e->n++;
    }
  index_entry *tabs[2] = {ix->exact, ix->folded};
  size_t caps[2] = {ix->exact_cap, ix->folded_cap};
  for (int t = 0; t < 2; t++)
    for (size_t h = 0; h < caps[t]; h++) {
      index_entry *e = &tabs[t][h];
      if (e->event_name) {
        if (!(e->rules = ctr__arena_alloc(pool, (e->n + ix->nwildcard) * sizeof *e->rules)))
          return false;
        e->n = 0;
      }
    }
  return true;
}

/* Files every enabled rule, in definition order, under its keys; a wildcard
 * rule joins every list. Then an eventName with an exact entry finds the
 * rules of its folded key there. */
static bool file_all(ctr__arena *pool, const ctr_ruleset *rs, const ctr__keyset *keys, ctr__index *ix)
{
  index_entry *tabs[2] = {ix->exact, ix->folded};
  size_t caps[2] = {ix->exact_cap, ix->folded_cap};
  for (size_t i = 0; i < rs->nall; i++) {
    uint32_t r = rs->all[i];
    for (int t = 0; keys[i].any && t < 2; t++)
      for (size_t h = 0; h < caps[t]; h++)
        if (tabs[t][h].event_name)
          file_rule(&tabs[t][h], r);
    for (size_t k = 0; k < keys[i].n; k++)
      file_rule(key_slot(NULL, ix, &keys[i].v[k]), r);
  }
  for (size_t h = 0; ix->folded_cap && h < ix->exact_cap; h++) {
    index_entry *e = &ix->exact[h];
    const index_entry *f = e->event_name ? folded_find(ix->folded, ix->folded_cap, e->event_name, e->len) : NULL;
    if (f && !merge_folded(pool, e, f))
      return false;
  }
  return true;
}

/* The eventName index, built in time linear in the keys and the lists it
 * holds: every enabled rule is filed under its keys (exact or folded), or as
 * a wildcard, which every list holds. */
static bool build_index(ctr_ruleset *rs)
{
  ctr__arena *pool = &rs->pool;
  ctr__keyset *keys = calloc(rs->nall ? rs->nall : 1, sizeof *keys);
  ctr__arena scratch = {0}; /* keys and unions of or-branches, needed only here */
  ctr__keys_ctx kx = ctr__keys_ctx_make(&scratch, rs);
  size_t n = rs->nall ? rs->nall : 1;
  ctr__index *ix = ctr__select_zalloc(pool, sizeof *ix);
  bool ok = keys && ix && (ix->wildcard = ctr__arena_alloc(pool, n * sizeof *ix->wildcard)) &&
            (ix->nonstring = ctr__arena_alloc(pool, n * sizeof *ix->nonstring));
  for (size_t i = 0; ok && i < rs->nall; i++) {
    uint32_t r = rs->all[i];
    keys[i] = ctr__required_keys(&kx, kx.ct_name, rs->rules[r].cond, true);
    if (keys[i].any)
      ix->wildcard[ix->nwildcard++] = r;
    if (keys[i].any || keys[i].nonstring)
      ix->nonstring[ix->nnonstring++] = r;
  }
  ok = ok && make_entries(pool, rs, keys, ix) && file_all(pool, rs, keys, ix);
  /* A rule whose keys could not be collected was filed as a wildcard: the
   * index would be right but not the one asked for, so fail. */
  ok = ok && !scratch.failed;
  free(keys);
  ctr__arena_free(&scratch);
  if (ok)
    rs->index = ix;
  return ok;
}

const uint32_t *ctr__index_lookup(const ctr_ruleset *rs, const char *name, size_t len, size_t *n)
{
  const ctr__index *ix = rs->index;
  if (!name) {
    *n = ix->nnonstring;
    return ix->nonstring;
  }
  for (size_t h = ctr__hash(name, len) & (ix->exact_cap - 1); ix->exact[h].event_name; h = (h + 1) & (ix->exact_cap - 1))
    if (ix->exact[h].len == len && memcmp(ix->exact[h].event_name, name, len) == 0) {
      *n = ix->exact[h].n;
      return ix->exact[h].rules;
    }
  const index_entry *f = folded_find(ix->folded, ix->folded_cap, name, len);
  if (f) {
    *n = f->n;
    return f->rules;
  }
  *n = ix->nwildcard;
  return ix->wildcard;
}

/* ------------------------------------------------------------ the stage */

int ctr__select_build(ctr_ruleset *rs)
{
  rs->nall = 0;
  if (!(rs->all = ctr__arena_alloc(&rs->pool, (rs->nrules ? rs->nrules : 1) * sizeof *rs->all)))
    return CTR_ENOMEM;
  for (size_t r = 0; r < rs->nrules; r++)
    if (rs->rules[r].enabled)
      rs->all[rs->nall++] = (uint32_t)r;
  if (!build_index(rs))
    return CTR_ENOMEM;
  return ctr__prefilter_build(rs);
}
