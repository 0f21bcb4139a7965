/*
 * select.h - candidate selection: which enabled rules a record may match,
 * decided before any rule is evaluated. One stage in two files, on one
 * derivation of what a rule's compiled condition requires:
 *   select.c    the keys (ctr__required_keys), the eventName index, and the
 *               stage's build;
 *   prefilter.c the raw-bytes prefilter: a record no rule can match is never
 *               parsed (keyed on the same keys, plus the literals a condition
 *               requires: prefilter_literals.c, prefilter_regex.c; searched
 *               with litmatch.c).
 * Everything built here lives in the ruleset's pool and is immutable, so any
 * number of scanners read it at once.
 */
#ifndef CTR_SELECT_H
#define CTR_SELECT_H

#include "compile.h"

/* A value a condition requires of a field: the field's value itself, or
 * (folded) what tolower() of it must be. */
typedef struct ctr__key {
  ctr__str s;
  bool folded;
} ctr__key;

/* The keys one of which the field has in every record a condition matches.
 * any: no key is required. nonstring: some key comes from
 * json.values[eventName], which also reads an eventName that is no string. */
typedef struct ctr__keyset {
  const ctr__key *v;
  size_t n;
  bool any, nonstring;
} ctr__keyset;

/* What deriving keys needs, made once per build (ctr__keys_ctx_make): the
 * scratch arena the key arrays go to, the ruleset whose slots conditions
 * name, and the fields that alias one another. */
typedef struct ctr__keys_ctx {
  ctr__arena *scratch;
  const ctr_ruleset *rs;
  const ctr__field_def *ct_name, *values; /* ct.name, and json.values (read as ct.name with [eventName]) */
} ctr__keys_ctx;
ctr__keys_ctx ctr__keys_ctx_make(ctr__arena *scratch, const ctr_ruleset *rs);

/* The keys condition c requires of `field`: from `=`, `in` and `intersects`
 * on it, through and/or (an and keeps its fewest keys; an or needs every
 * branch keyed and takes their union) and never under `not`. With folded,
 * also tolower(field) = / in and a wildcard-free iglob on the field (or, for
 * ct.name, on json.values[eventName]), as folded keys; without, those
 * require nothing. The array is allocated in kx->scratch; the key strings
 * are the condition's own (the ruleset's pool) or, for an iglob's, lowered
 * copies in scratch. Out of memory reads as any and sets scratch->failed,
 * which the caller checks. */
ctr__keyset ctr__required_keys(const ctr__keys_ctx *kx, const ctr__field_def *field, const ctr__cnode *c,
                               bool folded);

/* Builds rs->all (the enabled rules), the eventName index, then the
 * prefilter, into rs's pool, from the compiled rules. CTR_OK or CTR_ENOMEM
 * (what was built is left to the pool, freed with the ruleset). */
int ctr__select_build(ctr_ruleset *rs);

/* The rules to evaluate for a record whose eventName is (name,len) (NULL:
 * absent or not a string): *n indexes into rs->rules, in definition order,
 * borrowed from rs (valid while it lives). Never NULL when *n > 0. */
const uint32_t *ctr__index_lookup(const ctr_ruleset *rs, const char *name, size_t len, size_t *n);

/* n zeroed bytes (at least one) in the pool; NULL when out of memory. */
void *ctr__select_zalloc(ctr__arena *pool, size_t n);

/* prefilter_regex.c. What every string the PCRE2 pattern pat[0..len) fully
 * matches holds: one of (*out)[0..*n), none empty, at most 16, in scratch.
 * False when nothing is known to be required (a construct it does not
 * model, or out of memory: then scratch->failed is set); *out and *n are
 * written only on true. */
bool ctr__regex_literals(ctr__arena *scratch, const char *pat, size_t len, ctr__str **out, size_t *n);
/* Builds rs->prefilter (left NULL when some enabled rule has
 * neither a key nor a required literal) from the compiled rules and rs->all,
 * into rs's pool. CTR_OK or CTR_ENOMEM. */
int ctr__prefilter_build(ctr_ruleset *rs);
/* True when the raw record data[0..len) is valid, complete, and no rule can
 * match it. facts: what the framer's walk read of it, NULL if it did not walk
 * it. Reads only; keeps nothing. */
bool ctr__prefilter_skips(const ctr__prefilter *pf, const char *data, size_t len, const ctr__record_facts *facts);

#endif
