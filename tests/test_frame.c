/* test_frame.c - the framer (frame.c) on its own: every input shape, gzip,
 * limits, bad input, and the promise that the callbacks do not depend on how
 * the stream is chunked. Real samples come from ../shared/data/cloudtrail
 * (public Apache-2.0 / MIT test data; see its SOURCES.md). */
#include "frame.h" /* the gzip layers' count of members libdeflate inflated */
#include "internal.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------ the sink */

/* Every callback becomes one line of `log`, so two runs compare as text:
 *   R index offset bytes      record
 *   B index offset STATUS msg bad record
 *   S offset what             skipped
 *   E STATUS offset msg       stream error */
typedef struct sink_log {
  ctr__buf log;
  size_t records, bad, skipped, errors;
  size_t walked; /* records cut with one walk (facts given) */
  uint64_t whole; /* gzip members inflated whole by libdeflate (frame_gzip.c: try_whole) */
  uint64_t isal_blocks; /* deflate blocks ISA-L inflated (frame_isal.c) */
  size_t kept_peak;     /* the most compressed bytes ISA-L's path kept for zlib */
  size_t stop_at; /* record() returns stop_rc for this record (1-based); 0: never */
  int stop_rc;
  const char *lo, *hi; /* the fed buffer, to count zero-copy records */
  size_t zero_copy;
  ctr__framer *self; /* for the re-entry test */
  int reentry_rc;
  const ctr__framer *framer; /* the one running (run_cuts), to count records completed from a hold */
  size_t from_hold;
} sink_log;

static const char *status_name(int status)
{
  switch (status) {
  case CTR_EDATA:
    return "EDATA";
  case CTR_ELIMIT:
    return "ELIMIT";
  default:
    return "OTHER";
  }
}

/* The second walk's member spans: each (the last of a repeated key) parses alone to
 * the value jansson gives its key in the whole record, a plain string's bytes
 * are its value, and no key jansson has is missing. */
