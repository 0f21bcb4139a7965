/*
 * cli.h - shared declarations of the `ctrule` command-line tool.
 *
 * The tool uses only the public API (ctrule.h) and the C library. Modules:
 *   main.c      subcommand dispatch, help, version, `list`, `validate`
 *   rules.c     the rules options every subcommand shares, compiling a ruleset
 *   scan.c      `scan`: options, the run, stats, exit code; scan_output.c,
 *               scan_input.c, scan_workers.c, scan_correlate.c its parts (scan.h)
 *   walk.c      expanding PATH arguments (directories, recursively)
 *   output.c    colours, time stamps, sizes
 *   summary.c   the --summary drill-down
 *   fixtures.c  `test`: rule fixtures
 *   util.c      allocation, growable buffers, string counters
 */
#ifndef CTRULE_CLI_H
#define CTRULE_CLI_H

#include <ctrule.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------ exit codes */

/* Documented in `ctrule --help` and docs/rds-rules.md. */
enum {
  EXIT_OK = 0,           /* ran fine (alerts may have been reported) */
  EXIT_ALERTS = 1,       /* scan --fail-on-alert found alerts; test: a fixture failed */
  EXIT_USAGE = 2,        /* bad command line */
  EXIT_RULES = 3,        /* rules could not be loaded or compiled; validate found errors */
  EXIT_INPUT = 4,        /* an input could not be read, or held bad records (the rest was scanned) */
  EXIT_INTERNAL = 70,    /* out of memory or another internal failure */
  EXIT_OUTPUT = 74       /* standard output could not be written (sysexits' EX_IOERR) */
};

#define CTRULE_CLI_NAME "ctrule"

/* ------------------------------------------------------------ util.c */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Prints "ctrule: <message>" to stderr. */
void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Monotonic clock in seconds. */
double now_seconds(void);
bool str_ends_with(const char *s, const char *suffix);
/* False once a write to stdout has failed; the first failure's errno is kept
 * for stdout_finish's message. Cheap: call it after each write. */
bool stdout_ok(void);
/* Flushes stdout and turns a write failure anywhere in the command into
 * EXIT_OUTPUT with a message on stderr (nothing printed may be lost in
 * silence); `rc` is returned otherwise (and kept when it is EXIT_INTERNAL). */
int stdout_finish(int rc);

typedef struct buf {
  char *data;
  size_t len, cap;
} buf;

void buf_reserve(buf *b, size_t extra);
void buf_add(buf *b, const char *s, size_t n);
void buf_adds(buf *b, const char *s);
void buf_addc(buf *b, char c);
/* v in decimal: what an alert line prints per alert, without vsnprintf. */
void buf_add_u64(buf *b, uint64_t v);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_clear(buf *b);
void buf_free(buf *b);
/* NUL-terminated view (never NULL). */
const char *buf_str(buf *b);

/* A string -> counter table (open addressing), keys copied. */
typedef struct strcount_entry {
  char *key;
  uint64_t count;
  void *data; /* owned by the user of the table */
} strcount_entry;

typedef struct strcount {
  strcount_entry *v;
  size_t n, cap;   /* entries, in insertion order */
  size_t *slots;   /* hash slots: index + 1, 0 = empty */
  size_t nslots;
} strcount;

/* Finds or adds `key`; returns its entry (count unchanged on insertion: 0). */
strcount_entry *strcount_get(strcount *t, const char *key);
void strcount_add(strcount *t, const char *key, uint64_t n);
/* Entries sorted by count (desc) then key; the array is owned by the caller. */
strcount_entry **strcount_sorted(const strcount *t);
/* Frees keys and storage; `free_data` (may be NULL) is called on each data. */
void strcount_free(strcount *t, void (*free_data)(void *));

/* ------------------------------------------------------------ rules.c */

typedef struct rules_opts {
  const char **files; /* -r FILE, in order */
  size_t nfiles;
  bool no_builtin;
  int min_priority;   /* -1: not given */
  /* Selection, in command-line order. */
  struct selection {
    enum { SEL_ENABLE_TAG, SEL_DISABLE_TAG, SEL_ENABLE_RULE, SEL_DISABLE_RULE } kind;
    const char *value;
  } *sel;
  size_t nsel;
  bool enable_all; /* `test`: every rule enabled, whatever its `enabled` key says */
  /* --limit NAME=VALUE: applied to the compiler and to each scanner, each
   * taking the limits that apply to it. */
  uint64_t limits[CTR_LIMIT__COUNT];
  bool limit_set[CTR_LIMIT__COUNT];
} rules_opts;

