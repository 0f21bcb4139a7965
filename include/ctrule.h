/*
 * ctrule.h - the one public header of libctrule.
 *
 * libctrule evaluates Falco-format rules (source aws_cloudtrail) over AWS
 * CloudTrail records and calls back on every match.
 *
 * The pipeline, as the API exposes it:
 *
 *   ctr_compiler  --add files/strings/built-ins, select rules-->  ctr_ruleset
 *   ctr_ruleset   (immutable, reference counted, shared by any number of threads)
 *   ctr_scanner   (one per thread or per stream: feed bytes in any chunking, finish)
 *   ctr_match     (borrowed view handed to the match callback)
 *
 * Conventions (the same for every function):
 *   - Functions returning int return a ctr_status: CTR_OK (0), CTR_STOPPED (1,
 *     not an error) or a negative error code. The exceptions are accessors
 *     whose name says what they return, a value rather than a status:
 *     ctr_priority_parse, ctr_*_priority, ctr_diag_severity and the 0/1
 *     predicates ctr_ruleset_rule_enabled and ctr_record_error_evaluated.
 *   - `*out` parameters are written only on success.
 *   - Destructors accept NULL.
 *   - Strings handed to callbacks and returned by accessors are borrowed:
 *     valid only for the duration of the callback or the life of the owner.
 *   - The library never prints, never aborts and has no global state or init.
 *   - No struct layout is public: everything is reached through accessors, so
 *     the ABI can grow and bindings (SWIG, cgo) need no shims.
 *
 * Thread model: a ctr_ruleset is immutable after ctr_compiler_compile() and
 * may be used concurrently from any number of threads (its reference count is
 * atomic). A ctr_compiler and a ctr_scanner are not thread-safe: use each from
 * one thread at a time. A scanner must not be fed from inside its own match
 * callback (CTR_EBUSY). The ctr_match a callback gets is its scanner's (its
 * output is rendered into the scanner on the first read): read it from the
 * callback's thread.
 */
#ifndef CTRULE_H
#define CTRULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(CTR_BUILDING_SHARED)
#define CTR_API __declspec(dllexport)
#elif defined(__GNUC__) && defined(CTR_BUILDING)
#define CTR_API __attribute__((visibility("default")))
#else
#define CTR_API
#endif

/* ---------------------------------------------------------------- version */

#define CTR_VERSION_MAJOR 0
#define CTR_VERSION_MINOR 1
#define CTR_VERSION_PATCH 0
#define CTR_VERSION_STRING "0.1.0"
#define CTR_VERSION_HEX                                                    \
  ((CTR_VERSION_MAJOR << 16) | (CTR_VERSION_MINOR << 8) | CTR_VERSION_PATCH)

/* Falco engine version whose rule format we implement; rules files may state
 * `required_engine_version` up to this. */
#define CTR_ENGINE_VERSION_STRING "0.63.0"
/* Version of the Falco CloudTrail plugin whose fields we implement. */
#define CTR_CLOUDTRAIL_PLUGIN_VERSION_STRING "0.17.1"
/* Version of the Falco json plugin whose fields we implement. */
#define CTR_JSON_PLUGIN_VERSION_STRING "0.7.3"

/** Runtime version, equal to CTR_VERSION_HEX of the headers it was built with. */
CTR_API unsigned ctr_version(void);
/** Runtime version as "MAJOR.MINOR.PATCH". */
CTR_API const char *ctr_version_string(void);

/* ----------------------------------------------------------------- status */

/* One table yields the enum, ctr_strerror() and ctr_status_name(). */
#define CTR_STATUS_MAP(XX)                                                      \
  XX(OK, 0, "success")                                                          \
  XX(STOPPED, 1, "scan stopped by the match callback")                          \
  XX(ENOMEM, -1, "out of memory")                                               \
  XX(EINVAL, -2, "invalid argument")                                            \
  XX(ESYNTAX, -3, "invalid rules")                                              \
  XX(EIO, -4, "input/output error")                                             \
  XX(EDATA, -5, "invalid event data")                                           \
  XX(ENOENT, -6, "not found")                                                   \
  XX(EBUSY, -7, "scanner re-entered from its own callback")                     \
  XX(ELIMIT, -8, "a configured limit was exceeded")                             \
  XX(EVERSION, -9, "unsatisfied version requirement")                           \
  XX(ESTATE, -10, "call not allowed in the object's current state")

