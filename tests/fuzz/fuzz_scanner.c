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
 *   bit 5  the fast-path scan (below) in chunks, not in one feed
 *   bits 6-7  1: CTR_SCAN_NO_CORRELATION, 2: CTR_SCAN_ONLY_CORRELATION
 *   (bits 4-7 also pick the harness's gzip level when bit 1 is set)
 *
 * The library promises that chunking does not change the result and that
 * the eventName index does not either, so the stream is scanned three times
 * (one feed; chunked; chunked without the index) and the reports compared.
 * Each scan is finished, so the windows of correlations with an upper bound
 * still open are decided at the stream's end too.
 *
 * That ruleset has a rule requiring neither a key nor a literal, which turns
 * the prefilter off. So the stream is scanned twice more under a second
 * ruleset that keeps every fast path on (every rule keyed or with required
 * literals, plain-member comparisons among them; checked when it is built):
 * in one feed, so that every record is walked (or, with option bit 5, in
 * chunks: a record spanning two is parsed whole, between walked ones), and
 * with CTR_SCAN_NO_INDEX, the plain route (every record parsed whole, nothing read from the walk's
 * facts or bytes). They must report the same matches, every output and
 * field value the same (the fast scan reads them in an order picked per
 * match: rendering is on the first read), the same record errors, status
 * and statistics (but CTR_STAT_EVALUATED, which is what the fast paths
 * save). */
#include "fuzz_common.h"

#include <stdbool.h>
#include <stdio.h>
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

/* Added to the built-in RDS rules (keyed on eventName, most with literals):
 * unkeyed rules with required literals, among them every plain-member
 * comparison the prefilter makes as a value (=, in, startswith, endswith,
 * folded, in an or of like branches) and literals looked for in a member's
 * bytes or the whole record, and keyed rules with literals under eventNames
 * and errorCodes the seeds hold. The output reads members the walk finds
 * from its facts, nested paths and json.value, so rendering from the walked
 * bytes is held to the plain route too. */
static const char fast_output[] =
  "  output: >-\n"
  "    %ct.name %ct.srcip %ct.region %ct.error %ct.errormessage %ct.time %ct.src %ct.shortsrc %ct.user\n"
  "    %ct.user.identitytype %ct.user.arn %ct.user.accountid %ct.useragent %ct.request.name %ct.resources\n"
  "    %json.value[/userIdentity/sessionContext/sessionIssuer/userName] %json.value[/requestParameters]\n"
  "    %json.value[/requestParameters/dBInstanceIdentifier] %json.value[/responseElements] %json.value[/a~1b]\n"
  "    %json.values[resources.ARN] %json.value[/userIdentity/type] %evt.time %s3.bucket %rds.resource\n"
  "    %ct.info %evt.plugininfo %s3.uri %s3.bytes %ct.readonly %ct.managementevent %rds.params.names\n"
  "    %ct.sessioncredentialfromconsole %evt.datetime %evt.time.iso8601\n"
  "  priority: NOTICE\n"
  "  source: aws_cloudtrail\n";
static const char *const fast_rules[][2] = {
  {"fast root", "ct.user.identitytype = Root"},
  {"fast srcip prefix", "ct.srcip startswith \"203.0.113.\""},
  {"fast srcip suffix or", "ct.srcip endswith \".5\" or ct.srcip endswith \".internal\""},
  {"fast srcip unlike or", "ct.srcip startswith \"198.51.100.\" or ct.srcip = \"192.0.2.1\""},
  {"fast region in", "ct.region in (eu-west-1, ap-southeast-2, \"lab/one\")"},
  {"fast region folded", "tolower(ct.region) = \"us-gov-west-1\""},
  {"fast name folded prefix", "tolower(ct.name) startswith \"deletedb\""},
  {"fast name prefix", "ct.name startswith PutEventSelect"},
  {"fast error suffix", "ct.error endswith Denied or ct.error endswith Exception"},
  {"fast error or srcip", "ct.error endswith Throttled or ct.srcip endswith \".4\""},
  {"fast time", "ct.time startswith \"2025-06-\""},
  {"fast shortsrc", "ct.shortsrc = signin"},
  {"fast arn folded", "tolower(ct.user.arn) endswith \"/mallory\""},
  {"fast user", "ct.user = AssumedRole and ct.useragent contains Boto3"},
  {"fast useragent", "ct.useragent icontains \"AWS-CLI/2\""},
  {"fast json value", "json.value[/requestParameters/dBInstanceIdentifier] startswith prod"},
  {"fast json values", "json.values[awsRegion] iglob \"US-WEST*\""},
  {"fast regex", "ct.useragent regex \".*(aws-cli|Boto3)/1\\.3.*\""},
  /* one member as compact JSON: literals inside one string, escapes by kind */
  {"fast request", "ct.request contains \"0.0.0.0/0\" or ct.response icontains \"/RDS:\""},
  {"fast aed", "ct.additionaleventdata contains LoginTo or ct.additionaleventdata glob \"*MFA?sed*\""},
  /* s3.uri's bucket and key; json.obj's strings (stop 25) */
  {"fast s3 uri", "s3.uri contains backup or s3.uri iglob \"*ARCHIVE*\" or s3.uri endswith \".gz\""},
  {"fast json obj", "json.obj contains \"db-backup\" or jevt.obj icontains Mallory"},
  {"fast keyed login", "ct.name = ConsoleLogin and ct.srcip startswith \"198.51.100.\""},
  {"fast keyed roles", "ct.name in (AssumeRole, ModifyImageAttribute, PutBucketLifecycle) and ct.user.arn contains \"assumed-role\""},
  {"fast keyed error", "ct.error = AccessDenied and ct.region startswith us-"},
  {"fast keyed source", "ct.src = \"kms.amazonaws.com\" and ct.useragent contains aws"},
  {"fast keyed s3", "ct.name = PutObject and json.value[/requestParameters/key] startswith \"a/\""},
  {"fast keyed lambda", "ct.name startswith UpdateFunctionConfiguration and ct.request.functionname contains e"},
};

/* A complete record no rule above nor built-in matches: the fast ruleset
 * must skip it unparsed, or the prefilter is off and the scans below prove
 * nothing about it. */
static const char unmatched_record[] =
  "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::1:user/x\"},"
  "\"eventTime\":\"2024-01-01T00:00:00Z\",\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"DescribeNothing\","
  "\"awsRegion\":\"sa-east-1\",\"sourceIPAddress\":\"192.0.2.9\",\"userAgent\":\"curl\"}\n";

/* The rules fast_rules[from, to) after the built-in ones. */
static ctr_ruleset *compile_fast(size_t from, size_t to)
{
  fuzz_text yaml = {0};
  for (size_t i = from; i < to; i++) {
    fuzz_text_adds(&yaml, "- rule: ");
    fuzz_text_adds(&yaml, fast_rules[i][0]);
    fuzz_text_adds(&yaml, "\n  desc: d\n  condition: ");
    fuzz_text_adds(&yaml, fast_rules[i][1]);
    fuzz_text_adds(&yaml, "\n");
    fuzz_text_adds(&yaml, fast_output);
  }
  ctr_ruleset *rs = fuzz_compile(yaml.data ? yaml.data : "", yaml.len, 1);
  fuzz_text_free(&yaml);
  if (!rs)
    fuzz_fail("the scanner target's fast-path rules %zu-%zu do not compile", from, to);
  return rs;
}

/* Whether rs parses unmatched_record (so its prefilter is off). */
static bool evaluates_unmatched(ctr_ruleset *rs)
{
  ctr_scanner *sc;
  if (ctr_scanner_new(rs, fuzz_on_match, NULL, &sc) != CTR_OK ||
      ctr_scanner_feed(sc, unmatched_record, strlen(unmatched_record)) != CTR_OK || ctr_scanner_finish(sc) != CTR_OK)
    fuzz_fail("scanning a record under the fast-path rules failed");
  if (ctr_scanner_stat(sc, CTR_STAT_RECORDS) != 1)
    fuzz_fail("the record no rule matches is not one record");
  bool evaluated = ctr_scanner_stat(sc, CTR_STAT_EVALUATED) != 0;
  ctr_scanner_free(sc);
  return evaluated;
}

enum { FAST_RULES = sizeof fast_rules / sizeof *fast_rules };

/* The built-in rules with fast_rules[choice] alone, or, for a choice past
 * them, with them all. One rule alone is a candidate for the records it
 * needs only: among them all another rule's candidacy would hide a record
 * wrongly skipped for it; and the prefilter takes many rules' literals in
 * one pass (litmatch.c) but a few one by one, so both are reached. Each
 * ruleset is checked to skip a record no rule matches unparsed, or the
 * prefilter is off and the scans prove nothing about it. */
static ctr_ruleset *fast_ruleset(unsigned choice)
{
  static ctr_ruleset *rs[FAST_RULES + 1];
  if (choice > FAST_RULES)
    choice = FAST_RULES;
  if (!rs[choice]) {
    size_t from = choice < FAST_RULES ? choice : 0, to = choice < FAST_RULES ? choice + 1 : FAST_RULES;
    rs[choice] = compile_fast(from, to);
    if (evaluates_unmatched(rs[choice])) {
      for (size_t i = from; i < to; i++) {
        ctr_ruleset *one = compile_fast(i, i + 1);
        if (evaluates_unmatched(one))
          fprintf(stderr, "fast-path rule '%s' turns the prefilter off or matches the unmatched record\n",
                  fast_rules[i][0]);
        ctr_ruleset_unref(one);
      }
      fuzz_fail("the fast-path rules evaluate a record no rule can match: the prefilter is off");
    }
  }
  return rs[choice];
}

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
  ch->state = fuzz_xorshift32(ch->state ? ch->state : 0x9e3779b9u);
  return 1 + ch->state % ch->max;
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

/* One scan of the stream under rs, each match read by `reader` (NULL:
 * fuzz_on_match, every accessor in one order). */
static void scan_rules(ctr_ruleset *rs, fuzz_reader *reader, const uint8_t *p, size_t len, unsigned flags,
                       const corr_limits *lim, chunker *ch, size_t abandon_prefix, outcome *out)
{
  memset(out, 0, sizeof *out);
  ctr_scanner *sc;
  if (reader ? ctr_scanner_new(rs, fuzz_on_match_any_order, reader, &sc) != CTR_OK
             : ctr_scanner_new(rs, fuzz_on_match, &out->digest, &sc) != CTR_OK)
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
    if (reader)
      reader->digest = (fuzz_digest){0};
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
  if (reader)
    out->digest.matches = reader->digest.matches;
}

static void scan(const uint8_t *p, size_t len, unsigned flags, const corr_limits *lim, chunker *ch,
                 size_t abandon_prefix, outcome *out)
{
  scan_rules(ruleset(), NULL, p, len, flags, lim, ch, abandon_prefix, out);
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

  /* Every fast path on, in one feed (every record walked) or chunked,
   * against the plain route in one feed; the fast scan reads each match in
   * an order of its own. */
  unsigned choice = (seed * 0x9e3779b1u) >> 27; /* spread: seeds are often small numbers */
  const char *which = choice < FAST_RULES ? fast_rules[choice][0] : "all of them";
  ctr_ruleset *frs = fast_ruleset(choice);
  fuzz_reader fast_reader = {.order = seed | 1}, plain_reader = {0};
  outcome fast, plain;
  chunker ch3 = {seed, max_chunk};
  scan_rules(frs, &fast_reader, stream, len, flags, &lim, (opts & 32) ? &ch3 : NULL, prefix, &fast);
  scan_rules(frs, &plain_reader, stream, len, flags | CTR_SCAN_NO_INDEX, &lim, NULL, prefix, &plain);
  if (fast.status != plain.status)
    fuzz_fail("fast-path rules (%s): status %d with every fast path, %d on the plain route", which, fast.status,
              plain.status);
  for (int s = 0; s < CTR_STAT__COUNT; s++)
    if (s != CTR_STAT_EVALUATED && fast.stats[s] != plain.stats[s])
      fuzz_fail("fast-path rules (%s): stat %s is %llu with every fast path, %llu on the plain route", which,
                stat_names[s], (unsigned long long)fast.stats[s], (unsigned long long)plain.stats[s]);
  if (fast.digest.matches != plain.digest.matches) {
    /* Once more, printing each match, to say which differ. */
    fast_reader = (fuzz_reader){.order = seed | 1, .log = "fast"};
    plain_reader = (fuzz_reader){.log = "plain"};
    ch3 = (chunker){seed, max_chunk};
    scan_rules(frs, &fast_reader, stream, len, flags, &lim, (opts & 32) ? &ch3 : NULL, prefix, &fast);
    scan_rules(frs, &plain_reader, stream, len, flags | CTR_SCAN_NO_INDEX, &lim, NULL, prefix, &plain);
    fuzz_fail("fast-path rules (%s): the matches (rules, outputs, fields, JSON lines) differ with every fast "
              "path and on the plain route (the matches above)", which);
  }
  if (fast.digest.errors != plain.digest.errors)
    fuzz_fail("fast-path rules (%s): the record errors differ with every fast path and on the plain route", which);
  free(gz);
  return 0;
}
