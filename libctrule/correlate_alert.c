/* correlate_alert.c - the correlation state's alerts and reports
 * (correlate_alert.h): an alert is a small JSON record made here, held
 * until the scanner takes it (ctr__correlate_next). */
#include "correlate_alert.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A report about correlation c on the record at index, offset. */
__attribute__((format(printf, 6, 0))) static void say_v(ctr__corrstate *s, uint64_t index, uint64_t offset,
                                                       int status, const ctr__ccorr *c, const char *fmt, va_list ap)
{
  ctr__buf_clear(&s->msg);
  ctr__buf_printf(&s->msg, "correlation '%s': ", s->rs->rules[c->rule].name);
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  ctr__buf_append_str(&s->msg, line);
  if (s->report)
    s->report(s->ud, status, index, offset, s->msg.data ? s->msg.data : "");
}

void ctr__corr_say(ctr__corrstate *s, const ctr__event *ev, int status, const ctr__ccorr *c, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  say_v(s, ev->index, ev->offset, status, c, fmt, ap);
  va_end(ap);
}

void ctr__corr_say_at(ctr__corrstate *s, uint64_t index, uint64_t offset, int status, const ctr__ccorr *c,
                      const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  say_v(s, index, offset, status, c, fmt, ap);
  va_end(ap);
}

static int add_event(json_t *list, ctr__buf *text, const ctr_ruleset *rs, const centry *e)
{
  json_t *o = json_pack("{s:s, s:s, s:s}", "eventID", e->id, "eventTime", e->time, "rule", rs->rules[e->rule].name);
  if (!o || json_array_append_new(list, o) != 0)
    return CTR_ENOMEM;
  return ctr__buf_printf(text, "%s%s@%s (%s)", text->len ? ", " : "", e->id, e->time, rs->rules[e->rule].name);
}

int ctr__make_alert(ctr__corrstate *s, const cgroup *g, const verdict *v, const ctr__event *ev, const centry *last)
{
  const ctr__ccorr *c = &s->cs->v[g->corr];
  json_t *events = json_array(), *gb = json_object();
  ctr__buf text = {0}, group = {0};
  int rc = events && gb ? CTR_OK : CTR_ENOMEM;
  if (v->n)
    for (size_t i = 0; rc == CTR_OK && i < v->n; i++)
      rc = add_event(events, &text, s->rs, cseq_at(&g->e, v->idx[i]));
  else if (v->pick)
    for (size_t i = 0; rc == CTR_OK && i < v->npick; i++)
      rc = add_event(events, &text, s->rs, v->pick[i]);
  else
    for (size_t i = v->from; rc == CTR_OK && i < v->to; i++)
      if (!v->keep || v->keep[i])
        rc = add_event(events, &text, s->rs, cseq_at(&g->e, i));
  for (size_t i = 0; rc == CTR_OK && i < c->ngroup; i++) {
    if (json_object_set_new(gb, c->group_by[i], json_string(g->vals[i])) != 0)
      rc = CTR_ENOMEM;
    else
      rc = ctr__buf_printf(&group, "%s%s=%s", i ? " " : "", c->group_by[i], g->vals[i]);
  }
  char count[24];
  snprintf(count, sizeof count, "%llu", (unsigned long long)v->count);
  json_t *root = NULL;
  if (rc == CTR_OK)
    root = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:o, s:o}}", "eventTime", last->time, "eventID", last->id,
                     "correlation", "count", count, "group", c->ngroup ? group.data : "(all)", "events",
                     text.data ? text.data : "", "groupBy", gb, "eventList", events);
  else {
    json_decref(gb);
    json_decref(events);
  }
  ctr__buf_free(&text);
  ctr__buf_free(&group);
  if (!root)
    return CTR_ENOMEM;
  if (s->np == s->capp) {
    size_t cap = s->capp ? s->capp * 2 : 4;
    pending *p = realloc(s->p, cap * sizeof *p);
    if (!p) {
      json_decref(root);
      return CTR_ENOMEM;
    }
    s->p = p;
    s->capp = cap;
  }
  s->p[s->np++] = (pending){c->rule, root, ev->index, ev->offset, ev->time_ns};
  return CTR_OK;
}

bool ctr__correlate_next(ctr__corrstate *s, const ctr__crule **r, ctr__event *ev)
{
  if (!s)
    return false;
  json_decref(s->shown);
  free(s->shown_raw);
  s->shown = NULL;
  s->shown_raw = NULL;
  if (s->next == s->np) {
    s->next = s->np = 0;
    return false;
  }
  pending *p = &s->p[s->next++];
  s->shown = p->root;
  s->shown_raw = json_dumps(p->root, JSON_COMPACT);
  *r = &s->rs->rules[p->rule];
  ev->root = p->root;
  ev->lazy = NULL;
  ev->raw = s->shown_raw; /* NULL: out of memory (the caller stops) */
  ev->raw_len = s->shown_raw ? strlen(s->shown_raw) : 0;
  ev->index = p->index;
  ev->offset = p->offset;
  ev->time_ns = p->t;
  return true;
}
