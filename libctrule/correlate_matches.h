/*
 * correlate_matches.h - the matches a correlation group holds
 * (correlate_matches.c): sorted by event time, ties in arrival order, in a
 * buffer that takes a match at any place and lets go of its earliest
 * without copying. Private to the correlate_*.c files.
 */
#ifndef CTR_CORRELATE_MATCHES_H
#define CTR_CORRELATE_MATCHES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One base match held in a group. */
typedef struct centry {
  int64_t t;
  uint32_t rule;           /* the base rule, an index into rs->rules */
  uint32_t seq;            /* arrival order of ties of t (seq_before): they are listed as read */
  char *id, *time, *value; /* eventID, eventTime as written, value_count's value (owned) */
} centry;

/* n entries sorted by (t, seq) in a circular buffer of cap (a power of
 * two): from buf[head] on, the entries before the gap (gap_at of them), the
 * gap (`gap` free slots, maybe none), the rest, then the slack (the other
 * free slots) up to head again. A match is placed where making room moves
 * the fewest entries: those on one side of it shifted a slot into the
 * slack (none at either end), or the gap brought to it the fewer way round
 * the ring (opened from half the slack if there is none; ties go to the
 * gap, which then stays after the match). So a stream in time order
 * costs O(1) a match at the end, and so does a second one read in the
 * middle of the group (two sources read one after the other, or
 * alternating with one far behind); the front spent or let go joins the
 * slack without moving anything. A third stream far from both costs the
 * entries between, as moving the shorter side did (docs/sigma.md, "Limits
 * and lateness"). */
typedef struct cseq {
  centry *buf;
  size_t cap, n, head, gap_at, gap;
} cseq;

/* The i-th entry (i < q->n). */
static inline centry *cseq_at(const cseq *q, size_t i)
{
  return &q->buf[(q->head + i + (i >= q->gap_at ? q->gap : 0)) & (q->cap - 1)];
}

/* Whether arrival a came before b. 32 bits in the entry's padding (a
 * larger entry made moving entries slower): compared by their difference,
 * right while two matches of one time held together arrived fewer than
 * 2^31 matches apart; past that only their order in a listing could be
 * off (two matches of one value and time are never both held). */
static inline bool seq_before(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

/* Whether entry p comes before entry q (time, then arrival). */
static inline bool centry_before(const centry *p, const centry *q)
{
  return p->t < q->t || (p->t == q->t && seq_before(p->seq, q->seq));
}

/* Frees what e owns. */
void ctr__centry_free(centry *e);

/* Places *e (its strings now q's) as entry `at`, the entries from `at` on
 * one place further. CTR_OK or CTR_ENOMEM (q unchanged, *e the caller's). */
int ctr__cseq_insert(cseq *q, size_t at, const centry *e);
/* Takes entry i out of q and returns it (the caller's). */
centry ctr__cseq_take(cseq *q, size_t i);
/* Frees the first k entries and lets go of them (nothing is copied). */
void ctr__cseq_drop_front(cseq *q, size_t k);
/* Frees every entry and the buffer; q is left empty. */
void ctr__cseq_free(cseq *q);

/* A search looks only at the segment (the entries before the gap, or
 * after it) where its answer lies, in which an entry's slot is its index
 * plus an offset: no test of the gap in every probe. Inline, as the
 * searches were before the state was split into files: a match makes
 * several. */
typedef struct cseg {
  size_t lo, hi, off;
} cseg;

static inline cseg cseq_segment(const cseq *q, bool after_gap)
{
  return after_gap ? (cseg){q->gap_at + 1, q->n, q->head + q->gap} : (cseg){0, q->gap_at, q->head};
}

/* The first entry later than t (q->n: none). */
static inline size_t ctr__cseq_later_than(const cseq *q, int64_t t)
{
  size_t mask = q->cap - 1;
  cseg g = cseq_segment(q, q->gap_at < q->n && cseq_at(q, q->gap_at)->t <= t);
  while (g.lo < g.hi) {
    size_t mid = g.lo + (g.hi - g.lo) / 2;
    if (q->buf[(g.off + mid) & mask].t <= t)
      g.lo = mid + 1;
    else
      g.hi = mid;
  }
  return g.lo;
}

/* The first entry at or after t. */
static inline size_t ctr__cseq_first_from(const cseq *q, int64_t t)
{
  return t == INT64_MIN ? 0 : ctr__cseq_later_than(q, t - 1);
}

/* Whether entry e comes after (t, seq). */
static inline bool centry_after(const centry *e, int64_t t, uint32_t seq)
{
  return e->t > t || (e->t == t && seq_before(seq, e->seq));
}

/* The first entry that comes after (t, seq). */
static inline size_t ctr__cseq_after_of(const cseq *q, int64_t t, uint32_t seq)
{
  size_t mask = q->cap - 1;
  cseg g = cseq_segment(q, q->gap_at < q->n && !centry_after(cseq_at(q, q->gap_at), t, seq));
  while (g.lo < g.hi) {
    size_t mid = g.lo + (g.hi - g.lo) / 2;
    if (!centry_after(&q->buf[(g.off + mid) & mask], t, seq))
      g.lo = mid + 1;
    else
      g.hi = mid;
  }
  return g.lo;
}

/* The index of entry (t, seq), SIZE_MAX when q does not hold it. */
size_t ctr__cseq_find(const cseq *q, int64_t t, uint32_t seq);
/* The index of the entry at time t whose value is the string v (by
 * identity), SIZE_MAX when none. */
size_t ctr__cseq_find_value(const cseq *q, const char *v, int64_t t);

#endif
