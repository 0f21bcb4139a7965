/* scan.c - `ctrule scan [PATH...]`: streams every input through a scanner
 * (reset between inputs), so memory stays flat whatever the size of a file;
 * gzip is recognised by the library. This file is the command: its options,
 * the run, the totals, --stats and the exit code; scan.h lists the parts.
 *
 * With -j N (default: the cores this process may run on), N workers each
 * take the next input and scan it with a scanner of their own on the shared
 * ruleset; what an input prints is printed in input order, so -j N prints
 * what -j 1 prints byte for byte (scan_workers.c). Regular files are mapped,
 * and a file cut short while mapped is a read error (scan_input.c). Sigma
 * correlations see every input, in input order, whatever -j
 * (scan_correlate.c). */
#include "scan.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_JOBS 256

/* ------------------------------------------------------------ options */

/* Falco's options that shape the JSON line (falco.yaml's keys), and the
 * library flag each sets or clears. */
static const struct json_option {
  const char *key;
  unsigned flag;
  bool flag_when; /* the flag is set when the value is this */
} json_options[] = {
    {"json_include_output_property", CTR_JSON_NO_OUTPUT, false},
    {"json_include_output_fields_property", CTR_JSON_NO_OUTPUT_FIELDS, false},
    {"json_include_tags_property", CTR_JSON_NO_TAGS, false},
    {"json_include_message_property", CTR_JSON_MESSAGE, true},
    {"time_format_iso_8601", CTR_JSON_TIME_ISO8601, true},
};

/* -o KEY=VALUE (--option): one of json_options, true or false. */
static bool parse_json_option(const char *cmd, const char *kv, unsigned *flags)
{
  const char *eq = strchr(kv, '=');
  size_t n = sizeof json_options / sizeof json_options[0];
  for (size_t i = 0; eq && i < n; i++) {
    const struct json_option *o = &json_options[i];
    if (strlen(o->key) != (size_t)(eq - kv) || strncmp(kv, o->key, (size_t)(eq - kv)) != 0)
      continue;
    bool value;
    if (strcmp(eq + 1, "true") == 0)
      value = true;
    else if (strcmp(eq + 1, "false") == 0)
      value = false;
    else {
      usage_error(cmd, "-o %s takes true or false, not '%s'", o->key, eq + 1);
      return false;
    }
    if (value == o->flag_when)
      *flags |= o->flag;
    else
      *flags &= ~o->flag;
    return true;
  }
  buf known = {0};
  for (size_t i = 0; i < n; i++)
    buf_printf(&known, "%s%s", i ? ", " : "", json_options[i].key);
  usage_error(cmd, "-o takes KEY=true|false with KEY one of %s; not '%s'", buf_str(&known), kv);
  buf_free(&known);
  return false;
}

/* -j N / -jN / --jobs N / --jobs=N. Returns false (message printed) on a bad value. */
static bool parse_jobs(const char *cmd, int argc, char **argv, int *i, long *jobs)
{
  const char *a = argv[*i];
  const char *v = strncmp(a, "-j", 2) == 0 && a[2] ? a + 2 : option_value(cmd, argc, argv, i, a[1] == 'j' ? "-j" : "--jobs");
  if (!v)
    return false;
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno || end == v || *end || n < 1 || n > MAX_JOBS) {
    usage_error(cmd, "-j takes a number of threads from 1 to %d, not '%s'", MAX_JOBS, v);
    return false;
  }
  *jobs = n;
  return true;
}

/* What the command line gives besides the run's options (scan_run). */
typedef struct scan_args {
  const char **paths; /* argc of them at most */
  size_t npaths;
  const char *color_when;
  const char *json_option_given; /* -o's last KEY=VALUE, NULL: none */
  bool no_progress;
} scan_args;

/* One of scan's own options at argv[*i] (advancing *i past its value).
 * EXIT_OK, or EXIT_USAGE with the message printed. */
static int scan_option(const char *cmd, int argc, char **argv, int *i, scan_run *r, scan_args *sa)
{
  const char *a = argv[*i];
  if (strcmp(a, "--json") == 0)
    r->json = true;
  else if (strcmp(a, "--summary") == 0)
    r->want_summary = true;
  else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
    r->quiet = true;
  else if (strcmp(a, "--stats") == 0)
    r->want_stats = true;
  else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
    r->verbose = true;
  else if (strcmp(a, "--fail-on-alert") == 0)
    r->fail_on_alert = true;
  else if (strcmp(a, "--first-match") == 0)
    r->first_match = true;
  else if (strcmp(a, "--no-progress") == 0)
    sa->no_progress = true;
  else if (strncmp(a, "-j", 2) == 0 || option_is(a, "--jobs")) {
    if (!parse_jobs(cmd, argc, argv, i, &r->jobs))
      return EXIT_USAGE;
  } else if (strcmp(a, "-o") == 0 || option_is(a, "--option")) {
    const char *kv = option_value(cmd, argc, argv, i, a[1] == 'o' ? "-o" : "--option");
    if (!kv || !parse_json_option(cmd, kv, &r->json_flags))
      return EXIT_USAGE;
    sa->json_option_given = kv;
  } else if (option_is(a, "--color") || option_is(a, "--colour")) {
    if (!(sa->color_when = option_value(cmd, argc, argv, i, strncmp(a, "--colour", 8) == 0 ? "--colour" : "--color")))
      return EXIT_USAGE;
  } else {
    return usage_error(cmd, "unknown option '%s'", a);
  }
  return EXIT_OK;
}

