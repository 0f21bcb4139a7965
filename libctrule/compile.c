/* compile.c - turns parsed conditions into evaluation programs: macros
 * inlined, exceptions added (compile_exception.c), fields resolved to
 * per-event cache slots, operators type-checked, regexes compiled with PCRE2,
 * list literals turned into hash sets, outputs parsed (compile_output.c);
 * then candidate selection is built (select.c). */
#include "compile.h"
#include "correlate.h"
#include "select.h"

#include <errno.h>
#include <stdarg.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deepest nesting of a compiled condition, macros expanded: as deep as one
 * condition may be written (parse.c), so evaluation's recursion is bounded. */
#define MAX_COMPILED_DEPTH 1000

typedef ctr__compile_rule_state rule_state;
typedef ctr__compile_ctx compiler_ctx;

/* ------------------------------------------------------------ diagnostics */

/* Memory ran out: the compile fails with CTR_ENOMEM (told once, as
 * LOAD_ERR_OUT_OF_MEMORY), never as a syntax error. */
void ctr__compile_nomem(compiler_ctx *cx)
{
  if (!cx->nomem_reported)
    ctr__diag_oom(cx->diags, NULL);
  cx->nomem_reported = true;
  cx->r.failed = true;
}

/* The one way compile.c reports: positioned at `off` in `text` (else at the
 * exception or rule being compiled), never truncated. An error fails the
 * current rule. */
void ctr__compile_report(compiler_ctx *cx, int sev, const char *code, const ctr__text *text, size_t off,
                         const char *fmt, ...)
{
  const char *file = NULL;
  unsigned line = 0, col = 0;
  if (text)
    ctr__text_pos(text, off, &file, &line, &col);
  if (!file && cx->r.fallback_pos && cx->r.fallback_pos->src) {
    file = cx->r.fallback_pos->src->name;
    line = cx->r.fallback_pos->line;
    col = cx->r.fallback_pos->col;
  }
  if (!file && cx->r.rule && cx->r.rule->pos.src) {
    file = cx->r.rule->pos.src->name;
    line = cx->r.rule->pos.line;
    col = cx->r.rule->pos.col;
  }
  if (sev == CTR_SEVERITY_ERROR)
    cx->r.failed = true;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (!msg) {
    ctr__compile_nomem(cx);
    return;
  }
  va_start(ap, fmt);
  vsnprintf(msg, (size_t)n + 1, fmt, ap);
  va_end(ap);
  ctr__diag_add(cx->diags, sev, file, line, col, cx->r.rule ? cx->r.rule->name : NULL, code, "%s", msg);
  free(msg);
}

/* An error in what is being compiled: a condition, or an output template. */
#define ERR(cx, off, ...) ctr__compile_report((cx), CTR_SEVERITY_ERROR, (cx)->r.in_output ? "LOAD_ERR_COMPILE_OUTPUT" : "LOAD_ERR_COMPILE_CONDITION", \
                                 (cx)->r.text, (off), __VA_ARGS__)

/* ------------------------------------------------------------ pool helpers */

void *ctr__compile_alloc(compiler_ctx *cx, size_t n)
{
  void *p = ctr__arena_alloc(&cx->rs->pool, n);
  if (!p)
    ctr__compile_nomem(cx);
  else
    memset(p, 0, n);
  return p;
}

char *ctr__compile_strndup(compiler_ctx *cx, const char *s, size_t n)
{
  char *p = ctr__arena_strndup(&cx->rs->pool, s, n);
  if (!p)
    ctr__compile_nomem(cx);
  return p;
}

static char *pstrdup(compiler_ctx *cx, const char *s) { return ctr__compile_strndup(cx, s, strlen(s)); }

/* ------------------------------------------------------------ sets */

static bool strset_build(compiler_ctx *cx, ctr__strset *set, const ctr__str *items, size_t n)
{
  if (!ctr__strset_build(&cx->rs->pool, set, items, n)) {
    ctr__compile_nomem(cx);
    return false;
  }
  return true;
}

/* ------------------------------------------------------------ fields */

static bool parse_u64(const char *s, uint64_t *out)
{
  if (!*s || *s == '-' || *s == '+')
    return false;
  char *end;
  errno = 0;
  unsigned long long v = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? strtoull(s + 2, &end, 16)
                                                                       : strtoull(s, &end, 10);
  if (*end || errno)
    return false;
  *out = v;
  return true;
}

/* Interns (field, arg) as a cache slot of the ruleset; `shown` is the
 * argument as written (a list's name for a list argument, whose arg is its
 * items). */
