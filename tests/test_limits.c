/* test_limits.c - every resource limit through the public API: its default,
 * its setter, the error when it is exceeded (a positioned diagnostic naming
 * the limit for rules, a bad-record report for records), and that work goes
 * on past a record over a limit. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ helpers */

typedef struct compiled {
  int add_rc, compile_rc;
  ctr_ruleset *rs;
  char first_error[1024]; /* ctr_diag_text of the first error */
  char code[64];
  char item[128];
  unsigned line, column, errors;
} compiled;

/* Compiles `yaml` as "rules.yaml" with one compiler limit set (limit < 0:
 * none). */
static compiled compile_with(int limit, uint64_t value, const char *yaml)
{
  compiled r = {0};
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  if (limit >= 0)
    cr_assert_eq(ctr_compiler_set_limit(c, limit, value), CTR_OK);
  r.add_rc = ctr_compiler_add_string(c, yaml, strlen(yaml), "rules.yaml");
  r.compile_rc = ctr_compiler_compile(c, &r.rs);
  for (size_t i = 0; i < ctr_compiler_diag_count(c); i++) {
    const ctr_diag *d = ctr_compiler_diag(c, i);
    if (ctr_diag_severity(d) != CTR_SEVERITY_ERROR)
      continue;
    if (r.errors++ == 0) {
      snprintf(r.first_error, sizeof r.first_error, "%s", ctr_diag_text(d));
      snprintf(r.code, sizeof r.code, "%s", ctr_diag_code(d));
      snprintf(r.item, sizeof r.item, "%s", ctr_diag_item(d) ? ctr_diag_item(d) : "");
      r.line = ctr_diag_line(d);
      r.column = ctr_diag_column(d);
    }
  }
  ctr_compiler_free(c);
  if (r.compile_rc != CTR_OK)
    r.rs = NULL;
  return r;
}

static char *repeat(const char *piece, size_t times, const char *head, const char *tail)
{
  size_t n = strlen(piece) * times + strlen(head) + strlen(tail) + 1;
  char *s = malloc(n);
  cr_assert(s != NULL);
  strcpy(s, head);
  for (size_t i = 0; i < times; i++)
    strcat(s, piece);
  strcat(s, tail);
  return s;
}

#define RULE_TAIL "  output: o\n  priority: WARNING\n  source: aws_cloudtrail\n"

/* A complete CloudTrail record with the given eventName and user name. */
static void record(char *out, size_t size, const char *name, const char *user)
{
  snprintf(out, size,
           "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"%s\"},"
           "\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"%s\","
           "\"awsRegion\":\"eu-west-1\"}\n",
           user, name);
}

typedef struct reports {
  int status[8];
  uint64_t index[8], offset[8];
  int evaluated[8];
  char message[8][512];
  size_t n;
} reports;

static void on_error(const ctr_record_error *e, void *ud)
{
  reports *r = ud;
  if (r->n < 8) {
    r->status[r->n] = ctr_record_error_status(e);
    r->index[r->n] = ctr_record_error_index(e);
    r->offset[r->n] = ctr_record_error_offset(e);
    r->evaluated[r->n] = ctr_record_error_evaluated(e);
    snprintf(r->message[r->n], sizeof r->message[0], "%s", ctr_record_error_message(e));
  }
  r->n++;
}

static int count_match(const ctr_match *m, void *ud)
{
  (void)m;
  (*(int *)ud)++;
  return 0;
}

static const char *ANY_RULE = "- rule: any\n  desc: d\n  condition: ct.name exists\n" RULE_TAIL;

/* ------------------------------------------------------------ the table */

