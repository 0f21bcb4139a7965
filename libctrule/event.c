/* event.c - one record: parsed with jansson, checked for the keys every
 * CloudTrail record carries, and prepared for evaluation. */
#include "engine.h"
#include "event.h"

#include <string.h>

int ctr__event_parse(const char *data, size_t len, json_t **out, ctr__buf *why)
{
  json_error_t jerr;
  /* JSON_ALLOW_NUL: a \u0000 inside a string is valid JSON, not a bad record. */
  json_t *root = json_loadb(data, len, JSON_ALLOW_NUL, &jerr);
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

bool ctr__event_complete(const json_t *root, ctr__buf *why)
{
  static const char *const strings[] = {"eventVersion", "eventTime", "eventName", "awsRegion"};
  bool ok = true;
  for (size_t i = 0; i < CTR__COUNTOF(strings); i++) {
    if (!json_is_string(json_object_get(root, strings[i]))) {
      ctr__buf_printf(why, "%s%s", ok ? "incomplete CloudTrail record: no string " : ", ", strings[i]);
      ok = false;
    }
  }
  const json_t *src = json_object_get(root, "eventSource");
  const char *s = json_string_value(src);
  static const char suffix[] = ".amazonaws.com";
  size_t n = s ? json_string_length(src) : 0;
  if (!s || n < sizeof suffix - 1 || memcmp(s + n - (sizeof suffix - 1), suffix, sizeof suffix - 1) != 0) {
    ctr__buf_printf(why, "%s%s", ok ? "incomplete CloudTrail record: " : ", ",
                    s ? "eventSource not ending in .amazonaws.com" : "no string eventSource");
    ok = false;
  }
  if (!json_is_object(json_object_get(root, "userIdentity"))) {
    ctr__buf_printf(why, "%s%s", ok ? "incomplete CloudTrail record: " : ", ", "no userIdentity object");
    ok = false;
  }
  if (!ok)
    ctr__buf_append_str(why, " (evaluated anyway)");
  return ok;
}

bool ctr__event_is_insight(const json_t *root)
{
  const char *t = json_string_value(json_object_get(root, "eventType"));
  return t && strcmp(t, "AwsCloudTrailInsight") == 0;
}
