/*
 * test_fields.c - field extraction (fields*.c): the registry, the helpers,
 * every ct.* / s3.* / ec2.* / ecr.* / iam.* / json.* / evt.* / rds.* field on
 * real records of ../shared/data/cloudtrail/records.ndjson (picked by content)
 * and on small inline records for the edge cases, plus a robustness sweep of
 * every field over every record of records.ndjson and partial.ndjson.
 *
 * The real records come from the public sources listed in
 * shared/data/cloudtrail/SOURCES.md (Apache-2.0: panther-labs/panther-analysis,
 * DataDog/stratus-red-team, airbnb/streamalert, criblpacks/cribl-aws-cloudtrail-logs;
 * MIT: OTRF/Security-Datasets); they are read from there, not copied.
 */
#include "internal.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ fixture */

static ctr__arena arena;
static ctr__event ev;
static json_t *root;
static char *raw;

static void fini(void)
{
  json_decref(root);
  root = NULL;
  free(raw);
  raw = NULL;
  ctr__arena_free(&arena);
}

TestSuite(fields, .fini = fini);

/* Parses `text` and makes it the current event, as the scanner would. */
static void load_json_n(const char *text, size_t len)
{
  json_decref(root);
  free(raw);
  root = NULL; /* fini frees them again when an assertion below fails */
  raw = NULL;
  ctr__arena_reset(&arena);
  json_error_t err;
  root = json_loadb(text, len, JSON_ALLOW_NUL, &err);
  cr_assert(root && json_is_object(root), "bad test JSON (%s): %.*s", err.text, (int)len, text);
  raw = malloc(len + 1);
  cr_assert(raw);
  memcpy(raw, text, len);
  raw[len] = '\0';
  memset(&ev, 0, sizeof ev);
  ev.root = root;
  ev.raw = raw;
  ev.raw_len = len;
  ev.index = 6;
  ev.offset = 1234;
  ev.arena = &arena;
  ev.hostname = "testhost";
  const char *t = json_string_value(json_object_get(root, "eventTime"));
  if (!t || !ctr__parse_time(t, &ev.time_ns))
    ev.time_ns = 0;
}

static void load_json(const char *text)
{
  load_json_n(text, strlen(text));
}

/* Loads the first line of a shared data file holding every needle. */
static void load_line(const char *file, const char *n1, const char *n2)
{
  size_t len;
  char *data = tu_read(tu_shared(file), &len);
  char *line = data;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    if (strstr(line, n1) && (!n2 || strstr(line, n2))) {
      load_json(line);
      free(data);
      return;
    }
    line = nl ? nl + 1 : NULL;
  }
  free(data);
  cr_assert_fail("no line of %s holds %s%s%s", file, n1, n2 ? " and " : "", n2 ? n2 : "");
}

static void load_record(const char *n1, const char *n2)
{
  load_line("records.ndjson", n1, n2);
}

/* ------------------------------------------------------------ assertions */

static const ctr__field_def *def_of(const char *name)
{
  const ctr__field_def *d = ctr__field_lookup(name, strlen(name));
  cr_assert(d, "unknown field %s", name);
  return d;
}

static void check_value(const char *name, const ctr__value *v)
{
  cr_assert(v->kind == CTR__V_ABSENT || v->kind == CTR__V_STR || v->kind == CTR__V_U64 || v->kind == CTR__V_LIST,
            "%s: bad kind %d", name, (int)v->kind);
  if (v->kind == CTR__V_STR) {
    cr_assert(v->str != NULL, "%s: NULL string", name);
    cr_assert(v->str[v->len] == '\0', "%s: string not NUL-terminated", name);
  }
  if (v->kind == CTR__V_LIST) {
    cr_assert(v->count == 0 || v->items != NULL, "%s: NULL items", name);
    for (size_t i = 0; i < v->count; i++)
      cr_assert(v->items[i].s != NULL, "%s: NULL item %zu", name, i);
  }
}

static ctr__value extract(const char *name, const char *arg)
{
  const ctr__field_def *d = def_of(name);
  uint64_t argnum = 0;
  if (arg && d->arg == CTR__ARG_INDEX_OPTIONAL)
    argnum = strtoull(arg, NULL, 10);
  ctr__value v;
  memset(&v, 0xA5, sizeof v); /* the extractor must set every member it relies on */
  int rc = d->extract(&ev, arg, argnum, &v);
  cr_assert_eq(rc, CTR_OK, "%s: extract returned %d", name, rc);
  check_value(name, &v);
  return v;
}

static void expect_str_arg(const char *name, const char *arg, const char *want)
{
  ctr__value v = extract(name, arg);
  cr_assert_eq(v.kind, CTR__V_STR, "%s%s%s%s: want \"%s\", got kind %d", name, arg ? "[" : "", arg ? arg : "",
               arg ? "]" : "", want, (int)v.kind);
  cr_assert(v.len == strlen(want) && memcmp(v.str, want, v.len) == 0, "%s%s%s%s: want \"%s\", got \"%.*s\"", name,
            arg ? "[" : "", arg ? arg : "", arg ? "]" : "", want, (int)v.len, v.str);
}

static void expect_absent_arg(const char *name, const char *arg)
{
  ctr__value v = extract(name, arg);
  cr_assert_eq(v.kind, CTR__V_ABSENT, "%s%s%s%s: want absent, got kind %d \"%.*s\"", name, arg ? "[" : "",
               arg ? arg : "", arg ? "]" : "", (int)v.kind, v.kind == CTR__V_STR ? (int)v.len : 0,
               v.kind == CTR__V_STR ? v.str : "");
}

static void expect_u64(const char *name, uint64_t want)
{
  ctr__value v = extract(name, NULL);
  cr_assert_eq(v.kind, CTR__V_U64, "%s: want %llu, got kind %d", name, (unsigned long long)want, (int)v.kind);
  cr_assert_eq(v.u64, want, "%s: want %llu, got %llu", name, (unsigned long long)want, (unsigned long long)v.u64);
}

/* A list field's items, joined with ',' for the comparison. */
static void expect_list(const char *name, const char *want)
{
  ctr__value v = extract(name, NULL);
  cr_assert_eq(v.kind, CTR__V_LIST, "%s: want list \"%s\", got kind %d", name, want, (int)v.kind);
  char got[512];
  size_t k = 0;
  for (size_t i = 0; i < v.count && k + v.items[i].len + 2 < sizeof got; i++) {
    if (i)
      got[k++] = ',';
    memcpy(got + k, v.items[i].s, v.items[i].len);
    k += v.items[i].len;
  }
  got[k] = '\0';
  cr_assert_str_eq(got, want, "%s", name);
}

#define STR(name, want) expect_str_arg(name, NULL, want)
#define LIST(name, want) expect_list(name, want)
#define ABSENT(name) expect_absent_arg(name, NULL)
#define JV(ptr, want) expect_str_arg("json.value", ptr, want)
#define JV_ABSENT(ptr) expect_absent_arg("json.value", ptr)

/* UTF-8 arrows of ct.info. */
#define RD "\xe2\x86\x90"
#define WR "\xe2\x86\x92"

/* ------------------------------------------------------------ registry */

static const char *const all_names[] = {
  "ct.id", "ct.error", "ct.errormessage", "ct.time", "ct.src", "ct.shortsrc", "ct.name", "ct.user",
  "ct.originaluser", "ct.user.accountid", "ct.user.identitytype", "ct.user.principalid", "ct.user.arn", "ct.region",
  "ct.response.subnetid", "ct.response.reservationid", "ct.response", "ct.request.availabilityzone",
  "ct.request.cluster", "ct.request.functionname", "ct.request.groupname", "ct.request.host", "ct.request.name",
  "ct.request.policy", "ct.request.reason", "ct.request.target", "ct.request.documentname",
  "ct.request.serialnumber", "ct.request.servicename", "ct.request.subnetid", "ct.request.taskdefinition",
  "ct.request.username", "ct.request", "ct.srcip", "ct.useragent", "ct.info", "ct.managementevent", "ct.readonly",
  "ct.requestid", "ct.eventtype", "ct.apiversion", "ct.resources", "ct.recipientaccountid",
  "ct.serviceeventdetails", "ct.sharedeventid", "ct.vpcendpointid", "ct.eventcategory", "ct.addendum.reason",
  "ct.addendum.updatedfields", "ct.addendum.originalrequestid", "ct.addendum.originaleventid",
  "ct.sessioncredentialfromconsole", "ct.edgedevicedetails", "ct.tlsdetails.tlsversion",
  "ct.tlsdetails.ciphersuite", "ct.tlsdetails.clientprovidedhostheader", "ct.additionaleventdata", "s3.uri",
  "s3.bucket", "s3.key", "s3.bytes", "s3.bytes.in", "s3.bytes.out", "s3.cnt.get", "s3.cnt.put", "s3.cnt.other",
  "ec2.name", "ec2.imageid", "ec2.imageids", "ecr.repository", "ecr.imagetag", "iam.role", "iam.policy",
  "json.value", "json.obj", "json.rawtime", "json.values", "json.ip", "jevt.value", "jevt.obj", "jevt.rawtime", "evt.num", "evt.time",
  "evt.time.s", "evt.time.iso8601", "evt.datetime", "evt.datetime.s", "evt.rawtime", "evt.rawtime.s",
  "evt.rawtime.ns", "evt.reltime", "evt.reltime.s", "evt.reltime.ns", "evt.pluginname", "evt.plugininfo",
  "evt.source", "evt.is_async", "evt.asynctype", "evt.hostname", "rds.instance", "rds.cluster", "rds.snapshot",
  "rds.snapshot.type", "rds.securitygroup", "rds.parametergroup", "rds.resource", "rds.public",
  "rds.shared.accounts", "rds.unshared.accounts", "rds.shared.foreign", "rds.shared.public", "rds.engine",
  "rds.deletion_protection", "rds.backup_retention", "rds.skip_final_snapshot", "rds.shared.foreign_accounts",
  "rds.params.names", "rds.params.value", "rds.kms.account",
};

Test(fields, registry_lists_every_field)
{
  size_t n = ctr_field_count();
  cr_assert_eq(n, ctr__fields_cloudtrail_count + ctr__fields_json_count + ctr__fields_evt_count +
                      ctr__fields_rds_count);
  cr_assert_eq(n, CTR__COUNTOF(all_names), "registry has %zu fields, the list %zu", n, CTR__COUNTOF(all_names));
  for (size_t i = 0; i < CTR__COUNTOF(all_names); i++)
    def_of(all_names[i]);
  for (size_t i = 0; i < n; i++) {
    const char *name = ctr_field_name(i);
    const char *desc = ctr_field_desc(i);
    const char *type = ctr_field_type(i);
    cr_assert(name && *name);
    cr_assert(desc && strlen(desc) > 5, "%s has no description", name);
    cr_assert(type);
    const ctr__field_def *d = ctr__field_lookup(name, strlen(name));
    cr_assert(d && strcmp(d->name, name) == 0 && d->desc == desc);
    cr_assert_not_null(d->extract);
    const char *want = d->type == CTR__FT_UINT64 ? "uint64" : d->type == CTR__FT_LIST ? "list" : "string";
    cr_assert_str_eq(type, want, "%s", name);
    for (size_t j = 0; j < i; j++)
      cr_assert_str_neq(ctr_field_name(j), name, "duplicate field %s", name);
  }
  cr_assert_null(ctr_field_name(n));
  cr_assert_null(ctr_field_desc(n));
  cr_assert_null(ctr_field_type(n));
}

Test(fields, lookup_is_exact)
{
  cr_assert_null(ctr__field_lookup("ct.nam", 6));
  cr_assert_null(ctr__field_lookup("ct.namex", 8));
  cr_assert_null(ctr__field_lookup("CT.NAME", 7));
  cr_assert_null(ctr__field_lookup("", 0));
  cr_assert_null(ctr__field_lookup(NULL, 0));
  cr_assert_null(ctr__field_lookup("ct.id\0junk", 10));
  const ctr__field_def *d = ctr__field_lookup("ct.namexyz", 7);
  cr_assert(d && strcmp(d->name, "ct.name") == 0);
  cr_assert_eq(def_of("s3.bytes")->type, CTR__FT_UINT64);
  cr_assert_eq(def_of("ec2.imageids")->type, CTR__FT_LIST);
  cr_assert_eq(def_of("ec2.imageids")->arg, CTR__ARG_INDEX_OPTIONAL);
  cr_assert_eq(def_of("json.value")->arg, CTR__ARG_KEY_REQUIRED);
  cr_assert_eq(def_of("jevt.value")->arg, CTR__ARG_KEY_REQUIRED);
  cr_assert_eq(def_of("ct.name")->arg, CTR__ARG_NONE);
  cr_assert_eq(def_of("evt.num")->type, CTR__FT_UINT64);
  cr_assert_eq(def_of("rds.backup_retention")->type, CTR__FT_UINT64);
  cr_assert_eq(def_of("s3.cnt.other")->type, CTR__FT_UINT64);
}

/* ------------------------------------------------------------ helpers */

Test(fields, helpers)
{
  load_json("{\"a\":{\"b\":{\"c\":\"deep\"},\"n\":null,\"arr\":[1]},\"s\":\"x\"}");
  cr_assert_str_eq(json_string_value(ctr__json_path(root, "a.b.c")), "deep");
  cr_assert_null(ctr__json_path(root, "a.b.c.d"));
  cr_assert_null(ctr__json_path(root, "a.n.x"));
  cr_assert_null(ctr__json_path(root, "a.arr.0"));
  cr_assert_null(ctr__json_path(root, "missing"));
  cr_assert_null(ctr__json_path(NULL, "a"));
  cr_assert(json_is_null(ctr__json_path(root, "a.n")));
  cr_assert_null(ctr__json_get(ctr__json_get(root, "s"), "x"));
  cr_assert_null(ctr__json_get(NULL, "x"));

  ctr__value v;
  ctr__value_plain(NULL, &v);
  cr_assert_eq(v.kind, CTR__V_ABSENT);
  ctr__value_plain(ctr__json_path(root, "a.b"), &v);
  cr_assert(v.kind == CTR__V_STR && v.len == 0);
  ctr__value_plain(ctr__json_path(root, "a.b.c"), &v);
  cr_assert(v.kind == CTR__V_STR && strcmp(v.str, "deep") == 0 && v.len == 4);
  cr_assert_eq(ctr__value_compact(&ev, ctr__json_path(root, "a"), &v), CTR_OK);
  cr_assert_str_eq(v.str, "{\"b\":{\"c\":\"deep\"},\"n\":null,\"arr\":[1]}");
  cr_assert_eq(ctr__value_compact(&ev, ctr__json_path(root, "a.n"), &v), CTR_OK);
  cr_assert_str_eq(v.str, "null");
  cr_assert_eq(ctr__value_compact(&ev, NULL, &v), CTR_OK);
  cr_assert_eq(v.kind, CTR__V_ABSENT);
  ctr__value_u64(&v, 42);
  cr_assert(v.kind == CTR__V_U64 && v.u64 == 42);
  ctr__value_cstr(&v, "abc");
  cr_assert(v.kind == CTR__V_STR && v.len == 3);
}

