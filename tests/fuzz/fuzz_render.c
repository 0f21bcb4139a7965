/* fuzz_render.c - libFuzzer target for output rendering. The input is the
 * output template of a rule that matches every record; after the first NUL
 * byte (if any) come the records it is rendered on (otherwise fixed sample
 * records). Every match accessor is read, so the template's segments and the
 * output_fields values are all produced. */
#include "fuzz_common.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const uint8_t *nul = memchr(data, 0, size);
  size_t tmpl_len = nul ? (size_t)(nul - data) : size;
  const char *records = nul ? (const char *)nul + 1 : fuzz_sample_records;
  size_t records_len = nul ? size - tmpl_len - 1 : strlen(fuzz_sample_records);

  fuzz_text yaml = {0};
  fuzz_text_adds(&yaml, "- rule: fuzz render\n  desc: every record\n  condition: evt.num > 0\n  output: |-\n");
  fuzz_text_add_block(&yaml, data, tmpl_len, 4);
  fuzz_text_adds(&yaml, "  priority: NOTICE\n  source: aws_cloudtrail\n  tags: [fuzz, render]\n");
  ctr_ruleset *rs = fuzz_compile(yaml.data, yaml.len, 0);
  fuzz_text_free(&yaml);
  if (!rs)
    return 0;
  fuzz_scan_once(rs, records, records_len, 0, NULL);
  ctr_ruleset_unref(rs);
  return 0;
}
