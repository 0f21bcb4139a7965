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
