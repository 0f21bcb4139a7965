/* scan_input.c - one input of `ctrule scan` through a worker's scanner
 * (reset between inputs, so memory stays flat whatever the size of a file;
 * gzip is recognised by the library).
 *
 * Regular files are mapped (MAP_POPULATE) a window at a time instead of
 * read(): the kernel's copy into a buffer was a third of a scan. A file cut
 * short while mapped raises SIGBUS on the vanished pages; the feed is guarded
 * and the input reported as a read error. stdin and pipes are read(). */
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAP_WINDOW (16u * 1024u * 1024u) /* mapped at a time: the pages of one window stay resident */
#define MAP_MIN (64u * 1024u)            /* smaller files are read(): a mapping costs more than the copy */

/* ------------------------------------------------------------ scanners */

/* A worker's total of a statistic over its scanners. */
uint64_t worker_stat(const worker *w, int k)
{
  return w->retired[k] + ctr_scanner_stat(w->sc, k);
}

int scanner_make(worker *w, ctr_ruleset *rs)
{
  int rc = ctr_scanner_new(rs, on_match, w, &w->sc);
  if (rc != CTR_OK)
    return rc;
  w->incomplete_seen = 0;
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

void sigbus_guard_install(void)
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

void scan_input(worker *w, const input *in)
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
