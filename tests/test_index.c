/* test_index.c - the eventName index through the public API: every rule it
 * files under a key (exact, or compared case-insensitively as Sigma does)
 * gives the alerts it gives with the index off (CTR_SCAN_NO_INDEX), while
 * records with other eventNames are not evaluated; and it is built in time
 * linear in the keys. Then the one derivation of keys (ctr__required_keys,
 * select.c) the index and the prefilter both file rules under. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "select.h"
#include "testutil.h"

#define TAIL "  output: '%ct.name'\n  priority: WARNING\n  source: aws_cloudtrail\n"

/* Falco rules keyed case-insensitively in every form the index reads, one
 * keyed exactly on a variant of the same name (the two lists merge), one
 * keyed on both kinds at once, and a wildcard. */
static const char *FALCO_RULES =
  "- rule: lower_eq\n  desc: d\n  condition: tolower(ct.name) = getobject\n" TAIL
  "- rule: lower_in\n  desc: d\n  condition: tolower(ct.name) in (getobject, deletebucket)\n" TAIL
  "- rule: lower_upper_literal\n  desc: never true, tolower() gives no upper case\n"
  "  condition: tolower(ct.name) = GetObject\n" TAIL
  "- rule: name_iglob\n  desc: d\n  condition: ct.name iglob \"GET\\OBJECT\"\n" TAIL
  "- rule: values_iglob\n  desc: d\n  condition: json.values[eventName] iglob \"getOBJECT\"\n" TAIL
  "- rule: exact\n  desc: d\n  condition: ct.name = GetObject\n" TAIL
  "- rule: mixed\n  desc: d\n  condition: ct.name = PutObject or (tolower(ct.name) = listbuckets and ct.region exists)\n" TAIL
  "- rule: iglob_wildcard\n  desc: a wildcard is no key\n  condition: ct.name iglob \"get*\"\n" TAIL
  "- rule: wild\n  desc: d\n  condition: ct.region = eu-west-3\n" TAIL;

/* What Sigma writes for an eventName without |cased. */
static const char *SIGMA_RULE = "title: sigma get object\n"
                                "logsource: {product: aws, service: cloudtrail}\n"
                                "detection:\n"
                                "  selection:\n"
                                "    eventSource: s3.amazonaws.com\n"
                                "    eventName: GetObject\n"
                                "  condition: selection\n"
                                "level: medium\n";

#define REC(name, region) "{\"eventVersion\":\"1.08\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":" name \
  ",\"awsRegion\":\"" region "\",\"eventTime\":\"2025-01-01T00:00:00Z\",\"eventType\":\"AwsApiCall\"}\n"

static const char *RECORDS =
  REC("\"GetObject\"", "us-east-1")
  REC("\"getobject\"", "us-east-1")
  REC("\"GETOBJECT\"", "eu-west-3")
  REC("\"Get\\u004fbject\"", "us-east-1") /* escaped: read by the parse, not the walk */
  REC("[\"GetObject\"]", "us-east-1")      /* not a string: json.values reads it, ct.name does not */
  REC("{\"n\":\"GetObject\"}", "us-east-1")
  REC("12", "us-east-1")
  REC("\"DeleteBucket\"", "us-east-1")
  REC("\"deleteBUCKET\"", "us-east-1")
  REC("\"PutObject\"", "us-east-1")
  REC("\"putobject\"", "us-east-1")
  REC("\"ListBuckets\"", "us-east-1")
  REC("\"Getobjec\"", "us-east-1")
  REC("\"GetObjects\"", "us-east-1")
  REC("\"getObject\\u0000\"", "us-east-1")
  REC("\"HeadObject\"", "us-east-1")
  REC("\"HeadObject\"", "eu-west-3")
  "{\"eventVersion\":\"1.08\",\"eventSource\":\"s3.amazonaws.com\",\"awsRegion\":\"us-east-1\","
  "\"eventTime\":\"2025-01-01T00:00:00Z\",\"eventType\":\"AwsApiCall\"}\n";

static ctr_ruleset *compile_both(void)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, FALCO_RULES, strlen(FALCO_RULES), "falco.yaml"), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, SIGMA_RULE, strlen(SIGMA_RULE), "s.yml"), CTR_OK);
  return tu_compile_all(c);
}

