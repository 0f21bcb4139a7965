/* test_correlate_bounds.c - Sigma event_count / value_count conditions with
 * an upper bound (lt, lte, eq, neq, ranges) through the public API: a
 * group's window starts at its earliest unspent match and is decided when
 * it closes (the event time of an evaluated record passes its end plus the
 * lateness, or the stream ends), in every chunking; a match after the
 * decision starts a new window; the events limit leaves a window undecided,
 * reported (docs/sigma.md, "Correlation rules"). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrule.h"
#include "testutil.h"

/* Deleted: a Sigma rule on DeleteDBSnapshot. Tick: a Falco rule whose
 * records (by ops) are evaluated (StopDBInstance is in its index, and no
 * literal of the record rules them out) and never match: they only move
 * event time on. */
#define BASE                                                                                                  \
  "- rule: Tick\n  desc: t\n  condition: ct.name = StopDBInstance and not ct.user = ops\n  output: t\n"       \
  "  priority: NOTICE\n  source: aws_cloudtrail\n"                                                          \
  "---\ntitle: Deleted\nlogsource: {product: aws, service: cloudtrail}\n"                                   \
  "detection:\n  s: {eventName: DeleteDBSnapshot}\n  condition: s\nlevel: low\n---\n"

/* A correlation "Few" over Deleted by user, within 1m, on `cond`. */
static char *corr(const char *type, const char *cond)
{
  char *s;
  cr_assert(asprintf(&s,
                     BASE "title: Few\ncorrelation:\n  type: %s\n  rules: [Deleted]\n  group-by: [userIdentity.userName]\n"
                          "  timespan: 1m\n  condition: %s\nlevel: high\n",
                     type, cond) > 0);
  return s;
}

/* A record at 10:HH:MM:SS... given as "MM:SS": DeleteDBSnapshot by user
 * (NULL: a Tick record), with an eventID and a snapshot name. */
static char *rec(const char *ms, const char *user, const char *id, const char *snap)
{
  char *s;
  cr_assert(asprintf(&s,
                     "{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-01-01T10:%sZ\",\"awsRegion\":\"us-east-1\","
                     "\"eventID\":\"%s\",\"eventType\":\"AwsApiCall\",\"eventSource\":\"rds.amazonaws.com\","
                     "\"eventName\":\"%s\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"%s\","
                     "\"arn\":\"arn:aws:iam::1:user/%s\",\"accountId\":\"1\"},"
                     "\"requestParameters\":{\"dBSnapshotIdentifier\":\"%s\"}}\n",
                     ms, id, user ? "DeleteDBSnapshot" : "StopDBInstance", user ? user : "ops", user ? user : "ops",
                     snap) > 0);
  return s;
}



/* A match as "index rule count=N group ids", the ids of its events in order
 * (e1,e5); a Deleted match (generate: true) as "index Deleted id". */
static int on_match(const ctr_match *m, void *ud)
{
  const char *count = "", *group = "", *events = "";
  if (strcmp(ctr_match_rule(m), "Few") != 0) {
    size_t len;
    const char *ev = ctr_match_event(m, &len);
    const char *id = memmem(ev, len, "\"eventID\":\"", 11);
    cr_assert_not_null(id);
    tu_appendf(ud, "%llu %s %.2s\n", (unsigned long long)ctr_match_record_index(m), ctr_match_rule(m), id + 11);
    return 0;
  }
  cr_assert_eq(ctr_match_field(m, "correlation.count", &count), CTR_OK);
  cr_assert_eq(ctr_match_field(m, "correlation.group", &group), CTR_OK);
  cr_assert_eq(ctr_match_field(m, "correlation.events", &events), CTR_OK);
  char *ids = calloc(strlen(events) + 1, 1), *w = ids; /* the ids are shorter than the list */
  for (const char *p = events; *p;) { /* "e1@time (Deleted), e5@time (Deleted)" */
    size_t n = strcspn(p, "@");
    memcpy(w, p, n);
    w += n;
    p = strstr(p, ", ");
    if (!p)
      break;
    p += 2;
    *w++ = ',';
  }
  /* the alert's event is the window's last match's */
  const char *last = strrchr(ids, ',') ? strrchr(ids, ',') + 1 : ids;
  char want[64];
  snprintf(want, sizeof want, "\"eventID\":\"%s\"", last);
  size_t len;
  const char *ev = ctr_match_event(m, &len);
  cr_assert_not_null(memmem(ev, len, want, strlen(want)), "%.*s", (int)len, ev);
  tu_appendf(ud, "%llu Few count=%s %s %s\n", (unsigned long long)ctr_match_record_index(m), count,
      strchr(group, '=') + 1, ids);
  free(ids);
  return 0;
}

