/* correlate.c - Sigma correlations at scan time: the per-scanner state that
 * groups the matches of their base rules (compiled by correlate_compile.c)
 * on event time and decides when a correlation holds.
 *
 * Semantics (docs/sigma.md): a base match joins the group of its group-by
 * values (no value for one of them: it joins none, as SIEM backends' group
 * by does); a correlation holds when some window of `timespan` in a group
 * holds enough events (event_count), distinct values (value_count), every
 * rule (temporal) or every rule in order (temporal_ordered). It then alerts
 * once, and the group's matches up to the window's end are spent. A count
 * with only lower bounds is decided when a match completes it; one with an
 * upper bound (lt, lte, eq, neq) when its window closes: the window starts
 * at the group's earliest unspent match and closes when the event time of
 * an evaluated record passes its end plus the lateness, or at the stream's
 * end (ctr__correlate_tick, ctr__correlate_finish).
 *
 * This file feeds the state and closes windows; the groups, their heaps
 * and what is let go are correlate_group.c's, a group's matches
 * correlate_matches.c's, value_count's value tables correlate_values.c's,
 * the window checks correlate_check.c's, and the alerts and reports
 * correlate_alert.c's. */
#include "correlate_alert.h"
#include "render.h"

#include <stdlib.h>
#include <string.h>

static void set_limit(ctr__corrstate *s, int limit, uint64_t v)
{
  if (limit == CTR_LIMIT_CORRELATION_EVENTS)
    s->max_held = v;
  else
    s->lateness_ns = v > (uint64_t)INT64_MAX / 1000000000 ? INT64_MAX : (int64_t)v * 1000000000;
}

int ctr__corrstate_new(const ctr_ruleset *rs, ctr__corr_report_fn report, void *ud, ctr__corrstate **out)
{
  *out = NULL;
  if (!rs->corr)
    return CTR_OK;
  ctr__corrstate *s = calloc(1, sizeof *s);
  if (!s || !(s->tab = calloc(64, sizeof *s->tab))) {
    free(s);
    return CTR_ENOMEM;
  }
  if (!(s->let_go = calloc(rs->corr->n, sizeof *s->let_go)) ||
      !(s->last_seq = calloc(rs->corr->n, sizeof *s->last_seq))) {
    free(s->let_go);
    free(s->tab);
    free(s);
    return CTR_ENOMEM;
  }
  s->cap = 64;
  s->clock = INT64_MIN;
  s->values = ctr__field_lookup("json.values", 11);
  s->rs = rs;
  s->cs = rs->corr;
  s->report = report;
  s->ud = ud;
  set_limit(s, CTR_LIMIT_CORRELATION_EVENTS, ctr_limit_default(CTR_LIMIT_CORRELATION_EVENTS));
  set_limit(s, CTR_LIMIT_CORRELATION_LATENESS, ctr_limit_default(CTR_LIMIT_CORRELATION_LATENESS));
  *out = s;
  return CTR_OK;
}

void ctr__corrstate_set_limit(ctr__corrstate *s, int limit, uint64_t value)
{
  if (s)
    set_limit(s, limit, value);
}

void ctr__corrstate_free(ctr__corrstate *s)
{
  if (!s)
    return;
  for (size_t b = 0; b < s->cap; b++)
    for (cgroup *g = s->tab[b], *nx; g; g = nx) {
      nx = g->next;
      ctr__group_free(s, g);
    }
  free(s->tab);
  free(s->windows.v);
  free(s->expiry.v);
  for (size_t k = 0; s->let_go && k < s->cs->n; k++)
    free(s->let_go[k].v);
  free(s->let_go);
  free(s->last_seq);
  for (size_t i = s->next; i < s->np; i++)
    json_decref(s->p[i].root);
  free(s->p);
  json_decref(s->shown);
  free(s->shown_raw);
  ctr__buf_free(&s->msg);
  ctr__buf_free(&s->key);
  free(s);
}

/* The value of json.values[path] on ev, rendered (a list as (a,b)), into b;
 * false when the field has no value. */
