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

/* `n` rules written the way a security team keeps watch lists: n/5 each on
 * PutBucketPolicy, TerminateInstances, AssumeRole, AttachUserPolicy and
 * Decrypt (frequent calls, all present in the generated corpus and in the
 * shared real records), each naming a bucket, instance, role, user and
 * policy, or key context in a request-field literal; a few match. Caller
 * frees. */
char *ctb_realistic_rules(size_t n, size_t *len);

/* The non-empty lines of `data` repeated, in order, until there are `n`:
 * a small real sample grown to a corpus. NULL if `data` has no line or on
 * ENOMEM. */
char *ctb_replicate_lines(const char *data, size_t len, size_t n, size_t *out_len);

/* The non-empty NDJSON lines of `ndjson` as one CloudTrail log file
 * {"Records":[...]}. */
char *ctb_logfile_of_lines(const char *ndjson, size_t len, size_t *out_len);

#endif
