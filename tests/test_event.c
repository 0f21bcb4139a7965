/* test_event.c - the event stage (event.c) on its own: a record parsed
 * whole or member by member reads the same, the completeness and Insight
 * verdicts from the parse and from the walk's facts agree (one table of the
 * keys every record carries), and a bad record is refused with a reason. Through the internal API, as the other stage suites. */
#include "event.h"
#include "testutil.h"
#include "walk_oracle.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
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
  ctr__record_facts facts;
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
  if (!ctr__walk_record(text, len, &le->facts))
    return false;
  cr_assert_leq(le->facts.nmembers, MAX_MEMBERS);
  le->lazy = (ctr__lazy){0}; /* no kept objects: every path walked afresh */
  le->ev.root = json_object();
  le->ev.lazy = &le->lazy;
  le->ev.facts = &le->facts;
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

/* A record holding each required key (ctr__record_keys) in one of four
 * states: absent, of another type, a string without the key's suffix (only
 * for a key with one), or right. */
enum { ABSENT, WRONG_TYPE, NO_SUFFIX, RIGHT, NSTATES };

static void append_key(char *text, size_t cap, const ctr__required_key *k, int state)
{
  size_t n = strlen(text);
  if (state == ABSENT)
    return;
  if (state == WRONG_TYPE)
    snprintf(text + n, cap - n, ",\"%s\":%s", k->key, k->type == JSON_STRING ? "1" : "\"s\"");
  else if (k->type == JSON_OBJECT)
    snprintf(text + n, cap - n, ",\"%s\":{\"type\":\"Root\"}", k->key);
  else
    snprintf(text + n, cap - n, ",\"%s\":\"rds%s\"", k->key, state == RIGHT && k->suffix ? k->suffix : ".example");
}

/* The verdict on a walked record (from the walk's facts, no parse) and on a
 * parsed one (ctr__event_complete) agree, with the same reason, on every
 * combination of the states of the keys every CloudTrail record has, taken
 * from the one table both read; and both give the CTR__MISSING_ bits each
 * state calls for. */
Test(event, completeness_from_the_walk_and_from_the_parse_agree)
{
  enum { N = CTR__RECORD_KEYS };
  unsigned combos = 1, tested = 0;
  for (unsigned i = 0; i < N; i++)
    combos *= NSTATES;
  for (unsigned c = 0; c < combos; c++) {
    char text[1024] = "{\"other\":1";
    unsigned want = 0, code = c;
    bool skip = false;
    for (unsigned i = 0; i < N; i++, code /= NSTATES) {
      const ctr__required_key *k = &ctr__record_keys[i];
      int state = (int)(code % NSTATES);
      skip |= state == NO_SUFFIX && !k->suffix;
      want |= state == ABSENT || state == WRONG_TYPE ? k->missing : state == NO_SUFFIX ? CTR__MISSING_SOURCE_SUFFIX : 0;
      append_key(text, sizeof text, k, state);
    }
    if (skip)
      continue;
    strcat(text, "}");
    tested++;
    ctr__record_facts facts;
    cr_assert(ctr__walk_record(text, strlen(text), &facts));
    unsigned missing = ctr__facts_missing(&facts);
    cr_assert_eq(missing, want, "walk: %#x, want %#x: %s", missing, want, text);

    json_t *root;
    ctr__buf why = {0};
    cr_assert_eq(ctr__event_parse(text, strlen(text), &root, &why), CTR_OK);
    ctr__event ev = {.root = root, .raw = text, .raw_len = strlen(text), .hostname = "test"};
    ctr__buf parse_why = {0}, walk_why = {0};
    bool complete = ctr__event_complete(&ev, &parse_why);
    cr_assert_eq(complete, want == 0, "parse says %d: %s", complete, text);
    if (!complete) {
      ctr__incomplete_reason(missing, &walk_why);
      cr_assert_str_eq(walk_why.data, parse_why.data, "the two reasons differ: %s", text);
    }
    json_decref(root);
    ctr__buf_free(&why);
    ctr__buf_free(&parse_why);
    ctr__buf_free(&walk_why);
  }
  cr_assert_eq(tested, 3 * 3 * 3 * 3 * 4 * 3, "every combination, eventSource's suffix too");
  for (unsigned i = 0; i < N; i++)
    cr_assert_eq(ctr__record_keys[i].suffix ? strlen(ctr__record_keys[i].suffix) : 0, ctr__record_keys[i].suffix_len);
}

/* The report names what is missing in the table's order, the leading
 * strings in one list (these are the texts users see). */
