/* test_cases.c - the data-driven suite, one Criterion test per directory
 * tests/cases/<name>/, so a failing case does not hide the others:
 *
 *   rules*.yaml       one or more rules files (rules.yaml, then rules-2-*.yaml
 *                     ...), loaded in that order into one
 *                     compiler under their own names (diagnostics say
 *                     "rules.yaml:3:5: ...")
 *   events.ndjson     the records (or events.json: any input shape)
 *   expected.txt      one "record-index<TAB>rule<TAB>output" line per match,
 *                     in order; absent when the rules must not compile
 *   fields.txt        optional: one "record-index<TAB>rule<TAB>name=value..."
 *                     line per match, every output field in order
 *   diagnostics.txt   optional: lines each of which must be one of the
 *                     compiler's diagnostics, word for word
 *
 * Each case is also run fed one byte at a time and without the index. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct case_param {
  char *name; /* allocated with cr_malloc: Criterion frees parameters itself */
} case_param;

/* Name order, except that rules.yaml comes before rules-2-*.yaml. */
static int by_name(const void *a, const void *b)
{
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  if (strcmp(x, "rules.yaml") == 0 || strcmp(y, "rules.yaml") == 0)
    return (strcmp(y, "rules.yaml") == 0) - (strcmp(x, "rules.yaml") == 0);
  return strcmp(x, y);
}

/* Sorted names of the entries of `dir` accepted by `keep`; caller frees. */
static char **list_dir(const char *dir, int (*keep)(const char *name), size_t *count)
{
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "cannot open %s", dir);
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || !keep(e->d_name))
      continue;
    names = realloc(names, (n + 1) * sizeof *names);
    cr_assert_not_null(names);
    names[n] = strdup(e->d_name);
    cr_assert_not_null(names[n++]);
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  *count = n;
  return names;
}

