/* lex.c - character-level scanning primitives of the condition grammar,
 * following libsinsp's hand-written parser token by token (its blanks, its
 * operator list and order, its quoted-string scan and unescaping, its
 * number regexes). */
#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Falco skips these between tokens (lex_blank). */
static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\b' || c == '\r' || c == '\n'; }
/* POSIX [:space:], which Falco's regexes use (after `not`, in bare strings). */
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alnum_(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }

bool ctr__lex_skip_ws(ctr__lexer *lx)
{
  size_t start = lx->i;
  while (lx->i < lx->len && is_blank(lx->s[lx->i]))
    lx->i++;
  return lx->i > start;
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

bool ctr__lex_prefix(ctr__lexer *lx, const char *text)
{
  size_t n = strlen(text);
  if (lx->len - lx->i < n || memcmp(lx->s + lx->i, text, n) != 0)
    return false;
  lx->i += n;
  return true;
}

/* A keyword must be followed by whitespace, one of `followers`, or the end. */
bool ctr__lex_word(ctr__lexer *lx, const char *word, const char *followers)
{
  size_t n = strlen(word);
  if (lx->len - lx->i < n || memcmp(lx->s + lx->i, word, n) != 0)
    return false;
  size_t j = lx->i + n;
  if (j < lx->len && !is_space(lx->s[j]) && !(followers && strchr(followers, lx->s[j])))
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

/* Where the quoted string opening at `at` closes: Falco ends it at the first
 * quote not preceded by a backslash (so "a\\" runs on), and a NUL ends its
 * input. 0 if it never closes. */
static size_t quoted_end(const char *s, size_t len, size_t at)
{
  char q = s[at], prev = q;
  for (size_t j = at + 1; j < len && s[j] != '\0'; j++) {
    if (s[j] == q && prev != '\\')
      return j;
    prev = s[j];
  }
  return 0;
}

/* name(.seg)+ where each seg is [a-zA-Z][a-zA-Z0-9_]* (field names such as
 * evt.time.s), then an optional [arg]: quoted, or bare [^][\"'[:space:]]+ . */
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
      size_t end = quoted_end(lx->s, lx->len, k);
      if (!end)
        return 0;
      *arg_start = a + 1;
      *arg_len = end - a - 1;
      k = end + 1;
    } else {
      while (k < lx->len && lx->s[k] != '[' && lx->s[k] != ']' && lx->s[k] != '"' && lx->s[k] != '\'' &&
             !is_space(lx->s[k]))
        k++;
      if (k == a)
        return 0; /* an argument is not empty */
      *arg_start = a;
      *arg_len = k - a;
    }
    if (k >= lx->len || lx->s[k] != ']')
      return 0;
    j = k + 1;
  }
  return j - lx->i;
}

/* Falco's unescape_str over the inside of a string quoted with `q`: \b \f \n
 * \r \t \\ \/, "\ " (a backslash: Falco keeps it for old rules), the string's
 * own quote (the other quote escaped is an error); any other escape is kept
 * as written. */
bool ctr__lex_unescape(const char *s, size_t n, char q, size_t base, ctr__buf *out, ctr__parse_error *err)
{
  for (size_t j = 0; j < n; j++) {
    char c = s[j];
    if (c == '\\' && j + 1 < n) {
      char e = s[++j];
      switch (e) {
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'n': c = '\n'; break;
      case 'r': c = '\r'; break;
      case 't': c = '\t'; break;
      case ' ':
      case '\\': c = '\\'; break;
      case '/': c = '/'; break;
      case '"':
      case '\'':
        if (e != q) {
          err->pos = base + j - 1;
          snprintf(err->msg, sizeof err->msg, "invalid \\%c escape in a %c-quoted string", e, q);
          return false;
        }
        c = e;
        break;
      default:
        /* Any other escape is kept as written, backslash and all, as
         * Falco 0.63 keeps it (so regex patterns such as "\\d+" work). */
        if (ctr__buf_append_char(out, '\\') != CTR_OK) {
          err->pos = base;
          snprintf(err->msg, sizeof err->msg, "out of memory");
          err->nomem = true;
          return false;
        }
        c = e;
        break;
      }
    }
    if (ctr__buf_append_char(out, c) != CTR_OK) {
      err->pos = base;
      snprintf(err->msg, sizeof err->msg, "out of memory");
      err->nomem = true;
      return false;
    }
  }
  return true;
}

bool ctr__lex_quoted(ctr__lexer *lx, char **out, size_t *out_len, ctr__parse_error *err)
{
  size_t start = lx->i;
  size_t end = quoted_end(lx->s, lx->len, start);
  if (!end) {
    err->pos = start;
    snprintf(err->msg, sizeof err->msg, "unterminated quoted string");
    return false;
  }
  ctr__buf b = {0};
  if (!ctr__lex_unescape(lx->s + start + 1, end - start - 1, lx->s[start], start + 1, &b, err) ||
      (!b.data && ctr__buf_append(&b, "", 0) != CTR_OK)) {
    if (!err->msg[0]) {
      err->pos = start;
      snprintf(err->msg, sizeof err->msg, "out of memory");
      err->nomem = true;
    }
    ctr__buf_free(&b);
    return false;
  }
  lx->i = end + 1;
  *out = b.data;
  *out_len = b.len;
  return true;
}

