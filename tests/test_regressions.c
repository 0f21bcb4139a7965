/* test_regressions.c - one test per defect the fuzzers (tests/fuzz) found,
 * through the public API, named after what went wrong. Each input is the
 * minimised reproducer, so the sanitizer build and valgrind catch a
 * relapse even where a plain build would not. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char record[] =
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bob\"},"
  "\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"rds.amazonaws.com\","
  "\"eventName\":\"DeleteDBCluster\",\"awsRegion\":\"eu-west-1\"}\n";

typedef struct seen_output {
  int calls;
  size_t len;
  char first_byte;
} seen_output;

static int on_match_output(const ctr_match *m, void *ud)
{
  seen_output *s = ud;
  const char *out = ctr_match_output(m);
  cr_assert_not_null(out);
  s->calls++;
  s->first_byte = out[0];
  s->len = strlen(out);
  return 0;
}

/* fuzz_render, empty template: the first match of a scanner whose rule has
 * an empty output returned a buffer that was allocated but never
 * terminated, so ctr_match_output() handed out uninitialised heap bytes
 * (ASan: heap-buffer-overflow in strlen). It must be "". */
Test(render, empty_output_template_is_an_empty_string)
{
  static const char *const templates[] = {"\"\"", "|-\n    \n", "''"};
  for (size_t t = 0; t < sizeof templates / sizeof *templates; t++) {
    char yaml[512], diags[1024];
    snprintf(yaml, sizeof yaml,
             "- rule: empty output\n  desc: d\n  condition: ct.name = DeleteDBCluster\n  output: %s\n"
             "  priority: WARNING\n  source: aws_cloudtrail\n",
             templates[t]);
    ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
    cr_assert_not_null(rs, "template %s: %s", templates[t], diags);
    seen_output seen = {0};
    cr_assert_eq(ctr_scan_buffer(rs, record, strlen(record), 0, on_match_output, &seen), CTR_OK);
    cr_assert_eq(seen.calls, 1, "template %s", templates[t]);
    cr_assert_eq(seen.first_byte, '\0', "template %s rendered byte 0x%02x", templates[t],
                 (unsigned char)seen.first_byte);
    cr_assert_eq(seen.len, 0);
    ctr_ruleset_unref(rs);
  }
}

/* The fuzzer's minimised rule: empty keys, then an exception whose
 * `fields:` and `comps:` values follow (line 8 and line 9 of the file). */
#define EXCEPTION_RULE(fields, comps)                                                             \
  "- rule: d\n  desc:\n  condition:\n  output:\n  priority: WARNING\n  exceptions:\n    - name:\n" \
  "      fields:" fields "\n      comps:" comps "\n"

/* Compiling `yaml` must fail with an error diagnostic at `where` whose
 * message contains `what`. */
static void expect_rules_error(const char *yaml, const char *where, const char *what)
{
  char diags[2048];
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert_null(rs, "compiled: %s", yaml);
  cr_assert(strstr(diags, where) != NULL, "expected %s in: %s", where, diags);
  cr_assert(strstr(diags, what) != NULL, "expected '%s' in: %s", what, diags);
}

/* fuzz_rules, exception with a scalar `fields` and a sequence `comps`: the
 * error path freed the exception's comps vector while its only slot was
 * still uninitialised (ASan: SEGV in free from free_exception). It must be
 * a clear error at the comps key. */
Test(load, exception_scalar_fields_with_sequence_comps_is_an_error)
{
  expect_rules_error(EXCEPTION_RULE("", " []"), "rules.yaml:9:14: error:",
                     "with a single field, 'comps' must be a scalar");
}

/* fuzz_rules, exception comps with a known operator then an unknown one:
 * the first operator was moved into the exception and then freed again
 * with the rejected list (ASan: double-free from free_exception). It must
 * be a clear error naming the unknown operator. */
