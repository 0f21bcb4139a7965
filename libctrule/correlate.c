/* correlate.c - Sigma correlations at scan time: the per-scanner state that
 * groups the matches of their base rules (compiled by correlate_compile.c)
 * on event time and decides when a correlation holds.
 *
 * Semantics (docs/sigma.md): a base match joins the group of its group-by
 * values (no value for one of them: it joins none, as SIEM backends' group
 * by does); a correlation holds when some window of `timespan` in a group
 * holds enough events (event_count), distinct values (value_count), every
 * rule (temporal) or every rule in order (temporal_ordered). It then alerts
 * once, and the group's matches up to the window's end are spent. A count
 * with only lower bounds is decided when a match completes it; one with an
 * upper bound (lt, lte, eq, neq) when its window closes: the window starts
 * at the group's earliest unspent match and closes when the event time of
 * an evaluated record passes its end plus the lateness, or at the stream's
 * end (ctr__correlate_tick, ctr__correlate_finish). */
#include "correlate.h"
#include "render.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One base match held in a group. */
typedef struct centry {
  int64_t t;
  uint32_t rule;            /* the base rule, an index into rs->rules */
  uint32_t seq;             /* arrival order of ties of t (seq_before): they are listed as read */
  char *id, *time, *value;  /* eventID, eventTime as written, value_count's value (owned) */
} centry;

typedef struct cgroup {
  struct cgroup *next; /* hash chain */
  uint64_t hash;
  uint32_t corr;
  char *key; /* the correlation's index and each group-by value after its length (owned) */
  size_t klen;
  char **vals; /* the group-by values (owned) */
  centry *e;   /* the n entries held (value_count unbounded: each value's latest), sorted by t, ties in arrival order: in buf */
  centry *buf; /* cap entries allocated, the n held at e with room before and after them (make_room) */
  size_t n, cap;
  int64_t *last; /* temporal types: per rule named, the latest time of a match of it (INT64_MIN: none) */
  size_t hpos;   /* its place in the state's heap (SIZE_MAX: none): windows if bounded, else expiry */
  uint64_t lost; /* bounded: matches of its open window not counted (the events limit) */
  struct vslot *vmap; /* value_count without an upper bound: its held values (vmap_*) */
  size_t vcap, vn;
  /* value_count without an upper bound: the matches of a value older than
   * its latest (in e), sorted by (t, seq), in sbuf as e is in buf. A match
   * out of order may complete a window that holds one of them and not the
   * value's latest match; each is held until let go as any match is, or
   * sooner once a later match of its value is behind the lateness (dh). */
  centry *sh, *sbuf;
  size_t sn, scap;
  struct dslot *dh; /* a min-heap on until: when each of sh may be let go */
  size_t dn, dcap;
} cgroup;

/* An earlier match of a value (t, seq in g->sh) and a later match of it,
 * at `until`: once `until` is more than the lateness behind the watermark,
 * every window a match within the lateness shares with the earlier match
 * holds the later one too, so the earlier one is let go (noted). */
typedef struct dslot {
  int64_t until, t;
  uint32_t seq;
} dslot;

/* value_count without an upper bound keeps each value's latest match in e
 * (so that a match in order counts the distinct values of a window by a
 * binary search), the older ones in sh. A table from each value to its
 * latest entry's time finds that entry without comparing every held value
 * (a flood of distinct values was quadratic). Keys are the entries' own
 * strings, which stay put when entries move.
 * Open addressing, linear probing, deletion by backward shift. */
typedef struct vslot {
  const char *v; /* NULL: empty */
  uint64_t h;
  int64_t t;
} vslot;

/* The groups and periods (eventTime / timespan) in which a correlation let
 * go of matches, as hashes: a later match of the group within a timespan of
 * one of them could have shared a window with it, so it is reported rather
 * than counted wrong. Bounded: a full set stands for every group and period
 * (a hash collision, too, only makes a report). */
typedef struct letgo {
  int64_t *v; /* open addressing, INT64_MIN: empty */
  size_t n, cap;
  bool full;
} letgo;

/* Groups in a min-heap on their window's end (their earliest match plus the
 * timespan): a bounded correlation's windows close in that order, and an
 * unbounded one's groups let go of matches in it, so that event time
 * moving on visits only the groups with something to do. */
typedef struct gheap {
  struct cgroup **v;
  size_t n, cap;
} gheap;

/* An alert made and not yet taken. */
typedef struct pending {
  uint32_t rule;
  json_t *root;
  uint64_t index, offset;
  int64_t t;
} pending;

struct ctr__corrstate {
  const ctr_ruleset *rs;
  const ctr__corrset *cs;
  ctr__corr_report_fn report;
  void *ud;
  cgroup **tab;
  size_t cap, ngroups;
  uint64_t held, max_held;
  int64_t lateness_ns, watermark; /* the latest event time of a match fed */
  bool have_watermark;
  uint32_t arrivals; /* centry.seq */
  struct letgo *let_go; /* per correlation: the periods of matches let go */
  uint64_t *last_seq; /* per correlation: the record it last counted (a record counts once) */
  gheap windows; /* bounded correlations' groups with an open window */
  gheap expiry;  /* the other count and temporal groups holding matches */
  int64_t clock; /* the latest event time of a record evaluated (bounded windows close on it) */
  pending *p;
  size_t np, capp, next;
  json_t *shown; /* the alert record last handed out */
  char *shown_raw;
  const ctr__field_def *values; /* json.values: group-by and counted fields */
  ctr__buf msg, key;
};

static void set_limit(ctr__corrstate *s, int limit, uint64_t v)
{
  if (limit == CTR_LIMIT_CORRELATION_EVENTS)
    s->max_held = v;
  else
    s->lateness_ns = v > (uint64_t)INT64_MAX / 1000000000 ? INT64_MAX : (int64_t)v * 1000000000;
}

int ctr__corrstate_new(const ctr_ruleset *rs, ctr__corr_report_fn report, void *ud, ctr__corrstate **out)
{
  *out = NULL;
  if (!rs->corr)
    return CTR_OK;
  ctr__corrstate *s = calloc(1, sizeof *s);
  if (!s || !(s->tab = calloc(64, sizeof *s->tab))) {
    free(s);
    return CTR_ENOMEM;
  }
  if (!(s->let_go = calloc(rs->corr->n, sizeof *s->let_go)) ||
      !(s->last_seq = calloc(rs->corr->n, sizeof *s->last_seq))) {
    free(s->let_go);
    free(s->tab);
    free(s);
    return CTR_ENOMEM;
  }
  s->cap = 64;
  s->clock = INT64_MIN;
  s->values = ctr__field_lookup("json.values", 11);
  s->rs = rs;
  s->cs = rs->corr;
  s->report = report;
  s->ud = ud;
  set_limit(s, CTR_LIMIT_CORRELATION_EVENTS, ctr_limit_default(CTR_LIMIT_CORRELATION_EVENTS));
  set_limit(s, CTR_LIMIT_CORRELATION_LATENESS, ctr_limit_default(CTR_LIMIT_CORRELATION_LATENESS));
  *out = s;
  return CTR_OK;
}

