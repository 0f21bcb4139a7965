/* test_scan.c - the scanner through the public API: every input shape, gzip,
 * and the bad-event catalogue (each with its reported index and offset). */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#define REC(name) \
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bob\"},\"eventTime\":\"2025-03-01T10:02:11Z\"," \
  "\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"" name "\",\"awsRegion\":\"eu-west-1\"}"

static ctr_ruleset *rules(void)
{
  ctr_ruleset *rs = tu_compile("- rule: r\n  desc: d\n  condition: ct.src = rds.amazonaws.com\n  output: \"%ct.name\"\n  priority: info\n", NULL, 0);
  cr_assert_not_null(rs);
  return rs;
}

typedef struct reports {
  char text[16384];
  int n;
} reports;

static void on_report(const ctr_record_error *e, void *ud)
{
  reports *r = ud;
  size_t used = strlen(r->text);
  snprintf(r->text + used, sizeof r->text - used, "%s|%d|%s\n", ctr_status_name(ctr_record_error_status(e)),
           ctr_record_error_evaluated(e), ctr_record_error_text(e));
  r->n++;
}

/* Scans and returns the matched outputs joined by spaces. */
static int scan(const void *buf, size_t len, char *outputs, size_t size, reports *rep, uint64_t *skipped)
{
  ctr_ruleset *rs = rules();
  tu_matches m = {0};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, tu_collect, &m, &sc), CTR_OK);
  if (rep) {
    memset(rep, 0, sizeof *rep);
    ctr_scanner_set_error_callback(sc, on_report, rep);
  }
  int rc = ctr_scanner_feed(sc, buf, len);
  if (rc == CTR_OK)
    rc = ctr_scanner_finish(sc);
  outputs[0] = '\0';
  for (char *line = m.text; line && *line;) {
    char *nl = strchr(line, '\n');
    char *out = nl;
    while (out > line && out[-1] != '\t')
      out--;
    out--; /* the last tab within this line */
    size_t used = strlen(outputs);
    snprintf(outputs + used, size - used, "%s%.*s", used ? " " : "", (int)(nl - out - 1), out + 1);
    line = nl + 1;
  }
  if (skipped)
    *skipped = ctr_scanner_stat(sc, CTR_STAT_SKIPPED);
  ctr_scanner_free(sc);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
  return rc;
}

static char out[8192];

Test(scan, shapes)
{
  const char *ndjson = REC("A") "\n" REC("B") "\n";
  cr_assert_eq(scan(ndjson, strlen(ndjson), out, sizeof out, NULL, NULL), CTR_OK);
  cr_assert_str_eq(out, "A B");
  const char *concat = REC("A") REC("B") "  " REC("C");
  scan(concat, strlen(concat), out, sizeof out, NULL, NULL);
  cr_assert_str_eq(out, "A B C");
  const char *logfile = "{\"Records\":[" REC("A") "," REC("B") "]}";
  scan(logfile, strlen(logfile), out, sizeof out, NULL, NULL);
  cr_assert_str_eq(out, "A B");
  const char *array = "[" REC("A") ",\n " REC("B") "]";
  scan(array, strlen(array), out, sizeof out, NULL, NULL);
  cr_assert_str_eq(out, "A B");
  const char *single = REC("A");
  scan(single, strlen(single), out, sizeof out, NULL, NULL);
  cr_assert_str_eq(out, "A");
  const char *eb = "{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.rds\",\"detail\":" REC("E") "}";
  scan(eb, strlen(eb), out, sizeof out, NULL, NULL);
  cr_assert_str_eq(out, "E");
}

Test(scan, digest_and_control_messages_are_skipped)
{
  const char *digest = "{\"awsAccountId\":\"1\",\"digestStartTime\":\"2025-03-01T09:05:12Z\",\"logFiles\":[]}";
  uint64_t skipped;
  reports rep;
  cr_assert_eq(scan(digest, strlen(digest), out, sizeof out, &rep, &skipped), CTR_OK);
  cr_assert_eq(skipped, 1);
  cr_assert_eq(rep.n, 0);
  cr_assert_str_eq(out, "");
  const char *ctl = "{\"messageType\":\"CONTROL_MESSAGE\",\"logEvents\":[{\"id\":\"1\",\"message\":\"CWL CONTROL MESSAGE\"}]}";
  scan(ctl, strlen(ctl), out, sizeof out, &rep, &skipped);
  cr_assert_eq(skipped, 1);
  cr_assert_eq(rep.n, 0);
}