static bool field_text(const ctr__corrstate *s, const ctr__event *ev, const char *path, ctr__buf *b, int *rc)
{
  ctr__value v;
  *rc = s->values->extract(ev, path, 0, &v);
  if (*rc != CTR_OK || v.kind == CTR__V_ABSENT || (v.kind == CTR__V_LIST && v.count == 0))
    return false;
  if (v.kind == CTR__V_LIST && v.count == 1)
    ctr__value_str(&v, v.items[0].s, v.items[0].len);
  *rc = ctr__render_value(b, &v);
  return *rc == CTR_OK;
}

/* The group-by values of ev for correlation c into s->key (prefixed by k) and
 * *vals (owned by the caller); false when one has no value. */
static bool group_key(ctr__corrstate *s, uint32_t k, const ctr__ccorr *c, const ctr__event *ev, char ***vals, int *rc)
{
  ctr__buf_clear(&s->key);
  *rc = ctr__buf_printf(&s->key, "%u", (unsigned)k);
  *vals = calloc(c->ngroup ? c->ngroup : 1, sizeof **vals);
  if (!*vals)
    *rc = CTR_ENOMEM;
  ctr__buf one = {0};
  bool ok = *rc == CTR_OK;
  for (size_t i = 0; ok && i < c->ngroup; i++) {
    ctr__buf_clear(&one);
    if (!(ok = field_text(s, ev, c->group_by[i], &one, rc)))
      break; /* no value (or *rc: out of memory) */
    /* Each value after its length: a value holding any separator cannot make
     * two groups' keys equal. */
    ok = ctr__buf_printf(&s->key, ":%zu:", one.len) == CTR_OK && ctr__buf_append(&s->key, one.data, one.len) == CTR_OK &&
         ((*vals)[i] = ctr__strdup(one.data));
    if (!ok)
      *rc = CTR_ENOMEM;
  }
  ctr__buf_free(&one);
  if (!ok) {
    ctr__free_vals(*vals, c->ngroup);
    *vals = NULL;
  }
  return ok;
}

static char *member_text(const ctr__event *ev, const char *key)
{
  const char *v = json_string_value(ctr__event_get(ev, key));
  return ctr__strdup(v ? v : "<NA>");
}

