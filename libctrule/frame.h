/* frame.h - the framer's state and what its three parts share (private to
 * frame.c, the JSON layer and the API; frame_gzip.c, the input layer; and
 * frame_envelope.c, the envelopes). See frame.c for how a stream is cut. */
#ifndef CTR_FRAME_H
#define CTR_FRAME_H

#include "event.h"
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

#define ZLIB_CONST /* next_in may point at the caller's const bytes */
#include <zlib.h>

#define GZ_OUT_SIZE (256u * 1024u) /* fewer records span two outputs (those take the slow path) */
#define GZ_TRAILER 8 /* a gzip member ends with CRC-32 and ISIZE, 4 bytes each, little-endian */
#define GZ_RATIO_FLOOR ((uint64_t)16 << 20) /* output below which gzip_ratio is not checked */
#define GZ_RATIO_STEP ((uint64_t)1 << 20)   /* ... and past it, checked every so many bytes */
#define KEY_MAX 16 /* room for the longest key we look for ("digestStartTime") */

typedef enum { IN_SNIFF = 0, IN_PLAIN, IN_GZIP } in_mode;

typedef enum {
  TOP_NONE = 0, /* between top-level values */
  TOP_BOM,      /* inside what may be a UTF-8 BOM at stream start */
  TOP_GARBAGE,  /* skipping a bad top-level value up to the next newline */
  TOP_SEEK,     /* after a broken value: looking for a line that can begin a record */
  TOP_OBJECT,
  TOP_ARRAY,
} top_state;

typedef enum { BAD_NONE = 0, BAD_SIZE, BAD_DEPTH } bad_kind;

/* What may come next in the innermost open container, outside strings. Only
 * structure is checked (jansson checks the rest of a record): it is what
 * tells a record cut short from a whole one. */
typedef enum {
  G_OBJ_OPEN = 0, /* after '{': a key or '}' */
  G_KEY,          /* after ',' in an object */
  G_COLON,        /* after a key */
  G_ARR_OPEN,     /* after '[': a value or ']' */
  G_VALUE,        /* after ':', or ',' in an array */
  G_COMMA,        /* after a value: ',' or the close */
  G_SCALAR,       /* inside a number or a literal */
} grammar;

/* Nesting the framer follows exactly; a value nested deeper is over every
 * depth limit (at most 2048) and is given up as broken. */
#define FRAME_NEST_MAX 4096

static const unsigned char k_gzip_magic[2] = {0x1f, 0x8b};
static const unsigned char k_bom[3] = {0xEF, 0xBB, 0xBF};

/* A gzip layer: the input's, and for gzip inside gzip a second one over
 * its output. zlib's own trailer check is off (its table CRC-32 took ~14% of
 * a gzipped scan): each member is checked here, with libdeflate's CRC-32. */
#define GZ_LAYERS 2
/* A member whose deflate data and trailer lie whole in one feed, inflating
 * to at most this (ISIZE read from the feed's end), is inflated in one call
 * by libdeflate, 2.5 times zlib's rate (frame_gzip.c: try_whole). */
#define GZ_WHOLE_MAX ((size_t)4 << 20)
struct ctr__isal; /* frame_isal.c: ISA-L's inflate of the first layer's large members */
typedef struct gz_keep { /* kept across reset */
  z_stream z;
  bool ready; /* inflateInit2 done: later members and streams only reset it */
  z_stream zr;    /* raw inflate: a member taken over from ISA-L (frame_isal.c) */
  bool zr_ready;
  struct ctr__isal *isal; /* the first layer's, made when a member first goes to ISA-L */
  unsigned char *out;
  unsigned char *whole;   /* libdeflate's output, grown up to GZ_WHOLE_MAX */
  size_t whole_cap;
  uint64_t whole_members; /* members inflated by libdeflate (tests tell the paths apart) */
  struct libdeflate_decompressor *inflater;
} gz_keep;
/* Who inflates a member's deflate data: zlib's gzip stream (the header, the
 * member's first 32 KiB, anything ISA-L is not given), ISA-L block by block,
 * zlib's raw stream after ISA-L (from a block's start), or nobody: the
 * trailer's 8 bytes are being read (frame_isal.c). */
