/*
 * prefilter.c - decides from a record's raw bytes, before jansson parses it,
 * that no enabled rule can match it.
 *
 * At compile time every enabled rule must prove a key: the constant values
 * its condition requires of one top-level field (`= X` or `in (...)`, through
 * and/or and macros, never under `not`: ctr__required_keys in select.c, the
 * derivation the eventName index keys on too) - eventName (ct.name) if it can,
 * else errorCode (ct.error), else eventSource (ct.src). The rule is filed
 * under each of those values, together with what it also requires of the
 * other two fields (`ct.src = "kms.amazonaws.com" and ct.error =
 * "AccessDenied"` needs both).
 *
 * At scan time the walk (walk.c) has crossed the record once - it checks the
 * grammar and reads the top-level keys - and a record is skipped only when
 *   - the walk vouched for it, so jansson would accept it and no bad-record
 *     report is ever hidden;
 *   - it is a complete CloudTrail record (the keys ctr__event_complete checks,
 *     with their types), so no incomplete-record report is hidden either, and
 *     it is not an Insight record;
 *   - no rule filed under its eventName, errorCode or eventSource also has
 *     what it requires of the other two (an absent field satisfies nothing:
 *     every operator is false on an absent field).
 * The values compared are raw, and a value that holds a backslash escape or
 * is not a string sends the record to jansson.
 *
 * A rule with no key is instead a candidate for every record holding its
 * required literals (below); only one with neither turns the prefilter off.
 *
 * A rule filed under a record's values is still no candidate when a literal
 * its condition requires is nowhere in the record's bytes. At compile time
 * each rule gets groups of literals, one of each group being required: the
 * operands of `=`, `in`, `intersects`, `startswith`, `pmatch`, `contains` and
 * `endswith` (and their anyof/allof/oneof forms), the longest plain run of a
 * glob, what a regex requires (ctr__regex_literals: one of a few literals,
 * `(Delete|Stop)DB.*` requiring DeleteDB or StopDB), and, searched
 * ASCII-folded, those of tolower(),
 * icontains and iglob, on fields whose value is verbatim in the record
 * (ctr__rawness in internal.h), through and/or and macros, never under
 * `not`. Many rules' literals are searched in one pass (litmatch.c).
 * When the record holds no backslash escape, the
 * value of such a field is its raw bytes, so a value holding the literal
 * means the bytes hold it. When it does, an occurrence can only be hidden if
 * it covers a character an escape spelled: the walk vouches for no \u
 * escape, so one of " \ / and the controls \b \f \n \r \t. A literal
 * holding none of them is searched in any record; the others only in records
 * without escapes (jansson decides).
 */
#include "select.h"
#include "event.h"
#include "litmatch.h"

#include <ctype.h>
#include <string.h>

/* The fields a rule may be keyed on, in order of preference (the most
 * selective first), with the top-level key each one reads verbatim (their
 * CTR__TOP_ indexes in the walk's facts are the same). */
enum { KEYED_NAME, KEYED_ERROR, KEYED_SOURCE, KEYED__COUNT };
_Static_assert((int)KEYED_NAME == (int)CTR__TOP_EVENT_NAME && (int)KEYED_ERROR == (int)CTR__TOP_ERROR_CODE &&
                   (int)KEYED_SOURCE == (int)CTR__TOP_EVENT_SOURCE,
               "keyed fields and their top-level keys share an index");
static const char *const k_keyed_fields[KEYED__COUNT] = {"ct.name", "ct.error", "ct.src"};

/* Literals of which at least one is in the raw bytes of every record the
 * rule matches - of every record without escapes, when escapable. */
typedef struct literal_group {
  const ctr__str *lits;
  uint32_t n;
  bool escapable; /* a literal holds a character an escape can spell */
  bool nocase;    /* compared case-insensitively (tolower, icontains, iglob): searched ASCII-folded */
} literal_group;

/* What one rule requires of the keyed fields (NULL: nothing) and of the
 * record's bytes (every group). */
typedef struct rule_needs {
  ctr__strset *need[KEYED__COUNT];
  const literal_group *groups;
  uint32_t ngroups;
} rule_needs;

/* One pass for the literals of many rules (litmatch.c): ids[] lists, rule by
 * rule and group by group, each literal's index in the matcher. lm NULL: the
 * rules' literals are searched one by one. */
typedef struct rule_matcher {
  const ctr__litmatch *lm;
  const uint32_t *ids;
  uint32_t nlits;
} rule_matcher;

