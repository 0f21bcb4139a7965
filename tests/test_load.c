/* test_load.c - loading rules: YAML items, append/override, exceptions,
 * versions, selection, and diagnostics with exact positions. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static char diags[16384];

#define RULE(name, cond) \
  "- rule: " name "\n  desc: d\n  condition: " cond "\n  output: o\n  priority: info\n  source: aws_cloudtrail\n"

static const char *EV_STOP =
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bob\"},\"eventTime\":\"2025-03-01T10:02:11Z\","
  "\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"StopDBInstance\",\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":\"1.2.3.4\"}\n";

static size_t count(const char *yaml, const char *events)
{
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert_not_null(rs, "compile failed:\n%s", diags);
  tu_matches m = {0};
  tu_scan(rs, events, strlen(events), 0, 0, &m);
  size_t n = m.count;
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
  return n;
}

static void expect_error(const char *yaml, const char *expected)
{
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert_null(rs, "compiled but expected: %s", expected);
  cr_assert(strstr(diags, expected), "expected '%s' in:\n%s", expected, diags);
}

Test(load, malformed_yaml_has_position)
{
  expect_error("- rule: x\n  desc: [unclosed\n", "rules.yaml:3:1: error: invalid YAML");
}

Test(load, not_a_sequence)
{
  expect_error("rule: x\n", "rules.yaml:1:1: error: rules content is not a YAML sequence");
}

Test(load, unknown_key_and_item_are_warnings)
{
  cr_assert_eq(count(RULE("r", "ct.name = StopDBInstance") "  colour: blue\n- foo: bar\n", EV_STOP), 1);
  cr_assert(strstr(diags, "rules.yaml:7:3: warning: unknown key 'colour' (ignored) (in 'r')"), "%s", diags);
  cr_assert(strstr(diags, "rules.yaml:8:3: warning: unknown top-level item"), "%s", diags);
}

Test(load, missing_required_key)
{
  expect_error("- rule: r\n  desc: d\n  condition: ct.name exists\n  priority: info\n",
               "error: item has no mapping for key 'output' (in 'r')");
}

Test(load, invalid_priority)
{
  expect_error("- rule: r\n  desc: d\n  condition: ct.name exists\n  output: o\n  priority: severe\n",
               "rules.yaml:5:13: error: invalid priority 'severe'");
}

Test(load, unknown_field_points_into_block_scalar)
{
  expect_error("- rule: r\n  desc: d\n  condition: >\n    ct.name = X and\n      ct.nosuch = 1\n  output: o\n  priority: info\n",
               "rules.yaml:5:7: error: unknown field 'ct.nosuch' (in 'r')");
  expect_error("- rule: r\n  desc: d\n  condition: |\n    ct.name = X\n    and ct.bad exists\n  output: o\n  priority: info\n",
               "rules.yaml:5:9: error: unknown field 'ct.bad'");
  expect_error("- rule: r\n  desc: d\n  condition: \"ct.name = X and ct.bad exists\"\n  output: o\n  priority: info\n",
               "rules.yaml:3:31: error: unknown field 'ct.bad'");
}

Test(load, bad_regex_has_position)
{
  expect_error(RULE("r", "ct.name regex \"(unclosed\""), "rules.yaml:3:28: error: invalid regex: missing closing parenthesis");
}

Test(load, unbalanced_parens)
{
  expect_error(RULE("r", "(ct.name = X and (ct.src = Y)"), "rules.yaml:3:43: error: expected ')' or 'and'/'or', found end of condition");
  expect_error(RULE("r", "ct.name = X)"), "rules.yaml:3:25: error: unexpected ')'");
}

Test(load, undefined_macro_and_loop)
{
  expect_error(RULE("r", "ct.name = X and nosuch_macro"), "rules.yaml:3:30: error: undefined macro 'nosuch_macro'");
  expect_error("- macro: a\n  condition: b\n- macro: b\n  condition: ct.name = X and a\n" RULE("r", "a"),
               "error: macro 'a' references itself (macro loop)");
}

Test(load, binary_operators_rejected)
{
  expect_error(RULE("r", "ct.name bcontains 414243"), "operator 'bcontains' works only on binary fields");
}

Test(load, field_arguments_checked)
{
  expect_error(RULE("r", "json.value exists"), "field 'json.value' requires an argument");
  expect_error(RULE("r", "ct.name[1] exists"), "field 'ct.name' takes no argument");
  expect_error(RULE("r", "s3.bytes contains 5"), "operator 'contains' cannot be used on a numeric field");
  expect_error(RULE("r", "s3.bytes = abc"), "'abc' is not an unsigned integer");
}

Test(load, lists_expand_inside_parens)
{
  const char *y = "- list: a\n  items: [StopDBInstance]\n- list: b\n  items: [a, DeleteDBCluster]\n" RULE("r", "ct.name in (b)");
  cr_assert_eq(count(y, EV_STOP), 1);
  const char *y2 = "- list: a\n  items: [StopDBInstance]\n- list: a\n  items: [Other]\n" RULE("r", "ct.name in (a)");
  cr_assert_eq(count(y2, EV_STOP), 0, "redefinition replaces the items");
}

Test(load, list_used_as_macro_is_explained)
{
  expect_error("- list: regions\n  items: [x]\n" RULE("r", "regions"), "'regions' is a list, not a macro");
}

Test(load, append_and_override)
{
  const char *base = "- list: names\n  items: [DeleteDBCluster]\n" RULE("r", "ct.name in (names)");
  cr_assert_eq(count(base, EV_STOP), 0);
  char y[4096];
  snprintf(y, sizeof y, "%s- list: names\n  items: [StopDBInstance]\n  override:\n    items: append\n", base);
  cr_assert_eq(count(y, EV_STOP), 1);
  snprintf(y, sizeof y, "%s- list: names\n  items: [StopDBInstance]\n  append: true\n", base);
  cr_assert_eq(count(y, EV_STOP), 1);
  cr_assert(strstr(diags, "deprecated"), "%s", diags);
  snprintf(y, sizeof y, "%s- rule: r\n  condition: and ct.region = nowhere\n  override:\n    condition: append\n", base);
  cr_assert_eq(count(y, "{\"eventName\":\"DeleteDBCluster\",\"awsRegion\":\"x\"}"), 0);
  snprintf(y, sizeof y, "%s- rule: r\n  condition: ct.name = StopDBInstance\n  priority: critical\n  override:\n    condition: replace\n    priority: replace\n", base);
  cr_assert_eq(count(y, EV_STOP), 1);
  snprintf(y, sizeof y, "%s- rule: r\n  condition: ct.name = StopDBInstance\n  override:\n    condition: replace\n    priority: replace\n", base);
  expect_error(y, "key 'priority' is named in 'override' but is not defined in the item");
  snprintf(y, sizeof y, "%s- rule: r\n  condition: x\n  desc: y\n  override:\n    condition: append\n", base);
  expect_error(y, "key 'desc' must be named in 'override'");
  snprintf(y, sizeof y, "%s- rule: r\n  priority: info\n  override:\n    priority: append\n", base);
  expect_error(y, "key 'priority' cannot be overridden with 'append'");
  expect_error("- rule: nothere\n  condition: x\n  override:\n    condition: append\n", "rule 'nothere' to override does not exist");
  snprintf(y, sizeof y, "%s- rule: r\n  enabled: false\n", base);
  ctr_ruleset *rs = tu_compile(y, diags, sizeof diags);
  cr_assert_not_null(rs, "%s", diags);
  cr_assert_eq(ctr_ruleset_rule_enabled(rs, 0), 0);
  ctr_ruleset_unref(rs);
}

Test(load, exceptions)
{
  const char *y =
    "- rule: r\n  desc: d\n  condition: ct.name = StopDBInstance\n  output: o\n  priority: info\n"
    "  exceptions:\n"
    "    - name: trusted\n      fields: [ct.user, ct.region]\n      comps: [=, startswith]\n"
    "      values:\n        - [bob, eu-]\n"
    "    - name: ips\n      fields: ct.srcip\n      values: [9.9.9.9]\n";
  cr_assert_eq(count(y, EV_STOP), 0, "bob in eu- is excepted");
  const char *ev2 = "{\"eventName\":\"StopDBInstance\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"eve\"},\"awsRegion\":\"eu-west-1\"}";
  cr_assert_eq(count(y, ev2), 1);
  const char *ev3 = "{\"eventName\":\"StopDBInstance\",\"sourceIPAddress\":\"9.9.9.9\"}";
  cr_assert_eq(count(y, ev3), 0);
  char y2[4096];
  snprintf(y2, sizeof y2, "%s- rule: r\n  exceptions:\n    - name: ips\n      values: [1.2.3.4]\n  override:\n    exceptions: append\n", y);
  cr_assert_eq(count(y2, ev2), 1);
  cr_assert_eq(count(y2, "{\"eventName\":\"StopDBInstance\",\"sourceIPAddress\":\"1.2.3.4\"}"), 0);
  expect_error("- rule: r\n  desc: d\n  condition: ct.name = X\n  output: o\n  priority: info\n  exceptions:\n"
               "    - name: e\n      fields: [ct.user, ct.region]\n      comps: [=]\n",
               "fields and comps lists must have equal length");
  expect_error("- rule: r\n  desc: d\n  condition: ct.name = X\n  output: o\n  priority: info\n  exceptions:\n"
               "    - name: e\n      fields: [ct.user]\n      comps: [sameas]\n",
               "'sameas' is not a known comparison operator");
  expect_error("- rule: r\n  desc: d\n  condition: ct.name = X\n  output: o\n  priority: info\n  exceptions:\n"
               "    - name: e\n      fields: [ct.user, ct.region]\n      values:\n        - [only-one]\n",
               "each value must be a list of 2 elements");
}

Test(load, versions)
{
  cr_assert_eq(count("- required_engine_version: 10\n" RULE("r", "ct.name = StopDBInstance"), EV_STOP), 1);
  cr_assert_eq(count("- required_engine_version: 0.26.0\n" RULE("r", "ct.name = StopDBInstance"), EV_STOP), 1);
  expect_error("- required_engine_version: 0.99.0\n", "rules require engine version 0.99.0");
  expect_error("- required_engine_version: banana\n", "unable to parse required_engine_version 'banana'");
  cr_assert_eq(count("- required_plugin_versions:\n  - name: cloudtrail\n    version: 0.10.0\n  - name: json\n    version: 0.7.0\n"
                     RULE("r", "ct.name = StopDBInstance"), EV_STOP), 1);
  expect_error("- required_plugin_versions:\n  - name: cloudtrail\n    version: 0.99.0\n", "plugin 'cloudtrail' version 0.99.0 is required");
  expect_error("- required_plugin_versions:\n  - name: k8saudit\n    version: 0.1.0\n", "plugin 'k8saudit' version 0.1.0 is required");
  cr_assert_eq(count("- required_plugin_versions:\n  - name: k8saudit\n    version: 0.1.0\n    alternatives:\n      - name: cloudtrail\n        version: 0.1.0\n"
                     RULE("r", "ct.name = StopDBInstance"), EV_STOP), 1);
}

Test(load, other_sources_skipped_with_warning)
{
  cr_assert_eq(count("- rule: sys\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: info\n  source: syscall\n"
                     RULE("r", "ct.name = StopDBInstance"), EV_STOP), 1);
  cr_assert(strstr(diags, "warning: unknown source 'syscall': rule skipped"), "%s", diags);
}

Test(load, skip_if_unknown_filter)
{
  cr_assert_eq(count("- rule: a\n  desc: d\n  condition: ct.future = 1\n  output: o\n  priority: info\n  skip-if-unknown-filter: true\n"
                     RULE("r", "ct.name = StopDBInstance"), EV_STOP), 1);
  cr_assert(strstr(diags, "warning: unknown field 'ct.future': rule skipped"), "%s", diags);
}

Test(load, selection_by_name_tag_priority)
{
  const char *y =
    "- rule: Alpha One\n  desc: d\n  condition: ct.name exists\n  output: o\n  priority: critical\n  tags: [x]\n"
    "- rule: Alpha Two\n  desc: d\n  condition: ct.name exists\n  output: o\n  priority: warning\n  tags: [y]\n"
    "- rule: Beta\n  desc: d\n  condition: ct.name exists\n  output: o\n  priority: debug\n  enabled: false\n";
  ctr_compiler *c;
  ctr_compiler_new(&c);
  ctr_compiler_add_string(c, y, strlen(y), "sel.yaml");
  ctr_compiler_select_name(c, "Alpha*", 0);
  ctr_compiler_select_tag(c, "y", 1);
  ctr_compiler_select_name(c, "Beta", 1);
  ctr_ruleset *rs;
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  cr_assert_eq(ctr_ruleset_rule_enabled(rs, 0), 0);
  cr_assert_eq(ctr_ruleset_rule_enabled(rs, 1), 1);
  cr_assert_eq(ctr_ruleset_rule_enabled(rs, 2), 1);
  ctr_ruleset_unref(rs);
  cr_assert_eq(ctr_compiler_set_min_priority(c, CTR_PRIORITY_WARNING), CTR_OK);
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  cr_assert_eq(ctr_ruleset_enabled_count(rs), 1);
  cr_assert_eq(ctr_ruleset_rule_enabled(rs, 1), 1);
  ctr_ruleset_unref(rs);
  cr_assert_eq(ctr_compiler_set_min_priority(c, 9), CTR_EINVAL);
  ctr_compiler_free(c);
}

static int diag_calls;
static void on_diag(const ctr_diag *d, void *ud)
{
  (void)ud;
  diag_calls++;
  cr_assert_eq(ctr_diag_severity(d), CTR_SEVERITY_ERROR);
  cr_assert_str_eq(ctr_diag_file(d), "cb.yaml");
  cr_assert_eq(ctr_diag_line(d), 5);
  cr_assert_str_eq(ctr_diag_code(d), "LOAD_ERR_VALIDATE");
  cr_assert_str_eq(ctr_diag_item(d), "r");
}

Test(load, diag_callback_and_files)
{
  ctr_compiler *c;
  ctr_compiler_new(&c);
  ctr_compiler_set_diag_callback(c, on_diag, NULL);
  const char *y = "- rule: r\n  desc: d\n  condition: ct.name exists\n  output: o\n  priority: nope\n";
  cr_assert_eq(ctr_compiler_add_string(c, y, strlen(y), "cb.yaml"), CTR_ESYNTAX);
  cr_assert_eq(diag_calls, 1);
  cr_assert_eq(ctr_compiler_error_count(c), 1);
  ctr_ruleset *rs;
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_ESYNTAX);
  ctr_compiler_free(c);

  ctr_compiler_new(&c);
  cr_assert_eq(ctr_compiler_add_file(c, "/nonexistent/rules.yaml"), CTR_EIO);
  cr_assert(strstr(ctr_diag_text(ctr_compiler_diag(c, 0)), "cannot open rules file"));
  ctr_compiler_free(c);
}

Test(load, several_files_cumulative)
{
  ctr_compiler *c;
  ctr_compiler_new(&c);
  const char *a = "- macro: is_stop\n  condition: ct.name startswith Stop\n";
  const char *b = RULE("r", "is_stop");
  cr_assert_eq(ctr_compiler_add_string(c, a, strlen(a), "a.yaml"), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, b, strlen(b), "b.yaml"), CTR_OK);
  ctr_ruleset *rs;
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  tu_matches m = {0};
  tu_scan(rs, EV_STOP, strlen(EV_STOP), 0, 0, &m);
  cr_assert_eq(m.count, 1);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
  ctr_compiler_free(c);
}

Test(load, yaml_alias_bomb_is_bounded)
{
  char y[8192] = "- list: l0\n  items: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 40; i++) {
    char line[256];
    snprintf(line, sizeof line, "- list: l%d\n  items: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
             i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    strcat(y, line);
  }
  ctr_ruleset *rs = tu_compile(y, diags, sizeof diags);
  cr_assert_null(rs);
  /* 10^7 nodes at l6: the first alias past the expansion limit is named. */
  cr_assert_str_eq(diags, "rules.yaml:14:15: error: more than 2000000 YAML nodes once aliases are expanded (limit yaml_nodes)\n");
}

