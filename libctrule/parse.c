/* parse.c - the condition grammar: recursive descent over lex.c's primitives,
 * following libsinsp's parser (falcosecurity/libs filter/parser.cpp).
 *
 *   expr    := and ('or' and)*            'and'/'or' followed by a blank or '('
 *   and     := not ('and' not)*
 *   not     := ('not' blank)* ('not(' expr ')' | check)
 *   check   := '(' expr ')' | operand cond | MACRO
 *   operand := field | TRANSFORMER '(' targ (',' targ)* ')'
 *   cond    := 'exists' | NUMOP (number | rhs) | STROP [MOD] (rhs | value)
 *            | LISTOP (list | rhs | LISTNAME)
 *   rhs     := 'val(' field ')' | TRANSFORMER '(' ... ')'
 *   targ    := number | quoted | '(' [titem (',' titem)*] ')' | operand
 *   MOD     := blank ('oneof' | 'anyof' | 'allof') blank (list | LISTNAME)
 *
 * A list name standing for values is expanded here from the definitions
 * known when the condition is parsed, where Falco substitutes its items into
 * the condition's text before parsing: inside a list literal (its items join
 * the list), after a list operator or a modifier (its items are the list),
 * and as a single value (its one item; more or none would not parse in
 * Falco either). Each expanded value is one value, whatever it holds (Falco
 * re-reads the text, so items holding a comma, a parenthesis or a quote
 * break there: a deliberate difference, docs/compatibility.md). Every node
 * keeps the offset of its first character. */
#include "parse.h"

#include <stdarg.h>
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

/* Records the first error only (later ones are consequences). NULL, for
 * `return fail(...)`. */
