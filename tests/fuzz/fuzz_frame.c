/* fuzz_frame.c - libFuzzer target for the framer's resynchronisation
 * (frame.c), against a reference line splitter: whatever damage comes
 * before it, a line that is a JSON object by itself, starting at column 0,
 * is framed, either as a record of its own or inside a valid record that
 * spans it. And the framer's report does not depend on how the stream is
 * chunked.
 *
 * The line property is not checked where the framer rightly does otherwise:
 * a value over a limit (its bytes are dropped, so it cannot be read again),
 * a log file's members other than Records and an array inside an array
 * (read past, not records), envelopes (their records come out of a parse),
 * and \u escapes (a key may decode to an envelope's).
 *
 * Input: one options byte (bit 7: the harness gzips the stream, so the
 * same checks cover the input layer; the rest: chunk size seed), then the
 * stream. Offsets are in the decompressed stream either way.
 *
 * With bit 7, also ISA-L against zlib alone (frame_isal.c): 40 KB of
 * records then the stream, gzipped in many small blocks (ISA-L reads a
 * member's blocks past its first 32 KiB), one byte of it changed where the
 * stream's first bytes say, framed both ways in the same chunks: the two
 * reports must be the same text. */
#include "event.h"
#include "frame.h" /* ctr__gz_zlib_only */
#include "internal.h"

#include <jansson.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct event {
  char kind; /* 'R' record, 'B' bad record, 'S' skipped */
  uint64_t offset, len;
} event;

typedef struct sink_log {
  event *v;
  size_t n, cap;
  bool limit, not_object;
  ctr__buf text; /* every callback, as text: two chunkings compare as text */
} sink_log;

static void add(sink_log *l, char kind, uint64_t offset, uint64_t len)
{
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 64;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
    if (!l->v)
      abort();
  }
  l->v[l->n++] = (event){kind, offset, len};
}

static int on_record(void *ud, const char *p, size_t n, uint64_t index, uint64_t offset, const ctr__record_facts *facts)
{
  sink_log *l = ud;
  (void)facts;
  add(l, 'R', offset, n);
  ctr__buf_printf(&l->text, "R %llu %llu ", (unsigned long long)index, (unsigned long long)offset);
  ctr__buf_append(&l->text, p, n);
  ctr__buf_append_char(&l->text, '\n');
  return 0;
}

static void on_bad(void *ud, int status, uint64_t index, uint64_t offset, const char *msg)
{
  sink_log *l = ud;
  add(l, 'B', offset, 0);
  l->limit |= status == CTR_ELIMIT;
  l->not_object |= strcmp(msg, "record is not a JSON object") == 0;
  ctr__buf_printf(&l->text, "B %llu %llu %d %s\n", (unsigned long long)index, (unsigned long long)offset, status, msg);
}

static void on_skipped(void *ud, uint64_t offset, const char *what)
{
  sink_log *l = ud;
  add(l, 'S', offset, 0);
  ctr__buf_printf(&l->text, "S %llu %s\n", (unsigned long long)offset, what);
}

static void on_error(void *ud, int status, uint64_t offset, const char *msg)
{
  sink_log *l = ud;
  ctr__buf_printf(&l->text, "E %d %llu %s\n", status, (unsigned long long)offset, msg);
}

__attribute__((noreturn)) static void broken(const char *what, const sink_log *l, const char *s, size_t n)
{
  fprintf(stderr, "fuzz invariant broken: %s\ninput (%zu bytes): %.*s\nframed:\n%s\n", what, n,
          (int)(n > 4000 ? 4000 : n), s, l->text.data ? l->text.data : "");
  abort();
}

/* gzip of in[0..n), one member; memLevel 1: a block every 128 symbols. */
static unsigned char *gzip_bytes(const char *in, size_t n, int mem_level, size_t *out_len)
{
  z_stream z = {0};
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, mem_level, Z_DEFAULT_STRATEGY) != Z_OK)
    abort();
  size_t cap = deflateBound(&z, (uLong)n);
  unsigned char *out = malloc(cap);
  if (!out)
    abort();
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)n;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    abort();
  *out_len = z.total_out;
  deflateEnd(&z);
  return out;
}

static void run(const char *s, size_t n, size_t chunk, sink_log *l)
{
  ctr__frame_sink sink = {on_record, on_bad, on_skipped, on_error, l};
  ctr__framer *f;
  if (ctr__framer_new(&sink, &f) != CTR_OK)
    abort();
  ctr__buf_append(&l->text, "", 0);
  int rc = CTR_OK;
  for (size_t at = 0; at < n && rc == CTR_OK; at += chunk)
    rc = ctr__framer_feed(f, s + at, n - at < chunk ? n - at : chunk);
  if (rc == CTR_OK)
    rc = ctr__framer_finish(f);
  ctr__buf_printf(&l->text, "= %d\n", rc);
  ctr__framer_free(f);
}

