/* merge_exception.c - a rule's `exceptions` as Falco's collector reads them
 * (rule_loader_reader.cpp, validate_exception_info): each exception's name,
 * fields, comps and values checked, appended to a rule's or replacing them.
 * Its own file: the exception grammar (one field or several, tuples of
 * scalars or lists, appends that add values only) is a concern of its own,
 * which merge.c's rule items only call into (ctr__merge_rule_exceptions). */
#include "parse.h"

#include <stdlib.h>
#include <string.h>

void ctr__exception_def_free(ctr__exception_def *e)
{
  free(e->name);
  free(e->values);
  memset(e, 0, sizeof *e);
}

/* The number of values per tuple: one per field. */
static size_t exc_arity(const ctr__exception_def *e) { return e->fields->kind == CTR__Y_SCALAR ? 1 : e->fields->n; }

static bool is_scalar_seq(const ctr__ynode *n)
{
  if (!n || n->kind != CTR__Y_SEQ)
    return false;
  for (size_t i = 0; i < n->n; i++)
    if (!ctr__is_scalar(n->items[i]))
      return false;
  return true;
}

/* Falco: an exception value may not be an empty string. */
static int nonempty(ctr__mitem *x, const ctr__exception_def *e, const ctr__ynode *v)
{
  for (size_t i = 0; v->kind == CTR__Y_SEQ && i < v->n; i++)
    if (nonempty(x, e, v->items[i]) != CTR_OK)
      return CTR_ESYNTAX;
  if (v->kind == CTR__Y_SCALAR && v->len == 0)
    return ctr__merge_err(x, v, "LOAD_ERR_YAML_VALIDATE", "exception '%s': a value must be non-empty", e->name);
  return CTR_OK;
}

/* Appends the tuples of `vals` (a `values` node) to e, checked against its
 * fields. The nodes are borrowed, not copied. */
static int read_exc_values(ctr__mitem *x, const ctr__ynode *vals, ctr__exception_def *e)
{
  if (!vals)
    return CTR_OK;
  if (vals->kind != CTR__Y_SEQ)
    return ctr__merge_err(x, vals, "LOAD_ERR_YAML_VALIDATE", "exception '%s': 'values' must be a sequence", e->name);
  size_t arity = exc_arity(e);
  for (size_t t = 0; t < vals->n; t++) {
    const ctr__ynode *tuple = vals->items[t];
    if (e->fields->kind == CTR__Y_SCALAR) {
      if (!ctr__is_scalar(tuple))
        return ctr__merge_err(x, tuple, "LOAD_ERR_YAML_VALIDATE", "exception '%s': with a single field, values must be scalars", e->name);
    } else {
      if (tuple->kind != CTR__Y_SEQ || tuple->n != arity)
        return ctr__merge_err(x, tuple, "LOAD_ERR_YAML_VALIDATE", "exception '%s': each value must be a list of %zu elements, one per field", e->name, arity);
      for (size_t f = 0; f < arity; f++)
        if (!ctr__is_scalar(tuple->items[f]) && !is_scalar_seq(tuple->items[f]))
          return ctr__merge_err(x, tuple->items[f], "LOAD_ERR_YAML_VALIDATE", "exception '%s': value of 'values' must be a sequence of scalars or of lists of scalars", e->name);
    }
    if (nonempty(x, e, tuple) != CTR_OK)
      return CTR_ESYNTAX;
  }
  const ctr__ynode **v = realloc(e->values, (e->nvalues + vals->n + 1) * sizeof *v);
  if (!v)
    return CTR_ENOMEM;
  e->values = v;
  memcpy(e->values + e->nvalues, vals->items, vals->n * sizeof *v);
  e->nvalues += vals->n;
  return CTR_OK;
}

/* Falco checks at load that an exception field exists (is_field_defined). A
 * field written with a transformer, and an empty one, are left to the
 * compiler, which reads them as it reads a condition. */
static int check_exc_field(ctr__mitem *x, const ctr__exception_def *e, const ctr__ynode *f)
{
  if (f->len == 0 || memchr(f->value, '(', f->len))
    return CTR_OK;
  ctr__lexer lx = {f->value, f->len, 0};
  size_t name_len, arg_start, arg_len;
  if (ctr__lex_field_len(&lx, &name_len, &arg_start, &arg_len) == f->len && ctr__field_lookup(f->value, name_len))
    return CTR_OK;
  return ctr__merge_err(x, f, "LOAD_ERR_VALIDATE", "exception '%s': '%s' is not a supported filter field", e->name, f->value);
}

