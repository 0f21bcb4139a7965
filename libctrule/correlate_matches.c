/* correlate_matches.c - a correlation group's matches, sorted by event time
 * and arrival, with the searches the checks make on them
 * (correlate_matches.h). */
#include "correlate_matches.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* A free run this few entries away is brought to a match's place rather
 * than a new gap opened there: the matches of one file read among others
 * (a hundred or so) move a few entries each until they have a gap. */
#define NEAR 16

/* Opening a gap pays when it moves at most this many entries a slot it
 * gives; past that the buffer is laid out afresh. */
#define PAYS 16

/* The largest buffer: gap_at and gap are 32 bits. */
#define MAX_CAP ((size_t)1 << 31)

void ctr__centry_free(centry *e)
{
  free(e->id);
  free(e->time);
  free(e->value);
}

/* The last gap's place and the free slots of all, after the gaps changed. */
static void gaps_sync(cseq *q)
{
  q->in_gaps = 0;
  for (size_t k = 0; k < q->ng; k++)
    q->in_gaps += q->gap[k];
  q->last_at = q->ng ? q->gap_at[q->ng - 1] : 0;
}

/* The free slots after the last entry. */
static size_t slack(const cseq *q) { return q->cap - q->n - q->in_gaps; }

/* Moves the k entries from ring slot `from` on up by `by` slots (the two
 * ranges may overlap), the last first, a memmove per run that wraps at
 * neither end. */
static void ring_up(cseq *q, size_t from, size_t k, size_t by)
{
  size_t mask = q->cap - 1;
  while (k) {
    size_t s = (from + k) & mask, d = (from + k + by) & mask, c = k; /* where the runs end */
    s = s ? s : q->cap;
    d = d ? d : q->cap;
    c = c < s ? c : s;
    c = c < d ? c : d;
    memmove(&q->buf[d - c], &q->buf[s - c], c * sizeof *q->buf);
    k -= c;
  }
}

/* Moves the k entries from ring slot `from` on down by `by` slots, the
 * first first. */
static void ring_down(cseq *q, size_t from, size_t k, size_t by)
{
  size_t mask = q->cap - 1;
  while (k) {
    size_t s = from & mask, d = (from - by) & mask, c = k;
    c = c < q->cap - s ? c : q->cap - s;
    c = c < q->cap - d ? c : q->cap - d;
    memmove(&q->buf[d], &q->buf[s], c * sizeof *q->buf);
    from += c;
    k -= c;
  }
}

/* Forgets gap k (its slots are the slack's or another gap's now). */
static void gap_remove(cseq *q, size_t k)
{
  memmove(&q->gap_at[k], &q->gap_at[k + 1], (q->ng - k - 1) * sizeof q->gap_at[0]);
  memmove(&q->gap[k], &q->gap[k + 1], (q->ng - k - 1) * sizeof q->gap[0]);
  q->ng--;
  gaps_sync(q);
}

/* A gap emptied, or at either end (before the first entry, where head
 * moves past it, or after the last), is slack or nothing: forgotten. Two
 * gaps before one entry (the entry between them taken out) are one. */
static void gaps_settle(cseq *q)
{
  for (size_t k = q->ng; k-- > 0;) {
    if (k > 0 && q->gap_at[k] == q->gap_at[k - 1]) {
      q->gap[k - 1] += q->gap[k];
      gap_remove(q, k);
      continue;
    }
    if (q->gap[k] && q->gap_at[k] == 0)
      q->head = (q->head + q->gap[k]) & (q->cap - 1);
    if (q->gap[k] == 0 || q->gap_at[k] == 0 || q->gap_at[k] >= q->n)
      gap_remove(q, k);
  }
}

/* Inserts gap k, of g slots before entry `at`, into the list. */
static void gap_add(cseq *q, size_t k, size_t at, size_t g)
{
  memmove(&q->gap_at[k + 1], &q->gap_at[k], (q->ng - k) * sizeof q->gap_at[0]);
  memmove(&q->gap[k + 1], &q->gap[k], (q->ng - k) * sizeof q->gap[0]);
  q->gap_at[k] = (uint32_t)at;
  q->gap[k] = (uint32_t)g;
  q->ng++;
  gaps_sync(q);
}