Test(scan, cloudwatch_logs_payload)
{
  const char *cwl = "{\"messageType\":\"DATA_MESSAGE\",\"logGroup\":\"g\",\"logEvents\":["
                    "{\"id\":\"1\",\"timestamp\":1,\"message\":\"{\\\"eventVersion\\\":\\\"1.08\\\",\\\"eventSource\\\":\\\"rds.amazonaws.com\\\",\\\"eventName\\\":\\\"W\\\"}\"}]}";
  scan(cwl, strlen(cwl), out, sizeof out, NULL, NULL);
  cr_assert_str_eq(out, "W");
}

Test(scan, gzip_every_shape)
{
  const char *logfile = "{\"Records\":[" REC("A") "," REC("B") "]}";
  size_t n;
  unsigned char *gz = tu_gzip(logfile, strlen(logfile), &n);
  cr_assert_eq(scan(gz, n, out, sizeof out, NULL, NULL), CTR_OK);
  cr_assert_str_eq(out, "A B");
  free(gz);
}

Test(scan, bad_event_catalogue)
{
  reports rep;
  /* truncated JSON at the end */
  const char *trunc = REC("A") "\n{\"eventName\":\"B\", \"x\": [1, 2";
  scan(trunc, strlen(trunc), out, sizeof out, &rep, NULL);
  cr_assert_str_eq(out, "A");
  cr_assert_eq(rep.n, 1);
  cr_assert(strstr(rep.text, "record 1 at byte"), "%s", rep.text);
  cr_assert(strstr(rep.text, "truncated"), "%s", rep.text);

  /* invalid JSON inside a record */
  const char *bad = "{\"eventName\": nope}\n" REC("B");
  scan(bad, strlen(bad), out, sizeof out, &rep, NULL);
  cr_assert_str_eq(out, "B");
  cr_assert(strstr(rep.text, "EDATA|0|record 0 at byte 0: invalid JSON"), "%s", rep.text);

  /* non-object records */
  const char *nonobj = "42\n\"str\"\n" REC("C");
  scan(nonobj, strlen(nonobj), out, sizeof out, &rep, NULL);
  cr_assert_str_eq(out, "C");
  cr_assert_eq(rep.n, 2, "%s", rep.text);
  cr_assert(strstr(rep.text, "record 1 at byte 3"), "%s", rep.text);

  /* non-object element of Records */
  const char *lf = "{\"Records\":[1," REC("D") "]}";
  scan(lf, strlen(lf), out, sizeof out, &rep, NULL);
  cr_assert_str_eq(out, "D");
  cr_assert(strstr(rep.text, "not a JSON object"), "%s", rep.text);

  /* invalid UTF-8 */
  const char *utf = "{\"eventName\":\"\xff\xfe\"}\n" REC("E");
  scan(utf, strlen(utf), out, sizeof out, &rep, NULL);
  cr_assert_str_eq(out, "E");
  cr_assert(strstr(rep.text, "invalid JSON"), "%s", rep.text);
  cr_assert(strstr(rep.text, "0xff"), "%s", rep.text);

  /* garbage gzip: a stream error, reported with its offset */
  unsigned char garbage[] = {0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff};
  cr_assert_eq(scan(garbage, sizeof garbage, out, sizeof out, &rep, NULL), CTR_EDATA);
  cr_assert(strstr(rep.text, "gzip"), "%s", rep.text);
}

Test(scan, deep_nesting_is_limited)
{
  char *deep = malloc(300000);
  strcpy(deep, "{\"eventName\":\"X\",\"a\":");
  for (int i = 0; i < 100000; i++)
    strcat(deep + 20 + i, "[");
  size_t len = strlen(deep);
  for (int i = 0; i < 100000; i++)
    deep[len++] = ']';
  deep[len++] = '}';
  deep[len++] = '\n';
  strcpy(deep + len, REC("F"));
  reports rep;
  scan(deep, strlen(deep), out, sizeof out, &rep, NULL);
  cr_assert_str_eq(out, "F");
  cr_assert(strstr(rep.text, "ELIMIT|0|record 0 at byte 0: JSON nesting deeper than"), "%s", rep.text);
  free(deep);
}

