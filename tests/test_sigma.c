/* test_sigma.c - Sigma detection rules through the public API: a Sigma
 * document given to ctr_compiler_add_string / add_file is a rule like any
 * other. Each feature of docs/sigma.md is checked on records that must and
 * must not match; each refusal at its file:line:column; and the SigmaHQ-style
 * rules of tests/sigma/ against their own records. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrule.h"
#include "testutil.h"

#define HEAD "title: T\nlogsource:\n  product: aws\n  service: cloudtrail\n"

/* A complete CloudTrail record; `rest` adds members (",\"k\":v"). */
#define REC_U(src, name, user, rest)                                                                            \
  "{\"eventVersion\":\"1.08\",\"eventTime\":\"2024-05-01T10:00:00Z\",\"awsRegion\":\"eu-west-1\","             \
  "\"eventID\":\"e-1\",\"eventType\":\"AwsApiCall\",\"sourceIPAddress\":\"203.0.113.9\","                    \
  "\"userAgent\":\"aws-cli/2.15\",\"eventSource\":\"" src "\",\"eventName\":\"" name "\",\"userIdentity\":" user \
  rest "}\n"
#define ALICE "{\"type\":\"IAMUser\",\"userName\":\"alice\",\"arn\":\"arn:aws:iam::111122223333:user/alice\",\"accountId\":\"111122223333\"}"
#define REC(src, name, rest) REC_U(src, name, ALICE, rest)

/* Compiles YAML (no built-in rules); NULL on failure. */
static ctr_ruleset *compile(const char *yaml)
{
  char diags[4096];
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert(rs != NULL, "did not compile:\n%s\n%s", yaml, diags);
  return rs;
}

/* Matches of the rules in `yaml` over `records`. */
static size_t hits(const char *yaml, const char *records)
{
  ctr_ruleset *rs = compile(yaml);
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, records, strlen(records), 0, 0, &m), CTR_OK);
  size_t n = m.count;
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
  return n;
}

/* A rule T whose detection is `det` (indented two spaces under detection:). */
static char *doc(const char *det)
{
  char *s;
  cr_assert(asprintf(&s, HEAD "detection:\n%s", det) > 0);
  return s;
}

static size_t dhits(const char *det, const char *records)
{
  char *d = doc(det);
  size_t n = hits(d, records);
  free(d);
  return n;
}

/* The first error of loading and compiling `yaml`: line, column, code and
 * message; the compiler must refuse it. */
typedef struct err_info {
  unsigned line, col;
  char code[64], msg[512];
} err_info;

static err_info first_error(const char *yaml)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  ctr_compiler_add_string(c, yaml, strlen(yaml), "s.yml");
  ctr_ruleset *rs = NULL;
  cr_assert_neq(ctr_compiler_compile(c, &rs), CTR_OK, "compiled, but should not:\n%s", yaml);
  err_info e = {0};
  for (size_t i = 0; i < ctr_compiler_diag_count(c); i++) {
    const ctr_diag *d = ctr_compiler_diag(c, i);
    if (ctr_diag_severity(d) != CTR_SEVERITY_ERROR)
      continue;
    cr_assert_str_eq(ctr_diag_file(d), "s.yml");
    e.line = ctr_diag_line(d);
    e.col = ctr_diag_column(d);
    snprintf(e.code, sizeof e.code, "%s", ctr_diag_code(d));
    snprintf(e.msg, sizeof e.msg, "%s", ctr_diag_message(d));
    break;
  }
  ctr_compiler_free(c);
  cr_assert(e.line > 0, "no positioned error for:\n%s", yaml);
  return e;
}

static err_info derror(const char *det)
{
  char *d = doc(det);
  err_info e = first_error(d);
  free(d);
  return e;
}

#define RDS "rds.amazonaws.com"

/* ------------------------------------------------------------ matching */

Test(sigma, default_matching_is_case_insensitive_and_exact)
{
  const char *det = "  sel:\n    eventName: modifydbinstance\n  condition: sel\n";
  cr_assert_eq(dhits(det, REC(RDS, "ModifyDBInstance", "")), 1);
  cr_assert_eq(dhits(det, REC(RDS, "ModifyDBInstances", "")), 0, "no implicit wildcard");
  cr_assert_eq(dhits("  sel:\n    eventName|cased: modifydbinstance\n  condition: sel\n", REC(RDS, "ModifyDBInstance", "")), 0);
  cr_assert_eq(dhits("  sel:\n    eventName|cased: ModifyDBInstance\n  condition: sel\n", REC(RDS, "ModifyDBInstance", "")), 1);
}

Test(sigma, wildcards_and_escapes)
{
  cr_assert_eq(dhits("  s:\n    eventName: Modify*Inst?nce\n  condition: s\n", REC(RDS, "ModifyDBInstance", "")), 1);
  cr_assert_eq(dhits("  s:\n    eventName: Modify*Inst?nce\n  condition: s\n", REC(RDS, "ModifyDBInstnce", "")), 0);
  /* \* is a star, \? a question mark, \\ a backslash; [ is no class */
  const char *star = "  s:\n    requestParameters.v: 'a\\*b'\n  condition: s\n";
  cr_assert_eq(dhits(star, REC(RDS, "X", ",\"requestParameters\":{\"v\":\"a*b\"}")), 1);
  cr_assert_eq(dhits(star, REC(RDS, "X", ",\"requestParameters\":{\"v\":\"axb\"}")), 0);
  const char *q = "  s:\n    requestParameters.v: 'a\\?'\n  condition: s\n";
  cr_assert_eq(dhits(q, REC(RDS, "X", ",\"requestParameters\":{\"v\":\"a?\"}")), 1);
  cr_assert_eq(dhits(q, REC(RDS, "X", ",\"requestParameters\":{\"v\":\"ab\"}")), 0);
  const char *bs = "  s:\n    requestParameters.v: 'c:\\\\*'\n  condition: s\n";
  cr_assert_eq(dhits(bs, REC(RDS, "X", ",\"requestParameters\":{\"v\":\"c:\\\\temp\"}")), 1);
  const char *lone = "  s:\n    requestParameters.v: 'c:\\temp'\n  condition: s\n"; /* a lone backslash is itself */
  cr_assert_eq(dhits(lone, REC(RDS, "X", ",\"requestParameters\":{\"v\":\"c:\\\\temp\"}")), 1);
  const char *cls = "  s:\n    requestParameters.v: '[ab]'\n  condition: s\n";
  cr_assert_eq(dhits(cls, REC(RDS, "X", ",\"requestParameters\":{\"v\":\"[ab]\"}")), 1);
  cr_assert_eq(dhits(cls, REC(RDS, "X", ",\"requestParameters\":{\"v\":\"a\"}")), 0);
}

