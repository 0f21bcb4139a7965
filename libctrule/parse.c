/* parse.c - the condition grammar: recursive descent over lex.c's primitives.
 *
 *   expr  := and ('or' and)*
 *   and   := not ('and' not)*
 *   not   := 'not' not | check
 *   check := '(' expr ')' | operand 'exists' | operand OP value | operand LISTOP list
 *            | MACRO
 *
 * Lists are expanded here, inside list literals, from the definitions known
 * when the condition is parsed (Falco substitutes them textually before
 * parsing; expanding the parsed literal gives the same result without
 * re-quoting surprises). Every node keeps the offset of its first character. */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARSE_DEPTH 1000

typedef struct parser {
  ctr__lexer lx;
  ctr__defs *defs;
  ctr__parse_error *err;
  unsigned depth;
  bool failed;
} parser;

static const char *const op_names[CTR__OP__COUNT] = {
  "=", "!=", "<", "<=", ">", ">=", "contains", "icontains", "startswith", "endswith", "glob", "iglob",
  "regex", "in", "intersects", "pmatch", "exists", "bcontains", "bstartswith",
};

const char *ctr__op_name(ctr__op op) { return op < CTR__OP__COUNT ? op_names[op] : "?"; }

static void *fail(parser *p, size_t pos, const char *fmt, const char *a)
{
  if (!p->failed) {
    p->failed = true;
    p->err->pos = pos;
    snprintf(p->err->msg, sizeof p->err->msg, fmt, a ? a : "");
  }
  return NULL;
}

/* A short excerpt of the text at the cursor, for messages. */
static const char *near(parser *p, char *buf, size_t size)
{
  size_t n = p->lx.len - p->lx.i;
  if (n == 0)
    return "end of condition";
  if (n > 20)
    n = 20;
  size_t k = 0;
  buf[k++] = '\'';
  for (size_t j = 0; j < n && k + 2 < size; j++) {
    char c = p->lx.s[p->lx.i + j];
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
    buf[k++] = c;
  }
  buf[k++] = '\'';
  buf[k] = '\0';
  return buf;
}

void ctr__ast_free(ctr__ast *a);

static void fexpr_free(ctr__fexpr *f)
{
  while (f) {
    ctr__fexpr *inner = f->inner;
    free(f->field);
    free(f->arg);
    free(f);
    f = inner;
  }
}

void ctr__ast_free(ctr__ast *a)
{
  if (!a)
    return;
  for (size_t i = 0; i < a->nkids; i++)
    ctr__ast_free(a->kids[i]);
  free(a->kids);
  ctr__ast_free(a->kid);
  fexpr_free(a->lhs);
  fexpr_free(a->rhs_field);
  for (size_t i = 0; i < a->nrhs; i++)
    free(a->rhs[i].s);
  free(a->rhs);
  free(a->name);
  free(a);
}

static ctr__ast *new_node(parser *p, ctr__nkind kind, size_t pos)
{
  ctr__ast *a = calloc(1, sizeof *a);
  if (!a)
    return fail(p, pos, "out of memory%s", NULL);
  a->kind = kind;
  a->pos = pos;
  return a;
}

static ctr__tf transformer_of(const char *s, size_t n)
{
  static const struct {
    const char *name;
    ctr__tf tf;
  } tfs[] = {{"tolower", CTR__TF_TOLOWER}, {"toupper", CTR__TF_TOUPPER}, {"b64", CTR__TF_B64},
             {"basename", CTR__TF_BASENAME}, {"len", CTR__TF_LEN}, {"val", CTR__TF_VAL}};
  for (size_t i = 0; i < CTR__COUNTOF(tfs); i++)
    if (strlen(tfs[i].name) == n && memcmp(tfs[i].name, s, n) == 0)
      return tfs[i].tf;
  return CTR__TF_NONE;
}

