/* test_prefilter.c - the eventName index, the raw-bytes prefilter and the
 * fields read from the walked bytes never change a result: every corpus we
 * have gives the same matches (record index, rule, output, fields) and the
 * same bad/incomplete-record reports with them (flags 0) as on the plain
 * route (CTR_SCAN_NO_INDEX: every rule on every record, parsed whole by
 * jansson), under the built-in rules,
 * twenty upstream-style rules, a thousand generated ones, and rules that
 * lean on the prefilter's literal check. */
#include "select.h"
#include "litmatch.h"
#include "testutil.h"
#include "corpus.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct outcome {
  tu_matches matches;
  tu_text fields; /* "index\tname=value\n" per field of each match */
  char *reports; /* "index|status|evaluated|message\n" per report */
  size_t len, cap;
  uint64_t records, evaluated;
} outcome;

static void on_report(const ctr_record_error *e, void *ud)
{
  outcome *o = ud;
  char line[1024];
  int n = snprintf(line, sizeof line, "%llu|%s|%d|%s\n", (unsigned long long)ctr_record_error_index(e),
                   ctr_status_name(ctr_record_error_status(e)), ctr_record_error_evaluated(e),
                   ctr_record_error_message(e));
  size_t add = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  if (o->len + add + 1 > o->cap) {
    o->cap = (o->cap + add + 1) * 2;
    o->reports = realloc(o->reports, o->cap);
    cr_assert_not_null(o->reports);
  }
  memcpy(o->reports + o->len, line, add);
  o->len += add;
  o->reports[o->len] = '\0';
}

/* A match as tu_collect lists it, and the fields it extracted: like the
 * output, they are read from the walked bytes or from a parse. */
static int collect(const ctr_match *m, void *ud)
{
  outcome *o = ud;
  for (size_t i = 0; i < ctr_match_field_count(m); i++)
    tu_appendf(&o->fields, "%llu\t%s=%s\n", (unsigned long long)ctr_match_record_index(m), ctr_match_field_name(m, i),
               ctr_match_field_value(m, i));
  return tu_collect(m, &o->matches);
}

static void outcome_free(outcome *o)
{
  tu_matches_free(&o->matches);
  free(o->fields.s);
  free(o->reports);
}

/* Feeds buf in chunks of `chunk` bytes (0: one feed). */
static outcome scan(ctr_ruleset *rs, const char *buf, size_t len, size_t chunk, unsigned flags)
{
  outcome o = {0};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, collect, &o, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_set_flags(sc, flags), CTR_OK);
  ctr_scanner_set_error_callback(sc, on_report, &o);
  if (!chunk)
    chunk = len ? len : 1;
  for (size_t at = 0; at < len; at += chunk)
    ctr_scanner_feed(sc, buf + at, len - at < chunk ? len - at : chunk);
  ctr_scanner_finish(sc);
  o.records = ctr_scanner_stat(sc, CTR_STAT_RECORDS);
  o.evaluated = ctr_scanner_stat(sc, CTR_STAT_EVALUATED);
  ctr_scanner_free(sc);
  if (!o.reports)
    o.reports = calloc(1, 1);
  if (!o.matches.text)
    o.matches.text = calloc(1, 1);
  if (!o.fields.s)
    tu_append(&o.fields, "", 0);
  return o;
}

/* The alerts of rules whose name starts with `prefix`, in order: "index "
 * each, or "index:rule|" with_rule. */
static void list_alerts(const outcome *o, const char *prefix, bool with_rule, char *out, size_t cap)
{
  out[0] = '\0';
  for (const char *line = o->matches.text; *line; line += strcspn(line, "\n") + 1) {
    const char *rule = line + strcspn(line, "\t") + 1;
    if (strncmp(rule, prefix, strlen(prefix)) != 0)
      continue;
    size_t used = strlen(out);
    if (with_rule)
      snprintf(out + used, cap - used, "%.*s:%.*s|", (int)strcspn(line, "\t"), line, (int)strcspn(rule, "\t"), rule);
    else
      snprintf(out + used, cap - used, "%.*s ", (int)strcspn(line, "\t"), line);
  }
}

/* Scans with and without index and prefilter; they must agree exactly.
 * Returns the records evaluated with them, and without them in *all. */
static uint64_t same_both_ways(ctr_ruleset *rs, const char *rs_name, const char *buf, size_t len, size_t chunk,
                               const char *what, uint64_t *all)
{
  outcome fast = scan(rs, buf, len, chunk, 0);
  outcome full = scan(rs, buf, len, chunk, CTR_SCAN_NO_INDEX);
  cr_assert_str_eq(fast.matches.text, full.matches.text, "%s, rules %s: matches differ", what, rs_name);
  cr_assert_str_eq(fast.fields.s, full.fields.s, "%s, rules %s: extracted fields differ", what, rs_name);
  cr_assert_str_eq(fast.reports, full.reports, "%s, rules %s: record reports differ", what, rs_name);
  cr_assert_eq(fast.records, full.records, "%s, rules %s", what, rs_name);
  uint64_t evaluated = fast.evaluated;
  if (all)
    *all = full.evaluated;
  outcome_free(&fast);
  outcome_free(&full);
  return evaluated;
}

/* ------------------------------------------------------------ rulesets */

enum { RS_RDS, RS_RDS_20, RS_RDS_20_1000, RS_LITERALS, RS_UNKEYED, RS_REALISTIC, RS_SIGMA, RS__COUNT };
static const char *const k_rs_names[RS__COUNT] = {"rds", "rds+20", "rds+20+1000", "rds+20+literals",
                                                  "rds+20+unkeyed", "rds+20+realistic", "rds+20+sigmahq"};

/* Keyed on a value only a backslash escape can spell in a record, and
 * listing it twice. */
static const char k_escape_keyed_rule[] =
  "- rule: Slash In Name\n  desc: d\n  condition: ct.name in (\"Stop/Logging\", \"Stop/Logging\")\n"
  "  output: slash %ct.name\n  priority: info\n";

/* Rules whose candidates the literal check decides on generated records:
 * each is keyed on its own frequent eventName and requires literals through
 * every operator and field kind the check reads (and some it must not read),
 * so that a few records alert and most are ruled out. */
static const char k_generated_literal_rules[] =
  "- rule: G s3 key prefix\n  desc: d\n"
  "  condition: ct.name = GetObject and s3.key startswith \"ingest/2026/11/07/part-01\"\n"
  "  output: o %s3.key\n  priority: info\n"
  "- rule: G source ip\n  desc: d\n"
  "  condition: ct.name = Decrypt and ct.srcip = \"10.20.3.41\" and ct.region = ap-southeast-2\n"
  "  output: o\n  priority: info\n"
  "- rule: G user in\n  desc: d\n"
  "  condition: ct.name = AssumeRole and ct.user in (ci-deployer, app-backend) and ct.region = eu-central-1\n"
  "  output: o %ct.user\n  priority: info\n"
  "- rule: G agent contains\n  desc: d\n"
  "  condition: ct.name = HeadObject and ct.useragent contains \"lang/python\" and ct.region = eu-west-1\n"
  "  output: o\n  priority: info\n"
  "- rule: G agent endswith\n  desc: d\n"
  "  condition: ct.name = GenerateDataKey and ct.useragent endswith \"api/kms\" and ct.user.arn contains dev-3\n"
  "  output: o\n  priority: info\n"
  "- rule: G original user pmatch\n  desc: d\n"
  "  condition: ct.name = ListRoles and ct.originaluser pmatch (session-1, dev-3)\n"
  "  output: o %ct.originaluser\n  priority: info\n"
  "- rule: G or of literals\n  desc: d\n"
  "  condition: ct.name = GetRole and (ct.region = ap-southeast-2 or ct.useragent contains \"command/iam\")\n"
  "    and ct.user.identitytype = IAMUser\n"
  "  output: o\n  priority: info\n"
  "- rule: G json true\n  desc: d\n"
  "  condition: ct.name = DescribeVolumes and json.value[/readOnly] = \"true\" and ct.user.identitytype = Root\n"
  "  output: o\n  priority: info\n"
  "- rule: G four groups\n  desc: d\n"
  "  condition: ct.name = DescribeKey and ct.useragent startswith anyof (aws-sdk-go, aws-cli) and\n"
  "    ct.user.identitytype = AssumedRole and ct.region startswith \"us-\" and ct.user.arn contains \"/session-1\"\n"
  "  output: o\n  priority: info\n"
  "- rule: G request name\n  desc: d\n"
  "  condition: ct.name = GetParameters and ct.request.name startswith \"/acme/ssm/config-1\"\n"
  "    and ct.region = us-west-2\n"
  "  output: o\n  priority: info\n"
  /* Nothing to rule out with: a number, `not`, `!=`, a literal most records hold. */
  "- rule: G json number\n  desc: d\n"
  "  condition: ct.name = LookupEvents and json.value[/requestParameters/maxResults] = \"50\"\n"
  "  output: o\n  priority: info\n"
  "- rule: G under not\n  desc: d\n  condition: ct.name = DescribeTable and not ct.useragent contains Boto3\n"
  "  output: o\n  priority: info\n"
  "- rule: G or with a free branch\n  desc: d\n"
  "  condition: ct.name = DescribeLogGroups and (ct.srcip = \"10.20.3.41\" or ct.user.accountid != \"111122223333\")\n"
  "  output: o\n  priority: info\n"
  "- rule: G synthesised user\n  desc: d\n  condition: ct.name = DescribeAlarms and ct.user = AssumedRole\n"
  "  output: o\n  priority: info\n";

/* One rule per trap of adversarial.ndjson records 43-95 (tests/bench/README.md),
 * each keyed on its own eventName so that no other rule keeps the record a
 * candidate: a literal hidden behind an escape or found elsewhere in the
 * record, or the value of a field that computes or reformats it. */
static const char k_probe_literal_rules[] =
  "- rule: P escaped slash\n  desc: d\n"
  "  condition: ct.name = TrapEscapedSlash and ct.useragent contains \"tool/2\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P quoted literal\n  desc: d\n"
  "  condition: ct.name = TrapQuotedLiteral and ct.useragent = 'say \"hi\"'\n"
  "  output: o\n  priority: info\n"
  "- rule: P unicode escape\n  desc: d\n"
  "  condition: ct.name = TrapUnicodeEscape and ct.useragent contains \"tool/3\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P found elsewhere\n  desc: d\n"
  "  condition: ct.name = TrapElsewhere and (ct.srcip = \"203.0.113.9\" or ct.user.identitytype = Root)\n"
  "  output: o\n  priority: info\n"
  "- rule: P regex characters\n  desc: d\n"
  "  condition: ct.name = TrapRegex and ct.useragent contains \"a.b*c[d](e)+?\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P readonly number\n  desc: d\n"
  "  condition: ct.name = TrapReadOnly and ct.readonly = \"false\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P compact request\n  desc: d\n"
  "  condition: ct.name = TrapCompactRequest and ct.request contains '\"size\":1'\n"
  "  output: o\n  priority: info\n"
  "- rule: P reformatted number\n  desc: d\n"
  "  condition: ct.name = TrapNumber and json.value[/requestParameters/big] = \"12345678901234568.0\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P compact object\n  desc: d\n"
  "  condition: ct.name = TrapObject and json.value[/requestParameters/filter] = '{\"a\":[1,2]}'\n"
  "  output: o\n  priority: info\n"
  "- rule: P compact array\n  desc: d\n"
  "  condition: ct.name = TrapArray and json.value[/requestParameters/list] = '[\"all\"]'\n"
  "  output: o\n  priority: info\n"
  "- rule: P json true\n  desc: d\n"
  "  condition: ct.name = TrapJsonTrue and json.value[/requestParameters/flag] = \"true\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P json true prefix\n  desc: d\n"
  "  condition: ct.name = TrapJsonPrefix and json.value[/requestParameters/flag] startswith tru\n"
  "  output: o\n  priority: info\n"
  "- rule: P s3 uri\n  desc: d\n"
  "  condition: ct.name = TrapS3Uri and s3.uri startswith \"s3://\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P tolower\n  desc: d\n"
  "  condition: ct.name = TrapToLower and tolower(ct.useragent) contains mozilla\n"
  "  output: o\n  priority: info\n"
  "- rule: P icontains\n  desc: d\n"
  "  condition: ct.name = TrapIContains and ct.useragent icontains MOZILLA\n"
  "  output: o\n  priority: info\n"
  "- rule: P formatted time\n  desc: d\n"
  "  condition: ct.name = TrapTime and evt.datetime.s = \"2026-11-29 11:22:33\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P under not\n  desc: d\n"
  "  condition: ct.name = TrapNot and not ct.useragent contains curl\n"
  "  output: o\n  priority: info\n"
  "- rule: P or with a free branch\n  desc: d\n"
  "  condition: ct.name = TrapOr and (ct.srcip = \"192.0.2.2\" or ct.user.accountid != \"111122223333\")\n"
  "  output: o\n  priority: info\n"
  "- rule: P pmatch\n  desc: d\n"
  "  condition: ct.name = TrapPmatch and ct.request.name pmatch (/acme/app/)\n"
  "  output: o\n  priority: info\n"
  "- rule: P synthesised user\n  desc: d\n"
  "  condition: ct.name = TrapUser and ct.user = AssumedRole\n"
  "  output: o\n  priority: info\n"
  "- rule: P allof\n  desc: d\n"
  "  condition: ct.name = TrapAllof and ct.useragent contains allof (alpha, omega)\n"
  "  output: o\n  priority: info\n";