Test(event, the_incomplete_record_report_reads_as_documented)
{
  static const struct {
    unsigned missing;
    const char *text;
  } t[] = {
    {CTR__MISSING_VERSION | CTR__MISSING_TIME | CTR__MISSING_NAME | CTR__MISSING_REGION | CTR__MISSING_SOURCE |
       CTR__MISSING_USER_IDENTITY,
     "incomplete CloudTrail record: no string eventVersion, eventTime, eventName, awsRegion, no string eventSource, "
     "no userIdentity object (evaluated anyway)"},
    {CTR__MISSING_VERSION | CTR__MISSING_NAME, "incomplete CloudTrail record: no string eventVersion, eventName (evaluated anyway)"},
    {CTR__MISSING_TIME | CTR__MISSING_SOURCE_SUFFIX,
     "incomplete CloudTrail record: no string eventTime, eventSource not ending in .amazonaws.com (evaluated anyway)"},
    {CTR__MISSING_REGION | CTR__MISSING_USER_IDENTITY,
     "incomplete CloudTrail record: no string awsRegion, no userIdentity object (evaluated anyway)"},
    {CTR__MISSING_SOURCE, "incomplete CloudTrail record: no string eventSource (evaluated anyway)"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    ctr__buf why = {0};
    ctr__incomplete_reason(t[i].missing, &why);
    cr_expect_str_eq(why.data, t[i].text);
    ctr__buf_free(&why);
  }
}

/* An escape in eventSource: the walk (which vouches for no \u escape) tells
 * a raw value ending in the suffix, and leaves one that does not to the
 * parse, never wrong either way. */
Test(event, an_escaped_source_is_left_to_the_parse)
{
  static const struct {
    const char *src;
    bool complete;
  } t[] = {{"rds\\/x.amazonaws.com", true}, {"rds.amazonaws.com\\/", false}, {"rds\\n.example.com", false}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char text[512];
    snprintf(text, sizeof text,
             "{\"eventVersion\":\"1\",\"eventTime\":\"t\",\"eventName\":\"n\",\"awsRegion\":\"r\","
             "\"eventSource\":\"%s\",\"userIdentity\":{}}",
             t[i].src);
    ctr__record_facts facts;
    cr_assert(ctr__walk_record(text, strlen(text), &facts));
    unsigned m = ctr__facts_missing(&facts);
    json_t *root;
    ctr__buf why = {0};
    cr_assert_eq(ctr__event_parse(text, strlen(text), &root, &why), CTR_OK);
    ctr__event ev = {.root = root, .raw = text, .raw_len = strlen(text), .hostname = "test"};
    cr_assert_eq(ctr__event_complete(&ev, NULL), t[i].complete, "%s", text);
    /* the walk is either right or undecided, never wrong */
    cr_assert((m & CTR__MISSING_UNDECIDED) || (m == 0) == t[i].complete, "walk %#x: %s", m, text);
    json_decref(root);
    ctr__buf_free(&why);
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

/* An Insight record is told from the parse and from the walk's facts alike
 * (the walk undecided only on an escape); a NUL inside eventType makes
 * another string (a \u escape: the parse alone reads it). */
/* The numbers the walk vouches for are numbers jansson reads, and those of
 * real records are among them (CloudWatch's 1.5e-07): a record the walk
 * refuses is parsed whole, 100 times the cost. Beyond its bounds (18 integer
 * digits, an exponent of 280) it refuses, and jansson decides. */
Test(event, numbers_the_walk_vouches_for_are_jansson_s)
{
  static const struct {
    const char *num;
    int walked;
  } t[] = {
    {"0", 1},          {"-0", 1},         {"12.5", 1},        {"1.5e-07", 1},      {"1e5", 1},
    {"2E+10", 1},      {"-3.25e-280", 1}, {"1e280", 1},       {"1e0000000007", 1}, {"123456789012345678", 1},
    {"1e281", 0},      {"1e308", 0},      {"1e400", 0},       {"1e-400", 0},       {"1234567890123456789", 0},
    {"1e", 0},         {"1e+", 0},        {"1.e5", 0},        {"01e5", 0},         {"1e5.5", 0},
    {"1e5e5", 0},      {".5e1", 0},       {"1E-", 0},         {"-e5", 0},          {"1e+-5", 0},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char text[128];
    snprintf(text, sizeof text, "{\"n\":%s,\"m\":[%s]}", t[i].num, t[i].num);
    ctr__record_facts facts;
    bool walked = ctr__walk_record(text, strlen(text), &facts);
    cr_assert_eq(walked, t[i].walked == 1, "%s: walked %d", text, walked);
    json_t *root = json_loads(text, 0, NULL);
    if (walked) /* vouched for: jansson reads it, a number */
      cr_assert(root && json_is_number(json_object_get(root, "n")), "%s", text);
    json_decref(root);
  }
  /* every line of the shared real records is walked */
  size_t len;
  char *data = tu_read(tu_shared("records.ndjson"), &len);
  size_t lines = 0, refused = 0;
  for (char *p = data, *end = data + len; p < end;) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = (size_t)((nl ? nl : end) - p);
    ctr__record_facts facts;
    if (n) {
      lines++;
      refused += !ctr__walk_record(p, n, &facts);
    }
    p = nl ? nl + 1 : end;
  }
  free(data);
  cr_assert_gt(lines, 1000);
  cr_assert_eq(refused, 0, "%zu of %zu real records refused by the walk", refused, lines);
}

/* \u escapes the walk crosses are those jansson decodes (a surrogate pair
 * whole, either case of hex), and it marks the record: any character may be
 * spelt so, which the literal prefilter must know (facts.unicode). Lone or
 * unpaired surrogates, bad hex and U+0000 (refused by jansson in a key) go
 * to jansson. */
Test(event, unicode_escapes_the_walk_crosses_are_jansson_s)
{
  static const struct {
    const char *str; /* inside a JSON string, as in the record */
    int walked;
  } t[] = {
    {"caf\\u00e9", 1},         {"\\u00E9\\u00e9", 1},    {"\\ud83d\\ude00", 1}, {"\\uD83D\\uDE00x", 1},
    {"\\uffff", 1},            {"a\\u0052b", 1},          {"\\u0000", 0},          {"\\ud800", 0},
    {"\\udc00", 0},            {"\\ud800\\u0041", 0},    {"\\ud800x\\udc00", 0}, {"\\u12g4", 0},
    {"\\u12", 0},              {"\\ud83d\\ude0", 0},     {"\\ud83d\\", 0},       {"\\U0041", 0},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    for (int as_key = 0; as_key <= 1; as_key++) {
      char text[256];
      if (as_key)
        snprintf(text, sizeof text, "{\"k\":{\"%s\":1}}", t[i].str);
      else
        snprintf(text, sizeof text, "{\"k\":\"%s\",\"a\":[\"%s\"]}", t[i].str, t[i].str);
      ctr__record_facts facts;
      bool walked = ctr__walk_record(text, strlen(text), &facts);
      cr_assert_eq(walked, t[i].walked == 1, "%s: walked %d", text, walked);
      json_t *root = json_loads(text, JSON_ALLOW_NUL, NULL);
      if (walked)
        cr_assert(root && facts.unicode && facts.escaped, "%s: jansson %p, unicode %d", text, (void *)root,
                  facts.unicode);
      json_decref(root);
    }
  }
  ctr__record_facts facts;
  cr_assert(ctr__walk_record("{\"k\":\"a\\\"b\\n\"}", 14, &facts) && facts.escaped && !facts.unicode);
}

/* The escapes a vouched-for record holds, other than \u (the prefilter asks,
 * to know whether one could spell a byte of a literal): each backslash
 * starts one, so \\ followed by " is two escapes, and a backslash at the
 * very end reads nothing past it. */
Test(event, escape_kinds_are_the_record_s)
{
  static const struct {
    const char *text;
    unsigned char kinds;
  } t[] = {
    {"{\"k\":\"plain/text\"}", 0},
    {"{\"k\":\"x\\\\\\\"y\"}", CTR__ESC_BACKSLASH | CTR__ESC_QUOTE},
    {"{\"k\":\"\\\\/\"}", CTR__ESC_BACKSLASH},
    {"{\"k\":\"\\/\\b\\f\\n\\r\\t\"}", CTR__ESC_SLASH | CTR__ESC_B | CTR__ESC_F | CTR__ESC_N | CTR__ESC_R | CTR__ESC_T},
    {"{\"k\":\"\\u002f\"}", 0},
    {"{\"a\":\"\\\"\",\"b\":[\"\\n\"]}", CTR__ESC_QUOTE | CTR__ESC_N},
  };
  for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
    ctr__record_facts facts;
    cr_assert(ctr__walk_record(t[i].text, strlen(t[i].text), &facts), "%s is not walked", t[i].text);
    unsigned char got = ctr__escape_kinds(t[i].text, strlen(t[i].text));
    cr_expect_eq(got, t[i].kinds, "%s: kinds %#x, want %#x", t[i].text, got, t[i].kinds);
    cr_expect_eq(facts.escaped, t[i].kinds != 0 || strstr(t[i].text, "\\u") != NULL, "%s", t[i].text);
  }
  /* Cut after a backslash: nothing is read past len. */
  char *cut = malloc(2);
  cr_assert_not_null(cut);
  memcpy(cut, "a\\", 2);
  cr_expect_eq(ctr__escape_kinds(cut, 2), 0);
  free(cut);
}

Test(event, insights_records_are_recognised)
{
  static const struct {
    const char *type; /* eventType's JSON, NULL: absent */
    int insight;
  } t[] = {
    {"\"AwsCloudTrailInsight\"", 1}, {"\"AwsApiCall\"", 0}, {NULL, 0}, {"5", 0}, {"{\"a\":1}", 0},
    {"\"AwsCloudTrailInsigh\"", 0},  {"\"AwsCloudTrailInsight\\/\"", 0}, {"\"Aws\\\"CloudTrailInsight\"", 0},
    {"\"AwsCloudTrailInsight\\u0000x\"", 0},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "{\"eventVersion\":\"1.08\"%s%s,\"insightDetails\":{\"state\":\"Start\"}}",
             t[i].type ? ",\"eventType\":" : "", t[i].type ? t[i].type : "");
    json_t *root;
    ctr__buf why = {0};
    cr_assert_eq(ctr__event_parse(text, strlen(text), &root, &why), CTR_OK, "%s", text);
    ctr__event ev = {.root = root, .raw = text, .raw_len = strlen(text), .hostname = "test"};
    cr_assert_eq(ctr__event_is_insight(&ev), t[i].insight == 1, "%s", text);
    ctr__record_facts facts;
    bool walkable = ctr__walk_record(text, strlen(text), &facts);
    cr_assert_eq(walkable, !strstr(text, "\\u"), "the walk leaves \\u escapes to jansson: %s", text);
    if (!walkable) {
      json_decref(root);
      ctr__buf_free(&why);
      continue;
    }
    int walked = ctr__facts_insight(&facts);
    bool escaped = t[i].type && strchr(t[i].type, '\\');
    cr_assert_eq(walked, escaped ? -1 : t[i].insight, "walk says %d: %s", walked, text);
    json_decref(root);
    ctr__buf_free(&why);
  }
}

