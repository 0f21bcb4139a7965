/* correlate_matches.c - a correlation group's matches, sorted by event time
 * and arrival, with the searches the checks make on them
 * (correlate_matches.h). */
#include "correlate_matches.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void ctr__centry_free(centry *e)
{
  free(e->id);
  free(e->time);
  free(e->value);
}

/* The free slots between the last entry and the first. */
static size_t slack(const cseq *q) { return q->cap - q->n - q->gap; }

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

/* The gap moves k entries towards the front or the back: they cross it. */
static void gap_left(cseq *q, size_t k)
{
  ring_up(q, q->head + q->gap_at - k, k, q->gap);
  q->gap_at -= k;
}

static void gap_right(cseq *q, size_t k)
{
  ring_down(q, q->head + q->gap_at + q->gap, k, q->gap);
  q->gap_at += k;
}

/* How many entries bringing the gap before entry p moves: those between
 * them, or those the other way round the ring. */
static size_t gap_cost(const cseq *q, size_t p)
{
  size_t d = p > q->gap_at ? p - q->gap_at : q->gap_at - p;
  return d < q->n - d ? d : q->n - d;
}

/* Brings the gap before entry p, the way that moves fewer entries. Round
 * the ring the gap crosses the slack, a free run like itself: a gap after
 * the last entry is, with head moved back by its length, a gap before the
 * first. */
static void move_gap(cseq *q, size_t p)
{
  size_t d = p > q->gap_at ? p - q->gap_at : q->gap_at - p, mask = q->cap - 1;
  if (2 * d <= q->n) {
    if (p > q->gap_at)
      gap_right(q, d);
    else
      gap_left(q, d);
  } else if (p > q->gap_at) { /* back to the first entry, then from the last one back to p */
    gap_left(q, q->gap_at);
    q->head = (q->head + q->gap) & mask;
    q->gap_at = q->n;
    gap_left(q, q->n - p);
  } else { /* on to the last entry, then from the first one on to p */
    gap_right(q, q->n - q->gap_at);
    q->head = (q->head - q->gap) & mask;
    q->gap_at = 0;
    gap_right(q, p);
  }
}

/* No gap: one of half the slack is opened before entry p, moving the
 * shorter side. */
static void open_gap(cseq *q, size_t p)
{
  size_t g = (slack(q) + 1) / 2;
  if (p < q->n - p) {
    ring_down(q, q->head, p, g);
    q->head = (q->head - g) & (q->cap - 1);
  } else {
    ring_up(q, q->head + p, q->n - p, g);
  }
  q->gap_at = p;
  q->gap = g;
}

/* A full buffer twice as large: the new room is slack for a match at
 * either end, else half of it a gap before entry `at`. CTR_OK or
 * CTR_ENOMEM (q unchanged). */
static int grow(cseq *q, size_t at)
{
  size_t cap = q->cap ? 2 * q->cap : 8, n = q->n, g = at == 0 || at == n ? 0 : (cap - n) / 2;
  centry *v = malloc(cap * sizeof *v);
  if (!v)
    return CTR_ENOMEM;
  for (size_t i = 0; i < n; i++)
    v[i < at ? i : i + g] = *cseq_at(q, i);
  free(q->buf);
  *q = (cseq){.buf = v, .cap = cap, .n = n, .head = 0, .gap_at = g ? at : 0, .gap = g};
  return CTR_OK;
}

/* The cheapest of: the entries before `at` one slot down into the slack,
 * those from `at` on one slot up into it (a match at either end: none), or
 * the gap brought to `at` (opened if there is none). Ties go to the gap,
 * which stays after the match: the next one of a stream in time order,
 * read in the middle of the group, moves nothing. */
int ctr__cseq_insert(cseq *q, size_t at, const centry *e)
{
  if (q->n == q->cap && grow(q, at) != CTR_OK)
    return CTR_ENOMEM;
  size_t n = q->n, mask = q->cap - 1, room = slack(q);
  if (at == n && (room || q->gap_at == n)) { /* after every entry (in time order): nothing moves */
    q->buf[(q->head + n + (q->gap_at == n ? 0 : q->gap)) & mask] = *e;
    if (q->gap_at == n && q->gap) {
      q->gap_at++;
      q->gap--;
    }
    q->n++;
    return CTR_OK;
  }
  size_t by_gap = q->gap ? gap_cost(q, at) : (at < n - at ? at : n - at);
  bool down = room && (!q->gap || at <= q->gap_at), up = room && (!q->gap || at >= q->gap_at);
  if (down && at < by_gap && (!up || at <= n - at)) {
    ring_down(q, q->head, at, 1);
    q->head = (q->head - 1) & mask;
    q->buf[(q->head + at) & mask] = *e;
    q->gap_at += q->gap != 0;
  } else if (up && n - at < by_gap) {
    ring_up(q, q->head + at + q->gap, n - at, 1);
    q->buf[(q->head + at + q->gap) & mask] = *e;
  } else {
    if (!q->gap)
      open_gap(q, at);
    move_gap(q, at);
    q->buf[(q->head + at) & mask] = *e; /* the gap's first slot */
    q->gap_at++;
    q->gap--;
  }
  q->n++;
  return CTR_OK;
}

/* The cheapest of: the entries before i one slot up, those after it one
 * slot down (its slot joins the slack), or the gap brought next to it (its
 * slot joins the gap; with no gap, it is one). */
centry ctr__cseq_take(cseq *q, size_t i)
{
  centry e = *cseq_at(q, i);
  size_t n = q->n, mask = q->cap - 1;
  bool before = q->gap && i < q->gap_at;
  size_t by_gap = q->gap ? gap_cost(q, before ? i + 1 : i) : 0;
  if (before && i < by_gap && i <= n - 1 - i) {
    ring_up(q, q->head, i, 1);
    q->head = (q->head + 1) & mask;
    q->gap_at--;
  } else if (q->gap && !before && n - 1 - i < by_gap) {
    ring_down(q, q->head + i + 1 + q->gap, n - 1 - i, 1);
  } else if (!q->gap) {
    q->gap_at = i;
    q->gap = 1;
  } else {
    move_gap(q, before ? i + 1 : i);
    q->gap_at -= before;
    q->gap++;
  }
  if (--q->n == 0)
    *q = (cseq){.buf = q->buf, .cap = q->cap};
  return e;
}

/* The slots of the entries let go join the slack: nothing moves. */
void ctr__cseq_drop_front(cseq *q, size_t k)
{
  if (k == 0)
    return;
  for (size_t i = 0; i < k; i++)
    ctr__centry_free(cseq_at(q, i));
  if (k <= q->gap_at) {
    q->head = (q->head + k) & (q->cap - 1);
    q->gap_at -= k;
  } else { /* the gap too: the entries left start after it */
    q->head = (q->head + k + q->gap) & (q->cap - 1);
    q->gap_at = q->n - k;
    q->gap = 0;
  }
  q->n -= k;
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