/* A value of a keyed field and the rules filed under it. */
typedef struct key_entry {
  ctr__str value; /* value.s NULL: empty slot */
  uint32_t first, n; /* range of ctr__prefilter.filed */
  rule_matcher m;
} key_entry;

typedef struct key_table {
  key_entry *slots; /* open addressing */
  size_t cap;
} key_table;

struct ctr__prefilter {
  key_table by[KEYED__COUNT]; /* a rule is filed under the values of its preferred keyed field */
  uint32_t *filed;            /* indexes into needs, grouped by key_entry */
  rule_needs *needs;          /* one per enabled rule */
  uint32_t *unkeyed;          /* rules with no key: their literals alone decide, for every record */
  uint32_t nunkeyed;
  rule_matcher unkeyed_m;
};

/* ------------------------------------------------------------ compile time */

/* A rule's literal groups while they are collected (in scratch). */
typedef struct group_list {
  literal_group *v;
  size_t n, cap;
  bool failed; /* out of memory: the build fails with CTR_ENOMEM */
} group_list;

static void group_push(ctr__arena *scratch, group_list *l, literal_group g)
{
  if (l->failed)
    return;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 4;
    literal_group *v = ctr__arena_alloc(scratch, cap * sizeof *v);
    if (!v) {
      l->failed = true;
      return;
    }
    if (l->n)
      memcpy(v, l->v, l->n * sizeof *v);
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = g;
}

/* The longer a group's shortest literal, the rarer a record holding one. */
static bool group_better(const literal_group *a, const literal_group *b)
{
  size_t ma = SIZE_MAX, mb = SIZE_MAX;
  for (uint32_t i = 0; i < a->n; i++)
    ma = a->lits[i].len < ma ? a->lits[i].len : ma;
  for (uint32_t i = 0; i < b->n; i++)
    mb = b->lits[i].len < mb ? b->lits[i].len : mb;
  return ma != mb ? ma > mb : a->n < b->n;
}

/* What collecting a rule's literals needs: the keyed fields whose exact
 * comparisons may_match makes (none for a rule with no key), and which bytes
 * the locale's tolower folds only as ASCII does. */
typedef struct lit_ctx {
  ctr__arena *scratch;
  const ctr_ruleset *rs;
  const ctr__field_def *const *keyed;
  bool fold_ok[256];
} lit_ctx;

static unsigned char ascii_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* eval's case-insensitive comparisons (tolower, icontains, iglob) fold with
 * the C library's tolower; a byte is fold_ok when every byte that folds with
 * it is itself or its other ASCII case, so that an ASCII-folded search finds
 * every occurrence such a comparison could see (in an 8-bit Turkish locale
 * 0xDD folds to 'i', and a literal holding 'i' proves nothing there). */
static void fold_table(bool ok[256])
{
  for (int c = 0; c < 256; c++) {
    ok[c] = true;
    for (int h = 0; h < 256 && ok[c]; h++)
      if (tolower(h) == tolower(c) && ascii_lower((unsigned char)h) != ascii_lower((unsigned char)c))
        ok[c] = false;
  }
}

/* A literal json.value could only equal, or start, as a string leaf or as
 * true/false/null (verbatim tokens): compact JSON of a number, an object or
 * an array starts with one of these bytes. */
static bool json_leaf_literal(const ctr__str *lit) { return !strchr("{[-0123456789", lit->s[0]); }

/* Whether every occurrence of lit in a json.value's compact JSON (fields.c's
 * writer) lies inside one string's content, which is verbatim: outside
 * strings that JSON holds only numbers (digits . - + e), true, false, null
 * and punctuation, so a literal with no quote or backslash and some other
 * byte (ASCII-folded when nocase) cannot sit there or straddle into it. */
static bool inside_one_string(const ctr__str *lit, bool nocase)
{
  bool other = false;
  for (size_t i = 0; i < lit->len; i++) {
    unsigned char ch = (unsigned char)lit->s[i];
    if (ch == '"' || ch == '\\')
      return false;
    if (nocase)
      ch = ascii_lower(ch);
    other |= !memchr("0123456789.-+e{}[],:truefalsn", ch, 30);
  }
  return other;
}

/* The longest run of plain characters of a glob pattern (eval.c's
 * glob_match: '*', '?' and classes match varying text, \x is x), which every
 * value it matches holds; unescaped into scratch. Stops at the first '['
 * (a class, or a plain '[' when unclosed: either way nothing is claimed past
 * it). *leaf: the pattern starts with a plain character json_leaf_literal
 * accepts, so only a string leaf, true, false or null can match it. */