static int slot_of(compiler_ctx *cx, const ctr__field_def *def, const char *arg, uint64_t argnum, const char *shown)
{
  ctr_ruleset *rs = cx->rs;
  for (size_t i = 0; i < rs->nslots; i++) {
    if (rs->slots[i].def != def)
      continue;
    if ((!arg && !rs->slots[i].arg) || (arg && rs->slots[i].arg && strcmp(arg, rs->slots[i].arg) == 0 &&
                                        strncmp(rs->slots[i].display + strlen(def->name) + 1, shown, strlen(shown)) == 0 &&
                                        rs->slots[i].display[strlen(def->name) + 1 + strlen(shown)] == ']'))
      return (int)i;
  }
  if (rs->nslots == cx->slot_cap) {
    size_t cap = cx->slot_cap ? cx->slot_cap * 2 : 32;
    ctr__slot *v = realloc(rs->slots, cap * sizeof *v);
    if (!v) {
      ctr__compile_nomem(cx);
      return -1;
    }
    rs->slots = v;
    cx->slot_cap = cap;
  }
  ctr__slot *s = &rs->slots[rs->nslots];
  s->def = def;
  s->arg = arg ? pstrdup(cx, arg) : NULL;
  s->argnum = argnum;
  size_t n = strlen(def->name) + (arg ? strlen(shown) + 2 : 0) + 1;
  s->display = ctr__compile_alloc(cx, n);
  if (!s->display || (arg && !s->arg))
    return -1;
  snprintf(s->display, n, arg ? "%s[%s]" : "%s", def->name, arg ? shown : "");
  return (int)rs->nslots++;
}

/* The items of the list a CTR__ARG_LIST_OPTIONAL field names, as
 * ctr__listarg_next reads them, into *out. The parser expands the list as in
 * `in (LIST)`: lists in it, the list_items limit, the list marked used.
 * false after an error (reported). */
static bool list_arg(compiler_ctx *cx, const ctr__fexpr *f, const ctr__field_def *def, ctr__buf *out)
{
  if (!ctr__defs_list(cx->defs, f->arg, strlen(f->arg))) {
    ERR(cx, f->pos, "field '%s' takes the name of a list (e.g. %s[rds_trusted_accounts]), and '%s' is none", def->name,
        def->name, f->arg);
    return false;
  }
  ctr__buf cond = {0};
  if (ctr__buf_printf(&cond, "ct.name in (%s)", f->arg) != CTR_OK) {
    ctr__compile_nomem(cx);
    return false;
  }
  ctr__text t = {.s = cond.data, .len = cond.len};
  ctr__parse_error perr = {0};
  ctr__ast *a = ctr__parse_condition(&t, cx->defs, &perr);
  ctr__buf_free(&cond);
  if (!a) {
    if (perr.nomem)
      ctr__compile_nomem(cx);
    else
      ERR(cx, f->pos, "list '%s': %s", f->arg, perr.msg);
    return false;
  }
  bool ok = ctr__buf_reserve(out, 0) == CTR_OK; /* "" for an empty list */
  for (size_t i = 0; ok && i < a->nrhs; i++) /* list items hold no NUL (C strings) */
    ok = ctr__buf_printf(out, "%zu:", a->rhs[i].len) == CTR_OK && ctr__buf_append(out, a->rhs[i].s, a->rhs[i].len) == CTR_OK;
  ctr__ast_free(a);
  if (!ok) {
    ctr__buf_free(out);
    ctr__compile_nomem(cx);
  }
  return ok;
}

static const char *type_name(ctr__ftype t)
{
  return t == CTR__FT_UINT64 ? "a number" : t == CTR__FT_LIST ? "a list" : "a string";
}

/* Arity and argument types of a transformer (e->args compiled), and the type
 * of its result, as libsinsp checks them when it compiles a filter. */
static bool check_transformer(compiler_ctx *cx, const ctr__fexpr *f, ctr__cexpr *e)
{
  const char *name = ctr__tf_name(f->tf);
  size_t n = e->nargs;
  switch (f->tf) {
  case CTR__TF_LIST:
    e->type = CTR__FT_LIST;
    return true;
  case CTR__TF_TOLOWER:
  case CTR__TF_TOUPPER:
  case CTR__TF_B64:
  case CTR__TF_BASENAME:
  case CTR__TF_LEN: {
    if (n != 1 || f->args[0]->tf == CTR__TF_LIT || f->args[0]->tf == CTR__TF_LIST) {
      ERR(cx, f->pos, "%s() takes one argument: a field or a transformer", name);
      return false;
    }
    ctr__ftype t = e->args[0]->type;
    if (t == CTR__FT_UINT64) {
      ERR(cx, f->pos, "%s() takes a string or a list, not %s", name, type_name(t));
      return false;
    }
    e->type = f->tf == CTR__TF_LEN ? CTR__FT_UINT64 : t;
    return true;
  }
  case CTR__TF_JOIN:
    if (n != 2 || e->args[0]->type == CTR__FT_LIST || e->args[1]->type != CTR__FT_LIST) {
      ERR(cx, f->pos, "join() takes two arguments: a separator (not a list) and a list");
      return false;
    }
    e->type = CTR__FT_STRING;
    return true;
  case CTR__TF_CONCAT:
    for (size_t i = 0; i < n; i++)
      if (e->args[i]->type == CTR__FT_LIST) {
        ERR(cx, f->args[i]->pos, "concat() takes single values, not %s", type_name(e->args[i]->type));
        return false;
      }
    if (n < 2) {
      ERR(cx, f->pos, "concat() takes at least two arguments");
      return false;
    }
    e->type = CTR__FT_STRING;
    return true;
  case CTR__TF_GETOPT:
    if (n != 2 || e->args[0]->type != CTR__FT_LIST || e->args[1]->type == CTR__FT_LIST) {
      ERR(cx, f->pos, "getopt() takes two arguments: a list of command-line arguments and an option string (not a list)");
      return false;
    }
    e->type = CTR__FT_LIST;
    return true;
  default:
    ERR(cx, f->pos, "%s cannot be used here", name);
    return false;
  }
}

