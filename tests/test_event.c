/* test_event.c - the event stage (event.c) on its own: a record parsed
 * whole or member by member reads the same, the completeness verdict from
 * the parse and from the walk's facts agree, and a bad record is refused
 * with a reason. Through the internal API, as the other stage suites. */
#include "event.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define MAX_MEMBERS 64

/* Records covering what member-by-member reading must get right: plain
 * strings, escapes, nested values, repeated keys (the last one wins, as in
 * jansson), numbers, booleans, null, unicode, a NUL escape. */
static const char *const records[] = {
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bob\"},"
  "\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"rds.amazonaws.com\","
  "\"eventName\":\"DeleteDBCluster\",\"awsRegion\":\"eu-west-1\"}",
  "{\"eventName\":\"A\\\"b\\\\c\\u00e9\",\"n\":12.5,\"t\":true,\"f\":false,\"z\":null,\"a\":[1,{\"x\":[]}]}",
  "{\"eventName\":\"first\",\"eventName\":\"second\",\"k\":{},\"k\":{\"v\":1}}",
  "{\"n\":12,\"m\":-3,\"t\":true,\"z\":null,\"a\":[1,{\"x\":[]}],\"o\":{}}",
  "{\"s\":\"caf\xc3\xa9 \\u0000 end\",\"e\":\"\",\"deep\":{\"a\":{\"b\":{\"c\":[[[\"x\"]]]}}}}",
  "  {\"spaced\" : \"yes\" , \"arr\" : [ 1 , 2 ] }  ",
};

/* Parses `text` member by member (as the scanner does for a walked record)
 * and returns the event; the caller frees with free_lazy(). */
typedef struct lazy_event {
  ctr__member members[MAX_MEMBERS];
  ctr__lazy lazy;
  ctr__event ev;
  ctr__arena arena;
} lazy_event;

/* False when the walk does not vouch for the record (a \u escape, say): the
 * scanner then parses it whole. */
static bool lazy_open(lazy_event *le, const char *text)
{
  memset(le, 0, sizeof *le);
  size_t len = strlen(text);
  ctr__record_facts facts;
  if (!ctr__walk_record(text, len, &facts))
    return false;
  size_t n = ctr__walk_members(text, len, le->members, MAX_MEMBERS);
  cr_assert_leq(n, MAX_MEMBERS);
  le->lazy = (ctr__lazy){le->members, n, NULL, false};
  le->ev.root = json_object();
  le->ev.lazy = &le->lazy;
  le->ev.raw = text;
  le->ev.raw_len = len;
  le->ev.arena = &le->arena;
  le->ev.hostname = "test";
  return true;
}

static void lazy_close(lazy_event *le)
{
  json_decref(le->ev.root);
  json_decref(le->lazy.whole);
  ctr__arena_free(&le->arena);
}

Test(event, members_read_alone_equal_the_whole_parse)
{
  size_t walked = 0;
  for (size_t r = 0; r < sizeof records / sizeof *records; r++) {
    json_t *whole;
    ctr__buf why = {0};
    cr_assert_eq(ctr__event_parse(records[r], strlen(records[r]), &whole, &why), CTR_OK, "record %zu: %s", r,
                 why.data ? why.data : "");
    lazy_event le;
    if (!lazy_open(&le, records[r])) {
      json_decref(whole);
      ctr__buf_free(&why);
      continue;
    }
    walked++;
    const char *key;
    json_t *value;
    json_object_foreach(whole, key, value) {
      json_t *got = ctr__event_get(&le.ev, key);
      cr_assert_not_null(got, "record %zu: member %s not found member by member", r, key);
      cr_assert(json_equal(got, value), "record %zu: member %s differs", r, key);
      /* A second read is the same value, not a second parse. */
      cr_assert_eq(ctr__event_get(&le.ev, key), got, "record %zu: member %s parsed twice", r, key);
    }
    cr_assert_null(ctr__event_get(&le.ev, "no such member"));
    cr_assert_not(le.lazy.failed);
    lazy_close(&le);
    json_decref(whole);
    ctr__buf_free(&why);
  }
  cr_assert_geq(walked, 3, "too few records read member by member: the test tests little");
}

Test(event, dotted_paths_cross_objects_not_arrays)
{
  static const char text[] = "{\"s\":\"caf\xc3\xa9\",\"deep\":{\"a\":{\"b\":{\"c\":[[[\"x\"]]]}}}}";
  lazy_event le;
  cr_assert(lazy_open(&le, text));
  const json_t *v = ctr__event_path(&le.ev, "deep.a.b.c");
  cr_assert(json_is_array(v));
  cr_assert_null(ctr__event_path(&le.ev, "deep.a.x"));
  cr_assert_null(ctr__event_path(&le.ev, "s.x"), "a path through a string is absent");
  lazy_close(&le);
}

