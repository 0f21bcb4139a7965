/*
 * fields_evt.c - the generic evt.* fields Falco offers on plugin events
 * (libsinsp's gen_event filtercheck), over the CloudTrail record.
 */
#include "internal.h"

#include <string.h>
#include <time.h>

#define NS 1000000000ull

/* The event timestamp as Falco holds it: an unsigned count of ns. eventTime
 * before 1970 (or missing/invalid, time_ns == 0) gives 0. */
static uint64_t ts_of(const ctr__event *ev)
{
  return ev->time_ns > 0 ? (uint64_t)ev->time_ns : 0;
}

static int put_text(const ctr__event *ev, const char *buf, int n, ctr__value *out)
{
  if (n < 0)
    n = 0;
  char *p = ctr__arena_strndup(ev->arena, buf, (size_t)n);
  if (!p)
    return CTR_ENOMEM;
  ctr__value_str(out, p, (size_t)n);
  return CTR_OK;
}

/* Writes v as `width` decimal digits, zero-padded (v < 10^width). */
static char *put_digits(char *p, unsigned v, int width)
{
  for (int i = width - 1; i >= 0; i--, v /= 10)
    p[i] = (char)('0' + v % 10);
  return p + width;
}

/* The event time as sinsp_utils::ts_to_string and ts_to_iso_8601 write it,
 * always in UTC: ["YYYY-MM-DD" date_sep] "hh:mm:ss" [".nnnnnnnnn"]
 * ["+0000"]. Written digit by digit: a rule on evt.time reads it for every
 * record, and snprintf cost as much as the rest of the record. */
static int time_text(const ctr__event *ev, char date_sep, bool ns, bool zone, ctr__value *out)
{
  uint64_t ts = ts_of(ev);
  time_t sec = (time_t)(ts / NS);
  struct tm tm;
  if (!gmtime_r(&sec, &tm))
    memset(&tm, 0, sizeof tm);
  char buf[48], *p = buf; /* ts < 2^64 ns: the year has 4 digits */
  if (date_sep) {
    p = put_digits(p, (unsigned)(tm.tm_year + 1900), 4);
    *p++ = '-';
    p = put_digits(p, (unsigned)(tm.tm_mon + 1), 2);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mday, 2);
    *p++ = date_sep;
  }
  p = put_digits(p, (unsigned)tm.tm_hour, 2);
  *p++ = ':';
  p = put_digits(p, (unsigned)tm.tm_min, 2);
  *p++ = ':';
  p = put_digits(p, (unsigned)tm.tm_sec, 2);
  if (ns) {
    *p++ = '.';
    p = put_digits(p, (unsigned)(ts % NS), 9);
  }
  if (zone) {
    memcpy(p, "+0000", 5);
    p += 5;
  }
  return put_text(ev, buf, (int)(p - buf), out);
}

CTR__EXTRACT(x_num)
{
  CTR__NOARG();
  ctr__value_u64(out, ev->index + 1);
  return CTR_OK;
}

CTR__EXTRACT(x_time)
{
  CTR__NOARG();
  return time_text(ev, 0, true, false, out);
}

CTR__EXTRACT(x_time_s)
{
  CTR__NOARG();
  return time_text(ev, 0, false, false, out);
}

CTR__EXTRACT(x_datetime)
{
  CTR__NOARG();
  return time_text(ev, ' ', true, false, out);
}

CTR__EXTRACT(x_datetime_s)
{
  CTR__NOARG();
  return time_text(ev, ' ', false, false, out);
}

/* sinsp_utils::ts_to_iso_8601: "%FT%T" + ".%09u" + "%z" of gmtime. */
CTR__EXTRACT(x_time_iso8601)
{
  CTR__NOARG();
  return time_text(ev, 'T', true, true, out);
}

CTR__EXTRACT(x_rawtime)
{
  CTR__NOARG();
  ctr__value_u64(out, ts_of(ev));
  return CTR_OK;
}

CTR__EXTRACT(x_rawtime_s)
{
  CTR__NOARG();
  ctr__value_u64(out, ts_of(ev) / NS);
  return CTR_OK;
}

CTR__EXTRACT(x_rawtime_ns)
{
  CTR__NOARG();
  ctr__value_u64(out, ts_of(ev) % NS);
  return CTR_OK;
}

/* Falco: ns since the first event of the capture. The scanner keeps no
 * capture start, so every event is its own start: always 0. */
CTR__EXTRACT(x_reltime)
{
  CTR__NOARG();
  CTR__UNUSED(ev);
  ctr__value_u64(out, 0);
  return CTR_OK;
}

CTR__EXTRACT(x_pluginname)
{
  CTR__NOARG();
  CTR__UNUSED(ev);
  ctr__value_cstr(out, "cloudtrail");
  return CTR_OK;
}

CTR__EXTRACT(x_source)
{
  CTR__NOARG();
  CTR__UNUSED(ev);
  ctr__value_cstr(out, "aws_cloudtrail");
  return CTR_OK;
}

CTR__EXTRACT(x_is_async)
{
  CTR__NOARG();
  CTR__UNUSED(ev);
  ctr__value_cstr(out, "false");
  return CTR_OK;
}