Test(fields, compact_json_text)
{
  load_json("{\"o\":{\"z\":1,\"a\":[true,false,null,-7,{}],\"e\":[]},"
            "\"s\":\"q\\\"b\\\\s\\n\\t\\u0001\\u00e9/\\u2028\","
            "\"r\":[0.1,2.5,100.0,0.0,-1.5,1e300]}");
  JV("/o", "{\"z\":1,\"a\":[true,false,null,-7,{}],\"e\":[]}");
  expect_str_arg("json.value", "/s", "q\"b\\s\n\t\x01\xc3\xa9/\xe2\x80\xa8");
  cr_assert_eq(json_object_del(root, "o"), 0);
  cr_assert_eq(json_object_del(root, "r"), 0);
  ctr__value v;
  cr_assert_eq(ctr__value_compact(&ev, root, &v), CTR_OK);
  cr_assert_str_eq(v.str, "{\"s\":\"q\\\"b\\\\s\\n\\t\\u0001\xc3\xa9/\xe2\x80\xa8\"}");
  load_json("{\"r\":[0.1,2.5,100.0,0.0,-1.5,1e300,123456.789,1.5e-7,-0.0,1e20,1e21,5e-324,0.000001]}");
  JV("/r", "[0.1,2.5,100.0,0.0,-1.5,1e+300,123456.789,1.5e-07,-0.0,100000000000000000000.0,1e+21,5e-324,0.000001]");
  JV("/r/0", "0.1");
  JV("/r/2", "100.0");
}

/* ------------------------------------------------------------ eventTime */

Test(fields, parse_time)
{
  int64_t ns = -1;
  const int64_t base = 1546300800LL * 1000000000LL; /* 2019-01-01T00:00:00Z */
  cr_assert(ctr__parse_time("2019-01-01T00:00:00Z", &ns));
  cr_assert_eq(ns, base);
  cr_assert(ctr__parse_time("2019-01-01t00:00:00z", &ns));
  cr_assert_eq(ns, base);
  cr_assert(ctr__parse_time("2019-01-01T00:00:00.5Z", &ns));
  cr_assert_eq(ns, base + 500000000);
  cr_assert(ctr__parse_time("2019-01-01T00:00:00.123456789Z", &ns));
  cr_assert_eq(ns, base + 123456789);
  cr_assert(ctr__parse_time("2019-01-01T02:00:00+02:00", &ns));
  cr_assert_eq(ns, base);
  cr_assert(ctr__parse_time("2018-12-31T22:30:00.25-01:30", &ns));
  cr_assert_eq(ns, base + 250000000);
  cr_assert(ctr__parse_time("2019-01-01 00:00:00", &ns));
  cr_assert_eq(ns, base);
  cr_assert(ctr__parse_time("2019-01-01 00:00:00.000000000", &ns));
  cr_assert_eq(ns, base);
  cr_assert(ctr__parse_time("2019-01-01 00:00:00.123", &ns));
  cr_assert_eq(ns, base + 123000000);
  cr_assert(ctr__parse_time("2020-02-29T12:00:00Z", &ns));
  cr_assert(ctr__parse_time("1970-01-01T00:00:00Z", &ns));
  cr_assert_eq(ns, 0);
  cr_assert(ctr__parse_time("1969-12-31T23:59:59Z", &ns));
  cr_assert_eq(ns, -1000000000LL);
  cr_assert(ctr__parse_time("2262-04-11T00:00:00Z", &ns));

  static const char *const bad[] = {
    "...", "eventTime", "redacted", "", "2019-01-01T00:00:00", "2019-01-01T00:00:00.Z",
    "2019-01-01T00:00:00.1234567891Z", "2019-02-29T00:00:00Z", "2019-13-01T00:00:00Z", "2019-00-01T00:00:00Z",
    "2019-01-32T00:00:00Z", "2019-01-01T24:00:00Z", "2019-01-01T00:60:00Z", "2019-01-01T00:00:60Z",
    "2019-01-01T00:00:00Zjunk", "2019-01-01T00:00:00+0200", "2019-01-01T00:00:00+24:00", "2019-1-01T00:00:00Z",
    "2019-01-01X00:00:00Z", "2019-01-01 00:00:00 ", "2262-04-12T00:00:00Z", "9999-12-31T23:59:59Z",
    "2019-01-01T00:00:00+02", "20190101T000000Z",
  };
  for (size_t i = 0; i < CTR__COUNTOF(bad); i++)
    cr_assert_not(ctr__parse_time(bad[i], &ns), "accepted \"%s\"", bad[i]);
  cr_assert_not(ctr__parse_time(NULL, &ns));
}

/* The calendar arithmetic that replaced timegm gives timegm's seconds on
 * every day int64 nanoseconds can hold (1677-09-22 .. 2262-04-10), at each
 * day's first and last second and with a zone offset, and the same verdict
 * at the two ends. */
Test(fields, parse_time_counts_days_as_timegm)
{
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  size_t days = 0;
  for (int y = 1677; y <= 2262; y++)
    for (int m = 1; m <= 12; m++) {
      bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
      int last = mdays[m - 1] + (m == 2 && leap);
      for (int d = 1; d <= last; d++) {
        if ((y == 1677 && (m < 9 || (m == 9 && d < 22))) || (y == 2262 && (m > 4 || (m == 4 && d > 10))))
          continue;
        struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 23, .tm_min = 59, .tm_sec = 59};
        int64_t want = (int64_t)timegm(&tm);
        char s[40];
        int64_t ns = 0;
        snprintf(s, sizeof s, "%04d-%02d-%02dT23:59:59.5Z", y, m, d);
        cr_assert(ctr__parse_time(s, &ns), "%s", s);
        cr_assert_eq(ns, want * 1000000000 + 500000000, "%s", s);
        snprintf(s, sizeof s, "%04d-%02d-%02d 00:00:00", y, m, d);
        cr_assert(ctr__parse_time(s, &ns), "%s", s);
        cr_assert_eq(ns, (want - 86399) * 1000000000, "%s", s);
        snprintf(s, sizeof s, "%04d-%02d-%02dT12:00:00-05:30", y, m, d);
        cr_assert(ctr__parse_time(s, &ns), "%s", s);
        cr_assert_eq(ns, (want - 86399 + 12 * 3600 + 5 * 3600 + 1800) * 1000000000, "%s", s);
        days++;
      }
    }
  cr_assert_eq(days, 213502, "every day from 1677-09-22 to 2262-04-10");
  int64_t ns;
  cr_assert_not(ctr__parse_time("1677-09-21T00:12:43Z", &ns), "before int64 nanoseconds");
  cr_assert_not(ctr__parse_time("0001-01-01T00:00:00Z", &ns));
  cr_assert_not(ctr__parse_time("2262-04-11T23:47:17Z", &ns), "after int64 nanoseconds");
}

/* ------------------------------------------------------------ identities */

Test(fields, iam_user_record)
{
  load_record("\"userName\":\"john.developer\"", "UpdateFunctionConfiguration20150331v2");
  STR("ct.id", "1");
  STR("ct.time", "2019-01-01T00:00:00Z");
  STR("ct.src", "lambda.amazonaws.com");
  STR("ct.shortsrc", "lambda");
  STR("ct.name", "UpdateFunctionConfiguration20150331v2");
  STR("ct.user", "john.developer");
  STR("ct.originaluser", "john.developer");
  STR("ct.user.accountid", "123456789012");
  STR("ct.user.identitytype", "IAMUser");
  STR("ct.user.principalid", "AIDAI123456789EXAMPLE");
  STR("ct.user.arn", "arn:aws:iam::123456789012:user/john.developer");
  STR("ct.region", "us-west-2");
  STR("ct.srcip", "203.0.113.50");
  STR("ct.useragent", "aws-cli/2.13.5 Python/3.11.4");
  STR("ct.requestid", "1");
  STR("ct.eventtype", "AwsApiCall");
  STR("ct.recipientaccountid", "123456789012");
  STR("ct.readonly", "false");
  ABSENT("ct.managementevent");
  ABSENT("ct.error");
  ABSENT("ct.errormessage");
  ABSENT("ct.apiversion");
  ABSENT("ct.eventcategory");
  ABSENT("ct.sharedeventid");
  ABSENT("ct.vpcendpointid");
  ABSENT("ct.resources");
  ABSENT("ct.serviceeventdetails");
  ABSENT("ct.edgedevicedetails");
  ABSENT("ct.addendum.reason");
  ABSENT("ct.tlsdetails.tlsversion");
  ABSENT("ct.sessioncredentialfromconsole");
  ABSENT("ct.additionaleventdata");
  STR("ct.request.functionname", "production-api");
  ABSENT("ct.request.name");
  STR("ct.request", "{\"functionName\":\"production-api\"}");
  STR("ct.response", "{\"functionName\":\"production-api\",\"layers\":[{\"arn\":"
                     "\"arn:aws:lambda:us-west-2:123456789012:layer:malicious-layer:1\"}]}");
  STR("ct.info", "john.developer via 203.0.113.50 " WR " UpdateFunctionConfiguration20150331v2");
  ABSENT("s3.bucket");
  ABSENT("s3.uri");
  ABSENT("s3.bytes");
  expect_u64("s3.cnt.get", 0);
  expect_u64("s3.cnt.put", 0);
  expect_u64("s3.cnt.other", 1);
  ABSENT("ec2.imageids");
  ABSENT("ec2.imageid");
  ABSENT("ec2.name");
  ABSENT("iam.role");
}

Test(fields, assumed_role_record)
{
  load_record("\"eventID\":\"ceaea85a-6db9-4595-9842-d904fce2f047\"", "SendCommand");
  STR("ct.user", "SampleRole");
  STR("ct.originaluser", "bobson.dugnutt");
  STR("ct.user.identitytype", "AssumedRole");
  STR("ct.user.principalid", "SAMPLE_PRINCIPAL_ID:bobson.dugnutt");
  STR("ct.request.documentname", "AWS-RunShellScript"); /* plugin bug fixed */
  STR("ct.eventcategory", "Management");
  STR("ct.managementevent", "true");
  STR("ct.tlsdetails.tlsversion", "TLSv1.2");
  STR("ct.tlsdetails.ciphersuite", "ECDHE-RSA-AES128-GCM-SHA256");
  STR("ct.tlsdetails.clientprovidedhostheader", "ssm.us-west-2.amazonaws.com");
  STR("ct.info", "SampleRole via 1.2.3.4 " WR " SendCommand");
  JV("/requestParameters/instanceIds/2", "i-020001cca1a2f2628");
  JV("/responseElements/command/targetCount", "3");
  JV("/responseElements/command/alarmConfiguration", "{\"alarms\":[],\"ignorePollAlarmFailure\":false}");

  /* arn with only two '/'-parts and a principalId without ':': no session name. */
  load_record("\"principalId\":\"tester\"", "\"userName\":\"Tester\"");
  STR("ct.user", "Tester");
  ABSENT("ct.originaluser");

  /* The Panther GetObject: arn gives the session name. */
  load_record("\"eventID\":\"771299cb-e200-4926-9604-c85358b30499\"", NULL);
  STR("ct.user", "MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0");
  STR("ct.originaluser", "i-0317f6c6b66ae9c40");
}

Test(fields, assumed_role_inline)
{
  /* No sessionIssuer: the literal; an arn with 4 parts falls back to the
   * principalId, whose 2nd ':'-part is copied out NUL-terminated. */
  load_json("{\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":\"arn:aws:sts::1:assumed-role/a/b/c\","
            "\"principalId\":\"AROAX:sess:extra\"},\"sourceIPAddress\":\"10.0.0.1\",\"eventName\":\"X\"}");
  STR("ct.user", "AssumedRole");
  STR("ct.originaluser", "sess");
  STR("ct.info", "AssumedRole via 10.0.0.1 " RD " X");
  /* sessionIssuer.userName not a string: the literal too. */
  load_json("{\"userIdentity\":{\"type\":\"AssumedRole\",\"sessionContext\":{\"sessionIssuer\":{\"userName\":5}},"
            "\"principalId\":\"AROAX:s2\"}}");
  STR("ct.user", "AssumedRole");
  STR("ct.originaluser", "s2");
  /* sessionContext of the wrong type. */
  load_json("{\"userIdentity\":{\"type\":\"AssumedRole\",\"sessionContext\":[1,2],\"arn\":7}}");
  STR("ct.user", "AssumedRole");
  ABSENT("ct.originaluser");
}

Test(fields, root_record)
{
  load_record("\"arn\":\"arn:aws:iam::123456789012:root\"", "\"MFAUsed\":\"No\"");
  STR("ct.user.identitytype", "Root");
  ABSENT("ct.user"); /* Root without userName */
  ABSENT("ct.originaluser");
  STR("ct.info", "<invalid cloudtrail event: userIdentity field missing>");
  STR("ct.request", "null");
  ABSENT("ct.request.username");
  STR("ct.response", "{\"ConsoleLogin\":\"Success\"}");
  STR("ct.eventtype", "AwsConsoleSignIn");
  STR("ct.shortsrc", "signin");
  JV("/responseElements/ConsoleLogin", "Success");
  JV("/additionalEventData/MFAUsed", "No");
  JV("/requestParameters", "null");
  JV_ABSENT("/requestParameters/x");
  STR("evt.plugininfo", "us-east-1 signin ConsoleLogin <invalid cloudtrail event: userIdentity field missing>");

  load_json("{\"userIdentity\":{\"type\":\"Root\",\"userName\":\"root-name\"},\"sourceIPAddress\":\"1.1.1.1\","
            "\"eventName\":\"E\",\"readOnly\":true}");
  STR("ct.user", "root-name");
  STR("ct.originaluser", "root-name");
  STR("ct.info", "root-name via 1.1.1.1 " RD " E");
}

Test(fields, aws_service_record)
{
  load_record("\"eventID\":\"1f3d7d49-6637-3304-b959-9be15f20215d\"", NULL);
  STR("ct.user", "lambda.amazonaws.com");
  STR("ct.user.identitytype", "AWSService");
  ABSENT("ct.user.principalid");
  ABSENT("ct.originaluser");
  STR("ct.user.accountid", "123456789123"); /* no userIdentity.accountId: recipientAccountId */
  STR("ct.srcip", "lambda.amazonaws.com");
  STR("ct.info", "lambda.amazonaws.com " RD " AssumeRole"); /* user == srcip: no "via" */
  STR("ct.resources",
      "{\"accountId\":\"123456789123\",\"arn\":\"arn:aws:iam::123456789123:role/my_role_arn\",\"type\":\"AWS::IAM::Role\"}");
  STR("ct.sharedeventid", "95e84e79-100a-40a6-985e-3c9c4b41f622");
  STR("ct.readonly", "true");
  STR("ct.managementevent", "true");
  STR("evt.datetime", "2024-06-02 20:27:12.000000000");
  STR("evt.plugininfo", "us-west-2 lambda.amazonaws.com sts AssumeRole lambda.amazonaws.com " RD " AssumeRole");
}