/* Checks fields and comps as Falco's collector does (validate_exception_info). */
static int check_exc_fields(ctr__mitem *x, ctr__exception_def *e)
{
  const ctr__ynode *f = e->fields, *c = e->comps;
  if (!ctr__is_scalar(f) && !is_scalar_seq(f))
    return ctr__merge_err(x, f, "LOAD_ERR_YAML_VALIDATE", "exception '%s': 'fields' must be a field or a list of fields", e->name);
  if (c && !ctr__is_scalar(c) && !is_scalar_seq(c))
    return ctr__merge_err(x, c, "LOAD_ERR_YAML_VALIDATE", "exception '%s': 'comps' must be an operator or a list of operators", e->name);
  bool list;
  int rc = CTR_OK;
  if (f->kind == CTR__Y_SCALAR) {
    if (c && c->kind != CTR__Y_SCALAR)
      return ctr__merge_err(x, c, "LOAD_ERR_VALIDATE", "exception '%s': with a single field, 'comps' must be a scalar", e->name);
    if (c && (!ctr__exception_comp(c->value, c->len, &list) || !list))
      return ctr__merge_err(x, c, "LOAD_ERR_VALIDATE", "exception '%s': with a single field, comps must be in, pmatch, intersects or a string operator with a list modifier, not '%s'", e->name, c->value);
    return check_exc_field(x, e, f);
  }
  if (c && (c->kind != CTR__Y_SEQ || c->n != f->n))
    return ctr__merge_err(x, c, "LOAD_ERR_VALIDATE", "exception '%s': fields and comps lists must have equal length", e->name);
  for (size_t i = 0; c && i < c->n; i++)
    if (!ctr__exception_comp(c->items[i]->value, c->items[i]->len, &list))
      return ctr__merge_err(x, c, "LOAD_ERR_VALIDATE", "exception '%s': '%s' is not a known comparison operator", e->name, c->items[i]->value);
  /* Falco checks the comparisons first, then the fields. */
  for (size_t i = 0; rc == CTR_OK && i < f->n; i++)
    rc = check_exc_field(x, e, f->items[i]);
  return rc;
}

/* Reads one exception. `append`: an exception given in an append or
 * override, whose fields may be those of the rule's exception of that name. */
static int read_exception(ctr__mitem *x, const ctr__ynode *n, ctr__exception_def *e, bool append)
{
  memset(e, 0, sizeof *e);
  if (n->kind != CTR__Y_MAP)
    return ctr__merge_err(x, n, "LOAD_ERR_YAML_VALIDATE", "each exception must be a mapping");
  const ctr__ynode *name = ctr__ymap_get(n, "name");
  if (!ctr__is_scalar(name))
    return ctr__merge_err(x, name ? name : n, "LOAD_ERR_YAML_VALIDATE", "exception has no 'name'");
  ctr__merge_pos(n, &e->pos);
  if (!(e->name = ctr__strdup(name->value)))
    return CTR_ENOMEM;
  e->node = n;
  for (size_t i = 0; i + 1 < n->n; i += 2) {
    const char *k = n->items[i]->kind == CTR__Y_SCALAR ? n->items[i]->value : "";
    if (strcmp(k, "name") && strcmp(k, "fields") && strcmp(k, "comps") && strcmp(k, "values"))
      ctr__merge_warn(x, n->items[i], "LOAD_UNKNOWN_KEY", "unknown key '%s' in exception (ignored)", k);
  }
  e->fields = ctr__ymap_get(n, "fields");
  e->comps = ctr__ymap_get(n, "comps");
  const ctr__ynode *vals = ctr__ymap_get(n, "values");
  if (!vals && append)
    ctr__merge_warn(x, n, "LOAD_APPEND_NO_VALUES", "overriding or appending exception '%s' with no values", e->name);
  if (!e->fields) {
    if (!append)
      return ctr__merge_err(x, n, "LOAD_ERR_VALIDATE", "exception '%s' has no 'fields'", e->name);
    return CTR_OK; /* values for an existing exception: read against its fields when merged */
  }
  int rc = check_exc_fields(x, e);
  return rc == CTR_OK ? read_exc_values(x, vals, e) : rc;
}

