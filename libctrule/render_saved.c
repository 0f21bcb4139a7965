/* render_saved.c - a match's JSON line written after its callback
 * (ctr_match_save, ctr_saved_json): what render_json.c writes the line
 * from, the match's own part (output, values, trailer, time) and its rule's
 * (ctr__json_rule), saved into the caller's memory as one block without
 * pointers, and read back into a ctr__line_src.
 *
 * Why: a binding that builds an object per alert made every alert's line
 * whether it was read or not, about a third of what an alert cost it
 * (docs/performance.md, stop 23); saved, the line is made only when asked
 * for, and the bytes live in the binding's own memory (a Python bytes
 * object, a Go slice) with nothing to free and no ruleset to keep alive.
 *
 * The block, native-endian, 64-bit words then bytes:
 *   magic, time_ns, nkeys, extra_before[3], extra_named (bits),
 *   the lengths of: priority, head, tags, source, hostname, event id
 *     (NONE: absent), kinds, output, values;
 *   per key: its text's length, field | time << 32;
 *   per value: its offset in values (NONE: absent), its length;
 *   then the bytes: priority, head, tags, each key's text, source,
 *   hostname, event id, kinds, output, values.
 * Saved bytes are held in the caller's memory, where anything may happen
 * to them: every count, length and offset is checked before it is used. */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#define SAVED_MAGIC 0x3130766173727463u /* "ctrsav01": this layout */
#define NONE UINT64_MAX

enum {
  W_MAGIC, W_TIME, W_NKEYS, W_EXTRA_BEFORE, W_EXTRA_NAMED = W_EXTRA_BEFORE + CTR__JSON_NEXTRA,
  W_PRIO_LEN, W_HEAD_LEN, W_TAGS_LEN, W_SOURCE_LEN, W_HOSTNAME_LEN, W_ID_LEN, W_KINDS_LEN, W_OUTPUT_LEN,
  W_VALUES_LEN, W__COUNT
};
#define WORDS_PER_KEY 4u /* a key's two, its value's two */

/* ------------------------------------------------------------ saving */

typedef struct saver {
  unsigned char *p; /* NULL: only counting */
  size_t at, cap;
} saver;

static void save_bytes(saver *s, const void *src, size_t n)
{
  if (s->p && n && s->at + n <= s->cap)
    memcpy(s->p + s->at, src, n);
  s->at += n;
}

static void save_word(saver *s, uint64_t v) { save_bytes(s, &v, 8); }

/* The block into s (counted only, or written when it fits). */
static void save_line_src(saver *s, const ctr__line_src *x)
{
  const ctr__json_rule *jr = x->jr;
  uint64_t named = 0;
  for (int e = 0; e < CTR__JSON_NEXTRA; e++)
    named |= (uint64_t)jr->extra_named[e] << e;
  uint64_t w[W__COUNT] = {
      [W_MAGIC] = SAVED_MAGIC, [W_TIME] = (uint64_t)x->time_ns, [W_NKEYS] = jr->nkeys,
      [W_EXTRA_NAMED] = named, [W_PRIO_LEN] = jr->prio_len, [W_HEAD_LEN] = jr->head_len,
      [W_TAGS_LEN] = jr->tags_len, [W_SOURCE_LEN] = x->source_len, [W_HOSTNAME_LEN] = x->hostname_len,
      [W_ID_LEN] = x->event_id ? x->event_id_len : NONE, [W_KINDS_LEN] = x->kinds_len,
      [W_OUTPUT_LEN] = x->output_len, [W_VALUES_LEN] = x->values_len};
  for (int e = 0; e < CTR__JSON_NEXTRA; e++)
    w[W_EXTRA_BEFORE + e] = jr->extra_before[e];
  save_bytes(s, w, sizeof w);
  for (size_t k = 0; k < jr->nkeys; k++) {
    save_word(s, jr->keys[k].len);
    save_word(s, jr->keys[k].field | (uint64_t)jr->keys[k].time << 32);
  }
  for (size_t i = 0; i < jr->nkeys; i++) {
    save_word(s, x->value_off[i] == (size_t)-1 ? NONE : x->value_off[i]);
    save_word(s, x->value_off[i] == (size_t)-1 ? 0 : x->value_len[i]);
  }
  save_bytes(s, jr->prio, jr->prio_len);
  save_bytes(s, jr->head, jr->head_len);
  save_bytes(s, jr->tags, jr->tags_len);
  for (size_t k = 0; k < jr->nkeys; k++)
    save_bytes(s, jr->keys[k].text, jr->keys[k].len);
  save_bytes(s, x->source, x->source_len);
  save_bytes(s, x->hostname, x->hostname_len);
  if (x->event_id)
    save_bytes(s, x->event_id, x->event_id_len);
  save_bytes(s, x->kinds, x->kinds_len);
  save_bytes(s, x->output, x->output_len);
  save_bytes(s, x->values, x->values_len);
}