static void check_members(const json_t *root, const char *data, size_t len)
{
  ctr__member members[CTR__MAX_MEMBERS];
  size_t n = ctr__walk_members(data, len, members, CTR__MAX_MEMBERS);
  cr_assert_neq(n, SIZE_MAX, "the second walk rejects a walked record");
  if (n > CTR__MAX_MEMBERS) {
    cr_assert_gt(json_object_size(root), 0);
    return;
  }
  size_t distinct = 0;
  for (size_t i = 0; i < n; i++) {
    const ctr__member *m = &members[i];
    bool repeated = false;
    for (size_t j = i + 1; j < n && !repeated; j++)
      repeated = members[j].key_len == m->key_len && memcmp(members[j].key, m->key, m->key_len) == 0;
    if (repeated)
      continue;
    distinct++;
    json_t *want = json_object_getn(root, m->key, m->key_len);
    json_t *got = json_loadb(m->value, m->value_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    cr_assert(want && got && json_equal(want, got), "member %.*s: %.*s", (int)m->key_len, m->key,
              (int)m->value_len, m->value);
    if (m->plain_string)
      cr_assert(json_is_string(want) && json_string_length(want) == m->value_len - 2 &&
                memcmp(json_string_value(want), m->value + 1, m->value_len - 2) == 0);
    json_decref(got);
  }
  cr_assert_eq(distinct, json_object_size(root));
}

/* A record the framer cut with a walk must be what the walk said: valid JSON
 * (jansson agrees) with the eventName it read and the members it noted. */
static void check_walked(const char *data, size_t len, const ctr__record_facts *facts)
{
  json_t *root = json_loadb(data, len, JSON_DISABLE_EOF_CHECK, NULL);
  cr_assert(root != NULL, "walked record is not valid JSON: %.*s", (int)(len > 200 ? 200 : len), data);
  check_members(root, data, len);
  const ctr__topval *name = &facts->top[CTR__TOP_EVENT_NAME];
  json_t *jname = json_object_get(root, "eventName");
  if (!name->kind)
    cr_assert(jname == NULL);
  else if (name->kind == '"' && !name->escaped)
    cr_assert(json_is_string(jname) && json_string_length(jname) == name->len &&
              memcmp(json_string_value(jname), name->s, name->len) == 0);
  json_decref(root);
}

static bool g_logs_only; /* the differential tests compare logs: no jansson check of each walked record */

static int on_record(void *ud, const char *data, size_t len, uint64_t index, uint64_t offset,
                     const ctr__record_facts *facts)
{
  sink_log *l = ud;
  if (facts && !g_logs_only) {
    check_walked(data, len, facts);
    l->walked++;
  }
  ctr__buf_printf(&l->log, "R %llu %llu ", (unsigned long long)index, (unsigned long long)offset);
  ctr__buf_append(&l->log, data, len);
  ctr__buf_append_char(&l->log, '\n');
  l->records++;
  if (l->framer && l->framer->held.data && data == l->framer->held.data)
    l->from_hold++; /* resume_held emits the held bytes in place */
  if ((uintptr_t)data >= (uintptr_t)l->lo && (uintptr_t)data < (uintptr_t)l->hi)
    l->zero_copy++;
  if (l->self)
    l->reentry_rc = ctr__framer_feed(l->self, "{}", 2);
  return l->stop_at && l->records == l->stop_at ? l->stop_rc : 0;
}

static void on_bad(void *ud, int status, uint64_t index, uint64_t offset, const char *msg)
{
  sink_log *l = ud;
  ctr__buf_printf(&l->log, "B %llu %llu %s %s\n", (unsigned long long)index, (unsigned long long)offset,
                  status_name(status), msg);
  l->bad++;
}

static void on_skipped(void *ud, uint64_t offset, const char *what)
{
  sink_log *l = ud;
  ctr__buf_printf(&l->log, "S %llu %s\n", (unsigned long long)offset, what);
  l->skipped++;
}

static void on_error(void *ud, int status, uint64_t offset, const char *msg)
{
  sink_log *l = ud;
  ctr__buf_printf(&l->log, "E %s %llu %s\n", status_name(status), (unsigned long long)offset, msg);
  l->errors++;
}

static ctr__framer *new_framer(sink_log *l, const ctr__frame_limits *lim)
{
  ctr__frame_sink sink = {on_record, on_bad, on_skipped, on_error, l};
  ctr__framer *f = NULL;
  cr_assert_eq(ctr__framer_new(&sink, &f), CTR_OK);
  if (lim)
    ctr__framer_set_limits(f, lim);
  return f;
}

static void log_reset(sink_log *l)
{
  ctr__buf_free(&l->log);
  memset(l, 0, sizeof *l);
  ctr__buf_append(&l->log, "", 0); /* log.data is never NULL */
}

/* Feeds `len` bytes cut at the given points (sorted, within 0..len), then
 * finishes. Returns the first status that is not CTR_OK. */
static int run_cuts(sink_log *l, const ctr__frame_limits *lim, const void *data, size_t len, const size_t *cuts,
                    size_t ncuts)
{
  ctr__framer *f = new_framer(l, lim);
  l->framer = f;
  const char *p = data;
  size_t at = 0;
  int rc = CTR_OK;
  for (size_t i = 0; i <= ncuts && rc == CTR_OK; i++) {
    size_t to = i < ncuts ? cuts[i] : len;
    rc = ctr__framer_feed(f, p + at, to - at);
    at = to;
  }
  if (rc == CTR_OK)
    rc = ctr__framer_finish(f);
  l->whole = f->gzk[0].whole_members + f->gzk[1].whole_members;
  l->isal_blocks = ctr__isal_blocks(f);
  l->kept_peak = ctr__isal_kept_peak(f);
  l->framer = NULL;
  ctr__framer_free(f);
  return rc;
}

/* Feeds in chunks of `chunk` bytes (0: one feed). */
static int run(sink_log *l, const ctr__frame_limits *lim, const void *data, size_t len, size_t chunk)
{
  log_reset(l);
  l->lo = data;
  l->hi = (const char *)data + len;
  if (chunk == 0 || chunk >= len)
    return run_cuts(l, lim, data, len, NULL, 0);
  size_t ncuts = (len - 1) / chunk;
  size_t *cuts = malloc((ncuts + 1) * sizeof *cuts);
  for (size_t i = 0; i < ncuts; i++)
    cuts[i] = (i + 1) * chunk;
  int rc = run_cuts(l, lim, data, len, cuts, ncuts);
  free(cuts);
  return rc;
}

/* Frames a NUL-terminated input in one feed and returns the log (static). */
static const char *frame_str(const char *in, const ctr__frame_limits *lim, int *rc_out)
{
  static sink_log l;
  int rc = run(&l, lim, in, strlen(in), 0);
  if (rc_out)
    *rc_out = rc;
  return l.log.data;
}

#define ASSERT_FRAMES(in, expected)                                                                      \
  do {                                                                                                   \
    const char *got_ = frame_str((in), NULL, NULL);                                                      \
    cr_assert_str_eq(got_, (expected), "input:\n%s\ngot:\n%s\nexpected:\n%s", (in), got_, (expected));  \
  } while (0)

static ctr__frame_limits limits(uint64_t record_bytes, uint32_t depth, uint64_t gzip_output)
{
  ctr__frame_limits l;
  ctr__frame_limits_default(&l);
  if (record_bytes)
    l.max_record_bytes = record_bytes;
  if (depth)
    l.max_depth = depth;
  if (gzip_output)
    l.max_gzip_output = gzip_output;
  return l;
}

/* The log of one feed must equal the log of every other chunking tried. */
static void assert_split_invariant(const void *data, size_t len, const ctr__frame_limits *lim, size_t stride,
                                   const char *what)
{
  sink_log ref = {0}, l = {0};
  int ref_rc = run(&ref, lim, data, len, 0);
  for (size_t cut = 0; cut <= len; cut += stride) {
    log_reset(&l);
    int rc = run_cuts(&l, lim, data, len, &cut, 1);
    cr_assert_eq(rc, ref_rc, "%s: split at %zu", what, cut);
    cr_assert_eq(l.log.len, ref.log.len, "%s: split at %zu", what, cut);
    cr_assert(memcmp(l.log.data, ref.log.data, ref.log.len) == 0, "%s: split at %zu gives\n%s\ninstead of\n%s",
              what, cut, l.log.data, ref.log.data);
  }
  int rc = run(&l, lim, data, len, 1);
  cr_assert_eq(rc, ref_rc, "%s: 1-byte feeding", what);
  cr_assert_str_eq(l.log.data, ref.log.data, "%s: 1-byte feeding", what);
  ctr__buf_free(&ref.log);
  ctr__buf_free(&l.log);
}

/* The first `max` bytes of records.ndjson, cut at a line end. */
static char *ndjson_sample(size_t max, size_t *len)
{
  size_t n;
  char *all = tu_read(tu_shared("records.ndjson"), &n);
  size_t end = max < n ? max : n;
  while (end > 0 && all[end - 1] != '\n')
    end--;
  all[end] = '\0';
  *len = end;
  return all;
}

/* {"Records":[...]} of the records in an NDJSON text. */
static char *as_log_file(const char *ndjson, size_t *len)
{
  ctr__buf b = {0};
  ctr__buf_append_str(&b, "{\"Records\":[");
  for (const char *p = ndjson; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (b.data[b.len - 1] != '[')
      ctr__buf_append_char(&b, ',');
    ctr__buf_append(&b, p, n);
    p += n + (nl != NULL);
  }
  ctr__buf_append_str(&b, "]}");
  *len = b.len;
  return b.data;
}

/* ------------------------------------------------------------ shapes */

Test(frame, ndjson_and_concatenated_objects)
{
  ASSERT_FRAMES("{\"a\":1}\n{\"b\":2}\n", "R 0 0 {\"a\":1}\nR 1 8 {\"b\":2}\n");
  ASSERT_FRAMES("{\"a\":1}\r\n\r\n  {\"b\":2}", "R 0 0 {\"a\":1}\nR 1 13 {\"b\":2}\n");
  ASSERT_FRAMES("{\"a\":1}{\"b\":{}}  \t{\"c\":[{}]}", "R 0 0 {\"a\":1}\nR 1 7 {\"b\":{}}\nR 2 18 {\"c\":[{}]}\n");
  ASSERT_FRAMES("", "");
  ASSERT_FRAMES(" \n\t\r\n", "");
  /* a record is handed on byte for byte, whitespace and key order kept */
  ASSERT_FRAMES("{ \"z\" : 1 ,\n \"a\" : [ 1.50e3 , \"\\u00e9\" ] }",
                "R 0 0 { \"z\" : 1 ,\n \"a\" : [ 1.50e3 , \"\\u00e9\" ] }\n");
}

Test(frame, records_in_one_chunk_are_not_copied)
{
  sink_log l = {0};
  const char *in = "{\"a\":1}\n{\"Records\":[{\"b\":2},{\"c\":3}]}\n[{\"d\":4}]";
  cr_assert_eq(run(&l, NULL, in, strlen(in), 0), CTR_OK);
  cr_assert_eq(l.records, 4);
  cr_assert_eq(l.zero_copy, 4);
  /* each one was cut with a single walk, the envelope itself was not */
  cr_assert_eq(l.walked, 4);
  ctr__buf_free(&l.log);
}

Test(frame, records_file_streams_its_elements)
{
  ASSERT_FRAMES("{\"Records\":[{\"a\":1},{\"b\":{\"c\":[1,2]}}]}",
                "R 0 12 {\"a\":1}\nR 1 20 {\"b\":{\"c\":[1,2]}}\n");
  ASSERT_FRAMES("{\"Records\":[]}\n{\"Records\" : [ ] }", "");
  /* other keys, before and after, are read and ignored; only depth 1 counts */
  ASSERT_FRAMES("{\"x\":{\"Records\":[{\"no\":1}]},\"s\":\"\\\"Records\\\":[\",\"Records\":\n [ {\"a\":1} ,\n{\"b\":2}\n],"
                "\"y\":[{\"no\":2}],\"z\":\"}\"}\n{\"c\":3}",
                "R 0 62 {\"a\":1}\nR 1 72 {\"b\":2}\nR 2 106 {\"c\":3}\n");
  /* two log files in one stream: indexes go on, offsets are the stream's */
  ASSERT_FRAMES("{\"Records\":[{\"a\":1}]}\n{\"Records\":[{\"b\":2}]}\n",
                "R 0 12 {\"a\":1}\nR 1 34 {\"b\":2}\n");
}

Test(frame, records_that_is_not_an_array_leaves_an_ordinary_object)
{
  ASSERT_FRAMES("{\"Records\":null,\"a\":1}", "R 0 0 {\"Records\":null,\"a\":1}\n");
  ASSERT_FRAMES("{\"Records\":{\"a\":[1]}}", "R 0 0 {\"Records\":{\"a\":[1]}}\n");
  ASSERT_FRAMES("{\"Records\":\"[\"}", "R 0 0 {\"Records\":\"[\"}\n");
  ASSERT_FRAMES("{\"records\":[{\"a\":1}]}", "R 0 0 {\"records\":[{\"a\":1}]}\n");
  ASSERT_FRAMES("{\"RecordsX\":[{\"a\":1}]}", "R 0 0 {\"RecordsX\":[{\"a\":1}]}\n");
  /* "Records" as a value, not a key */
  ASSERT_FRAMES("{\"k\":\"Records\",\"v\":[{\"a\":1}]}", "R 0 0 {\"k\":\"Records\",\"v\":[{\"a\":1}]}\n");
}

Test(frame, top_level_array)
{
  ASSERT_FRAMES("[{\"a\":1},\n {\"b\":[{}]}]\n[]", "R 0 1 {\"a\":1}\nR 1 11 {\"b\":[{}]}\n");
  /* an array of log files is an array of records: each is passed whole */
  ASSERT_FRAMES("[{\"Records\":[{\"a\":1}]}]", "R 0 1 {\"Records\":[{\"a\":1}]}\n");
}

Test(frame, non_object_elements_are_bad_records)
{
  ASSERT_FRAMES("{\"Records\":[{\"a\":1},2,\"x,]}\",[{\"b\":1}],null , -1.5e3,{\"c\":3}]}",
                "R 0 12 {\"a\":1}\n"
                "B 1 20 EDATA record is not a JSON object\n"
                "B 2 22 EDATA record is not a JSON object\n"
                "B 3 29 EDATA record is not a JSON object\n"
                "B 4 39 EDATA record is not a JSON object\n"
                "B 5 46 EDATA record is not a JSON object\n"
                "R 6 53 {\"c\":3}\n");
  ASSERT_FRAMES("[1 2,{\"a\":1}x]", "B 0 1 EDATA record is not a JSON object\n"
                                    "B 1 3 EDATA record is not a JSON object\n"
                                    "R 2 5 {\"a\":1}\n"
                                    "B 3 12 EDATA record is not a JSON object\n");
}

Test(frame, garbage_between_records_resynchronises_at_newline)
{
  ASSERT_FRAMES("xyz {\"no\":1}\n{\"a\":1}\n42\n\"str\"\n}\n]{\"no\":2}\n{\"b\":2}\ntrue",
                "B 0 0 EDATA expected a JSON object or array, found 'x'\n"
                "R 1 13 {\"a\":1}\n"
                "B 2 21 EDATA expected a JSON object or array, found '4'\n"
                "B 3 24 EDATA expected a JSON object or array, found '\"'\n"
                "B 4 30 EDATA expected a JSON object or array, found '}'\n"
                "B 5 32 EDATA expected a JSON object or array, found ']'\n"
                "R 6 42 {\"b\":2}\n"
                "B 7 50 EDATA expected a JSON object or array, found 't'\n");
  ASSERT_FRAMES("\x01\xff\n{\"a\":1}", "B 0 0 EDATA expected a JSON object or array, found '\\x01'\nR 1 3 {\"a\":1}\n");
  /* a record after garbage on the same line is lost with the line */
  ASSERT_FRAMES("oops {\"a\":1}", "B 0 0 EDATA expected a JSON object or array, found 'o'\n");
}

Test(frame, strings_with_braces_and_escaped_quotes)
{
  const char *in = "{\"a\":\"}{][\",\"b\":\"\\\"}\\\\\",\"c\\\"}\":\"\\\\\\\"{\"}\n{\"d\":\"\\\\\"}";
  ASSERT_FRAMES(in, "R 0 0 {\"a\":\"}{][\",\"b\":\"\\\"}\\\\\",\"c\\\"}\":\"\\\\\\\"{\"}\n"
                    "R 1 40 {\"d\":\"\\\\\"}\n");
  /* the same inside a Records array */
  ASSERT_FRAMES("{\"Records\":[{\"a\":\"]}\\\"]\"},{\"b\":\"\\\\\"}]}",
                "R 0 12 {\"a\":\"]}\\\"]\"}\nR 1 26 {\"b\":\"\\\\\"}\n");
}

Test(frame, utf8_bom_at_stream_start_is_skipped)
{
  ASSERT_FRAMES("\xEF\xBB\xBF{\"a\":1}\n", "R 0 3 {\"a\":1}\n");
  /* only at the start */
  ASSERT_FRAMES("{\"a\":1}\n\xEF\xBB\xBF{\"b\":1}\n{\"c\":1}",
                "R 0 0 {\"a\":1}\nB 1 8 EDATA expected a JSON object or array, found '\\xEF'\nR 2 19 {\"c\":1}\n");
  /* a partial BOM is garbage up to the newline */
  ASSERT_FRAMES("\xEF\xBB{\"a\":1}\n{\"b\":1}", "B 0 0 EDATA expected a JSON object or array, found '\\xEF'\nR 1 10 {\"b\":1}\n");
  ASSERT_FRAMES("\xEF\n{\"b\":1}", "B 0 0 EDATA expected a JSON object or array, found '\\xEF'\nR 1 2 {\"b\":1}\n");
  ASSERT_FRAMES("\xEF\xBB", "B 0 0 EDATA expected a JSON object or array, found '\\xEF'\n");
}

Test(frame, truncated_input_at_finish)
{
  ASSERT_FRAMES("{\"a\":1}\n{\"b\":\"x", "R 0 0 {\"a\":1}\n"
                                        "B 1 8 EDATA truncated record: input ended inside a JSON string\n");
  ASSERT_FRAMES("{\"a\":1}\n{\"b\":{\"c\":[1, 2", "R 0 0 {\"a\":1}\n"
                                                "B 1 8 EDATA truncated record: input ended inside a JSON object\n");
  ASSERT_FRAMES("{\"Records\":[{\"a\":1},{\"b\":", "R 0 12 {\"a\":1}\n"
                                                  "B 1 20 EDATA truncated record: input ended inside a JSON object\n");
  /* a log file cut between records: the records are there, the cut is told */
  ASSERT_FRAMES("{\"Records\":[{\"a\":1},", "R 0 12 {\"a\":1}\n"
                                           "B 1 0 EDATA truncated input: ended inside the Records array\n");
  ASSERT_FRAMES("{\"Records\":[{\"a\":1}]", "R 0 12 {\"a\":1}\n"
                                           "B 1 0 EDATA truncated input: ended inside a top-level JSON object\n");
  ASSERT_FRAMES("\n[{\"a\":1}", "R 0 2 {\"a\":1}\nB 1 1 EDATA truncated input: ended inside a top-level JSON array\n");
  ASSERT_FRAMES("{", "B 0 0 EDATA truncated record: input ended inside a JSON object\n");
  ASSERT_FRAMES("[", "B 0 0 EDATA truncated input: ended inside a top-level JSON array\n");
  /* an unbalanced record does not swallow what follows: the next line that
   * begins a record is framed (resynchronisation, below) */
  ASSERT_FRAMES("{\"a\":{}\n{\"b\":1}\n",
                "B 0 0 EDATA invalid JSON at byte 9 of the record: '}' expected near '{'\nR 1 8 {\"b\":1}\n");
  ASSERT_FRAMES("{\"a\":[\n{\"b\":1}\n", "B 0 0 EDATA truncated record: input ended inside a JSON object\n"
                                            "R 1 7 {\"b\":1}\n");
}

/* ------------------------------------------------------------ limits */

Test(frame, record_over_max_record_bytes)
{
  ctr__frame_limits lim = limits(20, 0, 0);
  int rc;
  /* 20 bytes pass, 21 do not; the stream goes on after */
  const char *in = "{\"a\":\"xxxxxxxxxxxx\"}\n{\"a\":\"xxxxxxxxxxxxx\"}\n{\"c\":3}";
  cr_assert_str_eq(frame_str(in, &lim, &rc), "R 0 0 {\"a\":\"xxxxxxxxxxxx\"}\n"
                                             "B 1 21 ELIMIT record exceeds the limit of 20 bytes\n"
                                             "R 2 43 {\"c\":3}\n");
  cr_assert_eq(rc, CTR_OK);
  in = "{\"Records\":[{\"a\":\"xxxxxxxxxxxxx\"},{\"b\":[\"{\"]},{\"big\":{\"x\":[1,2,3,4,5,6,7,8,9]}},{\"c\":3}]}";
  cr_assert_str_eq(frame_str(in, &lim, NULL), "B 0 12 ELIMIT record exceeds the limit of 20 bytes\n"
                                              "R 1 34 {\"b\":[\"{\"]}\n"
                                              "B 2 46 ELIMIT record exceeds the limit of 20 bytes\n"
                                              "R 3 80 {\"c\":3}\n");
  /* a big top-level object is only over the limit when it is no log file */
  in = "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"Records\":[{\"a\":1}]}";
  cr_assert_str_eq(frame_str(in, &lim, NULL), "R 0 51 {\"a\":1}\n");
  in = "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"R\":[{\"a\":1}]}\n{\"b\":1}";
  cr_assert_str_eq(frame_str(in, &lim, NULL), "B 0 0 ELIMIT record exceeds the limit of 20 bytes\n"
                                              "R 1 55 {\"b\":1}\n");
  /* ... and a truncated one is reported once, for its size */
  in = "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
  cr_assert_str_eq(frame_str(in, &lim, NULL), "B 0 0 ELIMIT record exceeds the limit of 20 bytes\n");
  in = "{\"Records\":[{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
  cr_assert_str_eq(frame_str(in, &lim, NULL), "B 0 12 ELIMIT record exceeds the limit of 20 bytes\n");

  /* memory stays bounded by the limit, not by the record */
  sink_log l = {0};
  size_t big = 3u << 20;
  char *huge = malloc(big + 64);
  strcpy(huge, "{\"Records\":[{\"x\":\"");
  size_t n = strlen(huge);
  memset(huge + n, 'y', big);
  n += big;
  n += (size_t)sprintf(huge + n, "\"},{\"a\":1}]}");
  lim = limits(1u << 20, 0, 0);
  cr_assert_eq(run(&l, &lim, huge, n, 4096), CTR_OK);
  cr_assert_str_eq(l.log.data, "B 0 12 ELIMIT record exceeds the limit of 1048576 bytes\nR 1 3145749 {\"a\":1}\n");
  ctr__buf_free(&l.log);
  free(huge);
}

Test(frame, nesting_deeper_than_max_depth)
{
  ctr__frame_limits lim = limits(0, 3, 0);
  const char *in = "{\"a\":{\"b\":[1]}}\n{\"a\":{\"b\":[{}]}}\n{\"c\":3}";
  cr_assert_str_eq(frame_str(in, &lim, NULL), "R 0 0 {\"a\":{\"b\":[1]}}\n"
                                              "B 1 16 ELIMIT JSON nesting deeper than 3\n"
                                              "R 2 33 {\"c\":3}\n");
  /* inside a log file, depth counts from the record */
  in = "{\"Records\":[{\"a\":{\"b\":[1]}},{\"a\":{\"b\":[[]]}},{\"c\":3}]}";
  cr_assert_str_eq(frame_str(in, &lim, NULL), "R 0 12 {\"a\":{\"b\":[1]}}\n"
                                              "B 1 28 ELIMIT JSON nesting deeper than 3\n"
                                              "R 2 45 {\"c\":3}\n");
  /* whichever limit is hit first is the one told */
  lim = limits(12, 3, 0);
  cr_assert_str_eq(frame_str("{\"a\":{\"b\":[[1]]}}", &lim, NULL), "B 0 0 ELIMIT JSON nesting deeper than 3\n");
  cr_assert_str_eq(frame_str("{\"aaaaaaaaa\":{\"b\":[[1]]}}", &lim, NULL),
                   "B 0 0 ELIMIT record exceeds the limit of 12 bytes\n");

  /* a million levels: no recursion, no crash, the next record is read */
  size_t depth = 1000000;
  char *deep = malloc(2 * depth + 64);
  size_t n = 0;
  n += (size_t)sprintf(deep, "{\"a\":");
  memset(deep + n, '[', depth);
  n += depth;
  memset(deep + n, ']', depth);
  n += depth;
  n += (size_t)sprintf(deep + n, "}\n{\"b\":1}");
  sink_log l = {0};
  cr_assert_eq(run(&l, NULL, deep, n, 0), CTR_OK);
  cr_assert_str_eq(l.log.data, "B 0 0 ELIMIT JSON nesting deeper than 64\nR 1 2000007 {\"b\":1}\n");
  /* and without the closing brackets: reported once */
  cr_assert_eq(run(&l, NULL, deep, 5 + depth, 7), CTR_OK);
  cr_assert_str_eq(l.log.data, "B 0 0 ELIMIT JSON nesting deeper than 64\n");
  ctr__buf_free(&l.log);
  free(deep);
}

/* ------------------------------------------------------------ envelopes */

Test(frame, digest_file_is_skipped)
{
  ASSERT_FRAMES("{\"awsAccountId\":\"111122223333\",\"digestStartTime\":\"2025-03-01T09:05:12Z\","
                "\"digestEndTime\":\"2025-03-01T10:05:12Z\",\"logFiles\":[{\"s3Bucket\":\"b\"}]}\n{\"a\":1}",
                "S 0 CloudTrail digest file\nR 0 142 {\"a\":1}\n");
  /* one of the two keys is not enough */
  ASSERT_FRAMES("{\"logFiles\":[]}", "R 0 0 {\"logFiles\":[]}\n");
}

Test(frame, eventbridge_detail_is_the_record)
{
  /* the detail's bytes are taken exactly as written */
  ASSERT_FRAMES("{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.rds\","
                "\"detail\": {\"eventName\" : \"X\", \"z\":1.0, \"a\":\"\\u00e9\"} ,\"region\":\"eu-west-1\"}",
                "R 0 88 {\"eventName\" : \"X\", \"z\":1.0, \"a\":\"\\u00e9\"}\n");
  ASSERT_FRAMES("{\"detail\":{\"eventName\":\"Y\"},\"detail-type\":\"AWS Console Sign In via CloudTrail\"}",
                "R 0 10 {\"eventName\":\"Y\"}\n");
  ASSERT_FRAMES("{\"detail-type\":\"AWS Service Event via CloudTrail\",\"detail\":{}}", "R 0 59 {}\n");
  ASSERT_FRAMES("{\"detail-type\":\"Object Created\",\"source\":\"aws.s3\",\"detail\":{\"bucket\":{}}}",
                "S 0 EventBridge event 'Object Created' does not carry a CloudTrail record\n");
  ASSERT_FRAMES("{\"detail-type\":\"AWS Insight via CloudTrail\",\"detail\":{\"eventType\":\"AwsCloudTrailInsight\"}}",
                "S 0 EventBridge event 'AWS Insight via CloudTrail' carries a CloudTrail Insights event, not a record\n");
  /* no object detail: not an EventBridge envelope we know, so a record */
  ASSERT_FRAMES("{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":\"{}\"}",
                "R 0 0 {\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":\"{}\"}\n");
  /* duplicate keys: the last one wins, as in jansson */
  ASSERT_FRAMES("{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{\"n\":1},\"detail\":{\"n\":2}}",
                "R 0 71 {\"n\":2}\n");
  /* keys written with escapes are still recognised (through jansson) */
  ASSERT_FRAMES("{\"detail\\u002dtype\":\"AWS API Call via CloudTrail\",\"detail\":{\"n\":1}}",
                "R 0 59 {\"n\":1}\n");
  ASSERT_FRAMES("{\"detail-type\":\"AWS API Call via CloudTrail\",\"d\\u0065tail\":{\"n\":1}}",
                "R 0 0 {\"n\":1}\n");
}

Test(frame, cloudwatch_logs_messages_are_records)
{
  ASSERT_FRAMES("{\"messageType\":\"DATA_MESSAGE\",\"logGroup\":\"g\",\"logEvents\":["
                "{\"id\":\"1\",\"message\":\"{\\\"eventName\\\":\\\"A\\\",\\\"s\\\":\\\"\\\\u00e9\\\"}\"},"
                "{\"id\":\"2\",\"message\":\"not json\"},{\"id\":\"3\"},{\"id\":\"4\",\"message\":\"{}\"}]}\n{\"z\":1}",
                "R 0 0 {\"eventName\":\"A\",\"s\":\"\\u00e9\"}\n"
                "R 1 0 not json\n"
                "B 2 0 EDATA CloudWatch Logs logEvents[2] has no string message\n"
                "R 3 0 {}\n"
                "R 4 192 {\"z\":1}\n");
  ASSERT_FRAMES("{\"messageType\":\"CONTROL_MESSAGE\",\"logEvents\":[{\"id\":\"\",\"message\":\"CWL CONTROL MESSAGE\"}]}",
                "S 0 CloudWatch Logs control message\n");
  ASSERT_FRAMES("{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[]}", "S 0 CloudWatch Logs payload without log events\n");
  ASSERT_FRAMES("{\"messageType\":\"OTHER\",\"logEvents\":[]}", "R 0 0 {\"messageType\":\"OTHER\",\"logEvents\":[]}\n");
}

Test(frame, unparseable_envelope_is_a_bad_record)
{
  /* its structure is broken: the framer reports it, worded as jansson does */
  ASSERT_FRAMES("{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{\"a\":1}, oops}\n{\"b\":1}",
                "B 0 0 EDATA invalid JSON at byte 64 of the record: string or '}' expected near 'o'\nR 1 69 {\"b\":1}\n");
  /* an escaped key, and a trailing comma */
  ASSERT_FRAMES("{\"R\\u0065cords\":[{\"a\":1}],}",
                "B 0 0 EDATA invalid JSON at byte 27 of the record: string or '}' expected near '}'\n");
  /* well-formed, but jansson refuses it (a lone surrogate): passed on, the scanner's parse reports it */
  ASSERT_FRAMES("{\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"\\ud800\",\"detail\":{\"a\":1}}",
                "R 0 0 {\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"\\ud800\",\"detail\":{\"a\":1}}\n");
}

/* ------------------------------------------------------------ gzip */

Test(frame, gzip_gives_the_same_records)
{
  const char *in = "{\"a\":1}\n{\"Records\":[{\"b\":2}]}\n";
  size_t n;
  unsigned char *gz = tu_gzip(in, strlen(in), &n);
  sink_log plain = {0}, l = {0};
  run(&plain, NULL, in, strlen(in), 0);
  cr_assert_eq(run(&l, NULL, gz, n, 0), CTR_OK);
  cr_assert_str_eq(l.log.data, plain.log.data);
  cr_assert_str_eq(l.log.data, "R 0 0 {\"a\":1}\nR 1 20 {\"b\":2}\n");
  assert_split_invariant(gz, n, NULL, 1, "small gzip");

  /* multi-member: offsets run on through the members */
  size_t n2;
  unsigned char *gz2 = tu_gzip("{\"c\":3}", 7, &n2);
  unsigned char *both = malloc(n + n2);
  memcpy(both, gz, n);
  memcpy(both + n, gz2, n2);
  cr_assert_eq(run(&l, NULL, both, n + n2, 0), CTR_OK);
  cr_assert_str_eq(l.log.data, "R 0 0 {\"a\":1}\nR 1 20 {\"b\":2}\nR 2 30 {\"c\":3}\n");
  assert_split_invariant(both, n + n2, NULL, 1, "two gzip members");

  /* a BOM inside the gzip stream */
  size_t n3;
  unsigned char *gz3 = tu_gzip("\xEF\xBB\xBF{\"d\":4}", 10, &n3);
  cr_assert_eq(run(&l, NULL, gz3, n3, 0), CTR_OK);
  cr_assert_str_eq(l.log.data, "R 0 3 {\"d\":4}\n");
  free(gz);
  free(gz2);
  free(gz3);
  free(both);
  ctr__buf_free(&plain.log);
  ctr__buf_free(&l.log);
}

Test(frame, lone_gzip_magic_byte_is_plain_input)
{
  ASSERT_FRAMES("\x1f", "B 0 0 EDATA expected a JSON object or array, found '\\x1F'\n");
  ASSERT_FRAMES("\x1f\n{\"a\":1}", "B 0 0 EDATA expected a JSON object or array, found '\\x1F'\nR 1 2 {\"a\":1}\n");
  sink_log l = {0};
  cr_assert_eq(run(&l, NULL, "\x1f\n{\"a\":1}", 9, 1), CTR_OK);
  cr_assert_str_eq(l.log.data, "B 0 0 EDATA expected a JSON object or array, found '\\x1F'\nR 1 2 {\"a\":1}\n");
  ctr__buf_free(&l.log);
}

Test(frame, corrupt_gzip_is_a_stream_error)
{
  unsigned char garbage[] = {0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x03, 0xff, 0xff, 0xff, 0xff};
  sink_log l = {0};
  log_reset(&l);
  ctr__framer *f = new_framer(&l, NULL);
  cr_assert_eq(ctr__framer_feed(f, garbage, sizeof garbage), CTR_EDATA);
  cr_assert_eq(l.errors, 1);
  cr_assert(strstr(l.log.data, "E EDATA 11 corrupt gzip stream at compressed byte 11: invalid block type"), "%s",
            l.log.data);
  /* sticky until reset */
  cr_assert_eq(ctr__framer_feed(f, "{}", 2), CTR_EDATA);
  cr_assert_eq(ctr__framer_finish(f), CTR_EDATA);
  cr_assert_eq(l.errors, 1);
  ctr__framer_reset(f);
  cr_assert_eq(ctr__framer_feed(f, "{\"a\":1}", 7), CTR_OK);
  cr_assert_eq(ctr__framer_finish(f), CTR_OK);
  cr_assert(strstr(l.log.data, "R 0 0 {\"a\":1}\n"), "%s", l.log.data);
  ctr__framer_free(f);

  /* a bad header */
  unsigned char header[] = {0x1f, 0x8b, 0x07, 0x00, 0, 0, 0, 0, 0, 3, 1, 2, 3};
  cr_assert_eq(run(&l, NULL, header, sizeof header, 0), CTR_EDATA);
  cr_assert(strstr(l.log.data, "E EDATA 4 corrupt gzip stream at compressed byte 4: unknown compression method"),
            "%s", l.log.data);

  /* good records before the damage are still delivered */
  const char *in = "{\"a\":1}\n{\"b\":2}\n";
  size_t n;
  unsigned char *gz = tu_gzip(in, strlen(in), &n);
  gz[n - 5] ^= 0xff; /* the CRC/length trailer */
  cr_assert_eq(run(&l, NULL, gz, n, 0), CTR_EDATA);
  cr_assert(strstr(l.log.data, "R 0 0 {\"a\":1}\nR 1 8 {\"b\":2}\nE EDATA"), "%s", l.log.data);
  cr_assert(strstr(l.log.data, "corrupt gzip stream at compressed byte"), "%s", l.log.data);
  cr_assert(strstr(l.log.data, "incorrect data check"), "%s", l.log.data);
  free(gz);
  /* trailing garbage after a good member is a broken second member */
  unsigned char *good = tu_gzip(in, strlen(in), &n);
  good = realloc(good, n + 3);
  memcpy(good + n, "abc", 3);
  cr_assert_eq(run(&l, NULL, good, n + 3, 0), CTR_EDATA);
  cr_assert(strstr(l.log.data, "R 1 8 {\"b\":2}\nE EDATA"), "%s", l.log.data);
  free(good);
  ctr__buf_free(&l.log);
}

Test(frame, truncated_gzip_is_a_stream_error)
{
  size_t len;
  char *sample = ndjson_sample(4000, &len);
  size_t n;
  unsigned char *gz = tu_gzip(sample, len, &n);
  sink_log l = {0};
  cr_assert_eq(run(&l, NULL, gz, n - 4, 0), CTR_EDATA);
  cr_assert_eq(l.errors, 1);
  char expect[128];
  snprintf(expect, sizeof expect,
           "truncated gzip stream: input ended inside a compressed member at compressed byte %zu\n", n - 4);
  cr_assert(strstr(l.log.data, expect), "%s", l.log.data);
  /* only the magic */
  cr_assert_eq(run(&l, NULL, gz, 2, 0), CTR_EDATA);
  cr_assert(strstr(l.log.data, "E EDATA 2 truncated gzip stream"), "%s", l.log.data);
  /* a clean cut between two members is fine */
  cr_assert_eq(run(&l, NULL, gz, n, 0), CTR_OK);
  free(gz);
  free(sample);
  ctr__buf_free(&l.log);
}

Test(frame, gzip_bomb_stops_at_the_limit)
{
  size_t big = 4u << 20;
  char *in = malloc(big);
  memcpy(in, "{\"a\":1}\n", 8);
  memset(in + 8, ' ', big - 8);
  size_t n;
  unsigned char *gz = tu_gzip(in, big, &n);
  cr_assert_lt(n, 10000);
  ctr__frame_limits lim = limits(0, 0, 100000);
  sink_log l = {0};
  cr_assert_eq(run(&l, &lim, gz, n, 0), CTR_ELIMIT);
  cr_assert_eq(l.records, 1);
  cr_assert_eq(l.errors, 1);
  cr_assert(strstr(l.log.data, "E ELIMIT "), "%s", l.log.data);
  cr_assert(strstr(l.log.data, "gzip expands beyond the limit of 100000 bytes\n"), "%s", l.log.data);
  /* the same whatever the chunking */
  char *first = strdup(l.log.data);
  cr_assert_eq(run(&l, &lim, gz, n, 1), CTR_ELIMIT);
  cr_assert_eq(l.records, 1);
  cr_assert_eq(l.errors, 1);
  size_t same = (size_t)(strstr(first, "E ELIMIT ") - first); /* the compressed offset may differ */
  cr_assert(strncmp(l.log.data, first, same) == 0, "%s", l.log.data);
  /* exactly at the limit is fine */
  lim = limits(0, 0, big);
  cr_assert_eq(run(&l, &lim, gz, n, 0), CTR_OK);
  lim = limits(0, 0, big - 1);
  cr_assert_eq(run(&l, &lim, gz, n, 0), CTR_ELIMIT);
  free(first);
  free(gz);
  free(in);
  ctr__buf_free(&l.log);
}

#define GZIP_TRAILER_CUTS 9 /* a cut before each byte of the 8-byte trailer, and after it */

/* What zlib's own check makes of a gzip stream (members concatenated), fed
 * whole (step 0) or `step` bytes at a time: the stream-error line the framer
 * must log, or "" if zlib finds no fault. The framer checks the trailer
 * itself; this oracle holds it to zlib's words and offsets. */
static void zlib_verdict(const unsigned char *gz, size_t len, size_t step, char *line, size_t cap)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  cr_assert_eq(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
  unsigned char out[4096];
  size_t at = 0;
  int zr = Z_OK;
  line[0] = '\0';
  while (at < len && (zr == Z_OK || zr == Z_STREAM_END)) {
    if (zr == Z_STREAM_END)
      cr_assert_eq(inflateReset(&z), Z_OK);
    size_t take = step && step < len - at ? step : len - at;
    z.next_in = (unsigned char *)(uintptr_t)(gz + at);
    z.avail_in = (uInt)take;
    do {
      z.next_out = out;
      z.avail_out = sizeof out;
      zr = inflate(&z, Z_NO_FLUSH);
    } while (zr == Z_OK && z.avail_out == 0);
    at += take - z.avail_in;
    if (zr == Z_BUF_ERROR)
      zr = Z_OK;
  }
  if (zr == Z_DATA_ERROR)
    snprintf(line, cap, "E EDATA %zu corrupt gzip stream at compressed byte %zu: %s\n", at, at, z.msg);
  inflateEnd(&z);
}

/* Frames `gz` whole, byte by byte and cut once at each of `cuts`, and checks
 * every run logs `expected` (records, then zlib's own verdict). */
static void assert_gzip_log(const unsigned char *gz, size_t len, const size_t *cuts, size_t ncuts,
                            const char *expected, const char *what)
{
  char verdict[160];
  zlib_verdict(gz, len, 0, verdict, sizeof verdict);
  cr_assert(strstr(expected, verdict), "%s: zlib says %s", what, verdict);
  zlib_verdict(gz, len, 1, verdict, sizeof verdict);
  cr_assert(strstr(expected, verdict), "%s: zlib fed byte by byte says %s", what, verdict);
  int want_rc = strstr(expected, "E EDATA") ? CTR_EDATA : CTR_OK;
  sink_log l = {0};
  for (size_t step = 0; step <= 1; step++) {
    cr_assert_eq(run(&l, NULL, gz, len, step), want_rc, "%s, step %zu", what, step);
    cr_assert_str_eq(l.log.data, expected, "%s, step %zu", what, step);
  }
  for (size_t i = 0; i < ncuts; i++) {
    log_reset(&l);
    cr_assert_eq(run_cuts(&l, NULL, gz, len, &cuts[i], 1), want_rc, "%s, cut at %zu", what, cuts[i]);
    cr_assert_str_eq(l.log.data, expected, "%s, cut at %zu", what, cuts[i]);
  }
  ctr__buf_free(&l.log);
}

Test(frame, gzip_trailer_is_checked)
{
  const char *in = "{\"a\":1}\n{\"b\":2}\n";
  const char *records = "R 0 0 {\"a\":1}\nR 1 8 {\"b\":2}\n";
  size_t n;
  unsigned char *gz = tu_gzip(in, strlen(in), &n);
  size_t cuts[GZIP_TRAILER_CUTS];
  for (size_t k = 0; k < GZIP_TRAILER_CUTS; k++) /* before, inside and after the 8-byte trailer */
    cuts[k] = n - 8 + k;
  char expect[256];
  assert_gzip_log(gz, n, cuts, GZIP_TRAILER_CUTS, records, "good trailer");

  /* a wrong CRC-32 (trailer bytes 0-3): found where zlib's check stops, after reading it */
  for (size_t b = 0; b < 4; b++) {
    gz[n - 8 + b] ^= 0x10;
    snprintf(expect, sizeof expect,
             "%sE EDATA %zu corrupt gzip stream at compressed byte %zu: incorrect data check\n", records, n - 4, n - 4);
    assert_gzip_log(gz, n, cuts, GZIP_TRAILER_CUTS, expect, "bad CRC");
    gz[n - 8 + b] ^= 0x10;
  }
  /* a wrong ISIZE (bytes 4-7): found at the member's end */
  for (size_t b = 4; b < 8; b++) {
    gz[n - 8 + b] ^= 0x01;
    snprintf(expect, sizeof expect,
             "%sE EDATA %zu corrupt gzip stream at compressed byte %zu: incorrect length check\n", records, n, n);
    assert_gzip_log(gz, n, cuts, GZIP_TRAILER_CUTS, expect, "bad ISIZE");
    gz[n - 8 + b] ^= 0x01;
  }
  /* both wrong: the CRC-32 is read first */
  gz[n - 8] ^= 0x10;
  gz[n - 1] ^= 0x01;
  snprintf(expect, sizeof expect,
           "%sE EDATA %zu corrupt gzip stream at compressed byte %zu: incorrect data check\n", records, n - 4, n - 4);
  assert_gzip_log(gz, n, cuts, GZIP_TRAILER_CUTS, expect, "bad CRC and ISIZE");
  free(gz);
}

Test(frame, gzip_trailer_split_over_three_feeds)
{
  const char *in = "{\"a\":1}\n";
  size_t n;
  unsigned char *gz = tu_gzip(in, strlen(in), &n);
  gz[n - 6] ^= 0x80; /* CRC-32 byte 2 */
  char expect[160];
  snprintf(expect, sizeof expect,
           "R 0 0 {\"a\":1}\nE EDATA %zu corrupt gzip stream at compressed byte %zu: incorrect data check\n", n - 4,
           n - 4);
  sink_log l = {0};
  for (size_t i = n - 8; i <= n; i++)
    for (size_t j = i; j <= n; j++) {
      size_t cuts[2] = {i, j};
      log_reset(&l);
      cr_assert_eq(run_cuts(&l, NULL, gz, n, cuts, 2), CTR_EDATA, "cuts at %zu, %zu", i, j);
      cr_assert_str_eq(l.log.data, expect, "cuts at %zu, %zu", i, j);
    }
  ctr__buf_free(&l.log);
  free(gz);
}

Test(frame, gzip_bad_member_after_a_good_one)
{
  size_t n1, n2, n3;
  unsigned char *first = tu_gzip("{\"a\":1}\n", 8, &n1);
  unsigned char *empty = tu_gzip("", 0, &n2); /* a member that inflates to nothing */
  unsigned char *last = tu_gzip("{\"c\":3}\n", 8, &n3);
  size_t n = n1 + n2 + n3;
  unsigned char *all = malloc(n);
  memcpy(all, first, n1);
  memcpy(all + n1, empty, n2);
  memcpy(all + n1 + n2, last, n3);
  size_t cuts[GZIP_TRAILER_CUTS * 2];
  for (size_t k = 0; k < GZIP_TRAILER_CUTS; k++) { /* around the first and the last trailer */
    cuts[k] = n1 - 8 + k;
    cuts[GZIP_TRAILER_CUTS + k] = n - 8 + k;
  }
  const char *records = "R 0 0 {\"a\":1}\nR 1 8 {\"c\":3}\n";
  assert_gzip_log(all, n, cuts, GZIP_TRAILER_CUTS * 2, records, "three good members");
  assert_split_invariant(all, n, NULL, 1, "three good members");

  char expect[256];
  all[n - 7] ^= 0x04; /* the last member's CRC-32 */
  snprintf(expect, sizeof expect,
           "%sE EDATA %zu corrupt gzip stream at compressed byte %zu: incorrect data check\n", records, n - 4, n - 4);
  assert_gzip_log(all, n, cuts, GZIP_TRAILER_CUTS * 2, expect, "bad CRC in the last member");
  assert_split_invariant(all, n, NULL, 1, "bad CRC in the last member");
  all[n - 7] ^= 0x04;

  all[n1 + n2 - 4] ^= 0x01; /* the empty member's ISIZE: the last member is never read */
  snprintf(expect, sizeof expect,
           "R 0 0 {\"a\":1}\nE EDATA %zu corrupt gzip stream at compressed byte %zu: incorrect length check\n",
           n1 + n2, n1 + n2);
  assert_gzip_log(all, n, cuts, GZIP_TRAILER_CUTS * 2, expect, "bad ISIZE in the empty member");
  free(first);
  free(empty);
  free(last);
  free(all);
}

/* zlib still checks the header's own CRC-16 (FHCRC), though the trailer is
 * checked by the framer. */
Test(frame, gzip_header_crc_is_checked)
{
  gz_header header;
  memset(&header, 0, sizeof header);
  header.hcrc = 1;
  header.time = 1700000000;
  header.name = (Bytef *)"trail.json";
  size_t n;
  unsigned char *gz = tu_gzip_with_header("{\"a\":1}\n", 8, &header, &n);
  cr_assert(gz[3] & 0x02, "FHCRC set");
  size_t cuts[] = {10, 12, 21, 22, 23};
  assert_gzip_log(gz, n, cuts, sizeof cuts / sizeof cuts[0], "R 0 0 {\"a\":1}\n", "good header CRC");
  gz[4] ^= 0x01; /* MTIME */
  size_t hlen = 10 + sizeof "trail.json" + 2; /* fixed part, name and NUL, CRC-16 */
  char expect[160];
  snprintf(expect, sizeof expect, "E EDATA %zu corrupt gzip stream at compressed byte %zu: header crc mismatch\n",
           hlen, hlen);
  assert_gzip_log(gz, n, cuts, sizeof cuts / sizeof cuts[0], expect, "bad header CRC");

  /* the same in a second member, after one that was read unchecked */
  size_t n1;
  unsigned char *first = tu_gzip("{\"b\":2}\n", 8, &n1);
  unsigned char *both = malloc(n1 + n);
  memcpy(both, first, n1);
  memcpy(both + n1, gz, n);
  snprintf(expect, sizeof expect,
           "R 0 0 {\"b\":2}\nE EDATA %zu corrupt gzip stream at compressed byte %zu: header crc mismatch\n", n1 + hlen,
           n1 + hlen);
  size_t cuts2[] = {n1 - 1, n1, n1 + 4, n1 + hlen - 1};
  assert_gzip_log(both, n1 + n, cuts2, sizeof cuts2 / sizeof cuts2[0], expect, "bad header CRC, second member");
  free(first);
  free(both);
  free(gz);
}

/* The check covers the bytes inflated right up to the output limit. */
Test(frame, gzip_trailer_is_checked_at_the_output_limit)
{
  const char *in = "{\"a\":1}\n{\"b\":2}\n";
  size_t n;
  unsigned char *gz = tu_gzip(in, strlen(in), &n);
  gz[n - 8] ^= 0x01;
  ctr__frame_limits lim = limits(0, 0, strlen(in)); /* exactly the member's size */
  sink_log l = {0};
  for (size_t step = 0; step <= 1; step++) {
    cr_assert_eq(run(&l, &lim, gz, n, step), CTR_EDATA);
    cr_assert(strstr(l.log.data, "R 1 8 {\"b\":2}\nE EDATA"), "%s", l.log.data);
    cr_assert(strstr(l.log.data, ": incorrect data check\n"), "%s", l.log.data);
  }
  gz[n - 8] ^= 0x01;
  for (size_t step = 0; step <= 1; step++)
    cr_assert_eq(run(&l, &lim, gz, n, step), CTR_OK);
  ctr__buf_free(&l.log);
  free(gz);
}

/* ------------------------------------------------------------ control */

Test(frame, nonzero_record_return_stops_until_reset)
{
  const char *in = "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n";
  sink_log l = {0};
  log_reset(&l);
  l.stop_at = 2;
  l.stop_rc = 7;
  ctr__framer *f = new_framer(&l, NULL);
  cr_assert_eq(ctr__framer_feed(f, in, strlen(in)), 7);
  cr_assert_str_eq(l.log.data, "R 0 0 {\"a\":1}\nR 1 8 {\"b\":2}\n");
  cr_assert_eq(ctr__framer_feed(f, in, strlen(in)), 7);
  cr_assert_eq(ctr__framer_finish(f), 7);
  cr_assert_eq(l.records, 2);
  /* after reset: indexes and offsets restart */
  ctr__framer_reset(f);
  l.stop_at = 0;
  cr_assert_eq(ctr__framer_feed(f, in + 8, strlen(in) - 8), CTR_OK);
  cr_assert_eq(ctr__framer_finish(f), CTR_OK);
  cr_assert_str_eq(l.log.data, "R 0 0 {\"a\":1}\nR 1 8 {\"b\":2}\nR 0 0 {\"b\":2}\nR 1 8 {\"c\":3}\n");
  ctr__framer_free(f);

  /* a stop inside a gzip stream or a CloudWatch Logs payload is as prompt */
  size_t n;
  unsigned char *gz = tu_gzip(in, strlen(in), &n);
  log_reset(&l);
  l.stop_at = 1;
  l.stop_rc = 1;
  f = new_framer(&l, NULL);
  cr_assert_eq(ctr__framer_feed(f, gz, n), 1);
  cr_assert_eq(l.records, 1);
  ctr__framer_reset(f);
  l.stop_at = 0;
  cr_assert_eq(ctr__framer_feed(f, gz, n), CTR_OK);
  cr_assert_eq(ctr__framer_finish(f), CTR_OK);
  cr_assert_eq(l.records, 4);
  ctr__framer_free(f);
  free(gz);

  const char *cwl = "{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{\"message\":\"{}\"},{\"message\":\"{}\"}]}";
  log_reset(&l);
  l.stop_at = 1;
  l.stop_rc = 3;
  f = new_framer(&l, NULL);
  cr_assert_eq(ctr__framer_feed(f, cwl, strlen(cwl)), 3);
  cr_assert_eq(l.records, 1);
  ctr__framer_free(f);
  ctr__buf_free(&l.log);
}

Test(frame, reset_mid_stream_starts_afresh)
{
  const char *in = "{\"Records\":[{\"a\":1},{\"b\":\"x";
  sink_log l = {0};
  log_reset(&l);
  ctr__framer *f = new_framer(&l, NULL);
  cr_assert_eq(ctr__framer_feed(f, in, strlen(in)), CTR_OK);
  ctr__framer_reset(f);
  cr_assert_eq(ctr__framer_feed(f, "{\"c\":3}", 7), CTR_OK);
  cr_assert_eq(ctr__framer_finish(f), CTR_OK);
  cr_assert_str_eq(l.log.data, "R 0 12 {\"a\":1}\nR 0 0 {\"c\":3}\n");
  /* finish is idempotent; feeding after finish needs a reset */
  cr_assert_eq(ctr__framer_finish(f), CTR_OK);
  cr_assert_eq(ctr__framer_feed(f, "{}", 2), CTR_ESTATE);
  ctr__framer_reset(f);
  cr_assert_eq(ctr__framer_feed(f, "{}", 2), CTR_OK);
  /* a gzip stream after a plain one, and back */
  ctr__framer_reset(f);
  size_t n;
  unsigned char *gz = tu_gzip("{\"g\":1}", 7, &n);
  cr_assert_eq(ctr__framer_feed(f, gz, n / 2), CTR_OK);
  ctr__framer_reset(f);
  cr_assert_eq(ctr__framer_feed(f, gz, n), CTR_OK);
  cr_assert_eq(ctr__framer_finish(f), CTR_OK);
  ctr__framer_reset(f);
  cr_assert_eq(ctr__framer_feed(f, "{\"p\":1}", 7), CTR_OK);
  cr_assert_eq(ctr__framer_finish(f), CTR_OK);
  cr_assert(strstr(l.log.data, "R 0 0 {\"c\":3}\nR 0 0 {}\nR 0 0 {\"g\":1}\nR 0 0 {\"p\":1}\n"), "%s", l.log.data);
  ctr__framer_free(f);
  free(gz);
  ctr__buf_free(&l.log);
}

Test(frame, feeding_from_a_callback_is_refused)
{
  sink_log l = {0};
  log_reset(&l);
  ctr__framer *f = new_framer(&l, NULL);
  l.self = f;
  cr_assert_eq(ctr__framer_feed(f, "{\"a\":1}", 7), CTR_OK);
  cr_assert_eq(l.reentry_rc, CTR_EBUSY);
  cr_assert_eq(ctr__framer_finish(f), CTR_OK);
  cr_assert_eq(l.records, 1);
  ctr__framer_free(f);
  ctr__buf_free(&l.log);
}

Test(frame, bad_arguments)
{
  ctr__framer *f = NULL;
  cr_assert_eq(ctr__framer_new(NULL, &f), CTR_EINVAL);
  ctr__frame_sink empty = {0};
  cr_assert_eq(ctr__framer_new(&empty, NULL), CTR_EINVAL);
  /* a sink without callbacks is allowed */
  cr_assert_eq(ctr__framer_new(&empty, &f), CTR_OK);
  cr_assert_eq(ctr__framer_feed(f, NULL, 1), CTR_EINVAL);
  cr_assert_eq(ctr__framer_feed(f, NULL, 0), CTR_OK);
  cr_assert_eq(ctr__framer_feed(f, "{} x [1] {", 10), CTR_OK);
  cr_assert_eq(ctr__framer_finish(f), CTR_OK);
  ctr__framer_free(f);
  ctr__framer_free(NULL);
  cr_assert_eq(ctr__framer_feed(NULL, "", 0), CTR_EINVAL);
  cr_assert_eq(ctr__framer_finish(NULL), CTR_EINVAL);
  ctr__framer_reset(NULL);
  ctr__framer_set_limits(NULL, NULL);
  ctr__frame_limits d;
  ctr__frame_limits_default(&d);
  cr_assert_eq(d.max_record_bytes, 16u << 20);
  cr_assert_eq(d.max_depth, 64);
  cr_assert_eq(d.max_gzip_output, (uint64_t)64 << 30);
}

/* ------------------------------------------------------------ real data */

/* Every record equals the matching line of records.ndjson, byte for byte. */
static void assert_records_match_lines(const char *log, const char *ndjson, uint64_t first_offset, uint64_t gap)
{
  const char *lp = log, *np = ndjson;
  uint64_t offset = first_offset;
  for (unsigned i = 0; *np; i++) {
    const char *nl = strchr(np, '\n');
    size_t n = (size_t)(nl - np);
    char head[64];
    int h = snprintf(head, sizeof head, "R %u %llu ", i, (unsigned long long)offset);
    cr_assert(strncmp(lp, head, (size_t)h) == 0, "record %u: %.80s", i, lp);
    cr_assert(memcmp(lp + h, np, n) == 0 && lp[h + (int)n] == '\n', "record %u differs", i);
    lp += h + (int)n + 1;
    offset += n + gap;
    np = nl + 1;
  }
  cr_assert_eq(*lp, '\0');
}

Test(frame, real_records_ndjson)
{
  size_t len;
  char *data = tu_read(tu_shared("records.ndjson"), &len);
  sink_log l = {0};
  cr_assert_eq(run(&l, NULL, data, len, 0), CTR_OK);
  cr_assert_eq(l.records, 1163);
  cr_assert_eq(l.bad + l.skipped + l.errors, 0);
  cr_assert_eq(l.zero_copy, 1163);
  cr_assert_gt(l.walked, 1100, "walked %zu", l.walked); /* a few hold \u escapes: byte by byte */
  assert_records_match_lines(l.log.data, data, 0, 1);
  /* in 64, 32 and 4 KiB reads, as a file reader would; at 64 and 32 KiB
   * every record a read cuts is held and walked whole once the next read
   * completes it, but one with a \u escape (the walk leaves those to the
   * byte path) or cut inside its first key, whatever that key: one longer
   * than any envelope's or log file's ("additionalEventData") once took
   * the byte path */
  static const size_t reads[] = {65536, 32768, 4096};
  for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
    cr_assert_eq(run(&l, NULL, data, len, reads[i]), CTR_OK);
    assert_records_match_lines(l.log.data, data, 0, 1);
    size_t cut = 0, long_first_key = 0;
    for (size_t at = reads[i]; at < len; at += reads[i]) {
      if (data[at - 1] == '\n')
        continue; /* between records */
      const char *start = data + at, *stop = memchr(data + at, '\n', len - at);
      while (start > data && start[-1] != '\n')
        start--;
      bool escaped = false;
      for (const char *c = start; c + 1 < stop; c++)
        escaped |= c[0] == '\\' && c[1] == 'u';
      size_t key_len = strcspn(start + 2, "\"");
      if (escaped || (size_t)(data + at - start) <= 2 + key_len)
        continue; /* the walk's to refuse; or cut in its first key, which may yet be "Records": the byte path's */
      cut++;
      long_first_key += key_len > 15;
    }
    if (reads[i] >= 32768) {
      cr_assert_eq(l.from_hold, cut, "%zu-byte reads: %zu records completed from a hold, %zu cut", reads[i],
                   l.from_hold, cut);
      cr_assert_gt(long_first_key, 0, "no cut record's first key is long: the case is not tried");
    }
  }
  ctr__buf_free(&l.log);
  free(data);
}

