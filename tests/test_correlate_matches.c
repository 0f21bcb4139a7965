/* test_correlate_matches.c - a correlation group's matches
 * (libctrule/correlate_matches.c), white box: the circular gap buffer
 * against a plain sorted array, through every way the gap and the entries
 * can lie (entries placed before, at and after the gap, at both ends, the
 * gap wrapping round the buffer, the slack taking matches at either end
 * while the gap stays in the middle, entries taken out on either side of
 * it, the front let go while the gap is elsewhere, growth with the gap in
 * the middle). What a placement costs is ctrule-cliffs' to measure.
 * What the correlations make of it is test_correlate.c's and
 * test_correlate_model.c's, through the public API. */
#include "correlate_matches.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The model: the same entries in a plain array, in order. */
typedef struct model {
  centry *v;
  size_t n, cap;
} model;

static uint32_t arrivals;

static centry make(int64_t t)
{
  char id[32];
  snprintf(id, sizeof id, "e%u", (unsigned)(arrivals + 1));
  return (centry){.t = t, .seq = ++arrivals, .id = ctr__strdup(id), .time = ctr__strdup("x"), .value = ctr__strdup(id)};
}

/* Both hold the same entries, in the same order, each found by its own
 * (t, seq) and its searches agreeing with a scan of the model. */
static void agree(const cseq *q, const model *m)
{
  cr_assert_eq(q->n, m->n);
  cr_assert(q->n <= q->cap);
  for (size_t i = 0; i < m->n; i++) {
    const centry *e = cseq_at(q, i);
    cr_assert(e->t == m->v[i].t && e->seq == m->v[i].seq && strcmp(e->id, m->v[i].id) == 0, "entry %zu of %zu", i, m->n);
    cr_assert_eq(ctr__cseq_find(q, e->t, e->seq), i);
    cr_assert_eq(ctr__cseq_find_value(q, e->value, e->t), i); /* by the string's identity */
  }
  if (m->n) { /* before every entry, and after */
    cr_assert_eq(ctr__cseq_later_than(q, m->v[0].t - 1), 0);
    cr_assert_eq(ctr__cseq_first_from(q, m->v[0].t), 0);
    cr_assert_eq(ctr__cseq_later_than(q, m->v[m->n - 1].t), m->n);
    cr_assert_eq(ctr__cseq_first_from(q, m->v[m->n - 1].t + 1), m->n);
    cr_assert_eq(ctr__cseq_after_of(q, m->v[m->n - 1].t, m->v[m->n - 1].seq), m->n);
  } else {
    cr_assert_eq(ctr__cseq_later_than(q, 0), 0);
    cr_assert_eq(ctr__cseq_after_of(q, 0, 0), 0);
  }
  for (size_t i = 0; i < m->n; i += 1 + m->n / 16) {
    int64_t t = m->v[i].t;
    size_t later = 0, from = 0;
    while (later < m->n && m->v[later].t <= t)
      later++;
    while (from < m->n && m->v[from].t < t)
      from++;
    cr_assert_eq(ctr__cseq_later_than(q, t), later);
    cr_assert_eq(ctr__cseq_first_from(q, t), from);
    cr_assert_eq(ctr__cseq_after_of(q, t, m->v[i].seq), i + 1);
  }
}

/* Places an entry of time t in both, where the correlation would: after
 * the entries of its time. */
static void place(cseq *q, model *m, int64_t t)
{
  centry e = make(t);
  size_t at = ctr__cseq_later_than(q, t);
  cr_assert_eq(ctr__cseq_insert(q, at, &e), CTR_OK);
  if (m->n == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 16;
    m->v = realloc(m->v, m->cap * sizeof *m->v);
    cr_assert(m->v);
  }
  memmove(m->v + at + 1, m->v + at, (m->n - at) * sizeof *m->v);
  m->v[at] = e; /* the model borrows the strings q owns */
  m->n++;
}

static void take(cseq *q, model *m, size_t i)
{
  centry e = ctr__cseq_take(q, i);
  cr_assert(e.t == m->v[i].t && e.seq == m->v[i].seq);
  ctr__centry_free(&e);
  memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof *m->v);
  m->n--;
}

static void drop(cseq *q, model *m, size_t k)
{
  ctr__cseq_drop_front(q, k);
  memmove(m->v, m->v + k, (m->n - k) * sizeof *m->v);
  m->n -= k;
}

static void done(cseq *q, model *m)
{
  ctr__cseq_free(q);
  cr_assert(q->n == 0 && q->buf == NULL);
  free(m->v);
}

Test(correlate_matches, two_streams_in_order_read_one_after_the_other)
{
  cseq q = {0};
  model m = {0};
  for (int64_t t = 0; t < 300; t++)
    place(&q, &m, 2 * t); /* the first source */
  agree(&q, &m);
  for (int64_t t = 0; t < 300; t++) {
    place(&q, &m, 2 * t + 1); /* the second, each next to the last one placed */
    if (t < 299)            /* the last lands after every entry: into the slack */
      cr_assert_eq(q.gap_at, ctr__cseq_later_than(&q, 2 * t + 1), "the gap follows the last match placed");
  }
  agree(&q, &m);
  done(&q, &m);
}