Test(load, exception_comps_with_an_unknown_operator_after_a_known_one_is_an_error)
{
  expect_rules_error(EXCEPTION_RULE(" [=,s]", " [=,s]"), "rules.yaml:9:14: error:",
                     "'s' is not a known comparison operator");
}

static int count_match(const ctr_match *m, void *ud)
{
  (void)m;
  ++*(int *)ud;
  return 0;
}

/* The built-in RDS rules, compiled. */
static ctr_ruleset *builtin_rds(void)
{
  ctr_compiler *c;
  ctr_ruleset *rs;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_builtin(c, "rds"), CTR_OK);
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  ctr_compiler_free(c);
  return rs;
}

/* fuzz_scanner, an eventName longer than the built-in name it is probed
 * against in the eventName index: the lookup compared `len` bytes of the
 * shorter stored name (ASan: heap-buffer-overflow in memcmp from
 * ctr__index_lookup). The minimised name, then names that extend real ones,
 * must all be looked up without reading past either string, and match
 * nothing. */
Test(scan, event_name_longer_than_an_indexed_name)
{
  ctr_ruleset *rs = builtin_rds();
  static const char *const names[] = {"CreateDevt.rawtimBCluster", "DeleteDBClusterXXXXXXXXXXXXXXXXXXXXXXXX",
                                      "ModifyDBInstance-and-then-some-more-bytes", "StopDBCluster\\u0000tail"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char rec[256];
    int n = snprintf(rec, sizeof rec, "{\"eventName\":\"%s\"}", names[i]);
    int matches = 0;
    ctr_scan_buffer(rs, rec, (size_t)n, 0, count_match, &matches);
    cr_assert_eq(matches, 0, "%s matched", names[i]);
  }
  ctr_ruleset_unref(rs);
}

/* fuzz_rules, an exception value tuple whose second element is a mapping:
 * the first element's strings were allocated, the tuple was rejected, and
 * only whole tuples were freed (LeakSanitizer: 8 bytes from
 * read_exc_values). It must be a clear error at that element, and leak
 * nothing (the ASan build and valgrind check that). */
Test(load, exception_value_tuple_with_a_mapping_element_is_an_error)
{
  expect_rules_error("- rule: D\n  desc:\n  condition:\n  output:\n  priority: WARNING\n  exceptions:\n"
                     "    - name:\n      fields:\n        -\n        -\n      values:\n      - [r,y: ]\n",
                     "rules.yaml:12:12: error:", "value of 'values' must be a sequence");
}

/* fuzz_condition, `ct.name in ( )` (an empty list): building the prefilter
 * offset a NULL key array (UBSan: applying zero offset to null pointer in
 * ctr__prefilter_build; found in the prefilter's first version, fixed
 * before it was committed). An empty list compiles, matches nothing, and
 * the indexed and unindexed scans agree. */
Test(scan, empty_list_condition_matches_nothing)
{
  ctr_ruleset *rs = tu_compile("- rule: empty list\n  desc: d\n  condition: ct.name in (  )\n"
                               "  output: \"%ct.name\"\n  priority: WARNING\n  source: aws_cloudtrail\n",
                               NULL, 0);
  cr_assert_not_null(rs);
  for (unsigned flags = 0; flags <= CTR_SCAN_NO_INDEX; flags += CTR_SCAN_NO_INDEX) {
    int matches = 0;
    cr_assert_eq(ctr_scan_buffer(rs, record, strlen(record), flags, count_match, &matches), CTR_OK);
    cr_assert_eq(matches, 0, "flags %u", flags);
  }
  ctr_ruleset_unref(rs);
}

/* Issue 14/16: a definition's position pointed into the compiler's array of
 * loaded files, which every added file reallocated; the unused-macro and
 * unused-list warnings (and any compile diagnostic about an earlier file)
 * then read freed memory. Built-ins first, then many small files, the last
 * overriding a built-in rule: every diagnostic names its own file and line. */
