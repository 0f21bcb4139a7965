/*
 * litmatch.h - searching a record's bytes for many literals in one pass
 * (litmatch.c), for the prefilter's required literals.
 */
#ifndef CTR_LITMATCH_H
#define CTR_LITMATCH_H

#include "internal.h"

/* Whether hay[0..m) is lit[0..m) (in ASCII lower case) with its letters in
 * either case. */
bool ctr__folded_equal(const char *hay, const char *lit, size_t m);
/* Whether hay holds lit (in ASCII lower case) with its letters in either case. */
bool ctr__contains_folded(const char *hay, size_t n, const char *lit, size_t m);

typedef struct ctr__litmatch ctr__litmatch;
/* A matcher for lits[0..n) (borrowed; folded[i]: lits[i] is in ASCII lower
 * case and matches its letters in either case), allocated in pool. NULL on
 * ENOMEM (pool's failure flag is set). */
ctr__litmatch *ctr__litmatch_build(ctr__arena *pool, const ctr__str *lits, const bool *folded, uint32_t n);
/* Sets bit i of found (n bits, zeroed by the caller) for every literal i
 * that hay holds. */
void ctr__litmatch_scan(const ctr__litmatch *m, const char *hay, size_t len, uint64_t *found);

#endif
