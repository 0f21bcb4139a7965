/* test_api.c - the public API end to end: versions, status table,
 * priorities, scanning, callbacks, stop, re-entry, stats, chunking, threads. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *RULES =
  "- list: risky_names\n"
  "  items: [StopDBInstance, DeleteDBCluster]\n"
  "- macro: ok_call\n"
  "  condition: not ct.error exists\n"
  "- rule: Risky RDS\n"
  "  desc: risky\n"
  "  condition: ct.name in (risky_names) and ok_call\n"
  "  output: risky %ct.name by %ct.user in %ct.region (%json.value[/requestParameters/dBInstanceIdentifier])\n"
  "  priority: WARNING\n"
  "  source: aws_cloudtrail\n"
  "  tags: [aws, aws_rds]\n"
  "- rule: Any Stop\n"
  "  desc: any stop\n"
  "  condition: ct.name startswith Stop\n"
  "  output: stop %ct.name\n"
  "  priority: INFO\n"
  "  source: aws_cloudtrail\n";

static const char *EVENTS =
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bob\",\"accountId\":\"111122223333\"},"
  "\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"StopDBInstance\","
  "\"awsRegion\":\"eu-west-1\",\"requestParameters\":{\"dBInstanceIdentifier\":\"orders-db\"}}\n"
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"eve\",\"accountId\":\"111122223333\"},"
  "\"eventTime\":\"2025-03-01T10:03:11Z\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"StopDBInstance\","
  "\"awsRegion\":\"eu-west-1\",\"errorCode\":\"AccessDenied\",\"requestParameters\":{\"dBInstanceIdentifier\":\"x\"}}\n"
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"amy\",\"accountId\":\"111122223333\"},"
  "\"eventTime\":\"2025-03-01T10:04:11Z\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"DescribeDBInstances\","
  "\"awsRegion\":\"eu-west-1\"}\n";

Test(api, version_agrees_with_header)
{
  cr_assert_eq(ctr_version(), CTR_VERSION_HEX);
  cr_assert_str_eq(ctr_version_string(), CTR_VERSION_STRING);
  char buf[32];
  snprintf(buf, sizeof buf, "%d.%d.%d", CTR_VERSION_MAJOR, CTR_VERSION_MINOR, CTR_VERSION_PATCH);
  cr_assert_str_eq(buf, CTR_VERSION_STRING);
}

Test(api, status_table)
{
  cr_assert_str_eq(ctr_status_name(CTR_ESYNTAX), "ESYNTAX");
  cr_assert_str_eq(ctr_strerror(CTR_OK), "success");
  cr_assert_str_eq(ctr_strerror(CTR_STOPPED), "scan stopped by the match callback");
  cr_assert_str_eq(ctr_strerror(12345), "unknown status");
  cr_assert_str_eq(ctr_status_name(-999), "UNKNOWN");
}

Test(api, priorities)
{
  cr_assert_eq(ctr_priority_parse("info"), CTR_PRIORITY_INFORMATIONAL);
  cr_assert_eq(ctr_priority_parse("CRITICAL"), CTR_PRIORITY_CRITICAL);
  cr_assert_eq(ctr_priority_parse("Emergency"), CTR_PRIORITY_EMERGENCY);
  cr_assert_eq(ctr_priority_parse("debug"), CTR_PRIORITY_DEBUG);
  cr_assert_eq(ctr_priority_parse("severe"), CTR_EINVAL);
  cr_assert_str_eq(ctr_priority_name(CTR_PRIORITY_WARNING), "Warning");
  cr_assert_null(ctr_priority_name(8));
}

Test(api, null_safe_destructors)
{
  ctr_compiler_free(NULL);
  ctr_ruleset_unref(NULL);
  ctr_scanner_free(NULL);
}

Test(api, scan_reports_matches_with_fields)
{
  ctr_ruleset *rs = tu_compile(RULES, NULL, 0);
  cr_assert_not_null(rs);
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, EVENTS, strlen(EVENTS), 0, 0, &m), CTR_OK);
  cr_assert_str_eq(m.text,
                   "0\tRisky RDS\trisky StopDBInstance by bob in eu-west-1 (orders-db)\n"
                   "0\tAny Stop\tstop StopDBInstance\n"
                   "1\tAny Stop\tstop StopDBInstance\n");
  tu_matches_free(&m);
  /* first-match mode stops at the first rule per event */
  cr_assert_eq(tu_scan(rs, EVENTS, strlen(EVENTS), 0, CTR_SCAN_FIRST_MATCH, &m), CTR_OK);
  cr_assert_eq(m.count, 2);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
}