Test(fields, federated_account_web_identity_unknown_saml)
{
  load_record("\"type\":\"FederatedUser\"", "\"functionName\":\"production-api\"");
  STR("ct.user", "FederatedUser");
  ABSENT("ct.originaluser");
  STR("ct.info", "FederatedUser via 203.0.113.50 " WR " UpdateFunctionConfiguration20150331v2");

  /* AWSAccount, with Panther's "True" strings and a resources[] of strings. */
  load_record("\"eventID\":\"044e210e-6c5e-3f3e-8f04-2311a826f287\"", NULL);
  STR("ct.user", "AWSAccount");
  STR("ct.readonly", "false");
  STR("ct.managementevent", "false");
  STR("ct.info", "AWSAccount via 1.2.3.4 " WR " AssumeRole");
  STR("ct.resources", "\"{'accountId': '111122223333', 'arn': 'arn:aws:iam::111122223333:role/SampleRole', "
                      "'type': 'AWS::IAM::Role'}\"");
  STR("ct.tlsdetails.tlsversion", "TLSv1.3");
  STR("ct.tlsdetails.clientprovidedhostheader", "sts.us-east-1.amazonaws.com");
  STR("evt.time", "16:04:32.000000000");

  load_record("\"type\":\"WebIdentityUser\"", NULL);
  ABSENT("ct.user");
  STR("ct.originaluser", "system:serviceaccount:prod:checkout");
  STR("ct.user.identitytype", "WebIdentityUser");
  STR("ct.info", "<invalid cloudtrail event: userIdentity field missing>");
  STR("evt.plugininfo", "eu-west-1 sts AssumeRoleWithWebIdentity <invalid cloudtrail event: userIdentity field missing>");

  load_record("\"userName\":\"scott.tedrow\"", "\"type\":\"Unknown\"");
  ABSENT("ct.user");
  STR("ct.originaluser", "scott.tedrow");
  ABSENT("ct.request"); /* no requestParameters key */

  load_json("{\"userIdentity\":{\"type\":\"SAMLUser\",\"principalId\":\"SAMLPROVIDER:alice@example.com\","
            "\"userName\":\"alice@example.com\"},\"eventSource\":\"sts.amazonaws.com\",\"eventName\":\"AssumeRoleWithSAML\","
            "\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"192.0.2.1\"}");
  ABSENT("ct.user");
  STR("ct.originaluser", "alice@example.com");
  STR("ct.user.identitytype", "SAMLUser");

  /* userIdentity without a type, then of the wrong types. */
  load_record("\"eventID\":\"ec783cd8-fad8-41a8-abac-569a78c42e33\"", NULL);
  ABSENT("ct.user");
  ABSENT("ct.user.identitytype");
  STR("ct.user.accountid", "012345678901");
  STR("ct.serviceeventdetails", ""); /* an object: "" */
  STR("ct.eventtype", "AwsServiceEvent");
  load_json("{\"userIdentity\":{\"type\":[\"IAMUser\"],\"userName\":\"u\",\"accountId\":12},\"recipientAccountId\":\"r\"}");
  ABSENT("ct.user");
  STR("ct.originaluser", "u");
  STR("ct.user.identitytype", "");
  STR("ct.user.accountid", "");
  load_json("{\"userIdentity\":\"IAMUser\",\"recipientAccountId\":\"r\"}");
  ABSENT("ct.user");
  ABSENT("ct.user.arn");
  STR("ct.user.accountid", "r");
}

/* ------------------------------------------------------------ errors, flags */

Test(fields, failed_call)
{
  load_record("\"eventID\":\"57b719ad-f2fa-4d18-bd84-29fee11799b1\"", NULL);
  STR("ct.error", "AccessDenied");
  STR("ct.errormessage", "User: arn:aws:iam::187901811700:user/exposed.user is not authorized to perform: "
                         "lambda:ListFunctions on resource: * because no identity-based policy allows the "
                         "lambda:ListFunctions action");
  STR("ct.info", "exposed.user via 73.252.165.138 !" RD " ListFunctions20150331");
  ABSENT("ct.request");
  ABSENT("ct.response");
  STR("ct.time", "2024-06-02 20:16:32.000000000");
}

Test(fields, session_credential_from_console)
{
  load_record("\"eventID\":\"9357a8cc-a0eb-46a1-b67e-EXAMPLE19b14\"", NULL); /* AWS's string "true" */
  STR("ct.sessioncredentialfromconsole", "true");
  load_record("\"eventID\":\"28773860-a4fd-47c7-a215-6f0e6e6e532f\"", NULL); /* a JSON bool */
  STR("ct.sessioncredentialfromconsole", "true");
  load_json("{\"sessionCredentialFromConsole\":\"false\"}");
  STR("ct.sessioncredentialfromconsole", "false");
  load_json("{\"sessionCredentialFromConsole\":false}");
  STR("ct.sessioncredentialfromconsole", "false");
  load_json("{\"sessionCredentialFromConsole\":null}");
  STR("ct.sessioncredentialfromconsole", "false");
  load_json("{}");
  ABSENT("ct.sessioncredentialfromconsole");
}

Test(fields, booleans_and_plain_types)
{
  load_json("{\"readOnly\":\"True\",\"managementEvent\":\"true\",\"eventID\":12,\"eventName\":null,"
            "\"awsRegion\":{},\"errorCode\":[],\"edgeDeviceDetails\":{\"a\":1},\"serviceEventDetails\":\"text\","
            "\"addendum\":{\"reason\":\"DELIVERY_DELAY\",\"updatedFields\":\"x\",\"originalRequestID\":\"r\","
            "\"originalEventID\":\"e\"},\"apiVersion\":\"2016-11-15\",\"vpcEndpointId\":\"vpce-1\","
            "\"eventSource\":\"amazonaws.com\"}");
  STR("ct.readonly", "false"); /* the plugin's GetBool: only JSON true */
  STR("ct.managementevent", "false");
  STR("ct.id", "");
  STR("ct.name", "");
  STR("ct.region", "");
  STR("ct.error", "");
  STR("ct.edgedevicedetails", "");
  STR("ct.serviceeventdetails", "text");
  STR("ct.addendum.reason", "DELIVERY_DELAY");
  STR("ct.addendum.updatedfields", "x");
  STR("ct.addendum.originalrequestid", "r");
  STR("ct.addendum.originaleventid", "e");
  STR("ct.apiversion", "2016-11-15");
  STR("ct.vpcendpointid", "vpce-1");
  STR("ct.shortsrc", "amazonaws.com"); /* no ".amazonaws.com" trailer */
  load_json("{\"readOnly\":true,\"managementEvent\":false,\"eventSource\":\".amazonaws.com\"}");
  STR("ct.readonly", "true");
  STR("ct.managementevent", "false");
  STR("ct.shortsrc", ".amazonaws.com"); /* must be longer than the trailer */
  load_json("{\"eventSource\":\"custom.source\",\"readOnly\":null}");
  STR("ct.shortsrc", "custom.source");
  STR("ct.readonly", "false");
}

Test(fields, request_parameters_absent_null_empty)
{
  load_json("{\"eventName\":\"A\"}");
  ABSENT("ct.request");
  ABSENT("ct.request.name");
  ABSENT("ct.response");
  JV_ABSENT("/requestParameters");
  load_json("{\"requestParameters\":null,\"responseElements\":null,\"additionalEventData\":null}");
  STR("ct.request", "null");
  STR("ct.response", "null");
  STR("ct.additionaleventdata", "null");
  ABSENT("ct.request.name");
  ABSENT("ct.response.subnetid");
  JV("/requestParameters", "null");
  load_json("{\"requestParameters\":{},\"responseElements\":{}}");
  STR("ct.request", "{}");
  STR("ct.response", "{}");
  ABSENT("ct.request.name");
  JV("/requestParameters", "{}");
  load_json("{\"requestParameters\":{\"name\":5,\"policy\":null,\"groupName\":{\"a\":1},\"userName\":\"u\","
            "\"availabilityZone\":\"az\",\"cluster\":\"c\",\"Host\":\"h\",\"reason\":\"why\",\"target\":\"i-1\","
            "\"serialNumber\":\"sn\",\"serviceName\":\"svc\",\"subnetId\":\"sub\",\"taskDefinition\":\"td\","
            "\"repositoryName\":\"repo\",\"imageTag\":\"latest\",\"roleName\":\"role\",\"policyName\":\"pol\"},"
            "\"responseElements\":{\"subnetId\":\"rsub\",\"reservationId\":\"r-1\"}}");
  STR("ct.request.name", "");
  STR("ct.request.policy", "");
  STR("ct.request.groupname", "");
  STR("ct.request.username", "u");
  STR("ct.request.availabilityzone", "az");
  STR("ct.request.cluster", "c");
  STR("ct.request.host", "h");
  STR("ct.request.reason", "why");
  STR("ct.request.target", "i-1");
  STR("ct.request.serialnumber", "sn");
  STR("ct.request.servicename", "svc");
  STR("ct.request.subnetid", "sub");
  STR("ct.request.taskdefinition", "td");
  STR("ecr.repository", "repo");
  STR("ecr.imagetag", "latest");
  STR("iam.role", "role");
  STR("iam.policy", "pol");
  STR("ct.response.subnetid", "rsub");
  STR("ct.response.reservationid", "r-1");
  load_json("{\"requestParameters\":[1,{\"name\":\"x\"}],\"resources\":{\"a\":1}}");
  ABSENT("ct.request.name");
  STR("ct.request", "[1,{\"name\":\"x\"}]");
  ABSENT("ct.resources");
  load_json("{\"resources\":[]}");
  ABSENT("ct.resources");
  load_json("{\"resources\":[{\"ARN\":\"a\"},null,\"s\",3]}");
  STR("ct.resources", "{\"ARN\":\"a\"},null,\"s\",3");
}

Test(fields, real_ecr_iam_fields)
{
  load_line("records.ndjson", "\"imageTag\":", NULL);
  ctr__value v = extract("ecr.imagetag", NULL);
  cr_assert_eq(v.kind, CTR__V_STR);
  cr_assert_str_eq(v.str, json_string_value(ctr__json_path(root, "requestParameters.imageTag")));
  load_line("records.ndjson", "\"roleName\":", NULL);
  v = extract("iam.role", NULL);
  cr_assert_eq(v.kind, CTR__V_STR);
  cr_assert_str_eq(v.str, json_string_value(ctr__json_path(root, "requestParameters.roleName")));
}

/* ------------------------------------------------------------ ct.info */

Test(fields, info_variants)
{
  /* user == srcip, failed write. */
  load_json("{\"userIdentity\":{\"type\":\"AWSService\",\"invokedBy\":\"ec2.amazonaws.com\"},"
            "\"sourceIPAddress\":\"ec2.amazonaws.com\",\"eventName\":\"RunInstances\",\"readOnly\":false,"
            "\"errorCode\":\"Client.UnauthorizedOperation\"}");
  STR("ct.info", "ec2.amazonaws.com !" WR " RunInstances");
  /* readOnly missing: read arrow. */
  load_json("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bob\"},\"sourceIPAddress\":\"1.2.3.4\","
            "\"eventName\":\"Get\"}");
  STR("ct.info", "bob via 1.2.3.4 " RD " Get");
  /* PutBucketPublicAccessBlock: flags from the configuration (plugin bug fixed), no Bucket=. */
  load_json("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bob\"},\"sourceIPAddress\":\"1.2.3.4\","
            "\"eventName\":\"PutBucketPublicAccessBlock\",\"readOnly\":false,\"requestParameters\":{"
            "\"bucketName\":\"b\",\"PublicAccessBlockConfiguration\":{\"BlockPublicAcls\":true,"
            "\"BlockPublicPolicy\":false,\"IgnorePublicAcls\":\"true\",\"RestrictPublicBuckets\":true}}}");
  STR("ct.info", "bob via 1.2.3.4 " WR " PutBucketPublicAccessBlock BlockPublicAcls=true BlockPublicPolicy=false "
                 "IgnorePublicAcls=false RestrictPublicBuckets=true ");
  /* Real records: all four false; no configuration at all. */
  load_record("\"BlockPublicAcls\":false", "\"bucketName\":\"...\"");
  JV("/requestParameters/PublicAccessBlockConfiguration/RestrictPublicBuckets", "false");
  JV("/requestParameters/publicAccessBlock", "[\"\"]");
  JV("/requestParameters/publicAccessBlock/0", "");
  JV("/requestParameters/host", "[\"s3.amazonaws.com\"]");
  STR("ct.vpcendpointid", "...");
  load_record("\"bucketName\":\"corporate-documents\"", "PutBucketPublicAccessBlock");
  STR("ct.user", "AssumedRole");
  STR("ct.originaluser", "sample-role-brave-yalow-role-intelligent-brahmagupta-role-beautiful-keldysh-role-happy-"
                         "easley-role-bold-buck");
  STR("ct.info", "AssumedRole via 1.2.3.4 " WR " PutBucketPublicAccessBlock");
  /* The S3 tail: Size, then the first of URI/Bucket/Key/Host. */
  const char *head = "{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},\"sourceIPAddress\":\"s\","
                     "\"eventName\":\"N\",\"readOnly\":true,";
  char buf[512];
  snprintf(buf, sizeof buf, "%s\"requestParameters\":{\"bucketName\":\"b\",\"Host\":\"h\"},"
                            "\"additionalEventData\":{\"bytesTransferredIn\":5}}", head);
  load_json(buf);
  STR("ct.info", "u via s " RD " N Size=5 Bucket=b");
  snprintf(buf, sizeof buf, "%s\"requestParameters\":{\"key\":\"k\",\"Host\":\"h\"}}", head);
  load_json(buf);
  STR("ct.info", "u via s " RD " N Key=k");
  snprintf(buf, sizeof buf, "%s\"requestParameters\":{\"Host\":\"h\"}}", head);
  load_json(buf);
  STR("ct.info", "u via s " RD " N Host=h");
  snprintf(buf, sizeof buf, "%s\"requestParameters\":{\"Host\":[\"h\"]}}", head);
  load_json(buf);
  STR("ct.info", "u via s " RD " N Host=");
  snprintf(buf, sizeof buf, "%s\"requestParameters\":{\"key\":\"k\",\"bucketName\":\"b\"}}", head);
  load_json(buf);
  STR("ct.info", "u via s " RD " N URI=s3://b/k");
  /* Missing pieces. */
  load_json("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},\"eventName\":\"N\"}");
  STR("ct.info", "<invalid cloudtrail event: eventSource field missing>");
  load_json("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},\"sourceIPAddress\":\"s\"}");
  STR("ct.info", "<invalid cloudtrail event: eventName field missing>");
  load_json("{\"userIdentity\":{\"type\":\"IAMUser\"},\"sourceIPAddress\":\"s\",\"eventName\":\"N\"}");
  STR("ct.info", "<invalid cloudtrail event: userIdentity field missing>");
  load_json("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},\"sourceIPAddress\":7,\"eventName\":\"N\"}");
  STR("ct.info", "u via  " RD " N");
}

/* ------------------------------------------------------------ s3.* */

