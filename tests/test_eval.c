/* test_eval.c - evaluation (eval.c) through the internal API: a rule is
 * compiled, then its compiled condition (ctr__cnode) and field operands
 * (ctr__cexpr) are run with ctr__eval / ctr__eval_expr on an event built
 * here, as the scanner builds it - no framing, no index, no prefilter. Every
 * operator on every value kind (string, number, list, absent), the list
 * modifiers, a field on the right, transformers, the PCRE2 limit, and a
 * record's candidate rules run in turn into a sink (ctr__eval_rules). */
#include "eval.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Strings: ct.name, ct.region, key (one value of json.values); a number:
 * s3.bytes.out; lists: tags (with a duplicate), ids; absent: ct.error and
 * json.values of a missing or empty path. */
static const char *EV =
  "{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"s3.amazonaws.com\","
  "\"eventName\":\"GetObject\",\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":\"198.51.100.7\","
  "\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"Bob\"},"
  "\"requestParameters\":{\"bucketName\":\"logs\",\"key\":\"/var/log/app/x.txt\",\"upper\":\"GetObject\","
  "\"tags\":[\"prod\",\"pci\",\"prod\"],\"ids\":[\"pci\",\"dev\"],\"empty\":[],\"n\":\"2048\","
  "\"slow\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\",\"b64\":\"R2V0T2JqZWN0\"},"
  "\"additionalEventData\":{\"bytesTransferredOut\":2048}}";

#define KEY "json.values[requestParameters.key]"
#define TAGS "json.values[requestParameters.tags]"
#define IDS "json.values[requestParameters.ids]"
#define NONE "json.values[requestParameters.none]"
#define EMPTY "json.values[requestParameters.empty]"
#define BYTES "s3.bytes.out"

/* One compiled rule and one event, with the evaluation state a scanner
 * keeps (cache per slot, PCRE2 match data and context). */
typedef struct fixture {
  ctr_ruleset *rs;
  ctr__arena arena;
  json_t *root;
  ctr__event ev;
  ctr__evalctx cx;
} fixture;

/* The rules of `yaml`, over the event `json`. */
static void fixture_init_rules(fixture *f, const char *yaml, const char *json)
{
  char diags[4096] = "";
  memset(f, 0, sizeof *f);
  f->rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert(f->rs, "does not compile: %s\n%s", yaml, diags);
  json_error_t err;
  f->root = json_loads(json, JSON_ALLOW_NUL, &err);
  cr_assert(f->root, "bad test JSON: %s", err.text);
  f->ev = (ctr__event){.root = f->root, .raw = json, .raw_len = strlen(json), .arena = &f->arena,
                       .hostname = "testhost"};
  f->cx = (ctr__evalctx){.rs = f->rs, .ev = &f->ev, .gen = 1};
  f->cx.cache = calloc(f->rs->nslots ? f->rs->nslots : 1, sizeof *f->cx.cache);
  f->cx.md = pcre2_match_data_create(1, NULL);
  f->cx.mctx = pcre2_match_context_create(NULL);
  cr_assert(f->cx.cache && f->cx.md && f->cx.mctx);
  pcre2_set_match_limit(f->cx.mctx, (uint32_t)f->rs->regex_match_limit);
  pcre2_set_depth_limit(f->cx.mctx, (uint32_t)f->rs->regex_depth_limit);
}

/* `defs`: YAML items (lists, macros) placed before the one rule. */
static void fixture_init_defs(fixture *f, const char *defs, const char *cond, const char *json)
{
  char yaml[4096];
  snprintf(yaml, sizeof yaml, "%s- rule: r\n  desc: d\n  condition: '%s'\n  output: o\n  priority: info\n", defs,
           cond);
  fixture_init_rules(f, yaml, json);
  cr_assert_eq(f->rs->nrules, 1);
}

static void fixture_init(fixture *f, const char *cond, const char *json) { fixture_init_defs(f, "", cond, json); }

static void fixture_fini(fixture *f)
{
  pcre2_match_context_free(f->cx.mctx);
  pcre2_match_data_free(f->cx.md);
  free(f->cx.cache);
  json_decref(f->root);
  ctr__arena_free(&f->arena);
  ctr_ruleset_unref(f->rs);
}

