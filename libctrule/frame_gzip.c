/* frame_gzip.c - the framer's input layer: sniffs the gzip magic (1f 8b)
 * and inflates, member after member, with zlib, each member's CRC-32 checked
 * with libdeflate; a member whole in one feed (a small log file) is inflated
 * by libdeflate in one call (try_whole); zero padding after a member is
 * skipped; gzip inside gzip (as
 * a delivery pipeline that compresses again produces) is inflated by a
 * second layer. The bytes framed are bounded by gzip_output, and by
 * gzip_ratio relative to the input's compressed bytes. A plain input is
 * passed through. */
#include "frame.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>

static int layer_begin_member(ctr__framer *f, unsigned l)
{
  gz_keep *k = &f->gzk[l];
  gz_state *g = &f->gz[l];
  if (!k->out && !(k->out = malloc(GZ_OUT_SIZE)))
    return CTR_ENOMEM;
  int zr = k->ready ? inflateReset(&k->z) : inflateInit2(&k->z, 16 + MAX_WBITS);
  /* zlib checks the header itself, its optional CRC (FHCRC) too: the check is
   * switched off only once the header is read (layer_feed), and inflateReset
   * keeps whatever the previous member left. */
  if (zr == Z_OK)
    zr = inflateValidate(&k->z, 1);
  if (zr != Z_OK)
    return CTR_ENOMEM;
  k->ready = true;
  g->member_open = true;
  g->header_done = false;
  g->whole_tried = false;
  g->crc = 0;
  g->len = 0;
  return CTR_OK;
}

/* Keeps the last GZ_TRAILER compressed bytes zlib consumed: when it reports a
 * member's end they are the trailer, which may have come over several feeds
 * whose buffers are gone. */
static void keep_tail(gz_state *g, const unsigned char *used, size_t n)
{
  if (n >= GZ_TRAILER) {
    memcpy(g->tail, used + n - GZ_TRAILER, GZ_TRAILER);
  } else if (n > 0) {
    memmove(g->tail, g->tail + n, GZ_TRAILER - n);
    memcpy(g->tail + GZ_TRAILER - n, used, n);
  }
}

static uint32_t load_le32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A layer's stream error: positioned in the input for the first layer, in
 * the first layer's output for a nested one (whose report then gives, as
 * its input offset, where the input's deflate data begins: how much input
 * the first layer had read by then depends on the chunking). */
static const char *where(ctr__framer *f, unsigned l)
{
  if (l)
    f->gz[0].in = f->gz[0].data_at; /* the stream is dead: only reported from here */
  return l ? "nested gzip stream at its compressed byte" : "gzip stream at compressed byte";
}

/* The member's trailer against what it inflated to. Errors read exactly as
 * zlib's own check words them and where it stops: a bad CRC-32 right after
 * reading it (4 bytes before the member's end), a bad ISIZE at the end. */
static int check_trailer(ctr__framer *f, unsigned l)
{
  gz_state *g = &f->gz[l];
  if (load_le32(g->tail) != g->crc) {
    g->in -= GZ_TRAILER / 2; /* the stream is dead: its count is only reported from here */
    return stream_error(f, CTR_EDATA, "corrupt %s %llu: incorrect data check", where(f, l), (unsigned long long)g->in);
  }
  if (load_le32(g->tail + GZ_TRAILER / 2) != g->len)
    return stream_error(f, CTR_EDATA, "corrupt %s %llu: incorrect length check", where(f, l), (unsigned long long)g->in);
  return CTR_OK;
}

/* Zero padding seen after a member, told when it ends. */
static void padding_end(ctr__framer *f, unsigned l)
{
  gz_state *g = &f->gz[l];
  if (!g->padding)
    return;
  snprintf(f->msg, sizeof f->msg, "%llu bytes of zero padding after a %sgzip member, skipped",
           (unsigned long long)g->padding, l ? "nested " : "");
  g->padding = 0;
  skipped(f, f->pos, f->msg);
}

static int layer_feed(ctr__framer *f, unsigned l, const unsigned char *in, size_t n);

/* Bytes the last layer inflated: framed, exactly those within the output
 * limit whatever the chunking, and up to the ratio limit. */