Test(limits, defaults_and_names)
{
  static const struct {
    int limit;
    const char *name;
    uint64_t def;
  } want[] = {
    {CTR_LIMIT_RECORD_BYTES, "record_bytes", 16u << 20},
    {CTR_LIMIT_JSON_DEPTH, "json_depth", 64},
    {CTR_LIMIT_GZIP_OUTPUT, "gzip_output", (uint64_t)64 << 30},
    {CTR_LIMIT_YAML_ALIASES, "yaml_aliases", 10000},
    {CTR_LIMIT_YAML_NODES, "yaml_nodes", 2000000},
    {CTR_LIMIT_CONDITION_BYTES, "condition_bytes", 262144},
    {CTR_LIMIT_MACRO_DEPTH, "macro_depth", 64},
    {CTR_LIMIT_CONDITION_NODES, "condition_nodes", 100000},
    {CTR_LIMIT_RULES, "rules", 20000},
    {CTR_LIMIT_REGEX_MATCH, "regex_match", 100000},
    {CTR_LIMIT_REGEX_DEPTH, "regex_depth", 10000},
    {CTR_LIMIT_LIST_ITEMS, "list_items", 100000},
    {CTR_LIMIT_GZIP_RATIO, "gzip_ratio", 200},
    {CTR_LIMIT_CORRELATION_EVENTS, "correlation_events", 100000},
    {CTR_LIMIT_CORRELATION_LATENESS, "correlation_lateness", 900},
  };
  cr_assert_eq(sizeof want / sizeof want[0], CTR_LIMIT__COUNT);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    cr_assert_str_eq(ctr_limit_name(want[i].limit), want[i].name);
    cr_assert_eq(ctr_limit_default(want[i].limit), want[i].def, "%s", want[i].name);
  }
  cr_assert_null(ctr_limit_name(CTR_LIMIT__COUNT));
  cr_assert_null(ctr_limit_name(-1));
  cr_assert_eq(ctr_limit_default(CTR_LIMIT__COUNT), 0);
}

Test(limits, each_setter_takes_only_its_limits)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  ctr_ruleset *rs = tu_compile(ANY_RULE, NULL, 0);
  cr_assert_not_null(rs);
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, NULL, NULL, &sc), CTR_OK);
  for (int l = 0; l < CTR_LIMIT__COUNT; l++) {
    bool record_limit = l == CTR_LIMIT_RECORD_BYTES || l == CTR_LIMIT_JSON_DEPTH || l == CTR_LIMIT_GZIP_OUTPUT ||
                        l == CTR_LIMIT_GZIP_RATIO || l == CTR_LIMIT_CORRELATION_EVENTS ||
                        l == CTR_LIMIT_CORRELATION_LATENESS;
    bool regex_limit = l == CTR_LIMIT_REGEX_MATCH || l == CTR_LIMIT_REGEX_DEPTH;
    cr_assert_eq(ctr_compiler_set_limit(c, l, 7), record_limit ? CTR_EINVAL : CTR_OK, "%s", ctr_limit_name(l));
    cr_assert_eq(ctr_scanner_set_limit(sc, l, 7), record_limit || regex_limit ? CTR_OK : CTR_EINVAL, "%s",
                 ctr_limit_name(l));
    /* 0 restores the default wherever the limit applies */
    cr_assert_eq(ctr_compiler_set_limit(c, l, 0), record_limit ? CTR_EINVAL : CTR_OK);
    cr_assert_eq(ctr_scanner_set_limit(sc, l, 0), record_limit || regex_limit ? CTR_OK : CTR_EINVAL);
  }
  cr_assert_eq(ctr_compiler_set_limit(c, CTR_LIMIT__COUNT, 1), CTR_EINVAL);
  cr_assert_eq(ctr_compiler_set_limit(c, -1, 1), CTR_EINVAL);
  cr_assert_eq(ctr_compiler_set_limit(NULL, CTR_LIMIT_RULES, 1), CTR_EINVAL);
  cr_assert_eq(ctr_compiler_set_limit(c, CTR_LIMIT_REGEX_MATCH, (uint64_t)UINT32_MAX + 1), CTR_EINVAL);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_REGEX_DEPTH, (uint64_t)UINT32_MAX + 1), CTR_EINVAL);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  ctr_compiler_free(c);
}

