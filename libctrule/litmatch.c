/*
 * litmatch.c - one pass over a record's bytes for many literals at once.
 *
 * With hundreds of rules filed under one eventName, searching each rule's
 * literals in turn crosses a candidate record hundreds of times. Here every
 * literal of 4 bytes or more is keyed by its last 4 bytes (ASCII-folded):
 * one pass slides a 4-byte window over the record, a 64 Kibit filter of the
 * keys' hashes turns most windows away after a multiply and a bit test, and
 * a window that passes is looked up in a small hash table of keys, whose
 * literals are compared where they would end there. The last bytes of
 * watch-list literals (an ARN's role, an instance id's digits) tell them
 * apart better than their shared prefixes. Shorter literals are searched
 * one by one.
 */
#include "litmatch.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static unsigned char ascii_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

bool ctr__folded_equal(const char *hay, const char *lit, size_t m)
{
  for (size_t k = 0; k < m; k++)
    if (ascii_lower((unsigned char)hay[k]) != (unsigned char)lit[k])
      return false;
  return true;
}

/* ctr__contains' first- and last-byte filter on bytes OR 0x20 where the
 * literal's byte is a letter (h | 0x20 == 'a' only for 'a' and 'A'). */
bool ctr__contains_folded(const char *hay, size_t n, const char *lit, size_t m)
{
  if (m > n)
    return false;
  if (m == 0)
    return true;
  size_t i = 0;
#ifdef __SSE2__
  unsigned char f = (unsigned char)lit[0], l = (unsigned char)lit[m - 1];
  const __m128i fv = _mm_set1_epi8((char)f), lv = _mm_set1_epi8((char)l);
  const __m128i fm = _mm_set1_epi8(f >= 'a' && f <= 'z' ? 0x20 : 0), lm = _mm_set1_epi8(l >= 'a' && l <= 'z' ? 0x20 : 0);
  for (; i + m + 15 <= n; i += 16) {
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(hay + i));
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(hay + i + m - 1));
    a = _mm_cmpeq_epi8(_mm_or_si128(a, fm), fv);
    b = _mm_cmpeq_epi8(_mm_or_si128(b, lm), lv);
    for (unsigned mask = (unsigned)_mm_movemask_epi8(_mm_and_si128(a, b)); mask; mask &= mask - 1)
      if (ctr__folded_equal(hay + i + (size_t)__builtin_ctz(mask), lit, m))
        return true;
  }
#endif
  for (; i + m <= n; i++)
    if (ctr__folded_equal(hay + i, lit, m))
      return true;
  return false;
}

/* Four bytes with ASCII capitals made small, SWAR: bit 7 of a byte of
 * h + 0x3f is set from 'A' up, of h + 0x25 from '[' up (no carry crosses a
 * byte: h's bytes are below 0x80). */
static inline uint32_t fold4(uint32_t w)
{
  uint32_t h = w & 0x7f7f7f7fu;
  uint32_t upper = (h + 0x3f3f3f3fu) & ~(h + 0x25252525u) & ~w & 0x80808080u;
  return w | (upper >> 2);
}

static inline uint32_t key_hash(uint32_t key) { return (key * 0x9E3779B1u) >> 16; }

typedef struct key_slot {
  uint32_t key;
  uint32_t first, n; /* range of ids */
  bool used;
} key_slot;

struct ctr__litmatch {
  uint64_t filter[1024]; /* bit key_hash(key) of every key */
  key_slot *slots;       /* open addressing on key */
  uint32_t cap;          /* a power of two */
  uint32_t *ids;         /* literal indexes, grouped by key */
  uint32_t *shorts;      /* literals under 4 bytes */
  uint32_t nshorts;
  const ctr__str *lits;
  const bool *folded;
};

static uint32_t lit_key(const ctr__str *l)
{
  uint32_t w;
  memcpy(&w, l->s + l->len - 4, 4);
  return fold4(w);
}

static key_slot *slot_of(const ctr__litmatch *m, uint32_t key)
{
  uint32_t k = key_hash(key) & (m->cap - 1);
  while (m->slots[k].used && m->slots[k].key != key)
    k = (k + 1) & (m->cap - 1);
  return &m->slots[k];
}

ctr__litmatch *ctr__litmatch_build(ctr__arena *pool, const ctr__str *lits, const bool *folded, uint32_t n)
{
  ctr__litmatch *m = ctr__arena_alloc(pool, sizeof *m);
  if (!m)
    return NULL;
  memset(m, 0, sizeof *m);
  m->lits = lits;
  m->folded = folded;
  m->cap = 16;
  while (m->cap < (uint64_t)n * 2)
    m->cap *= 2;
  m->slots = ctr__arena_alloc(pool, m->cap * sizeof *m->slots);
  m->ids = ctr__arena_alloc(pool, (n ? n : 1) * sizeof *m->ids);
  m->shorts = ctr__arena_alloc(pool, (n ? n : 1) * sizeof *m->shorts);
  if (!m->slots || !m->ids || !m->shorts)
    return NULL;
  memset(m->slots, 0, m->cap * sizeof *m->slots);
  /* Count the literals per key, give each key its range, then place them. */
  for (uint32_t i = 0; i < n; i++) {
    if (lits[i].len < 4) {
      m->shorts[m->nshorts++] = i;
      continue;
    }
    uint32_t key = lit_key(&lits[i]), h = key_hash(key);
    key_slot *s = slot_of(m, key);
    s->key = key;
    s->used = true;
    s->n++;
    m->filter[h >> 6] |= 1ull << (h & 63);
  }
  uint32_t next = 0;
  for (uint32_t k = 0; k < m->cap; k++) {
    m->slots[k].first = next;
    next += m->slots[k].n;
    m->slots[k].n = 0;
  }
  for (uint32_t i = 0; i < n; i++)
    if (lits[i].len >= 4) {
      key_slot *s = slot_of(m, lit_key(&lits[i]));
      m->ids[s->first + s->n++] = i;
    }
  return m;
}

static bool lit_at(const ctr__litmatch *m, uint32_t id, const char *at)
{
  const ctr__str *l = &m->lits[id];
  return m->folded[id] ? ctr__folded_equal(at, l->s, l->len) : memcmp(at, l->s, l->len) == 0;
}

void ctr__litmatch_scan(const ctr__litmatch *m, const char *hay, size_t len, uint64_t *found)
{
  for (size_t i = 0; i + 4 <= len; i++) {
    uint32_t w;
    memcpy(&w, hay + i, 4);
    w = fold4(w);
    uint32_t h = key_hash(w);
    if (!(m->filter[h >> 6] >> (h & 63) & 1))
      continue;
    const key_slot *s = slot_of(m, w);
    for (uint32_t k = 0; k < s->n; k++) {
      uint32_t id = m->ids[s->first + k];
      size_t l = m->lits[id].len;
      if (found[id >> 6] >> (id & 63) & 1 || l > i + 4)
        continue;
      if (lit_at(m, id, hay + i + 4 - l))
        found[id >> 6] |= 1ull << (id & 63);
    }
  }
  for (uint32_t k = 0; k < m->nshorts; k++) {
    uint32_t id = m->shorts[k];
    const ctr__str *l = &m->lits[id];
    if (m->folded[id] ? ctr__contains_folded(hay, len, l->s, l->len) : ctr__contains(hay, len, l->s, l->len))
      found[id >> 6] |= 1ull << (id & 63);
  }
}
