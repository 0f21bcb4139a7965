/* correlate_cliffs.c - ctrule-cliffs: the correlation workloads that once
 * cost more per match the more matches the state held (issue 18, "no
 * cliffs"), each timed at n and 10 n matches; the ratio of the two CPU times
 * is printed against the target of no cliff (at most 25 times for ten times
 * the matches; linear is 10). A benchmark, not a test: it exits non-zero
 * only when a scan fails, never on a figure (docs/performance.md).
 *
 *   ctrule-cliffs [N] [--all] [--only TEXT]   (default 4000: 4,000 and 40,000 matches)
 *
 * --only runs the workloads whose description holds TEXT (any of them, not
 * only the default ones), to profile one.
 *
 * --all adds the two sources read one after the other under value_count
 * and temporal_ordered (the same buffers as event_count's), two sources
 * alternating record by record, one far behind the other, three and five
 * sources in turn, each far behind the one before, so that every match
 * lands far from the one placed before it (a group keeps a gap for each of
 * up to five), and a known cost that is no target: eight sources in turn,
 * more than a group keeps gaps for (docs/sigma.md, "Limits and
 * lateness"). */
#include <ctrule.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RULES                                                                                                \
  "- rule: Created\n  desc: c\n  condition: ct.name = CreateDBSnapshot\n  output: created %ct.user\n"       \
  "  priority: NOTICE\n  source: aws_cloudtrail\n"                                                         \
  "---\ntitle: Deleted\nid: del-id\nlogsource: {product: aws, service: cloudtrail}\n"                      \
  "detection:\n  s: {eventName: DeleteDBSnapshot}\n  condition: s\nlevel: low\n---\n"

/* The i-th of n matches: its second after 10:00:00, principal and snapshot. */
typedef void flood_record(size_t i, size_t n, size_t *sec, char user[16], char snap[16]);

/* n principals, one match each, 45 a second */
static void many_principals(size_t i, size_t n, size_t *sec, char user[16], char snap[16])
{
  (void)n;
  *sec = i / 45;
  snprintf(user, 16, "u%u", (unsigned)i);
  snprintf(snap, 16, "s");
}

/* one principal, n/2 snapshots each deleted twice, in turn */
static void values_in_turn(size_t i, size_t n, size_t *sec, char user[16], char snap[16])
{
  *sec = i / 45;
  snprintf(user, 16, "m");
  snprintf(snap, 16, "v%u", (unsigned)(i % (n / 2)));
}

/* one principal, n matches in 15 minutes, in files of 100 read newest first */
static void files_newest_first(size_t i, size_t n, size_t *sec, char user[16], char snap[16])
{
  size_t files = n / 100, k = (files - 1 - i / 100) * 100 + i % 100;
  *sec = k * 899 / n;
  snprintf(user, 16, "m");
  snprintf(snap, 16, "v%u", (unsigned)k);
}

/* one principal, the first half's matches then the second half's, each half
 * over the same 15 minutes (two sources read one after the other) */
static void two_sources(size_t i, size_t n, size_t *sec, char user[16], char snap[16])
{
  *sec = (i % (n / 2)) * 899 / (n / 2);
  snprintf(user, 16, "m");
  snprintf(snap, 16, "v%u", (unsigned)i);
}

/* one principal, two sources alternating record by record over 15
 * minutes, the second 450 s behind the first (within the lateness): each
 * match lands half a group away from the one before */
static void two_sources_alternating(size_t i, size_t n, size_t *sec, char user[16], char snap[16])
{
  *sec = (i / 2) * 449 / (n / 2) + (i % 2 ? 0 : 450);
  snprintf(user, 16, "m");
  snprintf(snap, 16, "v%u", (unsigned)i);
}

/* one principal, k sources in turn record by record over 15 minutes, each
 * 900 / k s behind the one before */
static void sources_in_turn(size_t k, size_t i, size_t n, size_t *sec, char user[16], char snap[16])
{
  size_t lag = 900 / k;
  *sec = (i / k) * (lag - 1) / (n / k) + lag * (k - 1 - i % k);
  snprintf(user, 16, "m");
  snprintf(snap, 16, "v%u", (unsigned)i);
}

static void three_sources_in_turn(size_t i, size_t n, size_t *sec, char user[16], char snap[16])
{
  sources_in_turn(3, i, n, sec, user, snap);
}

static void five_sources_in_turn(size_t i, size_t n, size_t *sec, char user[16], char snap[16])
{
  sources_in_turn(5, i, n, sec, user, snap);
}

