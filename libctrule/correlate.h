/*
 * correlate.h - Sigma correlations at run time (correlate.c): compiled into
 * rules of the ruleset (ctr__correlate_compile), fed by their base rules'
 * matches in a scanner (ctr__corrstate), on event time.
 *
 * A correlation is a rule of rs->rules with no condition (never evaluated on
 * a record, in no index): its alert is built from the matches of the rules it
 * names and delivered like any match, its "event" a small JSON record that
 * correlate.c makes (docs/sigma.md, "Correlation rules").
 */
#ifndef CTR_CORRELATE_H
#define CTR_CORRELATE_H

#include "compile.h"
#include "sigma.h"

/* One compiled correlation; everything in the ruleset's pool. */
typedef struct ctr__ccorr {
  uint32_t rule; /* its own rule in rs->rules */
  ctr__corr_type type;
  uint32_t *base; /* the rules it names, as rs->rules indexes, in the order named */
  size_t nbase;
  char **group_by; /* field paths (json.values) */
  size_t ngroup;
  const char *field; /* value_count's counted field, else NULL */
  int64_t span_ns;
  uint64_t min_count; /* event_count / value_count: at least */
  uint64_t max_count; /* at most (UINT64_MAX: no upper bound) */
  uint64_t neq;       /* with has_neq: not this many */
  bool has_neq;
  bool bounded; /* an upper bound or neq: decided when a window closes */
} ctr__ccorr;

typedef struct ctr__corrset {
  ctr__ccorr *v;
  size_t n;
  uint32_t **feeds; /* per rule of rs->rules: the correlations (indexes into v) its matches feed */
  size_t *nfeeds;
  bool *silent; /* per rule: its own matches are no alerts (every enabled correlation naming it has generate: false) */
} ctr__corrset;

/* Compiles defs->corr (if any) into rs: one rule per correlation appended to
 * rs->rules (after the index is built: none of them is a candidate of a
 * record), its output fields as slots, and rs->corr. References are resolved
 * to the compiled rules; every problem is reported at its file:line:column.
 * CTR_OK, CTR_ESYNTAX (reported) or CTR_ENOMEM. */
int ctr__correlate_compile(const ctr__defs *defs, ctr__diags *diags, const ctr__selection *sel, size_t nsel,
                           int min_priority, ctr_ruleset *rs);

/* Whether r's own matches are no alerts (every enabled correlation naming
 * it has generate: false); false when rs has no correlation. */
bool ctr__correlate_silences(const ctr_ruleset *rs, const ctr__crule *r);

/* ------------------------------------------------------------ state */

/* A scanner's correlation state: groups of base matches, on event time. */
typedef struct ctr__corrstate ctr__corrstate;

/* How the state reports a match it could not count (late, over the limit,
 * no event time): the record's index and offset, CTR_ELIMIT or CTR_EDATA,
 * and a message (borrowed for the call). */
typedef void (*ctr__corr_report_fn)(void *ud, int status, uint64_t index, uint64_t offset, const char *msg);

/* NULL *out (and CTR_OK) when rs has no correlation. CTR_ENOMEM. */
int ctr__corrstate_new(const ctr_ruleset *rs, ctr__corr_report_fn report, void *ud, ctr__corrstate **out);
void ctr__corrstate_free(ctr__corrstate *s);
/* CTR_LIMIT_CORRELATION_EVENTS (matches held) and CTR_LIMIT_CORRELATION_LATENESS (seconds). */
void ctr__corrstate_set_limit(ctr__corrstate *s, int limit, uint64_t value);

/* Rule r matched ev (ev->time_ns parsed): fed to every correlation r feeds,
 * which may make alerts (taken with ctr__correlate_next). seq tells records
 * apart (non-zero, new for each record: the evaluation generation); a count
 * correlation counts a record once, whichever of its rules it matched.
 * *alert: whether r's own match is an alert. s NULL: *alert true, nothing
 * fed. CTR_OK or CTR_ENOMEM. */
int ctr__correlate_hit(ctr__corrstate *s, const ctr__crule *r, const ctr__event *ev, uint64_t seq, bool *alert);

/* The scanner evaluates a record of event time t (its index and offset):
 * the windows of bounded correlations (an upper bound: decided when they
 * close) whose end plus the lateness is before t are decided, which may make
 * alerts (ctr__correlate_next) on that record. CTR_OK or CTR_ENOMEM. */
int ctr__correlate_tick(ctr__corrstate *s, int64_t t, uint64_t index, uint64_t offset);

/* The stream ended: every open window of a bounded correlation is decided,
 * its alert on the last record read (index, offset). CTR_OK or CTR_ENOMEM. */
int ctr__correlate_finish(ctr__corrstate *s, uint64_t index, uint64_t offset);

/* The next correlation alert made, if any: its rule, and in *ev its record
 * (root, raw, index, offset, time_ns; lazy NULL; the arena and hostname are
 * left as they are), valid until the next call or the state is freed.
 * ev->raw NULL: its text could not be made (out of memory). */
bool ctr__correlate_next(ctr__corrstate *s, const ctr__crule **r, ctr__event *ev);

#endif