/* Brings gap k before entry p (no other gap between): the entries between
 * cross it. */
static void gap_move(cseq *q, size_t k, size_t p)
{
  size_t a = q->gap_at[k], first = cseq_slot(q, a) - q->gap[k]; /* the gap's first slot */
  if (p < a)
    ring_up(q, first - (a - p), a - p, q->gap[k]);
  else if (p > a)
    ring_down(q, first + q->gap[k], p - a, q->gap[k]);
  q->gap_at[k] = (uint32_t)p;
  gaps_sync(q);
}

/* Places *e in the first slot of gap k, which lies before entry `at`: the
 * gap then follows it. */
static void gap_fill(cseq *q, size_t k, size_t at, const centry *e)
{
  q->buf[(cseq_slot(q, at) - q->gap[k]) & (q->cap - 1)] = *e;
  for (size_t j = k; j < q->ng; j++)
    q->gap_at[j]++;
  q->gap[k]--;
  q->n++;
  q->last_at++;
  q->in_gaps--;
  if (q->gap[k] == 0 || q->gap_at[k] == q->n)
    gap_remove(q, k);
}

/* Opens gap k, of g slots from the slack, before entry `at` (the gaps
 * before k lie before it, the others after), moving the entries on the
 * shorter side run by run: the gaps on that side move with them, their
 * contents do not. */
static void gap_open(cseq *q, size_t k, size_t at, size_t g)
{
  if (at < q->n - at) { /* the runs before `at`, the first first, down by g */
    for (size_t j = 0, from = 0; j <= k; j++) {
      size_t to = j < k ? q->gap_at[j] : at;
      ring_down(q, cseq_slot(q, from), to - from, g);
      from = to;
    }
    q->head = (q->head - g) & (q->cap - 1);
  } else { /* the runs from `at` on, the last first, up by g */
    size_t to = q->n;
    for (size_t j = q->ng; j > k; j--) {
      ring_up(q, cseq_slot(q, q->gap_at[j - 1]), to - q->gap_at[j - 1], g);
      to = q->gap_at[j - 1];
    }
    ring_up(q, cseq_slot(q, at), to - at, g);
  }
  gap_add(q, k, at, g);
}

/* Lays q out afresh in a buffer of cap slots, its free room shared evenly
 * among its gaps, a new one before entry `at` (unless at either end, or
 * CSEQ_GAPS are in use) and the slack. CTR_OK or CTR_ENOMEM (q unchanged). */
static int relayout(cseq *q, size_t at, size_t cap)
{
  centry *v = cap <= MAX_CAP ? malloc(cap * sizeof *v) : NULL;
  if (!v)
    return CTR_ENOMEM;
  uint32_t pts[CSEQ_GAPS];
  size_t np = 0, n = q->n;
  bool add = at > 0 && at < n && q->ng < CSEQ_GAPS;
  for (size_t k = 0; k <= q->ng; k++) {
    if (add && (k == q->ng || q->gap_at[k] >= at)) {
      if (k == q->ng || q->gap_at[k] != at)
        pts[np++] = (uint32_t)at;
      add = false;
    }
    if (k < q->ng)
      pts[np++] = q->gap_at[k];
  }
  size_t share = (cap - n) / (np + 1), d = 0;
  for (size_t k = 0, from = 0; k <= q->ng; k++) { /* each run between gaps, cut at the new gap's place */
    size_t to = k < q->ng ? q->gap_at[k] : n;
    while (from < to) {
      size_t s = cseq_slot(q, from), c = to - from;
      c = c < q->cap - s ? c : q->cap - s; /* up to the ring's end */
      for (size_t j = 0; j < np; j++)
        if (pts[j] > from && pts[j] < from + c)
          c = pts[j] - from;
      for (size_t j = 0; j < np; j++)
        d += pts[j] == from ? share : 0;
      memcpy(&v[d], &q->buf[s], c * sizeof *v);
      d += c;
      from += c;
    }
  }
  free(q->buf);
  *q = (cseq){.buf = v, .cap = cap, .n = n, .ng = share ? np : 0};
  for (size_t k = 0; k < q->ng; k++) {
    q->gap_at[k] = pts[k];
    q->gap[k] = (uint32_t)share;
  }
  gaps_sync(q);
  return CTR_OK;
}