static void eight_sources_in_turn(size_t i, size_t n, size_t *sec, char user[16], char snap[16])
{
  sources_in_turn(8, i, n, sec, user, snap);
}

/* one principal, n/2 snapshots each deleted twice in turn, in files of 100
 * read newest first: every value is seen again out of order */
static void values_again_newest_first(size_t i, size_t n, size_t *sec, char user[16], char snap[16])
{
  size_t files = n / 100, k = (files - 1 - i / 100) * 100 + i % 100;
  *sec = k / 45;
  snprintf(user, 16, "m");
  snprintf(snap, 16, "v%u", (unsigned)(k % (n / 2)));
}

/* one principal, 10 snapshots over and over, in files of 100 read newest first */
static void few_values_newest_first(size_t i, size_t n, size_t *sec, char user[16], char snap[16])
{
  size_t files = n / 100, k = (files - 1 - i / 100) * 100 + i % 100;
  *sec = k / 45;
  snprintf(user, 16, "m");
  snprintf(snap, 16, "v%u", (unsigned)(k % 10));
}

static int count(const ctr_match *m, void *ud)
{
  (void)m;
  ++*(size_t *)ud;
  return 0;
}

/* The CPU seconds of a scan of n matches of `yaml`'s correlation, the
 * events limit at max_events (0: the default). -1 when a step fails. */
static double flood_cpu(const char *yaml, flood_record *make, size_t n, uint64_t max_events, size_t *alerts_out)
{
  size_t cap = n * 480, len = 0;
  char *data = malloc(cap);
  if (!data)
    return -1;
  for (size_t i = 0; i < n; i++) {
    size_t sec;
    char user[16], snap[16];
    make(i, n, &sec, user, snap);
    len += (size_t)snprintf(
        data + len, cap - len,
        "{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-01-01T%02zu:%02zu:%02zuZ\",\"awsRegion\":\"us-east-1\","
        "\"eventID\":\"e%zu\",\"eventType\":\"AwsApiCall\",\"eventSource\":\"rds.amazonaws.com\","
        "\"eventName\":\"DeleteDBSnapshot\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"%s\","
        "\"arn\":\"arn:aws:iam::1:user/%s\",\"accountId\":\"1\"},"
        "\"requestParameters\":{\"dBSnapshotIdentifier\":\"%s\"}}\n",
        10 + sec / 3600, sec / 60 % 60, sec % 60, i, user, user, snap);
  }
  ctr_compiler *c = NULL;
  ctr_ruleset *rs = NULL;
  ctr_scanner *sc = NULL;
  size_t alerts = 0;
  double cpu = -1;
  if (ctr_compiler_new(&c) != CTR_OK || ctr_compiler_add_string(c, yaml, strlen(yaml), "cliffs.yaml") != CTR_OK ||
      ctr_compiler_compile(c, &rs) != CTR_OK || ctr_scanner_new(rs, count, &alerts, &sc) != CTR_OK ||
      (max_events && ctr_scanner_set_limit(sc, CTR_LIMIT_CORRELATION_EVENTS, max_events) != CTR_OK))
    goto out;
  struct timespec a, z;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  int rc = ctr_scanner_feed(sc, data, len);
  if (rc == CTR_OK)
    rc = ctr_scanner_finish(sc);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &z);
  if (rc == CTR_OK)
    cpu = (double)(z.tv_sec - a.tv_sec) + (double)(z.tv_nsec - a.tv_nsec) / 1e9;
  *alerts_out = alerts;
out:
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  ctr_compiler_free(c);
  free(data);
  return cpu;
}

