/* sigma.h - Sigma detection rules (https://sigmahq.io) as rules of the
 * engine: a Sigma document is translated into a rule whose condition is the
 * engine's own (docs/sigma.md), so evaluation, the eventName index, the
 * prefilter, rendering and every limit are those of Falco rules (sigma.c;
 * the detection's condition language: sigma_condition.c). A Sigma
 * correlation document (sigma_correlation.c) becomes a ctr__corrdef, which
 * correlate.c compiles into a rule fed by its base rules' matches. */
#ifndef CTR_SIGMA_H
#define CTR_SIGMA_H

#include "merge.h"

/* Whether a YAML document is meant as a Sigma document (a mapping with
 * `detection`, `logsource`, `correlation`, `filter` or `action`), rather
 * than a Falco rules file (a sequence). */
bool ctr__sigma_is_doc(const ctr__ynode *doc);

/* Translates one Sigma document into a rule of defs, named by its title (a
 * correlation document: into defs->corr). The document is borrowed and must
 * outlive defs (positions point into it). CTR_OK; CTR_ESYNTAX after a
 * positioned error diagnostic (nothing of the document was added);
 * CTR_ENOMEM. */
int ctr__sigma_merge(ctr__defs *defs, ctr__diags *diags, const ctr__ynode *doc);

/* ------------------------------------------------------------ correlations */

typedef enum ctr__corr_type {
  CTR__CORR_EVENT_COUNT,
  CTR__CORR_VALUE_COUNT,
  CTR__CORR_TEMPORAL,
  CTR__CORR_TEMPORAL_ORDERED,
} ctr__corr_type;

/* One checked correlation document. Everything is owned (freed with defs),
 * except the positions' sources, which the compiler keeps. */
typedef struct ctr__corrdef {
  char *title, *desc;
  ctr__corr_type type;
  int priority;
  char **rules; /* the rules it correlates, as referred to (name, Sigma id or name) */
  ctr__pos *rule_pos;
  size_t nrules;
  char **group_by; /* field paths */
  size_t ngroup;
  char *field;        /* value_count: the field whose distinct values are counted */
  uint64_t span_s;    /* timespan, in seconds */
  char *span_text;    /* as written: "1h" */
  uint64_t min_count; /* event_count / value_count: at least this many (gt N is N + 1) */
  uint64_t max_count; /* at most this many (lt N is N - 1; eq both); UINT64_MAX: no upper bound */
  uint64_t neq;       /* with has_neq: not this many */
  bool has_neq;
  char *cond_text;    /* the rule's condition as ctr_ruleset_rule_condition shows it */
  bool generate;      /* the correlated rules alert on their own too */
  char **tags;
  size_t ntags;
  ctr__pos pos; /* the title */
} ctr__corrdef;

struct ctr__corrdefs {
  ctr__corrdef *v;
  size_t n, cap;
};

/* What sigma.c and sigma_correlation.c share: the document being read. */
typedef struct ctr__sigma_ctx {
  ctr__defs *defs;
  ctr__diags *diags;
  const ctr__ynode *doc;
  const char *title; /* for diagnostics, once known */
  size_t max_bytes;  /* CTR_LIMIT_CONDITION_BYTES */
} ctr__sigma_ctx;

#define CODE_INVALID "LOAD_ERR_SIGMA"
#define CODE_UNSUPPORTED "LOAD_ERR_SIGMA_UNSUPPORTED"

/* Reports at byte `off` of scalar `at` (any other node: its start); returns
 * CTR_ESYNTAX. */
__attribute__((format(printf, 5, 6))) int ctr__sigma_err(ctr__sigma_ctx *x, const ctr__ynode *at, size_t off,
                                                         const char *code, const char *fmt, ...);
/* The key node of `key` in a map, NULL if none. */
const ctr__ynode *ctr__sigma_key(const ctr__ynode *map, const char *key);
/* A plain YAML boolean as JSON spells it ("true" / "false"), NULL if none. */
const char *ctr__sigma_bool(const ctr__ynode *n);
/* A field name json.values[...] can take: dotted keys of letters, digits and _ - @ $ : / */
bool ctr__sigma_path(const char *s, size_t n);
/* `level` as a priority name (Warning when there is none); CTR_ESYNTAX after an error. */
int ctr__sigma_level(ctr__sigma_ctx *x, const ctr__ynode *level, const char **prio);

/* The condition text as it is built (sigma.c, sigma_condition.c): its bytes
 * and, for each piece, the scalar (and offset in it) it stands for; NULL for
 * pure syntax. oom: memory ran out (later appends do nothing). */
typedef struct ctr__sigma_tb {
  ctr__buf b;
  ctr__span *sp;
  size_t nsp, cap;
  bool oom;
} ctr__sigma_tb;
/* Appends generated syntax. */
void ctr__sigma_tb_gen(ctr__sigma_tb *t, const char *s);
/* Appends o's text, its pieces keeping their scalars. */
void ctr__sigma_tb_cat(ctr__sigma_tb *t, const ctr__sigma_tb *o);

/* A selection of the detection and its translation. */
typedef struct ctr__sigma_named {
  const ctr__ynode *name;
  ctr__sigma_tb text; /* the selection's translation */
} ctr__sigma_named;

/* sigma_condition.c: one condition scalar, over the selections
 * sel[0..nsel), into out. CTR_OK, CTR_ESYNTAX (reported) or CTR_ENOMEM. */
int ctr__sigma_condition(ctr__sigma_ctx *x, const ctr__ynode *cond, ctr__sigma_named *sel, size_t nsel,
                         ctr__sigma_tb *out);

/* A `correlation:` document (key: its `correlation` key) into defs->corr,
 * checked whole. CTR_OK, CTR_ESYNTAX (reported) or CTR_ENOMEM. */
int ctr__sigma_correlation(ctr__sigma_ctx *x, const ctr__ynode *key);

#endif
