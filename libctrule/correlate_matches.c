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

/* The gap moves k entries towards the front: entries [gap_at - k, gap_at)
 * go up by the gap's length, the last first (the two ranges may overlap). */
static void gap_left(cseq *q, size_t k)
{
  size_t mask = q->cap - 1;
  for (size_t j = q->gap_at; j-- > q->gap_at - k;)
    q->buf[(q->head + j + q->gap) & mask] = q->buf[(q->head + j) & mask];
  q->gap_at -= k;
}

/* The gap moves k entries towards the back: entries [gap_at, gap_at + k)
 * go down by the gap's length, the first first. */
static void gap_right(cseq *q, size_t k)
{
  size_t mask = q->cap - 1;
  for (size_t j = q->gap_at; j < q->gap_at + k; j++)
    q->buf[(q->head + j) & mask] = q->buf[(q->head + j + q->gap) & mask];
  q->gap_at += k;
}

/* Brings the gap before entry p, moving the entries between them the way
 * that moves fewer. Round the ring, the gap passes the slack (between the
 * last entry and the first) and takes it in: a gap after the last entry
 * and the slack are one free run, which is a gap before the first entry
 * with head moved back by its length. */
static void move_gap(cseq *q, size_t p)
{
  size_t d = p > q->gap_at ? p - q->gap_at : q->gap_at - p, mask = q->cap - 1;
  if (2 * d <= q->n) {
    if (p > q->gap_at)
      gap_right(q, d);
    else
      gap_left(q, d);
  } else if (p > q->gap_at) { /* back to the first entry, then from the last one back to p */
    gap_left(q, q->gap_at);   /* the slack, then the gap, then every entry */
    q->head = (q->head + q->gap) & mask;
    q->gap = q->cap - q->n;
    q->gap_at = q->n;
    gap_left(q, q->n - p);
  } else { /* on to the last entry, then from the first one on to p */
    gap_right(q, q->n - q->gap_at); /* every entry, then the gap, then the slack */
    q->gap = q->cap - q->n;
    q->head = (q->head - q->gap) & mask;
    q->gap_at = 0;
    gap_right(q, p);
  }
}

/* A full buffer twice as large, the gap before entry `at`. CTR_OK or
 * CTR_ENOMEM (q unchanged). */
static int grow(cseq *q, size_t at)
{
  size_t cap = q->cap ? 2 * q->cap : 8;
  centry *v = malloc(cap * sizeof *v);
  if (!v)
    return CTR_ENOMEM;
  for (size_t i = 0; i < q->n; i++)
    v[i < at ? i : i + cap - q->n] = *cseq_at(q, i);
  free(q->buf);
  *q = (cseq){.buf = v, .cap = cap, .n = q->n, .head = 0, .gap_at = at, .gap = cap - q->n};
  return CTR_OK;
}

int ctr__cseq_insert(cseq *q, size_t at, const centry *e)
{
  if (q->n == q->cap) {
    if (grow(q, at) != CTR_OK)
      return CTR_ENOMEM;
  } else {
    if (q->gap == 0) { /* the slack, after the last entry, is the gap */
      q->gap_at = q->n;
      q->gap = q->cap - q->n;
    }
    move_gap(q, at);
  }
  q->buf[(q->head + at) & (q->cap - 1)] = *e; /* the gap's first slot */
  q->gap_at++;
  q->gap--;
  q->n++;
  return CTR_OK;
}

/* Entry i joins the gap: the last entry before it, or the first after it,
 * whichever moves fewer. */
centry ctr__cseq_take(cseq *q, size_t i)
{
  centry e = *cseq_at(q, i);
  if (q->gap == 0) {
    q->gap_at = q->n;
    q->gap = q->cap - q->n;
  }
  if (i < q->gap_at) {
    move_gap(q, i + 1);
    q->gap_at--;
  } else {
    move_gap(q, i);
  }
  q->gap++;
  if (--q->n == 0)
    *q = (cseq){.buf = q->buf, .cap = q->cap, .gap = q->cap};
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

size_t ctr__cseq_later_than(const cseq *q, int64_t t)
{
  size_t lo = 0, hi = q->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cseq_at(q, mid)->t <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

size_t ctr__cseq_first_from(const cseq *q, int64_t t) { return t == INT64_MIN ? 0 : ctr__cseq_later_than(q, t - 1); }

size_t ctr__cseq_after_of(const cseq *q, int64_t t, uint32_t seq)
{
  size_t lo = 0, hi = q->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cseq_at(q, mid)->t < t || (cseq_at(q, mid)->t == t && !seq_before(seq, cseq_at(q, mid)->seq)))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
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