Test(scan, record_size_limit)
{
  ctr_ruleset *rs = rules();
  ctr_scanner *sc;
  tu_matches m = {0};
  reports rep = {0};
  ctr_scanner_new(rs, tu_collect, &m, &sc);
  ctr_scanner_set_error_callback(sc, on_report, &rep);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_RECORD_BYTES, 100), CTR_OK);
  const char *in = REC("TOO_BIG_FOR_THE_LIMIT") "\n{\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"S\"}\n";
  ctr_scanner_feed(sc, in, strlen(in));
  ctr_scanner_finish(sc);
  cr_assert_eq(m.count, 1);
  cr_assert(strstr(rep.text, "ELIMIT|0|record 0 at byte 0: record exceeds the limit of 100 bytes"), "%s", rep.text);
  ctr_scanner_free(sc);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
}

Test(scan, envelopes_from_shared_data_never_crash)
{
  const char *kinds[] = {"cloudtrail_log_file", "cloudtrail_sns_log_delivery", "cwl_subscription_decoded",
                         "cwl_subscription_lambda", "eventbridge_cloudtrail_api_call", "eventbridge_s3_object_event",
                         "lambda_sns_event", "lambda_sqs_event", "s3_event_notification", "s3_test_event",
                         "sns_notification", "sqs_record"};
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    char name[128];
    snprintf(name, sizeof name, "envelopes/%s.ndjson", kinds[k]);
    size_t len;
    char *data = tu_read(tu_shared(name), &len);
    reports rep;
    cr_assert_eq(scan(data, len, out, sizeof out, &rep, NULL), CTR_OK, "%s", kinds[k]);
    free(data);
  }
  /* EventBridge CloudTrail envelopes give their records */
  size_t len;
  char *data = tu_read(tu_shared("envelopes/eventbridge_cloudtrail_api_call.ndjson"), &len);
  reports rep;
  scan(data, len, out, sizeof out, &rep, NULL);
  cr_assert_eq(rep.n, 0, "%s", rep.text);
  free(data);
}

/* ------------------------------------------------------------ out of memory */

/* jansson's allocations fail from the k-th on (json_set_alloc_funcs is
 * process-wide; Criterion runs each test in a process of its own). */
static long g_allocs_left;

static void *failing_malloc(size_t n)
{
  if (g_allocs_left <= 0)
    return NULL;
  g_allocs_left--;
  return malloc(n);
}

/* Whatever allocation fails, a scan either delivers every alert or stops with
 * CTR_ENOMEM after a prefix of them; it never reports a valid record as bad
 * and never finishes "fine" with an alert missing or wrong. Both ways a
 * record is parsed are covered: walked records, member by member (one feed),
 * and records spanning chunks, whole (7-byte feeds). */
