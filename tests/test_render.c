/* test_render.c - rendering an alert: the output text, output_fields, and
 * ctr_match_json's line, byte for byte as Falco's json_output writes it. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *RULES =
  "- rule: Typed\n"
  "  desc: every kind of output field\n"
  "  condition: ct.name = ModifyDBInstance\n"
  "  output: >-\n"
  "    user=%ct.user retention=%rds.backup_retention images=%ec2.imageids\n"
  "    missing=%ct.error t=%evt.time\n"
  "  priority: WARNING\n"
  "  source: aws_cloudtrail\n"
  "  tags: [zeta, aws, T1485, aws]\n";

static const char *RECORD =
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bo\\\"b\\u0000x\\n\","
  "\"accountId\":\"111122223333\"},\"eventTime\":\"2025-03-01T10:02:11.25Z\",\"eventSource\":\"rds.amazonaws.com\","
  "\"eventName\":\"ModifyDBInstance\",\"awsRegion\":\"eu-west-1\",\"eventID\":\"e-1\","
  "\"requestParameters\":{\"backupRetentionPeriod\":0},"
  "\"responseElements\":{\"instancesSet\":{\"items\":[{\"imageId\":\"ami-1\"},{\"imageId\":\"ami,2\"}]}}}\n";

typedef struct json_lines {
  char *line[4];
  unsigned flags[4];
  size_t nflags;
  const char *output;
  char *output_copy;
} json_lines;

static int on_match(const ctr_match *m, void *ud)
{
  json_lines *j = ud;
  for (size_t i = 0; i < j->nflags; i++)
    cr_assert_eq(ctr_match_json(m, j->flags[i], &j->line[i], NULL), CTR_OK);
  j->output_copy = strdup(ctr_match_output(m));
  return 0;
}

static void scan(json_lines *j)
{
  ctr_ruleset *rs = tu_compile(RULES, NULL, 0);
  cr_assert_not_null(rs);
  cr_assert_eq(ctr_scan_buffer(rs, RECORD, strlen(RECORD), 0, on_match, j), CTR_OK);
  ctr_ruleset_unref(rs);
}

static const char *host(void)
{
  static char h[256];
  if (gethostname(h, sizeof h - 1) != 0)
    strcpy(h, "localhost");
  return h;
}

Test(render, output_text_has_no_nul_and_falco_list_form)
{
  json_lines j = {.nflags = 0};
  scan(&j);
  cr_assert_str_eq(j.output_copy, "user=bo\"b\xef\xbf\xbdx\n retention=0 images=(ami-1,ami,2) missing=<NA> "
                                  "t=10:02:11.250000000");
  free(j.output_copy);
}

Test(render, json_is_falcos_line_byte_for_byte)
{
  json_lines j = {.nflags = 1, .flags = {0}};
  scan(&j);
  char want[2048];
  snprintf(want, sizeof want,
           "{\"hostname\":\"%s\","
           "\"output\":\"10:02:11.250000000: Warning user=bo\\\"b\xef\xbf\xbdx\\n retention=0 images=(ami-1,ami,2) "
           "missing=<NA> t=10:02:11.250000000\","
           "\"output_fields\":{\"ct.error\":null,\"ct.user\":\"bo\\\"b\xef\xbf\xbdx\\n\","
           "\"ec2.imageids\":[\"ami-1\",\"ami,2\"],\"evt.time\":1740823331250000000,\"rds.backup_retention\":0},"
           "\"priority\":\"Warning\",\"rule\":\"Typed\",\"source\":\"aws_cloudtrail\","
           "\"tags\":[\"T1485\",\"aws\",\"zeta\"],\"time\":\"2025-03-01T10:02:11.250000000Z\"}",
           host());
  cr_assert_str_eq(j.line[0], want);
  ctr_free(j.line[0]);
  free(j.output_copy);
}

Test(render, json_options_are_falcos)
{
  json_lines j = {.nflags = 3,
                  .flags = {CTR_JSON_EVENT_ID | CTR_JSON_MESSAGE,
                            CTR_JSON_NO_OUTPUT | CTR_JSON_NO_OUTPUT_FIELDS | CTR_JSON_NO_TAGS,
                            CTR_JSON_TIME_ISO8601}};
  scan(&j);
  char want[2048];
  snprintf(want, sizeof want,
           "{\"hostname\":\"%s\",\"message\":\"user=bo\\\"b\xef\xbf\xbdx\\n retention=0 images=(ami-1,ami,2) "
           "missing=<NA> t=10:02:11.250000000\",\"output\":\"10:02:11.250000000: Warning user=",
           host());
  cr_assert(strncmp(j.line[0], want, strlen(want)) == 0, "%s", j.line[0]);
  cr_assert(strstr(j.line[0], "\"output_fields\":{\"ct.error\":null,\"ct.id\":\"e-1\",\"ct.user\":"));
  snprintf(want, sizeof want,
           "{\"hostname\":\"%s\",\"priority\":\"Warning\",\"rule\":\"Typed\",\"source\":\"aws_cloudtrail\","
           "\"time\":\"2025-03-01T10:02:11.250000000Z\"}",
           host());
  cr_assert_str_eq(j.line[1], want);
  cr_assert(strstr(j.line[2], "\"output\":\"2025-03-01T10:02:11.250000000+0000: Warning user="), "%s", j.line[2]);
  cr_assert(strstr(j.line[2], "\"evt.time\":1740823331250000000,\"evt.time.iso8601\":1740823331250000000,"),
            "%s", j.line[2]);
  for (size_t i = 0; i < j.nflags; i++)
    ctr_free(j.line[i]);
  free(j.output_copy);
}

static int bad_flags(const ctr_match *m, void *ud)
{
  char *out = (char *)ud;
  cr_assert_eq(ctr_match_json(m, 1u << 20, &out, NULL), CTR_EINVAL);
  cr_assert_eq(out, (char *)ud, "*out is written only on success");
  cr_assert_eq(ctr_match_json(m, 0, NULL, NULL), CTR_EINVAL);
  return 0;
}

Test(render, json_rejects_unknown_flags)
{
  ctr_ruleset *rs = tu_compile(RULES, NULL, 0);
  cr_assert_not_null(rs);
  char sentinel;
  cr_assert_eq(ctr_scan_buffer(rs, RECORD, strlen(RECORD), 0, bad_flags, &sentinel), CTR_OK);
  ctr_ruleset_unref(rs);
  ctr_free(NULL);
}

/* ------------------------------------------------------------ property: any value, a valid line */

