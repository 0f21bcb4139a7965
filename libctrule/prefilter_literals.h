/*
 * prefilter_literals.h - the literals a compiled condition requires of a
 * record's raw bytes (prefilter_literals.c), which the prefilter
 * (prefilter.c) searches before a record is parsed. Private to the
 * prefilter*.c files.
 */
#ifndef CTR_PREFILTER_LITERALS_H
#define CTR_PREFILTER_LITERALS_H

#include "select.h"

/* Literals of which at least one is in the raw bytes of every record the
 * rule matches - of every record without the escapes that could spell one of
 * their bytes (escapes). */
/* How a group's literals stand to the value of a field that is a top-level
 * member's plain value (the walk's facts hold it): anywhere in the member's
 * bytes (LIT_ANYWHERE, the search), or the whole value, its start, its end. */
enum { LIT_ANYWHERE, LIT_WHOLE, LIT_PREFIX, LIT_SUFFIX };

typedef struct literal_group {
  const ctr__str *lits;
  const ctr__needle *needles; /* lits made ready for the search (NULL when nocase) */
  uint32_t n;
  unsigned char escapes; /* CTR__ESC_ bits of the escapes that can spell a byte of one of lits */
  bool nocase;    /* compared case-insensitively (tolower, icontains, iglob): searched ASCII-folded */
  /* 1 + the CTR__TOP_ index of the top-level member every literal of the
   * group must be in (its checks' fields all read inside it:
   * ctr__field_def.within); 0: anywhere in the record. */
  unsigned char within;
  /* Not LIT_ANYWHERE: every check of the group reads the plain value of the
   * member `within` names, and is true only when that value is, starts or
   * ends with one of lits (ASCII-folded when nocase): a member that is a
   * string without escapes is compared as it is (prefilter.c). */
  unsigned char how;
} literal_group;

/* What collecting a rule's literals needs: the keyed fields whose exact
 * comparisons the prefilter makes itself (none for a rule with no key), and
 * which bytes the locale's tolower folds only as ASCII does
 * (ctr__fold_table). */
typedef struct lit_ctx {
  ctr__arena *scratch;
  const ctr_ruleset *rs;
  const ctr__field_def *const *keyed;
  size_t nkeyed;
  bool fold_ok[256];
} lit_ctx;

/* Sets ok[c] when every byte the C library's tolower folds with c is c
 * itself or its other ASCII case. */
void ctr__fold_table(bool ok[256]);

/* The literal groups (at most a few, the best ones) the condition cond
 * (NULL: none) requires, copied into pool, folded ones in ASCII lower case;
 * *groups and *ngroups are left as they are when there is none. False when
 * out of memory. */
bool ctr__rule_literals(ctr__arena *pool, const lit_ctx *x, const ctr__cnode *cond, const literal_group **groups,
                        uint32_t *ngroups);

#endif