/* ------------------------------------------------------------ the scanner's verdicts */

/* What the scanner reads of a record it evaluates (ctr__event_check: Insight
 * or not, complete or not and why; ctr__event_time), from a walked record's
 * facts, member by member, and from the whole parse without facts, must be
 * the same. Returns 1 when the record was walked (0: only the parse reads it). */
static int verdicts_agree(const char *text, size_t len, const char *what)
{
  char *copy = malloc(len + 1); /* the bytes as they are: a record may hold a NUL */
  cr_assert_not_null(copy);
  memcpy(copy, text, len);
  copy[len] = '\0';
  json_t *whole;
  ctr__buf why = {0};
  if (ctr__event_parse(copy, len, &whole, &why) != CTR_OK) {
    free(copy);
    ctr__buf_free(&why);
    return 0; /* a bad record: the scanner reports it before any verdict */
  }
  ctr__event ev = {.root = whole, .raw = copy, .raw_len = len, .hostname = "test"};
  bool complete_parse, complete_walk;
  ctr__buf why_parse = {0}, why_walk = {0};
  bool insight_parse = ctr__event_check(&ev, NULL, &complete_parse, &why_parse);
  int64_t time_parse = ctr__event_time(&ev, NULL);
  lazy_event le;
  ctr__record_facts facts;
  int walked = ctr__walk_record(copy, len, &facts);
  if (walked) {
    memset(&le, 0, sizeof le);
    cr_assert_leq(facts.nmembers, MAX_MEMBERS, "%s: %s", what, copy);
    le.ev = (ctr__event){.root = json_object(), .lazy = &le.lazy, .raw = copy, .raw_len = len, .arena = &le.arena,
                         .hostname = "test", .facts = &facts};
    bool insight_walk = ctr__event_check(&le.ev, &facts, &complete_walk, &why_walk);
    cr_assert_eq(insight_walk, insight_parse, "%s: Insight %d from the walk: %s", what, insight_walk, copy);
    cr_assert_eq(complete_walk, complete_parse, "%s: complete %d from the walk: %s", what, complete_walk, copy);
    cr_assert_str_eq(why_walk.data ? why_walk.data : "", why_parse.data ? why_parse.data : "", "%s: %s", what, copy);
    cr_assert_eq(ctr__event_time(&le.ev, &facts), time_parse, "%s: eventTime from the walk: %s", what, copy);
    cr_assert_not(le.lazy.failed);
    lazy_close(&le);
  }
  json_decref(whole);
  ctr__buf_free(&why);
  ctr__buf_free(&why_parse);
  ctr__buf_free(&why_walk);
  free(copy);
  return walked;
}

