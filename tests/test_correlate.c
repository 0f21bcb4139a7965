/* test_correlate.c - Sigma correlation rules through the public API: each
 * type fires on the matches its definition names, in every chunking of the
 * input, and not on near-misses (another group, outside the timespan, the
 * wrong order); the alert is an ordinary match listing its base events; the
 * state is bounded (CTR_LIMIT_CORRELATION_EVENTS), late matches within
 * CTR_LIMIT_CORRELATION_LATENESS count and later ones are reported, and old
 * matches expire as event time advances (docs/sigma.md). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctrule.h"
#include "testutil.h"

/* Base rules: a Sigma rule (DeleteDBSnapshot; id del-id, name del_name), a
 * Falco rule (CreateDBSnapshot) and a Sigma rule (ModifyDBSnapshotAttribute). */
#define BASE                                                                                                 \
  "- rule: Created\n  desc: c\n  condition: ct.name = CreateDBSnapshot\n  output: created %ct.user\n"       \
  "  priority: NOTICE\n  source: aws_cloudtrail\n"                                                         \
  "---\ntitle: Deleted\nid: del-id\nname: del_name\nlogsource: {product: aws, service: cloudtrail}\n"      \
  "detection:\n  s: {eventName: DeleteDBSnapshot}\n  condition: s\nlevel: low\n"                          \
  "---\ntitle: Shared\nlogsource: {product: aws, service: cloudtrail}\n"                                    \
  "detection:\n  s: {eventName: ModifyDBSnapshotAttribute}\n  condition: s\nlevel: low\n---\n"

/* A complete record: eventName, HH:MM:SS on 2025-01-01, the user's name, an
 * eventID, and the snapshot it names. */
static char *rec(const char *name, const char *hms, const char *user, const char *id, const char *snap)
{
  char *s;
  cr_assert(asprintf(&s,
                     "{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-01-01T%sZ\",\"awsRegion\":\"us-east-1\","
                     "\"eventID\":\"%s\",\"eventType\":\"AwsApiCall\",\"eventSource\":\"rds.amazonaws.com\","
                     "\"eventName\":\"%s\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"%s\","
                     "\"arn\":\"arn:aws:iam::1:user/%s\",\"accountId\":\"1\"},"
                     "\"requestParameters\":{\"dBSnapshotIdentifier\":\"%s\"}}\n",
                     hms, id, name, user, user, snap) > 0);
  return s;
}


static ctr_ruleset *compile(const char *yaml)
{
  char diags[4096];
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert(rs != NULL, "did not compile:\n%s\n%s", yaml, diags);
  return rs;
}

/* The matches of `yaml` over `data` ("index\trule\toutput" lines), the same
 * in every chunking: whole, and chunks of 1, 2, 3, 7, 64 and 1000 bytes. */
static char *scan_all_chunkings(const char *yaml, const char *data)
{
  ctr_ruleset *rs = compile(yaml);
  char *first = NULL;
  static const size_t chunks[] = {0, 1, 2, 3, 7, 64, 1000};
  for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    tu_matches m = {0};
    cr_assert_eq(tu_scan(rs, data, strlen(data), chunks[i], 0, &m), CTR_OK);
    if (!first)
      first = strdup(m.text);
    else
      cr_assert_str_eq(m.text, first, "chunk %zu", chunks[i]);
    tu_matches_free(&m);
  }
  ctr_ruleset_unref(rs);
  return first;
}

static size_t count_of(const char *text, const char *needle)
{
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

#define EVENT_COUNT(gte, span)                                                                                \
  BASE "title: Mass Deletion\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n"                     \
       "  group-by: [userIdentity.arn]\n  timespan: " span "\n  condition:\n    gte: " gte "\nlevel: high\n"

Test(correlate, event_count_fires_at_the_threshold_per_group_within_the_timespan)
{
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "mallory", "e1", "a"),
                    rec("DeleteDBSnapshot", "10:01:00", "alice", "e2", "b"), /* another group */
                    rec("DeleteDBSnapshot", "10:02:00", "mallory", "e3", "c"),
                    rec("DeleteDBSnapshot", "10:05:00", "mallory", "e4", "d"), /* 5m after e1: still in */
                    rec("DeleteDBSnapshot", "10:06:00", "mallory", "e5", "e"));
  char *got = scan_all_chunkings(EVENT_COUNT("3", "5m"), data);
  cr_assert_str_eq(got, "3\tMass Deletion\tevent_count of Deleted within 5m (gte 3): count=3 "
                        "group=userIdentity.arn=arn:aws:iam::1:user/mallory "
                        "events=e1@2025-01-01T10:00:00Z (Deleted), e3@2025-01-01T10:02:00Z (Deleted), "
                        "e4@2025-01-01T10:05:00Z (Deleted)\n");
  free(got);
  /* one second more than the timespan apart: no window holds three */
  free(data);
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "mallory", "e1", "a"),
              rec("DeleteDBSnapshot", "10:02:00", "mallory", "e3", "c"),
              rec("DeleteDBSnapshot", "10:05:01", "mallory", "e4", "d"),
              rec("DeleteDBSnapshot", "10:07:03", "mallory", "e5", "e"));
  got = scan_all_chunkings(EVENT_COUNT("3", "5m"), data);
  cr_assert_str_eq(got, "");
  free(got);
  /* gt 2 is gte 3; after an alert the group starts over: six in a row are two alerts */
  free(data);
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:00:01", "m", "e2", "a"),
              rec("DeleteDBSnapshot", "10:00:02", "m", "e3", "a"), rec("DeleteDBSnapshot", "10:00:03", "m", "e4", "a"),
              rec("DeleteDBSnapshot", "10:00:04", "m", "e5", "a"), rec("DeleteDBSnapshot", "10:00:05", "m", "e6", "a"));
  got = scan_all_chunkings(BASE "title: X\ncorrelation:\n  type: event_count\n  rules: del-id\n  timespan: 1m\n"
                                "  condition: {gt: 2}\n",
                           data);
  cr_assert_eq(count_of(got, "\tX\t"), 2, "%s", got);
  cr_assert(strstr(got, "2\tX\t") && strstr(got, "5\tX\t"), "%s", got);
  cr_assert(strstr(got, "group=(all)"), "%s", got);
  free(got);
  free(data);
}

/* Collects the alert of a correlation in full. */
typedef struct full {
  int n;
  char rule[64], json[4096], event[4096], count[16], group[256], arn[128];
  int priority;
  long long time;
  unsigned long long index;
} full;

static int on_full(const ctr_match *m, void *ud)
{
  full *f = ud;
  f->n++;
  snprintf(f->rule, sizeof f->rule, "%s", ctr_match_rule(m));
  f->priority = ctr_match_priority(m);
  f->time = (long long)ctr_match_time(m);
  f->index = ctr_match_record_index(m);
  char *j;
  size_t jl;
  cr_assert_eq(ctr_match_json(m, CTR_JSON_EVENT_ID, &j, &jl), CTR_OK);
  snprintf(f->json, sizeof f->json, "%s", j);
  ctr_free(j);
  size_t el;
  const char *e = ctr_match_event(m, &el);
  snprintf(f->event, sizeof f->event, "%.*s", (int)el, e);
  const char *v;
  cr_assert_eq(ctr_match_field(m, "correlation.count", &v), CTR_OK);
  snprintf(f->count, sizeof f->count, "%s", v);
  cr_assert_eq(ctr_match_field(m, "correlation.group", &v), CTR_OK);
  snprintf(f->group, sizeof f->group, "%s", v);
  cr_assert_eq(ctr_match_field(m, "userIdentity.arn", &v), CTR_OK);
  snprintf(f->arn, sizeof f->arn, "%s", v);
  return 0;
}