static void on_error(const ctr_record_error *e, void *ud)
{
  tu_appendf(ud, "%llu %s %s\n", (unsigned long long)ctr_record_error_index(e),
      ctr_record_error_status(e) == CTR_ELIMIT ? "ELIMIT" : "other",
      ctr_record_error_message(e));
}

/* What a scan of data under yaml reports (matches and errors, in order),
 * the same in every chunking; lateness in seconds, limit: events held (0:
 * the defaults). */
static char *scan(const char *yaml, const char *data, uint64_t lateness, uint64_t limit)
{
  char diags[4096];
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert(rs != NULL, "did not compile:\n%s\n%s", yaml, diags);
  char *first = NULL;
  static const size_t chunks[] = {0, 1, 2, 3, 7, 64, 1000};
  size_t len = strlen(data);
  for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    tu_text o = {calloc(1, 1), 0, 1};
    ctr_scanner *sc;
    cr_assert_eq(ctr_scanner_new(rs, on_match, &o, &sc), CTR_OK);
    ctr_scanner_set_error_callback(sc, on_error, &o);
    cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_CORRELATION_LATENESS, lateness), CTR_OK);
    if (limit)
      cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_CORRELATION_EVENTS, limit), CTR_OK);
    size_t chunk = chunks[i] ? chunks[i] : len;
    for (size_t at = 0; at < len; at += chunk)
      cr_assert_eq(ctr_scanner_feed(sc, data + at, len - at < chunk ? len - at : chunk), CTR_OK);
    cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
    ctr_scanner_free(sc);
    if (!first)
      first = o.s;
    else {
      cr_assert_str_eq(o.s, first, "chunk %zu", chunks[i]);
      free(o.s);
    }
  }
  ctr_ruleset_unref(rs);
  return first;
}

/* a: e1, e5 in its first minute (then e6 later, alone); b: e2, e3, e4 in its first minute;
 * a Tick record at 10:02:00 (index 5) and the last record, e6 at 10:03:00 (index 6). */
static char *stream(void)
{
  return TU_JOIN(rec("00:00", "a", "e1", "s"), rec("00:10", "b", "e2", "s"), rec("00:20", "b", "e3", "s"),
              rec("00:30", "b", "e4", "s"), rec("00:50", "a", "e5", "s"), rec("02:00", NULL, "t1", "s"),
              rec("03:00", "a", "e6", "s"));
}

static void expect(const char *type, const char *cond, uint64_t lateness, const char *want)
{
  char *yaml = corr(type, cond), *data = stream();
  char *got = scan(yaml, data, lateness, 0);
  cr_assert_str_eq(got, want, "%s %s, lateness %llu", type, cond, (unsigned long long)lateness);
  free(got);
  free(data);
  free(yaml);
}

Test(correlate_bounds, each_comparison_fires_when_its_window_closes_and_not_otherwise)
{
  /* lateness 1 s (the least: 0 is the default): a's and b's first windows (10:00:00-10:01:00, 10:00:10-10:01:10) close at the Tick
   * record (index 5), in the order they end; a's second window (e6) at the stream's end, on the last record */
  expect("event_count", "{lt: 3}", 1, "5 Few count=2 a e1,e5\n6 Few count=1 a e6\n");
  expect("event_count", "{lte: 2}", 1, "5 Few count=2 a e1,e5\n6 Few count=1 a e6\n");
  expect("event_count", "{lte: 1}", 1, "6 Few count=1 a e6\n");
  expect("event_count", "{lt: 1000}", 1, "5 Few count=2 a e1,e5\n5 Few count=3 b e2,e3,e4\n6 Few count=1 a e6\n");
  expect("event_count", "{eq: 3}", 1, "5 Few count=3 b e2,e3,e4\n");
  expect("event_count", "{eq: 4}", 1, "");
  expect("event_count", "{neq: 2}", 1, "5 Few count=3 b e2,e3,e4\n6 Few count=1 a e6\n");
  expect("event_count", "{gte: 2, lte: 2}", 1, "5 Few count=2 a e1,e5\n");
  expect("event_count", "{gt: 1, lt: 4}", 1, "5 Few count=2 a e1,e5\n5 Few count=3 b e2,e3,e4\n");
  expect("event_count", "{gte: 2, lte: 3, neq: 3}", 1, "5 Few count=2 a e1,e5\n");
}