/* The condition's result on EV (1 or 0); no evaluation error allowed. */
static int eval_on(const char *cond, const char *json)
{
  fixture f;
  fixture_init(&f, cond, json);
  bool r = ctr__eval(&f.cx, f.rs->rules[0].cond);
  cr_assert_eq(f.cx.error, 0, "evaluation error %d: %s", f.cx.error, cond);
  /* A second event generation gives the same answer (values re-extracted). */
  f.cx.gen++;
  ctr__arena_reset(&f.arena);
  cr_assert_eq(ctr__eval(&f.cx, f.rs->rules[0].cond), r, "not repeatable: %s", cond);
  fixture_fini(&f);
  return r;
}

typedef struct expect {
  const char *cond;
  int result;
} expect;

static void check_all(const expect *t, size_t n)
{
  for (size_t i = 0; i < n; i++)
    cr_expect_eq(eval_on(t[i].cond, EV), t[i].result, "expected %s: %s", t[i].result ? "true" : "false", t[i].cond);
}

#define CHECK_ALL(t) check_all((t), sizeof(t) / sizeof((t)[0]))

/* ------------------------------------------------------------ value kinds */

/* The value of a check's left operand, as ctr__eval_expr gives it. */
static ctr__value lhs_value(fixture *f, const char *cond)
{
  fixture_init(f, cond, EV);
  const ctr__cnode *c = f->rs->rules[0].cond;
  cr_assert_eq(c->kind, CTR__N_CHECK);
  ctr__value v;
  cr_assert_eq(ctr__eval_expr(&f->cx, c->lhs, &v), CTR_OK);
  return v;
}

Test(eval, value_kinds_of_the_fields_used_here)
{
  fixture f;
  ctr__value v = lhs_value(&f, "ct.name exists");
  cr_assert_eq(v.kind, CTR__V_STR);
  cr_assert_eq(v.len, 9);
  cr_assert_str_eq(v.str, "GetObject");
  fixture_fini(&f);
  v = lhs_value(&f, BYTES " exists");
  cr_assert_eq(v.kind, CTR__V_U64);
  cr_assert_eq(v.u64, 2048);
  fixture_fini(&f);
  v = lhs_value(&f, TAGS " exists");
  cr_assert_eq(v.kind, CTR__V_LIST);
  cr_assert_eq(v.count, 3);
  cr_assert_eq(v.items[2].len, 4);
  cr_assert(memcmp(v.items[2].s, "prod", 4) == 0);
  fixture_fini(&f);
  v = lhs_value(&f, "ct.error exists");
  cr_assert_eq(v.kind, CTR__V_ABSENT);
  fixture_fini(&f);
  v = lhs_value(&f, "len(" TAGS ") exists");
  cr_assert_eq(v.kind, CTR__V_U64);
  cr_assert_eq(v.u64, 3);
  fixture_fini(&f);
}

Test(eval, field_values_are_cached_per_event_generation)
{
  fixture f;
  fixture_init(&f, "ct.name = GetObject and ct.name != x", EV);
  cr_assert(ctr__eval(&f.cx, f.rs->rules[0].cond));
  cr_assert_eq(f.rs->nslots, 1, "one field, one slot");
  cr_assert_eq(f.cx.cache[0].gen, 1);
  /* The cached value is what a new generation must not reuse: change it. */
  f.cx.cache[0].v.str = "Other";
  f.cx.cache[0].v.len = 5;
  cr_assert_not(ctr__eval(&f.cx, f.rs->rules[0].cond), "same generation: the cache is read");
  f.cx.gen++;
  cr_assert(ctr__eval(&f.cx, f.rs->rules[0].cond), "new generation: extracted again");
  fixture_fini(&f);
}

/* ------------------------------------------------------------ strings */