/* Scans RECORDS fed `chunk` bytes at a time; the evaluated count in *evaluated. */
static void scan(ctr_ruleset *rs, size_t chunk, unsigned flags, tu_matches *m, uint64_t *evaluated)
{
  ctr_scanner *sc;
  size_t len = strlen(RECORDS);
  cr_assert_eq(ctr_scanner_new(rs, tu_collect, m, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_set_flags(sc, flags), CTR_OK);
  for (size_t i = 0; i < len; i += chunk)
    cr_assert_eq(ctr_scanner_feed(sc, RECORDS + i, len - i < chunk ? len - i : chunk), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  *evaluated = ctr_scanner_stat(sc, CTR_STAT_EVALUATED);
  ctr_scanner_free(sc);
}

static size_t count_rule(const tu_matches *m, const char *rule)
{
  char key[64];
  snprintf(key, sizeof key, "\t%s\t", rule);
  size_t n = 0;
  for (const char *p = m->text; (p = strstr(p, key)); p++)
    n++;
  return n;
}

Test(index, case_insensitive_keys_match_as_without_the_index)
{
  ctr_ruleset *rs = compile_both();
  tu_matches plain = {0};
  uint64_t ev_plain, ev;
  scan(rs, strlen(RECORDS), CTR_SCAN_NO_INDEX, &plain, &ev_plain);
  for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
    tu_matches m = {0};
    scan(rs, chunk, 0, &m, &ev);
    cr_assert_str_eq(m.text, plain.text, "chunk %zu", chunk);
    tu_matches_free(&m);
  }
  /* What each rule matched: the case variants of its name, and for
   * json.values the array too; never a longer or shorter name. */
  cr_assert_eq(count_rule(&plain, "lower_eq"), 4, "%s", plain.text);
  cr_assert_eq(count_rule(&plain, "lower_in"), 6);
  cr_assert_eq(count_rule(&plain, "lower_upper_literal"), 0);
  cr_assert_eq(count_rule(&plain, "name_iglob"), 4);
  cr_assert_eq(count_rule(&plain, "values_iglob"), 5);
  cr_assert_eq(count_rule(&plain, "exact"), 2);
  cr_assert_eq(count_rule(&plain, "mixed"), 2);
  cr_assert_eq(count_rule(&plain, "iglob_wildcard"), 7);
  cr_assert_eq(count_rule(&plain, "wild"), 2);
  cr_assert_eq(count_rule(&plain, "sigma get object"), 5);
  tu_matches_free(&plain);
  ctr_ruleset_unref(rs);
}

/* Without the wildcards, the records whose eventName no rule names, in any
 * case, are not evaluated: the case-insensitive rules are indexed. */
Test(index, case_insensitive_rules_are_not_evaluated_on_other_names)
{
  const char *rules = "- rule: lower_eq\n  desc: d\n  condition: tolower(ct.name) = getobject\n" TAIL;
  ctr_compiler *c;
  ctr_ruleset *rs;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, rules, strlen(rules), "falco.yaml"), CTR_OK);
  cr_assert_eq(ctr_compiler_add_string(c, SIGMA_RULE, strlen(SIGMA_RULE), "s.yml"), CTR_OK);
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  ctr_compiler_free(c);
  tu_matches m = {0}, plain = {0};
  uint64_t ev, ev_plain;
  scan(rs, strlen(RECORDS), 0, &m, &ev);
  scan(rs, strlen(RECORDS), CTR_SCAN_NO_INDEX, &plain, &ev_plain);
  cr_assert_str_eq(m.text, plain.text);
  cr_assert_eq(m.count, 9, "%s", m.text);
  cr_assert_eq(ev_plain, 18);
  /* the 4 GetObject variants, and the 4 records whose eventName is absent
   * or no string (json.values may read them) */
  cr_assert_eq(ev, 8, "evaluated %llu", (unsigned long long)ev);
  tu_matches_free(&m);
  tu_matches_free(&plain);
  ctr_ruleset_unref(rs);
}

/* One rule naming N eventNames: filing it is linear in N (it was quadratic:
 * 0.72 s at 40,000). */
