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