/* check() on every line of the shared records, the partial records and the
 * adversarial ones; returns how many it says were walked, *total counting
 * the lines. */
static unsigned each_corpus_line(int (*check)(const char *, size_t, const char *), unsigned *total)
{
  static const char *const files[] = {"records.ndjson", "partial.ndjson", "bench/adversarial.ndjson"};
  unsigned walked = 0;
  for (size_t f = 0; f < CTR__COUNTOF(files); f++) {
    size_t len;
    char *data = tu_read(f < 2 ? tu_shared(files[f]) : tu_tests(files[f]), &len);
    for (char *line = data, *nl; line < data + len; line = nl + 1) {
      if (!(nl = memchr(line, '\n', (size_t)(data + len - line))))
        nl = data + len;
      walked += (unsigned)check(line, (size_t)(nl - line), files[f]);
      (*total)++;
    }
    free(data);
  }
  return walked;
}

/* Every state of every required key, of eventType and of eventTime (valid
 * in each accepted form, invalid, at and past the longest time the parser
 * accepts, escaped so that it decodes to a valid time, not a string,
 * absent), and every record of the shared files and the adversarial ones. */
Test(event, the_scanners_verdicts_from_the_walk_are_the_parses)
{
  enum { N = CTR__RECORD_KEYS };
  unsigned combos = 1, walked = 0, total = 0;
  for (unsigned i = 0; i < N; i++)
    combos *= NSTATES;
  for (unsigned c = 0; c < combos; c++) {
    char text[1024] = "{\"other\":1";
    for (unsigned i = 0, code = c; i < N; i++, code /= NSTATES)
      append_key(text, sizeof text, &ctr__record_keys[i], (int)(code % NSTATES));
    strcat(text, "}");
    walked += (unsigned)verdicts_agree(text, strlen(text), "combination");
    total++;
  }
  static const char *const times[] = {
    "\"2019-01-01T00:00:00Z\"", "\"2019-01-01t00:00:00.123456789z\"", "\"2018-12-31T22:30:00.25-01:30\"",
    "\"2019-01-01 00:00:00\"", "\"2019-01-01 00:00:00.123456789+23:59\"", "\"2019-01-01 00:00:00.1234567890+23:59\"",
    "\"2019-01-01 00:00:00.123456789+23:59 \"", "\"2019-01-01T00:00:00.123456789+23:59xxxx\"",
    "\"2019-01-01T00:00:00\\/Z\"", "\"2019-01-01T00:00:00Z\\n\"", "\"2019\\u002d01-01T00:00:00Z\"",
    "\"2019-02-29T00:00:00Z\"", "\"1677-09-21T00:12:43Z\"", "\"\"", "\"redacted\"", "1546300800", "null",
    "{\"t\":\"2019-01-01T00:00:00Z\"}", NULL,
  };
  static const char *const types[] = {"\"AwsCloudTrailInsight\"", "\"AwsApiCall\"", "\"AwsCloudTrailInsight\\/\"", "7", NULL};
  for (size_t t = 0; t < CTR__COUNTOF(times); t++)
    for (size_t y = 0; y < CTR__COUNTOF(types); y++)
      for (int complete = 0; complete < 2; complete++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"eventVersion\":\"1.08\",\"eventName\":\"X\",\"awsRegion\":\"r\",\"eventSource\":\"%s\","
                 "\"userIdentity\":{}%s%s%s%s}",
                 complete ? "rds.amazonaws.com" : "rds.example.com", times[t] ? ",\"eventTime\":" : "",
                 times[t] ? times[t] : "", types[y] ? ",\"eventType\":" : "", types[y] ? types[y] : "");
        walked += (unsigned)verdicts_agree(text, strlen(text), "eventTime and eventType");
        total++;
      }
  walked += each_corpus_line(verdicts_agree, &total);
  cr_assert_gt(walked, total / 2, "%u of %u records walked: the facts were hardly read", walked, total);
}