static const char k_probe_literal_rules_2[] =
  "- rule: P empty literal\n  desc: d\n"
  "  condition: ct.name = TrapEmpty and ct.errormessage startswith \"\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P non-string value\n  desc: d\n"
  "  condition: ct.name = TrapNonString and ct.useragent in (\"\", x)\n"
  "  output: o\n  priority: info\n"
  "- rule: P info\n  desc: d\n"
  "  condition: ct.name = TrapInfo and ct.info contains \" via \"\n"
  "  output: o\n  priority: info\n"
  "- rule: P escape in an array\n  desc: d\n"
  "  condition: ct.name = TrapArrayEscape and json.value[/requestParameters/list/1] = \"tool/4\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P escape in a nested object\n  desc: d\n"
  "  condition: ct.name = TrapNestedEscape and json.value[/requestParameters/a/b] startswith \"tool/5\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P unicode letter\n  desc: d\n"
  "  condition: ct.name = TrapUnicodeLetter and ct.useragent contains tool7\n"
  "  output: o\n  priority: info\n"
  "- rule: P escape elsewhere\n  desc: d\n"
  "  condition: ct.name = TrapEscapeElsewhere and ct.useragent contains tool9\n"
  "  output: o\n  priority: info\n"
  "- rule: P backslash\n  desc: d\n"
  "  condition: ct.name = TrapBackslash and ct.useragent = 'C:\\\\temp'\n"
  "  output: o\n  priority: info\n"
  "- rule: P newline\n  desc: d\n"
  "  condition: ct.name = TrapNewline and ct.useragent contains '1\\n'\n"
  "  output: o\n  priority: info\n"
  "- rule: P indented record\n  desc: d\n"
  "  condition: |-\n    ct.name = TrapJsonObj and json.obj contains '\"eventName\": \"TrapJsonObj\"'\n"
  "  output: o\n  priority: info\n";

/* Records 79-83: one member as compact JSON (ct.request, ct.response,
 * ct.additionaleventdata: CTR__RAW_JSON_LEAF since stop 24). */
static const char k_probe_literal_rules_3[] =
  "- rule: P request string\n  desc: d\n"
  "  condition: ct.name = TrapRequestString and ct.request = '\"plain-request\"'\n"
  "  output: o\n  priority: info\n"
  "- rule: P response escape\n  desc: d\n"
  "  condition: ct.name = TrapResponseEscape and ct.response contains \"example.com/tool/10\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P response unicode\n  desc: d\n"
  "  condition: ct.name = TrapResponseUnicode and ct.response contains tool11\n"
  "  output: o\n  priority: info\n"
  "- rule: P aed spaced\n  desc: d\n"
  "  condition: ct.name = TrapAedSpaced and ct.additionaleventdata contains tool12\n"
  "  output: o\n  priority: info\n"
  "- rule: P aed compact prefix\n  desc: d\n"
  "  condition: ct.name = TrapAedSpaced and ct.additionaleventdata startswith '{\"k\":\"tool12\"'\n"
  "  output: o\n  priority: info\n"
  "- rule: P request number\n  desc: d\n"
  "  condition: ct.name = TrapRequestNumber and ct.request contains \"E-07\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P request number folded\n  desc: d\n"
  "  condition: ct.name = TrapRequestNumber and ct.request icontains \"5E-07\"\n"
  "  output: o\n  priority: info\n"
  /* Records 84-87: an escape hides only the bytes it can spell. */
  "- rule: P quote escape\n  desc: d\n"
  "  condition: ct.name = TrapQuoteEscape and ct.useragent contains \"tool/13\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P tab escape\n  desc: d\n"
  "  condition: ct.name = TrapTabEscape and ct.useragent contains 'a\\tb'\n"
  "  output: o\n  priority: info\n"
  /* Records 88-90: ct.resources joins compact JSON with ',' (CTR__RAW_JSON_TEXT). */
  "- rule: P resources contains\n  desc: d\n"
  "  condition: ct.name = TrapResourcesContains and ct.resources contains \":db:tool15\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P resources joined\n  desc: d\n"
  "  condition: ct.name = TrapResourcesJoined and ct.resources = '\"plain-res\",{\"ARN\":\"arn:aws:rds:eu-west-1:1:db:tool15\"}'\n"
  "  output: o\n  priority: info\n"
  "- rule: P resources joined prefix\n  desc: d\n"
  "  condition: ct.name = TrapResourcesPrefix and ct.resources startswith '\"plain-res\",{'\n"
  "  output: o\n  priority: info\n"
  /* Records 91-93: a json.value literal starting with a digit counts when
   * it holds a byte no number has (stop 24). */
  "- rule: P json cidr\n  desc: d\n"
  "  condition: ct.name = TrapJsonCidr and json.value[/requestParameters/c] = \"0.0.0.0/0\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P json cidr escaped\n  desc: d\n"
  "  condition: ct.name = TrapJsonCidrEscaped and json.value[/requestParameters/c] startswith \"0.0.0.0/\"\n"
  "  output: o\n  priority: info\n"
  "- rule: P json reformatted\n  desc: d\n"
  "  condition: ct.name = TrapJsonReformatted and json.value[/requestParameters/n] = \"10.0\"\n"
  "  output: o\n  priority: info\n"
  /* Records 94, 95: ct.resources' joined value by `in` and `pmatch`. */
  "- rule: P resources in\n  desc: d\n"
  "  condition: ct.name = TrapResourcesIn and ct.resources in ('\"plain-res\",{\"ARN\":\"arn:aws:rds:eu-west-1:1:db:tool15\"}', x)\n"
  "  output: o\n  priority: info\n"
  "- rule: P resources pmatch\n  desc: d\n"
  "  condition: ct.name = TrapResourcesPmatch and ct.resources pmatch ('\"plain-res\",{\"ARN\":\"arn:aws:rds:eu-west-1:1:db:tool15\"}')\n"
  "  output: o\n  priority: info\n";

/* Rules keyed on nothing the prefilter reads (no eventName, errorCode or
 * eventSource compared exactly): their literals alone make a record a
 * candidate, case-insensitively where they compare so (tolower, icontains,
 * iglob, as Sigma rules do), and globs give their longest plain run. */
static const char k_unkeyed_rules[] =
  "- rule: U root\n  desc: d\n  condition: ct.user.identitytype = Root\n"
  "  output: o %ct.name\n  priority: info\n"
  "- rule: U srcip prefix\n  desc: d\n  condition: ct.srcip startswith \"203.0.113.\"\n"
  "  output: o\n  priority: info\n"
  "- rule: U sigma names\n  desc: d\n"
  "  condition: json.values[eventName] iglob \"createaccesskey\" or json.values[eventName] iglob \"DELETETRAIL\"\n"
  "    or json.values[eventName] iglob \"stoplogg*\"\n"
  "  output: o %ct.name\n  priority: info\n"
  "- rule: U sigma agent\n  desc: d\n"
  "  condition: json.values[userAgent] iglob \"*CUSTOM-TOOL*\" and json.values[eventSource] iglob \"S3.*\"\n"
  "  output: o\n  priority: info\n"
  "- rule: U tolower arn\n  desc: d\n  condition: tolower(ct.user.arn) endswith \"/session-777\"\n"
  "  output: o %ct.user.arn\n  priority: info\n"
  "- rule: U icontains\n  desc: d\n  condition: ct.useragent icontains \"PROMPT/OFF COMMAND/KMS\"\n"
  "  output: o\n  priority: info\n"
  "- rule: U escaped bracket\n  desc: d\n  condition: ct.useragent glob \"*\\\\[x]*\"\n"
  "  output: o\n  priority: info\n"
  "- rule: U json contains\n  desc: d\n"
  "  condition: json.value[/requestParameters/bucketName] contains \"-data-4242\"\n"
  "  output: o\n  priority: info\n"
  "- rule: U json region\n  desc: d\n  condition: json.values[awsRegion] iglob \"AP-SOUTH*\"\n"
  "  output: o\n  priority: info\n"
  /* compact JSON drops the space of [1, 2]: "1,2" is no literal of the bytes */
  "- rule: U compact list\n  desc: d\n"
  "  condition: json.value[/requestParameters/list] contains \"1,2\" and ct.useragent = spaced\n"
  "  output: o\n  priority: info\n"
  /* a regex's longest literal run: "tool" (y is optional), ":assumed-role/aws:" */
  "- rule: U regex optional\n  desc: d\n  condition: ct.useragent regex \"tooly?z+ .*\"\n"
  "  output: o\n  priority: info\n"
  "- rule: U regex arn\n  desc: d\n  condition: ct.useragent regex \".+:assumed-role/aws:.+\"\n"
  "  output: o\n  priority: info\n"
  /* plain members' values compared as values (prefilter.c) */
  "- rule: U region in\n  desc: d\n  condition: ct.region in (eu-south-2, me-central-1)\n"
  "  output: o %ct.region\n  priority: info\n"
  "- rule: U name folded prefix\n  desc: d\n  condition: tolower(ct.name) startswith putbucketpol\n"
  "  output: o %ct.name\n  priority: info\n"
  "- rule: U error suffix\n  desc: d\n  condition: ct.error endswith Throttled or ct.srcip endswith \".internal\"\n"
  "  output: o %ct.error\n  priority: info\n"
  /* one member as compact JSON: its literals inside one string's content */
  "- rule: U request contains\n  desc: d\n  condition: ct.request contains \"0.0.0.0/0\"\n"
  "  output: o %ct.name\n  priority: info\n"
  "- rule: U response folded\n  desc: d\n  condition: ct.response icontains \"VOL-0\"\n"
  "  output: o\n  priority: info\n"
  "- rule: U aed regex\n  desc: d\n  condition: ct.additionaleventdata regex \"(MFAUsed|LoginTo)\"\n"
  "  output: o\n  priority: info\n"
  "- rule: U request quoted\n  desc: d\n  condition: ct.request in ('\"plain-request\"', '\"other-request\"')\n"
  "  output: o\n  priority: info\n"
  "- rule: U response glob\n  desc: d\n  condition: ct.response glob \"*tool?0*\"\n"
  "  output: o\n  priority: info\n"
  "- rule: U json cidr\n  desc: d\n  condition: json.value[/requestParameters/cidrIp] in (\"10.0.0.0/8\", \"0.0.0.0/0\")\n"
  "  output: o\n  priority: info\n"
  "- rule: U resources\n  desc: d\n"
  "  condition: ct.resources icontains \":DB:\" or ct.resources glob \"*:snapshot:*\" or ct.resources endswith \"xyz9\"\n"
  "  output: o %ct.resources\n  priority: info\n"
  /* s3.uri's bucket and key, json.obj's strings (stop 25) */
  "- rule: U s3 uri\n  desc: d\n"
  "  condition: s3.uri contains \"east-1-data-3\" or s3.uri icontains SENSITIVE or s3.uri endswith \"1.parquet\"\n"
  "  output: o %s3.uri\n  priority: info\n"
  "- rule: U json obj\n  desc: d\n  condition: json.obj contains \"part-0372\" or jevt.obj icontains TRAINING-DATASET\n"
  "  output: o %ct.name\n  priority: info\n";

