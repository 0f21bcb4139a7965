/* test_render_json.c - ctr_match_json's fast paths (render_json.c) against a
 * straightforward reference kept here: the line as it was written before
 * them (byte by byte escaping, a qsort of output_fields and of tags per
 * alert, gmtime_r), on every alert of the shared real records and of
 * adversarial ones, under every flag combination (ctr_match_json_to's
 * bytes held to ctr_match_json's at every room); and the escaper alone
 * against a reference escaper on every byte, every pair of bytes, runs of
 * every length around the 8- and 16-byte blocks, invalid UTF-8 and random
 * strings. What a rule's lines share (ctr__json_rule_make: its keys,
 * priority, name and tags, written when it is compiled) is held to the
 * reference for every priority, names and tags that need escaping, none and
 * many tags, and a ruleset freed while another of the same rules lives. A
 * match saved (ctr_match_save) gives the same line (ctr_saved_json) after
 * its bytes move and its scanner and ruleset are freed, from many threads
 * at once; damaged saved bytes are refused or give a line, never read
 * outside their length.
 * Built twice (tests/meson.build): with SSE2 where the compiler has it, and
 * with the word-at-a-time scan other targets use. */
#include "render.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ the reference */

/* The reference writes into a tu_text (testutil), not the library's buffer. */
static void sb_str(tu_text *b, const char *s) { tu_append(b, s, strlen(s)); }

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if none:
 * the table of well-formed byte sequences of the Unicode standard (3.9,
 * table 3-7), written out. */
static size_t ref_utf8(const unsigned char *s, size_t n)
{
  static const struct {
    unsigned char lead_lo, lead_hi, lo2, hi2;
    size_t len;
  } t[] = {
    {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3}, {0xe1, 0xec, 0x80, 0xbf, 3},
    {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3}, {0xf0, 0xf0, 0x90, 0xbf, 4},
    {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
  };
  for (size_t r = 0; r < sizeof t / sizeof t[0]; r++) {
    if (s[0] < t[r].lead_lo || s[0] > t[r].lead_hi)
      continue;
    if (n < t[r].len || s[1] < t[r].lo2 || s[1] > t[r].hi2)
      return 0;
    for (size_t i = 2; i < t[r].len; i++)
      if (s[i] < 0x80 || s[i] > 0xbf)
        return 0;
    return t[r].len;
  }
  return 0;
}

/* docs/alert-format.md#strings, one byte at a time. */
static void ref_escape(tu_text *b, const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    char tmp[8];
    size_t k;
    if (c == '"')
      sb_str(b, "\\\"");
    else if (c == '\\')
      sb_str(b, "\\\\");
    else if (c == '\n')
      sb_str(b, "\\n");
    else if (c == '\r')
      sb_str(b, "\\r");
    else if (c == '\t')
      sb_str(b, "\\t");
    else if (c == '\b')
      sb_str(b, "\\b");
    else if (c == '\f')
      sb_str(b, "\\f");
    else if (c < 0x20) {
      snprintf(tmp, sizeof tmp, "\\u%04x", c);
      sb_str(b, tmp);
    } else if (c < 0x80)
      tu_append(b, &c, 1);
    else if ((k = ref_utf8(s + i, n - i)) != 0) {
      tu_append(b, s + i, k);
      i += k;
      continue;
    } else
      sb_str(b, "\xef\xbf\xbd");
    i++;
  }
}

static void ref_jstr(tu_text *b, const char *s)
{
  sb_str(b, "\"");
  ref_escape(b, s, strlen(s));
  sb_str(b, "\"");
}

typedef struct ref_field {
  const char *name;
  char kind; /* the trailer's kind, or 't' */
  const char *value;
} ref_field;

static int ref_field_cmp(const void *a, const void *b)
{
  const ref_field *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x < y ? -1 : x > y); /* qsort keeps equal names in order: as the line does */
}

static int ref_str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool ref_time_field(const char *n)
{
  return !strcmp(n, "evt.time") || !strcmp(n, "evt.time.s") || !strcmp(n, "evt.time.iso8601") ||
         !strcmp(n, "evt.datetime") || !strcmp(n, "evt.datetime.s");
}

static void ref_time(tu_text *b, uint64_t ns, bool iso)
{
  time_t sec = (time_t)(ns / 1000000000u);
  struct tm tm;
  char buf[64];
  cr_assert_not_null(gmtime_r(&sec, &tm));
  if (iso)
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09u+0000", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ns % 1000000000u));
  else
    snprintf(buf, sizeof buf, "%02d:%02d:%02d.%09u", tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned)(ns % 1000000000u));
  sb_str(b, buf);
}

static void ref_output_fields(tu_text *b, const ctr_match *m, unsigned flags, const char *tr, const char *id,
                              uint64_t ns)
{
  size_t n = ctr_match_field_count(m), nf = 0;
  ref_field *f = calloc(n + 2, sizeof *f);
  cr_assert_not_null(f);
  const char *prefix = flags & CTR_JSON_TIME_ISO8601 ? "evt.time.iso8601" : "evt.time";
  bool have_prefix = false, have_id = false;
  for (size_t i = 0; i < n; i++) {
    ref_field *x = &f[nf++];
    x->name = ctr_match_field_name(m, i);
    x->kind = *tr++;
    x->value = x->kind == 'l' ? tr : ctr_match_field_value(m, i);
    if (x->kind == 'l')
      tr += strlen(tr) + 1;
    if (x->kind != 'a' && ref_time_field(x->name))
      x->kind = 't';
    have_prefix |= !strcmp(x->name, prefix);
    have_id |= !strcmp(x->name, "ct.id");
  }
  if (!have_prefix)
    f[nf++] = (ref_field){prefix, 't', NULL};
  if ((flags & CTR_JSON_EVENT_ID) && !have_id)
    f[nf++] = (ref_field){"ct.id", id ? 's' : 'a', id};
  qsort(f, nf, sizeof *f, ref_field_cmp);
  sb_str(b, "{");
  for (size_t i = 0; i < nf; i++) {
    char num[32];
    if (i)
      sb_str(b, ",");
    ref_jstr(b, f[i].name);
    sb_str(b, ":");
    switch (f[i].kind) {
    case 's': ref_jstr(b, f[i].value); break;
    case 'u':
    case 'l': sb_str(b, f[i].value); break;
    case 't':
      snprintf(num, sizeof num, "%llu", (unsigned long long)ns);
      sb_str(b, num);
      break;
    default: sb_str(b, "null");
    }
  }
  sb_str(b, "}");
  free(f);
}

