/*
 * ctrbind_pool.c - the C threads of the bindings' many-files scans
 * (Python's scan_files, Go's ScanFiles), one implementation inserted into
 * each SWIG wrapper (%insert("header") in bindings/python/ctrule.i and
 * bindings/go/internal/capi/ctrule.i, so that the generated wrapper holds
 * it and a `go get` of the Go module needs no file outside it).
 *
 * Why C threads: Python's worker threads spent about 10 us of Python per
 * file with the GIL held, and Go's goroutines inside long cgo calls lost
 * their P to sysmon; either way two workers ran about 1.6x one. These
 * threads are the CLI's: each claims the next file in input order, opens,
 * reads, feeds and finishes it with a scanner of its own, and leaves the
 * result in the file's slot; the caller takes the slots in order, waiting
 * in C. What a scan collects (matches, record errors) is the binding's:
 * its scanners' callbacks write into what its hooks keep in the slot.
 *
 * The caller pushes the paths in input order (all before starting, or as
 * it goes, at most `cap` pushed and not taken); a slot pushed without a
 * path is one the caller deals with itself (no thread claims it). Threads
 * claim at most `window` files beyond the last one taken. With `help`, a
 * caller waiting for a slot scans the next unclaimed file itself (with its
 * own scanner, workers[0], which has no thread) instead of sleeping.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctrule.h"

enum { CTRBIND_SLOT_PUSHED, CTRBIND_SLOT_SCANNING, CTRBIND_SLOT_DONE };

struct ctrbind_slot {
  char *path; /* NULL: not a file of the pool's (the caller's) */
  size_t path_len;
  int state;
  int status;             /* of the last feed, or of finish */
  int err, op;            /* errno of a failed open (op 1) or read (op 2) */
  int finished, cancelled; /* finish was called; the pool stopped mid-file */
  uint64_t stats[CTR_STAT__COUNT]; /* this file's counters */
  char *last_error;       /* the scanner's, when status is not CTR_OK */
  void *out;              /* what the binding's hooks keep for this file */
  size_t out_len;
};

struct ctrbind_pool;

struct ctrbind_worker {
  struct ctrbind_pool *pool;
  ctr_scanner *sc; /* made by the binding (its callbacks given `user`), freed by the pool */
  void *user;
  struct ctrbind_slot *cur; /* the file it scans */
  unsigned char *buf;
  size_t buf_cap;
  pthread_t thread;
};

/* The binding's part. begin: before a file is scanned (non-zero: out of
 * memory); end: after, once the slot holds the status, counters and last
 * error, to keep what the callbacks collected in s->out (non-zero: out of
 * memory); clear: frees s->out; fini: frees w->user (the scanner is freed
 * by the pool). Non-zero from begin or end stops the pool (failed). */
struct ctrbind_pool_ops {
  int (*begin)(struct ctrbind_worker *w, struct ctrbind_slot *s);
  int (*end)(struct ctrbind_worker *w, struct ctrbind_slot *s);
  void (*clear)(struct ctrbind_slot *s);
  void (*fini)(struct ctrbind_worker *w);
};

struct ctrbind_pool {
  pthread_mutex_t mu;
  pthread_cond_t work;  /* threads wait for a file to claim */
  pthread_cond_t ready; /* the caller waits for the slots [want_lo, want_hi] */
  const struct ctrbind_pool_ops *ops;
  struct ctrbind_slot *slots;
  size_t cap, window, chunk;     /* file i is in slots[i % cap] */
  size_t pushed, claimed, taken; /* file counts */
  size_t want_lo, want_hi;       /* lo > hi: the caller is not waiting */
  int idle;                      /* threads waiting for work */
  int stop;                      /* 1 cancelled, 2 failed; written under mu, also read between reads without it */
  int nworkers, first_thread, started;
  struct ctrbind_worker *workers;
};

static void ctrbind_slot_clear(const struct ctrbind_pool *p, struct ctrbind_slot *s)
{
  if (s->out)
    p->ops->clear(s);
  free(s->path);
  free(s->last_error);
  memset(s, 0, sizeof *s);
}