void ctr__corrstate_set_limit(ctr__corrstate *s, int limit, uint64_t value)
{
  if (s)
    set_limit(s, limit, value);
}

static void entry_free(centry *e)
{
  free(e->id);
  free(e->time);
  free(e->value);
}

/* Frees n group-by values and their array (NULL-safe). */
static void free_vals(char **vals, size_t n)
{
  for (size_t i = 0; vals && i < n; i++)
    free(vals[i]);
  free(vals);
}

/* The slot of value v (hash h) in g's table, or the empty slot where it
 * would go. The table has room (vmap_reserve). */
static size_t vmap_find(const cgroup *g, const char *v, uint64_t h)
{
  size_t mask = g->vcap - 1, i = h & mask;
  while (g->vmap[i].v && (g->vmap[i].h != h || strcmp(g->vmap[i].v, v) != 0))
    i = (i + 1) & mask;
  return i;
}

/* Room for one more value (at most half full). CTR_OK or CTR_ENOMEM. */
static int vmap_reserve(cgroup *g)
{
  if ((g->vn + 1) * 2 <= g->vcap)
    return CTR_OK;
  size_t cap = g->vcap ? g->vcap * 2 : 16;
  vslot *old = g->vmap, *nv = calloc(cap, sizeof *nv);
  if (!nv)
    return CTR_ENOMEM;
  size_t ocap = g->vcap;
  g->vmap = nv;
  g->vcap = cap;
  for (size_t i = 0; i < ocap; i++)
    if (old[i].v)
      g->vmap[vmap_find(g, old[i].v, old[i].h)] = old[i];
  free(old);
  return CTR_OK;
}

/* Forgets the entry holding string v (by identity: an entry being freed). */
static void vmap_del(cgroup *g, const char *v)
{
  if (!g->vn || !v)
    return;
  size_t mask = g->vcap - 1, i = vmap_find(g, v, ctr__hash(v, strlen(v)));
  if (g->vmap[i].v != v)
    return;
  g->vn--;
  for (size_t j = i;;) {
    g->vmap[i].v = NULL;
    for (;;) {
      j = (j + 1) & mask;
      if (!g->vmap[j].v)
        return;
      size_t home = g->vmap[j].h & mask; /* it stays if its home lies cyclically in (i, j] */
      if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
        continue;
      break;
    }
    g->vmap[i] = g->vmap[j];
    i = j;
  }
}

/* The index of the entry holding string v at time t: the entries are sorted
 * by time, so a binary search finds the run of time t. */
static size_t entry_of(const cgroup *g, const char *v, int64_t t)
{
  size_t lo = 0, hi = g->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (g->e[mid].t < t)
      lo = mid + 1;
    else
      hi = mid;
  }
  for (size_t i = lo; i < g->n && g->e[i].t == t; i++)
    if (g->e[i].value == v)
      return i;
  for (size_t i = 0; i < g->n; i++) /* not reached while the table is kept in step */
    if (g->e[i].value == v)
      return i;
  return SIZE_MAX;
}

static void group_free(ctr__corrstate *s, cgroup *g)
{
  for (size_t i = 0; i < g->n; i++)
    entry_free(&g->e[i]);
  for (size_t i = 0; i < g->sn; i++)
    entry_free(&g->sh[i]);
  s->held -= g->n + g->sn;
  free_vals(g->vals, s->cs->v[g->corr].ngroup);
  free(g->vmap);
  free(g->sbuf);
  free(g->dh);
  free(g->buf);
  free(g->last);
  free(g->key);
  free(g);
}

void ctr__corrstate_free(ctr__corrstate *s)
{
  if (!s)
    return;
  for (size_t b = 0; b < s->cap; b++)
    for (cgroup *g = s->tab[b], *nx; g; g = nx) {
      nx = g->next;
      group_free(s, g);
    }
  free(s->tab);
  free(s->windows.v);
  free(s->expiry.v);
  for (size_t k = 0; s->let_go && k < s->cs->n; k++)
    free(s->let_go[k].v);
  free(s->let_go);
  free(s->last_seq);
  for (size_t i = s->next; i < s->np; i++)
    json_decref(s->p[i].root);
  free(s->p);
  json_decref(s->shown);
  free(s->shown_raw);
  ctr__buf_free(&s->msg);
  ctr__buf_free(&s->key);
  free(s);
}

/* Drops the first k entries of g (spent or expired): the array's start
 * moves, nothing is copied (make_room re-centres the entries when a side
 * runs out of room). */
static void drop_front(ctr__corrstate *s, cgroup *g, size_t k)
{
  if (k == 0)
    return; /* g->e may be NULL */
  for (size_t i = 0; i < k; i++) {
    vmap_del(g, g->e[i].value);
    entry_free(&g->e[i]);
  }
  g->e += k;
  g->n -= k;
  s->held -= k;
}

/* Drops the first k of g's older matches of a value (spent or expired). */
static void drop_shadows(ctr__corrstate *s, cgroup *g, size_t k)
{
  if (k == 0)
    return;
  for (size_t i = 0; i < k; i++)
    entry_free(&g->sh[i]);
  g->sh += k;
  g->sn -= k;
  s->held -= k;
}

/* Removes g->sh[i] (let go), moving the shorter side. */
static void shadow_remove(ctr__corrstate *s, cgroup *g, size_t i)
{
  entry_free(&g->sh[i]);
  if (i < g->sn - i - 1) {
    memmove(g->sh + 1, g->sh, i * sizeof *g->sh);
    g->sh++;
  } else {
    memmove(g->sh + i, g->sh + i + 1, (g->sn - i - 1) * sizeof *g->sh);
  }
  g->sn--;
  s->held--;
}

static void dslot_swap(dslot *a, dslot *b)
{
  dslot t = *a;
  *a = *b;
  *b = t;
}

static void dheap_prune(cgroup *g);

/* Notes when the earlier match (t, seq) may be let go. CTR_OK or CTR_ENOMEM. */
static int dheap_push(cgroup *g, int64_t until, int64_t t, uint32_t seq)
{
  if (g->dn == g->dcap && g->dn >= 2 * g->sn + 16)
    dheap_prune(g);
  if (g->dn == g->dcap) {
    size_t cap = g->dcap ? 2 * g->dcap : 16;
    dslot *v = realloc(g->dh, cap * sizeof *v);
    if (!v)
      return CTR_ENOMEM;
    g->dh = v;
    g->dcap = cap;
  }
  size_t i = g->dn++;
  g->dh[i] = (dslot){until, t, seq};
  for (; i > 0 && g->dh[(i - 1) / 2].until > g->dh[i].until; i = (i - 1) / 2)
    dslot_swap(&g->dh[i], &g->dh[(i - 1) / 2]);
  return CTR_OK;
}

