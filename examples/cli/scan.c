/* scan.c - `ctrule scan [PATH...]`: streams every input through a scanner
 * (reset between inputs), so memory stays flat whatever the size of a file;
 * gzip is recognised by the library.
 *
 * With -j N (default: the cores this process may run on), N workers each
 * take the next input and scan it with a scanner of their own on the shared
 * ruleset. A worker keeps what an input prints (alerts on stdout, errors on
 * stderr, in the order they happened) until every earlier input's output is
 * out, so the output, the summary and the exit status are those of -j 1
 * byte for byte. With one worker (or one input) everything is printed at
 * once, as it is found.
 *
 * Regular files are mapped (MAP_POPULATE) a window at a time instead of
 * read(): the kernel's copy into a buffer was a third of a scan. A file cut
 * short while mapped raises SIGBUS on the vanished pages; the feed is guarded
 * and the input reported as a read error. stdin and pipes are read().
 *
 * Sigma correlations (the built-in RDS ones, or any -r file's) see every
 * input, in input order, whatever -j: the workers' scanners correlate nothing
 * (CTR_SCAN_NO_CORRELATION) but keep each record with a match; when an
 * input's output is printed, its kept records are fed to one correlating
 * scanner (CTR_SCAN_ONLY_CORRELATION; one stream for the run, finished after
 * the last input), whose alerts follow that input's own, placed on the
 * input's records. -j 1 takes the same path, so -j N prints
 * what -j 1 prints by construction. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (256u * 1024u)             /* read() size for stdin and pipes */
#define MAP_WINDOW (16u * 1024u * 1024u) /* mapped at a time: the pages of one window stay resident */
#define MAP_MIN (64u * 1024u)            /* smaller files are read(): a mapping costs more than the copy */
#define MAX_JOBS 256
#define PROGRESS_AFTER 1.0    /* seconds before the first progress line */
#define PROGRESS_EVERY 0.25   /* seconds between redraws */

/* What one input printed, in order: runs of stdout or stderr bytes. */
typedef struct seg {
  bool err;
  buf text;
} seg;

/* A record with a match, kept for the correlations: its bytes and where
 * it lies in its input. */
typedef struct kept_rec {
  char *raw;
  size_t len;
  uint64_t index, offset;
} kept_rec;

typedef struct kept_recs {
  kept_rec *v;
  size_t n, cap;
} kept_recs;

typedef struct file_out {
  seg *v;
  size_t n;
  kept_recs kept;
  bool done;
} file_out;

typedef struct scan_run {
  /* options */
  bool json, quiet, want_summary, want_stats, verbose, fail_on_alert, first_match, color;
  bool progress_allowed;
  unsigned json_flags;
  long jobs;
  const rules_opts *ro;
  ctr_ruleset *rs;
  const inputs *in;
  summary *sum;
  bool correlating;         /* the ruleset has an enabled correlation */
  struct worker *correlator; /* its scanner: ONLY_CORRELATION, fed in printing order */
  /* workers: inputs are claimed in order, at most `window` ahead of the
   * next one to print (bounds what is kept in memory). The worker that
   * completes the run of done inputs from next_emit prints it (emitting:
   * one at a time), so no thread is woken for an input finished out of
   * order, and a worker waits only when the window is full. */
  pthread_mutex_t mu;
  pthread_cond_t claimable, finished; /* finished: the last worker left */
  file_out *slots;
  size_t next_claim, next_emit, window;
  size_t claim_waiters, running;
  bool emitting, print_failed;
  atomic_bool stop; /* output failed or out of memory: no new input, no more alerts */
  /* progress (under mu once workers run) */
  size_t files_done;
  uint64_t records_done, bytes_done, alerts_done;
  double start, last_draw;
  bool progress_shown;
} scan_run;

