/* bench.c - ctrule throughput, single core, as ratios to a jansson
 * parse-only baseline measured in the same run (docs/performance.md).
 *
 *   ctrule-bench [-n RECORDS] [-r REPEATS] [-f FILE.ndjson] [-s GB] [-o CORPUS_OUT] [-1]
 *
 * Every case runs in a forked child, so its peak RSS is its own; the time of
 * a case is the best of REPEATS rounds, each of which runs every case once
 * (on a shared machine other work only ever adds time, and a burst of it
 * hits one round of every case rather than one case). Each line gives
 * records/s, MB/s, the ratio to jansson parse-only, alerts, records parsed
 * and peak RSS. -1 runs only the RDS + 20 case (tests/bench/run.sh
 * measures it next to each binding). */
#include "corpus.h"

#include <ctrule.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

typedef struct input {
  const char *data;
  size_t len, records;
} input;

typedef struct result {
  double seconds;    /* best of the runs */
  uint64_t count;    /* records seen (or alerts, per case) */
  uint64_t alerts;
  uint64_t evaluated;
  long peak_rss_kb;
  int failed;
} result;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
  fprintf(stderr, "ctrule-bench: %s\n", what);
  exit(1);
}

/* ------------------------------------------------------------ cases */

typedef int (*case_fn)(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated);

static int case_memchr(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)arg, (void)alerts, (void)evaluated;
  uint64_t n = 0;
  for (const char *p = in->data, *end = p + in->len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
    n++;
  *count = n;
  return 0;
}

/* jansson: json_loadb + one lookup + decref per NDJSON line. */
static int case_jansson(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)arg, (void)evaluated;
  uint64_t n = 0, rds = 0;
  const char *p = in->data, *end = p + in->len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    json_error_t err;
    json_t *root = json_loadb(p, len, 0, &err);
    if (!root)
      return -1;
    const char *src = json_string_value(json_object_get(root, "eventSource"));
    rds += src && strcmp(src, "rds.amazonaws.com") == 0;
    json_decref(root);
    n++;
    p += len + 1;
  }
  *count = n;
  *alerts = rds; /* rds records, as a check */
  return 0;
}

typedef struct scan_arg {
  ctr_ruleset *rs;
  unsigned flags;
  size_t chunk; /* feed size */
} scan_arg;

static int count_alert(const ctr_match *m, void *ud)
{
  (void)m;
  ++*(uint64_t *)ud;
  return 0;
}

static int case_scan(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  const scan_arg *a = arg;
  ctr_scanner *sc;
  if (ctr_scanner_new(a->rs, count_alert, alerts, &sc) != CTR_OK || ctr_scanner_set_flags(sc, a->flags) != CTR_OK)
    return -1;
  int rc = CTR_OK;
  for (size_t at = 0; rc == CTR_OK && at < in->len; at += a->chunk)
    rc = ctr_scanner_feed(sc, in->data + at, in->len - at < a->chunk ? in->len - at : a->chunk);
  if (rc == CTR_OK)
    rc = ctr_scanner_finish(sc);
  *count = ctr_scanner_stat(sc, CTR_STAT_RECORDS);
  *evaluated = ctr_scanner_stat(sc, CTR_STAT_EVALUATED);
  if (ctr_scanner_stat(sc, CTR_STAT_BAD_RECORDS))
    rc = CTR_EDATA;
  ctr_scanner_free(sc);
  return rc == CTR_OK ? 0 : -1;
}

/* zlib alone: inflate the gzip file into a scratch buffer, with zlib's own
 * CRC-32 and length check of each member (the baseline) or, to show what that
 * check costs, without (the library checks members itself, with libdeflate). */
static const int k_zlib_check = 1, k_zlib_no_check = 0;

