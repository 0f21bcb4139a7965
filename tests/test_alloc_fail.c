/* test_alloc_fail.c - every allocation the library makes, made to fail one at
 * a time. The program is linked with -Wl,--wrap=malloc,calloc,realloc (see
 * tests/meson.build), so every call from the library's own objects (linked
 * statically here) goes through __wrap_*() below. jansson's own allocations
 * are left alone here: its lexer ignores a failed growth of its token buffer
 * (lex_save) and returns a string with bytes missing, which no caller can
 * detect; tests/test_scan.c covers jansson failing where it does report it.
 *
 * For each k, the k-th allocation fails and the test checks the outcome
 * against a run where nothing failed:
 *
 *   - compiling: CTR_OK only if nothing failed (failure is sticky: a compiler
 *     that lost part of a file must not produce a ruleset); otherwise
 *     CTR_ENOMEM somewhere, and no ruleset handed out;
 *   - scanning: CTR_OK with exactly the reference alerts, or CTR_ENOMEM after
 *     a prefix of them; never a false alert, never a valid record reported
 *     as bad, never "fine" with an alert missing.
 *
 * The sanitizer build adds "no leak, no crash" on every path. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <execinfo.h>
#include <stdlib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

/* Armed only around library calls, so the test's own bookkeeping (and
 * Criterion's) never fails. */
static bool g_armed;
static long g_count;   /* allocations seen while armed */
static long g_fail_at; /* 1-based allocation to fail; 0: none */
static bool g_failed;  /* the injected failure happened */
static void *g_trace[32];

static bool inject(void)
{
  if (!g_armed)
    return false;
  if (++g_count == g_fail_at) {
    g_failed = true;
    if (getenv("CTR_ALLOC_FAIL_TRACE") && fprintf(stderr, "== allocation %ld fails here:\n", g_count)) /* to debug a finding */
      backtrace_symbols_fd(g_trace, backtrace(g_trace, 32), 2);
    return true;
  }
  return false;
}

void *__wrap_malloc(size_t n) { return inject() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return inject() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return inject() ? NULL : __real_realloc(p, n); }

static void arm(long fail_at)
{
  g_count = 0;
  g_fail_at = fail_at;
  g_failed = false;
  g_armed = true;
}

static void disarm(void) { g_armed = false; }

/* A tuning file that exercises every part of the rules side: lists (nested,
 * appended), macros, exceptions of both forms, regex, transformers, output
 * fields, an override of a built-in rule, a warning. */
static const char tuning[] =
  "- list: admins\n  items: [alice, bob]\n"
  "- list: all_admins\n  items: [admins, carol]\n"
  "- macro: rds_call\n  condition: ct.src = rds.amazonaws.com\n"
  "- macro: unused_macro\n  condition: ct.region = x\n"
  "- rule: Admin RDS Change\n  desc: d\n"
  "  condition: rds_call and ct.user in (all_admins) and ct.name regex \"(Delete|Stop).*\" and "
  "tolower(ct.region) startswith eu\n"
  "  output: \"%ct.name of %rds.resource by %ct.user in %ct.region (%json.value[/userIdentity/type])\"\n"
  "  priority: WARNING\n  tags: [rds]\n"
  "  exceptions:\n"
  "    - name: scheduler\n      fields: [ct.user, rds.instance]\n      comps: [=, startswith]\n"
  "      values:\n        - [bob, test-]\n"
  "    - name: regions\n      fields: ct.region\n      values: [eu-north-1]\n"
  "- rule: RDS Instance Stopped\n  condition: and ct.user != nobody\n  override:\n    condition: append\n";

/* A Sigma correlation over two rules of the tuning file, so that compiling
 * a correlation and holding and firing its state (correlate.c) meet every
 * failure too: alice's delete and bob's stop in eu-west-1 complete it. */