typedef enum ctr_status {
#define CTR__STATUS_ENUM(name, code, text) CTR_##name = code,
  CTR_STATUS_MAP(CTR__STATUS_ENUM)
#undef CTR__STATUS_ENUM
} ctr_status;

/** Human message for a status; never NULL ("unknown status" for others). */
CTR_API const char *ctr_strerror(int status);
/** Symbolic name of a status without prefix ("ESYNTAX"); never NULL. */
CTR_API const char *ctr_status_name(int status);

/* --------------------------------------------------------------- priority */

/* Falco's eight priorities; a lower number is more severe. */
typedef enum ctr_priority {
  CTR_PRIORITY_EMERGENCY = 0,
  CTR_PRIORITY_ALERT = 1,
  CTR_PRIORITY_CRITICAL = 2,
  CTR_PRIORITY_ERROR = 3,
  CTR_PRIORITY_WARNING = 4,
  CTR_PRIORITY_NOTICE = 5,
  CTR_PRIORITY_INFORMATIONAL = 6,
  CTR_PRIORITY_DEBUG = 7
} ctr_priority;

/** Canonical Falco name ("Critical", "Informational", ...); NULL if invalid. */
CTR_API const char *ctr_priority_name(int priority);
/** Parses a priority name, case-insensitive, "info" accepted.
 *  Returns the priority (0..7) or CTR_EINVAL. */
CTR_API int ctr_priority_parse(const char *name);

/* ------------------------------------------------------------ diagnostics */

typedef enum ctr_severity { CTR_SEVERITY_ERROR = 0, CTR_SEVERITY_WARNING = 1 } ctr_severity;

/* One diagnostic from loading or compiling rules. Borrowed view. */
typedef struct ctr_diag ctr_diag;

/** CTR_SEVERITY_ERROR or CTR_SEVERITY_WARNING. */
CTR_API int ctr_diag_severity(const ctr_diag *d);
/** File name given to ctr_compiler_add_file/_string; never NULL. */
CTR_API const char *ctr_diag_file(const ctr_diag *d);
/** 1-based line and column in that file; 0 when unknown. */
CTR_API unsigned ctr_diag_line(const ctr_diag *d);
CTR_API unsigned ctr_diag_column(const ctr_diag *d);
/** Name of the rule, macro or list concerned, or NULL. */
CTR_API const char *ctr_diag_item(const ctr_diag *d);
/** Stable machine-readable code in Falco's style ("LOAD_ERR_YAML_PARSE",
 *  "LOAD_UNKNOWN_KEY", ...); never NULL. */
CTR_API const char *ctr_diag_code(const ctr_diag *d);
/** The message, without position; never NULL. */
CTR_API const char *ctr_diag_message(const ctr_diag *d);
/** "file:line:col: error: message (rule 'x')", ready to print; never NULL. */
CTR_API const char *ctr_diag_text(const ctr_diag *d);

typedef void (*ctr_diag_fn)(const ctr_diag *d, void *user_data);

/* --------------------------------------------------------------- compiler */

typedef struct ctr_compiler ctr_compiler;
typedef struct ctr_ruleset ctr_ruleset;

/** Creates a compiler. Definitions accumulate across the add calls, in order,
 *  exactly as Falco loads several rules files. */
CTR_API int ctr_compiler_new(ctr_compiler **out);
CTR_API void ctr_compiler_free(ctr_compiler *c);

/** Every diagnostic is also passed to this callback as it is produced. */
CTR_API void ctr_compiler_set_diag_callback(ctr_compiler *c, ctr_diag_fn fn, void *user_data);

/** Loads a rules file. Returns CTR_OK (warnings may have been produced),
 *  CTR_ESYNTAX (an error diagnostic was produced; as in Falco, loading of that
 *  file stopped at its first error), CTR_EIO, CTR_EVERSION. */
CTR_API int ctr_compiler_add_file(ctr_compiler *c, const char *path);
/** Loads rules from memory; `name` is used as the file name in diagnostics. */
CTR_API int ctr_compiler_add_string(ctr_compiler *c, const char *yaml, size_t len, const char *name);
/** Loads a ruleset compiled into the library ("rds"). CTR_ENOENT if unknown. */
CTR_API int ctr_compiler_add_builtin(ctr_compiler *c, const char *name);