/* Records whose user name is random text (control characters, quotes,
 * backslashes, \u0000, multi-byte UTF-8): every JSON line parses, and its
 * output_fields and output carry the value exactly (a NUL as U+FFFD). */
typedef struct prop_ctx {
  json_t *want_user; /* the user name as the record holds it */
  size_t checked;
} prop_ctx;

static int check_line(const ctr_match *m, void *ud)
{
  prop_ctx *p = ud;
  char *line;
  size_t len;
  cr_assert_eq(ctr_match_json(m, CTR_JSON_EVENT_ID | CTR_JSON_MESSAGE, &line, &len), CTR_OK);
  cr_assert_eq(strlen(line), len);
  json_error_t err;
  json_t *doc = json_loadb(line, len, 0, &err);
  cr_assert_not_null(doc, "not JSON (%s): %s", err.text, line);
  /* The expected text: the record's value with every NUL as U+FFFD. */
  const char *v = json_string_value(p->want_user);
  size_t n = json_string_length(p->want_user);
  char *want = malloc(3 * n + 1), *w = want;
  for (size_t i = 0; i < n; i++) {
    if (v[i] == '\0') {
      memcpy(w, "\xef\xbf\xbd", 3);
      w += 3;
    } else {
      *w++ = v[i];
    }
  }
  *w = '\0';
  json_t *user = json_object_get(json_object_get(doc, "output_fields"), "ct.user");
  cr_assert_str_eq(json_string_value(user), want, "%s", line);
  const char *message = json_string_value(json_object_get(doc, "message"));
  cr_assert(strncmp(message, "u=", 2) == 0 && strcmp(message + 2, want) == 0, "%s", line);
  cr_assert_str_eq(message, ctr_match_output(m));
  free(want);
  json_decref(doc);
  ctr_free(line);
  p->checked++;
  return 0;
}