Test(correlate_bounds, the_lateness_holds_a_window_open_until_event_time_passes_it)
{
  /* lateness 61 s: a's window ends at 10:01:00, so 10:02:00 does not close it (10:02:01 would);
   * 10:03:00 (e6) does, before e6 is counted; b's (10:01:10 + 61 s) too */
  expect("event_count", "{lt: 1000}", 61, "6 Few count=2 a e1,e5\n6 Few count=3 b e2,e3,e4\n6 Few count=1 a e6\n");
  /* passing is later than: with 60 s, 10:02:00 is a's end plus the lateness, and does not close it */
  expect("event_count", "{lt: 1000}", 60, "6 Few count=2 a e1,e5\n6 Few count=3 b e2,e3,e4\n6 Few count=1 a e6\n");
  expect("event_count", "{lt: 1000}", 59, "5 Few count=2 a e1,e5\n6 Few count=3 b e2,e3,e4\n6 Few count=1 a e6\n");
  /* the default lateness (900 s): nothing closes before the stream's end, all on the last record */
  char *yaml = corr("event_count", "{lt: 1000}"), *data = stream();
  char diags[1024];
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert_not_null(rs, "%s", diags);
  tu_text o = {calloc(1, 1), 0, 1};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, on_match, &o, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, data, strlen(data)), CTR_OK);
  cr_assert_str_eq(o.s, "", "undecided before the end");
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_str_eq(o.s, "6 Few count=2 a e1,e5\n6 Few count=3 b e2,e3,e4\n6 Few count=1 a e6\n");
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  free(o.s);
  free(data);
  free(yaml);
}

Test(correlate_bounds, a_group_without_a_match_has_no_window)
{
  /* eq 0 can never hold (a window holds one event at least); lt 3 says nothing of groups never seen */
  char *yaml = corr("event_count", "{lt: 3}");
  char *data = TU_JOIN(rec("00:00", NULL, "t1", "s"), rec("05:00", NULL, "t2", "s"));
  char *got = scan(yaml, data, 1, 0);
  cr_assert_str_eq(got, "");
  free(got);
  free(data);
  free(yaml);
}

Test(correlate_bounds, a_match_after_the_decision_starts_a_new_window)
{
  /* a's window (e1) is decided at 10:01:05 (index 1); e3 then starts a new window, which
   * takes e4 (within 1m of e3) and not e5, whose record closes it */
  char *yaml = corr("event_count", "{lte: 2}");
  char *data = TU_JOIN(rec("00:00", "a", "e1", "s"), rec("01:05", NULL, "t1", "s"), rec("01:06", "a", "e3", "s"),
                    rec("01:30", "a", "e4", "s"), rec("02:30", "a", "e5", "s"));
  char *got = scan(yaml, data, 1, 0);
  cr_assert_str_eq(got, "1 Few count=1 a e1\n4 Few count=2 a e3,e4\n4 Few count=1 a e5\n");
  free(got);
  free(data);
  /* a window that reached 3 and so did not hold, then one more match after it: that one alone holds */
  data = TU_JOIN(rec("00:00", "a", "e1", "s"), rec("00:01", "a", "e2", "s"), rec("00:02", "a", "e3", "s"),
              rec("02:00", "a", "e4", "s"));
  got = scan(yaml, data, 1, 0);
  cr_assert_str_eq(got, "3 Few count=1 a e4\n");
  free(got);
  free(data);
  free(yaml);
}