/* Resolves a field operand; NULL on error (reported). */
ctr__cexpr *ctr__compile_fexpr(compiler_ctx *cx, const ctr__fexpr *f)
{
  if (f->tf == CTR__TF_VAL) /* on the right-hand side, val(x) is x */
    return ctr__compile_fexpr(cx, f->args[0]);
  ctr__cexpr *e = ctr__compile_alloc(cx, sizeof *e);
  if (!e)
    return NULL;
  e->tf = f->tf;
  if (f->tf == CTR__TF_LIT) {
    e->type = CTR__FT_STRING;
    e->lit = (ctr__str){ctr__compile_strndup(cx, f->lit, f->litlen), f->litlen};
    return e->lit.s ? e : NULL;
  }
  if (f->tf != CTR__TF_NONE) {
    if (f->nargs && !(e->args = ctr__compile_alloc(cx, f->nargs * sizeof *e->args)))
      return NULL;
    e->nargs = f->nargs;
    bool ok = true;
    for (size_t i = 0; i < f->nargs; i++) /* every argument, so that every error is reported */
      ok = (e->args[i] = ctr__compile_fexpr(cx, f->args[i])) != NULL && ok;
    return ok && check_transformer(cx, f, e) ? e : NULL;
  }
  const ctr__field_def *def = ctr__field_lookup(f->field, strlen(f->field));
  if (!def) {
    cx->r.unknown_field = true;
    int sev = cx->r.rule && cx->r.rule->skip_unknown ? CTR_SEVERITY_WARNING : CTR_SEVERITY_ERROR;
    ctr__compile_report(cx, sev, cx->r.in_output ? "LOAD_ERR_COMPILE_OUTPUT" : "LOAD_ERR_COMPILE_CONDITION", cx->r.text, f->pos,
           sev == CTR_SEVERITY_ERROR ? "unknown field '%s'" : "unknown field '%s': rule skipped (skip-if-unknown-filter)",
           f->field);
    return NULL;
  }
  uint64_t argnum = 0;
  if (def->arg == CTR__ARG_NONE && f->arg) {
    ERR(cx, f->pos, "field '%s' takes no argument", def->name);
    return NULL;
  }
  if (def->arg == CTR__ARG_KEY_REQUIRED && (!f->arg || !*f->arg)) {
    ERR(cx, f->pos, "field '%s' requires an argument, e.g. %s[/requestParameters/name]", def->name, def->name);
    return NULL;
  }
  if (def->arg == CTR__ARG_INDEX_OPTIONAL && f->arg && !parse_u64(f->arg, &argnum)) {
    ERR(cx, f->pos, "field '%s' takes a numeric index argument, not '%s'", def->name, f->arg);
    return NULL;
  }
  ctr__buf items = {0};
  if (def->arg == CTR__ARG_LIST_OPTIONAL && f->arg && !list_arg(cx, f, def, &items))
    return NULL;
  int slot = slot_of(cx, def, items.data ? items.data : f->arg, argnum, f->arg);
  ctr__buf_free(&items);
  if (slot < 0)
    return NULL;
  e->tf = CTR__TF_NONE;
  e->slot = (uint32_t)slot;
  e->type = def->type;
  if (def->arg == CTR__ARG_INDEX_OPTIONAL && f->arg && def->type == CTR__FT_LIST)
    e->type = CTR__FT_STRING; /* ec2.imageids[0] is one value */
  return e;
}

/* ------------------------------------------------------------ checks */

static pcre2_code *compile_regex(compiler_ctx *cx, const ctr__lit *lit)
{
  int errcode;
  PCRE2_SIZE erroff;
  /* Falco's regex is a full match: anchored at both ends. */
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)lit->s, lit->len, PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                                 &errcode, &erroff, NULL);
  if (!re) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(errcode, buf, sizeof buf);
    char where[32];
    snprintf(where, sizeof where, "%zu", (size_t)erroff);
    ERR(cx, lit->pos, "invalid regex: %s (at pattern offset %s)", (const char *)buf, where);
    return NULL;
  }
  if (cx->rs->nregexes == cx->regex_cap) {
    size_t cap = cx->regex_cap ? cx->regex_cap * 2 : 8;
    pcre2_code **v = realloc(cx->rs->regexes, cap * sizeof *v);
    if (!v) {
      pcre2_code_free(re);
      ctr__compile_nomem(cx);
      return NULL;
    }
    cx->rs->regexes = v;
    cx->regex_cap = cap;
  }
  cx->rs->regexes[cx->rs->nregexes++] = re;
  return re;
}

/* A regex with no special character but anchors and a leading or trailing
 * ".*", ".+" or ".?" (libsinsp's check_warnings_regex_value). */
