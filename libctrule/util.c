/* util.c - growable buffers, the per-event arena, string helpers. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (!b)
      return NULL;
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

void ctr__arena_reset(ctr__arena *a)
{
  a->head = a->first;
  if (a->head)
    a->head->used = 0;
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
