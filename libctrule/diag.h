/*
 * diag.h - diagnostics of a compiler (diag.c): positioned, counted, sticky on failure.
 */
#ifndef CTR_DIAG_H
#define CTR_DIAG_H

#include "internal.h"

#include <stdarg.h>

struct ctr_diag {
  int severity;
  char *file;
  unsigned line, column;
  char *item;
  char *code;
  char *message;
  char *text;
};

/* Diagnostics of one compiler. Failure is sticky: every error, and every
 * failure to record a diagnostic (out of memory), is counted in `errors`,
 * which makes the compiler refuse to compile, as yara's does. */
typedef struct ctr__diags {
  ctr_diag **v;
  size_t n, cap;
  size_t errors;  /* error diagnostics, plus failures that could not be recorded */
  bool enomem;    /* memory ran out at some point: compile returns CTR_ENOMEM */
  ctr_diag_fn fn;
  void *ud;
} ctr__diags;

/* Records a diagnostic (strings are copied; nothing is taken). CTR_OK, or
 * CTR_ENOMEM when it could not be recorded: then it still counts as an error
 * and `enomem` is set, so no failure goes unnoticed. */
int ctr__diag_add(ctr__diags *d, int severity, const char *file, unsigned line, unsigned col,
                  const char *item, const char *code, const char *fmt, ...)
  __attribute__((format(printf, 8, 9)));
int ctr__diag_vadd(ctr__diags *d, int severity, const char *file, unsigned line, unsigned col,
                   const char *item, const char *code, const char *fmt, va_list args)
  __attribute__((format(printf, 8, 0)));
/* Records that memory ran out while working on `file` (NULL: unknown): an
 * error diagnostic LOAD_ERR_OUT_OF_MEMORY if it can still be made, counted
 * as an error in any case. Returns CTR_ENOMEM, for `return ctr__diag_oom()`. */
int ctr__diag_oom(ctr__diags *d, const char *file);
/* Frees every diagnostic (d itself is the caller's) and empties d. */
void ctr__diags_free(ctr__diags *d);

#endif
