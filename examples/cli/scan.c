/* scan.c - `ctrule scan [PATH...]`: streams every input through one
 * scanner (reset between inputs) in fixed-size chunks, so memory stays flat
 * whatever the size of a file; gzip is recognised by the library. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (256u * 1024u)
#define PROGRESS_AFTER 1.0    /* seconds before the first progress line */
#define PROGRESS_EVERY 0.25   /* seconds between redraws */

typedef struct scan_ctx {
  /* options */
  bool json, quiet, want_summary, want_stats, verbose, fail_on_alert, first_match, color;
  bool progress_allowed;
  /* state */
  ctr_scanner *sc;
  summary *sum;
  const input *cur;
  uint64_t alerts;
  uint64_t file_incomplete;     /* incomplete records in the current input */
  uint64_t errors_in_feed;      /* error callbacks during the current feed */
  size_t input_errors;          /* inputs with an error (unreadable, bad records, corrupt stream) */
  bool cur_has_error;
  size_t files_done, files_total;
  uint64_t bytes_read;
  double start, last_draw;
  bool progress_shown;
  int internal_error;
  bool output_failed; /* an alert could not be written: the scan stops */
} scan_ctx;

/* ------------------------------------------------------------ progress */

static void progress_clear(scan_ctx *x)
{
  if (x->progress_shown) {
    fputs("\r\033[K", stderr);
    fflush(stderr);
    x->progress_shown = false;
  }
}

static void progress_tick(scan_ctx *x, bool force)
{
  if (!x->progress_allowed)
    return;
  double t = now_seconds();
  if (t - x->start < PROGRESS_AFTER || (!force && t - x->last_draw < PROGRESS_EVERY))
    return;
  x->last_draw = t;
  double secs = t - x->start;
  char rate[32];
  format_bytes(rate, secs > 0 ? (double)x->bytes_read / secs : 0);
  fprintf(stderr, "\r\033[Kscanning: %zu/%zu files, %llu records, %s/s, %llu alerts", x->files_done, x->files_total,
          (unsigned long long)ctr_scanner_stat(x->sc, CTR_STAT_RECORDS), rate, (unsigned long long)x->alerts);
  fflush(stderr);
  x->progress_shown = true;
}

/* ------------------------------------------------------------ callbacks */

static void print_text_alert(scan_ctx *x, const ctr_match *m)
{
  char t[64];
  format_time_short(t, ctr_match_time(m));
  int prio = ctr_match_priority(m);
  const char *pname = ctr_priority_name(prio);
  bool c = x->color;
  printf("%s %s%-8s%s %s%s%s\n", t, color_priority(c, prio), pname ? pname : "?", color_reset(c), color_bold(c),
         ctr_match_rule(m), color_reset(c));
  printf("    %s\n", ctr_match_output(m));
  printf("    %s%s record %llu at byte %llu%s\n", color_dim(c), x->cur->display,
         (unsigned long long)ctr_match_record_index(m), (unsigned long long)ctr_match_byte_offset(m), color_reset(c));
}

static int on_match(const ctr_match *m, void *ud)
{
  scan_ctx *x = ud;
  x->alerts++;
  if (!x->quiet) {
    progress_clear(x);
    if (x->json) {
      /* The same line as every other tool of the project (docs/alert-format.md). */
      char *line;
      size_t len;
      if (ctr_match_json(m, CTR_JSON_EVENT_ID, &line, &len) != CTR_OK) {
        x->internal_error = CTR_ENOMEM;
        return 1;
      }
      fwrite(line, 1, len, stdout);
      putchar('\n');
      ctr_free(line);
    } else {
      print_text_alert(x, m);
    }
    if (!stdout_ok()) {
      /* An alert that cannot be written is lost: stop rather than scan on. */
      x->output_failed = true;
      return 1;
    }
  }
  if (x->sum && summary_add(x->sum, m) == CTR_ENOMEM) {
    x->internal_error = CTR_ENOMEM;
    return 1;
  }
  return 0;
}