static const char correlation[] =
  "title: Two RDS Changes In A Region\n"
  "correlation:\n"
  "  type: event_count\n"
  "  rules: [Admin RDS Change, RDS Instance Stopped]\n"
  "  group-by: [awsRegion]\n"
  "  timespan: 1h\n"
  "  condition: {gte: 2}\n"
  "  generate: true\n"
  "level: high\n"
  /* an upper bound, decided when its windows close (here at finish) */
  "---\ntitle: Few RDS Changes\ncorrelation:\n  type: value_count\n  rules: [Admin RDS Change, RDS Instance Stopped]\n"
  "  group-by: [awsRegion]\n  timespan: 1h\n  condition: {field: userIdentity.userName, lt: 5}\nlevel: high\n"
  /* no upper bound, fed a value seen again out of order: a value's earlier
   * matches are held beside its latest (correlate.c) */
  "---\ntitle: Users Seen Again\ncorrelation:\n  type: value_count\n  rules: [RDS Instance Stopped]\n"
  "  group-by: [awsRegion]\n  timespan: 2m\n  condition: {field: userIdentity.userName, gte: 2}\nlevel: high\n";

#define REC_AT(user, name, region, inst, hms)                                                              \
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"" user "\"},"         \
  "\"eventTime\":\"2025-03-01T" hms "Z\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"" name "\","   \
  "\"awsRegion\":\"" region "\",\"requestParameters\":{\"dBInstanceIdentifier\":\"" inst "\"}}"
#define REC(user, name, region, inst) REC_AT(user, name, region, inst, "10:02:11")

/* NDJSON, a log file, an EventBridge envelope and a bad record between them. */
static const char input[] =
  REC("alice", "DeleteDBInstance", "eu-west-1", "prod-1") "\n"
  REC("bob", "StopDBInstance", "eu-west-1", "test-2") "\n"
  "{\"Records\":[" REC("carol", "StopDBInstance", "EU-west-3", "prod-3") ","
  REC("mallory", "DeleteDBInstance", "eu-west-1", "prod-4") "]}\n"
  "{\"not json\n"
  "{\"version\":\"0\",\"id\":\"x\",\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.rds\","
  "\"account\":\"1\",\"time\":\"2025-03-01T10:02:11Z\",\"region\":\"eu-west-1\",\"resources\":[],\"detail\":"
  REC("alice", "StopDBInstance", "eu-north-1", "prod-5") "}\n"
  /* dave at 10:00 and 10:05, then erin at 10:01, 4 minutes late: only dave's
   * earlier match, held beside his latest, completes Users Seen Again */
  REC_AT("dave", "StopDBInstance", "ap-south-1", "prod-6", "10:00:00") "\n"
  REC_AT("dave", "StopDBInstance", "ap-south-1", "prod-7", "10:05:00") "\n"
  REC_AT("erin", "StopDBInstance", "ap-south-1", "prod-8", "10:01:00") "\n";

typedef struct alerts {
  char text[8192]; /* fixed: the callback must not allocate */
  size_t len;
  bool unrendered; /* a match whose output memory ran out rendering */
} alerts;

static int on_match(const ctr_match *m, void *ud)
{
  alerts *a = ud;
  const char *output = ctr_match_output(m);
  if (!output) {
    /* Rendered on this first read, and memory ran out: every accessor of
     * the output says so, and the scan returns CTR_ENOMEM (checked by
     * scan_every_failure). */
    const char *v = "unset";
    char *line = NULL;
    size_t len;
    cr_assert(ctr_match_field_count(m) == 0 || ctr_match_field_value(m, 0) == NULL);
    cr_assert(ctr_match_field_count(m) == 0 || ctr_match_field(m, ctr_match_field_name(m, 0), &v) == CTR_ENOMEM);
    cr_assert_eq(ctr_match_json(m, 0, &line, &len), CTR_ENOMEM);
    cr_assert_null(line);
    cr_assert_eq(ctr_match_json_to(m, 0, NULL, 0, &len), CTR_ENOMEM);
    a->unrendered = true;
    return 0;
  }
  int n = snprintf(a->text + a->len, sizeof a->text - a->len, "%llu %s: %s\n",
                   (unsigned long long)ctr_match_record_index(m), ctr_match_rule(m), output);
  cr_assert(n > 0 && (size_t)n < sizeof a->text - a->len, "alert text overflow");
  a->len += (size_t)n;
  return 0;
}

