/* walk_oracle.c - see walk_oracle.h. */
#include "walk_oracle.h"

#include "internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *wo_nested_members(const char *v, size_t len, const json_t *want)
{
  ctr__member members[CTR__MAX_MEMBERS];
  size_t count = ctr__walk_members(v, len, members, CTR__MAX_MEMBERS);
  if (count == SIZE_MAX)
    return memchr(v, '\\', len) ? NULL : "an object of a walked record is refused";
  if (count > CTR__MAX_MEMBERS)
    return NULL;
  size_t distinct = 0;
  for (size_t i = 0; i < count; i++) {
    const ctr__member *m = &members[i];
    bool repeated = false;
    for (size_t k = i + 1; k < count && !repeated; k++)
      repeated = members[k].key_len == m->key_len && memcmp(members[k].key, m->key, m->key_len) == 0;
    if (repeated)
      continue;
    distinct++;
    const json_t *value = json_object_getn(want, m->key, m->key_len);
    json_t *got = json_loadb(m->value, m->value_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    bool same = value && got && json_equal(value, got);
    json_decref(got);
    if (!same)
      return "a member's bytes parse to another value";
    if (m->plain_string != (m->value[0] == '"' && !memchr(m->value, '\\', m->value_len)))
      return "a member is said plain (or not) as its bytes are not";
    const char *why = json_is_object(value) ? wo_nested_members(m->value, m->value_len, value) : NULL;
    if (why)
      return why;
  }
  return distinct == json_object_size(want) ? NULL : "the members found are not jansson's keys";
}

/* ctr__walk_path along steps[0..n) from v's start against jansson's value
 * at that path (`at`, NULL: none). */
static const char *path_agrees(const char *v, size_t len, const ctr__pathstep *steps, size_t n, const json_t *at)
{
  ctr__bspan s = {NULL, 0, false};
  ctr__step st = ctr__walk_path(v, len, steps, n, &s);
  if (st == CTR__STEP_UNSURE)
    return memchr(v, '\\', len) ? NULL : "a path through an unescaped value is left unsure";
  if (!at)
    return st == CTR__STEP_ABSENT ? NULL : "a path jansson finds nothing at is found";
  if (st != CTR__STEP_FOUND)
    return "a path jansson finds a value at is absent";
  json_t *got = json_loadb(s.v, s.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  bool same = got && json_equal(got, at);
  json_decref(got);
  if (!same)
    return "a path's bytes parse to another value";
  if (s.plain != (json_is_string(at) && !memchr(s.v, '\\', s.len)))
    return "a path's value is said plain (or not) as its bytes are not";
  return NULL;
}

static const char *paths_below(const char *v, size_t len, const json_t *node, ctr__pathstep *steps, size_t n)
{
  static char index_text[WO_PATH_DEPTH][24];
  if (n == WO_PATH_DEPTH)
    return NULL;
  const char *why = NULL;
  if (json_is_object(node)) {
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)node, key, value) {
      size_t klen = strlen(key);
      char longer[256];
      steps[n] = (ctr__pathstep){key, klen, SIZE_MAX};
      if ((why = path_agrees(v, len, steps, n + 1, value)) || (why = paths_below(v, len, value, steps, n + 1)))
        return why;
      /* Keys that are prefixes of each other: one byte short, one long. */
      if (klen) {
        steps[n].len = klen - 1;
        if ((why = path_agrees(v, len, steps, n + 1, json_object_getn(node, key, klen - 1))))
          return why;
      }
      if (klen + 1 < sizeof longer) {
        memcpy(longer, key, klen);
        longer[klen] = 's';
        steps[n] = (ctr__pathstep){longer, klen + 1, SIZE_MAX};
        if ((why = path_agrees(v, len, steps, n + 1, json_object_getn(node, longer, klen + 1))))
          return why;
      }
    }
    steps[n] = (ctr__pathstep){"\x01none", 5, SIZE_MAX};
    return path_agrees(v, len, steps, n + 1, NULL);
  }
  if (json_is_array(node)) {
    size_t size = json_array_size(node);
    for (size_t i = 0; i <= size && i < 6; i++) {
      int k = snprintf(index_text[n], sizeof index_text[n], "%zu", i);
      steps[n] = (ctr__pathstep){index_text[n], (size_t)k, i};
      const json_t *value = json_array_get(node, i);
      if ((why = path_agrees(v, len, steps, n + 1, value)) || (value && (why = paths_below(v, len, value, steps, n + 1))))
        return why;
    }
    return NULL;
  }
  steps[n] = (ctr__pathstep){"0", 1, 0}; /* below a scalar: nothing */
  return path_agrees(v, len, steps, n + 1, NULL);
}

const char *wo_paths(const char *v, size_t len, const json_t *want)
{
  ctr__pathstep steps[WO_PATH_DEPTH];
  return paths_below(v, len, want, steps, 0);
}

/* What one walk of s[0..len) gives: where it ended and every fact. */
typedef struct walk_result {
  const char *after;
  ctr__record_facts facts;
} walk_result;

static walk_result walk_with(const char *s, size_t len, bool bail, bool wide)
{
  walk_result r;
  memset(&r, 0, sizeof r);
  ctr__walk_wide_blocks = wide;
  r.after = ctr__walk_object(s, s + len, bail, &r.facts);
  ctr__walk_wide_blocks = true;
  return r;
}

const char *wo_walk_versions(const char *s, size_t len)
{
  for (int bail = 0; bail < 2; bail++) {
    walk_result a = walk_with(s, len, bail, true), b = walk_with(s, len, bail, false);
    if (a.after != b.after)
      return a.after && b.after ? "the walk's versions end apart" : "one version of the walk vouches, the other not";
    if (!a.after)
      continue;
    const ctr__record_facts *x = &a.facts, *y = &b.facts;
    if (x->depth != y->depth || x->escaped != y->escaped || x->unicode != y->unicode || x->nmembers != y->nmembers)
      return "the walk's versions differ on depth, escapes or members";
    for (int k = 0; k < CTR__TOP__COUNT; k++) {
      const ctr__topval *u = &x->top[k], *v = &y->top[k];
      if (u->kind != v->kind || (u->kind && (u->s != v->s || u->len != v->len || u->escaped != v->escaped)))
        return "the walk's versions read a top-level value apart";
    }
    for (unsigned i = 0; i < x->nmembers && i < CTR__MAX_MEMBERS; i++)
      if (x->value[i] != y->value[i])
        return "the walk's versions place a member apart";
  }
  return NULL;
}
