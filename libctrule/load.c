/* load.c - reads a rules file with libyaml into a node tree that keeps every
 * node's source position; compiler.c then hands the documents to merge.c.
 *
 * The tree is built from libyaml's event stream (not its document API) so
 * that aliases share nodes instead of being copied: a "billion laughs"
 * document costs no memory, and a cap on aliases (CTR_LIMIT_YAML_ALIASES)
 * bounds the work. */
#include "load.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_YAML_DEPTH 64

/* A file's YAML tree: every node (aliases are shared, not copied) and the
 * document roots. */
typedef struct node_pool {
  ctr__ynode **nodes;
  size_t n, cap;
  ctr__ynode **docs;
  size_t ndocs;
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
  free(p->docs);
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

/* Where the last mark lies (its line's start, its column, its offset): marks
 * come in file order, so each lookup goes on from there instead of counting
 * from the top of the file or of the line. Counting from the line's start
 * made a long flow sequence (`[a, b, ...]` on one line) quadratic. */
typedef struct line_cursor {
  size_t line, start; /* 0-based line, offset of its first byte */
  size_t col, off;    /* 0-based character column on that line, its offset */
} line_cursor;

/* Byte offset of a libyaml mark. libyaml counts columns in characters, so walk
 * the line's UTF-8 from the last mark (or the line's start). */
static size_t mark_offset(const ctr__srcfile *src, line_cursor *cur, const yaml_mark_t *m)
{
  if (m->line < cur->line || (m->line == cur->line && m->column < cur->col))
    *cur = (line_cursor){0};
  size_t i = cur->off, col = cur->col, line = cur->line, start = cur->start;
  while (line < m->line && i < src->len) {
    const char *nl = memchr(src->text + i, '\n', src->len - i);
    if (!nl)
      return src->len;
    i = start = (size_t)(nl - src->text) + 1;
    col = 0;
    line++;
  }
  for (; col < m->column && i < src->len; col++) {
    i++;
    while (i < src->len && ((unsigned char)src->text[i] & 0xC0) == 0x80)
      i++;
  }
  *cur = (line_cursor){line, start, col, i};
  return i;
}

/* An anchored node, and what an alias to it costs: the nodes and scalar bytes
 * of its subtree (aliases inside it expanded), as if it were written out. */
typedef struct anchor {
  char *name;
  ctr__ynode *node;
  uint64_t nodes, bytes;
  bool open; /* a sequence or mapping not ended yet: an alias to it is a cycle */
} anchor;

/* A sequence or mapping being built, with the totals when it began. */
typedef struct level {
  ctr__ynode *node;
  uint64_t nodes0, bytes0;
  size_t anchor; /* its anchor's index, or SIZE_MAX */
} level;

typedef struct builder {
  const ctr__srcfile *src;
  line_cursor cursor; /* for mark_offset */
  node_pool *pool;
  level stack[MAX_YAML_DEPTH];
  size_t depth;
  anchor *anchors;
  size_t nanchors, capanchors;
  uint32_t *slots; /* anchor name -> index + 1 (0: empty), open addressing */
  size_t nslots;
  size_t aliases;
  /* The file as if every alias were written out: bounded by
   * CTR_LIMIT_YAML_NODES and CTR__RULES_FILE_MAX_BYTES, so an alias costs
   * what it refers to, once, however it is used later. */
  uint64_t nodes, bytes;
  uint64_t max_aliases, max_nodes; /* CTR_LIMIT_YAML_ALIASES, CTR_LIMIT_YAML_NODES */
  bool limited;                    /* a limit was reported: not out of memory */
  ctr__diags *diags;
  ctr__ynode **docs;
  size_t ndocs;
} builder;

/* Reports an error at a 0-based libyaml line and column; CTR_ESYNTAX. */
__attribute__((format(printf, 4, 5))) static int yaml_error(builder *b, size_t line0, size_t col0,
                                                            const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  ctr__diag_vadd(b->diags, CTR_SEVERITY_ERROR, b->src->name, (unsigned)line0 + 1, (unsigned)col0 + 1, NULL,
                 "LOAD_ERR_YAML_PARSE", fmt, ap);
  va_end(ap);
  return CTR_ESYNTAX;
}

/* The slot of `name` in the anchor index: its entry, or the empty slot
 * where it would go. */
static uint32_t *anchor_slot(builder *b, const char *name)
{
  size_t mask = b->nslots - 1;
  for (size_t i = ctr__hash(name, strlen(name)) & mask;; i = (i + 1) & mask)
    if (!b->slots[i] || strcmp(b->anchors[b->slots[i] - 1].name, name) == 0)
      return &b->slots[i];
}

/* Keeps the index under half full. */
static int anchor_index_grow(builder *b)
{
  if (b->nslots && (b->nanchors + 1) * 2 <= b->nslots)
    return CTR_OK;
  size_t n = b->nslots ? b->nslots * 2 : 64;
  uint32_t *v = calloc(n, sizeof *v);
  if (!v)
    return CTR_ENOMEM;
  free(b->slots);
  b->slots = v;
  b->nslots = n;
  for (size_t i = 0; i < b->nanchors; i++)
    *anchor_slot(b, b->anchors[i].name) = (uint32_t)i + 1;
  return CTR_OK;
}

/* Anchors `nd` under `name` (NULL: no anchor); a name used again now
 * refers to the new node, as YAML says. *index: the anchor's index. */
static int add_anchor(builder *b, const yaml_char_t *name, ctr__ynode *nd, bool open, size_t *index)
{
  *index = SIZE_MAX;
  if (!name)
    return CTR_OK;
  if (b->nanchors >= UINT32_MAX - 1 || anchor_index_grow(b) != CTR_OK)
    return CTR_ENOMEM;
  uint32_t *slot = anchor_slot(b, (const char *)name);
  if (!*slot) {
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
    b->anchors[b->nanchors] = (anchor){.name = copy};
    *slot = (uint32_t)++b->nanchors;
  }
  anchor *a = &b->anchors[*slot - 1];
  a->node = nd;
  a->open = open;
  a->nodes = 1;
  a->bytes = nd->kind == CTR__Y_SCALAR ? nd->len : 0;
  *index = *slot - 1;
  return CTR_OK;
}

static anchor *find_anchor(builder *b, const yaml_char_t *name)
{
  if (!b->nslots)
    return NULL;
  uint32_t i = *anchor_slot(b, (const char *)name);
  return i ? &b->anchors[i - 1] : NULL;
}

/* Attaches a node to its parent (or makes it a document root). */
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
  return node_push(b->stack[b->depth - 1].node, nd);
}

