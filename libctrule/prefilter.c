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
 * its condition requires is nowhere in the record's bytes: each rule gets
 * groups of literals, one of each group being required (prefilter_literals.c,
 * regexes' in prefilter_regex.c), on fields whose value is verbatim in the
 * record. Many rules' literals are searched in one pass (litmatch.c). When
 * the record holds no backslash escape, the value of such a field is its raw
 * bytes, so a value holding the literal means the bytes hold it. When it does, an occurrence can only be hidden if
 * it covers a character an escape spelled. A \u escape may spell any (the
 * walk marks such a record: facts->unicode), so no literal is taken as
 * absent from it; the other escapes spell one of " \ / and the controls \b
 * \f \n \r \t. A literal is searched in any other record but one holding
 * an escape that spells one of its bytes (jansson decides there): `\"`
 * around JSON held in a string hides no "0.0.0.0/0".
 *
 * A group whose checks all read the plain value of one top-level member the
 * walk read (ct.srcip, ct.region, ...: prefilter_literals.c) with `=`, `in`,
 * `startswith` or `endswith` is compared with that value instead when it is
 * a string without escapes: its content is then its bytes, whatever other
 * escapes the record holds. Escaped, not a string, or absent, the group is
 * searched for as any other.
 *
 * The per-record work is kept to what a record needs: only the keyed fields
 * some rule is filed under are looked up, each value first against a
 * 1,024-bit sketch of the values filed (most are turned away before they
 * are hashed), and each literal's rare bytes are worked out when the rules
 * compile (ctr__needle, util.c).
 */
#include "prefilter_literals.h"
#include "event.h"
#include "litmatch.h"

#include <string.h>

/* The fields a rule may be keyed on, in order of preference (the most
 * selective first), with the top-level key each one reads verbatim (their
 * CTR__TOP_ indexes in the walk's facts are the same). */
enum { KEYED_NAME, KEYED_ERROR, KEYED_SOURCE, KEYED__COUNT };
_Static_assert((int)KEYED_NAME == (int)CTR__TOP_EVENT_NAME && (int)KEYED_ERROR == (int)CTR__TOP_ERROR_CODE &&
                   (int)KEYED_SOURCE == (int)CTR__TOP_EVENT_SOURCE,
               "keyed fields and their top-level keys share an index");
static const char *const k_keyed_fields[KEYED__COUNT] = {"ct.name", "ct.error", "ct.src"};

/* What one rule requires of the keyed fields (NULL: nothing) and of the
 * record's bytes (every group). */
typedef struct rule_needs {
  ctr__strset *need[KEYED__COUNT];
  const literal_group *groups;
  uint32_t ngroups;
  bool needs_keyed; /* some need[] is set */
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
  /* Bit key_sketch() of every value filed: most values of records are no
   * key, and most of those are turned away here, before they are hashed. */
  uint64_t sketch[16];
} key_table;

struct ctr__prefilter {
  key_table by[KEYED__COUNT]; /* a rule is filed under the values of its preferred keyed field */
  unsigned char tables[KEYED__COUNT], ntables; /* the keyed fields some rule is filed under */
  uint32_t *filed;            /* indexes into needs, grouped by key_entry */
  rule_needs *needs;          /* one per enabled rule */
  uint32_t *unkeyed;          /* rules with no key: their literals alone decide, for every record */
  uint32_t nunkeyed;
  rule_matcher unkeyed_m;
};

/* ------------------------------------------------------------ compile time */

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

static bool same_key(const filing *a, const filing *b)
{
  return a->field == b->field && a->value.len == b->value.len && memcmp(a->value.s, b->value.s, a->value.len) == 0;
}

/* A bit of a key_table's sketch for value s[0..len): its length, first,
 * middle and last bytes, mixed (eventNames share their first bytes, Describe,
 * List, Get, and their last ones). */
static inline unsigned key_sketch(const char *s, size_t len)
{
  uint32_t w = (uint32_t)len;
  if (len)
    w ^= (uint32_t)(unsigned char)s[0] << 8 ^ (uint32_t)(unsigned char)s[len / 2] << 16 ^
         (uint32_t)(unsigned char)s[len - 1] << 24;
  return (w * 0x9E3779B1u) >> 22; /* 10 bits: 1,024 */
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
    pf->tables[pf->ntables++] = (unsigned char)f;
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
      unsigned bit = key_sketch(v[i].value.s, v[i].value.len);
      t->sketch[bit >> 6] |= 1ull << (bit & 63);
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
  lit_ctx keyed_ctx = {&scratch, rs, fields, KEYED__COUNT, {0}}, unkeyed_ctx = {&scratch, rs, NULL, 0, {0}};
  ctr__fold_table(keyed_ctx.fold_ok);
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
        pf->needs[i].needs_keyed = true;
      }
    }
    if (!ctr__rule_literals(&rs->pool, primary < 0 ? &unkeyed_ctx : &keyed_ctx, cond, &pf->needs[i].groups,
                            &pf->needs[i].ngroups))
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

