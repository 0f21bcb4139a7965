/* test_correlate_model.c - event_count and value_count correlations against
 * a model. Seeded random streams (many groups; repeated, distinct and
 * hash-colliding values; records out of event-time order within and past
 * the lateness; records no rule evaluates; matches without a group or a
 * value; lower bounds, upper bounds and ranges; small events limits) are
 * scanned through the public API in several chunkings, and the alerts (which
 * group, on which record, the count, the completing event and the listed
 * base events) and the reports are compared with a plain model written here
 * from docs/sigma.md: per group a list of matches, expired, counted and
 * searched for a full window anew on every match (value_count too holds
 * every match, a value's earlier ones with its latest, until let go, or
 * until a later match of the value, its latest when one of the two came,
 * is behind the lateness; one stream in four
 * has few values seen again out of order within the lateness, where a late
 * match completes a window holding a value's earlier match only; one in
 * eight is several sources of a few groups, each in time order, read one
 * after the other or one lagging record by record, or, one in sixteen,
 * 3-6 sources in turn each further behind: matches land in the middle of
 * large groups, far from the one placed before).
 *
 * A failure names the seed and what it made; CTR_MODEL_SEEDS=N runs N
 * streams (default 32), CTR_MODEL_DUMP=DIR writes the last stream compared,
 * its rules and both sides into DIR. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, memmem */
#endif
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctrule.h"
#include "internal.h" /* ctr__hash: values that collide in a group's value table */
#include "testutil.h"

#define EPOCH 1735689600LL /* 2025-01-01T00:00:00Z: record times are seconds after it */
#define MAXCORR 3

/* ------------------------------------------------------------ text */

typedef tu_text text;

static unsigned long long lead_index(const char *line) { return strtoull(line, NULL, 10); }

static int line_cmp(const void *a, const void *b)
{
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  unsigned long long i = lead_index(x), j = lead_index(y);
  return i != j ? (i > j) - (i < j) : strcmp(x, y);
}

/* The lines of t ordered by their record index, and on one record by their
 * text: several windows closing on one record may be decided in any order. */
static char *canonical(const text *t)
{
  char *copy = strdup(t->s ? t->s : ""), **v = NULL;
  size_t n = 0;
  for (char *p = copy, *nl; *p; p = nl + 1) {
    nl = strchr(p, '\n');
    cr_assert_not_null(nl);
    *nl = '\0';
    v = realloc(v, (n + 1) * sizeof *v);
    v[n++] = p;
  }
  if (n)
    qsort(v, n, sizeof *v, line_cmp);
  text o = {calloc(1, 1), 0, 1};
  for (size_t i = 0; i < n; i++)
    tu_appendf(&o, "%s\n", v[i]);
  free(v);
  free(copy);
  return o.s;
}

/* ------------------------------------------------------------ the stream */

static uint64_t rnd(uint64_t *s) /* splitmix64 */
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n) { return rnd(s) % n; }

enum { R_A, R_A2, R_B, R_TICK, NRULES }; /* the base rules, in the order defined */
static const char *const rule_name[NRULES] = {"A", "A2", "B", "Tick"};
enum { K_A, K_B, K_TICK, K_NOISE }; /* record kinds: A (and A2 in eu-west-1), B, evaluated only, read only */

typedef struct mrec {
  int kind;
  int64_t t;  /* seconds after EPOCH */
  int user;   /* -1: no userName (no group when grouped by it) */
  int region; /* 1: eu-west-1, where A2 matches too */
  int val;    /* index into the value pool, -1: no snapshot identifier */
} mrec;

#define NCOLLIDE 48
/* Values whose hashes' low 10 bits are 7-10 or 1021-1023: in a value table
 * of up to 1024 slots they fall in two runs, one at its end. */
static char collide[NCOLLIDE][16];

static void make_colliding(void)
{
  if (collide[0][0])
    return;
  size_t low = 0, end = 0; /* as many of each, alternating: runs of mixed homes, half of them wrapping */
  char v[16];
  for (unsigned u = 0; low + end < NCOLLIDE; u++) {
    snprintf(v, sizeof v, "c%u", u);
    uint64_t home = ctr__hash(v, strlen(v)) & 1023;
    if (home - 7 < 4 && low < NCOLLIDE / 2)
      memcpy(collide[2 * low++], v, sizeof v);
    else if (home >= 1021 && end < NCOLLIDE / 2)
      memcpy(collide[2 * end++ + 1], v, sizeof v);
  }
}

typedef struct mspec {
  bool value;      /* value_count (of requestParameters.dBSnapshotIdentifier), else event_count */
  unsigned rules;  /* bit r: names rule r (A, A2, B) */
  int groupby;     /* 0: none, 1: userName, 2: userName and awsRegion */
  int64_t span;    /* seconds */
  uint64_t min, max, neq;
  bool has_neq, bounded;
  char cond[48];   /* the comparisons, as YAML */
} mspec;

