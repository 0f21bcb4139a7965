/* diag.c - rule diagnostics: collected in order, passed to the caller's
 * callback as they are produced. */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* A diagnostic that could not be recorded: a warning lost is a failure too. */
static int lost(ctr__diags *d)
{
  d->errors++;
  d->enomem = true;
  return CTR_ENOMEM;
}

int ctr__diag_add(ctr__diags *d, int severity, const char *file, unsigned line, unsigned col,
                  const char *item, const char *code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = ctr__diag_vadd(d, severity, file, line, col, item, code, fmt, ap);
  va_end(ap);
  return rc;
}

int ctr__diag_vadd(ctr__diags *d, int severity, const char *file, unsigned line, unsigned col,
                   const char *item, const char *code, const char *fmt, va_list args)
{
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 16;
    ctr_diag **v = realloc(d->v, cap * sizeof *v);
    if (!v)
      return lost(d);
    d->v = v;
    d->cap = cap;
  }
  ctr_diag *g = calloc(1, sizeof *g);
  if (!g)
    return lost(d);
  ctr__buf msg = {0}, text = {0};
  va_list ap;
  va_copy(ap, args);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  int rc = n < 0 ? CTR_ENOMEM : ctr__buf_reserve(&msg, (size_t)n);
  if (rc == CTR_OK) {
    va_copy(ap, args);
    vsnprintf(msg.data, (size_t)n + 1, fmt, ap);
    va_end(ap);
    msg.len = (size_t)n;
  }
  g->severity = severity;
  g->file = ctr__strdup(file ? file : "<rules>");
  g->line = line;
  g->column = col;
  g->item = item ? ctr__strdup(item) : NULL;
  g->code = ctr__strdup(code);
  g->message = msg.data;
  /* Line 0 means "no position" (e.g. a file that cannot be opened): print the file alone. */
  const char *level = severity == CTR_SEVERITY_ERROR ? "error" : "warning";
  if (rc == CTR_OK && g->file && line)
    rc = ctr__buf_printf(&text, "%s:%u:%u: %s: %s", g->file, line, col, level, msg.data);
  else if (rc == CTR_OK && g->file)
    rc = ctr__buf_printf(&text, "%s: %s: %s", g->file, level, msg.data);
  if (rc == CTR_OK && item)
    rc = ctr__buf_printf(&text, " (in '%s')", item);
  g->text = text.data;
  if (rc != CTR_OK || !g->file || !g->code || (item && !g->item)) {
    free(g->file);
    free(g->item);
    free(g->code);
    free(g->message);
    free(g->text);
    free(g);
    return lost(d);
  }
  d->v[d->n++] = g;
  if (severity == CTR_SEVERITY_ERROR)
    d->errors++;
  if (d->fn)
    d->fn(g, d->ud);
  return CTR_OK;
}

int ctr__diag_oom(ctr__diags *d, const char *file)
{
  /* Counted whether or not the diagnostic can be made. */
  if (ctr__diag_add(d, CTR_SEVERITY_ERROR, file, 0, 0, NULL, "LOAD_ERR_OUT_OF_MEMORY",
                    "out of memory while loading or compiling rules") == CTR_OK)
    d->enomem = true;
  return CTR_ENOMEM;
}

void ctr__diags_free(ctr__diags *d)
{
  for (size_t i = 0; i < d->n; i++) {
    free(d->v[i]->file);
    free(d->v[i]->item);
    free(d->v[i]->code);
    free(d->v[i]->message);
    free(d->v[i]->text);
    free(d->v[i]);
  }
  free(d->v);
  d->v = NULL;
  d->n = d->cap = d->errors = 0;
  d->enomem = false;
}

int ctr_diag_severity(const ctr_diag *d) { return d->severity; }
const char *ctr_diag_file(const ctr_diag *d) { return d->file; }
unsigned ctr_diag_line(const ctr_diag *d) { return d->line; }
unsigned ctr_diag_column(const ctr_diag *d) { return d->column; }
const char *ctr_diag_item(const ctr_diag *d) { return d->item; }
const char *ctr_diag_code(const ctr_diag *d) { return d->code; }
const char *ctr_diag_message(const ctr_diag *d) { return d->message; }
const char *ctr_diag_text(const ctr_diag *d) { return d->text; }