/* The verdict on a walked record (from the walk's facts, no parse) and on a
 * parsed one (ctr__event_complete) agree on every subset of the keys every
 * CloudTrail record has. */
Test(event, completeness_from_the_walk_and_from_the_parse_agree)
{
  static const char *const parts[] = {
    "\"eventVersion\":\"1.08\"", "\"eventTime\":\"2025-03-01T10:02:11Z\"", "\"eventName\":\"X\"",
    "\"awsRegion\":\"eu-west-1\"", "\"eventSource\":\"rds.amazonaws.com\"", "\"userIdentity\":{\"type\":\"Root\"}"};
  enum { NPARTS = sizeof parts / sizeof *parts };
  for (unsigned mask = 0; mask < (1u << NPARTS); mask++) {
    char text[512] = "{\"other\":1";
    for (unsigned i = 0; i < NPARTS; i++)
      if (mask & (1u << i)) {
        strcat(text, ",");
        strcat(text, parts[i]);
      }
    strcat(text, "}");
    ctr__record_facts facts;
    cr_assert(ctr__walk_record(text, strlen(text), &facts));
    unsigned missing = ctr__facts_missing(&facts);
    cr_assert_not(missing & CTR__MISSING_UNDECIDED, "%s", text);

    json_t *root;
    ctr__buf why = {0};
    cr_assert_eq(ctr__event_parse(text, strlen(text), &root, &why), CTR_OK);
    ctr__event ev = {.root = root, .raw = text, .raw_len = strlen(text), .hostname = "test"};
    ctr__buf parse_why = {0}, walk_why = {0};
    bool complete = ctr__event_complete(&ev, &parse_why);
    cr_assert_eq(complete, missing == 0, "mask %#x: parse says %d, walk says missing %#x (%s)", mask, complete,
                 missing, text);
    cr_assert_eq(complete, mask == (1u << NPARTS) - 1, "mask %#x", mask);
    if (!complete) {
      ctr__incomplete_reason(missing, &walk_why);
      cr_assert_str_eq(walk_why.data, parse_why.data, "mask %#x: the two reasons differ", mask);
    }
    json_decref(root);
    ctr__buf_free(&why);
    ctr__buf_free(&parse_why);
    ctr__buf_free(&walk_why);
  }
}

Test(event, a_source_that_is_not_an_aws_service_is_incomplete)
{
  const char text[] = "{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventName\":\"X\","
                      "\"awsRegion\":\"eu-west-1\",\"eventSource\":\"rds.example.com\",\"userIdentity\":{}}";
  json_t *root;
  ctr__buf why = {0};
  cr_assert_eq(ctr__event_parse(text, strlen(text), &root, &why), CTR_OK);
  ctr__event ev = {.root = root, .raw = text, .raw_len = strlen(text), .hostname = "test"};
  cr_assert_not(ctr__event_complete(&ev, &why));
  cr_assert(strstr(why.data, "eventSource"), "%s", why.data);
  json_decref(root);
  ctr__buf_free(&why);
}

Test(event, bad_records_are_refused_with_a_reason)
{
  static const char *const bad[] = {"{\"a\":}", "[1,2]", "\"text\"", "{\"a\":\"\\ud800\"}", "{\"a\":1", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *root = NULL;
    ctr__buf why = {0};
    int rc = ctr__event_parse(bad[i], strlen(bad[i]), &root, &why);
    cr_assert_eq(rc, CTR_EDATA, "%s: %s", bad[i], ctr_status_name(rc));
    cr_assert_null(root, "%s: output written on failure", bad[i]);
    cr_assert(why.data && why.len > 0, "%s: no reason", bad[i]);
    ctr__buf_free(&why);
  }
}

Test(event, insights_records_are_recognised)
{
  const char insight[] = "{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-03-01T10:02:11Z\","
                         "\"eventType\":\"AwsCloudTrailInsight\",\"insightDetails\":{\"state\":\"Start\"}}";
  json_t *root;
  ctr__buf why = {0};
  cr_assert_eq(ctr__event_parse(insight, strlen(insight), &root, &why), CTR_OK);
  ctr__event ev = {.root = root, .raw = insight, .raw_len = strlen(insight), .hostname = "test"};
  cr_assert(ctr__event_is_insight(&ev));
  json_decref(root);
  cr_assert_eq(ctr__event_parse(records[0], strlen(records[0]), &root, &why), CTR_OK);
  ev.root = root;
  cr_assert_not(ctr__event_is_insight(&ev));
  json_decref(root);
  ctr__buf_free(&why);
}