Test(correlate_matches, both_ends_and_the_middle)
{
  cseq q = {0};
  model m = {0};
  for (int round = 0; round < 200; round++) {
    place(&q, &m, 1000 + round);          /* the back */
    place(&q, &m, 1000 - round);          /* the front */
    place(&q, &m, 1000 + (round % 7) - 3); /* the middle, among ties */
    if (round % 16 == 0)
      agree(&q, &m);
  }
  agree(&q, &m);
  done(&q, &m);
}

Test(correlate_matches, the_front_let_go_while_the_gap_is_elsewhere)
{
  for (size_t gap_at = 0; gap_at <= 40; gap_at += 5)
    for (size_t k = 0; k <= 40; k += 3) {
      cseq q = {0};
      model m = {0};
      for (int64_t t = 0; t < 40; t++)
        place(&q, &m, 10 * t);
      /* the gap before entry gap_at (a match placed there, then taken back
       * out from after the gap) */
      place(&q, &m, gap_at ? 10 * (int64_t)(gap_at - 1) + 5 : -5);
      take(&q, &m, gap_at);
      cr_assert_eq(q.gap_at, gap_at);
      drop(&q, &m, k);
      agree(&q, &m);
      place(&q, &m, 10 * 20 + 1); /* the buffer still takes matches anywhere */
      place(&q, &m, -1);
      agree(&q, &m);
      done(&q, &m);
    }
}

Test(correlate_matches, taken_out_on_either_side_of_the_gap_and_round_the_ring)
{
  cseq q = {0};
  model m = {0};
  for (int64_t t = 0; t < 64; t++)
    place(&q, &m, t); /* a full buffer of 64 */
  drop(&q, &m, 20);   /* head moves on: the ring wraps from here */
  for (int64_t t = 64; t < 80; t++)
    place(&q, &m, t); /* past the buffer's end, from its start */
  agree(&q, &m);
  size_t picks[] = {0, 59, 30, 31, 29, 1, 57, 10, 40};
  for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
    take(&q, &m, picks[i] % m.n);
    agree(&q, &m);
    place(&q, &m, (int64_t)(picks[i] * 7 % 90));
    agree(&q, &m);
  }
  while (m.n)
    take(&q, &m, m.n / 2);
  cr_assert(q.head == 0 && q.gap_at == 0);
  place(&q, &m, 5);
  agree(&q, &m);
  done(&q, &m);
}

Test(correlate_matches, the_slack_takes_the_ends_while_the_gap_stays_in_the_middle)
{
  /* two sources alternating, the second far behind the first: the first's
   * matches go after every entry (the slack), the second's next to the one
   * before (the gap), so the gap stays with the second */
  cseq q = {0};
  model m = {0};
  for (int64_t t = 0; t < 200; t++)
    place(&q, &m, 1000 + t);
  for (int64_t t = 0; t < 400; t++) {
    place(&q, &m, 1200 + t); /* the first source: after every entry */
    place(&q, &m, 1000 + t); /* the second, 200 behind: next to its last */
    if (t > 0)
      cr_assert_eq(q.gap_at, ctr__cseq_later_than(&q, 1000 + t), "t %lld", (long long)t);
    if (t % 50 == 0)
      agree(&q, &m);
  }
  /* and a match before every entry takes the slack too, leaving the gap */
  size_t gap_at = q.gap_at;
  place(&q, &m, 0);
  cr_assert_eq(q.gap_at, gap_at + 1);
  agree(&q, &m);
  done(&q, &m);
}

Test(correlate_matches, growth_keeps_the_gap_at_the_place)
{
  cseq q = {0};
  model m = {0};
  for (int64_t t = 0; t < 8; t++)
    place(&q, &m, 10 * t);
  cr_assert_eq(q.cap, 8);
  place(&q, &m, 35); /* full: grown with the gap before entry 4 */
  cr_assert_eq(q.cap, 16);
  cr_assert_eq(q.gap_at, 5);
  agree(&q, &m);
  done(&q, &m);
}

/* Random placements, takes and drops from the front, checked against the
 * model after each; placements near the last one, at the ends and anywhere. */
Test(correlate_matches, random_operations_agree_with_a_plain_array)
{
  for (unsigned seed = 1; seed <= 40; seed++) {
    srand(seed);
    cseq q = {0};
    model m = {0};
    int64_t last = 0;
    for (int op = 0; op < 1500; op++) {
      int r = rand() % 20;
      if (r < 12 || m.n == 0) {
        int64_t t = r < 6 ? last + rand() % 3 : r < 8 ? (m.n ? m.v[0].t - 1 : 0) : rand() % 2000;
        place(&q, &m, t);
        last = t;
      } else if (r < 17) {
        take(&q, &m, (size_t)rand() % m.n);
      } else {
        drop(&q, &m, (size_t)rand() % (m.n / 4 + 1));
      }
      agree(&q, &m);
    }
    done(&q, &m);
  }
}