Test(correlate, the_alert_is_an_ordinary_match_naming_its_base_events)
{
  ctr_ruleset *rs = compile(EVENT_COUNT("2", "1h"));
  size_t n = ctr_ruleset_rule_count(rs);
  cr_assert_eq(n, 4);
  cr_assert_str_eq(ctr_ruleset_rule_name(rs, 3), "Mass Deletion");
  cr_assert_str_eq(ctr_ruleset_rule_condition(rs, 3),
                   "sigma correlation event_count of (Deleted) by (userIdentity.arn) within 1h: gte 2");
  cr_assert_eq(ctr_ruleset_rule_priority(rs, 3), CTR_PRIORITY_ERROR);
  cr_assert(ctr_ruleset_rule_enabled(rs, 3));
  cr_assert_str_eq(ctr_ruleset_rule_tag(rs, 3, 1), "sigma.correlation");
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "mallory", "e1", "a"),
                    rec("DeleteDBSnapshot", "10:30:00", "mallory", "e2", "b"));
  full f = {0};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, on_full, &f, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, data, strlen(data)), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_eq(f.n, 1); /* the base rule alone does not alert (generate: false) */
  cr_assert_str_eq(f.rule, "Mass Deletion");
  cr_assert_eq(f.priority, CTR_PRIORITY_ERROR);
  cr_assert_eq(f.index, 1); /* the record that completed it */
  cr_assert_eq(f.time, (1735725600LL + 1800) * 1000000000LL, "%lld", f.time); /* 2025-01-01T10:30:00Z */
  cr_assert_str_eq(f.count, "2");
  cr_assert_str_eq(f.group, "userIdentity.arn=arn:aws:iam::1:user/mallory");
  cr_assert_str_eq(f.arn, "arn:aws:iam::1:user/mallory");
  cr_assert(strstr(f.json, "\"rule\":\"Mass Deletion\""), "%s", f.json);
  cr_assert(strstr(f.json, "\"correlation.events\":\"e1@2025-01-01T10:00:00Z (Deleted), e2@2025-01-01T10:30:00Z (Deleted)\""),
            "%s", f.json);
  cr_assert(strstr(f.json, "\"ct.id\":\"e2\""), "%s", f.json);
  cr_assert(strstr(f.json, "\"tags\":[\"sigma\",\"sigma.correlation\"]"), "%s", f.json);
  /* the alert's event is its own record, which lists the base events */
  cr_assert(strstr(f.event, "\"eventList\":[{\"eventID\":\"e1\",\"eventTime\":\"2025-01-01T10:00:00Z\",\"rule\":\"Deleted\"},"
                            "{\"eventID\":\"e2\",\"eventTime\":\"2025-01-01T10:30:00Z\",\"rule\":\"Deleted\"}]"),
            "%s", f.event);
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_MATCHES), 1);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  free(data);
}

Test(correlate, generate_decides_whether_the_base_rules_alert_on_their_own)
{
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:00:01", "m", "e2", "a"));
  char *got = scan_all_chunkings(EVENT_COUNT("2", "1m"), data);
  cr_assert_str_eq(count_of(got, "\tDeleted\t") == 0 && count_of(got, "\tMass Deletion\t") == 1 ? "" : got, "");
  free(got);
  got = scan_all_chunkings(BASE "title: G\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n  timespan: 1m\n"
                                "  condition: {gte: 2}\n  generate: true\n",
                           data);
  cr_assert_eq(count_of(got, "\tDeleted\t"), 2, "%s", got);
  cr_assert_eq(count_of(got, "\tG\t"), 1, "%s", got);
  cr_assert(strstr(got, "1\tDeleted\t") < strstr(got, "1\tG\t"), "the record's own match first: %s", got);
  free(got);
  /* a correlation turned off silences nothing and never fires */
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  const char *y = EVENT_COUNT("2", "1m");
  cr_assert_eq(ctr_compiler_add_string(c, y, strlen(y), "c.yml"), CTR_OK);
  cr_assert_eq(ctr_compiler_select_tag(c, "sigma.correlation", 0), CTR_OK);
  ctr_ruleset *rs;
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  ctr_compiler_free(c);
  cr_assert(!ctr_ruleset_rule_enabled(rs, 3));
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, data, strlen(data), 0, 0, &m), CTR_OK);
  cr_assert_eq(count_of(m.text, "\tDeleted\t"), 2, "%s", m.text);
  cr_assert_eq(m.count, 2, "%s", m.text);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
  free(data);
}

Test(correlate, a_record_matching_two_of_its_rules_counts_once)
{
  const char *y = BASE "- rule: Deleted Too\n  desc: d\n  condition: ct.name = DeleteDBSnapshot\n  output: o\n"
                       "  priority: NOTICE\n  source: aws_cloudtrail\n---\n"
                       "title: Two\ncorrelation:\n  type: event_count\n  rules: [Deleted, Deleted Too]\n"
                       "  timespan: 1h\n  condition: {gte: 2}\n";
  char *one = rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "s");
  char *got = scan_all_chunkings(y, one);
  cr_assert_str_eq(got, "");
  free(got);
  char *data = TU_JOIN(one, rec("DeleteDBSnapshot", "10:00:01", "m", "e2", "s"));
  got = scan_all_chunkings(y, data);
  cr_assert(strstr(got, "1\tTwo\t") && strstr(got, "count=2 "), "%s", got);
  free(got);
  free(data);
}

Test(correlate, conditions_values_and_lists)
{
  /* gt and gte together: the larger (gt 2 is gte 3) */
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:00:01", "m", "e2", "b"),
                    rec("DeleteDBSnapshot", "10:00:02", "m", "e3", "c"));
  char *got = scan_all_chunkings(BASE "title: X\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n  timespan: 1m\n"
                                      "  condition: {gt: 2, gte: 2}\n",
                                 data);
  cr_assert(strncmp(got, "2\tX\t", 4) == 0 && count_of(got, "\tX\t") == 1, "%s", got);
  free(got);
  free(data);
  /* value_count: a match without the counted field is not counted; a
   * group-by field holding a list groups by the list, (a,b) */
  const char *y = BASE "title: V\ncorrelation:\n  type: value_count\n  rules: [Deleted]\n"
                       "  group-by: [requestParameters.tags]\n  timespan: 1h\n"
                       "  condition: {field: requestParameters.dBSnapshotIdentifier, gte: 2}\n";
  data = TU_JOIN(strdup("{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-01-01T10:00:00Z\",\"awsRegion\":\"r\",\"eventID\":\"n1\","
                     "\"eventType\":\"AwsApiCall\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"DeleteDBSnapshot\","
                     "\"userIdentity\":{\"type\":\"IAMUser\"},\"requestParameters\":{\"tags\":[\"a\",\"b\"]}}\n"),
              strdup("{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-01-01T10:00:01Z\",\"awsRegion\":\"r\",\"eventID\":\"n2\","
                     "\"eventType\":\"AwsApiCall\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"DeleteDBSnapshot\","
                     "\"userIdentity\":{\"type\":\"IAMUser\"},\"requestParameters\":{\"tags\":[\"a\",\"b\"],"
                     "\"dBSnapshotIdentifier\":\"s1\"}}\n"),
              strdup("{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-01-01T10:00:02Z\",\"awsRegion\":\"r\",\"eventID\":\"n3\","
                     "\"eventType\":\"AwsApiCall\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"DeleteDBSnapshot\","
                     "\"userIdentity\":{\"type\":\"IAMUser\"},\"requestParameters\":{\"tags\":[\"a\",\"b\"],"
                     "\"dBSnapshotIdentifier\":\"s2\"}}\n"));
  got = scan_all_chunkings(y, data);
  cr_assert_str_eq(got, "2\tV\tvalue_count of Deleted within 1h (gte 2): count=2 group=requestParameters.tags=(a,b) "
                        "events=n2@2025-01-01T10:00:01Z (Deleted), n3@2025-01-01T10:00:02Z (Deleted)\n");
  free(got);
  free(data);
}

Test(correlate, group_by_values_holding_any_separator_stay_apart)
{
  /* (x<US>y, z) and (x, y<US>z), (a:1:b, c) and (a, b:1:c): two groups each, so no pair is 2 */
  static const char *const pairs[][4] = {{"x\\u001fy", "z", "x", "y\\u001fz"}, {"a:1:b", "c", "a", "b:1:c"},
                                         {"a:", "1:b", "a:1:", "b"}};
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", pairs[i][0], "e1", pairs[i][1]),
                      rec("DeleteDBSnapshot", "10:00:01", pairs[i][2], "e2", pairs[i][3]),
                      rec("DeleteDBSnapshot", "10:00:02", pairs[i][2], "e3", pairs[i][3]));
    char *got = scan_all_chunkings(BASE "title: Two\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n"
                                        "  group-by: [userIdentity.userName, requestParameters.dBSnapshotIdentifier]\n"
                                        "  timespan: 1m\n  condition: {gte: 2}\n",
                                   data);
    /* the second group's pair alone (e2, e3) */
    cr_assert(count_of(got, "\tTwo\t") == 1 && strstr(got, "count=2") && strstr(got, "events=e2@"), "pair %zu: %s", i,
              got);
    free(got);
    free(data);
  }
}

Test(correlate, value_count_counts_distinct_values)
{
  const char *y = BASE "title: Many Snapshots\ncorrelation:\n  type: value_count\n  rules: del_name\n"
                       "  group-by: userIdentity.arn\n  timespan: 10m\n"
                       "  condition:\n    field: requestParameters.dBSnapshotIdentifier\n    gte: 3\n";
  /* a, a, b: two values; c makes three */
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:01:00", "m", "e2", "a"),
                    rec("DeleteDBSnapshot", "10:02:00", "m", "e3", "b"), rec("DeleteDBSnapshot", "10:02:30", "z", "e4", "c"),
                    rec("DeleteDBSnapshot", "10:03:00", "m", "e5", "c"));
  char *got = scan_all_chunkings(y, data);
  cr_assert_str_eq(got, "4\tMany Snapshots\tvalue_count of del_name within 10m (gte 3): count=3 "
                        "group=userIdentity.arn=arn:aws:iam::1:user/m events=e2@2025-01-01T10:01:00Z (Deleted), "
                        "e3@2025-01-01T10:02:00Z (Deleted), e5@2025-01-01T10:03:00Z (Deleted)\n");
  free(got);
  free(data);
  /* the same value three times is one */
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:01:00", "m", "e2", "a"),
              rec("DeleteDBSnapshot", "10:02:00", "m", "e3", "a"));
  got = scan_all_chunkings(y, data);
  cr_assert_str_eq(got, "");
  free(got);
  free(data);
}

