/* main.c - `ctrule`: scan AWS CloudTrail records with Falco rules (the
 * built-in RDS rules by default). Subcommand dispatch, help, version, and the
 * small `list` and `validate` commands. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ help */

static const char EXIT_HELP[] =
    "Exit codes:\n"
    "  0   ran fine (scan: alerts may have been printed; see --fail-on-alert)\n"
    "  1   scan --fail-on-alert found alerts; test: a check failed or a rule is untested\n"
    "  2   bad command line\n"
    "  3   rules could not be loaded or compiled (validate: errors found)\n"
    "  4   an input could not be read or held bad records; everything else was\n"
    "      still scanned (takes precedence over 1)\n"
    "  70  internal error (out of memory)\n"
    "  74  standard output could not be written (e.g. disk full); scan stops at\n"
    "      the first alert it cannot write\n";

static void help_main(FILE *out)
{
  fprintf(out,
          "ctrule %s - Falco rules over AWS CloudTrail; built-in rules for risky RDS changes\n"
          "\n"
          "Usage:\n"
          "  ctrule scan [OPTIONS] [PATH...]      scan CloudTrail files, directories or stdin\n"
          "  ctrule validate [OPTIONS] [FILE...]  check rules files (default: the built-in rules)\n"
          "  ctrule list [OPTIONS]                list rules with priority and tags (--fields: fields)\n"
          "  ctrule test [OPTIONS] [PATH...]      run rule fixtures, report pass/fail per rule\n"
          "  ctrule help [COMMAND]                help of a command (or COMMAND --help)\n"
          "  ctrule --version                     versions of the tool, library and Falco formats\n"
          "\n"
          "Example:\n"
          "  ctrule scan examples/data/cloudtrail-sample.json.gz\n"
          "  ctrule scan --summary -q /var/log/cloudtrail/\n"
          "  zcat log.json.gz | ctrule scan --json - | my-siem-forwarder\n"
          "\n"
          "%s",
          ctr_version_string(), EXIT_HELP);
}

static void help_scan(FILE *out)
{
  fprintf(out,
          "Usage: ctrule scan [OPTIONS] [PATH...]\n"
          "\n"
          "Scans CloudTrail records with the built-in RDS rules (plus any -r files) and\n"
          "prints every alert. PATH is a file (any name), a directory (searched\n"
          "recursively for .json, .json.gz, .ndjson, .jsonl and their .gz; hidden entries\n"
          "skipped) or '-' for stdin; no PATH reads stdin when it is not a terminal.\n"
          "Recognised in every input: CloudTrail log files {\"Records\":[...]}, NDJSON,\n"
          "single or concatenated records, JSON arrays, EventBridge events, CloudWatch\n"
          "Logs payloads, gzip of any of them (detected from the bytes), digest files\n"
          "(skipped). Regular files are mapped 16 MiB at a time, stdin and pipes read\n"
          "in 256 KiB chunks: memory stays flat whatever the size of an input.\n"
          "\n"
          "  -j, --jobs N            scan N inputs at a time, one thread each (default:\n"
          "                          the cores this process may use). The output is the\n"
          "                          same as with -j 1, byte for byte: an input's alerts\n"
          "                          and errors are printed together, in input order,\n"
          "                          once every earlier input's are out. Sigma\n"
          "                          correlations (the built-in RDS ones) see every\n"
          "                          input in input order; their alerts follow the\n"
          "                          input whose record completed them\n"
          "\n"
          "Output:\n"
          "      --json              one Falco alert JSON object per line (time, rule,\n"
          "                          priority, output, output_fields, source, tags,\n"
          "                          hostname), as falcosidekick and SIEMs take them\n"
          "  -o, --option KEY=BOOL   Falco's options of the --json line, true or false:\n"
          "                          json_include_output_property (default true),\n"
          "                          json_include_output_fields_property (true),\n"
          "                          json_include_tags_property (true),\n"
          "                          json_include_message_property (false),\n"
          "                          time_format_iso_8601 (false: the output's time\n"
          "                          prefix as ISO 8601)\n"
          "      --summary           after the scan, a drill-down: account -> region ->\n"
          "                          rule with counts, top principals and resources\n"
          "                          (on stderr with --json)\n"
          "  -q, --quiet             do not print each alert (with --summary or --stats)\n"
          "      --stats             counters and throughput on stderr at the end\n"
          "      --color WHEN        auto (default: on a terminal, unless NO_COLOR is set),\n"
          "                          always or never\n"
          "      --no-progress       no progress line (it is shown only on a terminal\n"
          "                          (stderr) and only for scans longer than a second)\n"
          "  -v, --verbose           list each incomplete record (valid JSON missing a\n"
          "                          CloudTrail key; evaluated anyway) instead of a count\n"
          "\n"
          "Behaviour:\n"
          "      --fail-on-alert     exit 1 when any alert was found\n"
          "      --first-match       report only the first matching rule per record\n"
          "                          (Falco's rule_matching: first; default: all)\n"
          "\n"
          "%s\n%s\n"
          "A bad record (invalid JSON, truncated, over a limit) or an unreadable input is\n"
          "reported on stderr as 'PATH: record N at byte M: why' (N counts records from 0;\n"
          "M is the offset in the decompressed stream); the scan carries on and exits 4.\n"
          "\n%s",
          RULES_OPTS_HELP, SELECT_OPTS_HELP, EXIT_HELP);
}

