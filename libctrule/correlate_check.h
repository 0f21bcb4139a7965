/*
 * correlate_check.h - whether a correlation holds in a group
 * (correlate_check.c): the window checks of each type, on a match placed
 * in the group. Private to the correlate_*.c files.
 */
#ifndef CTR_CORRELATE_CHECK_H
#define CTR_CORRELATE_CHECK_H

#include "correlate_group.h"

/* The events that make an alert: indexes into g->e, and how many of g's
 * first entries it spends. */
typedef struct verdict {
  uint32_t idx[64 + 1]; /* temporal kinds: one per rule named (at most 64, sigma_correlation.c) */
  size_t n;
  size_t from, to; /* count kinds: the window g->e[from..to) */
  int64_t end;     /* count kinds: the window's end (the value's older matches up to it are spent too) */
  const centry **pick; /* value_count counted with older matches: the events listed (owned) */
  size_t npick;
  size_t spent;
  uint64_t count;
  const bool *keep; /* bounded value_count: the window's entries listed (the latest of each value) */
} verdict;

/* The entries g->e[*lo..*hi) that can share a window of the timespan with
 * g->e[at]: the only ones a check needs, since before `at` came no window
 * held (it would have fired). */
void ctr__check_near(const cgroup *g, size_t at, int64_t span, size_t *lo, size_t *hi);

/* For a temporal type, whether entry `at` may complete a window (every rule
 * named has a match near it; temporal_ordered with `at` the newest: `at` is
 * a match of the last rule). O(rules). */
bool ctr__may_complete(const ctr__ccorr *c, const cgroup *g, size_t at, bool newest);

/* Each fills *v and returns true when a window holding the new match
 * (event_count / value_count: g->e[at]) in g->e[lo..hi) meets the
 * correlation. */
bool ctr__check_count(const ctr__ccorr *c, const cgroup *g, size_t at, size_t lo, size_t hi, verdict *v);
bool ctr__check_temporal(const ctr__ccorr *c, const cgroup *g, size_t lo, size_t hi, verdict *v);
bool ctr__check_ordered(const ctr__ccorr *c, const cgroup *g, size_t lo, size_t hi, verdict *v);

/* value_count with older matches of a value near x (or x one of them): the
 * windows holding x over every match held within a timespan of it. *rc:
 * CTR_ENOMEM. v->pick is the caller's to free. */
bool ctr__check_values(const ctr__ccorr *c, const cgroup *g, const centry *x, verdict *v, int *rc);

/* Marks in keep[0..to) the latest entry of each value among g->e[0..to);
 * returns how many values there are, SIZE_MAX when out of memory. */
size_t ctr__latest_per_value(const cgroup *g, size_t to, bool *keep);

#endif