static bool regex_is_plain(const char *v, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    if ((i == 0 && v[i] == '^') || (i == len - 1 && v[i] == '$'))
      continue;
    if (((i == 0 && len > 1) || i + 2 == len) && v[i] == '.' && i + 1 < len && ctr__one_of("+*?", v[i + 1])) {
      i++;
      continue;
    }
    if (ctr__one_of(".+*?^$()[]{}|\\", v[i]))
      return false;
  }
  return true;
}

/* Does `t` read as a field, with its argument if any, or as a transformer
 * call? */
static bool names_a_field(const char *t, size_t n)
{
  ctr__lexer lx = {t, n, 0};
  size_t name_len, arg_start, arg_len;
  if (n && ctr__lex_field_len(&lx, &name_len, &arg_start, &arg_len) == n && ctr__field_lookup(t, name_len))
    return true;
  return (ctr__lex_prefix(&lx, "val(") || ctr__lex_transformer(&lx)) && n > lx.i && t[n - 1] == ')';
}

static bool is_space_byte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* libsinsp's compiler warnings on a constant value (LOAD_COMPILE_CONDITION):
 * a regex that simpler operators would do, and a value that names a field or
 * a transformer (a missing val()). */
static void value_warnings(compiler_ctx *cx, ctr__op op, const ctr__lit *v)
{
  if (op == CTR__OP_REGEX && regex_is_plain(v->s, v->len))
    ctr__compile_report(cx, CTR_SEVERITY_WARNING, "LOAD_COMPILE_CONDITION", cx->r.text, v->pos,
           "regex check with '%s' may be optimized with simpler operators such as '=', 'contains', 'startswith', "
           "'endswith'", v->s);
  /* libsinsp looks the value up with its blanks removed. */
  const char *t = v->s;
  char *copy = NULL;
  size_t n = v->len;
  for (size_t i = 0; i < v->len && !copy; i++)
    if (is_space_byte(v->s[i])) {
      if (!(copy = malloc(v->len + 1))) {
        ctr__compile_nomem(cx);
        return;
      }
      n = 0;
      for (size_t k = 0; k < v->len; k++)
        if (!is_space_byte(v->s[k]))
          copy[n++] = v->s[k];
      t = copy;
    }
  bool named = names_a_field(t, n);
  free(copy);
  if (named)
    ctr__compile_report(cx, CTR_SEVERITY_WARNING, "LOAD_COMPILE_CONDITION", cx->r.text, v->pos,
           "'%s' may be a valid field%s misused as a const string value (write val(...) to compare with a field)",
           v->s, strchr(v->s, '(') ? " transformer" : "");
}

/* Falco's filter_warning_resolver: a ka.* or jevt.* field compared for
 * equality with "<NA>" (what an absent field renders as) is a warning, once
 * per rule. */
static void warn_na_check(compiler_ctx *cx, const ctr__ast *a)
{
  const char *f = a->lhs->tf == CTR__TF_NONE ? a->lhs->field : "";
  bool unsafe_field = strncmp(f, "ka.", 3) == 0 || strncmp(f, "jevt.", 5) == 0;
  bool equality = a->op == CTR__OP_EQ || a->op == CTR__OP_NE || a->op == CTR__OP_IN || a->op == CTR__OP_INTERSECTS ||
                  a->op == CTR__OP_PMATCH;
  if (cx->r.na_warned || !unsafe_field || !equality)
    return;
  for (size_t i = 0; i < a->nrhs; i++)
    if (a->rhs[i].len == 4 && memcmp(a->rhs[i].s, "<NA>", 4) == 0) {
      ctr__compile_report(cx, CTR_SEVERITY_WARNING, "LOAD_UNSAFE_NA_CHECK", cx->r.text, a->rhs[i].pos,
             "comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of the rule "
             "condition; to check whether a field exists, use the 'exists' operator");
      cx->r.na_warned = true;
      return;
    }
}

/* The literals of a check on a number, read as numbers (n->rhs_u64, or
 * n->rhs_u64s for a list); returns them as decimal text, NULL on an error
 * (reported). */
static const ctr__str *numeric_literals(compiler_ctx *cx, const ctr__ast *a, ctr__cnode *n)
{
  ctr__str *dec = ctr__compile_alloc(cx, (a->nrhs ? a->nrhs : 1) * sizeof *dec);
  if (!dec || (a->rhs_is_list && a->nrhs && !(n->rhs_u64s = ctr__compile_alloc(cx, a->nrhs * sizeof *n->rhs_u64s))))
    return NULL;
  for (size_t i = 0; i < a->nrhs; i++) {
    uint64_t *v = a->rhs_is_list ? &n->rhs_u64s[i] : &n->rhs_u64;
    if (!parse_u64(a->rhs[i].s, v)) {
      ERR(cx, a->rhs[i].pos, "'%s' is not an unsigned integer, as this numeric field requires", a->rhs[i].s);
      return NULL;
    }
    char buf[24];
    int len = snprintf(buf, sizeof buf, "%llu", (unsigned long long)*v);
    if (!(dec[i].s = ctr__compile_strndup(cx, buf, (size_t)len)))
      return NULL;
    dec[i].len = (size_t)len;
  }
  return dec;
}

