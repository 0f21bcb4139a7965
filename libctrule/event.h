/* event.h - record parsing and validation (event.c). */
#ifndef CTR_EVENT_H
#define CTR_EVENT_H

#include "internal.h"

/* The one set of jansson decoding flags for every JSON the scanner reads: a
 * record, an envelope around records, a member parsed alone. JSON_ALLOW_NUL:
 * a \u0000 inside a string is valid JSON, not a bad record. */
#define CTR__JSON_FLAGS JSON_ALLOW_NUL

/* Parses one record, data[0..len) (borrowed, not kept). CTR_OK with *out a
 * new JSON object, the caller's (json_decref); CTR_EDATA with the reason
 * appended to `why`; or CTR_ENOMEM. *out is written only on CTR_OK. */
int ctr__event_parse(const char *data, size_t len, json_t **out, ctr__buf *why);
/* The keys every CloudTrail record carries, the one table both completeness
 * checks read (a parsed record: ctr__event_complete; a walked one, from its
 * facts: ctr__facts_missing), in the order the report names them. */
enum {
  CTR__MISSING_VERSION = 1u << 0,
  CTR__MISSING_TIME = 1u << 1,
  CTR__MISSING_NAME = 1u << 2,
  CTR__MISSING_REGION = 1u << 3,
  CTR__MISSING_SOURCE = 1u << 4,
  CTR__MISSING_SOURCE_SUFFIX = 1u << 5, /* a string, not ending in the key's suffix */
  CTR__MISSING_USER_IDENTITY = 1u << 6,
  CTR__MISSING_UNDECIDED = 1u << 7, /* only a parse can tell (an escaped eventSource) */
};
typedef struct ctr__required_key {
  const char *key;
  int top;            /* its CTR__TOP_ index in the walk's facts */
  json_type type;     /* JSON_STRING or JSON_OBJECT */
  unsigned missing;   /* the CTR__MISSING_ bit when it is absent or of another type */
  bool listed;        /* named in the report's "no string A, B" list */
  const char *suffix; /* the string must end in it (else CTR__MISSING_SOURCE_SUFFIX), NULL: any */
  size_t suffix_len;
} ctr__required_key;
enum { CTR__RECORD_KEYS = 6 };
extern const ctr__required_key ctr__record_keys[CTR__RECORD_KEYS];

/* False (reason appended to `why`, which may be NULL) if the parsed (or
 * lazily read) record ev lacks a required key. A member that could not be
 * built for want of memory reads as absent (ev->lazy->failed is set). */
bool ctr__event_complete(const ctr__event *ev, ctr__buf *why);
/* What a walked record lacks of the required keys, from what the walk read
 * of it: 0 when it is complete, else CTR__MISSING_ bits, with
 * CTR__MISSING_UNDECIDED when only a parse can tell. Reads only. */
unsigned ctr__facts_missing(const ctr__record_facts *facts);
/* Appends the report of a record lacking `missing` (non-zero CTR__MISSING_
 * bits) to `why` (a copy; why's memory is its owner's). */
void ctr__incomplete_reason(unsigned missing, ctr__buf *why);
/* CloudTrail Insights records are not API activity: Falco skips them too.
 * Whether ev's eventType is "AwsCloudTrailInsight". */
bool ctr__event_is_insight(const ctr__event *ev);
/* The same from the walk's facts: 1 or 0, or -1 when only a parse can tell
 * (an escaped eventType). */
int ctr__facts_insight(const ctr__record_facts *facts);

/* The scanner's two verdicts on a record it evaluates: whether it is an
 * Insight record (the return), and if not, whether it is complete (*complete,
 * the reason appended to `why` when not). A walked record's facts (NULL: none)
 * decide both without parsing a member wherever they can, the parse the rest:
 * one table and one verdict either way (test_event.c). */
bool ctr__event_check(const ctr__event *ev, const ctr__record_facts *facts, bool *complete, ctr__buf *why);
/* eventTime in ns since the epoch (ctr__parse_time), 0 when absent, not a
 * string or invalid: from the walk's facts (NULL: none) when the string holds
 * no escape, else from the member. */
int64_t ctr__event_time(const ctr__event *ev, const ctr__record_facts *facts);

#endif
