/* simdjson_baseline.h - the benchmark's simdjson baselines (C linkage; the
 * C++ side is simdjson_baseline.cpp, built only when meson finds Debian's
 * libsimdjson-dev: CTR_BENCH_SIMDJSON). Never part of the library. */
#ifndef CTR_BENCH_SIMDJSON_BASELINE_H
#define CTR_BENCH_SIMDJSON_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes that must be readable (any value) after the last byte of a buffer
 * handed to the functions below: simdjson reads whole SIMD blocks. */
size_t ctb_simdjson_padding(void);

/* For every NDJSON line of data[0, len): an On-Demand pass that reads the
 * record's eventSource and stops (no full validation: what simdjson
 * On-Demand does when the fields are known). *records counts lines,
 * *rds those whose eventSource is rds.amazonaws.com. -1 if a line has no
 * string eventSource or is not JSON simdjson accepts. */
int ctb_simdjson_eventsource(const char *data, size_t len, uint64_t *records, uint64_t *rds);

/* The same with simdjson's DOM parser: every line parsed and validated
 * whole, then eventSource looked up. */
int ctb_simdjson_dom(const char *data, size_t len, uint64_t *records, uint64_t *rds);

/* Which simdjson kernel runs (icelake, haswell, westmere, fallback). */
const char *ctb_simdjson_kernel(void);

#ifdef __cplusplus
}
#endif

#endif