static void on_record_error(const ctr_record_error *e, void *ud)
{
  (*(int *)ud)++;
  (void)e;
}

/* Compiles the built-in rules plus the tuning file with the fail_at-th
 * allocation failing. Returns the status of the first step that failed. */
static int compile_with(long fail_at, ctr_ruleset **out)
{
  ctr_compiler *c = NULL;
  *out = NULL;
  arm(fail_at);
  int rc = ctr_compiler_new(&c);
  if (rc != CTR_OK) {
    disarm();
    cr_assert_null(c, "k %ld: a failed ctr_compiler_new wrote its output", fail_at);
    return rc;
  }
  int first = ctr_compiler_add_builtin(c, "rds");
  int rc2 = ctr_compiler_add_string(c, tuning, sizeof tuning - 1, "tuning.yaml");
  if (first == CTR_OK)
    first = rc2;
  int rc2c = ctr_compiler_add_string(c, correlation, sizeof correlation - 1, "correlation.yml");
  if (first == CTR_OK)
    first = rc2c;
  ctr_ruleset *rs = NULL;
  int rc3 = ctr_compiler_compile(c, &rs);
  if (first == CTR_OK)
    first = rc3;
  ctr_compiler_free(c);
  disarm();
  cr_assert((rc3 == CTR_OK) == (rs != NULL), "k %ld: compile returned %s with ruleset %p", fail_at,
            ctr_status_name(rc3), (void *)rs);
  if (rs && first != CTR_OK) {
    ctr_ruleset_unref(rs);
    cr_assert_fail("k %ld: a step failed (%s) yet compile produced a ruleset", fail_at, ctr_status_name(first));
  }
  *out = rs;
  return first;
}

Test(alloc_fail, compile_refuses_after_any_failed_allocation)
{
  ctr_ruleset *ref;
  cr_assert_eq(compile_with(0, &ref), CTR_OK);
  long total = g_count;
  cr_assert_gt(total, 100, "only %ld allocations counted: the wrapping does not work", total);
  alerts want = {0};
  int rc = ctr_scan_buffer(ref, input, sizeof input - 1, 0, on_match, &want);
  cr_assert(rc == CTR_OK || rc == CTR_EDATA, "%s", ctr_status_name(rc)); /* EDATA: the bad record */
  cr_assert(strstr(want.text, "Admin RDS Change") && strstr(want.text, "Few RDS Changes") &&
                strstr(want.text, "Users Seen Again"),
            "%s", want.text);

  /* Every allocation of a compile fails once: built-in rules and tuning
   * file alike. */
  long failed = 0;
  for (long k = 1; k <= total; k++) {
    ctr_ruleset *rs;
    int status = compile_with(k, &rs);
    cr_assert(g_failed, "k %ld of %ld: allocation never reached (runs differ)", k, total);
    cr_assert_neq(status, CTR_OK, "k %ld: allocation failed but every step returned CTR_OK", k);
    cr_assert_eq(status, CTR_ENOMEM, "k %ld: the first step to fail returned %s", k, ctr_status_name(status));
    failed++;
  }
  cr_assert_eq(failed, total);
  ctr_ruleset_unref(ref);
}

/* The rule collector (merge.c) on every path: each append, override and
 * redefinition form of lists, macros and rules, rules of another source,
 * required versions, a file read from disk; then files that each stop at a
 * different load or merge error. Every allocation fails in turn: compile
 * then fails with CTR_ENOMEM (failure is sticky), and the sanitizer build
 * checks that nothing leaks on any of these paths. */