static int case_inflate(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)alerts, (void)evaluated;
  static unsigned char out[64 * 1024];
  z_stream z = {0};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK || inflateValidate(&z, *(const int *)arg) != Z_OK)
    return -1;
  z.next_in = (unsigned char *)in->data;
  z.avail_in = (uInt)in->len;
  uint64_t total = 0;
  int rc;
  do {
    z.next_out = out;
    z.avail_out = sizeof out;
    rc = inflate(&z, Z_NO_FLUSH);
    total += sizeof out - z.avail_out;
  } while (rc == Z_OK);
  inflateEnd(&z);
  *count = in->records;
  return rc == Z_STREAM_END && total ? 0 : -1;
}

/* A log file of `gb` GB streamed from a generator batch by batch: the
 * scanner's memory must not grow with the input. */
typedef struct stream_arg {
  ctr_ruleset *rs;
  double gb;
} stream_arg;

static int case_stream(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)in;
  const stream_arg *a = arg;
  ctr_scanner *sc;
  if (ctr_scanner_new(a->rs, count_alert, alerts, &sc) != CTR_OK)
    return -1;
  size_t blen;
  char *batch = ctb_corpus_elements(2000, 99, &blen);
  if (!batch)
    return -1;
  uint64_t target = (uint64_t)(a->gb * 1e9), fed = 0;
  int rc = ctr_scanner_feed(sc, "{\"Records\":[", 12);
  for (int first = 1; rc == CTR_OK && fed < target; first = 0) {
    if (!first)
      rc = ctr_scanner_feed(sc, ",", 1);
    for (size_t at = 0; rc == CTR_OK && at < blen; at += 65536)
      rc = ctr_scanner_feed(sc, batch + at, blen - at < 65536 ? blen - at : 65536);
    fed += blen;
  }
  if (rc == CTR_OK && (rc = ctr_scanner_feed(sc, "]}", 2)) == CTR_OK)
    rc = ctr_scanner_finish(sc);
  *count = ctr_scanner_stat(sc, CTR_STAT_RECORDS);
  *evaluated = ctr_scanner_stat(sc, CTR_STAT_EVALUATED);
  ctr_scanner_free(sc);
  free(batch);
  return rc == CTR_OK ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Runs a case `repeats` times in a child process. */
static result run(case_fn fn, const input *in, const void *arg, int repeats)
{
  int fds[2];
  result r = {0};
  if (pipe(fds) != 0)
    die("pipe");
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    close(fds[0]);
    double t[16];
    result cr = {0};
    /* One untimed run first, for every case alike: what is measured is the
     * steady state of a long-running scanner (warm heap, caches and branch
     * predictors), not the first pass of a fresh process. */
    {
      uint64_t count = 0, alerts = 0, evaluated = 0;
      if (fn(in, arg, &count, &alerts, &evaluated) != 0)
        cr.failed = 1;
    }
    for (int i = 0; i < repeats && i < 16; i++) {
      uint64_t count = 0, alerts = 0, evaluated = 0;
      double t0 = now();
      if (fn(in, arg, &count, &alerts, &evaluated) != 0)
        cr.failed = 1;
      t[i] = now() - t0;
      cr.count = count;
      cr.alerts = alerts;
      cr.evaluated = evaluated;
    }
    qsort(t, (size_t)repeats, sizeof *t, cmp_double);
    cr.seconds = t[0];
    if (write(fds[1], &cr, sizeof cr) != (ssize_t)sizeof cr)
      _exit(2);
    _exit(0);
  }
  close(fds[1]);
  if (read(fds[0], &r, sizeof r) != (ssize_t)sizeof r)
    r.failed = 1;
  close(fds[0]);
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    r.failed = 1;
  r.peak_rss_kb = ru.ru_maxrss;
  return r;
}

/* ------------------------------------------------------------ rules */

