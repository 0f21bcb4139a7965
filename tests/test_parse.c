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

/* 1 match, 0 no match, -1 compile error (message in diags); `defs`: YAML
 * items (lists, macros) placed before the rule. */
static int eval_with(const char *defs, const char *cond)
{
  char y[8192];
  snprintf(y, sizeof y, "%s- rule: r\n  desc: d\n  condition: '%s'\n  output: o\n  priority: info\n", defs, cond);
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

static int eval(const char *cond) { return eval_with("", cond); }

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
  YES("ct.srcip regex \"198\\.51\\..*\"");  /* an unknown escape is kept: \. reaches PCRE2 */
  NO("ct.srcip regex \"198\\.52.*\"");
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
  NO("ct.useragent contains \"\\x20Py\"");     /* \x is no escape in Falco: kept as written */
  YES("ct.useragent contains \"\\x20Py\" or ct.useragent contains \" Py\"");
  YES("ct.name in (\"GetObject\", \"x y\")");
  NO("ct.name = \"a\\qb\"");
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

/* Deliberate difference (docs/compatibility.md): Falco's parser counts its
 * own recursion, about five calls per parenthesis, against 1000, so it stops
 * near 200 nested parentheses; we count nesting levels. */
Test(parse, nesting_counts_levels_not_parser_calls)
{
  char cond[2200] = "";
  for (int i = 0; i < 500; i++)
    strcat(cond, "(");
  strcat(cond, "ct.name = GetObject");
  for (int i = 0; i < 500; i++)
    strcat(cond, ")");
  cr_assert_eq(eval(cond), 1, "%s", diags);
}

Test(parse, field_name_as_value_warns)
{
  YES("ct.user != ct.name");
  cr_assert(strstr(diags, "'ct.name' may be a valid field misused as a const string value"), "%s", diags);
}

/* Every error of the grammar carries the position of what is wrong:
 * rules.yaml line 3, the condition starting at column 14. */
Test(parse, new_errors_are_positioned)
{
  BAD("ct.name ==oneof (GetObject)", "rules.yaml:3:25: error: the modifier 'oneof' needs a blank on each side");
  BAD("ct.name contains oneof(Get)", "rules.yaml:3:32: error: the modifier 'oneof' needs a blank on each side");
  BAD("s3.bytes > oneof (1, 2)", "rules.yaml:3:26: error: a numeric operator needs a number");
  NO("ct.name = oneof");                               /* a value, not a modifier */
  BAD("ct.name = \"it\\''s\"", "rules.yaml:3:28: error: invalid \\' escape in a \"-quoted string");
  BAD("ct.name = \"C:\\\\\"", "rules.yaml:3:25: error: unterminated quoted string");
  BAD("join(\"-\") = x", "rules.yaml:3:15: error: join() takes two arguments");
  BAD("concat(ec2.imageids, \"a\") = x", "rules.yaml:3:22: error: concat() takes single values, not a list");
  BAD("getopt(\"a\", \"n\") intersects (n)", "rules.yaml:3:15: error: getopt() takes two arguments");
  BAD("tolower(\"A\") = a", "rules.yaml:3:15: error: tolower() takes one argument");
  BAD("json.value[] = x", "rules.yaml:3:25: error: expected a valid field argument");
  BAD("val(ct.name) = x", "rules.yaml:3:15: error: val() is only allowed on the right-hand side");
  cr_assert_eq(eval_with("- list: two\n  items: [a, b]\n", "ct.name = two"), -1);
  cr_assert(strstr(diags, "rules.yaml:5:25: error: list 'two' stands here for its 2 items"), "%s", diags);
}

Test(parse, falco_string_lexer)
{
  YES("ct.name = ''GetObject''");
  YES("ct.name = \"Get\\/Object\" or ct.name = GetObject");
  NO("ct.name = ''a\\''b''");                     /* one string: a'b */
  NO("ct.user = \"Bob\\ \"");                      /* "\ " is a backslash, as Falco reads it: Bob\ */
  YES("json.value[\"/userIdentity/type\"] = IAMUser");
  YES("json.value[''/userIdentity/\\/type''] exists or ct.name = GetObject");
  YES("ct.name existsand ct.name = GetObject");
  NO("ct.name exists and not ct.name = GetObject");
  BAD("ct.name existsx", "unexpected 'x'");
  BAD("ct.name containsx", "expected an operator");
  BAD("s3.bytes > 1e3", "unexpected 'e3'");
  /* An empty quoted argument is an empty string (read under ASan: it once was not terminated). */
  BAD("json.value[\"\"] = x", "field 'json.value' requires an argument");
  YES("ct.name != \"\"");
  BAD("s3.bytes > 1e+3", "'1e+3' is not an unsigned integer");
  YES("ct.name > 1e+3");
  YES("s3.bytes < 0x801");
}

Test(parse, nul_in_a_condition_is_an_error)
{
  const char y[] = "- rule: r\n  desc: d\n  condition: \"ct.name = \\\"a\\0b\\\"\"\n  output: o\n  priority: info\n";
  cr_assert_null(tu_compile(y, diags, sizeof diags));
  cr_assert(strstr(diags, "rules.yaml:3:14: error: NUL byte in the condition"), "%s", diags);
}

Test(parse, modifiers)
{
  YES("ct.name == oneof (GetObject, PutObject)");
  NO("ct.name == oneof (GetObject, GetObject)"); /* duplicates count */
  YES("ct.name == anyof (GetObject, GetObject)");
  NO("ct.name == allof ()");
  YES("ct.name regex oneof (Get.*, Put.*)");
  NO("ct.name regex oneof (Get.*, .*Object)");
  YES("ct.name regex allof (Get.*, .*Object)");
  NO("ct.name regex anyof (Put.*, .*Bucket)");
  YES("ct.name glob allof (Get*, *Object)");
  YES("s3.bytes == oneof (1, 2048)");
  NO("s3.bytes != allof (1, 2048)");
  YES("s3.bytes != allof (1, 0x801)");
  cr_assert_eq(eval_with("- list: names\n  items: [GetObject, PutObject]\n", "ct.name == oneof names"), 1, "%s", diags);
  cr_assert_eq(eval_with("- list: names\n  items: [PutObject]\n", "ct.name startswith anyof names"), 0, "%s", diags);
}

Test(parse, list_names_stand_for_values)
{
  const char *l1 = "- list: one\n  items: [GetObject]\n";
  const char *l2 = "- list: two\n  items: [PutObject, GetObject]\n";
  cr_assert_eq(eval_with(l1, "ct.name = one"), 1, "%s", diags);
  cr_assert_eq(eval_with(l1, "ct.name contains one"), 1, "%s", diags);
  cr_assert_eq(eval_with(l2, "ct.name in two"), 1, "%s", diags);
  cr_assert_eq(eval_with(l2, "ct.name in (two)"), 1, "%s", diags);
  cr_assert_eq(eval_with("- list: none\n  items: []\n", "ct.name = none"), -1);
  cr_assert(strstr(diags, "list 'none' stands here for its 0 items"), "%s", diags);
}

/* Deliberate difference (docs/compatibility.md): a list's items are values,
 * never re-read as condition text, and a list name inside a quoted string
 * or where a check stands is not replaced. */
Test(parse, list_items_are_values_not_text)
{
  cr_assert_eq(eval_with("- list: odd\n  items: ['Get,Object', 'a) or (b']\n", "ct.name in (odd)"), 0, "%s", diags);
  cr_assert_eq(eval_with("- list: odd\n  items: ['GetObject', 'a) or (b']\n", "ct.name in (odd)"), 1, "%s", diags);
  cr_assert_eq(eval_with("- list: odd\n  items: ['a\\\\b']\n- macro: m\n  condition: ct.name in (odd)\n",
                         "not m and ct.name = GetObject"), 1, "%s", diags);
  cr_assert_eq(eval_with("- list: Object\n  items: [x]\n", "ct.name = \"Get Object\" or ct.user = \"Bob\""), 1, "%s", diags);
  cr_assert(strstr(diags, "list not referred to"), "the list inside the string is not used: %s", diags);
  cr_assert_eq(eval_with("- list: l\n  items: [GetObject]\n", "l"), -1);
  cr_assert(strstr(diags, "'l' is a list, not a macro"), "%s", diags);
}

Test(parse, transformers_on_lists_and_multi_value)
{
  const char *ev2 = "{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"ec2.amazonaws.com\","
                    "\"eventName\":\"RunInstances\",\"awsRegion\":\"eu-west-1\",\"eventID\":\"1\","
                    "\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"Bob\"},"
                    "\"responseElements\":{\"instancesSet\":{\"items\":[{\"imageId\":\"AMI-1\"},{\"imageId\":\"ami-2\"}]}}}";
  char y[2048];
  snprintf(y, sizeof y, "- rule: r\n  desc: d\n  condition: tolower(ec2.imageids) in (ami-1, ami-2) and "
                        "join(\",\", toupper(ec2.imageids)) = \"AMI-1,AMI-2\" and len(ec2.imageids) = 2 and "
                        "concat(ct.user, \"-\", ct.name) = Bob-RunInstances and "
                        "getopt((\"-p\", \"8080\", \"-v\"), \"p:v\") intersects (v) and ct.user in val(ct.user) and "
                        "basename(ec2.imageids) intersects (AMI-1) and b64(ec2.imageids) exists\n"
                        "  output: o\n  priority: info\n");
  ctr_ruleset *rs = tu_compile(y, diags, sizeof diags);
  cr_assert(rs, "%s", diags);
  tu_matches m = {0};
  tu_scan(rs, ev2, strlen(ev2), 0, 0, &m);
  cr_assert_eq(m.count, 1);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
}

Test(parse, pmatch_wildcards)
{
  YES("s3.key pmatch (a/*)");
  YES("s3.key pmatch (a/?/c.txt)");
  YES("s3.key pmatch (a/[b]/*)");
  NO("s3.key pmatch (a/[!b]/*)");
  NO("s3.key pmatch (a/*/*/d)");
  YES("s3.key pmatch (x, */b)");
}
