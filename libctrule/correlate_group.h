/*
 * correlate_group.h - a scanner's correlation state and its groups
 * (correlate_group.c): the table of groups, the heaps on their windows'
 * ends, a group's matches placed and let go, and the periods let go.
 * Private to the correlate_*.c files; correlate.c feeds the state,
 * correlate_check.c decides, correlate_alert.c reports.
 */
#ifndef CTR_CORRELATE_GROUP_H
#define CTR_CORRELATE_GROUP_H

#include "correlate.h"
#include "correlate_values.h"

typedef struct cgroup {
  struct cgroup *next; /* hash chain */
  uint64_t hash;
  uint32_t corr;
  char *key; /* the correlation's index and each group-by value after its length (owned) */
  size_t klen;
  char **vals;   /* the group-by values (owned) */
  cseq e;        /* the matches held (value_count unbounded: each value's latest) */
  int64_t *last; /* temporal types: per rule named, the latest time of a match of it (INT64_MIN: none) */
  size_t hpos;   /* its place in the state's heap (SIZE_MAX: none): windows if bounded, else expiry */
  uint64_t lost; /* bounded: matches of its open window not counted (the events limit) */
  /* value_count without an upper bound: its held values' latest matches
   * (vmap), and the matches of a value older than its latest (sh). A match
   * out of order may complete a window that holds one of them and not the
   * value's latest match; each is held until let go as any match is, or
   * sooner once a later match of its value is behind the lateness (dh). */
  vmap vmap;
  cseq sh;
  dheap dh;
} cgroup;

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
  uint32_t arrivals;    /* centry.seq */
  struct letgo *let_go; /* per correlation: the periods of matches let go */
  uint64_t *last_seq;   /* per correlation: the record it last counted (a record counts once) */
  gheap windows;        /* bounded correlations' groups with an open window */
  gheap expiry;         /* the other count and temporal groups holding matches */
  int64_t clock;        /* the latest event time of a record evaluated (bounded windows close on it) */
  pending *p;
  size_t np, capp, next;
  json_t *shown; /* the alert record last handed out */
  char *shown_raw;
  const ctr__field_def *values; /* json.values: group-by and counted fields */
  ctr__buf msg, key;
};

static inline int64_t period(int64_t t, int64_t span) { return t / span - (t % span < 0); }

/* Event times span 1677-2262 in int64 nanoseconds, timespans and the
 * lateness up to about as much: their sums and differences saturate
 * instead of overflowing (a record of 1677 next to one of 2262). */
static inline int64_t add_sat(int64_t a, int64_t b)
{
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static inline int64_t sub_sat(int64_t a, int64_t b)
{
  int64_t r;
  return __builtin_sub_overflow(a, b, &r) ? (b > 0 ? INT64_MIN : INT64_MAX) : r;
}

/* Whether `later` is at most `span` after `earlier`. */
static inline bool within(int64_t earlier, int64_t later, int64_t span) { return later <= add_sat(earlier, span); }

/* Frees group-by values and their array (NULL-safe). */
void ctr__free_vals(char **vals, size_t n);

/* The group of key s->key, if there is one. */
cgroup *ctr__group_find(const ctr__corrstate *s);
/* The group of key s->key for correlation k, created (with its values,
 * then owned by it) if need be; NULL on ENOMEM. */
cgroup *ctr__group_of(ctr__corrstate *s, uint32_t k, char **vals);
/* Frees g (its matches counted off s->held); ctr__group_drop unlinks it first. */
void ctr__group_free(ctr__corrstate *s, cgroup *g);
void ctr__group_drop(ctr__corrstate *s, cgroup *g);

/* Places e in g (sorted by time, after the entries of the same time); its
 * strings are g's from then on, freed if it is not placed. value_count
 * without an upper bound keeps each value's latest match in g->e and the
 * older ones in g->sh (*latest false); a match of a value held at the same
 * time changes no window and is dropped. Returns its slot (valid until g
 * changes) and in *at its index, NULL when dropped or on ENOMEM (*rc). */
centry *ctr__group_insert(ctr__corrstate *s, cgroup *g, centry *e, bool *latest, size_t *at, int *rc);
/* Drops g's first k matches (spent or expired). */
void ctr__group_drop_front(ctr__corrstate *s, cgroup *g, size_t k);
/* Drops the first k of g's older matches of a value (spent). */
void ctr__group_drop_older(ctr__corrstate *s, cgroup *g, size_t k);
/* Whether g holds an older match of a value within span of t. */
bool ctr__group_older_near(const cgroup *g, int64_t t, int64_t span);

/* g's earliest match (a value's older match may come before every latest)
 * plus the timespan; for the expiry heap, sooner when an earlier match of a
 * value is let go sooner. Inline: the heaps ask it at every step. */
static inline int64_t window_end(const ctr__corrstate *s, const cgroup *g)
{
  const centry *e0 = g->e.n ? cseq_at(&g->e, 0) : NULL, *s0 = g->sh.n ? cseq_at(&g->sh, 0) : NULL;
  int64_t first = e0 && (!s0 || e0->t <= s0->t) ? e0->t : s0->t;
  int64_t end = add_sat(first, s->cs->v[g->corr].span_ns);
  return g->dh.n && g->dh.v[0].until < end ? g->dh.v[0].until : end; /* the expiry heap: an earlier match let go sooner */
}
/* Moves h->v[i] up or down to its place (its window's end changed). */
void ctr__gheap_fix(ctr__corrstate *s, gheap *h, size_t i);
int ctr__gheap_add(ctr__corrstate *s, gheap *h, cgroup *g); /* CTR_OK or CTR_ENOMEM */
void ctr__gheap_remove(ctr__corrstate *s, gheap *h, cgroup *g);

/* Every unbounded group lets go of what the watermark has left behind. */
void ctr__expire_due(ctr__corrstate *s);
/* Unbounded group g changed: its place in the expiry heap follows its
 * earliest match; freed once empty. CTR_OK or CTR_ENOMEM. */
int ctr__expiry_sync(ctr__corrstate *s, cgroup *g);

/* The let-go set's key of a group (its key's hash) and period. */
int64_t ctr__letgo_key(uint64_t group, int64_t p);
/* Notes key p; past `max` keys (or out of memory) the set is full. */
void ctr__letgo_add(letgo *l, int64_t p, uint64_t max);
/* Whether a match of the group at t could share a window with one let go. */
bool ctr__letgo_near(const letgo *l, uint64_t group, int64_t t, int64_t span);

#endif