Test(scan, out_of_memory_in_jansson_never_loses_an_alert_silently)
{
  const char input[] = REC("StopDBInstance") "\n" REC("DeleteDBCluster") "\n" REC("StopDBInstance") "\n";
  ctr_ruleset *rs = tu_compile("- rule: r\n  desc: d\n  condition: ct.src = rds.amazonaws.com and ct.user = bob\n"
                               "  output: \"%ct.name by %ct.user in %ct.region %json.value[/userIdentity]\"\n"
                               "  priority: info\n",
                               NULL, 0);
  cr_assert_not_null(rs);
  tu_matches want = {0};
  cr_assert_eq(tu_scan(rs, input, sizeof input - 1, 0, 0, &want), CTR_OK);
  cr_assert_eq(want.count, 3);
  int stopped = 0;
  for (size_t chunk = 0; chunk <= 7; chunk += 7) {
    for (long k = 0; k < 400; k++) {
      tu_matches got = {0};
      reports rep = {{0}, 0};
      ctr_scanner *sc;
      cr_assert_eq(ctr_scanner_new(rs, tu_collect, &got, &sc), CTR_OK);
      ctr_scanner_set_error_callback(sc, on_report, &rep);
      g_allocs_left = k;
      json_set_alloc_funcs(failing_malloc, free);
      int rc = CTR_OK;
      size_t step = chunk ? chunk : sizeof input - 1;
      for (size_t at = 0; rc == CTR_OK && at < sizeof input - 1; at += step)
        rc = ctr_scanner_feed(sc, input + at, sizeof input - 1 - at < step ? sizeof input - 1 - at : step);
      if (rc == CTR_OK)
        rc = ctr_scanner_finish(sc);
      json_set_alloc_funcs(malloc, free);
      ctr_scanner_free(sc);
      const char *text = got.text ? got.text : "";
      cr_assert(rc == CTR_OK || rc == CTR_ENOMEM, "chunk %zu, k %ld: %s", chunk, k, ctr_status_name(rc));
      cr_assert_eq(rep.n, 0, "chunk %zu, k %ld: a valid record reported: %s", chunk, k, rep.text);
      if (rc == CTR_OK)
        cr_assert_str_eq(text, want.text, "chunk %zu, k %ld", chunk, k);
      else
        cr_assert(strncmp(want.text, text, strlen(text)) == 0, "chunk %zu, k %ld: %s", chunk, k, text);
      stopped += rc == CTR_ENOMEM;
      tu_matches_free(&got);
    }
  }
  cr_assert_gt(stopped, 0, "no allocation failed: the test tests nothing");
  tu_matches_free(&want);
  ctr_ruleset_unref(rs);
}

/* ------------------------------------------------------------ resynchronisation */

/* A record with every kind of JSON token, so that a cut can fall anywhere:
 * strings with escapes, numbers, literals, arrays, nested objects. */
#define RICH_REC                                                                                                 \
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"b\\\"o\\\\b\\u00e9\","     \
  "\"n\":[1,-2.5e3,true,null,{},[]]},\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"rds.amazonaws.com\"," \
  "\"eventName\":\"Cut\",\"awsRegion\":\"eu-west-1\",\"readOnly\":false , \"x\" : { \"y\" : [ 0.5 ] } }"

typedef struct cut_outcome {
  int rc;
  size_t alerts, bad;
  uint64_t bad_index, bad_offset; /* of the first bad-record report */
  char first_bad[512];
} cut_outcome;

static int count_alert(const ctr_match *m, void *ud)
{
  (void)m;
  ((cut_outcome *)ud)->alerts++;
  return 0;
}

static void count_bad(const ctr_record_error *e, void *ud)
{
  cut_outcome *o = ud;
  if (ctr_record_error_evaluated(e))
    return;
  if (o->bad++ == 0) {
    o->bad_index = ctr_record_error_index(e);
    o->bad_offset = ctr_record_error_offset(e);
    snprintf(o->first_bad, sizeof o->first_bad, "%s", ctr_record_error_text(e));
  }
}

static cut_outcome scan_chunked(ctr_ruleset *rs, const void *buf, size_t len, size_t chunk)
{
  cut_outcome o = {0};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, count_alert, &o, &sc), CTR_OK);
  ctr_scanner_set_error_callback(sc, count_bad, &o);
  const char *p = buf;
  size_t step = chunk ? chunk : len;
  for (size_t at = 0; at < len && o.rc == CTR_OK; at += step)
    o.rc = ctr_scanner_feed(sc, p + at, len - at < step ? len - at : step);
  if (o.rc == CTR_OK)
    o.rc = ctr_scanner_finish(sc);
  ctr_scanner_free(sc);
  return o;
}

/* Builds head + record[0..cut) + tail, scans it (and its gzip) in every
 * chunking, and checks: `alerts` alerts, one bad-record report, at the cut
 * record's index and offset. */