Test(index, many_names_in_one_rule_build_in_linear_time)
{
  enum { N = 80000 };
  size_t cap = (size_t)N * 16 + 256;
  char *yaml = malloc(cap);
  cr_assert(yaml != NULL);
  size_t len = (size_t)snprintf(yaml, cap, "- list: names\n  items: [");
  for (int i = 0; i < N; i++)
    len += (size_t)snprintf(yaml + len, cap - len, "%sName%d", i ? ", " : "", i);
  snprintf(yaml + len, cap - len, "]\n- rule: many\n  desc: d\n  condition: ct.name in (names)\n%s", TAIL);
  clock_t t0 = clock();
  char diags[512] = "";
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  cr_assert_not_null(rs, "%s", diags);
  cr_assert_lt(secs, 1.5, "compile took %.2f s", secs);
  const char *recs = "{\"eventName\":\"Name79999\",\"eventSource\":\"s3.amazonaws.com\",\"eventTime\":\"2025-01-01T00:00:00Z\"}\n"
                     "{\"eventName\":\"Name80000\",\"eventSource\":\"s3.amazonaws.com\",\"eventTime\":\"2025-01-01T00:00:00Z\"}\n"
                     "{\"eventName\":\"Name0\",\"eventSource\":\"s3.amazonaws.com\",\"eventTime\":\"2025-01-01T00:00:00Z\"}\n";
  tu_matches m = {0};
  tu_scan(rs, recs, strlen(recs), 0, 0, &m);
  cr_assert_eq(m.count, 2, "%s", m.text);
  cr_assert(strstr(m.text, "Name79999") && strstr(m.text, "Name0") && !strstr(m.text, "Name80000"), "%s", m.text);
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
  free(yaml);
}

/* ------------------------------------------------------------ the keys */

/* The keys as text: "K1 K2", a folded key as "~k", " +nonstring", "*" for any. */
static void keys_text(const ctr__keyset *k, char *out, size_t cap)
{
  size_t n = (size_t)snprintf(out, cap, "%s", k->any ? "*" : "");
  for (size_t i = 0; !k->any && i < k->n && n < cap; i++)
    n += (size_t)snprintf(out + n, cap - n, "%s%s%.*s", i ? " " : "", k->v[i].folded ? "~" : "", (int)k->v[i].s.len,
                          k->v[i].s.s);
  if (k->nonstring && n < cap)
    snprintf(out + n, cap - n, " +nonstring");
}

/* What a condition requires of ct.name, with folded keys (the index) and
 * without (the prefilter, which compares raw values exactly), and of
 * ct.error (the prefilter's second key): one derivation, so a key one of
 * them files a rule under is one the other would file it under too, folded
 * keys aside. */