/* ctr__lazy_member finds, from the walk's facts, the member a scan of the
 * record's members from the end finds (the last of a repeated key, as
 * jansson keeps): a key repeated at the first and the last member, the
 * empty key, keys that are prefixes of each other, absent keys, a value
 * that spells a key, a key asked again and another after it; more members
 * than the facts keep (65, 70) are not looked for (the scanner parses such
 * a record whole). */
Test(event, a_member_is_found_as_a_scan_from_the_end_finds_it)
{
  for (size_t count = 1; count <= 70; count += (count < 60 ? 13 : 1)) {
    char text[4096];
    size_t k = (size_t)snprintf(text, sizeof text, "{");
    for (size_t i = 0; i < count; i++) {
      const char *key = i == 0 || i + 1 == count ? "rep" : i == 5 ? "" : NULL;
      char name[8];
      if (!key) {
        snprintf(name, sizeof name, "k%02zu", i % 40); /* k00..k39 twice */
        key = name;
      }
      k += (size_t)snprintf(text + k, sizeof text - k, "%s\"%s\" : %s", i ? " ," : "", key,
                            i % 3 == 0 ? "\"k00\"" : i % 3 == 1 ? "{\"k00\":1}" : "[\"x\", 2]");
    }
    snprintf(text + k, sizeof text - k, "}");
    ctr__member members[80];
    size_t n = ctr__walk_members(text, strlen(text), members, 80);
    cr_assert_eq(n, count);
    ctr__record_facts facts;
    cr_assert(ctr__walk_record(text, strlen(text), &facts));
    ctr__lazy lz = {0};
    ctr__event ev = {.lazy = &lz, .raw = text, .raw_len = strlen(text), .facts = &facts};
    static const char *const keys[] = {"rep", "", "k00", "k05", "k05", "k39", "k40", "k0", "k000", "x", "v1", "\"k00"};
    for (size_t q = 0; q < CTR__COUNTOF(keys); q++) {
      const ctr__member *want = NULL;
      for (size_t i = n; i-- > 0 && !want && n <= CTR__MAX_MEMBERS;)
        if (members[i].key_len == strlen(keys[q]) && memcmp(members[i].key, keys[q], members[i].key_len) == 0)
          want = &members[i];
      const ctr__member *got = ctr__lazy_member(&ev, keys[q], strlen(keys[q]));
      cr_assert_eq(got != NULL, want != NULL, "%zu members, key \"%s\"", count, keys[q]);
      if (got)
        cr_assert(got->key == want->key && got->key_len == want->key_len && got->value == want->value &&
                      got->value_len == want->value_len && got->plain_string == want->plain_string,
                  "%zu members, key \"%s\": %.*s, want %.*s", count, keys[q], (int)got->value_len, got->value,
                  (int)want->value_len, want->value);
    }
  }
}