typedef struct worker {
  scan_run *r;
  ctr_scanner *sc;
  unsigned char *chunk;
  pthread_t tid;
  /* the current input */
  const input *cur;
  file_out *out; /* NULL: print at once */
  kept_recs kept; /* the current input's kept records when out is NULL */
  unsigned flags; /* correlation flags of its scanners */
  const kept_rec *fed; /* the correlator: the kept record being fed, whose place its reports take */
  uint64_t records_fed; /* the correlator: kept records fed so far (one stream) */
  kept_rec last_fed;    /* the correlator: where the last one lay (no bytes), ... */
  const input *last_in; /* ... and in which input: the stream's end is placed there */
  uint64_t file_incomplete; /* incomplete records in the current input */
  uint64_t errors_in_feed;  /* error callbacks during the current feed */
  uint64_t file_bytes;
  bool cur_has_error;
  /* totals */
  uint64_t retired[CTR_STAT__COUNT]; /* stats of scanners given up after a SIGBUS */
  uint64_t alerts, bytes_read;
  size_t input_errors; /* inputs with an error (unreadable, bad records, corrupt stream) */
  int internal_error;
  bool output_failed; /* an alert could not be written: the scan stops */
} worker;

static uint64_t worker_stat(const worker *w, int k);

/* ------------------------------------------------------------ progress */

static void progress_clear(scan_run *r)
{
  if (r->progress_shown) {
    fputs("\r\033[K", stderr);
    fflush(stderr);
    r->progress_shown = false;
  }
}

/* Drawn by the single worker, or by the main thread under mu while no
 * worker is printing. */
static void progress_draw(scan_run *r, bool force, uint64_t records, uint64_t bytes, uint64_t alerts)
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

static void progress_tick(worker *w)
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
static void __attribute__((format(printf, 3, 4))) report(worker *w, bool warning, const char *fmt, ...)
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
static bool print_file_out(file_out *o)
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

static void kept_free(kept_recs *k)
{
  for (size_t i = 0; i < k->n; i++)
    free(k->v[i].raw);
  free(k->v);
  *k = (kept_recs){0};
}

static void file_out_free(file_out *o)
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

/* Keeps the match's record (once: a record's matches come one after another). */
static void keep_record(worker *w, const ctr_match *m)
{
  kept_recs *k = w->out ? &w->out->kept : &w->kept;
  uint64_t index = ctr_match_record_index(m), offset = ctr_match_byte_offset(m);
  if (k->n && k->v[k->n - 1].index == index && k->v[k->n - 1].offset == offset)
    return;
  if (k->n == k->cap) {
    k->cap = k->cap ? k->cap * 2 : 16;
    k->v = xrealloc(k->v, k->cap * sizeof *k->v);
  }
  size_t len;
  const char *raw = ctr_match_event(m, &len);
  char *copy = xmalloc(len ? len : 1);
  memcpy(copy, raw, len);
  k->v[k->n++] = (kept_rec){copy, len, index, offset};
}

static void text_alert(buf *b, bool c, const char *display, const ctr_match *m, uint64_t index, uint64_t offset)
{
  char t[64];
  format_time_short(t, ctr_match_time(m));
  int prio = ctr_match_priority(m);
  const char *pname = ctr_priority_name(prio);
  buf_printf(b, "%s %s%-8s%s %s%s%s\n", t, color_priority(c, prio), pname ? pname : "?", color_reset(c),
             color_bold(c), ctr_match_rule(m), color_reset(c));
  buf_printf(b, "    %s\n", ctr_match_output(m));
  buf_printf(b, "    %s%s record %llu at byte %llu%s\n", color_dim(c), display, (unsigned long long)index,
             (unsigned long long)offset, color_reset(c));
}

