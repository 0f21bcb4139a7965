/* merge.c - Falco's rule collector: turns each top-level item of a rules file
 * into list, macro and rule definitions, cumulative across files, applying
 * `append` and `override` exactly as Falco does. A rule's exceptions are read
 * in merge_exception.c, version requirements in merge_version.c, and the text
 * spans conditions are assembled from live in merge_text.c. */
#include "parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* ------------------------------------------------------------ helpers */

/* The one way the collector reports (merge.h): at `at` (NULL: the item), in
 * the current item, never truncated. */
int ctr__merge_err(ctr__mitem *x, const ctr__ynode *at, const char *code, const char *fmt, ...)
{
  if (!at)
    at = x->item;
  va_list ap;
  va_start(ap, fmt);
  ctr__diag_vadd(x->diags, CTR_SEVERITY_ERROR, at->src->name, at->line, at->col, x->name, code, fmt, ap);
  va_end(ap);
  return CTR_ESYNTAX;
}

void ctr__merge_warn(ctr__mitem *x, const ctr__ynode *at, const char *code, const char *fmt, ...)
{
  if (!at)
    at = x->item;
  va_list ap;
  va_start(ap, fmt);
  ctr__diag_vadd(x->diags, CTR_SEVERITY_WARNING, at->src->name, at->line, at->col, x->name, code, fmt, ap);
  va_end(ap);
}

static const ctr__ynode *get(ctr__mitem *x, const char *key) { return ctr__ymap_get(x->item, key); }

static int want_scalar(ctr__mitem *x, const char *key, const ctr__ynode **out)
{
  const ctr__ynode *n = get(x, key);
  *out = n;
  if (n && !ctr__is_scalar(n))
    return ctr__merge_err(x, n, "LOAD_ERR_YAML_VALIDATE", "value of '%s' must be a scalar", key);
  return CTR_OK;
}

static int parse_bool(ctr__mitem *x, const ctr__ynode *n, const char *key, bool *out)
{
  static const char *const yes[] = {"true", "yes", "on", "y"};
  static const char *const no[] = {"false", "no", "off", "n"};
  if (!ctr__is_scalar(n))
    return ctr__merge_err(x, n, "LOAD_ERR_YAML_VALIDATE", "value of '%s' must be a boolean", key);
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(n->value, yes[i]) == 0) {
      *out = true;
      return CTR_OK;
    }
    if (strcasecmp(n->value, no[i]) == 0) {
      *out = false;
      return CTR_OK;
    }
  }
  return ctr__merge_err(x, n, "LOAD_ERR_YAML_VALIDATE", "value of '%s' must be a boolean, not '%s'", key, n->value);
}

void ctr__merge_pos(const ctr__ynode *n, ctr__pos *p)
{
  p->src = n->src;
  p->line = n->line;
  p->col = n->col;
}

static void free_strv(char **v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

/* Scalars of a sequence as a string vector. */
static int scalar_seq(ctr__mitem *x, const ctr__ynode *seq, const char *key, char ***out, bool **quoted,
                      size_t *n)
{
  *out = NULL;
  *n = 0;
  if (quoted)
    *quoted = NULL;
  if (!seq || seq->kind != CTR__Y_SEQ)
    return ctr__merge_err(x, seq, "LOAD_ERR_YAML_VALIDATE", "value of '%s' must be a sequence", key);
  char **v = calloc(seq->n ? seq->n : 1, sizeof *v);
  bool *q = quoted ? calloc(seq->n ? seq->n : 1, sizeof *q) : NULL;
  if (!v || (quoted && !q)) {
    free(v);
    free(q);
    return CTR_ENOMEM;
  }
  for (size_t i = 0; i < seq->n; i++) {
    const ctr__ynode *it = seq->items[i];
    if (!ctr__is_scalar(it)) {
      free_strv(v, i);
      free(q);
      return ctr__merge_err(x, it, "LOAD_ERR_YAML_VALIDATE", "items of '%s' must be scalars", key);
    }
    if (!(v[i] = ctr__strndup(it->value, it->len))) {
      free_strv(v, i);
      free(q);
      return CTR_ENOMEM;
    }
    if (q)
      q[i] = it->style == YAML_SINGLE_QUOTED_SCALAR_STYLE || it->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
  }
  *out = v;
  *n = seq->n;
  if (quoted)
    *quoted = q;
  return CTR_OK;
}

/* Warns about keys the item kind does not know (Falco: LOAD_UNKNOWN_KEY). */
static void check_keys(ctr__mitem *x, const char *const *known)
{
  for (size_t i = 0; i + 1 < x->item->n; i += 2) {
    const ctr__ynode *k = x->item->items[i];
    if (!ctr__is_scalar(k))
      continue;
    bool ok = false;
    for (size_t j = 0; known[j]; j++)
      if (strcmp(k->value, known[j]) == 0)
        ok = true;
    if (!ok)
      ctr__merge_warn(x, k, "LOAD_UNKNOWN_KEY", "unknown key '%s' (ignored)", k->value);
  }
}

/* ------------------------------------------------------------ override */

typedef enum { OV_NONE = 0, OV_APPEND, OV_REPLACE } ovmode;

typedef struct override_spec {
  const char *key;
  ovmode mode;
} override_spec;

static ovmode mode_of(const override_spec *specs, size_t n, const char *key)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(specs[i].key, key) == 0)
      return specs[i].mode;
  return OV_NONE;
}

