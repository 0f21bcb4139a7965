/* frame_isal.c - ISA-L (Intel's igzip, libisal) inflates the first gzip
 * layer's members past their first 32 KiB, about twice zlib's rate, while
 * every verdict stays zlib's: the message, the compressed offset, and the
 * bytes framed before it.
 *
 * - A deflate block at a time. Before ISA-L reads a block's header, the
 *   block's BFINAL bit is set in ISA-L's bit buffer, so ISA-L stops at the
 *   block's end (fed a whole feed it would run on, and only a block's start
 *   is a point zlib can resume from); the history goes to the next block
 *   with isal_inflate_set_dict (ISA-L does not keep it past a final block).
 * - ISA-L is given only what it decodes as zlib does. Over every one-bit
 *   flip of a 15 KB member (docs/performance.md), ISA-L fed it whole decodes
 *   on where zlib refuses a block's header (ISA-L accepts incomplete codes)
 *   and where a distance reaches before the stream's start with no window
 *   set; with zlib's own check of each header (Z_TREES on a raw stream) and
 *   the window always set, it output nothing zlib would not, and the output
 *   of a call that fails is never framed. As a margin that costs nothing,
 *   ISA-L reads only dynamic blocks whose distance table has no hole (zlib
 *   allows a single distance code), once the member has made 32 KiB.
 * - Anything else (another block type, a header refused or not whole in
 *   what has come, an error of ISA-L's, the output limit, a gzip_ratio check
 *   the bound cannot pass, too much input kept) hands the member to zlib's
 *   raw stream at the block's start: the window and the partial byte primed,
 *   the block's bytes read again feed by feed as they came (zlib's offsets
 *   at a limit depend on where feeds end), the output already framed
 *   dropped. zlib gives the verdict, or hands the member back to ISA-L at a
 *   later block's end.
 * - The trailer is read here and checked by frame_gzip.c.
 * Memory: a block's compressed bytes from earlier feeds are kept, at most
 * ISAL_KEEP_MAX, then zlib takes over. libisal is loaded at run time
 * (dlopen): without it, or with ctr__gz_zlib_only, zlib inflates it all. */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

bool ctr__gz_zlib_only;

#ifndef CTR_HAVE_ISAL

bool ctr__isal_usable(void) { return false; }
int ctr__isal_begin(ctr__framer *f, unsigned l, z_stream *z, bool *taken)
{
  CTR__UNUSED(f), CTR__UNUSED(l), CTR__UNUSED(z);
  *taken = false;
  return CTR_OK;
}
int ctr__isal_step(ctr__framer *f, unsigned l, const unsigned char *in, size_t n, size_t *used, size_t *rewind)
{
  CTR__UNUSED(f), CTR__UNUSED(l), CTR__UNUSED(in), CTR__UNUSED(n), CTR__UNUSED(used), CTR__UNUSED(rewind);
  return CTR_ESTATE; /* never in D_ISAL without ISA-L */
}
int ctr__isal_feed_end(ctr__framer *f, unsigned l, const unsigned char *end, size_t *rewind)
{
  CTR__UNUSED(f), CTR__UNUSED(l), CTR__UNUSED(end);
  *rewind = 0;
  return CTR_OK;
}
void ctr__isal_free(struct ctr__isal *s) { CTR__UNUSED(s); }
uint64_t ctr__isal_blocks(const ctr__framer *f)
{
  CTR__UNUSED(f);
  return 0;
}
size_t ctr__isal_kept_peak(const ctr__framer *f)
{
  CTR__UNUSED(f);
  return 0;
}

#else

#include <dlfcn.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>

#define ISAL_WIN 32768u                    /* deflate's window: no distance reaches further */
#define ISAL_KEEP_MAX ((size_t)1 << 20)    /* compressed bytes kept for zlib to read again */

static struct {
  void (*init)(struct inflate_state *);
  int (*set_dict)(struct inflate_state *, uint8_t *, uint32_t);
  int (*inflate)(struct inflate_state *);
  bool ok;
} isal;
static pthread_once_t isal_once = PTHREAD_ONCE_INIT;

