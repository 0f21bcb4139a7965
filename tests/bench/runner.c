/* runner.c - how ctrule-bench times a case: in a forked child (its own peak
 * RSS, nothing left over from another case) reading its own copy of the
 * input, warm-up first, CPU time, round robin, best round. */
#include "bench.h"
#ifdef CTR_BENCH_SIMDJSON
#include "simdjson_baseline.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

double ctb_cpu_now(void)
{
  /* User and system time of this process and of the children it waited
   * for: a case that runs the CLI as a child is timed like one that runs
   * in process, and threads are summed (CPU time, not elapsed time). */
  struct rusage self, kids;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &kids);
  double us = (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) * 1e6 +
              (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec + kids.ru_stime.tv_usec);
  return us / 1e6;
}

void ctb_die(const char *what)
{
  fflush(stdout); /* what was printed comes first */
  fprintf(stderr, "ctrule-bench: %s\n", what);
  exit(1);
}

size_t ctb_input_pad(void)
{
#ifdef CTR_BENCH_SIMDJSON
  return ctb_simdjson_padding();
#else
  return 0;
#endif
}

/* The input as the child's own memory, as a program scans what it read
 * (read(), inflate, a mapped file). The pages a forked child inherits are
 * the parent's through copy-on-write mappings, and these read otherwise:
 * there the walk's prefetches lost time (0.142 -> 0.157 s for 200,000 real
 * records) where in memory of the reader's own they won it (0.137 -> 0.112 s),
 * as in the CLI, which maps its file. A warm input that is a prefix of in
 * moves with it; an input with no bytes (the stream, the CLI's files) stays. */
static input own_copy(const input *in, input *warm, char **buf)
{
  input own = *in;
  *buf = NULL;
  if (!in->data)
    return own;
  size_t tail = ctb_input_pad() + 1; /* the padding simdjson reads, zeroed */
  if (!(*buf = malloc(in->len + tail)))
    ctb_die("out of memory");
  memcpy(*buf, in->data, in->len);
  memset(*buf + in->len, 0, tail);
  own.data = *buf;
  if (in->warm && in->warm->data == in->data && in->warm->len <= in->len) {
    *warm = *in->warm;
    warm->data = *buf;
    own.warm = warm;
  }
  return own;
}

/* Runs a case once in a child: untimed on in->warm (a tenth of the input:
 * what is measured is a warm scanner, as a long-running one is; before the
 * warm-up, a fresh process's first pass read up to 15% slower; a warm input
 * with no data means no warm-up), then timed on the whole input. CPU time, not wall time: on a machine shared with
 * other work, time spent waiting for a core is not the case's. */
static result run(case_fn fn, const input *in, const void *arg)
{
  int fds[2];
  result r = {0};
  if (pipe(fds) != 0)
    ctb_die("pipe");
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    ctb_die("fork");
  if (pid == 0) {
    close(fds[0]);
    input warm_copy;
    char *copy;
    input own = own_copy(in, &warm_copy, &copy);
    in = &own;
    result cr = {0};
    uint64_t count = 0, alerts = 0, evaluated = 0;
    if ((!in->warm || in->warm->data) && fn(in->warm ? in->warm : in, arg, &count, &alerts, &evaluated) != 0)
      cr.failed = 1;
    count = alerts = evaluated = 0;
    double t0 = ctb_cpu_now();
    if (fn(in, arg, &count, &alerts, &evaluated) != 0)
      cr.failed = 1;
    cr.seconds = ctb_cpu_now() - t0;
    cr.count = count;
    cr.alerts = alerts;
    cr.evaluated = evaluated;
    if (write(fds[1], &cr, sizeof cr) != (ssize_t)sizeof cr)
      _exit(2);
    _exit(0);
  }
  close(fds[1]);
  if (read(fds[0], &r, sizeof r) != (ssize_t)sizeof r)
    r.failed = 1;
  close(fds[0]);
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    r.failed = 1;
  r.peak_rss_kb = ru.ru_maxrss;
  /* A case that saw another number of records than its input holds
   * measured something else. */
  if (!r.failed && in->records && r.count != in->records)
    r.failed = 1;
  if (!r.failed && r.seconds <= 0)
    r.seconds = 1e-9;
  return r;
}

void ctb_run_rounds(bench_case *cases, size_t ncases, int rounds)
{
  for (int round = 0; round < rounds; round++) {
    for (size_t c = 0; c < ncases; c++) {
      if (!cases[c].fn)
        continue;
      result r = run(cases[c].fn, cases[c].in, cases[c].arg);
      result *b = &cases[c].best;
      long rss = b->peak_rss_kb > r.peak_rss_kb ? b->peak_rss_kb : r.peak_rss_kb;
      if (round == 0 || r.failed || (!b->failed && r.seconds < b->seconds)) {
        int failed = (round > 0 && b->failed) || r.failed;
        *b = r;
        b->failed = failed;
      }
      b->peak_rss_kb = rss;
    }
  }
}

double ctb_rate(const bench_case *c)
{
  return c->fn && !c->best.failed && c->best.seconds > 0 ? (double)c->in->records / c->best.seconds : 0;
}