static void log_free(sink_log *l)
{
  free(l->v);
  ctr__buf_free(&l->text);
}

/* Whether the framer saw the line [from, from + len): something was framed,
 * skipped or reported inside it, or a record spans it. */
static bool seen(const sink_log *l, uint64_t from, uint64_t len, const char *s, size_t n)
{
  for (size_t i = 0; i < l->n; i++) {
    const event *e = &l->v[i];
    if (e->offset >= from && e->offset < from + len) {
      if (e->kind == 'R' && e->offset == from && e->len != len)
        broken("a whole line framed with another length", l, s, n);
      return true;
    }
    if (e->kind == 'R' && e->offset < from && e->offset + e->len >= from + len)
      return true;
  }
  return false;
}

static bool contains(const char *s, size_t n, const char *word)
{
  size_t k = strlen(word);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(s + i, word, k) == 0)
      return true;
  return false;
}

/* ISA-L's path and zlib alone give the same report (see the top). */
static void isal_same(const char *s, size_t n, size_t chunk)
{
  static char *plain;
  static size_t prefix;
  if (!plain) {
    plain = malloc(40000 + 65536 + 1);
    if (!plain)
      abort();
    for (int i = 0; prefix < 40000; i++)
      prefix += (size_t)snprintf(plain + prefix, 200, "{\"eventVersion\":\"1.08\",\"eventID\":\"%08x\",\"n\":%d}\n",
                                 (unsigned)i * 2654435761u, i);
  }
  if (n > 65536)
    return;
  memcpy(plain + prefix, s, n);
  size_t len;
  unsigned char *gz = gzip_bytes(plain, prefix + n, 1, &len);
  if (n >= 3) { /* one byte changed, past the gzip header */
    size_t at = 10 + ((size_t)(unsigned char)s[0] << 8 | (unsigned char)s[1]) * (len - 10) / 65536;
    gz[at] ^= (unsigned char)(s[2] | 1);
  }
  sink_log zl = {0}, il = {0};
  ctr__gz_zlib_only = true;
  run((const char *)gz, len, chunk * 97, &zl);
  ctr__gz_zlib_only = false;
  run((const char *)gz, len, chunk * 97, &il);
  free(gz);
  if (strcmp(zl.text.data, il.text.data) != 0) {
    fprintf(stderr, "ISA-L:\n%s\nzlib alone:\n%s\n", il.text.data, zl.text.data);
    broken("ISA-L's report is not zlib's", &il, s, n);
  }
  log_free(&zl);
  log_free(&il);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  size_t chunk = (size_t)(data[0] & 0x7f) % 23 + 1;
  bool gz = data[0] & 0x80;
  const char *s = (const char *)data + 1;
  size_t n = size - 1;
  if (n > 0 && (unsigned char)s[0] == 0x1f)
    return 0; /* a gzip stream of its own: fuzz_scanner's ground */

  sink_log whole = {0}, chunked = {0};
  size_t fed_len = n;
  unsigned char *packed = gz ? gzip_bytes(s, n, 8, &fed_len) : NULL;
  const char *fed = packed ? (const char *)packed : s;
  run(fed, fed_len, fed_len ? fed_len : 1, &whole);
  run(fed, fed_len, chunk, &chunked);
  free(packed);
  if (strcmp(whole.text.data, chunked.text.data) != 0) {
    fprintf(stderr, "chunks of %zu gave:\n%s\n", chunk, chunked.text.data);
    broken("the report depends on the chunking", &whole, s, n);
  }

  if (gz)
    isal_same(s, n, chunk);

  static const char *const skip_words[] = {"Records", "logEvents", "messageType", "logFiles", "digestStartTime",
                                           "detail", "\\u"};
  bool check = !whole.limit && !whole.not_object;
  for (size_t i = 0; check && i < sizeof skip_words / sizeof *skip_words; i++)
    check = !contains(s, n, skip_words[i]);
  for (size_t from = 0; check && from < n;) {
    const char *nl = memchr(s + from, '\n', n - from);
    size_t end = nl ? (size_t)(nl - s) : n, len = end - from;
    while (len > 0 && (s[from + len - 1] == ' ' || s[from + len - 1] == '\t' || s[from + len - 1] == '\r'))
      len--;
    if (len >= 2 && s[from] == '{' && s[from + len - 1] == '}') {
      json_t *v = json_loadb(s + from, len, CTR__JSON_FLAGS, NULL);
      bool object = json_is_object(v);
      json_decref(v);
      if (object && !seen(&whole, from, len, s, n))
        broken("a line that is a JSON object by itself was not framed", &whole, s, n);
    }
    from = end + 1;
  }
  log_free(&whole);
  log_free(&chunked);
  return 0;
}