/** Number of built-in rulesets, their names and their YAML text. */
CTR_API size_t ctr_builtin_count(void);
CTR_API const char *ctr_builtin_name(size_t i);
CTR_API const char *ctr_builtin_yaml(const char *name, size_t *len);

/* Selection, applied at compile time in the order the calls were made, on top
 * of each rule's own `enabled` key (Falco's -D/-t/-T semantics). */
/** Enables (enable=1) or disables (0) every rule whose name matches the glob
 *  (fnmatch: `*`, `?`, `[...]`). */
CTR_API int ctr_compiler_select_name(ctr_compiler *c, const char *glob, int enable);
/** Enables or disables every rule carrying the tag (exact, case-sensitive). */
CTR_API int ctr_compiler_select_tag(ctr_compiler *c, const char *tag, int enable);
/** Rules less severe than this priority stay disabled (default DEBUG: all). */
CTR_API int ctr_compiler_set_min_priority(ctr_compiler *c, int priority);
/** Sets a rules limit or a PCRE2 limit (see ctr_limit below; 0: the
 *  default). YAML and rules-count limits apply to the files added after the
 *  call. CTR_EINVAL for a record limit or an unknown one. */
CTR_API int ctr_compiler_set_limit(ctr_compiler *c, int limit, uint64_t value);

/** Resolves macros and lists, parses and compiles every rule, and returns an
 *  immutable ruleset. CTR_ESYNTAX if any error diagnostic exists. The
 *  compiler may be freed right after; the ruleset does not refer to it. */
CTR_API int ctr_compiler_compile(ctr_compiler *c, ctr_ruleset **out);

/** Diagnostics produced so far, in order (warnings and errors). */
CTR_API size_t ctr_compiler_diag_count(const ctr_compiler *c);
CTR_API const ctr_diag *ctr_compiler_diag(const ctr_compiler *c, size_t i);
/** Number of error diagnostics so far. */
CTR_API size_t ctr_compiler_error_count(const ctr_compiler *c);

/* ---------------------------------------------------------------- ruleset */

/** Takes a reference; returns rs. Thread-safe. */
CTR_API ctr_ruleset *ctr_ruleset_ref(ctr_ruleset *rs);
/** Drops a reference; frees on the last one. NULL-safe. Thread-safe. */
CTR_API void ctr_ruleset_unref(ctr_ruleset *rs);

/* Every compiled rule, enabled or not, in definition order. */
CTR_API size_t ctr_ruleset_rule_count(const ctr_ruleset *rs);
CTR_API const char *ctr_ruleset_rule_name(const ctr_ruleset *rs, size_t i);
CTR_API const char *ctr_ruleset_rule_desc(const ctr_ruleset *rs, size_t i);
CTR_API const char *ctr_ruleset_rule_condition(const ctr_ruleset *rs, size_t i);
CTR_API const char *ctr_ruleset_rule_output(const ctr_ruleset *rs, size_t i);
/** The rule's priority (0..7), or CTR_EINVAL if i is out of range. */
CTR_API int ctr_ruleset_rule_priority(const ctr_ruleset *rs, size_t i);
/** 1 if the rule is enabled after selection, 0 if not or if i is out of range. */
CTR_API int ctr_ruleset_rule_enabled(const ctr_ruleset *rs, size_t i);
CTR_API size_t ctr_ruleset_rule_tag_count(const ctr_ruleset *rs, size_t i);
CTR_API const char *ctr_ruleset_rule_tag(const ctr_ruleset *rs, size_t i, size_t t);
/** Number of enabled rules. */
CTR_API size_t ctr_ruleset_enabled_count(const ctr_ruleset *rs);

/* ----------------------------------------------------------------- fields */

/* Every field a condition or output may name (ct.*, s3.*, ec2.*, ecr.*,
 * iam.*, json.*, jevt.*, evt.*, rds.*). */
CTR_API size_t ctr_field_count(void);
CTR_API const char *ctr_field_name(size_t i);
CTR_API const char *ctr_field_desc(size_t i);
/** "string", "uint64" or "list". */
CTR_API const char *ctr_field_type(size_t i);