Test(load, macro_error_points_into_macro)
{
  expect_error("- macro: m\n  condition: ct.nosuch exists\n" RULE("r", "m"), "rules.yaml:2:14: error: unknown field 'ct.nosuch' (in 'r')");
}

Test(load, output_errors)
{
  expect_error("- rule: r\n  desc: d\n  condition: ct.name exists\n  output: user=%ct.nosuch\n  priority: info\n",
               "rules.yaml:4:17: error: unknown field 'ct.nosuch'");
}

/* ------------------------------------------------------------ bounded rules files (issue 15) */

#include <stdarg.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

/* A growing string for generated rules files. */
typedef struct gen {
  char *s;
  size_t len, cap;
} gen;

__attribute__((format(printf, 2, 3))) static void gen_add(gen *g, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (g->len + (size_t)n + 1 > g->cap) {
    g->cap = (g->len + (size_t)n + 1) * 2;
    g->s = realloc(g->s, g->cap);
    cr_assert_not_null(g->s);
  }
  va_start(ap, fmt);
  vsnprintf(g->s + g->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  g->len += (size_t)n;
}

static long peak_rss_kb(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* A time bound for the linear-time tests, raised under valgrind
 * (scripts/valgrind.sh sets CTR_VG_NAME), which runs code 20-50 times slower:
 * the quadratic loads these tests guard against took 30-150 s natively. */
static double time_bound(double seconds) { return getenv("CTR_VG_NAME") ? seconds * 30 : seconds; }

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Adds `text` to a new compiler with the built-in rules first; returns the
 * add status and the first error's text in diags. */
static int add_after_builtins(const char *text, ctr_compiler **out)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_builtin(c, "rds"), CTR_OK);
  int rc = ctr_compiler_add_string(c, text, strlen(text), "rules.yaml");
  diags[0] = '\0';
  for (size_t i = 0; i < ctr_compiler_diag_count(c); i++)
    if (ctr_diag_severity(ctr_compiler_diag(c, i)) == CTR_SEVERITY_ERROR) {
      snprintf(diags, sizeof diags, "%s", ctr_diag_text(ctr_compiler_diag(c, i)));
      break;
    }
  *out = c;
  return rc;
}

