/* util.c - growable buffers, the per-event arena, string helpers, hashing
 * and string sets. */
#include "internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

int ctr__buf_reserve(ctr__buf *b, size_t extra)
{
  if (extra > SIZE_MAX - b->len - 1)
    return CTR_ENOMEM;
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return CTR_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = realloc(b->data, cap);
  if (!p)
    return CTR_ENOMEM;
  p[b->len] = '\0'; /* a first allocation too: data is a string whenever it is not NULL */
  b->data = p;
  b->cap = cap;
  return CTR_OK;
}

int ctr__buf_append(ctr__buf *b, const void *p, size_t n)
{
  if (ctr__buf_reserve(b, n) != CTR_OK)
    return CTR_ENOMEM;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return CTR_OK;
}

int ctr__buf_append_str(ctr__buf *b, const char *s) { return ctr__buf_append(b, s, strlen(s)); }

int ctr__buf_append_char(ctr__buf *b, char c) { return ctr__buf_append(b, &c, 1); }

int ctr__buf_printf(ctr__buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || ctr__buf_reserve(b, (size_t)n) != CTR_OK) {
    va_end(ap2);
    return CTR_ENOMEM;
  }
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  b->len += (size_t)n;
  return CTR_OK;
}

void ctr__buf_clear(ctr__buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

void ctr__buf_free(ctr__buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

struct ctr__arena_block {
  ctr__arena_block *next;
  size_t used, cap;
  _Alignas(8) unsigned char mem[];
};

void *ctr__arena_alloc(ctr__arena *a, size_t n)
{
  n = (n + 7) & ~(size_t)7;
  if (n == 0)
    n = 8;
  ctr__arena_block *b = a->head;
  while (b && b->cap - b->used < n) {
    /* Blocks kept from earlier events are reused in order. */
    b = b->next;
    if (b)
      b->used = 0;
    a->head = b ? b : a->head;
  }
  if (!b) {
    size_t cap = n > 16384 ? n : 16384;
    b = malloc(sizeof *b + cap);
    if (!b) {
      a->failed = true;
      return NULL;
    }
    b->next = NULL;
    b->used = 0;
    b->cap = cap;
    if (a->head)
      a->head->next = b;
    else
      a->first = b;
    a->head = b;
  }
  void *p = b->mem + b->used;
  b->used += n;
  return p;
}

char *ctr__arena_strndup(ctr__arena *a, const char *s, size_t n)
{
  char *p = ctr__arena_alloc(a, n + 1);
  if (!p)
    return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void *ctr__arena_grow(ctr__arena *a, void *v, size_t n, size_t *cap, size_t size)
{
  if (n < *cap)
    return v;
  size_t c = *cap ? *cap * 2 : 8;
  if (c > SIZE_MAX / size) {
    a->failed = true;
    return NULL;
  }
  void *w = ctr__arena_alloc(a, c * size);
  if (!w)
    return NULL;
  if (n)
    memcpy(w, v, n * size);
  *cap = c;
  return w;
}

void ctr__arena_reset(ctr__arena *a)
{
  a->head = a->first;
  if (a->head)
    a->head->used = 0;
  a->failed = false;
}

void ctr__arena_free(ctr__arena *a)
{
  ctr__arena_block *b = a->first;
  while (b) {
    ctr__arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->first = a->head = NULL;
}

char *ctr__strndup(const char *s, size_t n)
{
  char *p = malloc(n + 1);
  if (!p)
    return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *ctr__strdup(const char *s) { return s ? ctr__strndup(s, strlen(s)) : NULL; }

/* How common each byte is in CloudTrail JSON, 0 the rarest (the bytes of the
 * shared real records counted; bytes they never hold by value). The search
 * below filters on the literal's two rarest bytes: a filter on common ones
 * ('t', 'o', digits, '"') stops at every other position. */
static const unsigned char k_byte_rank[256] = {
    0,   1,   2,   3,   4,   5,   6,   7,   8,   9, 182,  10,  11,  12,  13,  14,
   15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,
  223, 164, 255, 173, 169, 178, 166, 171, 176, 177, 174, 179, 243, 238, 229, 208,
  240, 244, 241, 235, 233, 230, 226, 225, 227, 228, 250, 175, 165, 172, 168, 167,
  170, 234, 188, 212, 214, 211, 191, 189, 199, 232, 186, 197, 201, 205, 206, 200,
  209, 185, 207, 218, 213, 190, 203, 187, 192, 184, 195, 180, 202, 181,  31, 198,
   32, 253, 221, 245, 242, 254, 219, 217, 210, 246, 183, 196, 236, 237, 249, 247,
  231, 194, 248, 251, 252, 239, 224, 222, 193, 220, 204, 215,  33, 216,  34,  35,
   36,  37,  38,  39,  40,  41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51,
   52,  53,  54,  55,  56,  57,  58,  59,  60,  61,  62,  63,  64,  65,  66,  67,
   68,  69,  70,  71,  72,  73,  74,  75,  76,  77,  78,  79,  80,  81,  82,  83,
   84,  85,  86,  87,  88,  89,  90,  91,  92,  93,  94,  95,  96,  97,  98,  99,
  100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115,
  116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131,
  132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147,
  148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163,
};

/* Positions of the literal's rarest byte (*a) and its partner (*b), m >= 2:
 * the next rarest byte, taken two places or more from *a when the literal
 * is long enough, as neighbours go together in text: `Ro` of `Root` stands
 * in every AssumedRole's userIdentity (`Role`), `R` and `o` two apart
 * hardly anywhere else than in `Root` (the shared real records' userIdentity:
 * 1,281 places against 68, 66 of them `Root`). */
static void rare_pair(const unsigned char *lit, size_t m, size_t *a, size_t *b)
{
  *a = 0;
  for (size_t k = 1; k < m; k++)
    if (k_byte_rank[lit[k]] < k_byte_rank[lit[*a]])
      *a = k;
  *b = SIZE_MAX;
  for (int near = 0; near < 2 && *b == SIZE_MAX; near++) /* apart first; a neighbour when none is */
    for (size_t k = 0; k < m; k++) {
      bool apart = k + 2 <= *a || k >= *a + 2;
      if (k != *a && (apart || near) && (*b == SIZE_MAX || k_byte_rank[lit[k]] < k_byte_rank[lit[*b]]))
        *b = k;
    }
}

/* Ranks up to this one are bytes that stand once in 150 or more of JSON text:
 * glibc's vectorised memchr over them beats any filter of our own. */
#define RARE_RANK 214

void ctr__needle_make(ctr__needle *nd, const char *lit, size_t m)
{
  *nd = (ctr__needle){lit, m, 0, 0, false};
  if (m >= 2) {
    rare_pair((const unsigned char *)lit, m, &nd->a, &nd->b);
    nd->by_memchr = k_byte_rank[(unsigned char)lit[nd->a]] <= RARE_RANK;
  }
}

/* The literal at h + s, its byte b compared first (ctr__same_key: no call
 * to memcmp for the short literals rules name). */
static inline bool pair_at(const unsigned char *h, size_t s, const unsigned char *l, size_t m, size_t b)
{
  return h[s + b] == l[b] && ctr__same_key((const char *)h + s, (const char *)l, m);
}

/* From each place the literal's rare byte l[a] stands (memchr), the literal
 * at it. Gives up (*i where it stopped) once the byte turns out common here:
 * more than one a 32 bytes after 16 of them. */
static bool memchr_scan(const unsigned char *h, size_t n, const unsigned char *l, size_t m, size_t a, size_t b,
                        size_t *i)
{
  for (size_t tried = 1; *i + m <= n; tried++) {
    const unsigned char *at = memchr(h + *i + a, l[a], n - m + 1 - *i);
    if (!at) {
      *i = n;
      return false;
    }
    size_t s = (size_t)(at - h) - a;
    if (pair_at(h, s, l, m, b))
      return true;
    *i = s + 1;
    if (tried % 16 == 0 && *i < tried * 32)
      return false;
  }
  return false;
}

#ifdef __SSE2__
/* Whether the literal starts at one of p[0..31], the two rarest bytes
 * compared at the 32 starts at once, the literal compared where both agree.
 * Reads p[0 .. m+30]. */
static inline bool pair_block(const unsigned char *p, const unsigned char *l, size_t m, size_t a, size_t b, __m128i ca,
                              __m128i cb)
{
  __m128i lo = _mm_and_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + a)), ca),
                             _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + b)), cb));
  __m128i hi = _mm_and_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + a + 16)), ca),
                             _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + b + 16)), cb));
  uint32_t mask = (uint32_t)_mm_movemask_epi8(lo) | (uint32_t)_mm_movemask_epi8(hi) << 16;
  for (; mask; mask &= mask - 1)
    if (ctr__same_key((const char *)p + __builtin_ctz(mask), (const char *)l, m))
      return true;
  return false;
}