static void *fail(parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void *fail(parser *p, size_t pos, const char *fmt, ...)
{
  if (!p->failed) {
    p->failed = true;
    p->err->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
  }
  return NULL;
}

static void *fail_nomem(parser *p, size_t pos)
{
  if (!p->failed)
    p->err->nomem = true;
  return fail(p, pos, "out of memory");
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

#define NEAR(p) near((p), (char[32]){0}, 32)

void ctr__fexpr_free(ctr__fexpr *f)
{
  if (!f)
    return;
  for (size_t i = 0; i < f->nargs; i++)
    ctr__fexpr_free(f->args[i]);
  free(f->args);
  free(f->field);
  free(f->arg);
  free(f->lit);
  free(f);
}

void ctr__ast_free(ctr__ast *a)
{
  if (!a)
    return;
  for (size_t i = 0; i < a->nkids; i++)
    ctr__ast_free(a->kids[i]);
  free(a->kids);
  ctr__ast_free(a->kid);
  ctr__fexpr_free(a->lhs);
  ctr__fexpr_free(a->rhs_field);
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
    return fail_nomem(p, pos);
  a->kind = kind;
  a->pos = pos;
  return a;
}

static ctr__fexpr *new_fexpr(parser *p, ctr__tf tf, size_t pos)
{
  ctr__fexpr *f = calloc(1, sizeof *f);
  if (!f)
    return fail_nomem(p, pos);
  f->tf = tf;
  f->pos = pos;
  return f;
}

static bool push_arg(parser *p, ctr__fexpr *f, ctr__fexpr *arg)
{
  if ((f->nargs & (f->nargs - 1)) == 0) {
    ctr__fexpr **v = realloc(f->args, (f->nargs ? f->nargs * 2 : 2) * sizeof *v);
    if (!v) {
      fail_nomem(p, arg->pos);
      ctr__fexpr_free(arg);
      return false;
    }
    f->args = v;
  }
  f->args[f->nargs++] = arg;
  return true;
}

static ctr__tf lex_transformer(parser *p) { return ctr__lex_transformer(&p->lx); }

static bool at_field(parser *p)
{
  size_t idn = ctr__lex_ident_len(&p->lx), j = p->lx.i + idn;
  return idn && j + 1 < p->lx.len && p->lx.s[j] == '.' &&
         ((p->lx.s[j + 1] >= 'a' && p->lx.s[j + 1] <= 'z') || (p->lx.s[j + 1] >= 'A' && p->lx.s[j + 1] <= 'Z'));
}

/* field[arg]: the argument quoted (and unescaped) or bare. */
static ctr__fexpr *parse_field(parser *p)
{
  ctr__lexer *lx = &p->lx;
  size_t pos = lx->i, name_len, arg_start, arg_len;
  size_t n = ctr__lex_field_len(lx, &name_len, &arg_start, &arg_len);
  if (!n) {
    if (!at_field(p))
      return fail(p, pos, "expected a field name (such as ct.name), found %s", NEAR(p));
    size_t j = pos; /* the name is fine: its argument is not */
    while (j < lx->len && lx->s[j] != '[')
      j++;
    return fail(p, j, "expected a valid field argument between '[' and ']': a quoted string or a bare string");
  }
  ctr__fexpr *f = new_fexpr(p, CTR__TF_NONE, pos);
  if (!f)
    return NULL;
  if (!(f->field = ctr__strndup(lx->s + pos, name_len))) {
    ctr__fexpr_free(f);
    return fail_nomem(p, pos);
  }
  if (arg_start) {
    char q = lx->s[arg_start - 1];
    if (q == '"' || q == '\'') {
      ctr__buf b = {0};
      if (!ctr__lex_unescape(lx->s + arg_start, arg_len, q, arg_start, &b, p->err) ||
          (!b.data && ctr__buf_append(&b, "", 0) != CTR_OK)) {
        ctr__buf_free(&b);
        ctr__fexpr_free(f);
        p->failed = true;
        return NULL;
      }
      f->arg = b.data;
    } else if (!(f->arg = ctr__strndup(lx->s + arg_start, arg_len))) {
      ctr__fexpr_free(f);
      return fail_nomem(p, pos);
    }
  }
  lx->i += n;
  return f;
}

static ctr__fexpr *parse_literal_arg(parser *p)
{
  ctr__lexer *lx = &p->lx;
  size_t pos = lx->i;
  ctr__fexpr *f = new_fexpr(p, CTR__TF_LIT, pos);
  if (!f)
    return NULL;
  size_t n = ctr__lex_number_len(lx);
  if (n) {
    f->lit = ctr__strndup(lx->s + pos, n);
    f->litlen = n;
    lx->i += n;
  } else if (!ctr__lex_quoted(lx, &f->lit, &f->litlen, p->err)) {
    p->failed = true;
    ctr__fexpr_free(f);
    return NULL;
  }
  if (!f->lit) {
    ctr__fexpr_free(f);
    return fail_nomem(p, pos);
  }
  return f;
}

static ctr__fexpr *parse_transformer(parser *p, ctr__tf tf, size_t pos);

/* An item of a transformer list: a field, a transformer, a quoted string or
 * a number. */
static ctr__fexpr *parse_list_item(parser *p)
{
  ctr__lexer *lx = &p->lx;
  size_t pos = lx->i;
  if (at_field(p))
    return parse_field(p);
  ctr__tf tf = lex_transformer(p);
  if (tf)
    return parse_transformer(p, tf, pos);
  if (ctr__lex_number_len(lx) || (lx->i < lx->len && (lx->s[lx->i] == '"' || lx->s[lx->i] == '\'')))
    return parse_literal_arg(p);
  return fail(p, pos, "expected a field, a transformer, a quoted string or a number in the list, found %s", NEAR(p));
}

/* '(' [item (',' item)*] ')' given to a transformer, after the '('. */
static ctr__fexpr *parse_transformer_list(parser *p, size_t pos)
{
  ctr__lexer *lx = &p->lx;
  ctr__fexpr *l = new_fexpr(p, CTR__TF_LIST, pos);
  if (!l)
    return NULL;
  ctr__lex_skip_ws(lx);
  if (ctr__lex_char(lx, ')'))
    return l;
  for (;;) {
    ctr__lex_skip_ws(lx);
    ctr__fexpr *item = parse_list_item(p);
    if (!item || !push_arg(p, l, item)) {
      ctr__fexpr_free(l);
      return NULL;
    }
    ctr__lex_skip_ws(lx);
    if (ctr__lex_char(lx, ')'))
      return l;
    if (!ctr__lex_char(lx, ',')) {
      ctr__fexpr_free(l);
      return fail(p, lx->i, "expected ',' or ')' in the list, found %s", NEAR(p));
    }
  }
}

/* A transformer argument: a number, a quoted string, a list, a transformer
 * or a field (val() is not one). */
static ctr__fexpr *parse_transformer_arg(parser *p)
{
  ctr__lexer *lx = &p->lx;
  ctr__lex_skip_ws(lx);
  size_t pos = lx->i;
  if (ctr__lex_number_len(lx) || (lx->i < lx->len && (lx->s[lx->i] == '"' || lx->s[lx->i] == '\'')))
    return parse_literal_arg(p);
  if (ctr__lex_char(lx, '('))
    return parse_transformer_list(p, pos);
  ctr__tf tf = lex_transformer(p);
  if (tf)
    return parse_transformer(p, tf, pos);
  if (at_field(p))
    return parse_field(p);
  return fail(p, pos, "expected a transformer argument (a field, a transformer, a quoted string, a number or a list), "
                      "found %s", NEAR(p));
}

/* The arguments and ')' of a transformer whose "name(" was read. */
static ctr__fexpr *parse_transformer(parser *p, ctr__tf tf, size_t pos)
{
  ctr__lexer *lx = &p->lx;
  if (++p->depth > MAX_PARSE_DEPTH)
    return fail(p, pos, "condition nests deeper than %d levels", MAX_PARSE_DEPTH);
  ctr__fexpr *f = new_fexpr(p, tf, pos);
  if (!f)
    return NULL;
  do {
    ctr__fexpr *arg = parse_transformer_arg(p);
    if (!arg || !push_arg(p, f, arg)) {
      ctr__fexpr_free(f);
      return NULL;
    }
    ctr__lex_skip_ws(lx);
  } while (ctr__lex_char(lx, ','));
  p->depth--;
  if (!ctr__lex_char(lx, ')')) {
    ctr__fexpr_free(f);
    return fail(p, lx->i, "expected ')' to close the transformer, found %s", NEAR(p));
  }
  return f;
}

/* On the right-hand side: val(field) or a transformer; NULL without an
 * error when there is neither. */
static ctr__fexpr *parse_rhs_operand(parser *p)
{
  ctr__lexer *lx = &p->lx;
  size_t pos = lx->i;
  if (ctr__lex_prefix(lx, "val(")) {
    ctr__lex_skip_ws(lx);
    if (!at_field(p))
      return fail(p, lx->i, "expected a field within val(), found %s", NEAR(p));
    ctr__fexpr *f = new_fexpr(p, CTR__TF_VAL, pos);
    ctr__fexpr *inner = f ? parse_field(p) : NULL;
    if (!inner || !push_arg(p, f, inner)) {
      ctr__fexpr_free(f);
      return NULL;
    }
    ctr__lex_skip_ws(lx);
    if (!ctr__lex_char(lx, ')')) {
      ctr__fexpr_free(f);
      return fail(p, lx->i, "expected ')' to close val(), found %s", NEAR(p));
    }
    return f;
  }
  ctr__tf tf = lex_transformer(p);
  return tf ? parse_transformer(p, tf, pos) : NULL;
}

/* Lists may name earlier lists, so a short condition can expand to very many
 * values: CTR_LIMIT_LIST_ITEMS bounds one comparison's. */
static bool too_many_values(parser *p, const ctr__ast *a, size_t pos)
{
  uint64_t max = p->defs ? p->defs->limits[CTR_LIMIT_LIST_ITEMS] : UINT64_MAX;
  if (a->nrhs < max)
    return false;
  fail(p, pos, "more than %llu values in one list once its lists are expanded (limit list_items)",
       (unsigned long long)max);
  return true;
}

/* Appends a value; takes `s` (malloc'd) when own, else copies it. */
static bool push_value(parser *p, ctr__ast *a, char *s, size_t len, bool quoted, size_t pos, bool own)
{
  if (too_many_values(p, a, pos)) {
    if (own)
      free(s);
    return false;
  }
  if ((a->nrhs & (a->nrhs - 1)) == 0) {
    ctr__lit *v = realloc(a->rhs, (a->nrhs ? a->nrhs * 2 : 4) * sizeof *v);
    if (!v) {
      if (own)
        free(s);
      fail_nomem(p, pos);
      return false;
    }
    a->rhs = v;
  }
  char *copy = own ? s : ctr__strndup(s, len);
  if (!copy) {
    fail_nomem(p, pos);
    return false;
  }
  a->rhs[a->nrhs++] = (ctr__lit){copy, len, quoted, pos};
  return true;
}

/* The list named s[0..n), from the definitions' index of names. */
static ctr__list_def *list_named(parser *p, const char *s, size_t n)
{
  return p->defs ? ctr__defs_list(p->defs, s, n) : NULL;
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
    fail_nomem(p, pos);
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
    ctr__list_def *named = l->quoted[k] ? NULL : list_named(p, l->items[k], strlen(l->items[k]));
    if (named && (size_t)(named - p->defs->lists) < f->list) /* only earlier lists: no loop */
      inner = (size_t)(named - p->defs->lists);
    if (inner == f->list) {
      ok = push_value(p, a, l->items[k], strlen(l->items[k]), l->quoted[k], pos, false);
      continue;
    }
    if (depth == cap) {
      struct frame *grown = realloc(stack, cap * 2 * sizeof *grown);
      if (!grown) {
        ok = false;
        fail_nomem(p, pos);
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

/* A value: quoted string or bare string; a bare list name stands for its
 * items (in a list: all of them; elsewhere: its one item). */
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
    return push_value(p, a, s, n, true, pos, true);
  }
  size_t n = ctr__lex_bare_len(lx);
  if (n == 0) {
    fail(p, pos, "expected a value, found %s", NEAR(p));
    return false;
  }
  ctr__list_def *l = list_named(p, lx->s + lx->i, n);
  lx->i += n;
  if (!l)
    return push_value(p, a, (char *)lx->s + pos, n, false, pos, false);
  size_t before = a->nrhs;
  if (!push_list_items(p, a, (size_t)(l - p->defs->lists), pos))
    return false;
  if (!in_list && a->nrhs - before != 1) {
    fail(p, pos, "list '%.60s' stands here for its %zu items, where Falco needs one value (use it inside parentheses "
                 "with 'in', or with a modifier such as '= anyof')", l->name, a->nrhs - before);
    return false;
  }
  return true;
}

/* '(' [value (',' value)*] ')' after a list operator or a modifier; or a list
 * name (its items), or an identifier (one value), as Falco's parser reads
 * what a list's substitution leaves. */
static bool parse_list(parser *p, ctr__ast *a)
{
  ctr__lexer *lx = &p->lx;
  a->rhs_is_list = true;
  if (!ctr__lex_char(lx, '(')) {
    size_t pos = lx->i, idn = ctr__lex_ident_len(lx);
    if (!idn) {
      fail(p, lx->i, "expected a list, a list name or a field with a transformer, found %s", NEAR(p));
      return false;
    }
    lx->i += idn;
    ctr__list_def *l = list_named(p, lx->s + pos, idn);
    return l ? push_list_items(p, a, (size_t)(l - p->defs->lists), pos)
             : push_value(p, a, (char *)lx->s + pos, idn, false, pos, false);
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
      fail(p, lx->i, "expected ',' or ')' in list, found %s", NEAR(p));
      return false;
    }
  }
}

static ctr__ast *parse_expr(parser *p);

static bool is_numeric_op(ctr__op op) { return (ctr__op_traits(op) & CTR__OPT_NUMBER) != 0; }
static bool is_list_op(ctr__op op) { return (ctr__op_traits(op) & CTR__OPT_LIST) != 0; }

/* ` oneof `/` anyof `/` allof ` after a string operator: blanks on both
 * sides, as Falco requires (`==oneof (a)` and `= oneof(a)` are not). */
static ctr__mod lex_modifier(parser *p, bool blank_before)
{
  if (!blank_before)
    return CTR__MOD_NONE;
  size_t save = p->lx.i;
  ctr__mod m = ctr__lex_modifier(&p->lx);
  if (m && ctr__lex_skip_ws(&p->lx) &&
      (p->lx.i < p->lx.len && (p->lx.s[p->lx.i] == '(' || ctr__lex_ident_len(&p->lx))))
    return m;
  p->lx.i = save;
  return CTR__MOD_NONE;
}

/* A modifier word written without the blanks Falco requires (`==oneof (a)`,
 * `= oneof(a)`), or after an operator that takes none (`> oneof (1)`): an
 * error that says so, where Falco's parser fails further on. */
static bool modifier_misplaced(parser *p, bool blank_before)
{
  ctr__lexer l = p->lx;
  ctr__mod m = ctr__lex_modifier(&l);
  if (!m)
    return false;
  bool blank_after = ctr__lex_skip_ws(&l);
  bool list_follows = l.i < l.len && (l.s[l.i] == '(' || (!blank_before && blank_after && ctr__lex_ident_len(&l)));
  if (list_follows && (!blank_before || !blank_after)) {
    const char *w = ctr__mod_name(m);
    fail(p, p->lx.i, "the modifier '%s' needs a blank on each side, as in 'ct.name = %s (a, b)'", w, w);
    return true;
  }
  return false;
}

/* What follows the left operand of a check: the operator and its operand. */
static bool parse_comparison(parser *p, ctr__ast *a)
{
  ctr__lexer *lx = &p->lx;
  ctr__lex_skip_ws(lx);
  a->op_pos = lx->i;
  if (!ctr__lex_operator(lx, &a->op)) {
    fail(p, lx->i, "expected an operator (=, !=, <, contains, in, exists, ...), found %s", NEAR(p));
    return false;
  }
  if (a->op == CTR__OP_EXISTS)
    return true;
  /* A word operator has read the blanks after it already. */
  size_t after = lx->i;
  bool blank = ctr__lex_skip_ws(lx) || ctr__one_of(" \t\b\r\n", lx->s[after - 1]);
  if ((ctr__op_traits(a->op) & CTR__OPT_MODIFIER) && (a->mod = lex_modifier(p, blank)))
    return parse_list(p, a);
  if (modifier_misplaced(p, blank))
    return false;
  size_t vpos = lx->i;
  if ((a->rhs_field = parse_rhs_operand(p))) {
    if (a->op == CTR__OP_REGEX) {
      fail(p, vpos, "regex needs a literal pattern, not val() or a transformer");
      return false;
    }
    return true;
  }
  if (p->failed)
    return false;
  if (is_list_op(a->op))
    return parse_list(p, a);
  if (is_numeric_op(a->op)) {
    size_t n = ctr__lex_number_len(lx);
    if (!n) {
      fail(p, vpos, "a numeric operator needs a number (or a field with val() or a transformer), found %s", NEAR(p));
      return false;
    }
    lx->i += n;
    return push_value(p, a, (char *)lx->s + vpos, n, false, vpos, false);
  }
  return parse_value(p, a, false);
}

static ctr__ast *parse_check(parser *p)
{
  ctr__lexer *lx = &p->lx;
  ctr__lex_skip_ws(lx);
  size_t pos = lx->i;
  if (ctr__lex_char(lx, '(')) {
    if (++p->depth > MAX_PARSE_DEPTH)
      return fail(p, pos, "condition nests deeper than %d levels", MAX_PARSE_DEPTH);
    ctr__ast *e = parse_expr(p);
    p->depth--;
    if (!e)
      return NULL;
    ctr__lex_skip_ws(lx);
    if (!ctr__lex_char(lx, ')')) {
      ctr__ast_free(e);
      return fail(p, lx->i, "expected ')' or 'and'/'or', found %s", NEAR(p));
    }
    return e;
  }
  if (ctr__lex_at_end(lx))
    return fail(p, pos, "unexpected end of condition: a check, macro or '(' was expected");

  ctr__fexpr *lhs = NULL;
  if (at_field(p)) {
    lhs = parse_field(p);
  } else {
    ctr__tf tf = lex_transformer(p);
    if (tf) {
      lhs = parse_transformer(p, tf, pos);
    } else {
      /* A bare identifier is a macro. */
      size_t idn = ctr__lex_ident_len(lx);
      if (!idn)
        return fail(p, pos, "expected a check, a macro or '(', found %s", NEAR(p));
      if (lx->i + idn < lx->len && lx->s[lx->i + idn] == '(') {
        if (idn == 3 && memcmp(lx->s + lx->i, "val", 3) == 0)
          return fail(p, pos, "val() is only allowed on the right-hand side of a comparison");
        return fail(p, pos, "unknown transformer '%.*s' (known: tolower, toupper, b64, basename, len, join, concat, "
                            "getopt; val on the right-hand side)", (int)(idn < 60 ? idn : 60), lx->s + lx->i);
      }
      ctr__ast *m = new_node(p, CTR__N_MACRO, pos);
      if (m && !(m->name = ctr__strndup(lx->s + lx->i, idn))) {
        free(m);
        return fail_nomem(p, pos);
      }
      lx->i += idn;
      return m;
    }
  }
  if (!lhs)
    return NULL;
  ctr__ast *a = new_node(p, CTR__N_CHECK, pos);
  if (!a) {
    ctr__fexpr_free(lhs);
    return NULL;
  }
  a->lhs = lhs;
  if (!parse_comparison(p, a)) {
    ctr__ast_free(a);
    return NULL;
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
      return fail(p, pos, "condition nests deeper than %d levels", MAX_PARSE_DEPTH);
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
        return fail_nomem(p, save);
      }
      chain->kids[chain->nkids++] = first;
    }
    if ((chain->nkids & (chain->nkids - 1)) == 0 && chain->nkids >= 4) {
      ctr__ast **v = realloc(chain->kids, chain->nkids * 2 * sizeof *v);
      if (!v) {
        ctr__ast_free(next);
        ctr__ast_free(chain);
        return fail_nomem(p, save);
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
  err->nomem = false;
  /* Falco reads the condition as a C string: a NUL ends it, and what
   * follows is an error. */
  const char *nul = memchr(text->s, '\0', text->len);
  if (nul) {
    fail(&p, (size_t)(nul - text->s), "NUL byte in the condition");
    return NULL;
  }
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

ctr__fexpr *ctr__parse_operand(const ctr__text *text, size_t at, size_t *end, ctr__parse_error *err)
{
  parser p = {.lx = {text->s, text->len, at}, .err = err};
  err->pos = at;
  err->msg[0] = '\0';
  err->nomem = false;
  ctr__fexpr *f = NULL;
  if (at_field(&p)) {
    f = parse_field(&p);
  } else {
    ctr__tf tf = lex_transformer(&p);
    if (tf)
      f = parse_transformer(&p, tf, at);
    else
      fail(&p, at, "unknown transformer or field at %s", NEAR(&p));
  }
  *end = p.lx.i;
  return f;
}
