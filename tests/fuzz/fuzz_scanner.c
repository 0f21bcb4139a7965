/* fuzz_scanner.c - libFuzzer target for the framer and scanner: every input
 * shape (NDJSON, Records files, arrays, EventBridge, CloudWatch Logs, gzip)
 * fed in random chunkings.
 *
 * Input layout: byte 0 holds options, bytes 1-4 seed the chunk sizes, byte 5
 * bounds them (1 << (b % 17) bytes), the rest is the stream. Options:
 *   bit 0  CTR_SCAN_FIRST_MATCH
 *   bit 1  gzip the stream in the harness first (so mutations of plain JSON
 *          also reach the decompressor; seeds cover raw gzip members too)
 *   bit 2  feed a prefix, abandon it with ctr_scanner_reset, then rescan
 *   bit 3  small correlation limits (correlation_events 1-16, lateness
 *          0-299 s or, with the seed's top bit, up to UINT64_MAX s, from the
 *          seed bytes), so the limit and lateness reports run
 *   bits 6-7  1: CTR_SCAN_NO_CORRELATION, 2: CTR_SCAN_ONLY_CORRELATION
 *   (bits 4-7 also pick the harness's gzip level when bit 1 is set)
 *
 * The library promises that chunking does not change the result and that
 * the eventName index does not either, so the stream is scanned three times
 * (one feed; chunked; chunked without the index) and the reports compared.
 * Each scan is finished, so the windows of correlations with an upper bound
 * still open are decided at the stream's end too. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The built-in RDS rules plus rules that fire on most records and render
 * fields of every family, so extraction runs on whatever the framer yields
 * (and, in the scan without the index, what each record's fields read from
 * its walked bytes is held to its whole parse). */
static const char extra_rules[] =
  "- rule: fuzz every record\n"
  "  desc: renders fields of every family\n"
  "  condition: evt.num > 0 and (ct.name exists or not ct.name exists)\n"
  "  output: >-\n"
  "    %ct.name %ct.src %ct.user %ct.user.arn %ct.user.identitytype %ct.region %ct.srcip\n"
  "    %ct.useragent %ct.error %ct.request %ct.response %ct.resources %s3.bucket %s3.key\n"
  "    %ec2.name %json.value[/requestParameters] %json.value[/detail/eventName] %evt.time\n"
  "    %evt.datetime %evt.rawtime %rds.resource %rds.instance %rds.snapshot.type %rds.public\n"
  "    %rds.shared.accounts %rds.shared.foreign_accounts %rds.shared.foreign %rds.backup_retention\n"
  "    %rds.skip_final_snapshot %rds.kms.account %ct.additionaleventdata %ct.user.accountid\n"
  "    %json.value[/responseElements/instancesSet/items/0] %json.value[/requestParameters/a/0]\n"
  "    %json.values[requestParameters.dBInstanceIdentifier] %json.values[resources.ARN]\n"
  "  priority: DEBUG\n"
  "  source: aws_cloudtrail\n"
  "- rule: fuzz regex\n"
  "  desc: a regex over attacker-chosen text\n"
  "  condition: ct.useragent regex \"^(a|aa)+[0-9]{2,}$\" or ct.name pmatch (/a/b, /tmp)\n"
  "  output: regex %ct.useragent\n"
  "  priority: INFO\n"
  "  source: aws_cloudtrail\n"
  /* Correlations of every type over those rules and the built-in ones (which
   * bring their own lower-bound ones), most with an upper bound, so windows
   * open, close on event time or lateness, and are decided at finish. */
  "---\n"
  "title: fuzz count range\n"
  "correlation: {type: event_count, rules: [fuzz every record], group-by: [userIdentity.arn],\n"
  "  timespan: 1m, condition: {gte: 2, lte: 3}, generate: true}\n"
  "---\n"
  "title: fuzz distinct names\n"
  "correlation: {type: value_count, rules: [fuzz every record, RDS Snapshot Deleted], group-by: [awsRegion],\n"
  "  timespan: 1h, condition: {field: eventName, lt: 4}, generate: true}\n"
  "---\n"
  "title: fuzz not two\n"
  "correlation: {type: event_count, rules: [fuzz every record, fuzz regex], timespan: 10s,\n"
  "  condition: {neq: 2}, generate: true}\n"
  "---\n"
  "title: fuzz one deletion\n"
  "correlation: {type: event_count, rules: [RDS Instance Deleted, RDS Snapshot Deleted, RDS Cluster Deleted],\n"
  "  group-by: [recipientAccountId, requestParameters], timespan: 1d, condition: {eq: 1}, generate: true}\n"
  "---\n"
  "title: fuzz distinct ips\n"
  "correlation: {type: value_count, rules: [fuzz every record], group-by: [eventSource],\n"
  "  timespan: 5m, condition: {field: sourceIPAddress, gte: 3}, generate: true}\n"
  "---\n"
  "title: fuzz both\n"
  "correlation: {type: temporal, rules: [fuzz regex, fuzz every record], group-by: [sourceIPAddress],\n"
  "  timespan: 5m}\n"
  "---\n"
  "title: fuzz in order\n"
  "correlation: {type: temporal_ordered, rules: [fuzz every record, RDS Instance Made Public, fuzz every record],\n"
  "  group-by: [userIdentity.accountId, awsRegion], timespan: 2m, generate: true}\n";

