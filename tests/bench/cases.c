/* cases.c - what ctrule-bench times: the baselines (memchr, jansson,
 * simdjson, zlib), the scanner over NDJSON, gzip log files and a generated
 * stream, and the ctrule CLI as a whole process. */
#include "bench.h"
#include "alerts.h"
#include "corpus.h"
#ifdef CTR_BENCH_SIMDJSON
#include "simdjson_baseline.h"
#endif

#include <fcntl.h>
#include <jansson.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

int ctb_case_memchr(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)arg, (void)alerts, (void)evaluated;
  uint64_t n = 0;
  for (const char *p = in->data, *end = p + in->len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
    n++;
  *count = n + (in->len && in->data[in->len - 1] != '\n'); /* an unterminated last line */
  return 0;
}

/* jansson: json_loadb + one lookup + decref per NDJSON line. */
int ctb_case_jansson(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)arg, (void)evaluated;
  uint64_t n = 0, rds = 0;
  const char *p = in->data, *end = p + in->len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    json_error_t err;
    json_t *root = json_loadb(p, len, 0, &err);
    if (!root)
      return -1;
    const char *src = json_string_value(json_object_get(root, "eventSource"));
    rds += src && strcmp(src, "rds.amazonaws.com") == 0;
    json_decref(root);
    n++;
    p += len + 1;
  }
  *count = n;
  *alerts = rds; /* rds records, as a check */
  return 0;
}

#ifdef CTR_BENCH_SIMDJSON
int ctb_case_simdjson(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)arg, (void)evaluated;
  return ctb_simdjson_eventsource(in->data, in->len, count, alerts);
}

int ctb_case_simdjson_dom(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)arg, (void)evaluated;
  return ctb_simdjson_dom(in->data, in->len, count, alerts);
}
#endif

static int feed_all(ctr_scanner *sc, const char *data, size_t len, size_t chunk)
{
  int rc = CTR_OK;
  for (size_t at = 0; rc == CTR_OK && at < len; at += chunk)
    rc = ctr_scanner_feed(sc, data + at, len - at < chunk ? len - at : chunk);
  return rc == CTR_OK ? ctr_scanner_finish(sc) : rc;
}

int ctb_case_scan(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  const scan_arg *a = arg;
  ctr_scanner *sc;
  if (ctr_scanner_new(a->rs, a->read_output ? ctb_read_alert : ctb_count_alert, alerts, &sc) != CTR_OK ||
      ctr_scanner_set_flags(sc, a->flags) != CTR_OK)
    return -1;
  int rc = CTR_OK;
  if (in->nfiles) {
    for (size_t k = 0; rc == CTR_OK && k < in->nfiles; k++) {
      size_t from = k ? in->ends[k - 1] : 0;
      rc = feed_all(sc, in->data + from, in->ends[k] - from, a->chunk);
      ctr_scanner_reset(sc);
    }
  } else {
    rc = feed_all(sc, in->data, in->len, a->chunk);
  }
  *count = ctr_scanner_stat(sc, CTR_STAT_RECORDS);
  *evaluated = ctr_scanner_stat(sc, CTR_STAT_EVALUATED);
  if (ctr_scanner_stat(sc, CTR_STAT_BAD_RECORDS))
    rc = CTR_EDATA;
  ctr_scanner_free(sc);
  return rc == CTR_OK ? 0 : -1;
}

static int inflate_one(z_stream *z, const char *data, size_t len, unsigned char *out, size_t cap)
{
  z->next_in = (unsigned char *)data;
  z->avail_in = (uInt)len;
  uint64_t total = 0;
  int rc;
  do {
    z->next_out = out;
    z->avail_out = (uInt)cap;
    rc = inflate(z, Z_NO_FLUSH);
    total += cap - z->avail_out;
  } while (rc == Z_OK);
  return rc == Z_STREAM_END && total ? 0 : -1;
}

