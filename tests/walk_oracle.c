/* walk_oracle.c - see walk_oracle.h. */
#include "walk_oracle.h"

#include "internal.h"

#include <stdbool.h>
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
    const char *why = json_is_object(value) ? wo_nested_members(m->value, m->value_len, value) : NULL;
    if (why)
      return why;
  }
  return distinct == json_object_size(want) ? NULL : "the members found are not jansson's keys";
}