static int check_match(const ctr_match *mt, void *ud)
{
  int *seen = ud;
  if (strcmp(ctr_match_rule(mt), "Risky RDS") != 0)
    return 0;
  (*seen)++;
  cr_assert_eq(ctr_match_priority(mt), CTR_PRIORITY_WARNING);
  cr_assert_str_eq(ctr_match_source(mt), "aws_cloudtrail");
  cr_assert_eq(ctr_match_tag_count(mt), 2);
  cr_assert_str_eq(ctr_match_tag(mt, 1), "aws_rds");
  cr_assert_eq(ctr_match_field_count(mt), 4);
  cr_assert_str_eq(ctr_match_field_name(mt, 0), "ct.name");
  cr_assert_str_eq(ctr_match_field_name(mt, 3), "json.value[/requestParameters/dBInstanceIdentifier]");
  const char *v;
  cr_assert_eq(ctr_match_field(mt, "ct.user", &v), CTR_OK);
  cr_assert_str_eq(v, "bob");
  cr_assert_eq(ctr_match_field(mt, "ct.nothere", &v), CTR_ENOENT);
  cr_assert_eq(ctr_match_time(mt), 1740823331LL * 1000000000LL);
  size_t len;
  const char *raw = ctr_match_event(mt, &len);
  cr_assert(len > 10 && raw[0] == '{' && raw[len - 1] == '}');
  cr_assert_eq(ctr_match_byte_offset(mt), 0);
  return 0;
}

Test(api, match_accessors)
{
  ctr_ruleset *rs = tu_compile(RULES, NULL, 0);
  int seen = 0;
  cr_assert_eq(ctr_scan_buffer(rs, EVENTS, strlen(EVENTS), 0, check_match, &seen), CTR_OK);
  cr_assert_eq(seen, 1);
  ctr_ruleset_unref(rs);
}

Test(api, absent_output_field_is_na)
{
  ctr_ruleset *rs = tu_compile("- rule: r\n  desc: d\n  condition: ct.name exists\n"
                               "  output: err=%ct.error src=%ct.src\n  priority: info\n", NULL, 0);
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, EVENTS, strlen(EVENTS), 0, 0, &m), CTR_OK);
  cr_assert(strstr(m.text, "0\tr\terr=<NA> src=rds.amazonaws.com\n"));
  cr_assert(strstr(m.text, "1\tr\terr=AccessDenied src=rds.amazonaws.com\n"));
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
}

Test(api, callback_stop_is_distinct_status)
{
  ctr_ruleset *rs = tu_compile(RULES, NULL, 0);
  tu_matches m = {.stop_after = 1};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, tu_collect, &m, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, EVENTS, strlen(EVENTS)), CTR_STOPPED);
  cr_assert_eq(ctr_scanner_feed(sc, EVENTS, strlen(EVENTS)), CTR_STOPPED);
  cr_assert_eq(m.count, 1);
  ctr_scanner_reset(sc);
  m.stop_after = 0;
  cr_assert_eq(ctr_scanner_feed(sc, EVENTS, strlen(EVENTS)), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_eq(m.count, 4);
  ctr_scanner_free(sc);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
}

static ctr_scanner *reentry_scanner;
static int reentry_result;

static int reenter(const ctr_match *m, void *ud)
{
  (void)m;
  (void)ud;
  reentry_result = ctr_scanner_feed(reentry_scanner, "{}", 2);
  return 0;
}

Test(api, reentry_from_callback_is_ebusy)
{
  ctr_ruleset *rs = tu_compile(RULES, NULL, 0);
  cr_assert_eq(ctr_scanner_new(rs, reenter, NULL, &reentry_scanner), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(reentry_scanner, EVENTS, strlen(EVENTS)), CTR_OK);
  cr_assert_eq(reentry_result, CTR_EBUSY);
  ctr_scanner_free(reentry_scanner);
  ctr_ruleset_unref(rs);
}