static ctr__cnode *compile_check(compiler_ctx *cx, const ctr__ast *a)
{
  if (a->op == CTR__OP_BCONTAINS || a->op == CTR__OP_BSTARTSWITH) {
    ERR(cx, a->op_pos, "operator '%s' works only on binary fields, and no CloudTrail field is binary (use contains / startswith)",
        ctr__op_name(a->op));
    return NULL;
  }
  ctr__cnode *n = ctr__compile_alloc(cx, sizeof *n);
  if (!n)
    return NULL;
  n->kind = CTR__N_CHECK;
  n->op = a->op;
  n->mod = a->mod;
  if (!(n->lhs = ctr__compile_fexpr(cx, a->lhs)))
    return NULL;
  ctr__ftype t = n->lhs->type;
  if (t == CTR__FT_UINT64 && !(ctr__op_traits(a->op) & CTR__OPT_ON_NUMBER)) {
    ERR(cx, a->op_pos, "operator '%s' cannot be used on a numeric field", ctr__op_name(a->op));
    return NULL;
  }
  if (a->op == CTR__OP_EXISTS)
    return n;
  if (a->rhs_field) {
    /* A field or transformer on the right: its value(s) are compared. With
     * in / intersects / pmatch they are the list (one value: a list of one). */
    if (!(n->rhs_expr = ctr__compile_fexpr(cx, a->rhs_field)))
      return NULL;
    ctr__ftype r = n->rhs_expr->type;
    if ((r == CTR__FT_UINT64) != (t == CTR__FT_UINT64)) {
      ERR(cx, a->rhs_field->pos, "cannot compare values of different types (%s and %s)", type_name(t), type_name(r));
      return NULL;
    }
    return n;
  }
  /* Literals. */
  ctr__str *vals = ctr__compile_alloc(cx, (a->nrhs ? a->nrhs : 1) * sizeof *vals);
  if (!vals)
    return NULL;
  for (size_t i = 0; i < a->nrhs; i++) {
    vals[i].s = ctr__compile_strndup(cx, a->rhs[i].s, a->rhs[i].len);
    vals[i].len = a->rhs[i].len;
    if (!vals[i].s)
      return NULL;
    value_warnings(cx, a->op, &a->rhs[i]);
  }
  warn_na_check(cx, a);
  if (a->rhs_is_list) {
    n->rhs_list = vals;
    n->nrhs = a->nrhs;
  } else {
    n->rhs = vals[0];
  }
  /* in / intersects look values up in a set of text; a number's is its
   * decimal form, whatever form the literal was written in (0x800, 02048). */
  const ctr__str *set_vals = vals;
  if (t == CTR__FT_UINT64 && !(set_vals = numeric_literals(cx, a, n)))
    return NULL;
  if ((a->op == CTR__OP_IN || a->op == CTR__OP_INTERSECTS) && !strset_build(cx, &n->set, set_vals, a->nrhs))
    return NULL;
  if (a->op == CTR__OP_REGEX && a->mod) {
    /* With a modifier, every pattern counts: one compiled regex each. */
    if (a->nrhs && !(n->res = ctr__compile_alloc(cx, a->nrhs * sizeof *n->res)))
      return NULL;
    for (size_t i = 0; i < a->nrhs; i++)
      if (!(n->res[i] = compile_regex(cx, &a->rhs[i])))
        return NULL;
  } else if (a->op == CTR__OP_REGEX && !(n->re = compile_regex(cx, &a->rhs[0]))) {
    return NULL;
  }
  if (a->op == CTR__OP_PMATCH) {
    /* A pattern with a wildcard makes the check PMATCH_GLOB: its own op
     * tells the prefilter it has no literal prefix. */
    for (size_t i = 0; i < n->nrhs; i++)
      if (ctr__pmatch_pattern(&n->rhs_list[i]))
        n->op = CTR__OP_PMATCH_GLOB;
  }
  return n;
}

/* ------------------------------------------------------------ conditions */


static ctr__cnode *compile_macro_ref(compiler_ctx *cx, const ctr__ast *a)
{
  ctr__macro_def *m = ctr__defs_macro(cx->defs, a->name, strlen(a->name));
  if (!m) {
    if (ctr__defs_list(cx->defs, a->name, strlen(a->name)))
      ERR(cx, a->pos, "'%s' is a list, not a macro: use it inside parentheses, e.g. ct.name in (%s)", a->name, a->name);
    else
      ERR(cx, a->pos, "undefined macro '%s'", a->name);
    return NULL;
  }
  size_t i = (size_t)(m - cx->defs->macros);
  m->used = true;
  if (cx->macro_bad[i]) { /* its own error was reported already */
    cx->r.failed = true;
    return NULL;
  }
  if (cx->macro_active[i]) {
    ERR(cx, a->pos, "macro '%s' references itself (macro loop)", a->name);
    return NULL;
  }
  if (cx->r.macro_depth >= cx->defs->limits[CTR_LIMIT_MACRO_DEPTH]) {
    if (!cx->r.limit_reported) {
      ERR(cx, a->pos, "macro expansion deeper than %llu levels (limit %s)",
          (unsigned long long)cx->defs->limits[CTR_LIMIT_MACRO_DEPTH], ctr_limit_name(CTR_LIMIT_MACRO_DEPTH));
      cx->r.limit_reported = true;
    }
    cx->r.failed = true;
    return NULL;
  }
  cx->macro_active[i] = true;
  cx->r.expanded = true;
  cx->r.macro_depth++;
  const ctr__text *saved = cx->r.text;
  cx->r.text = &m->cond;
  ctr__cnode *n = ctr__compile_ast(cx, cx->macro_ast[i]);
  cx->r.text = saved;
  cx->r.macro_depth--;
  cx->macro_active[i] = false;
  return n;
}