/* Run time, so that a static build or a machine without libisal still links
 * and runs (zlib alone). The soname's ABI fixes struct inflate_state. */
static void isal_load(void)
{
  void *h = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!h)
    return;
  *(void **)&isal.init = dlsym(h, "isal_inflate_init");
  *(void **)&isal.set_dict = dlsym(h, "isal_inflate_set_dict");
  *(void **)&isal.inflate = dlsym(h, "isal_inflate");
  isal.ok = isal.init && isal.set_dict && isal.inflate;
}

bool ctr__isal_usable(void)
{
  pthread_once(&isal_once, isal_load);
  return isal.ok;
}

typedef struct ctr__isal {
  struct inflate_state st;
  z_stream zh; /* raw: checks each block's header */
  bool zh_ready;
  unsigned char win[ISAL_WIN];  /* the window at the block's start */
  uint32_t win_len;
  unsigned char hist[ISAL_WIN]; /* the last output */
  uint32_t hist_len;
  unsigned part_bits, part_val; /* the block's first bits: the rest of the byte before kept_at */
  uint64_t kept_at;             /* compressed offset of the block's first whole byte */
  unsigned char *kept;          /* bytes from kept_at of earlier feeds (up to the feed being read) */
  size_t kept_len, kept_cap, kept_peak;
  uint64_t *cuts; /* offsets where those feeds ended */
  size_t ncuts, cuts_cap;
  uint64_t block_out; /* the layer's output at the block's start */
  bool at_start;      /* at a block's start, its header not yet read */
  bool last;          /* the block is the member's last */
  uint64_t blocks;
} ctr__isal;

void ctr__isal_free(struct ctr__isal *s)
{
  if (!s)
    return;
  if (s->zh_ready)
    inflateEnd(&s->zh);
  free(s->kept);
  free(s->cuts);
  free(s);
}

uint64_t ctr__isal_blocks(const ctr__framer *f) { return f->gzk[0].isal ? f->gzk[0].isal->blocks : 0; }
size_t ctr__isal_kept_peak(const ctr__framer *f) { return f->gzk[0].isal ? f->gzk[0].isal->kept_peak : 0; }

static uint64_t low_bits(uint64_t v, unsigned n) { return n >= 64 ? v : v & (((uint64_t)1 << n) - 1); }

/* The last ISAL_WIN bytes of output, for the next block's window. */
static void keep_hist(ctr__isal *s, const unsigned char *o, size_t got)
{
  if (got >= ISAL_WIN) {
    memcpy(s->hist, o + got - ISAL_WIN, ISAL_WIN);
    s->hist_len = ISAL_WIN;
    return;
  }
  size_t keep = s->hist_len + got > ISAL_WIN ? ISAL_WIN - got : s->hist_len;
  memmove(s->hist, s->hist + s->hist_len - keep, keep);
  memcpy(s->hist + keep, o, got);
  s->hist_len = (uint32_t)(keep + got);
}

int ctr__isal_begin(ctr__framer *f, unsigned l, z_stream *z, bool *taken)
{
  gz_state *g = &f->gz[l];
  *taken = false;
  if (l != 0 || f->layers != 1 || ctr__gz_zlib_only || g->replaying || g->skip || g->member_out < ISAL_WIN ||
      !ctr__isal_usable())
    return CTR_OK;
  ctr__isal *s = f->gzk[l].isal;
  if (!s && !(s = f->gzk[l].isal = calloc(1, sizeof *s)))
    return CTR_OK; /* zlib goes on */
  uInt wl = 0;
  if (inflateGetDictionary(z, s->win, &wl) != Z_OK)
    return CTR_OK;
  s->win_len = wl;
  memcpy(s->hist, s->win, wl);
  s->hist_len = wl;
  isal.init(&s->st); /* raw deflate, the whole window */
  /* zlib stopped after a block's end code: the unused bits of the last byte it read begin the next block */
  unsigned bits = (unsigned)z->data_type & 7;
  s->part_bits = bits;
  s->part_val = bits ? g->tail[GZ_TRAILER - 1] >> (8 - bits) : 0;
  s->st.read_in = s->part_val;
  s->st.read_in_length = (int32_t)bits;
  s->kept_at = g->in;
  s->kept_len = 0;
  s->ncuts = 0;
  s->block_out = g->out;
  s->at_start = true;
  g->data = D_ISAL;
  *taken = true;
  return CTR_OK;
}