/* ---------------------------------------------------------------- matches */

typedef struct ctr_match ctr_match;

CTR_API const char *ctr_match_rule(const ctr_match *m);
/** The matching rule's priority (0..7). */
CTR_API int ctr_match_priority(const ctr_match *m);
/** Always "aws_cloudtrail". */
CTR_API const char *ctr_match_source(const ctr_match *m);
/** The rule's output template rendered Falco's way (absent fields: "<NA>").
 *  The output and the output fields are rendered on the callback's first
 *  read of either (or of ctr_match_json): a callback that reads only the
 *  rule, priority, time or record pays nothing for them. NULL only when
 *  memory ran out rendering them; ctr_match_field_value then returns NULL,
 *  ctr_match_field and ctr_match_json CTR_ENOMEM, and the scan returns
 *  CTR_ENOMEM once the callback returns. */
CTR_API const char *ctr_match_output(const ctr_match *m);
CTR_API size_t ctr_match_tag_count(const ctr_match *m);
CTR_API const char *ctr_match_tag(const ctr_match *m, size_t i);
/** Falco's output_fields: every field named in the output template, in
 *  order of first appearance, with its rendered value. An absent field has
 *  value NULL (Falco prints <NA>; its JSON output has null), as has every
 *  field when memory ran out rendering them (ctr_match_output NULL). */
CTR_API size_t ctr_match_field_count(const ctr_match *m);
CTR_API const char *ctr_match_field_name(const ctr_match *m, size_t i);
CTR_API const char *ctr_match_field_value(const ctr_match *m, size_t i);
/** Looks up an output field by name ("ct.user", "json.value[/a/b]").
 *  CTR_OK with *value (NULL when absent); CTR_ENOENT if not an output field;
 *  CTR_ENOMEM if memory ran out rendering the fields (see ctr_match_output). */
CTR_API int ctr_match_field(const ctr_match *m, const char *name, const char **value);
/** Event time (eventTime) in nanoseconds since the epoch; 0 if absent/invalid. */
CTR_API int64_t ctr_match_time(const ctr_match *m);
/** The raw bytes of the matching record (not NUL-terminated; *len set). */
CTR_API const char *ctr_match_event(const ctr_match *m, size_t *len);
/** Index (0-based) of the record in the stream, and its byte offset in the
 *  (decompressed) stream. */
CTR_API uint64_t ctr_match_record_index(const ctr_match *m);
CTR_API uint64_t ctr_match_byte_offset(const ctr_match *m);
/** 1 when the scanner runs with CTR_SCAN_NO_CORRELATION and this match is
 *  one that `generate: false` of the correlations naming its rule would have
 *  silenced (a caller forwarding records to a correlating scanner does not
 *  show it); 0 otherwise. */
CTR_API int ctr_match_silenced(const ctr_match *m);

/* Options of ctr_match_json(). 0 gives the line Falco writes with
 * json_output: true and its default json_* options; each flag is one of
 * Falco's options (or, CTR_JSON_EVENT_ID, an extra field as Falco's
 * append_output adds them). */
typedef enum ctr_json_flag {
  /* output_fields gets "ct.id", the record's eventID (null when absent), as
   * Falco's append_output with extra_output_fields {ct.id: "%ct.id"} would:
   * the key a consumer de-duplicates at-least-once deliveries by. */
  CTR_JSON_EVENT_ID = 1u << 0,
  /* "message": the output without Falco's time and priority prefix
   * (json_include_message_property: true). */
  CTR_JSON_MESSAGE = 1u << 1,
  /* No "output" (json_include_output_property: false). */
  CTR_JSON_NO_OUTPUT = 1u << 2,
  /* No "output_fields" (json_include_output_fields_property: false). */
  CTR_JSON_NO_OUTPUT_FIELDS = 1u << 3,
  /* No "tags" (json_include_tags_property: false). */
  CTR_JSON_NO_TAGS = 1u << 4,
  /* The output's prefix is %evt.time.iso8601 instead of %evt.time
   * (time_format_iso_8601: true). */
  CTR_JSON_TIME_ISO8601 = 1u << 5,
  CTR__JSON_ALL = (1u << 6) - 1
} ctr_json_flag;