static void dheap_down(cgroup *g, size_t i)
{
  for (size_t k; (k = 2 * i + 1) < g->dn; i = k) {
    if (k + 1 < g->dn && g->dh[k + 1].until < g->dh[k].until)
      k++;
    if (g->dh[k].until >= g->dh[i].until)
      break;
    dslot_swap(&g->dh[i], &g->dh[k]);
  }
}

static void dheap_pop(cgroup *g)
{
  g->dh[0] = g->dh[--g->dn];
  dheap_down(g, 0);
}

static size_t after_of(const centry *v, size_t n, int64_t t, uint32_t seq);

/* The index of g's earlier match (t, seq), SIZE_MAX when spent or let go. */
static size_t shadow_at(const cgroup *g, int64_t t, uint32_t seq)
{
  size_t i = after_of(g->sh, g->sn, t, seq - 1);
  return i < g->sn && g->sh[i].t == t && g->sh[i].seq == seq ? i : SIZE_MAX;
}

/* Forgets the notes of earlier matches already spent or let go, once they
 * are most of the heap: they stay until their time comes otherwise, and
 * event time that stands still would let them pile up past the events
 * limit. */
static void dheap_prune(cgroup *g)
{
  size_t n = 0;
  for (size_t i = 0; i < g->dn; i++)
    if (shadow_at(g, g->dh[i].t, g->dh[i].seq) != SIZE_MAX)
      g->dh[n++] = g->dh[i];
  g->dn = n;
  for (size_t i = n / 2; i-- > 0;)
    dheap_down(g, i);
}

/* Takes entry i out of g (its value's latest no more: it moves to g->sh),
 * moving the shorter side: a value seen again is most often among the
 * oldest. The entry is the caller's. */
static centry take_at(ctr__corrstate *s, cgroup *g, size_t i)
{
  centry e = g->e[i];
  vmap_del(g, e.value);
  if (i < g->n - i - 1) {
    memmove(g->e + 1, g->e, i * sizeof *g->e);
    g->e++;
  } else {
    memmove(g->e + i, g->e + i + 1, (g->n - i - 1) * sizeof *g->e);
  }
  g->n--;
  s->held--;
  return e;
}

/* Makes room for an entry at index `at` of g (the entries after it or
 * before it, the shorter side, move by one) and returns its slot. The
 * entries sit in the middle of their buffer with room on both sides, so
 * that a match out of order, near the front of a long group (files read
 * newest first), moves the few before it rather than every later one.
 * NULL on ENOMEM. */
static centry *make_room_in(centry **e, centry **buf, size_t n, size_t *cap, size_t at)
{
  bool front = at < n - at;
  size_t before = *e ? (size_t)(*e - *buf) : 0, after = *cap - before - n;
  if (front ? before == 0 : after == 0) { /* re-centre, in a buffer at least twice as large as the entries */
    size_t c = *cap;
    if (2 * (n + 1) > c)
      c = c ? 2 * c : 8;
    centry *v = c == *cap ? *buf : malloc(c * sizeof *v);
    if (!v)
      return NULL;
    size_t off = (c - n) / 2;
    if (n)
      memmove(v + off, *e, n * sizeof *v);
    if (v != *buf)
      free(*buf);
    *buf = v;
    *cap = c;
    *e = v + off;
  }
  if (front) {
    memmove(*e - 1, *e, at * sizeof **e);
    (*e)--;
  } else {
    memmove(*e + at + 1, *e + at, (n - at) * sizeof **e);
  }
  return &(*e)[at];
}

static centry *make_room(cgroup *g, size_t at) { return make_room_in(&g->e, &g->buf, g->n, &g->cap, at); }

/* Whether arrival a came before b. 32 bits in the entry's padding (a
 * larger entry made moving entries slower): compared by their difference,
 * right while two matches of one time held together arrived fewer than
 * 2^31 matches apart; past that only their order in a listing could be
 * off (two matches of one value and time are never both held). */
static bool seq_before(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

/* The first of the n entries v sorted by (t, seq) that comes after (t, seq). */
static size_t after_of(const centry *v, size_t n, int64_t t, uint32_t seq)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v[mid].t < t || (v[mid].t == t && !seq_before(seq, v[mid].seq)))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Holds e among g's older matches of a value; its slot, NULL on ENOMEM (e
 * then freed). */
static centry *shadow_add(ctr__corrstate *s, cgroup *g, centry *e)
{
  size_t at = after_of(g->sh, g->sn, e->t, e->seq);
  centry *slot = make_room_in(&g->sh, &g->sbuf, g->sn, &g->scap, at);
  if (!slot) {
    entry_free(e);
    return NULL;
  }
  *slot = *e;
  g->sn++;
  s->held++;
  return slot;
}

static size_t later_than(const centry *v, size_t n, int64_t t);

/* The first of the n entries v (sorted by time) at or after t. */
static size_t first_from(const centry *v, size_t n, int64_t t) { return t == INT64_MIN ? 0 : later_than(v, n, t - 1); }

/* Whether g holds an older match of value v at time t (sh by time). */
static bool shadow_has(const cgroup *g, const char *v, int64_t t)
{
  for (size_t i = first_from(g->sh, g->sn, t); i < g->sn && g->sh[i].t == t; i++)
    if (strcmp(g->sh[i].value, v) == 0)
      return true;
  return false;
}

/* The first of the n entries v (sorted by time) later than t. */
static size_t later_than(const centry *v, size_t n, int64_t t)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v[mid].t <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int64_t period(int64_t t, int64_t span) { return t / span - (t % span < 0); }

/* Event times span 1677-2262 in int64 nanoseconds, timespans and the
 * lateness up to about as much: their sums and differences saturate
 * instead of overflowing (a record of 1677 next to one of 2262). */
