/* event.c - one record: parsed with jansson (whole, or member by member when
 * the walk has cut it: see ctr__lazy), checked for the keys every CloudTrail
 * record carries, and prepared for evaluation. */
#include "event.h"

#include <stdlib.h>
#include <string.h>

int ctr__event_parse(const char *data, size_t len, json_t **out, ctr__buf *why)
{
  json_error_t jerr;
  json_t *root = json_loadb(data, len, CTR__JSON_FLAGS, &jerr);
  /* Out of memory is not the record's fault: it must not be reported as bad.
   * jansson reports a failed allocation inside a string as a syntax error,
   * so a record the walk vouches for is taken to be good; one it cannot
   * vouch for (a \u escape, say) is reported as jansson says. */
  ctr__record_facts facts;
  if (!root && ctr__walk_record(data, len, &facts))
    return CTR_ENOMEM;
  if (!root) {
    ctr__buf_printf(why, "invalid JSON at byte %d of the record: %s", jerr.position, jerr.text);
    return CTR_EDATA;
  }
  if (!json_is_object(root)) {
    json_decref(root);
    ctr__buf_append_str(why, "record is not a JSON object");
    return CTR_EDATA;
  }
  *out = root;
  return CTR_OK;
}

/* ------------------------------------------------------------ members */

/* jansson < 2.14 has no json_object_setn_new_nocheck; member keys never hold
 * a NUL (the walk refuses \u escapes). Steals v, even on failure. */
static int object_setn_new(json_t *obj, const char *key, size_t n, json_t *v)
{
#if JANSSON_VERSION_HEX >= 0x020e00
  return json_object_setn_new_nocheck(obj, key, n, v);
#else
  char *k = ctr__strndup(key, n);
  int rc = k ? json_object_set_new_nocheck(obj, k, v) : (json_decref(v), -1);
  free(k);
  return rc;
#endif
}

/* The walk's span of member key[0..n), the last one when the key repeats
 * (jansson keeps the last value); NULL if the record has no such member. */
static const ctr__member *member_span(const ctr__lazy *lz, const char *key, size_t n)
{
  for (size_t i = lz->nmembers; i-- > 0;) {
    const ctr__member *m = &lz->members[i];
    if (m->key_len == n && memcmp(m->key, key, n) == 0)
      return m;
  }
  return NULL;
}

json_t *ctr__event_getn(const ctr__event *ev, const char *key, size_t n)
{
  json_t *v = ctr__json_getn(ev->root, key, n);
  ctr__lazy *lz = ev->lazy;
  if (v || !lz || !key)
    return v;
  const ctr__member *m = member_span(lz, key, n);
  if (!m)
    return NULL;
  /* The walk vouched for the whole record (jansson accepts it), so a
   * member's bytes parse alone to what the full parse would give. A plain
   * string's bytes are its value and are valid UTF-8 (the walk checked). */
  v = m->plain_string ? json_stringn_nocheck(m->value + 1, m->value_len - 2)
                      : json_loadb(m->value, m->value_len, JSON_DECODE_ANY | CTR__JSON_FLAGS, NULL);
  if (!v || object_setn_new(ev->root, key, n, v) != 0) {
    lz->failed = true;
    return NULL;
  }
  return v;
}

json_t *ctr__event_get(const ctr__event *ev, const char *key)
{
  return key ? ctr__event_getn(ev, key, strlen(key)) : NULL;
}

json_t *ctr__event_path(const ctr__event *ev, const char *dotted)
{
  if (!dotted)
    return NULL;
  const char *dot = strchr(dotted, '.');
  json_t *top = ctr__event_getn(ev, dotted, dot ? (size_t)(dot - dotted) : strlen(dotted));
  return dot ? ctr__json_path(top, dot + 1) : top;
}

bool ctr__event_member_is(const ctr__event *ev, const char *key, json_type t)
{
  if (ev->lazy && (t == JSON_STRING || t == JSON_OBJECT) && !ctr__json_get(ev->root, key)) {
    const ctr__member *m = member_span(ev->lazy, key, strlen(key));
    return m && m->value[0] == (t == JSON_STRING ? '"' : '{');
  }
  const json_t *v = ctr__event_get(ev, key);
  return v && json_typeof(v) == t;
}

