// simdjson_baseline.cpp - the simdjson baselines of ctrule-bench (see
// simdjson_baseline.h): the figures issue 18's targets are ratios to.
// One parser per process, reused for every record, as a tuned loop would.
#include "simdjson_baseline.h"

#include <cstring>
#include <simdjson.h>
#include <string_view>

using namespace simdjson;

static constexpr std::string_view k_rds = "rds.amazonaws.com";

extern "C" size_t ctb_simdjson_padding(void) { return SIMDJSON_PADDING; }

extern "C" const char *ctb_simdjson_kernel(void)
{
  static std::string name(get_active_implementation()->name());
  return name.c_str();
}

// Calls fn(line, line_len, room) for each non-empty line; room is how many
// bytes may be read from the line's start (the buffer's padding included).
template <typename F> static int each_line(const char *data, size_t len, uint64_t *records, F fn)
{
  uint64_t n = 0;
  for (const char *p = data, *end = data + len; p < end;) {
    const char *nl = static_cast<const char *>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    size_t l = nl ? static_cast<size_t>(nl - p) : static_cast<size_t>(end - p);
    if (l) {
      if (fn(p, l, static_cast<size_t>(end - p) + SIMDJSON_PADDING) != 0)
        return -1;
      n++;
    }
    p += l + 1;
  }
  *records = n;
  return 0;
}

extern "C" int ctb_simdjson_eventsource(const char *data, size_t len, uint64_t *records, uint64_t *rds)
{
  static ondemand::parser parser;
  uint64_t hits = 0;
  int rc = each_line(data, len, records, [&](const char *p, size_t l, size_t room) {
    ondemand::document doc;
    std::string_view src;
    if (parser.iterate(padded_string_view(p, l, room)).get(doc) || doc["eventSource"].get_string().get(src))
      return -1;
    hits += src == k_rds;
    return 0;
  });
  *rds = hits;
  return rc;
}

extern "C" int ctb_simdjson_dom(const char *data, size_t len, uint64_t *records, uint64_t *rds)
{
  static dom::parser parser;
  uint64_t hits = 0;
  int rc = each_line(data, len, records, [&](const char *p, size_t l, size_t) {
    dom::element root;
    std::string_view src;
    // realloc_if_needed = false: the caller's buffer carries the padding.
    if (parser.parse(p, l, false).get(root) || root["eventSource"].get_string().get(src))
      return -1;
    hits += src == k_rds;
    return 0;
  });
  *rds = hits;
  return rc;
}