Test(render, any_value_gives_a_valid_line)
{
  ctr_ruleset *rs = tu_compile("- rule: U\n  desc: d\n  condition: ct.name = X\n  output: u=%ct.user\n"
                               "  priority: NOTICE\n  source: aws_cloudtrail\n",
                               NULL, 0);
  cr_assert_not_null(rs);
  static const char *const pieces[] = {"a", "\"", "\\", "\n", "\t", "\x01", "\x1f", "\x7f", "/", "<NA>",
                                       "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "%", " "};
  enum { NPIECES = sizeof pieces / sizeof pieces[0] };
  uint64_t seed = 0x9e3779b97f4a7c15u;
  prop_ctx p = {0};
  for (int round = 0; round < 500; round++) {
    char value[256];
    size_t vn = 0;
    int k = (int)(seed % 12);
    for (int i = 0; i < k; i++) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      size_t which = (size_t)(seed >> 33) % (NPIECES + 1);
      if (which == NPIECES) {
        value[vn++] = '\0'; /* through the record as \u0000 */
      } else {
        memcpy(value + vn, pieces[which], strlen(pieces[which]));
        vn += strlen(pieces[which]);
      }
    }
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    /* The record, written by jansson so that any value is escaped right. */
    json_t *rec = json_pack("{s:s, s:{s:s, s:s#}, s:s, s:s, s:s, s:s}", "eventVersion", "1.08", "userIdentity",
                            "type", "IAMUser", "userName", value, vn, "eventTime", "2025-03-01T10:02:11Z",
                            "eventSource", "iam.amazonaws.com", "eventName", "X", "awsRegion", "eu-west-1");
    cr_assert_not_null(rec);
    char *text = json_dumps(rec, JSON_COMPACT);
    p.want_user = json_object_get(json_object_get(rec, "userIdentity"), "userName");
    size_t before = p.checked;
    cr_assert_eq(ctr_scan_buffer(rs, text, strlen(text), 0, check_line, &p), CTR_OK, "%s", text);
    cr_assert_eq(p.checked, before + 1, "no alert for %s", text);
    free(text);
    json_decref(rec);
  }
  ctr_ruleset_unref(rs);
}

/* ------------------------------------------------------------ each alert its own record's eventID */

/* The eventID in an alert's line is read once per record for all its
 * alerts (render.c): each alert must carry its own record's, whatever the
 * records before held (one, none, a non-string, an escaped one). The
 * records name the eventID they hold in userName, so that the callback
 * knows what to expect. */
static int check_event_id(const ctr_match *m, void *ud)
{
  size_t *checked = ud;
  char *line;
  cr_assert_eq(ctr_match_json(m, CTR_JSON_EVENT_ID, &line, NULL), CTR_OK);
  json_t *doc = json_loads(line, 0, NULL);
  cr_assert_not_null(doc, "%s", line);
  json_t *fields = json_object_get(doc, "output_fields");
  const char *want = json_string_value(json_object_get(fields, "ct.user"));
  json_t *id = json_object_get(fields, "ct.id");
  if (strcmp(want, "absent") == 0)
    cr_assert(json_is_null(id), "%s", line);
  else
    cr_assert_str_eq(json_string_value(id), want, "%s", line);
  json_decref(doc);
  ctr_free(line);
  (*checked)++;
  return 0;
}

Test(render, each_alert_has_its_own_records_event_id)
{
  ctr_ruleset *rs = tu_compile("- rule: A\n  desc: d\n  condition: ct.name = X\n  output: a %ct.user\n"
                               "  priority: NOTICE\n  source: aws_cloudtrail\n"
                               "- rule: B\n  desc: d\n  condition: ct.name = X\n  output: b %ct.user\n"
                               "  priority: NOTICE\n  source: aws_cloudtrail\n",
                               NULL, 0);
  cr_assert_not_null(rs);
  static const char *const ids[] = {"\"e-1\"", "\"e-2\"", NULL, "\"e-4\"", "7", "\"e\\/6\"", "\"e-1\"", NULL};
  static const char *const want[] = {"e-1", "e-2", "absent", "e-4", "", "e/6", "e-1", "absent"};
  static char data[4096];
  size_t len = 0;
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    len += (size_t)snprintf(data + len, sizeof data - len, "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"%s\"},"
                         "\"eventTime\":\"2025-03-01T10:02:11Z\",\"eventSource\":\"iam.amazonaws.com\","
                         "\"eventName\":\"X\",\"awsRegion\":\"eu-west-1\"%s%s}\n",
                    strcmp(want[i], "") == 0 ? "" : want[i], ids[i] ? ",\"eventID\":" : "", ids[i] ? ids[i] : "");
  }
  size_t checked = 0;
  /* whole, and a record at a time (each alert rendered after its record's own reads) */
  cr_assert_lt(len, sizeof data - 1);
  cr_assert_eq(ctr_scan_buffer(rs, data, len, 0, check_event_id, &checked), CTR_OK);
  cr_assert_eq(checked, 2 * (sizeof ids / sizeof ids[0]));
  ctr_scanner *sc;
  cr_assert_eq(ctr_scanner_new(rs, check_event_id, &checked, &sc), CTR_OK);
  for (const char *p = data; p < data + len;) {
    const char *nl = memchr(p, '\n', (size_t)(data + len - p));
    cr_assert_eq(ctr_scanner_feed(sc, p, (size_t)(nl - p) + 1), CTR_OK);
    p = nl + 1;
  }
  cr_assert_eq(ctr_scanner_finish(sc), CTR_OK);
  cr_assert_eq(checked, 4 * (sizeof ids / sizeof ids[0]));
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
}