static int frame_out(ctr__framer *f, const unsigned char *o, size_t got)
{
  uint64_t room = f->framed < f->lim.max_gzip_output ? f->lim.max_gzip_output - f->framed : 0;
  size_t take = got > room ? (size_t)room : got;
  f->framed += take;
  int rc = take ? ctr__frame_bytes(f, (const char *)o, take) : CTR_OK;
  if (rc != CTR_OK)
    return rc;
  if (take < got) {
    if (f->layers > 1)
      (void)where(f, 1);
    return stream_error(f, CTR_ELIMIT, "gzip expands beyond the limit of %llu bytes",
                        (unsigned long long)f->lim.max_gzip_output);
  }
  return CTR_OK;
}

/* Bytes layer l inflated. Its output is looked at once for the gzip magic
 * (the first byte may come alone): gzip again goes to the next layer. */
static int layer_out(ctr__framer *f, unsigned l, const unsigned char *o, size_t got)
{
  gz_state *g = &f->gz[l];
  if (!g->sniffed) {
    if (!g->held && o[0] == k_gzip_magic[0] && got == 1) {
      g->held = true;
      return CTR_OK;
    }
    g->sniffed = true;
    bool nested = g->held ? o[0] == k_gzip_magic[1] : o[0] == k_gzip_magic[0] && o[1] == k_gzip_magic[1];
    if (nested) {
      if (l + 1 == GZ_LAYERS) {
        (void)where(f, 1); /* the same whatever the chunking */
        return stream_error(f, CTR_EDATA, "gzip nested deeper than %d levels (decompress it before scanning)",
                            GZ_LAYERS);
      }
      f->layers = l + 2;
      f->gz[l + 1].ratio_at = GZ_RATIO_FLOOR;
      int rc = layer_begin_member(f, l + 1);
      if (rc != CTR_OK)
        return rc;
    }
    if (g->held) { /* the byte held back goes first */
      g->held = false;
      int rc = l + 1 < f->layers ? layer_feed(f, l + 1, k_gzip_magic, 1) : frame_out(f, k_gzip_magic, 1);
      if (rc != CTR_OK)
        return rc;
    }
  }
  return l + 1 < f->layers ? layer_feed(f, l + 1, o, got) : frame_out(f, o, got);
}

/* A member whose header zlib has just read, inflated in one libdeflate call
 * when its deflate data and trailer lie whole in zlib's input (a small log
 * file read in one feed): libdeflate inflates 2.5 times as fast as zlib, but
 * cannot take a stream in pieces. ISIZE is read from the input's last four
 * bytes, where a lone member's trailer ends. Only what cannot differ from
 * zlib's path is taken: output below both limits and the next gzip_ratio
 * check, the trailer matching; anything else (another member after this one,
 * a wrong guess, corrupt data, out of memory) leaves zlib where it stood,
 * after the header, to inflate the member and word any error as before.
 * *taken: the member is done. */
static int try_whole(ctr__framer *f, unsigned l, bool *taken)
{
  gz_keep *k = &f->gzk[l];
  gz_state *g = &f->gz[l];
  z_stream *z = &k->z;
  *taken = false;
  g->whole_tried = true;
  if (z->avail_in <= GZ_TRAILER)
    return CTR_OK;
  const unsigned char *in = z->next_in;
  size_t guess = load_le32(in + z->avail_in - 4);
  bool last = l + 1 == f->layers;
  if (guess == 0 || guess > GZ_WHOLE_MAX || g->out + guess >= g->ratio_at ||
      (last && f->framed + guess > f->lim.max_gzip_output))
    return CTR_OK;
  if (!k->inflater && !(k->inflater = libdeflate_alloc_decompressor()))
    return CTR_OK;
  if (k->whole_cap < guess) {
    unsigned char *w = realloc(k->whole, guess);
    if (!w)
      return CTR_OK;
    k->whole = w;
    k->whole_cap = guess;
  }
  size_t used = 0, got = 0;
  if (libdeflate_deflate_decompress_ex(k->inflater, in, z->avail_in, k->whole, guess, &used, &got) !=
          LIBDEFLATE_SUCCESS ||
      z->avail_in - used < GZ_TRAILER || load_le32(in + used) != libdeflate_crc32(0, k->whole, got) ||
      load_le32(in + used + 4) != (uint32_t)got)
    return CTR_OK;
  used += GZ_TRAILER;
  z->next_in += used;
  z->avail_in -= (uInt)used;
  g->in += used;
  g->out += got;
  g->member_open = false;
  k->whole_members++;
  *taken = true;
  return got ? layer_out(f, l, k->whole, got) : CTR_OK;
}

