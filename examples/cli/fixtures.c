/* fixtures.c - `ctrule test`: runs rule fixtures and reports per rule.
 *
 * A fixture is a pair of files side by side:
 *   NAME.ndjson   CloudTrail records, one per line, kept exactly as found
 *   NAME.expect   what the rules must do with them, one line per check:
 *
 *     # comment
 *     rule: RDS Snapshot Made Public       <- the rule the following lines test
 *     1 alert  real public share (airbnb/streamalert)
 *     2 quiet  shared with one foreign account only
 *     3 quiet  same call failed (AccessDenied)
 *     1 output accounts=all                <- the alert's output contains this text
 *
 * N is the record's position in NAME.ndjson, from 1 (its line number). Every
 * record must be checked at least once, every rule named must exist, and
 * every rule of the ruleset needs at least one `alert` and two `quiet` checks
 * (a positive, a harmless look-alike and a failed call), else it is reported
 * UNTESTED. All rules are enabled while testing, whatever their `enabled` key.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CTRULE_FIXTURES_DIR
#define CTRULE_FIXTURES_DIR ""
#endif
#ifndef CTRULE_DATADIR
#define CTRULE_DATADIR "/usr/local/share"
#endif

enum verdict { V_ALERT, V_QUIET, V_OUTPUT };

typedef struct check {
  char *rule;
  uint64_t record; /* 1-based */
  enum verdict verdict;
  char *text; /* description, or the expected output text */
  unsigned line;
} check;

typedef struct fired {
  uint64_t record; /* 1-based */
  char *rule;
  char *output;
} fired;

typedef struct rule_result {
  size_t nalert, nquiet, nchecks, nfixtures;
  buf failures;
  size_t nfail;
  const char *last_fixture;
} rule_result;

typedef struct test_ctx {
  ctr_ruleset *rs;
  bool verbose;
  /* The rules reported on: those matching a --rule glob, else (with -r) the
   * rules the files define or change, else every rule. */
  const char **globs;
  size_t nglobs;
  strcount *tested; /* rule names, or NULL: every rule */
  strcount results; /* rule name -> rule_result */
  size_t nfixtures, nchecks;
  /* current fixture */
  fired *fired;
  size_t nfired, capfired;
  buf record_errors;
  bool correlate; /* a check names a correlation: else the rules alone, with no correlation fed */
} test_ctx;

static rule_result *result_for(test_ctx *t, const char *rule)
{
  strcount_entry *e = strcount_get(&t->results, rule);
  if (!e->data)
    e->data = xcalloc(1, sizeof(rule_result));
  return e->data;
}

static void free_result(void *p)
{
  rule_result *r = p;
  buf_free(&r->failures);
  free(r);
}