/* Reads `override:` into modes for the given keys. Every named key must be
 * present in the item, every overridable key present must be named, and each
 * key may only take the modes allowed for it. */
static int read_override(ctr__mitem *x, const char *const *appendable, const char *const *replaceable,
                         override_spec *specs, size_t *nspecs, bool *has_override)
{
  const ctr__ynode *ov = get(x, "override");
  *nspecs = 0;
  *has_override = ov != NULL;
  if (!ov)
    return CTR_OK;
  if (ov->kind != CTR__Y_MAP)
    return ctr__merge_err(x, ov, "LOAD_ERR_YAML_VALIDATE", "'override' must be a mapping of key: append|replace");
  for (size_t i = 0; i + 1 < ov->n; i += 2) {
    const ctr__ynode *k = ov->items[i], *v = ov->items[i + 1];
    if (!ctr__is_scalar(k) || !ctr__is_scalar(v))
      return ctr__merge_err(x, k, "LOAD_ERR_YAML_VALIDATE", "'override' must be a mapping of key: append|replace");
    ovmode m;
    if (strcmp(v->value, "append") == 0)
      m = OV_APPEND;
    else if (strcmp(v->value, "replace") == 0)
      m = OV_REPLACE;
    else
      return ctr__merge_err(x, v, "LOAD_ERR_YAML_VALIDATE", "invalid override mode '%s' for key '%s' (use append or replace)", v->value, k->value);
    const char *const *allowed = m == OV_APPEND ? appendable : replaceable;
    bool ok = false;
    for (size_t j = 0; allowed[j]; j++)
      if (strcmp(allowed[j], k->value) == 0)
        ok = true;
    if (!ok)
      return ctr__merge_err(x, k, "LOAD_ERR_YAML_VALIDATE", "key '%s' cannot be overridden with '%s'", k->value, v->value);
    if (!get(x, k->value))
      return ctr__merge_err(x, k, "LOAD_ERR_YAML_VALIDATE", "key '%s' is named in 'override' but is not defined in the item", k->value);
    if (mode_of(specs, *nspecs, k->value) != OV_NONE)
      return ctr__merge_err(x, k, "LOAD_ERR_YAML_VALIDATE", "key '%s' is named twice in 'override'", k->value);
    /* Each key at most once, and only overridable keys (11 at most): specs[16] holds them. */
    specs[(*nspecs)++] = (override_spec){k->value, m};
  }
  /* Every overridable key present must be named in override. */
  for (size_t j = 0; replaceable[j]; j++) {
    if (!get(x, replaceable[j]))
      continue;
    bool named = false;
    for (size_t s = 0; s < *nspecs; s++)
      if (strcmp(specs[s].key, replaceable[j]) == 0)
        named = true;
    if (!named)
      return ctr__merge_err(x, get(x, replaceable[j]), "LOAD_ERR_YAML_VALIDATE",
                    "key '%s' must be named in 'override' (append or replace) when overriding", replaceable[j]);
  }
  return CTR_OK;
}


/* ------------------------------------------------------------ lists */

/* ------------------------------------------------------------ names */

static const char *list_name(const ctr__defs *d, size_t i) { return d->lists[i].name; }
static const char *macro_name(const ctr__defs *d, size_t i) { return d->macros[i].name; }
static const char *rule_name(const ctr__defs *d, size_t i) { return d->rules[i].name; }
static const char *other_name(const ctr__defs *d, size_t i) { return d->other_rules[i]; }

/* The slot of s[0..len) in ix: its entry, or the empty slot where it goes. */
static uint32_t *names_slot(const ctr__names *ix, const ctr__defs *d, const char *(*name_at)(const ctr__defs *, size_t),
                            const char *s, size_t len)
{
  size_t mask = ix->cap - 1;
  for (size_t i = ctr__hash(s, len) & mask;; i = (i + 1) & mask) {
    uint32_t e = ix->slots[i];
    if (!e)
      return &ix->slots[i];
    const char *name = name_at(d, e - 1);
    if (strncmp(name, s, len) == 0 && name[len] == '\0')
      return &ix->slots[i];
  }
}

