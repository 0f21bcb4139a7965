/* scan_driver.c - ctrule-scan: one rule set over one corpus in memory,
 * through the public API only, fed 1 MiB at a time, pass after pass, CPU
 * time of each. For A/B timings of two builds of the library (the same
 * binary run with LD_LIBRARY_PATH pointing at each, taking turns) and for
 * profilers (`valgrind --tool=callgrind ctrule-scan -p 1 ...`), without
 * ctrule-bench's forked children, baselines and other rule sets.
 *
 *   ctrule-scan [-R REAL.ndjson | -f FILE | -g] [-n RECORDS] [-N] [-r RULES.yaml]...
 *               [-e CONDITION] [-O] [-p PASSES] [-c CHUNK]
 *
 * The corpus: by default the shared real records repeated to RECORDS lines
 * (ctrule-bench's real corpus), -f a file as it is, -g the generated one
 * (seed 42). The rules: the built-in RDS rules (-N: none), then each -r
 * file, then -e: one rule with that condition. -O: the callback reads each
 * alert's output and output fields, as a caller showing alerts does (the
 * library renders them on that first read); without it the callback counts. */
#include "alerts.h"
#include "corpus.h"

#include <ctrule.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *d = NULL;
  long n;
  if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (d = malloc((size_t)n + 1)) && fread(d, 1, (size_t)n, f) == (size_t)n) {
    *len = (size_t)n;
  } else {
    free(d);
    d = NULL;
  }
  if (f)
    fclose(f);
  return d;
}

static double cpu_now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static _Noreturn void die(const char *what, const char *detail)
{
  fprintf(stderr, "ctrule-scan: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

static ctr_ruleset *compile(int builtin, char **files, size_t nfiles, const char *condition)
{
  ctr_compiler *c;
  ctr_ruleset *rs = NULL;
  if (ctr_compiler_new(&c) != CTR_OK)
    die("out of memory", NULL);
  int ok = !builtin || ctr_compiler_add_builtin(c, "rds") == CTR_OK;
  for (size_t i = 0; ok && i < nfiles; i++)
    ok = ctr_compiler_add_file(c, files[i]) == CTR_OK;
  if (ok && condition) {
    /* The condition as a YAML double-quoted scalar. */
    size_t n = strlen(condition), at = 0;
    char *yaml = malloc(2 * n + 160);
    if (!yaml)
      die("out of memory", NULL);
    at += (size_t)sprintf(yaml, "- rule: ctrule-scan -e\n  desc: the condition given\n  condition: \"");
    for (size_t i = 0; i < n; i++) {
      if (condition[i] == '"' || condition[i] == '\\')
        yaml[at++] = '\\';
      yaml[at++] = condition[i];
    }
    at += (size_t)sprintf(yaml + at, "\"\n  output: \"%%ct.name by %%ct.user\"\n  priority: WARNING\n");
    ok = ctr_compiler_add_string(c, yaml, at, "-e") == CTR_OK;
    free(yaml);
  }
  ok = ok && ctr_compiler_compile(c, &rs) == CTR_OK;
  for (size_t i = 0; !ok && i < ctr_compiler_diag_count(c); i++)
    fprintf(stderr, "%s\n", ctr_diag_text(ctr_compiler_diag(c, i)));
  ctr_compiler_free(c);
  if (!ok)
    die("the rules do not compile", NULL);
  return rs;
}

int main(int argc, char **argv)
{
  const char *real = CTR_BENCH_REAL, *file = NULL, *condition = NULL;
  char *files[16];
  size_t nfiles = 0, records = 200000, chunk = 1u << 20;
  int builtin = 1, generated = 0, read_output = 0, passes = 5, opt;
  while ((opt = getopt(argc, argv, "R:f:gn:Nr:e:Op:c:")) != -1) {
    switch (opt) {
    case 'R': real = optarg; break;
    case 'f': file = optarg; break;
    case 'g': generated = 1; break;
    case 'n': records = strtoul(optarg, NULL, 10); break;
    case 'N': builtin = 0; break;
    case 'r':
      if (nfiles == sizeof files / sizeof *files)
        die("too many -r", NULL);
      files[nfiles++] = optarg;
      break;
    case 'e': condition = optarg; break;
    case 'O': read_output = 1; break;
    case 'p': passes = atoi(optarg); break;
    case 'c': chunk = strtoul(optarg, NULL, 10); break;
    default:
      fprintf(stderr, "usage: %s [-R REAL.ndjson | -f FILE | -g] [-n RECORDS] [-N] [-r RULES.yaml]... "
                      "[-e CONDITION] [-O] [-p PASSES] [-c CHUNK]\n", argv[0]);
      return 2;
    }
  }
  if (passes < 1 || chunk == 0 || records == 0)
    die("-p, -c and -n must be positive", NULL);
  size_t len = 0;
  char *data;
  if (file) {
    if (!(data = read_file(file, &len)))
      die("cannot read", file);
  } else if (generated) {
    if (!(data = ctb_corpus_ndjson(records, 42, &len)))
      die("out of memory", NULL);
  } else {
    size_t rlen;
    char *sample = read_file(real, &rlen);
    if (!sample)
      die("cannot read", real);
    data = ctb_replicate_lines(sample, rlen, records, &len);
    free(sample);
    if (!data)
      die("cannot repeat the records of", real);
  }
  ctr_ruleset *rs = compile(builtin, files, nfiles, condition);
  double best = 0;
  uint64_t alerts = 0, seen = 0, evaluated = 0;
  for (int pass = 0; pass < passes; pass++) {
    ctr_scanner *sc;
    alerts = 0;
    if (ctr_scanner_new(rs, read_output ? ctb_read_alert : ctb_count_alert, &alerts, &sc) != CTR_OK)
      die("out of memory", NULL);
    double t0 = cpu_now();
    int rc = CTR_OK;
    for (size_t at = 0; rc == CTR_OK && at < len; at += chunk)
      rc = ctr_scanner_feed(sc, data + at, len - at < chunk ? len - at : chunk);
    if (rc == CTR_OK)
      rc = ctr_scanner_finish(sc);
    double s = cpu_now() - t0;
    seen = ctr_scanner_stat(sc, CTR_STAT_RECORDS);
    evaluated = ctr_scanner_stat(sc, CTR_STAT_EVALUATED);
    uint64_t bad = ctr_scanner_stat(sc, CTR_STAT_BAD_RECORDS);
    ctr_scanner_free(sc);
    if (rc != CTR_OK && rc != CTR_EDATA)
      die("the scan failed", ctr_status_name(rc));
    if (bad)
      fprintf(stderr, "ctrule-scan: %llu bad records\n", (unsigned long long)bad);
    printf("pass %d: %.3f s\n", pass + 1, s);
    if (pass == 0 || s < best)
      best = s;
  }
  printf("best %.3f s; %llu records, %llu evaluated, %llu alerts%s\n", best, (unsigned long long)seen,
         (unsigned long long)evaluated, (unsigned long long)alerts, read_output ? " (outputs read)" : "");
  ctr_ruleset_unref(rs);
  free(data);
  return 0;
}