/* zlib's check of the header that starts with `len` bits of `bits` and goes
 * on in in[0..n): 2, a header zlib accepts, of the member's last block; 1,
 * of another; 0, refused, or not whole in what has come. */
static int header_check(ctr__isal *s, uint64_t bits, unsigned len, const unsigned char *in, size_t n)
{
  z_stream *zh = &s->zh;
  if (!s->zh_ready) {
    if (inflateInit2(zh, -MAX_WBITS) != Z_OK)
      return 0;
    s->zh_ready = true;
  } else if (inflateReset(zh) != Z_OK) {
    return 0;
  }
  unsigned part = len % 8, k = len / 8;
  if (part && inflatePrime(zh, (int)part, (int)low_bits(bits, part)) != Z_OK)
    return 0;
  unsigned char whole[8], none;
  for (unsigned i = 0; i < k; i++)
    whole[i] = (unsigned char)(bits >> (part + 8 * i));
  zh->next_out = &none;
  zh->avail_out = 0;
  zh->next_in = whole;
  zh->avail_in = k;
  int zr = inflate(zh, Z_TREES); /* stops at the header's end */
  if ((zr == Z_OK || zr == Z_BUF_ERROR) && !(zh->data_type & 256) && n) {
    zh->next_in = in;
    zh->avail_in = n > UINT_MAX ? UINT_MAX : (uInt)n;
    zr = inflate(zh, Z_TREES);
  }
  if ((zr != Z_OK && zr != Z_BUF_ERROR) || !(zh->data_type & 256))
    return 0;
  return zh->data_type & 64 ? 2 : 1;
}

/* zlib's raw stream takes the member at the block's start, reads the
 * block's bytes from earlier feeds again (feed by feed), and *rewind bytes of
 * the feed being read are read again by the caller. */
static int takeover(ctr__framer *f, unsigned l, size_t *rewind)
{
  gz_keep *k = &f->gzk[l];
  gz_state *g = &f->gz[l];
  ctr__isal *s = k->isal;
  z_stream *zr = &k->zr;
  if (!k->zr_ready) {
    if (inflateInit2(zr, -MAX_WBITS) != Z_OK)
      return CTR_ENOMEM;
    k->zr_ready = true;
  } else if (inflateReset(zr) != Z_OK) {
    return CTR_ENOMEM;
  }
  if ((s->win_len && inflateSetDictionary(zr, s->win, s->win_len) != Z_OK) ||
      (s->part_bits && inflatePrime(zr, (int)s->part_bits, (int)s->part_val) != Z_OK))
    return CTR_ENOMEM; /* neither fails on a raw stream just reset */
  uint64_t from = s->kept_at > g->feed_at ? s->kept_at : g->feed_at;
  *rewind = (size_t)(g->in - from);
  g->skip = g->out - s->block_out;
  g->in = s->kept_at;
  g->data = D_RAW;
  s->at_start = false;
  /* Feed by feed as they came: zlib's read-ahead where a limit is reached
   * stops at a feed's end. (Only output zlib makes from kept bytes that ISA-L
   * had not could meet a limit in them; no case tested does.) */
  g->replaying = true; /* kept is read: no switch back to ISA-L meanwhile */
  int rc = CTR_OK;
  uint64_t at = s->kept_at;
  size_t off = 0;
  for (size_t i = 0; rc == CTR_OK && off < s->kept_len; i++) {
    uint64_t to = i < s->ncuts ? s->cuts[i] : s->kept_at + s->kept_len;
    rc = ctr__gz_layer_feed(f, l, s->kept + off, (size_t)(to - at));
    off += (size_t)(to - at);
    at = to;
  }
  g->replaying = false;
  s->kept_len = 0;
  s->ncuts = 0;
  return rc;
}