/* As pair_block, the rarest byte alone compared (it is rare: the literal
 * is compared at the few places it stands). Reads p[a .. a+31]. */
static inline bool rare_block(const unsigned char *p, const unsigned char *l, size_t m, size_t a, size_t b, __m128i ca)
{
  __m128i lo = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + a)), ca);
  __m128i hi = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + a + 16)), ca);
  uint32_t mask = (uint32_t)_mm_movemask_epi8(lo) | (uint32_t)_mm_movemask_epi8(hi) << 16;
  for (; mask; mask &= mask - 1)
    if (pair_at(p, (size_t)__builtin_ctz(mask), l, m, b))
      return true;
  return false;
}

/* ctr__needle_in's search of a haystack under INLINE_SPAN for a literal
 * with a rare byte: rare_block over every start (the last ones in a block
 * ending at the last start), one start at a time only when hay is shorter
 * than m + 31. */
static bool rare_scan(const unsigned char *h, size_t n, const unsigned char *l, size_t m, size_t a, size_t b)
{
  const __m128i ca = _mm_set1_epi8((char)l[a]);
  if (n < m + 31) {
    for (size_t i = 0; i + m <= n; i++)
      if (h[i + a] == l[a] && pair_at(h, i, l, m, b))
        return true;
    return false;
  }
  size_t i = 0;
  for (; i + m + 31 <= n; i += 32)
    if (rare_block(h + i, l, m, a, b, ca))
      return true;
  return i + m <= n && rare_block(h + n - m - 31, l, m, a, b, ca);
}
#endif

