/*
 * internal.h - declarations shared between libctrule's pipeline stages.
 * Internal cross-file symbols use the ctr__ prefix and are hidden by
 * -fvisibility=hidden; only CTR_API symbols from ctrule.h are exported.
 */
#ifndef CTR_INTERNAL_H
#define CTR_INTERNAL_H

#include "ctrule.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CTR__UNUSED(x) ((void)(x))
#define CTR__COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* Whether c is one of the bytes of set. Not strchr(set, c) alone: that also
 * finds the terminating NUL, and rule text and values may hold a NUL ("\0" in
 * YAML), which is then taken for a blank, a unit or a separator. */
static inline bool ctr__one_of(const char *set, char c) { return c != '\0' && strchr(set, c) != NULL; }

/* ------------------------------------------------------------ util.c */

/* Growable byte buffer; always NUL-terminated when data != NULL. A buffer
 * owns `data` (zero-initialise it, free it with ctr__buf_free); what is
 * appended is copied. */
typedef struct ctr__buf {
  char *data;
  size_t len, cap;
} ctr__buf;

/* Each of these returns CTR_OK or CTR_ENOMEM (then b is as it was). */
int ctr__buf_reserve(ctr__buf *b, size_t extra);
int ctr__buf_append(ctr__buf *b, const void *p, size_t n);
int ctr__buf_append_str(ctr__buf *b, const char *s);
int ctr__buf_append_char(ctr__buf *b, char c);
int ctr__buf_printf(ctr__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ctr__buf_clear(ctr__buf *b); /* len = 0, keeps the memory */
void ctr__buf_free(ctr__buf *b); /* frees data and zeroes b (b itself is the caller's) */

/* Bump allocator for per-event scratch: reset per record, memory kept, so the
 * hot path allocates nothing once warmed up. Returned memory is 8-aligned. */
typedef struct ctr__arena_block ctr__arena_block;
typedef struct ctr__arena {
  ctr__arena_block *head; /* block being filled */
  ctr__arena_block *first;
  bool failed; /* an allocation failed since the last reset: callers that
                  degrade instead of failing at once check it at the end */
} ctr__arena;

/* Memory owned by the arena, valid until its next reset or free (never
 * freed one by one); NULL on ENOMEM (and `failed` set). */
void *ctr__arena_alloc(ctr__arena *a, size_t n);
char *ctr__arena_strndup(ctr__arena *a, const char *s, size_t n); /* a NUL-terminated copy */
/* An array of n elements of `size` bytes at v, *cap of them allocated, with
 * room for one more: v itself, or a copy twice as large in the arena (v is
 * left there). NULL on ENOMEM (v and *cap unchanged). */
void *ctr__arena_grow(ctr__arena *a, void *v, size_t n, size_t *cap, size_t size);
void ctr__arena_reset(ctr__arena *a); /* everything handed out is void; blocks kept */
void ctr__arena_free(ctr__arena *a);  /* blocks freed (a itself is the caller's) */

/* malloc'd copies, the caller's to free; NULL on ENOMEM (ctr__strdup: or s NULL) */
char *ctr__strdup(const char *s);
char *ctr__strndup(const char *s, size_t n);

/* A counted string, borrowed: s need not be NUL-terminated. */
typedef struct ctr__str {
  const char *s;
  size_t len;
} ctr__str;

/* A hash of s[0..len), a word at a time (util.c): every hash table of the library keys on it. */
uint64_t ctr__hash(const char *s, size_t len);
/* ctr__hash of tolower() of each byte: finds keys compared case-insensitively. */
uint64_t ctr__hash_lower(const char *s, size_t len);

/* A set of strings (open addressing, s == NULL: empty), built once and then
 * only read: `in` / `intersects` literal lists, the prefilter's keys. */
typedef struct ctr__strset {
  ctr__str *items;
  size_t cap, n;
} ctr__strset;

/* Builds a set of items[0..n) (duplicates dropped) in `pool`; the strings
 * are borrowed, not copied, and must outlive the set. false: out of memory. */
bool ctr__strset_build(ctr__arena *pool, ctr__strset *set, const ctr__str *items, size_t n);
bool ctr__strset_has(const ctr__strset *set, const char *s, size_t len);

/* Whether lit[0..m) occurs in hay[0..n): memmem's answer, faster on the
 * prefilter's short literals in 1-2 KB records (util.c says how). */
bool ctr__contains(const char *hay, size_t n, const char *lit, size_t m);
/* A literal made ready for ctr__contains' search once, for one searched in
 * every record: lit (borrowed) and the positions of its two rarest bytes. */
typedef struct ctr__needle {
  const char *s;
  size_t m;
  size_t a, b;    /* m >= 2: the rarest byte's position, the next rarest's */
  bool by_memchr; /* the rarest byte is rare enough in JSON to memchr for */
} ctr__needle;
void ctr__needle_make(ctr__needle *nd, const char *lit, size_t m);
/* ctr__contains(hay, n, nd's literal). */
bool ctr__needle_in(const ctr__needle *nd, const char *hay, size_t n);
/* The widest vectors ctr__needle_in may use where the processor has them:
 * 2 AVX-512BW, 1 AVX2, 0 SSE2 alone (default 2); the tests lower it to hold
 * each path to the same oracle on a machine that has them all. */
extern int ctr__search_width;

/* ------------------------------------------------------------ walk.c
 * One pass over a record's raw bytes that checks its JSON grammar and reads
 * the top-level keys the prefilter and the completeness check need. The
 * framer cuts records with it, and the prefilter decides from what it read,
 * so a record that no rule can match costs one pass and no parse. */

/* The top-level keys a walk reads; the first three are the prefilter's keyed
 * fields (ct.name, ct.error, ct.src), in its order of preference. */
enum {
  CTR__TOP_EVENT_NAME,
  CTR__TOP_ERROR_CODE,
  CTR__TOP_EVENT_SOURCE,
  CTR__TOP_EVENT_TYPE,
  CTR__TOP_EVENT_VERSION,
  CTR__TOP_EVENT_TIME,
  CTR__TOP_AWS_REGION,
  CTR__TOP_USER_IDENTITY,
  CTR__TOP_SOURCE_IP,
  CTR__TOP__COUNT
};

typedef struct ctr__topval {
  const char *s; /* string content, raw (kind '"'); the whole value's bytes (other kinds) */
  size_t len;
  char kind;     /* 0: key absent, '"' string, '{' object, 'x' anything else */
  bool escaped;  /* the string holds a backslash escape: s is not its value */
} ctr__topval;

/* A record with more top-level members than this is parsed whole. */
#define CTR__MAX_MEMBERS 64

/* The JSON escapes other than \u, one bit each: which a record holds
 * (ctr__escape_kinds) and which could spell a byte of a literal
 * (literal_group.escapes, prefilter_literals.c). */
enum {
  CTR__ESC_QUOTE = 1u << 0,     /* \" */
  CTR__ESC_BACKSLASH = 1u << 1, /* \\ */
  CTR__ESC_SLASH = 1u << 2,     /* \/ */
  CTR__ESC_B = 1u << 3,         /* \b */
  CTR__ESC_F = 1u << 4,         /* \f */
  CTR__ESC_N = 1u << 5,         /* \n */
  CTR__ESC_R = 1u << 6,         /* \r */
  CTR__ESC_T = 1u << 7,         /* \t */
};

typedef struct ctr__record_facts {
  ctr__topval top[CTR__TOP__COUNT];
  unsigned depth;    /* deepest nesting; the record object itself is 1 */
  bool escaped;      /* some string or key anywhere holds a backslash escape */
  bool unicode;      /* ... a \u escape: any literal may be spelt in the bytes otherwise */
  unsigned nmembers; /* top-level members; more than CTR__MAX_MEMBERS: only the first kept */
  /* Where each top-level member's value starts: one store a member while the
   * walk crosses it, so that a record some rule reads needs no second walk
   * to find its members (ctr__facts_member). Left uninitialised past
   * nmembers: the walk zeroes only what precedes it. */
  const char *value[CTR__MAX_MEMBERS];
} ctr__record_facts;

/* One top-level member of a record, as bytes of the record: its key (never
 * escaped: the walk refuses escaped top-level keys) and its value. */
typedef struct ctr__member {
  const char *key;
  const char *value; /* the whole JSON value, quotes included for a string */
  size_t key_len;
  size_t value_len;
  bool plain_string; /* a string without escapes: its content is its bytes */
} ctr__member;


/* a[0..n) == b[0..n): member keys are short, and comparing them here (two
 * overlapping loads a side up to 16 bytes) costs less than a call to
 * memcmp. Reads nothing outside either range. */
static inline bool ctr__same_key(const char *a, const char *b, size_t n)
{
  if (n > 16)
    return memcmp(a, b, n) == 0;
  if (n >= 8) {
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8), memcpy(&b0, b, 8), memcpy(&a1, a + n - 8, 8), memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  if (n >= 4) {
    uint32_t a0, a1, b0, b1;
    memcpy(&a0, a, 4), memcpy(&b0, b, 4), memcpy(&a1, a + n - 4, 4), memcpy(&b1, b + n - 4, 4);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
}

/* Walks the JSON object whose '{' is at p, not past end. Returns the byte
 * after its closing '}' when the object is valid JSON that jansson certainly
 * accepts (see walk.c for what is left to jansson) and every top-level key
 * read is plain and unique; NULL otherwise (invalid, unmodelled, cut short by
 * end, or - with bail_on_shape_keys - a depth-1 key such as "Records" or
 * "detail" that could make it an envelope rather than a record). */
const char *ctr__walk_object(const char *p, const char *end, bool bail_on_shape_keys, ctr__record_facts *facts);

/* Whether data[0..len) is one JSON object, whitespace around it allowed, that
 * ctr__walk_object vouches for (jansson certainly accepts it). */
bool ctr__walk_record(const char *data, size_t len, ctr__record_facts *facts);

/* The escapes other than \u (CTR__ESC_ bits) in JSON ctr__walk_object
 * vouched for, where every backslash starts one. Found when the prefilter
 * asks, not during the walk: the walk's string crossing stays as it was. */
unsigned char ctr__escape_kinds(const char *data, size_t len);

/* Notes the top-level members of a record ctr__walk_object vouched for
 * (only records some rule may match come here), in order, repeated keys
 * included, up to `cap`. Returns how many there are (more than cap: only cap
 * noted). The grammar is not checked again: on other input the result means
 * nothing (SIZE_MAX where it notices), but nothing past len is read. */
size_t ctr__walk_members(const char *data, size_t len, ctr__member *members, size_t cap);
/* The byte after the object or array whose opening bracket is at p (strings
 * and escapes crossed, nothing else checked), NULL when it does not end
 * before end. */
const char *ctr__skip_container(const char *p, const char *end);
/* Whether the walk may use the widest blocks the processor runs (true, the
 * default): AVX-512BW for the record walk, AVX2 for the member reads'
 * crossing of containers. The tests set it false to hold the SSE2 versions
 * to the same oracles on a machine with those. */
extern bool ctr__walk_wide_blocks;

/* Whether ctr__walk_object runs its AVX-512BW version now. */
bool ctr__walk_wide_runs(void);

/* The top-level member key[0..n) of the record data[0..len) the walk
 * vouched for (facts), found from where the walk saw each value start,
 * without crossing the record again: true with *out as ctr__walk_members
 * notes it (the last of a repeated key, as jansson keeps); false when the
 * record has no such member or more members than the facts keep. */
bool ctr__facts_member(const char *data, size_t len, const ctr__record_facts *facts, const char *key, size_t n,
                       ctr__member *out);

/* Depth-1 keys of a top-level object that reveal its shape (frame.c). */
enum {
  CTR__SHAPE_RECORDS = 1u << 0,
  CTR__SHAPE_DIGEST_START = 1u << 1,
  CTR__SHAPE_LOG_FILES = 1u << 2,
  CTR__SHAPE_DETAIL_TYPE = 1u << 3,
  CTR__SHAPE_DETAIL = 1u << 4,
  CTR__SHAPE_LOG_EVENTS = 1u << 5,
  CTR__SHAPE_MESSAGE_TYPE = 1u << 6,
};
/* The CTR__SHAPE_ flag of a key, 0 for any other key. */
unsigned ctr__shape_key(const char *s, size_t len);

/* ------------------------------------------------------------ frame.c
 * Cuts a byte stream, fed in any chunking, into CloudTrail records; see
 * ctr_format in ctrule.h for the shapes recognised. */

typedef struct ctr__framer ctr__framer;

typedef struct ctr__frame_sink {
  /* One record: the bytes of one JSON object (not NUL-terminated, borrowed
   * for the call). `index` counts records (good and bad) from 0 in this
   * stream; `offset` is the byte offset of its first byte in the decompressed
   * stream. `facts`: what ctr__walk_object read when the framer cut the record
   * with it (the record is then valid JSON), NULL when it did not. A non-zero
   * return stops framing and is returned by feed/finish. */
  int (*record)(void *ud, const char *data, size_t len, uint64_t index, uint64_t offset,
                const ctr__record_facts *facts);
  /* A record that could not be cut out or is not an object. `index` is the
   * index it took. status: CTR_EDATA or CTR_ELIMIT. msg borrowed for the call. */
  void (*bad_record)(void *ud, int status, uint64_t index, uint64_t offset, const char *msg);
  /* A value recognised and skipped (digest file, CloudWatch Logs control
   * message, EventBridge event that does not carry a CloudTrail record).
   * `what` is static text. */
  void (*skipped)(void *ud, uint64_t offset, const char *what);
  /* The stream itself is unreadable (corrupt gzip): nothing more can be cut.
   * `offset` is in the compressed input. msg borrowed for the call. */
  void (*stream_error)(void *ud, int status, uint64_t offset, const char *msg);
  void *ud;
} ctr__frame_sink;

typedef struct ctr__frame_limits {
  uint64_t max_record_bytes; /* default 16 MiB */
  uint32_t max_depth;        /* default 64 */
  uint64_t max_gzip_output;  /* default 64 GiB */
  uint64_t max_gzip_ratio;   /* default 200 */
} ctr__frame_limits;

void ctr__frame_limits_default(ctr__frame_limits *l);
/* A new framer calling `sink` (copied; its ud is the caller's and must
 * outlive the framer). CTR_OK with *out the caller's (ctr__framer_free,
 * NULL-safe); CTR_ENOMEM or CTR_EINVAL, *out untouched. */
int ctr__framer_new(const ctr__frame_sink *sink, ctr__framer **out);
void ctr__framer_free(ctr__framer *f);
void ctr__framer_set_limits(ctr__framer *f, const ctr__frame_limits *l); /* copied */
/* data[0..len) is borrowed for the call: what a record spanning feeds needs
 * is copied into the framer. CTR_OK, the sink's non-zero record() return,
 * CTR_ENOMEM, CTR_EBUSY (called from inside a sink), CTR_ESTATE (feed after
 * finish), or the stream error's status (CTR_EDATA for a corrupt stream,
 * CTR_ELIMIT for the gzip limit), which every later feed/finish returns
 * until reset. */
int ctr__framer_feed(ctr__framer *f, const void *data, size_t len);
int ctr__framer_finish(ctr__framer *f);
void ctr__framer_reset(ctr__framer *f);

/* ------------------------------------------------------------ fields
 * A field extractor reads one value out of a parsed record. */

typedef enum ctr__vkind {
  CTR__V_ABSENT = 0, /* field not present: every comparison is false */
  CTR__V_STR,        /* str/len (may contain no NUL; str is NUL-terminated) */
  CTR__V_U64,        /* u64 */
  CTR__V_LIST,       /* items/count: list of strings (ec2.imageids) */
} ctr__vkind;

/* A field's value. It owns nothing: str and items are borrowed from the
 * event's JSON, static storage, or the event's arena, and are valid until
 * the arena is reset (the next record). */
typedef struct ctr__value {
  ctr__vkind kind;
  const char *str;
  size_t len;
  uint64_t u64;
  const ctr__str *items;
  size_t count;
} ctr__value;

typedef enum ctr__ftype { CTR__FT_STRING = 0, CTR__FT_UINT64, CTR__FT_LIST } ctr__ftype;

typedef enum ctr__argmode {
  CTR__ARG_NONE = 0,       /* no [arg] allowed */
  CTR__ARG_INDEX_OPTIONAL, /* optional [N] (ec2.imageids[0]) */
  CTR__ARG_KEY_REQUIRED,   /* required [key] (json.value[/a/b]: a JSON pointer) */
  CTR__ARG_LIST_OPTIONAL,  /* optional [LIST]: a rules list's name; the extractor's arg is its
                            * items, read with ctr__listarg_next (rds.shared.foreign_accounts[l]) */
} ctr__argmode;

/* A walked record whose members are parsed one at a time, when first read
 * (event.c): most rules read a few of a record's twenty-odd members, and
 * jansson's cost is per byte parsed. Its members are found as they are
 * asked for, from the walk's facts (ctr__event.facts). */
typedef struct ctr__lazy {
  json_t *whole;              /* the whole record, parsed on demand (json.obj) */
  bool failed;                /* a member could not be built: out of memory */
  struct ctr__walked *walked; /* the scanner's: objects walked for this record's fields (NULL: none kept) */
  size_t nwalked;             /* how many of walked's objects are this record's: 0 when it starts */
  ctr__member found;          /* the member found last (key NULL: none yet) */
} ctr__lazy;
/* The span of the top-level member key[0..n) of a lazy event (ev->lazy and
 * ev->facts set), the last one when the key repeats (jansson keeps the last
 * value); NULL if the record has no such member (event.c). Valid until the
 * next lookup. */
typedef struct ctr__event ctr__event;
const ctr__member *ctr__lazy_member(const ctr__event *ev, const char *key, size_t n);

/* The members of a record's objects that its fields' paths have crossed
 * (userIdentity under ct.user, ct.user.arn, ct.user.identitytype, ...),
 * walked once for the record instead of once per field (fields.c). The
 * storage is the scanner's; ctr__lazy.nwalked, zeroed with each record,
 * says how much of it is the current record's. */
#define CTR__WALKED_OBJECTS 4
#define CTR__WALKED_MEMBERS 32
typedef struct ctr__walked {
  const char *object[CTR__WALKED_OBJECTS]; /* the object's bytes */
  size_t nmembers[CTR__WALKED_OBJECTS];    /* SIZE_MAX: not walkable here (an escaped key, too many) */
  ctr__member members[CTR__WALKED_OBJECTS][CTR__WALKED_MEMBERS];
  uint64_t reused;                         /* lookups served without a walk (tests tell the paths apart) */
} ctr__walked;

/* The event being evaluated. Created by the scanner, read by extractors
 * through ctr__event_get and friends, never through root directly. The
 * scanner owns root (and lazy's whole) for the record's time; raw, lazy,
 * arena and hostname are borrowed from it. */
struct ctr__event {
  json_t *root;       /* the record (an object); with `lazy`, only the members read so far */
  ctr__lazy *lazy;    /* NULL: root is the whole parsed record */
  const char *raw;    /* its bytes */
  size_t raw_len;
  uint64_t index;     /* record index in the stream */
  uint64_t offset;    /* byte offset in the stream */
  int64_t time_ns;    /* eventTime parsed, 0 if absent/invalid */
  ctr__arena *arena;  /* scratch for values built by extractors; reset per event */
  const char *hostname; /* for evt.hostname; never NULL */
  /* What the walk that cut the record read of it (its top-level strings
   * and userIdentity, already found): set by the scanner for a lazy event,
   * NULL otherwise (the plain route, CTR_SCAN_NO_INDEX; a record parsed
   * whole; a correlation's record). Borrowed for the record's time. */
  const ctr__record_facts *facts;
};

/* `arg` is the text between the brackets (NUL-terminated) or NULL; `argnum`
 * is its value for CTR__ARG_INDEX_OPTIONAL (0 when none). Strings returned in
 * `out` must live until the arena is reset: either borrowed from the json_t
 * tree, static, or allocated in ev->arena. Return CTR_OK or CTR_ENOMEM. */
typedef int (*ctr__extract_fn)(const ctr__event *ev, const char *arg, uint64_t argnum,
                               ctr__value *out);

/* A CTR__ARG_LIST_OPTIONAL field's arg: the list's items, resolved when the
 * rules compile (lists in it expanded), each as LEN:BYTES. Reads the item at
 * *p into *item and moves *p past it; false at the end. */
bool ctr__listarg_next(const char **p, ctr__str *item);

/* Defines an extractor with the ctr__extract_fn signature (fields_*.c). */
#define CTR__EXTRACT(fn) static int fn(const ctr__event *ev, const char *arg, uint64_t argnum, ctr__value *out)
/* For extractors that take no argument. */
#define CTR__NOARG()       \
  do {                     \
    CTR__UNUSED(arg);      \
    CTR__UNUSED(argnum);   \
  } while (0)

/* How a field's value relates to the record's raw bytes when the record holds
 * no backslash escape at all (then every JSON string's content is its raw
 * bytes). The prefilter (prefilter.c) looks for a rule's literals in those
 * bytes only on fields marked here; each mark says why it is safe. */
typedef enum ctr__rawness {
  CTR__RAW_NONE = 0, /* computed, reformatted, joined or synthesised: never searched for */
  /* Every value (every item of a list) is the content of a JSON string of
   * the record, a part of one, or "" (the plain rule for a non-string). */
  CTR__RAW_VERBATIM,
  /* A string leaf verbatim, any other value as compact JSON: verbatim only
   * for true, false and null (numbers are reformatted, whitespace dropped),
   * so only literals that no number, object or array could spell qualify. */
  CTR__RAW_JSON_LEAF,
  /* Values as compact JSON joined with ',' (ct.resources), or the record
   * re-indented (json.obj): verbatim only inside one string's content, so
   * only literals that must lie there qualify (contains, icontains,
   * endswith, a glob's runs, a regex's literals); never an equality or a
   * prefix, which the bytes may space. */
  CTR__RAW_JSON_TEXT,
  /* "s3://" + a string's content + "/" + another's (s3.uri): a literal with
   * no ':' or '/' that is not part of "s3" lies inside one of them, so only
   * such literals of the checks CTR__RAW_JSON_TEXT takes qualify. */
  CTR__RAW_S3_URI,
} ctr__rawness;

typedef struct ctr__field_def {
  const char *name;
  ctr__ftype type;
  ctr__argmode arg;
  ctr__extract_fn extract;
  const char *desc; /* one line: the exact derivation */
  ctr__rawness raw;  /* left out of a table entry: CTR__RAW_NONE */
  /* 1 + the CTR__TOP_ index of the one top-level member whose bytes hold
   * every value the field gives (a verbatim field read from inside it, none
   * when it is absent); 0 (left out of a table entry): anywhere in the
   * record. The prefilter then looks for the field's literals there only. */
  unsigned char within;
} ctr__field_def;

/* Families, each in its own file; fields.c assembles the registry. */
extern const ctr__field_def ctr__fields_cloudtrail[]; /* fields_cloudtrail.c: ct.* s3.* ec2.* ecr.* iam.* */
extern const size_t ctr__fields_cloudtrail_count;
extern const ctr__field_def ctr__fields_json[]; /* fields_json.c: json.value json.obj jevt.value jevt.obj */
extern const size_t ctr__fields_json_count;
extern const ctr__field_def ctr__fields_evt[]; /* fields_evt.c: evt.* */
extern const size_t ctr__fields_evt_count;
extern const ctr__field_def ctr__fields_rds[]; /* fields_rds.c: rds.* */
extern const size_t ctr__fields_rds_count;

/* Looks a field up by exact name; NULL if unknown. */
const ctr__field_def *ctr__field_lookup(const char *name, size_t len);

/* The record's members, for extractors and the scanner (event.c). A lazy
 * event parses a member the first time it is asked for (and keeps it in
 * root). NULL when absent (or, with ev->lazy->failed set, when out of
 * memory). What these return is borrowed from the event, valid until the
 * record ends: never json_decref'd by the caller. */
json_t *ctr__event_get(const ctr__event *ev, const char *key);
json_t *ctr__event_getn(const ctr__event *ev, const char *key, size_t n);
/* ctr__json_path from the record ("userIdentity.sessionContext.sessionIssuer.userName"). */
json_t *ctr__event_path(const ctr__event *ev, const char *dotted);
/* Whether member `key` is present and of JSON type t (string or object: read
 * from the walk without parsing the member). */
bool ctr__event_member_is(const ctr__event *ev, const char *key, json_type t);
/* The whole record as one object (a lazy event parses it in full once, into
 * lazy->whole); borrowed as above. */
json_t *ctr__event_whole(const ctr__event *ev);
/* A value at a dotted path of object keys, as the plain fields read it
 * (fields.c): read from the walked bytes while its top-level member is
 * unparsed and nothing on the way holds an escape, else from jansson. */
typedef enum ctr__pvkind { CTR__PV_ABSENT = 0, CTR__PV_STRING, CTR__PV_OTHER } ctr__pvkind;
typedef struct ctr__pathval {
  ctr__pvkind kind;
  const char *s; /* CTR__PV_STRING: NUL-terminated, in the arena or the json_t tree */
  size_t len;
} ctr__pathval;
/* Out of memory reads as absent, with ev->lazy->failed set (the scanner
 * then trusts nothing of the record), as for a member. */
ctr__pathval ctr__event_path_value(const ctr__event *ev, const char *dotted);
/* The parts of such a read, for paths of other shapes (json.value's
 * pointers): a value of a walked record as its bytes, the member first, then
 * the path below it (ctr__walk_path). CTR__STEP_UNSURE: only jansson can tell
 * (the member is parsed already, the event is not lazy, an escaped key). */
typedef struct ctr__bspan {
  const char *v; /* the whole JSON value */
  size_t len;
  bool plain; /* a string without escapes */
} ctr__bspan;
typedef enum ctr__step { CTR__STEP_FOUND, CTR__STEP_ABSENT, CTR__STEP_UNSURE } ctr__step;
ctr__step ctr__bytes_member(const ctr__event *ev, const char *key, size_t n, ctr__bspan *out);
/* One step of a path: an object's member key[0..len), or an array's
 * element `index` (SIZE_MAX: none; a step on an array then leads nowhere). */
typedef struct ctr__pathstep {
  const char *key;
  size_t len;
  size_t index;
} ctr__pathstep;
/* ctr__event_path_value at a path already cut into object keys (n >= 1,
 * no array steps): the fields' own paths, cut when they are written. */
ctr__pathval ctr__event_steps_value(const ctr__event *ev, const ctr__pathstep *steps, size_t n);
/* Follows steps[0..n) down the value v[0..len) of a record the walk vouched
 * for (walk.c), crossing it once: FOUND with *out the value reached (the
 * last of a repeated key, as jansson keeps), ABSENT when the path leads
 * nowhere (a step on a scalar, say), UNSURE when an escaped key on the way
 * may decode to the one asked for. */
ctr__step ctr__walk_path(const char *v, size_t len, const ctr__pathstep *steps, size_t n, ctr__bspan *out);
/* steps[0..n) (n >= 1) from the record: the member, then through the objects
 * kept for the record (ctr__walked) and the walked bytes below them. */
ctr__step ctr__bytes_path(const ctr__event *ev, const ctr__pathstep *steps, size_t n, ctr__bspan *out);
/* A plain string's content as a NUL-terminated copy in the event's arena
 * (NULL, with ev->lazy->failed set, when out of memory). */
const char *ctr__bytes_string(const ctr__event *ev, const ctr__bspan *s);

/* Helpers for extractors (fields.c). The json_t they return is borrowed
 * from `obj`/`root` (no reference taken); values set borrow their strings. */
/* Member of an object, or NULL (also when `obj` is not an object). */
json_t *ctr__json_get(const json_t *obj, const char *key);
/* Member key[0..n) of an object (n bytes, no NUL needed), or NULL. */
json_t *ctr__json_getn(const json_t *obj, const char *key, size_t n);
/* Follows a dotted path of object keys ("userIdentity.sessionContext.sessionIssuer.userName"). */
json_t *ctr__json_path(const json_t *root, const char *dotted);
/* Falco plugin rule for plain fields: absent if j == NULL; a JSON string gives
 * its value; any other JSON value gives "" . */
void ctr__value_plain(const json_t *j, ctr__value *out);
/* Sets `out` to absent (every comparison on it is false). */
static inline void ctr__value_absent(ctr__value *out) { memset(out, 0, sizeof *out); }
/* Compact JSON text of j in ev's arena (JSON null -> "null"); absent if j ==
 * NULL. CTR_OK or CTR_ENOMEM (*out then not to be read). */
int ctr__value_compact(const ctr__event *ev, const json_t *j, ctr__value *out);
/* The text ctr__value_compact writes for the parsed value v[0..len) of a
 * walked record (ctr__bytes_path's span), written from its bytes into dst
 * (room for len bytes, no NUL added): its length, or (size_t)-1 when only
 * jansson can write it (fields.c says when). */
size_t ctr__bytes_compact(const char *v, size_t len, char *dst);
/* These borrow s (it must live until the arena is reset). */
void ctr__value_str(ctr__value *out, const char *s, size_t len);
void ctr__value_cstr(ctr__value *out, const char *s);
void ctr__value_u64(ctr__value *out, uint64_t v);

/* Parses eventTime (RFC 3339 with optional fraction, 'Z' or offset, and
 * Panther's "YYYY-MM-DD HH:MM:SS[.fff]") into ns since epoch; false if
 * invalid, *ns_out then untouched. */
bool ctr__parse_time(const char *s, int64_t *ns_out);

#endif