int ctb_case_inflate(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)alerts, (void)evaluated;
  static unsigned char out[256 * 1024]; /* what the library inflates into */
  z_stream z = {0};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK || inflateValidate(&z, *(const int *)arg) != Z_OK)
    return -1;
  int rc = 0;
  if (in->nfiles) {
    for (size_t k = 0; rc == 0 && k < in->nfiles; k++) {
      size_t from = k ? in->ends[k - 1] : 0;
      rc = inflateReset(&z) == Z_OK ? inflate_one(&z, in->data + from, in->ends[k] - from, out, sizeof out) : -1;
    }
  } else {
    rc = inflate_one(&z, in->data, in->len, out, sizeof out);
  }
  inflateEnd(&z);
  *count = in->records;
  return rc;
}

int ctb_case_libdeflate(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)arg, (void)alerts, (void)evaluated;
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  unsigned char *out = NULL;
  size_t cap = 0;
  int rc = d ? 0 : -1;
  for (size_t k = 0; rc == 0 && k < in->nfiles; k++) {
    size_t from = k ? in->ends[k - 1] : 0, len = in->ends[k] - from;
    const unsigned char *p = (const unsigned char *)in->data + from;
    /* ISIZE, the gzip trailer's last four bytes: the inflated size of a
     * single-member file under 4 GiB. */
    size_t isize = len < 18 ? 0 : (size_t)p[len - 4] | (size_t)p[len - 3] << 8 | (size_t)p[len - 2] << 16 |
                                       (size_t)p[len - 1] << 24;
    if (isize > cap) {
      unsigned char *grown = realloc(out, isize);
      if (!grown) {
        rc = -1;
        break;
      }
      out = grown;
      cap = isize;
    }
    size_t got;
    if (!isize || libdeflate_gzip_decompress(d, p, len, out, isize, &got) != LIBDEFLATE_SUCCESS || got != isize)
      rc = -1;
  }
  free(out);
  if (d)
    libdeflate_free_decompressor(d);
  *count = in->records;
  return in->nfiles ? rc : -1;
}

int ctb_case_stream(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)in;
  const stream_arg *a = arg;
  ctr_scanner *sc;
  if (ctr_scanner_new(a->rs, ctb_count_alert, alerts, &sc) != CTR_OK)
    return -1;
  size_t blen;
  char *batch = ctb_corpus_elements(2000, 99, &blen);
  if (!batch)
    return -1;
  uint64_t target = (uint64_t)(a->gb * 1e9), fed = 0;
  int rc = ctr_scanner_feed(sc, "{\"Records\":[", 12);
  for (int first = 1; rc == CTR_OK && fed < target; first = 0) {
    if (!first)
      rc = ctr_scanner_feed(sc, ",", 1);
    for (size_t at = 0; rc == CTR_OK && at < blen; at += 65536)
      rc = ctr_scanner_feed(sc, batch + at, blen - at < 65536 ? blen - at : 65536);
    fed += blen;
  }
  if (rc == CTR_OK && (rc = ctr_scanner_feed(sc, "]}", 2)) == CTR_OK)
    rc = ctr_scanner_finish(sc);
  *count = ctr_scanner_stat(sc, CTR_STAT_RECORDS);
  *evaluated = ctr_scanner_stat(sc, CTR_STAT_EVALUATED);
  ctr_scanner_free(sc);
  free(batch);
  return rc == CTR_OK ? 0 : -1;
}

char *ctb_gzip(const char *data, size_t len, size_t *out_len)
{
  z_stream z = {0};
  if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return NULL;
  size_t cap = deflateBound(&z, (uLong)len);
  char *out = malloc(cap);
  int rc = Z_STREAM_ERROR;
  if (out) {
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)len;
    z.next_out = (unsigned char *)out;
    z.avail_out = (uInt)cap;
    rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
  }
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