/* transformer '(' operand ')' | field ; val() only where allowed. */
static ctr__fexpr *parse_operand(parser *p, bool allow_val)
{
  ctr__lexer *lx = &p->lx;
  size_t pos = lx->i;
  size_t idn = ctr__lex_ident_len(lx);
  if (idn && lx->i + idn < lx->len && lx->s[lx->i + idn] == '(') {
    ctr__tf tf = transformer_of(lx->s + lx->i, idn);
    if (tf == CTR__TF_NONE) {
      char name[64];
      snprintf(name, sizeof name, "%.*s", (int)(idn < 60 ? idn : 60), lx->s + lx->i);
      return fail(p, pos, "unknown transformer '%s' (known: tolower, toupper, b64, basename, len, val)", name);
    }
    if (tf == CTR__TF_VAL && !allow_val)
      return fail(p, pos, "val() is only allowed on the right-hand side of a comparison%s", NULL);
    lx->i += idn + 1;
    ctr__lex_skip_ws(lx);
    if (++p->depth > MAX_PARSE_DEPTH)
      return fail(p, pos, "condition nests deeper than 1000 levels%s", NULL);
    ctr__fexpr *inner = parse_operand(p, false);
    p->depth--;
    if (!inner)
      return NULL;
    ctr__lex_skip_ws(lx);
    if (!ctr__lex_char(lx, ')')) {
      fexpr_free(inner);
      char buf[32];
      return fail(p, lx->i, "expected ')' to close the transformer, found %s", near(p, buf, sizeof buf));
    }
    if (tf == CTR__TF_VAL && inner->tf != CTR__TF_NONE) {
      fexpr_free(inner);
      return fail(p, pos, "val() takes a field, not a transformer%s", NULL);
    }
    ctr__fexpr *f = calloc(1, sizeof *f);
    if (!f) {
      fexpr_free(inner);
      return fail(p, pos, "out of memory%s", NULL);
    }
    f->tf = tf;
    f->inner = inner;
    f->pos = pos;
    return f;
  }
  size_t name_len, arg_start, arg_len;
  size_t n = ctr__lex_field_len(lx, &name_len, &arg_start, &arg_len);
  if (!n) {
    char buf[32];
    return fail(p, pos, "expected a field name (such as ct.name), found %s", near(p, buf, sizeof buf));
  }
  ctr__fexpr *f = calloc(1, sizeof *f);
  if (!f || !(f->field = ctr__strndup(lx->s + lx->i, name_len)) ||
      (arg_start && !(f->arg = ctr__strndup(lx->s + arg_start, arg_len)))) {
    fexpr_free(f);
    return fail(p, pos, "out of memory%s", NULL);
  }
  f->pos = pos;
  lx->i += n;
  return f;
}

/* Lists may name earlier lists, so a short condition can expand to very many
 * values: CTR_LIMIT_LIST_ITEMS bounds one comparison's. */
static bool too_many_values(parser *p, const ctr__ast *a, size_t pos)
{
  uint64_t max = p->defs->limits[CTR_LIMIT_LIST_ITEMS];
  if (a->nrhs < max)
    return false;
  char n[32];
  snprintf(n, sizeof n, "%llu", (unsigned long long)max);
  fail(p, pos, "more than %s values in one list once its lists are expanded (limit list_items)", n);
  return true;
}

static bool push_lit(parser *p, ctr__ast *a, const char *s, size_t len, bool quoted, size_t pos)
{
  if (too_many_values(p, a, pos))
    return false;
  if ((a->nrhs & (a->nrhs - 1)) == 0) {
    size_t cap = a->nrhs ? a->nrhs * 2 : 4;
    ctr__lit *v = realloc(a->rhs, cap * sizeof *v);
    if (!v) {
      fail(p, pos, "out of memory%s", NULL);
      return false;
    }
    a->rhs = v;
  }
  char *copy = ctr__strndup(s, len);
  if (!copy) {
    fail(p, pos, "out of memory%s", NULL);
    return false;
  }
  a->rhs[a->nrhs++] = (ctr__lit){copy, len, quoted, pos};
  return true;
}

/* Adds the items of list #li, inlining items that name an earlier list (at
 * any depth: an explicit stack, since a chain of lists can be as long as
 * the file; lists only name earlier lists, so it cannot loop). */
