/* correlate_values.c - value_count's table of each value's latest match and
 * its heap of earlier matches to let go (correlate_values.h). */
#include "correlate_values.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

size_t ctr__vmap_find(const vmap *m, const char *v, uint64_t h)
{
  size_t mask = m->cap - 1, i = h & mask;
  while (m->slot[i].v && (m->slot[i].h != h || strcmp(m->slot[i].v, v) != 0))
    i = (i + 1) & mask;
  return i;
}

int ctr__vmap_reserve(vmap *m)
{
  if ((m->n + 1) * 2 <= m->cap)
    return CTR_OK;
  size_t cap = m->cap ? m->cap * 2 : 16;
  vslot *old = m->slot, *nv = calloc(cap, sizeof *nv);
  if (!nv)
    return CTR_ENOMEM;
  size_t ocap = m->cap;
  m->slot = nv;
  m->cap = cap;
  for (size_t i = 0; i < ocap; i++)
    if (old[i].v)
      m->slot[ctr__vmap_find(m, old[i].v, old[i].h)] = old[i];
  free(old);
  return CTR_OK;
}

void ctr__vmap_del(vmap *m, const char *v)
{
  if (!m->n || !v)
    return;
  size_t mask = m->cap - 1, i = ctr__vmap_find(m, v, ctr__hash(v, strlen(v)));
  if (m->slot[i].v != v)
    return;
  m->n--;
  for (size_t j = i;;) {
    m->slot[i].v = NULL;
    for (;;) {
      j = (j + 1) & mask;
      if (!m->slot[j].v)
        return;
      size_t home = m->slot[j].h & mask; /* it stays if its home lies cyclically in (i, j] */
      if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
        continue;
      break;
    }
    m->slot[i] = m->slot[j];
    i = j;
  }
}

static void dslot_swap(dslot *a, dslot *b)
{
  dslot t = *a;
  *a = *b;
  *b = t;
}

static void dheap_down(dheap *d, size_t i)
{
  for (size_t k; (k = 2 * i + 1) < d->n; i = k) {
    if (k + 1 < d->n && d->v[k + 1].until < d->v[k].until)
      k++;
    if (d->v[k].until >= d->v[i].until)
      break;
    dslot_swap(&d->v[i], &d->v[k]);
  }
}

/* Forgets the notes of earlier matches already spent or let go, once they
 * are most of the heap: they stay until their time comes otherwise, and
 * event time that stands still would let them pile up past the events
 * limit. */
static void dheap_prune(dheap *d, const cseq *older)
{
  size_t n = 0;
  for (size_t i = 0; i < d->n; i++)
    if (ctr__cseq_find(older, d->v[i].t, d->v[i].seq) != SIZE_MAX)
      d->v[n++] = d->v[i];
  d->n = n;
  for (size_t i = n / 2; i-- > 0;)
    dheap_down(d, i);
}

int ctr__dheap_push(dheap *d, const cseq *older, int64_t until, int64_t t, uint32_t seq)
{
  if (d->n == d->cap && d->n >= 2 * older->n + 16)
    dheap_prune(d, older);
  if (d->n == d->cap) {
    size_t cap = d->cap ? 2 * d->cap : 16;
    dslot *v = realloc(d->v, cap * sizeof *v);
    if (!v)
      return CTR_ENOMEM;
    d->v = v;
    d->cap = cap;
  }
  size_t i = d->n++;
  d->v[i] = (dslot){until, t, seq};
  for (; i > 0 && d->v[(i - 1) / 2].until > d->v[i].until; i = (i - 1) / 2)
    dslot_swap(&d->v[i], &d->v[(i - 1) / 2]);
  return CTR_OK;
}

void ctr__dheap_pop(dheap *d)
{
  d->v[0] = d->v[--d->n];
  dheap_down(d, 0);
}
