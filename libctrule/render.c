/* render.c - Falco output rendering: the template with every field replaced
 * by its value (`<NA>` when absent), the output_fields values, and what the
 * alert's JSON line needs kept (render_json.c writes the line).
 *
 * Rendered text never holds a NUL byte (a "\u0000" in a record's value
 * becomes U+FFFD), since the public API hands it out as C strings: a NUL
 * would silently cut an alert's output short.
 *
 * What ctr_match_json needs beyond the public match accessors is kept by
 * ctr__render in the render output's `json` buffer (the "JSON trailer",
 * written here, read by render_json.c; ctr__match_render reaches it):
 *   hostname NUL
 *   'a' | 's' eventID NUL                     ct.id: absent or its string
 *   per output field: 'a' | 's' | 'u' | 'l' JSON-array NUL
 * ('a' absent, 's' string, 'u' uint64, 'l' list, followed by its items as a
 * JSON array). It costs a byte per field and the eventID per match; the JSON
 * itself is built only when asked for (render_json.c reads the trailer). */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/* ctr__buf_append with the room checked here: an alert is appended a few
 * bytes at a time (each field's kind, value and separator), and a buffer
 * reused alert after alert nearly always has the room. */
static inline int put(ctr__buf *b, const char *s, size_t n)
{
  if (n >= b->cap - b->len) /* cap 0 (nothing allocated yet) included */
    return ctr__buf_append(b, s, n);
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
  return CTR_OK;
}

static inline int put_char(ctr__buf *b, char c)
{
  return put(b, &c, 1);
}

/* Appends n bytes, each NUL as U+FFFD. */
static int append_text(ctr__buf *b, const char *s, size_t n)
{
  int rc = CTR_OK;
  while (rc == CTR_OK && n) {
    const char *nul = memchr(s, '\0', n);
    size_t k = nul ? (size_t)(nul - s) : n;
    rc = put(b, s, k);
    if (rc == CTR_OK && nul) {
      rc = ctr__buf_append(b, REPLACEMENT, 3);
      k++;
    }
    s += k;
    n -= k;
  }
  return rc;
}

int ctr__render_value(ctr__buf *b, const ctr__value *v)
{
  switch (v->kind) {
  case CTR__V_STR:
    return append_text(b, v->str, v->len);
  case CTR__V_U64:
    return ctr__buf_printf(b, "%llu", (unsigned long long)v->u64);
  case CTR__V_LIST: {
    /* Falco renders a multi-value field as (a,b,c). */
    int rc = ctr__buf_append_char(b, '(');
    for (size_t i = 0; rc == CTR_OK && i < v->count; i++) {
      if (i)
        rc = ctr__buf_append_char(b, ',');
      if (rc == CTR_OK)
        rc = append_text(b, v->items[i].s, v->items[i].len);
    }
    return rc == CTR_OK ? ctr__buf_append_char(b, ')') : rc;
  }
  default:
    return ctr__buf_append_str(b, "<NA>");
  }
}

/* ------------------------------------------------------------ render */

/* The start of the JSON trailer (see the top of the file): the hostname and
 * the eventID, read once for all the alerts of an event generation. */
static int trailer_head(ctr__evalctx *cx, ctr__render_out *out)
{
  ctr__buf *b = &out->json;
  if (out->hostname != cx->ev->hostname) {
    out->hostname = cx->ev->hostname;
    out->hostname_len = strlen(out->hostname);
  }
  int rc = put(b, out->hostname, out->hostname_len + 1);
  if (!out->id_def)
    out->id_def = ctr__field_lookup("ct.id", 5);
  if (rc == CTR_OK && (out->id_gen != cx->gen || !out->id_gen)) {
    memset(&out->id, 0, sizeof out->id);
    if ((rc = out->id_def->extract(cx->ev, NULL, 0, &out->id)) == CTR_OK)
      out->id_gen = cx->gen;
  }
  const ctr__value *v = &out->id;
  if (rc == CTR_OK)
    rc = put_char(b, v->kind == CTR__V_STR ? 's' : 'a');
  if (rc == CTR_OK && v->kind == CTR__V_STR)
    rc = append_text(b, v->str, v->len);
  return rc == CTR_OK ? put_char(b, '\0') : rc;
}