static int on_match(const ctr_match *m, void *ud)
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
      buf b = {0};
      text_alert(&b, r->color, w->cur->display, m, place_index(w, ctr_match_record_index(m)),
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

static void on_record_error(const ctr_record_error *e, void *ud)
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
  if (ctr_record_error_evaluated(e) && ctr_record_error_status(e) == CTR_ELIMIT) {
    /* A rule left undecided by a regex limit, a correlation's match not
     * counted: always told, since an alert may be missing; the other rules
     * of the record were evaluated. */
    report(w, true, "%s: %s", w->cur->display, text);
  } else if (ctr_record_error_evaluated(e)) {
    /* Evaluated anyway (a CloudTrail key missing): the library's message
     * says so itself. */
    w->file_incomplete++;
    if (w->r->verbose)
      report(w, true, "%s: %s", w->cur->display, text);
  } else {
    report(w, false, "%s: %s", w->cur->display, text);
    w->cur_has_error = true;
  }
  buf_free(&placed);
}

/* ------------------------------------------------------------ scanners */

/* A worker's total of a statistic over its scanners. */
static uint64_t worker_stat(const worker *w, int k)
{
  return w->retired[k] + ctr_scanner_stat(w->sc, k);
}

static int scanner_make(worker *w, ctr_ruleset *rs)
{
  int rc = ctr_scanner_new(rs, on_match, w, &w->sc);
  if (rc != CTR_OK)
    return rc;
  ctr_scanner_set_error_callback(w->sc, on_record_error, w);
  rules_opts_apply_scanner_limits(w->r->ro, w->sc);
  ctr_scanner_set_flags(w->sc, (w->r->first_match ? CTR_SCAN_FIRST_MATCH : 0) | w->flags);
  return CTR_OK;
}

/* After a SIGBUS the scanner was left in the middle of a feed (possibly of
 * a callback, the bytes of a record being read lazily): it cannot be reset
 * or freed safely, so it is given up (its memory leaks, once per file cut
 * short under us) and a new one takes over, its statistics carried on. */
static void scanner_replace(worker *w)
{
  for (int k = 0; k < CTR_STAT__COUNT; k++)
    w->retired[k] += ctr_scanner_stat(w->sc, k);
  w->sc = NULL;
  if (scanner_make(w, w->r->rs) != CTR_OK)
    w->internal_error = CTR_ENOMEM;
}

/* ------------------------------------------------------------ reading */

/* The worker's jump back from a SIGBUS on a mapped file (NULL: not feeding
 * mapped bytes; the signal then keeps its default action). */
static _Thread_local sigjmp_buf *bus_jump;

static void on_sigbus(int sig)
{
  if (bus_jump)
    siglongjmp(*bus_jump, 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void sigbus_guard_install(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigbus;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, NULL);
}

/* ctr_scanner_feed over mapped bytes; *vanished when pages of the file went
 * away under it (truncated by another process). The scanner is reset by the
 * next input. */
static int feed_guarded(worker *w, const void *p, size_t n, bool *vanished)
{
  sigjmp_buf jb;
  if (sigsetjmp(jb, 1)) {
    bus_jump = NULL;
    *vanished = true;
    return CTR_EDATA;
  }
  bus_jump = &jb;
  int rc = ctr_scanner_feed(w->sc, p, n);
  bus_jump = NULL;
  return rc;
}

/* Handles one feed's result; false when this input stops here. */
static bool fed(worker *w, int rc)
{
  if (w->internal_error || w->output_failed || atomic_load_explicit(&w->r->stop, memory_order_relaxed))
    return false;
  if (rc == CTR_EDATA || rc == CTR_ELIMIT) {
    /* The stream itself is unreadable (e.g. corrupt gzip, a gzip bomb): the library
     * reported it through the error callback; stop this input. */
    if (!w->errors_in_feed)
      report(w, false, "%s: %s", w->cur->display, ctr_scanner_last_error(w->sc));
    w->cur_has_error = true;
    return false;
  }
  if (rc < 0) {
    report(w, false, "%s: %s", w->cur->display, ctr_strerror(rc));
    if (rc == CTR_ENOMEM)
      w->internal_error = rc;
    w->cur_has_error = true;
    return false;
  }
  progress_tick(w);
  return true;
}

static void read_failed(worker *w, const char *why)
{
  report(w, false, "%s: read error after %llu bytes: %s", w->cur->display, (unsigned long long)w->file_bytes, why);
  w->cur_has_error = true;
}

/* Feeds what read() returns until the end; false when the input stopped early. */
static bool feed_read(worker *w, int fd)
{
  for (;;) {
    ssize_t n = read(fd, w->chunk, CHUNK);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      read_failed(w, strerror(errno));
      return false;
    }
    if (n == 0)
      return true;
    w->file_bytes += (uint64_t)n;
    w->bytes_read += (uint64_t)n;
    w->errors_in_feed = 0;
    if (!fed(w, ctr_scanner_feed(w->sc, w->chunk, (size_t)n)))
      return false;
  }
}