Test(compiler, diagnostics_of_earlier_files_survive_later_files)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_builtin(c, "rds"), CTR_OK);
  enum { NFILES = 40 };
  for (int i = 0; i < NFILES; i++) {
    char yaml[256], name[32];
    snprintf(yaml, sizeof yaml, "- macro: unused_macro_%d\n  condition: ct.name = X%d\n"
                                "- list: unused_list_%d\n  items: [a, b]\n", i, i, i);
    snprintf(name, sizeof name, "tuning-%02d.yaml", i);
    cr_assert_eq(ctr_compiler_add_string(c, yaml, strlen(yaml), name), CTR_OK);
  }
  static const char override[] =
    "- rule: RDS Instance Made Public\n  condition: ct.name = ModifyDBInstance\n"
    "  override:\n    condition: replace\n";
  cr_assert_eq(ctr_compiler_add_string(c, override, strlen(override), "override.yaml"), CTR_OK);
  ctr_ruleset *rs = NULL;
  cr_assert_eq(ctr_compiler_compile(c, &rs), CTR_OK);
  int macro_warnings = 0, list_warnings = 0;
  for (size_t i = 0; i < ctr_compiler_diag_count(c); i++) {
    const ctr_diag *d = ctr_compiler_diag(c, i);
    const char *text = ctr_diag_text(d);
    int n;
    if (sscanf(text, "tuning-%d.yaml:1:", &n) == 1 && strstr(text, "unused_macro_")) {
      char want[32];
      snprintf(want, sizeof want, "unused_macro_%d", n);
      cr_assert(strstr(text, want), "%s", text);
      macro_warnings++;
    } else if (sscanf(text, "tuning-%d.yaml:3:", &n) == 1 && strstr(text, "unused_list_")) {
      list_warnings++;
    }
    cr_assert_eq(strncmp(ctr_diag_file(d), "tuning-", 7) == 0 || strcmp(ctr_diag_file(d), "override.yaml") == 0 ||
                   strstr(ctr_diag_file(d), "rds") != NULL,
                 1, "unexpected file %s", ctr_diag_file(d));
  }
  cr_assert_eq(macro_warnings, NFILES);
  cr_assert_eq(list_warnings, NFILES);
  ctr_ruleset_unref(rs);
  ctr_compiler_free(c);
}

typedef struct nums {
  char text[256];
  size_t len;
} nums;

static int on_match_num(const ctr_match *m, void *ud)
{
  nums *n = ud;
  n->len += (size_t)snprintf(n->text + n->len, sizeof n->text - n->len, "%llu:%s ",
                             (unsigned long long)ctr_match_record_index(m), ctr_match_output(m));
  return 0;
}

static void ignore_record_error(const ctr_record_error *e, void *ud)
{
  (void)e;
  (void)ud;
}

/* Issue 16: evt.num counted the records that reached evaluation, so a record
 * refused by the framer (over the size limit) or skipped by the prefilter
 * shifted the numbers of the rest. It is the record index + 1 whatever comes
 * between. */
Test(fields, evt_num_is_the_record_index_plus_one)
{
  ctr_ruleset *rs = tu_compile("- rule: n\n  desc: d\n  condition: ct.name = DeleteDBCluster\n"
                               "  output: \"%evt.num\"\n  priority: info\n  source: aws_cloudtrail\n",
                               NULL, 0);
  cr_assert_not_null(rs);
  char big[600];
  snprintf(big, sizeof big, "{\"pad\":\"%0480d\"}\n", 0);
  char input[4096];
  snprintf(input, sizeof input, "%s{\"bad\":}\n%s%s42\n%s", record, big, "{\"eventName\":\"ListTags\"}\n", record);
  ctr_scanner *sc;
  nums got = {{0}, 0};
  cr_assert_eq(ctr_scanner_new(rs, on_match_num, &got, &sc), CTR_OK);
  ctr_scanner_set_error_callback(sc, ignore_record_error, NULL);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_RECORD_BYTES, 400), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, input, strlen(input)), CTR_OK);
  ctr_scanner_finish(sc);
  ctr_scanner_free(sc);
  cr_assert_str_eq(got.text, "0:1 5:6 ");
  ctr_ruleset_unref(rs);
}

