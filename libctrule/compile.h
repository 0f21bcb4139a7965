/*
 * compile.h - the compiled ruleset (compile.c, compile_exception.c,
 * compile_output.c): evaluation programs, fields as cache slots, regexes,
 * sets; the ruleset, whose candidate selection select.h builds.
 */
#ifndef CTR_COMPILE_H
#define CTR_COMPILE_H

#include "parse.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdatomic.h>

typedef struct ctr__slot {
  const ctr__field_def *def;
  char *arg;
  uint64_t argnum;
  char *display; /* "name" or "name[arg]" */
} ctr__slot;

typedef struct ctr__cexpr ctr__cexpr;
struct ctr__cexpr {
  ctr__tf tf;
  ctr__cexpr **args; /* transformer arguments, list items */
  size_t nargs;
  uint32_t slot;     /* tf == NONE */
  ctr__str lit;      /* tf == CTR__TF_LIT */
  ctr__ftype type;   /* of the value: LIST for a list */
};

typedef struct ctr__cnode ctr__cnode;
struct ctr__cnode {
  ctr__nkind kind; /* AND, OR, NOT, CHECK */
  ctr__cnode **kids;
  size_t nkids;
  /* check */
  ctr__cexpr *lhs;
  ctr__op op;
  ctr__mod mod;
  ctr__cexpr *rhs_expr;
  ctr__str rhs;          /* single literal */
  uint64_t rhs_u64;       /* single literal, on a number */
  uint64_t *rhs_u64s;     /* list literal, on a number (rhs_list read as numbers) */
  ctr__str *rhs_list;    /* list literal */
  size_t nrhs;
  ctr__strset set;       /* in / intersects */
  pcre2_code *re;
  pcre2_code **res;      /* regex with a modifier: one per rhs_list item */
};

/* A pmatch pattern as it is matched, compiled from a literal or computed
 * from a field on the right: trailing slashes dropped ("/a/" matches
 * "/a/b"). true when it holds a wildcard: then it is matched component by
 * component as a glob, and is no literal prefix of the value. */
static inline bool ctr__pmatch_pattern(ctr__str *p)
{
  while (p->len > 1 && p->s[p->len - 1] == '/')
    p->len--;
  return memchr(p->s, '*', p->len) || memchr(p->s, '?', p->len) || memchr(p->s, '[', p->len);
}

typedef struct ctr__oseg {
  const char *lit; /* literal text, or NULL for a field */
  size_t len;
  ctr__cexpr *expr;
  uint32_t field; /* index into the rule's output fields */
} ctr__oseg;

typedef struct ctr__crule {
  char *name, *desc, *cond_text, *output_text;
  int priority;
  bool enabled;
  char **tags;
  size_t ntags;
  ctr__cnode *cond; /* NULL for a Sigma correlation: fed by matches, never evaluated (correlate.h) */
  ctr__oseg *oseg;
  size_t noseg;
  char **ofield_names; /* output_fields, first appearance order */
  ctr__cexpr **ofield_exprs;
  size_t nofields;
  /* The JSON line's constant part (render.h), made when the rule is
   * compiled (compile_output.c; a correlation's by correlate_compile.c). */
  const struct ctr__json_rule *json;
} ctr__crule;

/* Candidate selection's structures (select.h): built last, from the rules. */
typedef struct ctr__index ctr__index;
typedef struct ctr__prefilter ctr__prefilter;

struct ctr_ruleset {
  atomic_int refs;
  ctr__arena pool; /* what the rules hold (names, nodes, sets, the selection); the
                    * rules, slots and regexes arrays are malloc'd, the PCRE2
                    * codes are PCRE2's */
  ctr__crule *rules;
  size_t nrules, nenabled;
  ctr__slot *slots;
  size_t nslots;
  pcre2_code **regexes;
  size_t nregexes;
  /* candidate selection (select.c, prefilter.c), in the pool */
  uint32_t *all; /* every enabled rule, in definition order (CTR_SCAN_NO_INDEX) */
  size_t nall;
  const ctr__index *index;         /* the eventName index (ctr__index_lookup) */
  const ctr__prefilter *prefilter; /* NULL: some enabled rule has neither a key nor a required literal */
  uint64_t regex_match_limit, regex_depth_limit; /* each scanner's PCRE2 defaults */
  const struct ctr__corrset *corr; /* Sigma correlations (correlate.h), in the pool; NULL if none */
};

typedef struct ctr__selection {
  char *pattern; /* name glob, or tag */
  bool by_tag;
  bool enable;
} ctr__selection;