Test(fields, s3_get_object_record)
{
  load_record("\"eventID\":\"771299cb-e200-4926-9604-c85358b30499\"", NULL);
  STR("s3.bucket", "mordors3stack-s3bucket-llp2yingx64a");
  STR("s3.key", "ring.txt");
  STR("s3.uri", "s3://mordors3stack-s3bucket-llp2yingx64a/ring.txt");
  expect_u64("s3.bytes", 89); /* 0.0 + 89.0, reals truncated */
  expect_u64("s3.bytes.in", 0);
  expect_u64("s3.bytes.out", 89);
  expect_u64("s3.cnt.get", 1);
  expect_u64("s3.cnt.put", 0);
  expect_u64("s3.cnt.other", 0);
  STR("ct.request.host", "mordors3stack-s3bucket-llp2yingx64a.s3.amazonaws.com");
  STR("ct.eventcategory", "Data");
  STR("ct.managementevent", "false");
  STR("ct.response", "null");
  STR("ct.info", "MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0 via 1.2.3.4 " RD
                 " GetObject Size=89 URI=s3://mordors3stack-s3bucket-llp2yingx64a/ring.txt");
  STR("ct.resources", "{\"ARN\":\"arn:aws:s3:::mordors3stack-s3bucket-llp2yingx64a/ring.txt\",\"type\":"
                      "\"AWS::S3::Object\"},{\"ARN\":\"arn:aws:s3:::mordors3stack-s3bucket-llp2yingx64a\","
                      "\"accountId\":\"123456789123\",\"type\":\"AWS::S3::Bucket\"}");
  STR("ct.additionaleventdata",
      "{\"bytesTransferredOut\":89.0,\"AuthenticationMethod\":\"AuthHeader\",\"CipherSuite\":"
      "\"ECDHE-RSA-AES128-GCM-SHA256\",\"SignatureVersion\":\"SigV4\",\"bytesTransferredIn\":0.0,\"x-amz-id-2\":"
      "\"gyAgfHKWBQDUmPzc6Za14YfKLUew1NZi81kJ1w95x6ibnEsBn7rpYrjnoTeUrjEGGMfXo7BgS70=\"}");
  JV("/additionalEventData/bytesTransferredOut", "89.0");
  STR("ct.time", "2020-09-14T01:02:34Z");

  load_record("\"eventID\":\"7a1c3e59-2d84-4f16-b7a0-9c5e3b1d8f24\"", NULL);
  expect_u64("s3.bytes", 184320);
  STR("ct.user", "terraform-ci");
  STR("ct.originaluser", "terraform-run-abc123");
  STR("s3.uri", "s3://tfstate-prod-euw1/env/prod/network/terraform.tfstate");
}

Test(fields, s3_put_object_record)
{
  load_record("\"eventID\":\"z9y8x7w6-5432-10fe-dcba-EXAMPLE22222\"", NULL);
  expect_u64("s3.bytes", 2048);
  expect_u64("s3.bytes.in", 2048);
  expect_u64("s3.bytes.out", 0);
  expect_u64("s3.cnt.get", 0);
  expect_u64("s3.cnt.put", 1);
  expect_u64("s3.cnt.other", 0);
  STR("ct.info", "compromised-user via 1.2.3.4 " WR
                 " PutObject Size=2048 URI=s3://production-data/documents/financial/HOW_TO_DECRYPT_FILES.txt");
}

Test(fields, s3_edge_cases)
{
  load_json("{\"additionalEventData\":{\"bytesTransferredIn\":-5,\"bytesTransferredOut\":\"7\"},"
            "\"requestParameters\":{\"bucketName\":\"b\",\"key\":null}}");
  expect_u64("s3.bytes", 0);
  expect_u64("s3.bytes.in", 0);
  expect_u64("s3.bytes.out", 0);
  STR("s3.uri", "s3://b/");
  STR("s3.key", "");
  expect_u64("s3.cnt.get", 0);
  expect_u64("s3.cnt.put", 0);
  expect_u64("s3.cnt.other", 1); /* no eventName: "other" */
  load_json("{\"additionalEventData\":\"bytesTransferredIn=3\",\"requestParameters\":{\"key\":\"k\"}}");
  ABSENT("s3.bytes");
  ABSENT("s3.bytes.in");
  ABSENT("s3.uri");
  ABSENT("s3.bucket");
  STR("ct.additionaleventdata", "\"bytesTransferredIn=3\"");
  load_json("{\"additionalEventData\":{\"bytesTransferredOut\":12.9}}");
  expect_u64("s3.bytes", 12);
  ABSENT("s3.bytes.in");
  expect_u64("s3.bytes.out", 12);
  load_line("records.ndjson", "\"additionalEventData\":\"", NULL); /* the one string additionalEventData */
  ABSENT("s3.bytes");
}

/* ------------------------------------------------------------ ec2.* */

Test(fields, run_instances_record)
{
  load_record("\"eventID\":\"762b9172-6148-4c76-aee4-f6fc0fd140af\"", NULL);
  ctr__value v = extract("ec2.imageids", NULL);
  cr_assert_eq(v.kind, CTR__V_LIST);
  cr_assert_eq(v.count, 2);
  cr_assert(v.items[0].len == 21 && memcmp(v.items[0].s, "ami-092e3b17e435e5e58", 21) == 0);
  cr_assert(v.items[1].len == 21 && memcmp(v.items[1].s, "ami-020a359780bc6f835", 21) == 0);
  expect_str_arg("ec2.imageids", "0", "ami-092e3b17e435e5e58");
  expect_str_arg("ec2.imageids", "1", "ami-020a359780bc6f835");
  expect_absent_arg("ec2.imageids", "2");
  expect_absent_arg("ec2.imageids", "5");
  STR("ec2.imageid", "ami-092e3b17e435e5e58");
  STR("ec2.name", "test");
  STR("ct.response.reservationid", "r-00000000000000000");
  STR("ct.user", "ARole");
  STR("ct.originaluser", "user.name");
  STR("ct.info", "ARole via 1.2.3.4 " WR " RunInstances");
  STR("evt.time.iso8601", "2024-04-02T16:46:24.000000000+0000");

  /* No image id in the response, none at requestParameters.imageId. */
  load_record("\"imageId\":\"ami-aCBbfd13bdb1d1E4b\"", "\"maxCount\":10");
  ABSENT("ec2.imageids");
  ABSENT("ec2.imageid");
  expect_absent_arg("ec2.imageids", "0");
}

Test(fields, ec2_edge_cases)
{
  load_json("{\"requestParameters\":{\"imageId\":\"ami-1\"}}");
  ctr__value v = extract("ec2.imageids", NULL);
  cr_assert(v.kind == CTR__V_LIST && v.count == 1 && strcmp(v.items[0].s, "ami-1") == 0);
  expect_str_arg("ec2.imageids", "0", "ami-1");
  expect_absent_arg("ec2.imageids", "1");
  load_json("{\"requestParameters\":{\"DescribeFastLaunchImagesRequest\":{\"ImageId\":{\"content\":\"ami-2\",\"tag\":1}}}}");
  STR("ec2.imageid", "ami-2");
  load_json("{\"requestParameters\":{\"launchSpecification\":{\"imageId\":\"ami-3\"}},"
            "\"responseElements\":{\"instancesSet\":{\"items\":[{\"imageId\":5},{\"x\":1}]}}}");
  STR("ec2.imageid", "ami-3");
  load_json("{\"responseElements\":{\"instancesSet\":{\"items\":[{\"imageId\":\"a\"},7,{\"imageId\":null},"
            "{\"imageId\":\"b\"}]}},\"requestParameters\":{\"imageId\":\"ignored\"}}");
  v = extract("ec2.imageids", NULL);
  cr_assert(v.kind == CTR__V_LIST && v.count == 2 && strcmp(v.items[1].s, "b") == 0);
  expect_str_arg("ec2.imageids", "1", "b");
  expect_absent_arg("ec2.imageids", "18446744073709551615");
  load_json("{\"responseElements\":{\"instancesSet\":{\"items\":{\"imageId\":\"a\"}}}}");
  ABSENT("ec2.imageids");
  load_json("{\"responseElements\":{\"instancesSet\":[]}}");
  ABSENT("ec2.imageids");

  load_json("{\"requestParameters\":{\"tagSpecificationSet\":{\"items\":[{\"resourceType\":\"volume\",\"tags\":"
            "[{\"key\":\"Name\",\"value\":\"vol\"}]},{\"resourceType\":\"instance\",\"tags\":[{\"key\":\"env\","
            "\"value\":\"p\"},{\"key\":\"Name\",\"value\":\"web-1\"}]}]}}}");
  STR("ec2.name", "web-1");
  load_json("{\"requestParameters\":{\"tagSpecificationSet\":{\"items\":[{\"resourceType\":\"instance\",\"tags\":"
            "[{\"key\":\"Name\",\"value\":\"\"}]}]}}}");
  ABSENT("ec2.name");
  load_json("{\"requestParameters\":{\"tagSpecificationSet\":{\"items\":[{\"resourceType\":\"instance\",\"tags\":"
            "{\"key\":\"Name\"}},5,null]}}}");
  ABSENT("ec2.name");
  load_record("\"resourceType\":\"instance\"},{\"tags\"", NULL); /* tags in another item */
  ABSENT("ec2.name");
}

/* ------------------------------------------------------------ json.* */

Test(fields, json_pointer)
{
  load_json("{\"a/b\":1,\"m~n\":\"tilde\",\"~1\":\"literal\",\"arr\":[{\"x\":\"y\"},\"s\",true,null,1.5,-3],"
            "\"\":\"empty\",\"nested\":{\"k\":{\"z\":[1,2]}},\"str\":\"abc\",\"nul\":\"a\\u0000b\"}");
  JV("/a~1b", "1");
  JV("/m~0n", "tilde");
  JV("/~01", "literal");
  JV("/arr/0/x", "y");
  JV("/arr/1", "s");
  JV("/arr/2", "true");
  JV("/arr/3", "null");
  JV("/arr/4", "1.5");
  JV("/arr/5", "-3");
  JV("/arr/+1", "s"); /* Go's strconv.Atoi accepts a sign */
  JV("/arr/-0", "{\"x\":\"y\"}");
  JV_ABSENT("/arr/6");
  JV_ABSENT("/arr/-1");
  JV_ABSENT("/arr/x");
  JV_ABSENT("/arr/");
  JV_ABSENT("/arr/99999999999999999999999");
  JV("/arr", "[{\"x\":\"y\"},\"s\",true,null,1.5,-3]");
  JV("/", "empty");
  JV("nested/k", "{\"z\":[1,2]}"); /* leading '/' optional, as in the plugin */
  JV("/nested/k/z/1", "2");
  JV_ABSENT("/nested/k/z/0/deeper");
  JV_ABSENT("/str/0");
  JV_ABSENT("/missing");
  JV_ABSENT("/nested/missing/x");
  JV_ABSENT("");
  expect_str_arg("jevt.value", "/m~0n", "tilde");
  ctr__value v = extract("json.value", "/nul");
  cr_assert(v.kind == CTR__V_STR && v.len == 3 && memcmp(v.str, "a\0b", 3) == 0);

  /* A long pointer goes through the arena. */
  char ptr[600];
  memset(ptr, 'k', sizeof ptr);
  ptr[0] = '/';
  ptr[sizeof ptr - 1] = '\0';
  JV_ABSENT(ptr);
}

Test(fields, json_pointer_on_rds_records)
{
  load_record("\"eventID\":\"fef2bf02-bbea-4d0f-a91c-e6ccfe3fba46\"", NULL);
  JV("/requestParameters/valuesToAdd", "[\"503161813013\"]");
  JV("/requestParameters/valuesToAdd/0", "503161813013");
  JV("/requestParameters/attributeName", "restore");
  JV("/responseElements/dBSnapshotAttributes/0/attributeValues", "[\"503161813013\"]");
  JV("/managementEvent", "true");
  JV_ABSENT("/requestParameters/publiclyAccessible");
}

Test(fields, json_obj)
{
  const char *text = "{ \"a\" : 1 ,\"b\":[ ],\"c\":{},\"d\":[1,{\"e\":\"x y\"}],\"s\":\"{\\\"q\\\": [1, 2]}\" ,"
                     "\"f\":1.50}";
  const char *want = "{\n"
                     "  \"a\": 1,\n"
                     "  \"b\": [],\n"
                     "  \"c\": {},\n"
                     "  \"d\": [\n"
                     "    1,\n"
                     "    {\n"
                     "      \"e\": \"x y\"\n"
                     "    }\n"
                     "  ],\n"
                     "  \"s\": \"{\\\"q\\\": [1, 2]}\",\n"
                     "  \"f\": 1.50\n"
                     "}";
  load_json(text);
  STR("json.obj", want);
  STR("jevt.obj", want);
  /* Without the raw bytes: the parsed record, re-serialised (1.50 -> 1.5). */
  ev.raw = NULL;
  ev.raw_len = 0;
  ctr__value v = extract("json.obj", NULL);
  cr_assert_eq(v.kind, CTR__V_STR);
  cr_assert(strstr(v.str, "\"f\": 1.5\n}") != NULL, "%s", v.str);
  cr_assert(strncmp(v.str, "{\n  \"a\": 1,\n  \"b\": [],", 20) == 0, "%s", v.str);
  /* Raw bytes that are not one well-formed value: fall back to the tree. */
  ev.raw = "{\"a\":1}}";
  ev.raw_len = strlen(ev.raw);
  v = extract("json.obj", NULL);
  cr_assert_eq(v.kind, CTR__V_STR);
  cr_assert(strncmp(v.str, "{\n  \"a\": 1,", 11) == 0, "%s", v.str);
  /* Whitespace after the value is kept, as Go's json.Indent does. */
  load_json("{}\n");
  STR("json.obj", "{}\n");
  load_json("  {\"k\":[[]]}");
  STR("json.obj", "{\n  \"k\": [\n    []\n  ]\n}");

  load_record("\"eventID\":\"fef2bf02-bbea-4d0f-a91c-e6ccfe3fba46\"", NULL);
  v = extract("json.obj", NULL);
  cr_assert(strncmp(v.str, "{\n  \"awsRegion\": \"meiso-eastwest-2r\",\n  \"eventCategory\": \"Management\",\n", 69) == 0,
            "%s", v.str);
  cr_assert(strstr(v.str, "\n  \"requestParameters\": {\n    \"attributeName\": \"restore\",\n"
                          "    \"dBSnapshotIdentifier\": \"exfiltration\",\n    \"valuesToAdd\": [\n"
                          "      \"503161813013\"\n    ]\n  },\n") != NULL,
            "%s", v.str);
}

Test(fields, json_rawtime)
{
  load_json("{\"eventTime\":\"2019-01-01T00:00:00.000000042Z\"}");
  STR("json.rawtime", "1546300800000000042");
  STR("jevt.rawtime", "1546300800000000042");
  load_json("{\"eventTime\":\"...\"}");
  STR("json.rawtime", "0");
}

/* ------------------------------------------------------------ evt.* */