static ctr_ruleset *ruleset(int which)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_builtin(c, "rds"), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, k_escape_keyed_rule, strlen(k_escape_keyed_rule), "escape.yaml"), CTR_OK);
  if (which >= RS_RDS_20)
    cr_assert_eq(ctr_compiler_add_file(c, tu_tests("bench/rules/cloudtrail_rules.yaml")), CTR_OK);
  if (which == RS_LITERALS)
  {
    cr_assert_eq(ctr_compiler_add_string(c, k_generated_literal_rules, strlen(k_generated_literal_rules), "g.yaml"),
                 CTR_OK);
    cr_assert_eq(ctr_compiler_add_string(c, k_probe_literal_rules, strlen(k_probe_literal_rules), "p.yaml"), CTR_OK);
    cr_assert_eq(ctr_compiler_add_string(c, k_probe_literal_rules_2, strlen(k_probe_literal_rules_2), "p2.yaml"),
                 CTR_OK);
    cr_assert_eq(ctr_compiler_add_string(c, k_probe_literal_rules_3, strlen(k_probe_literal_rules_3), "p3.yaml"),
                 CTR_OK);
  }
  if (which == RS_UNKEYED)
    cr_assert_eq(ctr_compiler_add_string(c, k_unkeyed_rules, strlen(k_unkeyed_rules), "u.yaml"), CTR_OK);
  if (which == RS_SIGMA) { /* case-insensitive (iglob), |re wrapped as a substring match: no key */
    glob_t g;
    cr_assert_eq(glob(tu_tests("sigma/sigmahq/*.yml"), 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++)
      cr_assert_eq(ctr_compiler_add_file(c, g.gl_pathv[i]), CTR_OK, "%s", g.gl_pathv[i]);
    globfree(&g);
  }
  if (which == RS_RDS_20_1000 || which == RS_REALISTIC) {
    /* realistic: 200 rules on each of five frequent eventNames, their
     * literals searched in one pass per record (litmatch.c) */
    size_t len;
    char *yaml = which == RS_REALISTIC ? ctb_realistic_rules(1000, &len) : ctb_generated_rules(1000, &len);
    cr_assert_not_null(yaml);
    cr_assert_eq(ctr_compiler_add_string(c, yaml, len, "generated.yaml"), CTR_OK);
    free(yaml);
  }
  return tu_compile_all(c);
}

/* ------------------------------------------------------------ corpora */

typedef struct corpus {
  char *name;
  char *data;
  size_t len;
} corpus;

static size_t add_file(corpus *v, size_t n, const char *path)
{
  v[n].name = strdup(path);
  v[n].data = tu_read(path, &v[n].len);
  return n + 1;
}

/* Every corpus we have: the shared real data (plain and gzip), its fragments
 * and envelopes, the built-in rules' fixtures, a generated corpus (NDJSON and
 * log file) and the adversarial records. */
static size_t corpora(corpus *v, size_t cap)
{
  size_t n = 0;
  n = add_file(v, n, tu_shared("records.ndjson"));
  n = add_file(v, n, tu_shared("records.json.gz"));
  n = add_file(v, n, tu_shared("partial.ndjson"));
  n = add_file(v, n, tu_tests("bench/adversarial.ndjson"));
  const char *patterns[] = {tu_shared("envelopes/*"), NULL, NULL};
  char fixtures[4096], sigma[4096];
  snprintf(fixtures, sizeof fixtures, "%s", tu_tests("../libctrule/rules/tests/*.ndjson"));
  patterns[1] = fixtures;
  snprintf(sigma, sizeof sigma, "%s", tu_tests("sigma/sigmahq/*.json")); /* the Sigma rules' records */
  patterns[2] = sigma;
  char envelopes[4096];
  snprintf(envelopes, sizeof envelopes, "%s", patterns[0]);
  patterns[0] = envelopes;
  for (size_t p = 0; p < 3; p++) {
    glob_t g;
    cr_assert_eq(glob(patterns[p], 0, NULL, &g), 0, "no files match %s", patterns[p]);
    for (size_t i = 0; i < g.gl_pathc && n < cap - 2; i++)
      n = add_file(v, n, g.gl_pathv[i]);
    globfree(&g);
  }
  v[n].name = strdup("generated NDJSON");
  v[n].data = ctb_corpus_ndjson(3000, 42, &v[n].len);
  n++;
  v[n].name = strdup("generated log file");
  v[n].data = ctb_corpus_logfile(2000, 7, &v[n].len);
  n++;
  for (size_t i = 0; i < n; i++)
    cr_assert_not_null(v[i].data, "%s", v[i].name);
  return n;
}

static void corpora_free(corpus *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(v[i].name);
    free(v[i].data);
  }
}

/* ------------------------------------------------------------ tests */

Test(prefilter, same_results_on_every_corpus)
{
  corpus v[192];
  size_t n = corpora(v, 192);
  cr_assert_gt(n, 50, "expected the shared data, the fixtures and the envelopes, got %zu corpora", n);
  for (int r = 0; r < RS__COUNT; r++) {
    ctr_ruleset *rs = ruleset(r);
    for (size_t i = 0; i < n; i++)
      same_both_ways(rs, k_rs_names[r], v[i].data, v[i].len, 0, v[i].name, NULL);
    ctr_ruleset_unref(rs);
  }
  corpora_free(v, n);
}

Test(prefilter, same_results_in_any_chunking)
{
  size_t len;
  char *adv = tu_read(tu_tests("bench/adversarial.ndjson"), &len);
  ctr_ruleset *rs = ruleset(RS_RDS_20_1000);
  for (size_t chunk = 1; chunk < 20; chunk += 6)
    same_both_ways(rs, "rds+20+1000", adv, len, chunk, "adversarial records, chunked", NULL);
  size_t glen;
  char *gen = ctb_corpus_logfile(300, 3, &glen);
  same_both_ways(rs, "rds+20+1000", gen, glen, 4093, "generated log file, chunked", NULL);
  ctr_ruleset_unref(rs);
  for (int r = RS_LITERALS; r < RS__COUNT; r++) {
    rs = ruleset(r);
    for (size_t chunk = 1; chunk < 20; chunk += 6)
      same_both_ways(rs, k_rs_names[r], adv, len, chunk, "adversarial records, chunked", NULL);
    same_both_ways(rs, k_rs_names[r], gen, glen, 4093, "generated log file, chunked", NULL);
    if (r < RS__COUNT - 1)
      ctr_ruleset_unref(rs);
  }
  free(gen);
  free(adv);
  ctr_ruleset_unref(rs);
}

/* The prefilter is really on: most generated records are never parsed, yet
 * the rules still fire. */
Test(prefilter, skips_what_no_rule_can_match)
{
  size_t len;
  char *gen = ctb_corpus_ndjson(5000, 11, &len);
  for (int r = 0; r < RS__COUNT; r++) {
    ctr_ruleset *rs = ruleset(r);
    uint64_t all;
    uint64_t evaluated = same_both_ways(rs, k_rs_names[r], gen, len, 0, "generated NDJSON", &all);
    cr_assert_eq(all, 5000);
    cr_assert_lt(evaluated * 4, all, "rules %s: %llu of %llu records parsed", k_rs_names[r],
                 (unsigned long long)evaluated, (unsigned long long)all);
    outcome o = scan(rs, gen, len, 0, 0);
    cr_assert_gt(o.matches.count, 0, "rules %s: no alert on the generated corpus", k_rs_names[r]);
    outcome_free(&o);
    ctr_ruleset_unref(rs);
  }
  free(gen);
}