/** The match as one line of Falco's JSON alert output (no newline), the
 *  same bytes for the same match and flags in every tool built on the
 *  library (docs/alert-format.md):
 *    {"hostname", ["message",] "output", "output_fields", "priority",
 *     "rule", "source", "tags", "time"}, keys sorted as Falco writes them;
 *    "output" is "<evt.time>: <Priority> <ctr_match_output()>";
 *    "output_fields" holds every field of the template typed as Falco types
 *    it (uint64 fields as numbers, list fields as arrays, absent ones null,
 *    evt.time and the other time fields as the event time in ns) plus the
 *    prefix's evt.time; "time" is eventTime in UTC with nine digits of
 *    nanoseconds ("2024-08-01T12:38:06.000000000Z"); "hostname" is this
 *    host's name (evt.hostname).
 *  On CTR_OK, *out is a NUL-terminated string owned by the caller, to be
 *  released with ctr_free(), and *len (if len is not NULL) its length.
 *  CTR_EINVAL for an unknown flag, CTR_ENOMEM; *out is written only on
 *  success. Call it only during the match callback. */
CTR_API int ctr_match_json(const ctr_match *m, unsigned flags, char **out, size_t *len);
/** ctr_match_json's line written into the caller's memory, as snprintf
 *  does: on CTR_OK *len is the line's length, and the line is in buf
 *  whole when *len <= cap, with a NUL after it when *len < cap; when
 *  *len > cap, buf holds its first cap bytes and a caller retries with
 *  *len bytes. Nothing is written past the line and its NUL nor beyond
 *  cap; when *len < cap the line is written in place (no memory is
 *  allocated for it). CTR_EINVAL for an unknown flag, m or len NULL, or buf
 *  NULL with cap > 0; CTR_ENOMEM (buf's bytes then undefined); *len is
 *  written only on success. Call it only during the match callback. */
CTR_API int ctr_match_json_to(const ctr_match *m, unsigned flags, char *buf, size_t cap, size_t *len);
/** Saves what the match's JSON line is written from, so that the line can
 *  be written after the callback returns, and only if it is wanted: the
 *  rendered output and values, the rule's part of the line, the host name,
 *  the eventID and the time. Written into the caller's memory as
 *  ctr_match_json_to writes (on CTR_OK *len is the size of the saved
 *  bytes, which are in buf whole when *len <= cap; nothing is written
 *  beyond cap). The bytes hold no pointer: they may be copied or moved, and
 *  outlive the scanner and the ruleset. ctr_saved_json writes from them the
 *  line ctr_match_json writes for the match with the same flags, byte for
 *  byte. They are of this library version and this machine: not a format
 *  to store or to send. CTR_EINVAL for m or len NULL, or buf NULL with
 *  cap > 0; CTR_ENOMEM. Call it only during the match callback. */
CTR_API int ctr_match_save(const ctr_match *m, void *buf, size_t cap, size_t *len);
/** ctr_match_json of a match saved by ctr_match_save: `saved`, n bytes,
 *  from any thread, at any time (it reads the bytes and nothing else).
 *  CTR_EINVAL for an unknown flag, saved or out NULL, or bytes that are not
 *  a saved match whole (cut short, with bytes after them, damaged, or of
 *  another library version: every count, length and offset is checked
 *  before it is used); CTR_ENOMEM. *out and *len are written only on
 *  success. */
CTR_API int ctr_saved_json(const void *saved, size_t n, unsigned flags, char **out, size_t *len);
/** ctr_match_json_to of a match saved by ctr_match_save; the errors of
 *  both ctr_saved_json and ctr_match_json_to. */
CTR_API int ctr_saved_json_to(const void *saved, size_t n, unsigned flags, char *buf, size_t cap, size_t *len);
/** Releases memory the library handed to the caller (ctr_match_json).
 *  NULL-safe. */
CTR_API void ctr_free(void *p);

/** Match callback: return 0 to continue, non-zero to stop the scan, which then
 *  returns CTR_STOPPED. */
typedef int (*ctr_match_fn)(const ctr_match *m, void *user_data);

/* ---------------------------------------------------------- record errors */

