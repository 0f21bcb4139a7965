/* test_correlate_matches.c - a correlation group's matches
 * (libctrule/correlate_matches.c), white box: the circular buffer with its
 * gaps against a plain sorted array, through every way the gaps and the
 * entries can lie (entries placed into, before and after each of several
 * gaps, at both ends, runs wrapping round the buffer, gaps opened, moved,
 * emptied, merged into the slack, laid out afresh and grown, entries taken
 * out at every place, the front let go across gaps), and several sources
 * in turn far apart each keeping a gap of its own. What a placement costs
 * is ctrule-cliffs' to measure. What the correlations make of it is
 * test_correlate.c's and test_correlate_model.c's, through the public API. */
#include "correlate_matches.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The model: the same entries in a plain array, in order. */
typedef struct model {
  centry *v;
  size_t n, cap, peak; /* peak: the most entries held at once */
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
  cr_assert(q->cap == 0 || (q->cap & (q->cap - 1)) == 0);
  cr_assert(q->ng <= CSEQ_GAPS);
  size_t free_in_gaps = 0;
  for (size_t k = 0; k < q->ng; k++) { /* strictly inside, in order, none empty */
    cr_assert(q->gap_at[k] > 0 && q->gap_at[k] < q->n && q->gap[k] > 0, "gap %zu at %u of %zu", k,
              (unsigned)q->gap_at[k], q->n);
    cr_assert(k == 0 || q->gap_at[k - 1] < q->gap_at[k]);
    free_in_gaps += q->gap[k];
  }
  cr_assert(q->n + free_in_gaps <= q->cap);
  cr_assert_eq(q->in_gaps, free_in_gaps);
  /* the buffer: at most 16/7 of the most entries held (docs/sigma.md) */
  cr_assert(q->cap <= 8 || m->peak == 0 || 7 * (size_t)q->cap <= 16 * m->peak, "cap %u for a peak of %zu",
            (unsigned)q->cap, m->peak);
  cr_assert_eq(q->last_at, q->ng ? q->gap_at[q->ng - 1] : 0);
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
  m->peak = m->n > m->peak ? m->n : m->peak;
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

/* The gap before entry i, CSEQ_GAPS when none. */
static size_t gap_before(const cseq *q, size_t i)
{
  for (size_t k = 0; k < q->ng; k++)
    if (q->gap_at[k] == i)
      return k;
  return CSEQ_GAPS;
}

/* q laid out by hand: n entries of times 0, 10, 20, ... from ring slot
 * head of a buffer of cap, with gaps of len[k] slots before entries at[k];
 * the model holds the same. */
static void layout(cseq *q, model *m, size_t cap, size_t head, size_t n, size_t ng, const size_t *at,
                   const size_t *len)
{
  *q = (cseq){.buf = calloc(cap, sizeof(centry)), .cap = cap, .n = n, .head = head, .ng = (uint32_t)ng};
  *m = (model){.v = calloc(n + 1, sizeof(centry)), .cap = n + 1, .n = n, .peak = n};
  cr_assert(q->buf && m->v);
  for (size_t k = 0; k < ng; k++) {
    q->gap_at[k] = (uint32_t)at[k];
    q->gap[k] = (uint32_t)len[k];
    q->in_gaps += (uint32_t)len[k];
    q->last_at = (uint32_t)at[k];
  }
  for (size_t i = 0; i < n; i++) {
    centry e = make(10 * (int64_t)i);
    *cseq_at(q, i) = e;
    m->v[i] = e;
  }
  agree(q, m);
}

/* The layouts every operation is tried on: no gap, one, several, as many
 * as may be, next to each other and to either end, long and of one slot,
 * the entries wrapping round the buffer's end. */
static const struct shape {
  size_t cap, n, ng, at[CSEQ_GAPS], len[CSEQ_GAPS];
} shapes[] = {
    {16, 10, 0, {0}, {0}},
    {16, 16, 0, {0}, {0}},
    {32, 20, 1, {10}, {5}},
    {32, 20, 1, {1}, {12}},
    {32, 20, 1, {19}, {1}},
    {32, 20, 2, {5, 6}, {1, 6}},
    {32, 20, 2, {3, 17}, {4, 4}},
    {32, 22, 3, {2, 11, 20}, {3, 3, 3}},
    {64, 30, CSEQ_GAPS, {4, 9, 15, 29}, {2, 7, 1, 9}},
    {32, 24, CSEQ_GAPS, {1, 2, 3, 23}, {2, 2, 2, 2}},
    {16, 12, CSEQ_GAPS, {2, 5, 8, 11}, {1, 1, 1, 1}},
};

/* Each operation on each layout from each head, against the model. */
Test(correlate_matches, every_operation_on_every_layout)
{
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const struct shape *sh = &shapes[s];
    size_t heads[] = {0, 1, sh->cap / 2, sh->cap - 3, sh->cap - 1};
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
      cseq q;
      model m;
      for (size_t i = 0; i <= 2 * sh->n; i++) { /* a match at every place: before each entry, and as its tie */
        layout(&q, &m, sh->cap, heads[h], sh->n, sh->ng, sh->at, sh->len);
        int64_t t = i % 2 ? 10 * (int64_t)(i / 2) : 10 * (int64_t)(i / 2) - 5;
        place(&q, &m, t);
        agree(&q, &m);
        place(&q, &m, t); /* the next of its source: into the gap that follows it */
        agree(&q, &m);
        done(&q, &m);
      }
      for (size_t i = 0; i < sh->n; i++) { /* taken out at every place */
        layout(&q, &m, sh->cap, heads[h], sh->n, sh->ng, sh->at, sh->len);
        take(&q, &m, i);
        agree(&q, &m);
        if (m.n) {
          take(&q, &m, i < m.n ? i : m.n - 1);
          agree(&q, &m);
        }
        place(&q, &m, 10 * (int64_t)i + 3);
        agree(&q, &m);
        done(&q, &m);
      }
      for (size_t k = 0; k <= sh->n; k++) { /* the front let go, across gaps */
        layout(&q, &m, sh->cap, heads[h], sh->n, sh->ng, sh->at, sh->len);
        drop(&q, &m, k);
        agree(&q, &m);
        for (size_t j = 0; j < q.ng; j++)
          cr_assert(q.gap_at[j] > 0);
        place(&q, &m, 10 * (int64_t)sh->n); /* and it still takes matches at either end and between */
        place(&q, &m, -1);
        place(&q, &m, 10 * (int64_t)(k + (sh->n - k) / 2) + 1);
        agree(&q, &m);
        done(&q, &m);
      }
    }
  }
}