/* Index of the definition named s[0..len), or SIZE_MAX. */
static size_t names_find(const ctr__names *ix, const ctr__defs *d, const char *(*name_at)(const ctr__defs *, size_t),
                         const char *s, size_t len)
{
  if (!ix->cap)
    return SIZE_MAX;
  uint32_t e = *names_slot(ix, d, name_at, s, len);
  return e ? e - 1 : SIZE_MAX;
}

/* Adds definition `i` (its name new to ix); `n` definitions exist with it.
 * The table stays under half full. */
static int names_add(ctr__names *ix, const ctr__defs *d, const char *(*name_at)(const ctr__defs *, size_t), size_t i,
                     size_t n)
{
  if (n >= UINT32_MAX)
    return CTR_ENOMEM;
  if (n * 2 > ix->cap) {
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    while (n * 2 > cap)
      cap *= 2;
    uint32_t *v = calloc(cap, sizeof *v);
    if (!v)
      return CTR_ENOMEM;
    free(ix->slots);
    *ix = (ctr__names){v, cap};
    for (size_t k = 0; k < n; k++)
      if (k != i) {
        const char *name = name_at(d, k);
        *names_slot(ix, d, name_at, name, strlen(name)) = (uint32_t)k + 1;
      }
  }
  const char *name = name_at(d, i);
  *names_slot(ix, d, name_at, name, strlen(name)) = (uint32_t)i + 1;
  return CTR_OK;
}

ctr__list_def *ctr__defs_list(const ctr__defs *d, const char *s, size_t len)
{
  size_t i = names_find(&d->list_names, d, list_name, s, len);
  return i == SIZE_MAX ? NULL : &d->lists[i];
}

ctr__macro_def *ctr__defs_macro(const ctr__defs *d, const char *s, size_t len)
{
  size_t i = names_find(&d->macro_names, d, macro_name, s, len);
  return i == SIZE_MAX ? NULL : &d->macros[i];
}

static ctr__list_def *find_list(ctr__defs *d, const char *name) { return ctr__defs_list(d, name, strlen(name)); }
static ctr__macro_def *find_macro(ctr__defs *d, const char *name) { return ctr__defs_macro(d, name, strlen(name)); }

static ctr__rule_def *find_rule(ctr__defs *d, const char *name)
{
  size_t i = names_find(&d->rule_names, d, rule_name, name, strlen(name));
  return i == SIZE_MAX ? NULL : &d->rules[i];
}

/* Room for one more element in an array of `size`-byte elements holding n
 * of *cap: the array (moved, perhaps), or NULL with it untouched. A
 * function, not a macro that returns, so each caller frees what it holds
 * before it reports CTR_ENOMEM. */
static void *grow(void *arr, size_t n, size_t *cap, size_t size)
{
  if (n < *cap)
    return arr;
  size_t c = *cap ? *cap * 2 : 16;
  void *p = realloc(arr, c * size);
  if (p)
    *cap = c;
  return p;
}

static bool valid_list_name(const char *s)
{
  if (!*s)
    return false;
  for (; *s; s++)
    if (ctr__one_of("()\"'=, \t\r\n", *s))
      return false;
  return true;
}

static bool valid_macro_name(const char *s)
{
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
      return false;
  return true;
}

/* Reads `append` and `override` in Falco's order: a deprecated `append:
 * true` is warned about first, then `override` is read, then both together
 * are refused. */
static int read_append_override(ctr__mitem *x, const char *const *appendable, const char *const *replaceable,
                                const char *use, bool *append, override_spec *specs, size_t *nspecs, bool *has_ov)
{
  int rc;
  *append = false;
  if (get(x, "append") && (rc = parse_bool(x, get(x, "append"), "append", append)) != CTR_OK)
    return rc;
  if (*append)
    ctr__merge_warn(x, get(x, "append"), "LOAD_DEPRECATED_ITEM", "'append: true' is deprecated; use %s", use);
  if ((rc = read_override(x, appendable, replaceable, specs, nspecs, has_ov)) != CTR_OK)
    return rc;
  if (*append && *has_ov)
    return ctr__merge_err(x, get(x, "append"), "LOAD_ERR_YAML_VALIDATE", "'append' and 'override' cannot be used together");
  return CTR_OK;
}

