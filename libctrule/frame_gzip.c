/* frame_gzip.c - the framer's input layer: sniffs the gzip magic (1f 8b)
 * and inflates, member after member, with the output bounded by
 * gzip_output and gzip_ratio and each member's CRC-32 checked with
 * libdeflate; zero padding after a member is skipped; otherwise passes the
 * bytes through. */
#include "frame.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>

static int gz_begin_member(ctr__framer *f)
{
  if (!f->zout && !(f->zout = malloc(GZ_OUT_SIZE)))
    return CTR_ENOMEM;
  int zr = f->z_ready ? inflateReset(&f->z) : inflateInit2(&f->z, 16 + MAX_WBITS);
  /* zlib checks the header itself, its optional CRC (FHCRC) too: the check is
   * switched off only once the header is read (gz_feed), and inflateReset
   * keeps whatever the previous member left. */
  if (zr == Z_OK)
    zr = inflateValidate(&f->z, 1);
  if (zr != Z_OK)
    return CTR_ENOMEM;
  f->z_ready = true;
  f->member_open = true;
  f->header_done = false;
  f->member_crc = 0;
  f->member_len = 0;
  return CTR_OK;
}

/* Keeps the last GZ_TRAILER compressed bytes zlib consumed: when it reports a
 * member's end they are the trailer, which may have come over several feeds
 * whose buffers are gone. */
static void gz_keep_tail(ctr__framer *f, const unsigned char *used, size_t n)
{
  if (n >= GZ_TRAILER) {
    memcpy(f->tail, used + n - GZ_TRAILER, GZ_TRAILER);
  } else if (n > 0) {
    memmove(f->tail, f->tail + n, GZ_TRAILER - n);
    memcpy(f->tail + GZ_TRAILER - n, used, n);
  }
}