/* Feeds a regular file of `size` bytes a mapped window at a time; where
 * the file cannot be mapped (a file system without mmap) it is read. */
static bool feed_mapped(worker *w, int fd, uint64_t size)
{
  for (uint64_t off = 0; off < size; off += MAP_WINDOW) {
    size_t n = size - off < MAP_WINDOW ? (size_t)(size - off) : MAP_WINDOW;
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, (off_t)off);
    if (p == MAP_FAILED) {
      if (lseek(fd, (off_t)off, SEEK_SET) < 0) {
        read_failed(w, strerror(errno));
        return false;
      }
      return feed_read(w, fd);
    }
    w->errors_in_feed = 0;
    bool vanished = false;
    int rc = feed_guarded(w, p, n, &vanished);
    munmap(p, n);
    if (vanished) {
      read_failed(w, "the file shrank while it was being read");
      scanner_replace(w);
      return false;
    }
    w->file_bytes += n;
    w->bytes_read += n;
    if (!fed(w, rc))
      return false;
  }
  /* Bytes appended since fstat are read too, as a read() loop would. */
  if (lseek(fd, (off_t)size, SEEK_SET) < 0) {
    read_failed(w, strerror(errno));
    return false;
  }
  return feed_read(w, fd);
}

/* ------------------------------------------------------------ one input */

/* The policy for wrong or empty input (docs/bad-input.md), once an input was
 * read to its end: nothing in it is a warning; values but not one complete
 * CloudTrail record (all bad, or JSON without the CloudTrail keys) and
 * nothing recognised and skipped (a digest file) is an error. */
static void check_input_held_records(worker *w, const uint64_t before[CTR_STAT__COUNT])
{
  uint64_t records = ctr_scanner_stat(w->sc, CTR_STAT_RECORDS) - before[CTR_STAT_RECORDS];
  uint64_t bad = ctr_scanner_stat(w->sc, CTR_STAT_BAD_RECORDS) - before[CTR_STAT_BAD_RECORDS];
  uint64_t skipped = ctr_scanner_stat(w->sc, CTR_STAT_SKIPPED) - before[CTR_STAT_SKIPPED];
  if (skipped)
    return;
  if (records == 0) {
    report(w, true, "%s: empty input: no record in it", w->cur->display);
  } else if (bad + w->file_incomplete >= records) {
    report(w, false,
           "%s: no CloudTrail record in this input (%llu %s: %llu not a JSON record, %llu without the CloudTrail "
           "keys)",
           w->cur->display, (unsigned long long)records, records == 1 ? "value" : "values", (unsigned long long)bad,
           (unsigned long long)w->file_incomplete);
    w->cur_has_error = true;
  }
}

static void finish_input(worker *w)
{
  w->errors_in_feed = 0;
  int rc = ctr_scanner_finish(w->sc);
  if (rc == CTR_EDATA || rc == CTR_ELIMIT) {
    if (!w->errors_in_feed)
      report(w, false, "%s: %s", w->cur->display, ctr_scanner_last_error(w->sc));
    w->cur_has_error = true;
  } else if (rc < 0) {
    report(w, false, "%s: %s", w->cur->display, ctr_strerror(rc));
    if (rc == CTR_ENOMEM)
      w->internal_error = rc;
    w->cur_has_error = true;
  }
}

