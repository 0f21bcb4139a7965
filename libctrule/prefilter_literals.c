/*
 * prefilter_literals.c - the literals a rule's compiled condition requires
 * of a record's raw bytes, for the prefilter (prefilter.c): a rule filed
 * under a record's values is still no candidate when one of them is nowhere
 * in the record's bytes.
 *
 * Each rule gets groups of literals, one of each group being required: the
 * operands of `=`, `in`, `intersects`, `startswith`, `pmatch`, `contains` and
 * `endswith` (and their anyof/allof/oneof forms), the longest plain run of a
 * glob, what a regex requires (ctr__regex_literals, prefilter_regex.c: one of
 * a few literals, `(Delete|Stop)DB.*` requiring DeleteDB or StopDB), and,
 * searched ASCII-folded, those of tolower(), icontains and iglob, on fields
 * whose value is verbatim in the record (ctr__rawness in internal.h), through
 * and/or and macros, never under `not`. A group notes the escapes that
 * could spell a byte of one of its literals (prefilter.c says why that
 * matters).
 */
#include "prefilter_literals.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

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

static unsigned char ascii_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* eval's case-insensitive comparisons (tolower, icontains, iglob) fold with
 * the C library's tolower; a byte is fold_ok when every byte that folds with
 * it is itself or its other ASCII case, so that an ASCII-folded search finds
 * every occurrence such a comparison could see (in an 8-bit Turkish locale
 * 0xDD folds to 'i', and a literal holding 'i' proves nothing there). */
void ctr__fold_table(bool ok[256])
{
  for (int c = 0; c < 256; c++) {
    ok[c] = true;
    for (int h = 0; h < 256 && ok[c]; h++)
      if (tolower(h) == tolower(c) && ascii_lower((unsigned char)h) != ascii_lower((unsigned char)c))
        ok[c] = false;
  }
}

/* Whether def's value is compact JSON (CTR__RAW_JSON_LEAF or _TEXT): its
 * literals must be ones that lie inside one string (inside_one_string), or
 * for CTR__RAW_JSON_LEAF's whole values and prefixes, json_leaf_literal. */
static bool compact_json(const ctr__field_def *def)
{
  return def->raw == CTR__RAW_JSON_LEAF || def->raw == CTR__RAW_JSON_TEXT;
}

/* A literal json.value could only equal, or start, as a string leaf or as
 * true/false/null (verbatim tokens): compact JSON of an object or an array
 * starts with { or [, and that of a number holds nothing but digits and
 * . - + e E, so a literal that starts otherwise, or holds another byte,
 * cannot be one or start one ("0.0.0.0/0" qualifies, "10.0" does not). */
static bool json_leaf_literal(const ctr__str *lit)
{
  if (!lit->len || strchr("{[", lit->s[0]))
    return false;
  if (!strchr("-0123456789", lit->s[0]))
    return true;
  for (size_t i = 0; i < lit->len; i++)
    if (!memchr("0123456789.-+eE", lit->s[i], 15))
      return true;
  return false;
}

/* Whether every occurrence of lit in a value that is JSON text (json.value's
 * compact JSON, fields.c's writer; json.obj's indented record) lies inside
 * one string's content, which is verbatim: outside strings that text holds
 * only numbers (digits . - + e), true, false, null, punctuation and
 * whitespace, so a literal with no quote or backslash and some other byte
 * (ASCII-folded when nocase) cannot sit there or straddle into it. */
static bool inside_one_string(const ctr__str *lit, bool nocase)
{
  static const char outside[] = "0123456789.-+e{}[],:truefalsn \t\n\r"; /* and NUL */
  bool other = false;
  for (size_t i = 0; i < lit->len; i++) {
    unsigned char ch = (unsigned char)lit->s[i];
    if (ch == '"' || ch == '\\')
      return false;
    if (nocase)
      ch = ascii_lower(ch);
    other |= !memchr(outside, ch, sizeof outside);
  }
  return other;
}

/* Whether every occurrence of lit in an s3.uri ("s3://<bucket>/<key>")
 * lies inside the bucket's or the key's content: one that touches the
 * joints holds ':' or '/', or lies in "s3". */
static bool inside_s3_uri_part(const ctr__str *lit)
{
  if (memchr(lit->s, ':', lit->len) || memchr(lit->s, '/', lit->len))
    return false;
  for (size_t at = 0; lit->len <= 2 && at + lit->len <= 2; at++)
    if (strncasecmp(lit->s, "s3" + at, lit->len) == 0)
      return false; /* folded either way: "S3" proves nothing to icontains */
  return true;
}

/* Whether a literal that a contains, endswith, glob run or regex requires
 * of def's value lies inside one JSON string's content of the record, for
 * the fields whose value is more than string contents. */