static void help_validate(FILE *out)
{
  fprintf(out,
          "Usage: ctrule validate [OPTIONS] [FILE...]\n"
          "\n"
          "Loads and compiles rules files the way `scan` does (the built-in rules first,\n"
          "then each FILE in order, so a FILE may use or override built-in macros, lists\n"
          "and rules) and prints every diagnostic as 'file:line:col: severity: message'.\n"
          "With no FILE, validates the built-in rules.\n"
          "\n"
          "Options:\n"
          "      --no-builtin        validate FILEs on their own\n"
          "  -r, --rules FILE        same as giving FILE\n"
          "      --werror            treat warnings as errors\n"
          "\n%s",
          EXIT_HELP);
}

static void help_list(FILE *out)
{
  fprintf(out,
          "Usage: ctrule list [OPTIONS]\n"
          "\n"
          "Lists the rules (built-in and -r files) with their priority, tags and whether\n"
          "they are enabled after the selection options.\n"
          "\n"
          "Options:\n"
          "  -v, --verbose           also print each rule's description and condition\n"
          "      --fields            list the fields conditions and outputs may use instead\n"
          "\n%s\n%s\n%s",
          RULES_OPTS_HELP, SELECT_OPTS_HELP, EXIT_HELP);
}

static void help_test(FILE *out)
{
  fprintf(out,
          "Usage: ctrule test [OPTIONS] [PATH...]\n"
          "\n"
          "Runs rule fixtures and reports PASS, FAIL or UNTESTED for every rule. PATH is a\n"
          "directory (searched recursively) or a NAME.expect / NAME.ndjson file; the\n"
          "default is the built-in rules' fixtures (and the built-in correlations', in\n"
          "correlation_tests beside them). A fixture is NAME.ndjson (CloudTrail\n"
          "records, one per line) beside NAME.expect:\n"
          "\n"
          "    rule: RDS Snapshot Made Public\n"
          "    1 alert   public share of a cluster snapshot\n"
          "    2 quiet   shared with one foreign account only\n"
          "    3 quiet   same call failed (AccessDenied)\n"
          "    1 output  accounts=all\n"
          "\n"
          "N is the record's line in NAME.ndjson (from 1); `alert`/`quiet` say whether the\n"
          "rule must fire on it; `output` requires the alert's output to contain the text.\n"
          "Every record must be checked, and every rule needs at least one `alert` and two\n"
          "`quiet` checks, else it is UNTESTED. All rules are enabled while testing.\n"
          "\n"
          "Which rules are reported: those matching a --rule GLOB; else, with -r FILE,\n"
          "the rules those files define or change (append, override); else every rule.\n"
          "\n"
          "Options:\n"
          "  -v, --verbose           print every check\n"
          "      --rule GLOB         report only the rules whose name matches GLOB\n"
          "                          (fnmatch: *, ?, [...]; repeatable)\n"
          "      --allow-untested    do not fail because a rule has too few checks\n"
          "\n%s\n%s",
          RULES_OPTS_HELP, EXIT_HELP);
}

arg_kind arg_next(const char *cmd, rules_opts *ro, int argc, char **argv, int *i, bool *opts_done,
                  bool allow_select, bool dash_is_operand)
{
  const char *a = argv[*i];
  if (*opts_done || a[0] != '-' || (dash_is_operand && strcmp(a, "-") == 0))
    return ARG_OPERAND;
  if (strcmp(a, "--") == 0) {
    *opts_done = true;
    return ARG_TAKEN;
  }
  if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
    print_help(cmd, stdout);
    return ARG_HELP;
  }
  int r = rules_opts_parse(ro, argc, argv, i, allow_select);
  return r < 0 ? ARG_USAGE : r > 0 ? ARG_TAKEN : ARG_OWN;
}

