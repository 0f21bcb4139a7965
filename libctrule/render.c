/* render.c - Falco output rendering: the template with every field replaced
 * by its value (`<NA>` when absent), and the output_fields values. */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>

int ctr__render_value(ctr__buf *b, const ctr__value *v)
{
  switch (v->kind) {
  case CTR__V_STR:
    return ctr__buf_append(b, v->str, v->len);
  case CTR__V_U64:
    return ctr__buf_printf(b, "%llu", (unsigned long long)v->u64);
  case CTR__V_LIST: {
    /* Falco renders a multi-value field as (a,b,c). */
    int rc = ctr__buf_append_char(b, '(');
    for (size_t i = 0; rc == CTR_OK && i < v->count; i++) {
      if (i)
        rc = ctr__buf_append_char(b, ',');
      if (rc == CTR_OK)
        rc = ctr__buf_append(b, v->items[i].s, v->items[i].len);
    }
    return rc == CTR_OK ? ctr__buf_append_char(b, ')') : rc;
  }
  default:
    return ctr__buf_append_str(b, "<NA>");
  }
}

int ctr__render(ctr__evalctx *cx, const ctr__crule *r, ctr__render_out *out)
{
  ctr__buf_clear(&out->text);
  ctr__buf_clear(&out->values);
  if (r->nofields > out->cap_values) {
    size_t *v = realloc(out->value_off, r->nofields * sizeof *v);
    if (!v)
      return CTR_ENOMEM;
    out->value_off = v;
    out->cap_values = r->nofields;
  }
  int rc = CTR_OK;
  for (size_t i = 0; rc == CTR_OK && i < r->noseg; i++) {
    const ctr__oseg *s = &r->oseg[i];
    if (s->lit) {
      rc = ctr__buf_append(&out->text, s->lit, s->len);
    } else {
      ctr__value v;
      ctr__eval_expr(cx, s->expr, &v);
      rc = ctr__render_value(&out->text, &v);
    }
  }
  /* An empty template still yields a terminated "" (never unwritten bytes). */
  if (rc == CTR_OK && !out->text.data)
    rc = ctr__buf_append(&out->text, "", 0);
  for (size_t i = 0; rc == CTR_OK && i < r->nofields; i++) {
    ctr__value v;
    ctr__eval_expr(cx, r->ofield_exprs[i], &v);
    if (v.kind == CTR__V_ABSENT) {
      out->value_off[i] = (size_t)-1;
      continue;
    }
    out->value_off[i] = out->values.len;
    rc = ctr__render_value(&out->values, &v);
    if (rc == CTR_OK)
      rc = ctr__buf_append_char(&out->values, '\0');
  }
  return rc;
}