/* At a block's start, in[0..n) the input not yet read: 1 if ISA-L reads
 * the block (its header read, nothing output), 0 if zlib must. Bytes read:
 * *used (and g->in). */
static int block_start(ctr__framer *f, unsigned l, const unsigned char *in, size_t n, size_t *used)
{
  gz_state *g = &f->gz[l];
  ctr__isal *s = f->gzk[l].isal;
  struct inflate_state *st = &s->st;
  *used = 0;
  unsigned len = (unsigned)st->read_in_length;
  uint64_t bits = low_bits(st->read_in, len), look = bits;
  unsigned have = len;
  for (size_t i = 0; have < 3 && i < n; i++, have += 8)
    look |= (uint64_t)in[i] << have;
  if (have < 3 || ((look >> 1) & 3) != 2) /* not a dynamic block */
    return 0;
  int hv = header_check(s, bits, len, in, n);
  if (hv == 0)
    return 0;
  s->last = hv == 2;
  st->block_state = ISAL_BLOCK_NEW_HDR;
  st->bfinal = 0;
  st->total_out = 0; /* with the dictionary's length, what a distance may reach */
  if (isal.set_dict(st, s->win, s->win_len) != COMP_OK)
    return 0;
  st->read_in = bits;
  if (len == 0) {
    st->read_in = in[0];
    st->read_in_length = 8;
    *used = 1;
    g->in++;
  }
  st->read_in |= 1; /* BFINAL: ISA-L stops at the block's end */
  /* The header read and the tables built, no output yet: a hole in the
   * distance table (zlib allows one code) is zlib's to decode. */
  size_t avail = n - *used > UINT32_MAX ? UINT32_MAX : n - *used;
  st->next_in = (uint8_t *)(uintptr_t)(in + *used);
  st->avail_in = (uint32_t)avail;
  st->next_out = f->gzk[l].out;
  st->avail_out = 0;
  int ret = isal.inflate(st);
  size_t consumed = avail - st->avail_in;
  *used += consumed;
  g->in += consumed;
  if (ret < 0 || st->block_state == ISAL_BLOCK_NEW_HDR || st->block_state == ISAL_BLOCK_HDR)
    return 0;
  for (size_t e = 0; e < sizeof st->dist_huff_code.short_code_lookup / sizeof st->dist_huff_code.short_code_lookup[0];
       e++)
    if (!st->dist_huff_code.short_code_lookup[e])
      return 0;
  s->at_start = false;
  s->blocks++;
  return 1;
}

/* ISA-L stopped at a block's end: the trailer follows the last block, else
 * the next block starts with the bits ISA-L holds. */
static int block_end(ctr__framer *f, unsigned l)
{
  gz_state *g = &f->gz[l];
  ctr__isal *s = f->gzk[l].isal;
  struct inflate_state *st = &s->st;
  unsigned len = (unsigned)st->read_in_length, part = len % 8, k = len / 8;
  uint64_t bits = low_bits(st->read_in, len);
  unsigned char whole[8];
  for (unsigned i = 0; i < k; i++)
    whole[i] = (unsigned char)(bits >> (part + 8 * i));
  if (s->last) { /* the rest of the byte is padding; read bytes are the trailer's */
    g->data = D_TRAILER;
    g->tlen = 0;
    return ctr__gz_trailer(f, l, whole, k);
  }
  memcpy(s->win, s->hist, s->hist_len);
  s->win_len = s->hist_len;
  s->part_bits = part;
  s->part_val = (unsigned)low_bits(bits, part);
  uint64_t at = g->in - k;
  if (at < g->feed_at) { /* its first bytes came in an earlier feed: the end of kept */
    size_t keep = (size_t)(g->feed_at - at);
    memmove(s->kept, s->kept + s->kept_len - keep, keep);
    s->kept_len = keep;
  } else {
    s->kept_len = 0;
  }
  size_t c = 0;
  for (size_t i = 0; i < s->ncuts; i++)
    if (s->cuts[i] > at)
      s->cuts[c++] = s->cuts[i];
  s->ncuts = c;
  s->kept_at = at;
  s->block_out = g->out;
  s->at_start = true;
  return CTR_OK;
}