/* The line as ctr_match_json wrote it before its fast paths. */
static char *ref_line(const ctr_match *m, unsigned flags)
{
  const char *hostname = ctr__match_render(m)->json.data;
  const char *idp = hostname + strlen(hostname) + 1, *tr = idp + strlen(idp) + 1;
  const char *id = *idp == 's' ? idp + 1 : NULL;
  int64_t t = ctr_match_time(m);
  uint64_t ns = t > 0 ? (uint64_t)t : 0;
  const char *prio = ctr_priority_name(ctr_match_priority(m));
  prio = prio ? prio : "Debug";
  tu_text b = {0};
  sb_str(&b, "{\"hostname\":");
  ref_jstr(&b, hostname);
  if (flags & CTR_JSON_MESSAGE) {
    sb_str(&b, ",\"message\":");
    ref_jstr(&b, ctr_match_output(m));
  }
  if (!(flags & CTR_JSON_NO_OUTPUT)) {
    sb_str(&b, ",\"output\":\"");
    ref_time(&b, ns, flags & CTR_JSON_TIME_ISO8601);
    sb_str(&b, ": ");
    sb_str(&b, prio);
    sb_str(&b, " ");
    ref_escape(&b, ctr_match_output(m), strlen(ctr_match_output(m)));
    sb_str(&b, "\"");
  }
  if (!(flags & CTR_JSON_NO_OUTPUT_FIELDS)) {
    sb_str(&b, ",\"output_fields\":");
    ref_output_fields(&b, m, flags, tr, id, ns);
  }
  sb_str(&b, ",\"priority\":");
  ref_jstr(&b, prio);
  sb_str(&b, ",\"rule\":");
  ref_jstr(&b, ctr_match_rule(m));
  sb_str(&b, ",\"source\":");
  ref_jstr(&b, ctr_match_source(m));
  if (!(flags & CTR_JSON_NO_TAGS)) {
    size_t n = ctr_match_tag_count(m);
    const char **tags = calloc(n + 1, sizeof *tags);
    cr_assert_not_null(tags);
    for (size_t i = 0; i < n; i++)
      tags[i] = ctr_match_tag(m, i);
    qsort(tags, n, sizeof *tags, ref_str_cmp);
    sb_str(&b, ",\"tags\":[");
    for (size_t i = 0, w = 0; i < n; i++) {
      if (i && !strcmp(tags[i], tags[i - 1]))
        continue;
      if (w++)
        sb_str(&b, ",");
      ref_jstr(&b, tags[i]);
    }
    sb_str(&b, "]");
    free(tags);
  }
  sb_str(&b, ",\"time\":\"");
  ref_time(&b, ns, true);
  b.len -= 5;
  sb_str(&b, "Z\"}");
  return b.s;
}

/* ------------------------------------------------------------ alerts */

typedef struct seen {
  size_t alerts, lines;
  size_t correlation_alerts; /* alerts of the correlation "Many Snaps" */
  size_t rule_hits[8];   /* alerts per rule of the adversarial set, by its name's digit */
} seen;

/* ctr_match_json_to with cap bytes of room: the line's length, and the
 * line whole and its NUL when there is room for both, the line whole when
 * it fills cap, its first cap bytes when it is longer; nothing else written
 * (guard bytes after it). */
static void check_json_to(const ctr_match *m, unsigned flags, const char *want, size_t want_len, size_t cap)
{
  enum { GUARD = 16 };
  char *buf = malloc(cap + GUARD);
  cr_assert_not_null(buf);
  memset(buf, 0x5a, cap + GUARD);
  size_t len = 12345;
  cr_assert_eq(ctr_match_json_to(m, flags, cap ? buf : NULL, cap, &len), CTR_OK);
  cr_assert_eq(len, want_len, "flags %#x, cap %zu: length %zu, want %zu", flags, cap, len, want_len);
  size_t n = want_len < cap ? want_len : cap;
  cr_assert(memcmp(buf, want, n) == 0, "flags %#x, cap %zu: the bytes differ from ctr_match_json's", flags, cap);
  if (want_len < cap)
    cr_assert_eq(buf[n++], '\0', "flags %#x, cap %zu: no NUL after the line", flags, cap);
  for (size_t i = n; i < cap + GUARD; i++)
    cr_assert_eq((unsigned char)buf[i], 0x5a, "flags %#x, cap %zu: byte %zu written", flags, cap, i);
  free(buf);
}

/* Every flag combination: the library's line is the reference's, and
 * ctr_match_json_to's bytes are ctr_match_json's: with the room a caller
 * guesses (none, short by one, exact, more) under every flag, and with
 * every cap from 0 to the line's length under the bindings' flag. */
/* The match saved (ctr_match_save): its bytes, malloc'ed, in *n. */
static unsigned char *save_match(const ctr_match *m, size_t *n)
{
  cr_assert_eq(ctr_match_save(m, NULL, 0, n), CTR_OK);
  unsigned char *saved = malloc(*n ? *n : 1);
  cr_assert_not_null(saved);
  size_t again = 0;
  cr_assert_eq(ctr_match_save(m, saved, *n, &again), CTR_OK);
  cr_assert_eq(again, *n);
  return saved;
}

/* The saved match's line under flags is want, from ctr_saved_json and from
 * ctr_saved_json_to (with room, and outgrowing a small buffer). */
static void check_saved(const unsigned char *saved, size_t n, unsigned flags, const char *want, size_t want_len)
{
  char *got = NULL, small[8];
  size_t len = 0;
  cr_assert_eq(ctr_saved_json(saved, n, flags, &got, &len), CTR_OK, "flags %#x", flags);
  cr_assert_eq(len, want_len, "flags %#x: saved line %zu bytes, want %zu", flags, len, want_len);
  cr_assert(memcmp(got, want, len) == 0 && got[len] == '\0', "flags %#x:\n saved %s\n want  %s", flags, got, want);
  ctr_free(got);
  char *buf = malloc(want_len + 1);
  cr_assert_eq(ctr_saved_json_to(saved, n, flags, buf, want_len + 1, &len), CTR_OK);
  cr_assert(len == want_len && memcmp(buf, want, len) == 0 && buf[len] == '\0');
  cr_assert_eq(ctr_saved_json_to(saved, n, flags, small, sizeof small, &len), CTR_OK);
  cr_assert(len == want_len && memcmp(small, want, sizeof small < len ? sizeof small : len) == 0);
  free(buf);
}

