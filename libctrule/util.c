/* util.c - growable buffers, the per-event arena, string helpers, hashing
 * and string sets. */
#include "internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

int ctr__buf_reserve(ctr__buf *b, size_t extra)
{
  if (extra > SIZE_MAX - b->len - 1)
    return CTR_ENOMEM;
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return CTR_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = realloc(b->data, cap);
  if (!p)
    return CTR_ENOMEM;
  p[b->len] = '\0'; /* a first allocation too: data is a string whenever it is not NULL */
  b->data = p;
  b->cap = cap;
  return CTR_OK;
}

int ctr__buf_append(ctr__buf *b, const void *p, size_t n)
{
  if (ctr__buf_reserve(b, n) != CTR_OK)
    return CTR_ENOMEM;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return CTR_OK;
}

int ctr__buf_append_str(ctr__buf *b, const char *s) { return ctr__buf_append(b, s, strlen(s)); }

int ctr__buf_append_char(ctr__buf *b, char c) { return ctr__buf_append(b, &c, 1); }

int ctr__buf_printf(ctr__buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || ctr__buf_reserve(b, (size_t)n) != CTR_OK) {
    va_end(ap2);
    return CTR_ENOMEM;
  }
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  b->len += (size_t)n;
  return CTR_OK;
}

void ctr__buf_clear(ctr__buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

void ctr__buf_free(ctr__buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

struct ctr__arena_block {
  ctr__arena_block *next;
  size_t used, cap;
  _Alignas(8) unsigned char mem[];
};

void *ctr__arena_alloc(ctr__arena *a, size_t n)
{
  n = (n + 7) & ~(size_t)7;
  if (n == 0)
    n = 8;
  ctr__arena_block *b = a->head;
  while (b && b->cap - b->used < n) {
    /* Blocks kept from earlier events are reused in order. */
    b = b->next;
    if (b)
      b->used = 0;
    a->head = b ? b : a->head;
  }
  if (!b) {
    size_t cap = n > 16384 ? n : 16384;
    b = malloc(sizeof *b + cap);
    if (!b) {
      a->failed = true;
      return NULL;
    }
    b->next = NULL;
    b->used = 0;
    b->cap = cap;
    if (a->head)
      a->head->next = b;
    else
      a->first = b;
    a->head = b;
  }
  void *p = b->mem + b->used;
  b->used += n;
  return p;
}

char *ctr__arena_strndup(ctr__arena *a, const char *s, size_t n)
{
  char *p = ctr__arena_alloc(a, n + 1);
  if (!p)
    return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void *ctr__arena_grow(ctr__arena *a, void *v, size_t n, size_t *cap, size_t size)
{
  if (n < *cap)
    return v;
  size_t c = *cap ? *cap * 2 : 8;
  if (c > SIZE_MAX / size) {
    a->failed = true;
    return NULL;
  }
  void *w = ctr__arena_alloc(a, c * size);
  if (!w)
    return NULL;
  if (n)
    memcpy(w, v, n * size);
  *cap = c;
  return w;
}

void ctr__arena_reset(ctr__arena *a)
{
  a->head = a->first;
  if (a->head)
    a->head->used = 0;
  a->failed = false;
}

void ctr__arena_free(ctr__arena *a)
{
  ctr__arena_block *b = a->first;
  while (b) {
    ctr__arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->first = a->head = NULL;
}

char *ctr__strndup(const char *s, size_t n)
{
  char *p = malloc(n + 1);
  if (!p)
    return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *ctr__strdup(const char *s) { return s ? ctr__strndup(s, strlen(s)) : NULL; }

/* glibc's memmem is portable C, about three instructions a byte here. This
 * compares the literal's first and last bytes with 16 positions at once
 * (SSE2, part of x86-64) and memcmps only where both agree, which in JSON
 * text is rare; the positions left at the end go to memmem. */
bool ctr__contains(const char *hay, size_t n, const char *lit, size_t m)
{
  if (m == 0)
    return true;
  if (m > n)
    return false;
  if (m == 1)
    return memchr(hay, lit[0], n) != NULL;
  size_t i = 0;
#ifdef __SSE2__
  const __m128i first = _mm_set1_epi8(lit[0]), last = _mm_set1_epi8(lit[m - 1]);
  /* Starts i..i+15: their last bytes, up to i+m+14, lie inside hay. */
  for (; i + m + 15 <= n; i += 16) {
    __m128i a = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(hay + i)), first);
    __m128i b = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(hay + i + m - 1)), last);
    for (unsigned mask = (unsigned)_mm_movemask_epi8(_mm_and_si128(a, b)); mask; mask &= mask - 1) {
      size_t at = i + (size_t)__builtin_ctz(mask);
      if (memcmp(hay + at + 1, lit + 1, m - 2) == 0)
        return true;
    }
  }
#endif
  return memmem(hay + i, n - i, lit, m) != NULL;
}

/* ------------------------------------------------------------ hashing, sets */

uint64_t ctr__hash(const char *s, size_t len)
{
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

bool ctr__listarg_next(const char **p, ctr__str *item)
{
  size_t len = 0;
  const char *s = *p;
  if (!s || !*s)
    return false;
  while (*s >= '0' && *s <= '9')
    len = len * 10 + (size_t)(*s++ - '0');
  /* compile.c wrote it: LEN digits, ':', LEN bytes with no NUL */
  item->s = s + 1;
  item->len = len;
  *p = s + 1 + len;
  return true;
}

uint64_t ctr__hash_lower(const char *s, size_t len)
{
  uint64_t h = 1469598103934665603ULL; /* ctr__hash of the bytes tolower() gives */
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)tolower((unsigned char)s[i]);
    h *= 1099511628211ULL;
  }
  return h;
}

bool ctr__strset_build(ctr__arena *pool, ctr__strset *set, const ctr__str *items, size_t n)
{
  size_t cap = 8;
  while (cap < n * 2)
    cap *= 2;
  set->items = ctr__arena_alloc(pool, cap * sizeof *set->items);
  if (!set->items)
    return false;
  memset(set->items, 0, cap * sizeof *set->items);
  set->cap = cap;
  set->n = 0;
  for (size_t i = 0; i < n; i++) {
    if (ctr__strset_has(set, items[i].s, items[i].len))
      continue;
    size_t k = ctr__hash(items[i].s, items[i].len) & (cap - 1);
    while (set->items[k].s)
      k = (k + 1) & (cap - 1);
    set->items[k] = items[i];
    set->n++;
  }
  return true;
}

bool ctr__strset_has(const ctr__strset *set, const char *s, size_t len)
{
  if (!set->cap)
    return false;
  size_t k = ctr__hash(s, len) & (set->cap - 1);
  while (set->items[k].s) {
    if (set->items[k].len == len && memcmp(set->items[k].s, s, len) == 0)
      return true;
    k = (k + 1) & (set->cap - 1);
  }
  return false;
}