static ctr__cnode *compile_ast_node(compiler_ctx *cx, const ctr__ast *a);

/* Tells which bound of ctr__compile_ast() was passed, naming what applies: the
 * rule's condition or one of its exceptions (their nodes count together),
 * and whether macros took part. */
static void report_size_limit(compiler_ctx *cx, const ctr__ast *a, bool too_many)
{
  const char *macros = cx->r.expanded ? " once macros are expanded" : "";
  unsigned long long nodes = (unsigned long long)cx->defs->limits[CTR_LIMIT_CONDITION_NODES];
  if (too_many && cx->r.exc_name)
    ERR(cx, a->pos, "exception '%s': the condition and its exceptions have more than %llu nodes%s (limit %s)",
        cx->r.exc_name, nodes, macros, ctr_limit_name(CTR_LIMIT_CONDITION_NODES));
  else if (too_many)
    ERR(cx, a->pos, "condition has more than %llu nodes%s (limit %s)", nodes,
        cx->r.expanded ? " once its macros are expanded" : "", ctr_limit_name(CTR_LIMIT_CONDITION_NODES));
  else if (cx->r.exc_name)
    ERR(cx, a->pos, "exception '%s' is nested deeper than %u levels%s", cx->r.exc_name, (unsigned)MAX_COMPILED_DEPTH, macros);
  else
    ERR(cx, a->pos, "condition is nested deeper than %u levels%s", (unsigned)MAX_COMPILED_DEPTH,
        cx->r.expanded ? " once its macros are expanded" : "");
}

/* Every node of a rule's condition and exceptions, macros expanded, passes
 * here: the size and depth bounds keep hostile macros from exhausting time
 * or the stack (compiling and evaluating recurse once per level). */
ctr__cnode *ctr__compile_ast(compiler_ctx *cx, const ctr__ast *a)
{
  bool too_many = ++cx->r.nodes > cx->defs->limits[CTR_LIMIT_CONDITION_NODES];
  if (too_many || cx->r.nest >= MAX_COMPILED_DEPTH) {
    if (!cx->r.limit_reported)
      report_size_limit(cx, a, too_many);
    cx->r.limit_reported = true;
    cx->r.failed = true;
    return NULL;
  }
  cx->r.nest++;
  ctr__cnode *n = compile_ast_node(cx, a);
  cx->r.nest--;
  return n;
}

static ctr__cnode *compile_ast_node(compiler_ctx *cx, const ctr__ast *a)
{
  switch (a->kind) {
  case CTR__N_CHECK:
    return compile_check(cx, a);
  case CTR__N_MACRO:
    return compile_macro_ref(cx, a);
  case CTR__N_NOT: {
    ctr__cnode *kid = ctr__compile_ast(cx, a->kid);
    if (!kid)
      return NULL;
    ctr__cnode *n = ctr__compile_alloc(cx, sizeof *n);
    if (!n)
      return NULL;
    n->kind = CTR__N_NOT;
    n->kids = ctr__compile_alloc(cx, sizeof *n->kids);
    if (!n->kids)
      return NULL;
    n->kids[0] = kid;
    n->nkids = 1;
    return n;
  }
  case CTR__N_AND:
  case CTR__N_OR: {
    ctr__cnode *n = ctr__compile_alloc(cx, sizeof *n);
    if (!n || !(n->kids = ctr__compile_alloc(cx, a->nkids * sizeof *n->kids)))
      return NULL;
    n->kind = a->kind;
    bool ok = true;
    for (size_t i = 0; i < a->nkids; i++) {
      /* Keep going after an error so that every error is reported. */
      n->kids[i] = ctr__compile_ast(cx, a->kids[i]);
      ok = ok && n->kids[i];
    }
    n->nkids = a->nkids;
    return ok ? n : NULL;
  }
  }
  return NULL;
}

ctr__cnode *ctr__compile_node(compiler_ctx *cx, ctr__nkind kind, size_t nkids)
{
  ctr__cnode *n = ctr__compile_alloc(cx, sizeof *n);
  if (!n || !(n->kids = ctr__compile_alloc(cx, (nkids ? nkids : 1) * sizeof *n->kids)))
    return NULL;
  n->kind = kind;
  n->nkids = nkids;
  return n;
}

/* ------------------------------------------------------------ driver */

bool ctr__rule_selected(const ctr__rule_def *r, const ctr__selection *sel, size_t nsel, int min_priority)
{
  bool on = r->enabled;
  for (size_t s = 0; s < nsel; s++) {
    bool hit = false;
    if (sel[s].by_tag) {
      for (size_t t = 0; t < r->ntags; t++)
        if (strcmp(r->tags[t], sel[s].pattern) == 0)
          hit = true;
    } else {
      hit = fnmatch(sel[s].pattern, r->name, 0) == 0;
    }
    if (hit)
      on = sel[s].enable;
  }
  return on && r->priority <= min_priority;
}