static int compare_lines(const ctr_match *m, void *ud)
{
  seen *s = ud;
  size_t saved_len;
  unsigned char *saved = save_match(m, &saved_len);
  s->alerts++;
  s->correlation_alerts += strcmp(ctr_match_rule(m), "Many Snaps") == 0;
  const char *r = ctr_match_rule(m);
  if (!strncmp(r, "Adv", 3) && r[3] >= '0' && r[3] <= '7')
    s->rule_hits[r[3] - '0']++;
  for (unsigned flags = 0; flags <= CTR__JSON_ALL; flags++) {
    char *got = NULL, *want = ref_line(m, flags);
    size_t len = 0;
    cr_assert_eq(ctr_match_json(m, flags, &got, &len), CTR_OK);
    cr_assert_eq(len, strlen(got));
    if (strcmp(got, want) != 0)
      cr_assert_fail("rule %s, record %llu, flags %#x:\n got  %s\n want %s", r,
                     (unsigned long long)ctr_match_record_index(m), flags, got, want);
    check_saved(saved, saved_len, flags, got, len);
    s->lines++;
    if (flags == 0) { /* what ctr_match_json_to refuses, *len untouched */
      char one;
      size_t n = 777;
      cr_assert_eq(ctr_match_json_to(m, 0, NULL, 5, &n), CTR_EINVAL);
      cr_assert_eq(ctr_match_json_to(m, 0, &one, 1, NULL), CTR_EINVAL);
      cr_assert_eq(ctr_match_json_to(NULL, 0, &one, 1, &n), CTR_EINVAL);
      cr_assert_eq(ctr_match_json_to(m, CTR__JSON_ALL + 1, &one, 1, &n), CTR_EINVAL);
      cr_assert_eq(n, 777);
    }
    if (flags == CTR_JSON_EVENT_ID) {
      for (size_t cap = 0; cap <= len + 1; cap++)
        check_json_to(m, flags, got, len, cap);
    } else {
      const size_t caps[] = {0, len - 1, len, len + 1, len + 4096};
      for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        check_json_to(m, flags, got, len, caps[i]);
    }
    ctr_free(got);
    free(want);
  }
  free(saved);
  return 0;
}

static ctr_ruleset *compile_with(const char *file, const char *yaml)
{
  ctr_compiler *c;
  cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
  cr_assert_eq(ctr_compiler_add_builtin(c, "rds"), CTR_OK);
  if (file)
    cr_assert_eq(ctr_compiler_add_file(c, file), CTR_OK, "%s", file);
  if (yaml)
    cr_assert_eq(ctr_compiler_add_string(c, yaml, strlen(yaml), "adversarial.yaml"), CTR_OK);
  return tu_compile_all(c);
}

static void scan_into(ctr_ruleset *rs, const char *buf, size_t len, seen *s)
{
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, compare_lines, s, &sc), CTR_OK);
  ctr_scanner_feed(sc, buf, len); /* bad records are the scanner's business, counted there */
  ctr_scanner_finish(sc);
  ctr_scanner_free(sc);
}

Test(render_json, every_alert_of_the_shared_records_is_the_reference_line_under_every_flag)
{
  ctr_ruleset *rs = compile_with(tu_tests("bench/rules/falco_upstream_rules.yaml"), NULL);
  static const char *const files[] = {"records.ndjson", "partial.ndjson", "records.json.gz"};
  size_t total = 0;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    size_t len;
    char *buf = tu_read(tu_shared(files[i]), &len);
    seen s = {0};
    scan_into(rs, buf, len, &s);
    cr_assert_eq(s.lines, s.alerts * (CTR__JSON_ALL + 1));
    total += s.alerts;
    free(buf);
  }
  cr_assert_gt(total, 100, "the records give %zu alerts", total);
  ctr_ruleset_unref(rs);
}

/* Every output field kind and name the line treats apart, unsorted and
 * repeated tags, and no fields or tags at all; Adv<digit> names what the
 * alerts count. */
static const char ADVERSARIAL_RULES[] =
  "- rule: Adv0 every kind\n"
  "  desc: d\n"
  "  condition: ct.name startswith Adv\n"
  "  output: >-\n"
  "    ua=%ct.useragent v=%json.values[requestParameters.v] w=%json.values[requestParameters.w]\n"
  "    n=%evt.num bytes=%s3.bytes images=%ec2.imageids t=%evt.time dt=%evt.datetime ts=%evt.time.s\n"
  "    iso=%evt.time.iso8601 id=%ct.id gone=%ct.error user=%ct.user region=%ct.region\n"
  "  priority: WARNING\n"
  "  source: aws_cloudtrail\n"
  "  tags: [zeta, aws, T1485, aws, \"a\\\"q\", \"\\u00e9\", zeta, A]\n"
  "- rule: Adv1 \"quoted\" \\ name\n"
  "  desc: d\n"
  "  condition: ct.name startswith Adv\n"
  "  output: nothing to show\n"
  "  priority: DEBUG\n"
  "  source: aws_cloudtrail\n"
  "- rule: Adv2 the extras sort around\n"
  "  desc: d\n"
  "  condition: ct.name startswith Adv\n"
  "  output: \"%ct.id %evt.time %ct.user.arn %s3.bytes %ct.name %evt.time.s\"\n"
  "  priority: CRITICAL\n"
  "  source: aws_cloudtrail\n"
  "  tags: [b, a]\n"
  "- rule: Adv3 only a value\n"
  "  desc: d\n"
  "  condition: ct.name startswith Adv\n"
  "  output: \"%json.values[requestParameters.v]\"\n"
  "  priority: NOTICE\n"
  "  source: aws_cloudtrail\n"
  "  tags: [x]\n";

/* A record of eventName Adv<i> whose userAgent and requestParameters.v
 * hold `value` (JSON text, inside the quotes), w a list of two. */
