/* render_saved.c - a match's JSON line written after its callback
 * (ctr_match_save, ctr_saved_json): what render_json.c writes the line
 * from, the match's own part (output, values, trailer, time) and its rule's
 * (ctr__json_rule), saved into the caller's memory as one block without
 * pointers, and read back into a ctr__line_src.
 *
 * Why: a binding that builds an object per alert wrote every alert's line
 * whether it was read or not, about a third of what an alert cost it
 * (docs/performance.md, stop 23); saved, the line is written only when
 * asked for, and the bytes live in the binding's own memory (a Python bytes
 * object, a Go slice) with nothing to free and no ruleset to keep alive.
 *
 * The block, native-endian 64-bit words, then bytes:
 *   magic, time_ns, the lengths of: the rule's part, source, hostname,
 *     event id (NONE: absent), kinds, output, values;
 *   the rule's part, the same in every block of the rule (made once, when
 *     the rule is compiled: ctr__saved_rule_make):
 *     nkeys, extra_before[3], extra_named (bits), the lengths of priority,
 *     head and tags; per key its text's length and field | time << 32;
 *     then the bytes of priority, head, tags and each key's text;
 *   per value: its offset in values (NONE: absent), its length;
 *   the bytes of source, hostname, event id, kinds, output, values.
 * Saved bytes are held in the caller's memory, where anything may happen
 * to them: every count, length and offset is checked before it is used. */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#define SAVED_MAGIC 0x3130766173727463u /* "ctrsav01": this layout */
#define NONE UINT64_MAX

/* The block's words. */
enum { W_MAGIC, W_TIME, W_RULE_LEN, W_SOURCE_LEN, W_HOSTNAME_LEN, W_ID_LEN, W_KINDS_LEN, W_OUTPUT_LEN, W_VALUES_LEN,
       W__COUNT };
/* The rule's part's words. */
enum { R_NKEYS, R_EXTRA_BEFORE, R_EXTRA_NAMED = R_EXTRA_BEFORE + CTR__JSON_NEXTRA, R_PRIO_LEN, R_HEAD_LEN, R_TAGS_LEN,
       R__COUNT };
#define WORDS_PER_KEY 2u   /* in the rule's part */
#define WORDS_PER_VALUE 2u /* in the block */

static unsigned char *put_word(unsigned char *p, uint64_t v)
{
  memcpy(p, &v, 8);
  return p + 8;
}

static unsigned char *put_bytes(unsigned char *p, const void *src, size_t n)
{
  if (n)
    memcpy(p, src, n);
  return p + n;
}

/* ------------------------------------------------------------ saving */

int ctr__saved_rule_make(ctr__arena *pool, ctr__json_rule *jr)
{
  size_t n = 8 * (R__COUNT + WORDS_PER_KEY * jr->nkeys) + jr->prio_len + jr->head_len + jr->tags_len;
  for (size_t k = 0; k < jr->nkeys; k++)
    n += jr->keys[k].len;
  unsigned char *b = ctr__arena_alloc(pool, n ? n : 1), *p = b;
  if (!b)
    return CTR_ENOMEM;
  uint64_t named = 0;
  for (int e = 0; e < CTR__JSON_NEXTRA; e++)
    named |= (uint64_t)jr->extra_named[e] << e;
  p = put_word(p, jr->nkeys);
  for (int e = 0; e < CTR__JSON_NEXTRA; e++)
    p = put_word(p, jr->extra_before[e]);
  p = put_word(p, named);
  p = put_word(p, jr->prio_len);
  p = put_word(p, jr->head_len);
  p = put_word(p, jr->tags_len);
  for (size_t k = 0; k < jr->nkeys; k++) {
    p = put_word(p, jr->keys[k].len);
    p = put_word(p, jr->keys[k].field | (uint64_t)jr->keys[k].time << 32);
  }
  p = put_bytes(p, jr->prio, jr->prio_len);
  p = put_bytes(p, jr->head, jr->head_len);
  p = put_bytes(p, jr->tags, jr->tags_len);
  for (size_t k = 0; k < jr->nkeys; k++)
    p = put_bytes(p, jr->keys[k].text, jr->keys[k].len);
  jr->saved = b;
  jr->saved_len = n;
  return CTR_OK;
}