typedef struct mconf {
  uint64_t seed;
  size_t nrec, nvals;
  bool colliding;
  uint64_t lateness, max_held; /* the limits set (max_held 0: the default) */
  mspec c[MAXCORR];
  size_t nc;
  mrec *r;
  char (*vals)[16]; /* the value pool: the colliding values first, if any */
} mconf;

static const char *value_of(const mconf *cf, int v) { return cf->vals[v]; }

static void random_spec(uint64_t *s, mspec *c)
{
  static const int64_t spans[] = {10, 60, 300};
  c->value = below(s, 2);
  c->rules = 1 + (unsigned)below(s, 7);
  c->groupby = (int)below(s, 3);
  c->span = spans[below(s, 3)];
  c->min = 1;
  c->max = UINT64_MAX;
  c->has_neq = false;
  uint64_t a = 1 + below(s, 4), b = a + below(s, 4);
  switch (below(s, 9)) {
  case 0: case 1: case 2: /* lower bounds only: alerts as the completing match arrives */
    c->min = a + below(s, 3);
    snprintf(c->cond, sizeof c->cond, "gte: %llu", (unsigned long long)c->min);
    break;
  case 3:
    c->min = a + 1;
    snprintf(c->cond, sizeof c->cond, "gt: %llu", (unsigned long long)a);
    break;
  case 4: /* upper bounds: decided when the window closes */
    c->max = a;
    snprintf(c->cond, sizeof c->cond, "lt: %llu", (unsigned long long)a + 1);
    break;
  case 5:
    c->max = a;
    snprintf(c->cond, sizeof c->cond, "lte: %llu", (unsigned long long)a);
    break;
  case 6:
    c->min = c->max = a;
    snprintf(c->cond, sizeof c->cond, "eq: %llu", (unsigned long long)a);
    break;
  case 7:
    c->has_neq = true;
    c->neq = a;
    snprintf(c->cond, sizeof c->cond, "neq: %llu", (unsigned long long)a);
    break;
  default:
    c->min = a;
    c->max = b;
    snprintf(c->cond, sizeof c->cond, "gte: %llu, lte: %llu", (unsigned long long)a, (unsigned long long)b);
    break;
  }
  c->bounded = c->max != UINT64_MAX || c->has_neq;
}

/* The stream as 2-4 sources (record i is source i % n's), each in time
 * order: read one after the other, whole or by blocks (files of each in
 * turn), or every other record lagging behind by half the lateness or by
 * more than twice it. A match then lands in the middle of a large group,
 * next to the one before or far from it. */
static void as_sources(uint64_t *s, mconf *cf, bool far)
{
  if (far) { /* 3-6 sources in turn record by record, each a share of the lateness behind the one before:
                every match lands far from the one placed before it */
    size_t nsrc = 3 + below(s, 4);
    int64_t lag = (int64_t)(cf->lateness / nsrc);
    for (size_t i = 0; i < cf->nrec; i++)
      cf->r[i].t -= (int64_t)(i % nsrc) * lag;
    return;
  }
  size_t nsrc = 2 + below(s, 3);
  if (below(s, 3) == 0) {
    int64_t lag = (int64_t)(below(s, 2) ? cf->lateness / 2 : 2 * cf->lateness + 1);
    for (size_t i = 1; i < cf->nrec; i += 2)
      cf->r[i].t -= lag;
    return;
  }
  size_t block = below(s, 2) ? cf->nrec : 10 + below(s, 100), n = 0;
  mrec *v = malloc(cf->nrec * sizeof *v);
  cr_assert_not_null(v);
  for (size_t b = 0; b < cf->nrec; b += block * nsrc)
    for (size_t src = 0; src < nsrc; src++)
      for (size_t i = b + src; i < cf->nrec && i < b + block * nsrc; i += nsrc)
        v[n++] = cf->r[i];
  cr_assert_eq(n, cf->nrec);
  memcpy(cf->r, v, n * sizeof *v);
  free(v);
}

