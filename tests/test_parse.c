/* test_parse.c - the condition grammar and Falco's operator semantics,
 * checked by evaluating one condition against one event. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static const char *EV =
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"Bob\",\"accountId\":\"111122223333\"},"
  "\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\","
  "\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":\"198.51.100.7\",\"userAgent\":\"aws-cli/2.15.0 Python\","
  "\"requestParameters\":{\"bucketName\":\"logs\",\"key\":\"a/b/c.txt\",\"publiclyAccessible\":false,\"n\":12,"
  "\"list\":[\"all\"],\"enc\":\"aGVsbG8=\",\"other\":\"Bob\"},"
  "\"additionalEventData\":{\"bytesTransferredIn\":0,\"bytesTransferredOut\":2048},\"readOnly\":true}";

static char diags[8192];

/* 1 match, 0 no match, -1 compile error (message in diags). */
static int eval(const char *cond)
{
  char y[4096];
  snprintf(y, sizeof y, "- rule: r\n  desc: d\n  condition: '%s'\n  output: o\n  priority: info\n", cond);
  ctr_ruleset *rs = tu_compile(y, diags, sizeof diags);
  if (!rs)
    return -1;
  tu_matches m = {0};
  tu_scan(rs, EV, strlen(EV), 0, 0, &m);
  int n = (int)m.count;
  tu_matches_free(&m);
  /* The index and prefilter must never change a result. */
  tu_scan(rs, EV, strlen(EV), 0, CTR_SCAN_NO_INDEX, &m);
  cr_assert_eq((int)m.count, n, "index changed the result of: %s", cond);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
  return n;
}

#define YES(c) cr_assert_eq(eval(c), 1, "expected match: %s\n%s", c, diags)
#define NO(c) cr_assert_eq(eval(c), 0, "expected no match: %s\n%s", c, diags)
#define BAD(c, msg) do { cr_assert_eq(eval(c), -1, "expected error: %s", c); \
  cr_assert(strstr(diags, msg), "expected '%s' in %s", msg, diags); } while (0)

Test(parse, precedence)
{
  YES("ct.name = GetObject or ct.name = X and ct.name = Y");
  NO("(ct.name = GetObject or ct.name = X) and ct.name = Y");
  YES("not ct.name = X and ct.name = GetObject");
  YES("not not ct.name = GetObject");
  YES("not(ct.name = X)");
  YES("((ct.name = GetObject))");
}

Test(parse, absent_field_is_false_for_every_operator)
{
  NO("ct.error = x");
  NO("ct.error != x");
  NO("ct.error exists");
  YES("not ct.error exists");
  NO("ct.error in (a, b)");
  NO("ct.error startswith a");
  NO("json.value[/nothere] != x");
  NO("s3.bytes.in != 5 and ct.error != x");
}

Test(parse, string_operators)
{
  YES("ct.name == GetObject");
  YES("ct.name != PutObject");
  YES("ct.useragent contains cli");
  YES("ct.useragent icontains CLI");
  NO("ct.useragent contains CLI");
  YES("ct.useragent startswith aws-");
  YES("ct.useragent endswith Python");
  YES("ct.useragent glob \"aws-*Py*\"");
  YES("ct.useragent iglob \"AWS-*\"");
  NO("ct.useragent glob \"AWS-*\"");
  YES("s3.key glob \"a*txt\"");
  YES("ct.srcip regex \"198\\\\.51\\\\.[0-9]+\\\\.7\"");
  BAD("ct.srcip regex \"198\\.51\"", "unsupported string escape sequence: \\.");
  NO("ct.srcip regex \"198\"");
  YES("ct.region in (us-east-1, eu-west-1)");
  YES("ct.region intersects (eu-west-1)");
  NO("ct.region in ()");
  YES("s3.key pmatch (/x, a/b)");
  NO("s3.key pmatch (a/b/c)");
  BAD("ct.region > eu", "a numeric operator needs a number (or a field with val() or a transformer), found 'eu'");
  YES("ct.useragent startswith anyof (x, aws)");
  NO("ct.useragent startswith allof (x, aws)");
  YES("ct.useragent contains oneof (cli, nothere)");
}

Test(parse, quoted_literals_and_escapes)
{
  YES("ct.useragent = \"aws-cli/2.15.0 Python\"");
  BAD("ct.useragent contains \"\\x20Py\"", "unsupported string escape sequence: \\x");
  YES("ct.name in (\"GetObject\", \"x y\")");
  BAD("ct.name = \"a\\qb\"", "unsupported string escape sequence: \\q");
  BAD("ct.name = \"abc", "unterminated quoted string");
}

Test(parse, numeric_fields)
{
  YES("s3.bytes = 2048");
  YES("s3.bytes > 1000");
  YES("s3.bytes.out >= 2048");
  YES("s3.bytes in (1, 2048)");
  YES("s3.bytes = 0x800");
  NO("s3.bytes < 100");
  YES("evt.num = 1");
  BAD("ct.name > abc", "a numeric operator needs a number");
}

Test(parse, json_value_idioms)
{
  YES("json.value[/requestParameters/publiclyAccessible] = false");
  YES("json.value[/requestParameters/n] = 12");
  YES("json.value[/requestParameters/list] = ''[\"all\"]''");
  YES("jevt.value[/requestParameters/list/0] = all");
  YES("json.value[/userIdentity/type] = IAMUser");
}

Test(parse, transformers_and_val)
{
  YES("tolower(ct.user) = bob");
  YES("toupper(ct.user) = BOB");
  YES("b64(json.value[/requestParameters/enc]) = hello");
  YES("basename(s3.key) = c.txt");
  YES("len(ct.region) = 9");
  YES("len(ct.region) > 3");
  YES("ct.user = val(json.value[/requestParameters/other])");
  NO("ct.region = val(ct.name)");
  YES("tolower(ct.user) = tolower(json.value[/requestParameters/other])");
  BAD("val(ct.user) = x", "val() is only allowed on the right-hand side");
  BAD("nosuch(ct.user) = x", "unknown transformer 'nosuch'");
  BAD("ct.user regex val(ct.name)", "regex needs a literal pattern");
}

Test(parse, syntax_errors)
{
  BAD("ct.name =", "expected a value");
  BAD("ct.name", "expected an operator");
  BAD("ct.name = x and", "unexpected end of condition");
  BAD("ct.name = x andct.src = y", "unexpected 'andct.src = y'");
  BAD("ct.name in 1x", "expected a list, a list name or a field with a transformer");
  BAD("ct.name in (a b)", "expected ',' or ')' in list");
  BAD("", "unexpected end of condition");
}

Test(parse, deep_nesting_is_an_error_not_a_crash)
{
  char cond[6000] = "";
  for (int i = 0; i < 1200; i++)
    strcat(cond, "(");
  strcat(cond, "ct.name = x");
  for (int i = 0; i < 1200; i++)
    strcat(cond, ")");
  char y[8000];
  snprintf(y, sizeof y, "- rule: r\n  desc: d\n  condition: '%s'\n  output: o\n  priority: info\n", cond);
  cr_assert_null(tu_compile(y, diags, sizeof diags));
  cr_assert(strstr(diags, "condition nests deeper than 1000 levels"), "%s", diags);
}

Test(parse, field_name_as_value_warns)
{
  YES("ct.user != ct.name");
  cr_assert(strstr(diags, "is a field name: it is compared as a string"), "%s", diags);
}
