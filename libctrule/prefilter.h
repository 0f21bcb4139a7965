/*
 * prefilter.h - the raw-bytes prefilter (prefilter.c) and the keys it shares
 * with the eventName index.
 */
#ifndef CTR_PREFILTER_H
#define CTR_PREFILTER_H

#include "compile.h"

/* The constant values a condition requires of `field`: `=` or `in (...)`,
 * through and/or (an or needs every branch keyed: the union) and never
 * under `not`. any: none found. Unions are allocated in `scratch`. Keys both
 * the eventName index and the prefilter. */
typedef struct ctr__keyset {
  const ctr__str *v;
  size_t n;
  bool any;
} ctr__keyset;
ctr__keyset ctr__required_values(ctr__arena *scratch, const ctr_ruleset *rs, const ctr__field_def *field,
                                 const ctr__cnode *c);

/* Builds rs->prefilter (left NULL when some enabled rule has neither a key
 * nor a required literal) from
 * the compiled rules, after the index. CTR_OK or CTR_ENOMEM. */
int ctr__prefilter_build(ctr_ruleset *rs);
/* True when the raw record is valid, complete, and no rule can match it.
 * facts: what the framer's walk read of it, NULL if it did not walk it. */
bool ctr__prefilter_skips(const ctr__prefilter *pf, const char *data, size_t len, const ctr__record_facts *facts);

#endif
