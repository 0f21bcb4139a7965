/* scan_output.c - what `ctrule scan` prints while it scans: the progress
 * line, alerts (text or JSON) and reports of bad input, printed at once by a
 * single worker or kept with the input's output until every earlier input's
 * is out (scan_workers.c). */
#include "scan.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PROGRESS_AFTER 1.0 /* seconds before the first progress line */

/* ------------------------------------------------------------ progress */

void progress_clear(scan_run *r)
{
  if (r->progress_shown) {
    fputs("\r\033[K", stderr);
    fflush(stderr);
    r->progress_shown = false;
  }
}

/* Drawn by the single worker, or by the main thread under mu while no
 * worker is printing. */
void progress_draw(scan_run *r, bool force, uint64_t records, uint64_t bytes, uint64_t alerts)
{
  if (!r->progress_allowed)
    return;
  double t = now_seconds();
  if (t - r->start < PROGRESS_AFTER || (!force && t - r->last_draw < PROGRESS_EVERY))
    return;
  r->last_draw = t;
  double secs = t - r->start;
  char rate[32];
  format_bytes(rate, secs > 0 ? (double)bytes / secs : 0);
  fprintf(stderr, "\r\033[Kscanning: %zu/%zu files, %llu records, %s/s, %llu alerts", r->files_done, r->in->n,
          (unsigned long long)records, rate, (unsigned long long)alerts);
  fflush(stderr);
  r->progress_shown = true;
}

void progress_tick(worker *w)
{
  if (!w->out)
    progress_draw(w->r, false, worker_stat(w, CTR_STAT_RECORDS), w->bytes_read, w->alerts);
}

/* ------------------------------------------------------------ output */

/* Prints at once (one worker) or keeps it with the input's output. */
static void emit(worker *w, bool err, const char *s, size_t n)
{
  file_out *o = w->out;
  if (!o) {
    progress_clear(w->r);
    fwrite(s, 1, n, err ? stderr : stdout);
    return;
  }
  if (!o->n || o->v[o->n - 1].err != err) {
    o->v = xrealloc(o->v, (o->n + 1) * sizeof *o->v);
    o->v[o->n++] = (seg){err, {0}};
  }
  buf_add(&o->v[o->n - 1].text, s, n);
}

/* "ctrule: [warning: ]message" on stderr, as errorf/warnf print it. */
void report(worker *w, bool warning, const char *fmt, ...)
{
  buf b = {0};
  buf_adds(&b, CTRULE_CLI_NAME ": ");
  if (warning)
    buf_adds(&b, "warning: ");
  va_list ap;
  va_start(ap, fmt);
  char small[512];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < sizeof small) {
    buf_add(&b, small, (size_t)n);
  } else if (n >= 0) {
    buf_reserve(&b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b.data + b.len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b.len += (size_t)n;
  }
  buf_addc(&b, '\n');
  emit(w, true, b.data, b.len);
  buf_free(&b);
}

/* Writes one input's kept output; false once stdout failed. */
bool print_file_out(file_out *o)
{
  for (size_t i = 0; i < o->n; i++) {
    if (o->v[i].err) {
      fflush(stdout); /* the order of stdout and stderr as -j 1 prints it */
      fwrite(o->v[i].text.data, 1, o->v[i].text.len, stderr);
    } else {
      fwrite(o->v[i].text.data, 1, o->v[i].text.len, stdout);
    }
  }
  fflush(stdout);
  return stdout_ok();
}

void file_out_free(file_out *o)
{
  for (size_t i = 0; i < o->n; i++)
    buf_free(&o->v[i].text);
  free(o->v);
  o->v = NULL;
  o->n = 0;
  kept_free(&o->kept);
}

/* ------------------------------------------------------------ callbacks */

/* Where a match or report lies: the correlator's records are kept ones. */
static uint64_t place_index(const worker *w, uint64_t index) { return w->fed ? w->fed->index : index; }
static uint64_t place_offset(const worker *w, uint64_t offset) { return w->fed ? w->fed->offset : offset; }

/* An alert as three lines of text. Appended piece by piece: formatted by
 * vsnprintf (twice per call, to size then to write) it was three quarters
 * of what printing an alert cost (docs/performance.md, stop 26). */