int main(int argc, char **argv)
{
  bool all = false, usage = false;
  const char *only = NULL;
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 4000;
  for (int a = 2; a < argc; a++) {
    if (strcmp(argv[a], "--all") == 0)
      all = true;
    else if (strcmp(argv[a], "--only") == 0 && a + 1 < argc)
      only = argv[++a];
    else
      usage = true;
  }
  if (n < 200 || n % 100 || usage) {
    fprintf(stderr, "usage: %s [N] [--all] [--only TEXT]   (N >= 200, a multiple of 100; default 4000)\n", argv[0]);
    return 2;
  }
  static const struct {
    const char *what, *correlation;
    flood_record *make;
    bool limit; /* the events limit at half the matches */
    bool extra; /* run with --all only */
  } loads[] = {
    {"the events limit reached by many groups",
     "title: C\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n  group-by: [userIdentity.userName]\n"
     "  timespan: 1d\n  condition: {gte: 2}\n",
     many_principals, true, false},
    {"values seen again (value_count)",
     "title: C\ncorrelation:\n  type: value_count\n  rules: [Deleted]\n  timespan: 1d\n"
     "  condition: {field: requestParameters.dBSnapshotIdentifier, gte: 10000000}\n",
     values_in_turn, false, false},
    {"files read newest first (event_count)",
     "title: C\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n  timespan: 1d\n  condition: {gte: 10000000}\n",
     files_newest_first, false, false},
    {"files read newest first (value_count)",
     "title: C\ncorrelation:\n  type: value_count\n  rules: [Deleted]\n  timespan: 1d\n"
     "  condition: {field: requestParameters.dBSnapshotIdentifier, gte: 10000000}\n",
     files_newest_first, false, false},
    {"files read newest first (temporal_ordered, a rule never matching)",
     "title: C\ncorrelation:\n  type: temporal_ordered\n  rules: [Deleted, Created]\n  timespan: 1d\n",
     files_newest_first, false, false},
    {"values seen again, files read newest first (value_count, fires)",
     "title: C\ncorrelation:\n  type: value_count\n  rules: [Deleted]\n  timespan: 1m\n"
     "  condition: {field: requestParameters.dBSnapshotIdentifier, gte: 3}\n",
     values_again_newest_first, false, false},
    {"10 values, files read newest first (value_count, fires)",
     "title: C\ncorrelation:\n  type: value_count\n  rules: [Deleted]\n  timespan: 1d\n"
     "  condition: {field: requestParameters.dBSnapshotIdentifier, gte: 5}\n",
     few_values_newest_first, false, false},
    {"two sources of one principal, one after the other (event_count)",
     "title: C\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n  timespan: 1d\n  condition: {gte: 10000000}\n",
     two_sources, false, false},
    {"two sources of one principal, one after the other (value_count)",
     "title: C\ncorrelation:\n  type: value_count\n  rules: [Deleted]\n  timespan: 1d\n"
     "  condition: {field: requestParameters.dBSnapshotIdentifier, gte: 10000000}\n",
     two_sources, false, true},
    {"two sources, one after the other (temporal_ordered, a rule never matching)",
     "title: C\ncorrelation:\n  type: temporal_ordered\n  rules: [Deleted, Created]\n  timespan: 1d\n",
     two_sources, false, true},
    {"two sources alternating, one 450 s behind (event_count)",
     "title: C\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n  timespan: 1d\n  condition: {gte: 10000000}\n",
     two_sources_alternating, false, true},
    {"three sources in turn, each 300 s behind the one before (event_count)",
     "title: C\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n  timespan: 1d\n  condition: {gte: 10000000}\n",
     three_sources_in_turn, false, true},
    {"five sources in turn, each 180 s behind the one before (event_count)",
     "title: C\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n  timespan: 1d\n  condition: {gte: 10000000}\n",
     five_sources_in_turn, false, true},
    {"known cost: eight sources in turn, each 112 s behind the one before",
     "title: C\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n  timespan: 1d\n  condition: {gte: 10000000}\n",
     eight_sources_in_turn, false, true},
  };
  printf("correlation workloads, CPU of one scan (best of 3) at %zu and %zu matches (alerts: at the larger); target: no "
         "cliff, at most 25x for 10x the matches (linear: 10x)\n",
         n, 10 * n);
  int failed = 0;
  for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
    if (only ? !strstr(loads[i].what, only) : loads[i].extra && !all)
      continue;
    char yaml[2048];
    snprintf(yaml, sizeof yaml, "%s%s", RULES, loads[i].correlation);
    double t[2] = {0, 0};
    size_t alerts = 0;
    for (int k = 0; k < 2; k++) {
      size_t m = k ? 10 * n : n;
      for (int round = 0; round < 3; round++) {
        double s = flood_cpu(yaml, loads[i].make, m, loads[i].limit ? m / 2 : 0, &alerts);
        if (s < 0) {
          printf("  %-74s FAILED (the scan did not complete)\n", loads[i].what);
          failed = 1;
          break;
        }
        t[k] = round == 0 || s < t[k] ? s : t[k];
      }
    }
    double ratio = t[0] > 0 ? t[1] / t[0] : 0;
    printf("  %-74s %8.4f s %8.4f s %7zu alerts  x%-6.1f %s\n", loads[i].what, t[0], t[1], alerts, ratio,
           ratio <= 25 ? "met" : "NOT met");
  }
  return failed;
}