/* 4,000 aliases to a 20,000-item list would be 80 million values (the
 * issue's 222 KB file took 1.6 GB): the alias that takes the expanded file
 * past CTR_LIMIT_YAML_NODES is reported, and nothing is copied. */
Test(load, aliases_to_lists_count_what_they_expand_to)
{
  gen g = {0};
  gen_add(&g, "- list: base\n  items: &L [");
  for (int i = 0; i < 20000; i++)
    gen_add(&g, "%si%d", i ? ", " : "", i);
  gen_add(&g, "]\n");
  for (int i = 0; i < 4000; i++)
    gen_add(&g, "- list: l%d\n  items: *L\n", i);
  long before = peak_rss_kb();
  ctr_compiler *c;
  cr_assert_eq(add_after_builtins(g.s, &c), CTR_ESYNTAX);
  /* 20,006 nodes written (document, item, 2 keys, 2 values, 20,000 items);
   * each later item is 4 nodes and an alias worth 20,001: 98 fit in
   * 2,000,000, the alias of the 99th (line 3 + 2 * 98 + 1) does not. */
  cr_assert_str_eq(diags, "rules.yaml:200:10: error: more than 2000000 YAML nodes once aliases are expanded (limit yaml_nodes)");
  cr_assert_lt(peak_rss_kb() - before, 64 * 1024, "loading grew the peak RSS by %ld KiB", peak_rss_kb() - before);
  ctr_ruleset *rs;
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_ESYNTAX);
  ctr_compiler_free(c);
  free(g.s);
}