/* The members a record's framing walk noted (where each value starts) are
 * those the second walk finds, key, value and plainness alike: each key's
 * last member, found from the facts. Returns 1 when the walk vouched for
 * the record. */
static int noted_members_agree(const char *text, size_t len, const char *what)
{
  ctr__record_facts facts;
  if (!ctr__walk_record(text, len, &facts))
    return 0;
  ctr__member walked[MAX_MEMBERS];
  size_t n = ctr__walk_members(text, len, walked, MAX_MEMBERS);
  cr_assert_eq(facts.nmembers, n, "%s: %.*s", what, (int)len, text);
  for (size_t i = 0; i < n && n <= CTR__MAX_MEMBERS; i++) {
    bool last = true;
    for (size_t j = i + 1; j < n && last; j++)
      last = walked[j].key_len != walked[i].key_len || memcmp(walked[j].key, walked[i].key, walked[i].key_len) != 0;
    ctr__member noted;
    cr_assert_eq(ctr__facts_member(text, len, &facts, walked[i].key, walked[i].key_len, &noted), true,
                 "%s: member %zu (%.*s) not found: %.*s", what, i, (int)walked[i].key_len, walked[i].key, (int)len,
                 text);
    if (last)
      cr_assert(noted.key == walked[i].key && noted.key_len == walked[i].key_len &&
                    noted.value == walked[i].value && noted.value_len == walked[i].value_len &&
                    noted.plain_string == walked[i].plain_string,
                "%s: member %zu (%.*s) noted as %.*s: %.*s", what, i, (int)walked[i].key_len, walked[i].key,
                (int)noted.value_len, noted.value, (int)len, text);
  }
  return 1;
}

static unsigned spaced_walked; /* lines written again with whitespace that the walk vouched for */

/* The line as it is, and as jansson writes it with spaces after `:` and `,`
 * and indented: 1 when the line itself was walked. */
static int noted_members_agree_spaced(const char *line, size_t len, const char *what)
{
  json_t *j = json_loadb(line, len, 0, NULL);
  for (size_t flags = 0; j && flags < 2; flags++) {
    char *spaced = json_dumps(j, flags ? JSON_INDENT(2) : 0);
    cr_assert_not_null(spaced);
    spaced_walked += (unsigned)noted_members_agree(spaced, strlen(spaced), what);
    free(spaced);
  }
  json_decref(j);
  return noted_members_agree(line, len, what);
}

/* Every record here, every line of the shared files and the adversarial
 * ones, each also as jansson writes it with spaces after `:` and `,` and
 * indented (whitespace wherever JSON allows it), and records of 0 to 70
 * members (past the 64 kept). */
Test(event, members_noted_by_the_walk_are_the_second_walk_s)
{
  unsigned walked = 0, total = 0;
  for (size_t r = 0; r < CTR__COUNTOF(records); r++, total++)
    walked += (unsigned)noted_members_agree(records[r], strlen(records[r]), "records[]");
  walked += each_corpus_line(noted_members_agree_spaced, &total);
  cr_assert_gt(spaced_walked, total, "%u records with whitespace walked", spaced_walked);
  for (size_t count = 0; count <= 70; count++, total++) {
    char text[4096];
    size_t k = (size_t)snprintf(text, sizeof text, "{");
    for (size_t i = 0; i < count; i++)
      k += (size_t)snprintf(text + k, sizeof text - k, "%s\"k%zu\":%s", i ? "," : "",
                            i % 3, i % 3 == 0 ? "\"v\"" : i % 3 == 1 ? "[1,{\"a\":\"\\\"\"}]" : "-0.5e3");
    snprintf(text + k, sizeof text - k, "}");
    walked += (unsigned)noted_members_agree(text, strlen(text), "counted members");
  }
  cr_assert_gt(walked, total * 3 / 4, "%u of %u records walked", walked, total);
}

/* Whether the walk vouches for the line (0: it leaves it to jansson); if it
 * does, jansson must accept it and the oracle find nothing amiss. */
static int oracle_agrees(const char *line, size_t len, const char *what,
                         const char *(*oracle)(const char *, size_t, const json_t *))
{
  ctr__record_facts facts;
  if (!ctr__walk_record(line, len, &facts))
    return 0;
  json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
  cr_assert_not_null(j, "%s: the walk vouched for what jansson refuses: %.*s", what, (int)len, line);
  const char *why = oracle(line, len, j);
  cr_assert_null(why, "%s: %s: %.*s", what, why, (int)len, line);
  json_decref(j);
  return 1;
}

static int nested_members_agree_line(const char *line, size_t len, const char *what)
{
  return oracle_agrees(line, len, what, wo_nested_members);
}

/* Every object of every shared and adversarial record; and containers
 * whose strings hold brackets, escaped quotes and backslash runs of every
 * length, each at every offset from its container's start across the
 * first two 64-byte blocks, nested in objects and arrays, so that every
 * escape and every string straddles a block's edge somewhere; and deep
 * containers spanning blocks, brackets closing inside them at every offset
 * (a block where fewer close than are open is crossed by counts). */
