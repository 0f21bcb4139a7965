/* frame_gzip.c - the framer's input layer: sniffs the gzip magic (1f 8b)
 * and inflates, member after member, with zlib, each member's CRC-32 checked
 * with libdeflate; a member whole in one feed (a small log file) is inflated
 * by libdeflate in one call (try_whole); a large member's blocks past its
 * first 32 KiB are inflated by ISA-L where zlib would say the same
 * (frame_isal.c); zero padding after a member is
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
  g->data = D_ZLIB;
  g->member_out = 0;
  g->skip = 0;
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

/* The output a layer may make in one call: the last layer produces at most
 * one byte past the limit, so the input read when it is hit does not depend
 * on the chunking; until its output has been looked at for gzip again, a
 * layer inflates two bytes (one after one held back), layer_out decides where
 * they go, frame_out holds the limit; and output stops exactly where
 * gzip_ratio is checked: the input read to produce it, so the verdict, do not
 * depend on the chunking. */
size_t ctr__gz_cap(ctr__framer *f, unsigned l)
{
  gz_state *g = &f->gz[l];
  bool last = l + 1 == f->layers;
  uint64_t room = !last ? UINT64_MAX
                  : f->framed < f->lim.max_gzip_output ? f->lim.max_gzip_output - f->framed
                                                       : 0;
  size_t cap = room < GZ_OUT_SIZE ? (size_t)room + 1 : GZ_OUT_SIZE;
  if (!g->sniffed)
    cap = g->held ? 1 : 2;
  if (g->ratio_at - g->out < cap)
    cap = (size_t)(g->ratio_at - g->out);
  return cap;
}

/* Past a floor, so that small inputs are never stopped: beyond what any
 * CloudTrail data compresses to, an input only costs time. Each layer
 * against its own input, where zlib has read it when the output reaches the
 * check. */
static int ratio_check(ctr__framer *f, unsigned l)
{
  gz_state *g = &f->gz[l];
  if (g->out != g->ratio_at)
    return CTR_OK;
  if (g->out / f->lim.max_gzip_ratio > g->in) {
    (void)where(f, l);
    return stream_error(f, CTR_ELIMIT,
                        "gzip expands more than %llu times its compressed size (limit gzip_ratio) at %scompressed "
                        "byte %llu",
                        (unsigned long long)f->lim.max_gzip_ratio, l ? "the nested stream's " : "",
                        (unsigned long long)g->in);
  }
  g->ratio_at += GZ_RATIO_STEP;
  return CTR_OK;
}

int ctr__gz_inflated(ctr__framer *f, unsigned l, const unsigned char *o, size_t got)
{
  gz_state *g = &f->gz[l];
  g->crc = libdeflate_crc32(g->crc, o, got); /* every byte inflated is in the check, before any is framed */
  g->len += (uint32_t)got;
  g->out += got;
  g->member_out += got;
  return layer_out(f, l, o, got);
}

int ctr__gz_trailer(ctr__framer *f, unsigned l, const unsigned char *p, size_t n)
{
  gz_state *g = &f->gz[l];
  keep_tail(g, p, n);
  g->tlen += (unsigned)n;
  if (g->tlen < GZ_TRAILER)
    return CTR_OK;
  g->member_open = false;
  g->data = D_ZLIB;
  return check_trailer(f, l);
}

/* Whether zlib stops at blocks' ends (Z_BLOCK) for ISA-L to take the member
 * (past its first 32 KiB: ctr__isal_begin): only where no check or limit falls
 * in the call, since zlib reads on past a block's end when its output is
 * full, and that is where a limit's offset is read. */
static bool isal_wanted(ctr__framer *f, unsigned l)
{
  gz_state *g = &f->gz[l];
  if (l != 0 || f->layers != 1 || !g->sniffed || g->replaying || g->skip || ctr__gz_zlib_only)
    return false;
  uint64_t room = f->framed < f->lim.max_gzip_output ? f->lim.max_gzip_output - f->framed : 0;
  return room > GZ_OUT_SIZE && g->ratio_at - g->out > GZ_OUT_SIZE && ctr__isal_usable();
}

/* One inflate call of zlib: the gzip stream z (a member's header, its first
 * blocks), or the raw stream that took the member from ISA-L (raw: the
 * trailer is read after it, and output already framed is dropped).
 * *more_out: the output filled, zlib may hold more. */