/* splitmix64, for the mutations below. */
static uint64_t next_random(uint64_t *state)
{
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Generated records with random damage where a prefilter could go wrong:
 * bytes swapped for JSON punctuation, escapes, non-ASCII or NUL, bytes
 * dropped or doubled, and eventNames, errorCodes and sources swapped for
 * ones the rules want (malloc'd, its length in *outlen). */
static char *mutated_records(size_t *outlen)
{
  static const char interesting[] = "\"\\{}[],:0123456789eE+-.tfnu \t\r/\x80\xC3\xA9\xFF";
  static const char *const splices[] = {
    "\"eventName\":\"CreateUser\",", "\"eventName\":\"Create\\u0055ser\",", "\"errorCode\":\"AccessDenied\",",
    "\"eventSource\":\"iam.amazonaws.com\",", "\"eventName\":\"ModifyDBInstance\",", "\"event\\u004eame\":\"CreateUser\",",
    "\"eventName\":\"Stop\\/Logging\",", "\"errorCode\":null,", "\"eventType\":\"AwsCloudTrailInsight\",", "\\u0000",
    /* members whose bytes the unkeyed rules' literals are looked for in */
    "\"sourceIPAddress\":\"203.0.113.5\",", "\"userIdentity\":{\"type\":\"Root\"},", "\"sourceIPAddress\":7,",
    "\"awsRegion\":\"me-central-1\",", "\"awsRegion\":\"me-central-\\u0031\",", "\"errorCode\":\"Request\\/Throttled\",",
    "\"eventName\":\"PUTBUCKETPOLICY\",", "\"sourceIPAddress\":\"10.0.0.1.internal\",",
  };
  size_t len;
  char *gen = ctb_corpus_ndjson(1500, 21, &len);
  cr_assert_not_null(gen);
  char *out = malloc(len * 2 + 1500 * 128);
  cr_assert_not_null(out);
  size_t n = 0;
  uint64_t rng = 5;
  for (const char *line = gen; line < gen + len;) {
    const char *nl = memchr(line, '\n', (size_t)(gen + len - line));
    size_t ll = (size_t)(nl - line);
    char *rec = out + n;
    memcpy(rec, line, ll);
    size_t rl = ll;
    for (int m = 1 + (int)(next_random(&rng) % 3); m > 0 && rl > 2; m--) {
      size_t at = 1 + next_random(&rng) % (rl - 2);
      switch (next_random(&rng) % 4) {
      case 0: /* one byte becomes punctuation, an escape start, non-ASCII */
        rec[at] = interesting[next_random(&rng) % (sizeof interesting - 1)];
        break;
      case 1: /* one byte dropped */
        memmove(rec + at, rec + at + 1, rl - at - 1);
        rl--;
        break;
      case 2: { /* a key and value spliced in after a comma or brace */
        const char *sp = splices[next_random(&rng) % (sizeof splices / sizeof *splices)];
        size_t sl = strlen(sp);
        char *after = memchr(rec + at, ',', rl - at);
        size_t where = after ? (size_t)(after - rec) + 1 : 1;
        memmove(rec + where + sl, rec + where, rl - where);
        memcpy(rec + where, sp, sl);
        rl += sl;
        break;
      }
      default: /* a short span doubled */
        if (rl - at > 8) {
          memmove(rec + at + 8, rec + at, rl - at);
          rl += 8;
        }
        break;
      }
    }
    n += rl;
    out[n++] = '\n';
    line = nl + 1;
  }
  free(gen);
  *outlen = n;
  return out;
}

/* The mutated records (mutated_records): same results either way, every
 * one of them. */
Test(prefilter, same_results_on_mutated_records)
{
  size_t n;
  char *out = mutated_records(&n);
  ctr_ruleset *rs = ruleset(RS_RDS_20_1000);
  uint64_t all;
  uint64_t evaluated = same_both_ways(rs, "rds+20+1000", out, n, 0, "mutated generated records", &all);
  cr_assert_lt(evaluated, all, "the prefilter skipped nothing: the test would prove nothing");
  same_both_ways(rs, "rds+20+1000", out, n, 1021, "mutated generated records, chunked", NULL);
  ctr_ruleset_unref(rs);
  for (int r = RS_LITERALS; r < RS__COUNT; r++) {
    rs = ruleset(r);
    evaluated = same_both_ways(rs, k_rs_names[r], out, n, 0, "mutated generated records", &all);
    cr_assert_lt(evaluated, all, "%s: the prefilter skipped nothing: the test would prove nothing", k_rs_names[r]);
    same_both_ways(rs, k_rs_names[r], out, n, 1021, "mutated generated records, chunked", NULL);
    ctr_ruleset_unref(rs);
  }
  free(out);
}

/* The literal search's narrower paths (ctr__search_width: SSE2 alone, AVX2)
 * hold to the plain route as the widest one does in the tests above: every
 * corpus and the mutated records, under the rulesets with literals. */
Test(prefilter, every_search_width_gives_the_same_results)
{
  corpus v[192];
  size_t n = corpora(v, 192), mlen;
  char *mutated = mutated_records(&mlen);
  for (int w = 0; w < 2; w++) {
    ctr__search_width = w;
    for (int r = RS_LITERALS; r < RS__COUNT; r++) {
      ctr_ruleset *rs = ruleset(r);
      for (size_t i = 0; i < n; i++)
        same_both_ways(rs, k_rs_names[r], v[i].data, v[i].len, 0, v[i].name, NULL);
      uint64_t all, evaluated = same_both_ways(rs, k_rs_names[r], mutated, mlen, 0, "mutated records", &all);
      cr_assert_lt(evaluated, all, "%s, width %d: the prefilter skipped nothing", k_rs_names[r], w);
      ctr_ruleset_unref(rs);
    }
  }
  ctr__search_width = 2;
  free(mutated);
  corpora_free(v, n);
}

/* A rule keyed on nothing the prefilter reads keeps it on when it requires
 * literals: a record holding none of them is not parsed for it. One that
 * requires nothing at all turns it off: every record is parsed again. */
Test(prefilter, unkeyed_rules)
{
  /* The last requires nothing; the others are looked for in the bytes
   * (ct.request: one member as compact JSON, stop 24). */
  static const char *const conds[] = {"ct.user.identitytype = Root", "ct.srcip startswith \"203.0.113.\"",
                                      "ct.request contains \"0.0.0.0/0\"", "ct.response icontains \"VOL-0\"",
                                      "json.value[/requestParameters/cidrIp] = \"0.0.0.0/0\"",
                                      "ct.user.identitytype != Root"};
  const size_t nconds = sizeof conds / sizeof *conds;
  size_t len;
  char *gen = ctb_corpus_ndjson(2000, 5, &len);
  for (size_t k = 0; k < nconds; k++) {
    char y[512];
    snprintf(y, sizeof y,
             "- rule: unkeyed\n  desc: d\n  condition: '%s'\n  output: o %%ct.name\n  priority: info\n"
             "- rule: keyed\n  desc: d\n  condition: ct.name = CreateUser\n  output: keyed\n  priority: info\n",
             conds[k]);
    ctr_ruleset *rs = tu_compile(y, NULL, 0);
    cr_assert_not_null(rs);
    uint64_t all, evaluated = same_both_ways(rs, conds[k], gen, len, 0, "generated NDJSON", &all);
    cr_assert_eq(all, 2000);
    if (k + 1 < nconds)
      cr_assert_lt(evaluated * 4, all, "%s: %llu of %llu records parsed", conds[k], (unsigned long long)evaluated,
                   (unsigned long long)all);
    else
      cr_assert_eq(evaluated, all, "%s requires nothing, yet records were skipped", conds[k]);
    ctr_ruleset_unref(rs);
  }
  free(gen);
}

/* A field read inside one top-level member (ct.user.* in userIdentity,
 * ct.srcip in sourceIPAddress) has its literals looked for in that member's
 * bytes only: a record holding them elsewhere is not parsed; the member
 * absent, not a string, spelt with an escape or repeated, and an `or`
 * across two members (looked for anywhere), all give what the parse gives. */
Test(prefilter, literals_are_looked_for_in_the_member_their_field_reads)
{
#define MREC(ui, src, agent)                                                                                       \
  "{\"eventVersion\":\"1.08\",\"userIdentity\":" ui ",\"eventTime\":\"2026-11-28T00:00:00Z\","                    \
  "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"awsRegion\":\"us-east-1\"" src              \
  ",\"userAgent\":\"" agent "\"}\n"
#define IAM "{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::1:user/x\"}"
  static const struct {
    const char *rec;
    int evaluated[2]; /* parsed under the scoped rules, under the `or` across members */
    const char *alerts;
  } cases[] = {
    {MREC(IAM, ",\"sourceIPAddress\":\"10.1.1.1\"", "Root 203.0.113.9 198.51.100.7 AWSService :root AssumedRole"),
     {0, 1}, ""},
    {MREC("{\"type\":\"Root\"}", ",\"sourceIPAddress\":\"10.1.1.1\"", "x"), {1, 0}, "0:M root|"},
    {MREC(IAM, ",\"sourceIPAddress\":\"203.0.113.77\"", "x"), {1, 0}, "0:M srcip|"},
    {MREC(IAM, ",\"sourceIPAddress\":\"203.0.113.\\u0037\"", "x"), {1, 1}, "0:M srcip|"},
    {MREC(IAM, ",\"sourceIPAddress\":203,\"requestParameters\":{\"ip\":\"203.0.113.5\"}", "x"), {0, 0}, ""},
    {MREC(IAM, ",\"sourceIPAddress\":{\"ip\":\"203.0.113.5\"}", "x"), {1, 0}, ""},
    {MREC(IAM, "", "203.0.113.1"), {0, 0}, ""},
    {MREC(IAM, ",\"sourceIPAddress\":\"203.0.113.1\",\"sourceIPAddress\":\"10.0.0.1\"", "x"), {1, 1}, ""},
    {MREC(IAM, ",\"sourceIPAddress\":\"10.0.0.1\",\"sourceIPAddress\":\"203.0.113.1\"", "x"), {1, 1}, "0:M srcip|"},
    {MREC("{\"type\":\"AssumedRole\"}", ",\"sourceIPAddress\":\"10.1.1.1\"", "x"), {1, 0}, "0:M root arn or role|"},
    {MREC("{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::1:root\"}", ",\"sourceIPAddress\":\"10.1.1.1\"", "x"),
     {1, 0}, "0:M root arn or role|"},
    {MREC("{\"type\":\"Ro\\u006ft\"}", ",\"sourceIPAddress\":\"10.1.1.1\"", "x"), {1, 1}, "0:M root|"},
    {MREC("{\"type\":\"AWSService\"}", ",\"sourceIPAddress\":\"10.1.1.1\"", "x"), {0, 1}, ""},
    {MREC(IAM, ",\"sourceIPAddress\":\"198.51.100.7\"", "x"), {0, 1}, ""},
  };
#undef IAM
#undef MREC
  static const char scoped[] =
    "- rule: M root\n  desc: d\n  condition: ct.user.identitytype = Root\n  output: o\n  priority: info\n"
    "- rule: M srcip\n  desc: d\n  condition: ct.srcip startswith \"203.0.113.\"\n  output: o\n  priority: info\n"
    "- rule: M root arn or role\n  desc: d\n  condition: ct.user.arn contains \":root\" or ct.user = AssumedRole\n"
    "  output: o\n  priority: info\n";
  static const char across[] =
    "- rule: M srcip or service\n  desc: d\n"
    "  condition: ct.srcip = \"198.51.100.7\" or ct.user.identitytype = AWSService\n  output: o\n  priority: info\n";
  ctr_ruleset *rs[2] = {tu_compile(scoped, NULL, 0), tu_compile(across, NULL, 0)};
  cr_assert(rs[0] && rs[1]);
  for (size_t i = 0; i < CTR__COUNTOF(cases); i++)
    for (int k = 0; k < 2; k++) {
      const char *rec = cases[i].rec;
      char what[32];
      snprintf(what, sizeof what, "record %zu", i);
      uint64_t evaluated = same_both_ways(rs[k], k ? "across" : "scoped", rec, strlen(rec), 0, what, NULL);
      cr_expect_eq(evaluated, (uint64_t)cases[i].evaluated[k], "%s, rules %s: parsed %llu: %s", what,
                   k ? "across" : "scoped", (unsigned long long)evaluated, rec);
      outcome o = scan(rs[k], rec, strlen(rec), 0, 0);
      char alerts[256];
      list_alerts(&o, "M ", true, alerts, sizeof alerts);
      if (k == 0)
    cr_expect_str_eq(alerts, cases[i].alerts, "%s: %s", what, rec);
      else
        cr_expect_eq(strstr(alerts, "M srcip or service") != NULL, i >= 12, "%s: %s", what, alerts);
      outcome_free(&o);
    }
  ctr_ruleset_unref(rs[0]);
  ctr_ruleset_unref(rs[1]);
}

/* A field that is a top-level member's plain value (ct.srcip, ct.region,
 * ct.name, ct.error, ct.time) has its `=`, `in`, `startswith` and
 * `endswith` literals compared with the member's value, which the walk
 * read, when it is a string without escapes: a record holding the literal
 * elsewhere in that value (not at its start, its end, or as all of it) is
 * not parsed. An escaped value (`\/`, `\"`, `\u`), a value that is no
 * string, an absent member, a value ending where the buffer ends, folded
 * literals and `or`s of both kinds give what the parse gives. Each record
 * is scanned from a copy of exactly its bytes, so that a read past its end
 * fails under ASan. */
Test(prefilter, plain_member_values_are_compared_as_values)
{
#define TREC(time, source, name, error, region, srcip)                                                            \
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\"},\"eventTime\":\"" time "\","           \
  "\"eventSource\":\"" source ".amazonaws.com\",\"eventName\":\"" name "\"" error ",\"awsRegion\":\"" region "\"" \
  srcip "}"
#define VREC(name, error, region, srcip) TREC("2026-11-28T00:00:00Z", "s3", name, error, region, srcip)
#define IP(v) ",\"sourceIPAddress\":\"" v "\""
  static const struct {
    const char *rec;
    int evaluated; /* parsed: some rule's literals are where its checks look */
    const char *alerts;
    bool later; /* concerns the rules past the first seven */
  } cases[] = {
    /* 0-5: startswith on ct.srcip */
    {VREC("GetObject", "", "us-east-1", IP("203.0.113.7")), 1, "0:V prefix|", false},
    {VREC("GetObject", "", "us-east-1", IP("10.203.0.113.7")), 0, "", false},
    {VREC("GetObject", "", "us-east-1", IP("203.0.113.")), 1, "0:V prefix|", false},
    {VREC("GetObject", "", "us-east-1", IP("203.0.113")), 0, "", false},
    {VREC("GetObject", "", "us-east-1", IP("203.0.113\\u002e7")), 1, "0:V prefix|", false},
    {VREC("GetObject", "", "us-east-1", IP("203.0.113.\\\"x")), 1, "0:V prefix|", false},
    /* 6-9: no string, absent, repeated (the walk leaves it to jansson) */
    {VREC("GetObject", "", "us-east-1", ",\"sourceIPAddress\":203,\"x\":\"203.0.113.7\""), 0, "", false},
    {VREC("GetObject", "", "us-east-1", ",\"x\":\"203.0.113.7\""), 0, "", false},
    {VREC("GetObject", "", "us-east-1", ",\"sourceIPAddress\":{\"ip\":\"203.0.113.7\"}"), 1, "", false},
    {VREC("GetObject", "", "us-east-1", IP("10.0.0.1") IP("203.0.113.1")), 1, "0:V prefix|", false},
    /* 10-15: = and in on ct.region, case-sensitive and folded, an escaped slash */
    {VREC("GetObject", "", "eu-west-3", IP("10.0.0.1")), 1, "0:V region in|", false},
    {VREC("GetObject", "", "xeu-west-3", IP("10.0.0.1")), 0, "", false},
    {VREC("GetObject", "", "EU-WEST-3", IP("10.0.0.1")), 0, "", false},
    {VREC("GetObject", "", "US-Gov-West-1", IP("10.0.0.1")), 1, "0:V region folded|", false},
    {VREC("GetObject", "", "us-gov-west-1x", IP("10.0.0.1")), 0, "", false},
    {VREC("GetObject", "", "lab\\/one", IP("10.0.0.1")), 1, "0:V region slash|", false},
    /* 16-19: startswith on ct.name, endswith on ct.error, ct.time */
    {VREC("PutEventSelectors", "", "us-east-1", IP("10.0.0.1")), 1, "0:V name prefix|", false},
    {VREC("XPutEventSelectors", "", "us-east-1", IP("10.0.0.1")), 0, "", false},
    {VREC("GetObject", ",\"errorCode\":\"RequestThrottled\"", "us-east-1", IP("10.0.0.1")), 1, "0:V error suffix|",
     false},
    {VREC("GetObject", ",\"errorCode\":\"ThrottledRequest\"", "us-east-1", IP("10.0.0.1")), 0, "", false},
    /* 20-23: an `or` of a prefix and a value looks anywhere in the member;
     * an `or` of two prefixes compares both */
    {VREC("GetObject", "", "us-east-1", IP("x198.51.100.1")), 1, "", true},
    {VREC("GetObject", "", "us-east-1", IP("198.51.100.1")), 1, "0:V or anywhere|", true},
    {VREC("GetObject", "", "us-east-1", IP("198.19.0.1")), 1, "0:V or prefixes|", true},
    {VREC("GetObject", "", "us-east-1", IP("1198.19.0.1")), 0, "", true},
    /* 24-26: a suffix at the very end of the value and of the buffer, and a
     * value shorter than it */
    {VREC("GetObject", "", "us-east-1", IP("lambda.amazonaws.com")), 1, "0:V srcip suffix|", true},
    {VREC("GetObject", "", "us-east-1", IP("lambda.amazonaws.comx")), 0, "", true},
    {VREC("GetObject", "", "us-east-1", IP("a.amazonaws.com")), 0, "", true},
    /* 27-31: ct.time; ct.shortsrc, a part of eventSource, is not its value */
    {TREC("2031-01-01T00:00:00Z", "s3", "GetObject", "", "us-east-1", IP("10.0.0.1")), 1, "0:V time|", false},
    {TREC("12031-01-01T00:00:00Z", "s3", "GetObject", "", "us-east-1", IP("10.0.0.1")), 0, "", false},
    {TREC("2026-11-28T00:00:00Z", "kms", "Decrypt", "", "us-east-1", IP("10.0.0.1")), 1, "0:V short source|", true},
    {TREC("2026-11-28T00:00:00Z", "kmsx", "Decrypt", "", "us-east-1", IP("10.0.0.1")), 1, "", true},
    {TREC("2026-11-28T00:00:00Z", "ec2", "Decrypt", "", "us-east-1", IP("10.0.0.1")), 0, "", true},
  };
#undef IP
#undef VREC
#undef TREC
  static const char rules[] =
    "- rule: V prefix\n  desc: d\n  condition: ct.srcip startswith \"203.0.113.\"\n  output: o\n  priority: info\n"
    "- rule: V region in\n  desc: d\n  condition: ct.region in (eu-west-3, ap-east-1)\n  output: o\n  priority: info\n"
    "- rule: V region folded\n  desc: d\n  condition: tolower(ct.region) = \"us-gov-west-1\"\n  output: o\n"
    "  priority: info\n"
    "- rule: V region slash\n  desc: d\n  condition: ct.region = \"lab/one\"\n  output: o\n  priority: info\n"
    "- rule: V name prefix\n  desc: d\n  condition: ct.name startswith PutEventSelect\n  output: o\n  priority: info\n"
    "- rule: V error suffix\n  desc: d\n  condition: ct.error endswith Throttled\n  output: o\n  priority: info\n"
    "- rule: V time\n  desc: d\n  condition: ct.time startswith \"2031-\"\n  output: o\n  priority: info\n"
    "- rule: V or anywhere\n  desc: d\n"
    "  condition: ct.srcip startswith \"198.51.100.\" or ct.srcip = \"192.0.2.1\"\n  output: o\n  priority: info\n"
    "- rule: V or prefixes\n  desc: d\n"
    "  condition: ct.srcip startswith \"198.18.\" or ct.srcip startswith \"198.19.\"\n  output: o\n  priority: info\n"
    "- rule: V srcip suffix\n  desc: d\n  condition: ct.srcip endswith \"lambda.amazonaws.com\"\n  output: o\n"
    "  priority: info\n"
    "- rule: V short source\n  desc: d\n  condition: ct.shortsrc in (kms, sts)\n  output: o\n  priority: info\n";
  /* The eleven rules' literals are searched in one pass (litmatch.c: 8
   * rules or more), the first seven's one by one. */
  char seven[sizeof rules];
  snprintf(seven, sizeof seven, "%.*s", (int)(strstr(rules, "- rule: V or anywhere") - rules), rules);
  ctr_ruleset *rs[2] = {tu_compile(rules, NULL, 0), tu_compile(seven, NULL, 0)};
  cr_assert(rs[0] && rs[1]);
  for (size_t i = 0; i < CTR__COUNTOF(cases); i++)
    for (int k = 0; k < 2; k++) {
      size_t n = strlen(cases[i].rec);
      char *rec = malloc(n), what[48];
      cr_assert_not_null(rec);
      memcpy(rec, cases[i].rec, n);
      snprintf(what, sizeof what, "record %zu, %s rules", i, k ? "seven" : "eleven");
      /* Under the seven, a record only a later rule wants is not parsed. */
      bool later = cases[i].later;
      int want = k && later ? 0 : cases[i].evaluated;
      uint64_t evaluated = same_both_ways(rs[k], what, rec, n, 0, what, NULL);
      cr_expect_eq(evaluated, (uint64_t)want, "%s: parsed %llu: %s", what, (unsigned long long)evaluated,
                   cases[i].rec);
      outcome o = scan(rs[k], rec, n, 0, 0);
      char alerts[256];
      list_alerts(&o, "V ", true, alerts, sizeof alerts);
    cr_expect_str_eq(alerts, k && later ? "" : cases[i].alerts, "%s: %s", what, cases[i].rec);
      outcome_free(&o);
      free(rec);
    }
  ctr_ruleset_unref(rs[0]);
  ctr_ruleset_unref(rs[1]);
}

/* A record, the number of records (0 or 1) the searched rules parse of it,
 * and the alerts of those rules and of the unsearched ones. */
typedef struct literal_case {
  const char *rec;
  int evaluated;
  const char *searched, *not_searched;
} literal_case;

/* An unsearched rule: a name and its condition line. */
typedef struct named_condition {
  const char *name, *yaml;
} named_condition;

/* Each case under the searched rules together, then under each unsearched
 * rule alone (a record parsed for one rule of a ruleset is evaluated under
 * all of them): the same outcome with and without the prefilter, the
 * records parsed (every one under an unsearched rule), the alerts. */
static void check_literal_cases(const literal_case *cases, size_t ncases, const char *searched,
                                const named_condition *not_searched, size_t nnot)
{
  ctr_ruleset *rs[8] = {tu_compile(searched, NULL, 0)};
  cr_assert_lt(nnot, CTR__COUNTOF(rs));
  for (size_t k = 1; k <= nnot; k++) {
    char yaml[256];
    snprintf(yaml, sizeof yaml, "- rule: %s\n  desc: d\n%s  output: o\n  priority: info\n", not_searched[k - 1].name,
             not_searched[k - 1].yaml);
    rs[k] = tu_compile(yaml, NULL, 0);
  }
  for (size_t k = 0; k <= nnot; k++)
    cr_assert_not_null(rs[k]);
  for (size_t i = 0; i < ncases; i++)
    for (size_t k = 0; k <= nnot; k++) {
      const char *rule = k ? not_searched[k - 1].name : NULL;
      char what[64], want[256] = "";
      snprintf(what, sizeof what, "record %zu, %s", i, k ? rule : "the searched rules");
      size_t n = strlen(cases[i].rec);
      uint64_t evaluated = same_both_ways(rs[k], what, cases[i].rec, n, 0, what, NULL);
      cr_expect_eq(evaluated, (uint64_t)(k ? 1 : cases[i].evaluated), "%s: parsed %llu: %s", what,
                   (unsigned long long)evaluated, cases[i].rec);
      /* The case's alerts of the rule(s) compiled. */
      const char *all = k ? cases[i].not_searched : cases[i].searched;
      for (const char *a = all; *a; a += strcspn(a, "|") + 1) {
        int len = (int)strcspn(a, "|") + 1;
        if (!k || (strncmp(a + 2, rule, strlen(rule)) == 0 && a[2 + strlen(rule)] == '|'))
          snprintf(want + strlen(want), sizeof want - strlen(want), "%.*s", len, a);
      }
      outcome o = scan(rs[k], cases[i].rec, n, 0, 0);
      char alerts[256];
      list_alerts(&o, k ? "N " : "S ", true, alerts, sizeof alerts);
      cr_expect_str_eq(alerts, want, "%s: %s", what, cases[i].rec);
      outcome_free(&o);
    }
  for (size_t k = 0; k <= nnot; k++)
    ctr_ruleset_unref(rs[k]);
}

/* s3.uri is "s3://" + bucketName + "/" + key (CTR__RAW_S3_URI): a literal
 * with no ':' or '/' that is not part of "s3" is searched in the record, as
 * it must lie in the bucket's or the key's content; one that may touch the
 * joints is not. Checked by hand. */
Test(prefilter, s3_uri_literals_lie_in_bucket_or_key)
{
#define SREC(agent, rp)                                                                                          \
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\"},\"eventTime\":\"2026-11-28T00:00:00Z\"," \
  "\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"GetObject\",\"awsRegion\":\"us-east-1\","            \
  "\"userAgent\":\"" agent "\",\"requestParameters\":{" rp "}}\n"
  static const literal_case cases[] = {
    /* 0-3: in the bucket, in the key past a '/', elsewhere, nowhere */
    {SREC("x", "\"bucketName\":\"db-backup\",\"key\":\"k\""), 1, "0:S contains|", "0:N scheme|0:N equal|"},
    {SREC("x", "\"bucketName\":\"b\",\"key\":\"nightly/backup.sql\""), 1, "0:S contains|", "0:N scheme|"},
    {SREC("backup", "\"bucketName\":\"b\",\"key\":\"k\""), 1, "", "0:N scheme|0:N equal|"},
    {SREC("x", "\"bucketName\":\"b\",\"key\":\"k\""), 0, "", "0:N scheme|0:N equal|"},
    /* 4-5: spelt by a \u escape; in another case */
    {SREC("x", "\"bucketName\":\"back\\u0075p\",\"key\":\"k\""), 1, "0:S contains|", "0:N scheme|"},
    {SREC("x", "\"bucketName\":\"ARCHIVE-1\",\"key\":\"k\""), 1, "0:S folded|", "0:N scheme|"},
    /* 6-8: the key's end; no key; a key that is no string ("") */
    {SREC("x", "\"bucketName\":\"b\",\"key\":\"a.tar.gz\""), 1, "0:S suffix|", "0:N scheme|"},
    {SREC("x", "\"bucketName\":\"backup\""), 1, "", ""},
    {SREC("x", "\"bucketName\":\"backup\",\"key\":5"), 1, "0:S contains|", "0:N scheme|"},
    /* 9-10: across the joint, or the scheme: only unsearched rules see them */
    {SREC("x", "\"bucketName\":\"back\",\"key\":\"up\""), 0, "", "0:N scheme|0:N joint|"},
    {SREC("x", "\"bucketName\":\"x\",\"key\":\"k\""), 0, "", "0:N scheme|0:N colon|"},
  };
#undef SREC
  static const char searched[] =
    "- rule: S contains\n  desc: d\n  condition: s3.uri contains backup\n  output: o\n  priority: info\n"
    "- rule: S folded\n  desc: d\n  condition: s3.uri icontains Archive\n  output: o\n  priority: info\n"
    "- rule: S suffix\n  desc: d\n  condition: s3.uri endswith \".tar.gz\"\n  output: o\n  priority: info\n";
  static const named_condition not_searched[] = {
    {"N scheme", "  condition: s3.uri icontains S3\n"},
    {"N equal", "  condition: s3.uri = \"s3://db-backup/k\" or s3.uri = \"s3://b/k\"\n"},
    {"N joint", "  condition: s3.uri contains \"back/up\"\n"},
    {"N colon", "  condition: s3.uri glob \"*3://x*\"\n"},
  };
  check_literal_cases(cases, CTR__COUNTOF(cases), searched, not_searched, CTR__COUNTOF(not_searched));
}

/* json.obj re-indents the record (CTR__RAW_JSON_TEXT): a literal inside one
 * of its strings is in the record's bytes as written; one that may hold the
 * indentation, punctuation, a number or a keyword is not searched. */
Test(prefilter, json_obj_literals_lie_in_one_string)
{
#define OREC(agent, extra)                                                                                       \
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\"},\"eventTime\":\"2026-11-28T00:00:00Z\"," \
  "\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"GetObject\",\"awsRegion\":\"us-east-1\","     \
  "\"userAgent\":\"" agent "\"" extra "}\n"
  static const literal_case cases[] = {
    /* 0-3: in a value, in a key, in no string, nowhere */
    {OREC("db-backup-tool", ""), 1, "0:S contains|", "0:N indent|0:N keyword|"},
    {OREC("x", ",\"db-backup\":1"), 1, "0:S contains|", "0:N indent|0:N keyword|"},
    {OREC("x", ",\"readOnly\":true,\"n\":[1.50,2]"), 0, "", "0:N indent|0:N keyword|0:N number|0:N truth|"},
    {OREC("x", ""), 0, "", "0:N indent|0:N keyword|"},
    /* 4-5: in another case; an escape kept as written (no alert either way) */
    {OREC("ARCHIVE", ""), 1, "0:S folded|", "0:N indent|0:N keyword|"},
    {OREC("db-back\\u0075p", ""), 1, "", "0:N indent|0:N keyword|"},
  };
#undef OREC
  static const char searched[] =
    "- rule: S contains\n  desc: d\n  condition: json.obj contains db-backup\n  output: o\n  priority: info\n"
    "- rule: S folded\n  desc: d\n  condition: jevt.obj icontains archive\n  output: o\n  priority: info\n";
  static const named_condition not_searched[] = {
    /* block scalars: the conditions hold ": "; \\n is the condition's escape */
    {"N indent", "  condition: |-\n    json.obj contains '\",\\n  \"'\n"},
    {"N keyword", "  condition: |-\n    json.obj contains 'Name\": '\n"},
    {"N number", "  condition: |-\n    json.obj contains '1.50,'\n"},
    {"N truth", "  condition: |-\n    json.obj contains 'true,\\n'\n"},
  };
  check_literal_cases(cases, CTR__COUNTOF(cases), searched, not_searched, CTR__COUNTOF(not_searched));
}

/* Records a case-insensitive literal must keep (the literal in another case,
 * behind an escaped quote, a glob's run in the middle) and records holding
 * it only where the rule does not look, under the unkeyed rules: the same
 * alerts both ways, and a record holding no literal is never parsed. */
Test(prefilter, unkeyed_folded_literals)
{
#define REC(type, name, src, agent, extra)                                                                        \
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"" type "\",\"arn\":\"arn:aws:iam::1:user/x\"},"      \
  "\"eventTime\":\"2026-11-28T00:00:00Z\",\"eventSource\":\"" src ".amazonaws.com\",\"eventName\":\"" name "\"," \
  "\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"10.0.0.1\",\"userAgent\":\"" agent "\"" extra "}\n"
  static const char recs[] =
    REC("IAMUser", "CREATEACCESSKEY", "iam", "x", "")                               /* 0: folded name */
    REC("IAMUser", "DeleteTrail", "cloudtrail", "x", "")                            /* 1 */
    REC("IAMUser", "StopLoggingNow", "cloudtrail", "x", "")                         /* 2: glob prefix */
    REC("IAMUser", "GetObject", "iam", "createaccesskey", "")                       /* 3: literal elsewhere */
    REC("IAMUser", "GetObject", "S3", "Mozilla \\\"CuStOm-ToOl\\\" x", "")          /* 4: folded, escapes */
    REC("IAMUser", "GetObject", "ec2", "Mozilla \\\"custom-tool\\\" x", "")         /* 5: source differs */
    REC("Root", "GetObject", "s3", "x", "")                                        /* 6 */
    REC("root", "GetObject", "s3", "x", "")                                        /* 7: Root is cased */
    REC("IAMUser", "GetObject", "s3", "aws-cli Prompt/Off Command/KMS", "")         /* 8: icontains */
    REC("IAMUser", "GetObject", "s3", "x", ",\"requestParameters\":{\"bucketName\":\"a-DATA-4242\"}") /* 9: cased */
    REC("IAMUser", "GetObject", "s3", "x", ",\"requestParameters\":{\"bucketName\":\"a-data-42421\"}") /* 10 */
    REC("IAMUser", "GetObject", "s3", "spaced", ",\"requestParameters\":{\"list\":[1, 2]}") /* 11 */
    REC("IAMUser", "GetObject", "s3", "x", ",\"awsRegion\":\"Ap-Southeast-2\"")   /* 12: repeated key: jansson */
    REC("IAMUser", "GetObject", "s3", "tool [x] y", "")                             /* 13: bracket */
    REC("IAMUser", "GetObject", "s3", "toolzz 1", "")                               /* 14: regex */
    REC("IAMUser", "GetObject", "s3", "a:assumed-role/aws:b", "")                   /* 15: regex */
    REC("IAMUser", "GetObject", "s3", "x", "");                                     /* 16: nothing */
#undef REC
  ctr_ruleset *rs = ruleset(RS_UNKEYED);
  for (unsigned flags = 0; flags <= CTR_SCAN_NO_INDEX; flags += CTR_SCAN_NO_INDEX) {
    outcome o = scan(rs, recs, sizeof recs - 1, 0, flags);
    char alerts[1024];
    list_alerts(&o, "U ", true, alerts, sizeof alerts);
    cr_expect_str_eq(alerts,
                     "0:U sigma names|1:U sigma names|2:U sigma names|4:U sigma agent|6:U root|8:U icontains|"
                     "10:U json contains|11:U compact list|12:U json region|13:U escaped bracket|14:U regex optional|"
                     "15:U regex arn|",
                     "flags %u: %s", flags, alerts);
    outcome_free(&o);
  }
  for (size_t chunk = 1; chunk < 40; chunk += 13)
    same_both_ways(rs, "rds+20+unkeyed", recs, sizeof recs - 1, chunk, "folded literal records, chunked", NULL);
  const char *last = recs + sizeof recs - 1;
  do
    last--;
  while (last[-1] != '\n');
  outcome o = scan(rs, last, (size_t)(recs + sizeof recs - 1 - last), 0, 0);
  cr_expect_eq(o.records, 1);
  cr_expect_eq(o.evaluated, 0, "a record holding no literal of any unkeyed rule was parsed");
  outcome_free(&o);
  ctr_ruleset_unref(rs);
}

/* What the adversarial records (tests/bench/README.md lists them) must give,
 * prefilter or not, checked by hand: the escaped, duplicated and spaced-out
 * eventNames and errorCodes alert as jansson decodes them, a literal hidden
 * in a string or a nested object does not, and every malformed or incomplete
 * record is reported. */
Test(prefilter, adversarial_records)
{
  size_t len;
  char *adv = tu_read(tu_tests("bench/adversarial.ndjson"), &len);
  ctr_ruleset *rs = ruleset(RS_RDS_20);
  for (unsigned flags = 0; flags <= CTR_SCAN_NO_INDEX; flags += CTR_SCAN_NO_INDEX) {
    outcome o = scan(rs, adv, len, 0, flags);
    char alerts[512], reports[1024] = "";
    list_alerts(&o, "", false, alerts, sizeof alerts);
    for (const char *line = o.reports; *line; line += strcspn(line, "\n") + 1) {
      size_t used = strlen(reports), field = strcspn(line, "|") + 1;
      field += strcspn(line + field, "|") + 1;
      field += strcspn(line + field, "|");
      snprintf(reports + used, sizeof reports - used, "%.*s ", (int)field, line);
    }
    cr_expect_str_eq(alerts, "0 1 2 3 4 6 9 11 12 14 16 17 18 34 38 39 ", "flags %u", flags);
    cr_expect_str_eq(reports,
                     "15|EDATA|0 19|EDATA|0 21|EDATA|0 22|EDATA|0 23|EDATA|0 24|EDATA|0 25|EDATA|0 26|EDATA|0 "
                     "27|EDATA|0 28|EDATA|0 29|EDATA|0 30|EDATA|0 31|EDATA|1 32|EDATA|1 33|EDATA|1 34|EDATA|1 "
                     "36|EDATA|1 41|EDATA|0 42|EDATA|0 ",
                     "flags %u:\n%s", flags, o.reports);
    outcome_free(&o);
  }
  ctr_ruleset_unref(rs);
  free(adv);
}

/* The thousand generated rules are keyed on write APIs that include PutObject
 * and CreateLogStream, frequent in the corpus; their literals (a JSON value,
 * a source IP prefix) rule most of those records out, so the thousand rules
 * cost about as many parses as the twenty. Pins the gain the benchmark's
 * "1,000 rules >= 0.8x the 20-rule rate" target depends on. */
Test(prefilter, thousand_rules_parse_about_as_few_as_twenty)
{
  size_t len;
  char *gen = ctb_corpus_ndjson(20000, 11, &len);
  ctr_ruleset *twenty = ruleset(RS_RDS_20), *thousand = ruleset(RS_RDS_20_1000);
  outcome a = scan(twenty, gen, len, 0, 0), b = scan(thousand, gen, len, 0, 0);
  cr_assert_eq(a.records, 20000);
  cr_assert_gt(b.matches.count, a.matches.count, "the generated rules never fired");
  /* What is left: the generated rules' own alerts and the rules with no
   * literal to look for (not ct.error exists, accountid != ...). */
  cr_assert_lt(b.evaluated * 2, a.evaluated * 3, "%llu records parsed for 1,000 rules, %llu for 20",
               (unsigned long long)b.evaluated, (unsigned long long)a.evaluated);
  outcome_free(&a);
  outcome_free(&b);
  ctr_ruleset_unref(twenty);
  ctr_ruleset_unref(thousand);
  free(gen);
}

/* The literal rules ("G ...") rule out most records of the eventNames they
 * are keyed on, and still fire: their parses beyond the twenty rules' are
 * compared with what the same names cost when nothing else is required. */
Test(prefilter, literals_rule_out_candidates)
{
  static const char names_only[] =
    "- rule: names\n  desc: d\n  condition: ct.name in (GetObject, Decrypt, AssumeRole, HeadObject, GenerateDataKey,"
    " ListRoles, GetRole, DescribeVolumes, DescribeKey, GetParameters)\n  output: o\n  priority: info\n";
  size_t len;
  char *gen = ctb_corpus_ndjson(5000, 11, &len);
  ctr_ruleset *names = tu_compile(names_only, NULL, 0), *twenty = ruleset(RS_RDS_20), *lits = ruleset(RS_LITERALS);
  cr_assert_not_null(names);
  uint64_t by_name = same_both_ways(names, "names only", gen, len, 0, "generated NDJSON", NULL);
  uint64_t base = same_both_ways(twenty, "rds+20", gen, len, 0, "generated NDJSON", NULL);
  uint64_t with_literals = same_both_ways(lits, "rds+20+literals", gen, len, 0, "generated NDJSON", NULL);
  outcome o = scan(lits, gen, len, 0, 0);
  char fired[1024] = "";
  size_t distinct = 0;
  for (const char *line = o.matches.text; *line; line += strcspn(line, "\n") + 1) {
    const char *rule = line + strcspn(line, "\t") + 1;
    int n = (int)strcspn(rule, "\t");
    char name[128];
    snprintf(name, sizeof name, "|%.*s|", n, rule);
    if (strncmp(rule, "G ", 2) == 0 && !strstr(fired, name) && strlen(fired) + strlen(name) < sizeof fired) {
      strcat(fired, name);
      distinct++;
    }
  }
  cr_assert_geq(distinct, 10, "only these literal rules fired: %s", fired);
  /* Left to parse: the rules' own alerts, the four "G" rules with nothing to
   * rule out with (about 5.5% of the records) and whatever a literal that is
   * present elsewhere in a record lets through. */
  cr_assert_lt((with_literals - base) * 4, by_name,
               "%llu records parsed beyond the twenty rules' %llu, %llu when keyed by name alone",
               (unsigned long long)(with_literals - base), (unsigned long long)base, (unsigned long long)by_name);
  outcome_free(&o);
  ctr_ruleset_unref(names);
  ctr_ruleset_unref(twenty);
  ctr_ruleset_unref(lits);
  free(gen);
}

/* What adversarial.ndjson records 43-95 must give under the literal rules,
 * prefilter or not, checked by hand: every literal hidden behind an escape,
 * every computed or reformatted value alerts; a literal found elsewhere in
 * the record (46, 56), a near miss (48) and half of an allof (67) do not. */
Test(prefilter, literal_traps)
{
  size_t len;
  char *adv = tu_read(tu_tests("bench/adversarial.ndjson"), &len);
  ctr_ruleset *rs = ruleset(RS_LITERALS);
  for (unsigned flags = 0; flags <= CTR_SCAN_NO_INDEX; flags += CTR_SCAN_NO_INDEX) {
    outcome o = scan(rs, adv, len, 0, flags);
    char alerts[2048];
    list_alerts(&o, "P ", true, alerts, sizeof alerts);
    cr_expect_str_eq(alerts,
                     "43:P escaped slash|44:P quoted literal|45:P unicode escape|47:P regex characters|"
                     "49:P readonly number|50:P compact request|51:P reformatted number|52:P compact object|"
                     "53:P compact array|54:P json true|55:P json true|57:P json true prefix|58:P s3 uri|"
                     "59:P tolower|60:P icontains|61:P formatted time|62:P under not|63:P or with a free branch|"
                     "64:P pmatch|65:P synthesised user|66:P allof|68:P empty literal|69:P non-string value|"
                     "70:P info|71:P indented record|72:P escape in an array|73:P escape in a nested object|"
                     "74:P unicode letter|76:P escape elsewhere|77:P backslash|78:P newline|79:P request string|"
                     "80:P response escape|81:P response unicode|82:P aed spaced|82:P aed compact prefix|"
                     "83:P request number folded|84:P quote escape|86:P tab escape|88:P resources contains|"
                     "89:P resources joined|90:P resources joined prefix|91:P json cidr|92:P json cidr escaped|"
                     "93:P json reformatted|94:P resources in|95:P resources pmatch|",
                     "flags %u", flags);
    outcome_free(&o);
  }
  /* Record 75 holds an escape, but not where it could spell tool9: the
   * literal check still rules it out, unparsed. */
  const char *line = adv, *end = adv + len;
  for (int k = 0; k < 74; k++) /* line 74 (from 0) is record 75; line 41 holds a NUL */
    line = (const char *)memchr(line, '\n', (size_t)(end - line)) + 1;
  outcome o = scan(rs, line, (size_t)((const char *)memchr(line, '\n', (size_t)(end - line)) - line), 0, 0);
  cr_expect_eq(o.records, 1);
  cr_expect_eq(o.evaluated, 0, "record 75 was parsed: an escape elsewhere turned the literal check off");
  outcome_free(&o);
  /* Records 85 and 87 hold an escape of another kind than the one that
   * could spell a byte of their rule's literal (\" against tool/13's '/',
   * \n against a tab): ruled out unparsed too. */
  for (int k = 75; k < 85; k++) /* from record 75 to record 85 */
    line = (const char *)memchr(line, '\n', (size_t)(end - line)) + 1;
  for (int at = 85; at <= 87; at += 2) {
    size_t n = (size_t)((const char *)memchr(line, '\n', (size_t)(end - line)) - line);
    o = scan(rs, line, n, 0, 0);
    cr_expect_eq(o.records, 1);
    cr_expect_eq(o.evaluated, 0, "record %d was parsed: an escape that spells none of the literal's bytes", at);
    outcome_free(&o);
    line += n + 1;
    if (at == 85)
      line = (const char *)memchr(line, '\n', (size_t)(end - line)) + 1;
  }
  ctr_ruleset_unref(rs);
  free(adv);
}

/* ------------------------------------------------------------ members */

/* Rules that are evaluated on every record (no keyed field: nothing is
 * prefiltered) and render every field between them, a few per rule so that
 * each alert line stays whole, json.value on pointers into every kind of
 * member, and json.obj. */
static ctr_ruleset *every_field_rules(void)
{
  static const char *const pointers[] = {
    "/eventName", "/userIdentity/type", "/userIdentity/sessionContext/sessionIssuer/userName",
    "/requestParameters", "/requestParameters/dBInstanceIdentifier", "/responseElements", "/resources/0/ARN",
    "/readOnly", "/eventVersion", "/additionalEventData", "/tlsDetails/tlsVersion", "/nosuchkey", "/",
    "/Records/0", "/detail/eventName",
  };
  size_t cap = 1 << 16, len = 0;
  char *yaml = malloc(cap);
  cr_assert_not_null(yaml);
  size_t nfields = ctr_field_count(), per_rule = 6, rule = 0;
  for (size_t i = 0; i < nfields + sizeof pointers / sizeof *pointers; rule++) {
    len += (size_t)snprintf(yaml + len, cap - len,
                            "- rule: Every field %zu\n  desc: d\n  condition: evt.num > 0\n  priority: info\n"
                            "  output: \"",
                            rule);
    for (size_t k = 0; k < per_rule && i < nfields + sizeof pointers / sizeof *pointers; i++) {
      const char *name = i < nfields ? ctr_field_name(i) : NULL;
      if (name && (strcmp(name, "json.value") == 0 || strcmp(name, "jevt.value") == 0 || strcmp(name, "rds.params.value") == 0 ||
                   strcmp(name, "json.values") == 0 || strcmp(name, "json.ip") == 0)) /* they need an argument */
        continue;
      if (name)
        len += (size_t)snprintf(yaml + len, cap - len, "%s=%%%s ", name, name);
      else
        len += (size_t)snprintf(yaml + len, cap - len, "v%zu=%%json.value[%s] ", i - nfields,
                                pointers[i - nfields]);
      k++;
      cr_assert_lt(len, cap - 256);
    }
    len += (size_t)snprintf(yaml + len, cap - len, "\"\n");
  }
  ctr_ruleset *rs = tu_compile(yaml, NULL, 0);
  cr_assert_not_null(rs, "the every-field rules do not compile:\n%s", yaml);
  free(yaml);
  return rs;
}

/* A record the framer walked is parsed member by member, as rules read them;
 * a record fed a few bytes at a time spans chunks and is parsed whole. Every
 * field on every record of every corpus reads the same both ways, and so do
 * the bad and incomplete-record reports. */
Test(prefilter, members_parsed_alone_read_as_the_whole_record)
{
  corpus v[192];
  size_t n = corpora(v, 192);
  ctr_ruleset *rs = every_field_rules();
  uint64_t evaluated = 0;
  for (size_t i = 0; i < n; i++) {
    outcome walked = scan(rs, v[i].data, v[i].len, 0, 0);
    outcome whole = scan(rs, v[i].data, v[i].len, 61, 0);
    cr_assert_str_eq(walked.matches.text, whole.matches.text, "%s: fields differ", v[i].name);
    cr_assert_str_eq(walked.reports, whole.reports, "%s: record reports differ", v[i].name);
    cr_assert_eq(walked.evaluated, whole.evaluated, "%s", v[i].name);
    evaluated += walked.evaluated;
    outcome_free(&walked);
    outcome_free(&whole);
  }
  cr_assert_gt(evaluated, 5000, "only %llu records evaluated", (unsigned long long)evaluated);
  ctr_ruleset_unref(rs);
  corpora_free(v, n);
}

/* Records whose members test the member-by-member parse: a repeated key (the
 * last value counts, as in jansson), more members than the walk notes (the
 * record is parsed whole), escaped strings, numbers and literals. */
Test(prefilter, members_edge_records)
{
  static const char head[] = "{\"eventVersion\":\"1.08\",\"eventTime\":\"2026-11-29T10:00:00Z\","
                             "\"eventSource\":\"rds.amazonaws.com\",\"awsRegion\":\"us-east-1\","
                             "\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\\/1\"},";
  char buf[8192];
  size_t len = 0;
  len += (size_t)snprintf(buf + len, sizeof buf - len,
                          "%s\"eventName\":\"E1\",\"x\":\"first\",\"n\":-1.5,\"t\":true,\"x\":\"second\"}\n", head);
  len += (size_t)snprintf(buf + len, sizeof buf - len, "%s\"eventName\":\"E2\"", head);
  for (int i = 0; i < 70; i++)
    len += (size_t)snprintf(buf + len, sizeof buf - len, ",\"k%d\":%d", i, i);
  len += (size_t)snprintf(buf + len, sizeof buf - len, ",\"x\":\"late\"}\n");
  len += (size_t)snprintf(buf + len, sizeof buf - len,
                          "%s\"eventName\":\"E3\",\"x\":\"tab\\there\",\"n\":0,\"t\":null,\"o\":{\"x\":[1,{}]}}\n",
                          head);
  ctr_ruleset *rs = tu_compile("- rule: M\n  desc: d\n  condition: ct.name startswith E\n  priority: info\n"
                               "  output: \"%ct.name %ct.user x=%json.value[/x] n=%json.value[/n] "
                               "t=%json.value[/t] o=%json.value[/o] k69=%json.value[/k69]\"\n",
                               NULL, 0);
  cr_assert_not_null(rs);
  outcome walked = scan(rs, buf, len, 0, 0), whole = scan(rs, buf, len, 1, 0);
  cr_expect_str_eq(walked.matches.text,
                   "0\tM\tE1 u/1 x=second n=-1.5 t=true o=<NA> k69=<NA>\n"
                   "1\tM\tE2 u/1 x=late n=<NA> t=<NA> o=<NA> k69=69\n"
                   "2\tM\tE3 u/1 x=tab\there n=0 t=null o={\"x\":[1,{}]} k69=<NA>\n");
  cr_expect_str_eq(walked.matches.text, whole.matches.text);
  cr_expect_str_eq(walked.reports, "");
  outcome_free(&walked);
  outcome_free(&whole);
  ctr_ruleset_unref(rs);
}

/* The literal search the prefilter uses agrees with memmem: every literal
 * position (start, middle, the last 16 bytes, straddling a 16-byte block),
 * near misses, repeated first and last bytes, lengths 0 to 40. */
Test(prefilter, literal_search_agrees_with_memmem)
{
  char hay[300], lit[48];
  unsigned seed = 12345;
  for (int round = 0; round < 20000; round++) {
    seed = seed * 1103515245u + 12345u;
    size_t n = (seed >> 8) % sizeof hay, m = (seed >> 20) % 41;
    char alphabet = (char)(2 + (seed >> 4) % 3); /* few letters: many partial matches */
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      hay[i] = (char)('a' + (seed >> 16) % (unsigned)alphabet);
    }
    for (size_t i = 0; i < m; i++) {
      seed = seed * 1103515245u + 12345u;
      lit[i] = (char)('a' + (seed >> 16) % (unsigned)alphabet);
    }
    if (m <= n && (seed & 1)) { /* plant it, at any position */
      size_t at = (seed >> 9) % (n - m + 1);
      memcpy(hay + at, lit, m);
    }
    bool want = memmem(hay, n, lit, m) != NULL;
    cr_assert_eq(ctr__contains(hay, n, lit, m), want, "round %d: n %zu m %zu: %.*s in %.*s", round, n, m, (int)m,
                 lit, (int)n, hay);
  }
}

/* A naive folded search, the reference for litmatch.c. */
static bool naive_folded(const char *hay, size_t n, const char *lit, size_t m)
{
  for (size_t i = 0; i + m <= n; i++) {
    size_t k = 0;
    while (k < m && tolower((unsigned char)hay[i + k]) == (unsigned char)lit[k])
      k++;
    if (k == m)
      return true;
  }
  return false;
}

/* One pass for many literals (litmatch.c) finds exactly the literals one
 * search each finds, cased or folded, short or long, sharing their last
 * bytes or not, at the record's edges; and the folded search agrees with a
 * naive one. */
Test(prefilter, multi_literal_pass_agrees_with_single_searches)
{
  enum { NLITS = 40 };
  char hay[400], store[NLITS][16];
  ctr__str lits[NLITS];
  bool folded[NLITS];
  unsigned seed = 777;
#define NEXT() (seed = seed * 1103515245u + 12345u, seed >> 16)
  for (int round = 0; round < 3000; round++) {
    static const char alpha[] = "abAB-1:";
    unsigned na = 2 + NEXT() % 6; /* few characters: many partial matches and shared keys */
    size_t n = NEXT() % sizeof hay;
    for (size_t i = 0; i < n; i++)
      hay[i] = alpha[NEXT() % na];
    for (int k = 0; k < NLITS; k++) {
      size_t m = 1 + NEXT() % 12;
      folded[k] = NEXT() & 1;
      for (size_t i = 0; i < m; i++) {
        char ch = alpha[NEXT() % na];
        store[k][i] = folded[k] ? (char)tolower((unsigned char)ch) : ch;
      }
      lits[k] = (ctr__str){store[k], m};
      if (m <= n && NEXT() % 3 == 0) /* planted, at the edges too */
        memcpy(hay + (NEXT() & 1 ? n - m : NEXT() % (n - m + 1)), store[k], m);
    }
    ctr__arena pool = {0};
    ctr__litmatch *lm = ctr__litmatch_build(&pool, lits, folded, NLITS);
    cr_assert_not_null(lm);
    uint64_t found[1] = {0};
    ctr__litmatch_scan(lm, hay, n, found);
    for (int k = 0; k < NLITS; k++) {
      bool want = folded[k] ? naive_folded(hay, n, lits[k].s, lits[k].len)
                            : memmem(hay, n, lits[k].s, lits[k].len) != NULL;
      if (folded[k])
        cr_assert_eq(ctr__contains_folded(hay, n, lits[k].s, lits[k].len), want, "round %d literal %d", round, k);
      cr_assert_eq((bool)(found[0] >> k & 1), want, "round %d: literal %d '%.*s' (folded %d) in '%.*s'", round, k,
                   (int)lits[k].len, lits[k].s, folded[k], (int)n, hay);
    }
    ctr__arena_free(&pool);
  }
#undef NEXT
}

/* Records no rule is a candidate for are judged from what the walk read,
 * unparsed (the cheap path for a flood of empty or bare objects): every
 * combination of missing keys, escaped eventSource and eventName, Insight
 * records, non-string values, each gets the report, text and stats a parse
 * gives (1-byte feeding: no record is walked, every one is parsed). */
Test(prefilter, records_no_rule_reads_are_judged_as_a_parse_would)
{
  static const char *const parts[] = {"\"eventVersion\":\"1.08\"", "\"eventTime\":\"2025-03-01T10:00:00Z\"",
                                      "\"eventName\":\"NoRuleReadsThis\"", "\"awsRegion\":\"us-east-1\"",
                                      "\"eventSource\":\"x.amazonaws.com\"", "\"userIdentity\":{\"type\":\"Root\"}"};
  ctr__buf in = {0};
  for (unsigned mask = 0; mask < 64; mask++) {
    ctr__buf_append_char(&in, '{');
    for (unsigned i = 0; i < 6; i++)
      if (mask & (1u << i))
        ctr__buf_printf(&in, "%s%s", in.data[in.len - 1] == '{' ? "" : ",", parts[i]);
    ctr__buf_append_str(&in, "}\n");
  }
  ctr__buf_append_str(&in, "{}\n[]\n{\"eventSource\":\"x.amazonaws.co\\u006d\",\"eventName\":\"NoRule\"}\n"
                           "{\"eventSource\":\"x\\u002eamazonaws.com\"}\n{\"eventSource\":\"x.example.com\"}\n"
                           "{\"eventSource\":7,\"eventName\":{},\"userIdentity\":\"Root\",\"awsRegion\":null}\n"
                           "{\"eventType\":\"AwsCloudTrailInsight\"}\n{\"eventType\":\"AwsCloudTrail\\u0049nsight\"}\n"
                           "{\"eventName\":\"No\\u0052ule\"}\n{\"eventName\":\"\"}\n");
  ctr_ruleset *rs = tu_compile("- rule: r\n  desc: d\n  condition: ct.name = CreateUser\n  output: o\n  priority: info\n",
                               NULL, 0);
  cr_assert_not_null(rs);
  outcome walked = scan(rs, in.data, in.len, 0, 0), parsed = scan(rs, in.data, in.len, 1, 0);
  cr_assert_str_eq(walked.reports, parsed.reports);
  cr_assert_eq(walked.records, parsed.records);
  cr_assert_eq(walked.evaluated, parsed.evaluated);
  cr_assert(strstr(walked.reports, "0|EDATA|1|incomplete CloudTrail record: no string eventVersion, eventTime, "
                                   "eventName, awsRegion, no string eventSource, no userIdentity object (evaluated "
                                   "anyway)\n"),
            "%s", walked.reports);
  cr_assert(!strstr(walked.reports, "\n63|"), "the complete record is not reported: %s", walked.reports);
  /* stats through a scanner of its own */
  ctr_scanner *a, *b;
  cr_assert_eq(ctr_scanner_new(rs, NULL, NULL, &a), CTR_OK);
  cr_assert_eq(ctr_scanner_new(rs, NULL, NULL, &b), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(a, in.data, in.len), CTR_OK);
  for (size_t i = 0; i < in.len; i++)
    cr_assert_eq(ctr_scanner_feed(b, in.data + i, 1), CTR_OK);
  ctr_scanner_finish(a);
  ctr_scanner_finish(b);
  for (int s = 0; s < CTR_STAT__COUNT; s++)
    cr_assert_eq(ctr_scanner_stat(a, s), ctr_scanner_stat(b, s), "stat %d", s);
  cr_assert_str_eq(ctr_scanner_last_error(a), ctr_scanner_last_error(b));
  cr_assert_gt(ctr_scanner_stat(a, CTR_STAT_SKIPPED), 0);
  ctr_scanner_free(a);
  ctr_scanner_free(b);
  outcome_free(&walked);
  outcome_free(&parsed);
  ctr__buf_free(&in);
  ctr_ruleset_unref(rs);
}

/* ------------------------------------------------------------ regex literals */

/* What a regex requires, as "lit|lit|..." ("-": nothing known). */
static void regex_lits(const char *pat, char *out, size_t cap)
{
  ctr__arena scratch = {0};
  ctr__str *v;
  size_t n;
  snprintf(out, cap, "-");
  if (ctr__regex_literals(&scratch, pat, strlen(pat), &v, &n)) {
    size_t at = 0;
    for (size_t i = 0; i < n && at < cap; i++)
      at += (size_t)snprintf(out + at, cap - at, "%s%.*s", i ? "|" : "", (int)v[i].len, v[i].s);
  }
  cr_assert_not(scratch.failed);
  ctr__arena_free(&scratch);
}

/* The literals taken from each construct, and every construct that must
 * give none. */
Test(prefilter, regex_literals_of_each_construct)
{
  static const struct {
    const char *pat, *want;
  } t[] = {
    {"(Delete|Stop)DB.*", "DeleteDB|StopDB"},
    {"(?:Delete|Stop)DB(Instance|Cluster)", "DeleteDBInstance|DeleteDBCluster|StopDBInstance|StopDBCluster"},
    {".+:assumed-role/aws:.+", ":assumed-role/aws:"},
    {"tooly?z+ .*", "toolyz|toolz"},
    {"colou?r", "colour|color"},
    {"ab*cde", "cde"},
    {"a.bcd", "bcd"},
    {"x(abc|de)+y", "xabc|xde"},
    {"(abc.*|xyz)q", "abc|xyz"},
    {"Delete.*|Stop.*", "Delete|Stop"},
    {"Delete.*|.*", "-"},
    {"(a|)bcd", "abcd|bcd"},
    {"(a|b)(c|d)(e|f)(g|h)(i|j)xyzw", "ixyzw|jxyzw"},
    {"a\\.b\\*", "a.b*"},
    {"(?s:.*)(?:Stop(Logging|Trail)\\E)(?s:.*)", "StopLogging|StopTrail"},
    {"(?s:.*)(?:a)(b\\E)(?s:.*)", "-"},
    {"(abc)*", "-"},
    {"(abc)?d", "abcd|d"},
    {"[A-Z]bc", "-"},
    {"abc{2}", "-"},
    {"\\dabc", "-"},
    {"\\Qabc\\E", "-"},
    {"(?i)abc", "-"},
    {"(?=abc)abc", "-"},
    {"(?<n>abc)", "-"},
    {"(*ACCEPT)abc", "-"},
    {"caf\xc3\xa9", "-"},
    {"(abc", "-"},
    {"abc)", "-"},
    {"", "-"},
    {".*", "-"},
    {"a", "a"},
    {"a+?bc", "bc"},
  };
  /* nesting: 32 groups deep is read, 33 is not */
  char deep[2][128];
  for (int d = 0; d < 2; d++) {
    int n = 32 + d;
    snprintf(deep[d], sizeof deep[d], "%.*sabc%.*s", n, "(((((((((((((((((((((((((((((((((((((((((", n,
             "))))))))))))))))))))))))))))))))))))))))");
  }
  char got[512];
  regex_lits(deep[0], got, sizeof got);
  cr_expect_str_eq(got, "abc", "%s", deep[0]);
  regex_lits(deep[1], got, sizeof got);
  cr_expect_str_eq(got, "-", "%s", deep[1]);
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    regex_lits(t[i].pat, got, sizeof got);
    cr_expect_str_eq(got, t[i].want, "%s: got %s", t[i].pat, got);
  }
}