Test(limits, zero_restores_the_default)
{
  const char *two = "- rule: a\n  desc: d\n  condition: ct.name exists\n" RULE_TAIL
                    "- rule: b\n  desc: d\n  condition: ct.name exists\n" RULE_TAIL;
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_set_limit(c, CTR_LIMIT_RULES, 1), CTR_OK);
  cr_assert_eq(ctr_compiler_set_limit(c, CTR_LIMIT_RULES, 0), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, two, strlen(two), "r.yaml"), CTR_OK);
  ctr_compiler_free(c);
}

/* ------------------------------------------------------------ rules limits */

Test(limits, yaml_aliases)
{
  /* the fourth alias is one too many; it sits at column 29 */
  const char *yaml = "- list: l\n  items: [&v x, *v, *v, *v, *v]\n";
  compiled r = compile_with(CTR_LIMIT_YAML_ALIASES, 3, yaml);
  cr_assert_eq(r.add_rc, CTR_ESYNTAX);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert_str_eq(r.first_error, "rules.yaml:2:29: error: more than 3 YAML aliases (limit yaml_aliases)");
  cr_assert_str_eq(r.code, "LOAD_ERR_YAML_PARSE");
  /* at the default, four aliases are fine and the list has five items */
  r = compile_with(-1, 0, "- list: l\n  items: [&v x, *v, *v, *v, *v]\n"
                          "- rule: r\n  desc: d\n  condition: ct.name in (l)\n" RULE_TAIL);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error);
  ctr_ruleset_unref(r.rs);
}

Test(limits, yaml_billion_laughs_stops_at_the_default)
{
  /* 10001 aliases of one anchor: refused at the default, in bounded time */
  char *yaml = repeat(", *a", 10001, "- list: l\n  items: [&a lol", "]\n");
  clock_t t0 = clock();
  compiled r = compile_with(-1, 0, yaml);
  cr_assert_eq(r.add_rc, CTR_ESYNTAX);
  cr_assert(strstr(r.first_error, "rules.yaml:2:") == r.first_error, "%s", r.first_error);
  cr_assert(strstr(r.first_error, "more than 10000 YAML aliases (limit yaml_aliases)"), "%s", r.first_error);
  cr_assert_lt((double)(clock() - t0) / CLOCKS_PER_SEC, 5.0);
  free(yaml);
}

Test(limits, yaml_nodes)
{
  const char *yaml = "- list: l\n  items: [a, b, c, d, e, f, g, h]\n";
  /* the document's sequence, the item's map, "list", "l", "items", the items'
   * sequence and 8 scalars: 14 nodes; the 11th is "e" */
  compiled r = compile_with(CTR_LIMIT_YAML_NODES, 10, yaml);
  cr_assert_eq(r.add_rc, CTR_ESYNTAX);
  cr_assert_str_eq(r.first_error, "rules.yaml:2:23: error: more than 10 YAML nodes (limit yaml_nodes)");
  cr_assert_str_eq(r.code, "LOAD_ERR_YAML_PARSE");
  r = compile_with(CTR_LIMIT_YAML_NODES, 14, yaml);
  cr_assert_eq(r.add_rc, CTR_OK, "%s", r.first_error);
  ctr_ruleset_unref(r.rs);
}

Test(limits, condition_bytes)
{
  const char *yaml = "- rule: long one\n  desc: d\n  condition: ct.name = StopDBInstance or ct.name = StartDBInstance\n" RULE_TAIL;
  compiled r = compile_with(CTR_LIMIT_CONDITION_BYTES, 40, yaml);
  cr_assert_eq(r.add_rc, CTR_OK);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert_str_eq(r.first_error,
                   "rules.yaml:3:14: error: condition is 53 bytes long, more than 40 (limit condition_bytes) (in 'long one')");
  cr_assert_str_eq(r.code, "LOAD_ERR_COMPILE_CONDITION");
  cr_assert_str_eq(r.item, "long one");
  r = compile_with(CTR_LIMIT_CONDITION_BYTES, 53, yaml);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error);
  ctr_ruleset_unref(r.rs);
  /* a macro's condition is bounded the same way, at the macro */
  r = compile_with(CTR_LIMIT_CONDITION_BYTES, 20,
                   "- macro: m\n  condition: ct.name = StopDBInstance\n"
                   "- rule: r\n  desc: d\n  condition: m\n" RULE_TAIL);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert(strstr(r.first_error, "rules.yaml:2:14: error: condition is 24 bytes long, more than 20 (limit condition_bytes)"),
            "%s", r.first_error);
  cr_assert_str_eq(r.item, "m");
}

