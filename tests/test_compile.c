/* test_compile.c - the compile stage: no fixed array caps what a rules file
 * may hold (issue 16, "no silent caps"). Each test goes to and past the size
 * an earlier fixed array had, and checks that the value past it still takes
 * effect, or that a CTR_LIMIT_* stops it with a positioned diagnostic. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A growing string. */
typedef struct sb {
  char *s;
  size_t len, cap;
} sb;

static void sb_addf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_addf(sb *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  cr_assert(n >= 0);
  if (b->len + (size_t)n + 1 > b->cap) {
    b->cap = (b->len + (size_t)n + 1) * 2;
    b->s = realloc(b->s, b->cap);
    cr_assert(b->s);
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

static char diags[1 << 16];

/* Compiles with one limit set (limit < 0: none); NULL on error. */
static ctr_ruleset *compile_with(const char *yaml, int limit, uint64_t value)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  if (limit >= 0)
    cr_assert_eq(ctr_compiler_set_limit(c, limit, value), CTR_OK);
  ctr_ruleset *rs = NULL;
  int rc = ctr_compiler_add_string(c, yaml, strlen(yaml), "rules.yaml");
  if (rc == CTR_OK)
    rc = ctr_compiler_compile(c, &rs);
  diags[0] = '\0';
  for (size_t i = 0; i < ctr_compiler_diag_count(c); i++) {
    size_t used = strlen(diags);
    snprintf(diags + used, sizeof diags - used, "%s\n", ctr_diag_text(ctr_compiler_diag(c, i)));
  }
  ctr_compiler_free(c);
  return rc == CTR_OK ? rs : NULL;
}

/* Number of alerts on one record {eventName: GetObject, userName: user}. */
static size_t alerts(ctr_ruleset *rs, const char *user)
{
  char ev[512];
  snprintf(ev, sizeof ev,
           "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"%s\"},"
           "\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\","
           "\"awsRegion\":\"eu-west-1\",\"eventID\":\"1\"}",
           user);
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, ev, strlen(ev), 0, 0, &m), CTR_OK);
  size_t n = m.count;
  tu_matches_free(&m);
  return n;
}

static const char *RULE_HEAD = "- rule: r\n  desc: d\n  output: o\n  priority: info\n";

Test(compile, condition_in_list_keeps_every_value)
{
  sb y = {0};
  sb_addf(&y, "%s  condition: ct.name = GetObject and ct.user in (", RULE_HEAD);
  for (int i = 1; i <= 1100; i++)
    sb_addf(&y, "%su%d", i > 1 ? ", " : "", i);
  sb_addf(&y, ")\n");
  ctr_ruleset *rs = compile_with(y.s, -1, 0);
  cr_assert(rs, "%s", diags);
  cr_assert_eq(alerts(rs, "u256"), 1);
  cr_assert_eq(alerts(rs, "u257"), 1);
  cr_assert_eq(alerts(rs, "u1025"), 1);
  cr_assert_eq(alerts(rs, "u1100"), 1);
  cr_assert_eq(alerts(rs, "u1101"), 0);
  ctr_ruleset_unref(rs);
  free(y.s);
}

/* Exceptions as tuples: 300 of them, each must suppress. */
Test(compile, exception_tuples_past_256)
{
  sb y = {0};
  sb_addf(&y, "%s  condition: ct.name = GetObject\n  exceptions:\n  - name: e\n    fields: [ct.user]\n"
              "    comps: [=]\n    values:\n", RULE_HEAD);
  for (int i = 1; i <= 300; i++)
    sb_addf(&y, "    - [u%d]\n", i);
  ctr_ruleset *rs = compile_with(y.s, -1, 0);
  cr_assert(rs, "%s", diags);
  cr_assert_eq(alerts(rs, "u256"), 0);
  cr_assert_eq(alerts(rs, "u257"), 0);
  cr_assert_eq(alerts(rs, "u300"), 0);
  cr_assert_eq(alerts(rs, "u301"), 1);
  ctr_ruleset_unref(rs);
  free(y.s);
}

/* One `in` comparison of an exception holding many values (the 256-value
 * array), given inline and through a list name. */