static void on_record_error(const ctr_record_error *e, void *ud)
{
  scan_ctx *x = ud;
  x->errors_in_feed++;
  if (ctr_record_error_evaluated(e) && ctr_record_error_status(e) == CTR_ELIMIT) {
    /* A rule left undecided by a regex limit: always told, since an alert
     * may be missing; the other rules of the record were evaluated. */
    progress_clear(x);
    warnf("%s: %s", x->cur->display, ctr_record_error_text(e));
    return;
  }
  if (ctr_record_error_evaluated(e)) {
    /* Evaluated anyway (a CloudTrail key missing). */
    x->file_incomplete++;
    if (x->verbose) {
      progress_clear(x);
      warnf("%s: %s (evaluated anyway)", x->cur->display, ctr_record_error_text(e));
    }
    return;
  }
  progress_clear(x);
  errorf("%s: %s", x->cur->display, ctr_record_error_text(e));
  x->cur_has_error = true;
}

/* ------------------------------------------------------------ one input */

/* The policy for wrong or empty input (docs/bad-input.md), once an input was
 * read to its end: nothing in it is a warning; values but not one complete
 * CloudTrail record (all bad, or JSON without the CloudTrail keys) and
 * nothing recognised and skipped (a digest file) is an error. */
static void check_input_held_records(scan_ctx *x, const input *in, const uint64_t before[CTR_STAT__COUNT])
{
  uint64_t records = ctr_scanner_stat(x->sc, CTR_STAT_RECORDS) - before[CTR_STAT_RECORDS];
  uint64_t bad = ctr_scanner_stat(x->sc, CTR_STAT_BAD_RECORDS) - before[CTR_STAT_BAD_RECORDS];
  uint64_t skipped = ctr_scanner_stat(x->sc, CTR_STAT_SKIPPED) - before[CTR_STAT_SKIPPED];
  if (skipped)
    return;
  progress_clear(x);
  if (records == 0) {
    warnf("%s: empty input: no record in it", in->display);
  } else if (bad + x->file_incomplete >= records) {
    errorf("%s: no CloudTrail record in this input (%llu %s: %llu not a JSON record, %llu without the CloudTrail "
           "keys)",
           in->display, (unsigned long long)records, records == 1 ? "value" : "values", (unsigned long long)bad,
           (unsigned long long)x->file_incomplete);
    x->cur_has_error = true;
  }
}

static void scan_input(scan_ctx *x, const input *in, unsigned char *chunk)
{
  x->cur = in;
  x->file_incomplete = 0;
  x->cur_has_error = false;
  ctr_scanner_reset(x->sc);
  uint64_t before[CTR_STAT__COUNT];
  for (int k = 0; k < CTR_STAT__COUNT; k++)
    before[k] = ctr_scanner_stat(x->sc, k);

  int fd = 0;
  bool is_stdin = strcmp(in->path, "-") == 0;
  if (!is_stdin) {
    fd = open(in->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      progress_clear(x);
      errorf("%s: cannot open: %s", in->display, strerror(errno));
      x->input_errors++;
      return;
    }
  }
  bool stream_failed = false;
  for (;;) {
    ssize_t n = read(fd, chunk, CHUNK);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      progress_clear(x);
      errorf("%s: read error after %llu bytes: %s", in->display, (unsigned long long)x->bytes_read,
             strerror(errno));
      x->cur_has_error = true;
      stream_failed = true;
      break;
    }
    if (n == 0)
      break;
    x->bytes_read += (uint64_t)n;
    x->errors_in_feed = 0;
    int rc = ctr_scanner_feed(x->sc, chunk, (size_t)n);
    if (x->internal_error || x->output_failed)
      break;
    if (rc == CTR_EDATA || rc == CTR_ELIMIT) {
      /* The stream itself is unreadable (e.g. corrupt gzip, a gzip bomb): the library
       * reported it through the error callback; stop this input. */
      if (!x->errors_in_feed) {
        progress_clear(x);
        errorf("%s: %s", in->display, ctr_scanner_last_error(x->sc));
      }
      x->cur_has_error = true;
      stream_failed = true;
      break;
    }
    if (rc < 0) {
      progress_clear(x);
      errorf("%s: %s", in->display, ctr_strerror(rc));
      if (rc == CTR_ENOMEM)
        x->internal_error = rc;
      x->cur_has_error = true;
      stream_failed = true;
      break;
    }
    progress_tick(x, false);
  }
  if (!stream_failed && !x->internal_error && !x->output_failed) {
    x->errors_in_feed = 0;
    int rc = ctr_scanner_finish(x->sc);
    if (rc < 0 && rc != CTR_EDATA && rc != CTR_ELIMIT) {
      progress_clear(x);
      errorf("%s: %s", in->display, ctr_strerror(rc));
      if (rc == CTR_ENOMEM)
        x->internal_error = rc;
      x->cur_has_error = true;
    } else if (rc == CTR_EDATA || rc == CTR_ELIMIT) {
      if (!x->errors_in_feed) {
        progress_clear(x);
        errorf("%s: %s", in->display, ctr_scanner_last_error(x->sc));
      }
      x->cur_has_error = true;
    }
  }
  if (!is_stdin)
    close(fd);
  if (!stream_failed && !x->internal_error && !x->output_failed)
    check_input_held_records(x, in, before);
  if (x->file_incomplete && !x->verbose) {
    progress_clear(x);
    warnf("%s: %llu incomplete %s (a CloudTrail key missing; evaluated anyway; -v lists them)", in->display,
          (unsigned long long)x->file_incomplete, x->file_incomplete == 1 ? "record" : "records");
  }
  if (x->cur_has_error)
    x->input_errors++;
  x->files_done++;
  progress_tick(x, false);
}

