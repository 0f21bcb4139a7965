/* test_render.c - rendering an alert: the output text, output_fields, and
 * ctr_match_json's line, byte for byte as Falco's json_output writes it. */
#include "testutil.h"

#include <criterion/criterion.h>
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