/* Counts `nodes` nodes and `bytes` scalar bytes more (written, or expanded
 * by the alias at `m`) against the file's bounds. */
static int count(builder *b, uint64_t nodes, uint64_t bytes, const yaml_mark_t *m, bool alias)
{
  const char *how = alias ? " once aliases are expanded" : "";
  if (nodes > b->max_nodes - b->nodes) {
    b->limited = true;
    return yaml_error(b, m->line, m->column, "more than %llu YAML nodes%s (limit %s)",
                      (unsigned long long)b->max_nodes, how, ctr_limit_name(CTR_LIMIT_YAML_NODES));
  }
  if (bytes > CTR__RULES_FILE_MAX_BYTES - b->bytes) {
    b->limited = true;
    return yaml_error(b, m->line, m->column, "more than %u MiB of YAML scalars%s (a rules file's limit)",
                      (unsigned)(CTR__RULES_FILE_MAX_BYTES >> 20), how);
  }
  b->nodes += nodes;
  b->bytes += bytes;
  return CTR_OK;
}

static ctr__ynode *new_node(builder *b, ctr__ykind kind, const yaml_mark_t *m, size_t len)
{
  if (count(b, 1, len, m, false) != CTR_OK)
    return NULL;
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
  free(b->slots);
}

/* An alias: shares its anchor's node, counting what it refers to. */
static int on_alias(builder *b, const yaml_event_t *ev)
{
  const yaml_mark_t *m = &ev->start_mark;
  anchor *a = find_anchor(b, ev->data.alias.anchor);
  if (!a)
    return yaml_error(b, m->line, m->column, "YAML alias to an unknown anchor");
  if (a->open)
    return yaml_error(b, m->line, m->column, "YAML alias '%s' inside the node it refers to (a cycle)", a->name);
  if (++b->aliases > b->max_aliases) {
    b->limited = true;
    return yaml_error(b, m->line, m->column, "more than %llu YAML aliases (limit %s)",
                      (unsigned long long)b->max_aliases, ctr_limit_name(CTR_LIMIT_YAML_ALIASES));
  }
  int rc = count(b, a->nodes, a->bytes, m, true);
  return rc == CTR_OK ? attach(b, a->node) : rc;
}