static int merge_list(ctr__mitem *x, const ctr__ynode *name)
{
  static const char *const known[] = {"list", "items", "append", "override", NULL};
  static const char *const app[] = {"items", NULL};
  check_keys(x, known);
  if (!valid_list_name(name->value))
    ctr__merge_warn(x, name, "LOAD_INVALID_LIST_NAME", "list name '%s' contains characters that cannot be used in a condition", name->value);
  const ctr__ynode *items = get(x, "items");
  if (!items)
    return ctr__merge_err(x, NULL, "LOAD_ERR_YAML_VALIDATE", "item has no mapping for key 'items'");
  override_spec specs[16];
  size_t nspecs;
  bool has_ov, append;
  int rc = read_append_override(x, app, app, "'override: {items: append}'", &append, specs, &nspecs, &has_ov);
  if (rc != CTR_OK)
    return rc;
  char **v;
  bool *q;
  size_t n;
  if ((rc = scalar_seq(x, items, "items", &v, &q, &n)) != CTR_OK)
    return rc;
  ovmode m = append ? OV_APPEND : mode_of(specs, nspecs, "items");
  ctr__list_def *l = find_list(x->defs, name->value);
  /* Falco: appending needs the list; `items: replace` on a list not yet
   * defined defines it. */
  if (m == OV_APPEND && !l) {
    free_strv(v, n);
    free(q);
    return ctr__merge_err(x, name, "LOAD_ERR_VALIDATE", "list '%s' to append to does not exist", name->value);
  }
  if (m == OV_APPEND) {
    char **nv = realloc(l->items, (l->n + n + 1) * sizeof *nv);
    bool *nq = nv ? realloc(l->quoted, (l->n + n + 1) * sizeof *nq) : NULL;
    if (nv)
      l->items = nv;
    if (!nv || !nq) {
      free_strv(v, n);
      free(q);
      return CTR_ENOMEM;
    }
    l->quoted = nq;
    memcpy(l->items + l->n, v, n * sizeof *v);
    memcpy(l->quoted + l->n, q, n * sizeof *q);
    l->n += n;
    free(v);
    free(q);
    return CTR_OK;
  }
  if (l) { /* redefinition (or replace): new items, original position */
    free_strv(l->items, l->n);
    free(l->quoted);
    l->items = v;
    l->quoted = q;
    l->n = n;
    return CTR_OK;
  }
  ctr__list_def *ls = grow(x->defs->lists, x->defs->nlists, &x->defs->caplists, sizeof *ls);
  if (!ls) {
    free_strv(v, n);
    free(q);
    return CTR_ENOMEM;
  }
  x->defs->lists = ls;
  l = &ls[x->defs->nlists];
  memset(l, 0, sizeof *l);
  if (!(l->name = ctr__strdup(name->value))) {
    free_strv(v, n);
    free(q);
    return CTR_ENOMEM;
  }
  l->items = v;
  l->quoted = q;
  l->n = n;
  ctr__merge_pos(name, &l->pos);
  x->defs->nlists++;
  return names_add(&x->defs->list_names, x->defs, list_name, x->defs->nlists - 1, x->defs->nlists);
}

/* ------------------------------------------------------------ macros */

static int merge_macro(ctr__mitem *x, const ctr__ynode *name)
{
  static const char *const known[] = {"macro", "condition", "append", "override", NULL};
  static const char *const app[] = {"condition", NULL};
  check_keys(x, known);
  if (!valid_macro_name(name->value))
    ctr__merge_warn(x, name, "LOAD_INVALID_MACRO_NAME", "macro name '%s' is not an identifier ([a-zA-Z][a-zA-Z0-9_]*): conditions cannot reference it", name->value);
  const ctr__ynode *cond;
  int rc = want_scalar(x, "condition", &cond);
  if (rc != CTR_OK)
    return rc;
  if (!cond)
    return ctr__merge_err(x, NULL, "LOAD_ERR_YAML_VALIDATE", "item has no mapping for key 'condition'");
  override_spec specs[16];
  size_t nspecs;
  bool has_ov, append;
  if ((rc = read_append_override(x, app, app, "'override: {condition: append}'", &append, specs, &nspecs, &has_ov)) != CTR_OK)
    return rc;
  ovmode m = append ? OV_APPEND : mode_of(specs, nspecs, "condition");
  ctr__macro_def *mc = find_macro(x->defs, name->value);
  /* Falco: appending needs the macro; `condition: replace` on a macro not
   * yet defined defines it. */
  if (m == OV_APPEND && !mc)
    return ctr__merge_err(x, name, "LOAD_ERR_VALIDATE", "macro '%s' to append to does not exist", name->value);
  ctr__text t = {0};
  if ((rc = ctr__text_set(&t, cond)) != CTR_OK) {
    ctr__text_free(&t);
    return rc;
  }
  if (m == OV_APPEND) {
    rc = ctr__text_append(&mc->cond, " ", &t);
    ctr__text_free(&t);
    return rc;
  }
  if (mc) {
    ctr__text_free(&mc->cond);
    mc->cond = t;
    return CTR_OK;
  }
  ctr__macro_def *ms = grow(x->defs->macros, x->defs->nmacros, &x->defs->capmacros, sizeof *ms);
  if (!ms) {
    ctr__text_free(&t);
    return CTR_ENOMEM;
  }
  x->defs->macros = ms;
  mc = &ms[x->defs->nmacros];
  memset(mc, 0, sizeof *mc);
  if (!(mc->name = ctr__strdup(name->value))) {
    ctr__text_free(&t);
    return CTR_ENOMEM;
  }
  mc->cond = t;
  ctr__merge_pos(name, &mc->pos);
  x->defs->nmacros++;
  return names_add(&x->defs->macro_names, x->defs, macro_name, x->defs->nmacros - 1, x->defs->nmacros);
}

