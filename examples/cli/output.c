/* output.c - colours, time stamps and sizes. (An alert's Falco JSON is the
 * library's ctr_match_json.) */
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

/* n as `width` decimal digits ending at end (n < 10^width): out-of-line
 * snprintf was most of what an alert's time cost the text output. */
static void put_digits(char *end, unsigned long n, int width)
{
  for (int i = 0; i < width; i++, n /= 10)
    *--end = (char)('0' + n % 10);
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
  /* An int64 of nanoseconds lies in the years 1677-2262: four digits. */
  memcpy(out, "0000-00-00T00:00:00", 19);
  put_digits(out + 4, (unsigned long)(tm.tm_year + 1900), 4);
  put_digits(out + 7, (unsigned long)tm.tm_mon + 1, 2);
  put_digits(out + 10, (unsigned long)tm.tm_mday, 2);
  put_digits(out + 13, (unsigned long)tm.tm_hour, 2);
  put_digits(out + 16, (unsigned long)tm.tm_min, 2);
  put_digits(out + 19, (unsigned long)tm.tm_sec, 2);
  char *p = out + 19;
  if (frac) { /* the fraction without its trailing zeros */
    *p++ = '.';
    put_digits(p + 9, (unsigned long)frac, 9);
    p += 9;
    while (p[-1] == '0')
      p--;
  }
  memcpy(p, "Z", 2);
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
