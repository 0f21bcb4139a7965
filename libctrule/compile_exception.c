/* compile_exception.c - a rule's exceptions compiled into its condition:
 * `and not (...)` for each. Built as Falco builds them (rule_loader_compiler.cpp,
 * build_rule_exception_infos): the exception becomes condition text, which
 * the condition parser reads. So an exception value means what it would in a
 * condition: a list name stands for its items (lists in lists too), a quoted
 * value is a string, `(a, b)` a list, and every limit of a condition holds.
 * Its own file: turning an exception into condition text is Falco's quoting
 * and grouping rules, apart from compiling the text, which compile.c does. */
#include "compile.h"

#include <string.h>

typedef ctr__compile_ctx compiler_ctx;

/* Appends a value as Falco's quote_item does: in double quotes if it has a
 * blank and is not quoted already. */
static int exc_add_quoted(ctr__buf *b, const ctr__ynode *v)
{
  if (memchr(v->value, ' ', v->len) && v->value[0] != '"' && v->value[0] != '\'')
    return ctr__buf_printf(b, "\"%s\"", v->value);
  return ctr__buf_append(b, v->value, v->len);
}

/* Appends one tuple element for comparison `comp`: a list `(a, b)`, or a
 * scalar, put in parentheses for an operator that takes a list (Falco's
 * paren_item: unless it starts with one), quoted otherwise. */
static int exc_add_value(ctr__buf *b, const ctr__ynode *v, bool list_op)
{
  int rc = CTR_OK;
  if (v->kind == CTR__Y_SEQ) {
    rc = ctr__buf_append_char(b, '(');
    for (size_t i = 0; rc == CTR_OK && i < v->n; i++)
      if ((rc = i ? ctr__buf_append_str(b, ", ") : CTR_OK) == CTR_OK)
        rc = exc_add_quoted(b, v->items[i]);
    return rc == CTR_OK ? ctr__buf_append_char(b, ')') : rc;
  }
  if (list_op && v->value[0] != '(')
    return ctr__buf_printf(b, "(%s)", v->value);
  return list_op ? ctr__buf_append(b, v->value, v->len) : exc_add_quoted(b, v);
}

/* An exception's comparison (`comp` NULL: Falco's default), blanks around it
 * dropped; *list: it takes a list of values (merge.c checked it is one). */
static void exc_comp(const ctr__ynode *comp, const char *dflt, const char **s, size_t *n, bool *list)
{
  const char *c = comp ? comp->value : dflt;
  size_t len = strlen(c);
  ctr__exception_comp(c, len, list);
  while (len && ctr__one_of(" \t\r\n", *c))
    c++, len--;
  while (len && ctr__one_of(" \t\r\n", c[len - 1]))
    len--;
  *s = c;
  *n = len;
}

/* The condition text of one exception, "" when it has no values. */
static int exc_text(const ctr__exception_def *e, ctr__buf *b)
{
  const char *c;
  size_t clen;
  bool list;
  int rc = CTR_OK;
  if (e->fields->kind == CTR__Y_SCALAR) {
    /* `fields: f`, values [a, b]: (f comp (a, b)) */
    exc_comp(e->comps, "in", &c, &clen, &list);
    for (size_t i = 0; rc == CTR_OK && i < e->nvalues; i++) {
      if (i == 0)
        rc = ctr__buf_printf(b, "(%s %.*s (", e->fields->value, (int)clen, c);
      else
        rc = ctr__buf_append_str(b, ", ");
      if (rc == CTR_OK)
        rc = exc_add_quoted(b, e->values[i]);
    }
    return rc == CTR_OK && e->nvalues ? ctr__buf_append_str(b, "))") : rc;
  }
  /* Several fields: ((f1 c1 v1 and f2 c2 v2) or (...)) */
  for (size_t t = 0; rc == CTR_OK && t < e->nvalues; t++) {
    rc = ctr__buf_append_str(b, t ? " or (" : "((");
    for (size_t f = 0; rc == CTR_OK && f < e->fields->n; f++) {
      exc_comp(e->comps ? e->comps->items[f] : NULL, "=", &c, &clen, &list);
      rc = ctr__buf_printf(b, "%s %s %.*s ", f ? " and" : "", e->fields->items[f]->value, (int)clen, c);
      if (rc == CTR_OK)
        rc = exc_add_value(b, e->values[t]->items[f], list);
    }
    if (rc == CTR_OK)
      rc = ctr__buf_append_char(b, ')');
  }
  return rc == CTR_OK && e->nvalues ? ctr__buf_append_char(b, ')') : rc;
}

/* `not (...)` for one exception, NULL when it has no values or on an error
 * (reported at the exception, as Falco reports it). */
ctr__cnode *ctr__compile_exception(compiler_ctx *cx, const ctr__exception_def *e)
{
  cx->r.fallback_pos = &e->pos;
  ctr__buf b = {0};
  if (exc_text(e, &b) != CTR_OK) {
    ctr__compile_nomem(cx);
    ctr__buf_free(&b);
    return NULL;
  }
  if (b.len == 0)
    return NULL;
  /* Generated text (no spans): every position falls back to the exception. */
  ctr__text t = {.s = b.data, .len = b.len};
  ctr__parse_error perr;
  ctr__ast *ast = ctr__parse_condition(&t, cx->defs, &perr);
  ctr__cnode *any = NULL;
  const ctr__text *saved = cx->r.text;
  cx->r.text = &t;
  if (!ast && perr.nomem)
    ctr__compile_nomem(cx);
  else if (!ast)
    ctr__compile_report(cx, CTR_SEVERITY_ERROR, "LOAD_ERR_COMPILE_CONDITION", NULL, 0, "exception '%s': %s", e->name, perr.msg);
  else {
    cx->r.exc_name = e->name;
    any = ctr__compile_ast(cx, ast);
    cx->r.exc_name = NULL;
  }
  cx->r.text = saved;
  ctr__ast_free(ast);
  ctr__buf_free(&b);
  ctr__cnode *not = any ? ctr__compile_node(cx, CTR__N_NOT, 1) : NULL;
  if (not)
    not->kids[0] = any;
  return not;
}