static ctr__str glob_run(ctr__arena *scratch, const ctr__str *pat, bool *leaf)
{
  ctr__str best = {NULL, 0};
  *leaf = false;
  char *buf = ctr__arena_alloc(scratch, pat->len + 1);
  if (!buf)
    return best;
  size_t n = 0, run = 0; /* buf[run..n): the current run */
  for (size_t i = 0; i <= pat->len; i++) {
    char ch = i < pat->len ? pat->s[i] : '*';
    if (ch == '*' || ch == '?' || ch == '[') {
      if (n - run > best.len)
        best = (ctr__str){buf + run, n - run};
      if (ch == '[')
        break;
      run = n;
      continue;
    }
    if (ch == '\\' && i + 1 < pat->len)
      ch = pat->s[++i];
    if (n == 0 && (i == 0 || (i == 1 && pat->s[0] == '\\')))
      *leaf = !strchr("{[-0123456789", ch);
    buf[n++] = ch;
  }
  return best;
}

/* ------------------------------------------------------------ regex literals
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
 * sequence, `+` ends it after its part. */

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

/* The patterns of a glob, iglob, or regex check (one, or a modifier's list). */
static const ctr__str *patterns(const ctr__cnode *c, size_t *n)
{
  *n = c->mod ? c->nrhs : 1;
  return c->mod ? c->rhs_list : &c->rhs;
}

/* A glob check's group: each pattern's longest plain run. False: none
 * (out of memory, or a run a reformatted number or object could match). */
static bool glob_literals(const lit_ctx *x, const ctr__cnode *c, const ctr__field_def *def, literal_group *g)
{
  size_t npats;
  const ctr__str *pats = patterns(c, &npats);
  ctr__str *v = ctr__arena_alloc(x->scratch, (npats ? npats : 1) * sizeof *v);
  if (!v)
    return false;
  for (size_t i = 0; i < npats; i++) {
    bool leaf;
    v[i] = glob_run(x->scratch, &pats[i], &leaf);
    if (def->raw == CTR__RAW_JSON_LEAF && !leaf && !inside_one_string(&v[i], g->nocase))
      return false;
  }
  g->lits = v;
  g->n = (uint32_t)npats;
  return true;
}

/* A regex check's group: the literals of every pattern, one of which it
 * requires. False: none (a pattern requires nothing known, a literal could
 * sit in a reformatted number or object, or out of memory). */
static bool regex_literals(const lit_ctx *x, const ctr__cnode *c, const ctr__field_def *def, literal_group *g)
{
  size_t npats, total = 0;
  const ctr__str *pats = patterns(c, &npats);
  ctr__str **alts = ctr__arena_alloc(x->scratch, (npats ? npats : 1) * sizeof *alts);
  size_t *nalts = ctr__arena_alloc(x->scratch, (npats ? npats : 1) * sizeof *nalts);
  if (!alts || !nalts)
    return false;
  for (size_t i = 0; i < npats; i++) {
    if (!ctr__regex_literals(x->scratch, pats[i].s, pats[i].len, &alts[i], &nalts[i]))
      return false;
    for (size_t k = 0; k < nalts[i]; k++)
      if (def->raw == CTR__RAW_JSON_LEAF && !inside_one_string(&alts[i][k], false))
        return false;
    total += nalts[i];
  }
  ctr__str *v = ctr__arena_alloc(x->scratch, (total ? total : 1) * sizeof *v);
  if (!v || total > UINT32_MAX)
    return false;
  for (size_t i = 0; i < npats; i++)
    for (size_t k = 0; k < nalts[i]; k++)
      v[g->n++] = alts[i][k];
  g->lits = v;
  return true;
}

/* The literal group one check requires: one of its operands is in the
 * record's bytes whenever the check is true (ASCII-folded when nocase).
 * n == 0: none. */