Test(eval, every_operator_on_a_string)
{
  static const expect t[] = {
    {"ct.name = GetObject", 1}, {"ct.name == GetObject", 1}, {"ct.name = getobject", 0},
    {"ct.name != GetObject", 0}, {"ct.name != x", 1},
    /* < <= > >= take a number or a field: strings compare byte by byte */
    {"ct.name < val(ct.region)", 1}, {"ct.region < val(ct.name)", 0}, {"ct.name <= val(ct.name)", 1},
    {"ct.region > val(ct.name)", 1}, {"ct.name > val(ct.name)", 0}, {"ct.name >= val(ct.name)", 1},
    {"ct.name > 1", 1}, {"ct.name < 1", 0}, {"ct.name >= 1", 1}, {"ct.name <= 1", 0},
    {"ct.name contains Obj", 1}, {"ct.name contains obj", 0}, {"ct.name contains \"\"", 1},
    {"ct.name icontains OBJ", 1}, {"ct.name icontains xyz", 0},
    {"ct.name startswith Get", 1}, {"ct.name startswith Object", 0},
    {"ct.name endswith Object", 1}, {"ct.name endswith Get", 0},
    {"ct.name glob \"Get*\"", 1}, {"ct.name glob \"get*\"", 0}, {"ct.name glob \"?etObj[a-f]ct\"", 1},
    {"ct.name iglob \"get*\"", 1}, {"ct.name iglob \"put*\"", 0},
    {"ct.name regex \"Get.*\"", 1}, {"ct.name regex \"Object\"", 0}, /* a full match */
    {"ct.name in (PutObject, GetObject)", 1}, {"ct.name in (PutObject)", 0}, {"ct.name in ()", 0},
    {"ct.name intersects (GetObject, x)", 1}, {"ct.name intersects (x)", 0},
    {"ct.name exists", 1},
    {KEY " pmatch (/var/log)", 1}, {KEY " pmatch (/var/log/)", 1}, {KEY " pmatch (/var/lo)", 0},
    {KEY " pmatch (/var/*/app)", 1}, {KEY " pmatch (/)", 1}, {KEY " pmatch (/etc, /usr)", 0},
  };
  CHECK_ALL(t);
}

Test(eval, list_modifiers_on_a_string)
{
  static const expect t[] = {
    {"ct.name startswith anyof (Put, Get)", 1}, {"ct.name startswith anyof (Put, Del)", 0},
    {"ct.name contains allof (Get, Obj)", 1}, {"ct.name contains allof (Get, Put)", 0},
    {"ct.name contains oneof (Get, Put)", 1}, {"ct.name contains oneof (Get, Obj)", 0},
    {"ct.name contains oneof (Get, Get)", 0}, /* duplicates count, as Falco counts them */
    {"ct.name regex anyof (\"Put.*\", \"G.*\")", 1}, {"ct.name = anyof (a, b)", 0},
    {"ct.name != allof (a, b)", 1},
  };
  CHECK_ALL(t);
}

/* ------------------------------------------------------------ numbers */

Test(eval, every_operator_on_a_number)
{
  static const expect t[] = {
    {BYTES " = 2048", 1}, {BYTES " = 0x800", 1}, {BYTES " = 2047", 0},
    {BYTES " != 2048", 0}, {BYTES " != 1", 1},
    {BYTES " < 2049", 1}, {BYTES " < 2048", 0}, {BYTES " <= 2048", 1}, {BYTES " <= 2047", 0},
    {BYTES " > 2047", 1}, {BYTES " > 2048", 0}, {BYTES " >= 2048", 1}, {BYTES " >= 2049", 0},
    {BYTES " in (1, 2048)", 1}, {BYTES " in (1, 2)", 0},
    {BYTES " intersects (2048)", 1}, {BYTES " intersects (3)", 0},
    {BYTES " exists", 1},
    {BYTES " = anyof (1, 2048)", 1}, {BYTES " = allof (2048, 2048)", 1}, {BYTES " = oneof (2048, 2048)", 0},
    /* numbers compare as numbers, not as text, in a list too */
    {BYTES " > 300", 1}, {BYTES " < 10000", 1},
    {BYTES " in (0x800)", 1}, {BYTES " intersects (02048, 1)", 1}, {BYTES " in (0x801, 2047)", 0},
    {BYTES " = anyof (0x800)", 1}, {BYTES " != allof (0x800, 1)", 0},
    {"len(ct.name) = 9", 1}, {"len(ct.name) > 9", 0},
  };
  CHECK_ALL(t);
}