/* A report about one record. Either the record could not be evaluated
 * (invalid JSON, not an object, truncated, over a limit, undecodable gzip:
 * ctr_record_error_evaluated() == 0, counted in CTR_STAT_BAD_RECORDS), or it
 * was evaluated but is not a complete CloudTrail record (eventVersion,
 * eventTime, eventName, awsRegion strings, eventSource ending in
 * ".amazonaws.com", userIdentity object: evaluated == 1, counted in
 * CTR_STAT_INCOMPLETE, once per record), or one rule was left undecided on it
 * by a PCRE2 limit (status CTR_ELIMIT, evaluated == 1), or a correlation could
 * not count a match of it (evaluated == 1; docs/sigma.md). Reports about the
 * rules or correlations are counted in no statistic: the callback sees them.
 * A report's statistic is counted before the callback is made, so a callback
 * tells a record's completeness report from the others by the growth of
 * CTR_STAT_INCOMPLETE.
 * Borrowed view. The scanner carries on either way. */
typedef struct ctr_record_error ctr_record_error;

CTR_API int ctr_record_error_status(const ctr_record_error *e);
CTR_API uint64_t ctr_record_error_index(const ctr_record_error *e);
CTR_API uint64_t ctr_record_error_offset(const ctr_record_error *e);
CTR_API const char *ctr_record_error_message(const ctr_record_error *e);
/** 1 if the record was still evaluated (incomplete record), 0 if not. */
CTR_API int ctr_record_error_evaluated(const ctr_record_error *e);
/** "record 12 at byte 40960: invalid JSON: ..." */
CTR_API const char *ctr_record_error_text(const ctr_record_error *e);

typedef void (*ctr_record_error_fn)(const ctr_record_error *e, void *user_data);

/* ---------------------------------------------------------------- scanner */

typedef struct ctr_scanner ctr_scanner;

/* Input format. AUTO recognises, by itself and per top-level value: a
 * CloudTrail log file {"Records":[...]} (streamed record by record), NDJSON,
 * a single record, concatenated objects, a JSON array of records, an
 * EventBridge envelope (its `detail`), a CloudWatch Logs subscription payload
 * (each `logEvents[].message`), a CloudTrail digest file (skipped), and any of
 * these gzip-compressed (detected by the gzip magic bytes; zero padding after
 * a member is skipped and counted in CTR_STAT_SKIPPED; gzip inside gzip is
 * inflated again, a third level is a stream error).
 *
 * A value that cannot be JSON (a raw newline inside a string, a byte the
 * grammar does not allow: a record cut short) is reported as a bad record at
 * once, and the scan resumes at the next line that begins with '{' at the
 * value's own indentation or at column 0: the records after a cut one are
 * all scanned, in any chunking (docs/bad-input.md). */
typedef enum ctr_format {
  CTR_FORMAT_AUTO = 0,
} ctr_format;

typedef enum ctr_scan_flag {
  /* Stop evaluating an event at its first matching rule (Falco's
   * rule_matching: first). Default: every matching rule is reported. */
  CTR_SCAN_FIRST_MATCH = 1u << 0,
  /* Evaluate every enabled rule on every record, each record parsed whole
   * by jansson: no eventName index, no literal prefilter, and no field read
   * from the bytes the framer walked. Results are identical; this exists
   * for tests and benchmarks. */
  CTR_SCAN_NO_INDEX = 1u << 1,
  /* For correlating elsewhere (the CLI's -j workers): the scanner feeds no
   * Sigma correlation and delivers no correlation alert; matches that a
   * correlation's `generate: false` would silence are delivered, with
   * ctr_match_silenced() 1. Set it before the first feed. */
  CTR_SCAN_NO_CORRELATION = 1u << 2,
  /* The other half: rules are evaluated as usual to feed the correlations,
   * but only correlation alerts are delivered (and counted as matches). The
   * records are expected to come from a CTR_SCAN_NO_CORRELATION scanner that
   * reported them already: incomplete records and rules a regex limit left
   * undecided are not reported again; bad records, stream errors and the
   * correlations' own reports (limit, lateness, no event time) are. Not with
   * CTR_SCAN_NO_CORRELATION (CTR_EINVAL). */
  CTR_SCAN_ONLY_CORRELATION = 1u << 3,
} ctr_scan_flag;

