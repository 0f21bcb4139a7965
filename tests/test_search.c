/* ctr__contains (util.c), the literal search of the prefilter, against a
 * naive search: both of its paths (memchr of a rare byte; the SSE2 filter on
 * the two rarest bytes) and the positions each leaves to the other. Every
 * haystack is copied into a block of exactly its size, so that a read past
 * its end is caught under ASan. */
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
  cr_assert_eq(ctr__contains(exact, n, lit, m), want, "%s: n %zu m %zu: '%.*s' in '%.*s' (want %d)", what, n, m,
               (int)m, lit, (int)n, exact, want);
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
      cr_assert_eq(ctr__needle_in(&nd, exact, n), naive(exact, n, lit, m), "round %d: n %zu m %zu", round, n, m);
      free(exact);
    }
  }
}