/* ------------------------------------------------------------ lists */

Test(eval, every_operator_on_a_list)
{
  static const expect t[] = {
    /* in: every item among the values; intersects: any */
    {TAGS " in (prod, pci)", 1}, {TAGS " in (prod)", 0},
    {TAGS " intersects (pci, x)", 1}, {TAGS " intersects (x, y)", 0},
    /* any other operator: true when some item satisfies it */
    {TAGS " = pci", 1}, {TAGS " = dev", 0},
    {TAGS " != prod", 1}, /* pci is not prod */
    {TAGS " contains ci", 1}, {TAGS " icontains PC", 1}, {TAGS " contains x", 0},
    {TAGS " startswith pr", 1}, {TAGS " endswith od", 1}, {TAGS " endswith x", 0},
    {TAGS " glob \"p?i\"", 1}, {TAGS " regex \"p.*d\"", 1}, {TAGS " regex \"x\"", 0},
    {TAGS " > 1", 1}, {TAGS " < 1", 0},
    {TAGS " exists", 1},
    {TAGS " startswith anyof (x, pc)", 1},
    {"len(" TAGS ") = 3", 1},
    {"toupper(" TAGS ") = PCI", 1},
    {"join(\",\", " TAGS ") = \"prod,pci,prod\"", 1},
  };
  CHECK_ALL(t);
}

/* ------------------------------------------------------------ absent */

/* An absent field (or an empty list) makes every check false, != and
 * negated-looking operators included; only `not` turns it true. */
Test(eval, absent_field_is_false_for_every_operator)
{
  static const char *const fields[] = {"ct.error", NONE, EMPTY};
  static const char *const checks[] = {
    "= x", "!= x", "< 1", "<= 1", "> 1", ">= 1", "contains x", "icontains x", "startswith x", "endswith x",
    "glob x", "iglob x", "regex x", "in (x)", "intersects (x)", "pmatch (/x)", "exists", "= anyof (x)",
    "!= allof (x, y)", "= val(ct.name)", "!= val(ct.name)"};
  for (size_t f = 0; f < sizeof fields / sizeof *fields; f++)
    for (size_t c = 0; c < sizeof checks / sizeof *checks; c++) {
      char cond[256], neg[300];
      snprintf(cond, sizeof cond, "%s %s", fields[f], checks[c]);
      cr_expect_eq(eval_on(cond, EV), 0, "expected false: %s", cond);
      snprintf(neg, sizeof neg, "not %s", cond);
      cr_expect_eq(eval_on(neg, EV), 1, "expected true: %s", neg);
    }
  /* an absent value on the right is false too */
  cr_expect_eq(eval_on("ct.name = val(ct.error)", EV), 0);
  cr_expect_eq(eval_on("ct.name != val(ct.error)", EV), 0);
}

/* ------------------------------------------------------------ a field on the right */

Test(eval, a_field_or_transformer_on_the_right)
{
  static const expect t[] = {
    {"ct.name = val(json.values[requestParameters.upper])", 1}, {"ct.name != val(ct.region)", 1},
    {"ct.name = val(ct.region)", 0},
    {"ct.name startswith val(ct.name)", 1}, {"ct.region < val(ct.name)", 0},
    {"tolower(ct.name) = tolower(json.values[requestParameters.upper])", 1},
    {"ct.name = b64(json.values[requestParameters.b64])", 1},
    {"json.values[requestParameters.ids] intersects val(" TAGS ")", 1},
    {"json.values[requestParameters.ids] in val(" TAGS ")", 0}, /* dev is not a tag */
    {KEY " pmatch val(json.values[requestParameters.key])", 1},
    {BYTES " = val(" BYTES ")", 1}, {BYTES " > len(ct.name)", 1},
  };
  CHECK_ALL(t);
}

/* ------------------------------------------------------------ and / or / not */

Test(eval, boolean_structure)
{
  static const expect t[] = {
    {"ct.name = GetObject and ct.region = eu-west-1", 1}, {"ct.name = GetObject and ct.region = x", 0},
    {"ct.name = x or ct.region = eu-west-1", 1}, {"ct.name = x or ct.region = y", 0},
    {"not ct.name = x", 1}, {"not not ct.name = x", 0},
    {"(ct.name = x or ct.name = GetObject) and not ct.error exists", 1},
  };
  CHECK_ALL(t);
}