typedef enum { D_ZLIB = 0, D_ISAL, D_RAW, D_TRAILER } gz_data;
typedef struct gz_state {
  bool member_open;           /* inside a gzip member */
  gz_data data;               /* who inflates it now */
  bool replaying;             /* zlib's raw stream is reading again what ISA-L read (no switch back meanwhile) */
  unsigned tlen;              /* trailer bytes read (D_TRAILER) */
  uint64_t skip;              /* output zlib's raw stream makes again, already framed: dropped */
  uint64_t member_out;        /* bytes the member inflated to so far */
  uint64_t feed_at;           /* compressed offset of the feed being read */
  bool header_done;           /* zlib has read the member's header (and checked its FHCRC) */
  bool whole_tried;           /* libdeflate was given its chance at the member (try_whole) */
  bool sniffed, held;         /* its output was looked at for gzip again; held: its first byte was 1f, alone */
  uint64_t in, out;           /* compressed bytes consumed, bytes inflated */
  uint64_t padding;           /* zero bytes after a member, not yet told */
  uint64_t data_at;           /* compressed offset of the member's first deflate byte (its header read) */
  uint64_t ratio_at;          /* output at which gzip_ratio is next checked */
  uint32_t crc;               /* CRC-32 of the member's bytes inflated so far */
  uint32_t len;               /* their count mod 2^32, as ISIZE holds it */
  unsigned char tail[GZ_TRAILER]; /* the last compressed bytes consumed: the trailer at member end */
} gz_state;

struct ctr__framer {
  /* Kept across reset. */
  ctr__frame_sink sink;
  ctr__frame_limits lim;
  gz_keep gzk[GZ_LAYERS];
  ctr__buf buf; /* the value being cut out, when it spans chunks */
  ctr__buf tmp; /* a re-serialised EventBridge detail (rare fallback), a parse error */
  ctr__buf replay; /* the bytes of a broken value, read again (broken) */
  ctr__buf held;   /* a record cut by a chunk's end, not framed yet (hold_record) */

  /* Everything from `sticky` on is zeroed by reset. */
  int sticky; /* non-zero: returned by every feed/finish until reset */
  bool busy, finished;

  /* Input layer. */
  in_mode mode;
  bool held_magic;  /* the first byte was 1f and the second is still to come */
  unsigned layers;  /* gzip layers open: 1, or 2 for gzip inside gzip */
  gz_state gz[GZ_LAYERS];
  uint64_t framed;  /* bytes the last layer inflated and framed */

  /* JSON layer: where we are. */
  uint64_t pos;      /* decompressed offset of chunk[0] */
  uint64_t index;    /* index of the next record, good or bad */
  const char *chunk; /* the chunk being framed */
  const char *fresh; /* its first byte not framed before (resume_held framed the others) */
  int64_t line_ws;   /* at chunk[0]: whitespace bytes since the last newline, -1 if other bytes */

  /* JSON layer: lexical state. */
  top_state top;
  unsigned bom_len;
  uint64_t depth; /* nesting from the top level: the top-level value is depth 1 */
  bool in_str, esc;
  uint64_t top_offset;
  uint64_t elem_depth; /* depth of the array whose elements are records, 0 if none */
  bool in_scalar;      /* inside a non-object scalar element */
  bool streamed;       /* the top-level object's Records array is being (or was) streamed */
  grammar g;           /* of the innermost open container */
  uint64_t objects[FRAME_NEST_MAX / 64]; /* bit d: the container at depth d is an object */

  /* Resynchronisation after a broken value (seek). */
  int64_t seek_ws;     /* whitespace bytes since the last newline, -1: not at a line start */
  int64_t seek_indent; /* the indentation a line must have to begin a record */
  bool seek_elem;      /* the value was an element: carry on in its array (seek_top) */
  top_state seek_top;
  bool replaying;      /* framing the replay buffer */