static void adversarial_record(tu_text *t, int i, const char *time, const char *value)
{
  tu_appendf(t,
             "{\"eventVersion\":\"1.08\",\"eventTime\":\"%s\",\"eventID\":\"id-%d\\\"%s\","
             "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"Adv%d\",\"awsRegion\":\"us-east-1\","
             "\"userAgent\":\"%s\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u%s\"},"
             "\"requestParameters\":{\"v\":\"%s\",\"w\":[\"%s\",\"2\"]},"
             "\"additionalEventData\":{\"bytesTransferredIn\":%d},"
             "\"responseElements\":{\"instancesSet\":{\"items\":[{\"imageId\":\"ami-%s\"},{\"imageId\":\"b\"}]}}}\n",
             time, i, value, i, value, value, value, value, i, value);
}

Test(render_json, adversarial_values_and_times_are_the_reference_line_under_every_flag)
{
  tu_text t = {0};
  int n = 0;
  /* every byte below 0x80 inside a value, as JSON writes it */
  for (int c = 0; c < 0x80; c++) {
    char v[16];
    if (c < 0x20 || c == '"' || c == '\\' || c == 0x7f)
      snprintf(v, sizeof v, "a\\u%04xb", c);
    else
      snprintf(v, sizeof v, "a%cb", c);
    adversarial_record(&t, n++, "2025-07-10T16:40:09.123456789Z", v);
  }
  /* non-ASCII: raw UTF-8, escapes, surrogate pairs, U+2028/2029, the last code point */
  static const char *const values[] = {
    "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80 emoji", "\\u2028\\u2029", "\\ud83d\\ude00",
    "\\uffff\\ufffd", "\\udbff\\udfff", "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf",
    "", "\\\\\\\"\\\\", "\\u0000\\u0000", "tab\\there\\nnew\\rline\\b\\f",
  };
  for (size_t k = 0; k < sizeof values / sizeof values[0]; k++)
    adversarial_record(&t, n++, "2024-02-29T23:59:59Z", values[k]);
  /* a special at every offset of runs around the 8- and 16-byte blocks */
  for (int len = 0; len <= 40; len++)
    for (int at = 0; at <= len; at += len < 20 ? 1 : 7) {
      char v[128];
      int w = 0;
      for (int i = 0; i < len; i++) {
        if (i == at)
          w += snprintf(v + w, sizeof v - (size_t)w, "%s", (len + at) % 3 ? "\\\"" : "\xc3\xa9");
        v[w++] = (char)('a' + i % 26);
      }
      v[w] = '\0';
      adversarial_record(&t, n++, "2025-01-01T00:00:00Z", v);
    }
  /* long runs */
  char *long_run = malloc(5001);
  cr_assert_not_null(long_run);
  memset(long_run, 'x', 5000);
  long_run[5000] = '\0';
  adversarial_record(&t, n++, "2025-01-01T00:00:00Z", long_run);
  long_run[4097] = '\\';
  long_run[4098] = 'n';
  adversarial_record(&t, n++, "2025-01-01T00:00:00Z", long_run);
  free(long_run);
  /* times the date arithmetic must get right (against gmtime_r) */
  static const char *const times[] = {
    "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000001Z", "1999-12-31T23:59:59.999999999Z",
    "2000-02-29T12:00:00Z", "2000-03-01T00:00:00Z", "2024-12-31T23:59:59Z", "2100-02-28T23:59:59Z",
    "2100-03-01T00:00:00Z", "2262-04-11T23:47:16Z", "not a time", "1960-06-01T00:00:00Z",
    /* evt.time in ns: seconds of one digit, of two, of three */
    "1970-01-01T00:00:05.5Z", "1970-01-01T00:01:39.000000070Z", "1970-01-01T00:01:40Z",
  };
  for (size_t k = 0; k < sizeof times / sizeof times[0]; k++)
    adversarial_record(&t, n++, times[k], "plain");

  ctr_ruleset *rs = compile_with(NULL, ADVERSARIAL_RULES);
  seen s = {0};
  scan_into(rs, t.s, t.len, &s);
  /* every record reached every rule's line */
  cr_assert_eq(s.rule_hits[0], (size_t)n, "%zu of %d records", s.rule_hits[0], n);
  cr_assert_eq(s.rule_hits[1], (size_t)n);
  cr_assert_eq(s.rule_hits[2], (size_t)n);
  cr_assert_eq(s.rule_hits[3], (size_t)n);
  cr_assert_eq(s.lines, s.alerts * (CTR__JSON_ALL + 1));
  ctr_ruleset_unref(rs);
  free(t.s);
}

/* A Sigma correlation's rule has its orders compiled by correlate_compile.c
 * (a repeated group-by field, tags repeated and unsorted): its line is the
 * reference's too. */
Test(render_json, a_correlation_alert_is_the_reference_line)
{
  static const char rules[] =
    "title: Snap\nid: snap-id\nname: snap\nlogsource: {product: aws, service: cloudtrail}\n"
    "detection:\n  s: {eventName: DeleteDBSnapshot}\n  condition: s\nlevel: low\n"
    "---\ntitle: Many Snaps\ncorrelation:\n  type: event_count\n  rules: [snap]\n"
    "  group-by: [userIdentity.arn, awsRegion, userIdentity.arn]\n  timespan: 5m\n  condition:\n    gte: 2\n"
    "level: high\ntags: [zz, attack.t1485, aa, zz]\n";
  char diags[4096];
  ctr_ruleset *rs = tu_compile(rules, diags, sizeof diags);
  cr_assert_not_null(rs, "%s", diags);
  tu_text t = {0};
  for (int i = 0; i < 3; i++)
    tu_appendf(&t,
               "{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-01-01T10:0%d:00Z\",\"eventID\":\"e%d\","
               "\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"DeleteDBSnapshot\",\"awsRegion\":\"eu-\\\"1\","
               "\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::1:user/m\\u00e9\\n\"}}\n",
               i, i);
  seen s = {0};
  scan_into(rs, t.s, t.len, &s);
  cr_assert_gt(s.correlation_alerts, 0, "no correlation alert among %zu", s.alerts);
  ctr_ruleset_unref(rs);
  free(t.s);
}

/* The rules whose constant part (ctr__json_rule_make: keys, priority,
 * name, tags) is written apart from the alert's bytes, compiled: every
 * priority, a name and tags that need escaping, no tags, many tags
 * unsorted and repeated, output field names that need escaping, fields
 * sorting before, between and after the extras. */