static bool inside_a_string(const ctr__field_def *def, const ctr__str *lit, bool nocase)
{
  if (def->raw == CTR__RAW_S3_URI)
    return inside_s3_uri_part(lit);
  return !compact_json(def) || inside_one_string(lit, nocase);
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

/* The fields whose value is the plain value of a top-level member the walk
 * reads (fields_cloudtrail.c's PLAIN() of that key: a string's content, ""
 * for any other JSON value), the member ctr__field_def.within names. */
static const char *const k_plain_top[] = {"ct.name", "ct.error", "ct.src", "ct.time", "ct.region", "ct.srcip"};

static bool plain_top(const ctr__field_def *def)
{
  for (size_t i = 0; def->within && i < CTR__COUNTOF(k_plain_top); i++)
    if (strcmp(def->name, k_plain_top[i]) == 0)
      return true;
  return false;
}

/* How a check's literals stand to the value of a plain top-level field (on
 * a string value eval compares as cmp_str and check_str do). */
static unsigned char literal_how(const ctr__cnode *c, const ctr__field_def *def)
{
  if (!plain_top(def))
    return LIT_ANYWHERE;
  switch (c->op) {
  case CTR__OP_EQ:
  case CTR__OP_IN:
  case CTR__OP_INTERSECTS:
    return LIT_WHOLE;
  case CTR__OP_STARTSWITH:
    return LIT_PREFIX;
  case CTR__OP_ENDSWITH:
    return LIT_SUFFIX;
  default:
    return LIT_ANYWHERE;
  }
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
    if (!(def->raw == CTR__RAW_JSON_LEAF && leaf) && !inside_a_string(def, &v[i], g->nocase))
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
      if (!inside_a_string(def, &alts[i][k], false))
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
  const literal_group none = {0};
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
  for (size_t f = 0; f < x->nkeyed; f++)
    if (def == x->keyed[f] && exact && !c->mod && !lowered)
      return none; /* compared exactly by the prefilter (may_match) when the rule requires it */
  literal_group g = none;
  g.nocase = lowered || c->op == CTR__OP_ICONTAINS || c->op == CTR__OP_IGLOB;
  g.within = def->within;
  g.how = literal_how(c, def);
  bool leaf_checked = false;
  if ((def->raw == CTR__RAW_JSON_TEXT || def->raw == CTR__RAW_S3_URI) && c->op != CTR__OP_CONTAINS && c->op != CTR__OP_ICONTAINS &&
      c->op != CTR__OP_ENDSWITH && c->op != CTR__OP_GLOB && c->op != CTR__OP_IGLOB && c->op != CTR__OP_REGEX)
    return none; /* a whole value or its start: the bytes may space the joints */
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
    for (uint32_t i = 0; i < g.n; i++)
      if (!inside_a_string(def, &g.lits[i], g.nocase))
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
    int within = -1;     /* the member all branches' literals are in, if one (0: anywhere) */
    int how = -1;        /* how all branches' literals stand to its value, if alike */
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
      within = within < 0 || within == kid.v[b].within ? kid.v[b].within : 0;
      how = how < 0 || how == kid.v[b].how ? kid.v[b].how : LIT_ANYWHERE;
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
    literal_group g = {.lits = u, .n = (uint32_t)n, .nocase = nocase, .within = (unsigned char)within};
    g.how = within ? (unsigned char)how : LIT_ANYWHERE;
    group_push(scratch, out, g);
    return;
  }
  default:
    return; /* `not`: nothing is required */
  }
}

/* The escapes other than \u that could spell one of the literal's bytes:
 * CTR__ESC_ bits (a \u escape could spell any: a record holding one has no
 * literal taken as absent, may_hide in prefilter.c). */
static unsigned char escapes_spelling(const ctr__str *lit)
{
  static const char spelt[] = "\"\\/\b\f\n\r\t"; /* in CTR__ESC_ bit order */
  unsigned char bits = 0;
  for (size_t i = 0; i < lit->len; i++) {
    const char *at = lit->s[i] ? memchr(spelt, lit->s[i], sizeof spelt - 1) : NULL;
    if (at)
      bits |= (unsigned char)(1u << (at - spelt));
  }
  return bits;
}

/* At most this many groups are kept per rule, the best ones: each costs a
 * search of the record's bytes. */
enum { MAX_GROUPS = 4 };

bool ctr__rule_literals(ctr__arena *pool, const lit_ctx *x, const ctr__cnode *cond, const literal_group **groups,
                        uint32_t *ngroups)
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
  literal_group *copies = ctr__arena_alloc(pool, n * sizeof *copies);
  if (!copies)
    return false;
  for (size_t i = 0; i < n; i++) {
    ctr__str *lits = ctr__arena_alloc(pool, l.v[i].n * sizeof *lits);
    ctr__needle *needles = l.v[i].nocase ? NULL : ctr__arena_alloc(pool, l.v[i].n * sizeof *needles);
    if (!lits || (!l.v[i].nocase && !needles))
      return false;
    memcpy(lits, l.v[i].lits, l.v[i].n * sizeof *lits);
    copies[i] = l.v[i];
    copies[i].lits = lits;
    copies[i].needles = needles;
    copies[i].escapes = 0;
    for (uint32_t k = 0; k < l.v[i].n; k++) {
      copies[i].escapes |= escapes_spelling(&lits[k]);
      /* Copied: a glob's run lives in scratch; folded ones in lower case. */
      char *copy = ctr__arena_strndup(pool, lits[k].s, lits[k].len);
      if (!copy)
        return false;
      for (size_t b = 0; copies[i].nocase && b < lits[k].len; b++)
        copy[b] = (char)ascii_lower((unsigned char)copy[b]);
      lits[k].s = copy;
      if (needles) /* what the search needs of it, once */
        ctr__needle_make(&needles[k], copy, lits[k].len);
    }
  }
  *groups = copies;
  *ngroups = (uint32_t)n;
  return true;
}
