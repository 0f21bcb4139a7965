package main

// The C side of the comparison, in this process: the scan ctrule-bench -1
// times (tests/bench/cases.c, ctb_case_scan), one cgo call for the whole
// corpus.

/*
#cgo pkg-config: ctrule
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctrule.h"

static int count_match(const ctr_match *m, void *ud)
{
  (void)m;
  ++*(uint64_t *)ud;
  return 0;
}

// The same, the match's output read first: the library renders an alert's
// output and output fields on the callback's first read of either, which
// count_match never makes and every binding does. 1 (stop) if out of memory.
static int render_match(const ctr_match *m, void *ud)
{
  if (!ctr_match_output(m))
    return 1;
  ++*(uint64_t *)ud;
  return 0;
}

// What a C program pays for what a Go Alert holds: the match saved for its
// Falco JSON line (ctr_match_save), the record, the rule, source, output,
// tags and fields in one block of its own (freed at once: a C caller would keep it
// only as long as it needs it). 1 (stop) if out of memory.
static int copy_match(const ctr_match *m, void *ud)
{
  size_t saved_len = 0, raw_len = 0;
  if (ctr_match_save(m, NULL, 0, &saved_len) != CTR_OK)
    return 1;
  const char *raw = ctr_match_event(m, &raw_len);
  const char *str[3] = {ctr_match_rule(m), ctr_match_source(m), ctr_match_output(m)};
  size_t ntags = ctr_match_tag_count(m), nfields = ctr_match_field_count(m), need = saved_len + raw_len;
  for (int i = 0; i < 3; i++)
    need += strlen(str[i]) + 1;
  for (size_t i = 0; i < ntags; i++)
    need += strlen(ctr_match_tag(m, i)) + 1;
  for (size_t i = 0; i < nfields; i++) {
    const char *v = ctr_match_field_value(m, i);
    need += strlen(ctr_match_field_name(m, i)) + 1 + (v ? strlen(v) : 0) + 1;
  }
  char *block = malloc(need), *p = block;
  size_t saved_got = 0;
  if (!block || ctr_match_save(m, p, saved_len, &saved_got) != CTR_OK || saved_got != saved_len) {
    free(block);
    return 1;
  }
  p += saved_len;
#define PUT(s, n) (memcpy(p, (s), (n)), p += (n))
  PUT(raw, raw_len);
  for (int i = 0; i < 3; i++)
    PUT(str[i], strlen(str[i]) + 1);
  for (size_t i = 0; i < ntags; i++)
    PUT(ctr_match_tag(m, i), strlen(ctr_match_tag(m, i)) + 1);
  for (size_t i = 0; i < nfields; i++) {
    const char *v = ctr_match_field_value(m, i);
    PUT(ctr_match_field_name(m, i), strlen(ctr_match_field_name(m, i)) + 1);
    PUT(v ? v : "", (v ? strlen(v) : 0) + 1);
  }
#undef PUT
  free(block);
  ++*(uint64_t *)ud;
  return 0;
}

// Feeds data in slices of chunk bytes to a new scanner whose callback
// counts the matches in *matches (how 0: only that, 1: reading the output
// first, render_match, 2: copying each, copy_match); the records framed, 0
// if a call failed.
static uint64_t scan_in_c(ctr_ruleset *rs, const char *data, size_t len, size_t chunk, int how, uint64_t *matches)
{
  static const ctr_match_fn fns[] = {count_match, render_match, copy_match};
  ctr_scanner *sc;
  *matches = 0;
  if (how < 0 || how > 2 || ctr_scanner_new(rs, fns[how], matches, &sc) != CTR_OK)
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

// scanHow is what the C callback does with each match (scan_in_c).
type scanHow int

const (
	cCount  scanHow = iota // count a borrowed view
	cRender                // read the output (rendered), then count
	cCopy                  // copy what a Go Alert holds
)

// scan runs scan_in_c over data (only read during the call), each match
// handled as how says.
func (r cRuleset) scan(data []byte, how scanHow) (records, matches uint64) {
	var m C.uint64_t
	n := C.scan_in_c(r.rs, (*C.char)(unsafe.Pointer(unsafe.SliceData(data))), C.size_t(len(data)), chunk, C.int(how), &m)
	return uint64(n), uint64(m)
}