static ctr_ruleset *ruleset(void)
{
  static ctr_ruleset *rs;
  if (!rs) {
    rs = fuzz_compile(extra_rules, strlen(extra_rules), 1);
    if (!rs)
      fuzz_fail("the scanner target's rules do not compile");
  }
  return rs;
}

static uint8_t *gzip_bytes(const uint8_t *in, size_t len, int level, size_t *out_len)
{
  z_stream z = {0};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    fuzz_fail("deflateInit2 failed");
  size_t cap = deflateBound(&z, (uLong)len);
  uint8_t *out = malloc(cap);
  if (!out)
    fuzz_fail("out of memory");
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    fuzz_fail("deflate did not finish");
  *out_len = z.total_out;
  deflateEnd(&z);
  return out;
}

typedef struct chunker {
  uint32_t state;
  size_t max;
} chunker;

static size_t next_chunk(chunker *ch)
{
  /* xorshift32: reproducible chunk sizes from the input's seed bytes. */
  uint32_t x = ch->state ? ch->state : 0x9e3779b9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  ch->state = x;
  return 1 + x % ch->max;
}

typedef struct outcome {
  fuzz_digest digest;
  int status;
  uint64_t stats[CTR_STAT__COUNT];
} outcome;

static int feed_chunked(ctr_scanner *sc, const uint8_t *p, size_t len, chunker *ch)
{
  int status = CTR_OK;
  for (size_t off = 0; off < len;) {
    size_t n = next_chunk(ch);
    if (n > len - off)
      n = len - off;
    int rc = ctr_scanner_feed(sc, p + off, n);
    if (rc != CTR_OK && status == CTR_OK)
      status = rc;
    off += n;
  }
  return status;
}

/* Correlation limits of a scan (0: the default). */
typedef struct corr_limits {
  uint64_t events, lateness;
} corr_limits;