Test(fields, evt_fields)
{
  load_json("{\"eventTime\":\"2024-12-16T18:41:07.123456789Z\",\"awsRegion\":\"us-west-2\",\"eventSource\":"
            "\"ec2.amazonaws.com\",\"eventName\":\"RunInstances\",\"userIdentity\":{\"type\":\"IAMUser\","
            "\"userName\":\"alice\"},\"sourceIPAddress\":\"1.2.3.4\",\"readOnly\":false,\"responseElements\":"
            "{\"instancesSet\":{\"items\":[{\"imageId\":\"ami-1\"}]}}}");
  expect_u64("evt.num", 7);
  STR("evt.time", "18:41:07.123456789");
  STR("evt.time.s", "18:41:07");
  STR("evt.time.iso8601", "2024-12-16T18:41:07.123456789+0000");
  STR("evt.datetime", "2024-12-16 18:41:07.123456789");
  STR("evt.datetime.s", "2024-12-16 18:41:07");
  expect_u64("evt.rawtime", 1734374467123456789ull);
  expect_u64("evt.rawtime.s", 1734374467ull);
  expect_u64("evt.rawtime.ns", 123456789ull);
  expect_u64("evt.reltime", 0);
  expect_u64("evt.reltime.s", 0);
  expect_u64("evt.reltime.ns", 0);
  STR("evt.pluginname", "cloudtrail");
  STR("evt.source", "aws_cloudtrail");
  STR("evt.is_async", "false");
  ABSENT("evt.asynctype");
  STR("evt.hostname", "testhost");
  STR("evt.plugininfo", "us-west-2 alice ec2 RunInstances alice via 1.2.3.4 " WR " RunInstances");

  /* Every part zero-padded; every digit at 9. */
  load_json("{\"eventTime\":\"2031-01-02T03:04:05.000000007Z\"}");
  STR("evt.time", "03:04:05.000000007");
  STR("evt.time.iso8601", "2031-01-02T03:04:05.000000007+0000");
  STR("evt.datetime.s", "2031-01-02 03:04:05");
  load_json("{\"eventTime\":\"2200-12-31T23:59:59.999999999Z\"}");
  STR("evt.datetime", "2200-12-31 23:59:59.999999999");
  STR("evt.time.s", "23:59:59");

  /* Placeholder eventTime: time 0. */
  load_json("{\"eventTime\":\"...\",\"awsRegion\":\"r\",\"eventSource\":\"s\",\"eventName\":\"n\"}");
  STR("evt.time", "00:00:00.000000000");
  STR("evt.datetime.s", "1970-01-01 00:00:00");
  expect_u64("evt.rawtime", 0);
  STR("evt.plugininfo", "r s n <invalid cloudtrail event: userIdentity field missing>");
  /* Before 1970: clamped to 0 like Falco's unsigned timestamps cannot hold it. */
  load_json("{\"eventTime\":\"1969-07-20T20:17:40Z\"}");
  expect_u64("evt.rawtime", 0);
  ABSENT("evt.plugininfo"); /* no eventSource/awsRegion/eventName strings */
  load_json("{\"awsRegion\":\"r\",\"eventSource\":5,\"eventName\":\"n\"}");
  ABSENT("evt.plugininfo");
  /* Panther's nanosecond form. */
  load_json("{\"eventTime\":\"2024-12-12 16:04:32.000000007\"}");
  STR("evt.time", "16:04:32.000000007");
}

/* ------------------------------------------------------------ rds.* */

Test(fields, rds_stratus_snapshot_share)
{
  load_record("\"eventID\":\"fef2bf02-bbea-4d0f-a91c-e6ccfe3fba46\"", NULL);
  STR("ct.src", "rds.amazonaws.com");
  STR("ct.user", "christophe");
  STR("rds.snapshot", "exfiltration");
  STR("rds.snapshot.type", "instance");
  STR("rds.resource", "exfiltration");
  LIST("rds.shared.accounts", "503161813013");
  STR("rds.shared.foreign", "true");
  STR("rds.shared.public", "false");
  ABSENT("rds.unshared.accounts");
  ABSENT("rds.instance");
  ABSENT("rds.cluster");
  ABSENT("rds.public");
  ABSENT("rds.engine");
  ABSENT("rds.deletion_protection");
  ABSENT("rds.backup_retention");
  ABSENT("rds.skip_final_snapshot");
  ABSENT("rds.securitygroup");
  ABSENT("rds.parametergroup");
}

Test(fields, rds_streamalert_cluster_snapshots)
{
  load_record("ModifyDBClusterSnapshotAttribute", "\"valuesToAdd\":[\"123456789013\"]");
  STR("rds.snapshot", "mysnapshot");
  STR("rds.snapshot.type", "cluster");
  STR("rds.resource", "mysnapshot");
  LIST("rds.shared.accounts", "123456789013");
  STR("rds.shared.foreign", "true");
  STR("rds.shared.public", "false");
  load_record("ModifyDBClusterSnapshotAttribute", "\"valuesToAdd\":[\"all\"]");
  LIST("rds.shared.accounts", "all");
  STR("rds.shared.foreign", "true");
  STR("rds.shared.public", "true");
  JV("/requestParameters/valuesToAdd", "[\"all\"]");
}

Test(fields, rds_delete_cluster_and_cribl)
{
  load_record("\"eventID\":\"123aaac1-123d-456a-1k29a4dd2kea\"", "\"eventName\":\"DeleteDBCluster\""); /* eventIDs repeat */
  STR("rds.cluster", "...");
  STR("rds.resource", "...");
  STR("rds.skip_final_snapshot", "true");
  STR("rds.engine", "..."); /* from the response */
  ABSENT("rds.instance"); /* only nested in dBClusterMembers[] */
  ABSENT("rds.backup_retention"); /* the request does not set it */
  ABSENT("rds.shared.accounts");
  ABSENT("rds.shared.foreign");
  ABSENT("rds.public");

  load_record("\"eventID\":\"m4n5o6p7-q8r9-s0t1-u2v3-w4x5y6z7a8b9\"", NULL); /* CreateDBInstance */
  STR("rds.instance", "mydbinstance");
  STR("rds.resource", "mydbinstance");
  STR("rds.engine", "mysql");
  ABSENT("rds.public");
  ABSENT("rds.snapshot");
  load_record("\"eventID\":\"w4x5y6z7-a8b9-c0d1-e2f3-g4h5i6j7k8l9\"", NULL); /* ModifyDBInstance */
  STR("rds.instance", "mydbinstance");
  ABSENT("rds.engine");
  ABSENT("rds.deletion_protection");
  load_record("\"eventID\":\"f3g4h5i6-j7k8-l9m0-n1o2-p3q4r5s6t7u8\"", NULL); /* DeleteDBInstance */
  STR("rds.instance", "mydbinstance");
  STR("rds.skip_final_snapshot", "true");
}

Test(fields, rds_inline)
{
  /* Made public, protection off, backups off. */
  load_json("{\"eventName\":\"ModifyDBInstance\",\"requestParameters\":{\"dBInstanceIdentifier\":\"db1\","
            "\"publiclyAccessible\":true,\"deletionProtection\":false,\"backupRetentionPeriod\":0},"
            "\"responseElements\":{\"dBInstanceIdentifier\":\"db1\",\"publiclyAccessible\":false,\"engine\":\"postgres\"}}");
  STR("rds.instance", "db1");
  STR("rds.public", "true");
  STR("rds.deletion_protection", "false");
  expect_u64("rds.backup_retention", 0);
  STR("rds.engine", "postgres");
  ABSENT("rds.skip_final_snapshot");
  /* A restore whose request says nothing: the response decides. */
  load_json("{\"eventName\":\"RestoreDBInstanceFromDBSnapshot\",\"requestParameters\":{\"dBInstanceIdentifier\":"
            "\"r1\",\"dBSnapshotIdentifier\":\"s1\"},\"responseElements\":{\"publiclyAccessible\":true}}");
  STR("rds.public", "true");
  STR("rds.resource", "r1");
  STR("rds.snapshot", "s1");
  load_json("{\"requestParameters\":{\"publiclyAccessible\":false},\"responseElements\":{\"publiclyAccessible\":false}}");
  STR("rds.public", "false");
  load_json("{\"requestParameters\":{\"publiclyAccessible\":\"TRUE\"}}");
  STR("rds.public", "true");
  load_json("{\"requestParameters\":{\"publiclyAccessible\":null},\"responseElements\":null}");
  ABSENT("rds.public");
  /* Cribl-style wrapped response. */
  load_json("{\"requestParameters\":null,\"responseElements\":{\"dBInstance\":{\"dBInstanceIdentifier\":\"w\","
            "\"publiclyAccessible\":true,\"engine\":\"mysql\"}}}");
  STR("rds.instance", "w");
  STR("rds.public", "true");
  STR("rds.engine", "mysql");
  /* Request first across every key: a deleted snapshot is the resource even
   * when the response names its source instance. */
  load_json("{\"eventName\":\"DeleteDBSnapshot\",\"requestParameters\":{\"dBSnapshotIdentifier\":\"snap\"},"
            "\"responseElements\":{\"dBSnapshotIdentifier\":\"snap\",\"dBInstanceIdentifier\":\"src-db\"}}");
  STR("rds.resource", "snap");
  STR("rds.instance", "src-db");
  STR("rds.snapshot.type", "instance");
  load_json("{\"requestParameters\":{\"dBClusterParameterGroupName\":\"pg\"}}");
  STR("rds.parametergroup", "pg");
  STR("rds.resource", "pg");
  load_json("{\"requestParameters\":{\"dBSecurityGroupName\":\"sg\",\"cIDRIP\":\"0.0.0.0/0\"}}");
  STR("rds.securitygroup", "sg");
  STR("rds.resource", "sg");
  load_json("{\"requestParameters\":{\"globalClusterIdentifier\":\"g\"}}");
  STR("rds.resource", "g");
  load_json("{\"requestParameters\":{\"dBInstanceIdentifier\":5,\"dBClusterIdentifier\":\"c\"},"
            "\"responseElements\":{\"dBInstanceIdentifier\":\"i\"}}");
  STR("rds.instance", "i");
  STR("rds.resource", "c");
  /* backupRetentionPeriod spellings. */
  load_json("{\"requestParameters\":{\"backupRetentionPeriod\":\"7\",\"skipFinalSnapshot\":\"false\"}}");
  expect_u64("rds.backup_retention", 7);
  STR("rds.skip_final_snapshot", "false");
  load_json("{\"requestParameters\":{\"backupRetentionPeriod\":1.9,\"deletionProtection\":\"yes\"}}");
  expect_u64("rds.backup_retention", 1);
  ABSENT("rds.deletion_protection");
  load_json("{\"requestParameters\":{\"backupRetentionPeriod\":-1}}");
  ABSENT("rds.backup_retention");
  load_json("{\"requestParameters\":{\"backupRetentionPeriod\":\"x\"}}");
  ABSENT("rds.backup_retention");
  load_json("{\"requestParameters\":[{\"backupRetentionPeriod\":1}]}");
  ABSENT("rds.backup_retention");
  ABSENT("rds.instance");
}

Test(fields, rds_snapshot_attribute_inline)
{
#define fmt                                                                                           \
  "{\"eventName\":\"%s\",\"userIdentity\":{%s},\"recipientAccountId\":\"111122223333\",\"requestParameters\":" \
  "{\"attributeName\":\"%s\",\"dBSnapshotIdentifier\":\"s\"%s}}"
  char buf[1024];
  /* Shared with the caller's own account only. */
  snprintf(buf, sizeof buf, fmt, "ModifyDBSnapshotAttribute", "\"accountId\":\"111122223333\"", "restore",
           ",\"valuesToAdd\":[\"111122223333\"]");
  load_json(buf);
  LIST("rds.shared.accounts", "111122223333");
  ABSENT("rds.shared.foreign_accounts");
  STR("rds.shared.foreign", "false");
  STR("rds.shared.public", "false");
  /* No userIdentity.accountId: recipientAccountId is the caller's. */
  snprintf(buf, sizeof buf, fmt, "ModifyDBSnapshotAttribute", "", "restore",
           ",\"valuesToAdd\":[\"111122223333\",\"444455556666\"],\"valuesToRemove\":[\"777788889999\"]");
  load_json(buf);
  LIST("rds.shared.accounts", "111122223333,444455556666");
  LIST("rds.unshared.accounts", "777788889999");
  LIST("rds.shared.foreign_accounts", "444455556666");
  STR("rds.shared.foreign", "true");
  /* Only removals. */
  snprintf(buf, sizeof buf, fmt, "ModifyDBClusterSnapshotAttribute", "\"accountId\":\"1\"", "restore",
           ",\"valuesToRemove\":[\"all\"]");
  load_json(buf);
  ABSENT("rds.shared.accounts");
  LIST("rds.unshared.accounts", "all");
  STR("rds.shared.foreign", "false");
  STR("rds.shared.public", "false");
  /* Empty list. */
  snprintf(buf, sizeof buf, fmt, "ModifyDBSnapshotAttribute", "\"accountId\":\"1\"", "restore", ",\"valuesToAdd\":[]");
  load_json(buf);
  ABSENT("rds.shared.accounts");
  STR("rds.shared.foreign", "false");
  /* "ALL", a lone string and a number. */
  snprintf(buf, sizeof buf, fmt, "ModifyDBSnapshotAttribute", "\"accountId\":\"1\"", "restore", ",\"valuesToAdd\":\"ALL\"");
  load_json(buf);
  LIST("rds.shared.accounts", "ALL");
  ABSENT("rds.shared.foreign_accounts");
  STR("rds.shared.public", "true");
  snprintf(buf, sizeof buf, fmt, "ModifyDBSnapshotAttribute", "\"accountId\":\"1\"", "restore", ",\"valuesToAdd\":[1,null]");
  load_json(buf);
  LIST("rds.shared.accounts", "1,null");
  LIST("rds.shared.foreign_accounts", "null");
  STR("rds.shared.foreign", "true");
  /* Not a restore-attribute call. */
  snprintf(buf, sizeof buf, fmt, "ModifyDBSnapshotAttribute", "\"accountId\":\"1\"", "other", ",\"valuesToAdd\":[\"all\"]");
  load_json(buf);
  ABSENT("rds.shared.accounts");
  ABSENT("rds.shared.foreign");
  ABSENT("rds.shared.public");
  snprintf(buf, sizeof buf, fmt, "ModifySnapshotAttribute", "\"accountId\":\"1\"", "restore", ",\"valuesToAdd\":[\"all\"]");
  load_json(buf);
  ABSENT("rds.shared.accounts");
  ABSENT("rds.shared.public");
}
#undef fmt

Test(fields, rds_parameter_group_parameters)
{
  load_json("{\"eventName\":\"ModifyDBParameterGroup\",\"requestParameters\":{\"dBParameterGroupName\":\"pg\","
            "\"parameters\":[{\"parameterName\":\"rds.force_ssl\",\"parameterValue\":\"0\",\"applyMethod\":\"immediate\"},"
            "{\"parameterName\":\"log_connections\",\"parameterValue\":\"1\"},{\"parameterValue\":\"x\"},"
            "{\"parameterName\":\"max_connections\",\"parameterValue\":500},"
            "{\"parameterName\":\"log_connections\",\"parameterValue\":\"0\"},{\"parameterName\":\"pgaudit.log\"}]}}");
  LIST("rds.params.names", "rds.force_ssl,log_connections,max_connections,log_connections,pgaudit.log");
  expect_str_arg("rds.params.value", "rds.force_ssl", "0");
  expect_str_arg("rds.params.value", "log_connections", "0"); /* the last entry wins, as RDS applies them in order */
  expect_str_arg("rds.params.value", "max_connections", "500");
  expect_absent_arg("rds.params.value", "pgaudit.log");     /* a reset names no value */
  expect_absent_arg("rds.params.value", "RDS.FORCE_SSL");   /* exact case */
  expect_absent_arg("rds.params.value", "general_log");
  STR("rds.parametergroup", "pg");
  /* No parameters, or not an array. */
  load_json("{\"eventName\":\"ResetDBParameterGroup\",\"requestParameters\":{\"dBParameterGroupName\":\"pg\","
            "\"resetAllParameters\":true}}");
  ABSENT("rds.params.names");
  expect_absent_arg("rds.params.value", "rds.force_ssl");
  load_json("{\"requestParameters\":{\"parameters\":{\"parameterName\":\"a\"}}}");
  ABSENT("rds.params.names");
  load_json("{\"requestParameters\":{\"parameters\":[1,{\"parameterName\":2}]}}");
  ABSENT("rds.params.names");
}