static void random_conf(uint64_t seed, mconf *cf)
{
  static const size_t groups[] = {1, 3, 20, 200}, vals[] = {1, 4, 40, 400};
  static const uint64_t lateness[] = {1, 30, 120, 900};
  uint64_t s = seed;
  memset(cf, 0, sizeof *cf);
  cf->seed = seed;
  cf->nrec = 200 + below(&s, 1200);
  size_t ngroups = groups[below(&s, 4)];
  cf->nvals = vals[below(&s, 4)];
  cf->colliding = below(&s, 2);
  cf->lateness = lateness[below(&s, 4)];
  cf->max_held = below(&s, 4) == 0 ? 8 + below(&s, 60) : 0;
  cf->nc = 1 + below(&s, MAXCORR);
  for (size_t k = 0; k < cf->nc; k++)
    random_spec(&s, &cf->c[k]);
  uint64_t step = below(&s, 4) * 4, late_pct = below(&s, 3) * 15;
  bool dense = seed % 4 == 0;
  if (dense) { /* one full value table: colliding values replaced, expired and spent all along */
    ngroups = 1 + below(&s, 2);
    cf->nvals = NCOLLIDE;
    cf->colliding = true;
    cf->c[0].value = true;
    cf->c[0].bounded = false;
    cf->c[0].max = UINT64_MAX;
    cf->c[0].has_neq = false;
    cf->c[0].span = 300;
    /* fired and spent often, or only by a value counted twice (a table
     * that lost track of a value): more than there are values */
    cf->c[0].min = below(&s, 2) ? 4 + below(&s, 20) : NCOLLIDE + 1 + below(&s, 3);
    snprintf(cf->c[0].cond, sizeof cf->c[0].cond, "gte: %llu", (unsigned long long)cf->c[0].min);
    step = below(&s, 2);
  }
  uint64_t jitter[] = {5, cf->lateness, 3 * cf->lateness + 600};
  uint64_t jmax = jitter[below(&s, 3)];
  if (seed % 4 == 2) { /* values seen again out of order within the lateness: a late match completes a window
                          holding a value's earlier match and not its latest */
    static const size_t few[] = {3, 6, 12, 40};
    cf->nvals = few[below(&s, 4)];
    cf->colliding = false;
    cf->lateness = 120 + 60 * below(&s, 14);
    cf->c[0].value = true;
    cf->c[0].bounded = cf->c[0].has_neq = false;
    cf->c[0].max = UINT64_MAX;
    cf->c[0].span = below(&s, 2) ? 60 : 300;
    cf->c[0].min = 2 + below(&s, cf->nvals < 5 ? 2 : 4);
    snprintf(cf->c[0].cond, sizeof cf->c[0].cond, "gte: %llu", (unsigned long long)cf->c[0].min);
    step = 4 + below(&s, 30);
    late_pct = 20 + below(&s, 30);
    jmax = below(&s, 4) ? cf->lateness : 2 * cf->lateness;
  }
  bool sources = seed % 8 == 7;
  if (sources) { /* few groups, dense, a lateness that takes a whole source late */
    ngroups = 1 + below(&s, 2);
    step = below(&s, 3);
    cf->lateness = below(&s, 2) ? 3600 : 900;
  }
  cf->r = calloc(cf->nrec, sizeof *cf->r);
  cf->vals = calloc(cf->nvals, sizeof *cf->vals);
  for (size_t v = 0; v < cf->nvals; v++)
    snprintf(cf->vals[v], sizeof cf->vals[v], "%s", cf->colliding && v < NCOLLIDE ? collide[v] : "");
  for (size_t v = 0; v < cf->nvals; v++)
    if (!cf->vals[v][0])
      snprintf(cf->vals[v], sizeof cf->vals[v], "s%u", (unsigned)v);
  int64_t base = 100000;
  for (size_t i = 0; i < cf->nrec; i++) {
    mrec *r = &cf->r[i];
    uint64_t k = below(&s, 100);
    r->kind = k < 45 ? K_A : k < 70 ? K_B : k < 85 ? K_TICK : K_NOISE;
    base += (int64_t)below(&s, step + 1);
    r->t = base - (below(&s, 100) < late_pct ? (int64_t)below(&s, jmax + 1) : 0);
    r->user = below(&s, 100) < 3 ? -1 : (int)below(&s, ngroups);
    r->region = (int)below(&s, 2);
    size_t pool = cf->colliding && below(&s, 100) < 70 && cf->nvals > NCOLLIDE ? NCOLLIDE : cf->nvals;
    r->val = below(&s, 100) < 5 ? -1 : (int)below(&s, pool);
  }
  if (sources)
    as_sources(&s, cf, seed % 16 == 15);
}

static char *rules_yaml(const mconf *cf)
{
  text y = {0};
  static const char *const cond[NRULES] = {"ct.name = DeleteDBSnapshot", "ct.name = DeleteDBSnapshot and ct.region = eu-west-1",
                                           "ct.name = CreateDBSnapshot", "ct.name = StopDBInstance and not ct.user = ops"};
  for (int r = 0; r < NRULES; r++)
    tu_appendf(&y, "- rule: %s\n  desc: d\n  condition: %s\n  output: o\n  priority: NOTICE\n  source: aws_cloudtrail\n", rule_name[r],
        cond[r]);
  static const char *const by[] = {"", "  group-by: [userIdentity.userName]\n",
                                   "  group-by: [userIdentity.userName, awsRegion]\n"};
  for (size_t k = 0; k < cf->nc; k++) {
    const mspec *c = &cf->c[k];
    tu_appendf(&y, "---\ntitle: C%zu\ncorrelation:\n  type: %s\n  rules: [", k, c->value ? "value_count" : "event_count");
    for (int r = 0, first = 1; r < R_TICK; r++)
      if (c->rules & (1u << r)) {
        tu_appendf(&y, "%s%s", first ? "" : ", ", rule_name[r]);
        first = 0;
      }
    tu_appendf(&y, "]\n%s  timespan: %llds\n  condition: {%s%s}\nlevel: high\n", by[c->groupby], (long long)c->span,
        c->value ? "field: requestParameters.dBSnapshotIdentifier, " : "", c->cond);
  }
  return y.s;
}