Test(sigma, contains_startswith_endswith_all_and_lists)
{
  const char *rec = REC(RDS, "X", ",\"requestParameters\":{\"ua\":\"Boto3/1.34 S3 Browser 11\"}");
  cr_assert_eq(dhits("  s:\n    requestParameters.ua|contains: 's3 browser'\n  condition: s\n", rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.ua|startswith: boto3\n  condition: s\n", rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.ua|startswith: browser\n  condition: s\n", rec), 0);
  cr_assert_eq(dhits("  s:\n    requestParameters.ua|endswith: ' 11'\n  condition: s\n", rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.ua|contains:\n      - nothing\n      - browser\n  condition: s\n", rec), 1,
               "a list is any of its values");
  cr_assert_eq(dhits("  s:\n    requestParameters.ua|contains|all:\n      - boto3\n      - browser\n  condition: s\n", rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.ua|contains|all:\n      - boto3\n      - nothing\n  condition: s\n", rec), 0,
               "all: every value");
  cr_assert_eq(dhits("  s:\n    requestParameters.ua|contains|cased: 's3 browser'\n  condition: s\n", rec), 0);
  /* a list of maps: any map; a map: every field */
  const char *lm = "  s:\n    - eventName: A\n    - eventName: X\n      requestParameters.ua|contains: boto\n  condition: s\n";
  cr_assert_eq(dhits(lm, rec), 1);
  const char *lm2 = "  s:\n    - eventName: A\n    - eventName: X\n      requestParameters.ua|contains: nope\n  condition: s\n";
  cr_assert_eq(dhits(lm2, rec), 0);
}

Test(sigma, regular_expressions_search_with_flags)
{
  const char *rec = REC(RDS, "X", ",\"requestParameters\":{\"v\":\"line one\\nSecond Line\"}");
  cr_assert_eq(dhits("  s:\n    requestParameters.v|re: 'one'\n  condition: s\n", rec), 1, "a search, not a full match");
  cr_assert_eq(dhits("  s:\n    requestParameters.v|re: 'second'\n  condition: s\n", rec), 0, "case-sensitive by default");
  cr_assert_eq(dhits("  s:\n    requestParameters.v|re|i: 'second'\n  condition: s\n", rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.v|re: '^Second'\n  condition: s\n", rec), 0);
  cr_assert_eq(dhits("  s:\n    requestParameters.v|re|m: '^Second'\n  condition: s\n", rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.v|re: 'one.Second'\n  condition: s\n", rec), 0);
  cr_assert_eq(dhits("  s:\n    requestParameters.v|re|s: 'one.Second'\n  condition: s\n", rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.v|re: '\\Qe o'\n  condition: s\n", rec), 1, "an open \\Q stays inside");
  cr_assert_eq(dhits("  s:\n    requestParameters.v|re: 'Line$'\n  condition: s\n", rec), 1);
}

Test(sigma, cidr_ipv4_and_ipv6)
{
  const char *v4 = REC(RDS, "X", ",\"requestParameters\":{\"ip\":\"10.130.7.1\"}");
  cr_assert_eq(dhits("  s:\n    requestParameters.ip|cidr: 10.128.0.0/9\n  condition: s\n", v4), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.ip|cidr: 10.0.0.0/9\n  condition: s\n", v4), 0);
  cr_assert_eq(dhits("  s:\n    requestParameters.ip|cidr: 10.130.7.1/32\n  condition: s\n", v4), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.ip|cidr: 0.0.0.0/0\n  condition: s\n", v4), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.ip|cidr:\n      - 192.168.0.0/16\n      - 10.0.0.0/8\n  condition: s\n", v4), 1);
  const char *v6 = REC(RDS, "X", ",\"requestParameters\":{\"ip\":\"2001:db8::7\"}");
  cr_assert_eq(dhits("  s:\n    requestParameters.ip|cidr: '2001:db8::/32'\n  condition: s\n", v6), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.ip|cidr: '2001:db9::/33'\n  condition: s\n", v6), 0);
  cr_assert_eq(dhits("  s:\n    requestParameters.ip|cidr: 10.0.0.0/8\n  condition: s\n", v6), 0);
  const char *mapped = REC(RDS, "X", ",\"requestParameters\":{\"ip\":\"::ffff:10.1.2.3\"}");
  cr_assert_eq(dhits("  s:\n    requestParameters.ip|cidr: 10.0.0.0/8\n  condition: s\n", mapped), 0, "IPv4-mapped is IPv6");
  cr_assert_eq(dhits("  s:\n    requestParameters.ip|cidr: '::ffff:10.0.0.0/104'\n  condition: s\n", mapped), 1);
  cr_assert_eq(dhits("  s:\n    RequestParameters.ip|cidr: 10.0.0.0/8\n  condition: s\n", v4), 0, "keys are case-sensitive");
  const char *name = REC(RDS, "X", ",\"requestParameters\":{\"ip\":\"example.com\"}");
  cr_assert_eq(dhits("  s:\n    requestParameters.ip|cidr: 0.0.0.0/0\n  condition: s\n", name), 0, "not an address");
}

Test(sigma, exists_and_null)
{
  const char *with = REC(RDS, "X", ",\"errorCode\":\"AccessDenied\"");
  const char *without = REC(RDS, "X", "");
  const char *jnull = REC(RDS, "X", ",\"errorCode\":null");
  cr_assert_eq(dhits("  s:\n    errorCode|exists: true\n  condition: s\n", with), 1);
  cr_assert_eq(dhits("  s:\n    errorCode|exists: true\n  condition: s\n", without), 0);
  cr_assert_eq(dhits("  s:\n    errorCode|exists: false\n  condition: s\n", without), 1);
  cr_assert_eq(dhits("  s:\n    errorCode|exists: true\n  condition: s\n", jnull), 0, "JSON null is no value");
  cr_assert_eq(dhits("  s:\n    errorCode: null\n  condition: s\n", without), 1);
  cr_assert_eq(dhits("  s:\n    errorCode: null\n  condition: s\n", jnull), 1);
  cr_assert_eq(dhits("  s:\n    errorCode: null\n  condition: s\n", with), 0);
  cr_assert_eq(dhits("  s:\n    errorCode: 'null'\n  condition: s\n", jnull), 0, "the string 'null' is not null");
  cr_assert_eq(dhits("  s:\n    errorCode: ''\n  condition: s\n", REC(RDS, "X", ",\"errorCode\":\"\"")), 1);
  cr_assert_eq(dhits("  s:\n    errorCode: ''\n  condition: s\n", without), 0);
}

Test(sigma, fieldref)
{
  const char *same = REC(RDS, "X", ",\"requestParameters\":{\"a\":\"Alice\",\"b\":\"alice\"}");
  const char *other = REC(RDS, "X", ",\"requestParameters\":{\"a\":\"Alice\",\"b\":\"bob\"}");
  cr_assert_eq(dhits("  s:\n    requestParameters.a|fieldref: requestParameters.b\n  condition: s\n", same), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.a|fieldref: requestParameters.b\n  condition: s\n", other), 0);
  cr_assert_eq(dhits("  s:\n    requestParameters.a|fieldref|cased: requestParameters.b\n  condition: s\n", same), 0);
  cr_assert_eq(dhits("  s:\n    userIdentity.userName|fieldref: requestParameters.b\n  condition: s\n", same), 1);
}

Test(sigma, base64_and_base64offset)
{
  /* "secret" is c2VjcmV0; inside "my secret!" at offsets 0, 1, 2 */
  const char *rec = REC(RDS, "X", ",\"requestParameters\":{\"d\":\"c2VjcmV0\",\"e\":\"xxbXkgc2VjcmV0IQ==\"}");
  cr_assert_eq(dhits("  s:\n    requestParameters.d|base64: secret\n  condition: s\n", rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.d|base64: SECRET\n  condition: s\n", rec), 0, "base64 is cased");
  /* base64("my secret!") = bXkgc2VjcmV0IQ==; "secret" at offset 3 -> the 0 variant */
  cr_assert_eq(dhits("  s:\n    requestParameters.e|base64offset|contains: secret\n  condition: s\n", rec), 1);
  const char *rec1 = REC(RDS, "X", ",\"requestParameters\":{\"e\":\"IHNlY3JldA==\"}"); /* " secret" */
  cr_assert_eq(dhits("  s:\n    requestParameters.e|base64offset|contains: secret\n  condition: s\n", rec1), 1);
  const char *rec2 = REC(RDS, "X", ",\"requestParameters\":{\"e\":\"eHhzZWNyZXQ=\"}"); /* "xxsecret" */
  cr_assert_eq(dhits("  s:\n    requestParameters.e|base64offset|contains: secret\n  condition: s\n", rec2), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.e|base64offset|contains: public\n  condition: s\n", rec2), 0);
}

Test(sigma, expand_placeholders_are_falco_lists)
{
  /* the list is defined first (here a YAML document of its own), and a later
   * append to it still counts: lists are substituted when the rule compiles */
  const char *y = "- list: admins\n  items: [alice, root]\n---\n" HEAD
                  "detection:\n  s:\n    userIdentity.userName|expand: '%admins%'\n  condition: s\n---\n"
                  "- list: admins\n  items: [carol]\n  append: true\n";
  const char *recs = REC(RDS, "X", "") REC_U(RDS, "X", "{\"type\":\"IAMUser\",\"userName\":\"bob\"}", "")
    REC_U(RDS, "X", "{\"type\":\"IAMUser\",\"userName\":\"carol\"}", "")
    REC_U(RDS, "X", "{\"type\":\"IAMUser\",\"userName\":\"ALICE\"}", "");
  cr_assert_eq(hits(y, recs), 2, "alice and carol, exactly");
}

/* ------------------------------------------------------------ data model */

Test(sigma, arrays_are_crossed_at_every_level)
{
  const char *rec = REC("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
                        ",\"requestParameters\":{\"ipPermissions\":{\"items\":[{\"ipRanges\":{\"items\":[{\"cidrIp\":\"10.0.0.0/8\"}]}},"
                        "{\"ipRanges\":{\"items\":[{\"cidrIp\":\"192.0.2.0/24\"},{\"cidrIp\":\"0.0.0.0/0\"}]}}]}}");
  const char *det = "  s:\n    requestParameters.ipPermissions.items.ipRanges.items.cidrIp: 0.0.0.0/0\n  condition: s\n";
  cr_assert_eq(dhits(det, rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.ipPermissions.items.ipRanges.items.cidrIp: 1.1.1.1/32\n  condition: s\n", rec), 0);
  /* a leaf array: any element */
  const char *vals = REC(RDS, "ModifyDBSnapshotAttribute",
                         ",\"requestParameters\":{\"valuesToAdd\":[\"444455556666\",\"all\"]}");
  cr_assert_eq(dhits("  s:\n    requestParameters.valuesToAdd: all\n  condition: s\n", vals), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.valuesToAdd|contains: 5555\n  condition: s\n", vals), 1);
}

Test(sigma, objects_booleans_numbers_as_json_text)
{
  const char *rec = REC(RDS, "ModifyDBInstance",
                        ",\"requestParameters\":{\"publiclyAccessible\":true,\"port\":5432,\"tags\":{\"k\":\"v\"}}");
  cr_assert_eq(dhits("  s:\n    requestParameters.publiclyAccessible: true\n  condition: s\n", rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.publiclyAccessible: 'true'\n  condition: s\n", rec), 1, "'true' equals true");
  cr_assert_eq(dhits("  s:\n    requestParameters.publiclyAccessible: false\n  condition: s\n", rec), 0);
  cr_assert_eq(dhits("  s:\n    requestParameters.port: 5432\n  condition: s\n", rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.port: '5432'\n  condition: s\n", rec), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters.tags: '{\"k\":\"v\"}'\n  condition: s\n", rec), 1, "compact JSON");
  cr_assert_eq(dhits("  s:\n    requestParameters|contains: '\"port\":5432'\n  condition: s\n", rec), 1);
  /* a string holding JSON is searched as its text; inside the object's JSON
   * text its quotes are escaped (docs/sigma.md) */
  const char *pol = REC("iam.amazonaws.com", "PutUserPolicy",
                        ",\"requestParameters\":{\"policyDocument\":\"{\\\"Effect\\\":\\\"Allow\\\"}\"}");
  cr_assert_eq(dhits("  s:\n    requestParameters.policyDocument|contains: '\"Allow\"'\n  condition: s\n", pol), 1);
  cr_assert_eq(dhits("  s:\n    requestParameters|contains: '\"Allow\"'\n  condition: s\n", pol), 0);
  cr_assert_eq(dhits("  s:\n    requestParameters|contains: '\\\\\"Allow\\\\\"'\n  condition: s\n", pol), 1);
}

/* ------------------------------------------------------------ condition */

Test(sigma, condition_grammar)
{
  const char *rec = REC(RDS, "DeleteDBCluster", ",\"errorCode\":\"AccessDenied\"");
  const char *sels = "  sel_a:\n    eventName: DeleteDBCluster\n  sel_b:\n    eventName: DeleteDBInstance\n"
                     "  _filter:\n    errorCode: AccessDenied\n";
  char det[1024];
#define COND(c) (snprintf(det, sizeof det, "%s  condition: %s\n", sels, c), det)
  cr_assert_eq(dhits(COND("1 of sel_*"), rec), 1);
  cr_assert_eq(dhits(COND("any of sel_*"), rec), 1);
  cr_assert_eq(dhits(COND("all of sel_*"), rec), 0);
  cr_assert_eq(dhits(COND("1 of them"), rec), 1);
  cr_assert_eq(dhits(COND("all of them"), rec), 0);
  cr_assert_eq(dhits(COND("1 of them and not _filter"), rec), 0, "them leaves out names starting with _");
  cr_assert_eq(dhits(COND("sel_b or sel_a and not _filter"), rec), 0, "and binds tighter than or");
  cr_assert_eq(dhits(COND("(sel_b or sel_a) and _filter"), rec), 1);
  cr_assert_eq(dhits(COND("not sel_b and not not sel_a"), rec), 1);
  cr_assert_eq(dhits(COND("sel_a AND NOT sel_b"), rec), 1);
  cr_assert_eq(dhits(COND("all of sel_a*"), rec), 1);
  cr_assert_eq(dhits(COND("1 of *_b"), rec), 0);
  /* an older list of conditions: any of them */
  snprintf(det, sizeof det, "%s  condition:\n    - sel_b\n    - sel_a\n", sels);
  cr_assert_eq(dhits(det, rec), 1);
#undef COND
}

/* ------------------------------------------------------------ the rule */

Test(sigma, rule_metadata_priority_tags_output)
{
  const char *y = "title: Snapshot Shared\nid: 0c0ffee0-0000-4000-8000-000000000001\n"
                  "description: An RDS snapshot was shared.\nlevel: high\n"
                  "tags:\n  - attack.exfiltration\n  - attack.t1537\n"
                  "logsource:\n  product: aws\n  service: cloudtrail\n"
                  "fields:\n  - requestParameters.valuesToAdd\n"
                  "detection:\n  s:\n    eventName: ModifyDBSnapshotAttribute\n  condition: s\n";
  ctr_ruleset *rs = compile(y);
  cr_assert_eq(ctr_ruleset_rule_count(rs), 1);
  cr_assert_str_eq(ctr_ruleset_rule_name(rs, 0), "Snapshot Shared");
  cr_assert_str_eq(ctr_ruleset_rule_desc(rs, 0), "An RDS snapshot was shared.");
  cr_assert_eq(ctr_ruleset_rule_priority(rs, 0), CTR_PRIORITY_ERROR);
  cr_assert_eq(ctr_ruleset_rule_tag_count(rs, 0), 4);
  cr_assert_str_eq(ctr_ruleset_rule_tag(rs, 0, 0), "attack.exfiltration");
  cr_assert_str_eq(ctr_ruleset_rule_tag(rs, 0, 2), "sigma");
  cr_assert_str_eq(ctr_ruleset_rule_tag(rs, 0, 3), "sigma.id:0c0ffee0-0000-4000-8000-000000000001");
  const char *rec = REC(RDS, "ModifyDBSnapshotAttribute", ",\"requestParameters\":{\"valuesToAdd\":[\"444455556666\"]}");
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, rec, strlen(rec), 0, 0, &m), CTR_OK);
  cr_assert_eq(m.count, 1);
  /* who, what, which, where */
  cr_assert(strstr(m.text, "ModifyDBSnapshotAttribute on rds.amazonaws.com (user=alice "
                           "arn=arn:aws:iam::111122223333:user/alice account=111122223333") != NULL, "%s", m.text);
  cr_assert(strstr(m.text, "region=eu-west-1 ip=203.0.113.9") != NULL, "%s", m.text);
  cr_assert(strstr(m.text, "requestParameters.valuesToAdd=444455556666") != NULL, "%s", m.text);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
  /* levels */
  static const struct { const char *level; int prio; } lv[] = {
    {"informational", CTR_PRIORITY_INFORMATIONAL}, {"low", CTR_PRIORITY_NOTICE}, {"medium", CTR_PRIORITY_WARNING},
    {"high", CTR_PRIORITY_ERROR}, {"critical", CTR_PRIORITY_CRITICAL}};
  for (size_t i = 0; i < sizeof lv / sizeof lv[0]; i++) {
    char buf[512];
    snprintf(buf, sizeof buf, HEAD "level: %s\ndetection:\n  s:\n    eventName: A\n  condition: s\n", lv[i].level);
    rs = compile(buf);
    cr_assert_eq(ctr_ruleset_rule_priority(rs, 0), lv[i].prio, "%s", lv[i].level);
    ctr_ruleset_unref(rs);
  }
}

Test(sigma, defaults_selection_by_tag_and_logsource_case)
{
  const char *y = "title: T\nlogsource:\n  product: AWS\n  service: CloudTrail\n"
                  "detection:\n  s:\n    eventName: A\n  condition: s\n";
  ctr_ruleset *rs = compile(y);
  cr_assert_eq(ctr_ruleset_rule_priority(rs, 0), CTR_PRIORITY_WARNING, "no level: Warning");
  cr_assert_str_eq(ctr_ruleset_rule_desc(rs, 0), "T", "no description: the title");
  ctr_ruleset_unref(rs);
  /* the sigma tag selects every Sigma rule */
  const char *falco = "- rule: F\n  desc: d\n  condition: ct.name = A\n  output: o\n  priority: info\n";
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, falco, strlen(falco), "f.yaml"), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, y, strlen(y), "s.yml"), CTR_OK);
  cr_assert_eq(ctr_compiler_select_tag(c, "sigma", 0), CTR_OK);
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  ctr_compiler_free(c);
  cr_assert_eq(ctr_ruleset_rule_count(rs), 2);
  cr_assert_eq(ctr_ruleset_enabled_count(rs), 1);
  cr_assert_str_eq(ctr_ruleset_rule_name(rs, 0), "F");
  cr_assert(ctr_ruleset_rule_enabled(rs, 0) && !ctr_ruleset_rule_enabled(rs, 1));
  ctr_ruleset_unref(rs);
}

Test(sigma, the_condition_byte_limit_applies_to_the_translation)
{
  char *d = doc("  s:\n    eventName:\n      - AAAAAAAAAAAAAAAAAAAA\n      - BBBBBBBBBBBBBBBBBBBB\n  condition: s or s or s\n");
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_set_limit(c, CTR_LIMIT_CONDITION_BYTES, 200), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, d, strlen(d), "s.yml"), CTR_ESYNTAX);
  const ctr_diag *e = ctr_compiler_diag(c, 0);
  cr_assert_eq(ctr_diag_line(e), 10);
  cr_assert_eq(ctr_diag_column(e), 14);
  cr_assert(strstr(ctr_diag_message(e), "condition_bytes") != NULL, "%s", ctr_diag_message(e));
  ctr_compiler_free(c);
  free(d);
}

Test(sigma, several_documents_and_falco_tuning_by_title)
{
  const char *y = HEAD "detection:\n  s:\n    eventName: DeleteDBInstance\n  condition: s\n---\n"
                  "title: U\nlogsource:\n  product: aws\n  service: cloudtrail\n"
                  "detection:\n  s:\n    eventName: DeleteDBCluster\n  condition: s\n";
  const char *recs = REC(RDS, "DeleteDBInstance", "") REC(RDS, "DeleteDBCluster", "")
    REC_U(RDS, "DeleteDBCluster", "{\"type\":\"IAMUser\",\"userName\":\"ci\",\"accountId\":\"1\"}", "");
  cr_assert_eq(hits(y, recs), 3);
  /* a Falco file after the Sigma file tunes the Sigma rule by its title */
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, y, strlen(y), "s.yml"), CTR_OK);
  const char *tune = "- rule: U\n  exceptions:\n    - name: ci\n      fields: ct.user\n      values: [ci]\n  override:\n    exceptions: append\n";
  cr_assert_eq(ctr_compiler_add_string(c, tune, strlen(tune), "tune.yaml"), CTR_OK);
  ctr_ruleset *rs;
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  ctr_compiler_free(c);
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, recs, strlen(recs), 7, 0, &m), CTR_OK);
  cr_assert_eq(m.count, 2, "%s", m.text);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
}

Test(sigma, add_file_and_cased_event_name_is_keyed)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_file(c, tu_tests("sigma/cased_event_name.yml")), CTR_OK);
  ctr_ruleset *rs;
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  ctr_compiler_free(c);
  /* eventName|cased without wildcards is ct.name = ...: the eventName index
   * and the prefilter apply to it as to a Falco rule */
  cr_assert(strstr(ctr_ruleset_rule_condition(rs, 0), "ct.name = \"StopDBInstance\"") != NULL, "%s",
            ctr_ruleset_rule_condition(rs, 0));
  const char *recs = REC(RDS, "StopDBInstance", "") REC(RDS, "stopdbinstance", "") REC(RDS, "StartDBInstance", "");
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, recs, strlen(recs), 0, 0, &m), CTR_OK);
  cr_assert_eq(m.count, 1, "%s", m.text);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
}

/* ------------------------------------------------------------ refusals */

#define AT(e, l, c, codestr, needle)                                                                        \
  do {                                                                                                      \
    err_info e_ = (e);                                                                                      \
    cr_assert_eq(e_.line, (l), "line %u, want %u: %s", e_.line, (unsigned)(l), e_.msg);                    \
    cr_assert_eq(e_.col, (c), "column %u, want %u: %s", e_.col, (unsigned)(c), e_.msg);                    \
    cr_assert_str_eq(e_.code, codestr, "%s", e_.msg);                                                      \
    cr_assert(strstr(e_.msg, needle) != NULL, "'%s' not in '%s'", needle, e_.msg);                         \
  } while (0)

#define UNSUP "LOAD_ERR_SIGMA_UNSUPPORTED"
#define INVAL "LOAD_ERR_SIGMA"

Test(sigma, refusals_are_positioned)
{
  /* line 6 is "  s:", line 7 its first field */
  AT(derror("  s:\n    eventName|expand: '%x%'\n  condition: s\n"), 7, 25, INVAL, "define the Falco list 'x'");
  AT(derror("  s:\n    eventName|expand: 'a%x%'\n  condition: s\n"), 7, 24, UNSUP, "one placeholder");
  AT(derror("  s:\n    eventName|expand|contains: '%x%'\n  condition: s\n"), 7, 5, UNSUP, "'expand' is supported alone");
  AT(derror("  s:\n    eventName|windash: x\n  condition: s\n"), 7, 15, UNSUP, "windash");
  AT(derror("  s:\n    eventName|gte: 3\n  condition: s\n"), 7, 15, UNSUP, "gte");
  AT(derror("  s:\n    eventName|bogus: 3\n  condition: s\n"), 7, 15, INVAL, "unknown modifier 'bogus'");
  AT(derror("  s:\n    eventName|contains|startswith: x\n  condition: s\n"), 7, 24, INVAL, "cannot be combined");
  AT(derror("  s:\n    eventName|i: x\n  condition: s\n"), 7, 15, INVAL, "must follow 're'");
  AT(derror("  s:\n    eventName: x\n  condition: s | count() > 5\n"), 8, 16, UNSUP, "aggregation");
  AT(derror("  s:\n    eventName: x\n  condition: s and nope\n"), 8, 20, INVAL, "no selection named 'nope'");
  AT(derror("  s:\n    eventName: x\n  condition: 1 of t*\n"), 8, 19, INVAL, "no selection matches 't*'");
  AT(derror("  s:\n    eventName: x\n  condition: (s or s\n"), 8, 14, INVAL, "unclosed '('");
  AT(derror("  s:\n    eventName: x\n  condition: s s\n"), 8, 16, INVAL, "unexpected 's'");
  AT(derror("  s:\n    eventName: x\n  condition: s and\n"), 8, 19, INVAL, "condition ends");
  AT(derror("  s:\n    - keyword\n  condition: s\n"), 7, 7, UNSUP, "keyword");
  AT(derror("  s:\n    '|contains': x\n  condition: s\n"), 7, 6, UNSUP, "keyword");
  AT(derror("  s:\n    eventName|re: 'a(b'\n  condition: s\n"), 7, 23, INVAL, "invalid regular expression");
  AT(derror("  s:\n    eventName|re: '(?x)a # c'\n  condition: s\n"), 7, 20, UNSUP, "extended");
  AT(derror("  s:\n    eventName|re: '(*UTF)a'\n  condition: s\n"), 7, 20, UNSUP, "(*VERB)");
  AT(derror("  s:\n    sourceIPAddress|cidr: 10.0.0.0/33\n  condition: s\n"), 7, 36, INVAL, "prefix length");
  AT(derror("  s:\n    sourceIPAddress|cidr: 10.0.0/8\n  condition: s\n"), 7, 27, INVAL, "not a CIDR block");
  AT(derror("  s:\n    eventName|exists: maybe\n  condition: s\n"), 7, 23, INVAL, "true or false");
  AT(derror("  s:\n    eventName|contains: null\n  condition: s\n"), 7, 25, INVAL, "null");
  AT(derror("  s:\n    eventName|base64: 'a*'\n  condition: s\n"), 7, 24, INVAL, "wildcards");
  AT(derror("  s:\n    eventName: []\n  condition: s\n"), 7, 16, INVAL, "empty");
  AT(derror("  s:\n    'a b': x\n  condition: s\n"), 7, 6, UNSUP, "dotted path");
  AT(derror("  s:\n    eventName: x\n  timeframe: 5m\n  condition: s\n"), 8, 14, UNSUP, "timeframe");
  AT(derror("  s:\n    eventName: x\n"), 6, 3, INVAL, "no condition");
  /* the document */
  AT(first_error("title: T\nlogsource:\n  product: windows\n  service: security\n"
                 "detection:\n  s:\n    EventID: 1\n  condition: s\n"), 3, 12, UNSUP, "product 'windows'");
  AT(first_error("title: T\nlogsource:\n  product: aws\n  service: guardduty\n"
                 "detection:\n  s:\n    x: 1\n  condition: s\n"), 4, 12, UNSUP, "service 'guardduty'");
  AT(first_error("title: T\nlogsource:\n  category: process_creation\n  product: aws\n"
                 "detection:\n  s:\n    x: 1\n  condition: s\n"), 3, 13, UNSUP, "category");
  AT(first_error("logsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  s:\n    x: 1\n  condition: s\n"), 1, 1,
     INVAL, "title");
  AT(first_error(HEAD "level: severe\ndetection:\n  s:\n    x: 1\n  condition: s\n"), 5, 8, INVAL, "level 'severe'");
  AT(first_error("title: C\ncorrelation:\n  type: event_count\n  rules: [a]\n"), 4, 11, INVAL, "'a' names no rule");
  AT(first_error("title: G\naction: global\nlogsource:\n  product: aws\n"), 2, 9, UNSUP, "collections");
  AT(first_error(HEAD "detection:\n  s:\n    x: 1\n  condition: s\n---\n" HEAD "detection:\n  s:\n    x: 2\n  condition: s\n"),
     10, 8, INVAL, "already defined at s.yml:1:8");
}

/* A base Sigma rule (title B, id b-id, name b_name), a Falco rule F, then
 * the correlation document C whose `correlation:` map is `corr` (from line
 * 14; its first entry is on line 15). */
#define CORR_BASE                                                                                          \
  "- rule: F\n  desc: f\n  condition: ct.name = X\n  output: f\n  priority: NOTICE\n"                     \
  "---\ntitle: B\nid: b-id\nname: b_name\nlogsource:\n  product: aws\n  service: cloudtrail\n"            \
  "detection:\n  s:\n    eventName: DeleteDBInstance\n  condition: s\n---\ntitle: C\ncorrelation:\n"
#define CORR(corr) first_error(CORR_BASE corr)

/* Compiles and counts the rules (the correlation is one). */
static size_t rule_count(const char *yaml)
{
  ctr_ruleset *rs = compile(yaml);
  size_t n = ctr_ruleset_rule_count(rs);
  ctr_ruleset_unref(rs);
  return n;
}

Test(sigma, correlation_documents_are_checked)
{
  /* well formed: a rule of the ruleset, whatever the type (test_correlate.c: what they do) */
  cr_assert_eq(rule_count(CORR_BASE "  type: event_count\n  rules: [B]\n  group-by: [userIdentity.arn]\n"
                                    "  timespan: 5m\n  condition:\n    gte: 3\n"), 3);
  cr_assert_eq(rule_count(CORR_BASE "  type: value_count\n  rules: b-id\n  timespan: 1h\n  condition:\n"
                                    "    field: requestParameters.x\n    gt: 2\n"), 3);
  cr_assert_eq(rule_count(CORR_BASE "  type: temporal\n  rules: [b_name, F]\n  group-by: [userIdentity.arn]\n"
                                    "  timespan: 1h\n"), 3);
  cr_assert_eq(rule_count(CORR_BASE "  type: temporal_ordered\n  rules: [F, B]\n  timespan: 2d\n  generate: true\n"), 3);
  /* upper bounds load (test_correlate_bounds.c: what they do); a condition no window can meet is an
   * error at the comparison that makes it so (a window holds at least one event) */
  cr_assert_eq(rule_count(CORR_BASE "  type: event_count\n  rules: [B]\n  timespan: 5m\n  condition:\n"
                                    "    gte: 3\n    lt: 10\n    neq: 5\n"), 3);
  AT(CORR("  type: event_count\n  rules: [B]\n  group-by: [userIdentity.arn]\n  timespan: 5m\n"
          "  condition:\n    gte: 3\n    lt: 3\n"),
     26, 5, INVAL, "the condition 'gte 3 and lt 3' can never hold");
  AT(CORR("  type: event_count\n  rules: [B]\n  timespan: 5m\n  condition:\n    eq: 0\n"), 24, 5, INVAL, "never");
  AT(CORR("  type: value_count\n  rules: [B]\n  timespan: 5m\n  condition:\n    field: a\n    lt: 1\n"), 25, 5, INVAL,
     "never");
  AT(CORR("  type: event_count\n  rules: [B]\n  timespan: 5m\n  condition:\n    eq: 1\n    neq: 1\n"), 25, 5, INVAL,
     "never");
  AT(CORR("  type: temporal\n  rules: [B]\n  timespan: 5m\n  condition:\n    gte: 2\n"), 23, 3, UNSUP,
     "takes no condition");
  /* the title names one rule only */
  AT(CORR("  type: temporal\n  rules: [B]\n  timespan: 5m\n---\n- rule: C\n  desc: c\n  condition: ct.name = Y\n"
          "  output: c\n  priority: NOTICE\n"),
     18, 8, INVAL, "a rule named 'C' is already defined");
  AT(first_error(CORR_BASE "  type: temporal\n  rules: [B]\n  timespan: 5m\n---\ntitle: C\ncorrelation:\n"
                           "  type: temporal\n  rules: [B]\n  timespan: 5m\n"),
     24, 8, INVAL, "a correlation named 'C' is already defined at s.yml:18:8");
  /* each mistake where it lies */
  AT(CORR("  type: event_cnt\n  rules: [B]\n  timespan: 5m\n"), 20, 9, INVAL, "type 'event_cnt'");
  AT(CORR("  rules: [B]\n  timespan: 5m\n"), 19, 1, INVAL, "type '(none)'");
  AT(CORR("  type: temporal\n  timespan: 5m\n"), 19, 1, INVAL, "needs 'rules'");
  AT(CORR("  type: temporal\n  rules: [B, Nope]\n  timespan: 5m\n"), 21, 14, INVAL, "'Nope' names no rule");
  AT(CORR("  type: temporal\n  rules: [B]\n  group-by: ['a b']\n  timespan: 5m\n"), 22, 15, UNSUP, "group-by");
  AT(CORR("  type: temporal\n  rules: [B]\n  timespan: 5 minutes\n"), 22, 13, INVAL, "timespan");
  AT(CORR("  type: temporal\n  rules: [B]\n  timespan: 0s\n"), 22, 13, INVAL, "timespan");
  AT(CORR("  type: temporal\n  rules: [B]\n"), 19, 1, INVAL, "timespan");
  AT(CORR("  type: event_count\n  rules: [B]\n  timespan: 5m\n"), 20, 9, INVAL, "'condition' map");
  AT(CORR("  type: event_count\n  rules: [B]\n  timespan: 5m\n  condition:\n    gte: many\n"), 24, 10, INVAL,
     "whole number");
  AT(CORR("  type: event_count\n  rules: [B]\n  timespan: 5m\n  condition:\n    above: 3\n"), 24, 5, INVAL,
     "'above' is not a correlation condition");
  AT(CORR("  type: event_count\n  rules: [B]\n  timespan: 5m\n  condition:\n    field: x\n    gt: 3\n"), 24, 5, INVAL,
     "value_count");
  AT(CORR("  type: value_count\n  rules: [B]\n  timespan: 5m\n  condition:\n    gt: 3\n"), 23, 3, INVAL,
     "counted 'field'");
  AT(CORR("  type: temporal\n  rules: [B]\n  timespan: 5m\n  generate: maybe\n"), 23, 13, INVAL, "true or false");
  AT(CORR("  type: temporal\n  rules: [B]\n  timespan: 5m\n  window: sliding\n"), 23, 3, UNSUP, "'window'");
  AT(CORR("  type: temporal\n  rules: [B]\n  timespan: 5m\n  aliases:\n    u:\n      B: userIdentity.arn\n"), 23, 3,
     UNSUP, "aliases");
  AT(first_error(CORR_BASE "  - type: temporal\n"), 20, 3, INVAL, "must be a map");
  AT(first_error("title: C\nlevel: severe\ncorrelation:\n  type: temporal\n  rules: [a]\n  timespan: 1h\n"), 2, 8, INVAL,
     "level 'severe'");
  /* a rule defined after the correlation is not in scope */
  AT(first_error("title: C\ncorrelation:\n  type: temporal\n  rules: [F]\n  timespan: 1h\n---\n"
                 "- rule: F\n  desc: f\n  condition: ct.name = X\n  output: f\n  priority: NOTICE\n"),
     4, 11, INVAL, "'F' names no rule defined before");
}

Test(sigma, a_sigma_name_is_a_tag)
{
  ctr_ruleset *rs = compile(HEAD "id: i-1\nname: my_rule\ndetection:\n  s:\n    eventName: A\n  condition: s\n");
  cr_assert_eq(ctr_ruleset_rule_tag_count(rs, 0), 3);
  cr_assert_str_eq(ctr_ruleset_rule_tag(rs, 0, 1), "sigma.id:i-1");
  cr_assert_str_eq(ctr_ruleset_rule_tag(rs, 0, 2), "sigma.name:my_rule");
  ctr_ruleset_unref(rs);
}

Test(sigma, a_refused_document_adds_no_rule)
{
  /* the first document loads; the second is refused whole, not in part */
  const char *y = HEAD "detection:\n  s:\n    eventName: A\n  condition: s\n---\n"
                  "title: V\nlogsource:\n  product: aws\n  service: cloudtrail\n"
                  "detection:\n  s:\n    eventName: A\n  t:\n    eventName|lte: 4\n  condition: s or t\n";
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, y, strlen(y), "s.yml"), CTR_ESYNTAX);
  ctr_ruleset *rs = NULL;
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_ESYNTAX);
  cr_assert_null(rs);
  ctr_compiler_free(c);
}