/* ------------------------------------------------------------ rules */

static void free_rule(ctr__rule_def *r)
{
  free(r->name);
  ctr__text_free(&r->cond);
  ctr__text_free(&r->output);
  free(r->desc);
  free_strv(r->tags, r->ntags);
  for (size_t i = 0; i < r->nexc; i++)
    ctr__exception_def_free(&r->exc[i]);
  free(r->exc);
  memset(r, 0, sizeof *r);
}

static int read_tags(ctr__mitem *x, char ***tags, size_t *n)
{
  return scalar_seq(x, get(x, "tags"), "tags", tags, NULL, n);
}

/* A scalar Falco decodes as uint32_t: decimal digits, at most 4294967295. */
static bool unsigned32(const ctr__ynode *n)
{
  if (!ctr__is_scalar(n) || n->len == 0 || n->len > 10)
    return false;
  for (size_t i = 0; i < n->len; i++)
    if (n->value[i] < '0' || n->value[i] > '9')
      return false;
  return strtoull(n->value, NULL, 10) <= UINT32_MAX;
}

/* Remembers the name of a rule of another source. */
static int add_other_rule(ctr__defs *d, const char *name)
{
  char **v = grow(d->other_rules, d->nother, &d->capother, sizeof *v);
  if (!v)
    return CTR_ENOMEM;
  d->other_rules = v;
  if (!(d->other_rules[d->nother] = ctr__strdup(name)))
    return CTR_ENOMEM;
  d->nother++;
  return names_add(&d->other_names, d, other_name, d->nother - 1, d->nother);
}

/* A rule item as read: its scalars (NULL when absent) and what they say. */
typedef struct rule_item {
  const ctr__ynode *name, *cond, *output, *desc, *prio, *source;
  override_spec specs[16]; /* read_override: each overridable key at most once */
  size_t nspecs;
  bool append, has_ov;
  int priority; /* -1: none given */
  bool enabled, has_enabled, skip_unknown;
} rule_item;

static const char *const k_rule_appendable[] = {"condition", "output", "desc", "tags", "exceptions", NULL};
static const char *const k_rule_replaceable[] = {"condition", "output", "desc", "tags", "exceptions", "priority",
                                                 "capture", "capture_duration", "enabled", "warn_evttypes",
                                                 "skip-if-unknown-filter", NULL};

/* The item's keys and scalars, checked before anything else is read. */
static int read_rule_scalars(ctr__mitem *x, const ctr__ynode *name, rule_item *it)
{
  static const char *const known[] = {"rule", "condition", "output", "desc", "priority", "source",
                                      "enabled", "tags", "exceptions", "warn_evttypes",
                                      "skip-if-unknown-filter", "capture", "capture_duration",
                                      "append", "override", NULL};
  check_keys(x, known);
  *it = (rule_item){.name = name, .priority = -1, .enabled = true};
  int rc;
  if ((rc = want_scalar(x, "condition", &it->cond)) || (rc = want_scalar(x, "output", &it->output)) ||
      (rc = want_scalar(x, "desc", &it->desc)) || (rc = want_scalar(x, "priority", &it->prio)) ||
      (rc = want_scalar(x, "source", &it->source)))
    return rc;
  return CTR_OK;
}

/* Only aws_cloudtrail rules are ours; a rule without `source` is taken as
 * aws_cloudtrail too (Falco would default to syscall, which we do not run).
 * A rule of another source is collected by name only, as Falco collects a
 * rule of an unknown source: appends and overrides to it are accepted and
 * go nowhere; redefining it with another source is an error. *done: the
 * item is dealt with (rc says how). */
static int merge_other_source(ctr__mitem *x, const rule_item *it, const ctr__rule_def *ours, bool *done)
{
  const ctr__ynode *name = it->name, *source = it->source;
  bool other = names_find(&x->defs->other_names, x->defs, other_name, name->value, name->len) != SIZE_MAX;
  *done = true;
  if (source && strcmp(source->value, "aws_cloudtrail") != 0) {
    if (ours)
      return ctr__merge_err(x, source, "LOAD_ERR_VALIDATE", "rule '%s' has been re-defined with a different source ('%s')", name->value, source->value);
    ctr__merge_warn(x, source, "LOAD_UNKNOWN_SOURCE", "unknown source '%s': rule skipped (only aws_cloudtrail is evaluated)", source->value);
    return other ? CTR_OK : add_other_rule(x->defs, name->value);
  }
  if (other) {
    if (source || (it->cond && it->output && it->desc && it->prio && !get(x, "append") && !get(x, "override")))
      return ctr__merge_err(x, source ? source : name, "LOAD_ERR_VALIDATE", "rule '%s' has been re-defined with a different source", name->value);
    return CTR_OK; /* an append, override or enable of a rule of another source: nothing of ours */
  }
  *done = false;
  return CTR_OK;
}