Test(frame, real_records_json_gz)
{
  size_t len, nlen;
  char *gz = tu_read(tu_shared("records.json.gz"), &len);
  char *ndjson = tu_read(tu_shared("records.ndjson"), &nlen);
  sink_log l = {0};
  cr_assert_eq(run(&l, NULL, gz, len, 0), CTR_OK);
  cr_assert_eq(l.records, 1163);
  cr_assert_eq(l.bad + l.skipped + l.errors, 0);
  /* {"Records":[ is 12 bytes; records are separated by one comma */
  assert_records_match_lines(l.log.data, ndjson, 12, 1);
  char *ref = strdup(l.log.data);
  /* fed one byte at a time, and at a spread of split points */
  cr_assert_eq(run(&l, NULL, gz, len, 1), CTR_OK);
  cr_assert_str_eq(l.log.data, ref);
  for (size_t cut = 1; cut < len; cut += len / 37) {
    log_reset(&l);
    cr_assert_eq(run_cuts(&l, NULL, gz, len, &cut, 1), CTR_OK);
    cr_assert_str_eq(l.log.data, ref, "split at %zu", cut);
  }
  free(ref);
  ctr__buf_free(&l.log);
  free(gz);
  free(ndjson);
}

Test(frame, real_partial_records)
{
  size_t len;
  char *data = tu_read(tu_shared("partial.ndjson"), &len);
  sink_log l = {0};
  cr_assert_eq(run(&l, NULL, data, len, 0), CTR_OK);
  cr_assert_eq(l.records, 155);
  cr_assert_eq(l.bad + l.skipped + l.errors, 0, "%s", l.log.data);
  assert_records_match_lines(l.log.data, data, 0, 1);
  ctr__buf_free(&l.log);
  free(data);
}