Test(compile, exception_in_values_past_256)
{
  sb y = {0};
  sb_addf(&y, "- list: many\n  items: [");
  for (int i = 1; i <= 400; i++)
    sb_addf(&y, "%sl%d", i > 1 ? ", " : "", i);
  sb_addf(&y, "]\n%s  condition: ct.name = GetObject\n  exceptions:\n  - name: e\n    fields: [ct.user, ct.name]\n"
              "    comps: [in, =]\n    values:\n    - [[", RULE_HEAD);
  for (int i = 1; i <= 400; i++)
    sb_addf(&y, "%su%d", i > 1 ? ", " : "", i);
  sb_addf(&y, "], GetObject]\n    - [many, GetObject]\n");
  ctr_ruleset *rs = compile_with(y.s, -1, 0);
  cr_assert(rs, "%s", diags);
  cr_assert_eq(alerts(rs, "u257"), 0);
  cr_assert_eq(alerts(rs, "u400"), 0);
  cr_assert_eq(alerts(rs, "l257"), 0);
  cr_assert_eq(alerts(rs, "l400"), 0);
  cr_assert_eq(alerts(rs, "u401"), 1);
  ctr_ruleset_unref(rs);
  free(y.s);
}

/* `fields: f` with a flat list of values (the 1024-value array). */
Test(compile, exception_scalar_field_values_past_1024)
{
  sb y = {0};
  sb_addf(&y, "%s  condition: ct.name = GetObject\n  exceptions:\n  - name: e\n    fields: ct.user\n    values: [",
          RULE_HEAD);
  for (int i = 1; i <= 1500; i++)
    sb_addf(&y, "%su%d", i > 1 ? ", " : "", i);
  sb_addf(&y, "]\n");
  ctr_ruleset *rs = compile_with(y.s, -1, 0);
  cr_assert(rs, "%s", diags);
  cr_assert_eq(alerts(rs, "u1024"), 0);
  cr_assert_eq(alerts(rs, "u1025"), 0);
  cr_assert_eq(alerts(rs, "u1500"), 0);
  cr_assert_eq(alerts(rs, "u1501"), 1);
  ctr_ruleset_unref(rs);
  free(y.s);
}

/* The values of one exception comparison are bounded by list_items, as a
 * condition's list is: an error at the exception, not a silent cut. */
Test(compile, exception_values_bounded_by_list_items)
{
  sb y = {0};
  sb_addf(&y, "%s  condition: ct.name = GetObject\n  exceptions:\n  - name: e\n    fields: ct.user\n    values: [",
          RULE_HEAD);
  for (int i = 1; i <= 10; i++)
    sb_addf(&y, "%su%d", i > 1 ? ", " : "", i);
  sb_addf(&y, "]\n");
  ctr_ruleset *rs = compile_with(y.s, CTR_LIMIT_LIST_ITEMS, 10);
  cr_assert(rs, "at the limit: %s", diags);
  cr_assert_eq(alerts(rs, "u10"), 0);
  ctr_ruleset_unref(rs);
  cr_assert_null(compile_with(y.s, CTR_LIMIT_LIST_ITEMS, 9));
  cr_assert(strstr(diags, "rules.yaml:7:5: error: exception 'e': more than 9 values") && strstr(diags, "limit list_items"),
            "%s", diags);
  free(y.s);
}

/* An exception field with a long argument (the 512-byte argument buffer):
 * the whole JSON pointer is used. */
Test(compile, exception_field_argument_past_512_bytes)
{
  char key[701];
  memset(key, 'k', 700);
  key[700] = '\0';
  sb y = {0};
  sb_addf(&y, "%s  condition: ct.name = GetObject\n  exceptions:\n  - name: e\n    fields:\n    - json.value[/%s]\n"
              "    comps: [=]\n    values: [[yes]]\n", RULE_HEAD, key);
  ctr_ruleset *rs = compile_with(y.s, -1, 0);
  cr_assert(rs, "%s", diags);
  sb ev = {0};
  sb_addf(&ev, "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},"
               "\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\","
               "\"awsRegion\":\"eu-west-1\",\"eventID\":\"1\",\"%s\":\"yes\"}\n", key);
  /* Same key cut at 511 bytes: must not be taken for the long one. */
  sb_addf(&ev, "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},"
               "\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\","
               "\"awsRegion\":\"eu-west-1\",\"eventID\":\"2\",\"%.510s\":\"yes\"}\n", key);
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, ev.s, ev.len, 0, 0, &m), CTR_OK);
  cr_assert_eq(m.count, 1, "%s", m.text ? m.text : "");
  cr_assert(strncmp(m.text, "1\t", 2) == 0, "the record without the long key alerts: %s", m.text);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
  free(y.s);
  free(ev.s);
}