static literal_group check_literals(const lit_ctx *x, const ctr__cnode *c)
{
  const literal_group none = {NULL, 0, false, false};
  const ctr__cexpr *lhs = c->lhs;
  bool lowered = lhs->tf == CTR__TF_TOLOWER;
  if (lowered && lhs->nargs == 1)
    lhs = lhs->args[0]; /* tolower(field): the field's value, folded */
  if (lhs->tf != CTR__TF_NONE || c->rhs_expr)
    return none;
  const ctr__field_def *def = x->rs->slots[lhs->slot].def;
  if (def->raw == CTR__RAW_NONE || def->type == CTR__FT_UINT64)
    return none;
  bool exact = c->op == CTR__OP_EQ || c->op == CTR__OP_IN || c->op == CTR__OP_INTERSECTS;
  for (int f = 0; f < KEYED__COUNT && x->keyed; f++)
    if (def == x->keyed[f] && exact && !c->mod && !lowered)
      return none; /* compared exactly by may_match when the rule requires it */
  literal_group g = none;
  g.nocase = lowered || c->op == CTR__OP_ICONTAINS || c->op == CTR__OP_IGLOB;
  bool leaf_checked = false;
  switch (c->op) {
  case CTR__OP_IN:
  case CTR__OP_INTERSECTS: { /* the set eval looks values up in */
    ctr__str *v = ctr__arena_alloc(x->scratch, (c->set.n ? c->set.n : 1) * sizeof *v);
    if (!v)
      return none;
    for (size_t i = 0; i < c->set.cap; i++)
      if (c->set.items[i].s)
        v[g.n++] = c->set.items[i];
    g.lits = v;
    break;
  }
  case CTR__OP_PMATCH: /* a prefix of the value, in every form pmatch accepts */
    g.lits = c->rhs_list;
    g.n = (uint32_t)c->nrhs;
    break;
  case CTR__OP_GLOB:
  case CTR__OP_IGLOB:
    if (!glob_literals(x, c, def, &g))
      return none;
    leaf_checked = true;
    break;
  case CTR__OP_REGEX:
    if (!regex_literals(x, c, def, &g))
      return none;
    leaf_checked = true;
    break;
  case CTR__OP_CONTAINS:
  case CTR__OP_ICONTAINS:
  case CTR__OP_ENDSWITH:
    g.lits = c->mod ? c->rhs_list : &c->rhs;
    g.n = c->mod ? (uint32_t)c->nrhs : 1;
    for (uint32_t i = 0; def->raw == CTR__RAW_JSON_LEAF && i < g.n; i++)
      if (!inside_one_string(&g.lits[i], g.nocase))
        return none; /* could sit inside a reformatted number or object */
    leaf_checked = true;
    break;
  case CTR__OP_EQ:
  case CTR__OP_STARTSWITH:
    /* With anyof/oneof/allof at least one operand holds. */
    g.lits = c->mod ? c->rhs_list : &c->rhs;
    g.n = c->mod ? (uint32_t)c->nrhs : 1;
    break;
  default:
    return none; /* !=, <, regex, bcontains, ...: nothing verbatim */
  }
  for (uint32_t i = 0; i < g.n; i++) {
    if (!g.lits[i].len || (def->raw == CTR__RAW_JSON_LEAF && !leaf_checked && !json_leaf_literal(&g.lits[i])))
      return none; /* "" is in every record; a JSON leaf may be reformatted */
    for (size_t k = 0; g.nocase && k < g.lits[i].len; k++)
      if (!x->fold_ok[(unsigned char)g.lits[i].s[k]])
        return none; /* the locale folds some other byte into it */
  }
  return g;
}

/* Appends to out the literal groups condition c requires: every group of
 * every `and` branch; for an `or`, one group made of a group of each branch
 * (none if some branch requires nothing); nothing under `not`. */
static void required_literals(const lit_ctx *x, const ctr__cnode *c, group_list *out)
{
  ctr__arena *scratch = x->scratch;
  switch (c->kind) {
  case CTR__N_CHECK: {
    literal_group g = check_literals(x, c);
    if (g.n)
      group_push(scratch, out, g);
    return;
  }
  case CTR__N_AND:
    for (size_t i = 0; i < c->nkids; i++)
      required_literals(x, c->kids[i], out);
    return;
  case CTR__N_OR: {
    group_list best = {0};
    size_t total = 0;
    bool nocase = false; /* a folded search also finds every exact occurrence */
    for (size_t i = 0; i < c->nkids; i++) {
      group_list kid = {0};
      required_literals(x, c->kids[i], &kid);
      out->failed |= kid.failed;
      if (kid.failed || !kid.n)
        return;
      size_t b = 0;
      for (size_t k = 1; k < kid.n; k++)
        if (group_better(&kid.v[k], &kid.v[b]))
          b = k;
      group_push(scratch, &best, kid.v[b]);
      total += kid.v[b].n;
      nocase |= kid.v[b].nocase;
    }
    out->failed |= best.failed;
    if (best.failed || !best.n || total > UINT32_MAX)
      return;
    ctr__str *u = ctr__arena_alloc(scratch, total * sizeof *u);
    if (!u) {
      out->failed = true;
      return;
    }
    size_t n = 0;
    for (size_t i = 0; i < best.n; i++)
      for (uint32_t j = 0; j < best.v[i].n; j++)
        u[n++] = best.v[i].lits[j];
    group_push(scratch, out, (literal_group){u, (uint32_t)n, false, nocase});
    return;
  }
  default:
    return; /* `not`: nothing is required */
  }
}