static void scan_input(worker *w, const input *in)
{
  w->cur = in;
  w->file_incomplete = 0;
  w->file_bytes = 0;
  w->cur_has_error = false;
  ctr_scanner_reset(w->sc);
  uint64_t before[CTR_STAT__COUNT];
  for (int k = 0; k < CTR_STAT__COUNT; k++)
    before[k] = ctr_scanner_stat(w->sc, k);

  int fd = STDIN_FILENO;
  bool is_stdin = strcmp(in->path, "-") == 0;
  if (!is_stdin) {
    fd = open(in->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      report(w, false, "%s: cannot open: %s", in->display, strerror(errno));
      w->input_errors++;
      return;
    }
  }
  struct stat st;
  bool whole;
  if (!is_stdin && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size >= MAP_MIN)
    whole = feed_mapped(w, fd, (uint64_t)st.st_size);
  else
    whole = feed_read(w, fd);
  if (whole && !w->internal_error && !w->output_failed)
    finish_input(w);
  if (!is_stdin)
    close(fd);
  if (whole && !w->internal_error && !w->output_failed)
    check_input_held_records(w, before);
  if (w->file_incomplete && !w->r->verbose)
    report(w, true, "%s: %llu incomplete %s (a CloudTrail key missing; evaluated anyway; -v lists them)",
           in->display, (unsigned long long)w->file_incomplete, w->file_incomplete == 1 ? "record" : "records");
  if (w->cur_has_error)
    w->input_errors++;
}

/* ------------------------------------------------------------ workers */

static int worker_init(worker *w, scan_run *r)
{
  w->r = r;
  if (r->correlating && w != r->correlator)
    w->flags = CTR_SCAN_NO_CORRELATION;
  int rc = scanner_make(w, r->rs);
  if (rc != CTR_OK)
    return rc;
  w->chunk = xmalloc(CHUNK);
  return CTR_OK;
}

static void worker_free(worker *w)
{
  ctr_scanner_free(w->sc);
  free(w->chunk);
  kept_free(&w->kept);
}

/* The correlator's result for what was fed since c->fed was set; false
 * when the scan stops. Its placement needs one record per kept record. */
static bool correlator_fed(worker *c, int rc)
{
  if (rc == CTR_OK && ctr_scanner_stat(c->sc, CTR_STAT_RECORDS) != ++c->records_fed)
    rc = CTR_EINVAL;
  if (rc == CTR_OK || rc == CTR_STOPPED)
    return rc == CTR_OK;
  report(c, false, "%s: record %llu at byte %llu: internal error: the record did not read back as one record to correlate (%s)",
         c->cur->display, (unsigned long long)c->fed->index, (unsigned long long)c->fed->offset, ctr_strerror(rc));
  c->internal_error = rc == CTR_ENOMEM ? rc : CTR_EINVAL;
  return false;
}

/* After input `in`'s own output: its kept records through the correlator,
 * one after another in one NDJSON stream for the whole run (a correlation
 * decided when the stream ends is decided once, by correlate_finish), each
 * alert and report placed on the kept record being fed, and printed at once.
 * Called in printing order, by one thread at a time. */
static void correlate_input(scan_run *r, const input *in, kept_recs *k)
{
  worker *c = r->correlator;
  c->cur = in;
  c->cur_has_error = false;
  for (size_t i = 0; i < k->n && !c->internal_error && !c->output_failed && !atomic_load(&r->stop); i++) {
    c->fed = &k->v[i];
    int rc = ctr_scanner_feed(c->sc, k->v[i].raw, k->v[i].len);
    if (rc == CTR_OK)
      rc = ctr_scanner_feed(c->sc, "\n", 1);
    if (!correlator_fed(c, rc))
      break;
    c->last_fed = (kept_rec){NULL, 0, k->v[i].index, k->v[i].offset};
    c->last_in = in;
  }
  c->fed = NULL;
  if (c->cur_has_error)
    c->input_errors++;
  kept_free(k);
  if (c->internal_error || c->output_failed)
    atomic_store(&r->stop, true);
}