static const char merge_paths[] =
  "- required_engine_version: 0.26.0\n"
  "- required_plugin_versions:\n  - name: cloudtrail\n    version: 0.1.0\n"
  "    alternatives:\n      - name: json\n        version: 0.1.0\n"
  "- list: admins\n  items: [alice, bob]\n"
  "- list: admins\n  items: [carol]\n  append: true\n"
  "- list: admins\n  items: [dave]\n  override:\n    items: append\n"
  "- list: others\n  items: [x]\n"
  "- list: others\n  items: [y, z]\n"
  "- list: newlist\n  items: [q]\n  override:\n    items: replace\n"
  "- macro: m1\n  condition: ct.src = rds.amazonaws.com\n"
  "- macro: m1\n  condition: or ct.src = x\n  append: true\n"
  "- macro: m1\n  condition: or ct.src = y\n  override:\n    condition: append\n"
  "- macro: m2\n  condition: ct.region = a\n"
  "- macro: m2\n  condition: ct.region = b\n"
  "- macro: m3\n  condition: ct.region = c\n  override:\n    condition: replace\n"
  "- rule: R1\n  desc: d\n  condition: m1 and ct.user in (admins, others) and not m2 and not m3\n"
  "  output: \"%ct.name by %ct.user\"\n  priority: WARNING\n  tags: [a, b]\n"
  "  exceptions:\n    - name: e1\n      fields: [ct.user, ct.region]\n      comps: [=, in]\n"
  "      values:\n        - [bob, [eu-west-1, eu-west-2]]\n"
  "    - name: e2\n      fields: ct.region\n      comps: in\n      values: [x, y]\n"
  "    - name: e3\n      fields: [ct.user]\n"
  "- rule: R1\n  condition: and ct.name != x\n  output: \" more\"\n  desc: \" more\"\n  tags: [b, c]\n"
  "  exceptions:\n    - name: e1\n      values:\n        - [carol, [us-east-1]]\n"
  "    - name: e4\n      fields: [ct.name]\n      values:\n        - [StopDBInstance]\n"
  "  override:\n    condition: append\n    output: append\n    desc: append\n    tags: append\n"
  "    exceptions: append\n"
  "- rule: R1\n  priority: ERROR\n  enabled: false\n  override:\n    priority: replace\n    enabled: replace\n"
  "- rule: R1\n  enabled: true\n"
  "- rule: R2\n  desc: d\n  condition: ct.name = a\n  output: o\n  priority: INFO\n"
  "- rule: R2\n  desc: d2\n  condition: ct.name = b\n  output: o2\n  priority: NOTICE\n  tags: [t]\n"
  "  exceptions:\n    - name: x\n      fields: ct.user\n      values: [a]\n"
  "- rule: R3\n  condition: ct.name = c\n  desc: d\n  output: o\n  priority: INFO\n"
  "- rule: R3\n  condition: ct.name = d\n  exceptions:\n    - name: y\n      fields: ct.user\n      values: [b]\n"
  "  override:\n    condition: replace\n    exceptions: replace\n"
  "- rule: K1\n  desc: d\n  condition: ka.verb = get\n  output: o\n  priority: INFO\n  source: k8s_audit\n"
  "- rule: K2\n  desc: d\n  condition: ka.verb = get\n  output: o\n  priority: INFO\n  source: k8s_audit\n"
  "- rule: K1\n  condition: and ka.user = x\n  append: true\n"
  "- rule: K1\n  enabled: false\n"
  "- something_else: 1\n"
  "- rule: R4\n  desc: d\n  condition: ct.name = a\n  output: o\n  priority: INFO\n  unknown_key: 1\n"
  "  warn_evttypes: false\n  skip-if-unknown-filter: true\n"
  "- rule: RDS Instance Stopped\n  tags: [extra]\n  override:\n    tags: append\n";