#define VALUES(gte, by)                                                                                        \
  BASE "title: V\ncorrelation:\n  type: value_count\n  rules: [Deleted]\n" by "  timespan: 2m\n"                \
       "  condition: {field: requestParameters.dBSnapshotIdentifier, gte: " gte "}\n"

/* A match out of order within the lateness sees every match of its group it
 * could share a window with, as in time order: a value seen again later does
 * not hide its earlier match from a window the late match completes. */
Test(correlate, value_count_out_of_order_finds_the_window_of_a_value_seen_again)
{
  /* in order a@10:00, b@10:01, a@10:05 alerts at b; b 4 minutes late must too */
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:05:00", "m", "e2", "a"),
                       rec("DeleteDBSnapshot", "10:01:00", "m", "e3", "b"));
  char *got = scan_all_chunkings(VALUES("2", ""), data);
  cr_assert_str_eq(got, "2\tV\tvalue_count of Deleted within 2m (gte 2): count=2 group=(all) "
                        "events=e1@2025-01-01T10:00:00Z (Deleted), e3@2025-01-01T10:01:00Z (Deleted)\n");
  free(got);
  free(data);
  /* a replaced twice */
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:05:00", "m", "e2", "a"),
                 rec("DeleteDBSnapshot", "10:10:00", "m", "e3", "a"), rec("DeleteDBSnapshot", "10:01:00", "m", "e4", "b"));
  got = scan_all_chunkings(VALUES("2", ""), data);
  cr_assert_str_eq(got, "3\tV\tvalue_count of Deleted within 2m (gte 2): count=2 group=(all) "
                        "events=e1@2025-01-01T10:00:00Z (Deleted), e4@2025-01-01T10:01:00Z (Deleted)\n");
  free(got);
  free(data);
  /* the late match is the earlier one of its value: a@10:00 after a@10:05 */
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:05:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:01:00", "m", "e2", "b"),
                 rec("DeleteDBSnapshot", "10:00:00", "m", "e3", "a"));
  got = scan_all_chunkings(VALUES("2", ""), data);
  cr_assert_str_eq(got, "2\tV\tvalue_count of Deleted within 2m (gte 2): count=2 group=(all) "
                        "events=e3@2025-01-01T10:00:00Z (Deleted), e2@2025-01-01T10:01:00Z (Deleted)\n");
  free(got);
  free(data);
  /* three values, two of them seen again later: c completes the window of 10:00 */
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:01:00", "m", "e2", "b"),
                 rec("DeleteDBSnapshot", "10:06:00", "m", "e3", "a"), rec("DeleteDBSnapshot", "10:07:00", "m", "e4", "b"),
                 rec("DeleteDBSnapshot", "10:02:00", "m", "e5", "c"));
  got = scan_all_chunkings(VALUES("3", ""), data);
  cr_assert_str_eq(got, "4\tV\tvalue_count of Deleted within 2m (gte 3): count=3 group=(all) "
                        "events=e1@2025-01-01T10:00:00Z (Deleted), e2@2025-01-01T10:01:00Z (Deleted), "
                        "e5@2025-01-01T10:02:00Z (Deleted)\n");
  free(got);
  free(data);
  /* an alert made is not taken back (docs/sigma.md): b completes b, a; c
   * comes after they were spent, and d is too far from c */
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:03:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:01:00", "m", "e2", "b"),
                 rec("DeleteDBSnapshot", "10:00:00", "m", "e3", "c"), rec("DeleteDBSnapshot", "10:04:00", "m", "e4", "d"));
  got = scan_all_chunkings(VALUES("2", ""), data);
  cr_assert_str_eq(got, "1\tV\tvalue_count of Deleted within 2m (gte 2): count=2 group=(all) "
                        "events=e2@2025-01-01T10:01:00Z (Deleted), e1@2025-01-01T10:03:00Z (Deleted)\n");
  free(got);
  free(data);
  /* with group-by: z's b is another group's; m's b completes m's window */
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:05:00", "m", "e2", "a"),
                 rec("DeleteDBSnapshot", "10:01:00", "z", "e3", "b"), rec("DeleteDBSnapshot", "10:01:30", "m", "e4", "b"));
  got = scan_all_chunkings(VALUES("2", "  group-by: [userIdentity.userName]\n"), data);
  cr_assert_str_eq(got, "3\tV\tvalue_count of Deleted within 2m (gte 2): count=2 group=userIdentity.userName=m "
                        "events=e1@2025-01-01T10:00:00Z (Deleted), e4@2025-01-01T10:01:30Z (Deleted)\n");
  free(got);
  free(data);
}

#define ORDERED(type)                                                                                          \
  BASE "title: Exfil\ncorrelation:\n  type: " type "\n  rules: [Created, Shared, Deleted]\n"               \
       "  group-by: [userIdentity.arn]\n  timespan: 1h\nlevel: critical\n"

Test(correlate, temporal_ordered_needs_the_order_the_principal_and_the_timespan)
{
  char *data = TU_JOIN(rec("CreateDBSnapshot", "10:00:00", "m", "c1", "s"), rec("DeleteDBSnapshot", "10:05:00", "m", "d0", "s"),
                    rec("ModifyDBSnapshotAttribute", "10:10:00", "m", "s1", "s"),
                    rec("ModifyDBSnapshotAttribute", "10:10:00", "x", "s2", "s"), /* another principal */
                    rec("DeleteDBSnapshot", "10:59:00", "m", "d1", "s"));
  char *got = scan_all_chunkings(ORDERED("temporal_ordered"), data);
  /* the Falco base rule keeps no alert of its own either */
  cr_assert_str_eq(got, "4\tExfil\ttemporal_ordered of Created, Shared, Deleted within 1h (every rule, in order): count=3 "
                        "group=userIdentity.arn=arn:aws:iam::1:user/m events=c1@2025-01-01T10:00:00Z (Created), "
                        "s1@2025-01-01T10:10:00Z (Shared), d1@2025-01-01T10:59:00Z (Deleted)\n");
  free(got);
  free(data);
  /* the wrong order: deleted before shared */
  data = TU_JOIN(rec("CreateDBSnapshot", "10:00:00", "m", "c1", "s"), rec("DeleteDBSnapshot", "10:05:00", "m", "d0", "s"),
              rec("ModifyDBSnapshotAttribute", "10:10:00", "m", "s1", "s"));
  got = scan_all_chunkings(ORDERED("temporal_ordered"), data);
  cr_assert_str_eq(got, "");
  free(got);
  /* ... which temporal (any order) takes */
  got = scan_all_chunkings(ORDERED("temporal"), data);
  cr_assert(strstr(got, "2\tExfil\ttemporal of Created, Shared, Deleted within 1h (every rule): count=3"), "%s", got);
  cr_assert(strstr(got, "events=c1@2025-01-01T10:00:00Z (Created), d0@2025-01-01T10:05:00Z (Deleted), "
                        "s1@2025-01-01T10:10:00Z (Shared)"), "%s", got);
  free(got);
  free(data);
  /* outside the hour, and each step by someone else */
  data = TU_JOIN(rec("CreateDBSnapshot", "10:00:00", "m", "c1", "s"), rec("ModifyDBSnapshotAttribute", "10:10:00", "m", "s1", "s"),
              rec("DeleteDBSnapshot", "11:00:01", "m", "d1", "s"), rec("CreateDBSnapshot", "12:00:00", "a", "c2", "s"),
              rec("ModifyDBSnapshotAttribute", "12:10:00", "b", "s2", "s"), rec("DeleteDBSnapshot", "12:20:00", "c", "d2", "s"));
  got = scan_all_chunkings(ORDERED("temporal_ordered"), data);
  cr_assert_str_eq(got, "");
  free(got);
  got = scan_all_chunkings(ORDERED("temporal"), data);
  cr_assert_str_eq(got, "");
  free(got);
  free(data);
  /* a later start makes a shorter chain: create, create (50 min later), share, delete within its hour */
  data = TU_JOIN(rec("CreateDBSnapshot", "10:00:00", "m", "c1", "s"), rec("CreateDBSnapshot", "10:50:00", "m", "c2", "s"),
              rec("ModifyDBSnapshotAttribute", "11:00:00", "m", "s1", "s"), rec("DeleteDBSnapshot", "11:40:00", "m", "d1", "s"));
  got = scan_all_chunkings(ORDERED("temporal_ordered"), data);
  cr_assert(strstr(got, "events=c2@2025-01-01T10:50:00Z (Created), s1@"), "%s", got);
  free(got);
  free(data);
}