Test(index, keys_are_derived_once_for_the_index_and_the_prefilter)
{
  static const struct {
    const char *cond, *name_folded, *name_exact, *error;
  } t[] = {
    {"ct.name = GetObject", "GetObject", "GetObject", "*"},
    {"ct.name in (A, B) and ct.region = x", "A B", "A B", "*"},
    {"ct.name intersects (A, B)", "A B", "A B", "*"},
    {"ct.name = A or ct.name in (B, C)", "A B C", "A B C", "*"},
    {"ct.name = A or ct.region = x", "*", "*", "*"},
    {"not ct.name = A", "*", "*", "*"},
    {"ct.name != A", "*", "*", "*"},
    {"ct.name startswith Get", "*", "*", "*"},
    {"ct.name = anyof (A, B)", "*", "*", "*"},
    {"ct.name = val(ct.region)", "*", "*", "*"},
    {"tolower(ct.name) = geta", "~geta", "*", "*"},
    {"tolower(ct.name) in (a, b)", "~a ~b", "*", "*"},
    {"tolower(ct.name) intersects (a, b)", "*", "*", "*"},
    {"ct.name iglob \"Get\\\\Object\"", "~getobject", "*", "*"},
    {"ct.name iglob \"get*\"", "*", "*", "*"},
    {"json.values[eventName] iglob \"GETx\"", "~getx +nonstring", "*", "*"},
    {"json.values[errorCode] iglob \"x\"", "*", "*", "*"},
    {"ct.error iglob \"x\"", "*", "*", "*"},
    /* an and keeps its fewest keys, of as many those a string must hold */
    {"ct.name = A and tolower(ct.name) in (b, c)", "A", "A", "*"},
    {"tolower(ct.name) = a and ct.name in (B, C)", "~a", "B C", "*"},
    {"json.values[eventName] iglob \"b\" and ct.name = A", "A", "A", "*"},
    {"ct.name = A or json.values[eventName] iglob \"b\"", "A ~b +nonstring", "*", "*"},
    {"ct.error = AccessDenied and ct.name in (A, B)", "A B", "A B", "AccessDenied"},
    {"(ct.error = X or ct.error in (Y, Z)) and not ct.name = A", "*", "*", "X Y Z"},
  };
  enum { N = sizeof t / sizeof t[0] };
  char yaml[8192], diags[2048] = "";
  size_t len = 0;
  for (size_t i = 0; i < N; i++)
    len += (size_t)snprintf(yaml + len, sizeof yaml - len, "- rule: r%zu\n  desc: d\n  condition: '%s'\n%s", i,
                            t[i].cond, TAIL);
  cr_assert_lt(len, sizeof yaml);
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert_not_null(rs, "%s", diags);
  cr_assert_eq(rs->nrules, N);
  ctr__arena scratch = {0};
  ctr__keys_ctx kx = ctr__keys_ctx_make(&scratch, rs);
  const ctr__field_def *error = ctr__field_lookup("ct.error", 8);
  for (size_t i = 0; i < N; i++) {
    char got[256];
    ctr__keyset k = ctr__required_keys(&kx, kx.ct_name, rs->rules[i].cond, true);
    keys_text(&k, got, sizeof got);
    cr_expect_str_eq(got, t[i].name_folded, "%s (ct.name, folded)", t[i].cond);
    k = ctr__required_keys(&kx, kx.ct_name, rs->rules[i].cond, false);
    keys_text(&k, got, sizeof got);
    cr_expect_str_eq(got, t[i].name_exact, "%s (ct.name, exact)", t[i].cond);
    k = ctr__required_keys(&kx, error, rs->rules[i].cond, false);
    keys_text(&k, got, sizeof got);
    cr_expect_str_eq(got, t[i].error, "%s (ct.error)", t[i].cond);
  }
  cr_assert_not(scratch.failed);
  ctr__arena_free(&scratch);
  ctr_ruleset_unref(rs);
}

/* The hash every table keys on (util.c, a word at a time): the folded form
 * finds what the exact one filed under the folded bytes, at every length
 * across the word and tail boundaries (0-40 bytes, mixed case, bytes above
 * 0x7f); strings of one length that differ in one byte anywhere hash apart;
 * and 20,000 eventName-like keys spread over a 4,096-slot table's low bits
 * as a random function would (4.9 a slot; none holds more than 24). */
Test(index, the_hash_folds_as_the_bytes_do_and_spreads_keys)
{
  unsigned seed = 12345;
  char s[48], low[48];
  for (int round = 0; round < 20000; round++) {
    size_t n = (size_t)round % 41;
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      s[i] = (char)("aZ09.:/-_\xc3\xa9Qq"[(seed >> 8) % 13]);
      low[i] = (char)tolower((unsigned char)s[i]);
    }
    cr_assert_eq(ctr__hash_lower(s, n), ctr__hash(low, n), "length %zu", n);
    for (size_t i = 0; i < n; i++) { /* one byte changed: another hash */
      char keep = low[i];
      low[i] = (char)(keep ^ 0x40);
      uint64_t h = ctr__hash(low, n);
      low[i] = keep;
      cr_assert_neq(h, ctr__hash(low, n), "length %zu, byte %zu", n, i);
    }
  }
  static unsigned load[4096];
  memset(load, 0, sizeof load);
  unsigned most = 0;
  for (unsigned i = 0; i < 20000; i++) {
    char name[32];
    int n = snprintf(name, sizeof name, "%sDBInstance%u", i % 2 ? "Describe" : "Modify", i / 2);
    unsigned *slot = &load[ctr__hash(name, (size_t)n) & 4095];
    if (++*slot > most)
      most = *slot;
  }
  cr_assert_leq(most, 24, "a slot holds %u of 20,000 keys", most);
}
