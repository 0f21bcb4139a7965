/* util.c - allocation that cannot fail silently, growable buffers, and a
 * small string -> counter hash table. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void out_of_memory(void)
{
  fputs(CTRULE_CLI_NAME ": out of memory\n", stderr);
  exit(EXIT_INTERNAL);
}

void *xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (!p)
    out_of_memory();
  return p;
}

void *xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p)
    out_of_memory();
  return p;
}

void *xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (!q)
    out_of_memory();
  return q;
}

char *xstrdup(const char *s)
{
  return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

static void vreport(const char *kind, const char *fmt, va_list ap)
{
  fputs(CTRULE_CLI_NAME ": ", stderr);
  if (kind)
    fputs(kind, stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void errorf(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vreport(NULL, fmt, ap);
  va_end(ap);
}

void warnf(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vreport("warning: ", fmt, ap);
  va_end(ap);
}

double now_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool str_ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* ------------------------------------------------------------ stdout */

static int stdout_errno; /* errno of the first failed write to stdout (-1: unknown), 0 if none */

bool stdout_ok(void)
{
  if (!ferror(stdout))
    return true;
  if (!stdout_errno)
    stdout_errno = errno ? errno : -1;
  return false;
}

int stdout_finish(int rc)
{
  errno = 0;
  if (fflush(stdout) != 0 && !stdout_errno)
    stdout_errno = errno ? errno : -1;
  if (stdout_ok() && !stdout_errno)
    return rc;
  if (stdout_errno > 0)
    errorf("cannot write to standard output: %s", strerror(stdout_errno));
  else
    errorf("cannot write to standard output");
  return rc == EXIT_INTERNAL ? rc : EXIT_OUTPUT;
}

/* ------------------------------------------------------------ buffers */

void buf_reserve(buf *b, size_t extra)
{
  if (b->len + extra + 1 <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1)
    cap *= 2;
  b->data = xrealloc(b->data, cap);
  b->cap = cap;
}

void buf_add(buf *b, const char *s, size_t n)
{
  buf_reserve(b, n);
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void buf_adds(buf *b, const char *s)
{
  buf_add(b, s, strlen(s));
}

void buf_addc(buf *b, char c)
{
  buf_add(b, &c, 1);
}

void buf_add_u64(buf *b, uint64_t v)
{
  char d[20], *p = d + sizeof d;
  do
    *--p = (char)('0' + v % 10);
  while (v /= 10);
  buf_add(b, p, (size_t)(d + sizeof d - p));
}

void buf_printf(buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void buf_clear(buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

void buf_free(buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

const char *buf_str(buf *b)
{
  return b->data ? b->data : "";
}

/* ------------------------------------------------------------ counters */

static uint64_t hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

static void strcount_rehash(strcount *t, size_t nslots)
{
  free(t->slots);
  t->slots = xcalloc(nslots, sizeof *t->slots);
  t->nslots = nslots;
  for (size_t i = 0; i < t->n; i++) {
    size_t j = (size_t)(hash_str(t->v[i].key) & (nslots - 1));
    while (t->slots[j])
      j = (j + 1) & (nslots - 1);
    t->slots[j] = i + 1;
  }
}

strcount_entry *strcount_get(strcount *t, const char *key)
{
  if (t->nslots) {
    size_t j = (size_t)(hash_str(key) & (t->nslots - 1));
    while (t->slots[j]) {
      strcount_entry *e = &t->v[t->slots[j] - 1];
      if (strcmp(e->key, key) == 0)
        return e;
      j = (j + 1) & (t->nslots - 1);
    }
  }
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 8;
    t->v = xrealloc(t->v, t->cap * sizeof *t->v);
  }
  strcount_entry *e = &t->v[t->n++];
  e->key = xstrdup(key);
  e->count = 0;
  e->data = NULL;
  if (t->n * 2 > t->nslots)
    strcount_rehash(t, t->nslots ? t->nslots * 2 : 16);
  else {
    size_t j = (size_t)(hash_str(key) & (t->nslots - 1));
    while (t->slots[j])
      j = (j + 1) & (t->nslots - 1);
    t->slots[j] = t->n;
  }
  return e;
}

void strcount_add(strcount *t, const char *key, uint64_t n)
{
  strcount_get(t, key)->count += n;
}

static int by_count_desc(const void *a, const void *b)
{
  const strcount_entry *x = *(const strcount_entry *const *)a;
  const strcount_entry *y = *(const strcount_entry *const *)b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp(x->key, y->key);
}

strcount_entry **strcount_sorted(const strcount *t)
{
  strcount_entry **v = xmalloc((t->n ? t->n : 1) * sizeof *v);
  for (size_t i = 0; i < t->n; i++)
    v[i] = &t->v[i];
  qsort(v, t->n, sizeof *v, by_count_desc);
  return v;
}

void strcount_free(strcount *t, void (*free_data)(void *))
{
  for (size_t i = 0; i < t->n; i++) {
    free(t->v[i].key);
    if (free_data && t->v[i].data)
      free_data(t->v[i].data);
  }
  free(t->v);
  free(t->slots);
  memset(t, 0, sizeof *t);
}