/* append/override, priority, the booleans, and the capture keys (Falco's
 * syscall business, still checked as Falco decodes them). */
static int read_rule_values(ctr__mitem *x, rule_item *it)
{
  int rc;
  if ((rc = read_append_override(x, k_rule_appendable, k_rule_replaceable, "'override'", &it->append, it->specs,
                                 &it->nspecs, &it->has_ov)) != CTR_OK)
    return rc;
  if (it->prio && (it->priority = ctr_priority_parse(it->prio->value)) < 0)
    return ctr__merge_err(x, it->prio, "LOAD_ERR_VALIDATE", "invalid priority '%s' (expected emergency, alert, critical, error, warning, notice, informational/info or debug)", it->prio->value);
  it->has_enabled = get(x, "enabled") != NULL;
  if (it->has_enabled && (rc = parse_bool(x, get(x, "enabled"), "enabled", &it->enabled)) != CTR_OK)
    return rc;
  if (get(x, "skip-if-unknown-filter") &&
      (rc = parse_bool(x, get(x, "skip-if-unknown-filter"), "skip-if-unknown-filter", &it->skip_unknown)) != CTR_OK)
    return rc;
  static const char *const ignored_bools[] = {"warn_evttypes", "capture"};
  for (size_t i = 0; i < 2; i++) {
    bool ignored;
    if (get(x, ignored_bools[i]) && (rc = parse_bool(x, get(x, ignored_bools[i]), ignored_bools[i], &ignored)) != CTR_OK)
      return rc;
  }
  const ctr__ynode *cd = get(x, "capture_duration");
  if (cd && !unsigned32(cd))
    return ctr__merge_err(x, cd, "LOAD_ERR_YAML_VALIDATE", "value of 'capture_duration' must be a number of milliseconds (0 to 4294967295)");
  return CTR_OK;
}

/* The item's tags appended to r's (each once) or replacing them. */
static int merge_rule_tags(ctr__mitem *x, ctr__rule_def *r, bool append)
{
  char **tv;
  size_t nt;
  int rc = read_tags(x, &tv, &nt);
  if (rc != CTR_OK)
    return rc;
  if (!append) {
    free_strv(r->tags, r->ntags);
    r->tags = tv;
    r->ntags = nt;
    return CTR_OK;
  }
  char **m = realloc(r->tags, (r->ntags + nt + 1) * sizeof *m);
  if (!m) {
    free_strv(tv, nt);
    return CTR_ENOMEM;
  }
  r->tags = m;
  for (size_t i = 0; i < nt; i++) {
    bool dup = false;
    for (size_t j = 0; j < r->ntags; j++)
      if (strcmp(r->tags[j], tv[i]) == 0)
        dup = true;
    if (dup)
      free(tv[i]);
    else
      r->tags[r->ntags++] = tv[i];
  }
  free(tv);
  return CTR_OK;
}

/* Text `from` appended to *dst after a space, or replacing it. */
static int merge_text(ctr__text *dst, const ctr__ynode *from, bool append)
{
  ctr__text t = {0};
  int rc = ctr__text_set(&t, from);
  if (rc == CTR_OK)
    rc = append ? ctr__text_append(dst, " ", &t) : ctr__text_copy(dst, &t);
  ctr__text_free(&t);
  return rc;
}

/* Legacy `append: true`: the condition appended, exceptions merged. */
static int append_rule(ctr__mitem *x, const rule_item *it, ctr__rule_def *r)
{
  if (!it->cond && !get(x, "exceptions"))
    return ctr__merge_err(x, it->name, "LOAD_ERR_VALIDATE", "appended rule '%s' must have exceptions or condition property", it->name->value);
  int rc;
  if (it->cond && (rc = merge_text(&r->cond, it->cond, true)) != CTR_OK)
    return rc;
  return get(x, "exceptions") ? ctr__merge_rule_exceptions(x, r, true) : CTR_OK;
}