/* Appends the gzipped log file of lines [from, to) to *buf. */
static int append_file(const char *from, const char *to, char **buf, size_t *len, size_t *cap)
{
  size_t llen, glen;
  char *log = ctb_logfile_of_lines(from, (size_t)(to - from), &llen);
  char *gz = log ? ctb_gzip(log, llen, &glen) : NULL;
  free(log);
  if (!gz)
    return -1;
  if (*len + glen > *cap) {
    size_t ncap = *cap ? *cap : 1u << 20;
    while (ncap < *len + glen)
      ncap *= 2;
    char *p = realloc(*buf, ncap);
    if (!p) {
      free(gz);
      return -1;
    }
    *buf = p;
    *cap = ncap;
  }
  memcpy(*buf + *len, gz, glen);
  *len += glen;
  free(gz);
  return 0;
}

int ctb_gzip_logfiles(const input *nd, size_t per_file, input *out, size_t **ends_out)
{
  size_t nfiles = per_file ? (nd->records + per_file - 1) / per_file : 1;
  size_t *ends = malloc((nfiles ? nfiles : 1) * sizeof *ends);
  char *buf = NULL;
  size_t len = 0, cap = 0, k = 0;
  const char *p = nd->data, *end = nd->data + nd->len;
  while (ends && p < end) {
    const char *q = p;
    for (size_t n = 0; q < end && (!per_file || n < per_file); n++) {
      const char *nl = memchr(q, '\n', (size_t)(end - q));
      q = nl ? nl + 1 : end;
    }
    if (append_file(p, q, &buf, &len, &cap) != 0) {
      free(buf);
      free(ends);
      return -1;
    }
    ends[k++] = len;
    p = q;
  }
  if (!ends)
    return -1;
  *out = (input){buf, len, nd->records, NULL, per_file ? ends : NULL, per_file ? k : 0};
  if (!per_file)
    free(ends);
  *ends_out = per_file ? ends : NULL;
  return 0;
}

/* The number after `key` in text ("1163 records"), or -1. */
static long long stat_before(const char *text, const char *key)
{
  for (const char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
    const char *q = p;
    while (q > text && q[-1] == ' ')
      q--;
    const char *num = q;
    while (num > text && num[-1] >= '0' && num[-1] <= '9')
      num--;
    if (num < q)
      return strtoll(num, NULL, 10);
  }
  return -1;
}

int ctb_case_cli(const input *in, const void *arg, uint64_t *count, uint64_t *alerts, uint64_t *evaluated)
{
  (void)in;
  const cli_arg *a = arg;
  const char *argv[12];
  int n = 0;
  argv[n++] = a->cli;
  argv[n++] = "scan";
  argv[n++] = "-q";
  argv[n++] = "--stats";
  argv[n++] = "--no-progress";
  if (a->no_builtin)
    argv[n++] = "--no-builtin";
  if (a->rules) {
    argv[n++] = "-r";
    argv[n++] = a->rules;
  }
  argv[n++] = a->path;
  argv[n] = NULL;
  int err[2];
  if (pipe(err) != 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull < 0 || dup2(devnull, 1) < 0 || dup2(err[1], 2) < 0)
      _exit(127);
    close(err[0]);
    execv(a->cli, (char *const *)argv);
    _exit(127);
  }
  close(err[1]);
  /* Drained to the end (a CLI blocked on a full pipe would never exit);
   * the --stats lines come last, so the last 2 KiB are what is kept. */
  char text[4096];
  size_t len = 0;
  ssize_t got;
  while ((got = read(err[0], text + len, sizeof text - 1 - len)) > 0) {
    len += (size_t)got;
    if (len > sizeof text - 512) {
      memmove(text, text + len - 2048, 2048);
      len = 2048;
    }
  }
  close(err[0]);
  text[len] = '\0';
  int status;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return -1;
  long long records = stat_before(text, " records:"), found = stat_before(text, " alerts;");
  if (records < 0 || found < 0 || stat_before(text, " bad,") != 0)
    return -1;
  long long parsed = stat_before(text, " evaluated,");
  *count = (uint64_t)records;
  *alerts = (uint64_t)found;
  *evaluated = parsed > 0 ? (uint64_t)parsed : 0;
  return 0;
}