Test(correlate_bounds, a_late_match_within_the_lateness_joins_its_window_and_one_later_is_reported)
{
  /* e2 (10:00:30) comes after e3 (10:00:40): both in a's window with a 60 s lateness */
  char *yaml = corr("event_count", "{eq: 3}");
  char *data = TU_JOIN(rec("00:00", "a", "e1", "s"), rec("00:40", "a", "e3", "s"), rec("00:30", "a", "e2", "s"),
                    rec("03:00", NULL, "t1", "s"));
  char *got = scan(yaml, data, 60, 0);
  cr_assert_str_eq(got, "3 Few count=3 a e1,e2,e3\n");
  free(got);
  free(data);
  /* a match of the decided window's minute after it closed, later than the lateness: reported,
   * not counted (it cannot join the decided window, and alone would be a wrong verdict) */
  data = TU_JOIN(rec("00:00", "a", "e1", "s"), rec("00:10", "a", "e2", "s"), rec("00:20", "a", "e3", "s"),
              rec("03:00", NULL, "t1", "s"), rec("00:30", "a", "e4", "s"));
  got = scan(yaml, data, 60, 0);
  cr_assert(strncmp(got, "3 Few count=3 a e1,e2,e3\n4 ELIMIT correlation 'Few': the match of 'Deleted' is not counted: "
                         "its eventTime is 150 s before the latest one seen", 120) == 0, "%s", got);
  cr_assert_eq(strchr(strchr(got, '\n') + 1, '\n')[1], '\0', "nothing else: %s", got);
  free(got);
  free(data);
  free(yaml);
}

Test(correlate_bounds, value_count_counts_the_distinct_values_of_the_window)
{
  /* a deletes snapshots x, y, x within the minute (2 values), then z alone; b deletes p, q, r */
  char *yaml = corr("value_count", "{field: requestParameters.dBSnapshotIdentifier, lt: 3}");
  char *data = TU_JOIN(rec("00:00", "a", "e1", "x"), rec("00:10", "a", "e2", "y"), rec("00:20", "a", "e3", "x"),
                    rec("00:30", "b", "e4", "p"), rec("00:31", "b", "e5", "q"), rec("00:32", "b", "e6", "r"),
                    rec("02:00", "a", "e7", "z"));
  char *got = scan(yaml, data, 1, 0);
  /* the alert lists the latest match of each value, in eventTime order */
  cr_assert_str_eq(got, "6 Few count=2 a e2,e3\n6 Few count=1 a e7\n");
  free(got);
  free(yaml);
  yaml = corr("value_count", "{field: requestParameters.dBSnapshotIdentifier, eq: 3}");
  got = scan(yaml, data, 1, 0);
  cr_assert_str_eq(got, "6 Few count=3 b e4,e5,e6\n");
  free(got);
  free(data);
  free(yaml);
}

Test(correlate_bounds, the_events_limit_leaves_a_window_undecided_and_says_so)
{
  /* limit 2: a's third match is not counted (reported on its record), so its window, which
   * would have count 2 < 3 by what is held, is not decided (reported when it closes) */
  char *yaml = corr("event_count", "{lt: 3}");
  char *data = TU_JOIN(rec("00:00", "a", "e1", "s"), rec("00:10", "a", "e2", "s"), rec("00:20", "a", "e3", "s"),
                    rec("02:00", NULL, "t1", "s"), rec("02:10", "a", "e4", "s"));
  char *got = scan(yaml, data, 1, 2);
  cr_assert_str_eq(got,
                   "2 ELIMIT correlation 'Few': the match of 'Deleted' is not counted: 2 matches are held (limit "
                   "correlation_events)\n"
                   "3 ELIMIT correlation 'Few': the window from 2025-01-01T10:00:00Z (event e1) is not decided: 1 of "
                   "its matches were not counted (limit correlation_events)\n"
                   "4 Few count=1 a e4\n");
  free(got);
  free(data);
  free(yaml);
}

Test(correlate_bounds, generate_true_delivers_the_base_matches_first)
{
  char *yaml = corr("event_count", "{lt: 3}\n  generate: true");
  char *data = TU_JOIN(rec("00:00", "a", "e1", "s"), rec("02:00", "a", "e2", "s"));
  char *got = scan(yaml, data, 1, 0);
  /* e2's record closes e1's window: its own match, then the correlation; e2's window at the end */
  cr_assert_str_eq(got, "0 Deleted e1\n1 Deleted e2\n1 Few count=1 a e1\n1 Few count=1 a e2\n");
  free(got);
  free(data);
  free(yaml);
}