static void fail(rule_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(rule_result *r, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char tmp[1];
  int n = vsnprintf(tmp, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  char *s = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  buf_adds(&r->failures, "      ");
  buf_adds(&r->failures, s);
  buf_addc(&r->failures, '\n');
  r->nfail++;
  free(s);
}

/* The index of the rule named `name`, SIZE_MAX if none. */
static size_t rule_index(const ctr_ruleset *rs, const char *name)
{
  for (size_t i = 0; i < ctr_ruleset_rule_count(rs); i++)
    if (strcmp(ctr_ruleset_rule_name(rs, i), name) == 0)
      return i;
  return SIZE_MAX;
}

static bool rule_exists(const ctr_ruleset *rs, const char *name) { return rule_index(rs, name) != SIZE_MAX; }

/* ------------------------------------------------------------ parsing */

static char *trim(char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    s[--n] = '\0';
  return s;
}

/* Reads NAME.expect. Returns false (message printed) on a syntax error. */
static bool parse_expect(const char *path, check **out, size_t *nout)
{
  FILE *f = fopen(path, "r");
  if (!f) {
    errorf("%s: cannot open: %s", path, strerror(errno));
    return false;
  }
  check *v = NULL;
  size_t n = 0;
  char *rule = NULL;
  char *line = NULL;
  size_t cap = 0;
  unsigned lineno = 0;
  bool ok = true;
  while (getline(&line, &cap, f) >= 0) {
    lineno++;
    char *s = trim(line);
    if (!*s || *s == '#')
      continue;
    if (strncmp(s, "rule:", 5) == 0) {
      free(rule);
      rule = xstrdup(trim(s + 5));
      if (!*rule) {
        errorf("%s:%u: 'rule:' needs a rule name", path, lineno);
        ok = false;
      }
      continue;
    }
    char *end;
    errno = 0;
    unsigned long long rec = strtoull(s, &end, 10);
    if (end == s || errno || rec == 0 || (*end != ' ' && *end != '\t')) {
      errorf("%s:%u: expected 'rule: NAME' or 'N alert|quiet|output ...' (N >= 1), got '%s'", path, lineno, s);
      ok = false;
      continue;
    }
    char *verb = trim(end);
    size_t vlen = strcspn(verb, " \t");
    char *rest = trim(verb + vlen);
    enum verdict vd;
    if (vlen == 5 && strncmp(verb, "alert", 5) == 0)
      vd = V_ALERT;
    else if (vlen == 5 && strncmp(verb, "quiet", 5) == 0)
      vd = V_QUIET;
    else if (vlen == 6 && strncmp(verb, "output", 6) == 0)
      vd = V_OUTPUT;
    else {
      errorf("%s:%u: unknown check '%.*s' (alert, quiet or output)", path, lineno, (int)vlen, verb);
      ok = false;
      continue;
    }
    if (!rule) {
      errorf("%s:%u: a check before any 'rule: NAME' line", path, lineno);
      ok = false;
      continue;
    }
    if (vd == V_OUTPUT && !*rest) {
      errorf("%s:%u: 'output' needs the text the alert's output must contain", path, lineno);
      ok = false;
      continue;
    }
    v = xrealloc(v, (n + 1) * sizeof *v);
    v[n].rule = xstrdup(rule);
    v[n].record = rec;
    v[n].verdict = vd;
    v[n].text = xstrdup(rest);
    v[n].line = lineno;
    n++;
  }
  free(line);
  free(rule);
  fclose(f);
  *out = v;
  *nout = n;
  return ok;
}

static void free_checks(check *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(v[i].rule);
    free(v[i].text);
  }
  free(v);
}

/* ------------------------------------------------------------ scanning */

static int on_fixture_match(const ctr_match *m, void *ud)
{
  test_ctx *t = ud;
  if (ctr_match_silenced(m))
    return 0; /* not an alert: a correlation's generate: false */
  if (t->nfired == t->capfired) {
    t->capfired = t->capfired ? t->capfired * 2 : 16;
    t->fired = xrealloc(t->fired, t->capfired * sizeof *t->fired);
  }
  fired *f = &t->fired[t->nfired++];
  f->record = ctr_match_record_index(m) + 1;
  f->rule = xstrdup(ctr_match_rule(m));
  const char *output = ctr_match_output(m);
  if (!output)
    return 1; /* memory ran out rendering it: the scan returns CTR_ENOMEM */
  f->output = xstrdup(output);
  return 0;
}

static void on_fixture_error(const ctr_record_error *e, void *ud)
{
  test_ctx *t = ud;
  buf_printf(&t->record_errors, "%s%s", t->record_errors.len ? "; " : "", ctr_record_error_text(e));
}

static void clear_fired(test_ctx *t)
{
  for (size_t i = 0; i < t->nfired; i++) {
    free(t->fired[i].rule);
    free(t->fired[i].output);
  }
  t->nfired = 0;
  buf_clear(&t->record_errors);
}

/* Scans the records file; returns the number of records, or -1 (printed). */
static long long scan_records(test_ctx *t, const char *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    errorf("%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  ctr_scanner *sc;
  if (ctr_scanner_new(t->rs, on_fixture_match, t, &sc) != CTR_OK) {
    close(fd);
    errorf("cannot create a scanner");
    return -1;
  }
  ctr_scanner_set_error_callback(sc, on_fixture_error, t);
  /* A rule's fixture tests the rule: correlations over it (the built-in ones
   * included) would only add their reports (a placeholder eventTime). */
  if (!t->correlate)
    ctr_scanner_set_flags(sc, CTR_SCAN_NO_CORRELATION);
  char chunk[64 * 1024];
  int rc = CTR_OK;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      errorf("%s: read error: %s", path, strerror(errno));
      rc = CTR_EIO;
      break;
    }
    if (n == 0)
      break;
    if ((rc = ctr_scanner_feed(sc, chunk, (size_t)n)) < 0)
      break;
  }
  if (rc >= 0)
    rc = ctr_scanner_finish(sc);
  close(fd);
  long long records = (long long)ctr_scanner_stat(sc, CTR_STAT_RECORDS);
  ctr_scanner_free(sc);
  if (rc == CTR_ENOMEM)
    errorf("%s: out of memory", path);
  if (rc < 0 && rc != CTR_EDATA && rc != CTR_ELIMIT)
    return -1;
  return records;
}