/* A 30,000-byte scalar aliased 9,000 times would be 270 MB of strings (the
 * issue's 290 KB file passed 9.6 GB): expanded scalars are bounded by the size
 * a rules file may have. */
Test(load, aliases_to_scalars_count_their_bytes)
{
  gen g = {0};
  gen_add(&g, "- list: base\n  items: [&S ");
  for (int i = 0; i < 30000; i++)
    gen_add(&g, "x");
  gen_add(&g, "]\n- list: many\n  items: [");
  for (int i = 0; i < 9000; i++)
    gen_add(&g, "%s*S", i ? ", " : "");
  gen_add(&g, "]\n");
  long before = peak_rss_kb();
  ctr_compiler *c;
  cr_assert_eq(add_after_builtins(g.s, &c), CTR_ESYNTAX);
  /* 30,000 bytes written and 2,235 aliases of 30,000 fit in 64 MiB; the
   * 2,236th (column 11 + 4 * 2235) does not. */
  cr_assert_str_eq(diags, "rules.yaml:4:8951: error: more than 64 MiB of YAML scalars once aliases are expanded (a rules file's limit)");
  cr_assert_lt(peak_rss_kb() - before, 64 * 1024, "loading grew the peak RSS by %ld KiB", peak_rss_kb() - before);
  ctr_compiler_free(c);
  free(g.s);
}