/* Records in a log whose text starts with `prefix`. */
static size_t count_records_starting(const char *log, const char *prefix)
{
  size_t n = 0;
  for (const char *p = log; *p;) {
    const char *nl = strchr(p, '\n');
    const char *sp = p[0] == 'R' ? strchr(strchr(p + 2, ' ') + 1, ' ') + 1 : NULL;
    if (sp && strncmp(sp, prefix, strlen(prefix)) == 0)
      n++;
    p = nl + 1;
  }
  return n;
}

Test(frame, real_envelopes)
{
  static const struct {
    const char *kind;
    size_t records, skipped;
  } expect[] = {
    {"cloudtrail_log_file", 61, 0},         /* 49 log files, their Records elements */
    {"cloudtrail_sns_log_delivery", 1, 0},  /* not a known envelope: passed on */
    {"cwl_subscription_decoded", 211, 2},   /* every message of 34 DATA_MESSAGEs; 2 control messages */
    {"cwl_subscription_lambda", 4, 0},      /* base64 payloads are not decoded: passed on */
    {"eventbridge_cloudtrail_api_call", 2, 0},
    {"eventbridge_s3_object_event", 0, 6},
    {"lambda_sns_event", 7, 0},             /* {"Records":[...]} of SNS messages: one each */
    {"lambda_sqs_event", 9, 0},
    {"s3_event_notification", 12, 0},
    {"s3_test_event", 1, 0},
    {"sns_notification", 11, 0},
    {"sqs_record", 8, 0},
  };
  sink_log l = {0};
  for (size_t k = 0; k < CTR__COUNTOF(expect); k++) {
    char name[128];
    snprintf(name, sizeof name, "envelopes/%s.ndjson", expect[k].kind);
    size_t len;
    char *data = tu_read(tu_shared(name), &len);
    cr_assert_eq(run(&l, NULL, data, len, 0), CTR_OK, "%s", expect[k].kind);
    cr_assert_eq(l.records, expect[k].records, "%s: %zu records", expect[k].kind, l.records);
    cr_assert_eq(l.skipped, expect[k].skipped, "%s: %zu skipped", expect[k].kind, l.skipped);
    cr_assert_eq(l.bad + l.errors, 0, "%s: %s", expect[k].kind, l.log.data);
    /* and the same fed one byte at a time */
    char *ref = strdup(l.log.data);
    cr_assert_eq(run(&l, NULL, data, len, 1), CTR_OK);
    cr_assert_str_eq(l.log.data, ref, "%s", expect[k].kind);
    free(ref);
    free(data);
  }

  size_t len;
  char *data = tu_read(tu_shared("envelopes/eventbridge_cloudtrail_api_call.ndjson"), &len);
  run(&l, NULL, data, len, 0);
  /* the details, parsed: the two EC2 image calls */
  const char *eb = l.log.data;
  for (int i = 0; i < 2; i++) {
    const char *rec = strchr(strchr(eb + 2, ' ') + 1, ' ') + 1;
    const char *nl = strchr(rec, '\n');
    json_t *j = json_loadb(rec, (size_t)(nl - rec), 0, NULL);
    cr_assert(json_is_object(j));
    cr_assert_str_eq(json_string_value(json_object_get(j, "eventName")), i == 0 ? "CreateImage" : "ModifyImageAttribute");
    cr_assert_str_eq(json_string_value(json_object_get(j, "eventSource")), "ec2.amazonaws.com");
    json_decref(j);
    eb = nl + 1;
  }
  free(data);

  data = tu_read(tu_shared("envelopes/cwl_subscription_decoded.ndjson"), &len);
  run(&l, NULL, data, len, 0);
  /* 10 of the messages are CloudTrail records (the others are other logs) */
  cr_assert_eq(count_records_starting(l.log.data, "{\"eventVersion\":\"1.0"), 8);
  cr_assert_eq(count_records_starting(l.log.data, "{\"eventVersion\": \"foo\""), 2);
  cr_assert(strstr(l.log.data, "S 0 CloudWatch Logs control message\n") ||
            strstr(l.log.data, " CloudWatch Logs control message\n"));
  free(data);

  data = tu_read(tu_shared("envelopes/s3_test_event.ndjson"), &len);
  run(&l, NULL, data, len, 0);
  const char *s3 = "R 0 0 {\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\",";
  cr_assert(strncmp(l.log.data, s3, strlen(s3)) == 0, "%s", l.log.data);
  free(data);
  ctr__buf_free(&l.log);
}