/* One output field's entry in the JSON trailer. */
static int trailer_field(const ctr__value *v, ctr__buf *b)
{
  static const char kinds[] = {[CTR__V_ABSENT] = 'a', [CTR__V_STR] = 's', [CTR__V_U64] = 'u', [CTR__V_LIST] = 'l'};
  int rc = put_char(b, (size_t)v->kind < sizeof kinds ? kinds[v->kind] : 'a');
  if (rc != CTR_OK || v->kind != CTR__V_LIST)
    return rc;
  rc = ctr__buf_append_char(b, '[');
  ctr__buf item = {0};
  for (size_t k = 0; rc == CTR_OK && k < v->count; k++) {
    if (k)
      rc = ctr__buf_append_char(b, ',');
    /* Each item as the text output shows it (NUL as U+FFFD). */
    ctr__buf_clear(&item);
    if (rc == CTR_OK)
      rc = append_text(&item, v->items[k].s, v->items[k].len);
    if (rc == CTR_OK)
      rc = ctr__json_str(b, item.data ? item.data : "", item.len);
  }
  ctr__buf_free(&item);
  return rc == CTR_OK ? ctr__buf_append(b, "]", 2) : rc; /* with its NUL */
}

/* Empties b for the next alert: its memory kept, "" while nothing is put. */
static inline void clear(ctr__buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

/* Room for n output fields' offsets and lengths: one block (value_len in
 * it, after value_off's n), grown as rules with more fields come. */
static int field_room(ctr__render_out *out, size_t n)
{
  if (n <= out->cap_values)
    return CTR_OK;
  size_t *v = realloc(out->value_off, 2 * n * sizeof *v);
  if (!v)
    return CTR_ENOMEM;
  out->value_off = v;
  out->value_len = v + n;
  out->cap_values = n;
  return CTR_OK;
}

/* The output fields, each extracted once for the text, the trailer and the
 * values; then the template, its literals (compiled without a NUL) and
 * each field's rendering copied in, "<NA>" for an absent one. */
int ctr__render(ctr__evalctx *cx, const ctr__crule *r, ctr__render_out *out)
{
  clear(&out->text);
  clear(&out->json);
  clear(&out->values);
  out->rule = r;
  int rc = field_room(out, r->nofields);
  if (rc == CTR_OK)
    rc = trailer_head(cx, out);
  for (size_t i = 0; rc == CTR_OK && i < r->nofields; i++) {
    ctr__value v;
    ctr__eval_expr(cx, r->ofield_exprs[i], &v);
    rc = trailer_field(&v, &out->json);
    if (v.kind == CTR__V_ABSENT) {
      out->value_off[i] = (size_t)-1;
      continue;
    }
    out->value_off[i] = out->values.len;
    if (rc == CTR_OK)
      rc = ctr__render_value(&out->values, &v);
    out->value_len[i] = out->values.len - out->value_off[i];
    if (rc == CTR_OK)
      rc = put_char(&out->values, '\0');
  }
  for (size_t i = 0; rc == CTR_OK && i < r->noseg; i++) {
    const ctr__oseg *s = &r->oseg[i];
    size_t off = s->lit ? 0 : out->value_off[s->field];
    if (s->lit)
      rc = put(&out->text, s->lit, s->len);
    else if (off == (size_t)-1)
      rc = put(&out->text, "<NA>", 4);
    else
      rc = put(&out->text, out->values.data + off, out->value_len[s->field]);
  }
  /* Always a terminated string, "" for an empty template. */
  return rc == CTR_OK ? put(&out->text, "", 1) : rc;
}
