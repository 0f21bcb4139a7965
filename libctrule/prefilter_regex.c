/*
 * prefilter_regex.c - the literals a regex requires (ctr__regex_literals,
 * declared in select.h), for the prefilter's required literals
 * (prefilter_literals.c).
 *
 * What a PCRE2 pattern (full match, UTF, no options) requires of every
 * string it matches: a set of literals one of which the string holds. A
 * recursive descent over the pattern gives each part either its exact
 * strings (a finite set: literal characters, `?`, groups and alternations of
 * exact parts, concatenated while the set stays small) or, failing that, the
 * best set required somewhere inside it. Anything it does not model surely
 * gives up on the whole pattern: a class, a brace, a backslash before a
 * letter or digit (\d, \Q, \x..., \1), `(?` other than `(?:` (flags such as
 * (?i) change what matches), or a non-ASCII byte (a quantifier would apply
 * to the whole character). `.`, `^`, `$`, `*` end what is known of a
 * sequence, `+` ends it after its part.
 */
#include "select.h"

#include <ctype.h>
#include <string.h>

enum { RX_MAX_ALTS = 16 }; /* strings in a set: more is a weaker test, and slower */

typedef struct rx_set {
  ctr__str *v;
  size_t n; /* 0: no set */
} rx_set;

typedef struct rx_info {
  bool exact; /* the part matches exactly the strings of ex */
  rx_set ex;
  rx_set best; /* one of these is in every match (n 0: none known) */
} rx_info;

/* Groups nested deeper give nothing (PCRE2 itself stops at 250 by default):
 * the descent's recursion is bounded whatever the pattern. */
enum { RX_MAX_DEPTH = 32 };

typedef struct rx_ctx {
  ctr__arena *scratch;
  const char *p, *end;
  unsigned depth; /* groups open */
  bool bad;       /* a construct not modelled, or out of memory: no literals */
} rx_ctx;

static size_t rx_minlen(const rx_set *s)
{
  size_t m = SIZE_MAX;
  for (size_t i = 0; i < s->n; i++)
    m = s->v[i].len < m ? s->v[i].len : m;
  return s->n ? m : 0;
}

/* Keeps in *best the better of it and cand: the longer shortest string (a
 * set holding "" requires nothing), then the fewer strings. */
static void rx_consider(rx_set *best, const rx_set *cand)
{
  size_t mc = rx_minlen(cand), mb = rx_minlen(best);
  if (mc > 0 && (mc > mb || (mc == mb && cand->n < best->n)))
    *best = *cand;
}

static rx_set rx_one(rx_ctx *x, const char *s, size_t len)
{
  ctr__str *v = ctr__arena_alloc(x->scratch, sizeof *v);
  if (!v) {
    x->bad = true;
    return (rx_set){NULL, 0};
  }
  *v = (ctr__str){s, len};
  return (rx_set){v, 1};
}

/* a x b, every string of a followed by every string of b (n 0: too many). */
static rx_set rx_concat(rx_ctx *x, const rx_set *a, const rx_set *b)
{
  if (a->n * b->n > RX_MAX_ALTS)
    return (rx_set){NULL, 0};
  ctr__str *v = ctr__arena_alloc(x->scratch, a->n * b->n * sizeof *v);
  if (!v) {
    x->bad = true;
    return (rx_set){NULL, 0};
  }
  size_t n = 0;
  for (size_t i = 0; i < a->n; i++)
    for (size_t j = 0; j < b->n; j++) {
      char *t = ctr__arena_alloc(x->scratch, a->v[i].len + b->v[j].len + 1);
      if (!t) {
        x->bad = true;
        return (rx_set){NULL, 0};
      }
      memcpy(t, a->v[i].s, a->v[i].len);
      memcpy(t + a->v[i].len, b->v[j].s, b->v[j].len);
      v[n++] = (ctr__str){t, a->v[i].len + b->v[j].len};
    }
  return (rx_set){v, n};
}

/* a + b, the strings of both (n 0: too many). */
static rx_set rx_union(rx_ctx *x, const rx_set *a, const rx_set *b)
{
  if (a->n + b->n > RX_MAX_ALTS)
    return (rx_set){NULL, 0};
  ctr__str *v = ctr__arena_alloc(x->scratch, (a->n + b->n) * sizeof *v);
  if (!v) {
    x->bad = true;
    return (rx_set){NULL, 0};
  }
  memcpy(v, a->v, a->n * sizeof *v);
  memcpy(v + a->n, b->v, b->n * sizeof *v);
  return (rx_set){v, a->n + b->n};
}

static rx_info rx_alternation(rx_ctx *x);

/* One atom and its quantifier. *cut: the sequence's known run ends after it
 * (`+`: more of it may follow). */