static ctr_ruleset *compile(int with20, size_t generated)
{
  ctr_compiler *c;
  ctr_ruleset *rs = NULL;
  if (ctr_compiler_new(&c) != CTR_OK || ctr_compiler_add_builtin(c, "rds") != CTR_OK)
    die("cannot load the built-in rules");
  if (with20 && ctr_compiler_add_file(c, CTR_BENCH_RULES) != CTR_OK)
    die("cannot load " CTR_BENCH_RULES);
  if (generated) {
    size_t len;
    char *yaml = ctb_generated_rules(generated, &len);
    if (!yaml || ctr_compiler_add_string(c, yaml, len, "generated.yaml") != CTR_OK)
      die("cannot load the generated rules");
    free(yaml);
  }
  if (ctr_compiler_compile(c, &rs) != CTR_OK)
    die("rules do not compile");
  ctr_compiler_free(c);
  return rs;
}

static char *gzip_buffer(const char *data, size_t len, size_t *out_len)
{
  z_stream z = {0};
  if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return NULL;
  size_t cap = deflateBound(&z, (uLong)len);
  char *out = malloc(cap);
  if (!out)
    return NULL;
  z.next_in = (unsigned char *)data;
  z.avail_in = (uInt)len;
  z.next_out = (unsigned char *)out;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  *out_len = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 1 << 20, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap)
      buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  *len = n;
  return buf;
}

/* ------------------------------------------------------------ report */

static double g_base_rate; /* jansson parse-only records/s */

static void report(const char *name, const result *r, size_t bytes, uint64_t records)
{
  if (r->failed) {
    printf("%-44s FAILED\n", name);
    return;
  }
  double rate = (double)records / r->seconds, mbs = (double)bytes / r->seconds / 1e6;
  printf("%-44s %12.0f %10.1f %9.2fx %9llu %9llu %8.1f\n", name, rate, mbs, g_base_rate ? rate / g_base_rate : 1.0,
         (unsigned long long)r->alerts, (unsigned long long)r->evaluated, (double)r->peak_rss_kb / 1024.0);
  fflush(stdout);
}

static double rate_of(const result *r, uint64_t records) { return r->failed ? 0 : (double)records / r->seconds; }

