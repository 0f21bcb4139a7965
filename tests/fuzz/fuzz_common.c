/* fuzz_common.c - helpers shared by the libFuzzer targets. */
#include "fuzz_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void fuzz_fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("fuzz invariant broken: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

void fuzz_text_add(fuzz_text *t, const char *s, size_t n)
{
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + n + 1)
      cap *= 2;
    char *d = realloc(t->data, cap);
    if (!d)
      fuzz_fail("out of memory growing a %zu-byte text", cap);
    t->data = d;
    t->cap = cap;
  }
  memcpy(t->data + t->len, s, n);
  t->len += n;
  t->data[t->len] = '\0';
}

void fuzz_text_adds(fuzz_text *t, const char *s) { fuzz_text_add(t, s, strlen(s)); }

void fuzz_text_free(fuzz_text *t)
{
  free(t->data);
  t->data = NULL;
  t->len = t->cap = 0;
}

void fuzz_text_add_block(fuzz_text *t, const uint8_t *s, size_t n, int indent)
{
  static const char spaces[] = "                ";
  fuzz_text_add(t, spaces, (size_t)indent);
  for (size_t i = 0; i < n; i++) {
    char c = (char)s[i];
    if (c == '\n' || c == '\r') {
      fuzz_text_add(t, "\n", 1);
      fuzz_text_add(t, spaces, (size_t)indent);
      continue;
    }
    if ((s[i] < 0x20 && c != '\t') || s[i] >= 0x7f)
      c = ' ';
    fuzz_text_add(t, &c, 1);
  }
  fuzz_text_add(t, "\n", 1);
}

void fuzz_hash(uint64_t *h, const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    *h ^= b[i];
    *h *= 0x100000001b3ull;
  }
}

static void hash_str(uint64_t *h, const char *s)
{
  if (s)
    fuzz_hash(h, s, strlen(s) + 1);
  else
    fuzz_hash(h, "\xff", 1);
}

static void hash_u64(uint64_t *h, uint64_t v) { fuzz_hash(h, &v, sizeof v); }

ctr_ruleset *fuzz_compile(const char *yaml, size_t len, int with_rds)
{
  ctr_compiler *c;
  if (ctr_compiler_new(&c) != CTR_OK)
    fuzz_fail("ctr_compiler_new failed");
  if (with_rds && ctr_compiler_add_builtin(c, "rds") != CTR_OK)
    fuzz_fail("the built-in rds ruleset does not load");
  int rc = ctr_compiler_add_string(c, yaml, len, "fuzz.yaml");
  ctr_ruleset *rs = NULL;
  int crc = ctr_compiler_compile(c, &rs);
  size_t errors = 0;
  for (size_t i = 0; i < ctr_compiler_diag_count(c); i++) {
    const ctr_diag *d = ctr_compiler_diag(c, i);
    if (!d || !ctr_diag_text(d) || !ctr_diag_code(d) || !ctr_diag_message(d) || !ctr_diag_file(d))
      fuzz_fail("diagnostic %zu has a NULL accessor", i);
    if (ctr_diag_severity(d) == CTR_SEVERITY_ERROR)
      errors++;
  }
  /* The documented contract: compile fails exactly when an error exists. */
  if ((crc == CTR_OK) != (errors == 0))
    fuzz_fail("compile returned %d with %zu error diagnostics", crc, errors);
  if (rc == CTR_ESYNTAX && errors == 0)
    fuzz_fail("add_string returned ESYNTAX without an error diagnostic");
  if (crc == CTR_OK && !rs)
    fuzz_fail("compile returned OK without a ruleset");
  ctr_compiler_free(c);
  if (rs) {
    for (size_t i = 0; i < ctr_ruleset_rule_count(rs); i++) {
      if (!ctr_ruleset_rule_name(rs, i) || !ctr_ruleset_rule_condition(rs, i) ||
          !ctr_ruleset_rule_output(rs, i) || !ctr_priority_name(ctr_ruleset_rule_priority(rs, i)))
        fuzz_fail("rule %zu has a NULL name, condition, output or priority", i);
      for (size_t t = 0; t < ctr_ruleset_rule_tag_count(rs, i); t++)
        if (!ctr_ruleset_rule_tag(rs, i, t))
          fuzz_fail("rule %zu tag %zu is NULL", i, t);
    }
  }
  return rs;
}

