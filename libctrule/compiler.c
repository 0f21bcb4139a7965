/* compiler.c - the public compiler and ruleset objects: loading files,
 * strings and built-ins in order, selection, and the ruleset accessors. */
#include "compile.h"
#include "sigma.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A rules file as added: its text and its YAML node tree, which definitions
 * and diagnostics point into until the compiler is freed. */
typedef struct loaded_file {
  ctr__srcfile src;
  void *pool;
} loaded_file;

struct ctr_compiler {
  ctr__diags diags;
  ctr__defs defs;
  loaded_file **files; /* each allocated on its own: node trees and diagnostics point at them */
  size_t nfiles;
  ctr__selection *sel;
  size_t nsel;
  int min_priority;
};

int ctr_compiler_new(ctr_compiler **out)
{
  if (!out)
    return CTR_EINVAL;
  ctr_compiler *c = calloc(1, sizeof *c);
  if (!c)
    return CTR_ENOMEM;
  c->min_priority = CTR_PRIORITY_DEBUG;
  for (int i = 0; i < CTR_LIMIT__COUNT; i++)
    c->defs.limits[i] = ctr_limit_default(i);
  *out = c;
  return CTR_OK;
}

void ctr_compiler_free(ctr_compiler *c)
{
  if (!c)
    return;
  ctr__defs_free(&c->defs);
  for (size_t i = 0; i < c->nfiles; i++) {
    free(c->files[i]->src.name);
    free(c->files[i]->src.text);
    ctr__yaml_pool_free(c->files[i]->pool);
    free(c->files[i]);
  }
  free(c->files);
  for (size_t i = 0; i < c->nsel; i++)
    free(c->sel[i].pattern);
  free(c->sel);
  ctr__diags_free(&c->diags);
  free(c);
}

void ctr_compiler_set_diag_callback(ctr_compiler *c, ctr_diag_fn fn, void *user_data)
{
  if (!c)
    return;
  c->diags.fn = fn;
  c->diags.ud = user_data;
}

/* Passes an add call's status through; running out of memory is recorded
 * (failure is sticky: the compiler then refuses to compile) because part of
 * a file may have been loaded. Every other failure already left an error
 * diagnostic, or (CTR_EINVAL, CTR_ENOENT) loaded nothing. */
static int sticky(ctr_compiler *c, const char *name, int rc)
{
  if (rc == CTR_ENOMEM)
    ctr__diag_oom(&c->diags, name);
  return rc;
}

/* Takes ownership of text, on failure too. The file stays loaded, at an
 * address that never moves, until the compiler is freed: definitions, node
 * trees and diagnostics point at its source for positions. */