/* A field name longer than the old 256-byte buffer is reported whole. */
Test(compile, long_names_reported_whole)
{
  char name[2001];
  memset(name, 'x', 2000);
  memcpy(name, "ct.", 3);
  name[2000] = '\0';
  sb y = {0};
  sb_addf(&y, "%s  condition: ct.name = GetObject\n  exceptions:\n  - name: e\n    fields: [%s]\n"
              "    comps: [=]\n    values: [[v]]\n", RULE_HEAD, name);
  cr_assert_null(compile_with(y.s, -1, 0));
  cr_assert(strstr(diags, name), "the whole name in: %.200s", diags);
  y.len = 0;
  sb_addf(&y, "%s  condition: %s = GetObject\n", RULE_HEAD, name);
  cr_assert_null(compile_with(y.s, -1, 0));
  cr_assert(strstr(diags, "rules.yaml:5:14: error: unknown field") && strstr(diags, name), "%.200s", diags);
  free(y.s);
}

/* Lists naming lists, deeper than the 16 levels once inlined. */
Test(compile, nested_lists_at_any_depth)
{
  sb y = {0};
  sb_addf(&y, "- list: l1\n  items: [target]\n");
  for (int i = 2; i <= 40; i++)
    sb_addf(&y, "- list: l%d\n  items: [l%d, v%d]\n", i, i - 1, i);
  sb_addf(&y, "%s  condition: ct.name = GetObject and ct.user in (l40)\n", RULE_HEAD);
  ctr_ruleset *rs = compile_with(y.s, -1, 0);
  cr_assert(rs, "%s", diags);
  cr_assert_eq(alerts(rs, "target"), 1);
  cr_assert_eq(alerts(rs, "v2"), 1);
  cr_assert_eq(alerts(rs, "v40"), 1);
  cr_assert_eq(alerts(rs, "l1"), 0, "a list name is not a value once inlined");
  cr_assert_eq(alerts(rs, "l20"), 0);
  ctr_ruleset_unref(rs);
  free(y.s);
}

/* Output templates read each %operand with the condition's operand parser:
 * a transformer's argument may hold a ')' in quotes, and errors are
 * positioned inside the output. */
Test(compile, output_operands_use_the_condition_grammar)
{
  const char *y = "- rule: r\n  desc: d\n  condition: ct.name = GetObject\n"
                  "  output: 'who=%join(\")\", (ct.user, ct.name)) n=%concat(ct.name, \"!\")'\n"
                  "  priority: info\n";
  ctr_ruleset *rs = compile_with(y, -1, 0);
  cr_assert(rs, "%s", diags);
  const char *ev = "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"alice\"},"
                   "\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\","
                   "\"awsRegion\":\"eu-west-1\",\"eventID\":\"1\"}";
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, ev, strlen(ev), 0, 0, &m), CTR_OK);
  cr_assert_eq(m.count, 1);
  cr_assert(strstr(m.text, "who=alice)GetObject n=GetObject!"), "%s", m.text);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
  cr_assert_null(compile_with("- rule: r\n  desc: d\n  condition: ct.name = x\n  output: 'a %tolower(ct.name b'\n"
                              "  priority: info\n", -1, 0));
  cr_assert(strstr(diags, "rules.yaml:4:31: error: invalid output field: expected ')' to close the transformer"), "%s", diags);
}

/* Falco's formatter takes every % for a field: a % before anything else, or
 * at the end, is an error (LOAD_ERR_COMPILE_OUTPUT), positioned. */