/* Resource limits. Every limit has a safe default and is set with
 * ctr_scanner_set_limit() (record limits, PCRE2 limits) or
 * ctr_compiler_set_limit() (rules limits, PCRE2 limits); a setter returns
 * CTR_EINVAL for a limit that does not apply to it. A value of 0 restores the
 * default; no limit can be switched off.
 *
 * Exceeding a record limit makes that record a bad record (status
 * CTR_ELIMIT, reported with its index and byte offset; the scanner carries on
 * with the next one), except CTR_LIMIT_GZIP_OUTPUT and CTR_LIMIT_GZIP_RATIO,
 * which end the stream (CTR_ELIMIT from feed/finish). Exceeding a rules limit is an error
 * diagnostic at file:line:column whose message names the limit (its
 * ctr_limit_name()), and compile fails with CTR_ESYNTAX, as for any rules
 * error. */
typedef enum ctr_limit {
  /* Scanner: largest record in bytes (default 16 MiB). */
  CTR_LIMIT_RECORD_BYTES = 0,
  /* Scanner: deepest JSON nesting inside a record (default 64, at most 2048). */
  CTR_LIMIT_JSON_DEPTH = 1,
  /* Scanner: most bytes one gzip input may expand to (default 64 GiB). */
  CTR_LIMIT_GZIP_OUTPUT = 2,
  /* Compiler, checked while a file is added: most YAML aliases per rules
   * file (default 10000). */
  CTR_LIMIT_YAML_ALIASES = 3,
  /* Compiler, checked while a file is added: most YAML nodes per rules file
   * once its aliases are expanded (default 2000000). An alias costs what it
   * refers to, as if written out, so "billion laughs" fails at the alias
   * that passes the limit; the scalars of a file so expanded may not exceed
   * 64 MiB either, the largest rules file. */
  CTR_LIMIT_YAML_NODES = 4,
  /* Compiler: longest condition of a rule or macro, in bytes, after append
   * and override (default 262144). */
  CTR_LIMIT_CONDITION_BYTES = 5,
  /* Compiler: deepest nesting of macro references (default 64). */
  CTR_LIMIT_MACRO_DEPTH = 6,
  /* Compiler: most nodes of one rule's condition once its macros are
   * expanded, which bounds macros that double at every level (default
   * 100000). */
  CTR_LIMIT_CONDITION_NODES = 7,
  /* Compiler, checked while a file is added: most rules defined, the
   * built-in ones counted (default 20000: built-ins plus 10,000 of yours fit,
   * with room). */
  CTR_LIMIT_RULES = 8,
  /* PCRE2 match limit of one regex comparison (default 100000) and PCRE2
   * depth limit (default 10000). Set on the compiler, they become the
   * ruleset's and so every new scanner's; a scanner may override them for
   * itself. A comparison that hits one leaves its rule undecided on that
   * record: the rule is not reported as a match, and the record gets a
   * report (status CTR_ELIMIT, evaluated == 1) naming the rule. */
  CTR_LIMIT_REGEX_MATCH = 9,
  CTR_LIMIT_REGEX_DEPTH = 10,
  /* Compiler: most values in one list literal of a condition once the lists
   * it names (and the lists they name) are expanded (default 100000). */
  CTR_LIMIT_LIST_ITEMS = 11,
  /* Scanner: most bytes one gzip input may expand to per compressed byte
   * read, checked once it has expanded to 16 MiB (default 200; CloudTrail
   * log files expand 8 to 40 times). Like CTR_LIMIT_GZIP_OUTPUT, it ends the
   * stream (CTR_ELIMIT from feed/finish). */
  CTR_LIMIT_GZIP_RATIO = 12,
  /* Scanner: most matches of base rules a scanner holds for Sigma
   * correlations, all groups together (default 100000). A match past it is
   * not counted, and its record gets a report (status CTR_ELIMIT,
   * evaluated == 1) naming the correlation and the limit. */
  CTR_LIMIT_CORRELATION_EVENTS = 13,
  /* Scanner: seconds by which records may come out of event-time order for
   * Sigma correlations (default 900): a correlation lets go of a match once
   * the latest event time seen is more than its timespan and this past it.
   * A match that could have shared a window with one let go is not counted,
   * and its record gets a report (status CTR_ELIMIT, evaluated == 1). */
  CTR_LIMIT_CORRELATION_LATENESS = 14,
  CTR_LIMIT__COUNT = 15
} ctr_limit;