/* One match of rule r fed to correlation k. */
static int feed(ctr__corrstate *s, uint32_t k, uint32_t r, const ctr__event *ev)
{
  const ctr__ccorr *c = &s->cs->v[k];
  const char *rname = s->rs->rules[r].name;
  if (ev->time_ns == 0) {
    ctr__corr_say(s, ev, CTR_EDATA, c, "the match of '%s' is not counted: the record has no valid eventTime", rname);
    return CTR_OK;
  }
  int rc = CTR_OK;
  char **vals;
  if (!group_key(s, k, c, ev, &vals, &rc))
    return rc; /* a group-by field without a value: no group (docs/sigma.md) */
  /* Out of order by more than the lateness (only such a match can be near
   * one let go): counted unless a match of its group it could share a window
   * with was let go, which would make the verdict wrong (every group has
   * let go of what the watermark left behind). */
  ctr__expire_due(s);
  int64_t latest = c->bounded && s->clock > s->watermark ? s->clock : s->watermark; /* bounded: windows close on the clock */
  if ((s->have_watermark || latest != s->watermark) && ev->time_ns < sub_sat(latest, s->lateness_ns) &&
      ctr__letgo_near(&s->let_go[k], ctr__hash(s->key.data, s->key.len), ev->time_ns, c->span_ns)) {
    ctr__free_vals(vals, c->ngroup);
    ctr__corr_say(s, ev, CTR_ELIMIT, c,
        "the match of '%s' is not counted: its eventTime is %lld s before the latest one seen, and matches of its "
        "group within the timespan of it were let go (limit %s %lld s)",
        rname, (long long)(latest / 1000000000 - ev->time_ns / 1000000000), ctr_limit_name(CTR_LIMIT_CORRELATION_LATENESS),
        (long long)(s->lateness_ns / 1000000000));
    return CTR_OK;
  }
  ctr__buf val = {0};
  if (c->field && !field_text(s, ev, c->field, &val, &rc)) {
    ctr__free_vals(vals, c->ngroup);
    ctr__buf_free(&val);
    return rc; /* nothing to count */
  }
  if (!s->have_watermark || ev->time_ns > s->watermark)
    s->watermark = ev->time_ns;
  s->have_watermark = true;
  ctr__expire_due(s);
  cgroup *g = NULL;
  if (s->held >= s->max_held) {
    ctr__corr_say(s, ev, CTR_ELIMIT, c, "the match of '%s' is not counted: %llu matches are held (limit %s)", rname,
        (unsigned long long)s->held, ctr_limit_name(CTR_LIMIT_CORRELATION_EVENTS));
    cgroup *open = c->bounded ? ctr__group_find(s) : NULL;
    if (open)
      open->lost++; /* its window, short of a match, is not decided (close_window) */
  } else if (!(g = ctr__group_of(s, k, vals))) {
    rc = CTR_ENOMEM;
  }
  if (!g || g->vals != vals) {
    ctr__free_vals(vals, c->ngroup);
  }
  centry e = {.t = ev->time_ns, .rule = r, .id = member_text(ev, "eventID"), .time = member_text(ev, "eventTime"),
              .value = c->field ? ctr__strdup(val.data ? val.data : "") : NULL};
  ctr__buf_free(&val);
  if (!g || !e.id || !e.time || (c->field && !e.value)) {
    ctr__centry_free(&e);
    return g ? CTR_ENOMEM : rc;
  }
  bool newest_of_value;
  size_t placed = 0;
  centry *x = ctr__group_insert(s, g, &e, &newest_of_value, &placed, &rc);
  if (c->bounded) { /* decided when the window closes (ctr__correlate_tick) */
    if (x && g->hpos != SIZE_MAX)
      ctr__gheap_fix(s, &s->windows, g->hpos); /* its earliest match may be new */
    else if (x && ctr__gheap_add(s, &s->windows, g) != CTR_OK)
      rc = CTR_ENOMEM;
    return rc;
  }
  verdict v = {0};
  size_t at = x && newest_of_value ? placed : SIZE_MAX, lo = 0, hi = 0;
  bool fired = false;
  /* value_count: each value's latest match counts a window exactly unless
   * an older match of a value lies near x, out of order (in order, every
   * window holding x ends at it, and holds a value's latest if any of its
   * matches) */
  if (x && c->field && (!newest_of_value || (at + 1 < g->e.n && ctr__group_older_near(g, x->t, c->span_ns)))) {
    fired = ctr__check_values(c, g, x, &v, &rc);
    v.spent = ctr__cseq_later_than(&g->e, v.end);
  } else if (at != SIZE_MAX) {
    ctr__check_near(g, at, c->span_ns, &lo, &hi);
    if (g->last && !ctr__may_complete(c, g, at, hi == at + 1))
      at = SIZE_MAX; /* some rule has no match near it: nothing to check */
    fired = at != SIZE_MAX && (c->type == CTR__CORR_TEMPORAL         ? ctr__check_temporal(c, g, lo, hi, &v)
                               : c->type == CTR__CORR_TEMPORAL_ORDERED ? ctr__check_ordered(c, g, lo, hi, &v)
                                                                      : ctr__check_count(c, g, at, lo, hi, &v));
  }
  if (fired) {
    rc = ctr__make_alert(s, g, &v, ev, x);
    ctr__group_drop_front(s, g, v.spent); /* x may be among them: last use above */
    if (g->sh.n)
      ctr__group_drop_older(s, g, ctr__cseq_later_than(&g->sh, v.end));
  }
  free(v.pick);
  if (ctr__expiry_sync(s, g) != CTR_OK) /* g may be freed */
    rc = CTR_ENOMEM;
  return rc;
}

/* ------------------------------------------------------------ bounded windows */

/* Decides the open window of bounded group g: its entries from the earliest
 * to a timespan after it, counted (value_count: their distinct values); an
 * alert on the record at index, offset when the condition holds. They are
 * spent, and noted as let go (a later match near them, late by more than
 * the lateness, is reported: it cannot join a decided window). */
