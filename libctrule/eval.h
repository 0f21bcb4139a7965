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

typedef struct ctr__evalctx {
  const ctr_ruleset *rs;
  ctr__event *ev;
  ctr__cache_entry *cache; /* rs->nslots */
  uint64_t gen;            /* current event generation */
  int error;               /* CTR_ENOMEM or CTR_ELIMIT (a PCRE2 limit) seen; the caller clears it */
  pcre2_match_data *md;    /* per scanner: PCRE2 match data is not shareable */
  pcre2_match_context *mctx;
} ctr__evalctx;

/* Whether the compiled condition n holds for cx's event. A failure (out of
 * memory in an extractor, a PCRE2 limit) makes the check false and is left
 * in cx->error for the caller to report: never a silent answer. */
bool ctr__eval(ctr__evalctx *cx, const ctr__cnode *n);
/* Value of an expression (a field extracted once per event generation and
 * cached); strings borrowed from the event or its arena, valid until the
 * arena is reset. CTR_OK (absent is a value), or CTR_ENOMEM (also in
 * cx->error). */
int ctr__eval_expr(ctr__evalctx *cx, const ctr__cexpr *e, ctr__value *out);

#endif