Test(compile, output_percent_needs_a_field)
{
  static const struct {
    const char *output, *diag;
  } bad[] = {
    {"'100% done'", "rules.yaml:4:16: error: invalid formatting token ' done'"},
    {"'a %%ct.name'", "rules.yaml:4:15: error: invalid formatting token '%ct.name'"},
    {"'%not_a_real_field'", "rules.yaml:4:13: error: invalid formatting token 'not_a_real_field'"},
    {"'x %'", "rules.yaml:4:14: error: invalid formatting syntax: formatting cannot end with a %"},
    {"'x %12'", "rules.yaml:4:14: error: invalid formatting syntax: formatting cannot end with a number"},
    {"'%nosuch.field'", "rules.yaml:4:13: error: unknown field 'nosuch.field'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char y[512];
    snprintf(y, sizeof y, "- rule: r\n  desc: d\n  condition: ct.name = x\n  output: %s\n  priority: info\n", bad[i].output);
    ctr_compiler *c;
    cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
    cr_assert_eq(ctr_compiler_add_string(c, y, strlen(y), "rules.yaml"), CTR_OK);
    ctr_ruleset *rs = NULL;
    cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_ESYNTAX, "%s", bad[i].output);
    const ctr_diag *d = ctr_compiler_diag(c, 0);
    cr_assert(d && strstr(ctr_diag_text(d), bad[i].diag), "%s: %s", bad[i].output, d ? ctr_diag_text(d) : "");
    cr_assert_str_eq(ctr_diag_code(d), "LOAD_ERR_COMPILE_OUTPUT");
    ctr_compiler_free(c);
  }
}

/* Falco resolves every macro, used or not (rule_loader_compiler
 * compile_macros_infos): an undefined macro inside an unused macro fails. */
Test(compile, undefined_macro_in_an_unused_macro)
{
  const char *y = "- macro: m\n  condition: ct.name = x and nosuchmacro\n"
                  "- rule: r\n  desc: d\n  condition: ct.name = y\n  output: o\n  priority: info\n";
  cr_assert_null(compile_with(y, -1, 0));
  cr_assert(strstr(diags, "rules.yaml:2:30: error: Undefined macro 'nosuchmacro' used in filter."), "%s", diags);
}

/* Falco's filter_warning_resolver: jevt.* (or ka.*) compared for equality
 * with <NA> warns, once per rule. */
Test(compile, na_comparison_warns)
{
  ctr_ruleset *rs = compile_with("- rule: r\n  desc: d\n  condition: jevt.value[/a] = <NA> or jevt.value[/b] in (x, <NA>)\n"
                                 "  output: o\n  priority: info\n", -1, 0);
  cr_assert(rs, "%s", diags);
  ctr_ruleset_unref(rs);
  cr_assert(strstr(diags, "rules.yaml:3:31: warning: comparing a field value with <NA> is unsafe"), "%s", diags);
  cr_assert_null(strstr(strstr(diags, "<NA> is unsafe") + 1, "<NA> is unsafe"), "one warning per rule: %s", diags);
  rs = compile_with("- rule: r\n  desc: d\n  condition: json.value[/a] = <NA> or jevt.value[/a] exists\n"
                    "  output: o\n  priority: info\n", -1, 0);
  cr_assert(rs, "%s", diags);
  ctr_ruleset_unref(rs);
  cr_assert_null(strstr(diags, "<NA>"), "%s", diags);
}

/* libsinsp's warnings on constant values, positioned at the value. */
Test(compile, constant_value_warnings)
{
  static const struct {
    const char *cond, *diag;
  } warn[] = {
    {"ct.name regex \"^Get.*\"", "rules.yaml:3:28: warning: regex check with '^Get.*' may be optimized"},
    {"ct.name = \"ct. user\"", "rules.yaml:3:24: warning: 'ct. user' may be a valid field misused as a const string value"},
    {"ct.name in (a, 'toupper(ct.user)')", "rules.yaml:3:29: warning: 'toupper(ct.user)' may be a valid field transformer"},
  };
  for (size_t i = 0; i < sizeof warn / sizeof *warn; i++) {
    char y[512];
    snprintf(y, sizeof y, "- rule: r\n  desc: d\n  condition: %s\n  output: o\n  priority: info\n", warn[i].cond);
    ctr_ruleset *rs = compile_with(y, -1, 0);
    cr_assert(rs, "%s", diags);
    ctr_ruleset_unref(rs);
    cr_assert(strstr(diags, warn[i].diag), "%s: %s", warn[i].cond, diags);
  }
  ctr_ruleset *rs = compile_with("- rule: r\n  desc: d\n  condition: ct.name regex \"(Get|Put).*\" and ct.name = ct_user\n"
                                 "  output: o\n  priority: info\n", -1, 0);
  cr_assert(rs, "%s", diags);
  ctr_ruleset_unref(rs);
  cr_assert_eq(diags[0], '\0', "no warning: %s", diags);
}