/* The ways to make room for entry `at` (no gap before it; gaps before k
 * lie before it, the others after), and for taking one out: the front
 * shifted a slot into the slack (no gap before `at`), the back (no gap
 * after), or the entries between it and the gap on either side. */
enum way { FRONT, BACK, LEFT, RIGHT, NONE };

/* The way for an entry placed at `at` that moves the fewest entries, its
 * cost in *cost. */
static enum way nearest(const cseq *q, size_t at, size_t room, size_t k, size_t *cost)
{
  size_t c[4] = {room && k == 0 ? at : SIZE_MAX, room && k == q->ng ? q->n - at : SIZE_MAX,
                 k > 0 ? at - q->gap_at[k - 1] : SIZE_MAX, k < q->ng ? q->gap_at[k] - at : SIZE_MAX};
  enum way w = NONE;
  *cost = SIZE_MAX;
  for (int i = 3; i >= 0; i--) /* ties go to a gap: it then stays after the match */
    if (c[i] < *cost) {
      *cost = c[i];
      w = (enum way)i;
    }
  return w;
}

int ctr__cseq_insert(cseq *q, size_t at, const centry *e)
{
  if (q->ng && at == q->last_at) { /* into the last gap, as the source filling it goes on (the common case, inline) */
    size_t k = q->ng - 1;
    q->buf[(q->head + at + q->in_gaps - q->gap[k]) & (q->cap - 1)] = *e;
    q->gap_at[k]++;
    q->last_at++;
    q->gap[k]--;
    q->in_gaps--;
    q->n++;
    if (!q->gap[k] || q->gap_at[k] == q->n)
      gap_remove(q, k);
    return CTR_OK;
  }
  if (q->cap == 0) { /* the group's first match: nothing to lay out */
    if (!(q->buf = malloc(8 * sizeof *q->buf)))
      return CTR_ENOMEM;
    q->cap = 8;
  } else if (q->n == q->cap && relayout(q, at, 2 * q->cap) != CTR_OK) {
    return CTR_ENOMEM;
  }
  for (bool laid_out = false;;) {
    size_t k = 0, room = slack(q), cost, mask = q->cap - 1;
    while (k < q->ng && q->gap_at[k] < at)
      k++;
    if (k < q->ng && q->gap_at[k] == at) { /* the gap this source is filling */
      gap_fill(q, k, at, e);
      return CTR_OK;
    }
    enum way w = nearest(q, at, room, k, &cost);
    if (cost > NEAR && q->ng < CSEQ_GAPS && !laid_out) { /* far from any free run: a gap of its own */
      size_t g = room / 2, side = at < q->n - at ? at : q->n - at;
      if (g && side <= PAYS * g) {
        gap_open(q, k, at, g);
        gap_fill(q, k, at, e);
        return CTR_OK;
      }
      /* the slack too small for that: with less than an eighth of the
       * buffer free, twice as large (as when full); else the free room
       * is in the gaps, shared afresh */
      laid_out = true;
      if (relayout(q, at, q->cap - q->n < q->cap / 8 ? 2 * q->cap : q->cap) == CTR_OK)
        continue;
    }
    switch (w) {
    case FRONT:
      ring_down(q, q->head, at, 1);
      q->head = (q->head - 1) & mask;
      q->buf[(q->head + at) & mask] = *e;
      for (size_t j = 0; j < q->ng; j++)
        q->gap_at[j]++;
      q->n++;
      gaps_sync(q);
      return CTR_OK;
    case BACK: {
      size_t s = cseq_slot(q, at);
      ring_up(q, s, q->n - at, 1);
      q->buf[s] = *e;
      q->n++;
      return CTR_OK;
    }
    case LEFT:
    case RIGHT:
      k -= w == LEFT;
      gap_move(q, k, at);
      gap_fill(q, k, at, e);
      return CTR_OK;
    case NONE:
      break;
    }
    return CTR_ENOMEM; /* not reached: a buffer not full has a free run */
  }
}

