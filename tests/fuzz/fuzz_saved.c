/* fuzz_saved.c - libFuzzer target for saved matches (ctr_match_save,
 * ctr_saved_json, ctr_saved_json_to): bytes a caller keeps in its own memory
 * and hands back, where anything may have happened to them.
 *
 * The input's first byte picks the mode. Odd: damage. One of the blocks
 * saved from a scan of the sample records (made once) is picked by the
 * second byte; every following 3 bytes change one byte of it (a 16-bit
 * position, an xor); then it is cut to a length the first byte's bits 1-7
 * pick (127: kept whole). Even: the rest of the input is the block itself.
 * Either way the block is written into memory of its exact size, so that
 * ASan sees any read past it.
 *
 * Checks: a call gives CTR_OK, CTR_EINVAL or CTR_ENOMEM and nothing else;
 * a line is NUL-terminated at its length; ctr_saved_json_to with room for 8
 * bytes reports the same length and its first bytes; and a block left as
 * it was saved gives ctr_match_json's line. */
#include "fuzz_common.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KEPT 64

static struct {
  unsigned char *block[MAX_KEPT];
  size_t len[MAX_KEPT];
  char *line[MAX_KEPT]; /* ctr_match_json's, CTR_JSON_EVENT_ID */
  size_t n;
} kept;

static int keep(const ctr_match *m, void *ud)
{
  (void)ud;
  if (kept.n == MAX_KEPT)
    return 0;
  size_t n = 0;
  if (ctr_match_save(m, NULL, 0, &n) != CTR_OK || !(kept.block[kept.n] = malloc(n)) ||
      ctr_match_save(m, kept.block[kept.n], n, &n) != CTR_OK ||
      ctr_match_json(m, CTR_JSON_EVENT_ID, &kept.line[kept.n], NULL) != CTR_OK)
    fuzz_fail("saving a sample match failed");
  kept.len[kept.n++] = n;
  return 0;
}

/* The blocks of every match of the sample records under a few rules with
 * every kind of output field, saved once; the scanner and the ruleset are
 * freed before any is read back. */
static void keep_samples(void)
{
  static const char rules[] =
      "- rule: kinds\n  desc: every record\n  condition: evt.num > 0\n"
      "  output: \"%ct.name %ct.user %evt.time %evt.time.iso8601 %ct.id %s3.bytes %ec2.imageids "
      "%json.values[requestParameters.bucketName] %json.value[/requestParameters] %ct.error\"\n"
      "  priority: ERROR\n  source: aws_cloudtrail\n  tags: [b, \"q\\\"\", a, b]\n"
      "- rule: none\n  desc: no fields\n  condition: evt.num > 0\n  output: plain\n"
      "  priority: DEBUG\n  source: aws_cloudtrail\n";
  ctr_ruleset *rs = fuzz_compile(rules, sizeof rules - 1, 1);
  ctr_scanner *sc;
  if (!rs || ctr_scanner_new(rs, keep, NULL, &sc) != CTR_OK)
    fuzz_fail("the saved-match ruleset does not compile");
  ctr_scanner_feed(sc, fuzz_sample_records, strlen(fuzz_sample_records));
  ctr_scanner_finish(sc);
  ctr_scanner_free(sc);
  ctr_ruleset_unref(rs);
  if (!kept.n)
    fuzz_fail("no sample match to save");
}

static void check(const unsigned char *block, size_t n, const char *want)
{
  char *line = NULL, small[8];
  size_t len = 0, len_to = 0;
  int rc = ctr_saved_json(block, n, CTR_JSON_EVENT_ID, &line, &len);
  if (rc != CTR_OK && rc != CTR_EINVAL && rc != CTR_ENOMEM)
    fuzz_fail("ctr_saved_json gave an unexpected status");
  if (rc == CTR_OK && (!line || line[len] != '\0'))
    fuzz_fail("a saved line is not NUL-terminated at its length");
  int rc_to = ctr_saved_json_to(block, n, CTR_JSON_EVENT_ID, small, sizeof small, &len_to);
  if (rc == CTR_OK && rc_to == CTR_OK &&
      (len_to != len || memcmp(small, line, len < sizeof small ? len : sizeof small) != 0))
    fuzz_fail("ctr_saved_json_to and ctr_saved_json disagree");
  if (rc == CTR_OK && rc_to == CTR_EINVAL)
    fuzz_fail("ctr_saved_json_to refuses what ctr_saved_json reads");
  if (want && (rc != CTR_OK || strcmp(line, want) != 0))
    fuzz_fail("an untouched saved match does not give ctr_match_json's line");
  ctr_free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!kept.n)
    keep_samples();
  if (size == 0)
    return 0;
  if (!(data[0] & 1)) {
    unsigned char *block = malloc(size - 1 ? size - 1 : 1);
    memcpy(block, data + 1, size - 1);
    check(block, size - 1, NULL);
    free(block);
    return 0;
  }
  size_t k = size > 1 ? data[1] % kept.n : 0, n = kept.len[k];
  unsigned char *block = malloc(n);
  memcpy(block, kept.block[k], n);
  bool changed = false;
  for (size_t at = 2; at + 3 <= size; at += 3) {
    size_t pos = ((size_t)data[at] << 8 | data[at + 1]) % n;
    block[pos] ^= data[at + 2];
    changed |= data[at + 2] != 0;
  }
  unsigned cut = data[0] >> 1;
  size_t len = cut == 127 ? n : n * cut / 127;
  unsigned char *exact = malloc(len ? len : 1); /* its own size: ASan sees a read past it */
  memcpy(exact, block, len);
  free(block);
  check(exact, len, !changed && len == n ? kept.line[k] : NULL);
  free(exact);
  return 0;
}