static void free_names(char **names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

static int any_entry(const char *name)
{
  (void)name;
  return 1;
}

static int rules_file(const char *name)
{
  size_t len = strlen(name);
  return strncmp(name, "rules", 5) == 0 && len > 5 && strcmp(name + len - 5, ".yaml") == 0;
}

static void free_case_params(struct criterion_test_params *crp)
{
  case_param *p = crp->params;
  for (size_t i = 0; i < crp->length; i++)
    cr_free(p[i].name);
  cr_free(p);
}

ParameterizedTestParameters(cases, each)
{
  size_t n;
  char **names = list_dir(tu_tests("cases"), any_entry, &n);
  case_param *params = cr_malloc(n * sizeof *params);
  for (size_t i = 0; i < n; i++) {
    params[i].name = cr_malloc(strlen(names[i]) + 1);
    strcpy(params[i].name, names[i]);
  }
  free_names(names, n);
  return cr_make_param_array(case_param, params, n, free_case_params);
}

/* A case file's path (in one of a few rotating static buffers, so that a
 * handful may be held at once), or NULL when it does not exist. */
static const char *case_file(const char *name, const char *file)
{
  static char paths[4][1024];
  static unsigned next;
  char *path = paths[next++ % 4];
  char rel[512];
  snprintf(rel, sizeof rel, "cases/%s/%s", name, file);
  snprintf(path, sizeof paths[0], "%s", tu_tests(rel));
  struct stat st;
  return stat(path, &st) == 0 ? path : NULL;
}

/* Appends one line to a growing text. */
static void text_add(char **text, size_t *len, const char *line)
{
  size_t n = strlen(line);
  *text = realloc(*text, *len + n + 1);
  cr_assert_not_null(*text);
  memcpy(*text + *len, line, n + 1);
  *len += n;
}

typedef struct compiled_case {
  ctr_ruleset *rs; /* NULL when the rules did not compile */
  char *diags;     /* every diagnostic, one per line */
  size_t diags_len;
} compiled_case;

static compiled_case compile_case(const char *name)
{
  compiled_case cc = {0};
  char dir[512];
  snprintf(dir, sizeof dir, "%s", tu_tests("cases"));
  snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/%s", name);
  size_t nfiles;
  char **files = list_dir(dir, rules_file, &nfiles);
  cr_assert(nfiles > 0, "case %s: no rules*.yaml", name);
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  for (size_t i = 0; i < nfiles; i++) {
    size_t len;
    char *yaml = tu_read(case_file(name, files[i]), &len);
    ctr_compiler_add_string(c, yaml, len, files[i]); /* errors show up as diagnostics */
    free(yaml);
  }
  int rc = ctr_compiler_compile(c, &cc.rs);
  text_add(&cc.diags, &cc.diags_len, "");
  for (size_t i = 0; i < ctr_compiler_diag_count(c); i++) {
    text_add(&cc.diags, &cc.diags_len, ctr_diag_text(ctr_compiler_diag(c, i)));
    text_add(&cc.diags, &cc.diags_len, "\n");
  }
  cr_assert((rc == CTR_OK) == (cc.rs != NULL), "case %s: status %d but ruleset %p", name, rc, (void *)cc.rs);
  ctr_compiler_free(c);
  free_names(files, nfiles);
  return cc;
}

/* Every line of diagnostics.txt is one of the compiler's diagnostics. */
static void check_diagnostics(const char *name, const compiled_case *cc)
{
  const char *path = case_file(name, "diagnostics.txt");
  if (!path)
    return;
  char *want = tu_read(path, NULL);
  for (char *line = strtok(want, "\n"); line; line = strtok(NULL, "\n")) {
    bool found = false;
    for (const char *at = cc->diags; !found && (at = strstr(at, line)); at++)
      found = (at == cc->diags || at[-1] == '\n') && (at[strlen(line)] == '\n');
    cr_expect(found, "case %s: no diagnostic\n  %s\namong\n%s", name, line, cc->diags);
  }
  free(want);
}

typedef struct field_lines {
  char *text;
  size_t len;
} field_lines;

static int collect_fields(const ctr_match *m, void *ud)
{
  field_lines *f = ud;
  char buf[4096];
  snprintf(buf, sizeof buf, "%llu\t%s", (unsigned long long)ctr_match_record_index(m), ctr_match_rule(m));
  text_add(&f->text, &f->len, buf);
  for (size_t i = 0; i < ctr_match_field_count(m); i++) {
    snprintf(buf, sizeof buf, "\t%s=%s", ctr_match_field_name(m, i), ctr_match_field_value(m, i));
    text_add(&f->text, &f->len, buf);
  }
  text_add(&f->text, &f->len, "\n");
  return 0;
}

static void check_fields(const char *name, ctr_ruleset *rs, const char *events, size_t len)
{
  const char *path = case_file(name, "fields.txt");
  if (!path)
    return;
  char *want = tu_read(path, NULL);
  field_lines got = {0};
  text_add(&got.text, &got.len, "");
  cr_assert_eq(ctr_scan_buffer(rs, events, len, 0, collect_fields, &got), CTR_OK);
  cr_expect_str_eq(got.text, want, "case %s: fields differ\n--- got\n%s--- expected\n%s", name, got.text, want);
  free(got.text);
  free(want);
}

ParameterizedTest(case_param *p, cases, each)
{
  const char *name = p->name;
  cr_log_info("case %s", name);
  compiled_case cc = compile_case(name);
  check_diagnostics(name, &cc);
  const char *expected_path = case_file(name, "expected.txt");
  if (!expected_path) {
    cr_assert_null(cc.rs, "case %s has no expected.txt, so its rules must not compile; they did:\n%s", name,
                   cc.diags);
    cr_assert_not_null(case_file(name, "diagnostics.txt"), "case %s: a failing case names its diagnostics",
                       name);
    free(cc.diags);
    return;
  }
  cr_assert_not_null(cc.rs, "case %s: rules do not compile:\n%s", name, cc.diags);
  const char *events_path = case_file(name, "events.ndjson");
  if (!events_path)
    events_path = case_file(name, "events.json");
  cr_assert_not_null(events_path, "case %s: no events.ndjson or events.json", name);
  size_t len;
  char *events = tu_read(events_path, &len);
  char *expected = tu_read(expected_path, NULL);

  tu_matches m = {0};
  tu_scan(cc.rs, events, len, 0, 0, &m);
  cr_expect_str_eq(m.text, expected, "case %s: matches differ\n--- got\n%s--- expected\n%s", name, m.text,
                   expected);
  tu_matches_free(&m);
  tu_scan(cc.rs, events, len, 1, 0, &m);
  cr_expect_str_eq(m.text, expected, "case %s: byte-by-byte feeding differs", name);
  tu_matches_free(&m);
  tu_scan(cc.rs, events, len, 0, CTR_SCAN_NO_INDEX, &m);
  cr_expect_str_eq(m.text, expected, "case %s: results differ without the index", name);
  tu_matches_free(&m);
  check_fields(name, cc.rs, events, len);
  free(events);
  free(expected);
  free(cc.diags);
  ctr_ruleset_unref(cc.rs);
}

/* The directory listing itself: a case directory lost to a typo or a bad
 * listing would otherwise pass silently. */
Test(cases, every_directory_is_a_complete_case)
{
  size_t n;
  char **names = list_dir(tu_tests("cases"), any_entry, &n);
  cr_assert(n >= 3, "expected several cases, found %zu", n);
  for (size_t i = 0; i < n; i++) {
    cr_expect_not_null(case_file(names[i], "expected.txt") ? case_file(names[i], "expected.txt")
                                                           : case_file(names[i], "diagnostics.txt"),
                       "case %s has neither expected.txt nor diagnostics.txt", names[i]);
  }
  free_names(names, n);
}