/* ------------------------------------------------------------ command */

static uint64_t sub_clamped(uint64_t a, uint64_t b)
{
  return a > b ? a - b : 0;
}

static void print_stats(scan_ctx *x, double secs)
{
  char total[32], rate[32];
  format_bytes(total, (double)x->bytes_read);
  format_bytes(rate, secs > 0 ? (double)x->bytes_read / secs : 0);
  ctr_scanner *sc = x->sc;
  fprintf(stderr,
          "ctrule: stats: %zu %s, %s read in %.3f s (%s/s)\n"
          "ctrule: stats: %llu records: %llu evaluated, %llu pruned by the eventName index, %llu skipped,\n"
          "ctrule: stats:   %llu bad, %llu incomplete; %llu alerts; %zu %s with errors\n",
          x->files_done, x->files_done == 1 ? "input" : "inputs", total, secs, rate,
          (unsigned long long)ctr_scanner_stat(sc, CTR_STAT_RECORDS),
          (unsigned long long)ctr_scanner_stat(sc, CTR_STAT_EVALUATED),
          (unsigned long long)sub_clamped(ctr_scanner_stat(sc, CTR_STAT_RECORDS),
                                          ctr_scanner_stat(sc, CTR_STAT_EVALUATED) +
                                              ctr_scanner_stat(sc, CTR_STAT_BAD_RECORDS) +
                                              ctr_scanner_stat(sc, CTR_STAT_SKIPPED)),
          (unsigned long long)ctr_scanner_stat(sc, CTR_STAT_SKIPPED),
          (unsigned long long)ctr_scanner_stat(sc, CTR_STAT_BAD_RECORDS),
          (unsigned long long)ctr_scanner_stat(sc, CTR_STAT_INCOMPLETE), (unsigned long long)x->alerts,
          x->input_errors, x->input_errors == 1 ? "input" : "inputs");
}