/* ------------------------------------------------------------ SigmaHQ-style rules
 * tests/sigma/sigmahq/NAME.yml with NAME.match.json (every record must
 * match, once) and NAME.nomatch.json (none may). */

static size_t count_lines(const char *s)
{
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

Test(sigma, sigmahq_rules_behave_as_their_detection_says)
{
  DIR *d = opendir(tu_tests("sigma/sigmahq"));
  cr_assert(d != NULL);
  size_t rules = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".yml") != 0)
      continue;
    char base[512], path[600];
    snprintf(base, sizeof base, "sigma/sigmahq/%.*s", (int)(n - 4), e->d_name);
    ctr_compiler *c;
    cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
    snprintf(path, sizeof path, "%s.yml", base);
    int rc = ctr_compiler_add_file(c, tu_tests(path));
    ctr_ruleset *rs = NULL;
    if (rc == CTR_OK)
      rc = ctr_compiler_compile(c, &rs);
    cr_assert_eq(rc, CTR_OK, "%s: %s", path,
                 ctr_compiler_diag_count(c) ? ctr_diag_text(ctr_compiler_diag(c, 0)) : "?");
    cr_assert_eq(ctr_compiler_diag_count(c), 0, "%s: %s", path, ctr_diag_text(ctr_compiler_diag(c, 0)));
    ctr_compiler_free(c);
    static const char *const kinds[] = {"match", "nomatch"};
    for (int k = 0; k < 2; k++) {
      snprintf(path, sizeof path, "%s.%s.json", base, kinds[k]);
      size_t len;
      char *recs = tu_read(tu_tests(path), &len);
      size_t want = k == 0 ? count_lines(recs) : 0;
      cr_assert(k == 1 || want > 0, "%s has no record", path);
      tu_matches m = {0};
      cr_assert_eq(tu_scan(rs, recs, len, 0, 0, &m), CTR_OK);
      cr_assert_eq(m.count, want, "%s: %zu matches, want %zu:\n%s", path, m.count, want, m.text);
      tu_matches_free(&m);
      free(recs);
    }
    ctr_ruleset_unref(rs);
    rules++;
  }
  closedir(d);
  cr_assert_geq(rules, 27, "only %zu rules", rules);
}

