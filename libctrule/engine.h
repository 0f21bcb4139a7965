/*
 * engine.h - the rules side of the pipeline: diagnostics, the YAML loader,
 * the definitions collector, the condition parser and the compiled ruleset.
 */
#ifndef CTR_ENGINE_H
#define CTR_ENGINE_H

#include "internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdatomic.h>

/* ------------------------------------------------------------ diag.c */

struct ctr_diag {
  int severity;
  char *file;
  unsigned line, column;
  char *item;
  char *code;
  char *message;
  char *text;
};

/* Diagnostics of one compiler. Failure is sticky: every error, and every
 * failure to record a diagnostic (out of memory), is counted in `errors`,
 * which makes the compiler refuse to compile, as yara's does. */
typedef struct ctr__diags {
  ctr_diag **v;
  size_t n, cap;
  size_t errors;  /* error diagnostics, plus failures that could not be recorded */
  bool enomem;    /* memory ran out at some point: compile returns CTR_ENOMEM */
  ctr_diag_fn fn;
  void *ud;
} ctr__diags;

/* Records a diagnostic (strings are copied; nothing is taken). CTR_OK, or
 * CTR_ENOMEM when it could not be recorded: then it still counts as an error
 * and `enomem` is set, so no failure goes unnoticed. */
int ctr__diag_add(ctr__diags *d, int severity, const char *file, unsigned line, unsigned col,
                  const char *item, const char *code, const char *fmt, ...)
  __attribute__((format(printf, 8, 9)));
int ctr__diag_vadd(ctr__diags *d, int severity, const char *file, unsigned line, unsigned col,
                   const char *item, const char *code, const char *fmt, va_list args)
  __attribute__((format(printf, 8, 0)));
/* Records that memory ran out while working on `file` (NULL: unknown): an
 * error diagnostic LOAD_ERR_OUT_OF_MEMORY if it can still be made, counted
 * as an error in any case. Returns CTR_ENOMEM, for `return ctr__diag_oom()`. */
int ctr__diag_oom(ctr__diags *d, const char *file);
/* Frees every diagnostic (d itself is the caller's) and empties d. */
void ctr__diags_free(ctr__diags *d);

/* ------------------------------------------------------------ load.c
 * The YAML document tree, kept with its source so that any offset inside a
 * scalar maps back to a file line and column. */

typedef enum { CTR__Y_SCALAR, CTR__Y_SEQ, CTR__Y_MAP } ctr__ykind;

/* A rules file's text, owned by the compiler, at an address that does not
 * move until the compiler is freed: nodes, definitions and positions point
 * at it. */
typedef struct ctr__srcfile {
  char *name; /* file name for diagnostics */
  char *text; /* whole source, NUL-terminated */
  size_t len;
} ctr__srcfile;

/* A YAML node. Nodes are owned by their file's node pool and live as long
 * as it (until the compiler is freed); an alias is the node it refers to,
 * shared. Everything else only borrows them. */
typedef struct ctr__ynode ctr__ynode;
struct ctr__ynode {
  ctr__ykind kind;
  unsigned line, col;     /* 1-based start */
  size_t start;           /* byte offset of the node's first character */
  const ctr__srcfile *src;
  /* scalar */
  char *value;
  size_t len;
  int style; /* yaml_scalar_style_t */
  /* seq: items[n]; map: items[2*i] key, items[2*i+1] value */
  ctr__ynode **items;
  size_t n;
};

/* Position of byte `offset` of a scalar's value in its source file. */
void ctr__ynode_pos(const ctr__ynode *scalar, size_t offset, unsigned *line, unsigned *col);
/* Map lookup by key; NULL if not a map or no such key. The node is borrowed. */
const ctr__ynode *ctr__ymap_get(const ctr__ynode *map, const char *key);

/* ------------------------------------------------------------ text spans
 * A condition or output assembled from several YAML scalars (append,
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

/* ------------------------------------------------------------ merge.c
 * Definitions accumulated across files: Falco's rule collector. A ctr__defs
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
} ctr__defs;

/* The list or macro named s[0..len), NULL if none; points into defs (moves
 * when a definition is added). */
ctr__list_def *ctr__defs_list(const ctr__defs *defs, const char *s, size_t len);
ctr__macro_def *ctr__defs_macro(const ctr__defs *defs, const char *s, size_t len);

/* Largest rules file, in bytes; also the most scalar bytes a file may expand
 * to through its YAML aliases. */
#define CTR__RULES_FILE_MAX_BYTES ((size_t)64 << 20)

