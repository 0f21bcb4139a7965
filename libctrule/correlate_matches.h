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
 * two) with a gap: from buf[head] on, the entries before the gap (gap_at
 * of them), the gap (`gap` free slots), the rest, then the other free slots
 * (the slack) up to head again, wrapping at cap. A match placed moves the
 * entries between the gap and its place, the fewer way round the ring: so a
 * match next to the last one placed (two streams of one group in time
 * order, read one after the other) or at either end costs O(1), and the
 * front spent or let go frees its slots into the slack without moving
 * anything; matches placed alternately far apart cost the entries between
 * them, at most n/2 each (docs/sigma.md, "Limits and lateness"). */
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

/* The first entry later than t (q->n: none). */
size_t ctr__cseq_later_than(const cseq *q, int64_t t);
/* The first entry at or after t. */
size_t ctr__cseq_first_from(const cseq *q, int64_t t);
/* The first entry that comes after (t, seq). */
size_t ctr__cseq_after_of(const cseq *q, int64_t t, uint32_t seq);
/* The index of entry (t, seq), SIZE_MAX when q does not hold it. */
size_t ctr__cseq_find(const cseq *q, int64_t t, uint32_t seq);
/* The index of the entry at time t whose value is the string v (by
 * identity), SIZE_MAX when none. */
size_t ctr__cseq_find_value(const cseq *q, const char *v, int64_t t);

#endif
