/* fuzz_rules.c - libFuzzer target for the rule loader: the input is a whole
 * rules file (YAML), loaded after the built-in rules as a user's tuning file
 * is (so appends, overrides, exceptions and positions reach definitions of an
 * earlier file), and compiled through the public API. A ruleset that
 * compiles is run over sample records with and without the eventName index
 * and prefilter, which must report the same matches. */
#include "fuzz_common.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ctr_ruleset *rs = fuzz_compile((const char *)data, size, 1);
  if (!rs)
    return 0;
  fuzz_check_index_agrees(rs, fuzz_sample_records, strlen(fuzz_sample_records));
  ctr_ruleset_unref(rs);
  return 0;
}