Test(api, stats_and_index_pruning)
{
  ctr_ruleset *rs = tu_compile(RULES, NULL, 0);
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, NULL, NULL, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, EVENTS, strlen(EVENTS)), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_BYTES), strlen(EVENTS));
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_RECORDS), 3);
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_MATCHES), 3);
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_BAD_RECORDS), 0);
  /* "Any Stop" has no eventName key but needs the bytes "Stop": the
   * DescribeDBInstances record holds none and is never evaluated */
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_EVALUATED), 2);
  cr_assert_eq(ctr_scanner_stat(sc, 99), 0);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);

  /* only keyed rules: the DescribeDBInstances record is never evaluated */
  rs = tu_compile("- rule: r\n  desc: d\n  condition: ct.name = StopDBInstance\n  output: o\n  priority: info\n", NULL, 0);
  cr_assert_eq(ctr_scanner_new(rs, NULL, NULL, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, EVENTS, strlen(EVENTS)), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_EVALUATED), 2);
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_MATCHES), 2);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
}

Test(api, bad_record_reported_and_scan_continues)
{
  ctr_ruleset *rs = tu_compile(RULES, NULL, 0);
  const char *in = "{\"eventName\": \"StopDBInstance\", oops}\n[1]\n";
  size_t n1 = strlen(in);
  char *buf = malloc(n1 + strlen(EVENTS) + 1);
  strcpy(buf, in);
  strcat(buf, EVENTS);
  tu_matches m = {0};
  cr_assert_eq(ctr_scan_buffer(rs, buf, strlen(buf), 0, tu_collect, &m), CTR_EDATA);
  cr_assert_eq(m.count, 3, "the good records after the bad ones are still scanned");
  tu_matches_free(&m);
  free(buf);
  ctr_ruleset_unref(rs);
}

Test(api, bad_arguments)
{
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(NULL, NULL, NULL, &sc), CTR_EINVAL);
  cr_assert_eq(ctr_compiler_new(NULL), CTR_EINVAL);
  ctr_ruleset *rs = tu_compile(RULES, NULL, 0);
  cr_assert_eq(ctr_scanner_new(rs, NULL, NULL, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_set_flags(sc, 0x80), CTR_EINVAL);
  cr_assert_eq(ctr_scanner_set_limit(sc, 42, 1), CTR_EINVAL);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_JSON_DEPTH, 5000), CTR_EINVAL);
  cr_assert_eq(ctr_scanner_feed(sc, NULL, 3), CTR_EINVAL);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
}

Test(api, ruleset_accessors)
{
  ctr_ruleset *rs = tu_compile(RULES, NULL, 0);
  cr_assert_eq(ctr_ruleset_rule_count(rs), 2);
  cr_assert_eq(ctr_ruleset_enabled_count(rs), 2);
  cr_assert_str_eq(ctr_ruleset_rule_name(rs, 0), "Risky RDS");
  cr_assert_str_eq(ctr_ruleset_rule_desc(rs, 1), "any stop");
  cr_assert_eq(ctr_ruleset_rule_priority(rs, 1), CTR_PRIORITY_INFORMATIONAL);
  cr_assert_str_eq(ctr_ruleset_rule_tag(rs, 0, 0), "aws");
  cr_assert_null(ctr_ruleset_rule_tag(rs, 0, 5));
  cr_assert_null(ctr_ruleset_rule_name(rs, 2));
  /* Out of range, as the header says. */
  cr_assert_eq(ctr_ruleset_rule_priority(rs, 2), CTR_EINVAL);
  cr_assert_eq(ctr_ruleset_rule_enabled(rs, 2), 0);
  cr_assert_eq(ctr_ruleset_rule_tag_count(rs, 2), 0);
  cr_assert_str_eq(ctr_ruleset_rule_condition(rs, 1), "ct.name startswith Stop");
  ctr_ruleset_ref(rs);
  ctr_ruleset_unref(rs);
  ctr_ruleset_unref(rs);
}

Test(api, builtin_rules_load)
{
  cr_assert(ctr_builtin_count() >= 1);
  size_t len;
  cr_assert_not_null(ctr_builtin_yaml("rds", &len));
  cr_assert(len > 100);
  ctr_compiler *c;
  ctr_compiler_new(&c);
  cr_assert_eq(ctr_compiler_add_builtin(c, "rds"), CTR_OK);
  cr_assert_eq(ctr_compiler_add_builtin(c, "nope"), CTR_ENOENT);
  ctr_ruleset *rs;
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  cr_assert(ctr_ruleset_rule_count(rs) >= 1);
  ctr_ruleset_unref(rs);
  ctr_compiler_free(c);
}