/* The end of the correlator's stream, after every input: what it decides
 * then is placed on the last record fed, in its input. */
static void correlate_finish(scan_run *r)
{
  worker *c = r->correlator;
  if (!c->last_in || c->internal_error || c->output_failed || atomic_load(&r->stop))
    return;
  c->cur = c->last_in;
  c->fed = &c->last_fed;
  c->records_fed--; /* finish reads no new record */
  correlator_fed(c, ctr_scanner_finish(c->sc));
  c->fed = NULL;
}

/* Prints every done input from next_emit on, in order; called and returning
 * with mu held, which is let go while printing. A worker finishing an input
 * meanwhile leaves it to this one, which looks again before it stops. */
static void emit_done_inputs(scan_run *r)
{
  r->emitting = true;
  while (!r->print_failed && r->next_emit < r->in->n && r->slots[r->next_emit].done) {
    file_out *o = &r->slots[r->next_emit];
    pthread_mutex_unlock(&r->mu);
    progress_clear(r);
    bool ok = print_file_out(o);
    if (ok && r->correlator)
      correlate_input(r, &r->in->v[r->next_emit], &o->kept);
    file_out_free(o);
    pthread_mutex_lock(&r->mu);
    r->next_emit++;
    if (!ok) {
      r->print_failed = true;
      atomic_store(&r->stop, true); /* the alerts of later inputs could not be written either */
    }
    if (r->claim_waiters)
      pthread_cond_broadcast(&r->claimable);
  }
  r->emitting = false;
}

/* Takes inputs in order until none is left or the scan stops. */
static void *worker_main(void *arg)
{
  worker *w = arg;
  scan_run *r = w->r;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (!atomic_load(&r->stop) && r->next_claim < r->in->n && r->next_claim >= r->next_emit + r->window) {
      r->claim_waiters++;
      pthread_cond_wait(&r->claimable, &r->mu);
      r->claim_waiters--;
    }
    if (atomic_load(&r->stop) || r->next_claim >= r->in->n)
      break;
    size_t i = r->next_claim++;
    pthread_mutex_unlock(&r->mu);

    uint64_t records = worker_stat(w, CTR_STAT_RECORDS), bytes = w->bytes_read, alerts = w->alerts;
    w->out = &r->slots[i];
    scan_input(w, &r->in->v[i]);

    pthread_mutex_lock(&r->mu);
    if (w->internal_error) {
      atomic_store(&r->stop, true);
      pthread_cond_broadcast(&r->claimable);
    }
    r->slots[i].done = true;
    r->files_done++;
    r->records_done += worker_stat(w, CTR_STAT_RECORDS) - records;
    r->bytes_done += w->bytes_read - bytes;
    r->alerts_done += w->alerts - alerts;
    if (!r->emitting)
      emit_done_inputs(r);
  }
  if (--r->running == 0)
    pthread_cond_signal(&r->finished);
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

/* The main thread waits for the workers, drawing the progress line
 * meanwhile (on a terminal only: otherwise it is woken once, at the end). */
static void wait_for_workers(scan_run *r)
{
  pthread_mutex_lock(&r->mu);
  while (r->running) {
    if (!r->progress_allowed) {
      pthread_cond_wait(&r->finished, &r->mu);
      continue;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)(PROGRESS_EVERY * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&r->finished, &r->mu, &ts);
    if (r->running && !r->emitting)
      progress_draw(r, false, r->records_done, r->bytes_done, r->alerts_done);
  }
  pthread_mutex_unlock(&r->mu);
}

/* Scans every input with `nw` workers; returns how many started (the rest
 * could not get a scanner: an internal error). */