/* A chain of n macros m1 -> m2 -> ... -> mn -> a check, used by rule r. */
static char *macro_chain(unsigned n)
{
  size_t cap = 128 + n * 64;
  char *s = malloc(cap);
  cr_assert(s != NULL);
  size_t len = (size_t)snprintf(s, cap, "- macro: m%u\n  condition: ct.name exists\n", n);
  for (unsigned i = n - 1; i >= 1; i--)
    len += (size_t)snprintf(s + len, cap - len, "- macro: m%u\n  condition: m%u\n", i, i + 1);
  snprintf(s + len, cap - len, "- rule: r\n  desc: d\n  condition: m1\n" RULE_TAIL);
  return s;
}

Test(limits, macro_depth)
{
  char *yaml = macro_chain(6);
  compiled r = compile_with(CTR_LIMIT_MACRO_DEPTH, 5, yaml);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  /* m5's condition, "m6" on line 4, is the sixth level */
  cr_assert_str_eq(r.first_error, "rules.yaml:4:14: error: macro expansion deeper than 5 levels (limit macro_depth) (in 'r')");
  cr_assert_str_eq(r.code, "LOAD_ERR_COMPILE_CONDITION");
  cr_assert_eq(r.errors, 1);
  r = compile_with(CTR_LIMIT_MACRO_DEPTH, 6, yaml);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error);
  ctr_ruleset_unref(r.rs);
  free(yaml);
  /* the default is 64 */
  yaml = macro_chain(64);
  r = compile_with(-1, 0, yaml);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error);
  ctr_ruleset_unref(r.rs);
  free(yaml);
  yaml = macro_chain(65);
  r = compile_with(-1, 0, yaml);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert(strstr(r.first_error, "macro expansion deeper than 64 levels (limit macro_depth)"), "%s", r.first_error);
  free(yaml);
}

Test(limits, condition_nodes_bound_doubling_macros)
{
  /* each macro uses the previous one twice: 2^40 nodes once expanded */
  char yaml[8192];
  size_t len = (size_t)snprintf(yaml, sizeof yaml, "- macro: d0\n  condition: ct.name = X\n");
  for (int i = 1; i <= 40; i++)
    len += (size_t)snprintf(yaml + len, sizeof yaml - len, "- macro: d%d\n  condition: (d%d or d%d)\n", i, i - 1, i - 1);
  snprintf(yaml + len, sizeof yaml - len, "- rule: bomb\n  desc: d\n  condition: d40\n" RULE_TAIL);
  clock_t t0 = clock();
  compiled r = compile_with(-1, 0, yaml);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert(strstr(r.first_error, "condition has more than 100000 nodes once its macros are expanded (limit condition_nodes) (in 'bomb')"),
            "%s", r.first_error);
  cr_assert_eq(r.errors, 1, "one diagnostic, not one per expansion path");
  cr_assert_lt((double)(clock() - t0) / CLOCKS_PER_SEC, 5.0);
  /* a small limit counts exactly: a macro reference is a node, and so is each
   * node of its body: the rule is ref(d2), d2 is or(ref(d1) x 2), d1 is
   * or(ref(d0) x 2), d0 one check: 1 + 1 + 2 * (1 + 1 + 2 * (1 + 1)) = 14 */
  const char *small = "- macro: d0\n  condition: ct.name = X\n- macro: d1\n  condition: (d0 or d0)\n"
                      "- macro: d2\n  condition: (d1 or d1)\n- rule: r\n  desc: d\n  condition: d2\n" RULE_TAIL;
  r = compile_with(CTR_LIMIT_CONDITION_NODES, 14, small);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error);
  ctr_ruleset_unref(r.rs);
  r = compile_with(CTR_LIMIT_CONDITION_NODES, 13, small);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert(strstr(r.first_error, "more than 13 nodes"), "%s", r.first_error);
}

