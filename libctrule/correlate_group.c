/* correlate_group.c - the groups of a scanner's correlation state
 * (correlate_group.h): found or made by key, their matches placed and let
 * go, the heaps on their windows' ends, and the periods let go. */
#include "correlate_group.h"

#include <stdlib.h>
#include <string.h>

void ctr__free_vals(char **vals, size_t n)
{
  for (size_t i = 0; vals && i < n; i++)
    free(vals[i]);
  free(vals);
}

void ctr__group_free(ctr__corrstate *s, cgroup *g)
{
  s->held -= g->e.n + g->sh.n;
  ctr__cseq_free(&g->e);
  ctr__cseq_free(&g->sh);
  ctr__free_vals(g->vals, s->cs->v[g->corr].ngroup);
  free(g->vmap.slot);
  free(g->dh.v);
  free(g->last);
  free(g->key);
  free(g);
}

void ctr__group_drop(ctr__corrstate *s, cgroup *g)
{
  cgroup **pg = &s->tab[g->hash % s->cap];
  while (*pg != g)
    pg = &(*pg)->next;
  *pg = g->next;
  ctr__group_free(s, g);
  s->ngroups--;
}

cgroup *ctr__group_find(const ctr__corrstate *s)
{
  uint64_t h = ctr__hash(s->key.data, s->key.len);
  for (cgroup *g = s->tab[h % s->cap]; g; g = g->next)
    if (g->hash == h && g->klen == s->key.len && memcmp(g->key, s->key.data, g->klen) == 0)
      return g;
  return NULL;
}

cgroup *ctr__group_of(ctr__corrstate *s, uint32_t k, char **vals)
{
  uint64_t h = ctr__hash(s->key.data, s->key.len);
  cgroup *found = ctr__group_find(s);
  if (found)
    return found;
  if (s->ngroups >= s->cap) { /* grow: chains stay short */
    size_t cap = s->cap * 2;
    cgroup **tab = calloc(cap, sizeof *tab);
    if (!tab)
      return NULL;
    for (size_t b = 0; b < s->cap; b++)
      for (cgroup *g = s->tab[b], *nx; g; g = nx) {
        nx = g->next;
        g->next = tab[g->hash % cap];
        tab[g->hash % cap] = g;
      }
    free(s->tab);
    s->tab = tab;
    s->cap = cap;
  }
  const ctr__ccorr *c = &s->cs->v[k];
  bool temporal = c->type == CTR__CORR_TEMPORAL || c->type == CTR__CORR_TEMPORAL_ORDERED;
  cgroup *g = calloc(1, sizeof *g);
  if (!g || !(g->key = ctr__strndup(s->key.data, s->key.len)) ||
      (temporal && !(g->last = malloc(c->nbase * sizeof *g->last)))) {
    if (g)
      free(g->key);
    free(g);
    return NULL;
  }
  for (size_t q = 0; g->last && q < c->nbase; q++)
    g->last[q] = INT64_MIN;
  g->hash = h;
  g->hpos = SIZE_MAX;
  g->klen = s->key.len;
  g->corr = k;
  g->vals = vals;
  g->next = s->tab[h % s->cap];
  s->tab[h % s->cap] = g;
  s->ngroups++;
  return g;
}

/* ------------------------------------------------------------ matches */

void ctr__group_drop_front(ctr__corrstate *s, cgroup *g, size_t k)
{
  for (size_t i = 0; i < k; i++)
    ctr__vmap_del(&g->vmap, cseq_at(&g->e, i)->value);
  ctr__cseq_drop_front(&g->e, k);
  s->held -= k;
}

void ctr__group_drop_older(ctr__corrstate *s, cgroup *g, size_t k)
{
  ctr__cseq_drop_front(&g->sh, k);
  s->held -= k;
}

/* Removes g's older match i (let go). */
static void older_remove(ctr__corrstate *s, cgroup *g, size_t i)
{
  centry e = ctr__cseq_take(&g->sh, i);
  ctr__centry_free(&e);
  s->held--;
}

/* Holds e among g's older matches of a value; its index, SIZE_MAX on
 * ENOMEM (e then freed). */
static size_t older_add(ctr__corrstate *s, cgroup *g, centry *e)
{
  size_t at = ctr__cseq_after_of(&g->sh, e->t, e->seq);
  if (ctr__cseq_insert(&g->sh, at, e) != CTR_OK) {
    ctr__centry_free(e);
    return SIZE_MAX;
  }
  s->held++;
  return at;
}

/* Whether g holds an older match of value v at time t. */
static bool older_has(const cgroup *g, const char *v, int64_t t)
{
  for (size_t i = ctr__cseq_first_from(&g->sh, t); i < g->sh.n && cseq_at(&g->sh, i)->t == t; i++)
    if (strcmp(cseq_at(&g->sh, i)->value, v) == 0)
      return true;
  return false;
}