/* Scans s->path as one stream with w's scanner (no lock held). */
static void ctrbind_pool_scan(struct ctrbind_worker *w, struct ctrbind_slot *s)
{
  struct ctrbind_pool *p = w->pool;
  ctr_scanner *sc = w->sc;
  uint64_t before[CTR_STAT__COUNT];
  for (int k = 0; k < CTR_STAT__COUNT; k++)
    before[k] = ctr_scanner_stat(sc, k);
  w->cur = s;
  int status = CTR_OK, fd = -1;
  if (memchr(s->path, 0, s->path_len)) {
    s->err = EINVAL; /* as open(2) of Go and Python refuse a NUL */
    s->op = 1;
  } else if ((fd = open(s->path, O_RDONLY | O_CLOEXEC)) < 0) {
    s->err = errno;
    s->op = 1;
  }
  if (fd >= 0) {
    size_t chunk = p->chunk;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size < chunk)
      chunk = (size_t)st.st_size;
    if (w->buf_cap < chunk) {
      free(w->buf);
      w->buf_cap = (w->buf = malloc(chunk)) ? chunk : 0;
    }
    if (!w->buf) {
      s->err = ENOMEM;
      s->op = 2;
    }
    while (!s->err && status == CTR_OK) {
      if (__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) {
        s->cancelled = 1;
        break;
      }
      ssize_t n = read(fd, w->buf, chunk);
      if (n < 0) {
        if (errno != EINTR) {
          s->err = errno;
          s->op = 2;
        }
      } else if (n == 0) {
        status = ctr_scanner_finish(sc);
        s->finished = 1;
      } else {
        status = ctr_scanner_feed(sc, w->buf, (size_t)n);
      }
      if (s->finished)
        break;
    }
    close(fd);
  }
  s->status = status;
  if (status != CTR_OK) {
    const char *last = ctr_scanner_last_error(sc);
    s->last_error = strdup(last ? last : "");
  }
  /* The counters after the reset, which may count what it abandons. */
  ctr_scanner_reset(sc);
  for (int k = 0; k < CTR_STAT__COUNT; k++)
    s->stats[k] = ctr_scanner_stat(sc, k) - before[k];
  w->cur = NULL;
}

/* The next file to scan, in input order (under mu); NULL if none now. */
static struct ctrbind_slot *ctrbind_pool_claim(struct ctrbind_pool *p)
{
  while (!p->stop && p->claimed < p->pushed && p->claimed < p->taken + p->window) {
    struct ctrbind_slot *s = &p->slots[p->claimed++ % p->cap];
    if (s->path) {
      s->state = CTRBIND_SLOT_SCANNING;
      return s;
    }
  }
  return NULL;
}

static void ctrbind_pool_fail(struct ctrbind_pool *p)
{
  __atomic_store_n(&p->stop, 2, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&p->work);
  pthread_cond_broadcast(&p->ready);
}

/* Whether the slots the caller waits for are all done (under mu). */
static int ctrbind_pool_wanted(const struct ctrbind_pool *p)
{
  if (p->want_lo > p->want_hi)
    return 0;
  for (size_t i = p->want_lo; i <= p->want_hi; i++) {
    const struct ctrbind_slot *s = &p->slots[i % p->cap];
    if (s->path && s->state != CTRBIND_SLOT_DONE)
      return 0;
  }
  return 1;
}

/* Scans a claimed slot (mu held on entry and on return). */
static void ctrbind_pool_run(struct ctrbind_worker *w, struct ctrbind_slot *s)
{
  struct ctrbind_pool *p = w->pool;
  pthread_mutex_unlock(&p->mu);
  int failed = p->ops->begin(w, s);
  if (!failed) {
    ctrbind_pool_scan(w, s);
    failed = p->ops->end(w, s);
  }
  pthread_mutex_lock(&p->mu);
  s->state = CTRBIND_SLOT_DONE;
  if (failed)
    ctrbind_pool_fail(p);
  else if (ctrbind_pool_wanted(p))
    pthread_cond_signal(&p->ready);
}