static void time_text(int64_t t, char out[32])
{
  time_t tt = (time_t)(EPOCH + t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *stream_text(const mconf *cf)
{
  static const char *const names[] = {"DeleteDBSnapshot", "CreateDBSnapshot", "StopDBInstance", "DescribeDBInstances"};
  text o = {0};
  for (size_t i = 0; i < cf->nrec; i++) {
    const mrec *r = &cf->r[i];
    char when[32], user[48] = "", snap[64] = "";
    time_text(r->t, when);
    if (r->kind == K_TICK)
      snprintf(user, sizeof user, "\"userName\":\"ops\",");
    else if (r->user >= 0)
      snprintf(user, sizeof user, "\"userName\":\"u%d\",", r->user);
    if (r->val >= 0)
      snprintf(snap, sizeof snap, "\"dBSnapshotIdentifier\":\"%s\"", value_of(cf, r->val));
    tu_appendf(&o,
        "{\"eventVersion\":\"1.08\",\"eventTime\":\"%s\",\"awsRegion\":\"%s\",\"eventID\":\"e%zu\","
        "\"eventType\":\"AwsApiCall\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"%s\","
        "\"userIdentity\":{\"type\":\"IAMUser\",%s\"accountId\":\"1\"},\"requestParameters\":{%s}}\n",
        when, r->region ? "eu-west-1" : "us-east-1", i, names[r->kind], user, snap);
  }
  return o.s;
}

/* ------------------------------------------------------------ the model */

typedef struct ment {
  int64_t t;
  int rule;
  size_t rec;    /* its record: eventID e<rec> */
  int64_t until; /* value_count: an earlier match of its value, let go once this later match of it is behind
                    the lateness (INT64_MAX: the value's latest) */
} ment;

typedef struct mgroup {
  char key[64]; /* correlation.group */
  ment *e;      /* held, by time, ties in arrival order */
  size_t n;
  int64_t *gone; /* periods (t / timespan) of the matches let go */
  size_t ngone;
  uint64_t lost; /* bounded: matches of its open window the events limit left out */
} mgroup;

typedef struct model {
  const mconf *cf;
  mgroup *g[MAXCORR];
  size_t ng[MAXCORR];
  size_t letgo[MAXCORR]; /* (group, period) pairs let go */
  bool letgo_full[MAXCORR];
  int64_t watermark, clock; /* seconds: the latest match fed, the latest record evaluated */
  bool have_watermark, have_clock;
  text alerts, errors;
} model;

static const char *mval(const model *m, const ment *e) { return value_of(m->cf, m->cf->r[e->rec].val); }

static int64_t floordiv(int64_t a, int64_t b) { return a / b - (a % b < 0); }

static mgroup *m_group(model *m, size_t k, const char *key)
{
  for (size_t i = 0; i < m->ng[k]; i++)
    if (strcmp(m->g[k][i].key, key) == 0)
      return &m->g[k][i];
  m->g[k] = realloc(m->g[k], (m->ng[k] + 1) * sizeof *m->g[k]);
  mgroup *g = &m->g[k][m->ng[k]++];
  memset(g, 0, sizeof *g);
  snprintf(g->key, sizeof g->key, "%s", key);
  return g;
}

static void m_drop(mgroup *g, size_t i)
{
  memmove(g->e + i, g->e + i + 1, (g->n - i - 1) * sizeof *g->e);
  g->n--;
}

/* A match of g let go: its period is remembered (docs/sigma.md: at most
 * correlation_events of them per correlation; past that, all). */
static void m_let_go(model *m, size_t k, mgroup *g, int64_t t)
{
  int64_t p = floordiv(t, m->cf->c[k].span);
  for (size_t i = 0; i < g->ngone; i++)
    if (g->gone[i] == p)
      return;
  uint64_t max = m->cf->max_held ? m->cf->max_held : ctr_limit_default(CTR_LIMIT_CORRELATION_EVENTS);
  if (m->letgo_full[k] || m->letgo[k] + 1 > max) {
    m->letgo_full[k] = true;
    return;
  }
  g->gone = realloc(g->gone, (g->ngone + 1) * sizeof *g->gone);
  g->gone[g->ngone++] = p;
  m->letgo[k]++;
}

static bool m_gone_near(const model *m, size_t k, const mgroup *g, int64_t t)
{
  if (m->letgo_full[k])
    return true;
  int64_t p = floordiv(t, m->cf->c[k].span);
  for (size_t i = 0; i < g->ngone; i++)
    if (g->gone[i] >= p - 1 && g->gone[i] <= p + 1)
      return true;
  return false;
}

/* Every group of a count without an upper bound lets go of its matches more
 * than the timespan and the lateness before the latest match fed. */
static void m_expire(model *m)
{
  for (size_t k = 0; k < m->cf->nc; k++) {
    const mspec *c = &m->cf->c[k];
    for (size_t i = 0; !c->bounded && i < m->ng[k]; i++) {
      mgroup *g = &m->g[k][i];
      while (g->n && g->e[0].t < m->watermark - (int64_t)m->cf->lateness - c->span) {
        m_let_go(m, k, g, g->e[0].t);
        m_drop(g, 0);
      }
      for (size_t j = 0; j < g->n;) /* value_count: earlier matches of a value dominated by a later one */
        if (g->e[j].until < m->watermark - (int64_t)m->cf->lateness) {
          m_let_go(m, k, g, g->e[j].t);
          m_drop(g, j);
        } else {
          j++;
        }
    }
  }
}

static uint64_t m_held(const model *m)
{
  uint64_t n = 0;
  for (size_t k = 0; k < m->cf->nc; k++)
    for (size_t i = 0; i < m->ng[k]; i++)
      n += m->g[k][i].n;
  return n;
}

/* The alert of correlation k on group g: the events g->e[from..to) (keep:
 * those of them listed), completed by `last`, on record `index`. */
static void m_alert(model *m, size_t k, const mgroup *g, size_t from, size_t to, const bool *keep, uint64_t count,
                    const ment *last, size_t index)
{
  char when[32];
  tu_appendf(&m->alerts, "%zu C%zu t=%lld count=%llu group=%s ev=e%zu events=", index, k, (long long)last->t,
      (unsigned long long)count, g->key, last->rec);
  for (size_t i = from, first = 1; i < to; i++)
    if (!keep || keep[i]) {
      time_text(g->e[i].t, when);
      tu_appendf(&m->alerts, "%se%zu@%s (%s)", first ? "" : ", ", g->e[i].rec, when, rule_name[g->e[i].rule]);
      first = 0;
    }
  tu_appendf(&m->alerts, "\n");
}

/* The distinct values of g->e[from..to) (event_count: its matches); keep
 * (of to entries): the latest match of each value among them. */
static uint64_t m_count(const model *m, size_t k, const mgroup *g, size_t from, size_t to, bool *keep)
{
  bool *seen = calloc(m->cf->nvals + 1, sizeof *seen); /* values are the pool's, told apart by index */
  uint64_t count = 0;
  for (size_t i = to; i-- > from;) {
    int v = m->cf->r[g->e[i].rec].val; /* -1 (no value) only in an event_count */
    keep[i] = !m->cf->c[k].value || !seen[v];
    if (m->cf->c[k].value)
      seen[v] = true;
    count += keep[i];
  }
  free(seen);
  return count;
}

/* Lower bounds only: the earliest window of the timespan that holds enough
 * matches (value_count: values, over every match held, each value's latest
 * listed) fires, and the matches up to its end are spent. */
static void m_check(model *m, size_t k, mgroup *g, size_t index, const ment *last)
{
  const mspec *c = &m->cf->c[k];
  bool *keep = calloc(g->n + 1, sizeof *keep);
  for (size_t i = 0; i < g->n; i++) {
    size_t j = i;
    while (j < g->n && g->e[j].t <= g->e[i].t + c->span)
      j++;
    uint64_t count = j - i < c->min ? 0 : m_count(m, k, g, i, j, keep); /* fewer matches: fewer values */
    if (count >= c->min) {
      m_alert(m, k, g, i, j, keep, count, last, index);
      while (j--)
        m_drop(g, 0);
      break;
    }
  }
  free(keep);
}

/* Decides g's open window (an upper bound): from its earliest match to a
 * timespan later, its matches counted (value_count: its values), listed
 * (value_count: each value's latest), spent and let go. */
static void m_close(model *m, size_t k, mgroup *g, size_t index)
{
  const mspec *c = &m->cf->c[k];
  size_t to = 0;
  while (to < g->n && g->e[to].t <= g->e[0].t + c->span)
    to++;
  bool *keep = calloc(to + 1, sizeof *keep);
  uint64_t count = m_count(m, k, g, 0, to, keep);
  char when[32];
  if (g->lost) {
    time_text(g->e[0].t, when);
    tu_appendf(&m->errors,
        "%zu ELIMIT correlation 'C%zu': the window from %s (event e%zu) is not decided: %llu of its matches were not "
        "counted (limit correlation_events)\n",
        index, k, when, g->e[0].rec, (unsigned long long)g->lost);
    g->lost = 0;
  } else if (count >= c->min && count <= c->max && !(c->has_neq && count == c->neq)) {
    m_alert(m, k, g, 0, to, keep, count, &g->e[to - 1], index);
  }
  free(keep);
  for (size_t i = 0; i < to; i++) {
    m_let_go(m, k, g, g->e[0].t);
    m_drop(g, 0);
  }
}

/* Closes the windows whose end plus the lateness is before the clock (all
 * at the stream's end), earliest end first. */
static void m_close_due(model *m, bool all, size_t index)
{
  for (;;) {
    mgroup *best = NULL;
    size_t bk = 0;
    for (size_t k = 0; k < m->cf->nc; k++)
      for (size_t i = 0; m->cf->c[k].bounded && i < m->ng[k]; i++) {
        mgroup *g = &m->g[k][i];
        if (g->n && (!best || g->e[0].t + m->cf->c[k].span < best->e[0].t + m->cf->c[bk].span)) {
          best = g;
          bk = k;
        }
      }
    if (!best || (!all && best->e[0].t + m->cf->c[bk].span + (int64_t)m->cf->lateness >= m->clock))
      return;
    m_close(m, bk, best, index);
  }
}

/* Record `index`'s match of rule r fed to correlation k. */
static void m_feed(model *m, size_t k, size_t index, int r)
{
  const mconf *cf = m->cf;
  const mspec *c = &cf->c[k];
  const mrec *rec = &cf->r[index];
  char key[64] = "(all)";
  if (c->groupby && rec->user < 0)
    return; /* no group */
  if (c->groupby == 1)
    snprintf(key, sizeof key, "userIdentity.userName=u%d", rec->user);
  else if (c->groupby == 2)
    snprintf(key, sizeof key, "userIdentity.userName=u%d awsRegion=%s", rec->user, rec->region ? "eu-west-1" : "us-east-1");
  mgroup *g = m_group(m, k, key);
  if (m->have_watermark)
    m_expire(m); /* a match fed later than the horizon is let go before the next one */
  int64_t latest = m->watermark;
  bool have_latest = m->have_watermark;
  if (c->bounded && m->have_clock && (!have_latest || m->clock > latest)) { /* bounded windows close on the clock */
    latest = m->clock;
    have_latest = true;
  }
  if (have_latest && rec->t < latest - (int64_t)cf->lateness && m_gone_near(m, k, g, rec->t)) {
    tu_appendf(&m->errors,
        "%zu ELIMIT correlation 'C%zu': the match of '%s' is not counted: its eventTime is %lld s before the latest one "
        "seen, and matches of its group within the timespan of it were let go (limit correlation_lateness %llu s)\n",
        index, k, rule_name[r], (long long)(latest - rec->t), (unsigned long long)cf->lateness);
    return;
  }
  if (c->value && rec->val < 0)
    return; /* nothing to count */
  if (!m->have_watermark || rec->t > m->watermark)
    m->watermark = rec->t;
  m->have_watermark = true;
  m_expire(m);
  uint64_t held = m_held(m), max = cf->max_held ? cf->max_held : ctr_limit_default(CTR_LIMIT_CORRELATION_EVENTS);
  if (held >= max) {
    tu_appendf(&m->errors,
        "%zu ELIMIT correlation 'C%zu': the match of '%s' is not counted: %llu matches are held (limit "
        "correlation_events)\n",
        index, k, rule_name[r], (unsigned long long)held);
    if (c->bounded && g->n)
      g->lost++;
    return;
  }
  int64_t until = INT64_MAX;
  if (c->value && !c->bounded) { /* every match held; one of a value held at the same time changes no window */
    ment *newest = NULL;
    for (size_t i = 0; i < g->n; i++)
      if (strcmp(mval(m, &g->e[i]), value_of(cf, rec->val)) == 0) {
        if (g->e[i].t == rec->t)
          return;
        if (!newest || g->e[i].t > newest->t)
          newest = &g->e[i];
      }
    if (newest && newest->t > rec->t) /* it is an earlier match of its value */
      until = newest->t;
    else if (newest) /* the newest becomes an earlier one */
      newest->until = rec->t;
  }
  size_t at = g->n;
  while (at > 0 && g->e[at - 1].t > rec->t)
    at--;
  g->e = realloc(g->e, (g->n + 1) * sizeof *g->e);
  memmove(g->e + at + 1, g->e + at, (g->n - at) * sizeof *g->e);
  g->e[at] = (ment){rec->t, r, index, until};
  g->n++;
  if (!c->bounded) {
    ment last = g->e[at];
    m_check(m, k, g, index, &last);
  }
}

static void model_run(model *m, const mconf *cf)
{
  memset(m, 0, sizeof *m);
  m->cf = cf;
  m->alerts.s = calloc(1, 1);
  m->errors.s = calloc(1, 1);
  for (size_t i = 0; i < cf->nrec; i++) {
    const mrec *rec = &cf->r[i];
    if (rec->kind == K_NOISE)
      continue; /* no rule names its eventName: not evaluated */
    if (!m->have_clock || rec->t > m->clock)
      m->clock = rec->t;
    m->have_clock = true;
    m_close_due(m, false, i);
    int hits[2], nhits = 0; /* in the order the rules are defined */
    if (rec->kind == K_A) {
      hits[nhits++] = R_A;
      if (rec->region)
        hits[nhits++] = R_A2;
    } else if (rec->kind == K_B) {
      hits[nhits++] = R_B;
    }
    bool fed[MAXCORR] = {false}; /* a record counts once, under its first rule named */
    for (int h = 0; h < nhits; h++) /* each match in turn, to the correlations naming its rule */
      for (size_t k = 0; k < cf->nc; k++)
        if ((cf->c[k].rules & (1u << hits[h])) && !fed[k]) {
          fed[k] = true;
          m_feed(m, k, i, hits[h]);
        }
  }
  m_close_due(m, true, cf->nrec - 1);
}

static void model_free(model *m)
{
  for (size_t k = 0; k < MAXCORR; k++) {
    for (size_t i = 0; i < m->ng[k]; i++) {
      free(m->g[k][i].e);
      free(m->g[k][i].gone);
    }
    free(m->g[k]);
  }
  free(m->alerts.s);
  free(m->errors.s);
}

/* ------------------------------------------------------------ the library */

typedef struct seen {
  text alerts, errors;
  unsigned long long last_index;
  bool out_of_order;
} seen;

static int on_match(const ctr_match *m, void *ud)
{
  seen *s = ud;
  const char *rule = ctr_match_rule(m), *count, *group, *events;
  if (rule[0] != 'C')
    return 0; /* a base rule named by no correlation */
  unsigned long long index = (unsigned long long)ctr_match_record_index(m);
  s->out_of_order |= index < s->last_index;
  s->last_index = index;
  cr_assert_eq(ctr_match_field(m, "correlation.count", &count), CTR_OK);
  cr_assert_eq(ctr_match_field(m, "correlation.group", &group), CTR_OK);
  cr_assert_eq(ctr_match_field(m, "correlation.events", &events), CTR_OK);
  size_t len;
  const char *ev = ctr_match_event(m, &len), *id = memmem(ev, len, "\"eventID\":\"", 11);
  cr_assert_not_null(id);
  id += 11;
  tu_appendf(&s->alerts, "%llu %s t=%lld count=%s group=%s ev=%.*s events=%s\n", index, rule,
      (long long)(ctr_match_time(m) / 1000000000 - EPOCH), count, group, (int)strcspn(id, "\""), id, events);
  return 0;
}

static void on_error(const ctr_record_error *e, void *ud)
{
  seen *s = ud;
  tu_appendf(&s->errors, "%llu %s %s\n", (unsigned long long)ctr_record_error_index(e), ctr_status_name(ctr_record_error_status(e)),
      ctr_record_error_message(e));
}

/* Scans data fed in chunks of `chunk` bytes (0: whole). */
static void engine_run(ctr_ruleset *rs, const mconf *cf, const char *data, size_t chunk, seen *s)
{
  memset(s, 0, sizeof *s);
  s->alerts.s = calloc(1, 1);
  s->errors.s = calloc(1, 1);
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, on_match, s, &sc), CTR_OK);
  ctr_scanner_set_error_callback(sc, on_error, s);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_CORRELATION_LATENESS, cf->lateness), CTR_OK);
  cr_assert_eq(ctr_scanner_set_limit(sc, CTR_LIMIT_CORRELATION_EVENTS, cf->max_held), CTR_OK);
  size_t len = strlen(data);
  if (!chunk)
    chunk = len;
  for (size_t at = 0; at < len; at += chunk)
    cr_assert_eq(ctr_scanner_feed(sc, data + at, len - at < chunk ? len - at : chunk), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  ctr_scanner_free(sc);
}

