/*
 * scan.h - what the parts of `ctrule scan` share (scan.c says how they fit):
 *   scan.c           the command: options, the run, totals, stats, exit code
 *   scan_output.c    the progress line, alerts and reports, an input's kept output
 *   scan_input.c     a worker's scanner, and one input read or mapped and fed to it
 *   scan_workers.c   the workers, and each input's output printed in input order
 *   scan_correlate.c the records kept for the correlations, and the correlator
 * Private to the scan*.c files.
 */
#ifndef CTRULE_SCAN_H
#define CTRULE_SCAN_H

#include "cli.h"

#include <pthread.h>
#include <stdatomic.h>

#define CHUNK (256u * 1024u) /* read() size for stdin and pipes */
#define PROGRESS_EVERY 0.25  /* seconds between progress redraws */

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
  uint64_t incomplete_seen; /* CTR_STAT_INCOMPLETE of sc at its last report */
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

/* ------------------------------------------------------------ scan_output.c */

/* The progress line (stderr, on a terminal): cleared before anything is
 * printed, redrawn at most every PROGRESS_EVERY, from the single worker or
 * the main thread. */
void progress_clear(scan_run *r);
void progress_draw(scan_run *r, bool force, uint64_t records, uint64_t bytes, uint64_t alerts);
void progress_tick(worker *w);
/* "ctrule: [warning: ]message" on stderr, as errorf/warnf print it, printed
 * at once or kept with the input's output. */
void report(worker *w, bool warning, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes one input's kept output; false once stdout failed. */
bool print_file_out(file_out *o);
void file_out_free(file_out *o);
/* The scanner's callbacks; ud is the worker. */
int on_match(const ctr_match *m, void *ud);
void on_record_error(const ctr_record_error *e, void *ud);

/* ------------------------------------------------------------ scan_input.c */

/* A worker's total of a statistic over its scanners. */
uint64_t worker_stat(const worker *w, int k);
/* A scanner for w on rs, with the callbacks, limits and flags of the run. */
int scanner_make(worker *w, ctr_ruleset *rs);
/* Catches SIGBUS, so that a mapped file cut short is a read error. */
void sigbus_guard_install(void);
/* Reads input `in` to its end through w's scanner (reset first). */
void scan_input(worker *w, const input *in);

/* ------------------------------------------------------------ scan_workers.c */

int worker_init(worker *w, scan_run *r);
void worker_free(worker *w);
/* Scans every input with `nw` workers; returns how many started (the rest
 * could not get a scanner: an internal error). */
size_t run_workers(scan_run *r, worker *ws, size_t nw);

/* ------------------------------------------------------------ scan_correlate.c */

/* Keeps the match's record for the correlator (once per record). */
void keep_record(worker *w, const ctr_match *m);
void kept_free(kept_recs *k);
/* Feeds input `in`'s kept records to the correlator, after its own output. */
void correlate_input(scan_run *r, const input *in, kept_recs *k);
/* Ends the correlator's stream, after every input. */
void correlate_finish(scan_run *r);

#endif
