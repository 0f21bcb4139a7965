/* fuzz_walk.c - libFuzzer target for the record walk (walk.c), checked
 * against jansson. The walk may refuse what jansson accepts (it then takes
 * the slow path), but whatever it vouches for must be what jansson reads:
 * a record it walks past unparsed is skipped on the strength of that, and
 * its members, at every depth, are read from the bytes it vouched for (as
 * members, and along every path into them: ctr__walk_path).
 *
 * Both versions of the record walk (AVX-512BW and SSE2) must agree.
 *
 * Input: one options byte (bit 0: bail on shape keys), then the bytes walked. */
#include "internal.h"
#include "../walk_oracle.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key each CTR__TOP_ index reads, spelt out again: the oracle must not
 * share the walk's table. */
static const char *const k_top_names[CTR__TOP__COUNT] = {
  [CTR__TOP_EVENT_NAME] = "eventName",       [CTR__TOP_ERROR_CODE] = "errorCode",
  [CTR__TOP_EVENT_SOURCE] = "eventSource",   [CTR__TOP_EVENT_TYPE] = "eventType",
  [CTR__TOP_EVENT_VERSION] = "eventVersion", [CTR__TOP_EVENT_TIME] = "eventTime",
  [CTR__TOP_AWS_REGION] = "awsRegion",       [CTR__TOP_USER_IDENTITY] = "userIdentity",
  [CTR__TOP_SOURCE_IP] = "sourceIPAddress",
};
static const char *const k_shape_names[] = {"Records",     "digestStartTime", "logFiles",   "detail-type",
                                            "detail",      "logEvents",       "messageType"};

__attribute__((noreturn)) static void broken(const char *what, const char *s, size_t n)
{
  fprintf(stderr, "fuzz invariant broken: %s\ninput (%zu bytes): %.*s\n", what, n, (int)(n > 2000 ? 2000 : n), s);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  bool bail = data[0] & 1;
  const char *s = (const char *)data + 1;
  size_t n = size - 1;
  const char *why = wo_walk_versions(s, n);
  if (why)
    broken(why, s, n);
  ctr__record_facts facts;
  const char *after = ctr__walk_object(s, s + n, bail, &facts);
  if (!after)
    return 0;
  size_t len = (size_t)(after - s);
  if (len < 2 || len > n || s[0] != '{' || after[-1] != '}')
    broken("walk ended outside an object", s, n);
  json_error_t err;
  json_t *root = json_loadb(s, len, 0, &err);
  if (!root)
    broken("walk vouched for JSON that jansson rejects", s, len);
  if (!json_is_object(root))
    broken("walk vouched for a non-object", s, len);
  if (facts.depth < 1 || facts.depth > 256)
    broken("depth out of range", s, len);
  if (!facts.escaped && memchr(s, '\\', len))
    broken("a backslash the walk did not flag", s, len);
  for (int k = 0; k < CTR__TOP__COUNT; k++) {
    const ctr__topval *v = &facts.top[k];
    json_t *j = json_object_get(root, k_top_names[k]);
    switch (v->kind) {
    case 0:
      if (j)
        broken("a key the walk read as absent", s, len);
      break;
    case '"':
      if (!json_is_string(j))
        broken("a string the walk read is not one", s, len);
      if (!v->escaped && (json_string_length(j) != v->len || memcmp(json_string_value(j), v->s, v->len) != 0))
        broken("a raw string value differs from jansson's", s, len);
      if (v->escaped && !memchr(v->s, '\\', v->len))
        broken("a value flagged escaped holds no backslash", s, len);
      break;
    case '{':
      if (!json_is_object(j))
        broken("an object the walk read is not one", s, len);
      break;
    case 'x':
      if (!j || json_is_string(j) || json_is_object(j))
        broken("a scalar or array the walk read is something else", s, len);
      break;
    default:
      broken("unknown kind", s, len);
    }
    if (v->kind == '{' || v->kind == 'x') { /* its bytes are the whole value, and only it */
      json_t *alone = json_loadb(v->s, v->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
      if (!alone || !json_equal(alone, j) || v->s < s || v->s + v->len > s + len)
        broken("the bytes of a value the walk read are not that value", s, len);
      json_decref(alone);
    }
  }
  /* The member spans: each one's bytes (the last of a repeated key) parse
   * alone to jansson's value for the key; a plain string's bytes are its
   * value; every key jansson has is noted. */
  ctr__member members[CTR__MAX_MEMBERS];
  size_t nmembers = ctr__walk_members(s, len, members, CTR__MAX_MEMBERS);
  if (nmembers == SIZE_MAX)
    broken("the second walk rejects what the first vouched for", s, len);
  if (facts.nmembers != nmembers)
    broken("the members the walk noted are not as many as the second walk's", s, len);
  for (size_t i = 0; i < nmembers && nmembers <= CTR__MAX_MEMBERS; i++) {
    /* Each key's last member, found from the facts, is the second walk's. */
    bool last = true;
    for (size_t j = i + 1; j < nmembers && last; j++)
      last = members[j].key_len != members[i].key_len || memcmp(members[j].key, members[i].key, members[i].key_len) != 0;
    ctr__member noted;
    if (!ctr__facts_member(s, len, &facts, members[i].key, members[i].key_len, &noted))
      broken("a member the second walk finds is not found from the facts", s, len);
    if (last && (noted.key != members[i].key || noted.key_len != members[i].key_len ||
                 noted.value != members[i].value || noted.value_len != members[i].value_len ||
                 noted.plain_string != members[i].plain_string))
      broken("a member found from the facts differs from the second walk's", s, len);
  }
  if (nmembers <= CTR__MAX_MEMBERS) {
    size_t distinct = 0;
    for (size_t i = 0; i < nmembers; i++) {
      const ctr__member *m = &members[i], *later = NULL;
      for (size_t j = i + 1; j < nmembers && !later; j++)
        if (members[j].key_len == m->key_len && memcmp(members[j].key, m->key, m->key_len) == 0)
          later = &members[j];
      if (later)
        continue;
      distinct++;
      json_t *want = json_object_getn(root, m->key, m->key_len);
      json_t *got = json_loadb(m->value, m->value_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
      if (!want || !got || !json_equal(want, got))
        broken("a member's bytes parse to another value", s, len);
      if (m->plain_string && (!json_is_string(want) || json_string_length(want) != m->value_len - 2 ||
                              memcmp(json_string_value(want), m->value + 1, m->value_len - 2) != 0))
        broken("a plain string member's bytes differ from its value", s, len);
      json_decref(got);
    }
    if (distinct != json_object_size(root))
      broken("the members noted are not jansson's keys", s, len);
  }
  /* Both ways of crossing a container: the widest the processor runs, and
   * SSE2 (ctr__walk_wide_blocks). */
  for (int wide = 1; wide >= 0; wide--) {
    ctr__walk_wide_blocks = wide;
    const char *why = wo_nested_members(s, len, root);
    if (!why)
      why = wo_paths(s, len, root);
    if (why)
      broken(why, s, len);
  }
  ctr__walk_wide_blocks = true;
  if (bail)
    for (size_t i = 0; i < sizeof k_shape_names / sizeof *k_shape_names; i++)
      if (json_object_get(root, k_shape_names[i]))
        broken("walked past a shape key while told to bail", s, len);
  json_decref(root);
  return 0;
}