static ctr_ruleset *shaped_ruleset(void)
{
  static const char *const prios[] = {"EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"};
  tu_text r = {0};
  for (size_t i = 0; i < sizeof prios / sizeof prios[0]; i++)
    tu_appendf(&r,
               "- rule: \"Shape %zu \\u0001\\t\\u00e9 \\\" \\\\ \\u2028\"\n"
               "  desc: d\n  condition: ct.name startswith Adv\n"
               "  output: \"%%json.value['/requestParameters/q\\\"t\\u00e9\\\\x\\t\\u0001'] %%evt.time.iso8601 %%ct.error "
               "%%ct.user %%s3.bytes\"\n"
               "  priority: %s\n  source: aws_cloudtrail\n  tags: [\"t\\\"%zu\", \"\\u00e9\", \"\\u0002\"]\n",
               i, prios[i], i);
  tu_appendf(&r, "%s", "- rule: Shape many tags\n  desc: d\n  condition: ct.name startswith Adv\n"
                       "  output: \"%ct.user %ct.id %s3.bytes %ct.error %evt.time\"\n  priority: NOTICE\n  source: aws_cloudtrail\n  tags: [");
  for (int i = 0; i < 300; i++)
    tu_appendf(&r, "%s\"tag %03d%s\"", i ? ", " : "", (i * 7919) % 250, i % 3 ? "" : " \\\"q\\\"");
  tu_appendf(&r, "%s", "]\n- rule: Shape no tags no fields\n  desc: d\n  condition: ct.name startswith Adv\n"
                       "  output: nothing\n  priority: WARNING\n  source: aws_cloudtrail\n");
  char diags[8192];
  ctr_ruleset *rs = tu_compile(r.s, diags, sizeof diags);
  cr_assert_not_null(rs, "%s", diags);
  free(r.s);
  return rs;
}

/* Records of eventName Adv<i> for shaped_ruleset, n of them. */
static char *shaped_records(int n, size_t *len)
{
  tu_text t = {0};
  for (int i = 0; i < n; i++)
    adversarial_record(&t, i, "2025-03-01T10:02:03.5Z", i % 2 ? "v\\\"w" : "plain");
  *len = t.len;
  return t.s;
}

Test(render_json, every_priority_escaped_names_and_tags_many_tags_or_none_are_the_reference_line)
{
  ctr_ruleset *rs = shaped_ruleset();
  size_t len;
  char *buf = shaped_records(3, &len);
  seen s = {0};
  scan_into(rs, buf, len, &s);
  cr_assert_eq(s.alerts, 3 * 10, "%zu alerts", s.alerts);
  cr_assert_eq(s.lines, s.alerts * (CTR__JSON_ALL + 1));
  ctr_ruleset_unref(rs);
  free(buf);
}

/* Each ruleset's rules have a constant part of their own: a ruleset freed
 * while another made of the same rules (and one compiled after the free,
 * which may reuse its memory) lives on gives them nothing of its. */
Test(render_json, a_ruleset_freed_while_another_of_the_same_rules_lives)
{
  ctr_ruleset *first = shaped_ruleset(), *second = shaped_ruleset();
  size_t len;
  char *buf = shaped_records(2, &len);
  seen s = {0};
  scan_into(first, buf, len, &s);
  ctr_ruleset_unref(first);
  ctr_ruleset *third = compile_with(NULL, ADVERSARIAL_RULES);
  seen s2 = {0}, s3 = {0};
  scan_into(second, buf, len, &s2);
  scan_into(third, buf, len, &s3);
  cr_assert_eq(s2.alerts, s.alerts);
  cr_assert_gt(s3.rule_hits[0], 0);
  ctr_ruleset_unref(second);
  ctr_ruleset_unref(third);
  free(buf);
}

/* ------------------------------------------------------------ out of memory */

/* Allocations made to fail (tests/meson.build wraps malloc and realloc):
 * armed only around ctr_match_json. */
void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);
static bool g_armed, g_failed;
static long g_count, g_fail_at;

static bool inject(void)
{
  if (!g_armed || ++g_count != g_fail_at)
    return false;
  g_failed = true;
  return true;
}
void *__wrap_malloc(size_t n) { return inject() ? NULL : __real_malloc(n); }

/* Arms the failure of the k-th allocation from now (disarmed by the caller
 * once the call under test returns). */
static void arm(long k)
{
  g_count = 0;
  g_fail_at = k;
  g_failed = false;
  g_armed = true;
}
void *__wrap_realloc(void *p, size_t n) { return inject() ? NULL : __real_realloc(p, n); }

/* Each allocation of each line failed in turn: CTR_ENOMEM, nothing handed
 * out (nor leaked: ASan), then the line whole once none fails. */
