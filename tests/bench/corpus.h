/* corpus.h - deterministic synthetic CloudTrail corpora and rule sets for the
 * benchmark (bench.c) and the prefilter equivalence test. */
#ifndef CTR_BENCH_CORPUS_H
#define CTR_BENCH_CORPUS_H

#include <stddef.h>
#include <stdint.h>

/* `n` CloudTrail records as NDJSON (about 1.6 KB each), the same bytes for
 * the same (n, seed): mostly read-only Describe/List/Get calls, AssumeRole,
 * KMS and S3 data events, a few percent RDS calls, rare risky writes, 3%
 * failed calls, 1% with escaped quotes in userAgent. Caller frees. NULL on
 * ENOMEM. */
char *ctb_corpus_ndjson(size_t n, uint64_t seed, size_t *len);

/* The same records as one CloudTrail log file {"Records":[...]}. */
char *ctb_corpus_logfile(size_t n, uint64_t seed, size_t *len);

/* The records alone, comma-separated: the middle of a log file, so that a
 * log file of any size can be streamed batch by batch. */
char *ctb_corpus_elements(size_t n, uint64_t seed, size_t *len);

/* `n` generated rules (YAML) in the style of Falco's CloudTrail rules: each
 * keyed on a write API of some service, with a second condition. Caller
 * frees. */
char *ctb_generated_rules(size_t n, size_t *len);

#endif
