/* lex.c - character-level scanning primitives of the condition grammar,
 * following libsinsp's hand-written parser token by token. */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_alnum_(char c) { return is_alpha(c) || (c >= '0' && c <= '9') || c == '_'; }

void ctr__lex_skip_ws(ctr__lexer *lx)
{
  while (lx->i < lx->len && is_ws(lx->s[lx->i]))
    lx->i++;
}

bool ctr__lex_at_end(ctr__lexer *lx) { return lx->i >= lx->len; }

bool ctr__lex_char(ctr__lexer *lx, char c)
{
  if (lx->i < lx->len && lx->s[lx->i] == c) {
    lx->i++;
    return true;
  }
  return false;
}

/* A keyword must be followed by whitespace, one of `followers`, or the end. */
bool ctr__lex_word(ctr__lexer *lx, const char *word, const char *followers)
{
  size_t n = strlen(word);
  if (lx->len - lx->i < n || memcmp(lx->s + lx->i, word, n) != 0)
    return false;
  size_t j = lx->i + n;
  if (j < lx->len && !is_ws(lx->s[j]) && !(followers && strchr(followers, lx->s[j])))
    return false;
  lx->i = j;
  return true;
}

size_t ctr__lex_ident_len(const ctr__lexer *lx)
{
  size_t j = lx->i;
  if (j >= lx->len || !is_alpha(lx->s[j]))
    return 0;
  while (j < lx->len && is_alnum_(lx->s[j]))
    j++;
  return j - lx->i;
}

/* name(.seg)+ where each seg is [a-zA-Z][a-zA-Z0-9_]* (field names such as
 * evt.time.s), then an optional [arg]: quoted, or bare [^][\"'\s]+ . */
size_t ctr__lex_field_len(const ctr__lexer *lx, size_t *name_len, size_t *arg_start, size_t *arg_len)
{
  size_t j = lx->i, segs = 0;
  *arg_start = *arg_len = 0;
  for (;;) {
    if (j >= lx->len || !is_alpha(lx->s[j]))
      break;
    while (j < lx->len && is_alnum_(lx->s[j]))
      j++;
    segs++;
    if (j < lx->len && lx->s[j] == '.' && j + 1 < lx->len && is_alpha(lx->s[j + 1])) {
      j++;
      continue;
    }
    break;
  }
  if (segs < 2)
    return 0;
  *name_len = j - lx->i;
  if (j < lx->len && lx->s[j] == '[') {
    size_t a = j + 1, k = a;
    if (k < lx->len && (lx->s[k] == '"' || lx->s[k] == '\'')) {
      char q = lx->s[k++];
      while (k < lx->len && lx->s[k] != q)
        k++;
      if (k >= lx->len)
        return 0;
      *arg_start = a + 1;
      *arg_len = k - a - 1;
      k++;
    } else {
      while (k < lx->len && !strchr("[]\"' \t\r\n", lx->s[k]))
        k++;
      *arg_start = a;
      *arg_len = k - a;
    }
    if (k >= lx->len || lx->s[k] != ']')
      return 0;
    j = k + 1;
  }
  return j - lx->i;
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool ctr__lex_quoted(ctr__lexer *lx, char **out, size_t *out_len, ctr__parse_error *err)
{
  char q = lx->s[lx->i];
  size_t start = lx->i;
  ctr__buf b = {0};
  size_t j = lx->i + 1;
  while (j < lx->len && lx->s[j] != q) {
    char c = lx->s[j];
    if (c == '\\') {
      if (j + 1 >= lx->len)
        break;
      char e = lx->s[j + 1];
      char v;
      size_t adv = 2;
      switch (e) {
      case 'b': v = '\b'; break;
      case 'f': v = '\f'; break;
      case 'n': v = '\n'; break;
      case 'r': v = '\r'; break;
      case 't': v = '\t'; break;
      case '\\': v = '\\'; break;
      case '/': v = '/'; break;
      case 'x': {
        int h1 = j + 2 < lx->len ? hexval(lx->s[j + 2]) : -1, h2 = j + 3 < lx->len ? hexval(lx->s[j + 3]) : -1;
        if (h1 < 0 || h2 < 0) {
          err->pos = j;
          snprintf(err->msg, sizeof err->msg, "invalid \\x escape: two hex digits expected");
          ctr__buf_free(&b);
          return false;
        }
        v = (char)(h1 * 16 + h2);
        adv = 4;
        break;
      }
      default:
        if (e == q) {
          v = e;
          break;
        }
        err->pos = j;
        snprintf(err->msg, sizeof err->msg, "invalid escape sequence '\\%c' in quoted string", e);
        ctr__buf_free(&b);
        return false;
      }
      if (ctr__buf_append_char(&b, v) != CTR_OK)
        goto nomem;
      j += adv;
      continue;
    }
    if (ctr__buf_append_char(&b, c) != CTR_OK)
      goto nomem;
    j++;
  }
  if (j >= lx->len) {
    err->pos = start;
    snprintf(err->msg, sizeof err->msg, "unterminated quoted string");
    ctr__buf_free(&b);
    return false;
  }
  lx->i = j + 1;
  if (!b.data && ctr__buf_reserve(&b, 0) != CTR_OK)
    goto nomem;
  *out = b.data;
  *out_len = b.len;
  return true;
nomem:
  ctr__buf_free(&b);
  err->pos = start;
  snprintf(err->msg, sizeof err->msg, "out of memory");
  return false;
}

size_t ctr__lex_bare_len(const ctr__lexer *lx)
{
  size_t j = lx->i;
  while (j < lx->len && !strchr("()\"'=, \t\r\n\v\f", lx->s[j]))
    j++;
  return j - lx->i;
}

bool ctr__lex_operator(ctr__lexer *lx, ctr__op *op)
{
  static const struct {
    const char *text;
    ctr__op op;
    bool word;
  } ops[] = {
    {"==", CTR__OP_EQ, false}, {"=", CTR__OP_EQ, false}, {"!=", CTR__OP_NE, false},
    {"<=", CTR__OP_LE, false}, {"<", CTR__OP_LT, false}, {">=", CTR__OP_GE, false},
    {">", CTR__OP_GT, false}, {"contains", CTR__OP_CONTAINS, true},
    {"icontains", CTR__OP_ICONTAINS, true}, {"bcontains", CTR__OP_BCONTAINS, true},
    {"startswith", CTR__OP_STARTSWITH, true}, {"bstartswith", CTR__OP_BSTARTSWITH, true},
    {"endswith", CTR__OP_ENDSWITH, true}, {"glob", CTR__OP_GLOB, true}, {"iglob", CTR__OP_IGLOB, true},
    {"regex", CTR__OP_REGEX, true}, {"intersects", CTR__OP_INTERSECTS, true},
    {"in", CTR__OP_IN, true}, {"pmatch", CTR__OP_PMATCH, true}, {"exists", CTR__OP_EXISTS, true},
  };
  for (size_t k = 0; k < CTR__COUNTOF(ops); k++) {
    if (ops[k].word) {
      /* list operators may be followed directly by '(' ; exists by ')' */
      if (ctr__lex_word(lx, ops[k].text, ops[k].op == CTR__OP_EXISTS ? ")" : "(")) {
        *op = ops[k].op;
        return true;
      }
    } else {
      size_t n = strlen(ops[k].text);
      if (lx->len - lx->i >= n && memcmp(lx->s + lx->i, ops[k].text, n) == 0) {
        lx->i += n;
        *op = ops[k].op;
        return true;
      }
    }
  }
  return false;
}
