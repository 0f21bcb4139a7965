/* ctr__contains (util.c), the literal search of the prefilter, against a
 * naive search: each of its paths (the AVX-512BW and AVX2 pair filters where
 * the processor has them, and with ctr__search_width lowered the SSE2 ones:
 * memchr of a rare byte, the rare byte inline, the pair filter) and the
 * positions each leaves to the other. Every haystack is copied into a block
 * of exactly its size, so that a read past its end is caught under ASan. */
#include "internal.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static bool naive(const char *hay, size_t n, const char *lit, size_t m)
{
  for (size_t i = 0; i + m <= n; i++)
    if (memcmp(hay + i, lit, m) == 0)
      return true;
  return m == 0;
}

static void check(const char *hay, size_t n, const char *lit, size_t m, const char *what)
{
  char *exact = malloc(n ? n : 1);
  cr_assert_not_null(exact);
  memcpy(exact, hay, n);
  bool want = naive(exact, n, lit, m);
  for (int w = 0; w <= 2; w++) {
    ctr__search_width = w;
    cr_assert_eq(ctr__contains(exact, n, lit, m), want, "%s, width %d: n %zu m %zu: '%.*s' in '%.*s' (want %d)", what,
                 w, n, m, (int)m, lit, (int)n, exact, want);
  }
  ctr__search_width = 2;
  free(exact);
}

static unsigned next(unsigned *seed)
{
  *seed = *seed * 1103515245u + 12345u;
  return *seed >> 8;
}

/* Alphabets that send the search down each path: common bytes only (the
 * vector filter), a rare byte among common ones (memchr), bytes JSON never
 * holds (NUL, 0xff: the rarest of all), and a mix. */
static const char *const k_alphabets[] = {"toe", "Rto", "R/to\"", "\x01\xff" "a", "RZ{}", "to.3\"Rz\\"};

Test(search, agrees_with_naive_on_random_input)
{
  char hay[700], lit[48]; /* either side of util.c's INLINE_SPAN (512) */
  unsigned seed = 777;
  for (int round = 0; round < 60000; round++) {
    const char *alpha = k_alphabets[next(&seed) % CTR__COUNTOF(k_alphabets)];
    size_t na = strlen(alpha) + (alpha[0] == '\x01'); /* the NUL ending "\x01\xff" "a" counts too */
    size_t n = next(&seed) % sizeof hay, m = next(&seed) % 41;
    for (size_t i = 0; i < n; i++)
      hay[i] = alpha[next(&seed) % na];
    for (size_t i = 0; i < m; i++)
      lit[i] = alpha[next(&seed) % na];
    if (m <= n && next(&seed) % 2) { /* planted anywhere, the last positions too */
      size_t at = next(&seed) % 4 ? next(&seed) % (n - m + 1) : n - m;
      memcpy(hay + at, lit, m);
    }
    check(hay, n, lit, m, "random");
  }
}

/* Near misses everywhere: the rarest byte and its partner at every position
 * but the literal whole nowhere, then the literal planted at each position
 * of a haystack of every length up to 100 (across and at the ends of 32-byte
 * blocks). */
Test(search, adversarial_near_misses_and_every_position)
{
  static const char *const lits[] = {"Root", "203.0.113.", "RR", "oR", "aaaaab", "\"eventName\":\"DeleteDBInstance\"",
                                     "R\xff", "to"};
  char hay[160];
  for (size_t k = 0; k < CTR__COUNTOF(lits); k++) {
    const char *lit = lits[k];
    size_t m = strlen(lit);
    /* the literal with its last byte wrong, over and over */
    for (size_t n = 0; n < sizeof hay; n++) {
      for (size_t i = 0; i < n; i++)
        hay[i] = lit[i % m];
      for (size_t i = m - 1; i < n; i += m)
        hay[i] = (char)(lit[m - 1] ^ 1);
      check(hay, n, lit, m, "near misses");
    }
    for (size_t n = m; n <= 100; n++)
      for (size_t at = 0; at + m <= n; at++) {
        memset(hay, 'x', n);
        memcpy(hay + at, lit, m);
        check(hay, n, lit, m, "planted");
        hay[at + m - 1] ^= 0x20; /* one byte off: not there */
        check(hay, n, lit, m, "one byte off");
      }
  }
}

/* The real records: every line against the literals a ruleset holds. */
Test(search, agrees_with_naive_on_the_real_records)
{
  static const char *const lits[] = {"Root", "203.0.113.", "AssumeRole", "s3.amazonaws.com", "\"eventName\":\"",
                                     "arn:aws:iam::", "Z", "\"}", "DeleteDBInstance", "nothing-like-this"};
  size_t len;
  char *all = tu_read(tu_shared("records.ndjson"), &len);
  for (char *p = all, *end = all + len; p < end;) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    for (size_t k = 0; k < CTR__COUNTOF(lits); k++)
      check(p, n, lits[k], strlen(lits[k]), "real record");
    p += n + 1;
  }
  free(all);
}

