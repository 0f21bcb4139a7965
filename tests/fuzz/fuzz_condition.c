/* fuzz_condition.c - libFuzzer target for the condition parser and
 * compiler. The input is a rule condition; after the first NUL byte (if
 * any) comes a macro condition the rule may reference as `fuzz_macro`. Both
 * sit in a fixed rules file that also defines lists (one of a single item,
 * which a list name may stand for as one value) and macros to name, so
 * the fuzzer (with condition.dict) spends its effort in lex/parse/compile,
 * not in YAML. A condition that compiles is evaluated on sample records with
 * and without the eventName index, which must agree. */
#include "fuzz_common.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char prologue[] =
  "- list: fuzz_ports\n"
  "  items: [3306, 5432, \"1433\"]\n"
  "- list: fuzz_names\n"
  "  items: [ModifyDBCluster, ConsoleLogin, fuzz_ports]\n"
  "- list: fuzz_one\n" /* one item: a list name may stand for one value */
  "  items: [ConsoleLogin]\n"
  "- macro: fuzz_rds\n"
  "  condition: ct.src = \"rds.amazonaws.com\" and not ct.error exists\n"
  "- macro: fuzz_macro\n"
  "  condition: |-\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const uint8_t *nul = memchr(data, 0, size);
  size_t cond_len = nul ? (size_t)(nul - data) : size;
  const uint8_t *macro = nul ? nul + 1 : (const uint8_t *)"ct.name in (fuzz_names)";
  size_t macro_len = nul ? size - cond_len - 1 : strlen((const char *)macro);

  fuzz_text yaml = {0};
  fuzz_text_adds(&yaml, prologue);
  fuzz_text_add_block(&yaml, macro, macro_len, 4);
  fuzz_text_adds(&yaml, "- rule: fuzz rule\n  desc: fuzzed condition\n  condition: |-\n");
  fuzz_text_add_block(&yaml, data, cond_len, 4);
  fuzz_text_adds(&yaml, "  output: \"%ct.name by %ct.user from %ct.srcip (%json.value[/requestParameters]) "
                        "%join(\\\",\\\", (ct.name, toupper(ct.user)))\"\n"
                        "  priority: WARNING\n  source: aws_cloudtrail\n");

  ctr_ruleset *rs = fuzz_compile(yaml.data, yaml.len, 0);
  fuzz_text_free(&yaml);
  if (!rs)
    return 0;
  fuzz_check_index_agrees(rs, fuzz_sample_records, strlen(fuzz_sample_records));
  ctr_ruleset_unref(rs);
  return 0;
}