void print_help(const char *cmd, FILE *out)
{
  if (!cmd)
    help_main(out);
  else if (strcmp(cmd, "scan") == 0)
    help_scan(out);
  else if (strcmp(cmd, "validate") == 0)
    help_validate(out);
  else if (strcmp(cmd, "list") == 0)
    help_list(out);
  else if (strcmp(cmd, "test") == 0)
    help_test(out);
  else
    help_main(out);
  if (out == stdout)
    stdout_ok(); /* a help longer than stdout's buffer fails inside fprintf: keep its errno */
}

int usage_error(const char *cmd, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s%s%s: ", CTRULE_CLI_NAME, cmd ? " " : "", cmd ? cmd : "");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (see '%s%s%s --help')\n", CTRULE_CLI_NAME, cmd ? " " : "", cmd ? cmd : "");
  return EXIT_USAGE;
}

bool option_is(const char *arg, const char *name)
{
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

const char *option_value(const char *cmd, int argc, char **argv, int *i, const char *name)
{
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) == 0 && a[n] == '=')
    return a + n + 1;
  if (*i + 1 >= argc) {
    usage_error(cmd, "option '%s' needs a value", name);
    return NULL;
  }
  return argv[++*i];
}

/* ------------------------------------------------------------ list */

int cmd_list(int argc, char **argv)
{
  const char *cmd = "list";
  rules_opts ro = {0};
  ro.min_priority = -1;
  bool verbose = false, fields = false;
  int exit_code = EXIT_OK;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      print_help(cmd, stdout);
      goto out;
    }
    int r = rules_opts_parse(&ro, argc, argv, &i, true);
    if (r < 0) {
      exit_code = EXIT_USAGE;
      goto out;
    }
    if (r > 0)
      continue;
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
      verbose = true;
    else if (strcmp(a, "--fields") == 0)
      fields = true;
    else if (a[0] == '-') {
      exit_code = usage_error(cmd, "unknown option '%s'", a);
      goto out;
    } else {
      exit_code = usage_error(cmd, "unexpected argument '%s' (rules files are given with -r)", a);
      goto out;
    }
  }
  if (fields) {
    size_t w = 0;
    for (size_t i = 0; i < ctr_field_count(); i++)
      if (strlen(ctr_field_name(i)) > w)
        w = strlen(ctr_field_name(i));
    for (size_t i = 0; i < ctr_field_count(); i++)
      printf("%-*s  %-6s  %s\n", (int)w, ctr_field_name(i), ctr_field_type(i), ctr_field_desc(i));
    goto out;
  }
  ctr_ruleset *rs = NULL;
  exit_code = rules_build(&ro, stderr, &rs, NULL, NULL);
  if (exit_code != EXIT_OK)
    goto out;
  size_t n = ctr_ruleset_rule_count(rs), w = 4;
  for (size_t i = 0; i < n; i++)
    if (strlen(ctr_ruleset_rule_name(rs, i)) > w)
      w = strlen(ctr_ruleset_rule_name(rs, i));
  printf("%-13s  %-*s  %s\n", "PRIORITY", (int)w, "RULE", "TAGS");
  for (size_t i = 0; i < n; i++) {
    const char *pname = ctr_priority_name(ctr_ruleset_rule_priority(rs, i));
    printf("%-13s  %-*s  ", pname ? pname : "?", (int)w, ctr_ruleset_rule_name(rs, i));
    for (size_t t = 0; t < ctr_ruleset_rule_tag_count(rs, i); t++)
      printf("%s%s", t ? " " : "", ctr_ruleset_rule_tag(rs, i, t));
    if (!ctr_ruleset_rule_enabled(rs, i))
      fputs("  (disabled)", stdout);
    fputc('\n', stdout);
    if (verbose) {
      printf("    desc:      %s\n", ctr_ruleset_rule_desc(rs, i));
      printf("    condition: %s\n\n", ctr_ruleset_rule_condition(rs, i));
    }
  }
  printf("%zu rules, %zu enabled\n", n, ctr_ruleset_enabled_count(rs));
  ctr_ruleset_unref(rs);
out:
  rules_opts_free(&ro);
  return exit_code;
}