/* A sequence or mapping begins. */
static int on_start(builder *b, const yaml_event_t *ev)
{
  const yaml_mark_t *m = &ev->start_mark;
  bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
  if (b->depth >= MAX_YAML_DEPTH)
    return yaml_error(b, m->line, m->column, "YAML nesting is deeper than %d levels", MAX_YAML_DEPTH);
  uint64_t nodes0 = b->nodes, bytes0 = b->bytes;
  ctr__ynode *nd = new_node(b, seq ? CTR__Y_SEQ : CTR__Y_MAP, m, 0);
  if (!nd)
    return b->limited ? CTR_ESYNTAX : CTR_ENOMEM;
  size_t ai;
  int rc = add_anchor(b, seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor, nd, true, &ai);
  if (rc == CTR_OK)
    rc = attach(b, nd);
  if (rc == CTR_OK)
    b->stack[b->depth++] = (level){nd, nodes0, bytes0, ai};
  return rc;
}

/* A sequence or mapping ends: its anchor learns what it expands to. */
static void on_end(builder *b)
{
  level *l = &b->stack[--b->depth];
  if (l->anchor == SIZE_MAX)
    return;
  anchor *a = &b->anchors[l->anchor];
  if (a->node != l->node)
    return; /* the name was anchored again inside: it refers to that node now */
  a->open = false;
  a->nodes = b->nodes - l->nodes0;
  a->bytes = b->bytes - l->bytes0;
}

static int on_scalar(builder *b, const yaml_event_t *ev)
{
  ctr__ynode *nd = new_node(b, CTR__Y_SCALAR, &ev->start_mark, ev->data.scalar.length);
  if (!nd)
    return b->limited ? CTR_ESYNTAX : CTR_ENOMEM;
  if (!(nd->value = ctr__strndup((const char *)ev->data.scalar.value, ev->data.scalar.length)))
    return CTR_ENOMEM;
  nd->len = ev->data.scalar.length;
  nd->style = ev->data.scalar.style;
  size_t ai;
  int rc = add_anchor(b, ev->data.scalar.anchor, nd, false, &ai);
  return rc == CTR_OK ? attach(b, nd) : rc;
}

/* Builds the node trees of every document in the file. */
static int build_tree(builder *b)
{
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser))
    return CTR_ENOMEM;
  yaml_parser_set_input_string(&parser, (const unsigned char *)b->src->text, b->src->len);
  int rc = CTR_OK;
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      rc = yaml_error(b, parser.problem_mark.line, parser.problem_mark.column, "invalid YAML: %s%s%s",
                      parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                      parser.context ? parser.context : "");
      break;
    }
    switch (ev.type) {
    case YAML_SCALAR_EVENT:
      rc = on_scalar(b, &ev);
      break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      rc = on_start(b, &ev);
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      on_end(b);
      break;
    case YAML_ALIAS_EVENT:
      rc = on_alias(b, &ev);
      break;
    default: /* stream and document events: an empty document gives no root */
      break;
    }
    yaml_event_type_t type = ev.type;
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
  /* Convert the byte offset to a 1-based line and character column, counting
   * on from the scalar's own start (not the top of the file: a file with many
   * positioned diagnostics would be quadratic). */
  unsigned l = sc->line, c = sc->col;
  size_t from = sc->start;
  if (found < from) {
    l = c = 1;
    from = 0;
  }
  for (size_t i = from; i < found && i < src->len; i++) {
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

int ctr__load_yaml(uint64_t max_aliases, uint64_t max_nodes, ctr__diags *diags, const ctr__srcfile *src,
                   void **tree)
{
  *tree = NULL;
  node_pool *pool = calloc(1, sizeof *pool);
  if (!pool)
    return CTR_ENOMEM;
  *tree = pool;
  builder b = {.src = src, .pool = pool, .diags = diags, .max_aliases = max_aliases, .max_nodes = max_nodes};
  int rc = build_tree(&b);
  free_builder(&b);
  pool->docs = b.docs;
  pool->ndocs = b.ndocs;
  return rc;
}

ctr__ynode *const *ctr__yaml_docs(const void *tree, size_t *n)
{
  const node_pool *p = tree;
  *n = p ? p->ndocs : 0;
  return p ? p->docs : NULL;
}
