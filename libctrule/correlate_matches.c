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

/* Makes room for an entry at index `at` of q (the entries after it or
 * before it, the shorter side, move by one) and returns its slot; q->n is
 * the caller's to raise. NULL on ENOMEM. */
static centry *make_room(cseq *q, size_t at)
{
  size_t n = q->n;
  bool front = at < n - at;
  size_t before = q->e ? (size_t)(q->e - q->buf) : 0, after = q->cap - before - n;
  if (front ? before == 0 : after == 0) { /* re-centre, in a buffer at least twice as large as the entries */
    size_t c = q->cap;
    if (2 * (n + 1) > c)
      c = c ? 2 * c : 8;
    centry *v = c == q->cap ? q->buf : malloc(c * sizeof *v);
    if (!v)
      return NULL;
    size_t off = (c - n) / 2;
    if (n)
      memmove(v + off, q->e, n * sizeof *v);
    if (v != q->buf)
      free(q->buf);
    q->buf = v;
    q->cap = c;
    q->e = v + off;
  }
  if (front) {
    memmove(q->e - 1, q->e, at * sizeof *q->e);
    q->e--;
  } else {
    memmove(q->e + at + 1, q->e + at, (n - at) * sizeof *q->e);
  }
  return &q->e[at];
}

int ctr__cseq_insert(cseq *q, size_t at, const centry *e)
{
  centry *slot = make_room(q, at);
  if (!slot)
    return CTR_ENOMEM;
  *slot = *e;
  q->n++;
  return CTR_OK;
}

/* The shorter side moves: a value seen again is most often among the
 * oldest. */
centry ctr__cseq_take(cseq *q, size_t i)
{
  centry e = q->e[i];
  if (i < q->n - i - 1) {
    memmove(q->e + 1, q->e, i * sizeof *q->e);
    q->e++;
  } else {
    memmove(q->e + i, q->e + i + 1, (q->n - i - 1) * sizeof *q->e);
  }
  q->n--;
  return e;
}

void ctr__cseq_drop_front(cseq *q, size_t k)
{
  if (k == 0)
    return; /* q->e may be NULL */
  for (size_t i = 0; i < k; i++)
    ctr__centry_free(&q->e[i]);
  q->e += k;
  q->n -= k;
}

void ctr__cseq_free(cseq *q)
{
  for (size_t i = 0; i < q->n; i++)
    ctr__centry_free(&q->e[i]);
  free(q->buf);
  *q = (cseq){0};
}

size_t ctr__cseq_later_than(const cseq *q, int64_t t)
{
  size_t lo = 0, hi = q->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (q->e[mid].t <= t)
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
    if (q->e[mid].t < t || (q->e[mid].t == t && !seq_before(seq, q->e[mid].seq)))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

size_t ctr__cseq_find(const cseq *q, int64_t t, uint32_t seq)
{
  size_t i = ctr__cseq_after_of(q, t, seq - 1);
  return i < q->n && q->e[i].t == t && q->e[i].seq == seq ? i : SIZE_MAX;
}

size_t ctr__cseq_find_value(const cseq *q, const char *v, int64_t t)
{
  for (size_t i = ctr__cseq_first_from(q, t); i < q->n && q->e[i].t == t; i++)
    if (q->e[i].value == v)
      return i;
  for (size_t i = 0; i < q->n; i++) /* not reached while the value table is kept in step */
    if (q->e[i].value == v)
      return i;
  return SIZE_MAX;
}
