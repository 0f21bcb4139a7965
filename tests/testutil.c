#include "testutil.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>

static const char *join(const char *dir, const char *name)
{
  static _Thread_local char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

const char *tu_shared(const char *name)
{
  const char *dir = getenv("CTR_SHARED_DATA");
  return join(dir ? dir : CTR_TESTS_DIR "/../../shared/data/cloudtrail", name);
}

const char *tu_tests(const char *name)
{
  const char *dir = getenv("CTR_TESTS_DIR");
  return join(dir ? dir : CTR_TESTS_DIR, name);
}

char *tu_read(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  cr_assert(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  cr_assert(buf != NULL);
  cr_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
  buf[n] = '\0';
  fclose(f);
  if (len)
    *len = (size_t)n;
  return buf;
}

#include <string.h>

ctr_ruleset *tu_compile(const char *yaml, char *diags, size_t diags_size)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  ctr_ruleset *rs = NULL;
  int rc = ctr_compiler_add_string(c, yaml, strlen(yaml), "rules.yaml");
  if (rc == CTR_OK)
    rc = ctr_compiler_compile(c, &rs);
  if (diags) {
    diags[0] = '\0';
    for (size_t i = 0; i < ctr_compiler_diag_count(c); i++) {
      size_t used = strlen(diags);
      snprintf(diags + used, diags_size - used, "%s\n", ctr_diag_text(ctr_compiler_diag(c, i)));
    }
  }
  ctr_compiler_free(c);
  return rc == CTR_OK ? rs : NULL;
}

ctr_ruleset *tu_compile_all(ctr_compiler *c)
{
  ctr_ruleset *rs = NULL;
  int rc = ctr_compiler_compile(c, &rs);
  for (size_t i = 0; rc != CTR_OK && i < ctr_compiler_diag_count(c); i++)
    fprintf(stderr, "%s\n", ctr_diag_text(ctr_compiler_diag(c, i)));
  cr_assert_eq(rc, CTR_OK);
  ctr_compiler_free(c);
  return rs;
}

int tu_collect(const ctr_match *m, void *ud)
{
  tu_matches *t = ud;
  char line[8192];
  int n = snprintf(line, sizeof line, "%llu\t%s\t%s\n", (unsigned long long)ctr_match_record_index(m),
                   ctr_match_rule(m), ctr_match_output(m));
  if (n > (int)sizeof line - 1)
    n = (int)sizeof line - 1;
  if (t->len + (size_t)n + 1 > t->cap) {
    t->cap = (t->cap + (size_t)n + 1) * 2;
    t->text = realloc(t->text, t->cap);
    cr_assert(t->text != NULL);
  }
  memcpy(t->text + t->len, line, (size_t)n + 1);
  t->len += (size_t)n;
  t->count++;
  return t->stop_after && t->count >= (size_t)t->stop_after;
}

void tu_matches_free(tu_matches *m)
{
  free(m->text);
  memset(m, 0, sizeof *m);
}

int tu_scan(ctr_ruleset *rs, const char *buf, size_t len, size_t chunk, unsigned flags, tu_matches *out)
{
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, tu_collect, out, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_set_flags(sc, flags), CTR_OK);
  int rc = CTR_OK;
  if (chunk == 0)
    chunk = len ? len : 1;
  for (size_t i = 0; i < len && rc == CTR_OK; i += chunk)
    rc = ctr_scanner_feed(sc, buf + i, len - i < chunk ? len - i : chunk);
  if (rc == CTR_OK)
    rc = ctr_scanner_finish(sc);
  ctr_scanner_free(sc);
  if (!out->text) {
    out->text = calloc(1, 1);
    out->cap = 1;
  }
  return rc;
}

unsigned char *tu_gzip_mem_level(const void *in, size_t len, void *header, int mem_level, size_t *out_len)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, mem_level, Z_DEFAULT_STRATEGY), Z_OK);
  if (header)
    cr_assert_eq(deflateSetHeader(&z, header), Z_OK);
  size_t cap = deflateBound(&z, (uLong)len) + 64;
  unsigned char *o = malloc(cap);
  cr_assert_not_null(o);
  z.next_in = (unsigned char *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  z.next_out = o;
  z.avail_out = (uInt)cap;
  cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
  *out_len = z.total_out;
  deflateEnd(&z);
  return o;
}

unsigned char *tu_gzip_with_header(const void *in, size_t len, void *header, size_t *out_len)
{
  return tu_gzip_mem_level(in, len, header, 8, out_len);
}

unsigned char *tu_gzip(const void *in, size_t len, size_t *out_len)
{
  return tu_gzip_with_header(in, len, NULL, out_len);
}

char *tu_join(char **v, size_t n)
{
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    len += strlen(v[i]);
  char *s = calloc(len + 1, 1);
  cr_assert(s != NULL);
  for (size_t i = 0; i < n; i++) {
    strcat(s, v[i]);
    free(v[i]);
  }
  return s;
}

void tu_append(tu_text *t, const void *p, size_t n)
{
  if (t->len + n + 1 > t->cap) {
    t->cap = 2 * (t->len + n + 1);
    t->s = realloc(t->s, t->cap);
    cr_assert_not_null(t->s);
  }
  memcpy(t->s + t->len, p, n);
  t->len += n;
  t->s[t->len] = '\0';
}

void tu_appendf(tu_text *t, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *line;
  cr_assert(vasprintf(&line, fmt, ap) >= 0);
  va_end(ap);
  tu_append(t, line, strlen(line));
  free(line);
}