static int fail_each_allocation(const ctr_match *m, void *ud)
{
  seen *s = ud;
  s->alerts++;
  s->correlation_alerts += strcmp(ctr_match_rule(m), "Many Snaps") == 0;
  /* The output rendered first, unarmed: the line's own allocations are
   * failed here (the rendering's are test_alloc_fail's). */
  cr_assert_not_null(ctr_match_output(m));
  static const unsigned flag_sets[] = {0, CTR_JSON_EVENT_ID | CTR_JSON_MESSAGE | CTR_JSON_TIME_ISO8601};
  /* The match rendered first: a scanner may render it on the first read,
   * and a failure there is the scanner's (test_alloc_fail), not the line's. */
  cr_assert_not_null(ctr_match_output(m));
  for (size_t f = 0; f < 2; f++) {
    for (long k = 1;; k++) {
      char sentinel[] = "untouched", *line = sentinel;
      size_t len = 12345;
      arm(k);
      int rc = ctr_match_json(m, flag_sets[f], &line, &len);
      g_armed = false;
      if (g_failed) {
        cr_assert_eq(rc, CTR_ENOMEM, "allocation %ld failed, rc %d", k, rc);
        cr_assert_eq(line, sentinel);
        cr_assert_eq(len, 12345);
        s->lines++; /* a failure seen */
        continue;
      }
      cr_assert_eq(rc, CTR_OK);
      char *want = ref_line(m, flag_sets[f]);
      cr_assert_str_eq(line, want);
      free(want);
      ctr_free(line);
      break;
    }
    /* ctr_match_json_to, outgrowing a small buffer and in a buffer with
     * room: each allocation failing in turn gives CTR_ENOMEM and no
     * length, then the line. */
    char *line = NULL;
    size_t want_len = 0;
    cr_assert_eq(ctr_match_json(m, flag_sets[f], &line, &want_len), CTR_OK);
    const size_t caps[] = {16, want_len + 1};
    for (size_t c = 0; c < 2; c++) {
      char *buf = malloc(caps[c]);
      for (long k = 1;; k++) {
        size_t len = 12345;
        arm(k);
        int rc = ctr_match_json_to(m, flag_sets[f], buf, caps[c], &len);
        g_armed = false;
        if (g_failed) {
          cr_assert_eq(rc, CTR_ENOMEM, "allocation %ld failed, rc %d", k, rc);
          cr_assert_eq(len, 12345);
          s->lines++;
          continue;
        }
        cr_assert_eq(rc, CTR_OK);
        cr_assert_eq(len, want_len);
        cr_assert(memcmp(buf, line, caps[c] < len ? caps[c] : len) == 0);
        break;
      }
      free(buf);
    }
    /* Saving allocates nothing (the match rendered); the saved line's
     * allocations each failing in turn give CTR_ENOMEM, then the line. */
    size_t saved_len = 0;
    arm(1);
    cr_assert_eq(ctr_match_save(m, NULL, 0, &saved_len), CTR_OK);
    g_armed = false;
    cr_assert(!g_failed, "ctr_match_save allocated");
    unsigned char *saved = save_match(m, &saved_len);
    for (long k = 1;; k++) {
      char sentinel[] = "untouched", *got = sentinel;
      size_t len = 12345;
      arm(k);
      int rc = ctr_saved_json(saved, saved_len, flag_sets[f], &got, &len);
      g_armed = false;
      if (g_failed) {
        cr_assert_eq(rc, CTR_ENOMEM, "allocation %ld failed, rc %d", k, rc);
        cr_assert(got == sentinel && len == 12345);
        s->lines++;
        continue;
      }
      cr_assert_eq(rc, CTR_OK);
      cr_assert(len == want_len && memcmp(got, line, len) == 0);
      ctr_free(got);
      break;
    }
    free(saved);
    ctr_free(line);
  }
  return 0;
}

Test(render_json, every_allocation_failing_in_turn_gives_enomem_and_nothing_else)
{
  /* a correlation, a rule of 40 fields (their kinds not on the stack),
   * values that grow six-fold escaped (the line's buffer grown) */
  tu_text rules = {0};
  tu_appendf(&rules, "%s", "title: Snap\nid: snap-id\nname: snap\nlogsource: {product: aws, service: cloudtrail}\n"
                           "detection:\n  s: {eventName: DeleteDBSnapshot}\n  condition: s\nlevel: low\n"
                           "---\ntitle: Many Snaps\ncorrelation:\n  type: event_count\n  rules: [snap]\n"
                           "  group-by: [userIdentity.arn]\n  timespan: 5m\n  condition:\n    gte: 2\n"
                           "level: high\ntags: [zz, aa]\n---\n"
                           "- rule: Wide\n  desc: d\n  condition: ct.name = DeleteDBSnapshot\n  output: \"");
  for (int i = 0; i < 40; i++)
    tu_appendf(&rules, "%%json.values[requestParameters.f%02d] ", i);
  tu_appendf(&rules, "%s", "%ct.user.arn\"\n  priority: ERROR\n  source: aws_cloudtrail\n  tags: [b, a, b]\n");
  char diags[4096];
  ctr_ruleset *rs = tu_compile(rules.s, diags, sizeof diags);
  cr_assert_not_null(rs, "%s", diags);
  tu_text t = {0};
  for (int i = 0; i < 2; i++) {
    tu_appendf(&t,
               "{\"eventVersion\":\"1.08\",\"eventTime\":\"2025-01-01T10:0%d:00Z\",\"eventID\":\"e%d\","
               "\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"DeleteDBSnapshot\",\"awsRegion\":\"r\","
               "\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::1:user/m\"},\"requestParameters\":{",
               i, i);
    for (int f = 0; f < 40; f++) {
      tu_appendf(&t, "%s\"f%02d\":\"", f ? "," : "", f);
      for (int k = 0; k < 50; k++)
        tu_appendf(&t, "\\u0001");
      tu_appendf(&t, "\"");
    }
    tu_appendf(&t, "}}\n");
  }
  seen s = {0};
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, fail_each_allocation, &s, &sc), CTR_OK);
  cr_assert_eq(ctr_scanner_feed(sc, t.s, t.len), CTR_OK);
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  ctr_scanner_free(sc);
  cr_assert_eq(s.alerts, 3, "%zu alerts", s.alerts); /* Wide twice, the correlation once */
  cr_assert_gt(s.correlation_alerts, 0);
  cr_assert_geq(s.lines, 3 * 2 * 3, "%zu failures", s.lines); /* at least a buffer and a growth each, one spill */
  ctr_ruleset_unref(rs);
  free(rules.s);
  free(t.s);
}

/* ------------------------------------------------------------ saved matches */

typedef struct kept {
  unsigned char *saved[64];
  size_t saved_len[64];
  char *line[64];
  size_t n, alerts;
} kept;

/* Keeps the first 64 matches saved, with their line (CTR_JSON_EVENT_ID). */
static int keep_saved(const ctr_match *m, void *ud)
{
  kept *k = ud;
  k->alerts++;
  if (k->n < 64) {
    k->saved[k->n] = save_match(m, &k->saved_len[k->n]);
    cr_assert_eq(ctr_match_json(m, CTR_JSON_EVENT_ID, &k->line[k->n], NULL), CTR_OK);
    k->n++;
  }
  return 0;
}

static void keep_from(kept *k, const char *yaml)
{
  ctr_ruleset *rs = compile_with(tu_tests("bench/rules/falco_upstream_rules.yaml"), yaml);
  size_t len;
  char *buf = tu_read(tu_shared("records.ndjson"), &len);
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, keep_saved, k, &sc), CTR_OK);
  ctr_scanner_feed(sc, buf, len);
  ctr_scanner_finish(sc);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs); /* the saved bytes borrow nothing of either */
  free(buf);
  cr_assert_geq(k->n, 20, "%zu alerts saved", k->n);
}