static int close_window(ctr__corrstate *s, cgroup *g, uint64_t index, uint64_t offset)
{
  const ctr__ccorr *c = &s->cs->v[g->corr];
  int64_t end = window_end(s, g);
  verdict v = {0};
  while (v.to < g->e.n && cseq_at(&g->e, v.to)->t <= end)
    v.to++;
  v.count = v.to;
  bool *keep = NULL;
  if (c->field && (!(keep = calloc(v.to, sizeof *keep)) || (v.count = ctr__latest_per_value(g, v.to, keep)) == SIZE_MAX)) {
    free(keep);
    return CTR_ENOMEM; /* the scan stops: the window stays as it is */
  }
  v.keep = keep;
  int rc = CTR_OK;
  if (g->lost) {
    ctr__corr_say_at(s, index, offset, CTR_ELIMIT, c,
           "the window from %s (event %s) is not decided: %llu of its matches were not counted (limit %s)",
           cseq_at(&g->e, 0)->time, cseq_at(&g->e, 0)->id, (unsigned long long)g->lost, ctr_limit_name(CTR_LIMIT_CORRELATION_EVENTS));
    g->lost = 0;
  } else if (v.count >= c->min_count && v.count <= c->max_count && !(c->has_neq && v.count == c->neq)) {
    const centry *last = cseq_at(&g->e, v.to - 1);
    ctr__event at = {.index = index, .offset = offset, .time_ns = last->t};
    rc = ctr__make_alert(s, g, &v, &at, last);
  }
  free(keep);
  for (size_t i = 0; i < v.to; i++)
    ctr__letgo_add(&s->let_go[g->corr], ctr__letgo_key(g->hash, period(cseq_at(&g->e, i)->t, c->span_ns)), s->max_held);
  ctr__group_drop_front(s, g, v.to);
  return rc;
}

/* Decides the windows whose end plus the lateness is before the clock (all
 * of them: the stream ended), earliest end first. */
static int close_due(ctr__corrstate *s, bool all, uint64_t index, uint64_t offset)
{
  int rc = CTR_OK;
  while (rc == CTR_OK && s->windows.n) {
    cgroup *g = s->windows.v[0];
    int64_t end = window_end(s, g);
    if (!all && add_sat(end, s->lateness_ns) >= s->clock)
      break;
    rc = close_window(s, g, index, offset);
    if (g->e.n) {
      ctr__gheap_fix(s, &s->windows, 0);
    } else {
      ctr__gheap_remove(s, &s->windows, g);
      ctr__group_drop(s, g);
    }
  }
  return rc;
}

int ctr__correlate_tick(ctr__corrstate *s, int64_t t, uint64_t index, uint64_t offset)
{
  if (!s)
    return CTR_OK;
  if (t > s->clock)
    s->clock = t;
  return close_due(s, false, index, offset);
}

int ctr__correlate_finish(ctr__corrstate *s, uint64_t index, uint64_t offset)
{
  return s ? close_due(s, true, index, offset) : CTR_OK;
}

bool ctr__correlate_silences(const ctr_ruleset *rs, const ctr__crule *r)
{
  return rs->corr && rs->corr->silent[r - rs->rules];
}

int ctr__correlate_hit(ctr__corrstate *s, const ctr__crule *r, const ctr__event *ev, uint64_t seq, bool *alert)
{
  *alert = true;
  if (!s)
    return CTR_OK;
  uint32_t ri = (uint32_t)(r - s->rs->rules);
  const ctr__corrset *cs = s->cs;
  *alert = !cs->silent[ri];
  int rc = CTR_OK;
  for (size_t i = 0; rc == CTR_OK && i < cs->nfeeds[ri]; i++) {
    uint32_t k = cs->feeds[ri][i];
    /* The count types count records: one matching two of their rules is one. */
    bool counted = cs->v[k].type <= CTR__CORR_VALUE_COUNT && s->last_seq[k] == seq;
    s->last_seq[k] = seq;
    if (!counted)
      rc = feed(s, k, ri, ev);
  }
  return rc;
}