/* Record errors as "index\tstatus\tmessage" lines. */
typedef struct errs {
  char text[8192];
  size_t len;
  int n;
  unsigned long long incomplete; /* CTR_STAT_INCOMPLETE after the scan */
} errs;

static void on_err(const ctr_record_error *e, void *ud)
{
  errs *x = ud;
  x->n++;
  if (x->len + 1 >= sizeof x->text)
    return; /* full: counted only */
  size_t k = (size_t)snprintf(x->text + x->len, sizeof x->text - x->len, "%llu\t%s\t%d\t%s\n",
                              (unsigned long long)ctr_record_error_index(e), ctr_status_name(ctr_record_error_status(e)),
                              ctr_record_error_evaluated(e), ctr_record_error_message(e));
  x->len = x->len + k < sizeof x->text ? x->len + k : sizeof x->text - 1;
}

/* Scans data (whole) with limits set; matches and errors out. */
static void scan_with(const char *yaml, const char *data, uint64_t max_events, uint64_t lateness, tu_matches *m, errs *e)
{
  ctr_ruleset *rs = compile(yaml);
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, tu_collect, m, &sc), CTR_OK);
  ctr_scanner_set_error_callback(sc, on_err, e);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_CORRELATION_EVENTS, max_events), CTR_OK);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_CORRELATION_LATENESS, lateness), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, data, strlen(data)), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  e->incomplete = ctr_scanner_stat(sc, CTR_STAT_INCOMPLETE);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  if (!m->text)
    m->text = calloc(1, 1);
}

Test(correlate, the_events_limit_at_and_past_its_boundary)
{
  /* four principals, one deletion each: four matches held */
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "a", "e1", "s"), rec("DeleteDBSnapshot", "10:00:01", "b", "e2", "s"),
                    rec("DeleteDBSnapshot", "10:00:02", "c", "e3", "s"), rec("DeleteDBSnapshot", "10:00:03", "d", "e4", "s"),
                    rec("DeleteDBSnapshot", "10:00:04", "a", "e5", "s"));
  tu_matches m = {0};
  errs e = {0};
  scan_with(EVENT_COUNT("2", "1h"), data, 5, 0, &m, &e); /* at the limit: all five held, a's second fires */
  cr_assert_eq(e.n, 0, "%s", e.text);
  cr_assert_eq(m.count, 1, "%s", m.text);
  tu_matches_free(&m);
  memset(&e, 0, sizeof e);
  m = (tu_matches){0};
  scan_with(EVENT_COUNT("2", "1h"), data, 4, 0, &m, &e); /* one past it: a's second is not counted */
  cr_assert_eq(m.count, 0, "%s", m.text);
  cr_assert_str_eq(e.text, "4\tELIMIT\t1\tcorrelation 'Mass Deletion': the match of 'Deleted' is not counted: "
                           "4 matches are held (limit correlation_events)\n");
  cr_assert_eq(e.incomplete, 0); /* a complete record: the report is about the correlation */
  tu_matches_free(&m);
  memset(&e, 0, sizeof e);
  m = (tu_matches){0};
  scan_with(EVENT_COUNT("2", "1h"), data, 3, 0, &m, &e); /* two past it: d's and a's second */
  cr_assert_eq(m.count, 0, "%s", m.text);
  cr_assert_str_eq(e.text, "3\tELIMIT\t1\tcorrelation 'Mass Deletion': the match of 'Deleted' is not counted: "
                           "3 matches are held (limit correlation_events)\n"
                           "4\tELIMIT\t1\tcorrelation 'Mass Deletion': the match of 'Deleted' is not counted: "
                           "3 matches are held (limit correlation_events)\n");
  tu_matches_free(&m);
  free(data);
}

Test(correlate, out_of_order_matches_count_unless_their_window_was_let_go)
{
  /* e2 comes 4 minutes behind e3: counted with a lateness of 5 minutes */
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "s"), rec("DeleteDBSnapshot", "10:06:00", "m", "e3", "s"),
                    rec("DeleteDBSnapshot", "10:02:00", "m", "e2", "s"));
  tu_matches m = {0};
  errs e = {0};
  scan_with(EVENT_COUNT("3", "10m"), data, 0, 300, &m, &e);
  cr_assert_eq(e.n, 0, "%s", e.text);
  cr_assert_str_eq(m.text, "2\tMass Deletion\tevent_count of Deleted within 10m (gte 3): count=3 "
                           "group=userIdentity.arn=arn:aws:iam::1:user/m events=e1@2025-01-01T10:00:00Z (Deleted), "
                           "e2@2025-01-01T10:02:00Z (Deleted), e3@2025-01-01T10:06:00Z (Deleted)\n");
  tu_matches_free(&m);
  free(data);
  /* With a lateness of 1 minute and a timespan of 2, e1 is let go when e3
   * arrives (10:06 - 1m - 2m = 10:03). e2 (10:01) could have shared a window
   * with it: reported, not counted. e4 (10:05) is as far out of order as the
   * lateness allows: counted, and it fires with e3. */
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "s"), rec("DeleteDBSnapshot", "10:06:00", "m", "e3", "s"),
              rec("DeleteDBSnapshot", "10:01:00", "m", "e2", "s"), rec("DeleteDBSnapshot", "10:05:00", "m", "e4", "s"));
  m = (tu_matches){0};
  scan_with(EVENT_COUNT("2", "2m"), data, 0, 60, &m, &e);
  cr_assert_str_eq(m.text, "3\tMass Deletion\tevent_count of Deleted within 2m (gte 2): count=2 "
                           "group=userIdentity.arn=arn:aws:iam::1:user/m events=e4@2025-01-01T10:05:00Z (Deleted), "
                           "e3@2025-01-01T10:06:00Z (Deleted)\n");
  cr_assert_str_eq(e.text, "2\tELIMIT\t1\tcorrelation 'Mass Deletion': the match of 'Deleted' is not counted: its "
                           "eventTime is 300 s before the latest one seen, and matches of its group within the timespan of it were "
                           "let go (limit correlation_lateness 60 s)\n");
  tu_matches_free(&m);
  free(data);
  /* as late, in a group that lost nothing (z): taken, no report */
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "s"), rec("DeleteDBSnapshot", "10:06:00", "m", "e3", "s"),
              rec("DeleteDBSnapshot", "10:01:00", "z", "e2", "s"));
  m = (tu_matches){0};
  memset(&e, 0, sizeof e);
  scan_with(EVENT_COUNT("2", "2m"), data, 0, 60, &m, &e);
  cr_assert_eq(e.n, 0, "%s", e.text);
  cr_assert_eq(m.count, 0, "%s", m.text);
  tu_matches_free(&m);
  free(data);
}

Test(correlate, value_count_out_of_order_at_the_lateness_edge)
{
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:05:00", "m", "e2", "a"),
                       rec("DeleteDBSnapshot", "10:01:00", "m", "e3", "b"));
  const char *alert = "2\tV\tvalue_count of Deleted within 2m (gte 2): count=2 group=(all) "
                      "events=e1@2025-01-01T10:00:00Z (Deleted), e3@2025-01-01T10:01:00Z (Deleted)\n";
  /* b is 240 s late: as late as a lateness of 240 s allows, and one second
   * more than 239 s allows, with a@10:00 still held (held for the timespan
   * and the lateness past it): counted, and the window found either way */
  for (uint64_t lateness = 239; lateness <= 240; lateness++) {
    tu_matches m = {0};
    errs e = {0};
    scan_with(VALUES("2", ""), data, 0, lateness, &m, &e);
    cr_assert_eq(e.n, 0, "lateness %llu: %s", (unsigned long long)lateness, e.text);
    cr_assert_str_eq(m.text, alert, "lateness %llu", (unsigned long long)lateness);
    tu_matches_free(&m);
  }
  /* lateness 60: a@10:00 was let go when a@10:05 came (10:05 - 1m - 2m);
   * b could have shared a window with it: reported, never counted alone */
  tu_matches m = {0};
  errs e = {0};
  scan_with(VALUES("2", ""), data, 0, 60, &m, &e);
  cr_assert_eq(m.count, 0, "%s", m.text);
  cr_assert_str_eq(e.text, "2\tELIMIT\t1\tcorrelation 'V': the match of 'Deleted' is not counted: its eventTime is 240 s "
                           "before the latest one seen, and matches of its group within the timespan of it were let go "
                           "(limit correlation_lateness 60 s)\n");
  tu_matches_free(&m);
  free(data);
}