static void kept_free(kept *k)
{
  for (size_t i = 0; i < k->n; i++) {
    free(k->saved[i]);
    ctr_free(k->line[i]);
  }
}

Test(render_json, a_saved_match_gives_its_line_after_the_scanner_and_ruleset_are_freed_wherever_its_bytes_move)
{
  kept k = {0};
  keep_from(&k, ADVERSARIAL_RULES);
  for (size_t i = 0; i < k.n; i++) {
    /* moved to an odd address: the bytes hold no pointer and need no alignment */
    unsigned char *moved = malloc(k.saved_len[i] + 1);
    memcpy(moved + 1, k.saved[i], k.saved_len[i]);
    memset(k.saved[i], 0xa5, k.saved_len[i]);
    check_saved(moved + 1, k.saved_len[i], CTR_JSON_EVENT_ID, k.line[i], strlen(k.line[i]));
    free(moved);
  }
  kept_free(&k);
}

/* Four threads write the lines of the same saved blocks at once, after
 * the scanner and the ruleset are gone: each line whole and the same. */
static void *write_saved_lines(void *arg)
{
  const kept *k = arg;
  for (int round = 0; round < 20; round++)
    for (size_t i = 0; i < k->n; i++) {
      char *line = NULL;
      size_t len = 0;
      if (ctr_saved_json(k->saved[i], k->saved_len[i], CTR_JSON_EVENT_ID, &line, &len) != CTR_OK ||
          strcmp(line, k->line[i]) != 0) {
        ctr_free(line);
        return (void *)1;
      }
      ctr_free(line);
    }
  return NULL;
}

Test(render_json, saved_lines_are_written_from_any_thread_at_once)
{
  kept k = {0};
  keep_from(&k, ADVERSARIAL_RULES);
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    cr_assert_eq(pthread_create(&t[i], NULL, write_saved_lines, &k), 0);
  for (int i = 0; i < 4; i++) {
    void *failed = NULL;
    pthread_join(t[i], &failed);
    cr_assert_null(failed, "thread %d wrote a different line", i);
  }
  kept_free(&k);
}

/* At every cap around the block's size: the size, and the block whole
 * when it fits; nothing at all written when it does not, nothing beyond
 * cap ever; the arguments refused, *len untouched. */
static int save_at_every_cap(const ctr_match *m, void *ud)
{
  int *checked = ud;
  if ((*checked)++)
    return 0;
  size_t want_len;
  unsigned char *want = save_match(m, &want_len);
  enum { GUARD = 16 };
  for (size_t cap = 0; cap <= want_len + 1; cap++) {
    unsigned char *buf = malloc(cap + GUARD);
    memset(buf, 0x5a, cap + GUARD);
    size_t len = 777;
    cr_assert_eq(ctr_match_save(m, cap ? buf : NULL, cap, &len), CTR_OK);
    cr_assert_eq(len, want_len);
    size_t whole = want_len <= cap ? want_len : 0;
    cr_assert(memcmp(buf, want, whole) == 0, "cap %zu", cap);
    for (size_t i = whole; i < cap + GUARD; i++)
      cr_assert_eq(buf[i], 0x5a, "cap %zu: byte %zu written", cap, i);
    free(buf);
  }
  size_t n = 777;
  unsigned char one;
  cr_assert_eq(ctr_match_save(NULL, &one, 1, &n), CTR_EINVAL);
  cr_assert_eq(ctr_match_save(m, NULL, 5, &n), CTR_EINVAL);
  cr_assert_eq(ctr_match_save(m, &one, 1, NULL), CTR_EINVAL);
  cr_assert_eq(n, 777);
  char *line = NULL;
  cr_assert_eq(ctr_saved_json(NULL, want_len, 0, &line, &n), CTR_EINVAL);
  cr_assert_eq(ctr_saved_json(want, want_len, 0, NULL, &n), CTR_EINVAL);
  cr_assert_eq(ctr_saved_json(want, want_len, CTR__JSON_ALL + 1, &line, &n), CTR_EINVAL);
  cr_assert_eq(ctr_saved_json_to(want, want_len, 0, NULL, 5, &n), CTR_EINVAL);
  cr_assert_eq(ctr_saved_json_to(want, want_len, 0, (char *)&one, 1, NULL), CTR_EINVAL);
  cr_assert(line == NULL && n == 777);
  free(want);
  return 0;
}

Test(render_json, ctr_match_save_writes_the_whole_block_or_nothing_within_cap_and_refuses_bad_arguments)
{
  ctr_ruleset *rs = compile_with(NULL, ADVERSARIAL_RULES);
  size_t len;
  char *buf = tu_read(tu_shared("records.ndjson"), &len);
  int checked = 0;
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, save_at_every_cap, &checked, &sc), CTR_OK);
  ctr_scanner_feed(sc, buf, len);
  ctr_scanner_finish(sc);
  ctr_scanner_free(sc);
  cr_assert_gt(checked, 0);
  ctr_ruleset_unref(rs);
  free(buf);
}

/* Saved bytes damaged as a caller's memory may damage them: every prefix,
 * a byte more, every byte changed three ways, every word set to values that
 * overflow or point past the end. Refused (CTR_EINVAL), or a line written
 * within what was saved; never a read outside the bytes (ASan and UBSan
 * run this in the test command). */