/* ------------------------------------------------------------ chunking */

Test(frame, every_split_of_an_ndjson_sample)
{
  size_t len;
  char *sample = ndjson_sample(5000, &len);
  assert_split_invariant(sample, len, NULL, 1, "ndjson sample");
  /* the same under tight limits, so limit verdicts meet chunk ends too */
  ctr__frame_limits lim = limits(900, 4, 0);
  assert_split_invariant(sample, len, &lim, 1, "ndjson sample, tight limits");
  free(sample);
}

Test(frame, every_split_of_a_log_file_sample)
{
  size_t len, flen;
  char *sample = ndjson_sample(5000, &len);
  char *file = as_log_file(sample, &flen);
  sink_log l = {0};
  cr_assert_eq(run(&l, NULL, file, flen, 0), CTR_OK);
  assert_records_match_lines(l.log.data, sample, 12, 1);
  assert_split_invariant(file, flen, NULL, 1, "log file sample");
  size_t n;
  unsigned char *gz = tu_gzip(file, flen, &n);
  assert_split_invariant(gz, n, NULL, 1, "gzip log file sample");
  ctr__frame_limits lim = limits(900, 4, 3000);
  assert_split_invariant(gz, n, &lim, 1, "gzip log file sample, tight limits");
  free(gz);
  free(file);
  free(sample);
  ctr__buf_free(&l.log);
}

Test(frame, every_split_of_mixed_and_bad_input)
{
  const char *in =
    "\xEF\xBB\xBF{\"a\":\"}{\\\"\"}\nxyz\n[{\"b\":1},2,\"s\",[{}],{\"c\":[1,{\"d\":\"\\\\\"}]}]\n"
    "{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{\"e\":1}}\n"
    "{\"detail-type\":\"Object Created\",\"detail\":{}}\n"
    "{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{\"message\":\"{\\\"f\\\":1}\"},{}]}\n"
    "{\"digestStartTime\":\"x\",\"logFiles\":[]}\n"
    "{\"pad\":\"" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "\","
    "\"Records\":[{\"g\":[[[[[1]]]]]},{\"h\":\"" "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" "\"},7,{\"i\":1}],"
    "\"tail\":{\"Records\":[{}]}}\n"
    "{\"R\\u0065cords\":[{\"j\":1}]}\n"
    "{\"k\":\"unterminated";
  ctr__frame_limits lim = limits(80, 4, 0);
  sink_log l = {0};
  run(&l, &lim, in, strlen(in), 0);
  cr_assert_str_eq(l.log.data, "R 0 3 {\"a\":\"}{\\\"\"}\n"
                               "B 1 16 EDATA expected a JSON object or array, found 'x'\n"
                               "R 2 21 {\"b\":1}\n"
                               "B 3 29 EDATA record is not a JSON object\n"
                               "B 4 31 EDATA record is not a JSON object\n"
                               "B 5 35 EDATA record is not a JSON object\n"
                               "R 6 40 {\"c\":[1,{\"d\":\"\\\\\"}]}\n"
                               "R 7 116 {\"e\":1}\n"
                               "S 125 EventBridge event 'Object Created' does not carry a CloudTrail record\n"
                               "R 8 170 {\"f\":1}\n"
                               "B 9 170 EDATA CloudWatch Logs logEvents[1] has no string message\n"
                               "S 242 CloudTrail digest file\n"
                               "B 10 381 ELIMIT JSON nesting deeper than 4\n"
                               "B 11 399 ELIMIT record exceeds the limit of 80 bytes\n"
                               "B 12 488 EDATA record is not a JSON object\n"
                               "R 13 490 {\"i\":1}\n"
                               "R 14 524 {\"R\\u0065cords\":[{\"j\":1}]}\n"
                               "B 15 551 EDATA truncated record: input ended inside a JSON string\n");
  assert_split_invariant(in, strlen(in), &lim, 1, "mixed input");
  size_t n;
  unsigned char *gz = tu_gzip(in, strlen(in), &n);
  assert_split_invariant(gz, n, &lim, 1, "gzip mixed input");
  free(gz);
  ctr__buf_free(&l.log);
}

/* Random bytes from a JSON-ish alphabet, framed whole and in random chunks:
 * never a crash, always the same callbacks. */
Test(frame, random_input_any_chunking)
{
  static const char alphabet[] = "{}[]\"\\:, \n{}\"ab1\xEF\xBB\xBF\x1f\x8b";
  unsigned seed = 12345;
  char buf[400];
  sink_log ref = {0}, l = {0};
  ctr__frame_limits lim = limits(60, 5, 0);
  for (int round = 0; round < 3000; round++) {
    size_t len = 1 + (size_t)(rand_r(&seed) % (int)sizeof buf);
    for (size_t i = 0; i < len; i++)
      buf[i] = alphabet[rand_r(&seed) % (int)(sizeof alphabet - 1)];
    if (round % 3 == 0)
      buf[0] = '{';
    int rc = run(&ref, &lim, buf, len, 0);
    size_t cuts[8];
    size_t ncuts = (size_t)(rand_r(&seed) % 8);
    for (size_t i = 0; i < ncuts; i++)
      cuts[i] = (size_t)rand_r(&seed) % (len + 1);
    for (size_t i = 1; i < ncuts; i++) /* insertion sort */
      for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
        size_t t = cuts[j];
        cuts[j] = cuts[j - 1];
        cuts[j - 1] = t;
      }
    log_reset(&l);
    cr_assert_eq(run_cuts(&l, &lim, buf, len, cuts, ncuts), rc);
    cr_assert_str_eq(l.log.data, ref.log.data, "round %d", round);
  }
  ctr__buf_free(&ref.log);
  ctr__buf_free(&l.log);
}

Test(frame, one_byte_feeding_of_the_real_files)
{
  const char *files[] = {"records.ndjson", "partial.ndjson", "envelopes/cloudtrail_log_file.ndjson"};
  sink_log ref = {0}, l = {0};
  for (size_t i = 0; i < CTR__COUNTOF(files); i++) {
    size_t len;
    char *data = tu_read(tu_shared(files[i]), &len);
    cr_assert_eq(run(&ref, NULL, data, len, 0), CTR_OK);
    cr_assert_eq(run(&l, NULL, data, len, 1), CTR_OK);
    cr_assert_eq(l.zero_copy, 0);
    cr_assert_str_eq(l.log.data, ref.log.data, "%s", files[i]);
    cr_assert_eq(run(&l, NULL, data, len, 4093), CTR_OK);
    cr_assert_str_eq(l.log.data, ref.log.data, "%s", files[i]);
    free(data);
  }
  ctr__buf_free(&ref.log);
  ctr__buf_free(&l.log);
}

/* A record a chunk's end cuts is held and completed by the next chunk's
 * first bytes for one walk (hold_record, resume_held); whatever the walk
 * cannot vouch for goes back to the byte path (release). Every way out of
 * a hold must frame what the byte path frames alone: the same records,
 * reports and offsets, whatever the chunking. The streams hold each case:
 * records walked on the 4, 8 and 16 KiB tries, one longer than any hold,
 * records the walk refuses on their own line and inside a one-line log
 * file, a value a refused record's try cuts and that breaks past it, a
 * value broken lines later, a raw newline in a string, a record the input
 * ends inside. Fed in chunks of many sizes, in three pieces with a small
 * middle one (too small to complete a hold), under tight limits, gzipped. */
/* run_cuts, with the log's length after each feed in marks[0..ncuts]. */
static int run_marked(sink_log *l, const ctr__frame_limits *lim, const void *data, size_t len, const size_t *cuts,
                      size_t ncuts, size_t *marks)
{
  log_reset(l);
  ctr__framer *f = new_framer(l, lim);
  const char *p = data;
  size_t at = 0;
  int rc = CTR_OK;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t to = i < ncuts ? cuts[i] : len;
    if (rc == CTR_OK)
      rc = ctr__framer_feed(f, p + at, to - at);
    marks[i] = l->log.len;
    at = to;
  }
  if (rc == CTR_OK)
    rc = ctr__framer_finish(f);
  ctr__framer_free(f);
  return rc;
}

/* The same cuts framed with holds and by the byte path alone: the same log,
 * and by the end of every feed the same records. A hold delays no record:
 * it holds a value that has neither closed nor broken on the chunk's last
 * line, and the byte path frames nothing after such a value in the chunk.
 * Only its report, if a grammar error breaks it there, comes with the next
 * feed (docs/input-formats.md). */