static void containers_crossed(void)
{
  unsigned total = 0, walked = each_corpus_line(nested_members_agree_line, &total);
  cr_assert_gt(walked, total * 3 / 4, "%u of %u records walked", walked, total);
  static const char *const inside[] = {
      "\\\\", "\\\"", "\\\\\\\"", "\\\\\\\\", "]}", "{[", "\\\\\\\\\\\"", "\\\\\\\\\\\\\\\\", "\\\"}\\\"", "\\/\\n",
  };
  static const char *const shapes[] = {
      "{\"c\":{\"p\":\"%.*s\",\"s\":\"%s]\",\"n\":[1,{\"k\":\"%s[\"},[\"%s\"]],\"e\":{}},"
      "\"a\":[\"%s\",{\"x\":\"}\"}],\"after\":\"yes\"}",
      "{\"d\":[[[{\"p\":\"%.*s\"},[[{}]],{\"b\":[1,[2,{\"c\":\"%s\"}]]}],[[\"%s\"],{}]],[{\"q\":[[[\"%s\"]]]}]],"
      "\"o\":{\"a\":{\"b\":{\"c\":[{\"s\":\"%s\"},[]],\"d\":{}}},\"e\":[]},\"after\":\"yes\"}",
  };
  static const char pad_text[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
  for (size_t pad = 0; pad < 140; pad++) {
    for (size_t s = 0; s < CTR__COUNTOF(shapes); s++) {
      for (size_t k = 0; k < CTR__COUNTOF(inside); k++) {
        char text[1024];
        int n = snprintf(text, sizeof text, shapes[s], (int)pad, pad_text, inside[k], inside[k], inside[k], inside[k]);
        cr_assert(n > 0 && (size_t)n < sizeof text);
        cr_assert(nested_members_agree_line(text, (size_t)n, "edges"), "not walked: %s", text);
      }
    }
  }
}

Test(event, containers_are_crossed_as_jansson_reads_them) { containers_crossed(); }

/* The same with the SSE2 version, where the processor has AVX2 (the
 * library takes the widest it can run). */
Test(event, containers_are_crossed_as_jansson_reads_them_sse2)
{
  ctr__walk_wide_blocks = false;
  containers_crossed();
}

static int paths_agree_line(const char *line, size_t len, const char *what)
{
  return oracle_agrees(line, len, what, wo_paths);
}

/* ctr__walk_path, which every field reading below a record's member goes
 * through, against jansson on every path into every shared and adversarial
 * record; and on records made to trip it: a repeated key at each depth
 * (jansson keeps the last), keys that are prefixes of each other, escaped
 * keys (below the top level: the walk refuses them there) and strings, a path into a string, a number, an array and an empty
 * object, and every string, escape and member straddling a 64-byte block's
 * edge (and the value's end) somewhere. */
static void paths_read(void)
{
  unsigned total = 0, walked = each_corpus_line(paths_agree_line, &total);
  cr_assert_gt(walked, total * 3 / 4, "%u of %u records walked", walked, total);
  static const char *const shapes[] = {
      "{\"a\":{\"b\":1,\"b\":{\"c\":\"x\"}},\"a\":{\"b\":{\"c\":\"%s\",\"c\":\"last\"},\"bb\":2}}",
      "{\"id\":\"%s\",\"i\":\"short\",\"ids\":[\"long\"],\"x\":{\"id\":{\"id\":\"deep\"}},\"id\":\"again\"}",
      "{\"o\":{\"k\\\"ey\":\"%s\",\"k\\u0065y\":{\"key\":1},\"key\":[{\"key\":\"%s\"},{}]}}",
      "{\"s\":\"%s\",\"n\":-0.5e3,\"t\":true,\"z\":null,\"e\":{},\"a\":[],\"o\":{\"s\":\"%s\"}}",
      "{\"items\":[{\"instanceId\":\"%s\",\"items\":[{\"instanceId\":\"no\"}]},{\"instanceId\":\"%s\"}],"
      "\"items\":[{\"instanceId\":\"yes\",\"set\":{\"items\":[]}}]}",
      "{ \"a\" : { \"b\" : [ \"%s\" , { \"c\" : \"%s\" } ] } , \"d\" : \"e\" }",
  };
  static const char *const inside[] = {"v", "\\\\", "\\\"", "]}\\\\\\\"", "\\u00e9\\n", "\xc3\xa9{[", ""};
  for (size_t pad = 0; pad < 140; pad += 3)
    for (size_t s = 0; s < CTR__COUNTOF(shapes); s++)
      for (size_t k = 0; k < CTR__COUNTOF(inside); k++) {
        char value[256], text[1024];
        snprintf(value, sizeof value, "%.*s%s", (int)pad,
                 "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
                 "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp",
                 inside[k]);
        int n = snprintf(text, sizeof text, shapes[s], value, value);
        cr_assert(n > 0 && (size_t)n < sizeof text);
        cr_assert(paths_agree_line(text, (size_t)n, "made"), "not walked: %s", text);
      }
}

Test(event, paths_are_read_as_jansson_reads_them) { paths_read(); }

/* The same with the SSE2 version of crossing a container (see above). */
Test(event, paths_are_read_as_jansson_reads_them_sse2)
{
  ctr__walk_wide_blocks = false;
  paths_read();
}

/* The record walk's wide version (AVX-512BW and VBMI2, where the processor
 * runs it: strings crossed by an index of their stop bytes) reads every
 * record as its SSE2 version does, the oracles of the tests above holding
 * the latter to jansson: each line of the shared and adversarial records;
 * every byte value at every offset of a 64-byte block, in a key, a value
 * and a nested string (the stop masks differ there, if anywhere: quotes,
 * backslashes, control and non-ASCII bytes, 0x20 and 0x7f on their edges);
 * long runs with no stop between strings; and every one-byte change (to a
 * byte that ends a string, a control, a lead byte of UTF-8, a bracket),
 * deletion and truncation of 40 shared records. */
static int walk_versions_agree_line(const char *line, size_t len, const char *what)
{
  const char *why = wo_walk_versions(line, len);
  cr_assert_null(why, "%s: %s: %.*s", what, why, (int)len, line);
  return 1;
}

Test(event, the_walk_s_versions_read_every_record_alike)
{
  if (!ctr__walk_wide_runs())
    cr_log_warn("this processor has no AVX-512BW and VBMI2: the walk's SSE2 version is compared with itself");
  unsigned total = 0;
  each_corpus_line(walk_versions_agree_line, &total);

  static const char *const shapes[] = {"{\"k%.*s%s\":1}", "{\"eventName\":\"%.*s%sz\",\"x\":2}",
                                       "{\"o\":{\"a\":[\"%.*s%s\",{\"b\":\"c\"}]},\"eventSource\":\"s\"}"};
  char text[512], byte[5];
  static const char pad[] = "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp";
  for (size_t s = 0; s < CTR__COUNTOF(shapes); s++)
    for (int n = 0; n < 130; n++)
      for (unsigned c = 1; c < 256; c++) {
        /* A lead byte of UTF-8 followed by what may complete it. */
        byte[0] = (char)c;
        byte[1] = c >= 0xC2 ? (char)0xA9 : 0;
        byte[2] = c >= 0xE0 ? (char)0xA9 : 0;
        byte[3] = c >= 0xF0 ? (char)0x90 : 0;
        byte[4] = 0;
        int len = snprintf(text, sizeof text, shapes[s], n, pad, byte);
        cr_assert(len > 0 && (size_t)len < sizeof text);
        const char *why = wo_walk_versions(text, (size_t)len);
        cr_assert_null(why, "%s: %s", why, text);
      }

  /* Long runs without a stop (numbers, literals, brackets) between strings:
   * the wide walk's index of stops is filled 512 bytes at a time, and the
   * walk may pass its end far from any string. */
  static const char *const runs[] = {"1,", "true,", "[[]],", "{},", "-0.5e3,"};
  for (size_t r = 0; r < CTR__COUNTOF(runs); r++)
    for (size_t n = 0; n < 700; n += 7) {
      char *big = malloc(64 + 7 * 700 + n + 64);
      cr_assert_not_null(big);
      size_t at = (size_t)sprintf(big, "{\"s\":\"%.*s\",\"a\":[", (int)(n % 97), pad);
      for (size_t k = 0; k < n; k++)
        at += (size_t)sprintf(big + at, "%s", runs[r]);
      at += (size_t)sprintf(big + at, "0],\"eventName\":\"x\\\"y\",\"b\":\"\xc3\xa9\"}");
      const char *why = wo_walk_versions(big, at);
      cr_assert_null(why, "%s: %s", why, big);
      free(big);
    }

  size_t data_len;
  char *data = tu_read(tu_shared("records.ndjson"), &data_len);
  static const char changes[] = {'"', '\\', 0x01, 0x1f, ' ', 0x7f, (char)0x80, (char)0xc3, (char)0xf0, '}', ']', ':'};
  unsigned lines = 0;
  for (char *line = data, *nl; line < data + data_len && lines < 40; line = nl + 1, lines++) {
    if (!(nl = memchr(line, '\n', (size_t)(data + data_len - line))))
      nl = data + data_len;
    size_t len = (size_t)(nl - line);
    char *copy = malloc(len);
    cr_assert_not_null(copy);
    for (size_t i = 0; i < len; i++) {
      memcpy(copy, line, len);
      for (size_t k = 0; k < sizeof changes; k++) {
        copy[i] = changes[k];
        const char *why = wo_walk_versions(copy, len);
        cr_assert_null(why, "%s: %.*s", why, (int)len, copy);
      }
      memcpy(copy, line, i); /* byte i deleted */
      memcpy(copy + i, line + i + 1, len - i - 1);
      const char *why = wo_walk_versions(copy, len - 1);
      cr_assert_null(why, "%s: %.*s", why, (int)len - 1, copy);
      why = wo_walk_versions(line, i);
      cr_assert_null(why, "%s: %.*s", why, (int)i, line);
    }
    free(copy);
  }
  cr_assert_eq(lines, 40);
  free(data);
}
