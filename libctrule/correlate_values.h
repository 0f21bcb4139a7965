/*
 * correlate_values.h - what value_count without an upper bound keeps
 * beside a group's matches (correlate_values.c): a table from each value to
 * its latest match's time, and a heap of when each earlier match of a value
 * may be let go. Private to the correlate_*.c files.
 */
#ifndef CTR_CORRELATE_VALUES_H
#define CTR_CORRELATE_VALUES_H

#include "correlate_matches.h"

/* A group keeps each value's latest match among its matches (so that a
 * match in order counts the distinct values of a window by a binary
 * search), the older ones apart. This table from each value to its latest
 * entry's time finds that entry without comparing every held value (a
 * flood of distinct values was quadratic). Keys are the entries' own
 * strings, which stay put when entries move. Open addressing, linear
 * probing, deletion by backward shift. */
typedef struct vslot {
  const char *v; /* NULL: empty */
  uint64_t h;
  int64_t t;
} vslot;

typedef struct vmap {
  vslot *slot;
  size_t cap, n;
} vmap;

/* The slot of value v (hash h), or the empty slot where it would go. The
 * table has room (ctr__vmap_reserve). */
size_t ctr__vmap_find(const vmap *m, const char *v, uint64_t h);
/* Room for one more value (at most half full). CTR_OK or CTR_ENOMEM. */
int ctr__vmap_reserve(vmap *m);
/* Forgets the entry holding string v (by identity: an entry being freed). */
void ctr__vmap_del(vmap *m, const char *v);

/* An earlier match of a value (t, seq, among the group's older matches)
 * and a later match of it, at `until`: once `until` is more than the
 * lateness behind the watermark, every window a match within the lateness
 * shares with the earlier match holds the later one too, so the earlier one
 * is let go (noted). A min-heap on until. */
typedef struct dslot {
  int64_t until, t;
  uint32_t seq;
} dslot;

typedef struct dheap {
  dslot *v;
  size_t n, cap;
} dheap;

/* Notes when the earlier match (t, seq) of `older` (the group's older
 * matches: notes of those already spent or let go are pruned when they are
 * most of the heap) may be let go. CTR_OK or CTR_ENOMEM. */
int ctr__dheap_push(dheap *d, const cseq *older, int64_t until, int64_t t, uint32_t seq);
/* Takes the earliest note away. */
void ctr__dheap_pop(dheap *d);

#endif