static void assert_holds_delay_nothing(const void *data, size_t len, const ctr__frame_limits *lim, const size_t *cuts,
                                       size_t ncuts, const char *what)
{
  sink_log byte_path = {0}, held = {0};
  size_t *m1 = calloc(ncuts + 1, sizeof *m1), *m2 = calloc(ncuts + 1, sizeof *m2);
  cr_assert(m1 && m2);
  ctr__frame_no_hold = true;
  int rc1 = run_marked(&byte_path, lim, data, len, cuts, ncuts, m1);
  ctr__frame_no_hold = false;
  int rc2 = run_marked(&held, lim, data, len, cuts, ncuts, m2);
  cr_assert(rc1 == rc2 && strcmp(byte_path.log.data, held.log.data) == 0, "%s: the logs differ:\n%s\nbyte path:\n%s",
            what, held.log.data, byte_path.log.data);
  for (size_t i = 0; i <= ncuts; i++) {
    cr_assert(m2[i] <= m1[i], "%s: after feed %zu, more log with holds than by the byte path", what, i);
    for (size_t at = m2[i]; at < m1[i]; at = (size_t)(strchr(byte_path.log.data + at, '\n') - byte_path.log.data) + 1)
      cr_assert(byte_path.log.data[at] == 'B', "%s: after feed %zu, a hold delays\n%.*s", what, i,
                (int)(m1[i] - m2[i]), byte_path.log.data + m2[i]);
  }
  free(m1);
  free(m2);
  ctr__buf_free(&byte_path.log);
  ctr__buf_free(&held.log);
}

Test(frame, held_records_frame_as_the_byte_path_does)
{
  size_t sample_len;
  char *sample = ndjson_sample(6000, &sample_len);
  const char *pad = "\"pad\":\"0123456789012345678901234567890123456789\"";
  ctr__buf s = {0}, huge = {0};
  ctr__buf_append(&s, sample, sample_len);
  ctr__buf_append_str(&s, "{\"eventName\":\"Big\",\"v\":\"");
  for (int i = 0; i < 10000; i++)
    ctr__buf_append_char(&s, (char)('a' + i % 26));
  ctr__buf_append_str(&s, "\"}\n");
  ctr__buf_append(&s, sample, 1500 < sample_len ? 1500 : sample_len);
  ctr__buf_printf(&s, "{\"a\":1,\"a\":2,\"eventName\":\"Dup\",%s}\n", pad);
  ctr__buf_printf(&s, "{\"\\u0061\":1,\"eventName\":\"Esc\",%s}\n", pad);
  ctr__buf_append_str(&s, "{\"a\":\"cut");
  for (int i = 0; i < 5000; i++)
    ctr__buf_append_char(&s, 'c');
  /* records the walk refuses (a repeated eventName) amid others on one line */
  ctr__buf_printf(&s, "\n{\"Records\":[{\"eventName\":\"In1\",%s},{\"eventName\":\"B\",\"eventName\":\"C\",%s},"
                  "{\"eventName\":\"In2\",%s}]}\n", pad, pad, pad);
  ctr__buf_printf(&s, "[{\"eventName\":\"A1\",%s},{\"eventName\":\"D\",\"eventName\":\"E\",%s},{\"eventName\":\"A2\",%s},"
                  "{\"\\u0061\":1,%s},{\"eventName\":\"A3\",%s},{\"x\":1 y,%s}]\n", pad, pad, pad, pad, pad, pad);
  ctr__buf_printf(&s, "{\"a\":\n{\"eventName\":\"AfterBroken\",%s}\n", pad);
  ctr__buf_printf(&s, "{\"a\":\"cut\n{\"eventName\":\"AfterCut\",%s}\n", pad);
  ctr__buf_append(&s, sample, sample_len);
  /* The same with a record longer than any hold (HELD_MAX) in the middle. */
  ctr__buf_append(&huge, s.data, s.len);
  ctr__buf_append_str(&huge, "{\"eventName\":\"Huge\",\"v\":[");
  for (int i = 0; i < 40000; i++)
    ctr__buf_append_str(&huge, i ? ",\"1234\"" : "\"1234\"");
  ctr__buf_append_str(&huge, "]}\n");
  ctr__buf_append(&huge, s.data, s.len);
  const char *truncated = "{\"eventName\":\"Truncated\",\"x\":\"01234567890123456789";
  ctr__buf_append_str(&s, truncated);
  ctr__buf_append_str(&huge, truncated);
  const ctr__buf *streams[] = {&s, &huge};
  const size_t chunks[] = {1, 3, 7, 64, 100, 999, 4095, 4096, 5000, 32768, 65536};
  ctr__frame_limits tight = limits(900, 4, 0);
  const ctr__frame_limits *lims[] = {NULL, &tight};
  sink_log ref = {0}, l = {0};
  for (size_t k = 0; k < CTR__COUNTOF(lims); k++) {
    for (size_t i = 0; i < CTR__COUNTOF(streams); i++) {
      const ctr__buf *in = streams[i];
      int ref_rc = run(&ref, lims[k], in->data, in->len, 0);
      if (!lims[k])
        cr_assert(strstr(ref.log.data, "\"Big\"") && strstr(ref.log.data, "AfterCut") && strstr(ref.log.data, "In2") &&
                      strstr(ref.log.data, "A3") && (i == 0 || strstr(ref.log.data, "\"Huge\"")),
                  "the reference frames the stream's records:\n%s", ref.log.data);
      size_t gz_len;
      unsigned char *gz = tu_gzip(in->data, in->len, &gz_len);
      for (size_t c = 0; c < CTR__COUNTOF(chunks); c++) {
        if (i == 1 && chunks[c] < 64)
          continue; /* the long stream byte by byte: slow, and nothing more */
        int rc = run(&l, lims[k], in->data, in->len, chunks[c]);
        cr_assert(rc == ref_rc && strcmp(l.log.data, ref.log.data) == 0, "stream %zu, limits %zu, chunks of %zu:\n%s", i,
                  k, chunks[c], l.log.data);
        if (chunks[c] >= 64) {
          size_t ncuts = (in->len - 1) / chunks[c], *cuts = malloc((ncuts + 1) * sizeof *cuts);
          cr_assert_not_null(cuts);
          for (size_t j = 0; j < ncuts; j++)
            cuts[j] = (j + 1) * chunks[c];
          char what[64];
          snprintf(what, sizeof what, "stream %zu, limits %zu, chunks of %zu", i, k, chunks[c]);
          assert_holds_delay_nothing(in->data, in->len, lims[k], cuts, ncuts, what);
          free(cuts);
        }
        rc = run(&l, lims[k], gz, gz_len, chunks[c]);
        cr_assert(rc == ref_rc && strcmp(l.log.data, ref.log.data) == 0, "gzip stream %zu, limits %zu, chunks of %zu",
                  i, k, chunks[c]);
      }
      free(gz);
      if (i == 1)
        continue;
      /* Three pieces: a hold at `at`, a middle piece of `mid` bytes, the rest. */
      const size_t mids[] = {1, 8, 512, 4097};
      for (size_t at = 1; at < in->len; at += 53) {
        for (size_t j = 0; j < CTR__COUNTOF(mids); j++) {
          size_t mid = mids[j];
          size_t cuts[2] = {at, at + mid < in->len ? at + mid : in->len};
          log_reset(&l);
          int rc = run_cuts(&l, lims[k], in->data, in->len, cuts, 2);
          cr_assert(rc == ref_rc && strcmp(l.log.data, ref.log.data) == 0, "limits %zu, cut at %zu and %zu", k,
                    cuts[0], cuts[1]);
          char what[64];
          snprintf(what, sizeof what, "limits %zu, cut at %zu and %zu", k, cuts[0], cuts[1]);
          assert_holds_delay_nothing(in->data, in->len, lims[k], cuts, 2, what);
        }
      }
    }
  }
  free(sample);
  ctr__buf_free(&s);
  ctr__buf_free(&huge);
  ctr__buf_free(&ref.log);
  ctr__buf_free(&l.log);
}

/* ------------------------------------------------------------ gzip quirks */

/* Zero padding after a complete member is skipped and told once, wherever
 * the chunks end; a member after it is read. */
Test(frame, gzip_trailing_zero_padding_is_skipped)
{
  const char *rec = "{\"a\":1}\n{\"b\":2}\n";
  size_t n1;
  unsigned char *m = tu_gzip(rec, strlen(rec), &n1);
  unsigned char *in = calloc(1, 2 * n1 + 1024);
  memcpy(in, m, n1);
  size_t len = n1 + 512; /* 512 zero bytes, as a tar block pads */
  sink_log l = {0};
  cr_assert_eq(run(&l, NULL, in, len, 0), CTR_OK);
  cr_assert_str_eq(l.log.data, "R 0 0 {\"a\":1}\nR 1 8 {\"b\":2}\nS 16 512 bytes of zero padding after a gzip member, skipped\n");
  assert_split_invariant(in, len, NULL, 7, "padded gzip");
  /* padding between two members */
  memcpy(in + len, m, n1);
  len += n1;
  cr_assert_eq(run(&l, NULL, in, len, 0), CTR_OK);
  cr_assert_str_eq(l.log.data, "R 0 0 {\"a\":1}\nR 1 8 {\"b\":2}\nS 16 512 bytes of zero padding after a gzip member, skipped\n"
                               "R 2 16 {\"a\":1}\nR 3 24 {\"b\":2}\n");
  assert_split_invariant(in, len, NULL, 11, "padding between members");
  /* anything else after a member is still a corrupt stream */
  in[n1 + 100] = 'x';
  cr_assert_eq(run(&l, NULL, in, n1 + 200, 0), CTR_EDATA);
  cr_assert(strstr(l.log.data, "corrupt gzip stream"), "%s", l.log.data);
  ctr__buf_free(&l.log);
  free(in);
  free(m);
}

/* A member whose deflate data and trailer come in one feed is inflated whole
 * by libdeflate; fed in pieces it is inflated by zlib. The two must not be
 * told apart: the same records, offsets, reports and errors, with the
 * members, padding, nesting, limits, stops and corruption of real files. */
static void assert_whole_reads_as_zlib(const unsigned char *gz, size_t len, const ctr__frame_limits *lim,
                                       uint64_t want_whole, const char *what)
{
  sink_log whole = {0}, l = {0};
  int rc = run(&whole, lim, gz, len, 0);
  cr_assert_eq(whole.whole, want_whole, "%s: %llu members inflated whole, expected %llu", what,
               (unsigned long long)whole.whole, (unsigned long long)want_whole);
  size_t steps[] = {1, 61, 4093};
  for (size_t i = 0; i < CTR__COUNTOF(steps); i++) {
    if (steps[i] == 1 && len > 20000)
      continue; /* byte by byte only for the small inputs: minutes otherwise */
    cr_assert_eq(run(&l, lim, gz, len, steps[i]), rc, "%s, step %zu", what, steps[i]);
    cr_assert_str_eq(l.log.data, whole.log.data, "%s, step %zu", what, steps[i]);
  }
  ctr__buf_free(&whole.log);
  ctr__buf_free(&l.log);
}

static unsigned char *concat3(const void *a, size_t na, const void *b, size_t nb, const void *c, size_t nc, size_t *n)
{
  unsigned char *all = malloc(na + nb + nc);
  memcpy(all, a, na);
  memcpy(all + na, b, nb);
  memcpy(all + na + nb, c, nc);
  *n = na + nb + nc;
  return all;
}

Test(frame, gzip_members_inflated_whole_read_as_zlib)
{
  size_t rlen, glen, slen;
  char *real = tu_read(tu_shared("records.ndjson"), &rlen);
  unsigned char *gz = tu_gzip(real, rlen, &glen);
  assert_whole_reads_as_zlib(gz, glen, NULL, 1, "the real records, one member");
  /* the shared log file, gzipped by its publisher */
  char *shared = tu_read(tu_shared("records.json.gz"), &slen);
  assert_whole_reads_as_zlib((unsigned char *)shared, slen, NULL, 1, "records.json.gz");

  /* three members (the last one's ISIZE is read for all: the first two are
   * inflated by zlib unless it covers them), padding between them */
  const char *small = "{\"eventName\":\"a\"}\n{\"eventName\":\"b\"}\n";
  size_t n1, n;
  unsigned char *m = tu_gzip(small, strlen(small), &n1);
  unsigned char *pad = calloc(1, 100);
  unsigned char *three = concat3(m, n1, pad, 100, gz, glen, &n);
  assert_whole_reads_as_zlib(three, n, NULL, 2, "small member, padding, large member");
  free(three);
  three = concat3(gz, glen, m, n1, pad, 100, &n);
  assert_whole_reads_as_zlib(three, n, NULL, 0, "large member, small member, padding");
  free(three);

  /* gzip inside gzip: the outer member is whole in the feed, and so is the
   * inner one in the outer's output */
  size_t nested_len;
  unsigned char *nested = tu_gzip(gz, glen, &nested_len);
  assert_whole_reads_as_zlib(nested, nested_len, NULL, 2, "nested gzip");
  free(nested);

  /* the output limit below, at and above the member's size: libdeflate only
   * when it cannot be hit */
  for (int d = -1; d <= 1; d++) {
    ctr__frame_limits lim = limits(0, 0, (uint64_t)((int64_t)rlen + d));
    assert_whole_reads_as_zlib(gz, glen, &lim, d < 0 ? 0 : 1, "output limit around the member's size");
  }

  /* members past gzip_ratio's floor, expanding far beyond the ratio: the
   * member whose output would reach a check is left to zlib, and the verdict
   * comes where it always does */
  enum { LINE = 1000, LINES = 100, MEMBERS = 200 };
  char *text = malloc(LINE * LINES);
  for (size_t i = 0; i < LINES; i++) {
    char *line = text + i * LINE;
    memset(line, 'x', LINE);
    memcpy(line, "{\"a\":\"", 6);
    memcpy(line + LINE - 3, "\"}\n", 3);
  }
  size_t mlen;
  unsigned char *member = tu_gzip(text, LINE * LINES, &mlen);
  unsigned char *many = malloc(mlen * MEMBERS);
  for (size_t i = 0; i < MEMBERS; i++)
    memcpy(many + i * mlen, member, mlen);
  assert_whole_reads_as_zlib(many, mlen * MEMBERS, NULL, (GZ_RATIO_FLOOR - 1) / (LINE * LINES),
                             "members past the ratio floor");
  sink_log rl = {0};
  cr_assert_eq(run(&rl, NULL, many, mlen * MEMBERS, 0), CTR_ELIMIT);
  cr_assert(strstr(rl.log.data, "(limit gzip_ratio)"), "%s", rl.log.data + rl.log.len - 200);
  ctr__buf_free(&rl.log);
  free(many);
  free(member);
  free(text);

  /* a stop from the sink in the middle of the whole member's output */
  sink_log whole = {0}, l = {0};
  log_reset(&whole);
  whole.stop_at = 500;
  whole.stop_rc = 9;
  cr_assert_eq(run_cuts(&whole, NULL, gz, glen, NULL, 0), 9);
  cr_assert_eq(whole.whole, 1);
  cr_assert_eq(whole.records, 500);
  log_reset(&l);
  l.stop_at = 500;
  l.stop_rc = 9;
  size_t cuts[] = {100, 2000, 9000};
  cr_assert_eq(run_cuts(&l, NULL, gz, glen, cuts, CTR__COUNTOF(cuts)), 9);
  cr_assert_str_eq(l.log.data, whole.log.data);
  ctr__buf_free(&whole.log);
  ctr__buf_free(&l.log);

  /* corrupt deflate data and trailers: libdeflate refuses or the trailer
   * disagrees, and zlib reads the member and words the error as before */
  unsigned char *bad = malloc(glen);
  for (size_t at = 10; at < glen; at += glen / 23 + 1) {
    memcpy(bad, gz, glen);
    bad[at] ^= 0x5A;
    sink_log z = {0};
    int zrc = run(&z, NULL, bad, glen, 4093);
    cr_assert(zrc == CTR_EDATA || zrc == CTR_OK, "byte %zu", at);
    assert_whole_reads_as_zlib(bad, glen, NULL, zrc == CTR_OK ? 1 : 0, "a corrupt byte");
    ctr__buf_free(&z.log);
  }
  for (size_t at = glen - 8; at < glen; at++) {
    memcpy(bad, gz, glen);
    bad[at] ^= 0x01;
    assert_whole_reads_as_zlib(bad, glen, NULL, 0, "a corrupt trailer");
  }
  free(bad);
  free(pad);
  free(m);
  free(shared);
  free(gz);
  free(real);
}

