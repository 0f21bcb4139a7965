/* frame_envelope.c - the envelopes a CloudTrail record arrives in (a digest
 * file, an EventBridge event, a CloudWatch Logs subscription payload),
 * recognised in a whole top-level object that is no log file. */
#include "frame.h"

#include <string.h>

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
  size_t k = strlen(suffix);
  return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Byte range of the object value of the depth-1 member `key` in the valid
 * JSON object text s; the last one, as jansson keeps the last duplicate.
 * A key written with escapes is not matched (the caller then re-serialises). */
static bool find_object_member(const char *s, size_t n, const char *key, size_t *from, size_t *to)
{
  size_t klen = strlen(key), start = 0;
  uint64_t depth = 0;
  bool expect_key = false, want = false, capturing = false, found = false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '"') {
      size_t j = i + 1;
      while (j < n && s[j] != '"')
        j += s[j] == '\\' ? 2 : 1;
      if (j >= n)
        return false;
      if (depth == 1) {
        want = expect_key && j - i - 1 == klen && memcmp(s + i + 1, key, klen) == 0;
        expect_key = false;
      }
      i = j;
      continue;
    }
    switch (c) {
    case '{':
    case '[':
      if (depth == 1 && want) {
        capturing = c == '{';
        start = i;
        want = false;
      }
      depth++;
      if (depth == 1)
        expect_key = true;
      break;
    case '}':
    case ']':
      if (depth == 0)
        return false;
      depth--;
      if (depth == 1 && capturing) {
        *from = start;
        *to = i + 1;
        found = true;
        capturing = false;
      }
      break;
    case ',':
      if (depth == 1)
        expect_key = true;
      break;
    case ':':
    case ' ':
    case '\t':
    case '\r':
    case '\n':
      break;
    default: /* a scalar value */
      if (depth == 1)
        want = false;
      break;
    }
  }
  return found;
}

/* EventBridge: `detail` is the record when detail-type says it came from
 * CloudTrail. Its bytes are taken from the original text, so key order,
 * numbers and escapes reach the scanner exactly as written. */
static int eventbridge(ctr__framer *f, json_t *type, json_t *detail, const char *s, size_t n, uint64_t offset)
{
  const char *t = json_string_value(type);
  size_t tlen = json_string_length(type);
  if (!has_suffix(t, tlen, "via CloudTrail")) {
    snprintf(f->msg, sizeof f->msg, "EventBridge event '%.*s' does not carry a CloudTrail record",
             (int)(tlen > 100 ? 100 : tlen), t);
    skipped(f, offset, f->msg);
    return CTR_OK;
  }
  if (strcmp(t, "AWS Insight via CloudTrail") == 0) {
    skipped(f, offset,
            "EventBridge event 'AWS Insight via CloudTrail' carries a CloudTrail Insights event, not a record");
    return CTR_OK;
  }
  size_t from, to;
  if (find_object_member(s, n, "detail", &from, &to))
    return emit(f, s + from, to - from, offset + from);
  size_t need = json_dumpb(detail, NULL, 0, JSON_COMPACT);
  ctr__buf_clear(&f->tmp);
  if (need == 0 || ctr__buf_reserve(&f->tmp, need) != CTR_OK)
    return CTR_ENOMEM;
  f->tmp.len = json_dumpb(detail, f->tmp.data, need, JSON_COMPACT);
  return emit(f, f->tmp.data, f->tmp.len, offset);
}

/* Whether the JSON text s nests deeper than max (strings crossed, brackets
 * counted; its grammar is the parser's to judge). */
static bool deeper_than(const char *s, size_t n, uint64_t max)
{
  uint64_t depth = 0;
  for (size_t i = 0; i < n; i++) {
    switch (s[i]) {
    case '"':
      for (i++; i < n && s[i] != '"'; i++)
        i += s[i] == '\\';
      break;
    case '{':
    case '[':
      if (++depth > max)
        return true;
      break;
    case '}':
    case ']':
      depth -= depth > 0;
      break;
    default:
      break;
    }
  }
  return false;
}

/* CloudWatch Logs subscription payload: each log event's message is a
 * record (its JSON is checked by the scanner, like any record's), under the
 * same limits as a record of any other shape: the envelope's own depth does
 * not count the nesting inside a message string. */
static int cloudwatch_logs(ctr__framer *f, json_t *type, json_t *events, uint64_t offset)
{
  const char *t = json_string_value(type);
  if (strcmp(t, "CONTROL_MESSAGE") == 0) {
    skipped(f, offset, "CloudWatch Logs control message");
    return CTR_OK;
  }
  if (json_array_size(events) == 0) {
    skipped(f, offset, "CloudWatch Logs payload without log events");
    return CTR_OK;
  }
  for (size_t i = 0; i < json_array_size(events); i++) {
    json_t *message = json_object_get(json_array_get(events, i), "message");
    if (!json_is_string(message)) {
      snprintf(f->msg, sizeof f->msg, "CloudWatch Logs logEvents[%zu] has no string message", i);
      bad_record(f, CTR_EDATA, offset, f->msg);
      continue;
    }
    const char *text = json_string_value(message);
    size_t len = json_string_length(message);
    if (len > f->lim.max_record_bytes || deeper_than(text, len, f->lim.max_depth)) {
      report_limit(f, len > f->lim.max_record_bytes ? BAD_SIZE : BAD_DEPTH, offset);
      continue;
    }
    int rc = emit(f, text, len, offset);
    if (rc != CTR_OK)
      return rc;
  }
  return CTR_OK;
}

/* Only objects whose depth-1 keys could make them an envelope are parsed
 * here; the common bare record goes straight to the scanner. */
static bool maybe_envelope(const ctr__framer *f)
{
  static const unsigned pairs[] = {CTR__SHAPE_DIGEST_START | CTR__SHAPE_LOG_FILES, CTR__SHAPE_DETAIL_TYPE | CTR__SHAPE_DETAIL,
                                   CTR__SHAPE_LOG_EVENTS | CTR__SHAPE_MESSAGE_TYPE};
  if (f->odd_keys)
    return true;
  for (size_t i = 0; i < CTR__COUNTOF(pairs); i++)
    if ((f->keys & pairs[i]) == pairs[i])
      return true;
  return false;
}

int ctr__frame_object(ctr__framer *f, const char *s, size_t n, uint64_t offset)
{
  if (!maybe_envelope(f))
    return emit(f, s, n, offset);
  /* An object that does not parse is still a record: the scanner's parser
   * reports the JSON error with its index and offset. */
  json_t *root = json_loadb(s, n, CTR__JSON_FLAGS, NULL);
  if (!root)
    return emit(f, s, n, offset);
  int rc;
  json_t *detail_type = json_object_get(root, "detail-type"), *detail = json_object_get(root, "detail");
  json_t *message_type = json_object_get(root, "messageType"), *events = json_object_get(root, "logEvents");
  const char *mt = json_string_value(message_type);
  if (json_object_get(root, "digestStartTime") && json_object_get(root, "logFiles")) {
    skipped(f, offset, "CloudTrail digest file");
    rc = CTR_OK;
  } else if (json_is_string(detail_type) && json_is_object(detail)) {
    rc = eventbridge(f, detail_type, detail, s, n, offset);
  } else if (json_is_array(events) && mt && (strcmp(mt, "DATA_MESSAGE") == 0 || strcmp(mt, "CONTROL_MESSAGE") == 0)) {
    rc = cloudwatch_logs(f, message_type, events, offset);
  } else {
    rc = emit(f, s, n, offset);
  }
  json_decref(root);
  return rc;
}