/* Each stops at its own error (Falco stops a file at its first). */
static const char *const bad_files[] = {
  "- list: l\n  items: [a, [b]]\n",
  "- list: l\n  items: x\n",
  "- list: nope\n  items: [a]\n  append: true\n",
  "- macro: nope\n  condition: x\n  append: true\n",
  "- macro: m\n  condition: [x]\n",
  "- rule: r\n  desc: d\n  condition: ct.name = a\n  output: o\n  priority: HUGE\n",
  "- rule: r\n  desc: d\n  condition: ct.name = a\n  output: o\n  priority: INFO\n  exceptions:\n"
  "    - name: e\n      fields: [ct.user, nope.field]\n      values:\n        - [a, b]\n",
  "- rule: r\n  desc: d\n  condition: ct.name = a\n  output: o\n  priority: INFO\n  exceptions:\n"
  "    - name: e\n      fields: [ct.user, ct.name]\n      values:\n        - [a]\n",
  "- rule: r\n  desc: d\n  condition: ct.name = a\n  output: o\n  priority: INFO\n  tags: [a, [b]]\n",
  "- rule: r\n  condition: and x\n  append: true\n",
  "- rule: r2\n  desc: d\n  condition: ct.name = a and (\n  output: o\n  priority: INFO\n",
  "- rule: r3\n  desc: d\n  condition: ct.nope = a\n  output: \"%ct.nope %\"\n  priority: INFO\n",
  "- required_engine_version: 999.0.0\n",
  "- required_engine_version: [1]\n",
  "- required_plugin_versions: 3\n",
  "- rule: r4\n  desc: d\n  condition: ct.name = a\n  output: o\n  priority: INFO\n  override:\n"
  "    condition: sideways\n",
  "- rule: r5\n  desc: d\n  condition: ct.name = a\n  output: o\n  priority: INFO\n  enabled: maybe\n",
  "x: [unclosed\n",
  "- &a [*a]\n",
  "- rule: r6\n  desc: d\n  condition: ct.name = a\n  output: o\n  priority: INFO\n- rule: r6\n"
  "  exceptions:\n    - name: n\n      values: [[a]]\n  override:\n    exceptions: append\n",
  "- macro: m9\n  condition: ct.name = a\n- macro: m9\n  condition: and\n  override:\n"
  "    condition: append\n- rule: r9\n  desc: d\n  condition: m9\n  output: o\n  priority: INFO\n",
  "- list: l9\n  items: [a]\n- list: l9\n  items: [b]\n  override:\n    items: append\n    nope: replace\n",
  "title: t\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n"
  "    eventName: X\n  condition: sel\nlevel: high\n",
};

static int compile_merge_paths(long fail_at, const char *path, size_t *ndiags)
{
  ctr_compiler *c = NULL;
  arm(fail_at);
  int rc = ctr_compiler_new(&c);
  if (rc != CTR_OK) {
    disarm();
    return rc;
  }
  ctr_compiler_add_builtin(c, "rds");
  ctr_compiler_add_file(c, path);
  ctr_compiler_select_name(c, "R*", 0);
  ctr_compiler_select_tag(c, "rds", 1);
  ctr_compiler_set_min_priority(c, CTR_PRIORITY_NOTICE);
  for (size_t i = 0; i < sizeof bad_files / sizeof *bad_files; i++) {
    char name[32];
    snprintf(name, sizeof name, "bad%zu.yaml", i);
    ctr_compiler_add_string(c, bad_files[i], strlen(bad_files[i]), name);
  }
  ctr_ruleset *rs = NULL;
  rc = ctr_compiler_compile(c, &rs);
  *ndiags = ctr_compiler_diag_count(c);
  for (size_t i = 0; i < *ndiags; i++)
    cr_assert_not_null(ctr_diag_text(ctr_compiler_diag(c, i)));
  ctr_compiler_free(c);
  disarm();
  cr_assert_null(rs, "k %ld: a ruleset from files with errors", fail_at);
  return rc;
}

Test(alloc_fail, rule_collector_paths_and_errors)
{
  char path[] = "/tmp/ctr_alloc_fail_XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "wb");
  cr_assert(f && fwrite(merge_paths, 1, sizeof merge_paths - 1, f) == sizeof merge_paths - 1 && fclose(f) == 0);
  size_t nd;
  cr_assert_eq(compile_merge_paths(0, path, &nd), CTR_ESYNTAX);
  long total = g_count;
  /* One error per bad file; warnings from the tuning file. */
  cr_assert_gt(nd, sizeof bad_files / sizeof *bad_files, "%zu diagnostics", nd);
  for (long k = 1; k <= total; k++) {
    int status = compile_merge_paths(k, path, &nd);
    cr_assert(g_failed, "k %ld of %ld: allocation never reached (runs differ)", k, total);
    cr_assert_eq(status, CTR_ENOMEM, "k %ld: compile returned %s", k, ctr_status_name(status));
  }
  unlink(path);
}