CTR__EXTRACT(x_asynctype)
{
  CTR__NOARG();
  CTR__UNUSED(ev);
  memset(out, 0, sizeof *out);
  return CTR_OK;
}

CTR__EXTRACT(x_hostname)
{
  CTR__NOARG();
  ctr__value_cstr(out, ev->hostname ? ev->hostname : "");
  return CTR_OK;
}

/* The plugin's String(): "<awsRegion>[ <ct.user>] <shortsrc> <eventName> <ct.info>";
 * absent when eventSource, awsRegion or eventName is not a string. */
CTR__EXTRACT(x_plugininfo)
{
  CTR__NOARG();
  /* From the walked bytes where they can be: a rule on evt.plugininfo
   * reads them for every record. */
  ctr__pathval src = ctr__event_path_value(ev, "eventSource");
  ctr__pathval region = ctr__event_path_value(ev, "awsRegion");
  ctr__pathval name = ctr__event_path_value(ev, "eventName");
  if (src.kind != CTR__PV_STRING || region.kind != CTR__PV_STRING || name.kind != CTR__PV_STRING) {
    memset(out, 0, sizeof *out);
    return CTR_OK;
  }
  /* ct.user, ct.shortsrc and ct.info come from their own extractors. */
  static const char *const names[] = {"ct.user", "ct.shortsrc", "ct.info"};
  ctr__value v[3];
  for (size_t i = 0; i < 3; i++) {
    const ctr__field_def *d = ctr__field_lookup(names[i], strlen(names[i]));
    int rc = d ? d->extract(ev, NULL, 0, &v[i]) : CTR_OK;
    if (!d)
      memset(&v[i], 0, sizeof v[i]);
    if (rc != CTR_OK)
      return rc;
  }
  bool user = v[0].kind == CTR__V_STR && v[0].len > 0;
  size_t total = region.len + (user ? 1 + v[0].len : 0) + 1 + v[1].len + 1 + name.len + 1 + v[2].len;
  char *p = ctr__arena_alloc(ev->arena, total + 1);
  if (!p)
    return CTR_ENOMEM;
  size_t k = 0;
#define APPEND(s, n)        \
  do {                      \
    if (n)                  \
      memcpy(p + k, s, n);  \
    k += (n);               \
  } while (0)
  APPEND(region.s, region.len);
  if (user) {
    APPEND(" ", 1);
    APPEND(v[0].str, v[0].len);
  }
  APPEND(" ", 1);
  APPEND(v[1].str, v[1].len);
  APPEND(" ", 1);
  APPEND(name.s, name.len);
  APPEND(" ", 1);
  APPEND(v[2].str, v[2].len);
#undef APPEND
  p[k] = '\0';
  ctr__value_str(out, p, k);
  return CTR_OK;
}

#define F(name, type, fn, desc) {name, type, CTR__ARG_NONE, fn, desc, CTR__RAW_NONE, 0}
#define S CTR__FT_STRING
#define U CTR__FT_UINT64

const ctr__field_def ctr__fields_evt[] = {
  F("evt.num", U, x_num, "Event number: the record index + 1, counting every record of the stream (bad and skipped ones too), as Falco numbers every event it reads."),
  F("evt.time", S, x_time, "Event time (eventTime) as \"HH:MM:SS.nnnnnnnnn\", UTC."),
  F("evt.time.s", S, x_time_s, "Event time as \"HH:MM:SS\", UTC."),
  F("evt.time.iso8601", S, x_time_iso8601, "Event time as \"YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000\"."),
  F("evt.datetime", S, x_datetime, "Event time as \"YYYY-MM-DD HH:MM:SS.nnnnnnnnn\", UTC."),
  F("evt.datetime.s", S, x_datetime_s, "Event time as \"YYYY-MM-DD HH:MM:SS\", UTC."),
  F("evt.rawtime", U, x_rawtime, "Event time in ns since the epoch (0 if eventTime is missing or invalid)."),
  F("evt.rawtime.s", U, x_rawtime_s, "Integer part of evt.rawtime in seconds."),
  F("evt.rawtime.ns", U, x_rawtime_ns, "Fractional part of evt.rawtime in ns."),
  F("evt.reltime", U, x_reltime, "Ns since the start of the capture; always 0 (no capture start is kept)."),
  F("evt.reltime.s", U, x_reltime, "Seconds since the start of the capture; always 0."),
  F("evt.reltime.ns", U, x_reltime, "Fractional ns since the start of the capture; always 0."),
  F("evt.pluginname", S, x_pluginname, "Always \"cloudtrail\"."),
  F("evt.plugininfo", S, x_plugininfo,
    "\"<awsRegion> <ct.user> <ct.shortsrc> <eventName> <ct.info>\" (no user part when ct.user is absent or "
    "empty); absent if eventSource, awsRegion or eventName is not a string."),
  F("evt.source", S, x_source, "Always \"aws_cloudtrail\"."),
  F("evt.is_async", S, x_is_async, "Always \"false\"."),
  F("evt.asynctype", S, x_asynctype, "Always absent (CloudTrail events are never asynchronous)."),
  F("evt.hostname", S, x_hostname, "Host name given to the scanner."),
};

const size_t ctr__fields_evt_count = CTR__COUNTOF(ctr__fields_evt);