int ctr__isal_step(ctr__framer *f, unsigned l, const unsigned char *in, size_t n, size_t *used, size_t *rewind)
{
  gz_state *g = &f->gz[l];
  ctr__isal *s = f->gzk[l].isal;
  struct inflate_state *st = &s->st;
  unsigned char *out = f->gzk[l].out;
  *used = 0;
  *rewind = 0;
  for (;;) {
    if (s->at_start) {
      size_t read;
      int ok = block_start(f, l, in + *used, n - *used, &read);
      *used += read;
      if (!ok)
        return takeover(f, l, rewind);
    }
    size_t cap = ctr__gz_cap(f, l);
    size_t avail = n - *used > UINT32_MAX ? UINT32_MAX : n - *used;
    st->next_in = (uint8_t *)(uintptr_t)(in + *used);
    st->avail_in = (uint32_t)avail;
    st->next_out = out;
    st->avail_out = (uint32_t)cap;
    enum isal_block_state before = st->block_state;
    int ret = isal.inflate(st);
    size_t consumed = avail - st->avail_in, got = cap - st->avail_out;
    *used += consumed;
    g->in += consumed;
    uint64_t room = f->framed < f->lim.max_gzip_output ? f->lim.max_gzip_output - f->framed : 0;
    /* an error, or over the output limit: zlib says where (nothing of this call framed) */
    if (ret < 0 || got > room)
      return takeover(f, l, rewind);
    if (got) {
      keep_hist(s, out, got);
      int rc = ctr__gz_inflated(f, l, out, got);
      if (rc != CTR_OK)
        return rc;
      /* zlib has read at least up to the block's start to make output past it */
      if (g->out == g->ratio_at) {
        if (g->out / f->lim.max_gzip_ratio > s->kept_at - (s->part_bits != 0))
          return takeover(f, l, rewind);
        g->ratio_at += GZ_RATIO_STEP;
      }
    }
    if (st->block_state == ISAL_BLOCK_FINISH) {
      int rc = block_end(f, l);
      if (rc != CTR_OK || g->data != D_ISAL)
        return rc;
      continue;
    }
    if (*used == n && got < cap)
      return CTR_OK;
    if (!consumed && !got && st->block_state == before) /* no progress with input to read: not expected */
      return takeover(f, l, rewind);
  }
}

int ctr__isal_feed_end(ctr__framer *f, unsigned l, const unsigned char *end, size_t *rewind)
{
  gz_state *g = &f->gz[l];
  ctr__isal *s = f->gzk[l].isal;
  *rewind = 0;
  uint64_t from = s->kept_at > g->feed_at ? s->kept_at : g->feed_at;
  size_t add = (size_t)(g->in - from);
  if (s->kept_len + add > ISAL_KEEP_MAX)
    return takeover(f, l, rewind);
  if (s->kept_len + add > s->kept_cap || s->ncuts == s->cuts_cap) {
    size_t cap = s->kept_cap ? s->kept_cap : 4096;
    while (cap < s->kept_len + add)
      cap *= 2;
    unsigned char *k = cap != s->kept_cap ? realloc(s->kept, cap) : s->kept;
    size_t ccap = s->ncuts == s->cuts_cap ? (s->cuts_cap ? 2 * s->cuts_cap : 64) : s->cuts_cap;
    uint64_t *c = ccap != s->cuts_cap ? realloc(s->cuts, ccap * sizeof *c) : s->cuts;
    if (k)
      s->kept = k, s->kept_cap = cap;
    if (c)
      s->cuts = c, s->cuts_cap = ccap;
    if (!k || !c)
      return takeover(f, l, rewind); /* zlib reads it all again from the block's start */
  }
  memcpy(s->kept + s->kept_len, end - add, add);
  s->kept_len += add;
  if (s->kept_len > s->kept_peak)
    s->kept_peak = s->kept_len;
  if (g->in > s->kept_at)
    s->cuts[s->ncuts++] = g->in;
  return CTR_OK;
}

#endif
