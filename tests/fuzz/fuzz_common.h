/* fuzz_common.h - helpers shared by the libFuzzer targets: building a rules
 * file around fuzzed text, compiling it, and a match callback that reads
 * every accessor so rendering and field extraction run in full. */
#ifndef CTR_FUZZ_COMMON_H
#define CTR_FUZZ_COMMON_H

#include <ctrule.h>

#include <stddef.h>
#include <stdint.h>

/* A growable text buffer; aborts on out-of-memory (a fuzz harness has no
 * better answer, and libFuzzer reports it as a crash with the input). */
typedef struct fuzz_text {
  char *data;
  size_t len, cap;
} fuzz_text;

void fuzz_text_add(fuzz_text *t, const char *s, size_t n);
void fuzz_text_adds(fuzz_text *t, const char *s);
void fuzz_text_free(fuzz_text *t);

/* Appends `n` bytes as the body of a YAML literal block scalar indented by
 * `indent` spaces. Bytes YAML cannot carry in a block (control characters,
 * non-ASCII) become spaces, so the fuzzer's effort reaches the condition
 * grammar or the output template instead of stopping in libyaml. */
void fuzz_text_add_block(fuzz_text *t, const uint8_t *s, size_t n, int indent);

/* Compiles `yaml` (plus the built-in "rds" ruleset first when with_rds).
 * Every diagnostic's text is rendered. Returns the ruleset or NULL. */
ctr_ruleset *fuzz_compile(const char *yaml, size_t len, int with_rds);

/* What a scan reported, folded into hashes so that two scans of the same
 * data (chunked differently, indexed or not) can be compared. */
typedef struct fuzz_digest {
  uint64_t matches; /* every match accessor's value */
  uint64_t errors;  /* every record error's text and kind */
} fuzz_digest;

/* Match callback that calls every ctr_match_* accessor and folds what it
 * reads into the fuzz_digest pointed to by user_data (may be NULL). */
int fuzz_on_match(const ctr_match *m, void *user_data);

/* What a match callback reads in varying order: the output, the output
 * fields by index and by name, and the Falco JSON line are rendered on the
 * first read of any of them, so which comes first must not change what any
 * reads. */
typedef struct fuzz_reader {
  fuzz_digest digest;
  uint32_t order;  /* xorshift state picking each match's reading order; 0: one fixed order */
  const char *log; /* if set, each match is printed to stderr under this label */
} fuzz_reader;

/* Match callback (user_data: a fuzz_reader) that reads every accessor in
 * the order reader->order picks, checks that reads of the same value agree,
 * and folds the values into reader->digest in one fixed order, so that scans
 * reading in different orders compare equal. */
int fuzz_on_match_any_order(const ctr_match *m, void *user_data);

/* Record-error callback that renders the report into the fuzz_digest
 * pointed to by user_data (may be NULL). */
void fuzz_on_record_error(const ctr_record_error *e, void *user_data);

/* Scans `len` bytes in one feed and finishes; returns the first non-OK
 * status of feed and finish. */
int fuzz_scan_once(ctr_ruleset *rs, const void *buf, size_t len, unsigned flags, fuzz_digest *digest);

/* Scans `buf` with and without the eventName index (and prefilter) and
 * aborts unless both report the same matches (every value, read in
 * different orders), the same record errors and the same status, as
 * CTR_SCAN_NO_INDEX promises. */
void fuzz_check_index_agrees(ctr_ruleset *rs, const void *buf, size_t len);

/* xorshift32: reproducible choices from an input's seed bytes (x != 0). */
uint32_t fuzz_xorshift32(uint32_t x);

/* FNV-1a over bytes, folded into *h. */
void fuzz_hash(uint64_t *h, const void *p, size_t n);

/* A few complete CloudTrail records, NDJSON, to evaluate compiled rules on. */
extern const char fuzz_sample_records[];

/* Aborts with a message: how a harness reports a broken invariant. */
_Noreturn void fuzz_fail(const char *fmt, ...);

#endif