/* The node bound counts a rule's condition and its exceptions together; the
 * message names what passed it and says "macros" only when some took part. */
Test(limits, condition_nodes_names_what_applies)
{
  /* condition: 1 node; exception: not(or(and(2 checks) x 2)) = 1 + 1 + 2 * 3 = 8 */
  const char *exc = "- rule: r\n  desc: d\n  condition: ct.name = X\n" RULE_TAIL
                    "  exceptions:\n  - name: known\n    fields: [ct.name, ct.region]\n"
                    "    values: [[a, b], [c, d]]\n";
  compiled r = compile_with(CTR_LIMIT_CONDITION_NODES, 5, exc);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert(strstr(r.first_error,
                   "error: exception 'known': the condition and its exceptions have more than 5 nodes (limit condition_nodes) (in 'r')"),
            "%s", r.first_error);
  cr_assert_eq(r.errors, 1);
  r = compile_with(CTR_LIMIT_CONDITION_NODES, 9, exc);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error);
  ctr_ruleset_unref(r.rs);
  /* a macro in the condition: the exception's message says so */
  const char *mac = "- macro: m\n  condition: ct.name = X\n"
                    "- rule: r\n  desc: d\n  condition: m\n" RULE_TAIL
                    "  exceptions:\n  - name: known\n    fields: [ct.name, ct.region]\n"
                    "    values: [[a, b], [c, d]]\n";
  r = compile_with(CTR_LIMIT_CONDITION_NODES, 5, mac);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert(strstr(r.first_error,
                   "exception 'known': the condition and its exceptions have more than 5 nodes once macros are expanded"),
            "%s", r.first_error);
  /* no macro, no exception: the condition alone, no word of macros */
  const char *plain = "- rule: r\n  desc: d\n  condition: ct.name = X and ct.region = Y and ct.user = Z\n" RULE_TAIL;
  r = compile_with(CTR_LIMIT_CONDITION_NODES, 2, plain);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert(strstr(r.first_error, "error: condition has more than 2 nodes (limit condition_nodes) (in 'r')"), "%s",
            r.first_error);
}

Test(limits, rules)
{
  const char *yaml = "- rule: a\n  desc: d\n  condition: ct.name exists\n" RULE_TAIL
                     "- rule: b\n  desc: d\n  condition: ct.name exists\n" RULE_TAIL
                     "- rule: a\n  desc: redefined, not counted again\n  condition: ct.name exists\n" RULE_TAIL
                     "- rule: c\n  desc: d\n  condition: ct.name exists\n" RULE_TAIL;
  compiled r = compile_with(CTR_LIMIT_RULES, 2, yaml);
  cr_assert_eq(r.add_rc, CTR_ESYNTAX);
  cr_assert_str_eq(r.first_error, "rules.yaml:19:9: error: more than 2 rules (limit rules) (in 'c')");
  cr_assert_str_eq(r.code, "LOAD_ERR_VALIDATE");
  r = compile_with(CTR_LIMIT_RULES, 3, yaml);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error);
  cr_assert_eq(ctr_ruleset_rule_count(r.rs), 3);
  ctr_ruleset_unref(r.rs);
}

/* Issue 18: the built-in rules plus 10,000 of an account's own load with the
 * default limits (the rules limit counts the built-in ones too). */
Test(limits, builtin_plus_10000_rules_load_by_default)
{
  enum { N = 10000 };
  size_t cap = (size_t)N * 200 + 64, len = 0;
  char *yaml = malloc(cap);
  cr_assert(yaml != NULL);
  for (int i = 0; i < N; i++)
    len += (size_t)snprintf(yaml + len, cap - len,
                            "- rule: r%d\n  desc: d\n  condition: ct.name = PutBucketPolicy and "
                            "s3.bucket = bucket-%d\n" RULE_TAIL,
                            i, i);
  ctr_compiler *c;
  ctr_ruleset *rs = NULL;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_builtin(c, "rds"), CTR_OK);
  int rc = ctr_compiler_add_string(c, yaml, len, "mine.yaml");
  if (rc == CTR_OK)
    rc = ctr_compiler_compile(c, &rs);
  for (size_t i = 0; rc != CTR_OK && i < ctr_compiler_diag_count(c); i++)
    cr_log_error("%s", ctr_diag_text(ctr_compiler_diag(c, i)));
  cr_assert_eq(rc, CTR_OK);
  size_t builtin = ctr_ruleset_rule_count(rs) - N;
  cr_assert_gt(builtin, 40);
  cr_assert_lt(builtin + N, ctr_limit_default(CTR_LIMIT_RULES), "room is left for the built-in rules to grow");
  ctr_ruleset_unref(rs);
  ctr_compiler_free(c);
  free(yaml);
}

