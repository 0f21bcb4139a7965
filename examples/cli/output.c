/* output.c - colours, time stamps and Falco's alert JSON. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ colours */

bool colors_decide(const char *when, FILE *stream, bool *ok)
{
  *ok = true;
  if (!when || strcmp(when, "auto") == 0) {
    const char *no = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    if (no && *no)
      return false;
    if (term && strcmp(term, "dumb") == 0)
      return false;
    return isatty(fileno(stream)) == 1;
  }
  if (strcmp(when, "always") == 0)
    return true;
  if (strcmp(when, "never") == 0)
    return false;
  *ok = false;
  return false;
}

const char *color_priority(bool on, int priority)
{
  if (!on)
    return "";
  switch (priority) {
  case CTR_PRIORITY_EMERGENCY:
  case CTR_PRIORITY_ALERT:
  case CTR_PRIORITY_CRITICAL:
    return "\033[1;31m";
  case CTR_PRIORITY_ERROR:
    return "\033[31m";
  case CTR_PRIORITY_WARNING:
    return "\033[33m";
  case CTR_PRIORITY_NOTICE:
    return "\033[36m";
  case CTR_PRIORITY_INFORMATIONAL:
    return "\033[32m";
  default:
    return "\033[2m";
  }
}

const char *color_dim(bool on)
{
  return on ? "\033[2m" : "";
}

const char *color_bold(bool on)
{
  return on ? "\033[1m" : "";
}

const char *color_reset(bool on)
{
  return on ? "\033[0m" : "";
}

/* ------------------------------------------------------------ JSON */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
  unsigned c = s[0];
  size_t k;
  unsigned min;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    k = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    k = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    k = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (n < k)
    return 0;
  unsigned cp = c & (0x7f >> k);
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return k;
}

void json_add_string_n(buf *b, const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  buf_reserve(b, n + 2);
  buf_addc(b, '"');
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      buf_addc(b, '\\');
      buf_addc(b, (char)c);
      i++;
    } else if (c < 0x20) {
      switch (c) {
      case '\n': buf_add(b, "\\n", 2); break;
      case '\r': buf_add(b, "\\r", 2); break;
      case '\t': buf_add(b, "\\t", 2); break;
      case '\b': buf_add(b, "\\b", 2); break;
      case '\f': buf_add(b, "\\f", 2); break;
      default: buf_printf(b, "\\u%04x", c); break;
      }
      i++;
    } else if (c < 0x80) {
      buf_addc(b, (char)c);
      i++;
    } else {
      size_t k = utf8_len(s + i, n - i);
      if (k == 0) {
        buf_add(b, "\\ufffd", 6);
        i++;
      } else {
        buf_add(b, (const char *)s + i, k);
        i += k;
      }
    }
  }
  buf_addc(b, '"');
}

void json_add_string(buf *b, const char *s)
{
  json_add_string_n(b, s, strlen(s));
}

/* ------------------------------------------------------------ time */

static void split_time(int64_t ns, struct tm *tm, long *frac)
{
  int64_t secs = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    secs -= 1;
  }
  time_t t = (time_t)secs;
  if (!gmtime_r(&t, tm))
    memset(tm, 0, sizeof *tm);
  *frac = (long)rem;
}

void format_time_ns(char out[64], int64_t ns)
{
  struct tm tm;
  long frac;
  split_time(ns, &tm, &frac);
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

void format_time_short(char out[64], int64_t ns)
{
  if (ns == 0) {
    snprintf(out, 64, "%-20s", "(no eventTime)");
    return;
  }
  struct tm tm;
  long frac;
  split_time(ns, &tm, &frac);
  if (frac == 0) {
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
  } else {
    /* Trailing zeros of the fraction dropped. */
    char f[16];
    snprintf(f, sizeof f, "%09ld", frac);
    for (int i = 8; i > 0 && f[i] == '0'; i--)
      f[i] = '\0';
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%sZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, f);
  }
}

void format_bytes(char out[32], double bytes)
{
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
  size_t u = 0;
  while (bytes >= 1000.0 && u + 1 < sizeof units / sizeof units[0]) {
    bytes /= 1000.0;
    u++;
  }
  if (u == 0)
    snprintf(out, 32, "%.0f %s", bytes, units[u]);
  else
    snprintf(out, 32, "%.1f %s", bytes, units[u]);
}

/* ------------------------------------------------------------ alerts */

void alert_json(buf *b, const ctr_match *m, const char *hostname)
{
  /* Falco writes the keys in this (alphabetical) order. */
  buf_adds(b, "{\"hostname\":");
  json_add_string(b, hostname);
  buf_adds(b, ",\"output\":");
  json_add_string(b, ctr_match_output(m));
  buf_adds(b, ",\"output_fields\":{");
  size_t nf = ctr_match_field_count(m);
  for (size_t i = 0; i < nf; i++) {
    if (i)
      buf_addc(b, ',');
    json_add_string(b, ctr_match_field_name(m, i));
    buf_addc(b, ':');
    const char *v = ctr_match_field_value(m, i);
    if (v)
      json_add_string(b, v);
    else
      buf_adds(b, "null");
  }
  buf_adds(b, "},\"priority\":");
  const char *pname = ctr_priority_name(ctr_match_priority(m));
  json_add_string(b, pname ? pname : "Debug");
  buf_adds(b, ",\"rule\":");
  json_add_string(b, ctr_match_rule(m));
  buf_adds(b, ",\"source\":");
  json_add_string(b, ctr_match_source(m));
  buf_adds(b, ",\"tags\":[");
  size_t nt = ctr_match_tag_count(m);
  for (size_t i = 0; i < nt; i++) {
    if (i)
      buf_addc(b, ',');
    json_add_string(b, ctr_match_tag(m, i));
  }
  char t[64];
  format_time_ns(t, ctr_match_time(m));
  buf_adds(b, "],\"time\":");
  json_add_string(b, t);
  buf_addc(b, '}');
}
