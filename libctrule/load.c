/* load.c - reads a rules file with libyaml into a node tree that keeps every
 * node's source position, then hands each top-level item to merge.c.
 *
 * The tree is built from libyaml's event stream (not its document API) so
 * that aliases share nodes instead of being copied: a "billion laughs"
 * document costs no memory, and a cap on aliases (CTR_LIMIT_YAML_ALIASES)
 * bounds the work. */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_YAML_DEPTH 64

typedef struct node_pool {
  ctr__ynode **nodes;
  size_t n, cap;
} node_pool;

static ctr__ynode *pool_new(node_pool *p)
{
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 256;
    ctr__ynode **v = realloc(p->nodes, cap * sizeof *v);
    if (!v)
      return NULL;
    p->nodes = v;
    p->cap = cap;
  }
  ctr__ynode *nd = calloc(1, sizeof *nd);
  if (nd)
    p->nodes[p->n++] = nd;
  return nd;
}

void ctr__yaml_pool_free(void *pool)
{
  node_pool *p = pool;
  if (!p)
    return;
  for (size_t i = 0; i < p->n; i++) {
    free(p->nodes[i]->value);
    free(p->nodes[i]->items);
    free(p->nodes[i]);
  }
  free(p->nodes);
  free(p);
}

static int node_push(ctr__ynode *parent, ctr__ynode *kid)
{
  if ((parent->n & (parent->n - 1)) == 0) { /* grow at powers of two */
    size_t cap = parent->n ? parent->n * 2 : 4;
    ctr__ynode **v = realloc(parent->items, cap * sizeof *v);
    if (!v)
      return CTR_ENOMEM;
    parent->items = v;
  }
  parent->items[parent->n++] = kid;
  return CTR_OK;
}

/* Where the last mark's line starts: marks come in file order, so each
 * lookup goes on from there instead of counting lines from the top (which
 * made loading a large rules file quadratic). */
typedef struct line_cursor {
  size_t line, start;
} line_cursor;

/* Byte offset of a libyaml mark. libyaml counts columns in characters, so walk
 * the line's UTF-8 from its start. */
static size_t mark_offset(const ctr__srcfile *src, line_cursor *cur, const yaml_mark_t *m)
{
  if (m->line < cur->line)
    *cur = (line_cursor){0, 0};
  size_t i = cur->start, line = cur->line;
  while (line < m->line && i < src->len) {
    const char *nl = memchr(src->text + i, '\n', src->len - i);
    if (!nl)
      return src->len;
    i = (size_t)(nl - src->text) + 1;
    line++;
  }
  *cur = (line_cursor){line, i};
  for (size_t col = 0; col < m->column && i < src->len; col++) {
    i++;
    while (i < src->len && ((unsigned char)src->text[i] & 0xC0) == 0x80)
      i++;
  }
  return i;
}

typedef struct anchor {
  char *name;
  ctr__ynode *node;
} anchor;

typedef struct builder {
  const ctr__srcfile *src;
  line_cursor cursor; /* for mark_offset */
  node_pool *pool;
  ctr__ynode *stack[MAX_YAML_DEPTH];
  size_t depth;
  anchor *anchors;
  size_t nanchors, capanchors;
  size_t aliases;
  uint64_t max_aliases, max_nodes; /* CTR_LIMIT_YAML_ALIASES, CTR_LIMIT_YAML_NODES */
  bool over_nodes;                 /* new_node() refused: reported, not out of memory */
  ctr__diags *diags;
  ctr__ynode **docs;
  size_t ndocs;
} builder;

static int add_anchor(builder *b, const yaml_char_t *name, ctr__ynode *nd)
{
  if (!name)
    return CTR_OK;
  if (b->nanchors == b->capanchors) {
    size_t cap = b->capanchors ? b->capanchors * 2 : 8;
    anchor *v = realloc(b->anchors, cap * sizeof *v);
    if (!v)
      return CTR_ENOMEM;
    b->anchors = v;
    b->capanchors = cap;
  }
  char *copy = ctr__strdup((const char *)name);
  if (!copy)
    return CTR_ENOMEM;
  b->anchors[b->nanchors].name = copy;
  b->anchors[b->nanchors].node = nd;
  b->nanchors++;
  return CTR_OK;
}

static ctr__ynode *find_anchor(builder *b, const yaml_char_t *name)
{
  for (size_t i = b->nanchors; i-- > 0;)
    if (strcmp(b->anchors[i].name, (const char *)name) == 0)
      return b->anchors[i].node;
  return NULL;
}