Test(correlate, value_count_holds_a_values_earlier_matches_against_the_events_limit)
{
  /* a three times in order: each held (a late match may need an earlier
   * one), so a limit of 2 leaves the third out, reported */
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:00:30", "m", "e2", "a"),
                       rec("DeleteDBSnapshot", "10:01:00", "m", "e3", "a"));
  tu_matches m = {0};
  errs e = {0};
  scan_with(VALUES("2", ""), data, 2, 900, &m, &e);
  cr_assert_eq(m.count, 0, "%s", m.text);
  cr_assert_str_eq(e.text, "2\tELIMIT\t1\tcorrelation 'V': the match of 'Deleted' is not counted: 2 matches are held "
                           "(limit correlation_events)\n");
  tu_matches_free(&m);
  free(data);
  /* a second match of a at the same time is not held: the alert lists the first */
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DeleteDBSnapshot", "10:00:00", "m", "e2", "a"),
                 rec("DeleteDBSnapshot", "10:00:10", "m", "e3", "b"));
  m = (tu_matches){0};
  memset(&e, 0, sizeof e);
  scan_with(VALUES("2", ""), data, 2, 900, &m, &e);
  cr_assert_eq(e.n, 0, "%s", e.text);
  cr_assert_str_eq(m.text, "2\tV\tvalue_count of Deleted within 2m (gte 2): count=2 group=(all) "
                           "events=e1@2025-01-01T10:00:00Z (Deleted), e3@2025-01-01T10:00:10Z (Deleted)\n");
  tu_matches_free(&m);
  free(data);
}

Test(correlate, value_count_lets_go_of_a_values_earlier_matches_behind_the_lateness)
{
  /* ten values in turn, one a second for two hours (1h timespan, lateness
   * 60 s): a value's earlier match is held only until a later one is more
   * than the lateness behind, so about ten latest and a lateness of earlier
   * matches are held, and a limit of 100 is never reached; z, 30 s late,
   * still finds the ten values of its window */
  size_t n = 7200, cap = (n + 1) * 600, len = 0;
  char *data = calloc(cap, 1), id[16], hms[16], val[8];
  for (size_t i = 0; i <= n; i++) {
    size_t sec = i < n ? i : n - 31;
    snprintf(id, sizeof id, "e%zu", i);
    snprintf(hms, sizeof hms, "%02zu:%02zu:%02zu", 10 + sec / 3600, sec / 60 % 60, sec % 60);
    snprintf(val, sizeof val, i < n ? "v%zu" : "z", i % 10);
    char *r = rec("DeleteDBSnapshot", hms, "m", id, val);
    len += (size_t)snprintf(data + len, cap - len, "%s", r);
    free(r);
  }
  tu_matches m = {0};
  errs e = {0};
  scan_with(BASE "title: V\ncorrelation:\n  type: value_count\n  rules: [Deleted]\n  timespan: 1h\n"
                 "  condition: {field: requestParameters.dBSnapshotIdentifier, gte: 11}\n",
            data, 100, 60, &m, &e);
  cr_assert_eq(e.n, 0, "%s", e.text);
  cr_assert_eq(m.count, 1, "%s", m.text);
  cr_assert_str_eq(m.text, "7200\tV\tvalue_count of Deleted within 1h (gte 11): count=11 group=(all) events="
                           "e7200@2025-01-01T11:59:29Z (Deleted), e7190@2025-01-01T11:59:50Z (Deleted), "
                           "e7191@2025-01-01T11:59:51Z (Deleted), e7192@2025-01-01T11:59:52Z (Deleted), "
                           "e7193@2025-01-01T11:59:53Z (Deleted), e7194@2025-01-01T11:59:54Z (Deleted), "
                           "e7195@2025-01-01T11:59:55Z (Deleted), e7196@2025-01-01T11:59:56Z (Deleted), "
                           "e7197@2025-01-01T11:59:57Z (Deleted), e7198@2025-01-01T11:59:58Z (Deleted), "
                           "e7199@2025-01-01T11:59:59Z (Deleted)\n");
  tu_matches_free(&m);
  free(data);
}

Test(correlate, value_count_rounds_at_a_standing_event_time)
{
  /* z and c hold the group and event time at 10:08:20; 60 rounds of
   * a@10:00, a@10:00:01, b@10:00:01 each fire and are spent, leaving the
   * note of a@10:00's later match behind while event time stands (notes of
   * spent matches are pruned, c@10:08:10's kept); every round alerts alike,
   * and once 10:24 moves event time on (lateness 15 m) c@10:08:10, seen
   * again at 10:08:20, is let go: d, 945 s late and near it, is reported */
  size_t rounds = 60, cap = (3 * rounds + 6) * 600, len = 0;
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:05:00", "m", "z", "z"), rec("DeleteDBSnapshot", "10:08:10", "m", "c1", "c"),
                       rec("DeleteDBSnapshot", "10:08:20", "m", "c2", "c"));
  len = strlen(data);
  data = realloc(data, cap);
  char id[16];
  for (size_t i = 0; i < rounds; i++) {
    static const char *const hms[] = {"10:00:00", "10:00:01", "10:00:01"}, *const val[] = {"a", "a", "b"};
    for (int k = 0; k < 3; k++) {
      snprintf(id, sizeof id, "r%zu_%d", i, k);
      char *r = rec("DeleteDBSnapshot", hms[k], "m", id, val[k]);
      len += (size_t)snprintf(data + len, cap - len, "%s", r);
      free(r);
    }
  }
  char *tail = TU_JOIN(rec("DeleteDBSnapshot", "10:24:00", "m", "y", "y"), rec("DeleteDBSnapshot", "10:08:15", "m", "d", "d"));
  len += (size_t)snprintf(data + len, cap - len, "%s", tail);
  free(tail);
  tu_matches m = {0};
  errs e = {0};
  scan_with(VALUES("2", ""), data, 0, 900, &m, &e);
  cr_assert_eq(m.count, rounds, "%zu alerts: %s", m.count, m.text);
  for (size_t i = 0; i < rounds; i++) {
    char want[256];
    snprintf(want, sizeof want, "%zu\tV\tvalue_count of Deleted within 2m (gte 2): count=2 group=(all) events=r%zu_1@2025-01-01T10:00:01Z "
             "(Deleted), r%zu_2@2025-01-01T10:00:01Z (Deleted)\n", 3 * i + 5, i, i);
    cr_assert(strstr(m.text, want), "round %zu: %s", i, m.text);
  }
  cr_assert_str_eq(e.text, "184\tELIMIT\t1\tcorrelation 'V': the match of 'Deleted' is not counted: its eventTime is 945 s before the "
                           "latest one seen, and matches of its group within the timespan of it were let go (limit "
                           "correlation_lateness 900 s)\n");
  tu_matches_free(&m);
  free(data);
}

Test(correlate, a_late_match_sees_what_its_group_let_go_while_other_groups_were_fed)
{
  /* z's match moves event time to 10:06, past m's e1 (lateness 1 m,
   * timespan 2 m): m lets go of e1 although m is not fed, so e3, 5 minutes
   * late and a minute after e1, is reported rather than counted alone (it
   * was, silently, while groups let go only when fed: test_correlate_model) */
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "s"), rec("DeleteDBSnapshot", "10:06:00", "z", "e2", "s"),
                       rec("DeleteDBSnapshot", "10:01:00", "m", "e3", "s"));
  tu_matches m = {0};
  errs e = {0};
  scan_with(EVENT_COUNT("2", "2m"), data, 0, 60, &m, &e);
  cr_assert_eq(m.count, 0, "%s", m.text);
  cr_assert_str_eq(e.text, "2\tELIMIT\t1\tcorrelation 'Mass Deletion': the match of 'Deleted' is not counted: its "
                           "eventTime is 300 s before the latest one seen, and matches of its group within the timespan of it "
                           "were let go (limit correlation_lateness 60 s)\n");
  tu_matches_free(&m);
  free(data);
}

Test(correlate, at_most_correlation_events_periods_let_go_are_remembered)
{
  /* m lets go of four periods (10 s timespan, lateness 1 s, matches 20 s
   * apart); z's match 50 s late lost nothing: counted while four fit the
   * limit, reported once they do not (the set is full: every late match is) */
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "s"), rec("DeleteDBSnapshot", "10:00:20", "m", "e2", "s"),
                       rec("DeleteDBSnapshot", "10:00:40", "m", "e3", "s"), rec("DeleteDBSnapshot", "10:01:00", "m", "e4", "s"),
                       rec("DeleteDBSnapshot", "10:01:20", "m", "e5", "s"), rec("DeleteDBSnapshot", "10:00:30", "z", "e6", "s"));
  for (uint64_t limit = 3; limit <= 4; limit++) {
    tu_matches m = {0};
    errs e = {0};
    scan_with(EVENT_COUNT("100", "10s"), data, limit, 1, &m, &e);
    cr_assert_eq(m.count, 0, "%s", m.text);
    if (limit == 4)
      cr_assert_eq(e.n, 0, "%s", e.text);
    else /* was counted: the set took as many as its table had room for (8) */
      cr_assert_str_eq(e.text, "5\tELIMIT\t1\tcorrelation 'Mass Deletion': the match of 'Deleted' is not counted: its "
                               "eventTime is 50 s before the latest one seen, and matches of its group within the timespan of "
                               "it were let go (limit correlation_lateness 1 s)\n");
    tu_matches_free(&m);
  }
  free(data);
}

/* One record of the placement test: its second from 10:00:00 (negative:
 * before it) and its place in the feed. */
typedef struct placed {
  int sec;
  size_t arrival;
} placed;