/* A needle made once (what the prefilter keeps per literal) and searched in
 * many haystacks in turn answers as a search made afresh each time: random
 * haystacks over each alphabet, every literal of every length to 40. */
Test(search, a_needle_made_once_answers_every_haystack)
{
  char hay[700], lit[41];
  unsigned seed = 4242;
  for (int round = 0; round < 600; round++) {
    const char *alpha = k_alphabets[next(&seed) % CTR__COUNTOF(k_alphabets)];
    size_t na = strlen(alpha), m = next(&seed) % 41;
    for (size_t i = 0; i < m; i++)
      lit[i] = alpha[next(&seed) % na];
    ctr__needle nd;
    ctr__needle_make(&nd, lit, m);
    for (int k = 0; k < 40; k++) {
      size_t n = next(&seed) % sizeof hay;
      for (size_t i = 0; i < n; i++)
        hay[i] = alpha[next(&seed) % na];
      if (m <= n && k % 3 == 0)
        memcpy(hay + next(&seed) % (n - m + 1), lit, m);
      char *exact = malloc(n ? n : 1);
      cr_assert_not_null(exact);
      memcpy(exact, hay, n);
      for (int w = 0; w <= 2; w++) {
        ctr__search_width = w;
        cr_assert_eq(ctr__needle_in(&nd, exact, n), naive(exact, n, lit, m), "round %d, width %d: n %zu m %zu", round,
                     w, n, m);
      }
      ctr__search_width = 2;
      free(exact);
    }
  }
}

/* The wide filters' steps (64 and 32 starts with AVX2, 64 with AVX-512BW)
 * and the last step that ends at the last start: for literals of every
 * length class (same_bytes compares 16 bytes at a time past 16), every
 * haystack length from m to m + 200 with the literal planted at each start,
 * then with one byte of it changed (each of its bytes in turn, so the pair
 * filter passes and the literal does not), and a haystack of the pair alone
 * everywhere. */
Test(search, wide_steps_and_their_last_step)
{
  static const char *const lits[] = {"Ro", "Rot", "Root", "203.0.113.", "arn:aws:iam::123456789012:root",
                                     "\"type\":\"Root\"", "0123456789abcdefg", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"};
  char hay[300];
  for (size_t k = 0; k < CTR__COUNTOF(lits); k++) {
    const char *lit = lits[k];
    size_t m = strlen(lit);
    ctr__needle nd;
    ctr__needle_make(&nd, lit, m);
    cr_assert(m < 2 || (nd.a < m && nd.b < m && nd.a != nd.b), "%s: a %zu b %zu", lit, nd.a, nd.b);
    for (size_t n = m; n <= m + 200 && n <= sizeof hay; n++) {
      for (size_t at = 0; at + m <= n; at++) {
        memset(hay, 'x', n);
        memcpy(hay + at, lit, m);
        check(hay, n, lit, m, "planted");
        if (at % 7 == 0 || at + m == n) /* every changed byte at some starts and at the last */
          for (size_t c = 0; c < m; c++) {
            hay[at + c] ^= 0x01;
            check(hay, n, lit, m, "one byte changed");
            hay[at + c] ^= 0x01;
          }
      }
      /* the pair everywhere, the literal nowhere (unless it is the pair) */
      memset(hay, 'x', n);
      for (size_t s = 0; s + m <= n; s++) {
        hay[s + nd.a] = lit[nd.a];
        hay[s + nd.b] = lit[nd.b];
      }
      check(hay, n, lit, m, "pair everywhere");
    }
  }
}

/* The pair of bytes a needle filters on: the rarest byte and, in a literal
 * of 3 bytes or more, a partner two places or more from it when there is
 * one (neighbours go together in text: `Ro` of `Role`). Every literal of 2
 * to 6 bytes over a small alphabet gives two distinct positions inside it. */
Test(search, the_pair_is_two_distinct_places_apart_when_it_can_be)
{
  ctr__needle nd;
  ctr__needle_make(&nd, "Root", 4);
  cr_assert_eq(nd.a, 0);
  cr_assert_eq(nd.b, 2, "Root: the partner of R is the o two places on, not its neighbour (b %zu)", nd.b);
  static const char alpha[] = "Rto\"";
  char lit[6];
  for (size_t m = 2; m <= sizeof lit; m++)
    for (unsigned code = 0, total = 1u << (2 * m); code < total; code++) {
      for (size_t i = 0; i < m; i++)
        lit[i] = alpha[code >> (2 * i) & 3];
      ctr__needle_make(&nd, lit, m);
      cr_assert(nd.a < m && nd.b < m && nd.a != nd.b, "'%.*s': a %zu b %zu", (int)m, lit, nd.a, nd.b);
      bool apart_exists = nd.a >= 2 || nd.a + 2 < m;
      size_t gap = nd.a > nd.b ? nd.a - nd.b : nd.b - nd.a;
      cr_assert(!apart_exists || gap >= 2, "'%.*s': a %zu b %zu, yet a place two apart exists", (int)m, lit, nd.a,
                nd.b);
    }
}