Test(limits, list_items_bound_nested_lists)
{
  /* l(i) names l(i-1) twice: l15 expands to 2^16 values */
  char yaml[8192];
  size_t len = (size_t)snprintf(yaml, sizeof yaml, "- list: l0\n  items: [a, b]\n");
  for (int i = 1; i <= 15; i++)
    len += (size_t)snprintf(yaml + len, sizeof yaml - len, "- list: l%d\n  items: [l%d, l%d]\n", i, i - 1, i - 1);
  snprintf(yaml + len, sizeof yaml - len, "- rule: r\n  desc: d\n  condition: ct.name in (l15)\n" RULE_TAIL);
  compiled r = compile_with(-1, 0, yaml);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error); /* 65536 values: under the default */
  ctr_ruleset_unref(r.rs);
  r = compile_with(CTR_LIMIT_LIST_ITEMS, 1000, yaml);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert(strstr(r.first_error, "rules.yaml:35:26: error: more than 1000 values in one list once its lists are expanded (limit list_items) (in 'r')"),
            "%s", r.first_error);
  /* literal values count too */
  r = compile_with(CTR_LIMIT_LIST_ITEMS, 2, "- rule: r\n  desc: d\n  condition: ct.name in (a, 'b', c)\n" RULE_TAIL);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert(strstr(r.first_error, "rules.yaml:3:34: error: more than 2 values"), "%s", r.first_error);
}

/* ------------------------------------------------------------ PCRE2 limits */

/* Nested quantifiers over a string that almost matches: exponential
 * backtracking, which only the match limit stops. */
static const char *REGEX_RULES =
  "- rule: slow regex\n  desc: d\n  condition: ct.user regex \"(a|aa)+\"\n" RULE_TAIL
  "- rule: negated slow regex\n  desc: d\n  condition: not ct.user regex \"(a|aa)+\"\n" RULE_TAIL
  "- rule: plain\n  desc: d\n  condition: ct.name = StopDBInstance\n" RULE_TAIL;

static void scan_regex(ctr_ruleset *rs, uint64_t scanner_match_limit, reports *rep, int *matches)
{
  char rec[4096], user[64];
  memset(user, 'a', 30);
  strcpy(user + 30, "b");
  record(rec, sizeof rec, "StopDBInstance", user);
  char buf[8192];
  snprintf(buf, sizeof buf, "%s%s", rec, rec);
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, count_match, matches, &sc), CTR_OK);
  ctr_scanner_set_error_callback(sc, on_error, rep);
  if (scanner_match_limit)
    cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_REGEX_MATCH, scanner_match_limit), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, buf, strlen(buf)), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_BAD_RECORDS), 0);
  /* complete records: a rule left undecided is told, not counted as an
   * incomplete record */
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_INCOMPLETE), 0);
  ctr_scanner_free(sc);
}

