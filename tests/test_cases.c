/* test_cases.c - the data-driven suite: every directory tests/cases/<name>/
 * holds rules.yaml, events (events.ndjson or events.json), and expected.txt
 * with one "record-index<TAB>rule<TAB>output" line per match, in order.
 * Each case is also run fed one byte at a time and without the index. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_CASES 256

static char case_names[MAX_CASES][256];

static size_t list_cases(void)
{
  DIR *d = opendir(tu_tests("cases"));
  cr_assert_not_null(d, "no tests/cases directory");
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < MAX_CASES) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(case_names[n++], sizeof case_names[0], "%s", e->d_name);
  }
  closedir(d);
  return n;
}

static void run_case(const char *name)
{
  char path[512];
  snprintf(path, sizeof path, "cases/%s/rules.yaml", name);
  char *yaml = tu_read(tu_tests(path), NULL);
  char diags[8192];
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert_not_null(rs, "case %s: rules do not compile:\n%s", name, diags);
  snprintf(path, sizeof path, "cases/%s/events.ndjson", name);
  struct stat st;
  if (stat(tu_tests(path), &st) != 0)
    snprintf(path, sizeof path, "cases/%s/events.json", name);
  size_t len;
  char *events = tu_read(tu_tests(path), &len);
  snprintf(path, sizeof path, "cases/%s/expected.txt", name);
  char *expected = tu_read(tu_tests(path), NULL);

  tu_matches m = {0};
  tu_scan(rs, events, len, 0, 0, &m);
  cr_assert_str_eq(m.text, expected, "case %s: matches differ\n--- got\n%s--- expected\n%s", name, m.text, expected);
  tu_matches_free(&m);
  tu_scan(rs, events, len, 1, 0, &m);
  cr_assert_str_eq(m.text, expected, "case %s: byte-by-byte feeding differs", name);
  tu_matches_free(&m);
  tu_scan(rs, events, len, 0, CTR_SCAN_NO_INDEX, &m);
  cr_assert_str_eq(m.text, expected, "case %s: results differ without the index", name);
  tu_matches_free(&m);
  free(yaml);
  free(events);
  free(expected);
  ctr_ruleset_unref(rs);
}

Test(cases, all)
{
  size_t n = list_cases();
  cr_assert(n >= 3, "expected several cases, found %zu", n);
  for (size_t i = 0; i < n; i++)
    run_case(case_names[i]);
}