/* ------------------------------------------------------------ the fields */

Test(sigma, json_values_and_json_ip_in_falco_rules)
{
  const char *y = "- rule: V\n  desc: d\n  condition: json.values[requestParameters.items.id] = b\n"
                  "  output: ids=%json.values[requestParameters.items.id] n=%json.values[requestParameters.none]\n"
                  "  priority: info\n"
                  "- rule: I\n  desc: d\n  condition: json.ip[requestParameters.items.ip] glob \"4:c0a8*\"\n"
                  "  output: ip=%json.ip[requestParameters.items.ip]\n  priority: info\n";
  const char *rec = REC(RDS, "X", ",\"requestParameters\":{\"items\":[{\"id\":\"a\",\"ip\":\"192.168.1.1\"},"
                                  "{\"id\":\"b\",\"ip\":\"not an ip\"},{\"id\":null},{\"id\":[\"c\",7]}]}");
  ctr_ruleset *rs = compile(y);
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, rec, strlen(rec), 0, 0, &m), CTR_OK);
  cr_assert_eq(m.count, 2, "%s", m.text);
  cr_assert(strstr(m.text, "V\tids=(a,b,c,7) n=<NA>") != NULL, "%s", m.text);
  cr_assert(strstr(m.text, "I\tip=4:c0a80101") != NULL, "%s", m.text);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
}

/* A NUL in a value ("\0" in YAML) is neither a timespan's unit nor a byte of
 * a field's path (strchr on a set finds the terminating NUL: "5\0" read as
 * five seconds, "user\0Identity" as a path). */
Test(sigma, a_nul_is_no_unit_and_no_path_byte)
{
  AT(CORR("  type: temporal\n  rules: [B]\n  timespan: \"5\\0\"\n"), 22, 14, INVAL, "timespan");
  AT(CORR("  type: temporal\n  rules: [B]\n  group-by: [\"user\\0Identity\"]\n  timespan: 5m\n"), 22, 15, UNSUP,
     "group-by");
}