/* The match saved (ctr_match_save) gives the line ctr_match_json gave. */
static void same_saved_line(const ctr_match *m, const char *json, size_t json_len)
{
  size_t n = 0, line_len = 0;
  if (ctr_match_save(m, NULL, 0, &n) != CTR_OK)
    fuzz_fail("ctr_match_save failed");
  void *saved = malloc(n ? n : 1);
  char *line = NULL;
  if (!saved || ctr_match_save(m, saved, n, &n) != CTR_OK ||
      ctr_saved_json(saved, n, 0, &line, &line_len) != CTR_OK)
    fuzz_fail("saving the match or its line failed");
  if (line_len != json_len || memcmp(line, json, json_len) != 0)
    fuzz_fail("the saved match's line differs from ctr_match_json's");
  ctr_free(line);
  free(saved);
}

int fuzz_on_match(const ctr_match *m, void *user_data)
{
  fuzz_digest *dg = user_data;
  uint64_t scratch = 0, *h = dg ? &dg->matches : &scratch;
  const char *rule = ctr_match_rule(m), *out = ctr_match_output(m);
  if (!rule || !out || !ctr_match_source(m) || !ctr_priority_name(ctr_match_priority(m)))
    fuzz_fail("match with a NULL rule, output, source or priority");
  hash_str(h, rule);
  hash_str(h, out);
  hash_u64(h, ctr_match_record_index(m));
  hash_u64(h, ctr_match_byte_offset(m));
  hash_u64(h, (uint64_t)ctr_match_time(m));
  for (size_t i = 0; i < ctr_match_tag_count(m); i++)
    hash_str(h, ctr_match_tag(m, i));
  for (size_t i = 0; i < ctr_match_field_count(m); i++) {
    const char *name = ctr_match_field_name(m, i), *value = ctr_match_field_value(m, i), *again;
    if (!name)
      fuzz_fail("output field %zu has no name", i);
    if (ctr_match_field(m, name, &again) != CTR_OK)
      fuzz_fail("output field '%s' is listed but not found by name", name);
    hash_str(h, name);
    hash_str(h, value);
  }
  size_t len = 0;
  const char *ev = ctr_match_event(m, &len);
  if (!ev && len)
    fuzz_fail("match event is NULL with length %zu", len);
  fuzz_hash(h, ev, len);
  return 0;
}

