/*
 * load.h - the YAML loader (load.c): rules files read into node trees that keep
 * their source positions.
 */
#ifndef CTR_LOAD_H
#define CTR_LOAD_H

#include "diag.h"

/* The YAML document tree, kept with its source so that any offset inside a
 * scalar maps back to a file line and column. */

typedef enum { CTR__Y_SCALAR, CTR__Y_SEQ, CTR__Y_MAP } ctr__ykind;

/* A rules file's text, owned by the compiler, at an address that does not
 * move until the compiler is freed: nodes, definitions and positions point
 * at it. */
typedef struct ctr__srcfile {
  char *name; /* file name for diagnostics */
  char *text; /* whole source, NUL-terminated */
  size_t len;
} ctr__srcfile;

/* A YAML node. Nodes are owned by their file's node pool and live as long
 * as it (until the compiler is freed); an alias is the node it refers to,
 * shared. Everything else only borrows them. */
typedef struct ctr__ynode ctr__ynode;
struct ctr__ynode {
  ctr__ykind kind;
  unsigned line, col;     /* 1-based start */
  size_t start;           /* byte offset of the node's first character */
  const ctr__srcfile *src;
  /* scalar */
  char *value;
  size_t len;
  int style; /* yaml_scalar_style_t */
  /* seq: items[n]; map: items[2*i] key, items[2*i+1] value */
  ctr__ynode **items;
  size_t n;
};

/* Whether n is a scalar (NULL: no). */
static inline bool ctr__is_scalar(const ctr__ynode *n) { return n && n->kind == CTR__Y_SCALAR; }

/* Position of byte `offset` of a scalar's value in its source file. */
void ctr__ynode_pos(const ctr__ynode *scalar, size_t offset, unsigned *line, unsigned *col);
/* Map lookup by key; NULL if not a map or no such key. The node is borrowed. */
const ctr__ynode *ctr__ymap_get(const ctr__ynode *map, const char *key);

/* Largest rules file, in bytes; also the most scalar bytes a file may expand
 * to through its YAML aliases. */
#define CTR__RULES_FILE_MAX_BYTES ((size_t)64 << 20)

/* load.c: reads one rules file into a YAML tree (every node with its
 * position; aliases shared and counted against max_aliases and, with what
 * they refer to, max_nodes). Returns CTR_OK, CTR_ESYNTAX (a positioned
 * error diagnostic was added) or CTR_ENOMEM. src is borrowed and must
 * outlive the tree. *tree is set in every case but the failure to allocate
 * it (then NULL); the caller owns it, frees it with ctr__yaml_pool_free, and
 * keeps it as long as definitions merged from it. */
int ctr__load_yaml(uint64_t max_aliases, uint64_t max_nodes, ctr__diags *diags, const ctr__srcfile *src,
                   void **tree);
/* The document roots of a tree (borrowed); *n of them. */
ctr__ynode *const *ctr__yaml_docs(const void *tree, size_t *n);
/* Frees a tree and every node in it. NULL-safe. */
void ctr__yaml_pool_free(void *pool);

#endif