CTR_API int ctr_match_save(const ctr_match *m, void *buf, size_t cap, size_t *len)
{
  if (!m || !len || (!buf && cap))
    return CTR_EINVAL;
  ctr__line_src x;
  int rc = ctr__line_src_of(m, &x);
  if (rc != CTR_OK)
    return rc;
  saver count = {0};
  save_line_src(&count, &x);
  if (count.at <= cap) { /* whole or not at all: a cut block is no use */
    saver s = {buf, 0, cap};
    save_line_src(&s, &x);
  }
  *len = count.at;
  return CTR_OK;
}

/* ------------------------------------------------------------ reading back */

typedef struct reader {
  const unsigned char *p;
  size_t at, n;
  bool bad;
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
 * present; the kinds are what json_value and trailer_fields walk. */
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

/* The line source of a saved block, its rule's part in *jr, its keys and
 * value offsets and lengths in *mem (malloc'ed, for the caller to free).
 * CTR_EINVAL for bytes that are not a saved block whole; CTR_ENOMEM. */
static int load_line_src(const void *saved, size_t n, ctr__line_src *x, ctr__json_rule *jr, void **mem)
{
  reader r = {saved, 0, n, false};
  uint64_t w[W__COUNT];
  for (int i = 0; i < W__COUNT; i++)
    w[i] = read_word(&r);
  uint64_t nkeys = w[W_NKEYS];
  /* Each key takes WORDS_PER_KEY words: a count the bytes cannot hold is
   * refused before anything is allocated for it. */
  if (r.bad || w[W_MAGIC] != SAVED_MAGIC || nkeys > (n - r.at) / (8 * WORDS_PER_KEY))
    return CTR_EINVAL;
  for (int e = 0; e < CTR__JSON_NEXTRA; e++)
    if (w[W_EXTRA_BEFORE + e] > nkeys)
      return CTR_EINVAL;
  if (w[W_EXTRA_NAMED] >> CTR__JSON_NEXTRA)
    return CTR_EINVAL;

  size_t nk = (size_t)nkeys;
  ctr__json_key *keys = malloc((nk ? nk : 1) * (sizeof *keys + 2 * sizeof(size_t)));
  if (!keys)
    return CTR_ENOMEM;
  *mem = keys;
  size_t *off = (size_t *)(void *)(keys + (nk ? nk : 1)), *len = off + nk;
  for (size_t k = 0; k < nk; k++) {
    uint64_t klen = read_word(&r), fw = read_word(&r);
    if ((fw & 0xffffffffu) >= nkeys || (fw >> 32) > 1)
      r.bad = true;
    keys[k] = (ctr__json_key){.len = (size_t)klen, .field = (uint32_t)fw, .time = (fw >> 32) != 0};
  }
  uint64_t values_len = w[W_VALUES_LEN];
  for (size_t i = 0; i < nk; i++) {
    uint64_t o = read_word(&r), l = read_word(&r);
    if (o == NONE ? l != 0 : o > values_len || l > values_len - o)
      r.bad = true;
    off[i] = o == NONE ? (size_t)-1 : (size_t)o;
    len[i] = (size_t)l;
  }
  *jr = (ctr__json_rule){.keys = keys, .nkeys = nk, .prio_len = (size_t)w[W_PRIO_LEN],
                         .head_len = (size_t)w[W_HEAD_LEN], .tags_len = (size_t)w[W_TAGS_LEN]};
  for (int e = 0; e < CTR__JSON_NEXTRA; e++) {
    jr->extra_before[e] = (size_t)w[W_EXTRA_BEFORE + e];
    jr->extra_named[e] = (w[W_EXTRA_NAMED] >> e) & 1;
  }
  jr->prio = read_bytes(&r, w[W_PRIO_LEN]);
  jr->head = read_bytes(&r, w[W_HEAD_LEN]);
  jr->tags = read_bytes(&r, w[W_TAGS_LEN]);
  for (size_t k = 0; k < nk; k++)
    keys[k].text = read_bytes(&r, keys[k].len);
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
  if (r.bad || r.at != n || !kinds_valid(x->kinds, x->kinds_len, off, nk))
    return CTR_EINVAL;
  return CTR_OK;
}

CTR_API int ctr_saved_json(const void *saved, size_t n, unsigned flags, char **out, size_t *len)
{
  if (!saved || !out || (flags & ~(unsigned)CTR__JSON_ALL))
    return CTR_EINVAL;
  ctr__line_src x;
  ctr__json_rule jr;
  void *mem = NULL;
  int rc = load_line_src(saved, n, &x, &jr, &mem);
  if (rc == CTR_OK)
    rc = ctr__json_line(&x, flags, out, len);
  free(mem);
  return rc;
}

CTR_API int ctr_saved_json_to(const void *saved, size_t n, unsigned flags, char *buf, size_t cap, size_t *len)
{
  if (!saved || !len || (!buf && cap) || (flags & ~(unsigned)CTR__JSON_ALL))
    return CTR_EINVAL;
  ctr__line_src x;
  ctr__json_rule jr;
  void *mem = NULL;
  int rc = load_line_src(saved, n, &x, &jr, &mem);
  if (rc == CTR_OK)
    rc = ctr__json_line_to(&x, flags, buf, cap, len);
  free(mem);
  return rc;
}