static void describe(const mconf *cf, char *out, size_t n)
{
  size_t used = (size_t)snprintf(out, n, "seed %llu: %zu records, %zu values%s, lateness %llu, events limit %llu;",
                                 (unsigned long long)cf->seed, cf->nrec, cf->nvals, cf->colliding ? " (colliding)" : "",
                                 (unsigned long long)cf->lateness, (unsigned long long)cf->max_held);
  for (size_t k = 0; k < cf->nc && used < n; k++)
    used += (size_t)snprintf(out + used, n - used, " C%zu %s rules %u by %d %llds {%s};", k,
                             cf->c[k].value ? "value_count" : "event_count", cf->c[k].rules, cf->c[k].groupby,
                             (long long)cf->c[k].span, cf->c[k].cond);
}

/* The first line where a and b differ, for the failure message. */
static void first_difference(const char *a, const char *b, char *out, size_t n)
{
  size_t line = 1;
  const char *la = a, *lb = b;
  while (*a && *a == *b) {
    if (*a == '\n') {
      line++;
      la = a + 1;
      lb = b + 1;
    }
    a++;
    b++;
  }
  snprintf(out, n, "line %zu:\n  library: %.*s\n  model:   %.*s", line, (int)strcspn(la, "\n"), la, (int)strcspn(lb, "\n"), lb);
}