size_t ctr__lex_bare_len(const ctr__lexer *lx)
{
  size_t j = lx->i;
  while (j < lx->len && !is_space(lx->s[j]) && !ctr__one_of("()\"'=,", lx->s[j]) && lx->s[j] != '\0')
    j++;
  return j - lx->i;
}

/* Falco's numbers: 0[xX][0-9a-fA-F]+ , or [+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)? */
size_t ctr__lex_number_len(const ctr__lexer *lx)
{
  const char *s = lx->s + lx->i;
  size_t n = lx->len - lx->i, j = 0;
  if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    for (j = 2; j < n && ctr__one_of("0123456789abcdefABCDEF", s[j]); j++)
      ;
    if (j > 2)
      return j;
    j = 0;
  }
  if (j < n && (s[j] == '+' || s[j] == '-'))
    j++;
  size_t d = j;
  while (j < n && is_digit(s[j]))
    j++;
  if (j == d)
    return 0;
  if (j < n && s[j] == '.')
    j++;
  while (j < n && is_digit(s[j]))
    j++;
  if (j + 2 < n && (s[j] == 'e' || s[j] == 'E') && (s[j + 1] == '+' || s[j + 1] == '-') && is_digit(s[j + 2])) {
    j += 2;
    while (j < n && is_digit(s[j]))
      j++;
  }
  return j;
}

/* Falco's operator table, in its order. A word operator needs a blank after
 * it (`containsx` is no operator); the others may touch what follows
 * (`exists)`, `in(`, `existsand`). */
static const struct {
  const char *text;
  ctr__op op;
  bool blank_after;
} ops[] = {
  {"exists", CTR__OP_EXISTS, false},
  {"<=", CTR__OP_LE, false}, {"<", CTR__OP_LT, false}, {">=", CTR__OP_GE, false}, {">", CTR__OP_GT, false},
  {"==", CTR__OP_EQ, false}, {"=", CTR__OP_EQ, false}, {"!=", CTR__OP_NE, false},
  {"glob", CTR__OP_GLOB, true}, {"iglob", CTR__OP_IGLOB, true}, {"contains", CTR__OP_CONTAINS, true},
  {"icontains", CTR__OP_ICONTAINS, true}, {"bcontains", CTR__OP_BCONTAINS, true},
  {"startswith", CTR__OP_STARTSWITH, true}, {"bstartswith", CTR__OP_BSTARTSWITH, true},
  {"endswith", CTR__OP_ENDSWITH, true}, {"regex", CTR__OP_REGEX, true},
  {"intersects", CTR__OP_INTERSECTS, false}, {"in", CTR__OP_IN, false}, {"pmatch", CTR__OP_PMATCH, false},
};

/* What each operator takes (libsinsp's parser and compiler): the one place
 * the parser, the compiler and the exception collector ask. */
static const unsigned op_traits[CTR__OP__COUNT] = {
  [CTR__OP_EQ] = CTR__OPT_MODIFIER | CTR__OPT_ON_NUMBER,
  [CTR__OP_NE] = CTR__OPT_MODIFIER | CTR__OPT_ON_NUMBER,
  [CTR__OP_LT] = CTR__OPT_NUMBER | CTR__OPT_ON_NUMBER,
  [CTR__OP_LE] = CTR__OPT_NUMBER | CTR__OPT_ON_NUMBER,
  [CTR__OP_GT] = CTR__OPT_NUMBER | CTR__OPT_ON_NUMBER,
  [CTR__OP_GE] = CTR__OPT_NUMBER | CTR__OPT_ON_NUMBER,
  [CTR__OP_CONTAINS] = CTR__OPT_MODIFIER,
  [CTR__OP_ICONTAINS] = CTR__OPT_MODIFIER,
  [CTR__OP_STARTSWITH] = CTR__OPT_MODIFIER,
  [CTR__OP_ENDSWITH] = CTR__OPT_MODIFIER,
  [CTR__OP_GLOB] = CTR__OPT_MODIFIER,
  [CTR__OP_IGLOB] = CTR__OPT_MODIFIER,
  [CTR__OP_REGEX] = CTR__OPT_MODIFIER,
  [CTR__OP_IN] = CTR__OPT_LIST | CTR__OPT_ON_NUMBER,
  [CTR__OP_INTERSECTS] = CTR__OPT_LIST | CTR__OPT_ON_NUMBER,
  [CTR__OP_PMATCH] = CTR__OPT_LIST,
  [CTR__OP_EXISTS] = CTR__OPT_NO_VALUE | CTR__OPT_ON_NUMBER,
  [CTR__OP_BCONTAINS] = CTR__OPT_MODIFIER,
  [CTR__OP_BSTARTSWITH] = CTR__OPT_MODIFIER,
  [CTR__OP_PMATCH_GLOB] = CTR__OPT_LIST,
};