/* Compiles every rule of defs (borrowed; its lists and macros are marked
 * used) into a new ruleset, rules selected by sel[0..nsel) and
 * min_priority. Errors and warnings go to diags. CTR_OK with *out the
 * caller's (one reference); otherwise *out untouched: CTR_ESYNTAX if any
 * error was reported, else CTR_ENOMEM. */
int ctr__compile_rules(ctr__defs *defs, ctr__diags *diags, const ctr__selection *sel, size_t nsel,
                       int min_priority, ctr_ruleset **out);
/* Whether rule r is enabled once sel[0..nsel) and min_priority apply. */
bool ctr__rule_selected(const ctr__rule_def *r, const ctr__selection *sel, size_t nsel, int min_priority);
/* Frees a ruleset and all it holds, whatever its references (NULL-safe). */
void ctr__ruleset_free(ctr_ruleset *rs);

/* ------------------------------------------------------------ within the compiler
 * What compile.c, compile_exception.c and compile_output.c share: the
 * compilation under way, and the one way they report and allocate. */

/* What compiling one rule needs, fresh for each rule (compile.c, compile_rule). */
typedef struct ctr__compile_rule_state {
  const ctr__rule_def *rule;    /* NULL outside a rule */
  const ctr__text *text;        /* text the current AST offsets refer to */
  const ctr__pos *fallback_pos; /* for generated nodes (exceptions) */
  bool unknown_field;           /* an unknown field was met (skip-if-unknown-filter) */
  bool in_output;               /* compiling an output template (its errors' code) */
  bool na_warned;               /* the rule's <NA> comparison warning was given */
  bool failed;                  /* an error was reported */
  bool limit_reported;          /* one limit diagnostic per rule, not one per expansion path */
  bool expanded;                /* a macro was expanded in this rule: the limit messages say so */
  const char *exc_name;         /* the exception being compiled, NULL in the condition */
  unsigned macro_depth;         /* macro references being expanded (CTR_LIMIT_MACRO_DEPTH) */
  unsigned nest;                /* ctr__compile_ast() levels being compiled (MAX_COMPILED_DEPTH) */
  uint64_t nodes;               /* nodes of the condition (CTR_LIMIT_CONDITION_NODES) */
} ctr__compile_rule_state;

typedef struct ctr__compile_ctx {
  ctr_ruleset *rs;
  ctr__defs *defs;
  ctr__diags *diags;
  ctr__ast **macro_ast; /* parsed macro bodies, NULL on parse error */
  bool *macro_bad;
  bool *macro_active;   /* on the current expansion path: loop detection */
  bool nomem_reported;  /* out of memory was told (ctr__compile_nomem()) */
  size_t slot_cap;
  size_t regex_cap;
  ctr__compile_rule_state r; /* the rule being compiled */
} ctr__compile_ctx;

/* Memory ran out: the compile fails with CTR_ENOMEM (told once). */
void ctr__compile_nomem(ctr__compile_ctx *cx);
/* Reports at `off` in `text` (else at the exception or rule being
 * compiled), never truncated; an error fails the current rule. */
__attribute__((format(printf, 6, 7))) void ctr__compile_report(ctr__compile_ctx *cx, int sev, const char *code,
                                                               const ctr__text *text, size_t off, const char *fmt,
                                                               ...);
/* n zeroed bytes, or a copy of s[0..n), in the ruleset's pool; NULL after
 * ctr__compile_nomem. */
void *ctr__compile_alloc(ctr__compile_ctx *cx, size_t n);
char *ctr__compile_strndup(ctr__compile_ctx *cx, const char *s, size_t n);
/* A field expression, a condition, or an empty node of `nkids` children,
 * compiled into the pool; NULL after an error (reported). */
ctr__cexpr *ctr__compile_fexpr(ctr__compile_ctx *cx, const ctr__fexpr *f);
ctr__cnode *ctr__compile_ast(ctr__compile_ctx *cx, const ctr__ast *a);
ctr__cnode *ctr__compile_node(ctr__compile_ctx *cx, ctr__nkind kind, size_t nkids);
/* compile_exception.c: `not (...)` for one exception of the rule, NULL when
 * it has no values or on an error (reported at the exception). */
ctr__cnode *ctr__compile_exception(ctr__compile_ctx *cx, const ctr__exception_def *e);
/* compile_output.c: r's output template into cr's segments and output
 * fields; every error is reported, false after any. */
bool ctr__compile_output(ctr__compile_ctx *cx, const ctr__rule_def *r, ctr__crule *cr);

#endif
