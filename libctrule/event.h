/* event.h - record parsing and validation (event.c). */
#ifndef CTR_EVENT_H
#define CTR_EVENT_H

#include "internal.h"

/* The one set of jansson decoding flags for every JSON the scanner reads: a
 * record, an envelope around records, a member parsed alone. JSON_ALLOW_NUL:
 * a \u0000 inside a string is valid JSON, not a bad record. */
#define CTR__JSON_FLAGS JSON_ALLOW_NUL

/* Parses one record; CTR_EDATA with the reason appended to `why`, or
 * CTR_ENOMEM. */
int ctr__event_parse(const char *data, size_t len, json_t **out, ctr__buf *why);
/* False (reason appended to `why`) if a key every CloudTrail record has is missing. */
bool ctr__event_complete(const ctr__event *ev, ctr__buf *why);
/* What a walked record lacks of the same keys, from what the walk read of
 * it: 0 when it is complete, else CTR__MISSING_ bits, with
 * CTR__MISSING_UNDECIDED when only a parse can tell (an escaped eventSource). */
enum {
  CTR__MISSING_VERSION = 1u << 0, /* the first four in the order of the message */
  CTR__MISSING_TIME = 1u << 1,
  CTR__MISSING_NAME = 1u << 2,
  CTR__MISSING_REGION = 1u << 3,
  CTR__MISSING_SOURCE = 1u << 4,
  CTR__MISSING_SOURCE_SUFFIX = 1u << 5,
  CTR__MISSING_USER_IDENTITY = 1u << 6,
  CTR__MISSING_UNDECIDED = 1u << 7,
};
unsigned ctr__facts_missing(const ctr__record_facts *facts);
/* Appends the report of a record lacking `missing` (non-zero) to `why`. */
void ctr__incomplete_reason(unsigned missing, ctr__buf *why);
/* CloudTrail Insights records are not API activity: Falco skips them too. */
bool ctr__event_is_insight(const ctr__event *ev);

#endif
