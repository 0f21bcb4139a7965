/* scan_correlate.c - Sigma correlations across every input of `ctrule scan`,
 * in input order whatever -j: the workers' scanners correlate nothing
 * (CTR_SCAN_NO_CORRELATION) but keep each record with a match; when an
 * input's output is printed, its kept records are fed to one correlating
 * scanner (CTR_SCAN_ONLY_CORRELATION; one stream for the run, finished after
 * the last input), whose alerts follow that input's own, placed on the
 * input's records. -j 1 takes the same path, so -j N prints what -j 1 prints
 * by construction. */
#include "scan.h"

#include <stdlib.h>
#include <string.h>

/* Keeps the match's record (once: a record's matches come one after another). */
void keep_record(worker *w, const ctr_match *m)
{
  kept_recs *k = w->out ? &w->out->kept : &w->kept;
  uint64_t index = ctr_match_record_index(m), offset = ctr_match_byte_offset(m);
  if (k->n && k->v[k->n - 1].index == index && k->v[k->n - 1].offset == offset)
    return;
  if (k->n == k->cap) {
    k->cap = k->cap ? k->cap * 2 : 16;
    k->v = xrealloc(k->v, k->cap * sizeof *k->v);
  }
  size_t len;
  const char *raw = ctr_match_event(m, &len);
  char *copy = xmalloc(len ? len : 1);
  memcpy(copy, raw, len);
  k->v[k->n++] = (kept_rec){copy, len, index, offset};
}

void kept_free(kept_recs *k)
{
  for (size_t i = 0; i < k->n; i++)
    free(k->v[i].raw);
  free(k->v);
  *k = (kept_recs){0};
}

/* The correlator's result for what was fed since c->fed was set; false
 * when the scan stops. Its placement needs one record per kept record. */
static bool correlator_fed(worker *c, int rc)
{
  if (rc == CTR_OK && ctr_scanner_stat(c->sc, CTR_STAT_RECORDS) != ++c->records_fed)
    rc = CTR_EINVAL;
  if (rc == CTR_OK || rc == CTR_STOPPED)
    return rc == CTR_OK;
  report(c, false, "%s: record %llu at byte %llu: internal error: the record did not read back as one record to correlate (%s)",
         c->cur->display, (unsigned long long)c->fed->index, (unsigned long long)c->fed->offset, ctr_strerror(rc));
  c->internal_error = rc == CTR_ENOMEM ? rc : CTR_EINVAL;
  return false;
}

/* After input `in`'s own output: its kept records through the correlator,
 * one after another in one NDJSON stream for the whole run (a correlation
 * decided when the stream ends is decided once, by correlate_finish), each
 * alert and report placed on the kept record being fed, and printed at once.
 * Called in printing order, by one thread at a time. */
void correlate_input(scan_run *r, const input *in, kept_recs *k)
{
  worker *c = r->correlator;
  c->cur = in;
  c->cur_has_error = false;
  for (size_t i = 0; i < k->n && !c->internal_error && !c->output_failed && !atomic_load(&r->stop); i++) {
    c->fed = &k->v[i];
    int rc = ctr_scanner_feed(c->sc, k->v[i].raw, k->v[i].len);
    if (rc == CTR_OK)
      rc = ctr_scanner_feed(c->sc, "\n", 1);
    if (!correlator_fed(c, rc))
      break;
    c->last_fed = (kept_rec){NULL, 0, k->v[i].index, k->v[i].offset};
    c->last_in = in;
  }
  c->fed = NULL;
  if (c->cur_has_error)
    c->input_errors++;
  kept_free(k);
  if (c->internal_error || c->output_failed)
    atomic_store(&r->stop, true);
}

/* The end of the correlator's stream, after every input: what it decides
 * then is placed on the last record fed, in its input. */
void correlate_finish(scan_run *r)
{
  worker *c = r->correlator;
  if (!c->last_in || c->internal_error || c->output_failed || atomic_load(&r->stop))
    return;
  c->cur = c->last_in;
  c->fed = &c->last_fed;
  c->records_fed--; /* finish reads no new record */
  correlator_fed(c, ctr_scanner_finish(c->sc));
  c->fed = NULL;
}
