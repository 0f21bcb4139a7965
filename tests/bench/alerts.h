/* alerts.h - the match callbacks the benchmark programs time: one that
 * counts alerts, one that reads each alert's output and fields as a caller
 * showing alerts does (the library renders them on that first read). Each
 * adds one to the uint64_t its user data points at. */
#ifndef CTR_BENCH_ALERTS_H
#define CTR_BENCH_ALERTS_H

#include <ctrule.h>

int ctb_count_alert(const ctr_match *m, void *ud);
/* Stops the scan (out of memory) when the output could not be rendered. */
int ctb_read_alert(const ctr_match *m, void *ud);

#endif