static bool push_list_items(parser *p, ctr__ast *a, size_t li, size_t pos)
{
  struct frame {
    size_t list, next;
  } *stack = malloc(4 * sizeof *stack);
  size_t depth = 0, cap = 4;
  bool ok = stack != NULL;
  if (ok)
    stack[depth++] = (struct frame){li, 0};
  else
    fail(p, pos, "out of memory%s", NULL);
  while (ok && depth) {
    struct frame *f = &stack[depth - 1];
    ctr__list_def *l = &p->defs->lists[f->list];
    l->used = true;
    if (f->next == l->n) {
      depth--;
      continue;
    }
    size_t k = f->next++;
    size_t inner = f->list;
    if (!l->quoted[k])
      for (size_t e = 0; e < f->list && inner == f->list; e++)
        if (strcmp(p->defs->lists[e].name, l->items[k]) == 0)
          inner = e;
    if (inner == f->list) {
      ok = push_lit(p, a, l->items[k], strlen(l->items[k]), l->quoted[k], pos);
      continue;
    }
    if (depth == cap) {
      struct frame *grown = realloc(stack, cap * 2 * sizeof *grown);
      if (!grown) {
        ok = false;
        fail(p, pos, "out of memory%s", NULL);
        break;
      }
      stack = grown;
      cap *= 2;
    }
    stack[depth++] = (struct frame){inner, 0};
  }
  free(stack);
  return ok;
}

/* A value: quoted string or bare string. */
static bool parse_value(parser *p, ctr__ast *a, bool in_list)
{
  ctr__lexer *lx = &p->lx;
  size_t pos = lx->i;
  if (lx->i < lx->len && (lx->s[lx->i] == '"' || lx->s[lx->i] == '\'')) {
    char *s;
    size_t n;
    if (!ctr__lex_quoted(lx, &s, &n, p->err)) {
      p->failed = true;
      return false;
    }
    if (too_many_values(p, a, pos)) {
      free(s);
      return false;
    }
    if ((a->nrhs & (a->nrhs - 1)) == 0) {
      ctr__lit *v = realloc(a->rhs, (a->nrhs ? a->nrhs * 2 : 4) * sizeof *v);
      if (!v) {
        free(s);
        fail(p, pos, "out of memory%s", NULL);
        return false;
      }
      a->rhs = v;
    }
    a->rhs[a->nrhs++] = (ctr__lit){s, n, true, pos};
    return true;
  }
  size_t n = ctr__lex_bare_len(lx);
  if (n == 0) {
    char buf[32];
    fail(p, pos, "expected a value, found %s", near(p, buf, sizeof buf));
    return false;
  }
  if (in_list && p->defs) {
    for (size_t li = 0; li < p->defs->nlists; li++) {
      const char *name = p->defs->lists[li].name;
      if (strlen(name) == n && memcmp(name, lx->s + lx->i, n) == 0) {
        lx->i += n;
        return push_list_items(p, a, li, pos);
      }
    }
  }
  bool ok = push_lit(p, a, lx->s + lx->i, n, false, pos);
  lx->i += n;
  return ok;
}

static bool parse_list(parser *p, ctr__ast *a)
{
  ctr__lexer *lx = &p->lx;
  a->rhs_is_list = true;
  if (!ctr__lex_char(lx, '(')) {
    char buf[32];
    fail(p, lx->i, "expected '(' to start a list after the operator, found %s", near(p, buf, sizeof buf));
    return false;
  }
  ctr__lex_skip_ws(lx);
  if (ctr__lex_char(lx, ')'))
    return true;
  for (;;) {
    ctr__lex_skip_ws(lx);
    if (!parse_value(p, a, true))
      return false;
    ctr__lex_skip_ws(lx);
    if (ctr__lex_char(lx, ')'))
      return true;
    if (!ctr__lex_char(lx, ',')) {
      char buf[32];
      fail(p, lx->i, "expected ',' or ')' in list, found %s", near(p, buf, sizeof buf));
      return false;
    }
  }
}

static ctr__ast *parse_expr(parser *p);

static bool is_numeric_op(ctr__op op) { return op == CTR__OP_LT || op == CTR__OP_LE || op == CTR__OP_GT || op == CTR__OP_GE; }