/* List names are looked up by hash, not list by list: 40,000 lists named in
 * one condition compile in well under a second (quadratic, they took 14 s). */
Test(compile, many_list_names_in_linear_time)
{
  sb y = {0};
  enum { N = 40000 };
  for (int i = 0; i < N; i++)
    sb_addf(&y, "- list: l%d\n  items: [v%d]\n", i, i);
  sb_addf(&y, "%s  condition: ct.name = GetObject and ct.user in (", RULE_HEAD);
  for (int i = 0; i < N; i++)
    sb_addf(&y, "%sl%d", i ? ", " : "", i);
  sb_addf(&y, ")\n");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ctr_ruleset *rs = compile_with(y.s, CTR_LIMIT_CONDITION_BYTES, 1 << 20);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  cr_assert(rs, "%.300s", diags);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  cr_assert_lt(secs, 10.0, "compiling took %.1f s", secs);
  cr_assert_eq(alerts(rs, "v39999"), 1);
  cr_assert_eq(alerts(rs, "l5"), 0);
  ctr_ruleset_unref(rs);
  free(y.s);
}

/* ------------------------------------------------------------ one operator table */

/* An exception's comparison and the same comparison written in a condition
 * read the one operator table (lex.c): every operator is accepted, refused
 * or takes a list alike in both, and suppresses the same alerts. `yaml`: the
 * exception value; `text`: the same value as condition text. */
Test(compile, exception_comparisons_agree_with_conditions)
{
  static const struct {
    const char *comp, *yaml, *text;
  } t[] = {
    {"=", "Bob", "Bob"}, {"==", "Bob", "Bob"}, {"!=", "x", "x"}, {"!=", "Bob", "Bob"},
    {"<", "1", "1"}, {"<=", "1", "1"}, {">", "1", "1"}, {">=", "1", "1"},
    {"contains", "o", "o"}, {"icontains", "O", "O"}, {"startswith", "B", "B"}, {"endswith", "x", "x"},
    {"glob", "B*", "B*"}, {"iglob", "b*", "b*"}, {"regex", "B.b", "B.b"},
    {"bcontains", "o", "o"}, {"bstartswith", "B", "B"}, /* no binary field: refused in both */
    {"in", "[Bob, x]", "(Bob, x)"}, {"in", "[x]", "(x)"}, {"intersects", "[x, Bob]", "(x, Bob)"},
    {"pmatch", "[Bob]", "(Bob)"},
    {"startswith anyof", "[x, B]", "(x, B)"}, {"endswith allof", "[b, ob]", "(b, ob)"},
    {"contains oneof", "[o, B]", "(o, B)"}, {"startswith\tanyof", "[x, B]", "(x, B)"},
    {"= anyof", "[Bob]", "(Bob)"},
  };
  for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
    char y[1024], comp[64];
    /* the comparison as a YAML double-quoted scalar (a tab written \t) */
    size_t k = 0;
    for (const char *c = t[i].comp; *c && k + 3 < sizeof comp; c++) {
      if (*c == '\t') {
        comp[k++] = '\\';
        comp[k++] = 't';
      } else {
        comp[k++] = *c;
      }
    }
    comp[k] = '\0';
    snprintf(y, sizeof y,
             "%s  condition: ct.name = GetObject\n  exceptions:\n  - name: e\n    fields: [ct.user, ct.name]\n"
             "    comps: [\"%s\", =]\n    values: [[%s, GetObject]]\n",
             RULE_HEAD, comp, t[i].yaml);
    ctr_ruleset *exc = compile_with(y, -1, 0);
    char exc_diags[sizeof diags];
    memcpy(exc_diags, diags, sizeof diags);
    snprintf(y, sizeof y, "%s  condition: ct.name = GetObject and not (ct.user %s %s and ct.name = GetObject)\n",
             RULE_HEAD, t[i].comp, t[i].text);
    ctr_ruleset *cond = compile_with(y, -1, 0);
    cr_expect_eq(exc != NULL, cond != NULL, "'%s': exception %s, condition %s\n%s\n%s", t[i].comp,
                 exc ? "compiles" : "refused", cond ? "compiles" : "refused", exc_diags, diags);
    if (exc && cond)
      cr_expect_eq(alerts(exc, "Bob"), alerts(cond, "Bob"), "'%s %s': exception and condition differ", t[i].comp,
                   t[i].text);
    ctr_ruleset_unref(exc);
    ctr_ruleset_unref(cond);
  }
}