static int layer_feed(ctr__framer *f, unsigned l, const unsigned char *in, size_t n)
{
  z_stream *z = &f->gzk[l].z;
  gz_state *g = &f->gz[l];
  bool more_out = false; /* the last call filled the output: zlib may hold more */
  for (;;) {
    if (z->avail_in == 0 && n > 0) {
      uInt take = n > UINT_MAX ? UINT_MAX : (uInt)n;
      z->next_in = in;
      z->avail_in = take;
      in += take;
      n -= take;
    }
    if (z->avail_in == 0 && !more_out)
      return CTR_OK;
    if (!g->member_open) { /* bytes after a member's end start the next member */
      /* ... except zero bytes, which never begin one: padding (tape and
       * block devices, some uploaders) is skipped and told once. */
      while (z->avail_in > 0 && *z->next_in == 0) {
        z->next_in++;
        z->avail_in--;
        g->in++;
        g->padding++;
      }
      if (z->avail_in == 0)
        continue;
      padding_end(f, l);
      int rc = layer_begin_member(f, l);
      if (rc != CTR_OK)
        return rc;
    }
    if (g->header_done && !g->whole_tried) {
      bool taken;
      int rc = try_whole(f, l, &taken);
      if (rc != CTR_OK)
        return rc;
      if (taken) {
        more_out = false;
        continue;
      }
    }
    /* The last layer produces at most one byte past the limit, so the
     * input read when it is hit does not depend on the chunking. */
    bool last = l + 1 == f->layers;
    uint64_t room = !last ? UINT64_MAX
                    : f->framed < f->lim.max_gzip_output ? f->lim.max_gzip_output - f->framed
                                                         : 0;
    size_t cap = room < GZ_OUT_SIZE ? (size_t)room + 1 : GZ_OUT_SIZE;
    /* Until its output has been looked at for gzip again, a layer inflates
     * two bytes (one after one held back); layer_out decides where they go,
     * frame_out holds the limit. */
    if (!g->sniffed)
      cap = g->held ? 1 : 2;
    /* Output stops exactly where gzip_ratio is checked: the input read to
     * produce it, so the verdict, do not depend on the chunking. */
    if (g->ratio_at - g->out < cap)
      cap = (size_t)(g->ratio_at - g->out);
    unsigned char *out = f->gzk[l].out;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    uInt before = z->avail_in;
    const unsigned char *used = z->next_in;
    /* Z_BLOCK until the header is read: zlib then stops before the first
     * deflate block, and its check goes off before any byte is inflated. */
    int zr = inflate(z, g->header_done ? Z_NO_FLUSH : Z_BLOCK);
    size_t consumed = before - z->avail_in;
    g->in += consumed;
    keep_tail(g, used, consumed);
    size_t got = cap - z->avail_out;
    if (got > 0) { /* every byte inflated is in the check, before any is framed */
      g->crc = libdeflate_crc32(g->crc, out, got);
      g->len += (uint32_t)got;
    }
    if (!g->header_done && (z->data_type & 128)) {
      g->header_done = true;
      g->data_at = g->in;
      (void)inflateValidate(z, 0); /* fails only on a stream never initialised */
    }
    g->out += got;
    if (got) {
      int rc = layer_out(f, l, out, got);
      if (rc != CTR_OK)
        return rc;
    }
    /* Past a floor, so that small inputs are never stopped: beyond what any
     * CloudTrail data compresses to, an input only costs time. Each layer
     * against its own input. */
    if (g->out == g->ratio_at) {
      if (g->out / f->lim.max_gzip_ratio > g->in) {
        (void)where(f, l);
        return stream_error(f, CTR_ELIMIT,
                            "gzip expands more than %llu times its compressed size (limit gzip_ratio) at %scompressed "
                            "byte %llu",
                            (unsigned long long)f->lim.max_gzip_ratio, l ? "the nested stream's " : "",
                            (unsigned long long)g->in);
      }
      g->ratio_at += GZ_RATIO_STEP;
    }
    more_out = false;
    switch (zr) {
    case Z_STREAM_END: {
      g->member_open = false;
      int rc = check_trailer(f, l);
      if (rc != CTR_OK)
        return rc;
      break;
    }
    case Z_OK:
      more_out = z->avail_out == 0;
      break;
    case Z_BUF_ERROR: /* no progress: more input needed */
      if (z->avail_in > 0)
        return stream_error(f, CTR_EDATA, "corrupt %s %llu: no progress", where(f, l), (unsigned long long)g->in);
      break;
    case Z_MEM_ERROR:
      return CTR_ENOMEM;
    default:
      return stream_error(f, CTR_EDATA, "corrupt %s %llu: %s", where(f, l), (unsigned long long)g->in,
                          z->msg ? z->msg : "invalid data");
    }
  }
}

