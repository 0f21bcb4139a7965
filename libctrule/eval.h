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
  int error;               /* CTR_ENOMEM or a regex resource error seen */
  pcre2_match_data *md;    /* per scanner: PCRE2 match data is not shareable */
  pcre2_match_context *mctx;
} ctr__evalctx;

bool ctr__eval(ctr__evalctx *cx, const ctr__cnode *n);
/* Value of an expression (field extracted once per event and cached). */
int ctr__eval_expr(ctr__evalctx *cx, const ctr__cexpr *e, ctr__value *out);

#endif