static bool looks_numeric(const char *s)
{
  if (*s == '+' || *s == '-')
    s++;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    return s[2] != '\0' && strspn(s + 2, "0123456789abcdefABCDEF") == strlen(s + 2);
  char *end;
  strtod(s, &end);
  return end != s && *end == '\0';
}

static ctr__ast *parse_check(parser *p)
{
  ctr__lexer *lx = &p->lx;
  ctr__lex_skip_ws(lx);
  size_t pos = lx->i;
  if (ctr__lex_char(lx, '(')) {
    if (++p->depth > MAX_PARSE_DEPTH)
      return fail(p, pos, "condition nests deeper than 1000 levels%s", NULL);
    ctr__ast *e = parse_expr(p);
    p->depth--;
    if (!e)
      return NULL;
    ctr__lex_skip_ws(lx);
    if (!ctr__lex_char(lx, ')')) {
      ctr__ast_free(e);
      char buf[32];
      return fail(p, lx->i, "expected ')' or 'and'/'or', found %s", near(p, buf, sizeof buf));
    }
    return e;
  }
  if (ctr__lex_at_end(lx))
    return fail(p, pos, "unexpected end of condition: a check, macro or '(' was expected%s", NULL);

  /* A bare identifier (no dot, not a transformer call) is a macro. */
  size_t idn = ctr__lex_ident_len(lx);
  bool dotted = idn && lx->i + idn < lx->len && lx->s[lx->i + idn] == '.';
  bool call = idn && lx->i + idn < lx->len && lx->s[lx->i + idn] == '(';
  if (idn && !dotted && !call) {
    ctr__ast *m = new_node(p, CTR__N_MACRO, pos);
    if (!m)
      return NULL;
    if (!(m->name = ctr__strndup(lx->s + lx->i, idn))) {
      free(m);
      return fail(p, pos, "out of memory%s", NULL);
    }
    lx->i += idn;
    return m;
  }

  ctr__ast *a = new_node(p, CTR__N_CHECK, pos);
  if (!a)
    return NULL;
  if (!(a->lhs = parse_operand(p, false))) {
    ctr__ast_free(a);
    return NULL;
  }
  ctr__lex_skip_ws(lx);
  a->op_pos = lx->i;
  if (!ctr__lex_operator(lx, &a->op)) {
    char buf[32];
    ctr__ast_free(a);
    return fail(p, lx->i, "expected an operator (=, !=, <, contains, in, exists, ...), found %s",
                near(p, buf, sizeof buf));
  }
  if (a->op == CTR__OP_EXISTS)
    return a;
  ctr__lex_skip_ws(lx);
  if (a->op == CTR__OP_IN || a->op == CTR__OP_INTERSECTS || a->op == CTR__OP_PMATCH) {
    if (!parse_list(p, a)) {
      ctr__ast_free(a);
      return NULL;
    }
    return a;
  }
  /* String operator with a list modifier: `startswith anyof (a, b)`. */
  static const struct {
    const char *w;
    ctr__mod m;
  } mods[] = {{"anyof", CTR__MOD_ANYOF}, {"allof", CTR__MOD_ALLOF}, {"oneof", CTR__MOD_ONEOF}};
  for (size_t k = 0; k < CTR__COUNTOF(mods); k++) {
    size_t save = lx->i;
    if (ctr__lex_word(lx, mods[k].w, "(")) {
      ctr__lex_skip_ws(lx);
      if (lx->i < lx->len && lx->s[lx->i] == '(') {
        a->mod = mods[k].m;
        if (!parse_list(p, a)) {
          ctr__ast_free(a);
          return NULL;
        }
        return a;
      }
      lx->i = save;
    }
  }
  /* val(field) or a transformer on the right-hand side. */
  idn = ctr__lex_ident_len(lx);
  if (idn && lx->i + idn < lx->len && lx->s[lx->i + idn] == '(' && transformer_of(lx->s + lx->i, idn)) {
    if (a->op == CTR__OP_REGEX) {
      ctr__ast_free(a);
      return fail(p, lx->i, "regex needs a literal pattern, not val() or a transformer%s", NULL);
    }
    if (!(a->rhs_field = parse_operand(p, true))) {
      ctr__ast_free(a);
      return NULL;
    }
    return a;
  }
  size_t vpos = lx->i;
  if (!parse_value(p, a, false)) {
    ctr__ast_free(a);
    return NULL;
  }
  if (is_numeric_op(a->op) && !a->rhs[0].quoted && !looks_numeric(a->rhs[0].s)) {
    char lit[64];
    snprintf(lit, sizeof lit, "%.60s", a->rhs[0].s);
    ctr__ast_free(a);
    return fail(p, vpos, "a numeric operator needs a number, found '%s'", lit);
  }
  return a;
}

