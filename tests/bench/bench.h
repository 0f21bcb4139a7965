/* bench.h - the pieces of ctrule-bench: the runner (runner.c), the cases
 * (cases.c), the rule sets (rules.c) and the suite and its targets
 * (bench.c). */
#ifndef CTR_BENCH_H
#define CTR_BENCH_H

#include <ctrule.h>
#include <stddef.h>
#include <stdint.h>

/* What a case reads: bytes holding `records` records. A gzip input of many
 * files has nfiles > 0 and file k in data[ends[k-1], ends[k]). `warm`, if
 * set, is a smaller input of the same kind for the untimed warm-up run. */
typedef struct input {
  const char *data;
  size_t len, records;
  const struct input *warm;
  const size_t *ends;
  size_t nfiles;
} input;

typedef struct result {
  double seconds;    /* CPU time of the timed run */
  uint64_t count;    /* records seen */
  uint64_t alerts;   /* alerts (or, for a baseline, RDS records: a check) */
  uint64_t evaluated;
  long peak_rss_kb;
  int failed;
} result;

typedef int (*case_fn)(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated);

typedef struct bench_case {
  const char *name;
  case_fn fn; /* NULL: not run (a baseline that was not built) */
  const input *in;
  const void *arg;
  result best;
} bench_case;

/* runner.c */
double ctb_cpu_now(void);
/* Zeroed bytes every input holds past its end (simdjson reads them). */
size_t ctb_input_pad(void);
void ctb_die(const char *what);
/* Round robin over the cases, `rounds` times, each run in a forked child;
 * each case keeps its best round. */
void ctb_run_rounds(bench_case *cases, size_t ncases, int rounds);
/* records/s of a case's best round; 0 if it failed or was not run. */
double ctb_rate(const bench_case *c);

/* cases.c */
typedef struct scan_arg {
  ctr_ruleset *rs;
  unsigned flags;
  size_t chunk; /* feed size */
  int read_output; /* the callback reads each alert's output and fields (rendered on first read) */
} scan_arg;

typedef struct stream_arg {
  ctr_ruleset *rs;
  double gb;
} stream_arg;

int ctb_case_memchr(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated);
int ctb_case_jansson(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated);
int ctb_case_simdjson(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated);
int ctb_case_simdjson_dom(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated);
/* A scanner over the input, fed `chunk` bytes at a time; a gzip input of
 * many files is fed file by file, the scanner reset between them (as the
 * CLI does). Fails on a bad record. */
int ctb_case_scan(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated);
/* zlib alone inflating the same gzip bytes into a 256 KiB scratch buffer,
 * with zlib's CRC-32 and length check (arg: const int *, 1) or without
 * (0); file by file for an input of many files (inflateReset between). */
int ctb_case_inflate(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated);
/* libdeflate inflating each file of an input of many gzip files whole, in
 * one call (what it can do and zlib's streaming cannot): information, how
 * far a whole-file inflate would move the gzip cases' ceiling. */
int ctb_case_libdeflate(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated);
/* A log file of `gb` GB generated batch by batch and streamed. */
int ctb_case_stream(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated);
/* The ctrule CLI as a whole process (read, compile, scan; what a user
 * runs): `CLI scan -q --stats --no-progress [--no-builtin] [-r RULES] PATH`,
 * its records and alerts read from --stats; fails on a non-zero exit or a
 * bad record. The input's bytes are not read: PATH holds them. */
typedef struct cli_arg {
  const char *cli, *path, *rules;
  int no_builtin;
} cli_arg;
int ctb_case_cli(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated);
/* gzip (level 6) of a buffer; NULL on failure. */
char *ctb_gzip(const char *data, size_t len, size_t *out_len);
/* The NDJSON input as gzipped CloudTrail log files of `per_file` records
 * each (per_file 0: one file), into *out (ends allocated). */
int ctb_gzip_logfiles(const input *ndjson, size_t per_file, input *out, size_t **ends);

/* rules.c: every rule set of the suite, compiled once. */
typedef struct bench_rules {
  ctr_ruleset *rds, *rds20, *rds20_1k, *rds22, *root, *srcip, *real1k, *real10k;
  ctr_ruleset *request; /* ct.request contains "0.0.0.0/0": a literal inside compact JSON, no eventName */
  ctr_ruleset *floor; /* one rule on an eventName no record has: every record vouched for, none parsed */
  double compile_1k_s, compile_10k_s; /* the realistic rules alone, best of three */
  int builtin_10k_loads;              /* built-in + 10,000 compile with the default limits */
  char builtin_10k_error[512];        /* if not, the first error */
} bench_rules;

/* The RDS + 20 set alone (all ctrule-bench -1 needs; the streaming case
 * runs with it before the rest are compiled, so that its peak RSS is the
 * scanner's), then the rest. */
void ctb_rules_compile(bench_rules *r);
void ctb_rules_compile_rest(bench_rules *r);
void ctb_rules_report(const bench_rules *r);
void ctb_rules_free(bench_rules *r);

/* bench.c: the figures the targets are checked against, per corpus. */
typedef struct bench_targets {
  const char *label;
  double simd, jansson, dom;                      /* baseline rates; simdjson's validating parse */
  double floor;                                   /* ctrule vouching for every record, no rule to read */
  double rds, root, srcip, request, real1k, real10k, rds22, rds22_read; /* rates */
  double rds_32k;                                 /* built-in RDS rules fed 32 KiB at a time */
  double rds20, rds20_1k;                         /* the earlier suite's */
  double gz_files, inflate_files, gz_big, inflate_big;
  double cli_rds, cli_22, cli_files, cli_big;     /* the CLI, whole process */
} bench_targets;

#endif
