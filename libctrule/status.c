/* status.c - version, the status table, priorities. */
#include "internal.h"

#include <strings.h>

unsigned ctr_version(void) { return CTR_VERSION_HEX; }

const char *ctr_version_string(void) { return CTR_VERSION_STRING; }

const char *ctr_strerror(int status)
{
  switch (status) {
#define CTR__STATUS_TEXT(name, code, text) \
  case code:                               \
    return text;
    CTR_STATUS_MAP(CTR__STATUS_TEXT)
#undef CTR__STATUS_TEXT
  }
  return "unknown status";
}

const char *ctr_status_name(int status)
{
  switch (status) {
#define CTR__STATUS_NAME(name, code, text) \
  case code:                               \
    return #name;
    CTR_STATUS_MAP(CTR__STATUS_NAME)
#undef CTR__STATUS_NAME
  }
  return "UNKNOWN";
}

static const char *const priority_names[] = {
  "Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug",
};

const char *ctr_priority_name(int priority)
{
  if (priority < 0 || priority >= (int)CTR__COUNTOF(priority_names))
    return NULL;
  return priority_names[priority];
}

int ctr_priority_parse(const char *name)
{
  if (!name)
    return CTR_EINVAL;
  for (int i = 0; i < (int)CTR__COUNTOF(priority_names); i++)
    if (strcasecmp(name, priority_names[i]) == 0)
      return i;
  if (strcasecmp(name, "info") == 0)
    return CTR_PRIORITY_INFORMATIONAL;
  return CTR_EINVAL;
}

/* One row per ctr_limit, in enum order: its stable name and safe default. */
static const struct {
  const char *name;
  uint64_t def;
} limit_table[CTR_LIMIT__COUNT] = {
  [CTR_LIMIT_RECORD_BYTES] = {"record_bytes", (uint64_t)16 << 20},
  [CTR_LIMIT_JSON_DEPTH] = {"json_depth", 64},
  [CTR_LIMIT_GZIP_OUTPUT] = {"gzip_output", (uint64_t)64 << 30},
  [CTR_LIMIT_YAML_ALIASES] = {"yaml_aliases", 10000},
  [CTR_LIMIT_YAML_NODES] = {"yaml_nodes", 2000000},
  [CTR_LIMIT_CONDITION_BYTES] = {"condition_bytes", 262144},
  [CTR_LIMIT_MACRO_DEPTH] = {"macro_depth", 64},
  [CTR_LIMIT_CONDITION_NODES] = {"condition_nodes", 100000},
  [CTR_LIMIT_RULES] = {"rules", 20000},
  [CTR_LIMIT_REGEX_MATCH] = {"regex_match", 100000},
  [CTR_LIMIT_REGEX_DEPTH] = {"regex_depth", 10000},
  [CTR_LIMIT_LIST_ITEMS] = {"list_items", 100000},
  [CTR_LIMIT_GZIP_RATIO] = {"gzip_ratio", 200},
  [CTR_LIMIT_CORRELATION_EVENTS] = {"correlation_events", 100000},
  [CTR_LIMIT_CORRELATION_LATENESS] = {"correlation_lateness", 900},
};

uint64_t ctr_limit_default(int limit)
{
  return limit >= 0 && limit < CTR_LIMIT__COUNT ? limit_table[limit].def : 0;
}

const char *ctr_limit_name(int limit)
{
  return limit >= 0 && limit < CTR_LIMIT__COUNT ? limit_table[limit].name : NULL;
}