uint32_t fuzz_xorshift32(uint32_t x)
{
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

/* Two reads of one value must agree (both absent, or the same text). */
static void same_read(const char *what, const char *name, const char *a, const char *b)
{
  if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
    fuzz_fail("%s '%s' read twice gave \"%s\" and \"%s\"", what, name, a ? a : "(null)", b ? b : "(null)");
}

enum { READ_OUTPUT, READ_BY_INDEX, READ_BY_NAME, READ_JSON, READ__COUNT };

int fuzz_on_match_any_order(const ctr_match *m, void *user_data)
{
  fuzz_reader *r = user_data;
  size_t nf = ctr_match_field_count(m);
  const char **vals = calloc(nf ? nf : 1, sizeof *vals);
  char *json = NULL;
  size_t json_len = 0;
  const char *out = NULL;
  if (!vals)
    fuzz_fail("out of memory");
  /* The order: a shuffle of the four kinds of read, and the field each of
   * the per-field reads starts from (the first read renders them all). */
  int steps[READ__COUNT] = {READ_OUTPUT, READ_BY_INDEX, READ_BY_NAME, READ_JSON};
  uint32_t x = r->order;
  size_t first = 0;
  if (x) {
    r->order = x = fuzz_xorshift32(x);
    for (int i = READ__COUNT - 1; i > 0; i--) {
      int j = (int)((x >> (4 * i)) % (uint32_t)(i + 1)), t = steps[i];
      steps[i] = steps[j];
      steps[j] = t;
    }
    first = nf ? (x >> 20) % nf : 0;
  }
  for (int s = 0; s < READ__COUNT; s++) {
    switch (steps[s]) {
    case READ_OUTPUT:
      out = ctr_match_output(m);
      if (!out)
        fuzz_fail("match with a NULL output");
      break;
    case READ_BY_INDEX:
      for (size_t k = 0; k < nf; k++) {
        size_t i = (first + k) % nf;
        vals[i] = ctr_match_field_value(m, i);
      }
      break;
    case READ_BY_NAME:
      /* Backwards from the field before `first`, so that a by-name read can
       * come first for any field. */
      for (size_t k = 0; k < nf; k++) {
        size_t i = (first + nf - 1 - k) % nf;
        const char *name = ctr_match_field_name(m, i), *v;
        if (!name || ctr_match_field(m, name, &v) != CTR_OK)
          fuzz_fail("output field %zu is listed but not found by name", i);
        same_read("output field", name, v, ctr_match_field_value(m, i));
      }
      break;
    case READ_JSON:
      if (ctr_match_json(m, 0, &json, &json_len) != CTR_OK || !json || strlen(json) != json_len)
        fuzz_fail("ctr_match_json failed");
      same_saved_line(m, json, json_len);
      break;
    }
  }
  for (size_t i = 0; i < nf; i++)
    same_read("output field", ctr_match_field_name(m, i), vals[i], ctr_match_field_value(m, i));
  same_read("output", "", out, ctr_match_output(m));

  uint64_t *h = &r->digest.matches;
  const char *rule = ctr_match_rule(m);
  if (!rule || !ctr_match_source(m) || !ctr_priority_name(ctr_match_priority(m)))
    fuzz_fail("match with a NULL rule, source or priority");
  hash_str(h, rule);
  hash_u64(h, (uint64_t)ctr_match_priority(m));
  hash_str(h, out);
  hash_u64(h, ctr_match_record_index(m));
  hash_u64(h, ctr_match_byte_offset(m));
  hash_u64(h, (uint64_t)ctr_match_time(m));
  hash_u64(h, (uint64_t)ctr_match_silenced(m));
  for (size_t i = 0; i < ctr_match_tag_count(m); i++)
    hash_str(h, ctr_match_tag(m, i));
  for (size_t i = 0; i < nf; i++) {
    hash_str(h, ctr_match_field_name(m, i));
    hash_str(h, vals[i]);
  }
  hash_str(h, json);
  if (r->log) {
    fprintf(stderr, "%s: record %llu at %llu: %s\n  %s\n", r->log, (unsigned long long)ctr_match_record_index(m),
            (unsigned long long)ctr_match_byte_offset(m), rule, json);
  }
  size_t len = 0;
  const char *ev = ctr_match_event(m, &len);
  if (!ev && len)
    fuzz_fail("match event is NULL with length %zu", len);
  fuzz_hash(h, ev, len);
  ctr_free(json);
  free(vals);
  return 0;
}

void fuzz_on_record_error(const ctr_record_error *e, void *user_data)
{
  fuzz_digest *dg = user_data;
  const char *text = ctr_record_error_text(e), *msg = ctr_record_error_message(e);
  if (!text || !msg)
    fuzz_fail("record error with a NULL text or message");
  if (ctr_record_error_status(e) >= 0)
    fuzz_fail("record error with non-error status %d", ctr_record_error_status(e));
  if (dg) {
    hash_str(&dg->errors, text);
    hash_u64(&dg->errors, (uint64_t)ctr_record_error_evaluated(e));
  }
}

static int scan_with(ctr_ruleset *rs, const void *buf, size_t len, unsigned flags, ctr_match_fn fn, void *ud,
                     fuzz_digest *digest)
{
  ctr_scanner *sc;
  if (ctr_scanner_new(rs, fn, ud, &sc) != CTR_OK)
    fuzz_fail("ctr_scanner_new failed");
  ctr_scanner_set_flags(sc, flags);
  ctr_scanner_set_error_callback(sc, fuzz_on_record_error, digest);
  int rc = ctr_scanner_feed(sc, buf, len);
  int frc = ctr_scanner_finish(sc);
  if (!ctr_scanner_last_error(sc))
    fuzz_fail("ctr_scanner_last_error returned NULL");
  ctr_scanner_free(sc);
  return rc != CTR_OK ? rc : frc;
}

int fuzz_scan_once(ctr_ruleset *rs, const void *buf, size_t len, unsigned flags, fuzz_digest *digest)
{
  return scan_with(rs, buf, len, flags, fuzz_on_match, digest, digest);
}

/* Two RDS changes the built-in rules report, a console login, an error
 * call, and a record with odd types, so fields resolve, go absent and
 * render as lists. */
const char fuzz_sample_records[] =
  "{\"eventVersion\":\"1.10\",\"userIdentity\":{\"type\":\"AssumedRole\",\"principalId\":\"AROA60860F835AE4518B9:mallory\","
  "\"arn\":\"arn:aws:sts::111122223333:assumed-role/DevOpsDeployRole/mallory\",\"accountId\":\"111122223333\","
  "\"accessKeyId\":\"ASIA5363F5CAD26852D3\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\","
  "\"arn\":\"arn:aws:iam::111122223333:role/DevOpsDeployRole\",\"accountId\":\"111122223333\",\"userName\":\"DevOpsDeployRole\"},"
  "\"attributes\":{\"creationDate\":\"2025-06-03T08:58:11Z\",\"mfaAuthenticated\":\"false\"}}},"
  "\"eventTime\":\"2025-06-03T09:56:02Z\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"ModifyDBCluster\","
  "\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"203.0.113.77\",\"userAgent\":\"Boto3/1.34.131\","
  "\"requestParameters\":{\"dBClusterIdentifier\":\"ledger-maz\",\"publiclyAccessible\":true,\"applyImmediately\":true},"
  "\"responseElements\":{\"dBClusterIdentifier\":\"ledger-maz\",\"port\":5432,\"availabilityZones\":[\"us-east-1a\",\"us-east-1b\"],"
  "\"vpcSecurityGroups\":[{\"vpcSecurityGroupId\":\"sg-0c8d2e3f4a5b6c7d8\",\"status\":\"active\"}],\"publiclyAccessible\":true},"
  "\"requestID\":\"be3c9454-9ae0-5009-a2ed-593f6b00df0f\",\"eventID\":\"7b096d31-1bce-5442-ada0-d95aaf62329b\",\"readOnly\":false,"
  "\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":\"111122223333\",\"eventCategory\":\"Management\"}\n"
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"alice\",\"accountId\":\"111122223333\"},"
  "\"eventTime\":\"2025-03-01T10:00:00.123Z\",\"eventSource\":\"signin.amazonaws.com\",\"eventName\":\"ConsoleLogin\","
  "\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"198.51.100.1\",\"responseElements\":{\"ConsoleLogin\":\"Success\"},"
  "\"additionalEventData\":{\"MFAUsed\":\"No\"}}\n"
  "{\"eventVersion\":\"1.09\",\"userIdentity\":{\"type\":\"Root\",\"accountId\":\"444455556666\",\"arn\":\"arn:aws:iam::444455556666:root\"},"
  "\"eventTime\":\"2025-04-02T11:12:13Z\",\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"ModifyDBSnapshotAttribute\","
  "\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":\"rds.amazonaws.com\",\"userAgent\":\"console.amazonaws.com\","
  "\"requestParameters\":{\"dBSnapshotIdentifier\":\"snap-1\",\"attributeName\":\"restore\",\"valuesToAdd\":[\"all\",\"999988887777\"]},"
  "\"responseElements\":null,\"errorCode\":\"AccessDenied\",\"errorMessage\":\"not authorized\"}\n"
  "{\"eventVersion\":\"1.05\",\"userIdentity\":{\"type\":\"AWSService\",\"invokedBy\":\"s3.amazonaws.com\"},"
  "\"eventTime\":\"2019-01-01T00:00:00Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"PutObject\","
  "\"awsRegion\":\"us-west-2\",\"sourceIPAddress\":\"2001:db8::1\",\"requestParameters\":{\"bucketName\":\"b\",\"key\":\"a/b/c.txt\","
  "\"Host\":\"b.s3.amazonaws.com\"},\"resources\":[{\"ARN\":\"arn:aws:s3:::b/a/b/c.txt\",\"type\":\"AWS::S3::Object\"}],"
  "\"additionalEventData\":{\"bytesTransferredIn\":1024,\"bytesTransferredOut\":0},\"n\":-1.5e300,\"u\":\"\\u00e9\\ud83d\\ude00\"}\n";

void fuzz_check_index_agrees(ctr_ruleset *rs, const void *buf, size_t len)
{
  /* The indexed scan reads each match in a varying order, the plain one in
   * the fixed order. */
  fuzz_reader indexed = {.order = 0x2545f491u}, unindexed = {0};
  int rc1 = scan_with(rs, buf, len, 0, fuzz_on_match_any_order, &indexed, &indexed.digest);
  int rc2 = scan_with(rs, buf, len, CTR_SCAN_NO_INDEX, fuzz_on_match_any_order, &unindexed, &unindexed.digest);
  if (rc1 != rc2 || indexed.digest.matches != unindexed.digest.matches ||
      indexed.digest.errors != unindexed.digest.errors)
    fuzz_fail("indexed scan (status %d, matches %016llx, errors %016llx) differs from unindexed scan "
              "(status %d, matches %016llx, errors %016llx)",
              rc1, (unsigned long long)indexed.digest.matches, (unsigned long long)indexed.digest.errors, rc2,
              (unsigned long long)unindexed.digest.matches, (unsigned long long)unindexed.digest.errors);
}
