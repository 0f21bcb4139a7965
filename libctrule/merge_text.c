/* merge_text.c - text spans (merge.h, ctr__text): a condition or output
 * assembled from several YAML scalars (append, override, exceptions, Sigma's
 * translation) and, for any offset into it, the file position it came from.
 * Its own file: the collector builds these texts, but sigma.c and compile.c
 * use them too (compile.c to place each diagnostic). */
#include "merge.h"

#include <stdlib.h>
#include <string.h>

int ctr__text_set(ctr__text *t, const ctr__ynode *sc)
{
  ctr__text_free(t);
  t->s = ctr__strndup(sc->value, sc->len);
  t->spans = malloc(sizeof *t->spans);
  if (!t->s || !t->spans)
    return CTR_ENOMEM;
  t->len = sc->len;
  t->spans[0] = (ctr__span){.at = 0, .len = sc->len, .scalar = sc, .scalar_off = 0};
  t->nspans = 1;
  return CTR_OK;
}

int ctr__text_append(ctr__text *t, const char *sep, const ctr__text *more)
{
  size_t seplen = strlen(sep);
  char *s = realloc(t->s, t->len + seplen + more->len + 1);
  if (!s)
    return CTR_ENOMEM;
  t->s = s;
  ctr__span *sp = realloc(t->spans, (t->nspans + more->nspans) * sizeof *sp);
  if (!sp)
    return CTR_ENOMEM;
  t->spans = sp;
  memcpy(t->s + t->len, sep, seplen);
  size_t base = t->len + seplen;
  memcpy(t->s + base, more->s, more->len);
  for (size_t i = 0; i < more->nspans; i++) {
    t->spans[t->nspans] = more->spans[i];
    t->spans[t->nspans].at += base;
    t->nspans++;
  }
  t->len = base + more->len;
  t->s[t->len] = '\0';
  return CTR_OK;
}

int ctr__text_copy(ctr__text *dst, const ctr__text *src)
{
  ctr__text_free(dst);
  dst->s = ctr__strndup(src->s ? src->s : "", src->len);
  dst->spans = malloc((src->nspans ? src->nspans : 1) * sizeof *dst->spans);
  if (!dst->s || !dst->spans)
    return CTR_ENOMEM;
  if (src->nspans)
    memcpy(dst->spans, src->spans, src->nspans * sizeof *dst->spans);
  dst->len = src->len;
  dst->nspans = src->nspans;
  return CTR_OK;
}

void ctr__text_free(ctr__text *t)
{
  free(t->s);
  free(t->spans);
  memset(t, 0, sizeof *t);
}

void ctr__text_pos(const ctr__text *t, size_t offset, const char **file, unsigned *line, unsigned *col)
{
  *file = NULL;
  *line = *col = 0;
  for (size_t i = 0; i < t->nspans; i++) {
    const ctr__span *sp = &t->spans[i];
    if (offset >= sp->at && (offset < sp->at + sp->len || i + 1 == t->nspans)) {
      if (!sp->scalar)
        return;
      *file = sp->scalar->src->name;
      size_t in = offset - sp->at;
      if (in > sp->len)
        in = sp->len;
      ctr__ynode_pos(sp->scalar, sp->scalar_off + in, line, col);
      return;
    }
  }
}