static void assert_cut_survives(ctr_ruleset *rs, const char *what, const char *head, const char *rec, size_t cut,
                                const char *tail, size_t alerts, uint64_t bad_index, bool envelope)
{
  static const size_t chunkings[] = {0, 1, 2, 3, 7, 13, 64};
  size_t hn = strlen(head), tn = strlen(tail), len = hn + cut + tn;
  char *in = malloc(len + 1);
  memcpy(in, head, hn);
  memcpy(in + hn, rec, cut);
  memcpy(in + hn + cut, tail, tn + 1);
  size_t gzlen;
  unsigned char *gz = tu_gzip(in, len, &gzlen);
  for (int z = 0; z < 2; z++) {
    for (size_t i = 0; i < sizeof chunkings / sizeof *chunkings; i++) {
      cut_outcome o = z ? scan_chunked(rs, gz, gzlen, chunkings[i]) : scan_chunked(rs, in, len, chunkings[i]);
      cr_assert_eq(o.rc, CTR_OK, "%s, cut at %zu, chunks of %zu%s", what, cut, chunkings[i], z ? ", gzip" : "");
      cr_assert_eq(o.alerts, alerts, "%s, cut at %zu, chunks of %zu%s: %zu alerts, not %zu (%s)\n%s", what, cut,
                   chunkings[i], z ? ", gzip" : "", o.alerts, alerts, o.first_bad, in);
      cr_assert_eq(o.bad, 1, "%s, cut at %zu, chunks of %zu%s: %zu bad-record reports (first: %s)\n%s", what, cut,
                   chunkings[i], z ? ", gzip" : "", o.bad, o.first_bad, in);
      cr_assert_eq(o.bad_index, bad_index, "%s, cut at %zu: %s", what, cut, o.first_bad);
      cr_assert_eq(o.bad_offset, envelope ? 0 : hn, "%s, cut at %zu: %s", what, cut, o.first_bad);
    }
  }
  free(gz);
  free(in);
}

/* Every cut of a record, followed by good records, gives one report and
 * every alert of the records after it, in NDJSON, a log file with one
 * element per line, compact log files one per line, gzip of each, and any
 * chunking. */
Test(scan, a_cut_record_never_swallows_the_records_after_it, .timeout = 120)
{
  ctr_ruleset *rs = rules();
  const char *rec = RICH_REC;
  size_t n = strlen(rec);
  /* the whole record alerts */
  cut_outcome whole = scan_chunked(rs, rec, n, 0);
  cr_assert_eq(whole.alerts, 1);
  cr_assert_eq(whole.bad, 0);
  for (size_t cut = 1; cut < n; cut++) {
    assert_cut_survives(rs, "NDJSON", "", rec, cut, "\n" REC("A") "\n" REC("B") "\n" REC("C") "\n", 3, 0, false);
    assert_cut_survives(rs, "NDJSON after a record", REC("A") "\n", rec, cut, "\r\n" REC("B") "\r\n" REC("C"), 3, 1, false);
    assert_cut_survives(rs, "log file, one element a line", "{\"Records\":[\n", rec, cut,
                        "\n" REC("A") ",\n" REC("B") ",\n" REC("C") "\n]}\n", 3, 0, false);
    assert_cut_survives(rs, "log file, indented elements", "{\n  \"Records\": [\n    ", rec, cut,
                        "\n    " REC("A") ",\n    " REC("B") "\n  ]\n}\n", 2, 0, false);
    assert_cut_survives(rs, "compact log files, one a line", "{\"Records\":[" REC("A") ",", rec, cut,
                        "\n{\"Records\":[" REC("B") "," REC("C") "]}\n{\"Records\":[" REC("D") "]}\n", 4, 1, false);
    assert_cut_survives(rs, "EventBridge event", "{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":", rec, cut,
                        "\n" REC("A") "\n" REC("B") "\n", 2, 0, true);
  }
  /* a CloudWatch Logs payload cut anywhere, the record inside it escaped */
  json_t *str = json_string(rec);
  char *msg = json_dumps(str, JSON_ENCODE_ANY), *cwl;
  json_decref(str);
  cr_assert(asprintf(&cwl, "{\"messageType\":\"DATA_MESSAGE\",\"logGroup\":\"g\",\"logEvents\":[{\"id\":\"1\","
                           "\"timestamp\":0,\"message\":%s}]}", msg) > 0);
  cut_outcome one = scan_chunked(rs, cwl, strlen(cwl), 0);
  cr_assert_eq(one.alerts, 1);
  for (size_t cut = 1; cut < strlen(cwl); cut++)
    assert_cut_survives(rs, "CloudWatch Logs payload", "", cwl, cut, "\n" REC("A") "\n" REC("B") "\n", 2, 0, true);
  free(cwl);
  free(msg);
  ctr_ruleset_unref(rs);
}