/* Whether an escape the walk vouches for could spell one of the literal's
 * bytes (it refuses \u escapes, which could spell any). */
static bool escapable(const ctr__str *lit)
{
  for (size_t i = 0; i < lit->len; i++)
    if (memchr("\"\\/\b\f\n\r\t", lit->s[i], 8))
      return true;
  return false;
}

/* At most this many groups are kept per rule, the best ones: each costs a
 * search of the record's bytes. */
enum { MAX_GROUPS = 4 };

/* Sets r's literal groups (copied into pool, folded ones in lower case) from
 * its condition. */
static bool file_literals(ctr__arena *pool, const lit_ctx *x, const ctr__cnode *cond, rule_needs *r)
{
  group_list l = {0};
  if (cond)
    required_literals(x, cond, &l);
  if (l.failed || !l.n)
    return !l.failed;
  /* The best groups first (a few, insertion sort). */
  for (size_t i = 1; i < l.n; i++)
    for (size_t k = i; k > 0 && group_better(&l.v[k], &l.v[k - 1]); k--) {
      literal_group t = l.v[k];
      l.v[k] = l.v[k - 1];
      l.v[k - 1] = t;
    }
  size_t n = l.n < MAX_GROUPS ? l.n : MAX_GROUPS;
  literal_group *groups = ctr__arena_alloc(pool, n * sizeof *groups);
  if (!groups)
    return false;
  for (size_t i = 0; i < n; i++) {
    ctr__str *lits = ctr__arena_alloc(pool, l.v[i].n * sizeof *lits);
    if (!lits)
      return false;
    memcpy(lits, l.v[i].lits, l.v[i].n * sizeof *lits);
    groups[i] = (literal_group){lits, l.v[i].n, false, l.v[i].nocase};
    for (uint32_t k = 0; k < l.v[i].n; k++) {
      groups[i].escapable |= escapable(&lits[k]);
      /* Copied: a glob's run lives in scratch; folded ones in lower case. */
      char *copy = ctr__arena_strndup(pool, lits[k].s, lits[k].len);
      if (!copy)
        return false;
      for (size_t b = 0; groups[i].nocase && b < lits[k].len; b++)
        copy[b] = (char)ascii_lower((unsigned char)copy[b]);
      lits[k].s = copy;
    }
  }
  r->groups = groups;
  r->ngroups = (uint32_t)n;
  return true;
}

/* (field, value, rule) before grouping. */
typedef struct filing {
  int field;
  ctr__str value;
  uint32_t rule;
} filing;