/* gzip inside gzip (a pipeline that compresses again) is inflated by a
 * second layer, its members and padding as at the first; a third level is
 * told as such, never framed as garbage JSON. */
Test(frame, nested_gzip_is_decompressed)
{
  const char *rec = "{\"a\":1}\n{\"b\":2}\n";
  size_t n1, n2, n3;
  unsigned char *inner = tu_gzip(rec, strlen(rec), &n1);
  /* two inner members and zero padding, all compressed again */
  unsigned char *two = calloc(1, 2 * n1 + 64);
  memcpy(two, inner, n1);
  memcpy(two + n1, inner, n1);
  size_t twolen = 2 * n1 + 64;
  unsigned char *outer = tu_gzip(two, twolen, &n2);
  sink_log l = {0};
  cr_assert_eq(run(&l, NULL, outer, n2, 0), CTR_OK);
  cr_assert_str_eq(l.log.data, "R 0 0 {\"a\":1}\nR 1 8 {\"b\":2}\nR 2 16 {\"a\":1}\nR 3 24 {\"b\":2}\n"
                               "S 32 64 bytes of zero padding after a nested gzip member, skipped\n");
  assert_split_invariant(outer, n2, NULL, 3, "gzip inside gzip");
  /* the limits count what is framed */
  ctr__frame_limits lim = limits(0, 0, 20);
  cr_assert_eq(run(&l, &lim, outer, n2, 0), CTR_ELIMIT);
  for (size_t chunk = 0; chunk < 6; chunk++) {
    cr_assert_eq(run(&l, &lim, outer, n2, chunk), CTR_ELIMIT);
    cr_assert_str_eq(l.log.data, "R 0 0 {\"a\":1}\nR 1 8 {\"b\":2}\nE ELIMIT 10 gzip expands beyond the limit of 20 bytes\n");
  }
  /* a corrupt nested member: the same report in every chunking (found by
   * fuzz_scanner: the input offset of a nested layer's error depended on it) */
  unsigned char *bad = malloc(n1);
  memcpy(bad, inner, n1);
  bad[n1 / 2] ^= 0x55;
  unsigned char *badgz = tu_gzip(bad, n1, &n3);
  sink_log ref = {0};
  cr_assert_eq(run(&ref, NULL, badgz, n3, 0), CTR_EDATA);
  cr_assert(strstr(ref.log.data, "E EDATA 10 corrupt nested gzip stream at its compressed byte "), "%s", ref.log.data);
  for (size_t chunk = 1; chunk < 9; chunk++) {
    cr_assert_eq(run(&l, NULL, badgz, n3, chunk), CTR_EDATA);
    cr_assert_str_eq(l.log.data, ref.log.data, "chunks of %zu", chunk);
  }
  ctr__buf_free(&ref.log);
  free(badgz);
  free(bad);
  /* a nested member cut short */
  unsigned char *cut = tu_gzip(inner, n1 - 3, &n3);
  cr_assert_eq(run(&l, NULL, cut, n3, 0), CTR_EDATA);
  cr_assert(strstr(l.log.data, "truncated nested gzip stream: input ended inside a compressed member"), "%s",
            l.log.data);
  free(cut);
  /* three levels */
  unsigned char *third = tu_gzip(outer, n2, &n3);
  for (size_t chunk = 0; chunk < 8; chunk++) {
    cr_assert_eq(run(&l, NULL, third, n3, chunk), CTR_EDATA);
    cr_assert_str_eq(l.log.data, "E EDATA 10 gzip nested deeper than 2 levels (decompress it before scanning)\n");
  }
  ctr__buf_free(&l.log);
  free(third);
  free(two);
  free(inner);
  free(outer);
}

/* Expansion relative to the compressed bytes is bounded past a floor of
 * 16 MiB; what was inflated before is framed. */
Test(frame, gzip_ratio_limit)
{
  size_t len = (size_t)20 << 20;
  char *plain = malloc(len);
  memset(plain, ' ', len);
  memcpy(plain, "{\"a\":1}\n", 8);
  memcpy(plain + len - 8, "{\"b\":2}\n", 8);
  size_t gzlen;
  unsigned char *gz = tu_gzip(plain, len, &gzlen);
  cr_assert_gt(len / gzlen, 500);
  sink_log l = {0};
  /* the default (200) stops it */
  cr_assert_eq(run(&l, NULL, gz, gzlen, 0), CTR_ELIMIT);
  cr_assert(strncmp(l.log.data, "R 0 0 {\"a\":1}\nE ELIMIT ", 23) == 0 &&
                strstr(l.log.data, "gzip expands more than 200 times its compressed size (limit gzip_ratio) at "
                                   "compressed byte "),
            "%s", l.log.data);
  /* checked at fixed output positions: the same report in any chunking */
  sink_log ref = {0};
  cr_assert_eq(run(&ref, NULL, gz, gzlen, 0), CTR_ELIMIT);
  static const size_t chunks[] = {1, 7, 4096};
  for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
    cr_assert_eq(run(&l, NULL, gz, gzlen, chunks[i]), CTR_ELIMIT);
    cr_assert_str_eq(l.log.data, ref.log.data, "chunks of %zu", chunks[i]);
  }
  ctr__buf_free(&ref.log);
  /* gzip inside gzip: each layer against its own input */
  size_t n2;
  unsigned char *gz2 = tu_gzip(gz, gzlen, &n2);
  cr_assert_eq(run(&l, NULL, gz2, n2, 0), CTR_ELIMIT);
  cr_assert(strstr(l.log.data, "(limit gzip_ratio) at the nested stream's compressed byte "), "%s", l.log.data);
  free(gz2);
  /* a ratio it stays under lets it through */
  ctr__frame_limits lim = limits(0, 0, 0);
  lim.max_gzip_ratio = 100000;
  cr_assert_eq(run(&l, &lim, gz, gzlen, 0), CTR_OK);
  cr_assert_eq(l.records, 2);
  /* under the floor, no ratio is too much */
  lim.max_gzip_ratio = 1;
  cr_assert_eq(run(&l, &lim, gz, 1000, 0), CTR_EDATA); /* cut short: only the truncation is told */
  cr_assert(!strstr(l.log.data, "gzip_ratio"), "%s", l.log.data);
  ctr__buf_free(&l.log);
  free(gz);
  free(plain);
}

/* ------------------------------------------------------------ resynchronisation */

/* After a broken value, framing resumes at the next line that begins with
 * '{' at the value's own indentation (in its array, for an element) or at
 * column 0: the indented lines of a pretty-printed record are not records. */
Test(frame, resynchronisation_follows_indentation)
{
  /* a pretty-printed record cut short: its nested lines are passed over */
  ASSERT_FRAMES("{\n  \"a\": [\n    {\n      \"b\": \"x\n  {\"no\":1}\n{\"c\":1}\n",
                "B 0 0 EDATA invalid JSON at byte 30 of the record: a line break inside a string (the record is cut "
                "short)\nR 1 42 {\"c\":1}\n");
  /* an indented element of a pretty-printed log file: the next element */
  ASSERT_FRAMES("{\n  \"Records\": [\n    {\"a\":\"x\n    {\"b\":1},\n    {\"c\":2}\n  ]\n}\n{\"d\":3}",
                "B 0 21 EDATA invalid JSON at byte 7 of the record: a line break inside a string (the record is cut "
                "short)\nR 1 33 {\"b\":1}\nR 2 46 {\"c\":2}\nR 3 60 {\"d\":3}\n");
  /* a line at column 0 begins a top-level value whatever the indentation
   * (found by fuzz_frame: an element indented with carriage returns) */
  ASSERT_FRAMES("[\n\r\r{\"a\":\"x\n{\"b\":1}\n\t{\"e\":\"x\"}\n]\n{\"c\":2}",
                "B 0 4 EDATA invalid JSON at byte 7 of the record: a line break inside a string (the record is cut "
                "short)\nR 1 12 {\"b\":1}\nR 2 21 {\"e\":\"x\"}\n"
                "B 3 31 EDATA expected a JSON object or array, found ']'\nR 4 33 {\"c\":2}\n");
  /* a grammar error found lines later: the lines it swallowed are read again */
  ASSERT_FRAMES("{\"a\":\n{\"b\":1}\n{\"c\":2}\n",
                "B 0 0 EDATA invalid JSON at byte 15 of the record: '}' expected near '{'\nR 1 6 {\"b\":1}\n"
                "R 2 14 {\"c\":2}\n");
  /* the same with every chunking */
  const char *in = "{\"a\":[\n{\"b\":{\"x\":\n{\"c\":1}\n  {\"d\":\"e\n{\"f\":[1,2]}\r\n[{\"g\":1},\n{\"h\":\"\\\n{\"i\":0}";
  assert_split_invariant(in, strlen(in), NULL, 1, "resynchronisation");
  const char *got = frame_str(in, NULL, NULL);
  cr_assert(strstr(got, "R 2 18 {\"c\":1}\n") && strstr(got, "{\"f\":[1,2]}\n") && strstr(got, "{\"g\":1}\n") &&
                strstr(got, "{\"i\":0}\n"),
            "%s", got);
}

/* ------------------------------------------------------------ ISA-L
 * ISA-L inflates large members (frame_isal.c); zlib alone is the reference
 * (ctr__gz_zlib_only). The two logs must be the same text, records and
 * errors with their offsets, for every chunking tried. */

/* Frames `gz` `chunk` bytes at a time with zlib alone and with ISA-L where it
 * may; the two logs must be identical. Returns the ISA-L run's log (owned by
 * the caller) with its counts. */
static void assert_isal_same(sink_log *got, const void *gz, size_t len, const ctr__frame_limits *lim, size_t chunk,
                             const char *what)
{
  sink_log ref = {0};
  g_logs_only = true;
  ctr__gz_zlib_only = true;
  int ref_rc = run(&ref, lim, gz, len, chunk);
  cr_assert_eq(ref.isal_blocks, 0, "%s: zlib alone used ISA-L", what);
  ctr__gz_zlib_only = false;
  int rc = run(got, lim, gz, len, chunk);
  size_t i = 0;
  while (i < ref.log.len && i < got->log.len && ref.log.data[i] == got->log.data[i])
    i++;
  size_t from = i > 120 ? i - 120 : 0;
  cr_assert(i == ref.log.len && i == got->log.len && rc == ref_rc,
            "%s, chunk %zu (rc %d, zlib %d): logs differ at %zu\nISA-L: ...%.240s\nzlib:  ...%.240s", what, chunk, rc,
            ref_rc, i, got->log.data + from, ref.log.data + from);
  g_logs_only = false;
  ctr__buf_free(&ref.log);
}

/* n bytes of CloudTrail records (the shared ones, lines repeated), NDJSON. */
static char *records_of(size_t n, size_t *len)
{
  size_t all_len;
  char *all = tu_read(tu_shared("records.ndjson"), &all_len);
  char *s = malloc(n + all_len);
  cr_assert_not_null(s);
  size_t at = 0;
  while (at < n) {
    memcpy(s + at, all, all_len);
    at += all_len;
  }
  free(all);
  while (at > n && s[at - 1] != '\n')
    at--; /* cut at a line's end */
  at = at > n ? n : at;
  while (at > 0 && s[at - 1] != '\n')
    at--;
  *len = at;
  return s;
}

static unsigned char *concat(const unsigned char *a, size_t na, const unsigned char *b, size_t nb, size_t *n)
{
  unsigned char *o = malloc(na + nb);
  cr_assert_not_null(o);
  memcpy(o, a, na);
  memcpy(o + na, b, nb);
  *n = na + nb;
  return o;
}

static const size_t k_chunks[] = {0, 4096, 7, 1};

/* The deflate blocks of a gzip stream's members (zlib stopping at each end). */
static size_t count_blocks(const unsigned char *gz, size_t len)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  cr_assert_eq(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
  static unsigned char out[1 << 16];
  z.next_in = (unsigned char *)(uintptr_t)gz;
  z.avail_in = (uInt)len;
  size_t blocks = 0;
  bool header = true; /* the first stop is the gzip header's end */
  for (;;) {
    z.next_out = out;
    z.avail_out = sizeof out;
    int zr = inflate(&z, Z_BLOCK);
    if (zr == Z_STREAM_END) {
      blocks++; /* the last block's end */
      if (z.avail_in == 0)
        break;
      cr_assert_eq(inflateReset(&z), Z_OK);
      header = true;
      continue;
    }
    cr_assert(zr == Z_OK, "zlib: %d", zr);
    if ((z.data_type & 128) && z.avail_out > 0) {
      if (header)
        header = false;
      else
        blocks++;
    }
  }
  inflateEnd(&z);
  return blocks;
}

Test(frame, isal_inflates_large_members_as_zlib_does)
{
  cr_assert(ctr__isal_usable(), "libisal.so.2 is not loadable: ISA-L is never used (scripts/setup.sh installs it)");
  size_t real_len;
  unsigned char *real = (unsigned char *)tu_read(tu_shared("records.json.gz"), &real_len);
  size_t gen_len, gz_len;
  char *gen = records_of(5u << 20, &gen_len); /* over GZ_WHOLE_MAX: fed whole, still not libdeflate's */
  unsigned char *gz = tu_gzip(gen, gen_len, &gz_len);
  size_t empty_len;
  unsigned char *empty = tu_gzip("", 0, &empty_len);
  /* several members: the real file, a generated one, an empty one, zero padding, the real file again */
  size_t n1, n2, n3, n4;
  unsigned char *m1 = concat(real, real_len, gz, gz_len, &n1);
  unsigned char *m2 = concat(m1, n1, empty, empty_len, &n2);
  unsigned char zeros[5] = {0};
  unsigned char *m3 = concat(m2, n2, zeros, sizeof zeros, &n3);
  unsigned char *many = concat(m3, n3, real, real_len, &n4);
  struct {
    const unsigned char *p;
    size_t n;
    const char *what;
  } streams[] = {{real, real_len, "records.json.gz"}, {gz, gz_len, "generated"}, {many, n4, "several members"}};
  sink_log l = {0};
  for (size_t s = 0; s < sizeof streams / sizeof streams[0]; s++)
    for (size_t c = 0; c < sizeof k_chunks / sizeof k_chunks[0]; c++) {
      if (k_chunks[c] == 1 && streams[s].n > 200000)
        continue; /* byte by byte: the two smaller streams */
      assert_isal_same(&l, streams[s].p, streams[s].n, NULL, k_chunks[c], streams[s].what);
      cr_assert_eq(l.errors, 0, "%s: %s", streams[s].what, l.log.data);
      cr_assert_gt(l.records, 1000);
      /* ISA-L was used (this test fails if it is not): fed whole, a member
       * of up to 4 MiB is libdeflate's (try_whole) */
      if (k_chunks[c] == 4096 || (k_chunks[c] == 0 && streams[s].n > 1000000))
        cr_assert_gt(l.isal_blocks, 0, "%s, chunk %zu: no block inflated by ISA-L", streams[s].what, k_chunks[c]);
    }
  /* nearly every block of a large member is ISA-L's: all but those of its
   * first 32 KiB fed whole; fed 4 KiB at a time, a block whose header is
   * not whole in what has come is zlib's */
  size_t blocks = count_blocks(gz, gz_len);
  cr_assert_gt(blocks, 20);
  assert_isal_same(&l, gz, gz_len, NULL, 0, "generated");
  cr_assert_geq(l.isal_blocks + 2, blocks, "ISA-L inflated %llu of %zu blocks", (unsigned long long)l.isal_blocks,
                blocks);
  assert_isal_same(&l, gz, gz_len, NULL, 4096, "generated");
  cr_assert_geq(l.isal_blocks * 10, blocks * 8, "ISA-L inflated %llu of %zu blocks", (unsigned long long)l.isal_blocks,
                blocks);
  /* nested gzip: the first layer stays with zlib, the log is the same */
  size_t nested_len;
  unsigned char *nested = tu_gzip(real, real_len, &nested_len);
  assert_isal_same(&l, nested, nested_len, NULL, 0, "nested");
  cr_assert_eq(l.errors, 0, "%s", l.log.data);
  assert_isal_same(&l, nested, nested_len, NULL, 4096, "nested");
  ctr__buf_free(&l.log);
  free(nested);
  free(m1);
  free(m2);
  free(m3);
  free(many);
  free(empty);
  free(gz);
  free(gen);
  free(real);
}

