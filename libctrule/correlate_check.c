/* correlate_check.c - whether a correlation holds in a group, on a match
 * placed in it (correlate_check.h): a window of the timespan holding it,
 * counted (event_count, value_count) or searched for every rule named
 * (temporal, temporal_ordered). */
#include "correlate_check.h"

#include <stdlib.h>
#include <string.h>

/* g's i-th match, and its i-th older match of a value. */
static inline const centry *ent(const cgroup *g, size_t i) { return cseq_at(&g->e, i); }
static inline const centry *older(const cgroup *g, size_t i) { return cseq_at(&g->sh, i); }

/* The first of g->e[from..to) more than span after t (to: none): the
 * entries are sorted by time. */
static size_t past_span(const cgroup *g, size_t from, size_t to, int64_t t, int64_t span)
{
  if (from >= to || !within(t, ent(g, from)->t, span))
    return from; /* in time order: nothing after the new match */
  if (within(t, ent(g, to - 1)->t, span))
    return to;
  size_t i = ctr__cseq_later_than(&g->e, add_sat(t, span));
  return i < from ? from : i > to ? to : i;
}

/* Only the entries near `at` can share a window with it; before `at` came
 * no window held (it would have fired). */
void ctr__check_near(const cgroup *g, size_t at, int64_t span, size_t *lo, size_t *hi)
{
  int64_t t = ent(g, at)->t;
  size_t a = ctr__cseq_first_from(&g->e, sub_sat(t, span)); /* entry `at` itself is that late */
  *lo = a < at ? a : at;
  *hi = past_span(g, at + 1, g->e.n, t, span);
}

/* event_count / value_count (value_count holds one entry per value): some
 * window of the timespan holds min_count entries; the windows that hold
 * `at` start in [lo, at]. In event-time order (at the end), the fullest is
 * the one ending at it. */
bool ctr__check_count(const ctr__ccorr *c, const cgroup *g, size_t at, size_t lo, size_t hi, verdict *v)
{
  if (hi - lo < c->min_count)
    return false; /* every window holding `at` lies in [lo, hi) */
  /* Before `at` came every window held fewer than min_count: one that holds
   * them now holds exactly min_count, `at` among them, so it starts at most
   * min_count - 1 entries before it (a late match in a flood scans no more). */
  size_t from = at + 1 - lo > c->min_count ? at + 1 - c->min_count : lo;
  for (size_t i = from, j = from; i <= at; i++) {
    j = past_span(g, j > i ? j : i, hi, ent(g, i)->t, c->span_ns); /* a search: the window may hold a flood */
    if (j - i >= c->min_count) {
      v->from = i;
      v->to = v->spent = j;
      v->count = j - i;
      v->end = add_sat(ent(g, i)->t, c->span_ns);
      return true;
    }
  }
  return false;
}

/* For a temporal type, whether entry `at` may complete a window: every rule
 * named has a match held no earlier than a timespan before it (a match's
 * last time older than the oldest held means none is held), and, for
 * temporal_ordered with `at` the newest (in order), `at` is a match of the
 * last rule. O(rules): a flood of one rule's matches, in order or not,
 * costs no scan of them. */
bool ctr__may_complete(const ctr__ccorr *c, const cgroup *g, size_t at, bool newest)
{
  if (newest && c->type == CTR__CORR_TEMPORAL_ORDERED && c->base[c->nbase - 1] != ent(g, at)->rule)
    return false;
  int64_t from = sub_sat(ent(g, at)->t, c->span_ns);
  if (from < ent(g, 0)->t)
    from = ent(g, 0)->t;
  for (size_t q = 0; q < c->nbase; q++)
    if (g->last[q] < from)
      return false;
  return true;
}

/* The position in c->base of a distinct rule (temporal): its first. */
static size_t first_pos(const ctr__ccorr *c, uint32_t rule)
{
  size_t q = 0;
  while (q < c->nbase && c->base[q] != rule)
    q++;
  return q;
}

/* temporal: some window of the timespan holds a match of every rule named;
 * the alert lists the latest match of each. */