static int filing_cmp(const void *a, const void *b)
{
  const filing *x = a, *y = b;
  if (x->field != y->field)
    return x->field - y->field;
  if (x->value.len != y->value.len)
    return x->value.len < y->value.len ? -1 : 1;
  int c = memcmp(x->value.s, y->value.s, x->value.len);
  if (c)
    return c;
  return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static const key_entry *key_lookup(const key_table *t, const char *s, size_t len)
{
  if (!t->cap)
    return NULL;
  for (size_t k = ctr__hash(s, len) & (t->cap - 1); t->slots[k].value.s; k = (k + 1) & (t->cap - 1))
    if (t->slots[k].value.len == len && memcmp(t->slots[k].value.s, s, len) == 0)
      return &t->slots[k];
  return NULL;
}

static bool same_key(const filing *a, const filing *b)
{
  return a->field == b->field && a->value.len == b->value.len && memcmp(a->value.s, b->value.s, a->value.len) == 0;
}

/* Files the rules' filings (sorted) into pf's tables. */
static bool file_rules(ctr__arena *pool, ctr__prefilter *pf, const filing *v, size_t n)
{
  if (!(pf->filed = ctr__select_zalloc(pool, n * sizeof *pf->filed)))
    return false;
  size_t groups[KEYED__COUNT] = {0};
  for (size_t i = 0; i < n; i++)
    if (i == 0 || !same_key(&v[i], &v[i - 1]))
      groups[v[i].field]++;
  for (int f = 0; f < KEYED__COUNT; f++) {
    if (!groups[f])
      continue; /* no table (cap 0): a record's value is not even hashed */
    size_t cap = 8;
    while (cap < groups[f] * 2)
      cap *= 2;
    if (!(pf->by[f].slots = ctr__select_zalloc(pool, cap * sizeof *pf->by[f].slots)))
      return false;
    pf->by[f].cap = cap;
  }
  uint32_t nfiled = 0;
  key_entry *e = NULL;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || !same_key(&v[i], &v[i - 1])) {
      key_table *t = &pf->by[v[i].field];
      size_t k = ctr__hash(v[i].value.s, v[i].value.len) & (t->cap - 1);
      while (t->slots[k].value.s)
        k = (k + 1) & (t->cap - 1);
      e = &t->slots[k];
      e->value = v[i].value;
      e->first = nfiled;
    } else if (v[i].rule == v[i - 1].rule) {
      continue; /* the same value listed twice */
    }
    pf->filed[nfiled++] = v[i].rule;
    e->n++;
  }
  return true;
}

/* Past this many rules in one list their literals are searched in one pass
 * (a pass costs about as much as 8 single-literal searches of a record); at
 * most MATCHER_MAX_LITS distinct literals, whose found-bits fit the stack. */
enum { MATCHER_MIN_RULES = 8, MATCHER_MAX_LITS = 32768 };

/* Builds the matcher of rules[0..n), interning their literals (the same
 * bytes with the same folding once). Leaves *out empty when it would not pay
 * or not fit; false on ENOMEM. */
static bool build_matcher(ctr__arena *pool, ctr__arena *scratch, const ctr__prefilter *pf, const uint32_t *rules,
                          uint32_t n, rule_matcher *out)
{
  size_t total = 0;
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t g = 0; g < pf->needs[rules[i]].ngroups; g++)
      total += pf->needs[rules[i]].groups[g].n;
  if (n < MATCHER_MIN_RULES || !total || total > (size_t)MATCHER_MAX_LITS * 16)
    return true;
  size_t cap = 16;
  while (cap < total * 2)
    cap *= 2;
  uint32_t *ids = ctr__arena_alloc(pool, total * sizeof *ids), *table = ctr__arena_alloc(scratch, cap * sizeof *table);
  ctr__str *lits = ctr__arena_alloc(scratch, total * sizeof *lits);
  bool *folded = ctr__arena_alloc(scratch, total * sizeof *folded);
  if (!ids || !table || !lits || !folded)
    return false;
  memset(table, 0, cap * sizeof *table); /* id + 1; 0: empty */
  uint32_t nlits = 0, *at = ids;
  for (uint32_t i = 0; i < n; i++) {
    const rule_needs *r = &pf->needs[rules[i]];
    for (uint32_t g = 0; g < r->ngroups; g++)
      for (uint32_t k = 0; k < r->groups[g].n; k++) {
        const ctr__str *l = &r->groups[g].lits[k];
        bool nocase = r->groups[g].nocase;
        size_t h = (ctr__hash(l->s, l->len) ^ nocase) & (cap - 1);
        while (table[h] && !(lits[table[h] - 1].len == l->len && folded[table[h] - 1] == nocase &&
                             memcmp(lits[table[h] - 1].s, l->s, l->len) == 0))
          h = (h + 1) & (cap - 1);
        if (!table[h]) {
          lits[nlits] = *l;
          folded[nlits] = nocase;
          table[h] = ++nlits;
        }
        *at++ = table[h] - 1;
      }
  }
  if (nlits > MATCHER_MAX_LITS)
    return true;
  /* The matcher borrows its literals: copies in the pool. */
  ctr__str *plits = ctr__arena_alloc(pool, nlits * sizeof *plits);
  bool *pfolded = ctr__arena_alloc(pool, nlits * sizeof *pfolded);
  if (!plits || !pfolded)
    return false;
  memcpy(plits, lits, nlits * sizeof *plits);
  memcpy(pfolded, folded, nlits * sizeof *pfolded);
  const ctr__litmatch *lm = ctr__litmatch_build(pool, plits, pfolded, nlits);
  if (!lm)
    return false;
  *out = (rule_matcher){lm, ids, nlits};
  return true;
}