/* Within the limits, aliases behave as the text they stand for. */
Test(load, aliases_within_limits_load_and_match)
{
  gen g = {0};
  gen_add(&g, "- list: base\n  items: &L [");
  for (int i = 0; i < 100; i++)
    gen_add(&g, "Nope%d, ", i);
  gen_add(&g, "StopDBInstance]\n");
  for (int i = 0; i < 4000; i++)
    gen_add(&g, "- list: l%d\n  items: *L\n", i);
  gen_add(&g, RULE("r", "ct.name in (l3999)"));
  ctr_compiler *c;
  cr_assert_eq(add_after_builtins(g.s, &c), CTR_OK, "%s", diags);
  ctr_compiler_free(c);
  cr_assert_eq(count(g.s, EV_STOP), 1, "%s", diags);
  free(g.s);
}

/* The expansion limit at its boundary, counted exactly. */
Test(load, alias_expansion_boundary)
{
  /* Written: the document's sequence, the item, "list", "l", "items", the
   * flow sequence, x: 7. Each *a adds the 1 node it refers to: 9. */
  const char *y = "- list: l\n  items: [&a x, *a, *a]\n";
  ctr_compiler *c;
  for (uint64_t lim = 9; lim >= 8; lim--) {
    cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
    cr_assert_eq(ctr_compiler_set_limit(c, CTR_LIMIT_YAML_NODES, lim), CTR_OK);
    int rc = ctr_compiler_add_string(c, y, strlen(y), "rules.yaml");
    if (lim == 9) {
      cr_assert_eq(rc, CTR_OK);
    } else {
      cr_assert_eq(rc, CTR_ESYNTAX);
      cr_assert_str_eq(ctr_diag_text(ctr_compiler_diag(c, 0)),
                       "rules.yaml:2:21: error: more than 8 YAML nodes once aliases are expanded (limit yaml_nodes)");
    }
    ctr_compiler_free(c);
  }
}

Test(load, alias_cycle_and_redefined_anchor)
{
  expect_error("- list: l\n  items: &a [x, *a]\n", "rules.yaml:2:17: error: YAML alias 'a' inside the node it refers to (a cycle)");
  /* An anchor name used again refers to the later node, as YAML says. */
  const char *y = "- list: a\n  items: &n [Nope]\n- list: b\n  items: &n [StopDBInstance]\n- list: c\n  items: *n\n"
                  RULE("r", "ct.name in (c)");
  cr_assert_eq(count(y, EV_STOP), 1, "%s", diags);
}

/* Positions are computed in linear time: a 100,000-item flow list (quadratic
 * before: 40,000 items took 3-7 s), exception values, and 10,000 aliases
 * among 100,000 anchors (found by hash, not by a scan of every anchor). */