/* ------------------------------------------------------------ the template from the fields' renderings */

/* Each output field is rendered once (render.c) and copied into the text
 * wherever the template names it: the text must be what rendering each
 * directive in place gives, for a field named twice, an absent one named
 * twice, a list, a number, a NUL in the record and in the template's own
 * literal text (a YAML "\0", U+FFFD in the text as in a value), and rules
 * with more output fields than the alert before (the field tables grow). */
typedef struct texts {
  char *out[8];
  size_t n;
} texts;

static int keep_text(const ctr_match *m, void *ud)
{
  texts *t = ud;
  cr_assert_lt(t->n, 8);
  char b[2048];
  size_t n = (size_t)snprintf(b, sizeof b, "%s", ctr_match_output(m));
  for (size_t i = 0; i < ctr_match_field_count(m) && n < sizeof b; i++) {
    const char *v = ctr_match_field_value(m, i);
    n += (size_t)snprintf(b + n, sizeof b - n, "|%s=%s", ctr_match_field_name(m, i), v ? v : "(absent)");
  }
  cr_assert_lt(n, sizeof b);
  t->out[t->n++] = strdup(b);
  return 0;
}

Test(render, template_is_its_fields_renderings_in_place)
{
  ctr_ruleset *rs = tu_compile(
    "- rule: One\n  desc: d\n  condition: ct.name = ModifyDBInstance\n  output: \"%ct.name\"\n"
    "  priority: NOTICE\n  source: aws_cloudtrail\n"
    "- rule: Many\n  desc: d\n  condition: ct.name = ModifyDBInstance\n"
    "  output: \"a\\0b %ct.user %ct.user e=%ct.error e=%ct.error %ec2.imageids r=%rds.backup_retention "
    "%ct.region %ct.src %ct.id %ct.shortsrc %evt.time %ct.user.accountid %json.value[/x] <%ct.name\\0>\"\n"
    "  priority: NOTICE\n  source: aws_cloudtrail\n"
    "- rule: Two\n  desc: d\n  condition: ct.name = ModifyDBInstance\n  output: \"%ct.error%ct.region\"\n"
    "  priority: NOTICE\n  source: aws_cloudtrail\n"
    "- rule: None\n  desc: d\n  condition: ct.name = ModifyDBInstance\n  output: \"\"\n"
    "  priority: NOTICE\n  source: aws_cloudtrail\n",
    NULL, 0);
  cr_assert_not_null(rs);
  texts t = {0};
  cr_assert_eq(ctr_scan_buffer(rs, RECORD, strlen(RECORD), 0, keep_text, &t), CTR_OK);
  cr_assert_eq(t.n, 4);
  cr_assert_str_eq(t.out[0], "ModifyDBInstance|ct.name=ModifyDBInstance");
  const char *user = "bo\"b\xef\xbf\xbdx\n";
  char want[1024];
  snprintf(want, sizeof want,
           "a\xef\xbf\xbd" "b %s %s e=<NA> e=<NA> (ami-1,ami,2) r=0 eu-west-1 rds.amazonaws.com e-1 rds "
           "10:02:11.250000000 111122223333 <NA> <ModifyDBInstance\xef\xbf\xbd>"
           "|ct.user=%s|ct.error=(absent)|ec2.imageids=(ami-1,ami,2)|rds.backup_retention=0|ct.region=eu-west-1"
           "|ct.src=rds.amazonaws.com|ct.id=e-1|ct.shortsrc=rds|evt.time=10:02:11.250000000"
           "|ct.user.accountid=111122223333|json.value[/x]=(absent)|ct.name=ModifyDBInstance",
           user, user, user);
  cr_assert_str_eq(t.out[1], want);
  cr_assert_str_eq(t.out[2], "<NA>eu-west-1|ct.error=(absent)|ct.region=eu-west-1");
  cr_assert_str_eq(t.out[3], "");
  for (size_t i = 0; i < t.n; i++)
    free(t.out[i]);
  ctr_ruleset_unref(rs);
}