CTR_API int ctr_match_save(const ctr_match *m, void *buf, size_t cap, size_t *len)
{
  if (!m || !len || (!buf && cap))
    return CTR_EINVAL;
  ctr__line_src x;
  int rc = ctr__line_src_of(m, &x);
  if (rc != CTR_OK)
    return rc;
  const ctr__json_rule *jr = x.jr;
  size_t id_len = x.event_id ? x.event_id_len : 0;
  size_t n = 8 * (W__COUNT + WORDS_PER_VALUE * jr->nkeys) + jr->saved_len + x.source_len + x.hostname_len + id_len +
             x.kinds_len + x.output_len + x.values_len;
  *len = n;
  if (n > cap)
    return CTR_OK; /* whole or not at all: a cut block is no use */
  unsigned char *p = buf;
  p = put_word(p, SAVED_MAGIC);
  p = put_word(p, (uint64_t)x.time_ns);
  p = put_word(p, jr->saved_len);
  p = put_word(p, x.source_len);
  p = put_word(p, x.hostname_len);
  p = put_word(p, x.event_id ? x.event_id_len : NONE);
  p = put_word(p, x.kinds_len);
  p = put_word(p, x.output_len);
  p = put_word(p, x.values_len);
  p = put_bytes(p, jr->saved, jr->saved_len);
  for (size_t i = 0; i < jr->nkeys; i++) {
    bool absent = x.value_off[i] == (size_t)-1;
    p = put_word(p, absent ? NONE : x.value_off[i]);
    p = put_word(p, absent ? 0 : x.value_len[i]);
  }
  p = put_bytes(p, x.source, x.source_len);
  p = put_bytes(p, x.hostname, x.hostname_len);
  p = put_bytes(p, x.event_id, id_len);
  p = put_bytes(p, x.kinds, x.kinds_len);
  p = put_bytes(p, x.output, x.output_len);
  put_bytes(p, x.values, x.values_len);
  return CTR_OK;
}

/* ------------------------------------------------------------ reading back */

typedef struct reader {
  const unsigned char *p;
  size_t at, n;
  bool bad; /* a read went past the end: every later one gives 0 or NULL */
} reader;

static uint64_t read_word(reader *r)
{
  uint64_t v = 0;
  if (r->bad || r->n - r->at < 8)
    r->bad = true;
  else
    memcpy(&v, r->p + r->at, 8);
  r->at += r->bad ? 0 : 8;
  return v;
}

/* n bytes (NULL, and r bad, when fewer are left). */
static const char *read_bytes(reader *r, uint64_t n)
{
  if (r->bad || n > r->n - r->at) {
    r->bad = true;
    return NULL;
  }
  const char *p = (const char *)r->p + r->at;
  r->at += (size_t)n;
  return p;
}

/* Whether the trailer's kinds hold one well-formed entry per value ('l'
 * followed by its NUL-terminated array), each 's' or 'u' one with its value
 * present: the kinds are what json_value and trailer_fields walk. */
static bool kinds_valid(const char *k, size_t n, const size_t *off, size_t nvalues)
{
  size_t at = 0;
  for (size_t i = 0; i < nvalues; i++) {
    if (at >= n)
      return false;
    char c = k[at++];
    if (c == 'l') {
      const char *nul = memchr(k + at, '\0', n - at);
      if (!nul)
        return false;
      at = (size_t)(nul - k) + 1;
    } else if ((c == 's' || c == 'u') ? off[i] == (size_t)-1 : c != 'a') {
      return false;
    }
  }
  return true;
}

/* The rule's part of a block, the r->n bytes at r->p, into *jr, its keys in
 * keys (nkeys of them, read first by the caller). */
static void load_rule(reader *r, ctr__json_rule *jr, ctr__json_key *keys, size_t nkeys)
{
  uint64_t w[R__COUNT];
  for (int i = 0; i < R__COUNT; i++)
    w[i] = read_word(r);
  *jr = (ctr__json_rule){.keys = keys, .nkeys = nkeys, .prio_len = (size_t)w[R_PRIO_LEN],
                         .head_len = (size_t)w[R_HEAD_LEN], .tags_len = (size_t)w[R_TAGS_LEN]};
  for (int e = 0; e < CTR__JSON_NEXTRA; e++) {
    if (w[R_EXTRA_BEFORE + e] > nkeys)
      r->bad = true;
    jr->extra_before[e] = (size_t)w[R_EXTRA_BEFORE + e];
    jr->extra_named[e] = (w[R_EXTRA_NAMED] >> e) & 1;
  }
  if (w[R_EXTRA_NAMED] >> CTR__JSON_NEXTRA)
    r->bad = true;
  for (size_t k = 0; k < nkeys; k++) {
    uint64_t klen = read_word(r), fw = read_word(r);
    if ((fw & 0xffffffffu) >= nkeys || (fw >> 32) > 1)
      r->bad = true;
    keys[k] = (ctr__json_key){.len = (size_t)klen, .field = (uint32_t)fw, .time = (fw >> 32) != 0};
  }
  jr->prio = read_bytes(r, w[R_PRIO_LEN]);
  jr->head = read_bytes(r, w[R_HEAD_LEN]);
  jr->tags = read_bytes(r, w[R_TAGS_LEN]);
  for (size_t k = 0; k < nkeys; k++)
    keys[k].text = read_bytes(r, keys[k].len);
  if (r->at != r->n) /* bytes the rule's part does not account for */
    r->bad = true;
}

#define KEYS_ON_STACK 32u