static int placed_cmp(const void *a, const void *b)
{
  const placed *x = a, *y = b;
  return x->sec != y->sec ? (x->sec > y->sec) - (x->sec < y->sec) : (x->arrival > y->arrival) - (x->arrival < y->arrival);
}

/* Collects alerts as tu_collect does, whatever their length (a listing of
 * hundreds of events). */
static int on_whole(const ctr_match *m, void *ud)
{
  tu_appendf(ud, "%llu\t%s\t%s\n", (unsigned long long)ctr_match_record_index(m), ctr_match_rule(m), ctr_match_output(m));
  return 0;
}

static void hms_of(int sec, char out[16])
{
  int s = 10 * 3600 + sec;
  snprintf(out, 16, "%02d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
}

Test(correlate, matches_placed_anywhere_in_a_long_group_are_listed_in_event_time_order)
{
  /* One group of 700 matches (docs/sigma.md: a group's matches are kept
   * in a gap buffer): a source in time order at even seconds, a second one
   * at odd seconds read after it (each next to the one before), 50 placed
   * at the front one by one (each earlier than all), 25 ties of held
   * times (after them, as read), 24 at the end and, last, one in the middle.
   * gte 700 over 1h fires on the last, listing all 700 in eventTime order,
   * ties in the order read; at an events limit of 699 the last is reported. */
  placed p[700];
  size_t n = 0;
  for (int i = 0; i < 300; i++)
    p[n] = (placed){2 * i, n}, n++;
  for (int i = 0; i < 300; i++)
    p[n] = (placed){2 * i + 1, n}, n++;
  for (int i = 1; i <= 50; i++)
    p[n] = (placed){-i, n}, n++;
  for (int i = 0; i < 25; i++)
    p[n] = (placed){100 + 2 * i, n}, n++;
  for (int i = 0; i < 24; i++)
    p[n] = (placed){600 + i, n}, n++;
  p[n] = (placed){301, n}, n++;
  tu_text data = {0}, want = {0};
  char id[16], hms[16];
  for (size_t i = 0; i < n; i++) {
    snprintf(id, sizeof id, "e%zu", p[i].arrival);
    hms_of(p[i].sec, hms);
    char *r = rec("DeleteDBSnapshot", hms, "m", id, "s");
    tu_appendf(&data, "%s", r);
    free(r);
  }
  qsort(p, n, sizeof *p, placed_cmp);
  tu_appendf(&want, "699\tC\tevent_count of Deleted within 1h (gte 700): count=700 group=(all) events=");
  for (size_t i = 0; i < n; i++) {
    hms_of(p[i].sec, hms);
    tu_appendf(&want, "%se%zu@2025-01-01T%sZ (Deleted)", i ? ", " : "", p[i].arrival, hms);
  }
  tu_appendf(&want, "\n");
  const char *yaml = BASE "title: C\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n  timespan: 1h\n"
                          "  condition: {gte: 700}\n";
  ctr_ruleset *rs = compile(yaml);
  ctr_scanner *sc;
  tu_text got = {0};
  cr_assert_eq(ctr_scanner_new(rs, on_whole, &got, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_CORRELATION_EVENTS, 700), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, data.s, data.len), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_str_eq(got.s, want.s);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  free(got.s);
  tu_matches m = {0};
  errs e = {0};
  scan_with(yaml, data.s, 699, 900, &m, &e);
  cr_assert_eq(m.count, 0, "%s", m.text);
  cr_assert_str_eq(e.text, "699\tELIMIT\t1\tcorrelation 'C': the match of 'Deleted' is not counted: 699 matches are "
                           "held (limit correlation_events)\n");
  tu_matches_free(&m);
  free(data.s);
  free(want.s);
}

Test(correlate, old_matches_let_go_while_a_late_match_sits_among_them)
{
  /* gte 4 over 2m, lateness 60 s. e4 comes late and sits among the held
   * matches, not after the last; e5 moves event time on and e1, e2 (and e4
   * when it is the earliest) are let go before e5 is placed. e3, e5, e6, e7
   * then fire on e7, as they would have without e4 */
  static const char *const late[] = {"10:02:05", /* 55 s late: between e2 and e3 */
                                     "10:00:10"}; /* 170 s late, nothing let go yet: between e1 and e2 */
  for (size_t k = 0; k < 2; k++) {
    char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "s"), rec("DeleteDBSnapshot", "10:00:20", "m", "e2", "s"),
                         rec("DeleteDBSnapshot", "10:03:00", "m", "e3", "s"), rec("DeleteDBSnapshot", late[k], "m", "e4", "s"),
                         rec("DeleteDBSnapshot", "10:04:50", "m", "e5", "s"), rec("DeleteDBSnapshot", "10:04:55", "m", "e6", "s"),
                         rec("DeleteDBSnapshot", "10:05:00", "m", "e7", "s"));
    tu_matches m = {0};
    errs e = {0};
    scan_with(EVENT_COUNT("4", "2m"), data, 0, 60, &m, &e);
    cr_assert_eq(e.n, 0, "%s", e.text);
    cr_assert_str_eq(m.text, "6\tMass Deletion\tevent_count of Deleted within 2m (gte 4): count=4 "
                             "group=userIdentity.arn=arn:aws:iam::1:user/m events=e3@2025-01-01T10:03:00Z (Deleted), "
                             "e5@2025-01-01T10:04:50Z (Deleted), e6@2025-01-01T10:04:55Z (Deleted), "
                             "e7@2025-01-01T10:05:00Z (Deleted)\n",
                     "e4 at %s", late[k]);
    tu_matches_free(&m);
    free(data);
  }
}

Test(correlate, old_matches_expire_as_event_time_advances)
{
  /* 1,400 principals, one deletion a minute: never more than the lateness
   * (60 s) and the timespan (2 m) worth of matches is held, so a limit of 10
   * is never reached */
  size_t n = 1400, cap = n * 600;
  char *data = calloc(cap, 1), name[16], id[16], hms[16];
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    snprintf(name, sizeof name, "u%zu", i);
    snprintf(id, sizeof id, "e%zu", i);
    snprintf(hms, sizeof hms, "%02zu:%02zu:00", i / 60, i % 60);
    char *r = rec("DeleteDBSnapshot", hms, name, id, "s");
    len += (size_t)snprintf(data + len, cap - len, "%s", r);
    free(r);
  }
  tu_matches m = {0};
  errs e = {0};
  scan_with(EVENT_COUNT("2", "2m"), data, 10, 60, &m, &e);
  cr_assert_eq(e.n, 0, "%s", e.text);
  cr_assert_eq(m.count, 0);
  tu_matches_free(&m);
  free(data);
}

Test(correlate, one_long_group_is_held_for_its_timespan_and_lateness_only)
{
  /* 5,000 deletions by one principal a second apart, a threshold never met:
   * the group holds about a timespan (60 s) and a lateness (60 s) of them,
   * so a limit of 200 is never reached, however long the stream */
  size_t n = 5000, cap = n * 600, len = 0;
  char *data = calloc(cap, 1), id[16], hms[16];
  for (size_t i = 0; i < n; i++) {
    snprintf(id, sizeof id, "e%zu", i);
    snprintf(hms, sizeof hms, "%02zu:%02zu:%02zu", 10 + i / 3600, i / 60 % 60, i % 60);
    char *r = rec("DeleteDBSnapshot", hms, "m", id, "s");
    len += (size_t)snprintf(data + len, cap - len, "%s", r);
    free(r);
  }
  tu_matches m = {0};
  errs e = {0};
  scan_with(EVENT_COUNT("1000", "1m"), data, 200, 60, &m, &e);
  cr_assert_eq(e.n, 0, "%s", e.text);
  cr_assert_eq(m.count, 0);
  tu_matches_free(&m);
  /* with a threshold of 61 it fires at the 61st of a window, and again 61 later */
  m = (tu_matches){0};
  scan_with(EVENT_COUNT("61", "1m"), data, 200, 60, &m, &e);
  cr_assert_eq(e.n, 0, "%s", e.text);
  cr_assert_eq(m.count, n / 61, "%zu alerts", m.count);
  cr_assert(strncmp(m.text, "60\tMass Deletion\t", 17) == 0, "%s", m.text);
  tu_matches_free(&m);
  free(data);
}