/* load.c: reads one rules file into a YAML tree (every node with its
 * position; aliases shared and counted against max_aliases and, with what
 * they refer to, max_nodes). Returns CTR_OK, CTR_ESYNTAX (a positioned
 * error diagnostic was added) or CTR_ENOMEM. src is borrowed and must
 * outlive the tree. *tree is set in every case but the failure to allocate
 * it (then NULL); the caller owns it, frees it with ctr__yaml_pool_free, and
 * keeps it as long as definitions merged from it. */
int ctr__load_yaml(uint64_t max_aliases, uint64_t max_nodes, ctr__diags *diags, const ctr__srcfile *src,
                   void **tree);
/* The document roots of a tree (borrowed); *n of them. */
ctr__ynode *const *ctr__yaml_docs(const void *tree, size_t *n);
/* Frees a tree and every node in it. NULL-safe. */
void ctr__yaml_pool_free(void *pool);

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

/* ------------------------------------------------------------ parse.c */

typedef enum ctr__op {
  CTR__OP_EQ, CTR__OP_NE, CTR__OP_LT, CTR__OP_LE, CTR__OP_GT, CTR__OP_GE,
  CTR__OP_CONTAINS, CTR__OP_ICONTAINS, CTR__OP_STARTSWITH, CTR__OP_ENDSWITH,
  CTR__OP_GLOB, CTR__OP_IGLOB, CTR__OP_REGEX, CTR__OP_IN, CTR__OP_INTERSECTS,
  CTR__OP_PMATCH, CTR__OP_EXISTS, CTR__OP_BCONTAINS, CTR__OP_BSTARTSWITH,
  CTR__OP_PMATCH_GLOB, /* compiled form only: pmatch with a wildcard in a pattern (no pattern is a literal prefix) */
  CTR__OP__COUNT
} ctr__op;

typedef enum ctr__tf { CTR__TF_NONE = 0, CTR__TF_TOLOWER, CTR__TF_TOUPPER, CTR__TF_B64,
                       CTR__TF_BASENAME, CTR__TF_LEN, CTR__TF_VAL,
                       CTR__TF_JOIN, CTR__TF_CONCAT, CTR__TF_GETOPT, /* multi-value transformers */
                       CTR__TF_LIT,  /* a quoted string or number given to a transformer */
                       CTR__TF_LIST  /* a transformer list "(a, b)" given to a transformer */
} ctr__tf;

typedef enum { CTR__MOD_NONE = 0, CTR__MOD_ANYOF, CTR__MOD_ALLOF, CTR__MOD_ONEOF } ctr__mod;

/* A field operand: a field, a transformer applied to its arguments, or (as
 * a transformer argument) a literal or a transformer list. Owns everything
 * it points to; freed with ctr__fexpr_free. */
typedef struct ctr__fexpr ctr__fexpr;
struct ctr__fexpr {
  ctr__tf tf;        /* NONE: a field */
  ctr__fexpr **args; /* transformer arguments, list items */
  size_t nargs;
  char *field;       /* field name (tf == NONE) */
  char *arg;         /* [arg] text (unescaped) or NULL */
  char *lit;         /* CTR__TF_LIT: the value */
  size_t litlen;
  size_t pos;        /* offset in the condition text */
};
void ctr__fexpr_free(ctr__fexpr *f);

typedef enum { CTR__N_AND, CTR__N_OR, CTR__N_NOT, CTR__N_CHECK, CTR__N_MACRO } ctr__nkind;

typedef struct ctr__lit {
  char *s;
  size_t len;
  bool quoted;
  size_t pos;
} ctr__lit;

typedef struct ctr__ast ctr__ast;
struct ctr__ast {
  ctr__nkind kind;
  size_t pos;
  /* and/or */
  ctr__ast **kids;
  size_t nkids;
  /* not */
  ctr__ast *kid;
  /* check */
  ctr__fexpr *lhs;
  ctr__op op;
  size_t op_pos;
  ctr__mod mod;
  ctr__fexpr *rhs_field; /* val(...) or a transformer on the right */
  ctr__lit *rhs;         /* one literal, or the list items */
  size_t nrhs;
  bool rhs_is_list;
  /* macro reference (also: the text of the identifier) */
  char *name;
  /* which text `pos` refers to: set when a macro body is inlined */
  const ctr__text *text;
};

typedef struct ctr__parse_error {
  size_t pos;
  char msg[256];
  bool nomem; /* memory ran out: no syntax error, the compile fails with CTR_ENOMEM */
} ctr__parse_error;

/* Parses a condition; list names standing for values are expanded from
 * `defs` (looked up by its index of names; lists marked used; defs may be
 * NULL). NULL with *err filled on a
 * syntax error. The caller owns and frees the result (ctr__ast_free). */