static uint32_t load_le32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The member's trailer against what it inflated to. Errors read exactly as
 * zlib's own check words them and where it stops: a bad CRC-32 right after
 * reading it (4 bytes before the member's end), a bad ISIZE at the end. */
static int gz_check_trailer(ctr__framer *f)
{
  if (load_le32(f->tail) != f->member_crc) {
    f->comp_in -= GZ_TRAILER / 2; /* the stream is dead: comp_in is only reported from here */
    return stream_error(f, CTR_EDATA, "corrupt gzip stream at compressed byte %llu: incorrect data check",
                        (unsigned long long)f->comp_in);
  }
  if (load_le32(f->tail + GZ_TRAILER / 2) != f->member_len)
    return stream_error(f, CTR_EDATA, "corrupt gzip stream at compressed byte %llu: incorrect length check",
                        (unsigned long long)f->comp_in);
  return CTR_OK;
}

/* Zero padding seen after a member, told when it ends. */
static void gz_padding_end(ctr__framer *f)
{
  if (!f->padding)
    return;
  snprintf(f->msg, sizeof f->msg, "%llu bytes of zero padding after a gzip member, skipped",
           (unsigned long long)f->padding);
  f->padding = 0;
  skipped(f, f->pos, f->msg);
}

/* Inflated bytes, in zout: framed, unless the stream turns out to hold
 * gzip again or to expand more than the ratio limit allows. */
static int gz_out_bytes(ctr__framer *f, size_t got)
{
  const unsigned char *o = f->zout;
  if (f->gz_out == got && o[0] == k_gzip_magic[0] && (got == 1 || o[1] == k_gzip_magic[1])) {
    f->comp_in = f->data_at; /* where the nested stream begins; the stream is dead: only reported from here */
    return stream_error(f, CTR_EDATA,
                        "nested gzip: the decompressed input is itself gzip-compressed (decompress it once before "
                        "scanning)");
  }
  int rc = ctr__frame_bytes(f, (const char *)o, got);
  if (rc != CTR_OK)
    return rc;
  /* Past a floor, so that small inputs are never stopped: beyond what any
   * CloudTrail data compresses to, an input only costs time. */
  if (f->gz_out > GZ_RATIO_FLOOR && f->gz_out / f->lim.max_gzip_ratio > f->comp_in)
    return stream_error(f, CTR_ELIMIT,
                        "gzip expands more than %llu times its compressed size (limit gzip_ratio) at compressed "
                        "byte %llu",
                        (unsigned long long)f->lim.max_gzip_ratio, (unsigned long long)f->comp_in);
  return CTR_OK;
}

static int gz_feed(ctr__framer *f, const unsigned char *in, size_t n)
{
  bool more_out = false; /* the last call filled the output: zlib may hold more */
  for (;;) {
    if (f->z.avail_in == 0 && n > 0) {
      uInt take = n > UINT_MAX ? UINT_MAX : (uInt)n;
      f->z.next_in = in;
      f->z.avail_in = take;
      in += take;
      n -= take;
    }
    if (f->z.avail_in == 0 && !more_out)
      return CTR_OK;
    if (!f->member_open) { /* bytes after a member's end start the next member */
      /* ... except zero bytes, which never begin one: padding (tape and
       * block devices, some uploaders) is skipped and told once. */
      while (f->z.avail_in > 0 && *f->z.next_in == 0) {
        f->z.next_in++;
        f->z.avail_in--;
        f->comp_in++;
        f->padding++;
      }
      if (f->z.avail_in == 0)
        continue;
      gz_padding_end(f);
      int rc = gz_begin_member(f);
      if (rc != CTR_OK)
        return rc;
    }
    /* Never produce more than one byte past the limit, so exactly the bytes
     * within it are framed whatever the chunking. */
    uint64_t room = f->gz_out < f->lim.max_gzip_output ? f->lim.max_gzip_output - f->gz_out : 0;
    size_t cap = room < GZ_OUT_SIZE ? (size_t)room + 1 : GZ_OUT_SIZE;
    f->z.next_out = f->zout;
    f->z.avail_out = (uInt)cap;
    uInt before = f->z.avail_in;
    const unsigned char *used = f->z.next_in;
    /* Z_BLOCK until the header is read: zlib then stops before the first
     * deflate block, and its check goes off before any byte is inflated. */
    int zr = inflate(&f->z, f->header_done ? Z_NO_FLUSH : Z_BLOCK);
    size_t consumed = before - f->z.avail_in;
    f->comp_in += consumed;
    gz_keep_tail(f, used, consumed);
    size_t got = cap - f->z.avail_out;
    if (got > 0) { /* every byte inflated is in the check, before any is framed */
      f->member_crc = libdeflate_crc32(f->member_crc, f->zout, got);
      f->member_len += (uint32_t)got;
    }
    if (!f->header_done && (f->z.data_type & 128)) {
      f->header_done = true;
      f->data_at = f->comp_in;
      (void)inflateValidate(&f->z, 0); /* fails only on a stream never initialised */
    }
    if (got > room) {
      int rc = room ? ctr__frame_bytes(f, (const char *)f->zout, (size_t)room) : CTR_OK;
      if (rc != CTR_OK)
        return rc;
      return stream_error(f, CTR_ELIMIT, "gzip expands beyond the limit of %llu bytes",
                          (unsigned long long)f->lim.max_gzip_output);
    }
    f->gz_out += got;
    if (got) {
      int rc = gz_out_bytes(f, got);
      if (rc != CTR_OK)
        return rc;
    }
    more_out = false;
    switch (zr) {
    case Z_STREAM_END: {
      f->member_open = false;
      int rc = gz_check_trailer(f);
      if (rc != CTR_OK)
        return rc;
      break;
    }
    case Z_OK:
      more_out = f->z.avail_out == 0;
      break;
    case Z_BUF_ERROR: /* no progress: more input needed */
      if (f->z.avail_in > 0)
        return stream_error(f, CTR_EDATA, "corrupt gzip stream at compressed byte %llu: no progress",
                            (unsigned long long)f->comp_in);
      break;
    case Z_MEM_ERROR:
      return CTR_ENOMEM;
    default:
      return stream_error(f, CTR_EDATA, "corrupt gzip stream at compressed byte %llu: %s",
                          (unsigned long long)f->comp_in, f->z.msg ? f->z.msg : "invalid data");
    }
  }
}

int ctr__gz_pass_on(ctr__framer *f, const unsigned char *p, size_t n)
{
  return f->mode == IN_GZIP ? gz_feed(f, p, n) : ctr__frame_bytes(f, (const char *)p, n);
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
    f->mode = (*p)[1] == k_gzip_magic[1] ? IN_GZIP : IN_PLAIN;
    return f->mode == IN_GZIP ? gz_begin_member(f) : CTR_OK;
  }
  f->held_magic = false;
  f->mode = (*p)[0] == k_gzip_magic[1] ? IN_GZIP : IN_PLAIN;
  if (f->mode == IN_GZIP) {
    int rc = gz_begin_member(f);
    if (rc != CTR_OK)
      return rc;
  }
  return ctr__gz_pass_on(f, k_gzip_magic, 1);
}

int ctr__gz_finish(ctr__framer *f)
{
  if (f->mode != IN_GZIP)
    return CTR_OK;
  gz_padding_end(f);
  if (f->member_open)
    return stream_error(f, CTR_EDATA,
                        "truncated gzip stream: input ended inside a compressed member at compressed byte %llu",
                        (unsigned long long)f->comp_in);
  return CTR_OK;
}