static int add_source(ctr_compiler *c, const char *name, char *text, size_t len)
{
  loaded_file **v = realloc(c->files, (c->nfiles + 1) * sizeof *v);
  if (!v) {
    free(text);
    return CTR_ENOMEM;
  }
  c->files = v;
  loaded_file *f = calloc(1, sizeof *f);
  char *fname = ctr__strdup(name);
  if (!f || !fname) {
    free(f);
    free(fname);
    free(text);
    return CTR_ENOMEM;
  }
  f->src.name = fname;
  f->src.text = text;
  f->src.len = len;
  c->files[c->nfiles++] = f;
  if (memchr(text, '\0', len)) {
    /* libyaml would stop at the NUL: say so rather than load half a file. */
    size_t at = (size_t)((char *)memchr(text, '\0', len) - text);
    unsigned line = 1, col = 1;
    for (size_t i = 0; i < at; i++) {
      if (text[i] == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    ctr__diag_add(&c->diags, CTR_SEVERITY_ERROR, name, line, col, NULL, "LOAD_ERR_YAML_PARSE",
                  "rules file contains a NUL byte");
    return CTR_ESYNTAX;
  }
  /* Load the tree, then merge its documents: load.c knows nothing of rules. */
  int rc = ctr__load_yaml(c->defs.limits[CTR_LIMIT_YAML_ALIASES], c->defs.limits[CTR_LIMIT_YAML_NODES], &c->diags,
                          &f->src, &f->pool);
  if (rc != CTR_OK)
    return rc;
  size_t ndocs;
  ctr__ynode *const *docs = ctr__yaml_docs(f->pool, &ndocs);
  for (size_t d = 0; d < ndocs && rc == CTR_OK; d++) /* Falco stops a file at its first error */
    rc = ctr__sigma_is_doc(docs[d]) ? ctr__sigma_merge(&c->defs, &c->diags, docs[d])
                                     : ctr__merge_doc(&c->defs, &c->diags, &f->src, docs[d]);
  return rc;
}

int ctr_compiler_add_string(ctr_compiler *c, const char *yaml, size_t len, const char *name)
{
  if (!c || (!yaml && len))
    return CTR_EINVAL;
  name = name ? name : "<string>";
  char *text = ctr__strndup(yaml ? yaml : "", len);
  if (!text)
    return sticky(c, name, CTR_ENOMEM);
  return sticky(c, name, add_source(c, name, text, len));
}

int ctr_compiler_add_file(ctr_compiler *c, const char *path)
{
  if (!c || !path)
    return CTR_EINVAL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    ctr__diag_add(&c->diags, CTR_SEVERITY_ERROR, path, 0, 0, NULL, "LOAD_ERR_FILE_READ",
                  "cannot open rules file: %s", strerror(errno));
    return CTR_EIO;
  }
  ctr__buf b = {0};
  char chunk[65536];
  size_t n;
  int rc = CTR_OK;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (b.len + n > CTR__RULES_FILE_MAX_BYTES) {
      ctr__diag_add(&c->diags, CTR_SEVERITY_ERROR, path, 0, 0, NULL, "LOAD_ERR_FILE_READ",
                    "rules file is larger than %u MiB", (unsigned)(CTR__RULES_FILE_MAX_BYTES >> 20));
      rc = CTR_ELIMIT;
      break;
    }
    if (ctr__buf_append(&b, chunk, n) != CTR_OK) {
      rc = CTR_ENOMEM;
      break;
    }
  }
  if (rc == CTR_OK && ferror(f)) {
    ctr__diag_add(&c->diags, CTR_SEVERITY_ERROR, path, 0, 0, NULL, "LOAD_ERR_FILE_READ",
                  "cannot read rules file: %s", strerror(errno));
    rc = CTR_EIO;
  }
  fclose(f);
  if (rc != CTR_OK) {
    ctr__buf_free(&b);
    return sticky(c, path, rc);
  }
  if (!b.data && ctr__buf_reserve(&b, 0) != CTR_OK)
    return sticky(c, path, CTR_ENOMEM);
  return sticky(c, path, add_source(c, path, b.data, b.len));
}

int ctr_compiler_add_builtin(ctr_compiler *c, const char *name)
{
  if (!c || !name)
    return CTR_EINVAL;
  size_t len;
  const char *yaml = ctr_builtin_yaml(name, &len);
  if (!yaml)
    return CTR_ENOENT;
  char label[128];
  snprintf(label, sizeof label, "<builtin:%s>", name);
  return ctr_compiler_add_string(c, yaml, len, label);
}

static int add_selection(ctr_compiler *c, const char *pattern, bool by_tag, int enable)
{
  if (!c || !pattern)
    return CTR_EINVAL;
  /* A selection lost would compile other rules than asked: sticky too. */
  ctr__selection *v = realloc(c->sel, (c->nsel + 1) * sizeof *v);
  if (!v)
    return sticky(c, NULL, CTR_ENOMEM);
  c->sel = v;
  char *p = ctr__strdup(pattern);
  if (!p)
    return sticky(c, NULL, CTR_ENOMEM);
  c->sel[c->nsel++] = (ctr__selection){p, by_tag, enable != 0};
  return CTR_OK;
}

int ctr_compiler_select_name(ctr_compiler *c, const char *glob, int enable) { return add_selection(c, glob, false, enable); }

int ctr_compiler_select_tag(ctr_compiler *c, const char *tag, int enable) { return add_selection(c, tag, true, enable); }

int ctr_compiler_set_min_priority(ctr_compiler *c, int priority)
{
  if (!c || priority < CTR_PRIORITY_EMERGENCY || priority > CTR_PRIORITY_DEBUG)
    return CTR_EINVAL;
  c->min_priority = priority;
  return CTR_OK;
}