/* ------------------------------------------------------------ the regex limit */

/* Nested alternatives over a string that almost matches backtrack
 * exponentially; the match limit stops them: the check is false and the
 * context records CTR_ELIMIT, which the scanner reports. */
Test(eval, regex_match_limit_is_an_error_not_a_match)
{
  fixture f;
  fixture_init(&f, "json.values[requestParameters.slow] regex \"(a|aa)+\"", EV);
  pcre2_set_match_limit(f.cx.mctx, 1000);
  cr_assert_not(ctr__eval(&f.cx, f.rs->rules[0].cond));
  cr_assert_eq(f.cx.error, CTR_ELIMIT);
  /* under `not` it is still an error, never a silent true */
  fixture_fini(&f);
  fixture_init(&f, "not json.values[requestParameters.slow] regex \"(a|aa)+\"", EV);
  pcre2_set_match_limit(f.cx.mctx, 1000);
  ctr__eval(&f.cx, f.rs->rules[0].cond);
  cr_assert_eq(f.cx.error, CTR_ELIMIT);
  fixture_fini(&f);
  /* a short subject stays under the limit: an answer, no error */
  fixture_init(&f, "json.values[requestParameters.bucketName] regex \"(l|lo)+gs\"", EV);
  pcre2_set_match_limit(f.cx.mctx, 1000);
  cr_assert(ctr__eval(&f.cx, f.rs->rules[0].cond));
  cr_assert_eq(f.cx.error, 0);
  fixture_fini(&f);
}

/* ------------------------------------------------------------ list definitions */

/* A list naming an earlier list reaches evaluation as one set of every item
 * (duplicates dropped), in a condition and in an exception alike. */
Test(eval, lists_of_lists_are_one_set)
{
  static const char *defs = "- list: inner\n  items: [GetObject, PutObject]\n"
                            "- list: outer\n  items: [inner, DeleteObject, GetObject]\n";
  fixture f;
  fixture_init_defs(&f, defs, "ct.name in (outer)", EV);
  const ctr__cnode *c = f.rs->rules[0].cond;
  cr_assert_eq(c->kind, CTR__N_CHECK);
  cr_assert_eq(c->nrhs, 4, "inner's two items, DeleteObject, GetObject again");
  cr_assert_eq(c->set.n, 3);
  cr_assert(ctr__strset_has(&c->set, "PutObject", 9));
  cr_assert_not(ctr__strset_has(&c->set, "inner", 5), "a list name is no value");
  cr_assert(ctr__eval(&f.cx, c));
  fixture_fini(&f);
  /* the same list in a modifier, and as an exception's values */
  fixture_init_defs(&f, defs, "ct.name startswith anyof (outer)", EV);
  cr_assert(ctr__eval(&f.cx, f.rs->rules[0].cond));
  fixture_fini(&f);
  char y[1024];
  snprintf(y, sizeof y,
           "%s- rule: r\n  desc: d\n  condition: ct.region = eu-west-1\n  output: o\n  priority: info\n"
           "  exceptions:\n  - name: e\n    fields: ct.name\n    values: [outer]\n",
           defs);
  char diags[4096] = "";
  ctr_ruleset *rs = tu_compile(y, diags, sizeof diags);
  cr_assert(rs, "%s", diags);
  fixture_init(&f, "ct.region = eu-west-1", EV); /* an event context for rs's slots */
  ctr__evalctx cx = f.cx;
  cx.rs = rs;
  ctr__cache_entry cache[8] = {{0}};
  cr_assert(rs->nslots <= 8);
  cx.cache = cache;
  cr_assert_not(ctr__eval(&cx, rs->rules[0].cond), "GetObject is in outer: the exception holds");
  ctr_ruleset_unref(rs);
  fixture_fini(&f);
}

/* ------------------------------------------------------------ a record's candidates */

/* What ctr__eval_rules handed its sink, as "hit NAME" / "undecided NAME"
 * lines; hit returns stop_status at hit number stop_after (0: never). */