/* Entry i's slot joins the free run that moves the fewest entries: a gap
 * next to it or the slack at either end moves none, a new gap of one
 * neither (while fewer than CSEQ_GAPS are in use and no run is near),
 * else the entries between it and the nearest run shift a slot. */
centry ctr__cseq_take(cseq *q, size_t i)
{
  centry e = *cseq_at(q, i);
  size_t k = 0, n = q->n, mask = q->cap - 1; /* the gaps before k lie before i, the others after it */
  while (k < q->ng && q->gap_at[k] <= i)
    k++;
  size_t c[4] = {k == 0 ? i : SIZE_MAX, k == q->ng ? n - 1 - i : SIZE_MAX, k > 0 ? i - q->gap_at[k - 1] : SIZE_MAX,
                 k < q->ng ? q->gap_at[k] - i - 1 : SIZE_MAX};
  enum way w = NONE;
  size_t cost = SIZE_MAX;
  for (int j = 0; j < 4; j++)
    if (c[j] < cost) {
      cost = c[j];
      w = (enum way)j;
    }
  if (cost > NEAR && q->ng < CSEQ_GAPS)
    w = NONE;
  switch (w) {
  case FRONT:
    ring_up(q, q->head, i, 1);
    q->head = (q->head + 1) & mask;
    break;
  case BACK:
    ring_down(q, cseq_slot(q, i + 1), n - 1 - i, 1);
    break;
  case LEFT: /* the entries from the gap to i up a slot: the gap grows at its end */
    ring_up(q, cseq_slot(q, q->gap_at[k - 1]), i - q->gap_at[k - 1], 1);
    q->gap[k - 1]++;
    break;
  case RIGHT: /* those after i to the gap down a slot: the gap grows at its start */
    ring_down(q, cseq_slot(q, i + 1), q->gap_at[k] - i - 1, 1);
    q->gap[k]++;
    break;
  case NONE: /* a gap of one, where the entry was */
    gap_add(q, k, i + 1, 1);
    break;
  }
  for (size_t j = k; j < q->ng; j++)
    q->gap_at[j]--;
  gaps_sync(q);
  if (--q->n == 0)
    *q = (cseq){.buf = q->buf, .cap = q->cap};
  else
    gaps_settle(q);
  return e;
}

/* The slots of the entries let go, and the gaps among them, join the
 * slack: nothing moves. */
void ctr__cseq_drop_front(cseq *q, size_t k)
{
  if (k == 0)
    return;
  for (size_t i = 0; i < k; i++)
    ctr__centry_free(cseq_at(q, i));
  if (k == q->n) {
    *q = (cseq){.buf = q->buf, .cap = q->cap};
    return;
  }
  q->head = cseq_slot(q, k);
  size_t kept = 0;
  for (size_t j = 0; j < q->ng; j++)
    if (q->gap_at[j] > k) {
      q->gap_at[kept] = (uint32_t)(q->gap_at[j] - k);
      q->gap[kept++] = q->gap[j];
    }
  q->ng = kept;
  q->n -= k;
  gaps_sync(q);
}

void ctr__cseq_free(cseq *q)
{
  for (size_t i = 0; i < q->n; i++)
    ctr__centry_free(cseq_at(q, i));
  free(q->buf);
  *q = (cseq){0};
}

size_t ctr__cseq_find(const cseq *q, int64_t t, uint32_t seq)
{
  size_t i = ctr__cseq_after_of(q, t, seq - 1);
  return i < q->n && cseq_at(q, i)->t == t && cseq_at(q, i)->seq == seq ? i : SIZE_MAX;
}

size_t ctr__cseq_find_value(const cseq *q, const char *v, int64_t t)
{
  for (size_t i = ctr__cseq_first_from(q, t); i < q->n && cseq_at(q, i)->t == t; i++)
    if (cseq_at(q, i)->value == v)
      return i;
  for (size_t i = 0; i < q->n; i++) /* not reached while the value table is kept in step */
    if (cseq_at(q, i)->value == v)
      return i;
  return SIZE_MAX;
}
