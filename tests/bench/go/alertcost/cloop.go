package main

// The C side of the comparison, in this process: the scan ctrule-bench -1
// times (tests/bench/cases.c, ctb_case_scan), one cgo call for the whole
// corpus.

/*
#cgo pkg-config: ctrule
#include <stdint.h>
#include <stdlib.h>
#include "ctrule.h"

static int count_match(const ctr_match *m, void *ud)
{
  (void)m;
  ++*(uint64_t *)ud;
  return 0;
}

// Feeds data in slices of chunk bytes to a new scanner; the records framed,
// and the matches in *matches; 0 records if a call failed.
static uint64_t scan_in_c(ctr_ruleset *rs, const char *data, size_t len, size_t chunk, uint64_t *matches)
{
  ctr_scanner *sc;
  *matches = 0;
  if (ctr_scanner_new(rs, count_match, matches, &sc) != CTR_OK)
    return 0;
  int rc = CTR_OK;
  for (size_t at = 0; rc == CTR_OK && at < len; at += chunk)
    rc = ctr_scanner_feed(sc, data + at, len - at < chunk ? len - at : chunk);
  if (rc == CTR_OK)
    rc = ctr_scanner_finish(sc);
  uint64_t records = rc == CTR_OK ? ctr_scanner_stat(sc, CTR_STAT_RECORDS) : 0;
  ctr_scanner_free(sc);
  return records;
}

static ctr_ruleset *compile_rds_and(const char *path)
{
  ctr_compiler *c;
  ctr_ruleset *rs = NULL;
  if (ctr_compiler_new(&c) != CTR_OK)
    return NULL;
  if (ctr_compiler_add_builtin(c, "rds") != CTR_OK || ctr_compiler_add_file(c, path) != CTR_OK ||
      ctr_compiler_compile(c, &rs) != CTR_OK)
    rs = NULL;
  ctr_compiler_free(c);
  return rs;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// cRuleset is the built-in RDS rules plus the file at path, compiled by C.
type cRuleset struct{ rs *C.ctr_ruleset }

func compileC(path string) (cRuleset, error) {
	p := C.CString(path)
	defer C.free(unsafe.Pointer(p))
	rs := C.compile_rds_and(p)
	if rs == nil {
		return cRuleset{}, errors.New("the rules do not compile in C")
	}
	return cRuleset{rs}, nil
}

// scan runs scan_in_c over data (only read during the call).
func (r cRuleset) scan(data []byte) (records, matches uint64) {
	var m C.uint64_t
	n := C.scan_in_c(r.rs, (*C.char)(unsafe.Pointer(unsafe.SliceData(data))), C.size_t(len(data)), chunk, &m)
	return uint64(n), uint64(m)
}