static size_t run_workers(scan_run *r, worker *ws, size_t nw)
{
  size_t started = 0;
  for (; started < nw; started++)
    if (worker_init(&ws[started], r) != CTR_OK)
      break;
  if (started == 0)
    return 0;
  if (started == 1) {
    /* One worker: printed as found, in this thread. */
    for (size_t i = 0; i < r->in->n && !ws[0].internal_error && !ws[0].output_failed && !atomic_load(&r->stop); i++) {
      scan_input(&ws[0], &r->in->v[i]);
      if (r->correlator)
        correlate_input(r, &r->in->v[i], &ws[0].kept);
      r->files_done++;
      progress_tick(&ws[0]);
    }
    return started;
  }
  r->slots = xcalloc(r->in->n, sizeof *r->slots);
  /* Wide: on a busy machine the worker holding the input next to print may
   * wait milliseconds for a core, and the others must not stall on it
   * (2,000 small files, when a printing thread did this: -j 2 took 1.35 s
   * with 4 per worker, 0.81 s with 64, -j 1 1.55 s). */
  r->window = started * 64 + 64;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->claimable, NULL);
  pthread_cond_init(&r->finished, NULL);
  size_t created = 0;
  int err = 0;
  for (; created < started; created++) {
    pthread_mutex_lock(&r->mu);
    r->running++; /* before the thread may leave */
    pthread_mutex_unlock(&r->mu);
    if ((err = pthread_create(&ws[created].tid, NULL, worker_main, &ws[created])) != 0) {
      pthread_mutex_lock(&r->mu);
      r->running--;
      pthread_mutex_unlock(&r->mu);
      break;
    }
  }
  if (created == 0) {
    errorf("cannot start a thread: %s", strerror(err));
    ws[0].internal_error = CTR_ENOMEM;
    atomic_store(&r->stop, true);
  }
  wait_for_workers(r);
  for (size_t k = 0; k < created; k++)
    pthread_join(ws[k].tid, NULL);
  for (size_t i = 0; i < r->in->n; i++)
    file_out_free(&r->slots[i]);
  free(r->slots);
  pthread_cond_destroy(&r->finished);
  pthread_cond_destroy(&r->claimable);
  pthread_mutex_destroy(&r->mu);
  return started;
}

/* The cores this process may run on (its CPU affinity), at least 1. */
static long default_jobs(void)
{
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? n : 1;
}

/* ------------------------------------------------------------ command */

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