Test(correlate_bounds, many_groups_close_in_order_of_their_windows_end)
{
  /* 300 users, one match each a second apart (in order, the first user last in name), then a
   * record at 10:59:00, past every window's end and the lateness (600 s) but the first's only
   * after the last match: every window closes on it, earliest end first (the heap's order) */
  char *data = calloc(1, 1);
  size_t len = 0;
  for (int i = 0; i < 300; i++) {
    char ms[8], user[16], id[16];
    snprintf(ms, sizeof ms, "%02d:%02d", i / 60, i % 60);
    snprintf(user, sizeof user, "u%03d", 299 - i);
    snprintf(id, sizeof id, "e%d", i);
    char *r = rec(ms, user, id, "s");
    data = realloc(data, len + strlen(r) + 1);
    strcpy(data + len, r);
    len += strlen(r);
    free(r);
  }
  char *t = rec("59:00", NULL, "t", "s");
  data = realloc(data, len + strlen(t) + 1);
  strcpy(data + len, t);
  free(t);
  char *yaml = corr("event_count", "{eq: 1}");
  char diags[1024];
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert_not_null(rs);
  tu_text o = {calloc(1, 1), 0, 1};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, on_match, &o, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_CORRELATION_LATENESS, 600), CTR_OK); /* no window closes before the last record */
  cr_assert_eq(ctr_scanner_feed(sc, data, strlen(data)), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  const char *p = o.s;
  for (int i = 0; i < 300; i++) {
    char want[64];
    snprintf(want, sizeof want, "300 Few count=1 u%03d e%d\n", 299 - i, i);
    cr_assert(strncmp(p, want, strlen(want)) == 0, "at %d: %.60s", i, p);
    p += strlen(want);
  }
  cr_assert_str_eq(p, "");
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  free(o.s);
  free(data);
  free(yaml);
}

Test(correlate_bounds, a_full_window_is_counted_in_n_log_n)
{
  /* 20,000 matches of one principal in one window, each a different snapshot but the last 2,000
   * repeating earlier ones: 18,000 distinct values, counted when the stream ends (quadratic
   * counting would take seconds) */
  enum { N = 20000 };
  size_t cap = (size_t)N * 420, len = 0;
  char *data = malloc(cap);
  for (int i = 0; i < N; i++) {
    char id[16], snap[16];
    snprintf(id, sizeof id, "e%d", i);
    snprintf(snap, sizeof snap, "s%d", i < N - 2000 ? i : i - (N - 2000));
    char *r = rec("00:30", "a", id, snap);
    size_t n = strlen(r);
    cr_assert(len + n < cap);
    memcpy(data + len, r, n + 1);
    len += n;
    free(r);
  }
  char *yaml = corr("value_count", "{field: requestParameters.dBSnapshotIdentifier, gte: 18000, lte: 18000}");
  char diags[1024];
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert_not_null(rs, "%s", diags);
  tu_text o = {calloc(1, 1), 0, 1};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, on_match, &o, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, data, len), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert(strncmp(o.s, "19999 Few count=18000 a ", 24) == 0, "%.80s", o.s);
  /* the latest match of each value: s0..s1999 by e18000..e19999, the others by their own */
  cr_assert(strncmp(o.s + 24, "e2000,e2001,", 12) == 0, "%.80s", o.s);
  cr_assert(strstr(o.s, ",e17999,e18000,") && strstr(o.s, ",e19999\n"), "%.80s", o.s);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  free(o.s);
  free(data);
  free(yaml);
}

/* A DeleteDBSnapshot by user at a full eventTime (NULL user: a Tick record). */
static char *rec_at(const char *time, const char *user, const char *id)
{
  char *s;
  cr_assert(asprintf(&s,
                     "{\"eventVersion\":\"1.08\",\"eventTime\":\"%s\",\"awsRegion\":\"us-east-1\",\"eventID\":\"%s\","
                     "\"eventType\":\"AwsApiCall\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"%s\","
                     "\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"%s\",\"arn\":\"arn:aws:iam::1:user/%s\","
                     "\"accountId\":\"1\"},\"requestParameters\":{\"dBSnapshotIdentifier\":\"%s\"}}\n",
                     time, id, user ? "DeleteDBSnapshot" : "StopDBInstance", user ? user : "ops", user ? user : "ops",
                     id) > 0);
  return s;
}

/* "Few" of `type` over Deleted (twice, for the temporal kinds) by user within `span`. */
static char *corr_span(const char *type, const char *cond, const char *span)
{
  char *s;
  cr_assert(asprintf(&s,
                     BASE "title: Few\ncorrelation:\n  type: %s\n  rules: [Deleted%s]\n"
                          "  group-by: [userIdentity.userName]\n  timespan: %s\n%s%s%s\nlevel: high\n",
                     type, strncmp(type, "temporal", 8) == 0 ? ", Deleted" : "", span, cond ? "  condition: " : "",
                     cond ? cond : "", cond ? "\n" : "") > 0);
  return s;
}