int ctr__search_width = 2;

/* Where the processor has AVX2 (AVX-512BW), a haystack of m + 31 (m + 63)
 * bytes or more is searched by the pair filter alone, 64 starts a step, for
 * any literal: no memchr and no rare-byte scan, whose every stop at the
 * rare byte (`R` stands twice in an AssumedRole's userIdentity) is a
 * branch taken at random. Picked at run time as walk.c's wide blocks are
 * (__builtin_cpu_supports: a load of what libgcc found at start). */
#if defined(__x86_64__) && defined(__GNUC__)
#define CTR__WIDE_SEARCH 1
#include <immintrin.h>
/* p[0..m) == l[0..m), with no call (to memcmp): a call in the scans' loops
 * makes the compiler keep their vector registers on the stack, reloaded at
 * every step. 16 bytes at a time, the last 16 overlapping. */
static inline bool same_bytes(const unsigned char *p, const unsigned char *l, size_t m)
{
  if (m <= 16)
    return ctr__same_key((const char *)p, (const char *)l, m);
  for (size_t k = 0;; k += 16) {
    if (k > m - 16)
      k = m - 16;
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
    __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(l + k));
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(x, y)) != 0xffff)
      return false;
    if (k == m - 16)
      return true;
  }
}

/* The starts of h[i..i+31] where l[a] and l[b] stand (AVX2), a bit each. */
static inline __attribute__((target("avx2"))) uint32_t pair_mask_256(const unsigned char *h, size_t i, size_t a,
                                                                     size_t b, __m256i ca, __m256i cb)
{
  __m256i x = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(const void *)(h + i + a)), ca);
  __m256i y = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(const void *)(h + i + b)), cb);
  return (uint32_t)_mm256_movemask_epi8(_mm256_and_si256(x, y));
}

/* Whether the literal starts at one of h[i..i+63]: the starts of mask (bit
 * k: h[i+k]), those where the pair filter passed. */
static inline bool lit_at(const unsigned char *h, size_t i, uint64_t mask, const unsigned char *l, size_t m)
{
  for (; mask; mask &= mask - 1)
    if (same_bytes(h + i + __builtin_ctzll(mask), l, m))
      return true;
  return false;
}

/* The pair filter over every start of hay with AVX2: l[a] and l[b]
 * compared at 64 starts a step (two masks, one branch), the literal where
 * both agree; then 32 starts, and the starts left in one more step of 32
 * ending at the last start. n >= m + 31: every load lies inside hay (the
 * last reads up to h[n-m-31+b+31], b < m). */
static __attribute__((target("avx2,bmi"))) bool pair_scan_256(const unsigned char *h, size_t n,
                                                               const unsigned char *l, size_t m, size_t a, size_t b)
{
  const __m256i ca = _mm256_set1_epi8((char)l[a]), cb = _mm256_set1_epi8((char)l[b]);
  const size_t last = n - m - 31;
  size_t i = 0;
  for (; i + 32 < last; i += 64) {
    uint32_t lo = pair_mask_256(h, i, a, b, ca, cb), hi = pair_mask_256(h, i + 32, a, b, ca, cb);
    if ((lo | hi) && (lit_at(h, i, lo, l, m) || lit_at(h, i + 32, hi, l, m)))
      return true;
  }
  if (i < last && lit_at(h, i, pair_mask_256(h, i, a, b, ca, cb), l, m))
    return true;
  return lit_at(h, last, pair_mask_256(h, last, a, b, ca, cb), l, m);
}