/* What the options mean together, and stdin when no path is given. EXIT_OK,
 * or EXIT_USAGE with the message printed. */
static int scan_args_check(const char *cmd, scan_run *r, scan_args *sa)
{
  bool ok;
  r->color = colors_decide(sa->color_when, stdout, &ok);
  if (!ok)
    return usage_error(cmd, "--color takes auto, always or never, not '%s'", sa->color_when);
  if (r->json)
    r->color = false;
  if (sa->json_option_given && !r->json)
    return usage_error(cmd, "-o %s shapes the --json line: give --json", sa->json_option_given);
  if (sa->npaths == 0) {
    if (isatty(STDIN_FILENO))
      return usage_error(cmd, "no input: give a file or directory, or pipe CloudTrail records into stdin ('-')");
    sa->paths[sa->npaths++] = "-";
  }
  size_t nstdin = 0;
  for (size_t i = 0; i < sa->npaths; i++)
    nstdin += strcmp(sa->paths[i], "-") == 0;
  if (nstdin > 1)
    return usage_error(cmd, "'-' (stdin) can be given only once");
  return EXIT_OK;
}

/* The command line into r, ro and sa. False when the command ends here:
 * *exit_code is EXIT_OK after --help, EXIT_USAGE after a usage error (its
 * message printed). */
static bool scan_parse(int argc, char **argv, scan_run *r, rules_opts *ro, scan_args *sa, int *exit_code)
{
  const char *cmd = "scan";
  bool opts_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    arg_kind k = arg_next(cmd, ro, argc, argv, &i, &opts_done, true, true);
    if (k == ARG_OPERAND)
      sa->paths[sa->npaths++] = a;
    if (k == ARG_HELP || k == ARG_USAGE) {
      *exit_code = k == ARG_HELP ? EXIT_OK : EXIT_USAGE;
      return false;
    }
    if (k == ARG_OWN && (*exit_code = scan_option(cmd, argc, argv, &i, r, sa)) != EXIT_OK)
      return false;
  }
  return (*exit_code = scan_args_check(cmd, r, sa)) == EXIT_OK;
}

/* ------------------------------------------------------------ the run */

/* The cores this process may run on (its CPU affinity), at least 1. */
static long default_jobs(void)
{
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? n : 1;
}

/* What the workers and the correlator counted, summed. */
typedef struct scan_totals {
  uint64_t st[CTR_STAT__COUNT], alerts, bytes;
  size_t input_errors;
  int internal_error;
} scan_totals;

/* The totals of the `started` workers and of the correlator (NULL: none),
 * with the paths that could not be read. */
static scan_totals totals_sum(const worker *ws, size_t started, const worker *correlator, size_t path_errors)
{
  scan_totals t = {.input_errors = path_errors, .internal_error = started ? 0 : CTR_ENOMEM};
  for (size_t k = 0; k < started; k++) {
    for (int s = 0; s < CTR_STAT__COUNT; s++)
      t.st[s] += worker_stat(&ws[k], s);
    t.alerts += ws[k].alerts;
    t.bytes += ws[k].bytes_read;
    t.input_errors += ws[k].input_errors;
    t.internal_error = t.internal_error ? t.internal_error : ws[k].internal_error;
  }
  if (correlator && started) {
    /* Its alerts are alerts; its records are the workers' again, but its
     * reports (a correlation's match not counted) are its own. */
    t.st[CTR_STAT_INCOMPLETE] += ctr_scanner_stat(correlator->sc, CTR_STAT_INCOMPLETE);
    t.alerts += correlator->alerts;
    t.input_errors += correlator->input_errors;
    t.internal_error = t.internal_error ? t.internal_error : correlator->internal_error;
  }
  return t;
}

static uint64_t sub_clamped(uint64_t a, uint64_t b)
{
  return a > b ? a - b : 0;
}