Test(correlate_matches, a_buffer_header_is_64_bytes)
{
  cr_assert_eq(sizeof(cseq), 64); /* docs/performance.md, stop 18: two per group */
}

Test(correlate_matches, two_streams_in_order_read_one_after_the_other)
{
  cseq q = {0};
  model m = {0};
  for (int64_t t = 0; t < 300; t++)
    place(&q, &m, 2 * t); /* the first source */
  agree(&q, &m);
  size_t missed = 0;
  for (int64_t t = 0; t < 300; t++) {
    place(&q, &m, 2 * t + 1); /* the second, each next to the last one placed */
    missed += gap_before(&q, ctr__cseq_later_than(&q, 2 * t + 1)) == CSEQ_GAPS;
  }
  /* the first ones shift the front, and a gap used up is opened again
   * from half the slack: a gap follows nearly every match placed */
  cr_assert_lt(missed, 20, "%zu of 300", missed);
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
  cr_assert(q.head == 0 && q.ng == 0);
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
  size_t missed = 0;
  for (int64_t t = 0; t < 400; t++) {
    place(&q, &m, 1200 + t); /* the first source: after every entry */
    place(&q, &m, 1000 + t); /* the second, 200 behind: next to its last */
    missed += gap_before(&q, ctr__cseq_later_than(&q, 1000 + t)) == CSEQ_GAPS;
    if (t % 50 == 0)
      agree(&q, &m);
  }
  cr_assert_lt(missed, 30, "%zu of 400", missed);
  /* and a match before every entry takes the slack too, leaving the gap */
  size_t gap_at = ctr__cseq_later_than(&q, 1000 + 399);
  cr_assert_neq(gap_before(&q, gap_at), CSEQ_GAPS);
  place(&q, &m, 0);
  cr_assert_neq(gap_before(&q, gap_at + 1), CSEQ_GAPS);
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
  cr_assert_neq(gap_before(&q, 5), CSEQ_GAPS);
  agree(&q, &m);
  done(&q, &m);
}