/* Where a block's keys and value offsets and lengths are read into. */
typedef struct load_mem {
  ctr__json_key keys_here[KEYS_ON_STACK];
  size_t off_here[2 * KEYS_ON_STACK];
  void *heap; /* for more keys than that: freed by the caller */
} load_mem;

/* The line source of a block, its rule's part in *jr. CTR_EINVAL for bytes
 * that are not a block whole; CTR_ENOMEM. */
static int load_line_src(const void *saved, size_t n, ctr__line_src *x, ctr__json_rule *jr, load_mem *mem)
{
  reader r = {saved, 0, n, false};
  uint64_t w[W__COUNT];
  for (int i = 0; i < W__COUNT; i++)
    w[i] = read_word(&r);
  const unsigned char *rule = (const unsigned char *)read_bytes(&r, w[W_RULE_LEN]);
  reader rr = {rule, 0, rule ? (size_t)w[W_RULE_LEN] : 0, false};
  uint64_t nkeys = read_word(&rr);
  /* Each key takes its words in the rule's part and in the block: a count
   * the bytes cannot hold is refused before anything is allocated for it. */
  if (r.bad || rr.bad || w[W_MAGIC] != SAVED_MAGIC || nkeys > (rr.n - rr.at) / (8 * WORDS_PER_KEY) ||
      nkeys > (n - r.at) / (8 * WORDS_PER_VALUE))
    return CTR_EINVAL;
  size_t nk = (size_t)nkeys;
  ctr__json_key *keys = mem->keys_here;
  size_t *off = mem->off_here;
  if (nk > KEYS_ON_STACK) {
    if (!(mem->heap = malloc(nk * (sizeof *keys + 2 * sizeof *off))))
      return CTR_ENOMEM;
    keys = mem->heap;
    off = (size_t *)(void *)(keys + nk);
  }
  size_t *len = off + nk;
  rr = (reader){rule, 0, (size_t)w[W_RULE_LEN], false};
  load_rule(&rr, jr, keys, nk);
  uint64_t values_len = w[W_VALUES_LEN];
  for (size_t i = 0; i < nk; i++) {
    uint64_t o = read_word(&r), l = read_word(&r);
    if (o == NONE ? l != 0 : o > values_len || l > values_len - o)
      r.bad = true;
    off[i] = o == NONE ? (size_t)-1 : (size_t)o;
    len[i] = (size_t)l;
  }
  uint64_t id_len = w[W_ID_LEN];
  *x = (ctr__line_src){.jr = jr, .source_len = (size_t)w[W_SOURCE_LEN], .hostname_len = (size_t)w[W_HOSTNAME_LEN],
                       .event_id_len = id_len == NONE ? 0 : (size_t)id_len, .kinds_len = (size_t)w[W_KINDS_LEN],
                       .output_len = (size_t)w[W_OUTPUT_LEN], .values_len = (size_t)values_len,
                       .value_off = off, .value_len = len, .time_ns = (int64_t)w[W_TIME]};
  x->source = read_bytes(&r, w[W_SOURCE_LEN]);
  x->hostname = read_bytes(&r, w[W_HOSTNAME_LEN]);
  x->event_id = id_len == NONE ? NULL : read_bytes(&r, id_len);
  x->kinds = read_bytes(&r, w[W_KINDS_LEN]);
  x->output = read_bytes(&r, w[W_OUTPUT_LEN]);
  x->values = read_bytes(&r, values_len);
  if (r.bad || rr.bad || r.at != n || !kinds_valid(x->kinds, x->kinds_len, off, nk))
    return CTR_EINVAL;
  return CTR_OK;
}

/* A block loaded: its line source, its rule's part, and their memory. */
typedef struct loaded {
  ctr__line_src x;
  ctr__json_rule jr;
  load_mem mem;
} loaded;

static int load(const void *saved, size_t n, loaded *l)
{
  l->mem.heap = NULL;
  return load_line_src(saved, n, &l->x, &l->jr, &l->mem);
}

CTR_API int ctr_saved_json(const void *saved, size_t n, unsigned flags, char **out, size_t *len)
{
  if (!saved || !out || (flags & ~(unsigned)CTR__JSON_ALL))
    return CTR_EINVAL;
  loaded l;
  int rc = load(saved, n, &l);
  if (rc == CTR_OK)
    rc = ctr__json_line(&l.x, flags, out, len);
  free(l.mem.heap);
  return rc;
}

CTR_API int ctr_saved_json_to(const void *saved, size_t n, unsigned flags, char *buf, size_t cap, size_t *len)
{
  if (!saved || !len || (!buf && cap) || (flags & ~(unsigned)CTR__JSON_ALL))
    return CTR_EINVAL;
  loaded l;
  int rc = load(saved, n, &l);
  if (rc == CTR_OK)
    rc = ctr__json_line_to(&l.x, flags, buf, cap, len);
  free(l.mem.heap);
  return rc;
}