Test(load, long_flow_lists_and_many_anchors_load_in_linear_time)
{
  gen flow = {0}, exc = {0}, anchors = {0};
  gen_add(&flow, "- list: big\n  items: [");
  gen_add(&exc, RULE("r", "ct.name = StopDBInstance") "  exceptions:\n  - name: e\n    fields: ct.user\n    values: [");
  gen_add(&anchors, "- list: big\n  items: [");
  for (int i = 0; i < 100000; i++) {
    gen_add(&flow, "%sv%d", i ? ", " : "", i);
    gen_add(&exc, "%sv%d", i ? ", " : "", i);
    gen_add(&anchors, "%s&a%d v%d", i ? ", " : "", i, i);
  }
  for (int i = 0; i < 10000; i++)
    gen_add(&anchors, ", *a0");
  gen_add(&flow, "]\n");
  gen_add(&exc, "]\n");
  gen_add(&anchors, "]\n");
  const gen *files[] = {&flow, &exc, &anchors};
  for (size_t f = 0; f < 3; f++) {
    double t0 = now_s();
    ctr_compiler *c;
    cr_assert_eq(add_after_builtins(files[f]->s, &c), CTR_OK, "file %zu: %s", f, diags);
    double dt = now_s() - t0;
    cr_assert_lt(dt, time_bound(10.0), "file %zu took %.2f s to load", f, dt);
    ctr_compiler_free(c);
  }
  free(flow.s);
  free(exc.s);
  free(anchors.s);
}

/* Definitions are found by name in constant time while loading: 100,000
 * lists, 20,000 macros and 5,000 rules, each defined and then appended to
 * or redefined (a scan of every name per lookup took 33 s for the lists
 * alone). */
Test(load, many_definitions_load_in_linear_time)
{
  gen g = {0};
  for (int i = 0; i < 100000; i++)
    gen_add(&g, "- list: l%d\n  items: [a]\n", i);
  for (int i = 0; i < 100000; i += 7)
    gen_add(&g, "- list: l%d\n  items: [b]\n  override:\n    items: append\n", i);
  for (int i = 0; i < 20000; i++)
    gen_add(&g, "- macro: m%d\n  condition: ct.name = x\n", i);
  for (int i = 0; i < 5000; i++)
    gen_add(&g, RULE("r%d", "ct.name in (l%d)") RULE("r%d", "m%d and ct.user in (l%d)"), i, i, i, i, i);
  double t0 = now_s();
  ctr_compiler *c;
  cr_assert_eq(add_after_builtins(g.s, &c), CTR_OK, "%s", diags);
  double dt = now_s() - t0;
  cr_assert_lt(dt, time_bound(10.0), "took %.2f s to load", dt);
  ctr_compiler_free(c);
  free(g.s);
}

/* ------------------------------------------------------------ exceptions (issue 16) */

/* A StopDBInstance record by `user`. */
static const char *ev_user(char *buf, size_t size, const char *user)
{
  snprintf(buf, size, "{\"eventName\":\"StopDBInstance\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"%s\"},"
                      "\"awsRegion\":\"eu-west-1\"}\n", user);
  return buf;
}

/* Every exception of a rule suppresses: at and past the old cap of 64. */
Test(load, exceptions_past_64_each_suppress)
{
  gen g = {0};
  gen_add(&g, RULE("r", "ct.name = StopDBInstance") "  exceptions:\n");
  for (int i = 1; i <= 70; i++)
    gen_add(&g, "    - name: e%d\n      fields: [ct.user]\n      values: [[u%d]]\n", i, i);
  char ev[256];
  for (int i = 63; i <= 71; i++) {
    char user[16];
    snprintf(user, sizeof user, "u%d", i);
    cr_assert_eq(count(g.s, ev_user(ev, sizeof ev, user)), i == 71 ? 1 : 0, "user %s (%s)", user, diags);
  }
  /* The same through appends, one exception per item. */
  g.len = 0;
  gen_add(&g, RULE("r", "ct.name = StopDBInstance"));
  for (int i = 1; i <= 70; i++)
    gen_add(&g, "- rule: r\n  exceptions:\n    - name: e%d\n      fields: ct.user\n      values: [u%d]\n"
                "  override:\n    exceptions: append\n", i, i);
  cr_assert_eq(count(g.s, ev_user(ev, sizeof ev, "u65")), 0, "%s", diags);
  cr_assert_eq(count(g.s, ev_user(ev, sizeof ev, "u70")), 0, "%s", diags);
  cr_assert_eq(count(g.s, ev_user(ev, sizeof ev, "u71")), 1, "%s", diags);
  free(g.s);
}

/* A list naming a list is expanded in exception values as in conditions, in
 * every place Falco puts values: a scalar for one field, a scalar or a list
 * element of a tuple, and `(list)` written out. */
Test(load, lists_in_lists_expand_in_exception_values)
{
  const char *lists = "- list: inner\n  items: [alice]\n- list: outer\n  items: [inner, bob]\n";
  const char *forms[] = {
    "      fields: ct.user\n      values: [outer]\n",
    "      fields: [ct.user]\n      comps: [in]\n      values: [[outer]]\n",
    "      fields: [ct.user]\n      comps: [in]\n      values: [[[outer, carol]]]\n",
    "      fields: [ct.user]\n      comps: [in]\n      values: [[(outer)]]\n",
  };
  char ev[256];
  for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
    gen g = {0};
    gen_add(&g, "%s" RULE("r", "ct.name = StopDBInstance") "  exceptions:\n    - name: e\n%s", lists, forms[f]);
    cr_assert_eq(count(g.s, ev_user(ev, sizeof ev, "alice")), 0, "form %zu: alice, in inner in outer: %s", f, diags);
    cr_assert_eq(count(g.s, ev_user(ev, sizeof ev, "bob")), 0, "form %zu: bob", f);
    cr_assert_eq(count(g.s, ev_user(ev, sizeof ev, "inner")), 1, "form %zu: a list name is not a value", f);
    cr_assert_eq(count(g.s, ev_user(ev, sizeof ev, "mallory")), 1, "form %zu", f);
    free(g.s);
  }
}