static int64_t add_sat(int64_t a, int64_t b)
{
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static int64_t sub_sat(int64_t a, int64_t b)
{
  int64_t r;
  return __builtin_sub_overflow(a, b, &r) ? (b > 0 ? INT64_MIN : INT64_MAX) : r;
}

/* Whether `later` is at most `span` after `earlier`. */
static bool within(int64_t earlier, int64_t later, int64_t span) { return later <= add_sat(earlier, span); }

/* The set's key of a group (its key's hash) and period. */
static int64_t letgo_key(uint64_t group, int64_t p)
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

/* Notes period p; past `max` periods (or out of memory) the set is full. */
static void letgo_add(letgo *l, int64_t p, uint64_t max)
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

/* Whether a match of the group at t could share a window with one let go. */
static bool letgo_near(const letgo *l, uint64_t group, int64_t t, int64_t span)
{
  if (l->full)
    return true;
  for (int64_t p = period(t, span) - 1; l->cap && p <= period(t, span) + 1; p++) {
    int64_t key = letgo_key(group, p);
    if (l->v[letgo_slot(l, key)] == key)
      return true;
  }
  return false;
}

/* Lets go of the entries of unbounded group g no match within the lateness
 * can share a window with, noting their periods (a later match near one is
 * then reported); how many. */
static size_t expire(ctr__corrstate *s, cgroup *g)
{
  int64_t span = s->cs->v[g->corr].span_ns, horizon = sub_sat(sub_sat(s->watermark, s->lateness_ns), span);
  size_t k = 0, ks = 0;
  for (; k < g->n && g->e[k].t < horizon; k++)
    letgo_add(&s->let_go[g->corr], letgo_key(g->hash, period(g->e[k].t, span)), s->max_held);
  for (; ks < g->sn && g->sh[ks].t < horizon; ks++)
    letgo_add(&s->let_go[g->corr], letgo_key(g->hash, period(g->sh[ks].t, span)), s->max_held);
  drop_front(s, g, k);
  drop_shadows(s, g, ks);
  /* earlier matches of a value whose later match is behind the lateness
   * (those spent or let go already are not found: nothing to do) */
  for (int64_t from = sub_sat(s->watermark, s->lateness_ns); g->dn && g->dh[0].until < from; ks++) {
    dslot d = g->dh[0];
    dheap_pop(g);
    size_t i = shadow_at(g, d.t, d.seq);
    if (i != SIZE_MAX) {
      letgo_add(&s->let_go[g->corr], letgo_key(g->hash, period(d.t, span)), s->max_held);
      shadow_remove(s, g, i);
    }
  }
  return k + ks;
}

static int64_t window_end(const ctr__corrstate *s, const cgroup *g);
static void heap_fix(ctr__corrstate *s, gheap *h, size_t i);
static int heap_add(ctr__corrstate *s, gheap *h, cgroup *g);
static void heap_remove(ctr__corrstate *s, gheap *h, cgroup *g);
static void group_drop(ctr__corrstate *s, cgroup *g);

/* Every unbounded group lets go of what the watermark has left behind,
 * earliest first, and is freed once empty: a group whose earliest match is
 * still near the watermark ends the walk (the heap), so a match costs no
 * visit of every group, however many are held (at the events limit too). */
static void expire_due(ctr__corrstate *s)
{
  int64_t from = sub_sat(s->watermark, s->lateness_ns);
  while (s->expiry.n && window_end(s, s->expiry.v[0]) < from) {
    cgroup *g = s->expiry.v[0];
    if (expire(s, g) == 0)
      break; /* not reached: the heap's order is expire's */
    if (g->n + g->sn) {
      heap_fix(s, &s->expiry, 0);
    } else {
      heap_remove(s, &s->expiry, g);
      group_drop(s, g);
    }
  }
}

/* Unbounded group g changed (a match placed, or matches spent): its place
 * in the expiry heap follows its earliest match; freed once empty.
 * CTR_OK or CTR_ENOMEM. */
static int expiry_sync(ctr__corrstate *s, cgroup *g)
{
  if (g->n + g->sn == 0) {
    if (g->hpos != SIZE_MAX)
      heap_remove(s, &s->expiry, g);
    group_drop(s, g);
    return CTR_OK;
  }
  if (g->hpos != SIZE_MAX) {
    heap_fix(s, &s->expiry, g->hpos);
    return CTR_OK;
  }
  return heap_add(s, &s->expiry, g);
}

/* A report about correlation c on the record at index, offset. */
__attribute__((format(printf, 6, 0))) static void say_v(ctr__corrstate *s, uint64_t index, uint64_t offset,
                                                       int status, const ctr__ccorr *c, const char *fmt, va_list ap)
{
  ctr__buf_clear(&s->msg);
  ctr__buf_printf(&s->msg, "correlation '%s': ", s->rs->rules[c->rule].name);
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  ctr__buf_append_str(&s->msg, line);
  if (s->report)
    s->report(s->ud, status, index, offset, s->msg.data ? s->msg.data : "");
}

/* A report about the match on ev. */
__attribute__((format(printf, 5, 6))) static void say(ctr__corrstate *s, const ctr__event *ev, int status,
                                                     const ctr__ccorr *c, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  say_v(s, ev->index, ev->offset, status, c, fmt, ap);
  va_end(ap);
}

/* A report about c on the record at index, offset (a window closed there). */
__attribute__((format(printf, 6, 7))) static void say_at(ctr__corrstate *s, uint64_t index, uint64_t offset,
                                                        int status, const ctr__ccorr *c, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  say_v(s, index, offset, status, c, fmt, ap);
  va_end(ap);
}

/* The value of json.values[path] on ev, rendered (a list as (a,b)), into b;
 * false when the field has no value. */
static bool field_text(const ctr__corrstate *s, const ctr__event *ev, const char *path, ctr__buf *b, int *rc)
{
  ctr__value v;
  *rc = s->values->extract(ev, path, 0, &v);
  if (*rc != CTR_OK || v.kind == CTR__V_ABSENT || (v.kind == CTR__V_LIST && v.count == 0))
    return false;
  if (v.kind == CTR__V_LIST && v.count == 1)
    ctr__value_str(&v, v.items[0].s, v.items[0].len);
  *rc = ctr__render_value(b, &v);
  return *rc == CTR_OK;
}

/* The group of key s->key, if there is one. */
static cgroup *group_find(const ctr__corrstate *s)
{
  uint64_t h = ctr__hash(s->key.data, s->key.len);
  for (cgroup *g = s->tab[h % s->cap]; g; g = g->next)
    if (g->hash == h && g->klen == s->key.len && memcmp(g->key, s->key.data, g->klen) == 0)
      return g;
  return NULL;
}

/* The group of key s->key for correlation k, created (with its values) if
 * need be; NULL on ENOMEM. */
static cgroup *group_of(ctr__corrstate *s, uint32_t k, char **vals)
{
  uint64_t h = ctr__hash(s->key.data, s->key.len);
  cgroup *found = group_find(s);
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

/* The events that make an alert: indexes into g->e, and how many of g's
 * first entries it spends. */
typedef struct verdict {
  uint32_t idx[64 + 1]; /* temporal kinds: one per rule named (at most 64, sigma_correlation.c) */
  size_t n;
  size_t from, to; /* count kinds: the window g->e[from..to) */
  int64_t end;     /* count kinds: the window's end (the value's older matches up to it are spent too) */
  const centry **pick; /* value_count counted with older matches: the events listed (owned) */
  size_t npick;
  size_t spent;
  uint64_t count;
  const bool *keep; /* bounded value_count: the window's entries listed (the latest of each value) */
} verdict;

/* The first of g->e[from..to) more than span after t (to: none), by binary
 * search: the entries are sorted by time. */
static size_t past_span(const cgroup *g, size_t from, size_t to, int64_t t, int64_t span)
{
  while (from < to) {
    size_t m = from + (to - from) / 2;
    if (within(t, g->e[m].t, span))
      from = m + 1;
    else
      to = m;
  }
  return from;
}

/* The entries g->e[*lo..*hi) that can share a window of the timespan with
 * g->e[at]: the only ones a check needs, since before `at` came no window
 * held (it would have fired). */
static void near(const cgroup *g, size_t at, int64_t span, size_t *lo, size_t *hi)
{
  int64_t t = g->e[at].t, from = sub_sat(t, span);
  size_t a = 0, b = at; /* first entry with t' >= t - span */
  while (a < b) {
    size_t m = a + (b - a) / 2;
    if (g->e[m].t < from)
      a = m + 1;
    else
      b = m;
  }
  *lo = a;
  *hi = past_span(g, at + 1, g->n, t, span);
}

/* event_count / value_count (value_count holds one entry per value): some
 * window of the timespan holds min_count entries; the windows that hold
 * `at` start in [lo, at]. In event-time order (at the end), the fullest is
 * the one ending at it. */
static bool check_count(const ctr__ccorr *c, const cgroup *g, size_t at, size_t lo, size_t hi, verdict *v)
{
  if (hi - lo < c->min_count)
    return false; /* every window holding `at` lies in [lo, hi) */
  /* Before `at` came every window held fewer than min_count: one that holds
   * them now holds exactly min_count, `at` among them, so it starts at most
   * min_count - 1 entries before it (a late match in a flood scans no more). */
  size_t from = at + 1 - lo > c->min_count ? at + 1 - c->min_count : lo;
  for (size_t i = from, j = from; i <= at; i++) {
    j = past_span(g, j > i ? j : i, hi, g->e[i].t, c->span_ns); /* a search: the window may hold a flood */
    if (j - i >= c->min_count) {
      v->from = i;
      v->to = v->spent = j;
      v->count = j - i;
      v->end = add_sat(g->e[i].t, c->span_ns);
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
static bool may_complete(const ctr__ccorr *c, const cgroup *g, size_t at, bool newest)
{
  if (newest && c->type == CTR__CORR_TEMPORAL_ORDERED && c->base[c->nbase - 1] != g->e[at].rule)
    return false;
  int64_t from = sub_sat(g->e[at].t, c->span_ns);
  if (from < g->e[0].t)
    from = g->e[0].t;
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
static bool check_temporal(const ctr__ccorr *c, const cgroup *g, size_t lo, size_t hi, verdict *v)
{
  size_t cnt[64] = {0}, distinct = 0, covered = 0;
  for (size_t q = 0; q < c->nbase; q++)
    distinct += first_pos(c, c->base[q]) == q;
  for (size_t i = lo, j = lo; j < hi; j++) {
    if (cnt[first_pos(c, g->e[j].rule)]++ == 0)
      covered++;
    while (!within(g->e[i].t, g->e[j].t, c->span_ns))
      if (--cnt[first_pos(c, g->e[i++].rule)] == 0)
        covered--;
    if (covered < distinct)
      continue;
    for (size_t q = 0; q < c->nbase; q++) {
      if (first_pos(c, c->base[q]) != q)
        continue;
      size_t a = j + 1;
      while (a-- > i)
        if (g->e[a].rule == c->base[q])
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
static bool check_ordered(const ctr__ccorr *c, const cgroup *g, size_t lo, size_t hi, verdict *v)
{
  size_t k = c->nbase;
  uint32_t chain[64][64];
  int64_t start[64];
  bool valid[64] = {false};
  for (size_t a = lo; a < hi; a++) {
    for (size_t q = k; q-- > 0;) { /* backwards: an entry does not follow itself */
      if (c->base[q] != g->e[a].rule || (q && !valid[q - 1]))
        continue;
      int64_t st = q ? start[q - 1] : g->e[a].t;
      if (valid[q] && st < start[q])
        continue;
      if (q)
        memcpy(chain[q], chain[q - 1], q * sizeof chain[q][0]);
      chain[q][q] = (uint32_t)a;
      start[q] = st;
      valid[q] = true;
    }
    if (valid[k - 1] && chain[k - 1][k - 1] == a && within(start[k - 1], g->e[a].t, c->span_ns)) {
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
static size_t latest_per_value(const cgroup *g, size_t to, bool *keep)
{
  valref *r = malloc((to ? to : 1) * sizeof *r);
  if (!r)
    return SIZE_MAX;
  for (size_t i = 0; i < to; i++)
    r[i] = (valref){g->e[i].value, i};
  qsort(r, to, sizeof *r, valref_cmp);
  size_t n = 0;
  for (size_t i = 0; i < to; i++) {
    keep[r[i].i] = i + 1 == to || strcmp(r[i].v, r[i + 1].v) != 0; /* the last of its run: the latest */
    n += keep[r[i].i];
  }
  free(r);
  return n;
}

/* Whether g holds an older match of a value within span of t. */
static bool shadow_near(const cgroup *g, int64_t t, int64_t span)
{
  size_t i = first_from(g->sh, g->sn, sub_sat(t, span));
  return i < g->sn && within(t, g->sh[i].t, span);
}

/* Whether entry p comes before entry q (time, then arrival). */
static bool before(const centry *p, const centry *q) { return p->t < q->t || (p->t == q->t && seq_before(p->seq, q->seq)); }

/* The matches of g from x outwards (back: earlier), merged by time and
 * arrival from each value's latest (g->e[*pm..lm)) and older matches
 * (g->sh[*ps..ls)), up to one of x's value or the bound's end; into out
 * (NULL: counted only). How many. */
static size_t walk(const cgroup *g, const centry *x, bool back, size_t pm, size_t ps, size_t lm, size_t ls,
                   const centry **out)
{
  size_t n = 0;
  while (back ? pm > lm || ps > ls : pm < lm || ps < ls) {
    const centry *em = back ? (pm > lm ? &g->e[pm - 1] : NULL) : (pm < lm ? &g->e[pm] : NULL);
    const centry *es = back ? (ps > ls ? &g->sh[ps - 1] : NULL) : (ps < ls ? &g->sh[ps] : NULL);
    bool main = !es || (em && (back ? before(es, em) : before(em, es)));
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
static bool check_values(const ctr__ccorr *c, const cgroup *g, const centry *x, verdict *v, int *rc)
{
  int64_t from = sub_sat(x->t, c->span_ns), to = add_sat(x->t, c->span_ns);
  size_t a = first_from(g->e, g->n, from), b = later_than(g->e, g->n, to);
  size_t sa = first_from(g->sh, g->sn, from), sb = later_than(g->sh, g->sn, to);
  /* fewer matches near x, or fewer values whose latest match is after the
   * earliest start (a value with a match in a window has one), than the
   * condition asks: no window holds */
  if (b - a + sb - sa < c->min_count || g->n - a < c->min_count)
    return false;
  size_t bm = after_of(g->e, g->n, x->t, x->seq - 1), bs = after_of(g->sh, g->sn, x->t, x->seq - 1); /* before x */
  size_t am = after_of(g->e, g->n, x->t, x->seq), as = after_of(g->sh, g->sn, x->t, x->seq);         /* after x */
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

static int add_event(json_t *list, ctr__buf *text, const ctr_ruleset *rs, const centry *e)
{
  json_t *o = json_pack("{s:s, s:s, s:s}", "eventID", e->id, "eventTime", e->time, "rule", rs->rules[e->rule].name);
  if (!o || json_array_append_new(list, o) != 0)
    return CTR_ENOMEM;
  return ctr__buf_printf(text, "%s%s@%s (%s)", text->len ? ", " : "", e->id, e->time, rs->rules[e->rule].name);
}

/* The alert record: the completing match's eventTime and eventID, and the
 * correlation's count, group and events. */
static int make_alert(ctr__corrstate *s, const cgroup *g, const verdict *v, const ctr__event *ev, const centry *last)
{
  const ctr__ccorr *c = &s->cs->v[g->corr];
  json_t *events = json_array(), *gb = json_object();
  ctr__buf text = {0}, group = {0};
  int rc = events && gb ? CTR_OK : CTR_ENOMEM;
  if (v->n)
    for (size_t i = 0; rc == CTR_OK && i < v->n; i++)
      rc = add_event(events, &text, s->rs, &g->e[v->idx[i]]);
  else if (v->pick)
    for (size_t i = 0; rc == CTR_OK && i < v->npick; i++)
      rc = add_event(events, &text, s->rs, v->pick[i]);
  else
    for (size_t i = v->from; rc == CTR_OK && i < v->to; i++)
      if (!v->keep || v->keep[i])
        rc = add_event(events, &text, s->rs, &g->e[i]);
  for (size_t i = 0; rc == CTR_OK && i < c->ngroup; i++) {
    if (json_object_set_new(gb, c->group_by[i], json_string(g->vals[i])) != 0)
      rc = CTR_ENOMEM;
    else
      rc = ctr__buf_printf(&group, "%s%s=%s", i ? " " : "", c->group_by[i], g->vals[i]);
  }
  char count[24];
  snprintf(count, sizeof count, "%llu", (unsigned long long)v->count);
  json_t *root = NULL;
  if (rc == CTR_OK)
    root = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:o, s:o}}", "eventTime", last->time, "eventID", last->id,
                     "correlation", "count", count, "group", c->ngroup ? group.data : "(all)", "events",
                     text.data ? text.data : "", "groupBy", gb, "eventList", events);
  else {
    json_decref(gb);
    json_decref(events);
  }
  ctr__buf_free(&text);
  ctr__buf_free(&group);
  if (!root)
    return CTR_ENOMEM;
  if (s->np == s->capp) {
    size_t cap = s->capp ? s->capp * 2 : 4;
    pending *p = realloc(s->p, cap * sizeof *p);
    if (!p) {
      json_decref(root);
      return CTR_ENOMEM;
    }
    s->p = p;
    s->capp = cap;
  }
  s->p[s->np++] = (pending){c->rule, root, ev->index, ev->offset, ev->time_ns};
  return CTR_OK;
}

/* The group-by values of ev for correlation c into s->key (prefixed by k) and
 * *vals (owned by the caller); false when one has no value. */
static bool group_key(ctr__corrstate *s, uint32_t k, const ctr__ccorr *c, const ctr__event *ev, char ***vals, int *rc)
{
  ctr__buf_clear(&s->key);
  *rc = ctr__buf_printf(&s->key, "%u", (unsigned)k);
  *vals = calloc(c->ngroup ? c->ngroup : 1, sizeof **vals);
  if (!*vals)
    *rc = CTR_ENOMEM;
  ctr__buf one = {0};
  bool ok = *rc == CTR_OK;
  for (size_t i = 0; ok && i < c->ngroup; i++) {
    ctr__buf_clear(&one);
    if (!(ok = field_text(s, ev, c->group_by[i], &one, rc)))
      break; /* no value (or *rc: out of memory) */
    /* Each value after its length: a value holding any separator cannot make
     * two groups' keys equal. */
    ok = ctr__buf_printf(&s->key, ":%zu:", one.len) == CTR_OK && ctr__buf_append(&s->key, one.data, one.len) == CTR_OK &&
         ((*vals)[i] = ctr__strdup(one.data));
    if (!ok)
      *rc = CTR_ENOMEM;
  }
  ctr__buf_free(&one);
  if (!ok) {
    free_vals(*vals, c->ngroup);
    *vals = NULL;
  }
  return ok;
}

/* Places e in g (sorted by time, after the entries of the same time).
 * value_count without an upper bound keeps each value's latest match in
 * g->e and the older ones in g->sh (*latest false); a match of a value held
 * at the same time changes no window and is dropped. Returns its slot, NULL
 * when dropped or on ENOMEM (*rc). */
static centry *insert(ctr__corrstate *s, cgroup *g, centry *e, bool *latest, int *rc)
{
  const ctr__ccorr *c = &s->cs->v[g->corr];
  bool per_value = e->value && !c->bounded; /* bounded: every match held, the window's values counted when it closes */
  uint64_t h = 0;
  size_t old = SIZE_MAX; /* the value's latest match, older than e */
  e->seq = ++s->arrivals;
  *latest = true;
  if (per_value) {
    if (vmap_reserve(g) != CTR_OK) {
      entry_free(e);
      *rc = CTR_ENOMEM;
      return NULL;
    }
    h = ctr__hash(e->value, strlen(e->value));
    const vslot *sl = &g->vmap[vmap_find(g, e->value, h)];
    if ((sl->v && sl->t == e->t) || shadow_has(g, e->value, e->t)) {
      entry_free(e);
      return NULL;
    }
    if (sl->v && sl->t > e->t) {
      *latest = false;
      int64_t until = sl->t;
      centry *slot = shadow_add(s, g, e);
      if (!slot || dheap_push(g, until, slot->t, slot->seq) != CTR_OK)
        *rc = CTR_ENOMEM;
      return *rc == CTR_OK ? slot : NULL;
    }
    if (sl->v)
      old = entry_of(g, sl->v, sl->t);
  }
  size_t at = later_than(g->e, g->n, e->t);
  centry *slot = make_room(g, at);
  if (!slot) {
    entry_free(e);
    *rc = CTR_ENOMEM;
    return NULL;
  }
  *slot = *e;
  g->n++;
  s->held++;
  if (old != SIZE_MAX) { /* the value's previous latest joins its older matches */
    centry prev = take_at(s, g, old < at ? old : old + 1);
    at -= old < at;
    int64_t pt = prev.t;
    uint32_t pseq = prev.seq;
    if (!shadow_add(s, g, &prev) || dheap_push(g, e->t, pt, pseq) != CTR_OK)
      *rc = CTR_ENOMEM;
  }
  if (per_value) { /* room was reserved above */
    vslot *sl = &g->vmap[vmap_find(g, g->e[at].value, h)];
    *sl = (vslot){g->e[at].value, h, g->e[at].t};
    g->vn++;
  }
  for (size_t q = 0; g->last && q < c->nbase; q++)
    if (c->base[q] == e->rule && e->t > g->last[q])
      g->last[q] = e->t;
  return *rc == CTR_OK ? &g->e[at] : NULL;
}

static char *member_text(const ctr__event *ev, const char *key)
{
  const char *v = json_string_value(ctr__event_get(ev, key));
  return ctr__strdup(v ? v : "<NA>");
}

/* One match of rule r fed to correlation k. */
static int feed(ctr__corrstate *s, uint32_t k, uint32_t r, const ctr__event *ev)
{
  const ctr__ccorr *c = &s->cs->v[k];
  const char *rname = s->rs->rules[r].name;
  if (ev->time_ns == 0) {
    say(s, ev, CTR_EDATA, c, "the match of '%s' is not counted: the record has no valid eventTime", rname);
    return CTR_OK;
  }
  int rc = CTR_OK;
  char **vals;
  if (!group_key(s, k, c, ev, &vals, &rc))
    return rc; /* a group-by field without a value: no group (docs/sigma.md) */
  /* Out of order by more than the lateness (only such a match can be near
   * one let go): counted unless a match of its group it could share a window
   * with was let go, which would make the verdict wrong (every group has
   * let go of what the watermark left behind). */
  expire_due(s);
  int64_t latest = c->bounded && s->clock > s->watermark ? s->clock : s->watermark; /* bounded: windows close on the clock */
  if ((s->have_watermark || latest != s->watermark) && ev->time_ns < sub_sat(latest, s->lateness_ns) &&
      letgo_near(&s->let_go[k], ctr__hash(s->key.data, s->key.len), ev->time_ns, c->span_ns)) {
    free_vals(vals, c->ngroup);
    say(s, ev, CTR_ELIMIT, c,
        "the match of '%s' is not counted: its eventTime is %lld s before the latest one seen, and matches of its "
        "group within the timespan of it were let go (limit %s %lld s)",
        rname, (long long)(latest / 1000000000 - ev->time_ns / 1000000000), ctr_limit_name(CTR_LIMIT_CORRELATION_LATENESS),
        (long long)(s->lateness_ns / 1000000000));
    return CTR_OK;
  }
  ctr__buf val = {0};
  if (c->field && !field_text(s, ev, c->field, &val, &rc)) {
    free_vals(vals, c->ngroup);
    ctr__buf_free(&val);
    return rc; /* nothing to count */
  }
  if (!s->have_watermark || ev->time_ns > s->watermark)
    s->watermark = ev->time_ns;
  s->have_watermark = true;
  expire_due(s);
  cgroup *g = NULL;
  if (s->held >= s->max_held) {
    say(s, ev, CTR_ELIMIT, c, "the match of '%s' is not counted: %llu matches are held (limit %s)", rname,
        (unsigned long long)s->held, ctr_limit_name(CTR_LIMIT_CORRELATION_EVENTS));
    cgroup *open = c->bounded ? group_find(s) : NULL;
    if (open)
      open->lost++; /* its window, short of a match, is not decided (close_window) */
  } else if (!(g = group_of(s, k, vals))) {
    rc = CTR_ENOMEM;
  }
  if (!g || g->vals != vals) {
    free_vals(vals, c->ngroup);
  }
  centry e = {.t = ev->time_ns, .rule = r, .id = member_text(ev, "eventID"), .time = member_text(ev, "eventTime"),
              .value = c->field ? ctr__strdup(val.data ? val.data : "") : NULL};
  ctr__buf_free(&val);
  if (!g || !e.id || !e.time || (c->field && !e.value)) {
    entry_free(&e);
    return g ? CTR_ENOMEM : rc;
  }
  bool newest_of_value;
  centry *x = insert(s, g, &e, &newest_of_value, &rc);
  if (c->bounded) { /* decided when the window closes (ctr__correlate_tick) */
    if (x && g->hpos != SIZE_MAX)
      heap_fix(s, &s->windows, g->hpos); /* its earliest match may be new */
    else if (x && heap_add(s, &s->windows, g) != CTR_OK)
      rc = CTR_ENOMEM;
    return rc;
  }
  verdict v = {0};
  size_t at = x && newest_of_value ? (size_t)(x - g->e) : SIZE_MAX, lo = 0, hi = 0;
  bool fired = false;
  /* value_count: each value's latest match counts a window exactly unless
   * an older match of a value lies near x, out of order (in order, every
   * window holding x ends at it, and holds a value's latest if any of its
   * matches) */
  if (x && c->field && (!newest_of_value || (at + 1 < g->n && shadow_near(g, x->t, c->span_ns)))) {
    fired = check_values(c, g, x, &v, &rc);
    v.spent = later_than(g->e, g->n, v.end);
  } else if (at != SIZE_MAX) {
    near(g, at, c->span_ns, &lo, &hi);
    if (g->last && !may_complete(c, g, at, hi == at + 1))
      at = SIZE_MAX; /* some rule has no match near it: nothing to check */
    fired = at != SIZE_MAX && (c->type == CTR__CORR_TEMPORAL         ? check_temporal(c, g, lo, hi, &v)
                               : c->type == CTR__CORR_TEMPORAL_ORDERED ? check_ordered(c, g, lo, hi, &v)
                                                                      : check_count(c, g, at, lo, hi, &v));
  }
  if (fired) {
    rc = make_alert(s, g, &v, ev, x);
    drop_front(s, g, v.spent); /* x may be among them: last use above */
    if (g->sn)
      drop_shadows(s, g, later_than(g->sh, g->sn, v.end));
  }
  free(v.pick);
  if (expiry_sync(s, g) != CTR_OK) /* g may be freed */
    rc = CTR_ENOMEM;
  return rc;
}

/* ------------------------------------------------------------ bounded windows */

/* Its earliest match (a value's older match may come before every latest)
 * plus the timespan. */
static int64_t window_end(const ctr__corrstate *s, const cgroup *g)
{
  int64_t first = g->n && (!g->sn || g->e[0].t <= g->sh[0].t) ? g->e[0].t : g->sh[0].t;
  int64_t end = add_sat(first, s->cs->v[g->corr].span_ns);
  return g->dn && g->dh[0].until < end ? g->dh[0].until : end; /* the expiry heap: an earlier match let go sooner */
}

static void heap_set(gheap *h, size_t i, cgroup *g)
{
  h->v[i] = g;
  g->hpos = i;
}

/* Moves h->v[i] up or down to its place (its window's end changed). */
static void heap_fix(ctr__corrstate *s, gheap *h, size_t i)
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

static int heap_add(ctr__corrstate *s, gheap *h, cgroup *g)
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
  heap_fix(s, h, g->hpos);
  return CTR_OK;
}

static void heap_remove(ctr__corrstate *s, gheap *h, cgroup *g)
{
  size_t i = g->hpos;
  cgroup *last = h->v[--h->n];
  g->hpos = SIZE_MAX;
  if (last != g) {
    heap_set(h, i, last);
    heap_fix(s, h, i);
  }
}

/* Decides the open window of bounded group g: its entries from the earliest
 * to a timespan after it, counted (value_count: their distinct values); an
 * alert on the record at index, offset when the condition holds. They are
 * spent, and noted as let go (a later match near them, late by more than
 * the lateness, is reported: it cannot join a decided window). */
static int close_window(ctr__corrstate *s, cgroup *g, uint64_t index, uint64_t offset)
{
  const ctr__ccorr *c = &s->cs->v[g->corr];
  int64_t end = window_end(s, g);
  verdict v = {0};
  while (v.to < g->n && g->e[v.to].t <= end)
    v.to++;
  v.count = v.to;
  bool *keep = NULL;
  if (c->field && (!(keep = calloc(v.to, sizeof *keep)) || (v.count = latest_per_value(g, v.to, keep)) == SIZE_MAX)) {
    free(keep);
    return CTR_ENOMEM; /* the scan stops: the window stays as it is */
  }
  v.keep = keep;
  int rc = CTR_OK;
  if (g->lost) {
    say_at(s, index, offset, CTR_ELIMIT, c,
           "the window from %s (event %s) is not decided: %llu of its matches were not counted (limit %s)",
           g->e[0].time, g->e[0].id, (unsigned long long)g->lost, ctr_limit_name(CTR_LIMIT_CORRELATION_EVENTS));
    g->lost = 0;
  } else if (v.count >= c->min_count && v.count <= c->max_count && !(c->has_neq && v.count == c->neq)) {
    const centry *last = &g->e[v.to - 1];
    ctr__event at = {.index = index, .offset = offset, .time_ns = last->t};
    rc = make_alert(s, g, &v, &at, last);
  }
  free(keep);
  for (size_t i = 0; i < v.to; i++)
    letgo_add(&s->let_go[g->corr], letgo_key(g->hash, period(g->e[i].t, c->span_ns)), s->max_held);
  drop_front(s, g, v.to);
  return rc;
}

/* Unlinks g from the table and frees it. */
static void group_drop(ctr__corrstate *s, cgroup *g)
{
  cgroup **pg = &s->tab[g->hash % s->cap];
  while (*pg != g)
    pg = &(*pg)->next;
  *pg = g->next;
  group_free(s, g);
  s->ngroups--;
}

/* Decides the windows whose end plus the lateness is before the clock (all
 * of them: the stream ended), earliest end first. */
static int close_due(ctr__corrstate *s, bool all, uint64_t index, uint64_t offset)
{
  int rc = CTR_OK;
  while (rc == CTR_OK && s->windows.n) {
    cgroup *g = s->windows.v[0];
    int64_t end = window_end(s, g);
    if (!all && add_sat(end, s->lateness_ns) >= s->clock)
      break;
    rc = close_window(s, g, index, offset);
    if (g->n) {
      heap_fix(s, &s->windows, 0);
    } else {
      heap_remove(s, &s->windows, g);
      group_drop(s, g);
    }
  }
  return rc;
}

int ctr__correlate_tick(ctr__corrstate *s, int64_t t, uint64_t index, uint64_t offset)
{
  if (!s)
    return CTR_OK;
  if (t > s->clock)
    s->clock = t;
  return close_due(s, false, index, offset);
}

int ctr__correlate_finish(ctr__corrstate *s, uint64_t index, uint64_t offset)
{
  return s ? close_due(s, true, index, offset) : CTR_OK;
}

bool ctr__correlate_silences(const ctr_ruleset *rs, const ctr__crule *r)
{
  return rs->corr && rs->corr->silent[r - rs->rules];
}

int ctr__correlate_hit(ctr__corrstate *s, const ctr__crule *r, const ctr__event *ev, uint64_t seq, bool *alert)
{
  *alert = true;
  if (!s)
    return CTR_OK;
  uint32_t ri = (uint32_t)(r - s->rs->rules);
  const ctr__corrset *cs = s->cs;
  *alert = !cs->silent[ri];
  int rc = CTR_OK;
  for (size_t i = 0; rc == CTR_OK && i < cs->nfeeds[ri]; i++) {
    uint32_t k = cs->feeds[ri][i];
    /* The count types count records: one matching two of their rules is one. */
    bool counted = cs->v[k].type <= CTR__CORR_VALUE_COUNT && s->last_seq[k] == seq;
    s->last_seq[k] = seq;
    if (!counted)
      rc = feed(s, k, ri, ev);
  }
  return rc;
}

bool ctr__correlate_next(ctr__corrstate *s, const ctr__crule **r, ctr__event *ev)
{
  if (!s)
    return false;
  json_decref(s->shown);
  free(s->shown_raw);
  s->shown = NULL;
  s->shown_raw = NULL;
  if (s->next == s->np) {
    s->next = s->np = 0;
    return false;
  }
  pending *p = &s->p[s->next++];
  s->shown = p->root;
  s->shown_raw = json_dumps(p->root, JSON_COMPACT);
  *r = &s->rs->rules[p->rule];
  ev->root = p->root;
  ev->lazy = NULL;
  ev->raw = s->shown_raw; /* NULL: out of memory (the caller stops) */
  ev->raw_len = s->shown_raw ? strlen(s->shown_raw) : 0;
  ev->index = p->index;
  ev->offset = p->offset;
  ev->time_ns = p->t;
  return true;
}