static void dump_one(const char *dir, const char *name, const char *body)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s", path);
  fputs(body, f);
  fclose(f);
}

static void dump(const char *dir, const char *data, const char *yaml, const char *ga, const char *wa, const char *ge,
                 const char *we)
{
  dump_one(dir, "stream.ndjson", data);
  dump_one(dir, "rules.yaml", yaml);
  dump_one(dir, "alerts.library", ga);
  dump_one(dir, "alerts.model", wa);
  dump_one(dir, "reports.library", ge);
  dump_one(dir, "reports.model", we);
}

/* Runs one stream: the model once, the library in the chunkings given. */
static void check_stream(uint64_t seed, const size_t *chunks, size_t nchunks, size_t *alerts, size_t *reports)
{
  mconf cf;
  random_conf(seed, &cf);
  char *yaml = rules_yaml(&cf), *data = stream_text(&cf), diags[4096], what[1024];
  describe(&cf, what, sizeof what);
  ctr_ruleset *rs = tu_compile(yaml, diags, sizeof diags);
  cr_assert_not_null(rs, "%s\n%s\n%s", what, yaml, diags);
  model m;
  model_run(&m, &cf);
  char *want_alerts = canonical(&m.alerts), *want_errors = canonical(&m.errors);
  for (size_t i = 0; i < nchunks; i++) {
    seen s;
    engine_run(rs, &cf, data, chunks[i], &s);
    char *got_alerts = canonical(&s.alerts), *got_errors = canonical(&s.errors), diff[2048];
    cr_assert(!s.out_of_order, "%s: alerts delivered out of record order", what);
    if (getenv("CTR_MODEL_DUMP")) /* a directory: the stream, its rules and both sides of the failing seed */
      dump(getenv("CTR_MODEL_DUMP"), data, yaml, got_alerts, want_alerts, got_errors, want_errors);
    first_difference(got_alerts, want_alerts, diff, sizeof diff);
    cr_assert_str_eq(got_alerts, want_alerts, "%s chunk %zu: alerts differ at %s", what, chunks[i], diff);
    first_difference(got_errors, want_errors, diff, sizeof diff);
    cr_assert_str_eq(got_errors, want_errors, "%s chunk %zu: reports differ at %s", what, chunks[i], diff);
    free(got_alerts);
    free(got_errors);
    free(s.alerts.s);
    free(s.errors.s);
  }
  for (const char *p = want_alerts; (p = strchr(p, '\n')); p++)
    (*alerts)++;
  for (const char *p = want_errors; (p = strchr(p, '\n')); p++)
    (*reports)++;
  free(want_alerts);
  free(want_errors);
  model_free(&m);
  ctr_ruleset_unref(rs);
  free(yaml);
  free(data);
  free(cf.r);
  free(cf.vals);
}

Test(correlate_model, random_streams_agree_with_the_model_in_every_chunking)
{
  make_colliding();
  const char *env = getenv("CTR_MODEL_SEEDS");
  uint64_t nseeds = env ? strtoull(env, NULL, 10) : 32;
  static const size_t all[] = {0, 1, 2, 3, 7, 64, 1000};
  size_t alerts = 0, reports = 0;
  for (uint64_t seed = 1; seed <= nseeds; seed++) {
    /* byte by byte is slow under ASan: two streams take every chunking, the
     * others whole and in one of the rest */
    size_t two[] = {0, all[4 + seed % 3]};
    if (seed <= 2)
      check_stream(seed, all, sizeof all / sizeof all[0], &alerts, &reports);
    else
      check_stream(seed, two, 2, &alerts, &reports);
  }
  /* the streams are not vacuous: they make alerts and reports */
  cr_assert_gt(alerts, nseeds * 5, "%zu alerts", alerts);
  cr_assert_gt(reports, nseeds / 4, "%zu reports", reports);
  cr_log_info("%llu streams: %zu alerts, %zu reports agree", (unsigned long long)nseeds, alerts, reports);
}