  /* A record whose '{' a chunk's end cut off from its end, held whole
   * (hold_record) so that the next chunk completes it for one walk instead
   * of the byte path framing it byte by byte. */
  uint64_t held_pos;     /* the stream offset of held's first byte, its '{' */
  int64_t held_line_ws;  /* line_ws at that byte */
  size_t held_tried;     /* held's length at its last walk, which failed */
  bool held_top;         /* a top-level value (else an element of a Records array) */
  bool held_off;         /* framing held itself with the byte path: hold nothing */

  /* Depth-1 keys of a top-level object. */
  bool in_key, key_esc, key_long, records_pending, odd_keys;
  unsigned keys;
  size_t key_len;
  char key[KEY_MAX];

  /* The value being cut out: a streamed record or a whole top-level object. */
  bool cap_on, in_record;
  bad_kind bad; /* over a limit: bytes dropped; a record reports it at once */
  uint64_t cap_offset;
  int64_t cap_indent; /* its indentation if it begins its line, else -1 */
  const char *span; /* its first byte not yet copied to buf, in this chunk */

  char msg[256];
};

/* ------------------------------------------------------------ sink calls
 * Ownership: what the framer hands its sink (record bytes, facts, messages)
 * is borrowed for the call only, the sink keeps no pointer into it; the
 * framer owns f->buf, f->tmp, f->replay, f->msg and the gzip layers' memory,
 * freed by ctr__framer_free (reset keeps the buffers). */

static inline int emit_walked(ctr__framer *f, const char *p, size_t n, uint64_t offset, const ctr__record_facts *facts)
{
  uint64_t index = f->index++;
  return f->sink.record ? f->sink.record(f->sink.ud, p, n, index, offset, facts) : CTR_OK;
}

/* A record the byte path framed (it spanned chunks, or came out of an
 * envelope): walked here, so that the index, the prefilter and the reads
 * member by member serve it as they serve a record cut in one chunk, rather
 * than a parse of the whole record. What the walk cannot vouch for (a \u
 * escape, invalid JSON) goes to the sink without facts: jansson decides. */
static inline int emit(ctr__framer *f, const char *p, size_t n, uint64_t offset)
{
  ctr__record_facts facts;
  bool walked = ctr__walk_record(p, n, &facts) && facts.depth <= f->lim.max_depth;
  return emit_walked(f, p, n, offset, walked ? &facts : NULL);
}

static inline void bad_record(ctr__framer *f, int status, uint64_t offset, const char *msg)
{
  uint64_t index = f->index++;
  if (f->sink.bad_record)
    f->sink.bad_record(f->sink.ud, status, index, offset, msg);
}

static inline void skipped(ctr__framer *f, uint64_t offset, const char *what)
{
  if (f->sink.skipped)
    f->sink.skipped(f->sink.ud, offset, what);
}

/* Frames the bytes of a held record with the byte path, as they would have
 * been framed had nothing been held (frame.c). */
int ctr__frame_release_held(ctr__framer *f);

/* The stream cannot be read further: every later call fails until reset.
 * The message is formatted into f->msg (truncated to its 256 bytes) and
 * lent to the sink. Returns status. */
__attribute__((format(printf, 3, 4))) static inline int stream_error(ctr__framer *f, int status, const char *fmt, ...)
{
  /* What came before the break is framed first, as the byte path framed
   * it as it came: its records and reports precede the stream's error. */
  if (f->held.len)
    (void)ctr__frame_release_held(f);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->msg, sizeof f->msg, fmt, ap);
  va_end(ap);
  f->sticky = status;
  if (f->sink.stream_error)
    f->sink.stream_error(f->sink.ud, status, f->gz[0].in, f->msg);
  return status;
}

static inline void report_limit(ctr__framer *f, bad_kind kind, uint64_t offset)
{
  if (kind == BAD_SIZE)
    snprintf(f->msg, sizeof f->msg, "record exceeds the limit of %llu bytes",
             (unsigned long long)f->lim.max_record_bytes);
  else
    snprintf(f->msg, sizeof f->msg, "JSON nesting deeper than %u", (unsigned)f->lim.max_depth);
  bad_record(f, CTR_ELIMIT, offset, f->msg);
}

static inline uint64_t offset_of(const ctr__framer *f, const char *p) { return f->pos + (uint64_t)(p - f->chunk); }