/* Values are read as Falco writes them into the condition: a value with a
 * blank is quoted, a value already quoted is a quoted string. */
Test(load, exception_values_quoted_as_falco_quotes_them)
{
  const char *y = RULE("r", "ct.name = StopDBInstance")
    "  exceptions:\n    - name: e\n      fields: [ct.user]\n      values:\n"
    "        - [bob smith]\n        - ['\"carol jones\"']\n        - [\"'dave'\"]\n";
  char ev[256];
  cr_assert_eq(count(y, ev_user(ev, sizeof ev, "bob smith")), 0, "%s", diags);
  cr_assert_eq(count(y, ev_user(ev, sizeof ev, "carol jones")), 0, "%s", diags);
  cr_assert_eq(count(y, ev_user(ev, sizeof ev, "dave")), 0, "%s", diags);
  cr_assert_eq(count(y, ev_user(ev, sizeof ev, "bob")), 1);
}

/* Appending values to an existing exception warns only when no values are
 * given (Falco: LOAD_APPEND_NO_VALUES), not when they are. */
Test(load, append_no_values_warning_only_without_values)
{
  const char *base = RULE("r", "ct.name = StopDBInstance")
    "  exceptions:\n    - name: e\n      fields: ct.user\n      values: [bob]\n";
  gen g = {0};
  gen_add(&g, "%s- rule: r\n  exceptions:\n    - name: e\n      values: [carol]\n  override:\n    exceptions: append\n", base);
  char ev[256];
  cr_assert_eq(count(g.s, ev_user(ev, sizeof ev, "carol")), 0, "%s", diags);
  cr_assert_null(strstr(diags, "LOAD_APPEND_NO_VALUES"), "%s", diags);
  cr_assert_null(strstr(diags, "no values"), "%s", diags);
  g.len = 0;
  gen_add(&g, "%s- rule: r\n  exceptions:\n    - name: e\n  override:\n    exceptions: append\n", base);
  cr_assert_eq(count(g.s, ev_user(ev, sizeof ev, "bob")), 0, "%s", diags);
  cr_assert(strstr(diags, "rules.yaml:13:7: warning: overriding or appending exception 'e' with no values (in 'r')"), "%s", diags);
  free(g.s);
}

/* ------------------------------------------------------------ Falco's collector (issue 14) */

/* Compiles `y`; returns 1 if it compiled, 0 if not; diags has every line. */
static int compiles(const char *y)
{
  ctr_ruleset *rs = tu_compile(y, diags, sizeof diags);
  ctr_ruleset_unref(rs);
  return rs != NULL;
}

/* Falco (test_rule_loader.cpp): `replace` before any definition defines a
 * list or a macro; `append` needs one; a rule needs one for both. */
Test(load, override_replace_before_definition)
{
  cr_assert_eq(count("- list: l\n  items: [Nope]\n  override:\n    items: replace\n- list: l\n  items: [StopDBInstance]\n"
                     RULE("r", "ct.name in (l)"), EV_STOP), 1, "%s", diags);
  cr_assert_eq(count("- macro: m\n  condition: ct.name = Nope\n  override:\n    condition: replace\n"
                     "- macro: m\n  condition: ct.name = StopDBInstance\n" RULE("r", "m"), EV_STOP), 1, "%s", diags);
  cr_assert_eq(count("- list: l\n  items: [StopDBInstance]\n  override:\n    items: replace\n" RULE("r", "ct.name in (l)"), EV_STOP), 1);
  expect_error("- list: l\n  items: [a]\n  override:\n    items: append\n", "rules.yaml:1:9: error: list 'l' to append to does not exist");
  expect_error("- macro: m\n  condition: or x\n  override:\n    condition: append\n", "rules.yaml:1:10: error: macro 'm' to append to does not exist");
  expect_error("- rule: r\n  condition: ct.name = x\n  override:\n    condition: replace\n", "rules.yaml:1:9: error: rule 'r' to override does not exist");
}

/* Falco warns that `append` is deprecated before it refuses it beside
 * `override`; an override key named twice is refused (it was silently
 * dropped past 16). */