/* `override:`: each key named appended or replaced, in the order named. */
static int override_rule(ctr__mitem *x, const rule_item *it, ctr__rule_def *r)
{
  for (size_t s = 0; s < it->nspecs; s++) {
    const char *key = it->specs[s].key;
    bool app = it->specs[s].mode == OV_APPEND;
    int rc = CTR_OK;
    if (strcmp(key, "condition") == 0) {
      rc = merge_text(&r->cond, it->cond, app);
    } else if (strcmp(key, "output") == 0) {
      rc = merge_text(&r->output, it->output, app);
    } else if (strcmp(key, "desc") == 0) {
      char *d = app ? malloc(strlen(r->desc) + it->desc->len + 2) : ctr__strdup(it->desc->value);
      if (!d)
        return CTR_ENOMEM;
      if (app)
        sprintf(d, "%s %s", r->desc, it->desc->value);
      free(r->desc);
      r->desc = d;
    } else if (strcmp(key, "tags") == 0) {
      rc = merge_rule_tags(x, r, app);
    } else if (strcmp(key, "exceptions") == 0) {
      rc = ctr__merge_rule_exceptions(x, r, app);
    } else if (strcmp(key, "priority") == 0) {
      r->priority = it->priority;
    } else if (strcmp(key, "enabled") == 0) {
      r->enabled = it->enabled;
    } else if (strcmp(key, "skip-if-unknown-filter") == 0) {
      r->skip_unknown = it->skip_unknown;
    }
    if (rc != CTR_OK)
      return rc;
  }
  return CTR_OK;
}

/* The rule the item defines, built whole in *nr (freed on failure). */
static int build_rule(ctr__mitem *x, const rule_item *it, ctr__rule_def *nr)
{
  *nr = (ctr__rule_def){.priority = it->priority, .enabled = it->enabled, .skip_unknown = it->skip_unknown};
  ctr__merge_pos(it->name, &nr->pos);
  /* Falco trims the output. */
  ctr__ynode trimmed_output = *it->output;
  while (trimmed_output.len && ctr__one_of(" \t\r\n", trimmed_output.value[trimmed_output.len - 1]))
    trimmed_output.len--;
  if (!(nr->name = ctr__strdup(it->name->value)) || !(nr->desc = ctr__strdup(it->desc->value)) ||
      ctr__text_set(&nr->cond, it->cond) || ctr__text_set(&nr->output, &trimmed_output)) {
    free_rule(nr);
    return CTR_ENOMEM;
  }
  nr->output.spans[0].scalar = it->output; /* positions come from the real node */
  /* Leading blanks of the output are trimmed too, keeping spans exact. */
  size_t lead = 0;
  while (lead < nr->output.len && ctr__one_of(" \t\r\n", nr->output.s[lead]))
    lead++;
  if (lead) {
    memmove(nr->output.s, nr->output.s + lead, nr->output.len - lead + 1);
    nr->output.len -= lead;
    nr->output.spans[0].len -= lead;
    nr->output.spans[0].scalar_off += lead;
  }
  int rc;
  if ((get(x, "tags") && (rc = read_tags(x, &nr->tags, &nr->ntags)) != CTR_OK) ||
      (get(x, "exceptions") && (rc = ctr__merge_rule_exceptions(x, nr, false)) != CTR_OK)) {
    free_rule(nr);
    return rc;
  }
  return CTR_OK;
}

/* A full definition: a new rule, or a redefinition replacing the whole of
 * r (its position in the rules kept). */
static int define_rule(ctr__mitem *x, const rule_item *it, ctr__rule_def *r)
{
  static const char *const required[] = {"condition", "output", "desc", "priority"};
  const ctr__ynode *have[] = {it->cond, it->output, it->desc, it->prio};
  for (size_t i = 0; i < 4; i++)
    if (!have[i])
      return ctr__merge_err(x, NULL, "LOAD_ERR_YAML_VALIDATE", "item has no mapping for key '%s'", required[i]);
  ctr__rule_def nr;
  int rc = build_rule(x, it, &nr);
  if (rc != CTR_OK)
    return rc;
  if (r) {
    free_rule(r);
    *r = nr;
    return CTR_OK;
  }
  ctr__defs *d = x->defs;
  if (d->nrules >= d->limits[CTR_LIMIT_RULES]) {
    free_rule(&nr);
    return ctr__merge_err(x, it->name, "LOAD_ERR_VALIDATE", "more than %llu rules (limit %s)",
                  (unsigned long long)d->limits[CTR_LIMIT_RULES], ctr_limit_name(CTR_LIMIT_RULES));
  }
  ctr__rule_def *rs = grow(d->rules, d->nrules, &d->caprules, sizeof *rs);
  if (!rs) {
    free_rule(&nr);
    return CTR_ENOMEM;
  }
  d->rules = rs;
  d->rules[d->nrules++] = nr;
  return names_add(&d->rule_names, d, rule_name, d->nrules - 1, d->nrules);
}

/* A rule item: read, then an append, an override, an enable-only item, or a
 * definition. */