int main(int argc, char **argv)
{
  size_t nrecords = 100000;
  int repeats = 3;
  const char *file = NULL, *corpus_out = NULL;
  double stream_gb = 1.0;
  int opt, only_20 = 0;
  while ((opt = getopt(argc, argv, "n:r:f:s:o:1")) != -1) {
    switch (opt) {
    case 'n': nrecords = strtoul(optarg, NULL, 10); break;
    case 'r': repeats = atoi(optarg); break;
    case 'f': file = optarg; break;
    case 's': stream_gb = atof(optarg); break;
    case 'o': corpus_out = optarg; break;
    case '1': only_20 = 1; break;
    default:
      fprintf(stderr, "usage: %s [-n RECORDS] [-r REPEATS] [-f FILE.ndjson] [-s STREAM_GB] [-o CORPUS_OUT] [-1]\n",
              argv[0]);
      return 2;
    }
  }
  if (repeats < 1 || repeats > 15 || nrecords == 0)
    die("-r must be 1..15 and -n positive");

  ctr_ruleset *rds = compile(0, 0), *rds20 = compile(1, 0), *rds1k = compile(1, 1000);
  if (only_20)
    stream_gb = 0;

  /* The streaming case first, while this process is small: its peak RSS is
   * then the scanner's alone. */
  stream_arg sarg = {rds20, stream_gb};
  result stream = stream_gb > 0 ? run(case_stream, NULL, &sarg, 1) : (result){.failed = 1};

  size_t len;
  char *data = file ? read_file(file, &len) : ctb_corpus_ndjson(nrecords, 42, &len);
  if (!data)
    die(file ? "cannot read the input file" : "out of memory");
  if (corpus_out) {
    FILE *f = fopen(corpus_out, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
      die("cannot write the corpus");
  }
  input in = {data, len, 0};
  for (const char *p = data; (p = memchr(p, '\n', len - (size_t)(p - data))); p++)
    in.records++;
  size_t loglen = 0, gzlen = 0;
  char *logfile = file || only_20 ? NULL : ctb_corpus_logfile(nrecords, 42, &loglen);
  char *gz = logfile ? gzip_buffer(logfile, loglen, &gzlen) : NULL;
  free(logfile);
  input gzin = {gz, gz ? gzlen : 0, in.records};

  if (only_20) {
    scan_arg a = {rds20, 0, 1u << 20};
    result r = run(case_scan, &in, &a, repeats);
    printf("c-rate rds+20 %.0f\n", rate_of(&r, in.records));
    free(data);
    ctr_ruleset_unref(rds);
    ctr_ruleset_unref(rds20);
    ctr_ruleset_unref(rds1k);
    return r.failed;
  }
  printf("input: %s, %zu records, %.1f MB, %.0f B/record; best of %d round(s)\n",
         file ? file : "generated corpus (seed 42)", in.records, (double)len / 1e6,
         in.records ? (double)len / (double)in.records : 0.0, repeats);
  printf("rules: rds %zu, rds+20 %zu, rds+20+1000 %zu enabled\n", ctr_ruleset_enabled_count(rds),
         ctr_ruleset_enabled_count(rds20), ctr_ruleset_enabled_count(rds1k));
  printf("%-44s %12s %10s %10s %9s %9s %8s\n", "case (single core)", "records/s", "MB/s", "x jansson", "alerts",
         "parsed", "RSS MB");

  /* Round robin: every round runs each case once, so a burst of other
   * work on the machine slows one round of every case, not one case. */
  scan_arg a_rds = {rds, 0, 1u << 20}, a_20 = {rds20, 0, 1u << 20}, a_1k = {rds1k, 0, 1u << 20};
  scan_arg n_20 = {rds20, CTR_SCAN_NO_INDEX, 1u << 20}, g_rds = {rds, 0, 64u * 1024u}, g_20 = {rds20, 0, 64u * 1024u};
  enum { C_MEMCHR, C_JANSSON, C_RDS, C_20, C_1K, C_NO_INDEX, C_INFLATE, C_INFLATE_NO_CHECK, C_GZ, C_GZ_20, C__COUNT };
  struct {
    const char *name;
    case_fn fn;
    const input *in;
    const void *arg;
    result best;
  } cases[C__COUNT] = {
    {"memchr over the bytes (ceiling)", case_memchr, &in, NULL, {.failed = 0}},
    {"jansson parse-only (baseline)", case_jansson, &in, NULL, {.failed = 0}},
    {"ctrule, built-in RDS rules", case_scan, &in, &a_rds, {.failed = 0}},
    {"ctrule, RDS + 20 CloudTrail rules", case_scan, &in, &a_20, {.failed = 0}},
    {"ctrule, RDS + 20 + 1,000 generated rules", case_scan, &in, &a_1k, {.failed = 0}},
    {"ctrule, RDS + 20, CTR_SCAN_NO_INDEX", case_scan, &in, &n_20, {.failed = 0}},
    {"zlib inflate-only, gzipped log file", case_inflate, &gzin, &k_zlib_check, {.failed = 0}},
    {"zlib inflate-only, no CRC check", case_inflate, &gzin, &k_zlib_no_check, {.failed = 0}},
    {"ctrule, gzipped log file, built-in RDS rules", case_scan, &gzin, &g_rds, {.failed = 0}},
    {"ctrule, gzipped log file, RDS + 20", case_scan, &gzin, &g_20, {.failed = 0}},
  };
  size_t ncases = gz ? C__COUNT : C_INFLATE;
  for (int round = 0; round < repeats; round++) {
    for (size_t c = 0; c < ncases; c++) {
      result r = run(cases[c].fn, cases[c].in, cases[c].arg, 1);
      result *b = &cases[c].best;
      long rss = b->peak_rss_kb > r.peak_rss_kb ? b->peak_rss_kb : r.peak_rss_kb;
      if (round == 0 || r.failed || (!b->failed && r.seconds < b->seconds)) {
        int failed = b->failed || r.failed;
        *b = r;
        b->failed = failed;
      }
      b->peak_rss_kb = rss;
    }
  }
  g_base_rate = rate_of(&cases[C_JANSSON].best, in.records);
  for (size_t c = 0; c < ncases; c++)
    report(cases[c].name, &cases[c].best, cases[c].in == &gzin ? gzlen : len, in.records);
  const result *base = &cases[C_JANSSON].best, *mc = &cases[C_MEMCHR].best, *r_rds = &cases[C_RDS].best;
  const result *r_20 = &cases[C_20].best, *r_1k = &cases[C_1K].best, *r_n20 = &cases[C_NO_INDEX].best;
  const result *r_inf = &cases[C_INFLATE].best, *r_inf_nc = &cases[C_INFLATE_NO_CHECK].best;
  const result *r_gz = &cases[C_GZ].best, *r_gz20 = &cases[C_GZ_20].best;
  if (stream_gb > 0) {
    printf("%-44s %s\n", "", "(MB/s below: uncompressed log file bytes)");
    report("ctrule, log file streamed, RDS + 20", &stream, (size_t)(stream_gb * 1e9),
           stream.failed ? 0 : stream.count);
  }

  double x_rds = rate_of(r_rds, in.records) / g_base_rate, x_20 = rate_of(r_20, in.records) / g_base_rate;
  double k_ratio = rate_of(r_1k, in.records) / rate_of(r_20, in.records);
  printf("\ntargets (this run):\n");
  printf("  built-in RDS rules >= 10x jansson:         %6.2fx  %s\n", x_rds, x_rds >= 10 ? "met" : "NOT met");
  printf("  RDS + 20 rules >= 6x jansson:              %6.2fx  %s\n", x_20, x_20 >= 6 ? "met" : "NOT met");
  printf("  1,000 rules >= 0.8x the 20-rule rate:      %6.2fx  %s\n", k_ratio, k_ratio >= 0.8 ? "met" : "NOT met");
  if (gz) {
    /* The product's default (the CLI with no rules file) end to end; the
     * same with RDS + 20 is shown for comparison. */
    double g = rate_of(r_gz, in.records) / rate_of(r_inf, in.records);
    double g20 = rate_of(r_gz20, in.records) / rate_of(r_inf, in.records);
    printf("  gzipped log file >= 0.8x inflate-only:     %6.2fx  %s (built-in RDS rules; RDS + 20: %.2fx)\n", g,
           g >= 0.8 ? "met" : "NOT met", g20);
  }
  if (stream_gb > 0)
    printf("  %.2f GB streamed, peak RSS < 64 MB:        %6.1f MB %s\n", stream_gb,
           (double)stream.peak_rss_kb / 1024.0, !stream.failed && stream.peak_rss_kb < 64 * 1024 ? "met" : "NOT met");
  /* For the binding drivers (tests/bench/run.sh): the C figure to compare with. */
  printf("c-rate rds+20 %.0f\n", rate_of(r_20, in.records));

  int failed = base->failed || mc->failed || r_rds->failed || r_20->failed || r_1k->failed || r_n20->failed ||
               (gz && (r_inf->failed || r_inf_nc->failed || r_gz->failed || r_gz20->failed)) || (stream_gb > 0 && stream.failed);
  /* The index and prefilter must not change what is found. */
  if (!r_20->failed && !r_n20->failed && r_20->alerts != r_n20->alerts) {
    fprintf(stderr, "ctrule-bench: %llu alerts with the prefilter, %llu without\n", (unsigned long long)r_20->alerts,
            (unsigned long long)r_n20->alerts);
    failed = 1;
  }
  free(gz);
  free(data);
  ctr_ruleset_unref(rds);
  ctr_ruleset_unref(rds20);
  ctr_ruleset_unref(rds1k);
  return failed;
}