/* Every split of a sample into two chunks gives identical matches. */
Test(api, every_split_point_gives_identical_matches)
{
  ctr_ruleset *rs = tu_compile(RULES, NULL, 0);
  size_t len = strlen(EVENTS);
  tu_matches ref = {0};
  cr_assert_eq(tu_scan(rs, EVENTS, len, 0, 0, &ref), CTR_OK);
  for (size_t split = 1; split < len; split++) {
    tu_matches m = {0};
    ctr_scanner *sc;
    cr_assert_eq(ctr_scanner_new(rs, tu_collect, &m, &sc), CTR_OK);
    cr_assert_eq(ctr_scanner_feed(sc, EVENTS, split), CTR_OK);
    cr_assert_eq(ctr_scanner_feed(sc, EVENTS + split, len - split), CTR_OK);
    cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
    cr_assert_str_eq(m.text ? m.text : "", ref.text, "split at %zu", split);
    ctr_scanner_free(sc);
    tu_matches_free(&m);
  }
  tu_matches_free(&ref);
  ctr_ruleset_unref(rs);
}

/* One ruleset shared by several threads, each with its own scanner. */
typedef struct thread_arg {
  ctr_ruleset *rs;
  const char *data;
  size_t len;
  size_t matches;
} thread_arg;

static void *scan_thread(void *p)
{
  thread_arg *a = p;
  for (int round = 0; round < 5; round++) {
    tu_matches m = {0};
    tu_scan(a->rs, a->data, a->len, 4096, 0, &m);
    a->matches += m.count;
    tu_matches_free(&m);
  }
  return NULL;
}

Test(api, threads_share_one_ruleset)
{
  size_t len;
  char *data = tu_read(tu_shared("records.ndjson"), &len);
  ctr_ruleset *rs = tu_compile("- rule: any\n  desc: d\n  condition: ct.name exists and ct.user exists\n"
                               "  output: u=%ct.user %ct.name %ct.info\n  priority: info\n", NULL, 0);
  cr_assert_not_null(rs);
  tu_matches ref = {0};
  tu_scan(rs, data, len, 0, 0, &ref);
  pthread_t th[4];
  thread_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (thread_arg){rs, data, len, 0};
    pthread_create(&th[i], NULL, scan_thread, &args[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(args[i].matches, ref.count * 5);
  }
  cr_assert(ref.count > 500);
  tu_matches_free(&ref);
  ctr_ruleset_unref(rs);
  free(data);
}

/* The real records: all read, none reported bad or incomplete. */
static void count_reports(const ctr_record_error *e, void *ud)
{
  (void)e;
  (*(int *)ud)++;
}

Test(api, real_records_read_without_reports)
{
  const char *files[] = {"records.ndjson", "records.json.gz"};
  ctr_ruleset *rs = tu_compile("- rule: any\n  desc: d\n  condition: evt.num > 0\n  output: o\n  priority: debug\n", NULL, 0);
  for (size_t f = 0; f < 2; f++) {
    size_t len;
    char *data = tu_read(tu_shared(files[f]), &len);
    ctr_scanner *sc;
    int reports = 0;
    cr_assert_eq(ctr_scanner_new(rs, NULL, NULL, &sc), CTR_OK);
    ctr_scanner_set_error_callback(sc, count_reports, &reports);
    cr_assert_eq(ctr_scanner_feed(sc, data, len), CTR_OK);
    cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
    cr_assert_eq(reports, 0, "%s: %s", files[f], ctr_scanner_last_error(sc));
    cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_RECORDS), 1163);
    cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_MATCHES), 1163);
    ctr_scanner_free(sc);
    free(data);
  }
  ctr_ruleset_unref(rs);
}

Test(api, partial_records_each_reported)
{
  ctr_ruleset *rs = tu_compile("- rule: any\n  desc: d\n  condition: evt.num > 0\n  output: o\n  priority: debug\n", NULL, 0);
  size_t len;
  char *data = tu_read(tu_shared("partial.ndjson"), &len);
  ctr_scanner *sc;
  int reports = 0;
  cr_assert_eq(ctr_scanner_new(rs, NULL, NULL, &sc), CTR_OK);
  ctr_scanner_set_error_callback(sc, count_reports, &reports);
  cr_assert_eq(ctr_scanner_feed(sc, data, len), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  uint64_t records = ctr_scanner_stat(sc, CTR_STAT_RECORDS);
  cr_assert(records >= 154);
  uint64_t skipped = ctr_scanner_stat(sc, CTR_STAT_SKIPPED); /* Insights records */
  cr_assert_eq((uint64_t)reports + skipped, records, "every partial record gets a clear report");
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_INCOMPLETE), records - skipped);
  cr_assert(strstr(ctr_scanner_last_error(sc), "incomplete CloudTrail record"));
  ctr_scanner_free(sc);
  free(data);
  ctr_ruleset_unref(rs);
}