ctr__ast *ctr__parse_condition(const ctr__text *text, ctr__defs *defs, ctr__parse_error *err);
void ctr__ast_free(ctr__ast *a);
/* The operand (a field, or a transformer and its arguments) at offset `at`
 * of `text`, as in a condition; *end: where it ends (or where reading
 * stopped). NULL with *err filled on an error. The caller owns the result. */
ctr__fexpr *ctr__parse_operand(const ctr__text *text, size_t at, size_t *end, ctr__parse_error *err);
/* lex.c owns the operator, modifier and transformer tables: the parser,
 * the compiler and the exception collector (merge.c) all ask it. */
const char *ctr__op_name(ctr__op op);
enum {
  CTR__OPT_NUMBER = 1u << 0,    /* takes a number: < <= > >= */
  CTR__OPT_LIST = 1u << 1,      /* takes a list: in, intersects, pmatch */
  CTR__OPT_MODIFIER = 1u << 2,  /* takes a list modifier (`= anyof (a, b)`) */
  CTR__OPT_ON_NUMBER = 1u << 3, /* allowed on a numeric field */
  CTR__OPT_NO_VALUE = 1u << 4,  /* takes nothing: exists */
};
unsigned ctr__op_traits(ctr__op op); /* CTR__OPT_ flags */
const char *ctr__mod_name(ctr__mod mod); /* "anyof", ...; "" for none */
/* "tolower", ...; "a value" / "a list" for a transformer argument */
const char *ctr__tf_name(ctr__tf tf);
/* Whether c[0..n) is a comparison an exception may use (Falco's blanks
 * around it ignored): an operator that takes a value, or a string operator,
 * blanks and a list modifier ("startswith anyof"). *takes_list: it compares
 * with a list of values. */
bool ctr__exception_comp(const char *c, size_t n, bool *takes_list);

/* lex.c: the scanning primitives the parser is built from. */
typedef struct ctr__lexer {
  const char *s;
  size_t len, i;
} ctr__lexer;

/* Falco's blanks; true if any was skipped */
bool ctr__lex_skip_ws(ctr__lexer *lx);
/* `text` at the cursor (consumed) */
bool ctr__lex_prefix(ctr__lexer *lx, const char *text);
bool ctr__lex_at_end(ctr__lexer *lx);
/* `word` at the cursor, followed by whitespace/`(`/end (per `need`) */
bool ctr__lex_word(ctr__lexer *lx, const char *word, const char *followers);
bool ctr__lex_char(ctr__lexer *lx, char c);
/* identifier [a-zA-Z][a-zA-Z0-9_]* ; returns length (0 if none), does not consume */
size_t ctr__lex_ident_len(const ctr__lexer *lx);
/* field name: ident ('.' ident)+ with optional [arg]; 0 if none */
size_t ctr__lex_field_len(const ctr__lexer *lx, size_t *name_len, size_t *arg_start, size_t *arg_len);
/* quoted string with Falco escapes; decoded value malloc'd; false + err on error */
bool ctr__lex_quoted(ctr__lexer *lx, char **out, size_t *out_len, ctr__parse_error *err);
/* Falco's unescaping of the inside of a `q`-quoted string (at offset `base`) into out */
bool ctr__lex_unescape(const char *s, size_t n, char q, size_t base, ctr__buf *out, ctr__parse_error *err);
/* Falco's number (hex, or decimal with sign, fraction, signed exponent); length, 0 if none */
size_t ctr__lex_number_len(const ctr__lexer *lx);
/* bare string [^()"'\s=,]+ ; length (0 if none), does not consume */
size_t ctr__lex_bare_len(const ctr__lexer *lx);
/* comparison operator; returns true and advances */
bool ctr__lex_operator(ctr__lexer *lx, ctr__op *op);
/* a modifier word at the cursor (consumed; nothing after it checked), or CTR__MOD_NONE */
ctr__mod ctr__lex_modifier(ctr__lexer *lx);
/* a transformer's name and '(' at the cursor (consumed), or CTR__TF_NONE */
ctr__tf ctr__lex_transformer(ctr__lexer *lx);

/* ------------------------------------------------------------ compile.c */

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
  uint64_t rhs_u64;
  bool rhs_is_num;
  ctr__str *rhs_list;    /* list literal */
  size_t nrhs;
  ctr__strset set;       /* in / intersects */
  pcre2_code *re;
  pcre2_code **res;      /* regex with a modifier: one per rhs_list item */
};

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
  ctr__cnode *cond;
  ctr__oseg *oseg;
  size_t noseg;
  char **ofield_names; /* output_fields, first appearance order */
  ctr__cexpr **ofield_exprs;
  size_t nofields;
} ctr__crule;