/* Every string of up to 8 letters over {a, b, c} that a pattern fully
 * matches (PCRE2, as compile.c compiles it) holds one of the literals taken
 * from it: the literals never rule out a match. */
Test(prefilter, regex_literals_hold_in_every_match)
{
  static const char *const pats[] = {
    "(a|bc)+c?", "a(b|c)*b", "(ab|ac)(b|)c", "(?:a|b)(?:c|a)b+", "c?(ab)+", ".*(abc|cab).*", "a.b", "((a|b)c|ca)b",
    "a|b|c", "a*bc", "(a|b)(a|c)(b|c)(a|b)(c|a)", "(ab?c|b)+a", "(a|bb|ccc)(a|bb|ccc)", "b(a|)(a|)(a|)b",
    "(a+|b)c", "(?:(?:a|b)(?:c|a))+", "ab|b.a|cc", "((ab|ba)?c)+", "ab*", "c(ab)*c", "(bc)*a", "ab?c?a",
    "(a|b)+?c", "a(b|c)?+a"};
  size_t with_literals = 0;
  for (size_t p = 0; p < sizeof pats / sizeof pats[0]; p++) {
    ctr__arena scratch = {0};
    ctr__str *v;
    size_t n;
    if (!ctr__regex_literals(&scratch, pats[p], strlen(pats[p]), &v, &n)) {
      ctr__arena_free(&scratch);
      continue;
    }
    with_literals++;
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pats[p], PCRE2_ZERO_TERMINATED,
                                   PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err,
                                   &off, NULL);
    cr_assert_not_null(re, "%s", pats[p]);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    size_t matched = 0;
    for (size_t len = 0; len <= 8; len++) {
      size_t total = 1;
      for (size_t k = 0; k < len; k++)
        total *= 3;
      for (size_t code = 0; code < total; code++) {
        char str[9];
        size_t c = code;
        for (size_t k = 0; k < len; k++, c /= 3)
          str[k] = (char)('a' + c % 3);
        str[len] = '\0';
        if (pcre2_match(re, (PCRE2_SPTR)str, len, 0, 0, md, NULL) < 0)
          continue;
        matched++;
        bool held = false;
        for (size_t i = 0; i < n && !held; i++)
          held = ctr__contains(str, len, v[i].s, v[i].len);
        cr_assert(held, "%s matches \"%s\", which holds none of its %zu literals", pats[p], str, n);
      }
    }
    cr_assert_gt(matched, 0, "%s matched nothing: the test tests nothing", pats[p]);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    ctr__arena_free(&scratch);
  }
  cr_assert_geq(with_literals, 15, "too few patterns gave literals");
}