Test(correlate, a_flood_of_one_rule_then_the_next_in_order)
{
  /* 3,000 snapshots created a second apart, then one shared: the sequence
   * created -> shared holds with the latest creation (the shortest chain) */
  size_t n = 3000, cap = (n + 1) * 600, len = 0;
  char *data = calloc(cap, 1), id[16], hms[16];
  for (size_t i = 0; i <= n; i++) {
    snprintf(id, sizeof id, "e%zu", i);
    snprintf(hms, sizeof hms, "%02zu:%02zu:%02zu", 10 + i / 3600, i / 60 % 60, i % 60);
    char *r = rec(i < n ? "CreateDBSnapshot" : "ModifyDBSnapshotAttribute", hms, "m", id, "s");
    len += (size_t)snprintf(data + len, cap - len, "%s", r);
    free(r);
  }
  tu_matches m = {0};
  errs e = {0};
  scan_with(BASE "title: Two\ncorrelation:\n  type: temporal_ordered\n  rules: [Created, Shared]\n  timespan: 1h\n",
            data, 0, 0, &m, &e);
  cr_assert_eq(e.n, 0, "%s", e.text);
  cr_assert_str_eq(m.text, "3000\tTwo\ttemporal_ordered of Created, Shared within 1h (every rule, in order): count=2 "
                           "group=(all) events=e2999@2025-01-01T10:49:59Z (Created), e3000@2025-01-01T10:50:00Z (Shared)\n");
  tu_matches_free(&m);
  free(data);
}

/* CTR_STAT_INCOMPLETE counts records, not reports: a record without
 * awsRegion and with no valid eventTime gets two reports (incomplete; its
 * match not counted) and counts once, and the correlation's report counts
 * nowhere. Counted twice, it made "bad + incomplete >= records" true for an
 * input that also holds a good record, which every interface then said held
 * no CloudTrail record. */
Test(correlate, a_record_with_two_reports_counts_once)
{
  char *odd = rec("DeleteDBSnapshot", "99:00:00", "m", "e1", "s");
  char *cut = strstr(odd, "\"awsRegion\":\"us-east-1\",");
  cr_assert_not_null(cut);
  memmove(cut, cut + strlen("\"awsRegion\":\"us-east-1\","), strlen(cut + strlen("\"awsRegion\":\"us-east-1\",")) + 1);
  char *data = TU_JOIN(odd, rec("DescribeDBSnapshots", "10:00:01", "m", "e2", "s"));
  tu_matches m = {0};
  errs e = {0};
  scan_with(EVENT_COUNT("2", "1h"), data, 0, 0, &m, &e);
  cr_assert_eq(e.n, 2, "%s", e.text);
  cr_assert(strstr(e.text, "0\tEDATA\t1\tincomplete CloudTrail record: no string awsRegion"), "%s", e.text);
  cr_assert(strstr(e.text, "0\tEDATA\t1\tcorrelation 'Mass Deletion': the match of 'Deleted' is not counted: the "
                           "record has no valid eventTime\n"), "%s", e.text);
  cr_assert_eq(e.incomplete, 1);
  tu_matches_free(&m);
  free(data);
}

Test(correlate, matches_that_cannot_be_placed)
{
  /* no valid eventTime: reported; no group-by value: joins no group */
  char *bad = rec("DeleteDBSnapshot", "99:00:00", "m", "e1", "s");
  char *data = TU_JOIN(bad, strdup("{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-01-01T10:00:00Z\",\"awsRegion\":\"r\","
                                "\"eventID\":\"e2\",\"eventType\":\"AwsApiCall\",\"eventSource\":\"rds.amazonaws.com\","
                                "\"eventName\":\"DeleteDBSnapshot\",\"userIdentity\":{\"type\":\"AWSService\"}}\n"),
                    rec("DeleteDBSnapshot", "10:00:01", "m", "e3", "s"));
  tu_matches m = {0};
  errs e = {0};
  scan_with(EVENT_COUNT("2", "1h"), data, 0, 0, &m, &e);
  cr_assert_eq(m.count, 0, "%s", m.text);
  cr_assert_str_eq(e.text, "0\tEDATA\t1\tcorrelation 'Mass Deletion': the match of 'Deleted' is not counted: the "
                           "record has no valid eventTime\n");
  tu_matches_free(&m);
  free(data);
  /* the second of two group-by fields absent, the first present: no group, no error */
  data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "s"), rec("DeleteDBSnapshot", "10:00:01", "m", "e2", "s"));
  m = (tu_matches){0};
  memset(&e, 0, sizeof e);
  scan_with(BASE "title: T\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n"
                 "  group-by: [userIdentity.arn, requestParameters.nothere]\n  timespan: 1h\n  condition: {gte: 2}\n",
            data, 0, 0, &m, &e);
  cr_assert_eq(m.count, 0, "%s", m.text);
  cr_assert_eq(e.n, 0, "%s", e.text);
  tu_matches_free(&m);
  free(data);
}

Test(correlate, what_a_correlation_may_name)
{
  /* another correlation: no rule of that name is defined */
  char diags[4096];
  const char *y = EVENT_COUNT("2", "1h") "---\ntitle: Chained\ncorrelation:\n  type: temporal\n  rules: [Mass Deletion]\n"
                                         "  timespan: 1h\n";
  cr_assert_null(tu_compile(y, diags, sizeof diags));
  cr_assert(strstr(diags, "'Mass Deletion' names no rule defined before this correlation"), "%s", diags);
  /* a rule dropped by skip-if-unknown-filter: an error at the reference */
  y = "- rule: Gone\n  desc: d\n  condition: no.such.field = 1\n  output: o\n  priority: NOTICE\n"
      "  skip-if-unknown-filter: true\n---\ntitle: C\ncorrelation:\n  type: temporal\n  rules: [Gone]\n  timespan: 1h\n";
  cr_assert_null(tu_compile(y, diags, sizeof diags));
  cr_assert(strstr(diags, ":11:11: error: 'Gone' names no compiled rule"), "%s", diags);
  /* a disabled rule: a warning, the correlation compiles */
  y = "- rule: Off\n  desc: d\n  condition: ct.name = X\n  output: o\n  priority: NOTICE\n  enabled: false\n"
      "---\ntitle: C\ncorrelation:\n  type: temporal\n  rules: [Off]\n  timespan: 1h\n";
  ctr_ruleset *rs = tu_compile(y, diags, sizeof diags);
  cr_assert_not_null(rs, "%s", diags);
  cr_assert(strstr(diags, "rules.yaml:11:11: warning: rule 'Off' is disabled: this correlation cannot fire"), "%s", diags);
  ctr_ruleset_unref(rs);
}

Test(correlate, a_correlation_counts_against_the_rules_limit)
{
  const char *y = BASE "title: C1\ncorrelation:\n  type: temporal\n  rules: [Deleted]\n  timespan: 1h\n---\n"
                       "title: C2\ncorrelation:\n  type: temporal\n  rules: [Deleted]\n  timespan: 1h\n";
  for (uint64_t limit = 4; limit <= 5; limit++) {
    ctr_compiler *c;
    cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
    cr_assert_eq(ctr_compiler_set_limit(c, CTR_LIMIT_RULES, limit), CTR_OK);
    int rc = ctr_compiler_add_string(c, y, strlen(y), "c.yml");
    if (limit == 4) { /* three rules and C1 fit; C2 is the fifth */
      cr_assert_eq(rc, CTR_ESYNTAX);
      cr_assert_str_eq(ctr_diag_text(ctr_compiler_diag(c, 0)), "c.yml:30:8: error: more than 4 rules (limit rules) (in 'C2')");
    } else {
      cr_assert_eq(rc, CTR_OK);
    }
    ctr_compiler_free(c);
  }
}

Test(correlate, the_state_outlives_reset_one_stream_of_event_time_across_files)
{
  ctr_ruleset *rs = compile(EVENT_COUNT("2", "1h"));
  tu_matches m = {0};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, tu_collect, &m, &sc), CTR_OK);
  char *a = rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "s"), *b = rec("DeleteDBSnapshot", "10:30:00", "m", "e2", "s");
  cr_assert_eq(ctr_scanner_feed(sc, a, strlen(a)), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  ctr_scanner_reset(sc);
  cr_assert_eq(ctr_scanner_feed(sc, b, strlen(b)), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_eq(m.count, 1, "%s", m.text);
  cr_assert(strstr(m.text, "0\tMass Deletion\t"), "%s", m.text); /* record 0 of the second file */
  ctr_scanner_free(sc);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
  free(a);
  free(b);
}

/* The RDS correlations (libctrule/rules/aws_rds_correlations.yaml, part of
 * the built-in ruleset) on their fixtures, in every chunking: each fires
 * once, at the record that completes it, and no near-miss of the file makes
 * another. */
Test(correlate, the_rds_correlations_on_their_fixtures)
{
  static const struct {
    const char *file, *rule, *at;
  } cases[] = {
    {"rds_snapshot_exfiltration_sequence", "RDS Snapshot Exfiltration Sequence", "2\tRDS Snapshot Exfiltration Sequence\t"},
    {"rds_mass_deletion", "RDS Mass Deletion", "5\tRDS Mass Deletion\t"},
    {"rds_database_public_window", "RDS Database Public Window", "1\tRDS Database Public Window\t"},
  };
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_builtin(c, "rds"), CTR_OK);
  ctr_ruleset *rs;
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  cr_assert_eq(ctr_compiler_diag_count(c), 0); /* not a warning */
  ctr_compiler_free(c);
  size_t ncorr = 0;
  for (size_t i = 0; i < ctr_ruleset_rule_count(rs); i++)
    for (size_t t = 0; t < ctr_ruleset_rule_tag_count(rs, i); t++)
      ncorr += strcmp(ctr_ruleset_rule_tag(rs, i, t), "sigma.correlation") == 0;
  cr_assert_eq(ncorr, 3);
  size_t ylen;
  const char *yaml = ctr_builtin_yaml("rds", &ylen);
  cr_assert(yaml && strstr(yaml, "\n---\n") && strstr(yaml, "title: RDS Mass Deletion"));
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[256];
    snprintf(path, sizeof path, "../libctrule/rules/correlation_tests/%s.ndjson", cases[i].file);
    size_t len;
    char *data = tu_read(tu_tests(path), &len);
    static const size_t chunks[] = {0, 1, 5, 333, 4096};
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
      tu_matches m = {0};
      cr_assert_eq(tu_scan(rs, data, len, chunks[k], 0, &m), CTR_OK);
      cr_assert(strstr(m.text, cases[i].at), "%s: %s", cases[i].file, m.text);
      char needle[128];
      snprintf(needle, sizeof needle, "\t%s\t", cases[i].rule);
      cr_assert_eq(count_of(m.text, needle), 1, "%s: %s", cases[i].file, m.text);
      cr_assert_eq(count_of(m.text, "Sequence\t") + count_of(m.text, "Mass Deletion\t") + count_of(m.text, "Public Window\t"), 1,
                   "%s: another correlation fired: %s", cases[i].file, m.text);
      tu_matches_free(&m);
    }
    free(data);
  }
  ctr_ruleset_unref(rs);
}