/* Every byte of a member that ISA-L reads (past its first 32 KiB) with one
 * bit flipped, a bit per byte in turn, and random flips, truncations and
 * trailers: the ISA-L path's log is zlib's, records and verdict. */
Test(frame, isal_verdicts_on_corrupt_members_are_zlib_s)
{
  size_t gen_len, n;
  char *gen = records_of(90000, &gen_len);
  unsigned char *gz = tu_gzip_mem_level(gen, gen_len, NULL, 2, &n); /* a block every 256 symbols: many for ISA-L */
  sink_log l = {0};
  /* 4096 bytes a feed: not whole in one feed, so not libdeflate's (whole, a flip makes it zlib's) */
  assert_isal_same(&l, gz, n, NULL, 4096, "intact");
  cr_assert_gt(l.isal_blocks, 0, "the member is not ISA-L's: the flips test nothing");
  size_t differ = 0, isal = 0;
  char what[64];
  for (size_t i = 10; i < n; i++) {
    unsigned char was = gz[i];
    gz[i] ^= (unsigned char)(1u << (i % 8));
    snprintf(what, sizeof what, "byte %zu bit %zu", i, i % 8);
    assert_isal_same(&l, gz, n, NULL, 4096, what);
    differ += l.errors;
    isal += l.isal_blocks > 0;
    if (i % 61 == 0) {
      assert_isal_same(&l, gz, n, NULL, 0, what);
      assert_isal_same(&l, gz, n, NULL, 7, what);
    }
    gz[i] = was;
  }
  cr_assert_gt(differ, n / 2, "most flips are errors");
  cr_assert_gt(isal, n / 4, "ISA-L read most of the corrupt members (%zu of %zu)", isal, n);
  /* truncations, at every 37th byte */
  for (size_t cut = 1; cut < n; cut += 37) {
    snprintf(what, sizeof what, "cut at %zu", cut);
    assert_isal_same(&l, gz, cut, NULL, 4096, what);
  }
  /* the real file: random flips, some bursts, its trailer */
  size_t real_len;
  unsigned char *real = (unsigned char *)tu_read(tu_shared("records.json.gz"), &real_len);
  srand(18);
  for (int t = 0; t < 60; t++) {
    size_t at = 10 + (size_t)rand() % (real_len - 10);
    unsigned char was[4];
    size_t burst = t % 3 == 0 ? 4 : 1;
    if (at + burst > real_len)
      at = real_len - burst;
    memcpy(was, real + at, burst);
    for (size_t b = 0; b < burst; b++)
      real[at + b] ^= (unsigned char)(1u + (unsigned)rand() % 255);
    snprintf(what, sizeof what, "records.json.gz, %zu bytes at %zu", burst, at);
    assert_isal_same(&l, real, real_len, NULL, t % 2 ? 4096 : 0, what);
    memcpy(real + at, was, burst);
  }
  for (size_t i = real_len - GZ_TRAILER; i < real_len; i++) {
    real[i] ^= 0x10;
    snprintf(what, sizeof what, "trailer byte %zu", i);
    assert_isal_same(&l, real, real_len, NULL, 0, what);
    cr_assert_eq(l.errors, 1);
    assert_isal_same(&l, real, real_len, NULL, 3, what);
    real[i] ^= 0x10;
  }
  ctr__buf_free(&l.log);
  free(real);
  free(gz);
  free(gen);
}

/* gzip_output and gzip_ratio trip where they do with zlib alone, at the same
 * compressed byte, whatever the chunking: ISA-L hands such a block to zlib. */
Test(frame, isal_limits_trip_where_zlib_s_do)
{
  size_t real_len;
  unsigned char *real = (unsigned char *)tu_read(tu_shared("records.json.gz"), &real_len);
  sink_log l = {0};
  const uint64_t outs[] = {40000, 100000, 700001, 1000000, 1394937, 1394938};
  for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
    for (size_t c = 0; c < 3; c++) {
      ctr__frame_limits lim = limits(0, 0, outs[i]);
      char what[64];
      snprintf(what, sizeof what, "gzip_output %llu", (unsigned long long)outs[i]);
      assert_isal_same(&l, real, real_len, &lim, k_chunks[c], what);
      cr_assert_eq(l.errors, outs[i] < 1394938, "%s: %s", what, l.log.data + (l.log.len > 300 ? l.log.len - 300 : 0));
    }
  /* past 16 MiB gzip_ratio is checked every MiB: CloudTrail compresses about 8 times */
  size_t big_len, gz_len;
  char *big = records_of(18u << 20, &big_len);
  unsigned char *gz = tu_gzip(big, big_len, &gz_len);
  const uint64_t ratios[] = {200, 10, 9, 8, 7};
  for (size_t i = 0; i < sizeof ratios / sizeof ratios[0]; i++)
    for (size_t c = 0; c < 2; c++) {
      ctr__frame_limits lim = limits(0, 0, 0);
      lim.max_gzip_ratio = ratios[i];
      char what[64];
      snprintf(what, sizeof what, "gzip_ratio %llu", (unsigned long long)ratios[i]);
      assert_isal_same(&l, gz, gz_len, &lim, k_chunks[c], what);
      cr_assert_gt(l.isal_blocks, 0, "%s", what);
      if (ratios[i] == 200)
        cr_assert_eq(l.errors, 0);
    }
  /* a bomb: spaces after a record */
  size_t bomb_in = 40u << 20, bomb_len;
  char *spaces = malloc(bomb_in);
  memset(spaces, ' ', bomb_in);
  memcpy(spaces, "{\"a\":1}\n", 8);
  unsigned char *bomb = tu_gzip(spaces, bomb_in, &bomb_len);
  for (size_t c = 0; c < 2; c++) {
    assert_isal_same(&l, bomb, bomb_len, NULL, k_chunks[c], "bomb");
    cr_assert(strstr(l.log.data, "limit gzip_ratio"), "%s", l.log.data);
  }
  ctr__buf_free(&l.log);
  free(bomb);
  free(spaces);
  free(gz);
  free(big);
  free(real);
}

/* A deflate writer for blocks zlib's deflate does not make: one dynamic
 * block of any size (zlib's end after 16K symbols). Codes: each byte 9 bits,
 * the end of block 1 bit, two distance codes of 1 bit (none used). */
typedef struct bits_out {
  unsigned char *p;
  size_t n, cap;
  uint64_t acc;
  unsigned fill;
} bits_out;

static void put_bits(bits_out *b, uint32_t v, unsigned n) /* LSB first */
{
  b->acc |= (uint64_t)v << b->fill;
  b->fill += n;
  while (b->fill >= 8) {
    if (b->n == b->cap) {
      b->cap = b->cap ? 2 * b->cap : 4096;
      b->p = realloc(b->p, b->cap);
      cr_assert_not_null(b->p);
    }
    b->p[b->n++] = (unsigned char)b->acc;
    b->acc >>= 8;
    b->fill -= 8;
  }
}

static void put_code(bits_out *b, uint32_t code, unsigned n) /* a Huffman code, most significant bit first */
{
  for (unsigned i = n; i-- > 0;)
    put_bits(b, (code >> i) & 1, 1);
}

static void put_dynamic_block(bits_out *b, const char *data, size_t n, bool last)
{
  put_bits(b, last, 1);
  put_bits(b, 2, 2); /* dynamic */
  put_bits(b, 0, 5); /* 257 literal/length codes */
  put_bits(b, 1, 5); /* 2 distance codes */
  put_bits(b, 14, 4); /* 18 code length codes, in their order: 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1 */
  static const unsigned order[18] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1};
  for (size_t i = 0; i < 18; i++)
    put_bits(b, order[i] == 9 || order[i] == 1 ? 1 : 0, 3); /* lengths 1 and 9: codes 0 and 1 */
  for (int i = 0; i < 256; i++)
    put_code(b, 1, 1); /* a literal: 9 bits */
  put_code(b, 0, 1);   /* the end of block: 1 bit */
  put_code(b, 0, 1);   /* two distance codes of 1 bit */
  put_code(b, 0, 1);
  for (size_t i = 0; i < n; i++)
    put_code(b, 256u + (unsigned char)data[i], 9); /* canonical: after the 1-bit code 0, 9-bit codes from 256 */
  put_code(b, 0, 1);
}

/* A dynamic block of n literals then a match of 3 bytes that zlib refuses:
 * with one distance code (zlib allows a single code) the match takes the
 * other, unassigned, one ("invalid distance code"); else distance 24577
 * (codes 28 and 29 of 1 bit), too far back for a member not that long yet.
 * Codes: each byte 9 bits, the end of block and length 3 2 bits. */
static void put_block_with_bad_match(bits_out *b, const char *data, size_t n, bool one_distance_code)
{
  put_bits(b, 1, 1); /* the last block */
  put_bits(b, 2, 2);
  put_bits(b, 1, 5);                            /* 258 literal/length codes */
  put_bits(b, one_distance_code ? 0 : 29, 5);   /* 1 or 30 distance codes */
  put_bits(b, 14, 4);
  static const unsigned order[18] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1};
  for (size_t i = 0; i < 18; i++) /* lengths 0, 1, 2, 9 have codes 00 01 10 11 */
    put_bits(b, order[i] == 0 || order[i] == 1 || order[i] == 2 || order[i] == 9 ? 2 : 0, 3);
  for (int i = 0; i < 256; i++)
    put_code(b, 3, 2); /* 9 */
  put_code(b, 2, 2);   /* the end of block: 2 */
  put_code(b, 2, 2);   /* length 3: 2 */
  if (one_distance_code) {
    put_code(b, 1, 2); /* distance code 0: 1 bit, alone */
  } else {
    for (int i = 0; i < 28; i++)
      put_code(b, 0, 2);
    put_code(b, 1, 2); /* distance codes 28 and 29: 1 bit each */
    put_code(b, 1, 2);
  }
  for (size_t i = 0; i < n; i++)
    put_code(b, 256u + (unsigned char)data[i], 9);
  put_code(b, 1, 2);  /* length 3 (code 01) */
  put_code(b, 1, 1);  /* the unassigned code, or code 29 */
  put_bits(b, 0, 13); /* code 29's extra bits: distance 24577 */
  put_code(b, 0, 2);  /* the end of block (not reached) */
}

/* A gzip member of two dynamic blocks: `first` bytes, then the rest of data. */
static unsigned char *gzip_two_blocks(const char *data, size_t n, size_t first, size_t *len)
{
  bits_out b = {0};
  static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  for (size_t i = 0; i < sizeof header; i++)
    put_bits(&b, header[i], 8);
  put_dynamic_block(&b, data, first, false);
  put_dynamic_block(&b, data + first, n - first, true);
  if (b.fill)
    put_bits(&b, 0, 8 - b.fill);
  uint32_t crc = (uint32_t)crc32(0, (const unsigned char *)data, (uInt)n);
  put_bits(&b, crc, 32);
  put_bits(&b, (uint32_t)n, 32);
  *len = b.n;
  return b.p;
}

/* A member whose second block is 3.4 MB of compressed bytes: what ISA-L's
 * path keeps for zlib stays within its bound (1 MiB), zlib taking the member
 * over there, and the log is zlib's. */
Test(frame, isal_keeps_at_most_a_mib)
{
  size_t gen_len, n;
  char *gen = records_of(3u << 20, &gen_len);
  unsigned char *gz = gzip_two_blocks(gen, gen_len, 65536, &n);
  cr_assert_gt(n, 3u << 20);
  sink_log l = {0};
  for (size_t c = 0; c < 2; c++) {
    assert_isal_same(&l, gz, n, NULL, (size_t[]){4096, 65536}[c], "one block of 3 MB");
    cr_assert_eq(l.errors, 0, "%s", l.log.data);
    cr_assert_gt(l.isal_blocks, 0, "the large block is not ISA-L's");
    cr_assert_leq(l.kept_peak, (size_t)1 << 20, "kept %zu bytes", l.kept_peak);
    cr_assert_gt(l.kept_peak, (size_t)1 << 19, "the bound was not reached (%zu): the test tests nothing", l.kept_peak);
  }
  /* and corrupt in the large block: zlib's verdict */
  gz[n / 2] ^= 0x40;
  assert_isal_same(&l, gz, n, NULL, 4096, "one block of 3 MB, a flip");
  ctr__buf_free(&l.log);
  free(gz);
  free(gen);
}

/* Matches zlib refuses, in blocks made to reach ISA-L: a single distance
 * code's unassigned half past the member's first 32 KiB (ISA-L refuses that
 * header itself), and a distance reaching before the member's start early in
 * it (the block is zlib's; given a window, ISA-L refuses it too). The logs are
 * zlib's, each with zlib's error. */
Test(frame, isal_verdicts_on_bad_matches_are_zlib_s)
{
  size_t gen_len;
  char *gen = records_of(70000, &gen_len);
  const struct {
    size_t first;
    bool one_code;
    const char *error;
  } cases[] = {{40000, true, "invalid distance code"}, {100, false, "invalid distance too far back"}};
  sink_log l = {0};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    bits_out b = {0};
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    for (size_t i = 0; i < sizeof header; i++)
      put_bits(&b, header[i], 8);
    put_dynamic_block(&b, gen, cases[c].first, false);
    put_block_with_bad_match(&b, gen + cases[c].first, 20000, cases[c].one_code);
    put_bits(&b, 0, 8); /* the rest of the byte, and a byte more */
    for (size_t k = 0; k < 3; k++) {
      assert_isal_same(&l, b.p, b.n, NULL, k_chunks[k], cases[c].error);
      cr_assert(strstr(l.log.data, cases[c].error), "%s", l.log.data + (l.log.len > 300 ? l.log.len - 300 : 0));
      cr_assert_gt(l.records, 10);
    }
    free(b.p);
  }
  ctr__buf_free(&l.log);
  free(gen);
}