int cmd_scan(int argc, char **argv)
{
  const char *cmd = "scan";
  rules_opts ro = {0};
  ro.min_priority = -1;
  scan_ctx x = {0};
  const char *color_when = "auto";
  bool no_progress = false;
  const char **paths = xmalloc((size_t)argc * sizeof *paths);
  size_t npaths = 0;
  bool opts_done = false;
  int exit_code = EXIT_OK;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    arg_kind k = arg_next(cmd, &ro, argc, argv, &i, &opts_done, true, true);
    if (k == ARG_OPERAND)
      paths[npaths++] = a;
    if (k == ARG_HELP || k == ARG_USAGE) {
      exit_code = k == ARG_HELP ? EXIT_OK : EXIT_USAGE;
      goto out;
    }
    if (k != ARG_OWN)
      continue;
    if (strcmp(a, "--json") == 0)
      x.json = true;
    else if (strcmp(a, "--summary") == 0)
      x.want_summary = true;
    else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
      x.quiet = true;
    else if (strcmp(a, "--stats") == 0)
      x.want_stats = true;
    else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
      x.verbose = true;
    else if (strcmp(a, "--fail-on-alert") == 0)
      x.fail_on_alert = true;
    else if (strcmp(a, "--first-match") == 0)
      x.first_match = true;
    else if (strcmp(a, "--no-progress") == 0)
      no_progress = true;
    else if (option_is(a, "--color") || option_is(a, "--colour")) {
      if (!(color_when = option_value(cmd, argc, argv, &i, strncmp(a, "--colour", 8) == 0 ? "--colour" : "--color"))) {
        exit_code = EXIT_USAGE;
        goto out;
      }
    } else {
      exit_code = usage_error(cmd, "unknown option '%s'", a);
      goto out;
    }
  }
  bool ok;
  x.color = colors_decide(color_when, stdout, &ok);
  if (!ok) {
    exit_code = usage_error(cmd, "--color takes auto, always or never, not '%s'", color_when);
    goto out;
  }
  if (x.json)
    x.color = false;
  if (npaths == 0) {
    if (isatty(STDIN_FILENO)) {
      exit_code = usage_error(cmd, "no input: give a file or directory, or pipe CloudTrail records into stdin ('-')");
      goto out;
    }
    paths[npaths++] = "-";
  }
  size_t nstdin = 0;
  for (size_t i = 0; i < npaths; i++)
    nstdin += strcmp(paths[i], "-") == 0;
  if (nstdin > 1) {
    exit_code = usage_error(cmd, "'-' (stdin) can be given only once");
    goto out;
  }

  ctr_ruleset *rs = NULL;
  exit_code = rules_build(&ro, stderr, &rs, NULL, NULL);
  if (exit_code != EXIT_OK)
    goto out;
  if (ctr_ruleset_enabled_count(rs) == 0)
    warnf("no rule is enabled (check --no-builtin, -r, --rule, --enable-tag, --min-priority)");

  int rc = ctr_scanner_new(rs, on_match, &x, &x.sc);
  ctr_ruleset_unref(rs);
  if (rc != CTR_OK) {
    errorf("cannot create a scanner: %s", ctr_strerror(rc));
    exit_code = EXIT_INTERNAL;
    goto out;
  }
  ctr_scanner_set_error_callback(x.sc, on_record_error, &x);
  rules_opts_apply_scanner_limits(&ro, x.sc);
  if (x.first_match)
    ctr_scanner_set_flags(x.sc, CTR_SCAN_FIRST_MATCH);
  if (x.want_summary)
    x.sum = summary_new();
  /* Alerts go out as they are found (a pipe to a SIEM forwarder sees each line at once). */
  setvbuf(stdout, NULL, _IOLBF, 0);

  inputs in = {0};
  for (size_t i = 0; i < npaths; i++)
    inputs_add_path(&in, paths[i]);
  x.input_errors = in.errors;
  x.files_total = in.n;
  x.progress_allowed = !no_progress && isatty(STDERR_FILENO) == 1;
  x.start = x.last_draw = now_seconds();
  if (in.n == 0 && in.errors == 0)
    warnf("no input file found (directories are searched for .json, .json.gz, .ndjson and .jsonl files)");

  unsigned char *chunk = xmalloc(CHUNK);
  for (size_t i = 0; i < in.n && !x.internal_error && !x.output_failed; i++)
    scan_input(&x, &in.v[i], chunk);
  free(chunk);
  progress_clear(&x);
  double secs = now_seconds() - x.start;
  fflush(stdout);

  if (x.sum) {
    summary_print(x.sum, x.json ? stderr : stdout, x.json ? false : x.color);
    stdout_ok(); /* keeps the errno of a failed write for the message */
  }
  if (x.want_stats)
    print_stats(&x, secs);

  if (x.internal_error)
    exit_code = EXIT_INTERNAL;
  else if (x.input_errors)
    exit_code = EXIT_INPUT;
  else if (x.fail_on_alert && x.alerts)
    exit_code = EXIT_ALERTS;
  if (x.input_errors && !x.internal_error)
    errorf("%zu %s could not be read completely (see above); everything else was scanned", x.input_errors,
           x.input_errors == 1 ? "input" : "inputs");

  inputs_free(&in);
  summary_free(x.sum);
  ctr_scanner_free(x.sc);
out:
  free(paths);
  rules_opts_free(&ro);
  return exit_code;
}