static bool build_matchers(ctr__arena *pool, ctr__arena *scratch, ctr__prefilter *pf)
{
  for (int f = 0; f < KEYED__COUNT; f++)
    for (size_t k = 0; k < pf->by[f].cap; k++) {
      key_entry *e = &pf->by[f].slots[k];
      if (e->value.s && !build_matcher(pool, scratch, pf, pf->filed + e->first, e->n, &e->m))
        return false;
    }
  return build_matcher(pool, scratch, pf, pf->unkeyed, pf->nunkeyed, &pf->unkeyed_m);
}

int ctr__prefilter_build(ctr_ruleset *rs)
{
  const ctr__field_def *fields[KEYED__COUNT];
  for (int f = 0; f < KEYED__COUNT; f++)
    fields[f] = ctr__field_lookup(k_keyed_fields[f], strlen(k_keyed_fields[f]));
  ctr__arena scratch = {0};
  ctr__keys_ctx kx = ctr__keys_ctx_make(&scratch, rs);
  lit_ctx keyed_ctx = {&scratch, rs, fields, {0}}, unkeyed_ctx = {&scratch, rs, NULL, {0}};
  fold_table(keyed_ctx.fold_ok);
  memcpy(unkeyed_ctx.fold_ok, keyed_ctx.fold_ok, sizeof keyed_ctx.fold_ok);
  filing *filings = NULL;
  size_t nfilings = 0, cap = 0;
  int rc = CTR_ENOMEM;
  rs->prefilter = NULL;
  ctr__prefilter *pf = ctr__select_zalloc(&rs->pool, sizeof *pf);
  if (!pf || !(pf->needs = ctr__select_zalloc(&rs->pool, rs->nall * sizeof *pf->needs)) ||
      !(pf->unkeyed = ctr__select_zalloc(&rs->pool, rs->nall * sizeof *pf->unkeyed)))
    goto done;
  for (size_t i = 0; i < rs->nall; i++) {
    const ctr__cnode *cond = rs->rules[rs->all[i]].cond;
    int primary = -1;
    for (int f = 0; f < KEYED__COUNT; f++) {
      /* Exact keys only: a record's raw value is compared as it is. */
      ctr__keyset k = ctr__required_keys(&kx, fields[f], cond, false);
      if (k.any)
        continue;
      if (primary < 0) {
        primary = f;
        if (nfilings + k.n > cap) {
          cap = (nfilings + k.n) * 2 + 64;
          filing *grown = realloc(filings, cap * sizeof *filings);
          if (!grown)
            goto done;
          filings = grown;
        }
        for (size_t j = 0; j < k.n; j++)
          filings[nfilings++] = (filing){f, k.v[j].s, (uint32_t)i};
      } else {
        ctr__strset *set = ctr__arena_alloc(&rs->pool, sizeof *set);
        ctr__str *v = ctr__arena_alloc(&scratch, (k.n ? k.n : 1) * sizeof *v);
        if (!set || !v)
          goto done;
        for (size_t j = 0; j < k.n; j++)
          v[j] = k.v[j].s;
        if (!ctr__strset_build(&rs->pool, set, v, k.n))
          goto done;
        pf->needs[i].need[f] = set;
      }
    }
    if (!file_literals(&rs->pool, primary < 0 ? &unkeyed_ctx : &keyed_ctx, cond, &pf->needs[i]))
      goto done;
    if (primary < 0) {
      /* No key: the rule is a candidate for every record holding its
       * literals; with none, it may match any record and there is no
       * prefilter. */
      if (!pf->needs[i].ngroups) {
        rc = CTR_OK;
        goto done;
      }
      pf->unkeyed[pf->nunkeyed++] = (uint32_t)i;
    }
  }
  if (nfilings)
    qsort(filings, nfilings, sizeof *filings, filing_cmp);
  if (!file_rules(&rs->pool, pf, filings, nfilings) || !build_matchers(&rs->pool, &scratch, pf) || scratch.failed)
    goto done;
  rs->prefilter = pf;
  rc = CTR_OK;
done:
  free(filings);
  ctr__arena_free(&scratch);
  return rc;
}

/* ------------------------------------------------------------ scan time */

/* Whether a rule filed under one of the record's values also gets what it
 * requires of the other keyed fields. */