/* Scans `buf` in chunks of `chunk` bytes with the fail_at-th allocation
 * failing; the allocation count covers the scanner's creation too. */
static int scan_with(ctr_ruleset *rs, const void *buf, size_t len, size_t chunk, long fail_at, alerts *got,
                     int *bad)
{
  ctr_scanner *sc = NULL;
  arm(fail_at);
  int rc = ctr_scanner_new(rs, on_match, got, &sc);
  if (rc != CTR_OK) {
    disarm();
    cr_assert_null(sc, "k %ld: a failed ctr_scanner_new wrote its output", fail_at);
    return rc;
  }
  ctr_scanner_set_error_callback(sc, on_record_error, bad);
  for (size_t at = 0; rc == CTR_OK && at < len; at += chunk)
    rc = ctr_scanner_feed(sc, (const char *)buf + at, len - at < chunk ? len - at : chunk);
  if (rc == CTR_OK)
    rc = ctr_scanner_finish(sc);
  ctr_scanner_free(sc);
  disarm();
  return rc;
}

static void scan_every_failure(const void *buf, size_t len, size_t chunk)
{
  ctr_ruleset *rs;
  cr_assert_eq(compile_with(0, &rs), CTR_OK);
  alerts want = {0};
  int want_bad = 0;
  cr_assert_eq(scan_with(rs, buf, len, chunk, 0, &want, &want_bad), CTR_OK);
  long total = g_count;
  cr_assert_eq(want_bad, 1, "the reference scan reports the one bad record");
  cr_assert(strstr(want.text, "Admin RDS Change") && strstr(want.text, "RDS Instance Stopped") &&
              strstr(want.text, "Two RDS Changes In A Region") && strstr(want.text, "Few RDS Changes") &&
                  strstr(want.text, "Users Seen Again"),
            "%s", want.text);
  cr_assert_gt(total, 5, "only %ld allocations in a scan: the wrapping does not work", total);
  long stopped = 0, unrendered = 0;
  for (long k = 1; k <= total; k++) {
    alerts got = {0};
    int bad = 0;
    int rc = scan_with(rs, buf, len, chunk, k, &got, &bad);
    cr_assert(rc == CTR_OK || rc == CTR_ENOMEM, "chunk %zu, k %ld: %s", chunk, k, ctr_status_name(rc));
    cr_assert(!got.unrendered || rc == CTR_ENOMEM, "chunk %zu, k %ld: an output not rendered, yet %s", chunk, k,
              ctr_status_name(rc));
    unrendered += got.unrendered;
    cr_assert_leq(bad, want_bad, "chunk %zu, k %ld: a valid record was reported as bad", chunk, k);
    if (rc == CTR_OK) {
      cr_assert_str_eq(got.text, want.text, "chunk %zu, k %ld: CTR_OK but the alerts differ:\n%s---\n%s", chunk,
                       k, got.text, want.text);
      cr_assert_eq(bad, want_bad, "chunk %zu, k %ld", chunk, k);
    } else {
      cr_assert(strncmp(want.text, got.text, got.len) == 0, "chunk %zu, k %ld: not a prefix:\n%s", chunk, k,
                got.text);
      stopped++;
    }
  }
  cr_assert_gt(stopped, 0, "no allocation failure stopped a scan: the test tests nothing");
  cr_assert_gt(unrendered, 0, "no allocation failure hit an output's rendering: the test tests nothing there");
  ctr_ruleset_unref(rs);
}

Test(alloc_fail, scan_never_invents_or_silently_loses_an_alert)
{
  scan_every_failure(input, sizeof input - 1, sizeof input - 1);
}

Test(alloc_fail, scan_in_small_chunks)
{
  scan_every_failure(input, sizeof input - 1, 13);
}

Test(alloc_fail, scan_of_gzip)
{
  size_t len;
  unsigned char *gz = tu_gzip(input, sizeof input - 1, &len);
  scan_every_failure(gz, len, 64);
  free(gz);
}