Test(correlate_bounds, event_times_timespans_and_lateness_at_the_ends_of_their_range)
{
  /* Event times of 1677 and 2262 (the ends of int64 nanoseconds), the longest timespan a
   * correlation takes, the greatest lateness, in and out of order, for every type: sums and
   * differences of them saturate instead of overflowing (UBSan stops the test), so the verdicts
   * are those of any other times. e4 (1677) comes 584 years late, after e3 (2262). The last
   * column: a window from 1677 of 9223372036 s ends in 1970, and a lateness as long holds it
   * open past 2262 (saturated), so e4 joins it and it is decided at the end. */
  static const char *const types[][4] = {
    {"event_count", "{gte: 2}", "1 Few count=2 a e1,e2\n4 Few count=2 a e5,e3\n", NULL},
    {"event_count", "{lte: 2}", "2 Few count=2 a e1,e2\n%s", ""},
    {"value_count", "{field: eventID, lt: 5}", "2 Few count=2 a e1,e2\n%s6 Few count=3 a e5,e3,e6\n",
     "6 Few count=3 a e1,e4,e2\n6 Few count=3 a e5,e3,e6\n"},
    {"value_count", "{field: eventID, gte: 2}", "1 Few count=2 a e1,e2\n4 Few count=2 a e5,e3\n", NULL},
    {"temporal", NULL,
     "0 Few count=1 a e1\n1 Few count=1 a e2\n2 Few count=1 a e3\n3 Few count=1 a e4\n"
     "4 Few count=1 a e5\n6 Few count=1 a e6\n",
     NULL},
    {"temporal_ordered", NULL, "1 Few count=2 a e1,e2\n4 Few count=2 a e5,e3\n", NULL}};
  static const char *const spans[] = {"1s", "1d", "106751d", "9223372036s"};
  static const uint64_t lateness[] = {1, 0, UINT64_MAX / 1000000000, UINT64_MAX};
  char *data = TU_JOIN(rec_at("1677-09-21T00:12:45Z", "a", "e1"), rec_at("1677-09-21T00:12:46Z", "a", "e2"),
                    rec_at("2262-04-11T23:47:15Z", "a", "e3"), rec_at("1677-09-21T00:12:45Z", "a", "e4"),
                    rec_at("2262-04-11T23:47:14Z", "a", "e5"), rec_at("1970-01-01T00:00:00Z", NULL, "t1"),
                    rec_at("2262-04-11T23:47:15Z", "a", "e6"));
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
    for (size_t s = 0; s < sizeof spans / sizeof spans[0]; s++)
      for (size_t l = 0; l < sizeof lateness / sizeof lateness[0]; l++) {
        /* a bounded window decided at e3 let e1, e2 go: e4, of their second, is reported */
        char late[512], want[1024];
        snprintf(late, sizeof late,
                 "3 ELIMIT correlation 'Few': the match of 'Deleted' is not counted: its eventTime is 18446744070 s "
                 "before the latest one seen, and matches of its group within the timespan of it were let go (limit "
                 "correlation_lateness %llu s)\n",
                 (unsigned long long)(lateness[l] == 0 ? 900 : lateness[l] > 9223372036u ? 9223372036u : lateness[l]));
        bool open = types[t][3] && s == 3 && lateness[l] >= 9223372036u;
        snprintf(want, sizeof want, open ? types[t][3] : types[t][2], late);
        char *yaml = corr_span(types[t][0], types[t][1], spans[s]);
        char *got = scan(yaml, data, lateness[l], 0);
        cr_assert_str_eq(got, want, "%s %s within %s, lateness %llu", types[t][0], types[t][1] ? types[t][1] : "",
                         spans[s], (unsigned long long)lateness[l]);
        free(got);
        free(yaml);
      }
  free(data);
  /* a longer timespan than int64 nanoseconds hold is refused at it */
  char *yaml = corr_span("event_count", "{gte: 2}", "106752d"), diags[4096];
  cr_assert_null(tu_compile(yaml, diags, sizeof diags));
  cr_assert(strstr(diags, "rules.yaml:20:13: error: a 'timespan' must fit in 292 years (at most 106751d, or 9223372036s)"), "%s",
            diags);
  free(yaml);
}