static void *ctrbind_pool_thread(void *arg)
{
  struct ctrbind_worker *w = arg;
  struct ctrbind_pool *p = w->pool;
  pthread_mutex_lock(&p->mu);
  while (!p->stop) {
    struct ctrbind_slot *s = ctrbind_pool_claim(p);
    if (s) {
      ctrbind_pool_run(w, s);
    } else {
      p->idle++;
      pthread_cond_wait(&p->work, &p->mu);
      p->idle--;
    }
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void ctrbind_pool_free(struct ctrbind_pool *p);

/* A pool of nworkers workers, the last nthreads of them with a thread (the
 * others are the caller's, for `help`), for at most `cap` files pushed and
 * not taken, threads claiming at most `window` beyond the last taken,
 * reading `chunk` bytes at a time. The binding then sets each worker's sc
 * and user, pushes and starts. NULL: out of memory. */
static struct ctrbind_pool *ctrbind_pool_new(int nworkers, int nthreads, size_t cap, size_t window, size_t chunk,
                                             const struct ctrbind_pool_ops *ops)
{
  struct ctrbind_pool *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->ready, NULL);
  p->ops = ops;
  p->cap = cap ? cap : 1;
  p->window = window;
  p->chunk = chunk;
  p->want_lo = 1;
  p->nworkers = nworkers;
  p->first_thread = nworkers - nthreads;
  p->slots = calloc(p->cap, sizeof *p->slots);
  p->workers = calloc((size_t)nworkers, sizeof *p->workers);
  if (!p->slots || !p->workers) {
    ctrbind_pool_free(p);
    return NULL;
  }
  for (int k = 0; k < nworkers; k++)
    p->workers[k].pool = p;
  return p;
}

/* Starts the threads: CTR_OK, or CTR_ENOMEM (those started are joined by
 * ctrbind_pool_free). */
static int ctrbind_pool_start(struct ctrbind_pool *p)
{
  for (int k = p->first_thread; k < p->nworkers; k++) {
    if (pthread_create(&p->workers[k].thread, NULL, ctrbind_pool_thread, &p->workers[k]) != 0)
      return CTR_ENOMEM;
    p->started++;
  }
  return CTR_OK;
}

/* Pushes the next file (a copy of path; NULL: the caller's own input).
 * CTR_EINVAL when `cap` are pushed and not taken. */
static int ctrbind_pool_push(struct ctrbind_pool *p, const char *path, size_t path_len)
{
  char *copy = NULL;
  if (path) {
    if (!(copy = malloc(path_len + 1)))
      return CTR_ENOMEM;
    if (path_len)
      memcpy(copy, path, path_len);
    copy[path_len] = 0;
  }
  pthread_mutex_lock(&p->mu);
  int full = p->pushed - p->taken >= p->cap;
  if (!full) {
    struct ctrbind_slot *s = &p->slots[p->pushed++ % p->cap];
    s->path = copy;
    s->path_len = path_len;
    if (copy && p->idle)
      pthread_cond_signal(&p->work);
  }
  pthread_mutex_unlock(&p->mu);
  if (full)
    free(copy);
  return full ? CTR_EINVAL : CTR_OK;
}

/* File i's slot (pushed, not taken) once it is done. If it is not, waits
 * until it and the `run` - 1 after it that are pushed are done, so that a
 * caller taking them in order wakes once for many (it takes the others
 * without waiting); with help, scans the next unclaimed files meanwhile.
 * NULL once the pool stopped, or (*timed_out set) when file i is still not
 * done after timeout_ms of waiting (0: no limit), for a caller that must
 * look at something else now and then (Python: its signals). */
static struct ctrbind_slot *ctrbind_pool_wait(struct ctrbind_pool *p, size_t i, size_t run, int help,
                                              unsigned timeout_ms, int *timed_out)
{
  struct timespec until;
  if (timeout_ms) {
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(timeout_ms / 1000u);
    until.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
  }
  pthread_mutex_lock(&p->mu);
  struct ctrbind_slot *s = i >= p->taken && i < p->pushed ? &p->slots[i % p->cap] : NULL;
  if (s && s->state != CTRBIND_SLOT_DONE) {
    p->want_lo = i;
    p->want_hi = (p->pushed - i > run ? i + run : p->pushed) - 1;
    while (!p->stop && !ctrbind_pool_wanted(p)) {
      struct ctrbind_slot *next = help && p->first_thread > 0 ? ctrbind_pool_claim(p) : NULL;
      if (next)
        ctrbind_pool_run(&p->workers[0], next);
      else if (!timeout_ms)
        pthread_cond_wait(&p->ready, &p->mu);
      else if (pthread_cond_timedwait(&p->ready, &p->mu, &until) == ETIMEDOUT)
        break;
    }
    p->want_lo = 1;
    p->want_hi = 0;
    if (!p->stop && s->state != CTRBIND_SLOT_DONE) {
      *timed_out = 1;
      s = NULL;
    }
  }
  if (p->stop)
    s = NULL;
  pthread_mutex_unlock(&p->mu);
  return s;
}

/* Frees file i's slot, the next to take (after ctrbind_pool_wait, or for a
 * slot pushed without a path): file i + 1 is the next. */
static void ctrbind_pool_release(struct ctrbind_pool *p, size_t i)
{
  pthread_mutex_lock(&p->mu);
  if (i == p->taken && i < p->pushed) {
    ctrbind_slot_clear(p, &p->slots[i % p->cap]);
    p->taken++;
    if (p->idle && p->claimed < p->pushed)
      pthread_cond_broadcast(&p->work); /* room in the window */
  }
  pthread_mutex_unlock(&p->mu);
}

/* Whether the pool stopped because a file's result could not be kept. */
static int ctrbind_pool_failed(struct ctrbind_pool *p)
{
  pthread_mutex_lock(&p->mu);
  int failed = p->stop == 2;
  pthread_mutex_unlock(&p->mu);
  return failed;
}

/* Stops the pool: the threads end their files early (cancelled) and take
 * no more; a waiting caller gets NULL. */
static void ctrbind_pool_cancel(struct ctrbind_pool *p)
{
  pthread_mutex_lock(&p->mu);
  if (!p->stop)
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&p->work);
  pthread_cond_broadcast(&p->ready);
  pthread_mutex_unlock(&p->mu);
}

/* Cancels, joins the threads and frees everything. */
static void ctrbind_pool_free(struct ctrbind_pool *p)
{
  if (!p)
    return;
  ctrbind_pool_cancel(p);
  for (int k = p->first_thread; k < p->first_thread + p->started; k++)
    pthread_join(p->workers[k].thread, NULL);
  for (int k = 0; p->workers && k < p->nworkers; k++) {
    if (p->workers[k].user)
      p->ops->fini(&p->workers[k]);
    ctr_scanner_free(p->workers[k].sc);
    free(p->workers[k].buf);
  }
  for (size_t i = 0; p->slots && i < p->cap; i++)
    ctrbind_slot_clear(p, &p->slots[i]);
  free(p->slots);
  free(p->workers);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->ready);
  free(p);
}