void ctr__ruleset_free(ctr_ruleset *rs)
{
  if (!rs)
    return;
  for (size_t i = 0; i < rs->nregexes; i++)
    pcre2_code_free(rs->regexes[i]);
  free(rs->regexes);
  free(rs->slots);
  free(rs->rules);
  ctr__arena_free(&rs->pool);
  free(rs);
}

static bool is_macro_or_list(const ctr__defs *defs, const char *name)
{
  return ctr__defs_macro(defs, name, strlen(name)) || ctr__defs_list(defs, name, strlen(name));
}

/* Reports the macro references of `a` (in macro m's body) that name no
 * macro. Recursion is bounded by the parser's nesting limit. */
static void check_macro_refs(compiler_ctx *cx, const ctr__macro_def *m, const ctr__ast *a)
{
  if (a->kind == CTR__N_MACRO && !is_macro_or_list(cx->defs, a->name)) {
    const char *file;
    unsigned line, col;
    ctr__text_pos(&m->cond, a->pos, &file, &line, &col);
    ctr__diag_add(cx->diags, CTR_SEVERITY_ERROR, file, line, col, m->name, "LOAD_ERR_VALIDATE",
                  "Undefined macro '%s' used in filter.", a->name);
    cx->r.failed = true;
  }
  for (size_t i = 0; i < a->nkids; i++)
    check_macro_refs(cx, m, a->kids[i]);
  if (a->kid)
    check_macro_refs(cx, m, a->kid);
}

/* CTR_LIMIT_CONDITION_BYTES, checked before parsing: the error points at the
 * condition's first byte. */
static bool condition_too_long(const ctr__text *cond, uint64_t max, ctr__parse_error *err)
{
  if (cond->len <= max)
    return false;
  err->pos = 0;
  snprintf(err->msg, sizeof err->msg, "condition is %zu bytes long, more than %llu (limit %s)", cond->len,
           (unsigned long long)max, ctr_limit_name(CTR_LIMIT_CONDITION_BYTES));
  return true;
}

/* Parses every macro body once (cx->macro_ast), each error reported at the
 * macro. */
static void parse_macros(compiler_ctx *cx)
{
  const ctr__defs *defs = cx->defs;
  for (size_t i = 0; i < defs->nmacros; i++) {
    ctr__parse_error perr = {0};
    if (!condition_too_long(&defs->macros[i].cond, defs->limits[CTR_LIMIT_CONDITION_BYTES], &perr))
      cx->macro_ast[i] = ctr__parse_condition(&defs->macros[i].cond, cx->defs, &perr);
    if (cx->macro_ast[i])
      continue;
    cx->macro_bad[i] = true;
    if (perr.nomem) {
      ctr__compile_nomem(cx);
      continue;
    }
    const char *file;
    unsigned line, col;
    ctr__text_pos(&defs->macros[i].cond, perr.pos, &file, &line, &col);
    ctr__diag_add(cx->diags, CTR_SEVERITY_ERROR, file, line, col, defs->macros[i].name, "LOAD_ERR_COMPILE_CONDITION",
                  "%s", perr.msg);
    cx->r.failed = true;
  }
}

/* A rule's condition with its exceptions: (cond) and not (exc1) and ...;
 * NULL after an error (reported). */
static ctr__cnode *compile_condition(compiler_ctx *cx, const ctr__rule_def *rd)
{
  ctr__parse_error perr = {0};
  ctr__ast *ast = condition_too_long(&rd->cond, cx->defs->limits[CTR_LIMIT_CONDITION_BYTES], &perr)
                    ? NULL
                    : ctr__parse_condition(&rd->cond, cx->defs, &perr);
  ctr__cnode *cond = NULL;
  if (!ast) {
    if (perr.nomem)
      ctr__compile_nomem(cx);
    else
      ERR(cx, perr.pos, "%s", perr.msg);
  } else {
    cond = ctr__compile_ast(cx, ast);
    ctr__ast_free(ast);
  }
  ctr__cnode *all = rd->nexc ? ctr__compile_node(cx, CTR__N_AND, rd->nexc + 1) : NULL;
  if (all) {
    all->kids[0] = cond;
    all->nkids = 1;
    for (size_t e = 0; e < rd->nexc; e++) { /* every exception, so that every error is reported */
      ctr__cnode *x = ctr__compile_exception(cx, &rd->exc[e]);
      if (x)
        all->kids[all->nkids++] = x;
    }
    if (cond && all->nkids > 1)
      cond = all;
  }
  cx->r.fallback_pos = NULL;
  return cond;
}

/* Compiles rule rd into the next slot of rs->rules, with a rule_state of its
 * own. false when it failed (its errors reported); a rule dropped by
 * skip-if-unknown-filter is no failure (its warning was given). */
