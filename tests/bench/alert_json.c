/* alert_json.c - ctrule-alert-json: what an alert's Falco JSON line
 * (ctr_match_json) costs, per alert, over real alerts.
 *
 *   ctrule-alert-json [-f NDJSON] [-r RULES.yaml | -r none] [-p PASSES] [-n CALLS] [-F FLAGS] [-s]
 *
 * Scans the file (default: the shared real records) PASSES times with the
 * built-in RDS rules plus RULES (default: Falco's 22 upstream rules), and
 * in every match callback renders the alert's line CALLS times, timing those
 * calls alone in thread CPU time (the match's output is rendered before: the
 * scanner renders it on the callback's first read of it). Prints the alerts, ns per line, and a
 * hash of every line's bytes, so that two builds can be compared for
 * identical output as well as for speed (docs/performance.md). With -s,
 * each call saves the match (ctr_match_save) and writes the line from the
 * saved bytes (ctr_saved_json), as the Python binding does when to_json()
 * is asked for: the two are timed apart, the hash is of the saved lines. */
#include "ctrule.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct run {
  unsigned flags;
  int calls;
  bool saved; /* -s */
  uint64_t alerts, bytes, ns, save_ns, saved_bytes, hash;
  int failed;
} run;

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* FNV-1a over the line and its terminating newline. */
static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
  return (h ^ '\n') * 0x100000001b3u;
}

static int on_match(const ctr_match *m, void *ud)
{
  run *r = ud;
  char *line[64];
  size_t len[64];
  int n = r->calls < 64 ? r->calls : 64;
  /* The output rendered first: the scanner renders it on the first read,
   * and that is not the line's cost. */
  if (!ctr_match_output(m)) {
    r->failed = 1;
    return 1;
  }
  static unsigned char saved[64][8192];
  size_t saved_len[64];
  if (r->saved) {
    uint64_t t0 = now_ns();
    for (int i = 0; i < n; i++)
      if (ctr_match_save(m, saved[i], sizeof saved[i], &saved_len[i]) != CTR_OK || saved_len[i] > sizeof saved[i])
        saved_len[i] = 0;
    uint64_t t1 = now_ns();
    for (int i = 0; i < n; i++)
      if (!saved_len[i] || ctr_saved_json(saved[i], saved_len[i], r->flags, &line[i], &len[i]) != CTR_OK)
        line[i] = NULL;
    r->save_ns += t1 - t0;
    r->ns += now_ns() - t1;
    r->saved_bytes += saved_len[0];
  } else {
    uint64_t t0 = now_ns();
    for (int i = 0; i < n; i++)
      if (ctr_match_json(m, r->flags, &line[i], &len[i]) != CTR_OK)
        line[i] = NULL;
    r->ns += now_ns() - t0;
  }
  for (int i = 0; i < n; i++) {
    if (!line[i]) {
      r->failed = 1;
      continue;
    }
    if (i == 0) {
      r->hash = fnv(r->hash, line[i], len[i]);
      r->bytes += len[i];
    }
    ctr_free(line[i]);
  }
  r->alerts++;
  return 0;
}

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0, k;
  do {
    if (n == cap) {
      char *b = realloc(buf, cap = cap ? cap * 2 : 1 << 20);
      if (!b) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = b;
    }
    k = fread(buf + n, 1, cap - n, f);
    n += k;
  } while (k);
  fclose(f);
  *len = n;
  return buf;
}

int main(int argc, char **argv)
{
  const char *input = CTR_BENCH_REAL, *rules = CTR_BENCH_FALCO_RULES;
  int passes = 20, opt;
  run r = {.calls = 10, .flags = CTR_JSON_EVENT_ID, .hash = 0xcbf29ce484222325u};
  while ((opt = getopt(argc, argv, "f:r:p:n:F:s")) != -1) {
    switch (opt) {
    case 'f': input = optarg; break;
    case 'r': rules = strcmp(optarg, "none") ? optarg : NULL; break;
    case 'p': passes = atoi(optarg); break;
    case 'n': r.calls = atoi(optarg); break;
    case 'F': r.flags = (unsigned)strtoul(optarg, NULL, 0); break;
    case 's': r.saved = true; break;
    default:
      fprintf(stderr, "usage: %s [-f NDJSON] [-r RULES.yaml|none] [-p PASSES] [-n CALLS 1-64] [-F FLAGS] [-s]\n",
              argv[0]);
      return 2;
    }
  }
  if (passes < 1 || r.calls < 1 || r.calls > 64) {
    fprintf(stderr, "%s: PASSES >= 1, CALLS 1-64\n", argv[0]);
    return 2;
  }
  size_t len;
  char *buf = read_file(input, &len);
  if (!buf) {
    fprintf(stderr, "%s: cannot read %s\n", argv[0], input);
    return 1;
  }
  ctr_compiler *c;
  ctr_ruleset *rs = NULL;
  if (ctr_compiler_new(&c) != CTR_OK || ctr_compiler_add_builtin(c, "rds") != CTR_OK ||
      (rules && ctr_compiler_add_file(c, rules) != CTR_OK) || ctr_compiler_compile(c, &rs) != CTR_OK) {
    fprintf(stderr, "%s: the rules do not compile\n", argv[0]);
    return 1;
  }
  ctr_compiler_free(c);
  for (int p = 0; p < passes; p++) {
    ctr_scanner *sc;
    if (ctr_scanner_new(rs, on_match, &r, &sc) != CTR_OK || ctr_scanner_feed(sc, buf, len) != CTR_OK ||
        ctr_scanner_finish(sc) != CTR_OK) {
      fprintf(stderr, "%s: the scan failed\n", argv[0]);
      return 1;
    }
    ctr_scanner_free(sc);
  }
  if (r.failed || !r.alerts) {
    fprintf(stderr, "%s: %s\n", argv[0], r.failed ? "ctr_match_json failed" : "no alert");
    return 1;
  }
  uint64_t lines = r.alerts * (uint64_t)r.calls;
  printf("alerts %llu (%llu per pass), lines %llu, %.1f bytes a line, %.1f ns a line, hash %016llx\n",
         (unsigned long long)r.alerts, (unsigned long long)(r.alerts / (uint64_t)passes), (unsigned long long)lines,
         (double)r.bytes / (double)r.alerts, (double)r.ns / (double)lines, (unsigned long long)r.hash);
  if (r.saved)
    printf("saved: %.1f bytes a match, %.1f ns to save one (the line above written from the saved bytes)\n",
           (double)r.saved_bytes / (double)r.alerts, (double)r.save_ns / (double)lines);
  ctr_ruleset_unref(rs);
  free(buf);
  return 0;
}