/* Comparisons an exception may not use, refused at the exception with the
 * same table: exists takes no value; a modifier goes only after a string
 * operator, alone, after a blank. */
Test(compile, exception_comparisons_refused)
{
  static const char *const bad[] = {"exists", "in oneof", "> anyof", "startswith anyof x", "startswithanyof",
                                    "anyof", "~", "containsx"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char y[1024];
    snprintf(y, sizeof y,
             "%s  condition: ct.name = GetObject\n  exceptions:\n  - name: e\n    fields: [ct.user, ct.name]\n"
             "    comps: [\"%s\", =]\n    values: [[Bob, GetObject]]\n",
             RULE_HEAD, bad[i]);
    ctr_ruleset *rs = compile_with(y, -1, 0);
    cr_expect_null(rs, "'%s' accepted", bad[i]);
    cr_expect(strstr(diags, "rules.yaml:"), "'%s': no positioned diagnostic: %s", bad[i], diags);
    ctr_ruleset_unref(rs);
  }
}

/* A field argument that names a list (rds.shared.foreign_accounts[LIST]):
 * resolved when the rules compile, lists in it expanded; the value leaves
 * out the list's items, so an alert names only the accounts not trusted. */
Test(compile, list_argument_leaves_out_the_list_items)
{
  const char *yaml = "- list: vault\n  items: [\"999988887777\"]\n"
                     "- list: trusted\n  items: [vault, \"888877776666\", \"1:9\"]\n"
                     "- list: nobody\n  items: []\n"
                     "- rule: share\n  desc: d\n  priority: critical\n"
                     "  condition: rds.shared.foreign_accounts[trusted] exists\n"
                     "  output: untrusted=%rds.shared.foreign_accounts[trusted] all=%rds.shared.foreign_accounts "
                     "none=%rds.shared.foreign_accounts[nobody]\n";
  ctr_ruleset *rs = compile_with(yaml, -1, 0);
  cr_assert(rs, "%s", diags);
  cr_assert_eq(strstr(diags, "warning"), NULL, "the lists count as used: %s", diags);
#define SHARE(values)                                                                                                  \
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"accountId\":\"111122223333\"},"               \
  "\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":"                      \
  "\"ModifyDBSnapshotAttribute\",\"awsRegion\":\"eu-west-1\",\"requestParameters\":{\"attributeName\":\"restore\"," \
  "\"dBSnapshotIdentifier\":\"s\",\"valuesToAdd\":" values "}}\n"
  const char *recs = SHARE("[\"999988887777\",\"444455556666\",\"888877776666\",\"111122223333\",\"1:9\",\"555566667777\"]")
    SHARE("[\"999988887777\",\"888877776666\"]") SHARE("[\"888877776666\",\"all\"]");
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, recs, strlen(recs), 0, 0, &m), CTR_OK);
  cr_assert_eq(m.count, 1, "a share to trusted accounts only is quiet: %s", m.text);
  cr_assert(strstr(m.text, "0\tshare\tuntrusted=(444455556666,555566667777) "
                           "all=(999988887777,444455556666,888877776666,1:9,555566667777) "
                           "none=(999988887777,444455556666,888877776666,1:9,555566667777)\n") == m.text,
            "%s", m.text);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
#undef SHARE
  /* what is not a list */
  cr_assert_null(compile_with("- rule: r\n  desc: d\n  priority: info\n  output: o\n"
                              "  condition: rds.shared.foreign_accounts[rds_trusted] exists\n",
                              -1, 0));
  cr_assert(strstr(diags, "rules.yaml:5:14: error: field 'rds.shared.foreign_accounts' takes the name of a list "
                          "(e.g. rds.shared.foreign_accounts[rds_trusted_accounts]), and 'rds_trusted' is none"),
            "%s", diags);
}
