/* scan_workers.c - `ctrule scan -j N`: N workers each take the next input
 * and scan it with a scanner of their own on the shared ruleset. A worker
 * keeps what an input prints (alerts on stdout, errors on stderr, in the
 * order they happened) until every earlier input's output is out, so the
 * output, the summary and the exit status are those of -j 1 byte for byte.
 * With one worker (or one input) everything is printed at once, as it is
 * found. */
#include "scan.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int worker_init(worker *w, scan_run *r)
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

void worker_free(worker *w)
{
  ctr_scanner_free(w->sc);
  free(w->chunk);
  kept_free(&w->kept);
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
size_t run_workers(scan_run *r, worker *ws, size_t nw)
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