typedef struct ctr__prefilter ctr__prefilter;

typedef struct ctr__index_entry {
  char *event_name;
  uint32_t *rules; /* enabled rules to evaluate, in definition order */
  size_t n;
} ctr__index_entry;

struct ctr_ruleset {
  atomic_int refs;
  const ctr__field_def *ct_name; /* the field the index is keyed on */
  ctr__arena pool; /* everything below lives here, except the PCRE2 codes */
  ctr__crule *rules;
  size_t nrules, nenabled;
  ctr__slot *slots;
  size_t nslots;
  pcre2_code **regexes;
  size_t nregexes;
  /* eventName index */
  ctr__index_entry *index; /* open addressing, event_name NULL: empty */
  size_t index_cap;
  uint32_t *wildcard; /* enabled rules with no eventName constraint */
  size_t nwildcard;
  uint32_t *all; /* every enabled rule (CTR_SCAN_NO_INDEX) */
  size_t nall;
  const ctr__prefilter *prefilter; /* NULL: some enabled rule has no key the prefilter reads */
  uint64_t regex_match_limit, regex_depth_limit; /* each scanner's PCRE2 defaults */
};

typedef struct ctr__selection {
  char *pattern; /* name glob, or tag */
  bool by_tag;
  bool enable;
} ctr__selection;

/* Compiles every rule of defs into a new ruleset. Errors and warnings go to
 * diags; CTR_ESYNTAX if any error was reported. */
int ctr__compile_rules(ctr__defs *defs, ctr__diags *diags, const ctr__selection *sel, size_t nsel,
                       int min_priority, ctr_ruleset **out);
void ctr__ruleset_free(ctr_ruleset *rs);

/* The rules to evaluate for an event whose eventName is (name,len) (NULL: absent). */
const uint32_t *ctr__index_lookup(const ctr_ruleset *rs, const char *name, size_t len, size_t *n);

/* ------------------------------------------------------------ prefilter.c */

/* The constant values a condition requires of `field`: `=` or `in (...)`,
 * through and/or (an or needs every branch keyed: the union) and never
 * under `not`. any: none found. Unions are allocated in `scratch`. Keys both
 * the eventName index and the prefilter. */
typedef struct ctr__keyset {
  const ctr__str *v;
  size_t n;
  bool any;
} ctr__keyset;
ctr__keyset ctr__required_values(ctr__arena *scratch, const ctr_ruleset *rs, const ctr__field_def *field,
                                 const ctr__cnode *c);

/* Builds rs->prefilter (left NULL when some enabled rule has no key) from
 * the compiled rules, after the index. CTR_OK or CTR_ENOMEM. */
int ctr__prefilter_build(ctr_ruleset *rs);
/* True when the raw record is valid, complete, and no rule can match it.
 * facts: what the framer's walk read of it, NULL if it did not walk it. */
bool ctr__prefilter_skips(const ctr__prefilter *pf, const char *data, size_t len, const ctr__record_facts *facts);

/* ------------------------------------------------------------ eval.c */

typedef struct ctr__cache_entry {
  uint64_t gen;
  ctr__value v;
} ctr__cache_entry;

typedef struct ctr__evalctx {
  const ctr_ruleset *rs;
  ctr__event *ev;
  ctr__cache_entry *cache; /* rs->nslots */
  uint64_t gen;            /* current event generation */
  int error;               /* CTR_ENOMEM or a regex resource error seen */
  pcre2_match_data *md;    /* per scanner: PCRE2 match data is not shareable */
  pcre2_match_context *mctx;
} ctr__evalctx;

bool ctr__eval(ctr__evalctx *cx, const ctr__cnode *n);
/* Value of an expression (field extracted once per event and cached). */
int ctr__eval_expr(ctr__evalctx *cx, const ctr__cexpr *e, ctr__value *out);

/* ------------------------------------------------------------ render.c */

/* Parses a Falco output template into segments; reports errors via cb. */
typedef struct ctr__render_out {
  ctr__buf text;
  ctr__buf values;      /* NUL-separated rendered values */
  size_t *value_off;    /* offsets into values, (size_t)-1 for absent */
  size_t cap_values;
} ctr__render_out;

int ctr__render(ctr__evalctx *cx, const ctr__crule *r, ctr__render_out *out);
/* Appends a value rendered Falco's way ("<NA>" for absent when na != NULL). */
int ctr__render_value(ctr__buf *b, const ctr__value *v);

#endif