/* ------------------------------------------------------------ one parsing policy */

/* The record REC("P") with one more member "x": value. */
static char *record_with(const char *value)
{
  static const char rec[] = REC("P");
  char *s = malloc(sizeof rec + strlen(value) + 8);
  sprintf(s, "%.*s,\"x\":%s}", (int)(sizeof rec - 2), rec, value);
  return s;
}

/* The record in shape `shape` (0 bare ... 5 CloudWatch Logs); the envelopes
 * carry a \u0000 of their own. Caller frees. */
static char *in_shape(const char *rec, int shape)
{
  char *s = NULL, *msg;
  json_t *str;
  switch (shape) {
  case 0:
    return strdup(rec);
  case 1:
    return (asprintf(&s, "%s\r\n", rec), s);
  case 2:
    return (asprintf(&s, "{\"Records\":[%s]}", rec), s);
  case 3:
    return (asprintf(&s, "[%s]", rec), s);
  case 4:
    return (asprintf(&s, "{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.rds\\u0000\","
                         "\"detail\":%s}", rec), s);
  default:
    str = json_string(rec);
    msg = json_dumps(str, JSON_ENCODE_ANY);
    json_decref(str);
    asprintf(&s, "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"1\",\"logGroup\":\"g\\u0000\",\"logStream\":\"s\","
                 "\"subscriptionFilters\":[\"f\"],\"logEvents\":[{\"id\":\"1\",\"timestamp\":0,\"message\":%s}]}", msg);
    free(msg);
    return s;
  }
}

/* Whatever a value is, a record holding it gets the same verdict (alert, or
 * one bad-record report) in every shape, plain or gzipped, as alone. */
Test(scan, one_parsing_policy_for_every_shape)
{
  static const struct {
    const char *value;
    int alerts; /* 1: alerts; 0: one bad-record report (jansson refuses lone surrogates, a NUL in a
                 * key, numbers out of range: in every shape alike) */
  } values[] = {
    {"\"a\\u0000b\"", 1},          {"\"\\u0000\"", 1},          {"{\"\\u0000k\":\"\\u0000\"}", 0},
    {"\"\\ud83d\\ude00\"", 1},      {"\"\\u00e9\\u20ac\\/\"", 1}, {"-0", 1},
    {"1E+2", 1},                   {"0.5e-3", 1},               {"1e308", 1},
    {"{\"\":[{},[],\"\"]}", 1},     {"\"\\ud800\"", 0},          {"\"\\udc00x\"", 0},
    {"\"\\ud800\\u0041\"", 0},      {"1e999", 0},                {"123456789012345678901234567890", 0},
  };
  static const char *const shapes[] = {"bare", "NDJSON", "log file", "array", "EventBridge", "CloudWatch Logs"};
  ctr_ruleset *rs = rules();
  for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
    char *rec = record_with(values[v].value);
    for (int shape = 0; shape < 6; shape++) {
      char *in = in_shape(rec, shape);
      size_t gzlen;
      unsigned char *gz = tu_gzip(in, strlen(in), &gzlen);
      for (int z = 0; z < 2; z++) {
        cut_outcome o = z ? scan_chunked(rs, gz, gzlen, 0) : scan_chunked(rs, in, strlen(in), 0);
        cr_assert_eq(o.rc, CTR_OK);
        cr_assert(o.alerts == (size_t)values[v].alerts && o.bad == (size_t)!values[v].alerts,
                  "%s%s, value %s: %zu alerts, %zu reports (%s)", shapes[shape], z ? " gzipped" : "", values[v].value,
                  o.alerts, o.bad, o.first_bad);
      }
      free(gz);
      free(in);
    }
    free(rec);
  }
  ctr_ruleset_unref(rs);
}

/* Every limit applies to every shape: a CloudWatch Logs message nested deeper
 * than the limit is a bad record like the bare record, the other messages
 * of the payload still alert. */