Test(render_json, damaged_saved_bytes_are_refused_or_give_a_line_never_a_read_outside_them)
{
  kept k = {0};
  keep_from(&k, ADVERSARIAL_RULES);
  size_t refused = 0, written = 0;
  for (size_t i = 0; i < k.n && i < 12; i++) {
    size_t n = k.saved_len[i];
    /* each case in memory of its own size, so that ASan sees a read past it */
    for (size_t cut = 0; cut < n; cut++) {
      unsigned char *p = malloc(cut ? cut : 1);
      memcpy(p, k.saved[i], cut);
      char *line = NULL;
      cr_assert_eq(ctr_saved_json(p, cut, 0, &line, NULL), CTR_EINVAL, "cut to %zu of %zu bytes", cut, n);
      free(p);
    }
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, k.saved[i], n);
    longer[n] = 0;
    char *line = NULL;
    cr_assert_eq(ctr_saved_json(longer, n + 1, 0, &line, NULL), CTR_EINVAL);
    free(longer);
    static const unsigned char flips[] = {0x01, 0x80, 0xff};
    for (size_t at = 0; at < n; at++)
      for (size_t f = 0; f < sizeof flips; f++) {
        unsigned char *p = malloc(n);
        memcpy(p, k.saved[i], n);
        p[at] ^= flips[f];
        size_t len = 0;
        int rc = ctr_saved_json(p, n, CTR__JSON_ALL, &line, &len);
        cr_assert(rc == CTR_EINVAL || rc == CTR_OK, "byte %zu ^ %#x: rc %d", at, flips[f], rc);
        if (rc == CTR_OK) {
          cr_assert_eq(line[len], '\0'); /* a damaged 'u' value may hold any byte: no strlen */
          ctr_free(line);
          written++;
        } else {
          refused++;
        }
        free(p);
      }
    static const uint64_t words[] = {UINT64_MAX, UINT64_MAX - 7, (uint64_t)1 << 62, (uint64_t)1 << 32, 0};
    for (size_t at = 0; at + 8 <= n; at += 8)
      for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        unsigned char *p = malloc(n);
        memcpy(p, k.saved[i], n);
        uint64_t v = words[w] ? words[w] : (uint64_t)n;
        memcpy(p + at, &v, 8);
        int rc = ctr_saved_json(p, n, 0, &line, NULL);
        cr_assert(rc == CTR_EINVAL || rc == CTR_OK, "word %zu = %#llx: rc %d", at / 8, (unsigned long long)v, rc);
        if (rc == CTR_OK)
          ctr_free(line);
        free(p);
      }
  }
  /* most damage is refused; a changed byte of text gives a line of its own */
  cr_assert_gt(refused, 0);
  cr_assert_gt(written, 0);
  kept_free(&k);
}

/* ------------------------------------------------------------ the escaper */

static void check_escape(const unsigned char *s, size_t n)
{
  ctr__buf b = {0};
  tu_text want = {0};
  sb_str(&want, "\"");
  ref_escape(&want, (const char *)s, n);
  sb_str(&want, "\"");
  /* after some text already in the buffer too: the room kept is the buffer's */
  cr_assert_eq(ctr__buf_append_str(&b, "prefix"), CTR_OK);
  cr_assert_eq(ctr__json_str(&b, (const char *)s, n), CTR_OK);
  cr_assert_eq(b.len, 6 + want.len);
  cr_assert_eq(b.data[b.len], '\0');
  if (memcmp(b.data + 6, want.s, want.len) != 0) {
    char hex[3 * 64 + 1] = "";
    for (size_t i = 0; i < n && i < 64; i++)
      snprintf(hex + 3 * i, 4, "%02x ", s[i]);
    cr_assert_fail("input %s(%zu bytes):\n got  %s\n want %s", hex, n, b.data + 6, want.s);
  }
  ctr__buf_free(&b);
  free(want.s);
}

Test(render_json, every_byte_and_every_pair_of_bytes_escape_as_the_reference)
{
  unsigned char s[64];
  for (int c = 0; c < 256; c++) {
    s[0] = (unsigned char)c;
    check_escape(s, 1);
    /* inside a run, at either end of a 16-byte block and past it */
    for (size_t at = 0; at < 40; at++) {
      memset(s, 'k', sizeof s);
      s[at] = (unsigned char)c;
      check_escape(s, at + 1);
      check_escape(s, 40);
    }
  }
  for (int c = 0; c < 256; c++)
    for (int d = 0; d < 256; d++) {
      s[0] = (unsigned char)c;
      s[1] = (unsigned char)d;
      check_escape(s, 2);
    }
}

Test(render_json, utf8_sequences_valid_invalid_and_cut_escape_as_the_reference)
{
  /* every lead byte with every second byte, and third and fourth bytes at
   * the edges of the continuation range, whole and cut at the end */
  static const unsigned char edges[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
  unsigned char s[8];
  for (int lead = 0xc0; lead < 0x100; lead++) {
    s[0] = (unsigned char)lead;
    s[4] = 'z';
    for (int b2 = 0; b2 < 256; b2++) {
      s[1] = (unsigned char)b2;
      s[2] = s[3] = 0x80;
      for (size_t n = 2; n <= 5; n++)
        check_escape(s, n);
    }
    for (size_t e2 = 0; e2 < sizeof edges; e2++)
      for (size_t e3 = 0; e3 < sizeof edges; e3++)
        for (size_t e4 = 0; e4 < sizeof edges; e4++) {
          s[1] = edges[e2];
          s[2] = edges[e3];
          s[3] = edges[e4];
          for (size_t n = 2; n <= 5; n++)
            check_escape(s, n);
        }
  }
}

Test(render_json, random_strings_escape_as_the_reference)
{
  /* pieces weighted towards what ends a run */
  static const char *const pieces[] = {"a",  "bcdefgh", "\"", "\\", "\n", "\x01", "\x1f", "\x7f",
                                       "\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80", "\xed\xa0\x80",
                                       "\xc0\xaf", "\xff", "\x80", "\xe2\x82", "0123456789abcdef"};
  unsigned seed = 12345;
  unsigned char s[512];
  for (int round = 0; round < 20000; round++) {
    size_t n = 0, want = (size_t)(rand_r(&seed) % 200);
    while (n < want) {
      const char *p = pieces[rand_r(&seed) % (sizeof pieces / sizeof pieces[0])];
      size_t k = strlen(p);
      if (n + k > sizeof s)
        break;
      memcpy(s + n, p, k);
      n += k;
    }
    check_escape(s, n);
  }
}

Test(render_json, key_order_is_strcmp_order_equal_names_in_place_or_once)
{
  char *names[] = {"evt.time", "ct.id", "b", "a", "ct.id", "B", "ct.idx", "\xc3\xa9", "ct"};
  uint32_t order[9];
  cr_assert_eq(ctr__json_key_order(names, 9, false, order), 9);
  static const uint32_t all[] = {5, 3, 2, 8, 1, 4, 6, 0, 7};
  cr_assert_arr_eq(order, all, sizeof all);
  cr_assert_eq(ctr__json_key_order(names, 9, true, order), 8);
  static const uint32_t once[] = {5, 3, 2, 8, 1, 6, 0, 7};
  cr_assert_arr_eq(order, once, sizeof once);
  cr_assert_eq(ctr__json_key_order(names, 0, true, order), 0);
}
