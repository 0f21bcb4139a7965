/* testutil.h - helpers shared by the Criterion test programs. */
#ifndef CTR_TESTUTIL_H
#define CTR_TESTUTIL_H

#include <stddef.h>

/* Path of a file in ../shared/data/cloudtrail (env CTR_SHARED_DATA), in a
 * static buffer. */
const char *tu_shared(const char *name);
/* Path of a file under tests/ (env CTR_TESTS_DIR or the build-time path). */
const char *tu_tests(const char *name);
/* Reads a whole file; aborts the test (cr_assert) if it cannot. Caller frees. */
char *tu_read(const char *path, size_t *len);

/* gzip of `in` as one member, with the given header fields (a zlib
 * gz_header *, NULL: zlib's defaults); aborts the test if zlib fails.
 * Caller frees. */
unsigned char *tu_gzip_with_header(const void *in, size_t len, void *header, size_t *out_len);
unsigned char *tu_gzip(const void *in, size_t len, size_t *out_len);
/* The same with zlib's memLevel (1-9; tu_gzip's is 8): a deflate block ends
 * every 2^(memLevel + 6) symbols, so a small one makes many blocks. */
unsigned char *tu_gzip_mem_level(const void *in, size_t len, void *header, int mem_level, size_t *out_len);

/* The strings v[0..n) joined into one (malloc'd; each v[i] freed). */
char *tu_join(char **v, size_t n);
#define TU_JOIN(...) tu_join((char *[]){__VA_ARGS__}, sizeof((char *[]){__VA_ARGS__}) / sizeof(char *))

/* Text built line by line (formatted), its buffer growing by doubling;
 * {0} is empty. The caller frees s. */
typedef struct tu_text {
  char *s;
  size_t len, cap;
} tu_text;
__attribute__((format(printf, 2, 3))) void tu_appendf(tu_text *t, const char *fmt, ...);
/* n bytes (NULs too) appended, the text kept NUL-terminated. */
void tu_append(tu_text *t, const void *p, size_t n);

#endif

#include "ctrule.h"

/* Compiles YAML rules; returns the ruleset (NULL on failure). All
 * diagnostics are appended, one per line, to `diags` when not NULL. */
ctr_ruleset *tu_compile(const char *yaml, char *diags, size_t diags_size);
/* Compiles what c was given and frees c; the test fails, the diagnostics
 * printed, if it does not compile. */
ctr_ruleset *tu_compile_all(ctr_compiler *c);

/* Collects matches as "index\trule\toutput\n" lines. */
typedef struct tu_matches {
  char *text;
  size_t len, cap;
  size_t count;
  int stop_after; /* stop after this many matches (0: never) */
} tu_matches;

int tu_collect(const ctr_match *m, void *ud);
void tu_matches_free(tu_matches *m);
/* Scans a buffer fed in chunks of `chunk` bytes (0: one feed). */
int tu_scan(ctr_ruleset *rs, const char *buf, size_t len, size_t chunk, unsigned flags, tu_matches *out);