bool ctr__check_temporal(const ctr__ccorr *c, const cgroup *g, size_t lo, size_t hi, verdict *v)
{
  size_t cnt[64] = {0}, distinct = 0, covered = 0;
  for (size_t q = 0; q < c->nbase; q++)
    distinct += first_pos(c, c->base[q]) == q;
  for (size_t i = lo, j = lo; j < hi; j++) {
    if (cnt[first_pos(c, ent(g, j)->rule)]++ == 0)
      covered++;
    while (!within(ent(g, i)->t, ent(g, j)->t, c->span_ns))
      if (--cnt[first_pos(c, ent(g, i++)->rule)] == 0)
        covered--;
    if (covered < distinct)
      continue;
    for (size_t q = 0; q < c->nbase; q++) {
      if (first_pos(c, c->base[q]) != q)
        continue;
      size_t a = j + 1;
      while (a-- > i)
        if (ent(g, a)->rule == c->base[q])
          break;
      v->idx[v->n++] = (uint32_t)a;
    }
    for (size_t x = 1; x < v->n; x++) /* in eventTime order, as the other types list them */
      for (size_t y = x; y > 0 && v->idx[y - 1] > v->idx[y]; y--) {
        uint32_t t = v->idx[y];
        v->idx[y] = v->idx[y - 1];
        v->idx[y - 1] = t;
      }
    v->spent = j + 1;
    v->count = distinct;
    return true;
  }
  return false;
}

/* temporal_ordered: matches of the rules in the order named, the first and
 * the last within the timespan. For each prefix of the rules, the chain
 * with the latest start is kept (a later start can only help). */
bool ctr__check_ordered(const ctr__ccorr *c, const cgroup *g, size_t lo, size_t hi, verdict *v)
{
  size_t k = c->nbase;
  uint32_t chain[64][64];
  int64_t start[64];
  bool valid[64] = {false};
  for (size_t a = lo; a < hi; a++) {
    for (size_t q = k; q-- > 0;) { /* backwards: an entry does not follow itself */
      if (c->base[q] != ent(g, a)->rule || (q && !valid[q - 1]))
        continue;
      int64_t st = q ? start[q - 1] : ent(g, a)->t;
      if (valid[q] && st < start[q])
        continue;
      if (q)
        memcpy(chain[q], chain[q - 1], q * sizeof chain[q][0]);
      chain[q][q] = (uint32_t)a;
      start[q] = st;
      valid[q] = true;
    }
    if (valid[k - 1] && chain[k - 1][k - 1] == a && within(start[k - 1], ent(g, a)->t, c->span_ns)) {
      memcpy(v->idx, chain[k - 1], k * sizeof v->idx[0]);
      v->n = k;
      v->spent = a + 1;
      v->count = k;
      return true;
    }
  }
  return false;
}

typedef struct valref {
  const char *v;
  size_t i;
} valref;