/* Reads the item's `exceptions`; `append`: for an append or override. */
static int read_exceptions(ctr__mitem *x, bool append, ctr__exception_def **out, size_t *nout)
{
  const ctr__ynode *ex = ctr__ymap_get(x->item, "exceptions");
  *out = NULL;
  *nout = 0;
  if (ex->kind == CTR__Y_SCALAR && (ex->len == 0 || strcmp(ex->value, "null") == 0 || strcmp(ex->value, "~") == 0))
    return CTR_OK; /* Falco: an empty exceptions property is allowed */
  if (ex->kind != CTR__Y_SEQ)
    return ctr__merge_err(x, ex, "LOAD_ERR_YAML_VALIDATE", "'exceptions' must be a sequence");
  ctr__exception_def *v = calloc(ex->n ? ex->n : 1, sizeof *v);
  if (!v)
    return CTR_ENOMEM;
  for (size_t i = 0; i < ex->n; i++) {
    int rc = read_exception(x, ex->items[i], &v[i], append);
    if (rc != CTR_OK) {
      for (size_t j = 0; j <= i; j++)
        ctr__exception_def_free(&v[j]);
      free(v);
      return rc;
    }
    for (size_t j = 0; j < i; j++)
      if (strcmp(v[j].name, v[i].name) == 0)
        ctr__merge_warn(x, ex->items[i], "LOAD_EXCEPTION_NAME_NOT_UNIQUE", "multiple definitions of exception '%s' in the same rule", v[i].name);
  }
  *out = v;
  *nout = ex->n;
  return CTR_OK;
}

/* Appends exceptions to a rule as Falco's collector does: a new name is
 * added whole; an existing one takes the values only. Takes what `add`
 * holds (its entries are left empty). */
static int merge_exceptions_append(ctr__mitem *x, ctr__rule_def *r, ctr__exception_def *add, size_t nadd)
{
  for (size_t i = 0; i < nadd; i++) {
    ctr__exception_def *have = NULL;
    for (size_t j = 0; j < r->nexc; j++)
      if (strcmp(r->exc[j].name, add[i].name) == 0)
        have = &r->exc[j];
    const ctr__ynode *at = add[i].node;
    if (!have) {
      if (!add[i].fields)
        return ctr__merge_err(x, at, "LOAD_ERR_VALIDATE", "appended exception '%s' is new and must have fields", add[i].name);
      if (add[i].nvalues == 0)
        return ctr__merge_err(x, at, "LOAD_ERR_VALIDATE", "appended exception '%s' is new and must have values", add[i].name);
      ctr__exception_def *v = realloc(r->exc, (r->nexc + 1) * sizeof *v);
      if (!v)
        return CTR_ENOMEM;
      r->exc = v;
      r->exc[r->nexc++] = add[i];
      memset(&add[i], 0, sizeof add[i]);
      continue;
    }
    if (add[i].fields || add[i].comps)
      return ctr__merge_err(x, at, "LOAD_ERR_VALIDATE", "exception '%s' already exists: only 'values' can be appended to it", add[i].name);
    /* Read the values against the existing fields. */
    int rc = read_exc_values(x, ctr__ymap_get(at, "values"), have);
    if (rc != CTR_OK)
      return rc;
  }
  return CTR_OK;
}

/* The item's exceptions merged into r: appended (Falco's collector), or
 * replacing r's. */
int ctr__merge_rule_exceptions(ctr__mitem *x, ctr__rule_def *r, bool append)
{
  ctr__exception_def *ex;
  size_t nex;
  int rc = read_exceptions(x, append, &ex, &nex);
  if (rc != CTR_OK)
    return rc;
  if (append) {
    rc = merge_exceptions_append(x, r, ex, nex);
    for (size_t i = 0; i < nex; i++)
      ctr__exception_def_free(&ex[i]);
    free(ex);
    return rc;
  }
  for (size_t i = 0; i < r->nexc; i++)
    ctr__exception_def_free(&r->exc[i]);
  free(r->exc);
  r->exc = ex;
  r->nexc = nex;
  return CTR_OK;
}
