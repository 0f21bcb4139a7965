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

/* Free runs in the middle of a group's matches: one per place matches keep
 * arriving at (a source read in time order far from the others), so up to
 * CSEQ_GAPS + 1 such sources in turn (the last one at the end) cost O(1) a
 * match. */
#define CSEQ_GAPS 4

/* n entries sorted by (t, seq) in a circular buffer of cap (a power of
 * two, at most 2^31: more is CTR_ENOMEM): from buf[head] on, the entries before gap_at[0], a
 * gap of gap[0] free slots, the entries up to gap_at[1], its gap, ..., the
 * rest, then the slack (the other free slots) up to head again. The ng
 * gaps in use lie strictly inside (0 < gap_at[0] < ... < n) and are not
 * empty; a gap at either end is slack. A match is placed into the gap at
 * its place (which then stays after it: the next match of that source
 * moves nothing), at either end into the slack, else next to the nearest
 * free run when it is a few entries away; farther, a new gap opens there
 * from half the slack (moving the shorter side once), or, when the slack
 * is too small for that to pay, the buffer is laid out afresh with the
 * free room shared among the gaps, the new place and the slack (twice as
 * large when the free room is under an eighth). With CSEQ_GAPS in use, a
 * match far from all of them moves those between it and the nearest one
 * (docs/sigma.md, "Limits and lateness"). The front spent or let go joins
 * the slack without moving anything. */
typedef struct cseq {
  centry *buf;
  uint32_t cap, n, head; /* 32 bits: a group held in memory as small as many groups need */
  /* the last gap's place and the free slots of all (0 and 0 with none: an
   * entry past the last gap is found in one test) */
  uint32_t last_at, in_gaps;
  uint32_t ng, gap_at[CSEQ_GAPS], gap[CSEQ_GAPS];
} cseq;

/* The ring slot of the i-th entry (i <= q->n: n is where the slack starts). */
static inline size_t cseq_slot(const cseq *q, size_t i)
{
  size_t o = q->head + i;
  if (i >= q->last_at)
    o += q->in_gaps;
  else
    for (size_t k = 0; i >= q->gap_at[k]; k++)
      o += q->gap[k];
  return o & (q->cap - 1);
}

/* The i-th entry (i < q->n). */
static inline centry *cseq_at(const cseq *q, size_t i) { return &q->buf[cseq_slot(q, i)]; }

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

/* The first entry e for which later(e) (entries for which it is false come
 * first): past the ends, only the run of entries between two gaps where
 * the answer lies is searched, in which an entry's slot is its index plus an offset, with
 * no test of the gaps in every probe. Inline, as the searches were before
 * the state was split into files: a match makes several. by_seq: later(e)
 * is centry_after(e, t, seq), else e->t > t. */
static inline bool cseq_later(const centry *e, int64_t t, uint32_t seq, bool by_seq)
{
  return e->t > t || (by_seq && e->t == t && seq_before(seq, e->seq));
}

static inline size_t cseq_search(const cseq *q, int64_t t, uint32_t seq, bool by_seq)
{
  size_t mask = q->cap - 1, lo = 0, hi = q->n, off = q->head;
  /* before every entry (a window start a timespan back) or after every one
   * (a match in time order): one probe */
  if (!q->n || cseq_later(&q->buf[q->head & mask], t, seq, by_seq))
    return 0;
  if (!cseq_later(&q->buf[(q->head + q->n - 1 + q->in_gaps) & mask], t, seq, by_seq))
    return q->n;
  if (q->ng && !cseq_later(&q->buf[(q->head + q->last_at + q->in_gaps) & mask], t, seq, by_seq)) {
    lo = q->last_at + 1; /* after the last gap, as a search of recent matches mostly is */
    off = q->head + q->in_gaps;
  } else if (q->ng) {
    hi = q->last_at;
    for (size_t k = 0, gaps = 0; k + 1 < q->ng; k++) {
      gaps += q->gap[k];
      if (cseq_later(&q->buf[(q->head + q->gap_at[k] + gaps) & mask], t, seq, by_seq)) {
        hi = q->gap_at[k];
        break;
      }
      lo = q->gap_at[k] + 1;
      off = q->head + gaps;
    }
  }
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cseq_later(&q->buf[(off + mid) & mask], t, seq, by_seq))
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* The first entry later than t (q->n: none). */
static inline size_t ctr__cseq_later_than(const cseq *q, int64_t t) { return cseq_search(q, t, 0, false); }

/* The first entry at or after t. */
static inline size_t ctr__cseq_first_from(const cseq *q, int64_t t)
{
  return t == INT64_MIN ? 0 : ctr__cseq_later_than(q, t - 1);
}

/* Whether entry e comes after (t, seq). */
static inline bool centry_after(const centry *e, int64_t t, uint32_t seq) { return cseq_later(e, t, seq, true); }

/* The first entry that comes after (t, seq). */
static inline size_t ctr__cseq_after_of(const cseq *q, int64_t t, uint32_t seq) { return cseq_search(q, t, seq, true); }

/* The index of entry (t, seq), SIZE_MAX when q does not hold it. */
size_t ctr__cseq_find(const cseq *q, int64_t t, uint32_t seq);
/* The index of the entry at time t whose value is the string v (by
 * identity), SIZE_MAX when none. */
size_t ctr__cseq_find_value(const cseq *q, const char *v, int64_t t);

#endif
