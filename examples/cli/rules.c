/* rules.c - the rules options shared by the subcommands, and compiling the
 * ruleset they describe (built-in rules first, then every -r file in order,
 * exactly as Falco loads several rules files). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char RULES_OPTS_HELP[] =
    "Rules:\n"
    "  -r, --rules FILE        add a Falco rules file (repeatable; loaded in order,\n"
    "                          after the built-in rules, so it may append to or\n"
    "                          override them)\n"
    "      --no-builtin        do not load the built-in RDS rules\n"
    "      --limit NAME=VALUE  set a resource limit (repeatable; 0: the default):\n"
    "                          rules limits yaml_aliases, yaml_nodes, rules,\n"
    "                          condition_bytes, condition_nodes, macro_depth,\n"
    "                          list_items; record limits record_bytes, json_depth,\n"
    "                          gzip_output; regex limits regex_match, regex_depth\n";

const char SELECT_OPTS_HELP[] =
    "Rule selection (applied after each rule's own `enabled` key):\n"
    "      --min-priority P    keep only rules at least this severe (emergency, alert,\n"
    "                          critical, error, warning, notice, info, debug)\n"
    "      --rule GLOB         enable only rules whose name matches (repeatable; fnmatch\n"
    "                          pattern, e.g. 'RDS*Snapshot*')\n"
    "      --enable-tag TAG    enable only rules carrying TAG (repeatable; combines with\n"
    "                          --rule: a rule is kept if it matches any of them)\n"
    "      --disable-rule GLOB disable rules whose name matches (repeatable)\n"
    "      --disable-tag TAG   disable rules carrying TAG (repeatable; disabling wins\n"
    "                          over enabling)\n";

void rules_opts_free(rules_opts *o)
{
  free(o->files);
  free(o->sel);
  memset(o, 0, sizeof *o);
}

static void add_sel(rules_opts *o, int kind, const char *value)
{
  o->sel = xrealloc(o->sel, (o->nsel + 1) * sizeof *o->sel);
  o->sel[o->nsel].kind = kind;
  o->sel[o->nsel].value = value;
  o->nsel++;
}

/* NAME=VALUE: a limit named as ctr_limit_name() says, and a decimal value. */
static int parse_limit(rules_opts *o, const char *cmd, const char *v)
{
  if (!v)
    return -1;
  const char *eq = strchr(v, '=');
  if (eq) {
    for (int l = 0; l < CTR_LIMIT__COUNT; l++) {
      const char *name = ctr_limit_name(l);
      if (strlen(name) != (size_t)(eq - v) || strncmp(v, name, (size_t)(eq - v)) != 0)
        continue;
      char *end;
      errno = 0;
      unsigned long long n = strtoull(eq + 1, &end, 10);
      if (eq[1] < '0' || eq[1] > '9' || *end || errno) {
        usage_error(cmd, "--limit %s: '%s' is not a non-negative integer", name, eq + 1);
        return -1;
      }
      o->limits[l] = n;
      o->limit_set[l] = true;
      return 1;
    }
  }
  usage_error(cmd, "--limit takes NAME=VALUE with NAME one of record_bytes, json_depth, gzip_output, "
                   "yaml_aliases, yaml_nodes, condition_bytes, macro_depth, condition_nodes, rules, "
                   "regex_match, regex_depth, list_items (got '%s')", v);
  return -1;
}

bool rule_is_correlation(const ctr_ruleset *rs, size_t i)
{
  for (size_t t = 0; t < ctr_ruleset_rule_tag_count(rs, i); t++)
    if (strcmp(ctr_ruleset_rule_tag(rs, i, t), "sigma.correlation") == 0)
      return true;
  return false;
}

bool ruleset_correlates(const ctr_ruleset *rs)
{
  for (size_t i = 0; i < ctr_ruleset_rule_count(rs); i++)
    if (ctr_ruleset_rule_enabled(rs, i) && rule_is_correlation(rs, i))
      return true;
  return false;
}

void rules_opts_apply_scanner_limits(const rules_opts *o, ctr_scanner *sc)
{
  /* CTR_EINVAL only for the limits that belong to the compiler. */
  for (int l = 0; l < CTR_LIMIT__COUNT; l++)
    if (o->limit_set[l])
      ctr_scanner_set_limit(sc, l, o->limits[l]);
}

