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
/* CloudTrail Insights records are not API activity: Falco skips them too. */
bool ctr__event_is_insight(const ctr__event *ev);

#endif