/* A regex with groups keeps the prefilter on and rules records out: the
 * same alerts with and without it, and only records holding one of the
 * alternatives parsed. */
Test(prefilter, regex_alternatives_rule_records_out)
{
  static const char rules[] =
    "- rule: R regex groups\n  desc: d\n  condition: ct.useragent regex \"(Delete|Stop)DB(Instance|Cluster).*\"\n"
    "  output: o %ct.useragent\n  priority: info\n";
#define REC(agent)                                                                                                \
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\"},\"eventTime\":\"2026-11-28T00:00:00Z\","     \
  "\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"X\",\"awsRegion\":\"us-east-1\",\"userAgent\":\"" agent   \
  "\"}\n"
  static const char recs[] = REC("DeleteDBInstance now") REC("StopDBCluster") REC("xStopDBCluster")
    REC("StartDBCluster") REC("DeleteDB Instance") REC("Stop\\/DBCluster") REC("nothing");
#undef REC
  ctr_ruleset *rs = tu_compile(rules, NULL, 0);
  cr_assert_not_null(rs);
  cr_assert_not_null(rs->prefilter, "the regex rule turned the prefilter off");
  uint64_t all, evaluated = same_both_ways(rs, "regex groups", recs, sizeof recs - 1, 0, "regex records", &all);
  cr_assert_eq(all, 7);
  cr_assert_eq(evaluated, 3, "records holding DeleteDBInstance or StopDBCluster: %llu parsed",
               (unsigned long long)evaluated);
  outcome o = scan(rs, recs, sizeof recs - 1, 0, 0);
  char alerts[256];
  list_alerts(&o, "R ", false, alerts, sizeof alerts);
  cr_expect_str_eq(alerts, "0 1 ");
  outcome_free(&o);
  for (size_t chunk = 1; chunk < 50; chunk += 17)
    same_both_ways(rs, "regex groups", recs, sizeof recs - 1, chunk, "regex records, chunked", NULL);
  ctr_ruleset_unref(rs);
}
