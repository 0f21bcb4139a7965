/*
 * render.h - Falco output rendering of a match (render.c) and its JSON line
 * (render_json.c).
 */
#ifndef CTR_RENDER_H
#define CTR_RENDER_H

#include "eval.h"

/* What rendering one match makes; reused match after match (memory kept).
 * Its holder (the scanner) owns it: zero-initialise it, free each buffer
 * with ctr__buf_free and value_off with free(). */
typedef struct ctr__render_out {
  ctr__buf text;         /* the output, NUL-terminated */
  ctr__buf json;         /* what ctr_match_json needs beyond the public accessors (render.c) */
  ctr__buf values;      /* NUL-separated rendered values */
  size_t *value_off;    /* offsets into values, (size_t)-1 for absent */
  size_t *value_len;    /* their lengths, in value_off's block (freed with it) */
  size_t cap_values;
  const char *hostname; /* the event's, its length known */
  size_t hostname_len;
  const ctr__crule *rule; /* the rule rendered */
  /* ct.id of the event generation id_gen (0: none yet), read once for the
   * record's alerts rather than once per alert */
  const ctr__field_def *id_def;
  uint64_t id_gen;
  ctr__value id;
} ctr__render_out;

/* Renders rule r's output and output fields for the event of cx into out,
 * replacing what it held (buffers grown as needed, never shrunk). Borrows r
 * and cx; field values read through cx may live in the event's arena, and
 * are copied into out. CTR_OK, or CTR_ENOMEM with out's contents partial:
 * not to be delivered. */
int ctr__render(ctr__evalctx *cx, const ctr__crule *r, ctr__render_out *out);
/* Appends a value rendered Falco's way ("<NA>" for an absent one) to b,
 * copying it. CTR_OK, or CTR_ENOMEM with part of the value appended. */
int ctr__render_value(ctr__buf *b, const ctr__value *v);
/* The rendering of the match being delivered (scanner.c, which owns
 * struct ctr_match), made on the first call; for ctr_match_json. Borrowed
 * from the scanner: valid during the match callback only. NULL when memory
 * ran out rendering it (the scan then returns CTR_ENOMEM). */
const ctr__render_out *ctr__match_render(const ctr_match *m);

/* render_json.c */
/* Appends s[0..n) as a JSON string, quoted, escaped as Falco's nlohmann
 * dump() does (docs/alert-format.md#strings). CTR_OK or CTR_ENOMEM. */
int ctr__json_str(ctr__buf *b, const char *s, size_t n);
/* One member of a rule's output_fields as its lines write it: the key as
 * `,"name":` (escaped, the comma dropped for the first member), the field
 * whose value follows. */
typedef struct ctr__json_key {
  const char *text;
  size_t len;
  uint32_t field; /* index into the rule's output fields (values, trailer kinds) */
  bool time;      /* an evt.time field: its value written as the event time in ns */
} ctr__json_key;

/* The members a line adds to output_fields, in key order (render_json.c). */
enum { CTR__JSON_EXTRA_ID, CTR__JSON_EXTRA_TIME, CTR__JSON_EXTRA_ISO8601, CTR__JSON_NEXTRA };

/* What every JSON line of a rule holds the same, written once when the rule
 * is compiled (ctr__json_rule_make), in the ruleset's pool: so that a line
 * costs only its alert's own bytes (hostname, time, output, values). */
typedef struct ctr__json_rule {
  const ctr__json_key *keys; /* the output fields in key order (strcmp; equal names in place) */
  size_t nkeys;
  /* For each extra: how many keys sort before it, and whether the rule
   * names it (then its own value is written, not the extra). */
  size_t extra_before[CTR__JSON_NEXTRA];
  bool extra_named[CTR__JSON_NEXTRA];
  const char *prio; /* the priority's name, for the output's prefix */
  size_t prio_len;
  const char *head; /* `,"priority":"P","rule":"R"`, escaped */
  size_t head_len;
  const char *tags; /* `,"tags":[...]`: sorted, each once, escaped */
  size_t tags_len;
  /* All of the above as ctr_match_save writes it into every saved match of
   * the rule (render_saved.c), made once with the rest. */
  const unsigned char *saved;
  size_t saved_len;
} ctr__json_rule;

/* The constant part of the JSON line of a rule named `name` (borrowed while
 * it runs), of that priority, tags and output fields, allocated in pool:
 * compile_output.c and correlate_compile.c make one per rule. NULL when
 * memory ran out. */
const ctr__json_rule *ctr__json_rule_make(ctr__arena *pool, const char *name, int priority, char *const *tags,
                                          size_t ntags, char *const *fields, size_t nfields);
/* What a JSON line is written from: the match being delivered
 * (ctr__line_src_of, borrowing the scanner's rendering), or one saved by
 * ctr_match_save and read back (render_saved.c, borrowing the saved bytes). */
typedef struct ctr__line_src {
  const ctr__json_rule *jr;
  const char *hostname;
  size_t hostname_len;
  const char *event_id; /* NULL: the record has none */
  size_t event_id_len;
  const char *kinds;    /* the trailer's part per output field (render.c), kinds_len bytes */
  size_t kinds_len;
  const char *output; /* ctr_match_output */
  size_t output_len;
  const char *source;
  size_t source_len;
  const char *values; /* the rendered values, at value_off (-1: absent) for value_len */
  size_t values_len;
  const size_t *value_off, *value_len;
  int64_t time_ns;
} ctr__line_src;

/* render_saved.c: jr's part of every saved match of its rule, into
 * jr->saved (in pool). CTR_OK or CTR_ENOMEM. */
int ctr__saved_rule_make(ctr__arena *pool, ctr__json_rule *jr);

/* The line source of m (during its callback): CTR_OK, or CTR_ENOMEM when
 * rendering the match ran out of memory. */
int ctr__line_src_of(const ctr_match *m, ctr__line_src *x);
/* ctr_match_json and ctr_match_json_to of a line source (flags checked by
 * the caller). */
int ctr__json_line(const ctr__line_src *x, unsigned flags, char **out, size_t *len);
int ctr__json_line_to(const ctr__line_src *x, unsigned flags, char *buf, size_t cap, size_t *len);
/* Fills order[0..) with the indexes of names[0..n) in strcmp order of the
 * names, equal ones in index order, only the first of them if `unique`:
 * the order of a JSON object's keys (output_fields), or of a set's items
 * (tags), in Falco's line. The count written, or (size_t)-1 when memory
 * ran out. */
size_t ctr__json_key_order(char *const *names, size_t n, bool unique, uint32_t *order);

#endif