/* The starts of h[i..i+63] where l[a] and l[b] stand (AVX-512BW, into mask
 * registers), a bit each. */
static inline __attribute__((target("avx512bw"))) uint64_t pair_mask_512(const unsigned char *h, size_t i,
                                                                        size_t a, size_t b, __m512i ca, __m512i cb)
{
  return _mm512_cmpeq_epi8_mask(_mm512_loadu_si512((const void *)(h + i + a)), ca) &
         _mm512_cmpeq_epi8_mask(_mm512_loadu_si512((const void *)(h + i + b)), cb);
}

/* As pair_scan_256, one mask of 64 starts a step. n >= m + 63. */
static __attribute__((target("avx512bw,bmi"))) bool pair_scan_512(const unsigned char *h, size_t n,
                                                                  const unsigned char *l, size_t m, size_t a,
                                                                  size_t b)
{
  const __m512i ca = _mm512_set1_epi8((char)l[a]), cb = _mm512_set1_epi8((char)l[b]);
  const size_t last = n - m - 63;
  for (size_t i = 0; i < last; i += 64)
    if (lit_at(h, i, pair_mask_512(h, i, a, b, ca, cb), l, m))
      return true;
  return lit_at(h, last, pair_mask_512(h, last, a, b, ca, cb), l, m);
}
#endif

/* Below this many bytes (a member's value: userIdentity is 200-700 bytes) a
 * rare byte is looked for inline, 32 places at a time, not by memchr, whose
 * call and set-up cost more each time the byte turns up: CPU time over
 * 200,000 real records under `ct.user.identitytype = Root`, about 3% less
 * (callgrind counts 0.75% more instructions: memchr's are AVX2). Whole
 * records are left to memchr (the same time or better). */
#define INLINE_SPAN 512

/* Without the wide scans (or for a haystack too short for them): glibc's
 * memmem is portable C, about three instructions a byte here. A literal
 * holding a rare byte (RARE_RANK) is found from where that byte stands
 * (rare_block under INLINE_SPAN, else memchr_scan); otherwise, or where
 * that byte turns out common, the pair (rare_pair, worked out when the
 * needle was made) is compared with 32 positions at once (SSE2, part of
 * x86-64) and the literal compared only where both agree; the last starts
 * in one block ending at the last start. Only a haystack shorter than 32 +
 * m is tried one position at a time. */
static __attribute__((noinline)) bool needle_in_narrow(const ctr__needle *nd, const unsigned char *h, size_t n)
{
  size_t m = nd->m, a = nd->a, b = nd->b, i = 0;
  const unsigned char *l = (const unsigned char *)nd->s;
#ifdef __SSE2__
  if (nd->by_memchr && n < INLINE_SPAN)
    return rare_scan(h, n, l, m, a, b);
  if (nd->by_memchr && memchr_scan(h, n, l, m, a, b, &i))
    return true;
  const __m128i ca = _mm_set1_epi8((char)l[a]), cb = _mm_set1_epi8((char)l[b]);
  /* Starts i..i+31: the bytes compared, up to i+m+30, lie inside hay. */
  for (; i + m + 31 <= n; i += 32)
    if (pair_block(h + i, l, m, a, b, ca, cb))
      return true;
  /* The starts left, fewer than 32, in one more block ending at the last
   * start (it overlaps starts already tried), not one by one. */
  if (i + m <= n && n >= m + 31)
    return pair_block(h + n - m - 31, l, m, a, b, ca, cb);
#else
  for (;;) { /* without SIMD: memchr, however common the byte */
    if (memchr_scan(h, n, l, m, a, b, &i))
      return true;
    if (i + m > n)
      return false;
  }
#endif
  for (; i + m <= n; i++)
    if (h[i + a] == l[a] && pair_at(h, i, l, m, b))
      return true;
  return false;
}

/* The wide scans first, each a tail call with no frame of this function's
 * own (a member's search is a few steps: the calls' set-up counts). */
