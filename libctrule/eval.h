/*
 * eval.h - evaluation of compiled conditions on one event (eval.c).
 */
#ifndef CTR_EVAL_H
#define CTR_EVAL_H

#include "compile.h"

typedef struct ctr__cache_entry {
  uint64_t gen;
  ctr__value v;
} ctr__cache_entry;

/* The state evaluation needs, owned by its holder (the scanner: one per
 * scanner, as PCRE2 match data is not shareable): it borrows rs and ev and
 * owns cache, md and mctx, which it allocates and frees. */
typedef struct ctr__evalctx {
  const ctr_ruleset *rs;
  ctr__event *ev;
  ctr__cache_entry *cache; /* rs->nslots; values in it borrowed as ctr__eval_expr's */
  uint64_t gen;            /* current event generation */
  int error;               /* CTR_ENOMEM or CTR_ELIMIT (a PCRE2 limit) seen; the caller clears it */
  pcre2_match_data *md;    /* per scanner: PCRE2 match data is not shareable */
  pcre2_match_context *mctx;
} ctr__evalctx;

/* Whether the compiled condition n (the ruleset's, borrowed) holds for cx's
 * event. A failure (out of memory in an extractor, a PCRE2 limit) makes the
 * check false and is left in cx->error for the caller to report: never a
 * silent answer. Values extracted are cached in cx for the event generation. */
bool ctr__eval(ctr__evalctx *cx, const ctr__cnode *n);
/* Value of an expression (a field extracted once per event generation and
 * cached); strings borrowed from the event or its arena, valid until the
 * arena is reset or the event ends. CTR_OK (absent is a value), or
 * CTR_ENOMEM (also in cx->error), when *out is not to be read. */
int ctr__eval_expr(ctr__evalctx *cx, const ctr__cexpr *e, ctr__value *out);

/* Where the verdicts on one record's candidate rules go (the scanner). */
typedef struct ctr__eval_sink {
  /* Rule r holds for the event. CTR_OK goes on to the next candidate; any
   * other status stops the evaluation and is what ctr__eval_rules returns
   * (CTR_STOPPED, CTR_ENOMEM). r is the ruleset's; nothing is kept. */
  int (*hit)(void *ud, const ctr__crule *r);
  /* Rule r is undecided on the event: a regex hit a PCRE2 limit. It is
   * neither a match nor a silent non-match: the sink reports it. */
  void (*undecided)(void *ud, const ctr__crule *r);
  void *ud;
} ctr__eval_sink;

/* Evaluates the rules cand[0..n) (indexes into cx->rs->rules, in order) on
 * cx's event, a new event generation (values cached for an earlier event are
 * not reused), and hands each hit to sink->hit, each undecided rule to
 * sink->undecided. first_only: stop after the first hit. CTR_OK; CTR_ENOMEM
 * when a field or transformer could not be built (the verdict is not to be
 * trusted either way, so evaluation stops rather than guess); or the
 * non-CTR_OK status sink->hit returned. Keeps nothing of cand or sink. */
int ctr__eval_rules(ctr__evalctx *cx, const uint32_t *cand, size_t n, bool first_only, const ctr__eval_sink *sink);

#endif