typedef struct seen {
  char log[512];
  int hits, stop_after;
  int stop_status;
} seen;

static int seen_hit(void *ud, const ctr__crule *r)
{
  seen *s = ud;
  snprintf(s->log + strlen(s->log), sizeof s->log - strlen(s->log), "hit %s\n", r->name);
  return ++s->hits == s->stop_after ? s->stop_status : CTR_OK;
}

static void seen_undecided(void *ud, const ctr__crule *r)
{
  seen *s = ud;
  snprintf(s->log + strlen(s->log), sizeof s->log - strlen(s->log), "undecided %s\n", r->name);
}

#define RULE(name, cond) "- rule: " name "\n  desc: d\n  condition: '" cond "'\n  output: o\n  priority: info\n"

/* Every candidate in the order given, each hit and each rule a regex gave up
 * on to the sink, non-matches to neither; first_only stops at the first hit;
 * a status from the sink stops the evaluation and is returned. */
Test(eval, candidates_of_a_record_reach_the_sink_in_order)
{
  static const char *yaml = RULE("name", "ct.name = GetObject") RULE("miss", "ct.name = PutObject")
    RULE("slow", "json.values[requestParameters.slow] regex \"(a|aa)+\"") RULE("region", "ct.region = eu-west-1");
  fixture f;
  fixture_init_rules(&f, yaml, EV);
  cr_assert_eq(f.rs->nrules, 4);
  pcre2_set_match_limit(f.cx.mctx, 1000);
  const uint32_t all[] = {3, 2, 1, 0}, some[] = {1, 0};
  seen s = {0};
  ctr__eval_sink sink = {seen_hit, seen_undecided, &s};
  cr_assert_eq(ctr__eval_rules(&f.cx, all, 4, false, &sink), CTR_OK);
  cr_assert_str_eq(s.log, "hit region\nundecided slow\nhit name\n");
  s = (seen){0};
  cr_assert_eq(ctr__eval_rules(&f.cx, all, 4, true, &sink), CTR_OK);
  cr_assert_str_eq(s.log, "hit region\n", "first_only: the first hit ends it");
  s = (seen){0};
  cr_assert_eq(ctr__eval_rules(&f.cx, some, 2, true, &sink), CTR_OK);
  cr_assert_str_eq(s.log, "hit name\n", "only the candidates given");
  s = (seen){.stop_after = 1, .stop_status = CTR_STOPPED};
  cr_assert_eq(ctr__eval_rules(&f.cx, all, 4, false, &sink), CTR_STOPPED);
  cr_assert_str_eq(s.log, "hit region\n");
  s = (seen){.stop_after = 2, .stop_status = CTR_ENOMEM};
  cr_assert_eq(ctr__eval_rules(&f.cx, all, 4, false, &sink), CTR_ENOMEM);
  cr_assert_str_eq(s.log, "hit region\nundecided slow\nhit name\n");
  s = (seen){0};
  cr_assert_eq(ctr__eval_rules(&f.cx, all, 0, false, &sink), CTR_OK);
  cr_assert_str_eq(s.log, "", "no candidates, no verdicts");
  fixture_fini(&f);
}

/* Each call is a new event generation: a value cached for the previous
 * record is extracted again, never reused. */
Test(eval, candidates_are_evaluated_on_a_new_event_generation)
{
  fixture f;
  fixture_init_rules(&f, RULE("name", "ct.name = GetObject"), EV);
  const uint32_t one[] = {0};
  seen s = {0};
  ctr__eval_sink sink = {seen_hit, seen_undecided, &s};
  cr_assert_eq(ctr__eval_rules(&f.cx, one, 1, false, &sink), CTR_OK);
  cr_assert_str_eq(s.log, "hit name\n");
  uint64_t gen = f.cx.gen;
  f.cx.cache[0].v.str = "Other"; /* what a stale cache would answer */
  f.cx.cache[0].v.len = 5;
  s = (seen){0};
  cr_assert_eq(ctr__eval_rules(&f.cx, one, 1, false, &sink), CTR_OK);
  cr_assert_eq(f.cx.gen, gen + 1);
  cr_assert_str_eq(s.log, "hit name\n");
  fixture_fini(&f);
}