bool ctr__needle_in(const ctr__needle *nd, const char *hay, size_t n)
{
  size_t m = nd->m;
  const unsigned char *h = (const unsigned char *)hay;
#ifdef CTR__WIDE_SEARCH
  if (m >= 2 && n >= m + 31 && ctr__search_width > 0) {
    bool bmi = __builtin_cpu_supports("bmi"); /* tzcnt, blsr */
    if (n >= m + 63 && ctr__search_width > 1 && bmi && __builtin_cpu_supports("avx512bw"))
      return pair_scan_512(h, n, (const unsigned char *)nd->s, m, nd->a, nd->b);
    if (bmi && __builtin_cpu_supports("avx2"))
      return pair_scan_256(h, n, (const unsigned char *)nd->s, m, nd->a, nd->b);
  }
#endif
  if (m == 0)
    return true;
  if (m > n)
    return false;
  if (m == 1)
    return memchr(hay, nd->s[0], n) != NULL;
  return needle_in_narrow(nd, h, n);
}

bool ctr__contains(const char *hay, size_t n, const char *lit, size_t m)
{
  ctr__needle nd;
  ctr__needle_make(&nd, lit, m);
  return ctr__needle_in(&nd, hay, n);
}

/* ------------------------------------------------------------ hashing, sets */

/* A word at a time (FNV-1a's byte at a time cost about 5 instructions a byte,
 * and the scanner hashes each record's eventName and eventSource). The
 * length seeds it; a tail of 4-7 bytes is two overlapping 4-byte loads and one
 * of 1-3 bytes its first, middle and last byte, so equal lengths with other
 * bytes give other words. `lower`: tolower() of every byte, for
 * ctr__hash_lower, which must equal ctr__hash of the folded bytes. */
static const uint64_t k_mul = 0x9E3779B97F4A7C15ULL;

static inline uint64_t hash_load(const char *s, size_t n, bool lower)
{
  unsigned char b[8];
  for (size_t i = 0; i < n; i++) /* unrolled: n is 4 or 8 */
    b[i] = lower ? (unsigned char)tolower((unsigned char)s[i]) : (unsigned char)s[i];
  uint64_t w = 0;
  if (n == 8) {
    memcpy(&w, b, 8);
  } else {
    uint32_t v;
    memcpy(&v, b, 4);
    w = v;
  }
  return w;
}

static inline uint64_t hash_bytes(const char *s, size_t len, bool lower)
{
  uint64_t h = (len + 1) * k_mul;
  for (; len >= 8; s += 8, len -= 8) {
    h = (h ^ hash_load(s, 8, lower)) * k_mul;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  if (len >= 4) {
    w = hash_load(s, 4, lower) | hash_load(s + len - 4, 4, lower) << 32;
  } else if (len) {
    unsigned char a = (unsigned char)s[0], m = (unsigned char)s[len / 2], z = (unsigned char)s[len - 1];
    if (lower)
      a = (unsigned char)tolower(a), m = (unsigned char)tolower(m), z = (unsigned char)tolower(z);
    w = (uint64_t)a | (uint64_t)m << 8 | (uint64_t)z << 16;
  }
  h = (h ^ w) * k_mul;
  h ^= h >> 29;
  h *= k_mul;
  return h ^ (h >> 32);
}

uint64_t ctr__hash(const char *s, size_t len) { return hash_bytes(s, len, false); }

bool ctr__listarg_next(const char **p, ctr__str *item)
{
  size_t len = 0;
  const char *s = *p;
  if (!s || !*s)
    return false;
  while (*s >= '0' && *s <= '9')
    len = len * 10 + (size_t)(*s++ - '0');
  /* compile.c wrote it: LEN digits, ':', LEN bytes with no NUL */
  item->s = s + 1;
  item->len = len;
  *p = s + 1 + len;
  return true;
}

uint64_t ctr__hash_lower(const char *s, size_t len) { return hash_bytes(s, len, true); }

bool ctr__strset_build(ctr__arena *pool, ctr__strset *set, const ctr__str *items, size_t n)
{
  size_t cap = 8;
  while (cap < n * 2)
    cap *= 2;
  set->items = ctr__arena_alloc(pool, cap * sizeof *set->items);
  if (!set->items)
    return false;
  memset(set->items, 0, cap * sizeof *set->items);
  set->cap = cap;
  set->n = 0;
  for (size_t i = 0; i < n; i++) {
    if (ctr__strset_has(set, items[i].s, items[i].len))
      continue;
    size_t k = ctr__hash(items[i].s, items[i].len) & (cap - 1);
    while (set->items[k].s)
      k = (k + 1) & (cap - 1);
    set->items[k] = items[i];
    set->n++;
  }
  return true;
}

bool ctr__strset_has(const ctr__strset *set, const char *s, size_t len)
{
  if (!set->cap)
    return false;
  size_t k = ctr__hash(s, len) & (set->cap - 1);
  while (set->items[k].s) {
    if (set->items[k].len == len && memcmp(set->items[k].s, s, len) == 0)
      return true;
    k = (k + 1) & (set->cap - 1);
  }
  return false;
}
