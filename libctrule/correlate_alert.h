/*
 * correlate_alert.h - what the correlation state tells (correlate_alert.c):
 * the alerts it makes, handed out by ctr__correlate_next, and its reports
 * of matches it could not count. Private to the correlate_*.c files.
 */
#ifndef CTR_CORRELATE_ALERT_H
#define CTR_CORRELATE_ALERT_H

#include "correlate_check.h"

/* A report about correlation c on the match on ev. */
__attribute__((format(printf, 5, 6))) void ctr__corr_say(ctr__corrstate *s, const ctr__event *ev, int status,
                                                        const ctr__ccorr *c, const char *fmt, ...);
/* A report about c on the record at index, offset (a window closed there). */
__attribute__((format(printf, 6, 7))) void ctr__corr_say_at(ctr__corrstate *s, uint64_t index, uint64_t offset,
                                                           int status, const ctr__ccorr *c, const char *fmt, ...);

/* The alert record of verdict v on group g (the completing match's
 * eventTime and eventID from `last`, the correlation's count, group and
 * events), pending on ev's record. CTR_OK or CTR_ENOMEM. */
int ctr__make_alert(ctr__corrstate *s, const cgroup *g, const verdict *v, const ctr__event *ev, const centry *last);

#endif
