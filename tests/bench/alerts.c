/* alerts.c - the benchmark's match callbacks (alerts.h). */
#include "alerts.h"

#include <stdint.h>
#include <string.h>

int ctb_count_alert(const ctr_match *m, void *ud)
{
  (void)m;
  ++*(uint64_t *)ud;
  return 0;
}

static volatile size_t g_read; /* what ctb_read_alert read, so that the reads are made */

int ctb_read_alert(const ctr_match *m, void *ud)
{
  const char *out = ctr_match_output(m);
  if (!out)
    return 1; /* out of memory rendering it: the scan returns CTR_ENOMEM */
  size_t n = strlen(out);
  for (size_t i = 0; i < ctr_match_field_count(m); i++) {
    const char *v = ctr_match_field_value(m, i);
    n += v ? strlen(v) : 0;
  }
  g_read += n;
  ++*(uint64_t *)ud;
  return 0;
}