static bool may_match(const rule_needs *r, const ctr__topval *top)
{
  for (int f = 0; f < KEYED__COUNT; f++) {
    const ctr__strset *need = r->need[f];
    if (!need)
      continue;
    const ctr__topval *v = &top[f];
    if (!v->kind)
      return false; /* absent: the required comparison is false */
    if (v->kind != '"' || v->escaped)
      return true; /* jansson decides */
    if (!ctr__strset_has(need, v->s, v->len))
      return false;
  }
  return true;
}

/* Whether every literal group of a rule has a literal in the record's bytes,
 * or one an escape may hide (escaped: the record holds some escape). */
static bool literals_present(const rule_needs *r, const char *data, size_t len, bool escaped)
{
  for (uint32_t g = 0; g < r->ngroups; g++) {
    const literal_group *grp = &r->groups[g];
    bool found = escaped && grp->escapable;
    for (uint32_t i = 0; i < grp->n && !found; i++)
      found = grp->nocase ? ctr__contains_folded(data, len, grp->lits[i].s, grp->lits[i].len)
                          : ctr__contains(data, len, grp->lits[i].s, grp->lits[i].len);
    if (!found)
      return false;
  }
  return true;
}

/* Whether one of rules[0..n) is a candidate for the record: it gets what it
 * requires of the keyed fields and every literal group of it is present. */
static bool any_candidate(const ctr__prefilter *pf, const uint32_t *rules, uint32_t n, const rule_matcher *m,
                          const char *data, size_t len, const ctr__record_facts *facts)
{
  if (!m->lm) {
    for (uint32_t i = 0; i < n; i++) {
      const rule_needs *r = &pf->needs[rules[i]];
      if (may_match(r, facts->top) && literals_present(r, data, len, facts->escaped))
        return true;
    }
    return false;
  }
  uint64_t found[MATCHER_MAX_LITS / 64];
  bool scanned = false;
  const uint32_t *ids = m->ids;
  for (uint32_t i = 0; i < n; i++) {
    const rule_needs *r = &pf->needs[rules[i]];
    const uint32_t *mine = ids;
    for (uint32_t g = 0; g < r->ngroups; g++)
      ids += r->groups[g].n;
    if (!may_match(r, facts->top))
      continue;
    if (!scanned) { /* one pass, and only for a record some rule may want */
      memset(found, 0, ((m->nlits + 63) / 64) * sizeof *found);
      ctr__litmatch_scan(m->lm, data, len, found);
      scanned = true;
    }
    bool all = true;
    for (uint32_t g = 0; g < r->ngroups && all; g++) {
      const literal_group *grp = &r->groups[g];
      bool hit = facts->escaped && grp->escapable;
      for (uint32_t k = 0; k < grp->n && !hit; k++)
        hit = found[mine[k] >> 6] >> (mine[k] & 63) & 1;
      mine += grp->n;
      all = hit;
    }
    if (all)
      return true;
  }
  return false;
}

/* Whether a record the walk vouched for is complete and no rule can match it. */
static bool rules_out(const ctr__prefilter *pf, const char *data, size_t len, const ctr__record_facts *facts)
{
  const ctr__topval *top = facts->top, *type = &top[CTR__TOP_EVENT_TYPE];
  if (ctr__facts_missing(facts) != 0)
    return false; /* incomplete (or undecided): left to the scanner, so that it is reported */
  if ((type->kind && type->kind != '"') || ctr__facts_insight(facts) != 0)
    return false; /* an Insight record is counted as skipped by the scanner */
  for (int f = 0; f < KEYED__COUNT; f++) {
    const ctr__topval *v = &top[f];
    if (!v->kind)
      continue; /* absent: no comparison on it is true */
    if (v->kind != '"' || v->escaped)
      return false; /* a non-string reads as "", an escape must be decoded: jansson decides */
    const key_entry *e = key_lookup(&pf->by[f], v->s, v->len);
    if (e && any_candidate(pf, pf->filed + e->first, e->n, &e->m, data, len, facts))
      return false;
  }
  return !any_candidate(pf, pf->unkeyed, pf->nunkeyed, &pf->unkeyed_m, data, len, facts);
}

bool ctr__prefilter_skips(const ctr__prefilter *pf, const char *data, size_t len, const ctr__record_facts *facts)
{
  if (facts)
    return rules_out(pf, data, len, facts);
  /* Not cut by a walk (it spanned chunks, or came out of an envelope);
   * trailing bytes are left to jansson to report. */
  ctr__record_facts walked;
  return ctr__walk_record(data, len, &walked) && rules_out(pf, data, len, &walked);
}