/* Attaches a finished node to its parent (or makes it a document root). */
static int attach(builder *b, ctr__ynode *nd)
{
  if (b->depth == 0) {
    ctr__ynode **v = realloc(b->docs, (b->ndocs + 1) * sizeof *v);
    if (!v)
      return CTR_ENOMEM;
    b->docs = v;
    b->docs[b->ndocs++] = nd;
    return CTR_OK;
  }
  return node_push(b->stack[b->depth - 1], nd);
}

static int yaml_error(ctr__diags *diags, const ctr__srcfile *src, unsigned line, unsigned col,
                      const char *msg);

static ctr__ynode *new_node(builder *b, ctr__ykind kind, const yaml_mark_t *m)
{
  if (b->pool->n >= b->max_nodes) {
    char msg[160];
    snprintf(msg, sizeof msg, "more than %llu YAML nodes (limit %s)", (unsigned long long)b->max_nodes,
             ctr_limit_name(CTR_LIMIT_YAML_NODES));
    yaml_error(b->diags, b->src, (unsigned)m->line + 1, (unsigned)m->column + 1, msg);
    b->over_nodes = true;
    return NULL;
  }
  ctr__ynode *nd = pool_new(b->pool);
  if (!nd)
    return NULL;
  nd->kind = kind;
  nd->line = (unsigned)m->line + 1;
  nd->col = (unsigned)m->column + 1;
  nd->start = mark_offset(b->src, &b->cursor, m);
  nd->src = b->src;
  return nd;
}

static void free_builder(builder *b)
{
  for (size_t i = 0; i < b->nanchors; i++)
    free(b->anchors[i].name);
  free(b->anchors);
}

static int yaml_error(ctr__diags *diags, const ctr__srcfile *src, unsigned line, unsigned col,
                      const char *msg)
{
  ctr__diag_add(diags, CTR_SEVERITY_ERROR, src->name, line, col, NULL, "LOAD_ERR_YAML_PARSE",
                "%s", msg);
  return CTR_ESYNTAX;
}

/* Builds the node trees of every document in the file. */
static int build_tree(builder *b, ctr__diags *diags)
{
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser))
    return CTR_ENOMEM;
  yaml_parser_set_input_string(&parser, (const unsigned char *)b->src->text, b->src->len);
  int rc = CTR_OK;
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      char msg[512];
      snprintf(msg, sizeof msg, "invalid YAML: %s%s%s", parser.problem ? parser.problem : "syntax error",
               parser.context ? " " : "", parser.context ? parser.context : "");
      rc = yaml_error(diags, b->src, (unsigned)parser.problem_mark.line + 1,
                      (unsigned)parser.problem_mark.column + 1, msg);
      break;
    }
    yaml_event_type_t type = ev.type;
    ctr__ynode *nd = NULL;
    switch (type) {
    case YAML_SCALAR_EVENT:
      nd = new_node(b, CTR__Y_SCALAR, &ev.start_mark);
      if (!nd || !(nd->value = ctr__strndup((const char *)ev.data.scalar.value, ev.data.scalar.length))) {
        rc = b->over_nodes ? CTR_ESYNTAX : CTR_ENOMEM;
        break;
      }
      nd->len = ev.data.scalar.length;
      nd->style = ev.data.scalar.style;
      if ((rc = add_anchor(b, ev.data.scalar.anchor, nd)) == CTR_OK)
        rc = attach(b, nd);
      break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (b->depth >= MAX_YAML_DEPTH) {
        rc = yaml_error(diags, b->src, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1,
                        "YAML nesting is deeper than 64 levels");
        break;
      }
      nd = new_node(b, type == YAML_SEQUENCE_START_EVENT ? CTR__Y_SEQ : CTR__Y_MAP, &ev.start_mark);
      if (!nd) {
        rc = b->over_nodes ? CTR_ESYNTAX : CTR_ENOMEM;
        break;
      }
      rc = add_anchor(b, type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                          : ev.data.mapping_start.anchor, nd);
      if (rc == CTR_OK)
        rc = attach(b, nd);
      b->stack[b->depth++] = nd;
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      b->depth--;
      break;
    case YAML_ALIAS_EVENT:
      nd = find_anchor(b, ev.data.alias.anchor);
      if (!nd) {
        rc = yaml_error(diags, b->src, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1,
                        "YAML alias to an unknown anchor");
      } else if (++b->aliases > b->max_aliases) {
        char msg[160];
        snprintf(msg, sizeof msg, "more than %llu YAML aliases (limit %s)", (unsigned long long)b->max_aliases,
                 ctr_limit_name(CTR_LIMIT_YAML_ALIASES));
        rc = yaml_error(diags, b->src, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1, msg);
      } else {
        rc = attach(b, nd);
      }
      break;
    case YAML_DOCUMENT_END_EVENT:
      /* An empty document gives no root: record it as NULL. */
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
    if (rc != CTR_OK || type == YAML_STREAM_END_EVENT)
      break;
  }
  yaml_parser_delete(&parser);
  return rc;
}