Test(limits, regex_match_limit_leaves_the_rule_undecided)
{
  compiled r = compile_with(CTR_LIMIT_REGEX_MATCH, 1000, REGEX_RULES);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error);
  reports rep = {0};
  int matches = 0;
  scan_regex(r.rs, 0, &rep, &matches);
  /* both regex rules are reported on both records; neither is a match, the
   * negated one included; the plain rule still matches both records */
  cr_assert_eq(matches, 2);
  cr_assert_eq(rep.n, 4);
  cr_assert_eq(rep.status[0], CTR_ELIMIT);
  cr_assert_eq(rep.evaluated[0], 1);
  cr_assert_eq(rep.index[0], 0);
  cr_assert_eq(rep.offset[0], 0);
  cr_assert_str_eq(rep.message[0],
                   "rule 'slow regex' not evaluated: a regex hit the PCRE2 limit (limit regex_match 1000, regex_depth 10000)");
  cr_assert(strstr(rep.message[1], "rule 'negated slow regex' not evaluated"), "%s", rep.message[1]);
  cr_assert_eq(rep.index[2], 1);
  cr_assert_gt(rep.offset[2], 0);
  /* a scanner may raise the limit for itself: then the regex decides */
  memset(&rep, 0, sizeof rep);
  matches = 0;
  scan_regex(r.rs, 100000000, &rep, &matches);
  cr_assert_eq(rep.n, 0, "%s", rep.message[0]);
  cr_assert_eq(matches, 4); /* plain and the negated regex, on both records */
  ctr_ruleset_unref(r.rs);
}

Test(limits, regex_depth_limit)
{
  compiled r = compile_with(CTR_LIMIT_REGEX_DEPTH, 5, REGEX_RULES);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error);
  reports rep = {0};
  int matches = 0;
  scan_regex(r.rs, 0, &rep, &matches);
  cr_assert_eq(rep.n, 4);
  cr_assert_str_eq(rep.message[0],
                   "rule 'slow regex' not evaluated: a regex hit the PCRE2 limit (limit regex_match 100000, regex_depth 5)");
  ctr_ruleset_unref(r.rs);
}

Test(limits, regex_default_limit_stops_backtracking)
{
  compiled r = compile_with(-1, 0, REGEX_RULES);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error);
  reports rep = {0};
  int matches = 0;
  clock_t t0 = clock();
  scan_regex(r.rs, 0, &rep, &matches);
  cr_assert_lt((double)(clock() - t0) / CLOCKS_PER_SEC, 5.0);
  cr_assert_eq(rep.n, 4);
  cr_assert(strstr(rep.message[0], "(limit regex_match 100000, regex_depth 10000)"), "%s", rep.message[0]);
  ctr_ruleset_unref(r.rs);
}

/* ------------------------------------------------------------ record limits */

/* Scans `buf` with one scanner limit; the any-rule matches every good record. */
static int scan_with(int limit, uint64_t value, const void *buf, size_t len, reports *rep, int *matches)
{
  ctr_ruleset *rs = tu_compile(ANY_RULE, NULL, 0);
  cr_assert_not_null(rs);
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, count_match, matches, &sc), CTR_OK);
  ctr_scanner_set_error_callback(sc, on_error, rep);
  cr_assert_eq(ctr_scanner_set_limit(sc, limit, value), CTR_OK);
  int rc = ctr_scanner_feed(sc, buf, len);
  if (rc == CTR_OK)
    rc = ctr_scanner_finish(sc);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  return rc;
}

Test(limits, record_bytes)
{
  char a[1024], big[1024], b[1024], buf[4096];
  record(a, sizeof a, "StopDBInstance", "bob");
  record(big, sizeof big, "StopDBInstance", "a-rather-long-user-name-that-pushes-this-record-over");
  record(b, sizeof b, "StartDBInstance", "amy");
  snprintf(buf, sizeof buf, "%s%s%s", a, big, b);
  reports rep = {0};
  int matches = 0;
  cr_assert_eq(scan_with(CTR_LIMIT_RECORD_BYTES, strlen(a), buf, strlen(buf), &rep, &matches), CTR_OK);
  cr_assert_eq(matches, 2);
  cr_assert_eq(rep.n, 1);
  cr_assert_eq(rep.status[0], CTR_ELIMIT);
  cr_assert_eq(rep.index[0], 1);
  cr_assert_eq(rep.offset[0], strlen(a));
  cr_assert_eq(rep.evaluated[0], 0);
  char want[128];
  snprintf(want, sizeof want, "record exceeds the limit of %zu bytes", strlen(a));
  cr_assert_str_eq(rep.message[0], want);
}