Test(fields, rds_kms_account)
{
  load_json("{\"requestParameters\":{\"kmsKeyId\":\"arn:aws:kms:us-east-1:444455556666:key/2f1e7c3a\"}}");
  STR("rds.kms.account", "444455556666");
  load_json("{\"requestParameters\":{\"kmsKeyId\":\"arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/db\"}}");
  STR("rds.kms.account", "111122223333");
  load_json("{\"requestParameters\":{\"kmsKeyId\":\"2f1e7c3a-9b8d-4e6f-a1c2-3d4e5f6a7b8c\"}}");
  ABSENT("rds.kms.account");
  load_json("{\"requestParameters\":{\"kmsKeyId\":\"arn:aws:kms:us-east-1::key/x\"}}");
  ABSENT("rds.kms.account");
  load_json("{\"requestParameters\":{\"kmsKeyId\":\"arn:aws:kms:us-east-1\"}}");
  ABSENT("rds.kms.account");
  load_json("{\"requestParameters\":{\"kmsKeyId\":7}}");
  ABSENT("rds.kms.account");
}

/* ------------------------------------------------------------ robustness */

static const char *const key_args[] = {"/requestParameters", "/userIdentity/type", "/a/0/b", "/", "x", "/resources/0",
                                       "/~", "/responseElements/instancesSet/items/0/imageId"};
static const char *const index_args[] = {NULL, "0", "1", "3", "18446744073709551615"};

static void sweep_current(void)
{
  size_t n = ctr_field_count();
  for (size_t i = 0; i < n; i++) {
    const char *name = ctr_field_name(i);
    const ctr__field_def *d = def_of(name);
    if (d->arg == CTR__ARG_KEY_REQUIRED) {
      for (size_t a = 0; a < CTR__COUNTOF(key_args); a++)
        (void)extract(name, key_args[a]);
    } else if (d->arg == CTR__ARG_INDEX_OPTIONAL) {
      for (size_t a = 0; a < CTR__COUNTOF(index_args); a++)
        (void)extract(name, index_args[a]);
    } else {
      ctr__value v = extract(name, NULL);
      if (d->type == CTR__FT_UINT64)
        cr_assert(v.kind == CTR__V_U64 || v.kind == CTR__V_ABSENT, "%s: uint64 field gave kind %d", name, (int)v.kind);
      else if (d->type == CTR__FT_STRING)
        cr_assert(v.kind == CTR__V_STR || v.kind == CTR__V_ABSENT, "%s: string field gave kind %d", name, (int)v.kind);
    }
  }
}

static size_t sweep_file(const char *file)
{
  size_t len, count = 0;
  char *data = tu_read(tu_shared(file), &len);
  char *line = data;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    size_t n = nl ? (size_t)(nl - line) : strlen(line);
    json_t *j = json_loadb(line, n, JSON_ALLOW_NUL, NULL);
    if (j && json_is_object(j)) {
      json_decref(j);
      load_json_n(line, n);
      sweep_current();
      count++;
    } else {
      json_decref(j);
    }
    line = nl ? nl + 1 : NULL;
  }
  free(data);
  return count;
}

Test(fields, sweep_records, .timeout = 240)
{
  cr_assert_geq(sweep_file("records.ndjson"), 1163);
}

Test(fields, sweep_partial, .timeout = 120)
{
  cr_assert_geq(sweep_file("partial.ndjson"), 150);
}

Test(fields, sweep_wrong_types)
{
  static const char *const keys[] = {
    "eventID", "errorCode", "errorMessage", "eventTime", "eventSource", "eventName", "userIdentity", "awsRegion",
    "sourceIPAddress", "userAgent", "requestParameters", "responseElements", "additionalEventData", "requestID",
    "eventType", "apiVersion", "readOnly", "managementEvent", "recipientAccountId", "sharedEventID",
    "vpcEndpointId", "eventCategory", "resources", "serviceEventDetails", "edgeDeviceDetails", "addendum",
    "tlsDetails", "sessionCredentialFromConsole",
  };
  static const char *const values[] = {"null", "true", "0", "-1", "1.5e300", "\"\"", "\"...\"", "[]", "{}", "[null]",
                                       "[[1]]", "{\"a\":[]}", "\"a\\u0000b\""};
  static const char *const nested[] = {
    /* every nested key the extractors read, with the wrong type */
    "{\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":[],\"principalId\":{},\"sessionContext\":"
    "{\"sessionIssuer\":[]},\"userName\":1,\"accountId\":null,\"invokedBy\":true},\"sourceIPAddress\":\"x\","
    "\"eventName\":\"PutBucketPublicAccessBlock\",\"requestParameters\":{\"PublicAccessBlockConfiguration\":[]}}",
    "{\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":\"///\",\"principalId\":\":\"},\"sourceIPAddress\":1,"
    "\"eventName\":\"GetObject\",\"additionalEventData\":{\"bytesTransferredIn\":1e300,\"bytesTransferredOut\":"
    "-1e300},\"requestParameters\":{\"bucketName\":[],\"key\":{},\"Host\":null}}",
    "{\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":\"a/b/\",\"principalId\":\"a:\"}}",
    "{\"responseElements\":{\"instancesSet\":{\"items\":[null,[],1,{\"imageId\":[]}]}},\"requestParameters\":"
    "{\"imageId\":[],\"DescribeFastLaunchImagesRequest\":[],\"launchSpecification\":\"x\",\"tagSpecificationSet\":"
    "{\"items\":[{\"resourceType\":\"instance\",\"tags\":[null,1,{\"key\":\"Name\",\"value\":[]}]}]}}}",
    "{\"eventName\":\"ModifyDBSnapshotAttribute\",\"requestParameters\":{\"attributeName\":\"restore\","
    "\"valuesToAdd\":{\"a\":1},\"valuesToRemove\":7,\"dBSnapshotIdentifier\":[]},\"responseElements\":"
    "{\"dBInstance\":[],\"dBCluster\":\"x\",\"dBSnapshot\":{\"dBSnapshotIdentifier\":1},\"publiclyAccessible\":[]},"
    "\"userIdentity\":{\"accountId\":[]},\"recipientAccountId\":{}}",
    "{\"eventName\":\"ModifyDBClusterSnapshotAttribute\",\"requestParameters\":{\"attributeName\":[\"restore\"]}}",
    "{\"eventName\":7,\"requestParameters\":{\"attributeName\":\"restore\",\"valuesToAdd\":[\"all\"]}}",
  };
  char buf[4096];
  for (size_t v = 0; v < CTR__COUNTOF(values); v++) {
    size_t k = (size_t)snprintf(buf, sizeof buf, "{");
    for (size_t i = 0; i < CTR__COUNTOF(keys); i++)
      k += (size_t)snprintf(buf + k, sizeof buf - k, "%s\"%s\":%s", i ? "," : "", keys[i], values[v]);
    snprintf(buf + k, sizeof buf - k, "}");
    load_json(buf);
    sweep_current();
  }
  for (size_t i = 0; i < CTR__COUNTOF(nested); i++) {
    load_json(nested[i]);
    sweep_current();
  }
  load_json("{}");
  sweep_current();
  /* An event with no raw bytes and no time. */
  ev.raw = NULL;
  ev.raw_len = 0;
  ev.time_ns = 0;
  sweep_current();
}

/* Values built in the arena survive until the arena is reset, across many
 * fields of one event (a render reads them all after evaluation). */
Test(fields, arena_values_stay_valid)
{
  load_record("\"eventID\":\"771299cb-e200-4926-9604-c85358b30499\"", NULL);
  ctr__value info = extract("ct.info", NULL);
  ctr__value obj = extract("json.obj", NULL);
  ctr__value req = extract("ct.request", NULL);
  for (int i = 0; i < 200; i++)
    (void)extract("ct.resources", NULL);
  cr_assert(strstr(info.str, "URI=s3://") != NULL);
  cr_assert(strncmp(obj.str, "{\n  \"requestParameters\": {\n    \"key\": \"ring.txt\",", 46) == 0, "%s", obj.str);
  cr_assert(strncmp(req.str, "{\"key\":\"ring.txt\",", 18) == 0, "%s", req.str);
}

/* ------------------------------------------------------------ walked bytes */

/* Every field's value as text: kind, then content. */
static void value_text(const ctr__value *v, ctr__buf *b)
{
  switch (v->kind) {
  case CTR__V_ABSENT:
    ctr__buf_append_str(b, "<absent>");
    break;
  case CTR__V_STR:
    ctr__buf_append_char(b, '"');
    ctr__buf_append(b, v->str, v->len);
    ctr__buf_append_char(b, '"');
    break;
  case CTR__V_U64:
    ctr__buf_printf(b, "%llu", (unsigned long long)v->u64);
    break;
  case CTR__V_LIST:
    ctr__buf_append_char(b, '[');
    for (size_t i = 0; i < v->count; i++) {
      ctr__buf_append(b, v->items[i].s, v->items[i].len);
      ctr__buf_append_char(b, ',');
    }
    ctr__buf_append_char(b, ']');
    break;
  }
}

static const char *const walked_pointers[] = {
  "/userIdentity/type", "/userIdentity/sessionContext/sessionIssuer/userName", "/requestParameters/bucketName",
  "/responseElements/instancesSet/items/0/instanceId", "/responseElements/instancesSet/items/1/instanceId",
  "/requestParameters/x/0", "/requestParameters/x/1", "/requestParameters/x/-0", "/requestParameters/x/+1",
  "/requestParameters/n", "/requestParameters/t", "/requestParameters/o", "/requestParameters/a~1b",
  "/requestParameters/a~0b", "/eventName", "/sourceIPAddress", "/userIdentity", "/userIdentity/k63",
  "/userIdentity/k70", "/requestParameters/", "/requestParameters/x/0/0", "/resources/0/ARN",
  "/requestParameters/a/b", "/requestParameters/a/c", "/requestParameters/x/2/0", "/requestParameters/x/99",
  /* how a pointer is cut: no leading '/', empty and trailing segments, '~' at the end or before another
   * byte, a decoded segment longer than the buffer, more segments than steps */
  "requestParameters/bucketName", "/requestParameters//x", "/requestParameters/a~1b/", "/requestParameters/~01",
  "/requestParameters/~", "/requestParameters/~2", "/eventName/0", "/requestParameters/a~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1ba~1b",
  "/requestParameters/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a",
};

/* json.values and json.ip take dotted paths, arrays crossed. */
static const char *const walked_dotted[] = {
  "userIdentity.type", "userIdentity.sessionContext.sessionIssuer.userName", "userIdentity.arn", "userIdentity",
  "requestParameters.bucketName", "responseElements.instancesSet.items.instanceId", "requestParameters.x",
  "requestParameters.x.b", "requestParameters.n", "requestParameters.t", "requestParameters.o",
  "requestParameters.o.p", "requestParameters.a.b", "requestParameters.a.c", "requestParameters.", "requestParameters..x",
  "requestParameters.valuesToAdd", "requestParameters.dBInstanceIdentifier", "responseElements.dBInstance.engine",
  "eventName", "sourceIPAddress", "awsRegion", "recipientAccountId", "resources.ARN", "tlsDetails.tlsVersion",
  "addendum.reason", "none.x", "eventName.x",
};

static ctr__record_facts walked_facts; /* what the walk read, as the scanner hands it on */
static ctr__lazy walked_lazy;
static ctr__walked walked_objects; /* as the scanner's: reused from record to record */
static bool make_walked(void);

/* Every field of the current event, and json.value at walked_pointers, as
 * text, one per line. fresh: each read from a walked event of its own (no
 * member parsed by an earlier field: a field that parses a member, ct.request
 * say, would leave the fields after it nothing to read from the bytes). */
static void fields_text(ctr__buf *b, bool fresh)
{
  size_t n = ctr_field_count();
  for (size_t i = 0; i < n; i++) {
    const char *name = ctr_field_name(i);
    const ctr__field_def *d = def_of(name);
    const char *const *args = NULL;
    size_t nargs = 1;
    bool dotted = strcmp(name, "json.values") == 0 || strcmp(name, "json.ip") == 0;
    if (d->arg == CTR__ARG_KEY_REQUIRED && dotted)
      args = walked_dotted, nargs = CTR__COUNTOF(walked_dotted);
    else if (d->arg == CTR__ARG_KEY_REQUIRED)
      args = walked_pointers, nargs = CTR__COUNTOF(walked_pointers);
    else if (d->arg == CTR__ARG_INDEX_OPTIONAL)
      args = index_args, nargs = CTR__COUNTOF(index_args);
    for (size_t a = 0; a < nargs; a++) {
      const char *arg = args ? args[a] : NULL;
      if (fresh) {
        json_decref(walked_lazy.whole);
        cr_assert(make_walked());
      }
      ctr__value v = extract(name, arg);
      ctr__buf_printf(b, "%s[%s]=", name, arg ? arg : "");
      value_text(&v, b);
      ctr__buf_append_char(b, '\n');
    }
  }
}

/* Makes the current event a walked one, as the scanner does for a record
 * the framer cut with the walk: nothing parsed, members read as asked.
 * false when the walk does not vouch for the record (it is parsed whole). */
static bool make_walked(void)
{
  if (!ctr__walk_record(raw, ev.raw_len, &walked_facts))
    return false;
  if (walked_facts.nmembers > CTR__MAX_MEMBERS)
    return false;
  json_decref(root);
  root = json_object();
  walked_lazy = (ctr__lazy){.walked = &walked_objects};
  ev.root = root;
  ev.lazy = &walked_lazy;
  ev.facts = &walked_facts;
  ctr__arena_reset(&arena);
  return true;
}

/* The record's fields read from its walked bytes (and members parsed alone)
 * are those of the record parsed whole; returns false if it was not walked. */
static bool walked_reads_as_whole(const char *text, size_t len)
{
  load_json_n(text, len);
  ctr__buf whole = {0}, walked = {0}, fresh = {0};
  fields_text(&whole, false);
  walked_lazy.whole = NULL;
  bool lazy = make_walked();
  if (lazy) {
    fields_text(&walked, false); /* members parsed as fields ask, as in a scan */
    cr_assert(!walked_lazy.failed);
    cr_assert_str_eq(walked.data, whole.data, "record: %.*s", (int)len, text);
    fields_text(&fresh, true);
    cr_assert(!walked_lazy.failed);
    cr_assert_str_eq(fresh.data, whole.data, "record, each field alone: %.*s", (int)len, text);
    json_decref(walked_lazy.whole);
    walked_lazy.whole = NULL;
    ev.lazy = NULL;
    ev.facts = NULL;
  }
  ctr__buf_free(&whole);
  ctr__buf_free(&walked);
  ctr__buf_free(&fresh);
  return lazy;
}