static void text_alert(buf *b, bool c, const char *display, const ctr_match *m, const char *output, uint64_t index,
                       uint64_t offset)
{
  char t[64];
  format_time_short(t, ctr_match_time(m));
  int prio = ctr_match_priority(m);
  const char *pname = ctr_priority_name(prio), *rule = ctr_match_rule(m);
  pname = pname ? pname : "?";
  buf_adds(b, t);
  buf_addc(b, ' ');
  buf_adds(b, color_priority(c, prio));
  size_t n = strlen(pname);
  buf_add(b, pname, n);
  if (n < 8) /* the names line up */
    buf_add(b, "        ", 8 - n);
  buf_adds(b, color_reset(c));
  buf_addc(b, ' ');
  buf_adds(b, color_bold(c));
  buf_adds(b, rule ? rule : "?");
  buf_adds(b, color_reset(c));
  buf_add(b, "\n    ", 5);
  buf_adds(b, output);
  buf_add(b, "\n    ", 5);
  buf_adds(b, color_dim(c));
  buf_adds(b, display);
  buf_add(b, " record ", 8);
  buf_add_u64(b, index);
  buf_add(b, " at byte ", 9);
  buf_add_u64(b, offset);
  buf_adds(b, color_reset(c));
  buf_addc(b, '\n');
}

int on_match(const ctr_match *m, void *ud)
{
  worker *w = ud;
  scan_run *r = w->r;
  if (atomic_load_explicit(&r->stop, memory_order_relaxed))
    return 1;
  if (w->flags & CTR_SCAN_NO_CORRELATION) {
    keep_record(w, m);
    if (ctr_match_silenced(m))
      return 0; /* feeds a correlation only (generate: false): no alert */
  }
  w->alerts++;
  if (!r->quiet) {
    if (r->json) {
      /* The same line as every other tool of the project (docs/alert-format.md). */
      char *line;
      size_t len;
      if (ctr_match_json(m, r->json_flags, &line, &len) != CTR_OK) {
        w->internal_error = CTR_ENOMEM;
        return 1;
      }
      emit(w, false, line, len);
      emit(w, false, "\n", 1);
      ctr_free(line);
    } else {
      const char *output = ctr_match_output(m);
      if (!output) { /* memory ran out rendering it */
        w->internal_error = CTR_ENOMEM;
        return 1;
      }
      buf b = {0};
      text_alert(&b, r->color, w->cur->display, m, output, place_index(w, ctr_match_record_index(m)),
                 place_offset(w, ctr_match_byte_offset(m)));
      emit(w, false, b.data, b.len);
      buf_free(&b);
    }
    if (!w->out && !stdout_ok()) {
      /* An alert that cannot be written is lost: stop rather than scan on. */
      w->output_failed = true;
      return 1;
    }
  }
  if (r->sum && summary_add(r->sum, m) == CTR_ENOMEM) {
    w->internal_error = CTR_ENOMEM;
    return 1;
  }
  return 0;
}

void on_record_error(const ctr_record_error *e, void *ud)
{
  worker *w = ud;
  w->errors_in_feed++;
  buf placed = {0};
  const char *text = ctr_record_error_text(e);
  if (w->fed) { /* the correlator's: on the input's record */
    buf_printf(&placed, "record %llu at byte %llu: %s", (unsigned long long)w->fed->index,
               (unsigned long long)w->fed->offset, ctr_record_error_message(e));
    text = buf_str(&placed);
  }
  uint64_t incomplete = ctr_scanner_stat(w->sc, CTR_STAT_INCOMPLETE);
  if (ctr_record_error_evaluated(e) && incomplete != w->incomplete_seen) {
    /* The record's one completeness report (the library counts it before
     * the callback): evaluated anyway, a CloudTrail key missing; the
     * message says so itself. Counted, listed with -v. */
    w->incomplete_seen = incomplete;
    w->file_incomplete++;
    if (w->r->verbose)
      report(w, true, "%s: %s", w->cur->display, text);
  } else if (ctr_record_error_evaluated(e)) {
    /* About a rule or a correlation, not the record (a rule a regex limit
     * left undecided, a correlation's match not counted): always told,
     * since an alert may be missing; the other rules were evaluated. */
    report(w, true, "%s: %s", w->cur->display, text);
  } else {
    report(w, false, "%s: %s", w->cur->display, text);
    w->cur_has_error = true;
  }
  buf_free(&placed);
}