/* ------------------------------------------------------------ validate */

int cmd_validate(int argc, char **argv)
{
  const char *cmd = "validate";
  rules_opts ro = {0};
  ro.min_priority = -1;
  bool werror = false;
  int exit_code = EXIT_OK;
  bool opts_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    arg_kind k = arg_next(cmd, &ro, argc, argv, &i, &opts_done, false, false);
    if (k == ARG_OPERAND) {
      ro.files = xrealloc(ro.files, (ro.nfiles + 1) * sizeof *ro.files);
      ro.files[ro.nfiles++] = a;
    }
    if (k == ARG_HELP || k == ARG_USAGE) {
      exit_code = k == ARG_HELP ? EXIT_OK : EXIT_USAGE;
      goto out;
    }
    if (k != ARG_OWN)
      continue;
    if (strcmp(a, "--werror") == 0)
      werror = true;
    else {
      exit_code = usage_error(cmd, "unknown option '%s'", a);
      goto out;
    }
  }
  if (ro.no_builtin && ro.nfiles == 0) {
    exit_code = usage_error(cmd, "--no-builtin leaves nothing to validate: give a FILE");
    goto out;
  }
  ctr_ruleset *rs = NULL;
  size_t ne = 0, nw = 0;
  exit_code = rules_build(&ro, stdout, &rs, &ne, &nw);
  buf what = {0};
  if (!ro.no_builtin)
    buf_adds(&what, "built-in rules");
  for (size_t i = 0; i < ro.nfiles; i++)
    buf_printf(&what, "%s%s", what.len ? ", " : "", ro.files[i]);
  if (exit_code == EXIT_OK) {
    printf("%s: ok: %zu rules (%zu enabled), %zu %s\n", buf_str(&what), ctr_ruleset_rule_count(rs),
           ctr_ruleset_enabled_count(rs), nw, nw == 1 ? "warning" : "warnings");
    if (werror && nw)
      exit_code = EXIT_RULES;
  } else if (exit_code == EXIT_RULES) {
    printf("%s: %zu %s, %zu %s\n", buf_str(&what), ne, ne == 1 ? "error" : "errors", nw,
           nw == 1 ? "warning" : "warnings");
  }
  buf_free(&what);
  ctr_ruleset_unref(rs);
out:
  rules_opts_free(&ro);
  return exit_code;
}

/* ------------------------------------------------------------ main */

static void print_version(void)
{
  printf("ctrule %s\n", CTR_VERSION_STRING);
  printf("libctrule %s (built with headers %s)\n", ctr_version_string(), CTR_VERSION_STRING);
  printf("Falco rules format: engine %s; fields of the cloudtrail plugin %s and json plugin %s\n",
         CTR_ENGINE_VERSION_STRING, CTR_CLOUDTRAIL_PLUGIN_VERSION_STRING, CTR_JSON_PLUGIN_VERSION_STRING);
  printf("built-in rulesets:");
  for (size_t i = 0; i < ctr_builtin_count(); i++)
    printf(" %s", ctr_builtin_name(i));
  printf("\n");
}

static int dispatch(int argc, char **argv)
{
  if (argc < 2) {
    help_main(stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
    print_version();
    return EXIT_OK;
  }
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
    help_main(stdout);
    return EXIT_OK;
  }
  if (strcmp(cmd, "help") == 0) {
    if (argc > 2 && strcmp(argv[2], "scan") && strcmp(argv[2], "validate") && strcmp(argv[2], "list") &&
        strcmp(argv[2], "test"))
      return usage_error(NULL, "no command '%s' (scan, validate, list, test)", argv[2]);
    print_help(argc > 2 ? argv[2] : NULL, stdout);
    return EXIT_OK;
  }
  /* argv + 1: each command sees its own name as argv[0]. */
  if (strcmp(cmd, "scan") == 0)
    return cmd_scan(argc - 1, argv + 1);
  if (strcmp(cmd, "test") == 0)
    return cmd_test(argc - 1, argv + 1);
  if (strcmp(cmd, "validate") == 0)
    return cmd_validate(argc - 1, argv + 1);
  if (strcmp(cmd, "list") == 0)
    return cmd_list(argc - 1, argv + 1);
  return usage_error(NULL, "unknown command '%s' (scan, validate, list, test)", cmd);
}

int main(int argc, char **argv)
{
  /* Whatever the command printed must have reached stdout. */
  return stdout_finish(dispatch(argc, argv));
}