static bool compile_rule(compiler_ctx *cx, const ctr__rule_def *rd, const ctr__selection *sel, size_t nsel,
                         int min_priority)
{
  ctr_ruleset *rs = cx->rs;
  cx->r = (rule_state){.rule = rd, .text = &rd->cond};
  ctr__cnode *cond = compile_condition(cx, rd);
  ctr__crule *cr = &rs->rules[rs->nrules];
  memset(cr, 0, sizeof *cr);
  bool out_ok = ctr__compile_output(cx, rd, cr);
  if (cx->r.unknown_field && rd->skip_unknown)
    return true;
  if (!cond || !out_ok || cx->r.failed)
    return false;
  cr->name = pstrdup(cx, rd->name);
  cr->desc = pstrdup(cx, rd->desc);
  cr->cond_text = ctr__compile_strndup(cx, rd->cond.s, rd->cond.len);
  cr->output_text = ctr__compile_strndup(cx, rd->output.s, rd->output.len);
  cr->priority = rd->priority;
  cr->cond = cond;
  cr->tags = ctr__compile_alloc(cx, (rd->ntags ? rd->ntags : 1) * sizeof *cr->tags);
  for (size_t t = 0; cr->tags && t < rd->ntags; t++)
    cr->tags[t] = pstrdup(cx, rd->tags[t]);
  cr->ntags = rd->ntags;
  cr->enabled = ctr__rule_selected(rd, sel, nsel, min_priority);
  if (cr->enabled)
    rs->nenabled++;
  rs->nrules++;
  return !cx->r.failed; /* out of memory copying it */
}

/* After the rules, as Falco does: an undefined macro named in an unused macro
 * is an error too (used ones were checked as compiled), and definitions
 * nothing uses are warned about. */
static void check_unused(compiler_ctx *cx)
{
  const ctr__defs *defs = cx->defs;
  for (size_t i = 0; i < defs->nmacros; i++)
    if (!defs->macros[i].used && cx->macro_ast[i])
      check_macro_refs(cx, &defs->macros[i], cx->macro_ast[i]);
  for (size_t i = 0; i < defs->nmacros; i++)
    if (!defs->macros[i].used)
      ctr__diag_add(cx->diags, CTR_SEVERITY_WARNING, defs->macros[i].pos.src->name, defs->macros[i].pos.line,
                    defs->macros[i].pos.col, defs->macros[i].name, "LOAD_UNUSED_MACRO", "macro not referred to by any other rule/macro");
  for (size_t i = 0; i < defs->nlists; i++)
    if (!defs->lists[i].used)
      ctr__diag_add(cx->diags, CTR_SEVERITY_WARNING, defs->lists[i].pos.src->name, defs->lists[i].pos.line,
                    defs->lists[i].pos.col, defs->lists[i].name, "LOAD_UNUSED_LIST", "list not referred to by any other rule/macro/list");
}

int ctr__compile_rules(ctr__defs *defs, ctr__diags *diags, const ctr__selection *sel, size_t nsel,
                       int min_priority, ctr_ruleset **out)
{
  ctr_ruleset *rs = calloc(1, sizeof *rs);
  if (!rs)
    return CTR_ENOMEM;
  atomic_init(&rs->refs, 1);
  rs->regex_match_limit = defs->limits[CTR_LIMIT_REGEX_MATCH];
  rs->regex_depth_limit = defs->limits[CTR_LIMIT_REGEX_DEPTH];
  compiler_ctx cx = {.rs = rs, .defs = defs, .diags = diags};
  size_t nm = defs->nmacros ? defs->nmacros : 1;
  cx.macro_ast = calloc(nm, sizeof *cx.macro_ast);
  cx.macro_bad = calloc(nm, sizeof *cx.macro_bad);
  cx.macro_active = calloc(nm, sizeof *cx.macro_active);
  rs->rules = calloc(defs->nrules ? defs->nrules : 1, sizeof *rs->rules);
  bool failed = !cx.macro_ast || !cx.macro_bad || !cx.macro_active || !rs->rules;
  if (failed) {
    ctr__compile_nomem(&cx);
  } else {
    parse_macros(&cx);
    failed = cx.r.failed;
    for (size_t r = 0; r < defs->nrules; r++)
      failed = !compile_rule(&cx, &defs->rules[r], sel, nsel, min_priority) || failed;
    cx.r = (rule_state){0};
    check_unused(&cx);
    failed = failed || cx.r.failed;
    if (!failed && ctr__select_build(rs) != CTR_OK) {
      ctr__compile_nomem(&cx);
      failed = true;
    }
    /* After the selection is built: a correlation is no record's candidate. */
    int crc = failed ? CTR_OK : ctr__correlate_compile(defs, diags, sel, nsel, min_priority, rs);
    if (crc == CTR_ENOMEM)
      ctr__compile_nomem(&cx);
    failed = failed || crc != CTR_OK;
  }
  for (size_t i = 0; cx.macro_ast && i < defs->nmacros; i++)
    ctr__ast_free(cx.macro_ast[i]);
  free(cx.macro_ast);
  free(cx.macro_bad);
  free(cx.macro_active);
  if (failed || diags->errors) {
    ctr__ruleset_free(rs);
    return diags->errors ? CTR_ESYNTAX : CTR_ENOMEM;
  }
  *out = rs;
  return CTR_OK;
}