json_t *ctr__event_whole(const ctr__event *ev)
{
  ctr__lazy *lz = ev->lazy;
  if (!lz)
    return ev->root;
  /* Kept beside root, not in its place: values already handed out point
   * into root's members until the event ends. */
  if (!lz->whole && !(lz->whole = json_loadb(ev->raw, ev->raw_len, CTR__JSON_FLAGS, NULL)))
    lz->failed = true;
  return lz->whole;
}

/* ------------------------------------------------------------ checks */

/* Which of the keys every CloudTrail record carries a record lacks (CTR__MISSING_
 * bits), from what it holds, parsed or walked: one verdict for both. */
static unsigned missing(const bool strings[4], const char *src, size_t src_len, bool user_identity)
{
  static const char suffix[] = ".amazonaws.com";
  unsigned m = 0;
  for (unsigned i = 0; i < 4; i++)
    m |= strings[i] ? 0 : 1u << i;
  if (!src)
    m |= CTR__MISSING_SOURCE;
  else if (src_len < sizeof suffix - 1 || memcmp(src + src_len - (sizeof suffix - 1), suffix, sizeof suffix - 1) != 0)
    m |= CTR__MISSING_SOURCE_SUFFIX;
  if (!user_identity)
    m |= CTR__MISSING_USER_IDENTITY;
  return m;
}

void ctr__incomplete_reason(unsigned m, ctr__buf *why)
{
  static const char *const names[] = {"eventVersion", "eventTime", "eventName", "awsRegion"};
  bool first = true;
  for (unsigned i = 0; i < 4; i++) {
    if (!(m & (1u << i)))
      continue;
    ctr__buf_append_str(why, first ? "incomplete CloudTrail record: no string " : ", ");
    ctr__buf_append_str(why, names[i]);
    first = false;
  }
  if (m & (CTR__MISSING_SOURCE | CTR__MISSING_SOURCE_SUFFIX)) {
    ctr__buf_append_str(why, first ? "incomplete CloudTrail record: " : ", ");
    ctr__buf_append_str(why, m & CTR__MISSING_SOURCE ? "no string eventSource" : "eventSource not ending in .amazonaws.com");
    first = false;
  }
  if (m & CTR__MISSING_USER_IDENTITY) {
    ctr__buf_append_str(why, first ? "incomplete CloudTrail record: " : ", ");
    ctr__buf_append_str(why, "no userIdentity object");
  }
  ctr__buf_append_str(why, " (evaluated anyway)");
}

bool ctr__event_complete(const ctr__event *ev, ctr__buf *why)
{
  const bool strings[4] = {
    ctr__event_member_is(ev, "eventVersion", JSON_STRING), ctr__event_member_is(ev, "eventTime", JSON_STRING),
    ctr__event_member_is(ev, "eventName", JSON_STRING), ctr__event_member_is(ev, "awsRegion", JSON_STRING)};
  const json_t *src = ctr__event_get(ev, "eventSource");
  const char *s = json_string_value(src);
  unsigned m = missing(strings, s, s ? json_string_length(src) : 0, ctr__event_member_is(ev, "userIdentity", JSON_OBJECT));
  if (m && why)
    ctr__incomplete_reason(m, why);
  return m == 0;
}

unsigned ctr__facts_missing(const ctr__record_facts *facts)
{
  const ctr__topval *t = facts->top, *src = &t[CTR__TOP_EVENT_SOURCE];
  const bool strings[4] = {t[CTR__TOP_EVENT_VERSION].kind == '"', t[CTR__TOP_EVENT_TIME].kind == '"',
                           t[CTR__TOP_EVENT_NAME].kind == '"', t[CTR__TOP_AWS_REGION].kind == '"'};
  bool has_src = src->kind == '"';
  unsigned m = missing(strings, has_src ? src->s : NULL, src->len, t[CTR__TOP_USER_IDENTITY].kind == '{');
  /* An escape cannot end the raw bytes in the suffix unless the decoded
   * value ends in it too; the other way round only a parse can tell. */
  if ((m & CTR__MISSING_SOURCE_SUFFIX) && src->escaped)
    m |= CTR__MISSING_UNDECIDED;
  return m;
}

bool ctr__event_is_insight(const ctr__event *ev)
{
  const char *t = json_string_value(ctr__event_get(ev, "eventType"));
  return t && strcmp(t, "AwsCloudTrailInsight") == 0;
}