static int zlib_call(ctr__framer *f, unsigned l, z_stream *z, bool raw, bool *more_out)
{
  gz_keep *k = &f->gzk[l];
  gz_state *g = &f->gz[l];
  *more_out = false;
  if (!raw && g->header_done && !g->whole_tried) {
    bool taken;
    int rc = try_whole(f, l, &taken);
    if (rc != CTR_OK || taken)
      return rc;
  }
  size_t cap = g->skip ? (g->skip < GZ_OUT_SIZE ? (size_t)g->skip : GZ_OUT_SIZE) : ctr__gz_cap(f, l);
  bool header_done = g->header_done || raw;
  /* Z_BLOCK until the header is read: zlib then stops before the first
   * deflate block, and its check goes off before any byte is inflated. */
  int flush = !header_done || isal_wanted(f, l) ? Z_BLOCK : Z_NO_FLUSH;
  unsigned char *out = k->out;
  z->next_out = out;
  z->avail_out = (uInt)cap;
  uInt before = z->avail_in;
  const unsigned char *used = z->next_in;
  int zr = inflate(z, flush);
  size_t consumed = before - z->avail_in;
  g->in += consumed;
  keep_tail(g, used, consumed);
  size_t got = cap - z->avail_out;
  if (raw && zr == Z_STREAM_END) { /* the gzip stream would read the trailer in the same call */
    size_t take = z->avail_in < GZ_TRAILER ? z->avail_in : GZ_TRAILER;
    keep_tail(g, z->next_in, take);
    g->in += take;
    g->tlen = (unsigned)take;
    z->next_in += take;
    z->avail_in -= (uInt)take;
  }
  if (!header_done && (z->data_type & 128)) {
    g->header_done = true;
    g->data_at = g->in;
    (void)inflateValidate(z, 0); /* fails only on a stream never initialised */
  }
  int rc = CTR_OK;
  if (g->skip) { /* made again: framed before zlib took over */
    g->skip -= got;
    if (!g->skip)
      rc = ratio_check(f, l); /* the check ISA-L's bound could not pass is here */
  } else if (got) {
    rc = ctr__gz_inflated(f, l, out, got);
    if (rc == CTR_OK)
      rc = ratio_check(f, l);
  }
  if (rc != CTR_OK)
    return rc;
  switch (zr) {
  case Z_STREAM_END:
    if (raw) {
      g->data = D_TRAILER;
      return ctr__gz_trailer(f, l, NULL, 0); /* what came of it is read above */
    }
    g->member_open = false;
    return check_trailer(f, l);
  case Z_OK:
    *more_out = z->avail_out == 0;
    /* at a block's end (not the last block's): ISA-L may take the member */
    if (flush == Z_BLOCK && header_done && (z->data_type & 128) && !(z->data_type & 64)) {
      bool taken;
      return ctr__isal_begin(f, l, z, &taken);
    }
    return CTR_OK;
  case Z_BUF_ERROR: /* no progress: more input needed */
    if (z->avail_in > 0)
      return stream_error(f, CTR_EDATA, "corrupt %s %llu: no progress", where(f, l), (unsigned long long)g->in);
    return CTR_OK;
  case Z_MEM_ERROR:
    return CTR_ENOMEM;
  default:
    return stream_error(f, CTR_EDATA, "corrupt %s %llu: %s", where(f, l), (unsigned long long)g->in,
                        z->msg ? z->msg : "invalid data");
  }
}

/* zlib inflates from in[0..n) until it has read it all and output all it can,
 * the member ends, or ISA-L takes it. *used: bytes read. */
static int zlib_run(ctr__framer *f, unsigned l, const unsigned char *in, size_t n, size_t *used)
{
  gz_state *g = &f->gz[l];
  gz_data who = g->data;
  z_stream *z = who == D_RAW ? &f->gzk[l].zr : &f->gzk[l].z;
  uInt given = n > UINT_MAX ? UINT_MAX : (uInt)n;
  z->next_in = in;
  z->avail_in = given;
  int rc = CTR_OK;
  bool more_out = false;
  while (rc == CTR_OK && (z->avail_in > 0 || more_out) && g->member_open && g->data == who)
    rc = zlib_call(f, l, z, who == D_RAW, &more_out);
  *used = given - z->avail_in;
  z->next_in = NULL; /* the caller's buffer: not kept past this call */
  z->avail_in = 0;
  return rc;
}

static int layer_feed_all(ctr__framer *f, unsigned l, const unsigned char *in, size_t n)
{
  gz_state *g = &f->gz[l];
  for (;;) {
    if (!g->member_open) { /* bytes after a member's end start the next member */
      /* ... except zero bytes, which never begin one: padding (tape and
       * block devices, some uploaders) is skipped and told once. */
      while (n > 0 && *in == 0) {
        in++;
        n--;
        g->in++;
        g->padding++;
      }
      if (n == 0)
        return CTR_OK;
      padding_end(f, l);
      int rc = layer_begin_member(f, l);
      if (rc != CTR_OK)
        return rc;
    }
    gz_data who = g->data;
    size_t used = 0, rewind = 0;
    int rc;
    if (who == D_ISAL) {
      rc = ctr__isal_step(f, l, in, n, &used, &rewind);
    } else if (who == D_TRAILER) {
      used = n < GZ_TRAILER - g->tlen ? n : GZ_TRAILER - g->tlen;
      g->in += used;
      rc = ctr__gz_trailer(f, l, in, used);
    } else {
      rc = zlib_run(f, l, in, n, &used);
    }
    in = in + used - rewind; /* rewind: bytes of this feed zlib reads again (frame_isal.c) */
    n = n + rewind - used;
    if (rc != CTR_OK)
      return rc;
    if (n == 0 && g->member_open && g->data == who) {
      if (who != D_ISAL)
        return CTR_OK;
      rc = ctr__isal_feed_end(f, l, in, &rewind); /* what the block read of this feed is kept */
      if (rc != CTR_OK || !rewind)
        return rc;
      in -= rewind;
      n += rewind;
    }
  }
}

/* Input bytes for layer l, in[0..n) borrowed for the call. */
static int layer_feed(ctr__framer *f, unsigned l, const unsigned char *in, size_t n)
{
  gz_state *g = &f->gz[l];
  uint64_t feed_at = g->feed_at; /* a feed read again inside another (frame_isal.c) */
  g->feed_at = g->in;
  int rc = layer_feed_all(f, l, in, n);
  g->feed_at = feed_at;
  return rc;
}

int ctr__gz_layer_feed(ctr__framer *f, unsigned l, const unsigned char *p, size_t n) { return layer_feed(f, l, p, n); }

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
    if (f->gzk[l].zr_ready)
      inflateEnd(&f->gzk[l].zr);
    ctr__isal_free(f->gzk[l].isal);
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
    f->gzk[l].zr.next_in = NULL;
    f->gzk[l].zr.avail_in = 0;
  }
}