/* Records where reading from the bytes could go wrong: repeated keys (the
 * last counts), escaped keys and values (jansson decides), intermediates
 * that are not objects, non-string leaves, whitespace, arrays, an object
 * with more members than the walk notes. */
static const char *const walked_edge_records[] = {
  "{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"a\",\"type\":\"Root\"},\"sourceIPAddress\":\"1.2.3.4\"}",
  "{\"userIdentity\":{\"ty\\/pe\":\"IAMUser\",\"type\":\"Root\",\"userName\":\"r\"}}",
  "{\"userIdentity\":{\"type\":\"Root\",\"userName\":\"a\\\"b\\\\c\\/d\\n\"},\"eventName\":\"E\\/1\"}",
  "{\"userIdentity\":{\"type\":\"AssumedRole\",\"sessionContext\":\"x\",\"arn\":\"a/b/c\",\"principalId\":\"p:q\"}}",
  "{\"userIdentity\":{\"type\":\"AssumedRole\",\"sessionContext\":{\"sessionIssuer\":[]}}}",
  "{\"userIdentity\":{\"type\":\"AssumedRole\",\"sessionContext\":{\"sessionIssuer\":{\"userName\":7}}}}",
  "{\"userIdentity\":{\"type\":\"AssumedRole\",\"sessionContext\":{\"sessionIssuer\":{\"userName\":\"r1\","
  "\"userName\":\"r2\"}}}}",
  "{\"userIdentity\":{\"type\":5,\"userName\":null,\"accountId\":true},\"recipientAccountId\":\"1\"}",
  "{\"userIdentity\":[],\"recipientAccountId\":\"1\",\"sourceIPAddress\":{},\"eventName\":null}",
  "{ \"userIdentity\" : { \"type\" : \"Root\" , \"userName\" :\n\"x y\" } ,\t\"eventName\" : \"E\" }",
  "{\"requestParameters\":{\"x\":[\"a\",{\"b\":1},[2]],\"n\":-1.50,\"t\":false,\"o\":{\"p\":[]},\"a/b\":\"s\","
  "\"a~b\":\"t\",\"\":\"empty\",\"bucketName\":\"b1\",\"bucketName\":\"b2\"}}",
  "{\"responseElements\":{\"instancesSet\":{\"items\":[{\"instanceId\":\"i-1\"},{\"instanceId\":\"i\\/2\"}]}},"
  "\"requestParameters\":{\"availabilityZone\":\"z\",\"x\":[]}}",
  "{\"responseElements\":{\"instancesSet\":{\"items\":{\"0\":{\"instanceId\":\"i-1\"}}}},\"requestParameters\":null}",
  "{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"requestParameters\":{\"bucketName\":\"b\","
  "\"key\":\"k/\\u00e9\"}}",
  "{\"resources\":[{\"ARN\":\"arn:1\"}],\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"\"}}",
  /* a repeated key on the way: the path goes on in the last one only */
  "{\"requestParameters\":{\"a\":{\"b\":\"1\"},\"x\":[0,1,[\"deep\"]],\"a\":{\"c\":\"2\"}},"
  "\"addendum\":{\"reason\":\"r1\"},\"addendum\":{\"other\":1},\"tlsDetails\":{\"tlsVersion\":\"1\"},"
  "\"tlsDetails\":{\"tlsVersion\":\"2\",\"tlsVersion\":3}}",
  /* escaped keys: on the path (jansson decides) and in a value passed over */
  "{\"requestParameters\":{\"o\":{\"k\\\"ey\":[1,{\"z\\/\":2}]},\"bucketName\":\"b\",\"a\":{\"b\":\"1\"}}}",
  "{\"requestParameters\":{\"bucket\\/Name\":\"x\",\"bucketName\":\"b\"},\"userIdentity\":{\"ty\\\"pe\":1}}",
  "{\"requestParameters\":{\"a\\/b\":\"escaped key\",\"x\":[\"y\"]}}", /* the key decodes to a/b: /a~1b */
  /* rds.*: identifiers in each place, of other types, escaped, repeated */
  "{\"eventName\":\"CreateDBInstance\",\"requestParameters\":{\"engine\":7,\"publiclyAccessible\":\"FALSE\","
  "\"dBInstanceIdentifier\":null},\"responseElements\":{\"dBInstance\":{\"dBInstanceIdentifier\":\"db1\","
  "\"engine\":\"mysql\",\"publiclyAccessible\":true,\"dBClusterIdentifier\":\"c\\/1\"}}}",
  "{\"requestParameters\":{\"dB\\/x\":\"1\",\"dBSnapshotIdentifier\":\"s1\",\"dBSnapshotIdentifier\":\"s2\"},"
  "\"responseElements\":{\"dBClusterIdentifier\":\"c\",\"dBSnapshot\":{\"engine\":\"pg\"}}}",
  "{\"requestParameters\":\"x\",\"responseElements\":{\"dBCluster\":[{\"engine\":\"a\"}],\"dBSnapshot\":\"s\","
  "\"dBClusterSnapshot\":{\"dBClusterSnapshotIdentifier\":\"cs\",\"publiclyAccessible\":\"tRUE\"}}}",
  "{\"requestParameters\":{\"dBInstanceIdentifier\":\"d\\\"b\",\"publiclyAccessible\":false},"
  "\"responseElements\":{\"publiclyAccessible\":\"no\",\"dBInstanceIdentifier\":\"db2\"}}",
  "{\"requestParameters\":{\"publiclyAccessible\":\"t\\/rue\",\"kmsKeyId\":\"arn:aws:kms:r:1\\/2:key/k\"}}",
  "{\"requestParameters\":{\"kmsKeyId\":\"arn:aws:kms:us-east-1:444455556666:key/k\",\"skipFinalSnapshot\":\"True\","
  "\"deletionProtection\":1,\"backupRetentionPeriod\":\"07\"}}",
  /* snapshot sharing: entries of every type, a lone string, escapes */
  "{\"eventName\":\"ModifyDBSnapshotAttribute\",\"requestParameters\":{\"attributeName\":\"restore\","
  "\"valuesToAdd\":[\"all\",\"111122223333\",7,true,null,false,{\"a\":1},[\"b\"],\"ALL\"],\"valuesToRemove\":[]},"
  "\"userIdentity\":{\"accountId\":\"111122223333\"}}",
  "{\"eventName\":\"ModifyDBClusterSnapshotAttribute\",\"requestParameters\":{\"attributeName\":\"restore\","
  "\"valuesToAdd\":\"222233334444\",\"valuesToRemove\":[\"3\",\"x\\/y\"]},\"recipientAccountId\":\"999\","
  "\"userIdentity\":{\"accountId\":\"\"}}",
  "{\"eventName\":\"ModifyDBSnapshotAttribute\",\"requestParameters\":{\"attributeName\":\"restore\","
  "\"valuesToAdd\":[\"1\\/2\",\"3\"]},\"userIdentity\":{\"accountId\":\"4\\/4\"},\"recipientAccountId\":\"3\"}",
  "{\"eventName\":\"ModifyDBSnapshotAttribute\",\"requestParameters\":{\"attributeName\":\"restor\\/e\","
  "\"valuesToAdd\":[\"5\"]},\"recipientAccountId\":5}",
  "{\"eventName\":\"Modify\\/DBSnapshotAttribute\",\"requestParameters\":{\"attributeName\":\"restore\","
  "\"valuesToAdd\":[\"5\"]}}",
  "{\"eventName\":\"ModifyDBSnapshotAttribute\",\"requestParameters\":{\"attributeName\":\"restore\","
  "\"valuesToAdd\":7,\"valuesToRemove\":true}}",
  "{\"eventName\":\"ModifyDBSnapshotAttribute\",\"requestParameters\":{\"attributeName\":\"restore\","
  "\"valuesToAdd\":[\"\"]},\"recipientAccountId\":\"\"}",
  /* json.values: arrays on the way and at the end, null, booleans, numbers */
  "{\"requestParameters\":{\"x\":[{\"b\":\"1\"},{\"b\":[\"2\",null,true]},{\"c\":3}],\"n\":null,\"t\":true,"
  "\"o\":{\"p\":1.50}},\"resources\":[{\"ARN\":\"a1\"},{\"ARN\":\"a2\"}],\"awsRegion\":\"r\"}",
  "{\"requestParameters\":{\"x\":{\"b\":false},\"o\":{\"p\":{\"q\":[]}},\"a\":[]},\"eventName\":[\"E\"]}",
  /* ct.request, ct.response, ct.additionaleventdata as compact JSON: repeated keys at each depth, numbers
   * jansson rewrites, whitespace, structural bytes inside strings, other types of member */
  "{\"requestParameters\":{ \"a\" : [ 1 , -2 , 0 , {\"b\" : \"x, y}\" , \"c\":[ ] } ] ,\"d\":{},\"e\":\"\xc3\xa9 :{[\"},"
  "\"responseElements\":{\"a\":{\"k\":1,\"k\":2}},\"additionalEventData\":{\"x\":1,\"y\":{\"x\":2},\"x\":3}}",
  "{\"requestParameters\":{\"n\":-0,\"m\":1},\"responseElements\":{\"n\":123456789012345678,\"m\":-123456789012345678},"
  "\"additionalEventData\":{\"n\":-10}}", /* (19 digits: the walk leaves the record to jansson) */
  "{\"requestParameters\":{\"n\":1.0},\"responseElements\":{\"n\":1e2},\"additionalEventData\":{\"n\":-2E-1}}",
  "{\"requestParameters\":\"s, t\",\"responseElements\":null,\"additionalEventData\":[true,false,null,\"\"]}",
  "{\"requestParameters\":7,\"responseElements\":true,\"additionalEventData\":{\"a\":\"b\\\\c\"}}",
  "{\"requestParameters\":[[[[[[[[[[[[[[[[[[\"deep\"]]]]]]]]]]]]]]]]]],\"responseElements\":{\"a\":{\"b\":{\"c\":{\"d\":"
  "{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":{\"o\":{\"p\":1}}}}}}}}}}}}}}}}}",
  /* s3.uri, s3.bytes* and ct.info's tail (read from the bytes since stop 25): repeated, escaped, other
   * types, no additionalEventData key, a number of each form */
  "{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},\"sourceIPAddress\":\"s\",\"eventName\":\"GetObject\","
  "\"readOnly\":true,\"requestParameters\":{\"bucketName\":\"b1\",\"key\":\"k\",\"bucketName\":\"b\\/2\"},"
  "\"additionalEventData\":{\"bytesTransferredIn\":1.9,\"bytesTransferredOut\":-4,\"bytesTransferredIn\":7}}",
  "{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},\"sourceIPAddress\":\"s\",\"eventName\":\"E\","
  "\"requestParameters\":{\"key\":null,\"Host\":\"h\"},\"additionalEventData\":{\"bytesTransferredOut\":\"9\"}}",
  "{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},\"sourceIPAddress\":\"s\",\"eventName\":\"E\","
  "\"requestParameters\":{\"bucketName\":[\"b\"],\"key\":{\"k\":1}},\"additionalEventData\":{\"x\":1}}",
  "{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},\"sourceIPAddress\":\"s\",\"eventName\":\"E\","
  "\"requestParameters\":{\"Host\":7,\"bucket\\u004eame\":\"esc\"},\"additionalEventData\":\"bytesTransferredIn\"}",
  "{\"additionalEventData\":{\"bytesTransferred\\u0049n\":5,\"bytes\\/TransferredOut\":6}}",
  "{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},\"sourceIPAddress\":\"s\",\"eventName\":\"E\","
  "\"requestParameters\":\"bucketName\",\"additionalEventData\":{\"bytesTransferredIn\":1e3,"
  "\"bytesTransferredOut\":1e19}}",
  "{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},\"sourceIPAddress\":\"s\",\"eventName\":"
  "\"PutBucketPublicAccessBlock\",\"requestParameters\":{\"PublicAccessBlockConfiguration\":{\"BlockPublicAcls\":"
  "true},\"bucketName\":\"b\"}}",
  /* flags and byte counts of each form: JSON bools, strings (escaped too), null, repeated; reals with a
   * fraction of zeros or not, negative, 17 and 18 digits */
  "{\"readOnly\":\"true\",\"managementEvent\":null,\"sessionCredentialFromConsole\":\"true\",\"eventName\":"
  "\"GetObject\",\"additionalEventData\":{\"bytesTransferredIn\":89.0,\"bytesTransferredOut\":0.0}}",
  "{\"readOnly\":false,\"readOnly\":true,\"managementEvent\":1,\"sessionCredentialFromConsole\":\"tr\\/ue\","
  "\"additionalEventData\":{\"bytesTransferredIn\":-0.0,\"bytesTransferredOut\":12.50}}",
  "{\"readOnly\":{},\"sessionCredentialFromConsole\":true,\"eventName\":\"PutObject\",\"additionalEventData\":"
  "{\"bytesTransferredIn\":12345678901234567,\"bytesTransferredOut\":123456789012345678}}",
  "{\"sessionCredentialFromConsole\":\"True\",\"eventName\":\"Put\\/Object\",\"additionalEventData\":"
  "{\"bytesTransferredIn\":0.99999999999999999999,\"bytesTransferredOut\":[]}}",
  "{\"additionalEventData\":{\"bytesTransferredIn\":123456789012345678.0,\"bytesTransferredOut\":1234567890123456.0}}",
  /* rds.params.*: an array (named by walked_pointers' /eventName), an object, a string, escaped */
  "{\"requestParameters\":{\"parameters\":[{\"parameterName\":\"/eventName\",\"parameterValue\":\"v1\"},"
  "{\"parameterName\":\"/eventName\",\"parameterValue\":{\"n\":2}}]}}",
  "{\"requestParameters\":{\"parameters\":{\"parameterName\":\"/eventName\",\"parameterValue\":\"v\"}}}",
  "{\"requestParameters\":{\"parameters\":\"[{}]\",\"param\\/eters\":[]}}",
  "{\"requestParameters\":{\"parameters\":[{\"parameterName\":\"\\/eventName\",\"parameterValue\":\"e\"}]}}",
  /* backupRetentionPeriod: each form a number may take */
  "{\"requestParameters\":{\"backupRetentionPeriod\":7}}",
  "{\"requestParameters\":{\"backupRetentionPeriod\":7.9}}",
  "{\"requestParameters\":{\"backupRetentionPeriod\":-0}}",
  "{\"requestParameters\":{\"backupRetentionPeriod\":-3}}",
  "{\"requestParameters\":{\"backupRetentionPeriod\":1e1}}",
  "{\"requestParameters\":{\"backupRetentionPeriod\":123456789012345678}}",
  "{\"requestParameters\":{\"backupRetentionPeriod\":\"12345678901234567890\"}}",
  "{\"requestParameters\":{\"backupRetentionPeriod\":\"1a\",\"skipFinalSnapshot\":null}}",
  "{\"requestParameters\":{\"backupRetentionPeriod\":[7],\"deletionProtection\":\"FaLsE\"}}",
};

Test(fields, walked_bytes_read_as_the_whole_record, .timeout = 240)
{
  size_t walked = 0;
  for (size_t i = 0; i < CTR__COUNTOF(walked_edge_records); i++)
    walked += walked_reads_as_whole(walked_edge_records[i], strlen(walked_edge_records[i]));
  cr_assert_geq(walked, CTR__COUNTOF(walked_edge_records) - 1, "the edge records were not walked"); /* \u: not */
  /* an object with more members than the walk notes: jansson reads it */
  char big[4096];
  size_t k = (size_t)snprintf(big, sizeof big, "{\"userIdentity\":{");
  for (int i = 0; i < 70; i++)
    k += (size_t)snprintf(big + k, sizeof big - k, "\"k%d\":\"v%d\",", i, i);
  k += (size_t)snprintf(big + k, sizeof big - k, "\"type\":\"Root\",\"userName\":\"late\"}}");
  cr_assert(walked_reads_as_whole(big, k));
  /* an object with more keys than the compact writer compares */
  k = (size_t)snprintf(big, sizeof big, "{\"requestParameters\":{");
  for (int i = 0; i < 40; i++)
    k += (size_t)snprintf(big + k, sizeof big - k, "%s\"k%d\":%d", i ? "," : "", i % 35, i);
  k += (size_t)snprintf(big + k, sizeof big - k, "},\"responseElements\":{");
  for (int i = 0; i < 40; i++)
    k += (size_t)snprintf(big + k, sizeof big - k, "%s\"k%d\":%d", i ? "," : "", i, i);
  k += (size_t)snprintf(big + k, sizeof big - k, "}}");
  cr_assert(walked_reads_as_whole(big, k));
  /* more snapshot-sharing entries than are read from the bytes */
  k = (size_t)snprintf(big, sizeof big, "{\"eventName\":\"ModifyDBSnapshotAttribute\",\"requestParameters\":{"
                       "\"attributeName\":\"restore\",\"valuesToAdd\":[");
  for (int i = 0; i < 70; i++)
    k += (size_t)snprintf(big + k, sizeof big - k, "%s\"%d\"", i ? "," : "", i);
  k += (size_t)snprintf(big + k, sizeof big - k, "]},\"recipientAccountId\":\"3\"}");
  cr_assert(walked_reads_as_whole(big, k));
  const char *files[] = {"records.ndjson", "partial.ndjson"};
  for (size_t f = 0; f < CTR__COUNTOF(files); f++) {
    size_t len;
    char *data = tu_read(tu_shared(files[f]), &len);
    for (char *line = data; line < data + len;) {
      char *nl = memchr(line, '\n', (size_t)(data + len - line));
      size_t n = nl ? (size_t)(nl - line) : (size_t)(data + len - line);
      json_t *j = json_loadb(line, n, JSON_ALLOW_NUL, NULL);
      if (j && json_is_object(j))
        walked += walked_reads_as_whole(line, n);
      json_decref(j);
      line += n + 1;
    }
    free(data);
  }
  cr_assert_gt(walked, 1100, "only %zu records walked", walked);
}

/* The fields that read nested strings take them from the walked bytes: the
 * member they lie in is never parsed. */
Test(fields, walked_strings_need_no_parse)
{
  const char *rec = "{\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":\"arn:aws:sts::1:assumed-role/R/s\","
                    "\"principalId\":\"P:s\",\"accountId\":\"1\",\"sessionContext\":{\"sessionIssuer\":"
                    "{\"userName\":\"R\"}}},\"sourceIPAddress\":\"203.0.113.9\",\"eventName\":\"RunInstances\","
                    "\"eventSource\":\"ec2.amazonaws.com\",\"requestParameters\":{\"availabilityZone\":\"z1\","
                    "\"publiclyAccessible\":true,\"n\":null},\"responseElements\":{\"instancesSet\":{\"items\":"
                    "[{\"instanceId\":\"i-1\"},{\"instanceId\":\"i-2\",\"x\":false}]}}}";
  load_json(rec);
  cr_assert(make_walked());
  STR("ct.user.identitytype", "AssumedRole");
  STR("ct.user", "R");
  STR("ct.originaluser", "s");
  STR("ct.user.arn", "arn:aws:sts::1:assumed-role/R/s");
  STR("ct.user.accountid", "1");
  STR("ct.srcip", "203.0.113.9");
  STR("ct.name", "RunInstances");
  STR("ct.shortsrc", "ec2");
  STR("ct.request.availabilityzone", "z1");
  JV("/responseElements/instancesSet/items/1/instanceId", "i-2");
  JV("/responseElements/instancesSet/items/1/x", "false");
  JV_ABSENT("/responseElements/instancesSet/items/2/instanceId");
  JV_ABSENT("/responseElements/instancesSet/items/0/instanceId/x");
  JV("/requestParameters/publiclyAccessible", "true");
  JV("requestParameters/n", "null");
  JV_ABSENT("/requestParameters/none");
  JV_ABSENT("/none/x");
  cr_assert_eq(json_object_size(root), 0, "a member was parsed");
  /* userIdentity walked once: seven fields crossed it, six from its kept members */
  cr_assert_geq(walked_objects.reused, 6, "reused %llu", (unsigned long long)walked_objects.reused);
  ev.lazy = NULL;
  ev.facts = NULL;
}

/* ctr__same_key is memcmp's answer at every length, a difference at every
 * place (the overlapping loads of each size, and the bytes between them). */
Test(fields, same_key_is_memcmp)
{
  char a[48], b[48];
  for (size_t n = 0; n <= 40; n++) {
    for (size_t i = 0; i < n; i++)
      a[i] = b[i] = (char)('a' + i % 26);
    cr_assert(ctr__same_key(a, b, n), "length %zu", n);
    for (size_t i = 0; i < n; i++) {
      b[i] ^= 1;
      cr_assert_not(ctr__same_key(a, b, n), "length %zu, byte %zu", n, i);
      b[i] ^= 1;
    }
  }
}

/* The top-level members the walk that cut the record read (eventName,
 * errorCode, eventSource, awsRegion, sourceIPAddress, userIdentity, ...)
 * are taken from its facts: no member is looked up and none parsed; what the facts cannot tell (an
 * escape) is read as before. */
Test(fields, top_level_members_come_from_the_walks_facts)
{
  load_json("{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},"
            "\"eventTime\":\"2025-01-01T00:00:00Z\",\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"RunInstances\","
            "\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":\"203.0.113.9\",\"eventType\":\"AwsApiCall\","
            "\"eventID\":\"e\",\"x\":1}");
  cr_assert(make_walked());
  STR("ct.name", "RunInstances");
  ABSENT("ct.error");
  STR("ct.src", "ec2.amazonaws.com");
  STR("ct.shortsrc", "ec2");
  STR("ct.region", "eu-west-1");
  STR("ct.srcip", "203.0.113.9");
  STR("ct.eventtype", "AwsApiCall");
  STR("ct.time", "2025-01-01T00:00:00Z");
  STR("ct.user.identitytype", "IAMUser");
  STR("ct.user", "u");
  JV("/eventVersion", "1.08");
  cr_assert_null(walked_lazy.found.key, "a member was looked up");
  cr_assert_eq(json_object_size(root), 0, "a member was parsed");
  STR("ct.id", "e"); /* not among the facts: looked up */
  cr_assert_not_null(walked_lazy.found.key);
  /* facts of every kind: an escaped string, a string of another type, an
   * object where a string is read, a string where an object is */
  load_json("{\"eventName\":\"Run\\/Instances\",\"errorCode\":7,\"sourceIPAddress\":{\"a\":\"b\"},"
            "\"userIdentity\":\"Root\",\"awsRegion\":null,\"eventSource\":[\"s\"]}");
  cr_assert(make_walked());
  ABSENT("ct.user");
  ABSENT("ct.user.identitytype");
  STR("ct.error", "");
  STR("ct.srcip", "");
  STR("ct.region", "");
  STR("ct.src", "");
  JV("/sourceIPAddress", "{\"a\":\"b\"}");
  JV("/eventSource/0", "s");
  JV_ABSENT("/userIdentity/type");
  cr_assert_null(walked_lazy.found.key, "a member was looked up");
  STR("ct.name", "Run/Instances"); /* escaped: parsed */
  cr_assert_eq(json_object_size(root), 1);
  ev.lazy = NULL;
  ev.facts = NULL;
}

/* The rds.* fields read their identifiers, flags and shared accounts from
 * the walked bytes: neither requestParameters nor responseElements is
 * parsed (jansson would parse a member of kilobytes for one identifier). */
Test(fields, rds_fields_need_no_parse)
{
  load_record("\"eventID\":\"fef2bf02-bbea-4d0f-a91c-e6ccfe3fba46\"", NULL);
  cr_assert(make_walked());
  STR("rds.snapshot", "exfiltration");
  STR("rds.snapshot.type", "instance");
  STR("rds.resource", "exfiltration");
  LIST("rds.shared.accounts", "503161813013");
  LIST("rds.shared.foreign_accounts", "503161813013");
  STR("rds.shared.foreign", "true");
  STR("rds.shared.public", "false");
  ABSENT("rds.unshared.accounts");
  ABSENT("rds.public");
  ABSENT("rds.backup_retention");
  cr_assert_eq(json_object_size(root), 0, "a member was parsed");
  load_json("{\"eventName\":\"CreateDBInstance\",\"requestParameters\":{\"dBInstanceIdentifier\":\"db\","
            "\"publiclyAccessible\":\"True\",\"backupRetentionPeriod\":0,\"deletionProtection\":false,"
            "\"kmsKeyId\":\"arn:aws:kms:us-east-1:444455556666:key/k\"},\"responseElements\":{\"dBInstance\":"
            "{\"engine\":\"postgres\",\"dBClusterIdentifier\":\"c\"}}}");
  cr_assert(make_walked());
  STR("rds.instance", "db");
  STR("rds.cluster", "c");
  STR("rds.engine", "postgres");
  STR("rds.public", "true");
  STR("rds.deletion_protection", "false");
  STR("rds.kms.account", "444455556666");
  expect_u64("rds.backup_retention", 0);
  cr_assert_eq(json_object_size(root), 0, "a member was parsed");
  ev.lazy = NULL;
  ev.facts = NULL;
}

/* ct.request and its kind, and json.value's numbers and containers, are
 * written from the walked bytes: the member is not parsed (a security group
 * rule's request is read on every such call). */
Test(fields, compact_members_need_no_parse)
{
  load_json("{\"eventName\":\"AuthorizeSecurityGroupIngress\",\"requestParameters\": {\"groupId\": \"sg-1\","
            "\"ipPermissions\": {\"items\": [{\"ipProtocol\": \"tcp\", \"fromPort\": 5432, \"toPort\": 5432,"
            " \"ipRanges\": {\"items\": [{\"cidrIp\": \"0.0.0.0/0\"}]}}]},\"x\":\"x\"},\"responseElements\":null,"
            "\"additionalEventData\":[1, true]}");
  cr_assert(make_walked());
  STR("ct.request", "{\"groupId\":\"sg-1\",\"ipPermissions\":{\"items\":[{\"ipProtocol\":\"tcp\",\"fromPort\":5432,"
                    "\"toPort\":5432,\"ipRanges\":{\"items\":[{\"cidrIp\":\"0.0.0.0/0\"}]}}]},\"x\":\"x\"}");
  STR("ct.response", "null");
  STR("ct.additionaleventdata", "[1,true]");
  JV("/requestParameters/ipPermissions/items/0/fromPort", "5432");
  JV("/requestParameters/ipPermissions/items/0/ipRanges", "{\"items\":[{\"cidrIp\":\"0.0.0.0/0\"}]}");
  cr_assert_eq(json_object_size(root), 0, "a member was parsed");
  ev.lazy = NULL;
  ev.facts = NULL;
}

/* json.value pointers step into a member through the objects kept for the
 * record, as the dotted fields do: the member's object is walked once for
 * every pointer and field into it, and a pointer's segment with ~ escapes is
 * decoded as before. */
Test(fields, pointers_walk_a_member_once_for_the_record)
{
  const char *rec = "{\"requestParameters\":{\"a/b\":\"slash\",\"a~b\":\"tilde\",\"c\":{\"d\":\"deep\"},"
                    "\"e\":[\"x\",\"y\"],\"availabilityZone\":\"z1\",\"e\":[\"last\"]},"
                    "\"responseElements\":{\"r\":true}}";
  load_json(rec);
  cr_assert(make_walked());
  uint64_t before = walked_objects.reused;
  JV("/requestParameters/a~1b", "slash"); /* walks requestParameters */
  JV("/requestParameters/a~0b", "tilde");
  JV("/requestParameters/c/d", "deep");
  JV("requestParameters/e/0", "last");
  JV_ABSENT("/requestParameters/e/1");
  STR("ct.request.availabilityzone", "z1");
  JV("/responseElements/r", "true"); /* walks responseElements */
  JV_ABSENT("/responseElements/s");
  cr_assert_eq(walked_objects.reused - before, 6, "reused %llu", (unsigned long long)(walked_objects.reused - before));
  cr_assert_eq(walked_lazy.nwalked, 2);
  cr_assert_eq(json_object_size(root), 0, "a member was parsed");
  ev.lazy = NULL;
  ev.facts = NULL;
}

/* The objects walked for one record's fields serve no other: each record in
 * turn in the same buffer, as a caller's read buffer holds them, with
 * userIdentity where the record before had it but its members elsewhere; and
 * a record crossing more objects than are kept. */
Test(fields, walked_objects_are_the_records_own)
{
  ctr_ruleset *rs = tu_compile("- rule: b\n  desc: d\n  condition: ct.user.arn = \"arn:B\" and ct.user.identitytype = "
                               "Root\n  output: \"%ct.user.arn %ct.user.accountid %ct.user\"\n  priority: "
                               "WARNING\n  source: aws_cloudtrail\n",
                               NULL, 0);
  cr_assert_not_null(rs);
  static const char *const recs[] = {
    "{\"eventName\":\"E\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:A\",\"userName\":\"x\"}}\n",
    "{\"eventName\":\"E\",\"userIdentity\":{\"arn\":\"arn:B\",\"type\":\"Root\",\"accountId\":\"1\"}}\n",
    "{\"eventName\":\"E\",\"userIdentity\":{\"typ\":\"Root\",\"arn\":\"arn:B\",\"type\":\"Root\"}}\n",
    "{\"eventName\":\"E\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:B\",\"type\":\"Root\",\"x\":1}}\n",
    "{\"eventName\":\"E\",\"requestParameters\":{\"a\":1},\"responseElements\":{\"b\":2},\"addendum\":{},"
    "\"tlsDetails\":{},\"additionalEventData\":{},\"userIdentity\":{\"arn\":\"arn:B\",\"type\":\"Root\"}}\n",
  };
  ctr_scanner *sc;
  tu_matches m = {0};
  cr_assert_eq(ctr_scanner_new(rs, tu_collect, &m, &sc), CTR_OK);
  char buf[512];
  for (size_t i = 0; i < CTR__COUNTOF(recs); i++) {
    size_t n = strlen(recs[i]);
    memcpy(buf, recs[i], n);
    cr_assert_eq(ctr_scanner_feed(sc, buf, n), CTR_OK);
    memset(buf, ' ', sizeof buf);
  }
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_str_eq(m.text ? m.text : "", "1\tb\tarn:B 1 <NA>\n2\tb\tarn:B <NA> <NA>\n3\tb\tarn:B <NA> <NA>\n"
                   "4\tb\tarn:B <NA> <NA>\n");
  ctr_scanner_free(sc);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
}