static const key_entry *key_lookup(const key_table *t, const char *s, size_t len)
{
  unsigned bit = key_sketch(s, len);
  if (!(t->sketch[bit >> 6] >> (bit & 63) & 1))
    return NULL; /* no key like it */
  for (size_t k = ctr__hash(s, len) & (t->cap - 1); t->slots[k].value.s; k = (k + 1) & (t->cap - 1))
    if (t->slots[k].value.len == len && memcmp(t->slots[k].value.s, s, len) == 0)
      return &t->slots[k];
  return NULL;
}

/* Whether a rule filed under one of the record's values also gets what it
 * requires of the other keyed fields. */
static bool may_match(const rule_needs *r, const ctr__topval *top)
{
  if (!r->needs_keyed)
    return true;
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

/* The record the prefilter judges: its bytes and the walk's facts, and the
 * escapes it holds once asked for (-1 before). */
typedef struct record_in {
  const char *data;
  size_t len;
  const ctr__record_facts *facts;
  int escapes;
} record_in;

/* Whether an escape in the record may hide a literal of grp from its bytes:
 * a \u escape may spell any character, the others only those JSON escapes. */
static inline bool may_hide(record_in *rec, const literal_group *grp)
{
  const ctr__record_facts *facts = rec->facts;
  if (facts->unicode)
    return true;
  if (!facts->escaped || !grp->escapes)
    return false;
  if (rec->escapes < 0)
    rec->escapes = ctr__escape_kinds(rec->data, rec->len);
  return (rec->escapes & grp->escapes) != 0;
}

/* Whether the plain value s[0..n) of a member is, starts or ends with one
 * of grp's literals (grp->how). nocase: grp's literals are in ASCII lower
 * case, and eval's tolower() folds no other byte into theirs
 * (ctr__fold_table), so a value it finds equal is so ASCII-folded. Out of
 * line, as any_literal_in. */
static __attribute__((noinline)) bool value_holds(const literal_group *grp, const char *s, size_t n)
{
  for (uint32_t i = 0; i < grp->n; i++) {
    size_t m = grp->lits[i].len;
    if (m > n || (grp->how == LIT_WHOLE && m != n))
      continue;
    const char *at = grp->how == LIT_SUFFIX ? s + n - m : s;
    if (grp->nocase ? ctr__folded_equal(at, grp->lits[i].s, m) : ctr__same_key(at, grp->lits[i].s, m))
      return true;
  }
  return false;
}

/* Whether hay[0..n) holds one of grp's literals (ASCII-folded when nocase).
 * Out of line: its loop's registers would be saved on group_present's every
 * call. */
static __attribute__((noinline)) bool any_literal_in(const literal_group *grp, const char *hay, size_t n)
{
  for (uint32_t i = 0; i < grp->n; i++)
    if (grp->nocase ? ctr__contains_folded(hay, n, grp->lits[i].s, grp->lits[i].len)
                    : ctr__needle_in(&grp->needles[i], hay, n))
      return true;
  return false;
}

/* Whether a group has a literal in the record's bytes (in those of the
 * member its fields read, when they read inside one), or one an escape may
 * hide. The plain value of a member that is a string without escapes is
 * its bytes, so a group on it (grp->how) is compared with it instead: an
 * escape elsewhere changes nothing there. */
static bool group_present(const literal_group *grp, record_in *rec)
{
  const char *hay = rec->data;
  size_t n = rec->len;
  if (grp->within) { /* an absent member holds nothing: its fields are absent */
    const ctr__topval *v = &rec->facts->top[grp->within - 1];
    if (grp->how != LIT_ANYWHERE && v->kind == '"' && !v->escaped)
      return value_holds(grp, v->s, v->len);
    if (!v->kind)
      return may_hide(rec, grp);
    hay = v->s;
    n = v->len;
  }
  if (may_hide(rec, grp))
    return true;
  if (grp->n == 1 && !grp->nocase) /* the common group: a tail call, this function a leaf */
    return ctr__needle_in(grp->needles, hay, n);
  return any_literal_in(grp, hay, n);
}

/* Whether every literal group of a rule is present (group_present). */
static bool literals_present(const rule_needs *r, record_in *rec)
{
  for (uint32_t g = 0; g < r->ngroups; g++)
    if (!group_present(&r->groups[g], rec))
      return false;
  return true;
}

/* Whether one of rules[0..n) is a candidate for the record: it gets what it
 * requires of the keyed fields and every literal group of it is present.
 * Their literals searched in one pass (m->lm). */
static bool any_candidate_in_one_pass(const ctr__prefilter *pf, const uint32_t *rules, uint32_t n,
                                      const rule_matcher *m, record_in *rec)
{
  uint64_t found[MATCHER_MAX_LITS / 64];
  bool scanned = false;
  const uint32_t *ids = m->ids;
  for (uint32_t i = 0; i < n; i++) {
    const rule_needs *r = &pf->needs[rules[i]];
    const uint32_t *mine = ids;
    for (uint32_t g = 0; g < r->ngroups; g++)
      ids += r->groups[g].n;
    if (!may_match(r, rec->facts->top))
      continue;
    if (!scanned) { /* one pass, and only for a record some rule may want */
      memset(found, 0, ((m->nlits + 63) / 64) * sizeof *found);
      ctr__litmatch_scan(m->lm, rec->data, rec->len, found);
      scanned = true;
    }
    bool all = true;
    for (uint32_t g = 0; g < r->ngroups && all; g++) {
      const literal_group *grp = &r->groups[g];
      bool hit = false;
      for (uint32_t k = 0; k < grp->n && !hit; k++)
        hit = found[mine[k] >> 6] >> (mine[k] & 63) & 1;
      mine += grp->n;
      /* Found somewhere in the record: where the group's fields read? */
      if (hit && grp->within)
        hit = group_present(grp, rec);
      all = hit || may_hide(rec, grp);
    }
    if (all)
      return true;
  }
  return false;
}

/* As any_candidate_in_one_pass, each rule's literals searched in turn (no
 * matcher: few rules). */
static inline bool any_candidate(const ctr__prefilter *pf, const uint32_t *rules, uint32_t n, const rule_matcher *m,
                                 record_in *rec)
{
  if (m->lm)
    return any_candidate_in_one_pass(pf, rules, n, m, rec);
  for (uint32_t i = 0; i < n; i++) {
    const rule_needs *r = &pf->needs[rules[i]];
    if (may_match(r, rec->facts->top) && literals_present(r, rec))
      return true;
  }
  return false;
}

/* Whether a record the walk vouched for is complete and no rule can match it. */
static bool rules_out(const ctr__prefilter *pf, const char *data, size_t len, const ctr__record_facts *facts)
{
  record_in rec = {data, len, facts, -1};
  const ctr__topval *top = facts->top, *type = &top[CTR__TOP_EVENT_TYPE];
  if (ctr__facts_missing(facts) != 0)
    return false; /* incomplete (or undecided): left to the scanner, so that it is reported */
  if ((type->kind && type->kind != '"') || ctr__facts_insight(facts) != 0)
    return false; /* an Insight record is counted as skipped by the scanner */
  /* Only the fields rules are filed under: what others hold is no key. */
  for (unsigned t = 0; t < pf->ntables; t++) {
    int f = pf->tables[t];
    const ctr__topval *v = &top[f];
    if (!v->kind)
      continue; /* absent: no comparison on it is true */
    if (v->kind != '"' || v->escaped)
      return false; /* a non-string reads as "", an escape must be decoded: jansson decides */
    const key_entry *e = key_lookup(&pf->by[f], v->s, v->len);
    if (e && any_candidate(pf, pf->filed + e->first, e->n, &e->m, &rec))
      return false;
  }
  return !pf->nunkeyed || !any_candidate(pf, pf->unkeyed, pf->nunkeyed, &pf->unkeyed_m, &rec);
}

bool ctr__prefilter_skips(const ctr__prefilter *pf, const char *data, size_t len, const ctr__record_facts *facts)
{
  /* Without facts the walk could not vouch for the record (the framer walks
   * every record it emits): only a parse can say what it holds. */
  return facts && rules_out(pf, data, len, facts);
}