static void print_stats(size_t files, uint64_t bytes, const uint64_t st[CTR_STAT__COUNT], uint64_t alerts,
                        size_t input_errors, double secs)
{
  char total[32], rate[32];
  format_bytes(total, (double)bytes);
  format_bytes(rate, secs > 0 ? (double)bytes / secs : 0);
  fprintf(stderr,
          "ctrule: stats: %zu %s, %s read in %.3f s (%s/s)\n"
          "ctrule: stats: %llu records: %llu evaluated, %llu pruned by the eventName index, %llu skipped,\n"
          "ctrule: stats:   %llu bad, %llu incomplete; %llu alerts; %zu %s with errors\n",
          files, files == 1 ? "input" : "inputs", total, secs, rate, (unsigned long long)st[CTR_STAT_RECORDS],
          (unsigned long long)st[CTR_STAT_EVALUATED],
          (unsigned long long)sub_clamped(st[CTR_STAT_RECORDS],
                                          st[CTR_STAT_EVALUATED] + st[CTR_STAT_BAD_RECORDS] + st[CTR_STAT_SKIPPED]),
          (unsigned long long)st[CTR_STAT_SKIPPED], (unsigned long long)st[CTR_STAT_BAD_RECORDS],
          (unsigned long long)st[CTR_STAT_INCOMPLETE], (unsigned long long)alerts, input_errors,
          input_errors == 1 ? "input" : "inputs");
}

/* After the scan: the summary, --stats, and the exit code with the message
 * that goes with it. An output that failed (an alert, the summary) is
 * turned into EXIT_OUTPUT by stdout_finish (main.c). */
static int scan_report(const scan_run *r, const scan_totals *t, size_t started, double secs)
{
  if (!started)
    errorf("cannot create a scanner: out of memory");
  if (r->sum) {
    summary_print(r->sum, r->json ? stderr : stdout, r->json ? false : r->color);
    stdout_ok(); /* keeps the errno of a failed write for the message */
  }
  if (r->want_stats)
    print_stats(r->files_done, t->bytes, t->st, t->alerts, t->input_errors, secs);
  int exit_code = EXIT_OK;
  if (t->internal_error)
    exit_code = EXIT_INTERNAL;
  else if (t->input_errors)
    exit_code = EXIT_INPUT;
  else if (r->fail_on_alert && t->alerts)
    exit_code = EXIT_ALERTS;
  if (t->input_errors && !t->internal_error)
    errorf("%zu %s could not be read completely (see above); everything else was scanned", t->input_errors,
           t->input_errors == 1 ? "input" : "inputs");
  return exit_code;
}

/* Scans the paths of sa with rs (whose reference it takes) and reports;
 * returns the exit code. */
static int scan_paths(scan_run *r, ctr_ruleset *rs, const scan_args *sa)
{
  if (ctr_ruleset_enabled_count(rs) == 0)
    warnf("no rule is enabled (check --no-builtin, -r, --rule, --enable-tag, --min-priority)");
  if (r->want_summary)
    r->sum = summary_new();
  /* Alerts go out as they are found (a pipe to a SIEM forwarder sees each line at once). */
  setvbuf(stdout, NULL, _IOLBF, 0);

  inputs in = {0};
  for (size_t i = 0; i < sa->npaths; i++)
    inputs_add_path(&in, sa->paths[i]);
  r->in = &in;
  r->progress_allowed = !sa->no_progress && isatty(STDERR_FILENO) == 1;
  r->start = r->last_draw = now_seconds();
  if (in.n == 0 && in.errors == 0)
    warnf("no input file found (directories are searched for .json, .json.gz, .ndjson and .jsonl files)");

  size_t nw = (size_t)(r->jobs > 0 ? r->jobs : default_jobs());
  if (nw > in.n)
    nw = in.n ? in.n : 1;
  worker *ws = xcalloc(nw, sizeof *ws);
  sigbus_guard_install();
  r->rs = rs;
  worker correlator = {.flags = CTR_SCAN_ONLY_CORRELATION};
  r->correlating = ruleset_correlates(rs);
  if (r->correlating) {
    r->correlator = &correlator;
    if (worker_init(&correlator, r) != CTR_OK)
      nw = 0; /* no scanner: an internal error below */
  }
  size_t started = nw ? run_workers(r, ws, nw) : 0;
  if (r->correlator && started)
    correlate_finish(r);
  ctr_ruleset_unref(rs);
  progress_clear(r);
  double secs = now_seconds() - r->start;
  fflush(stdout);

  scan_totals t = totals_sum(ws, started, r->correlator, in.errors);
  int exit_code = scan_report(r, &t, started, secs);
  for (size_t k = 0; k < started; k++)
    worker_free(&ws[k]);
  if (r->correlator)
    worker_free(&correlator);
  free(ws);
  inputs_free(&in);
  summary_free(r->sum);
  return exit_code;
}

int cmd_scan(int argc, char **argv)
{
  rules_opts ro = {0};
  ro.min_priority = -1;
  scan_run r = {0};
  r.ro = &ro;
  r.jobs = -1;
  r.json_flags = CTR_JSON_EVENT_ID;
  scan_args sa = {xmalloc((size_t)argc * sizeof *sa.paths), 0, "auto", NULL, false};
  int exit_code = EXIT_OK;
  ctr_ruleset *rs = NULL;
  if (scan_parse(argc, argv, &r, &ro, &sa, &exit_code) &&
      (exit_code = rules_build(&ro, stderr, &rs, NULL, NULL)) == EXIT_OK)
    exit_code = scan_paths(&r, rs, &sa);
  free(sa.paths);
  rules_opts_free(&ro);
  return exit_code;
}