/* An object below requestParameters or responseElements, and where it
 * lies ("requestParameters/attributes[]/..."). */
typedef struct rds_object {
  json_t *o;
  char path[256];
} rds_object;

/* The objects of v at `path` and below it, at any depth (inside arrays
 * too): at most cap. */
static size_t rds_objects(json_t *v, const char *path, rds_object *out, size_t n, size_t cap)
{
  if (json_is_object(v) && n < cap) {
    out[n].o = v;
    snprintf(out[n++].path, sizeof out->path, "%s", path);
  }
  char below[256];
  const char *key;
  json_t *child;
  size_t i;
  if (json_is_object(v)) {
    json_object_foreach(v, key, child)
    {
      snprintf(below, sizeof below, "%s/%s", path, key);
      n = rds_objects(child, below, out, n, cap);
    }
  } else if (json_is_array(v)) {
    snprintf(below, sizeof below, "%s[]", path);
    json_array_foreach(v, i, child) n = rds_objects(child, below, out, n, cap);
  }
  return n;
}

/* The built-in rules on `text` as the scanner reads it (fields from the
 * walked bytes) and on the plain route (CTR_SCAN_NO_INDEX: parsed whole)
 * give the same alerts. */
static void rds_both_routes_agree(ctr_ruleset *rs, const char *text, const char *what)
{
  tu_matches fast = {0}, plain = {0};
  size_t len = strlen(text);
  cr_assert_eq(tu_scan(rs, text, len, 0, 0, &fast), CTR_OK, "%s: %s", what, text);
  cr_assert_eq(tu_scan(rs, text, len, 0, CTR_SCAN_NO_INDEX, &plain), CTR_OK, "%s: %s", what, text);
  cr_assert_str_eq(fast.text, plain.text, "%s: %s", what, text);
  tu_matches_free(&fast);
  tu_matches_free(&plain);
}

/* Found by fuzz_scanner in the RDS fields read from a record's bytes
 * (de02c21): with attributeName misspelt, the check for "restore" read the
 * content of an absent member (a null pointer plus one). The class: any
 * member an RDS field reads, absent or of another JSON type. Every member of
 * requestParameters and responseElements, at every depth, of every built-in
 * rule's fixture record is in turn removed or given each JSON type, and the
 * record scanned both ways; the sanitizer build aborts on a read of a
 * missing value. */