/** Default value of a limit; 0 for an unknown limit. */
CTR_API uint64_t ctr_limit_default(int limit);
/** Short stable name of a limit ("record_bytes", "macro_depth", ...), as used
 *  in messages and by the bindings; NULL for an unknown limit. */
CTR_API const char *ctr_limit_name(int limit);

typedef enum ctr_stat {
  CTR_STAT_BYTES = 0,       /* bytes fed (compressed as given) */
  CTR_STAT_RECORDS = 1,     /* records framed (good and bad) */
  CTR_STAT_MATCHES = 2,     /* callbacks made */
  CTR_STAT_BAD_RECORDS = 3, /* records not evaluated, each reported to the error callback */
  CTR_STAT_SKIPPED = 4,     /* values recognised and skipped (digests, CloudWatch control messages) */
  CTR_STAT_EVALUATED = 5,   /* records parsed and evaluated (the rest were ruled out,
                             * unparsed, by the eventName index and prefilter) */
  CTR_STAT_INCOMPLETE = 6,  /* records evaluated but reported as not complete CloudTrail records */
  CTR_STAT__COUNT = 7
} ctr_stat;

/** Creates a scanner on a ruleset (takes a reference). `fn` may be NULL
 *  (count only). */
CTR_API int ctr_scanner_new(ctr_ruleset *rs, ctr_match_fn fn, void *user_data, ctr_scanner **out);
/** Frees the scanner and drops its ruleset reference. NULL-safe. */
CTR_API void ctr_scanner_free(ctr_scanner *sc);

CTR_API int ctr_scanner_set_flags(ctr_scanner *sc, unsigned flags);
/** Sets a record limit or a PCRE2 limit (0: the default; the PCRE2 defaults
 *  are the ruleset's). CTR_EINVAL for a rules limit, an unknown one, or a
 *  JSON depth over 2048. */
CTR_API int ctr_scanner_set_limit(ctr_scanner *sc, int limit, uint64_t value);
CTR_API void ctr_scanner_set_error_callback(ctr_scanner *sc, ctr_record_error_fn fn, void *user_data);

/** Feeds bytes, split at any byte. Returns CTR_OK, CTR_STOPPED (the callback
 *  asked to stop; later feeds return CTR_STOPPED until reset), CTR_EBUSY
 *  (called from inside a callback), CTR_ESTATE (fed after finish without a
 *  reset), CTR_ENOMEM, CTR_EDATA when the stream itself is unreadable (e.g. a
 *  corrupt gzip stream) or CTR_ELIMIT when it exceeds CTR_LIMIT_GZIP_OUTPUT or
 *  CTR_LIMIT_GZIP_RATIO.
 *  A stream error is also reported to the error callback and repeats on
 *  every later feed/finish until reset. Bad records alone do not fail a feed:
 *  they go to the error callback and CTR_STAT_BAD_RECORDS. */
CTR_API int ctr_scanner_feed(ctr_scanner *sc, const void *buf, size_t len);
/** Ends the stream: flushes the last record (a truncated one is reported as
 *  a bad record). Same returns as feed. */
CTR_API int ctr_scanner_finish(ctr_scanner *sc);
/** Starts a new stream (after finish or to abandon one): record indexes and
 *  byte offsets restart; stats keep accumulating. */
CTR_API void ctr_scanner_reset(ctr_scanner *sc);

CTR_API uint64_t ctr_scanner_stat(const ctr_scanner *sc, int stat);
/** Text of the last record error or stream error, or "" if none. */
CTR_API const char *ctr_scanner_last_error(const ctr_scanner *sc);

/** One-shot: scans a whole buffer with a temporary scanner. Returns CTR_OK,
 *  CTR_STOPPED, or CTR_EDATA if any record was bad (all others were still
 *  scanned and reported). */
CTR_API int ctr_scan_buffer(ctr_ruleset *rs, const void *buf, size_t len, unsigned flags,
                            ctr_match_fn fn, void *user_data);

#ifdef __cplusplus
}
#endif
#endif /* CTRULE_H */