static int merge_rule(ctr__mitem *x, const ctr__ynode *name)
{
  rule_item it;
  bool done;
  int rc = read_rule_scalars(x, name, &it);
  if (rc != CTR_OK)
    return rc;
  ctr__rule_def *r = find_rule(x->defs, name->value);
  if ((rc = merge_other_source(x, &it, r, &done)) != CTR_OK || done)
    return rc;
  if ((rc = read_rule_values(x, &it)) != CTR_OK)
    return rc;
  if (it.append || it.has_ov) {
    if (!r)
      return ctr__merge_err(x, name, "LOAD_ERR_VALIDATE", "rule '%s' to %s does not exist", name->value,
                    it.append ? "append to" : "override");
    return it.append ? append_rule(x, &it, r) : override_rule(x, &it, r);
  }
  /* Legacy enable-only item: flips an existing rule. */
  if (!it.cond && !it.output && !it.desc && !it.prio && it.has_enabled) {
    if (!r)
      return ctr__merge_err(x, name, "LOAD_ERR_VALIDATE", "rule '%s' to enable or disable does not exist", name->value);
    ctr__merge_warn(x, get(x, "enabled"), "LOAD_DEPRECATED_ITEM", "changing 'enabled' without 'override' is deprecated; use 'override: {enabled: replace}'");
    r->enabled = it.enabled;
    return CTR_OK;
  }
  return define_rule(x, &it, r);
}

/* ------------------------------------------------------------ dispatch */

int ctr__merge_item(ctr__defs *defs, ctr__diags *diags, const ctr__ynode *item)
{
  ctr__mitem x = {.defs = defs, .diags = diags, .item = item};
  /* Falco dispatches on the first of these keys found, in this order. */
  static const char *const kinds[] = {"required_engine_version", "required_plugin_versions", "list",
                                      "macro", "rule"};
  for (size_t k = 0; k < CTR__COUNTOF(kinds); k++) {
    const ctr__ynode *v = ctr__ymap_get(item, kinds[k]);
    if (!v)
      continue;
    if (k == 0)
      return ctr__merge_engine_version(&x, v);
    if (k == 1)
      return ctr__merge_plugin_versions(&x, v);
    if (!ctr__is_scalar(v) || v->len == 0)
      return ctr__merge_err(&x, v, "LOAD_ERR_YAML_VALIDATE", "the name of a %s must be a non-empty string", kinds[k]);
    x.name = v->value;
    if (k == 2)
      return merge_list(&x, v);
    if (k == 3)
      return merge_macro(&x, v);
    return merge_rule(&x, v);
  }
  ctr__merge_warn(&x, item, "LOAD_UNKNOWN_ITEM", "unknown top-level item (expected rule, macro, list, required_engine_version or required_plugin_versions): ignored");
  return CTR_OK;
}

int ctr__merge_doc(ctr__defs *defs, ctr__diags *diags, const ctr__srcfile *src, const ctr__ynode *doc)
{
  if (doc->kind == CTR__Y_SCALAR && (doc->len == 0 || strcmp(doc->value, "null") == 0 || strcmp(doc->value, "~") == 0))
    return CTR_OK; /* an empty document */
  if (doc->kind != CTR__Y_SEQ) {
    ctr__diag_add(diags, CTR_SEVERITY_ERROR, src->name, doc->line, doc->col, NULL, "LOAD_ERR_YAML_VALIDATE",
                  "rules content is not a YAML sequence (list) of items");
    return CTR_ESYNTAX;
  }
  for (size_t i = 0; i < doc->n; i++) {
    const ctr__ynode *item = doc->items[i];
    if (item->kind != CTR__Y_MAP) {
      ctr__diag_add(diags, CTR_SEVERITY_ERROR, src->name, item->line, item->col, NULL, "LOAD_ERR_YAML_VALIDATE",
                    "item is not a YAML mapping");
      return CTR_ESYNTAX;
    }
    int rc = ctr__merge_item(defs, diags, item);
    if (rc != CTR_OK)
      return rc;
  }
  return CTR_OK;
}

void ctr__defs_free(ctr__defs *d)
{
  for (size_t i = 0; i < d->nlists; i++) {
    free(d->lists[i].name);
    free_strv(d->lists[i].items, d->lists[i].n);
    free(d->lists[i].quoted);
  }
  free(d->lists);
  for (size_t i = 0; i < d->nmacros; i++) {
    free(d->macros[i].name);
    ctr__text_free(&d->macros[i].cond);
  }
  free(d->macros);
  for (size_t i = 0; i < d->nrules; i++)
    free_rule(&d->rules[i]);
  free(d->rules);
  free(d->list_names.slots);
  free(d->macro_names.slots);
  free(d->rule_names.slots);
  free_strv(d->other_rules, d->nother);
  free(d->other_names.slots);
  ctr__corrdefs_free(d->corr);
  memset(d, 0, sizeof *d);
}