Test(limits, json_depth)
{
  char a[1024], buf[4096];
  record(a, sizeof a, "StopDBInstance", "bob");
  snprintf(buf, sizeof buf, "%s{\"eventName\":{\"a\":{\"b\":{\"c\":1}}}}\n%s", a, a);
  reports rep = {0};
  int matches = 0;
  cr_assert_eq(scan_with(CTR_LIMIT_JSON_DEPTH, 3, buf, strlen(buf), &rep, &matches), CTR_OK);
  cr_assert_eq(matches, 2);
  cr_assert_eq(rep.n, 1);
  cr_assert_eq(rep.status[0], CTR_ELIMIT);
  cr_assert_eq(rep.index[0], 1);
  cr_assert_eq(rep.offset[0], strlen(a));
  cr_assert_str_eq(rep.message[0], "JSON nesting deeper than 3");
}

Test(limits, gzip_output)
{
  /* a gzip stream of 1 MiB of blanks: a bomb for a 64 KiB limit */
  size_t n;
  char *gz = tu_read(tu_tests("catalogue/bomb.json.gz"), &n);
  reports rep = {0};
  int matches = 0;
  cr_assert_eq(scan_with(CTR_LIMIT_GZIP_OUTPUT, 65536, gz, n, &rep, &matches), CTR_ELIMIT);
  cr_assert_eq(matches, 1); /* the record before the blanks was scanned */
  cr_assert_eq(rep.n, 1);
  cr_assert_eq(rep.status[0], CTR_ELIMIT);
  cr_assert_str_eq(rep.message[0], "gzip expands beyond the limit of 65536 bytes");
  /* at the default the same input is read to the end */
  memset(&rep, 0, sizeof rep);
  matches = 0;
  cr_assert_eq(scan_with(CTR_LIMIT_GZIP_OUTPUT, 0, gz, n, &rep, &matches), CTR_OK);
  cr_assert_eq(rep.n, 0, "%s", rep.message[0]);
  cr_assert_eq(matches, 1);
  free(gz);
}

/* Each macro nests 400 levels (well within one condition's bound), and
 * references the next: expanded, that used to exhaust the stack while
 * compiling. The compiled nesting is bounded like a written condition's. */
static char *nested_macros(unsigned n)
{
  char *s = malloc(n * 2100 + 256);
  cr_assert(s != NULL);
  size_t len = (size_t)sprintf(s, "- macro: m%u\n  condition: ct.name exists\n", n);
  for (unsigned i = n - 1; i >= 1; i--) {
    len += (size_t)sprintf(s + len, "- macro: m%u\n  condition: ", i);
    for (int k = 0; k < 400; k++)
      len += (size_t)sprintf(s + len, "not ");
    len += (size_t)sprintf(s + len, "m%u\n", i + 1);
  }
  sprintf(s + len, "- rule: deep\n  desc: d\n  condition: m1\n" RULE_TAIL);
  return s;
}

Test(limits, expanded_nesting_is_bounded)
{
  char *yaml = nested_macros(4); /* 3 x 400 levels */
  compiled r = compile_with(-1, 0, yaml);
  cr_assert_eq(r.compile_rc, CTR_ESYNTAX);
  cr_assert(strstr(r.first_error, "condition is nested deeper than 1000 levels once its macros are expanded (in 'deep')"),
            "%s", r.first_error);
  cr_assert_eq(r.errors, 1);
  free(yaml);
  /* 2 x 400 levels compile, and evaluate (an even number of nots) */
  yaml = nested_macros(3);
  r = compile_with(-1, 0, yaml);
  cr_assert_eq(r.compile_rc, CTR_OK, "%s", r.first_error);
  char rec[1024];
  record(rec, sizeof rec, "StopDBInstance", "bob");
  int matches = 0;
  cr_assert_eq(ctr_scan_buffer(r.rs, rec, strlen(rec), 0, count_match, &matches), CTR_OK);
  cr_assert_eq(matches, 1);
  ctr_ruleset_unref(r.rs);
  free(yaml);
}