Test(fields, rds_members_absent_or_of_any_type_read_as_the_parse_does)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_builtin(c, "rds"), CTR_OK);
  ctr_ruleset *rs = tu_compile_all(c);
  glob_t g;
  cr_assert_eq(glob(tu_tests("../libctrule/rules/tests/*.ndjson"), 0, NULL, &g), 0);
  static const char *const kinds[] = {NULL, "null", "7", "\"\"", "\"restore\"", "true", "{\"a\":\"b\"}", "[]",
                                      "[\"999988887777\"]"};
  size_t variants = 0;
  json_t *tried = json_object(); /* "eventName path/key" of each member tried */
  for (size_t f = 0; f < g.gl_pathc; f++) {
    size_t flen;
    char *data = tu_read(g.gl_pathv[f], &flen);
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
      json_t *root = json_loads(line, 0, NULL);
      if (!json_is_object(root)) { /* the fixtures hold bad records on purpose too */
        json_decref(root);
        continue;
      }
      rds_object objects[64];
      size_t nobj = rds_objects(json_object_get(root, "requestParameters"), "requestParameters", objects, 0, 64);
      nobj = rds_objects(json_object_get(root, "responseElements"), "responseElements", objects, nobj, 64);
      const char *event = json_string_value(json_object_get(root, "eventName"));
      for (size_t o = 0; o < nobj; o++) {
        const char *keys[64];
        size_t nkeys = 0;
        const char *key;
        json_t *value;
        json_object_foreach(objects[o].o, key, value)
        {
          /* Each member of each event's records once: the fixtures repeat them. */
          char where[512];
          snprintf(where, sizeof where, "%s %s/%s", event ? event : "", objects[o].path, key);
          if (nkeys < 64 && !json_object_get(tried, where)) {
            json_object_set_new(tried, where, json_true());
            keys[nkeys++] = strdup(key);
          }
        }
        for (size_t k = 0; k < nkeys; k++) {
          json_t *old = json_incref(json_object_get(objects[o].o, keys[k]));
          tu_text lines = {0}; /* the record once per kind, a line each: one scan each way */
          for (size_t v = 0; v < sizeof kinds / sizeof *kinds; v++) {
            if (kinds[v])
              json_object_set_new(objects[o].o, keys[k], json_loads(kinds[v], JSON_DECODE_ANY, NULL));
            else
              json_object_del(objects[o].o, keys[k]);
            char *text = json_dumps(root, JSON_COMPACT);
            cr_assert_not_null(text);
            tu_appendf(&lines, "%s\n", text);
            free(text);
            variants++;
          }
          rds_both_routes_agree(rs, lines.s, g.gl_pathv[f]);
          free(lines.s);
          json_object_set_new(objects[o].o, keys[k], old);
          free((char *)keys[k]);
        }
      }
      json_decref(root);
    }
    free(data);
  }
  globfree(&g);
  json_decref(tried);
  cr_assert_gt(variants, 1500, "only %zu records tried", variants);
  ctr_ruleset_unref(rs);
}

/* Noticed in merge.c (stop 18): an output's ends were trimmed with
 * strchr(" \t\r\n", c), which also matches a NUL, so a "\0" at either end of
 * an output vanished with the blanks. A NUL is kept, rendered as U+FFFD as
 * anywhere else in the output; the blanks around it are still trimmed. */
Test(load, a_nul_at_an_outputs_ends_is_not_trimmed_as_a_blank)
{
  ctr_ruleset *rs = tu_compile("- rule: n\n  desc: d\n  condition: ct.name = DeleteDBCluster\n"
                               "  output: \" \\0x %ct.name\\0 \"\n  priority: info\n  source: aws_cloudtrail\n",
                               NULL, 0);
  cr_assert_not_null(rs);
  tu_matches m = {0};
  cr_assert_eq(tu_scan(rs, record, strlen(record), 0, 0, &m), CTR_OK);
  cr_assert_str_eq(m.text, "0\tn\t\xEF\xBF\xBDx DeleteDBCluster\xEF\xBF\xBD\n");
  tu_matches_free(&m);
  ctr_ruleset_unref(rs);
}

/* fuzz_scanner (stop 21, while records cut by a feed's end were first
 * held): a record the walk refuses (a control character in a string), on a
 * line that no newline ends before the feed's end, was held with the
 * complete records after it; they came only with the next feed, and a reset
 * in between lost them. Only a record still open at a feed's end may wait:
 * every complete record is delivered, every refused one reported, before
 * the feed returns. */
Test(scan, a_refused_record_holds_back_no_complete_record_after_it)
{
  ctr_ruleset *rs = builtin_rds();
  char stream[1024];
  int n = snprintf(stream, sizeof stream, "[{\"eventName\":\"x\",\"v\":\"\x05\"},%.*s,{\"eventName\":\"still open",
                   (int)strlen(record) - 1, record);
  cr_assert(n > 0 && (size_t)n < sizeof stream);
  int matches = 0;
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, count_match, &matches, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, stream, (size_t)n), CTR_OK);
  cr_assert_eq(matches, 1, "the complete record after the refused one waited for a later feed");
  cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_BAD_RECORDS), 1);
  ctr_scanner_reset(sc);
  cr_assert_eq(matches, 1);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
}
