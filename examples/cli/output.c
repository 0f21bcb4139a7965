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
