/*
 * merge.h - Falco's rule collector (merge.c, merge_exception.c,
 * merge_version.c): lists, macros and rules accumulated across files, with
 * the text spans conditions and outputs are assembled from (merge_text.c).
 */
#ifndef CTR_MERGE_H
#define CTR_MERGE_H

#include "load.h"

/* A condition or output assembled from several YAML scalars (append,
 * override, exceptions) remembers where each piece came from. */

typedef struct ctr__span {
  size_t at, len;            /* piece of the text */
  const ctr__ynode *scalar;  /* origin, or NULL for generated text */
  size_t scalar_off;         /* offset of the piece inside the scalar's value */
} ctr__span;

typedef struct ctr__text {
  char *s;
  size_t len;
  ctr__span *spans;
  size_t nspans;
} ctr__text;

/* A ctr__text owns `s` and `spans`; spans borrow their scalar nodes. Each of
 * these returns CTR_OK or CTR_ENOMEM. */
/* Replaces t's contents with a copy of the scalar's value (one span). */
int ctr__text_set(ctr__text *t, const ctr__ynode *scalar);
/* Appends `sep` (generated: no span) then a copy of `more`; more is unchanged. */
int ctr__text_append(ctr__text *t, const char *sep, const ctr__text *more);
/* Replaces dst's contents with a copy of src. */
int ctr__text_copy(ctr__text *dst, const ctr__text *src);
/* Frees what t owns (t itself is the caller's) and zeroes it. */
void ctr__text_free(ctr__text *t);
/* File position of an offset into the text (*file NULL, line/col 0 if the
 * offset is in generated text); *file is borrowed from the source file. */
void ctr__text_pos(const ctr__text *t, size_t offset, const char **file, unsigned *line, unsigned *col);

/* Definitions accumulated across files: Falco's rule collector. A ctr__defs
 * owns every name, string and array of its definitions; the YAML nodes and
 * source files they refer to (exceptions, text spans, positions) are
 * borrowed from the compiler, which keeps them until it frees defs. */

typedef struct ctr__pos {
  const ctr__srcfile *src;
  unsigned line, col;
} ctr__pos;

typedef struct ctr__list_def {
  char *name;
  char **items;
  bool *quoted; /* item came from a quoted scalar */
  size_t n;
  ctr__pos pos;
  bool used;
} ctr__list_def;

typedef struct ctr__macro_def {
  char *name;
  ctr__text cond;
  ctr__pos pos;
  bool used;
} ctr__macro_def;

/* One exception of a rule, as Falco's collector keeps it. The YAML nodes are
 * borrowed from the loaded files' trees, which the compiler keeps until it
 * is freed; `name` and the `values` array are owned. */
typedef struct ctr__exception_def {
  char *name;
  const ctr__ynode *node;    /* the exception's mapping */
  const ctr__ynode *fields;  /* a scalar (one field) or a sequence of scalars */
  const ctr__ynode *comps;   /* likewise, or NULL: "in" for one field, "=" for each of several */
  const ctr__ynode **values; /* for one field scalars; otherwise sequences of one element
                              * per field, each a scalar or a sequence of scalars */
  size_t nvalues;
  ctr__pos pos;
} ctr__exception_def;

typedef struct ctr__rule_def {
  char *name;
  ctr__text cond, output;
  char *desc;
  int priority;
  bool enabled;
  bool skip_unknown;
  char **tags;
  size_t ntags;
  ctr__exception_def *exc;
  size_t nexc;
  ctr__pos pos;
} ctr__rule_def;

/* Names of lists, macros or rules by hash: a rules file may define hundreds
 * of thousands, and a scan of every name per lookup made loading quadratic. */
typedef struct ctr__names {
  uint32_t *slots; /* index + 1; 0: empty */
  size_t cap;
} ctr__names;