bool ctr__group_older_near(const cgroup *g, int64_t t, int64_t span)
{
  size_t i = ctr__cseq_first_from(&g->sh, sub_sat(t, span));
  return i < g->sh.n && within(t, cseq_at(&g->sh, i)->t, span);
}

/* A match of a value older than its latest (in g->vmap, at `until`), or
 * one the latest no more, held among the older ones with the note of when
 * it may be let go. CTR_OK or CTR_ENOMEM. */
static int hold_older(ctr__corrstate *s, cgroup *g, centry *e, int64_t until, size_t *at)
{
  int64_t t = e->t;
  uint32_t seq = e->seq;
  *at = older_add(s, g, e);
  return *at == SIZE_MAX || ctr__dheap_push(&g->dh, &g->sh, until, t, seq) != CTR_OK ? CTR_ENOMEM : CTR_OK;
}

centry *ctr__group_insert(ctr__corrstate *s, cgroup *g, centry *e, bool *latest, size_t *at, int *rc)
{
  const ctr__ccorr *c = &s->cs->v[g->corr];
  bool per_value = e->value && !c->bounded; /* bounded: every match held, the window's values counted when it closes */
  uint64_t h = 0;
  size_t old = SIZE_MAX; /* the value's latest match, older than e */
  e->seq = ++s->arrivals;
  *latest = true;
  if (per_value) {
    if (ctr__vmap_reserve(&g->vmap) != CTR_OK) {
      ctr__centry_free(e);
      *rc = CTR_ENOMEM;
      return NULL;
    }
    h = ctr__hash(e->value, strlen(e->value));
    const vslot *sl = &g->vmap.slot[ctr__vmap_find(&g->vmap, e->value, h)];
    if ((sl->v && sl->t == e->t) || older_has(g, e->value, e->t)) {
      ctr__centry_free(e);
      return NULL;
    }
    if (sl->v && sl->t > e->t) {
      *latest = false;
      *rc = hold_older(s, g, e, sl->t, at);
      return *rc == CTR_OK ? cseq_at(&g->sh, *at) : NULL;
    }
    if (sl->v)
      old = ctr__cseq_find_value(&g->e, sl->v, sl->t);
  }
  *at = ctr__cseq_later_than(&g->e, e->t);
  if (ctr__cseq_insert(&g->e, *at, e) != CTR_OK) {
    ctr__centry_free(e);
    *rc = CTR_ENOMEM;
    return NULL;
  }
  s->held++;
  if (old != SIZE_MAX) { /* the value's previous latest joins its older matches */
    size_t i = old < *at ? old : old + 1, ignored;
    ctr__vmap_del(&g->vmap, cseq_at(&g->e, i)->value);
    centry prev = ctr__cseq_take(&g->e, i);
    s->held--;
    *at -= old < *at;
    if (hold_older(s, g, &prev, e->t, &ignored) != CTR_OK)
      *rc = CTR_ENOMEM;
  }
  if (per_value) { /* room was reserved above */
    const centry *x = cseq_at(&g->e, *at);
    g->vmap.slot[ctr__vmap_find(&g->vmap, x->value, h)] = (vslot){x->value, h, x->t};
    g->vmap.n++;
  }
  for (size_t q = 0; g->last && q < c->nbase; q++)
    if (c->base[q] == e->rule && e->t > g->last[q])
      g->last[q] = e->t;
  return *rc == CTR_OK ? cseq_at(&g->e, *at) : NULL;
}

/* ------------------------------------------------------------ the periods let go */

int64_t ctr__letgo_key(uint64_t group, int64_t p)
{
  uint64_t k[2] = {group, (uint64_t)p};
  int64_t h = (int64_t)ctr__hash((const char *)k, sizeof k);
  return h == INT64_MIN ? 0 : h;
}

static size_t letgo_slot(const letgo *l, int64_t p)
{
  size_t i = (size_t)ctr__hash((const char *)&p, sizeof p) & (l->cap - 1);
  while (l->v[i] != INT64_MIN && l->v[i] != p)
    i = (i + 1) & (l->cap - 1);
  return i;
}

void ctr__letgo_add(letgo *l, int64_t p, uint64_t max)
{
  if (l->full || (l->cap && l->v[letgo_slot(l, p)] == p))
    return;
  if (l->n + 1 > max) { /* at most `max` (docs/sigma.md), not as many as the table has room for */
    l->full = true;
    return;
  }
  if (2 * (l->n + 1) > l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    int64_t *v = malloc(cap * sizeof *v);
    if (!v) {
      l->full = true;
      return;
    }
    for (size_t i = 0; i < cap; i++)
      v[i] = INT64_MIN;
    letgo old = *l;
    l->v = v;
    l->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
      if (old.v[i] != INT64_MIN)
        l->v[letgo_slot(l, old.v[i])] = old.v[i];
    free(old.v);
  }
  l->v[letgo_slot(l, p)] = p;
  l->n++;
}