/* k sources in turn, each in time order, source j `lag` behind source
 * j - 1: every match lands far from the one placed before it. Returns how
 * many of the matches of the sources in the middle found no gap at their
 * place (each of those moved entries, or opened or laid out the buffer). */
static size_t sources_in_turn(size_t k, int64_t lag, size_t per_source, bool drop_old)
{
  cseq q = {0};
  model m = {0};
  size_t missed = 0;
  for (size_t i = 0; i < k * per_source; i++) {
    size_t src = i % k;
    int64_t t = (int64_t)(i / k) * 2 + (int64_t)(k - 1 - src) * lag; /* source 0 the newest: at the end */
    size_t at = ctr__cseq_later_than(&q, t);
    if (src > 0 && at < q.n && gap_before(&q, at) == CSEQ_GAPS)
      missed++;
    place(&q, &m, t);
    if (drop_old && m.n > 3000) /* the front let go as the window moves on: no growth */
      drop(&q, &m, ctr__cseq_later_than(&q, t - (int64_t)k * lag - 2000));
    if (i % 997 == 0)
      agree(&q, &m);
  }
  agree(&q, &m);
  done(&q, &m);
  return missed;
}

Test(correlate_matches, sources_in_turn_far_apart_each_keep_a_gap)
{
  /* up to CSEQ_GAPS + 1 sources (the newest at the end): after the first
   * few matches of each, nearly every one lands in its own gap */
  for (size_t k = 2; k <= CSEQ_GAPS + 1; k++) {
    size_t missed = sources_in_turn(k, 100000, 4000, false);
    cr_assert_lt(missed, 40 * k, "%zu sources: %zu of %zu matches found no gap", k, missed, (k - 1) * 4000);
    missed = sources_in_turn(k, 100000, 8000, true);
    cr_assert_lt(missed, 8000 * (k - 1) / 20, "%zu sources, the front let go: %zu of %zu found no gap", k, missed,
                 (k - 1) * 8000);
  }
  sources_in_turn(CSEQ_GAPS + 3, 100000, 1000, false); /* more than the gaps: right, if not as cheap */
  sources_in_turn(CSEQ_GAPS + 3, 100000, 2000, true);
}

Test(correlate_matches, a_new_gap_too_dear_lays_the_buffer_out_afresh)
{
  /* 3 gaps with little free room left and none after the last entry: a
   * match far from all of them gets a gap of its own, the others kept */
  size_t at[] = {20, 40, 60}, len[] = {9, 9, 9};
  cseq q;
  model m;
  layout(&q, &m, 128, 100, 100, 3, at, len); /* one slot of slack */
  place(&q, &m, 10 * 79 + 1);                /* before entry 80: 20 from the nearest gap and from the end */
  cr_assert_eq(q.cap, 128);
  cr_assert_neq(gap_before(&q, 20), CSEQ_GAPS);
  cr_assert_neq(gap_before(&q, 40), CSEQ_GAPS);
  cr_assert_neq(gap_before(&q, 60), CSEQ_GAPS);
  cr_assert_neq(gap_before(&q, 81), CSEQ_GAPS, "the new match's gap follows it");
  agree(&q, &m);
  done(&q, &m);
  /* with less than an eighth of the buffer free, twice as large */
  size_t at2[] = {20}, len2[] = {2};
  layout(&q, &m, 128, 7, 124, 1, at2, len2);
  place(&q, &m, 10 * 79 + 1);
  cr_assert_eq(q.cap, 256);
  cr_assert_neq(gap_before(&q, 20), CSEQ_GAPS);
  cr_assert_neq(gap_before(&q, 81), CSEQ_GAPS);
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
    int64_t last[CSEQ_GAPS + 2] = {0, 400, 800, 1200, 1600, 1800};
    for (int op = 0; op < 1500; op++) {
      int r = rand() % 20;
      if (r < 12 || m.n == 0) { /* next to one of several streams' last, before every entry, or anywhere */
        size_t src = (size_t)rand() % (sizeof last / sizeof last[0]);
        int64_t t = r < 6 ? last[src] + rand() % 3 : r < 8 ? (m.n ? m.v[0].t - 1 : 0) : rand() % 2000;
        place(&q, &m, t);
        if (r < 6)
          last[src] = t;
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