/* Sigma correlation definitions: opaque here (sigma.h). */
typedef struct ctr__corrdefs ctr__corrdefs;
void ctr__corrdefs_free(ctr__corrdefs *c);

typedef struct ctr__defs {
  ctr__list_def *lists;
  size_t nlists, caplists;
  ctr__macro_def *macros;
  size_t nmacros, capmacros;
  ctr__rule_def *rules;
  size_t nrules, caprules;
  ctr__names list_names, macro_names, rule_names;
  char **other_rules; /* names of rules of other sources: collected as Falco does, never compiled */
  size_t nother, capother;
  ctr__names other_names;
  uint64_t limits[CTR_LIMIT__COUNT]; /* the compiler's, all set (defaults filled in) */
  ctr__corrdefs *corr; /* Sigma correlations (sigma_correlation.c), NULL if none; owned */
} ctr__defs;

/* The list or macro named s[0..len), NULL if none; points into defs (moves
 * when a definition is added). */
ctr__list_def *ctr__defs_list(const ctr__defs *defs, const char *s, size_t len);
ctr__macro_def *ctr__defs_macro(const ctr__defs *defs, const char *s, size_t len);

/* merge.c: one document of a Falco rules file into defs, item by item,
 * stopping at the first error as Falco does. The document is borrowed and
 * must outlive defs. CTR_OK, CTR_ESYNTAX or CTR_EVERSION (an error
 * diagnostic was added), or CTR_ENOMEM. */
int ctr__merge_doc(ctr__defs *defs, ctr__diags *diags, const ctr__srcfile *src, const ctr__ynode *doc);
/* Frees what defs owns (defs itself is the caller's) and zeroes it. */
void ctr__defs_free(ctr__defs *defs);
/* merge.c: one top-level item of a rules file into defs. The item is
 * borrowed; defs keeps pointers into its tree (which must outlive defs) and
 * copies of the names, conditions and outputs. CTR_OK, CTR_ESYNTAX or
 * CTR_EVERSION (an error diagnostic was added), or CTR_ENOMEM. */
int ctr__merge_item(ctr__defs *defs, ctr__diags *diags, const ctr__ynode *item);

/* ------------------------------------------------------------ within the collector
 * What merge.c, merge_exception.c and merge_version.c share: the item being
 * merged and the one way they report. */

typedef struct ctr__mitem {
  ctr__defs *defs;
  ctr__diags *diags;
  const ctr__ynode *item;
  const char *name; /* item name once known */
} ctr__mitem;

/* An error at `at` (NULL: the item), in the current item, never truncated;
 * returns CTR_ESYNTAX for `return ctr__merge_err(...)`. */
__attribute__((format(printf, 4, 5))) int ctr__merge_err(ctr__mitem *x, const ctr__ynode *at, const char *code,
                                                         const char *fmt, ...);
/* A warning, placed as ctr__merge_err places an error. */
__attribute__((format(printf, 4, 5))) void ctr__merge_warn(ctr__mitem *x, const ctr__ynode *at, const char *code,
                                                           const char *fmt, ...);
/* The position of node n. */
void ctr__merge_pos(const ctr__ynode *n, ctr__pos *p);

/* merge_exception.c: the item's `exceptions` merged into r: appended as
 * Falco's collector appends them (`append`: an append or override item), or
 * replacing r's. CTR_OK, CTR_ESYNTAX (reported) or CTR_ENOMEM. */
int ctr__merge_rule_exceptions(ctr__mitem *x, ctr__rule_def *r, bool append);
/* Frees what e owns and zeroes it. */
void ctr__exception_def_free(ctr__exception_def *e);

/* merge_version.c: a `required_engine_version` or `required_plugin_versions`
 * item's value. CTR_OK, CTR_ESYNTAX or CTR_EVERSION (reported). */
int ctr__merge_engine_version(ctr__mitem *x, const ctr__ynode *v);
int ctr__merge_plugin_versions(ctr__mitem *x, const ctr__ynode *seq);

#endif
