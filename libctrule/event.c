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
 * a NUL (the walk leaves \u0000 to jansson). Steals v, even on failure. */
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

const ctr__member *ctr__lazy_member(const ctr__event *ev, const char *key, size_t n)
{
  ctr__lazy *lz = ev->lazy;
  const ctr__member *last = &lz->found;
  /* Asked again (each rds.* field of a rule reads requestParameters, say):
   * no second search. */
  if (last->key && last->key_len == n && ctr__same_key(last->key, key, n))
    return last;
  return ctr__facts_member(ev->raw, ev->raw_len, ev->facts, key, n, &lz->found) ? last : NULL;
}

json_t *ctr__event_getn(const ctr__event *ev, const char *key, size_t n)
{
  json_t *v = ctr__json_getn(ev->root, key, n);
  ctr__lazy *lz = ev->lazy;
  if (v || !lz || !key)
    return v;
  const ctr__member *m = ctr__lazy_member(ev, key, n);
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
    const ctr__member *m = ctr__lazy_member(ev, key, strlen(key));
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

const ctr__required_key ctr__record_keys[CTR__RECORD_KEYS] = {
  {"eventVersion", CTR__TOP_EVENT_VERSION, JSON_STRING, CTR__MISSING_VERSION, true, NULL, 0},
  {"eventTime", CTR__TOP_EVENT_TIME, JSON_STRING, CTR__MISSING_TIME, true, NULL, 0},
  {"eventName", CTR__TOP_EVENT_NAME, JSON_STRING, CTR__MISSING_NAME, true, NULL, 0},
  {"awsRegion", CTR__TOP_AWS_REGION, JSON_STRING, CTR__MISSING_REGION, true, NULL, 0},
  {"eventSource", CTR__TOP_EVENT_SOURCE, JSON_STRING, CTR__MISSING_SOURCE, false, ".amazonaws.com", 14},
  {"userIdentity", CTR__TOP_USER_IDENTITY, JSON_OBJECT, CTR__MISSING_USER_IDENTITY, false, NULL, 0},
};

/* What a record holds of one required key, however it was read: whether it
 * is there with its type, and the raw bytes of a string a suffix is asked of. */
typedef struct held {
  bool typed;
  const char *s;
  size_t len;
  bool escaped; /* s holds an escape: its raw bytes are not its value */
} held;

/* The one verdict on one required key: the CTR__MISSING_ bits of what the
 * record lacks of it, from what it holds of it, parsed or walked. */
static inline unsigned key_verdict(const ctr__required_key *k, const held *h)
{
  if (!h->typed)
    return k->missing;
  size_t n = k->suffix_len;
  if (k->suffix && (h->len < n || memcmp(h->s + h->len - n, k->suffix, n) != 0))
    /* An escape cannot end the raw bytes in the suffix unless the decoded
     * value ends in it too; the other way round only a parse can tell. */
    return CTR__MISSING_SOURCE_SUFFIX | (h->escaped ? CTR__MISSING_UNDECIDED : 0);
  return 0;
}

static unsigned verdict(const held h[CTR__RECORD_KEYS])
{
  unsigned m = 0;
  for (unsigned i = 0; i < CTR__RECORD_KEYS; i++)
    m |= key_verdict(&ctr__record_keys[i], &h[i]);
  return m;
}

void ctr__incomplete_reason(unsigned m, ctr__buf *why)
{
  bool first = true, listing = false; /* listing: in "no string A, B" */
  for (unsigned i = 0; i < CTR__RECORD_KEYS; i++) {
    const ctr__required_key *k = &ctr__record_keys[i];
    bool lacks = m & k->missing, no_suffix = k->suffix && (m & CTR__MISSING_SOURCE_SUFFIX);
    if (!lacks && !no_suffix)
      continue;
    ctr__buf_append_str(why, first ? "incomplete CloudTrail record: " : ", ");
    if (!lacks)
      ctr__buf_printf(why, "%s not ending in %s", k->key, k->suffix);
    else if (listing && k->listed)
      ctr__buf_append_str(why, k->key);
    else
      ctr__buf_printf(why, k->type == JSON_STRING ? "no string %s" : "no %s object", k->key);
    listing = lacks && k->listed;
    first = false;
  }
  ctr__buf_append_str(why, " (evaluated anyway)");
}

bool ctr__event_complete(const ctr__event *ev, ctr__buf *why)
{
  held h[CTR__RECORD_KEYS];
  for (unsigned i = 0; i < CTR__RECORD_KEYS; i++) {
    const ctr__required_key *k = &ctr__record_keys[i];
    h[i] = (held){ctr__event_member_is(ev, k->key, k->type), NULL, 0, false};
    if (h[i].typed && k->suffix) {
      const json_t *v = ctr__event_get(ev, k->key);
      h[i].typed = (h[i].s = json_string_value(v)) != NULL; /* NULL: a member that could not be built */
      h[i].len = h[i].typed ? json_string_length(v) : 0;
    }
  }
  unsigned m = verdict(h);
  if (m && why)
    ctr__incomplete_reason(m, why);
  return m == 0;
}

/* The prefilter asks this of every record: each key judged as read, with
 * no array of what the record holds built first. */
unsigned ctr__facts_missing(const ctr__record_facts *facts)
{
  unsigned m = 0;
  for (unsigned i = 0; i < CTR__RECORD_KEYS; i++) {
    const ctr__required_key *k = &ctr__record_keys[i];
    const ctr__topval *t = &facts->top[k->top];
    held h = {t->kind == (k->type == JSON_STRING ? '"' : '{'), t->s, t->len, t->escaped};
    m |= key_verdict(k, &h);
  }
  return m;
}

static const char k_insight[] = "AwsCloudTrailInsight";

static bool is_insight(const char *type, size_t len)
{
  return len == sizeof k_insight - 1 && memcmp(type, k_insight, len) == 0;
}

bool ctr__event_is_insight(const ctr__event *ev)
{
  const json_t *t = ctr__event_get(ev, "eventType");
  return json_is_string(t) && is_insight(json_string_value(t), json_string_length(t));
}

int ctr__facts_insight(const ctr__record_facts *facts)
{
  const ctr__topval *t = &facts->top[CTR__TOP_EVENT_TYPE];
  if (t->kind != '"')
    return 0;
  return t->escaped ? -1 : is_insight(t->s, t->len);
}

bool ctr__event_check(const ctr__event *ev, const ctr__record_facts *facts, bool *complete, ctr__buf *why)
{
  int insight = facts ? ctr__facts_insight(facts) : -1;
  if (insight < 0)
    insight = ctr__event_is_insight(ev);
  if (insight) {
    *complete = true;
    return true;
  }
  unsigned m = facts ? ctr__facts_missing(facts) : CTR__MISSING_UNDECIDED;
  if (m & CTR__MISSING_UNDECIDED) {
    *complete = ctr__event_complete(ev, why);
    return false;
  }
  if (m && why)
    ctr__incomplete_reason(m, why);
  *complete = m == 0;
  return false;
}

int64_t ctr__event_time(const ctr__event *ev, const ctr__record_facts *facts)
{
  const ctr__topval *t = facts ? &facts->top[CTR__TOP_EVENT_TIME] : NULL;
  int64_t ns = 0;
  if (t && t->kind != '"')
    return 0; /* absent, or not a string: no time */
  if (t && !t->escaped) {
    /* Its raw bytes are its value. Longer than any time ctr__parse_time
     * accepts (35 bytes): invalid. */
    char s[40];
    if (t->len >= sizeof s)
      return 0;
    memcpy(s, t->s, t->len);
    s[t->len] = '\0';
    return ctr__parse_time(s, &ns) ? ns : 0;
  }
  const char *s = json_string_value(ctr__event_get(ev, "eventTime"));
  return s && ctr__parse_time(s, &ns) ? ns : 0;
}