static int valref_cmp(const void *a, const void *b)
{
  const valref *x = a, *y = b;
  int c = strcmp(x->v, y->v);
  return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Marks in keep[0..to) the latest entry of each value among g->e[0..to)
 * (sorted by value: a window may hold many matches); returns how many
 * values there are, SIZE_MAX when out of memory. */
size_t ctr__latest_per_value(const cgroup *g, size_t to, bool *keep)
{
  valref *r = malloc((to ? to : 1) * sizeof *r);
  if (!r)
    return SIZE_MAX;
  for (size_t i = 0; i < to; i++)
    r[i] = (valref){ent(g, i)->value, i};
  qsort(r, to, sizeof *r, valref_cmp);
  size_t n = 0;
  for (size_t i = 0; i < to; i++) {
    keep[r[i].i] = i + 1 == to || strcmp(r[i].v, r[i + 1].v) != 0; /* the last of its run: the latest */
    n += keep[r[i].i];
  }
  free(r);
  return n;
}

/* The matches of g from x outwards (back: earlier), merged by time and
 * arrival from each value's latest (g->e[*pm..lm)) and older matches
 * (g->sh[*ps..ls)), up to one of x's value or the bound's end; into out
 * (NULL: counted only). How many. */
static size_t walk(const cgroup *g, const centry *x, bool back, size_t pm, size_t ps, size_t lm, size_t ls,
                   const centry **out)
{
  size_t n = 0;
  while (back ? pm > lm || ps > ls : pm < lm || ps < ls) {
    const centry *em = back ? (pm > lm ? ent(g, pm - 1) : NULL) : (pm < lm ? ent(g, pm) : NULL);
    const centry *es = back ? (ps > ls ? older(g, ps - 1) : NULL) : (ps < ls ? older(g, ps) : NULL);
    bool main = !es || (em && (back ? centry_before(es, em) : centry_before(em, es)));
    const centry *p = main ? em : es;
    if (strcmp(p->value, x->value) == 0)
      break;
    if (out)
      out[n] = p;
    n++;
    if (main)
      pm += back ? (size_t)-1 : 1;
    else
      ps += back ? (size_t)-1 : 1;
  }
  return n;
}

/* value_count with older matches of a value near x (or x one of them): the
 * windows holding x, counted over every match held within a timespan of it
 * (each value's latest and older matches, merged by time and arrival); the
 * first that holds fires, listing the latest match of each of its values.
 * Only the matches between x's value's matches before and after it are
 * looked at: a window holding one of them held as many values before x
 * came, and no window held enough then. O(k log k) for those k matches.
 * *rc: CTR_ENOMEM. */
bool ctr__check_values(const ctr__ccorr *c, const cgroup *g, const centry *x, verdict *v, int *rc)
{
  int64_t from = sub_sat(x->t, c->span_ns), to = add_sat(x->t, c->span_ns);
  size_t a = ctr__cseq_first_from(&g->e, from), b = ctr__cseq_later_than(&g->e, to);
  size_t sa = ctr__cseq_first_from(&g->sh, from), sb = ctr__cseq_later_than(&g->sh, to);
  /* fewer matches near x, or fewer values whose latest match is after the
   * earliest start (a value with a match in a window has one), than the
   * condition asks: no window holds */
  if (b - a + sb - sa < c->min_count || g->e.n - a < c->min_count)
    return false;
  size_t bm = ctr__cseq_after_of(&g->e, x->t, x->seq - 1), bs = ctr__cseq_after_of(&g->sh, x->t, x->seq - 1); /* before x */
  size_t am = ctr__cseq_after_of(&g->e, x->t, x->seq), as = ctr__cseq_after_of(&g->sh, x->t, x->seq);         /* after x */
  size_t nb = walk(g, x, true, bm, bs, a, sa, NULL), k = nb + 1 + walk(g, x, false, am, as, b, sb, NULL);
  if (k < c->min_count)
    return false;
  const centry **m = malloc(k * sizeof *m);
  valref *r = malloc(k * sizeof *r);
  size_t *id = malloc(k * sizeof *id), *cnt = calloc(k, sizeof *cnt);
  bool fired = false;
  if (!m || !r || !id || !cnt) {
    *rc = CTR_ENOMEM;
    goto out;
  }
  walk(g, x, true, bm, bs, a, sa, m);
  for (size_t i = 0; i < nb / 2; i++) { /* walked backwards: in time order */
    const centry *t = m[i];
    m[i] = m[nb - 1 - i];
    m[nb - 1 - i] = t;
  }
  m[nb] = x;
  walk(g, x, false, am, as, b, sb, m + nb + 1);
  for (size_t i = 0; i < k; i++)
    r[i] = (valref){m[i]->value, i};
  qsort(r, k, sizeof *r, valref_cmp);
  for (size_t i = 0, n = 0; i < k; i++) {
    n += i && strcmp(r[i - 1].v, r[i].v) != 0;
    id[r[i].i] = n;
  }
  size_t distinct = 0;
  for (size_t i = 0, j = 0; i < k && m[i]->t <= x->t; i++) {
    for (; j < k && within(m[i]->t, m[j]->t, c->span_ns); j++)
      distinct += cnt[id[j]]++ == 0;
    if (distinct >= c->min_count) { /* the latest of each value, found from the window's end */
      v->end = add_sat(m[i]->t, c->span_ns);
      size_t at = j; /* packed at the end of m[i..j), in eventTime order */
      for (size_t p = j; p-- > i;)
        if (cnt[id[p]]) {
          cnt[id[p]] = 0;
          m[--at] = m[p];
        }
      v->npick = j - at;
      memmove(m, m + at, v->npick * sizeof *m);
      v->pick = m;
      m = NULL;
      v->count = distinct;
      fired = true;
      break;
    }
    distinct -= --cnt[id[i]] == 0;
  }
out:
  free(m);
  free(r);
  free(id);
  free(cnt);
  return fired;
}