void rules_opts_free(rules_opts *o);
/* Recognises one rules option at argv[*i] (advancing *i past its value).
 * Returns 1 if consumed, 0 if not a rules option, -1 on a usage error
 * (message printed). `allow_select` accepts the selection options. */
int rules_opts_parse(rules_opts *o, int argc, char **argv, int *i, bool allow_select);

/* What arg_next made of argv[*i]: the part every subcommand's loop shares. */
typedef enum arg_kind {
  ARG_OPERAND, /* a path or file name */
  ARG_TAKEN,   /* consumed: "--" or a rules option with its value */
  ARG_OWN,     /* an option for the subcommand itself (or unknown to all) */
  ARG_HELP,    /* -h/--help: the help was printed */
  ARG_USAGE,   /* a usage error: the message was printed */
} arg_kind;
/* `opts_done` records "--"; `dash_is_operand` makes "-" (stdin) an operand. */
arg_kind arg_next(const char *cmd, rules_opts *ro, int argc, char **argv, int *i, bool *opts_done,
                  bool allow_select, bool dash_is_operand);
/* Loads and compiles. Diagnostics go to `diag_out` (warnings and errors).
 * Returns EXIT_OK with *out set, or EXIT_RULES / EXIT_INTERNAL. */
int rules_build(const rules_opts *o, FILE *diag_out, ctr_ruleset **out, size_t *nerrors, size_t *nwarnings);
/* Applies the record and PCRE2 limits of --limit to a scanner. */
void rules_opts_apply_scanner_limits(const rules_opts *o, ctr_scanner *sc);
/* Whether rule i is a Sigma correlation (tagged sigma.correlation), and
 * whether the ruleset has an enabled one: a scan then correlates across
 * inputs (scan_correlate.c). */
bool rule_is_correlation(const ctr_ruleset *rs, size_t i);
bool ruleset_correlates(const ctr_ruleset *rs);
/* Help text of the rules options. */
extern const char RULES_OPTS_HELP[];
extern const char SELECT_OPTS_HELP[];

/* ------------------------------------------------------------ walk.c */

typedef struct input {
  char *path;    /* as it will be opened; "-" = stdin */
  char *display; /* as it is shown in messages */
} input;

typedef struct inputs {
  input *v;
  size_t n, cap;
  size_t skipped_files; /* files in directories without a recognised extension */
  size_t errors;        /* paths that could not be read (already reported) */
} inputs;

/* Expands one PATH argument: "-" (stdin), a file (taken whatever its name),
 * or a directory (walked recursively, sorted, hidden entries skipped; files
 * ending in .json, .json.gz, .ndjson, .ndjson.gz, .jsonl, .jsonl.gz kept). */
void inputs_add_path(inputs *in, const char *path);
void inputs_free(inputs *in);
bool input_name_recognised(const char *name);

/* ------------------------------------------------------------ output.c */

typedef struct colors {
  bool on;
} colors;

/* --color=auto|always|never: auto = stdout is a terminal and NO_COLOR is not
 * set (non-empty) and TERM is not "dumb". */
bool colors_decide(const char *when, FILE *stream, bool *ok);
const char *color_priority(bool on, int priority);
const char *color_dim(bool on);
const char *color_bold(bool on);
const char *color_reset(bool on);

/* "2024-08-01T12:38:06Z", fraction only when non-zero. */
void format_time_short(char out[64], int64_t ns);
/* Human-readable size ("1.5 MB"). */
void format_bytes(char out[32], double bytes);

/* ------------------------------------------------------------ summary.c */

typedef struct summary summary;

summary *summary_new(void);
/* Records one alert; runs the field probe on the matching record. Safe to
 * call from several threads at once (scan -j). */
int summary_add(summary *s, const ctr_match *m);
void summary_print(summary *s, FILE *out, bool color);
void summary_free(summary *s);

/* ------------------------------------------------------------ commands */

int cmd_scan(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_list(int argc, char **argv);

/* Prints usage of a subcommand (or the tool when NULL) to `out`. */
void print_help(const char *cmd, FILE *out);
/* "ctrule scan: unknown option '--x' (see 'ctrule scan --help')". */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The value of an option given as "--opt VALUE" or "--opt=VALUE"; advances *i.
 * Returns NULL (message printed) when the value is missing. */
const char *option_value(const char *cmd, int argc, char **argv, int *i, const char *name);
/* 1 if argv[*i] is `name` or starts with `name=`. */
bool option_is(const char *arg, const char *name);

#endif