int ctr__gz_pass_on(ctr__framer *f, const unsigned char *p, size_t n)
{
  return f->mode == IN_GZIP ? layer_feed(f, 0, p, n) : ctr__frame_bytes(f, (const char *)p, n);
}

static int begin_gzip(ctr__framer *f)
{
  f->mode = IN_GZIP;
  f->layers = 1;
  f->gz[0].ratio_at = GZ_RATIO_FLOOR;
  return layer_begin_member(f, 0);
}

int ctr__gz_sniff(ctr__framer *f, const unsigned char **p, size_t *n)
{
  if (!f->held_magic) {
    if ((*p)[0] != k_gzip_magic[0]) {
      f->mode = IN_PLAIN;
      return CTR_OK;
    }
    if (*n == 1) {
      f->held_magic = true;
      (*p)++;
      (*n)--;
      return CTR_OK;
    }
    if ((*p)[1] != k_gzip_magic[1]) {
      f->mode = IN_PLAIN;
      return CTR_OK;
    }
    return begin_gzip(f);
  }
  f->held_magic = false;
  f->mode = IN_PLAIN;
  if ((*p)[0] == k_gzip_magic[1]) {
    int rc = begin_gzip(f);
    if (rc != CTR_OK)
      return rc;
  }
  return ctr__gz_pass_on(f, k_gzip_magic, 1);
}

int ctr__gz_finish(ctr__framer *f)
{
  if (f->mode != IN_GZIP)
    return CTR_OK;
  for (unsigned l = 0; l < f->layers; l++) {
    gz_state *g = &f->gz[l];
    padding_end(f, l);
    if (g->member_open)
      return stream_error(f, CTR_EDATA,
                          "truncated %sgzip stream: input ended inside a compressed member at %scompressed byte %llu",
                          l ? "nested " : "", l ? "its " : "", (unsigned long long)g->in);
    if (g->held) { /* a lone 1f byte: not gzip after all */
      g->held = false;
      int rc = l + 1 < f->layers ? layer_feed(f, l + 1, k_gzip_magic, 1) : frame_out(f, k_gzip_magic, 1);
      if (rc != CTR_OK)
        return rc;
    }
  }
  return CTR_OK;
}

void ctr__gz_free(ctr__framer *f)
{
  for (unsigned l = 0; l < GZ_LAYERS; l++) {
    if (f->gzk[l].ready)
      inflateEnd(&f->gzk[l].z);
    free(f->gzk[l].out);
    free(f->gzk[l].whole);
    libdeflate_free_decompressor(f->gzk[l].inflater);
  }
}

void ctr__gz_reset(ctr__framer *f)
{
  /* A stop may have left input queued in zlib: it pointed at a gone buffer. */
  for (unsigned l = 0; l < GZ_LAYERS; l++) {
    f->gzk[l].z.next_in = NULL;
    f->gzk[l].z.avail_in = 0;
  }
}