int ctr_compiler_set_limit(ctr_compiler *c, int limit, uint64_t value)
{
  if (!c)
    return CTR_EINVAL;
  switch (limit) {
  case CTR_LIMIT_YAML_ALIASES:
  case CTR_LIMIT_YAML_NODES:
  case CTR_LIMIT_CONDITION_BYTES:
  case CTR_LIMIT_MACRO_DEPTH:
  case CTR_LIMIT_CONDITION_NODES:
  case CTR_LIMIT_RULES:
  case CTR_LIMIT_LIST_ITEMS:
    c->defs.limits[limit] = value ? value : ctr_limit_default(limit);
    return CTR_OK;
  case CTR_LIMIT_REGEX_MATCH:
  case CTR_LIMIT_REGEX_DEPTH:
    if (value > UINT32_MAX) /* PCRE2 takes 32 bits */
      return CTR_EINVAL;
    c->defs.limits[limit] = value ? value : ctr_limit_default(limit);
    return CTR_OK;
  default:
    return CTR_EINVAL;
  }
}

int ctr_compiler_compile(ctr_compiler *c, ctr_ruleset **out)
{
  if (!c || !out)
    return CTR_EINVAL;
  if (c->diags.errors)
    return c->diags.enomem ? CTR_ENOMEM : CTR_ESYNTAX;
  int rc = ctr__compile_rules(&c->defs, &c->diags, c->sel, c->nsel, c->min_priority, out);
  if (rc == CTR_ENOMEM && !c->diags.enomem)
    ctr__diag_oom(&c->diags, NULL);
  return c->diags.enomem ? CTR_ENOMEM : rc;
}

size_t ctr_compiler_diag_count(const ctr_compiler *c) { return c ? c->diags.n : 0; }

const ctr_diag *ctr_compiler_diag(const ctr_compiler *c, size_t i) { return c && i < c->diags.n ? c->diags.v[i] : NULL; }

size_t ctr_compiler_error_count(const ctr_compiler *c) { return c ? c->diags.errors : 0; }

/* ------------------------------------------------------------ ruleset */

ctr_ruleset *ctr_ruleset_ref(ctr_ruleset *rs)
{
  if (rs)
    atomic_fetch_add_explicit(&rs->refs, 1, memory_order_relaxed);
  return rs;
}

void ctr_ruleset_unref(ctr_ruleset *rs)
{
  if (rs && atomic_fetch_sub_explicit(&rs->refs, 1, memory_order_acq_rel) == 1)
    ctr__ruleset_free(rs);
}

static const ctr__crule *rule_at(const ctr_ruleset *rs, size_t i) { return rs && i < rs->nrules ? &rs->rules[i] : NULL; }

size_t ctr_ruleset_rule_count(const ctr_ruleset *rs) { return rs ? rs->nrules : 0; }
size_t ctr_ruleset_enabled_count(const ctr_ruleset *rs) { return rs ? rs->nenabled : 0; }

const char *ctr_ruleset_rule_name(const ctr_ruleset *rs, size_t i) { return rule_at(rs, i) ? rs->rules[i].name : NULL; }
const char *ctr_ruleset_rule_desc(const ctr_ruleset *rs, size_t i) { return rule_at(rs, i) ? rs->rules[i].desc : NULL; }
const char *ctr_ruleset_rule_condition(const ctr_ruleset *rs, size_t i) { return rule_at(rs, i) ? rs->rules[i].cond_text : NULL; }
const char *ctr_ruleset_rule_output(const ctr_ruleset *rs, size_t i) { return rule_at(rs, i) ? rs->rules[i].output_text : NULL; }
int ctr_ruleset_rule_priority(const ctr_ruleset *rs, size_t i) { return rule_at(rs, i) ? rs->rules[i].priority : CTR_EINVAL; }
int ctr_ruleset_rule_enabled(const ctr_ruleset *rs, size_t i) { return rule_at(rs, i) ? rs->rules[i].enabled : 0; }
size_t ctr_ruleset_rule_tag_count(const ctr_ruleset *rs, size_t i) { return rule_at(rs, i) ? rs->rules[i].ntags : 0; }

const char *ctr_ruleset_rule_tag(const ctr_ruleset *rs, size_t i, size_t t)
{
  return rule_at(rs, i) && t < rs->rules[i].ntags ? rs->rules[i].tags[t] : NULL;
}