static const char *base_name(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* Runs one fixture (its .expect path). Failures are attributed to rules. */
static void run_fixture(test_ctx *t, const char *expect_path)
{
  size_t plen = strlen(expect_path) - strlen(".expect");
  buf rec = {0};
  buf_add(&rec, expect_path, plen);
  buf_adds(&rec, ".ndjson");
  const char *records_path = buf_str(&rec);
  const char *shown = base_name(expect_path);

  check *checks = NULL;
  size_t nchecks = 0;
  bool parsed = parse_expect(expect_path, &checks, &nchecks);
  t->nfixtures++;

  /* Every rule named in this fixture gets its fixture counted. */
  for (size_t i = 0; i < nchecks; i++) {
    rule_result *r = result_for(t, checks[i].rule);
    if (r->last_fixture != expect_path) {
      r->nfixtures++;
      r->last_fixture = expect_path;
    }
  }
  if (!parsed) {
    rule_result *r = result_for(t, nchecks ? checks[0].rule : "(fixture syntax)");
    fail(r, "%s: syntax errors (see above)", shown);
    goto done;
  }
  if (nchecks == 0) {
    fail(result_for(t, "(fixture syntax)"), "%s: no checks", shown);
    goto done;
  }

  clear_fired(t);
  t->correlate = false;
  for (size_t i = 0; i < nchecks; i++) {
    size_t k = rule_index(t->rs, checks[i].rule);
    t->correlate |= k != SIZE_MAX && rule_is_correlation(t->rs, k);
  }
  long long nrec = scan_records(t, records_path);
  if (nrec < 0) {
    for (size_t i = 0; i < nchecks; i++)
      if (i == 0 || strcmp(checks[i].rule, checks[i - 1].rule) != 0)
        fail(result_for(t, checks[i].rule), "%s: records file %s unreadable", shown, base_name(records_path));
    goto done;
  }
  if (t->record_errors.len) {
    /* Fixtures must be complete CloudTrail records. */
    fail(result_for(t, checks[0].rule), "%s: %s", base_name(records_path), buf_str(&t->record_errors));
  }

  bool *seen = xcalloc((size_t)nrec + 1, sizeof *seen);
  for (size_t i = 0; i < nchecks; i++) {
    check *c = &checks[i];
    rule_result *r = result_for(t, c->rule);
    r->nchecks++;
    t->nchecks++;
    if (c->verdict == V_ALERT)
      r->nalert++;
    else if (c->verdict == V_QUIET)
      r->nquiet++;
    if (!rule_exists(t->rs, c->rule)) {
      fail(r, "%s:%u: no rule named '%s' in the ruleset", shown, c->line, c->rule);
      continue;
    }
    if (c->record > (uint64_t)nrec) {
      fail(r, "%s:%u: record %llu does not exist (%s has %lld records)", shown, c->line,
           (unsigned long long)c->record, base_name(records_path), nrec);
      continue;
    }
    seen[c->record] = true;
    const fired *hit = NULL;
    for (size_t k = 0; k < t->nfired && !hit; k++)
      if (t->fired[k].record == c->record && strcmp(t->fired[k].rule, c->rule) == 0)
        hit = &t->fired[k];
    bool ok;
    if (c->verdict == V_QUIET) {
      ok = !hit;
      if (!ok)
        fail(r, "%s:%u: record %llu (%s): expected no alert, got: %s", shown, c->line,
             (unsigned long long)c->record, c->text, hit->output);
    } else if (c->verdict == V_ALERT) {
      ok = hit != NULL;
      if (!ok)
        fail(r, "%s:%u: record %llu (%s): expected an alert, got none", shown, c->line,
             (unsigned long long)c->record, c->text);
    } else {
      ok = hit && strstr(hit->output, c->text);
      if (!ok)
        fail(r, "%s:%u: record %llu: expected output containing '%s', got: %s", shown, c->line,
             (unsigned long long)c->record, c->text, hit ? hit->output : "(no alert)");
    }
    if (t->verbose)
      printf("  %s %s:%u record %llu %s %s%s%s\n", ok ? "ok  " : "FAIL", shown, c->line,
             (unsigned long long)c->record,
             c->verdict == V_ALERT ? "alert" : c->verdict == V_QUIET ? "quiet" : "output", c->rule,
             *c->text ? ": " : "", c->text);
  }
  for (long long k = 1; k <= nrec; k++)
    if (!seen[k])
      fail(result_for(t, checks[0].rule), "%s: record %lld of %s has no check", shown, k, base_name(records_path));
  free(seen);
done:
  free_checks(checks, nchecks);
  buf_free(&rec);
}

/* ------------------------------------------------------------ discovery */

typedef struct paths {
  char **v;
  size_t n;
} paths;

static void paths_add(paths *p, const char *s)
{
  p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
  p->v[p->n++] = xstrdup(s);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool collect(paths *p, const char *path, int depth)
{
  struct stat st;
  if (stat(path, &st) != 0) {
    errorf("%s: %s", path, strerror(errno));
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (str_ends_with(path, ".expect")) {
      paths_add(p, path);
    } else if (str_ends_with(path, ".ndjson")) {
      buf b = {0};
      buf_add(&b, path, strlen(path) - strlen(".ndjson"));
      buf_adds(&b, ".expect");
      paths_add(p, buf_str(&b));
      buf_free(&b);
    } else {
      errorf("%s: not a fixture (NAME.expect with NAME.ndjson beside it)", path);
      return false;
    }
    return true;
  }
  if (depth > 32) {
    errorf("%s: directories nested too deep", path);
    return false;
  }
  DIR *d = opendir(path);
  if (!d) {
    errorf("%s: cannot read directory: %s", path, strerror(errno));
    return false;
  }
  bool ok = true;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    buf b = {0};
    buf_printf(&b, "%s%s%s", path, str_ends_with(path, "/") ? "" : "/", e->d_name);
    struct stat cst;
    if (stat(buf_str(&b), &cst) == 0 && S_ISDIR(cst.st_mode))
      ok &= collect(p, buf_str(&b), depth + 1);
    else if (str_ends_with(e->d_name, ".expect"))
      paths_add(p, buf_str(&b));
    buf_free(&b);
  }
  closedir(d);
  return ok;
}

/* The built-in correlations' fixtures, beside the rules' (a directory of
 * their own: one stream per correlation, near-misses included). */
static const char *correlation_fixtures_dir(const char *dir)
{
  static char sibling[4096];
  struct stat st;
  const char *slash = strrchr(dir, '/');
  int n = (int)(slash ? slash - dir : 0);
  snprintf(sibling, sizeof sibling, "%.*s%scorrelation_tests", n, dir, slash ? "/" : "");
  return stat(sibling, &st) == 0 && S_ISDIR(st.st_mode) ? sibling : NULL;
}

static const char *default_fixtures_dir(void)
{
  static char installed[4096];
  struct stat st;
  if (CTRULE_FIXTURES_DIR[0] && stat(CTRULE_FIXTURES_DIR, &st) == 0 && S_ISDIR(st.st_mode))
    return CTRULE_FIXTURES_DIR;
  snprintf(installed, sizeof installed, "%s/ctrule/rules/tests", CTRULE_DATADIR);
  if (stat(installed, &st) == 0 && S_ISDIR(st.st_mode))
    return installed;
  return NULL;
}

/* ------------------------------------------------------------ which rules */

static bool same_text(const char *a, const char *b)
{
  return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Whether rule i of rs is rule `name` of base, unchanged. */
static bool unchanged(const ctr_ruleset *rs, size_t i, const ctr_ruleset *base)
{
  const char *name = ctr_ruleset_rule_name(rs, i);
  for (size_t j = 0, n = ctr_ruleset_rule_count(base); j < n; j++) {
    if (strcmp(ctr_ruleset_rule_name(base, j), name) != 0)
      continue;
    if (!same_text(ctr_ruleset_rule_condition(rs, i), ctr_ruleset_rule_condition(base, j)) ||
        !same_text(ctr_ruleset_rule_output(rs, i), ctr_ruleset_rule_output(base, j)) ||
        !same_text(ctr_ruleset_rule_desc(rs, i), ctr_ruleset_rule_desc(base, j)) ||
        ctr_ruleset_rule_priority(rs, i) != ctr_ruleset_rule_priority(base, j) ||
        ctr_ruleset_rule_tag_count(rs, i) != ctr_ruleset_rule_tag_count(base, j))
      return false;
    for (size_t k = 0; k < ctr_ruleset_rule_tag_count(rs, i); k++)
      if (!same_text(ctr_ruleset_rule_tag(rs, i, k), ctr_ruleset_rule_tag(base, j, k)))
        return false;
    return true;
  }
  return false;
}

/* With -r FILE on top of the built-in rules, the rules those files define
 * or change (append, override): the built-in ones have their own fixtures.
 * Returns EXIT_OK with t->tested set (left NULL: every rule). */
static int rules_of_files(test_ctx *t, const rules_opts *ro)
{
  if (ro->nfiles == 0 || ro->no_builtin)
    return EXIT_OK;
  rules_opts base_opts = *ro;
  base_opts.files = NULL;
  base_opts.nfiles = 0;
  ctr_ruleset *base = NULL;
  int rc = rules_build(&base_opts, stderr, &base, NULL, NULL);
  if (rc != EXIT_OK)
    return rc;
  t->tested = xcalloc(1, sizeof *t->tested);
  for (size_t i = 0, n = ctr_ruleset_rule_count(t->rs); i < n; i++)
    if (!unchanged(t->rs, i, base))
      strcount_add(t->tested, ctr_ruleset_rule_name(t->rs, i), 1);
  ctr_ruleset_unref(base);
  return EXIT_OK;
}

static bool is_tested(const test_ctx *t, const char *name)
{
  if (t->nglobs) {
    for (size_t i = 0; i < t->nglobs; i++)
      if (fnmatch(t->globs[i], name, 0) == 0)
        return true;
    return false;
  }
  if (!t->tested)
    return true;
  for (size_t i = 0; i < t->tested->n; i++)
    if (strcmp(t->tested->v[i].key, name) == 0)
      return true;
  return false;
}

/* ------------------------------------------------------------ command */

int cmd_test(int argc, char **argv)
{
  const char *cmd = "test";
  rules_opts ro = {0};
  ro.min_priority = -1;
  ro.enable_all = true;
  bool verbose = false, allow_untested = false;
  const char **args = xmalloc((size_t)argc * sizeof *args);
  size_t nargs = 0;
  int exit_code = EXIT_OK;
  bool opts_done = false;
  paths fx = {0};
  test_ctx t = {0};
  t.globs = xmalloc((size_t)argc * sizeof *t.globs);

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    arg_kind k = arg_next(cmd, &ro, argc, argv, &i, &opts_done, false, false);
    if (k == ARG_OPERAND)
      args[nargs++] = a;
    if (k == ARG_HELP || k == ARG_USAGE) {
      exit_code = k == ARG_HELP ? EXIT_OK : EXIT_USAGE;
      goto out;
    }
    if (k != ARG_OWN)
      continue;
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
      verbose = true;
    else if (strcmp(a, "--allow-untested") == 0)
      allow_untested = true;
    else if (option_is(a, "--rule")) {
      const char *g = option_value(cmd, argc, argv, &i, "--rule");
      if (!g) {
        exit_code = EXIT_USAGE;
        goto out;
      }
      t.globs[t.nglobs++] = g;
    } else {
      exit_code = usage_error(cmd, "unknown option '%s'", a);
      goto out;
    }
  }

  bool found_ok = true;
  if (nargs == 0) {
    const char *dir = default_fixtures_dir();
    if (!dir) {
      errorf("no fixture directory found (looked in '%s' and '%s/ctrule/rules/tests'); give one", CTRULE_FIXTURES_DIR,
             CTRULE_DATADIR);
      exit_code = EXIT_USAGE;
      goto out;
    }
    printf("fixtures: %s\n", dir);
    found_ok = collect(&fx, dir, 0);
    const char *corr = correlation_fixtures_dir(dir);
    if (corr) {
      printf("fixtures: %s\n", corr);
      found_ok &= collect(&fx, corr, 0);
    }
  } else {
    for (size_t i = 0; i < nargs; i++)
      found_ok &= collect(&fx, args[i], 0);
  }
  if (!found_ok) {
    exit_code = EXIT_INPUT;
    goto out;
  }
  qsort(fx.v, fx.n, sizeof *fx.v, cmp_str);

  exit_code = rules_build(&ro, stderr, &t.rs, NULL, NULL);
  if (exit_code == EXIT_OK && !t.nglobs)
    exit_code = rules_of_files(&t, &ro);
  if (exit_code != EXIT_OK)
    goto out;
  t.verbose = verbose;
  for (size_t i = 0; i < fx.n; i++)
    run_fixture(&t, fx.v[i]);
  clear_fired(&t);

  /* Report in ruleset order, then anything named by fixtures only. */
  size_t passed = 0, failed = 0, untested = 0, ntested = 0;
  size_t nrules = ctr_ruleset_rule_count(t.rs);
  for (size_t i = 0; i < nrules; i++) {
    const char *name = ctr_ruleset_rule_name(t.rs, i);
    if (!is_tested(&t, name))
      continue;
    ntested++;
    rule_result *r = result_for(&t, name);
    bool covered = r->nalert >= 1 && r->nquiet >= 2;
    if (r->nfail) {
      failed++;
      printf("FAIL      %s  (%zu alert, %zu quiet checks)\n%s", name, r->nalert, r->nquiet, buf_str(&r->failures));
    } else if (!covered) {
      untested++;
      printf("UNTESTED  %s  (%zu alert, %zu quiet checks; needs at least 1 alert and 2 quiet)\n", name, r->nalert,
             r->nquiet);
    } else {
      passed++;
      printf("PASS      %s  (%zu alert, %zu quiet checks)\n", name, r->nalert, r->nquiet);
    }
  }
  for (size_t i = 0; i < t.results.n; i++) {
    const char *name = t.results.v[i].key;
    if (rule_exists(t.rs, name))
      continue;
    rule_result *r = t.results.v[i].data;
    failed++;
    printf("FAIL      %s\n%s", name, buf_str(&r->failures));
  }
  printf("ctrule test: %zu passed, %zu failed, %zu untested (%zu rules; %zu checks in %zu fixtures)\n", passed, failed,
         untested, ntested, t.nchecks, t.nfixtures);
  if (ntested == 0) {
    errorf("no rule to test%s", t.nglobs ? " matches --rule" : "");
    exit_code = EXIT_USAGE;
  } else if (failed || (untested && !allow_untested)) {
    exit_code = EXIT_ALERTS;
  }

out:
  for (size_t i = 0; i < fx.n; i++)
    free(fx.v[i]);
  free(fx.v);
  free(t.fired);
  buf_free(&t.record_errors);
  strcount_free(&t.results, free_result);
  if (t.tested)
    strcount_free(t.tested, NULL);
  free(t.tested);
  free(t.globs);
  ctr_ruleset_unref(t.rs);
  free(args);
  rules_opts_free(&ro);
  return exit_code;
}