static ctr__ast *parse_not(parser *p)
{
  ctr__lexer *lx = &p->lx;
  ctr__lex_skip_ws(lx);
  size_t pos = lx->i;
  if (ctr__lex_word(lx, "not", "(")) {
    if (++p->depth > MAX_PARSE_DEPTH)
      return fail(p, pos, "condition nests deeper than 1000 levels%s", NULL);
    ctr__ast *kid = parse_not(p);
    p->depth--;
    if (!kid)
      return NULL;
    ctr__ast *n = new_node(p, CTR__N_NOT, pos);
    if (!n) {
      ctr__ast_free(kid);
      return NULL;
    }
    n->kid = kid;
    return n;
  }
  return parse_check(p);
}

static ctr__ast *parse_chain(parser *p, ctr__nkind kind)
{
  ctr__lexer *lx = &p->lx;
  ctr__lex_skip_ws(lx);
  size_t pos = lx->i;
  const char *word = kind == CTR__N_OR ? "or" : "and";
  ctr__ast *first = kind == CTR__N_OR ? parse_chain(p, CTR__N_AND) : parse_not(p);
  if (!first)
    return NULL;
  ctr__ast *chain = NULL;
  for (;;) {
    ctr__lex_skip_ws(lx);
    size_t save = lx->i;
    if (!ctr__lex_word(lx, word, "("))
      break;
    ctr__ast *next = kind == CTR__N_OR ? parse_chain(p, CTR__N_AND) : parse_not(p);
    if (!next) {
      ctr__ast_free(chain ? chain : first);
      return NULL;
    }
    if (!chain) {
      if (!(chain = new_node(p, kind, pos))) {
        ctr__ast_free(first);
        ctr__ast_free(next);
        return NULL;
      }
      chain->kids = malloc(4 * sizeof *chain->kids);
      if (!chain->kids) {
        ctr__ast_free(first);
        ctr__ast_free(next);
        ctr__ast_free(chain);
        return fail(p, save, "out of memory%s", NULL);
      }
      chain->kids[chain->nkids++] = first;
    }
    if ((chain->nkids & (chain->nkids - 1)) == 0 && chain->nkids >= 4) {
      ctr__ast **v = realloc(chain->kids, chain->nkids * 2 * sizeof *v);
      if (!v) {
        ctr__ast_free(next);
        ctr__ast_free(chain);
        return fail(p, save, "out of memory%s", NULL);
      }
      chain->kids = v;
    }
    chain->kids[chain->nkids++] = next;
  }
  return chain ? chain : first;
}

static ctr__ast *parse_expr(parser *p) { return parse_chain(p, CTR__N_OR); }

ctr__ast *ctr__parse_condition(const ctr__text *text, ctr__defs *defs, ctr__parse_error *err)
{
  parser p = {.lx = {text->s, text->len, 0}, .defs = defs, .err = err};
  err->pos = 0;
  err->msg[0] = '\0';
  ctr__ast *a = parse_expr(&p);
  if (!a)
    return NULL;
  ctr__lex_skip_ws(&p.lx);
  if (!ctr__lex_at_end(&p.lx)) {
    char buf[32];
    const char *what = near(&p, buf, sizeof buf);
    ctr__ast_free(a);
    fail(&p, p.lx.i, "unexpected %s: expected 'and', 'or' or the end of the condition", what);
    return NULL;
  }
  return a;
}