/* frame.c: frames decompressed bytes data[0..n), borrowed for the call (a
 * record spanning chunks is copied into f->buf, which the framer owns).
 * CTR_OK, the sink's non-zero return, or a sticky status. */
int ctr__frame_bytes(ctr__framer *f, const char *data, size_t n);

/* frame_envelope.c: a whole top-level object that is no log file: an
 * envelope's records are passed on (or it is skipped), any other object is
 * itself a record. s[0..n) is borrowed for the call (a re-serialised detail
 * goes to f->tmp); offset: the object's first byte in the stream. */
int ctr__frame_object(ctr__framer *f, const char *s, size_t n, uint64_t offset);

/* frame_gzip.c: the input layer. */
/* Decides gzip or not from the first two bytes, which may come in two feeds;
 * consumes what it holds back (a lone first byte is kept in f, not in the
 * caller's buffer): *p and *n are moved past what was consumed. */
int ctr__gz_sniff(ctr__framer *f, const unsigned char **p, size_t *n);
/* Input bytes after the sniff, p[0..n) borrowed for the call: inflated
 * (gzip, into the layers' own output buffers) or framed as they are. */
int ctr__gz_pass_on(ctr__framer *f, const unsigned char *p, size_t n);
/* End of a gzip input: padding told, an open member is a truncated stream. */
int ctr__gz_finish(ctr__framer *f);
/* frame_isal.c: ISA-L inflates the first layer's members past their first
 * 32 KiB, a deflate block at a time; zlib checks each block's header first
 * and reads again, from the block's start, whatever ISA-L is not trusted
 * with, so every verdict is zlib's. */
/* Tests: true forces zlib alone (the reference the ISA-L path is held to). */
extern bool ctr__gz_zlib_only;
/* Tests: true holds no record (hold_record): the byte path alone, the
 * reference the holds are held to, feed by feed. */
extern bool ctr__frame_no_hold;
/* ISA-L can be used (loaded once, at run time). */
bool ctr__isal_usable(void);
/* At a block boundary zlib stopped at (Z_BLOCK) in layer l: ISA-L takes the
 * member from there if it may. *taken: it did (g->data is D_ISAL). */
int ctr__isal_begin(ctr__framer *f, unsigned l, z_stream *z, bool *taken);
/* ISA-L inflates from in[0..n): *used bytes read; *rewind: bytes before `in`
 * (of this feed) to read again, zlib's raw stream having taken over. */
int ctr__isal_step(ctr__framer *f, unsigned l, const unsigned char *in, size_t n, size_t *used, size_t *rewind);
/* A feed ends while ISA-L has the member: what of it the block read is kept. */
int ctr__isal_feed_end(ctr__framer *f, unsigned l, const unsigned char *end, size_t *rewind);
void ctr__isal_free(struct ctr__isal *s);
/* Blocks ISA-L inflated, and the most compressed bytes it kept, since the framer was made (tests). */
uint64_t ctr__isal_blocks(const ctr__framer *f);
size_t ctr__isal_kept_peak(const ctr__framer *f);

/* frame_gzip.c, for frame_isal.c: a layer's inflated bytes (checked,
 * counted, framed, gzip_ratio checked at its steps); a layer's stream error. */
int ctr__gz_inflated(ctr__framer *f, unsigned l, const unsigned char *o, size_t got);
/* The output layer l may make in its next call (limits, checks, the sniff). */
size_t ctr__gz_cap(ctr__framer *f, unsigned l);
int ctr__gz_trailer(ctr__framer *f, unsigned l, const unsigned char *p, size_t n);
/* Frames what a layer reads from p[0..n) (used to read again what ISA-L read). */
int ctr__gz_layer_feed(ctr__framer *f, unsigned l, const unsigned char *p, size_t n);

/* Frees what the gzip layers hold (zlib state, output buffers, libdeflate's
 * decompressor), not f itself: the framer is being freed. */
void ctr__gz_free(ctr__framer *f);
/* Ends any open member; the memory is kept for the next stream. */
void ctr__gz_reset(ctr__framer *f);

#endif