unsigned ctr__op_traits(ctr__op op) { return (unsigned)op < CTR__OP__COUNT ? op_traits[op] : 0; }

const char *ctr__op_name(ctr__op op)
{
  if (op == CTR__OP_EQ)
    return "=";
  if (op == CTR__OP_PMATCH_GLOB)
    op = CTR__OP_PMATCH;
  for (size_t k = 0; k < CTR__COUNTOF(ops); k++)
    if (ops[k].op == op)
      return ops[k].text;
  return "?";
}

bool ctr__lex_operator(ctr__lexer *lx, ctr__op *op)
{
  for (size_t k = 0; k < CTR__COUNTOF(ops); k++) {
    size_t save = lx->i;
    if (!ctr__lex_prefix(lx, ops[k].text))
      continue;
    if (ops[k].blank_after && !ctr__lex_skip_ws(lx)) {
      lx->i = save;
      return false; /* Falco stops at the first operator word it sees */
    }
    *op = ops[k].op;
    return true;
  }
  return false;
}

static const char *const mod_names[] = {[CTR__MOD_ANYOF] = "anyof", [CTR__MOD_ALLOF] = "allof",
                                        [CTR__MOD_ONEOF] = "oneof"};

const char *ctr__mod_name(ctr__mod mod)
{
  return mod > CTR__MOD_NONE && (size_t)mod < CTR__COUNTOF(mod_names) ? mod_names[mod] : "";
}

ctr__mod ctr__lex_modifier(ctr__lexer *lx)
{
  for (size_t m = CTR__MOD_NONE + 1; m < CTR__COUNTOF(mod_names); m++)
    if (ctr__lex_prefix(lx, mod_names[m]))
      return (ctr__mod)m;
  return CTR__MOD_NONE;
}

/* The blanks Falco's collector trims around an exception's comparison and
 * splits it at. */
static bool is_comp_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool ctr__exception_comp(const char *c, size_t n, bool *takes_list)
{
  while (n && is_comp_blank(*c))
    c++, n--;
  while (n && is_comp_blank(c[n - 1]))
    n--;
  *takes_list = false;
  size_t word = 0; /* the operator: up to the first blank */
  while (word < n && !is_comp_blank(c[word]))
    word++;
  size_t k = 0;
  while (k < CTR__COUNTOF(ops) && !(strlen(ops[k].text) == word && memcmp(ops[k].text, c, word) == 0))
    k++;
  if (k == CTR__COUNTOF(ops) || (op_traits[ops[k].op] & CTR__OPT_NO_VALUE))
    return false;
  if (word == n) {
    *takes_list = (op_traits[ops[k].op] & CTR__OPT_LIST) != 0;
    return true;
  }
  /* A string operator, blanks, then a list modifier and nothing else. */
  ctr__lexer lx = {c, n, word};
  while (lx.i < n && is_comp_blank(c[lx.i]))
    lx.i++;
  *takes_list = true;
  return (op_traits[ops[k].op] & CTR__OPT_MODIFIER) && ctr__lex_modifier(&lx) && lx.i == n;
}

/* Transformers are recognised with their '(' (Falco: "b64 (x)" is none). */
static const struct {
  const char *name;
  ctr__tf tf;
} transformers[] = {{"tolower(", CTR__TF_TOLOWER}, {"toupper(", CTR__TF_TOUPPER}, {"b64(", CTR__TF_B64},
                    {"basename(", CTR__TF_BASENAME}, {"len(", CTR__TF_LEN}, {"join(", CTR__TF_JOIN},
                    {"concat(", CTR__TF_CONCAT}, {"getopt(", CTR__TF_GETOPT}};

ctr__tf ctr__lex_transformer(ctr__lexer *lx)
{
  for (size_t i = 0; i < CTR__COUNTOF(transformers); i++)
    if (ctr__lex_prefix(lx, transformers[i].name))
      return transformers[i].tf;
  return CTR__TF_NONE;
}

const char *ctr__tf_name(ctr__tf tf)
{
  static const char *const names[] = {
    [CTR__TF_NONE] = "",         [CTR__TF_TOLOWER] = "tolower", [CTR__TF_TOUPPER] = "toupper",
    [CTR__TF_B64] = "b64",       [CTR__TF_BASENAME] = "basename", [CTR__TF_LEN] = "len",
    [CTR__TF_VAL] = "val",       [CTR__TF_JOIN] = "join",       [CTR__TF_CONCAT] = "concat",
    [CTR__TF_GETOPT] = "getopt", [CTR__TF_LIT] = "a value",     [CTR__TF_LIST] = "a list"};
  return (size_t)tf < CTR__COUNTOF(names) ? names[tf] : "?";
}