Test(scan, limits_apply_inside_cloudwatch_logs_messages)
{
  char deep[256] = "", closing[256] = "";
  for (int i = 0; i < 64; i++) /* the record is depth 1: 65 in all */
    strcat(deep, "["), strcat(closing, "]");
  char value[600];
  snprintf(value, sizeof value, "%s1%s", deep, closing);
  char *rec = record_with(value);
  ctr_ruleset *rs = rules();
  cut_outcome bare = scan_chunked(rs, rec, strlen(rec), 0);
  cr_assert_eq(bare.alerts, 0);
  cr_assert_eq(bare.bad, 1);
  cr_assert(strstr(bare.first_bad, "JSON nesting deeper than 64"), "%s", bare.first_bad);
  char *one = in_shape(rec, 5);
  /* a second, good message after the deep one */
  char *good = record_with("1"), *two = in_shape(good, 5), *both;
  char *cut = strstr(one, "}]}");
  asprintf(&both, "%.*s},%s", (int)(cut - one), one, strstr(two, "{\"id\""));
  cut_outcome o = scan_chunked(rs, both, strlen(both), 0);
  cr_assert_eq(o.alerts, 1, "%s", o.first_bad);
  cr_assert_eq(o.bad, 1);
  cr_assert_eq(o.bad_index, 0);
  cr_assert(strstr(o.first_bad, "record 0 at byte 0: JSON nesting deeper than 64"), "%s", o.first_bad);
  /* at the limit it is a record */
  snprintf(value, sizeof value, "%s1%s", deep + 1, closing + 1);
  free(rec), free(one);
  rec = record_with(value);
  one = in_shape(rec, 5);
  o = scan_chunked(rs, one, strlen(one), 0);
  cr_assert_eq(o.alerts, 1, "%s", o.first_bad);
  cr_assert_eq(o.bad, 0);
  free(rec), free(one), free(good), free(two), free(both);
  ctr_ruleset_unref(rs);
}

/* ------------------------------------------------------------ gzip quirks */

Test(scan, gzip_quirks)
{
  const char *nd = REC("A") "\n" REC("B") "\n";
  size_t n1, n2;
  unsigned char *gz = tu_gzip(nd, strlen(nd), &n1);
  ctr_ruleset *rs = rules();
  /* zero padding after the member: every alert, no error, one value skipped */
  unsigned char *padded = calloc(1, n1 + 4096);
  memcpy(padded, gz, n1);
  cut_outcome o = {0};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, count_alert, &o, &sc), CTR_OK);
  ctr_scanner_set_error_callback(sc, count_bad, &o);
  cr_assert_eq(ctr_scanner_feed(sc, padded, n1 + 4096), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_eq(o.alerts, 2);
  cr_assert_eq(o.bad, 0);
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_SKIPPED), 1);
  ctr_scanner_free(sc);
  /* gzip inside gzip: inflated again */
  unsigned char *nested = tu_gzip((const char *)gz, n1, &n2);
  memset(&o, 0, sizeof o);
  cr_assert_eq(ctr_scanner_new(rs, count_alert, &o, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, nested, n2), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_eq(o.alerts, 2);
  ctr_scanner_free(sc);
  memset(&o, 0, sizeof o);
  /* the expansion ratio limit, set on the scanner */
  size_t len = (size_t)17 << 20;
  char *plain = malloc(len);
  memset(plain, '\n', len);
  memcpy(plain, nd, strlen(nd));
  unsigned char *bomb = tu_gzip(plain, len, &n2);
  memset(&o, 0, sizeof o);
  cr_assert_eq(ctr_scanner_new(rs, count_alert, &o, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_GZIP_RATIO, 1000000), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, bomb, n2), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  ctr_scanner_free(sc);
  cr_assert_eq(ctr_scanner_new(rs, count_alert, &o, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_GZIP_RATIO, 50), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, bomb, n2), CTR_ELIMIT);
  cr_assert(strstr(ctr_scanner_last_error(sc), "gzip expands more than 50 times its compressed size (limit gzip_ratio)"),
            "%s", ctr_scanner_last_error(sc));
  cr_assert_eq(ctr_scanner_finish(sc), CTR_ELIMIT);
  ctr_scanner_free(sc);
  cr_assert_eq(o.alerts, 4); /* the records before the limit were scanned, both times */
  free(bomb);
  free(plain);
  free(nested);
  free(padded);
  free(gz);
  ctr_ruleset_unref(rs);
}