static rx_info rx_atom(rx_ctx *x, bool *cut)
{
  static const rx_info unknown = {false, {NULL, 0}, {NULL, 0}};
  rx_info a = unknown;
  char c = *x->p++;
  *cut = false;
  if ((unsigned char)c >= 0x80 || strchr("[]{}*+?", c)) {
    x->bad = true; /* a quantifier here starts a verb such as (*ACCEPT) */
  } else if (c == '(') {
    if (x->p < x->end && *x->p == '?') {
      if (x->end - x->p < 2 || x->p[1] != ':') {
        x->bad = true;
        return a;
      }
      x->p += 2;
    }
    if (++x->depth > RX_MAX_DEPTH) {
      x->bad = true;
      return a;
    }
    a = rx_alternation(x);
    x->depth--;
    if (x->p >= x->end || *x->p != ')')
      x->bad = true;
    else
      x->p++;
  } else if (c == '.' || c == '^' || c == '$') {
    *cut = true; /* matches varying text, or an anchor: the run ends */
  } else {
    if (c == '\\') {
      if (x->p >= x->end || isalnum((unsigned char)*x->p) || (unsigned char)*x->p >= 0x80) {
        x->bad = true;
        return a;
      }
      c = *x->p++;
    }
    a.exact = true;
    a.ex = rx_one(x, x->p - 1, 1);
  }
  if (x->bad || x->p >= x->end || !*x->p || !strchr("?*+{", *x->p))
    return a;
  char q = *x->p++;
  if (q == '{') {
    x->bad = true;
    return a;
  }
  if (x->p < x->end && (*x->p == '?' || *x->p == '+'))
    x->p++; /* lazy or possessive: the same strings */
  if (q == '+') {
    *cut = true;
    return a;
  }
  if (q == '?' && a.exact) { /* present or not */
    rx_set empty = rx_one(x, "", 0);
    a.ex = rx_union(x, &a.ex, &empty);
    a.exact = a.ex.n > 0;
    a.best = (rx_set){NULL, 0};
    return a;
  }
  return unknown; /* `*`, or `?` of what is not exact: nothing required */
}

/* A sequence of atoms, up to `|`, `)` or the end. */
static rx_info rx_sequence(rx_ctx *x)
{
  rx_info s = {true, rx_one(x, "", 0), {NULL, 0}};
  rx_set run = s.ex; /* the exact strings of the atoms since the run began */
  while (!x->bad && x->p < x->end && *x->p != '|' && *x->p != ')') {
    bool cut;
    rx_info a = rx_atom(x, &cut);
    if (x->bad)
      break;
    rx_consider(&s.best, &a.best);
    rx_set joined = a.exact ? rx_concat(x, &run, &a.ex) : (rx_set){NULL, 0};
    if (!joined.n) { /* the run ends before this atom */
      rx_consider(&s.best, &run);
      s.exact = false;
      joined = a.exact ? a.ex : rx_one(x, "", 0);
    }
    run = joined;
    if (cut) {
      rx_consider(&s.best, &run);
      s.exact = false;
      run = rx_one(x, "", 0);
    }
  }
  rx_consider(&s.best, &run);
  s.ex = s.exact ? run : (rx_set){NULL, 0};
  return s;
}

/* Sequences separated by `|`: exact when each is (their union); else one
 * of them holds, so one of their sets is in every match. */
static rx_info rx_alternation(rx_ctx *x)
{
  rx_info all = rx_sequence(x);
  bool alternatives = false;
  while (!x->bad && x->p < x->end && *x->p == '|') {
    x->p++;
    rx_info b = rx_sequence(x);
    rx_set ea = all.exact ? all.ex : (rx_set){NULL, 0};
    all.ex = all.exact && b.exact ? rx_union(x, &ea, &b.ex) : (rx_set){NULL, 0};
    all.exact = all.ex.n > 0;
    /* best: a set from each branch, the union (none if a branch has none) */
    all.best = all.best.n && b.best.n ? rx_union(x, &all.best, &b.best) : (rx_set){NULL, 0};
    alternatives = true;
  }
  if (alternatives && all.exact)
    rx_consider(&all.best, &all.ex);
  return all;
}

bool ctr__regex_literals(ctr__arena *scratch, const char *pat, size_t len, ctr__str **out, size_t *n)
{
  /* sigma.c wraps a Sigma |re pattern P as a substring match; a string
   * matching the whole holds a substring matching P (a `)` in P, which could
   * close the wrapper's group, makes P fail to parse below). */
  static const char pre[] = "(?s:.*)(?:", post[] = "\\E)(?s:.*)";
  size_t npre = sizeof pre - 1, npost = sizeof post - 1;
  if (len > npre + npost && memcmp(pat, pre, npre) == 0 && memcmp(pat + len - npost, post, npost) == 0) {
    pat += npre;
    len -= npre + npost;
  }
  rx_ctx x = {scratch, pat, pat + len, 0, false};
  rx_info r = rx_alternation(&x);
  if (x.bad || x.p != x.end || rx_minlen(&r.best) == 0)
    return false;
  *out = r.best.v;
  *n = r.best.n;
  return true;
}
