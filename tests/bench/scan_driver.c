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
 * library renders them on that first read); without it the callback counts.
 *
 * -F: every field of the library alone instead, each in a rule that reads it
 * on every record and never holds (a string contains a text no record has,
 * a number equals one no record holds; a field that needs a key gets one
 * from k_field_args), timed against the floor: `evt.num = 0`, a rule read
 * on every record whose field costs nothing. Sorted by that ratio, so that
 * a field whose reading costs more than the record (a cliff: a rule on it
 * alone reads every record) tops the list. */
#include "alerts.h"
#include "corpus.h"

#include <ctrule.h>
#include <stdint.h>
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

/* quiet: NULL when the rules do not compile, rather than dying. */
static ctr_ruleset *compile(int builtin, char **files, size_t nfiles, const char *condition, int quiet)
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
  for (size_t i = 0; !ok && !quiet && i < ctr_compiler_diag_count(c); i++)
    fprintf(stderr, "%s\n", ctr_diag_text(ctr_compiler_diag(c, i)));
  ctr_compiler_free(c);
  if (!ok && !quiet)
    die("the rules do not compile", NULL);
  return ok ? rs : NULL;
}

typedef struct scan_result {
  double best; /* CPU seconds, the best pass */
  uint64_t records, evaluated, alerts;
} scan_result;

/* The best of `passes` scans of data with rs, each by a new scanner. */
static scan_result scan_best(ctr_ruleset *rs, const char *data, size_t len, size_t chunk, int passes,
                             int read_output, int verbose)
{
  scan_result r = {0};
  for (int pass = 0; pass < passes; pass++) {
    ctr_scanner *sc;
    r.alerts = 0;
    if (ctr_scanner_new(rs, read_output ? ctb_read_alert : ctb_count_alert, &r.alerts, &sc) != CTR_OK)
      die("out of memory", NULL);
    double t0 = cpu_now();
    int rc = CTR_OK;
    for (size_t at = 0; rc == CTR_OK && at < len; at += chunk)
      rc = ctr_scanner_feed(sc, data + at, len - at < chunk ? len - at : chunk);
    if (rc == CTR_OK)
      rc = ctr_scanner_finish(sc);
    double s = cpu_now() - t0;
    r.records = ctr_scanner_stat(sc, CTR_STAT_RECORDS);
    r.evaluated = ctr_scanner_stat(sc, CTR_STAT_EVALUATED);
    uint64_t bad = ctr_scanner_stat(sc, CTR_STAT_BAD_RECORDS);
    ctr_scanner_free(sc);
    if (rc != CTR_OK && rc != CTR_EDATA)
      die("the scan failed", ctr_status_name(rc));
    if (bad && verbose)
      fprintf(stderr, "ctrule-scan: %llu bad records\n", (unsigned long long)bad);
    if (verbose)
      printf("pass %d: %.3f s\n", pass + 1, s);
    if (pass == 0 || s < r.best)
      r.best = s;
  }
  return r;
}

/* The keys -F gives the fields that need one: a JSON pointer, or a dotted
 * path for json.values and json.ip. */
static const char *const k_field_args[][2] = {
  {"json.value", "/requestParameters/bucketName"}, {"jevt.value", "/requestParameters/bucketName"},
  {"json.values", "requestParameters.bucketName"}, {"json.ip", "sourceIPAddress"},
  {"rds.params.value", "max_connections"},
};

typedef struct field_time {
  char condition[160];
  double best;
} field_time;

static int slower_first(const void *a, const void *b)
{
  double x = ((const field_time *)a)->best, y = ((const field_time *)b)->best;
  return (x < y) - (x > y);
}

/* -F: every field alone against the floor (see the top of the file). */
static void every_field(const char *data, size_t len, size_t chunk, int passes)
{
  ctr_ruleset *floor_rs = compile(0, NULL, 0, "evt.num = 0", 0);
  scan_result floor = scan_best(floor_rs, data, len, chunk, passes, 0, 0);
  ctr_ruleset_unref(floor_rs);
  size_t n = ctr_field_count(), done = 0;
  field_time *t = calloc(n, sizeof *t);
  if (!t)
    die("out of memory", NULL);
  for (size_t i = 0; i < n; i++) {
    const char *name = ctr_field_name(i), *arg = NULL;
    for (size_t k = 0; k < sizeof k_field_args / sizeof *k_field_args; k++)
      if (strcmp(name, k_field_args[k][0]) == 0)
        arg = k_field_args[k][1];
    char field[96];
    snprintf(field, sizeof field, "%s%s%s%s", name, arg ? "[" : "", arg ? arg : "", arg ? "]" : "");
    if (strcmp(ctr_field_type(i), "uint64") == 0)
      snprintf(t[done].condition, sizeof t[done].condition, "%s = 987654321123456789", field);
    else
      snprintf(t[done].condition, sizeof t[done].condition, "%s contains \"zq-never-xj\"", field);
    ctr_ruleset *rs = compile(0, NULL, 0, t[done].condition, 1);
    if (!rs) {
      printf("%-60s does not compile\n", t[done].condition);
      continue;
    }
    scan_result r = scan_best(rs, data, len, chunk, passes, 0, 0);
    ctr_ruleset_unref(rs);
    if (r.alerts)
      die("a field's rule that never holds alerted", t[done].condition);
    t[done++].best = r.best;
  }
  qsort(t, done, sizeof *t, slower_first);
  printf("every field alone, %zu of %zu fields, %llu records; the floor (evt.num = 0) %.3f s\n", done, n,
         (unsigned long long)floor.records, floor.best);
  for (size_t i = 0; i < done; i++)
    printf("  %-60s %.3f s  %5.2fx the floor\n", t[i].condition, t[i].best, t[i].best / floor.best);
  free(t);
}

int main(int argc, char **argv)
{
  const char *real = CTR_BENCH_REAL, *file = NULL, *condition = NULL;
  char *files[16];
  size_t nfiles = 0, records = 200000, chunk = 1u << 20;
  int builtin = 1, generated = 0, read_output = 0, passes = 5, fields = 0, opt;
  while ((opt = getopt(argc, argv, "R:f:gn:Nr:e:Op:c:F")) != -1) {
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
    case 'F': fields = 1; break;
    default:
      fprintf(stderr, "usage: %s [-R REAL.ndjson | -f FILE | -g] [-n RECORDS] [-N] [-r RULES.yaml]... "
                      "[-e CONDITION] [-O] [-p PASSES] [-c CHUNK] [-F]\n", argv[0]);
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
  if (fields) {
    every_field(data, len, chunk, passes);
    free(data);
    return 0;
  }
  ctr_ruleset *rs = compile(builtin, files, nfiles, condition, 0);
  scan_result r = scan_best(rs, data, len, chunk, passes, read_output, 1);
  printf("best %.3f s; %llu records, %llu evaluated, %llu alerts%s\n", r.best, (unsigned long long)r.records,
         (unsigned long long)r.evaluated, (unsigned long long)r.alerts, read_output ? " (outputs read)" : "");
  ctr_ruleset_unref(rs);
  free(data);
  return 0;
}