static void scan(const uint8_t *p, size_t len, unsigned flags, const corr_limits *lim, chunker *ch,
                 size_t abandon_prefix, outcome *out)
{
  memset(out, 0, sizeof *out);
  ctr_scanner *sc;
  if (ctr_scanner_new(ruleset(), fuzz_on_match, &out->digest, &sc) != CTR_OK)
    fuzz_fail("ctr_scanner_new failed");
  if (ctr_scanner_set_flags(sc, flags) != CTR_OK)
    fuzz_fail("ctr_scanner_set_flags(%u) failed", flags);
  if (ctr_scanner_set_limit(sc, CTR_LIMIT_CORRELATION_EVENTS, lim->events) != CTR_OK ||
      ctr_scanner_set_limit(sc, CTR_LIMIT_CORRELATION_LATENESS, lim->lateness) != CTR_OK)
    fuzz_fail("setting the correlation limits failed");
  uint64_t before[CTR_STAT__COUNT] = {0};
  if (abandon_prefix) {
    /* What a prefix reports is discarded: only the stream after the reset
     * is compared. Every scan reads the same prefix, since a reset keeps the
     * correlations' groups (docs/sigma.md): its records still count. */
    if (ch)
      feed_chunked(sc, p, abandon_prefix, ch);
    else
      ctr_scanner_feed(sc, p, abandon_prefix);
    ctr_scanner_reset(sc);
    for (int s = 0; s < CTR_STAT__COUNT; s++)
      before[s] = ctr_scanner_stat(sc, s);
    out->digest = (fuzz_digest){0};
  }
  ctr_scanner_set_error_callback(sc, fuzz_on_record_error, &out->digest);
  if (ch)
    out->status = feed_chunked(sc, p, len, ch);
  else
    out->status = ctr_scanner_feed(sc, p, len);
  int rc = ctr_scanner_finish(sc);
  if (out->status == CTR_OK)
    out->status = rc;
  for (int s = 0; s < CTR_STAT__COUNT; s++)
    out->stats[s] = ctr_scanner_stat(sc, s) - before[s];
  if (ctr_scanner_feed(sc, "{}", 2) != (out->status < 0 ? out->status : CTR_ESTATE))
    fuzz_fail("feed after finish did not return ESTATE or the stream error");
  ctr_scanner_free(sc);
}

static const char *const stat_names[CTR_STAT__COUNT] = {"bytes",   "records",   "matches",   "bad_records",
                                                         "skipped", "evaluated", "incomplete"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint8_t opts = 0, bound = 12;
  uint32_t seed = 1;
  if (size >= 6) {
    opts = data[0];
    seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24;
    bound = data[5];
    data += 6;
    size -= 6;
  }
  unsigned flags = (opts & 1) ? CTR_SCAN_FIRST_MATCH : 0;
  if (opts >> 6 == 1)
    flags |= CTR_SCAN_NO_CORRELATION;
  else if (opts >> 6 == 2)
    flags |= CTR_SCAN_ONLY_CORRELATION;
  corr_limits lim = {0, 0};
  if (opts & 8)
    lim = (corr_limits){1 + (seed >> 8) % 16,
                        (seed >> 31) ? UINT64_MAX >> ((seed >> 24) & 63) : (seed >> 16) % 300};
  uint8_t *gz = NULL;
  const uint8_t *stream = data;
  size_t len = size;
  if (opts & 2) {
    gz = gzip_bytes(data, size, (opts >> 4) % 10, &len);
    stream = gz;
  }
  size_t max_chunk = (size_t)1 << (bound % 17);
  size_t prefix = (opts & 4) && len ? 1 + seed % len : 0;

  outcome whole, chunked, unindexed;
  scan(stream, len, flags, &lim, NULL, prefix, &whole);
  chunker ch = {seed, max_chunk};
  scan(stream, len, flags, &lim, &ch, prefix, &chunked);
  chunker ch2 = {seed, max_chunk};
  scan(stream, len, flags | CTR_SCAN_NO_INDEX, &lim, &ch2, prefix, &unindexed);

  if (whole.status != chunked.status)
    fuzz_fail("status %d in one feed, %d chunked (max chunk %zu)", whole.status, chunked.status, max_chunk);
  for (int s = 0; s < CTR_STAT__COUNT; s++)
    if (whole.stats[s] != chunked.stats[s])
      fuzz_fail("stat %s is %llu in one feed, %llu chunked (max chunk %zu)", stat_names[s],
                (unsigned long long)whole.stats[s], (unsigned long long)chunked.stats[s], max_chunk);
  if (whole.digest.matches != chunked.digest.matches || whole.digest.errors != chunked.digest.errors)
    fuzz_fail("matches or record errors differ between one feed and chunks of at most %zu", max_chunk);
  if (unindexed.status != chunked.status || unindexed.digest.matches != chunked.digest.matches ||
      unindexed.stats[CTR_STAT_MATCHES] != chunked.stats[CTR_STAT_MATCHES])
    fuzz_fail("matches differ with and without the eventName index");
  free(gz);
  return 0;
}