const ctr__ynode *ctr__ymap_get(const ctr__ynode *map, const char *key)
{
  if (!map || map->kind != CTR__Y_MAP)
    return NULL;
  for (size_t i = 0; i + 1 < map->n; i += 2) {
    const ctr__ynode *k = map->items[i];
    if (k->kind == CTR__Y_SCALAR && strcmp(k->value, key) == 0)
      return map->items[i + 1];
  }
  return NULL;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Maps an offset in a scalar's value to its source position: walk the value
 * and the source side by side, matching each non-blank character of the value
 * to the next equal character of the source. This follows every scalar style
 * (plain, quoted with escapes, literal and folded blocks) because they only
 * add, remove or fold blanks and escapes. */
void ctr__ynode_pos(const ctr__ynode *sc, size_t offset, unsigned *line, unsigned *col)
{
  const ctr__srcfile *src = sc->src;
  size_t q = sc->start;
  if (sc->style == YAML_LITERAL_SCALAR_STYLE || sc->style == YAML_FOLDED_SCALAR_STYLE) {
    const char *nl = memchr(src->text + q, '\n', src->len - q);
    q = nl ? (size_t)(nl - src->text) + 1 : src->len;
  } else if (sc->style == YAML_SINGLE_QUOTED_SCALAR_STYLE || sc->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
    q++;
  }
  size_t found = q;
  bool ok = true;
  for (size_t i = 0; i <= offset && i < sc->len && ok; i++) {
    char c = sc->value[i];
    if (is_space(c))
      continue;
    while (q < src->len && src->text[q] != c)
      q++;
    if (q >= src->len) {
      ok = false;
      break;
    }
    found = q;
    q++;
  }
  if (!ok)
    found = sc->start;
  else if (offset >= sc->len || is_space(sc->value[offset]))
    found = found < src->len ? found + (offset > 0) : found;
  /* Convert the byte offset to a 1-based line and character column. */
  unsigned l = 1, c = 1;
  for (size_t i = 0; i < found && i < src->len; i++) {
    if (src->text[i] == '\n') {
      l++;
      c = 1;
    } else if (((unsigned char)src->text[i] & 0xC0) != 0x80) {
      c++;
    }
  }
  *line = l;
  *col = c;
}

int ctr__load_yaml(ctr__defs *defs, ctr__diags *diags, ctr__srcfile *src, ctr__ynode ***docs_out,
                   size_t *ndocs_out, void **node_pool_out)
{
  node_pool *pool = calloc(1, sizeof *pool);
  if (!pool)
    return CTR_ENOMEM;
  builder b = {.src = src,
               .pool = pool,
               .diags = diags,
               .max_aliases = defs->limits[CTR_LIMIT_YAML_ALIASES],
               .max_nodes = defs->limits[CTR_LIMIT_YAML_NODES]};
  int rc = build_tree(&b, diags);
  free_builder(&b);
  *node_pool_out = pool;
  *docs_out = b.docs;
  *ndocs_out = b.ndocs;
  if (rc != CTR_OK)
    return rc;
  for (size_t d = 0; d < b.ndocs; d++) {
    const ctr__ynode *doc = b.docs[d];
    if (doc->kind == CTR__Y_SCALAR && (doc->len == 0 || strcmp(doc->value, "null") == 0 || strcmp(doc->value, "~") == 0))
      continue; /* an empty document */
    if (doc->kind != CTR__Y_SEQ) {
      ctr__diag_add(diags, CTR_SEVERITY_ERROR, src->name, doc->line, doc->col, NULL,
                    "LOAD_ERR_YAML_VALIDATE", "rules content is not a YAML sequence (list) of items");
      return CTR_ESYNTAX;
    }
    for (size_t i = 0; i < doc->n; i++) {
      const ctr__ynode *item = doc->items[i];
      if (item->kind != CTR__Y_MAP) {
        ctr__diag_add(diags, CTR_SEVERITY_ERROR, src->name, item->line, item->col, NULL,
                      "LOAD_ERR_YAML_VALIDATE", "item is not a YAML mapping");
        return CTR_ESYNTAX;
      }
      rc = ctr__merge_item(defs, diags, item);
      if (rc != CTR_OK)
        return rc; /* Falco stops loading a file at its first error */
    }
  }
  return CTR_OK;
}