/* ------------------------------------------------------------ correlating elsewhere */

/* What a CTR_SCAN_NO_CORRELATION scanner delivers: "index rule silenced"
 * lines, and each record with a match kept once (raw), as the CLI keeps it. */
typedef struct fwd {
  char text[4096];
  size_t len;
  char *raw[32];
  unsigned long long index[32];
  size_t nraw;
} fwd;

static int on_fwd(const ctr_match *m, void *ud)
{
  fwd *f = ud;
  unsigned long long idx = (unsigned long long)ctr_match_record_index(m);
  f->len += (size_t)snprintf(f->text + f->len, sizeof f->text - f->len, "%llu %s %d\n", idx, ctr_match_rule(m),
                             ctr_match_silenced(m));
  if (!f->nraw || f->index[f->nraw - 1] != idx) {
    cr_assert(f->nraw < 32);
    size_t n;
    const char *e = ctr_match_event(m, &n);
    f->raw[f->nraw] = strndup(e, n);
    f->index[f->nraw++] = idx;
  }
  return 0;
}

Test(correlate, no_correlation_delivers_every_match_marking_the_silenced)
{
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("CreateDBSnapshot", "10:00:01", "m", "e2", "a"),
                    rec("DeleteDBSnapshot", "10:00:02", "m", "e3", "a"));
  ctr_ruleset *rs = compile(EVENT_COUNT("2", "1m")); /* generate: false: Deleted is silenced */
  fwd f = {0};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, on_fwd, &f, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_set_flags(sc, CTR_SCAN_NO_CORRELATION | CTR_SCAN_ONLY_CORRELATION), CTR_EINVAL);
  cr_assert_eq(ctr_scanner_set_flags(sc, CTR_SCAN_NO_CORRELATION), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, data, strlen(data)), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_str_eq(f.text, "0 Deleted 1\n1 Created 0\n2 Deleted 1\n"); /* no Mass Deletion */
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_MATCHES), 3);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  for (size_t i = 0; i < f.nraw; i++)
    free(f.raw[i]);
  /* generate: true silences nothing */
  rs = compile(BASE "title: G\ncorrelation:\n  type: event_count\n  rules: [Deleted]\n  timespan: 1m\n"
                    "  condition: {gte: 2}\n  generate: true\n");
  memset(&f, 0, sizeof f);
  cr_assert_eq(ctr_scanner_new(rs, on_fwd, &f, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_set_flags(sc, CTR_SCAN_NO_CORRELATION), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, data, strlen(data)), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_str_eq(f.text, "0 Deleted 0\n1 Created 0\n2 Deleted 0\n");
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  for (size_t i = 0; i < f.nraw; i++)
    free(f.raw[i]);
  free(data);
}

Test(correlate, only_correlation_delivers_and_counts_correlation_alerts_alone)
{
  char *data = TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("CreateDBSnapshot", "10:00:01", "m", "e2", "a"),
                    rec("DeleteDBSnapshot", "10:00:02", "m", "e3", "a"));
  const char *ys[] = {EVENT_COUNT("2", "1m"), BASE "title: Mass Deletion\ncorrelation:\n  type: event_count\n"
                                                   "  rules: [Deleted]\n  timespan: 1m\n  condition: {gte: 2}\n  generate: true\n"};
  for (size_t i = 0; i < 2; i++) { /* generate false and true alike */
    ctr_ruleset *rs = compile(ys[i]);
    tu_matches m = {0};
    cr_assert_eq(tu_scan(rs, data, strlen(data), 0, CTR_SCAN_ONLY_CORRELATION, &m), CTR_OK);
    cr_assert_eq(m.count, 1, "%s", m.text);
    cr_assert(strncmp(m.text, "2\tMass Deletion\t", 16) == 0, "%s", m.text);
    tu_matches_free(&m);
    ctr_ruleset_unref(rs);
  }
  free(data);
}

/* A NO_CORRELATION scanner per "file", its records with a match forwarded one
 * by one to one ONLY_CORRELATION scanner: the correlation alerts of one
 * scanner reading both files, and the forwarded records' reports not made
 * twice (an incomplete record: no eventVersion). */
Test(correlate, forwarding_matched_records_correlates_as_one_scanner)
{
  ctr_ruleset *rs = compile(EVENT_COUNT("3", "1h"));
  char *files[2] = {TU_JOIN(rec("DeleteDBSnapshot", "10:00:00", "m", "e1", "a"), rec("DescribeDBSnapshots", "10:00:01", "m", "x", "a"),
                         rec("DeleteDBSnapshot", "10:00:02", "o", "e2", "a")),
                    TU_JOIN(rec("DeleteDBSnapshot", "10:10:00", "m", "e3", "a"),
                         strdup("{\"eventTime\":\"2025-01-01T10:20:00Z\",\"eventID\":\"e4\","
                                "\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"DeleteDBSnapshot\",\"awsRegion\":\"us-east-1\","
                                "\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::1:user/m\"}}\n"))};
  /* one scanner over both */
  tu_matches whole = {0};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, tu_collect, &whole, &sc), CTR_OK);
  for (int i = 0; i < 2; i++) {
    ctr_scanner_reset(sc);
    cr_assert_eq(ctr_scanner_feed(sc, files[i], strlen(files[i])), CTR_OK);
    cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  }
  ctr_scanner_free(sc);
  cr_assert_eq(whole.count, 1, "%s", whole.text);
  /* forwarded */
  tu_matches corr = {0};
  errs e = {0};
  ctr_scanner *cs;
  cr_assert_eq(ctr_scanner_new(rs, tu_collect, &corr, &cs), CTR_OK);
  ctr_scanner_set_error_callback(cs, on_err, &e);
  cr_assert_eq(ctr_scanner_set_flags(cs, CTR_SCAN_ONLY_CORRELATION), CTR_OK);
  size_t forwarded = 0;
  for (int i = 0; i < 2; i++) {
    fwd f = {0};
    cr_assert_eq(ctr_scanner_new(rs, on_fwd, &f, &sc), CTR_OK);
    cr_assert_eq(ctr_scanner_set_flags(sc, CTR_SCAN_NO_CORRELATION), CTR_OK);
    cr_assert_eq(ctr_scanner_feed(sc, files[i], strlen(files[i])), CTR_OK);
    cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
    if (i == 1)
      cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_INCOMPLETE), 1); /* reported here ... */
    ctr_scanner_free(sc);
    for (size_t k = 0; k < f.nraw; k++, forwarded++) {
      ctr_scanner_reset(cs);
      cr_assert_eq(ctr_scanner_feed(cs, f.raw[k], strlen(f.raw[k])), CTR_OK);
      cr_assert_eq(ctr_scanner_finish(cs), CTR_OK);
      free(f.raw[k]);
    }
    free(files[i]);
  }
  cr_assert_eq(forwarded, 4);
  cr_assert_eq(e.n, 0, "%s", e.text); /* ... and not again */
  cr_assert_eq(ctr_scanner_stat(cs, CTR_STAT_MATCHES), 1);
  ctr_scanner_free(cs);
  /* record 0 of the last forwarded record for the one, the file's record 1 for the other */
  const char *a = strchr(whole.text, '\t'), *b = strchr(corr.text, '\t');
  cr_assert(a && b && strncmp(whole.text, "1\t", 2) == 0 && strncmp(corr.text, "0\t", 2) == 0, "%s / %s", whole.text, corr.text);
  cr_assert_str_eq(b, a);
  tu_matches_free(&whole);
  tu_matches_free(&corr);
  ctr_ruleset_unref(rs);
}
