/*
 * parse.h - the condition grammar (lex.c, parse.c): operators, transformers,
 * the AST and the scanning primitives it is built from.
 */
#ifndef CTR_PARSE_H
#define CTR_PARSE_H

#include "merge.h"

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
  /* macro reference: the macro's name */
  char *name;
};

typedef struct ctr__parse_error {
  size_t pos;
  char msg[256];
  bool nomem; /* memory ran out: no syntax error, the compile fails with CTR_ENOMEM */
} ctr__parse_error;

/* Parses a condition (text borrowed); list names standing for values are
 * expanded from `defs` (looked up by its index of names; the lists used are
 * marked; defs may be NULL). NULL with *err filled on a syntax error (or
 * err->nomem). The caller owns the result and frees it with ctr__ast_free. */
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
/* `word` at the cursor (consumed), followed by a blank, one of `followers`
 * (NULL: none) or the end */
bool ctr__lex_word(ctr__lexer *lx, const char *word, const char *followers);
bool ctr__lex_char(ctr__lexer *lx, char c);
/* identifier [a-zA-Z][a-zA-Z0-9_]* ; returns length (0 if none), does not consume */
size_t ctr__lex_ident_len(const ctr__lexer *lx);
/* field name: ident ('.' ident)+ with optional [arg]; 0 if none */
size_t ctr__lex_field_len(const ctr__lexer *lx, size_t *name_len, size_t *arg_start, size_t *arg_len);
/* quoted string with Falco escapes; the decoded value malloc'd into *out (the
 * caller's); false + err on error (nothing to free) */
bool ctr__lex_quoted(ctr__lexer *lx, char **out, size_t *out_len, ctr__parse_error *err);
/* Falco's unescaping of the inside of a `q`-quoted string (at offset `base`) into out */
bool ctr__lex_unescape(const char *s, size_t n, char q, size_t base, ctr__buf *out, ctr__parse_error *err);
/* Falco's number (hex, or decimal with sign, fraction, signed exponent); length, 0 if none */
size_t ctr__lex_number_len(const ctr__lexer *lx);
/* bare string [^()"'\s=,]+ ; length (0 if none), does not consume */
size_t ctr__lex_bare_len(const ctr__lexer *lx);
/* comparison operator (consumed, with the blanks after a word operator); true if any */
bool ctr__lex_operator(ctr__lexer *lx, ctr__op *op);
/* a modifier word at the cursor (consumed; nothing after it checked), or CTR__MOD_NONE */
ctr__mod ctr__lex_modifier(ctr__lexer *lx);
/* a transformer's name and '(' at the cursor (consumed), or CTR__TF_NONE */
ctr__tf ctr__lex_transformer(ctr__lexer *lx);

#endif