int cmd_scan(int argc, char **argv)
{
  const char *cmd = "scan";
  rules_opts ro = {0};
  ro.min_priority = -1;
  scan_run r = {0};
  r.ro = &ro;
  r.jobs = -1;
  r.json_flags = CTR_JSON_EVENT_ID;
  const char *color_when = "auto";
  const char *json_option_given = NULL;
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
      r.json = true;
    else if (strcmp(a, "--summary") == 0)
      r.want_summary = true;
    else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
      r.quiet = true;
    else if (strcmp(a, "--stats") == 0)
      r.want_stats = true;
    else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
      r.verbose = true;
    else if (strcmp(a, "--fail-on-alert") == 0)
      r.fail_on_alert = true;
    else if (strcmp(a, "--first-match") == 0)
      r.first_match = true;
    else if (strcmp(a, "--no-progress") == 0)
      no_progress = true;
    else if (strncmp(a, "-j", 2) == 0 || option_is(a, "--jobs")) {
      if (!parse_jobs(cmd, argc, argv, &i, &r.jobs)) {
        exit_code = EXIT_USAGE;
        goto out;
      }
    } else if (strcmp(a, "-o") == 0 || option_is(a, "--option")) {
      const char *kv = option_value(cmd, argc, argv, &i, a[1] == 'o' ? "-o" : "--option");
      if (!kv || !parse_json_option(cmd, kv, &r.json_flags)) {
        exit_code = EXIT_USAGE;
        goto out;
      }
      json_option_given = kv;
    } else if (option_is(a, "--color") || option_is(a, "--colour")) {
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
  r.color = colors_decide(color_when, stdout, &ok);
  if (!ok) {
    exit_code = usage_error(cmd, "--color takes auto, always or never, not '%s'", color_when);
    goto out;
  }
  if (r.json)
    r.color = false;
  if (json_option_given && !r.json) {
    exit_code = usage_error(cmd, "-o %s shapes the --json line: give --json", json_option_given);
    goto out;
  }
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
  if (r.want_summary)
    r.sum = summary_new();
  /* Alerts go out as they are found (a pipe to a SIEM forwarder sees each line at once). */
  setvbuf(stdout, NULL, _IOLBF, 0);

  inputs in = {0};
  for (size_t i = 0; i < npaths; i++)
    inputs_add_path(&in, paths[i]);
  r.in = &in;
  r.progress_allowed = !no_progress && isatty(STDERR_FILENO) == 1;
  r.start = r.last_draw = now_seconds();
  if (in.n == 0 && in.errors == 0)
    warnf("no input file found (directories are searched for .json, .json.gz, .ndjson and .jsonl files)");

  size_t nw = (size_t)(r.jobs > 0 ? r.jobs : default_jobs());
  if (nw > in.n)
    nw = in.n ? in.n : 1;
  worker *ws = xcalloc(nw, sizeof *ws);
  sigbus_guard_install();
  r.rs = rs;
  worker correlator = {.flags = CTR_SCAN_ONLY_CORRELATION};
  r.correlating = ruleset_correlates(rs);
  if (r.correlating) {
    r.correlator = &correlator;
    if (worker_init(&correlator, &r) != CTR_OK)
      nw = 0; /* no scanner: an internal error below */
  }
  size_t started = nw ? run_workers(&r, ws, nw) : 0;
  if (r.correlator && started)
    correlate_finish(&r);
  ctr_ruleset_unref(rs);
  progress_clear(&r);
  double secs = now_seconds() - r.start;
  fflush(stdout);

  uint64_t st[CTR_STAT__COUNT] = {0}, alerts = 0, bytes = 0;
  size_t input_errors = in.errors;
  int internal_error = started ? 0 : CTR_ENOMEM;
  bool output_failed = false;
  for (size_t k = 0; k < started; k++) {
    for (int s = 0; s < CTR_STAT__COUNT; s++)
      st[s] += worker_stat(&ws[k], s);
    alerts += ws[k].alerts;
    bytes += ws[k].bytes_read;
    input_errors += ws[k].input_errors;
    internal_error = internal_error ? internal_error : ws[k].internal_error;
    output_failed |= ws[k].output_failed;
  }
  if (r.correlator && started) {
    /* Its alerts are alerts; its records are the workers' again, but its
     * reports (a correlation's match not counted) are its own. */
    st[CTR_STAT_INCOMPLETE] += ctr_scanner_stat(correlator.sc, CTR_STAT_INCOMPLETE);
    alerts += correlator.alerts;
    input_errors += correlator.input_errors;
    internal_error = internal_error ? internal_error : correlator.internal_error;
  }
  if (!started)
    errorf("cannot create a scanner: out of memory");
  (void)output_failed; /* stdout_finish turns it into EXIT_OUTPUT */

  if (r.sum) {
    summary_print(r.sum, r.json ? stderr : stdout, r.json ? false : r.color);
    stdout_ok(); /* keeps the errno of a failed write for the message */
  }
  if (r.want_stats)
    print_stats(r.files_done, bytes, st, alerts, input_errors, secs);

  if (internal_error)
    exit_code = EXIT_INTERNAL;
  else if (input_errors)
    exit_code = EXIT_INPUT;
  else if (r.fail_on_alert && alerts)
    exit_code = EXIT_ALERTS;
  if (input_errors && !internal_error)
    errorf("%zu %s could not be read completely (see above); everything else was scanned", input_errors,
           input_errors == 1 ? "input" : "inputs");

  for (size_t k = 0; k < started; k++)
    worker_free(&ws[k]);
  if (r.correlator)
    worker_free(&correlator);
  free(ws);
  inputs_free(&in);
  summary_free(r.sum);
out:
  free(paths);
  rules_opts_free(&ro);
  return exit_code;
}