/* The output and output fields are rendered on the callback's first read of
 * any of them (or of the JSON line): whichever accessor comes first, and
 * after matches nobody read, every match reads as when each is read whole,
 * output first. The built-in rules and Falco's upstream CloudTrail rules
 * over the shared real records. */
typedef struct read_order {
  int order; /* what is read first: 0 the output (the reference), 1 the JSON line, 2 the last field's value,
                3 a field by name; 4: as 0, every third match only */
  unsigned long n;
  tu_text all, every_third; /* every_third: the reference as order 4 reads it */
} read_order;

/* The match read whole, `first` first, written in one order. */
static void entry(const ctr_match *m, int first, tu_text *t)
{
  size_t nf = ctr_match_field_count(m), len;
  const char *by_name = "unset", *last = "unset", *output = NULL;
  char *line = NULL;
  if (first == 1)
    cr_assert_eq(ctr_match_json(m, CTR_JSON_EVENT_ID, &line, &len), CTR_OK);
  if (first == 2 && nf)
    last = ctr_match_field_value(m, nf - 1);
  if (first == 3 && nf)
    cr_assert_eq(ctr_match_field(m, ctr_match_field_name(m, 0), &by_name), CTR_OK);
  cr_assert_not_null(output = ctr_match_output(m));
  if (!line)
    cr_assert_eq(ctr_match_json(m, CTR_JSON_EVENT_ID, &line, &len), CTR_OK);
  tu_appendf(t, "%llu %s\n%s\n", (unsigned long long)ctr_match_record_index(m), ctr_match_rule(m), output);
  for (size_t i = 0; i < nf; i++) {
    const char *v = ctr_match_field_value(m, i);
    if (i == 0 && first == 3)
      v = by_name;
    if (i == nf - 1 && first == 2)
      v = last;
    tu_appendf(t, "  %s=%s\n", ctr_match_field_name(m, i), v ? v : "(absent)");
  }
  tu_appendf(t, "%s\n", line);
  ctr_free(line);
}

static int read_in_order(const ctr_match *m, void *ud)
{
  read_order *r = ud;
  unsigned long k = r->n++;
  if (r->order == 4 && k % 3) {
    tu_appendf(&r->all, "%llu %s (not read)\n", (unsigned long long)ctr_match_record_index(m), ctr_match_rule(m));
    return 0;
  }
  entry(m, r->order, &r->all);
  if (r->order == 0) {
    if (k % 3)
      tu_appendf(&r->every_third, "%llu %s (not read)\n", (unsigned long long)ctr_match_record_index(m),
                 ctr_match_rule(m));
    else
      entry(m, 0, &r->every_third);
  }
  return 0;
}

Test(api, output_rendered_on_first_read_whatever_is_read_first)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_builtin(c, "rds"), CTR_OK);
  cr_assert_eq(ctr_compiler_add_file(c, tu_tests("bench/rules/falco_upstream_rules.yaml")), CTR_OK);
  ctr_ruleset *rs = tu_compile_all(c);
  size_t len;
  char *data = tu_read(tu_shared("records.ndjson"), &len);
  read_order ref = {0};
  cr_assert_eq(ctr_scan_buffer(rs, data, len, 0, read_in_order, &ref), CTR_OK);
  cr_assert_gt(ref.n, 50, "only %lu matches: the test reads too few", ref.n);
  for (int order = 1; order <= 4; order++) {
    read_order got = {.order = order};
    cr_assert_eq(ctr_scan_buffer(rs, data, len, 0, read_in_order, &got), CTR_OK);
    cr_assert_eq(got.n, ref.n, "order %d", order);
    cr_assert_str_eq(got.all.s, order == 4 ? ref.every_third.s : ref.all.s, "order %d", order);
    free(got.all.s);
  }
  free(ref.all.s);
  free(ref.every_third.s);
  free(data);
  ctr_ruleset_unref(rs);
}