Test(load, append_with_override_warns_then_fails)
{
  const char *y = RULE("r", "ct.name = x") "- rule: r\n  condition: and ct.user = y\n  append: true\n  override:\n    condition: append\n";
  cr_assert_eq(compiles(y), 0);
  cr_assert(strstr(diags, "rules.yaml:9:11: warning: 'append: true' is deprecated; use 'override' (in 'r')\n"
                          "rules.yaml:9:11: error: 'append' and 'override' cannot be used together (in 'r')"), "%s", diags);
  expect_error(RULE("r", "ct.name = x") "- rule: r\n  condition: and ct.user = y\n  override:\n    condition: append\n    condition: replace\n",
               "rules.yaml:11:5: error: key 'condition' is named twice in 'override'");
}

/* Falco: "Appended rule must have exceptions or condition property". */
Test(load, append_without_condition_or_exceptions_fails)
{
  expect_error(RULE("r", "ct.name = x") "- rule: r\n  append: true\n  output: more\n",
               "rules.yaml:7:9: error: appended rule 'r' must have exceptions or condition property");
  cr_assert_eq(compiles(RULE("r", "ct.name = x") "- rule: r\n  append: true\n  exceptions:\n  - name: e\n    fields: ct.user\n    values: [a]\n"), 1, "%s", diags);
}

/* A rule of another source is collected by name, as Falco collects a rule
 * of an unknown source: appending to it, overriding it or enabling it is no
 * error; redefining it with another source is. */
Test(load, rules_of_other_sources_take_appends)
{
  const char *k8s = "- rule: k\n  desc: d\n  condition: ka.verb = create\n  output: o\n  priority: info\n  source: k8s_audit\n";
  gen g = {0};
  gen_add(&g, "%s- rule: k\n  condition: and ka.user.name = x\n  override:\n    condition: append\n"
              "- rule: k\n  condition: and ka.user.name = y\n  append: true\n"
              "- rule: k\n  enabled: false\n" RULE("r", "ct.name = StopDBInstance"), k8s);
  cr_assert_eq(count(g.s, EV_STOP), 1, "%s", diags);
  cr_assert(strstr(diags, "warning: unknown source 'k8s_audit'"), "%s", diags);
  cr_assert_null(strstr(diags, "error"), "%s", diags);
  g.len = 0;
  gen_add(&g, "%s" RULE("k", "ct.name = x"), k8s);
  cr_assert_eq(compiles(g.s), 0);
  cr_assert(strstr(diags, "rules.yaml:12:11: error: rule 'k' has been re-defined with a different source (in 'k')"), "%s", diags);
  g.len = 0;
  gen_add(&g, RULE("k", "ct.name = x") "%s", k8s);
  cr_assert_eq(compiles(g.s), 0);
  cr_assert(strstr(diags, "rules.yaml:12:11: error: rule 'k' has been re-defined with a different source ('k8s_audit')"), "%s", diags);
  free(g.s);
}

/* capture and capture_duration are decoded as Falco decodes them. */
Test(load, capture_keys_checked)
{
  cr_assert_eq(compiles(RULE("r", "ct.name = x") "  capture: true\n  capture_duration: 5000\n"), 1, "%s", diags);
  expect_error(RULE("r", "ct.name = x") "  capture_duration: soon\n",
               "rules.yaml:7:21: error: value of 'capture_duration' must be a number of milliseconds (0 to 4294967295)");
  expect_error(RULE("r", "ct.name = x") "  capture_duration: 4294967296\n", "value of 'capture_duration' must be a number");
  expect_error(RULE("r", "ct.name = x") "  capture: maybe\n", "value of 'capture' must be a boolean, not 'maybe'");
}

/* Falco (falcosecurity/testing, item_unknown_fields): an exception field
 * that does not exist is a load error (LOAD_ERR_VALIDATE) at the field, the
 * comparisons having been checked first. */
Test(load, unknown_exception_field_is_a_load_error)
{
  ctr_compiler *c;
  const char *y = RULE("r", "ct.name = x") "  exceptions:\n    - name: ex1\n      fields: [ct.user, not.exist]\n";
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, y, strlen(y), "rules.yaml"), CTR_ESYNTAX);
  const ctr_diag *d = ctr_compiler_diag(c, 0);
  cr_assert_str_eq(ctr_diag_code(d), "LOAD_ERR_VALIDATE");
  cr_assert_str_eq(ctr_diag_text(d), "rules.yaml:9:25: error: exception 'ex1': 'not.exist' is not a supported filter field (in 'r')");
  ctr_compiler_free(c);
  expect_error(RULE("r", "ct.name = x") "  exceptions:\n    - name: ex1\n      fields: [not.exist]\n      comps: [like]\n",
               "'like' is not a known comparison operator");
  /* A message is never cut, however long the name in it. */
  gen g = {0};
  gen_add(&g, RULE("r", "ct.name = x") "  exceptions:\n    - name: ex1\n      fields: [ct.");
  for (int i = 0; i < 3000; i++)
    gen_add(&g, "x");
  gen_add(&g, "]\n");
  cr_assert_eq(compiles(g.s), 0);
  cr_assert(strstr(diags, "xxx' is not a supported filter field (in 'r')"), "%.200s", diags);
  free(g.s);
}