bool ctr__letgo_near(const letgo *l, uint64_t group, int64_t t, int64_t span)
{
  if (l->full)
    return true;
  for (int64_t p = period(t, span) - 1; l->cap && p <= period(t, span) + 1; p++) {
    int64_t key = ctr__letgo_key(group, p);
    if (l->v[letgo_slot(l, key)] == key)
      return true;
  }
  return false;
}

/* ------------------------------------------------------------ the heaps */

static void heap_set(gheap *h, size_t i, cgroup *g)
{
  h->v[i] = g;
  g->hpos = i;
}

void ctr__gheap_fix(ctr__corrstate *s, gheap *h, size_t i)
{
  cgroup *g = h->v[i];
  int64_t end = window_end(s, g);
  while (i > 0 && window_end(s, h->v[(i - 1) / 2]) > end) {
    heap_set(h, i, h->v[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  for (size_t k; (k = 2 * i + 1) < h->n; i = k) {
    if (k + 1 < h->n && window_end(s, h->v[k + 1]) < window_end(s, h->v[k]))
      k++;
    if (window_end(s, h->v[k]) >= end)
      break;
    heap_set(h, i, h->v[k]);
  }
  heap_set(h, i, g);
}

int ctr__gheap_add(ctr__corrstate *s, gheap *h, cgroup *g)
{
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 16;
    cgroup **v = realloc(h->v, cap * sizeof *v);
    if (!v)
      return CTR_ENOMEM;
    h->v = v;
    h->cap = cap;
  }
  heap_set(h, h->n++, g);
  ctr__gheap_fix(s, h, g->hpos);
  return CTR_OK;
}

void ctr__gheap_remove(ctr__corrstate *s, gheap *h, cgroup *g)
{
  size_t i = g->hpos;
  cgroup *last = h->v[--h->n];
  g->hpos = SIZE_MAX;
  if (last != g) {
    heap_set(h, i, last);
    ctr__gheap_fix(s, h, i);
  }
}

/* ------------------------------------------------------------ expiry */

/* Lets go of the entries of unbounded group g no match within the lateness
 * can share a window with, noting their periods (a later match near one is
 * then reported); how many. */
static size_t expire(ctr__corrstate *s, cgroup *g)
{
  int64_t span = s->cs->v[g->corr].span_ns, horizon = sub_sat(sub_sat(s->watermark, s->lateness_ns), span);
  letgo *l = &s->let_go[g->corr];
  size_t k = 0, ks = 0;
  for (; k < g->e.n && cseq_at(&g->e, k)->t < horizon; k++)
    ctr__letgo_add(l, ctr__letgo_key(g->hash, period(cseq_at(&g->e, k)->t, span)), s->max_held);
  for (; ks < g->sh.n && cseq_at(&g->sh, ks)->t < horizon; ks++)
    ctr__letgo_add(l, ctr__letgo_key(g->hash, period(cseq_at(&g->sh, ks)->t, span)), s->max_held);
  ctr__group_drop_front(s, g, k);
  ctr__group_drop_older(s, g, ks);
  /* earlier matches of a value whose later match is behind the lateness
   * (those spent or let go already are not found: nothing to do) */
  for (int64_t from = sub_sat(s->watermark, s->lateness_ns); g->dh.n && g->dh.v[0].until < from; ks++) {
    dslot d = g->dh.v[0];
    ctr__dheap_pop(&g->dh);
    size_t i = ctr__cseq_find(&g->sh, d.t, d.seq);
    if (i != SIZE_MAX) {
      ctr__letgo_add(l, ctr__letgo_key(g->hash, period(d.t, span)), s->max_held);
      older_remove(s, g, i);
    }
  }
  return k + ks;
}

/* Earliest first, each group freed once empty: a group whose earliest
 * match is still near the watermark ends the walk (the heap), so a match
 * costs no visit of every group, however many are held (at the events
 * limit too). */
void ctr__expire_due(ctr__corrstate *s)
{
  int64_t from = sub_sat(s->watermark, s->lateness_ns);
  while (s->expiry.n && window_end(s, s->expiry.v[0]) < from) {
    cgroup *g = s->expiry.v[0];
    if (expire(s, g) == 0)
      break; /* not reached: the heap's order is expire's */
    if (g->e.n + g->sh.n) {
      ctr__gheap_fix(s, &s->expiry, 0);
    } else {
      ctr__gheap_remove(s, &s->expiry, g);
      ctr__group_drop(s, g);
    }
  }
}

int ctr__expiry_sync(ctr__corrstate *s, cgroup *g)
{
  if (g->e.n + g->sh.n == 0) {
    if (g->hpos != SIZE_MAX)
      ctr__gheap_remove(s, &s->expiry, g);
    ctr__group_drop(s, g);
    return CTR_OK;
  }
  if (g->hpos != SIZE_MAX) {
    ctr__gheap_fix(s, &s->expiry, g->hpos);
    return CTR_OK;
  }
  return ctr__gheap_add(s, &s->expiry, g);
}