int rules_opts_parse(rules_opts *o, int argc, char **argv, int *i, bool allow_select)
{
  const char *a = argv[*i];
  const char *cmd = argv[0];
  if (strcmp(a, "-r") == 0 || option_is(a, "--rules") || (strncmp(a, "-r", 2) == 0 && a[2] != '\0' && a[1] != '-')) {
    const char *v;
    if (strncmp(a, "-r", 2) == 0 && a[2] != '\0')
      v = a + 2; /* -rFILE */
    else if (!(v = option_value(cmd, argc, argv, i, strcmp(a, "-r") == 0 ? "-r" : "--rules")))
      return -1;
    o->files = xrealloc(o->files, (o->nfiles + 1) * sizeof *o->files);
    o->files[o->nfiles++] = v;
    return 1;
  }
  if (strcmp(a, "--no-builtin") == 0) {
    o->no_builtin = true;
    return 1;
  }
  if (option_is(a, "--limit"))
    return parse_limit(o, cmd, option_value(cmd, argc, argv, i, "--limit"));
  if (!allow_select)
    return 0;
  if (option_is(a, "--min-priority")) {
    const char *v = option_value(cmd, argc, argv, i, "--min-priority");
    if (!v)
      return -1;
    int p = ctr_priority_parse(v);
    if (p < 0) {
      usage_error(cmd, "unknown priority '%s' (emergency, alert, critical, error, warning, notice, info, debug)", v);
      return -1;
    }
    o->min_priority = p;
    return 1;
  }
  static const struct {
    const char *name;
    int kind;
  } sels[] = {
      {"--enable-tag", SEL_ENABLE_TAG},
      {"--disable-tag", SEL_DISABLE_TAG},
      {"--rule", SEL_ENABLE_RULE},
      {"--disable-rule", SEL_DISABLE_RULE},
  };
  for (size_t k = 0; k < sizeof sels / sizeof sels[0]; k++) {
    if (option_is(a, sels[k].name)) {
      const char *v = option_value(cmd, argc, argv, i, sels[k].name);
      if (!v)
        return -1;
      if (!*v) {
        usage_error(cmd, "%s needs a non-empty value", sels[k].name);
        return -1;
      }
      add_sel(o, sels[k].kind, v);
      return 1;
    }
  }
  return 0;
}

static int check(int rc, const char *what)
{
  if (rc == CTR_ENOMEM) {
    errorf("%s: %s", what, ctr_strerror(rc));
    exit(EXIT_INTERNAL);
  }
  return rc;
}

int rules_build(const rules_opts *o, FILE *diag_out, ctr_ruleset **out, size_t *nerrors, size_t *nwarnings)
{
  ctr_compiler *c = NULL;
  int rc = ctr_compiler_new(&c);
  if (rc != CTR_OK) {
    errorf("cannot create a rules compiler: %s", ctr_strerror(rc));
    return EXIT_INTERNAL;
  }
  for (int l = 0; l < CTR_LIMIT__COUNT; l++)
    if (o->limit_set[l])
      ctr_compiler_set_limit(c, l, o->limits[l]); /* CTR_EINVAL: a scanner's limit */
  bool failed = false;
  if (!o->no_builtin) {
    for (size_t i = 0; i < ctr_builtin_count(); i++) {
      rc = check(ctr_compiler_add_builtin(c, ctr_builtin_name(i)), "built-in rules");
      if (rc < 0)
        failed = true;
    }
  }
  for (size_t i = 0; i < o->nfiles; i++) {
    /* Every file is loaded even after an error, to report all of them. */
    rc = check(ctr_compiler_add_file(c, o->files[i]), o->files[i]);
    if (rc < 0)
      failed = true;
  }

  if (o->enable_all)
    check(ctr_compiler_select_name(c, "*", 1), "selection");
  bool any_enable = false;
  for (size_t i = 0; i < o->nsel; i++)
    any_enable |= o->sel[i].kind == SEL_ENABLE_TAG || o->sel[i].kind == SEL_ENABLE_RULE;
  if (any_enable)
    check(ctr_compiler_select_name(c, "*", 0), "selection");
  /* Enables first, then disables: disabling wins whatever the order given. */
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < o->nsel; i++) {
      int kind = o->sel[i].kind;
      bool enable = kind == SEL_ENABLE_TAG || kind == SEL_ENABLE_RULE;
      if (enable != (pass == 0))
        continue;
      if (kind == SEL_ENABLE_TAG || kind == SEL_DISABLE_TAG)
        check(ctr_compiler_select_tag(c, o->sel[i].value, enable), "selection");
      else
        check(ctr_compiler_select_name(c, o->sel[i].value, enable), "selection");
    }
  }
  if (o->min_priority >= 0)
    check(ctr_compiler_set_min_priority(c, o->min_priority), "selection");

  ctr_ruleset *rs = NULL;
  if (!failed) {
    rc = check(ctr_compiler_compile(c, &rs), "compiling rules");
    if (rc != CTR_OK)
      failed = true;
  }

  size_t ne = 0, nw = 0;
  for (size_t i = 0; i < ctr_compiler_diag_count(c); i++) {
    const ctr_diag *d = ctr_compiler_diag(c, i);
    if (ctr_diag_severity(d) == CTR_SEVERITY_ERROR)
      ne++;
    else
      nw++;
    if (diag_out)
      fprintf(diag_out, "%s\n", ctr_diag_text(d));
  }
  if (failed && ne == 0) {
    /* A failure without a diagnostic (should not happen): say something. */
    if (diag_out)
      fprintf(diag_out, "%s: rules could not be compiled: %s\n", CTRULE_CLI_NAME, ctr_strerror(rc));
    ne = 1;
  }
  ctr_compiler_free(c);
  if (nerrors)
    *nerrors = ne;
  if (nwarnings)
    *nwarnings = nw;
  if (failed) {
    ctr_ruleset_unref(rs);
    return EXIT_RULES;
  }
  *out = rs;
  return EXIT_OK;
}
