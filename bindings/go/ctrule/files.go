package ctrule

import (
	"context"
	"encoding/binary"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"syscall"

	"github.com/libctrule/libctrule/bindings/go/internal/capi"
)

// FileResult is what ScanFiles found in one file.
type FileResult struct {
	Path         string
	Alerts       []Alert        // in stream order, those found before an error too
	Stats        Stats          // this file's own counters
	RecordErrors []*RecordError // its bad (and incomplete) records
	Warnings     []string       // e.g. "empty input: no record in it"
	// Err says why the file was not scanned to its end: it could not be
	// opened or read (*fs.PathError), its stream is corrupt, or it holds no
	// CloudTrail record (*ScanError; errors.Is(err, ErrNoRecords)).
	Err error
}

// keptRecord is a record with a match, noted for the correlations: its
// bytes (the Alert's Raw, not copied again) and where it lies in its file.
type keptRecord struct {
	raw           []byte
	index, offset uint64
}

// fileDone is what a worker leaves for the caller: a file's result and the
// records it noted.
type fileDone struct {
	res  FileResult
	kept []keptRecord
}

// correlates reports whether an enabled rule is a Sigma correlation (the
// compiler tags them).
func (r *Ruleset) correlates() bool {
	for _, rule := range r.rules {
		if rule.Enabled && slices.Contains(rule.Tags, "sigma.correlation") {
			return true
		}
	}
	return false
}

// keep returns the alerts to show and the records to forward, each once (a
// record's matches come one after another).
func keep(alerts []Alert) (shown []Alert, kept []keptRecord) {
	shown = alerts[:0:0]
	for _, a := range alerts {
		if n := len(kept); n == 0 || kept[n-1].index != a.RecordIndex || kept[n-1].offset != a.ByteOffset {
			kept = append(kept, keptRecord{a.Raw, a.RecordIndex, a.ByteOffset})
		}
		if !a.Silenced {
			shown = append(shown, a)
		}
	}
	return shown, kept
}

// correlator is ScanFiles' one OnlyCorrelation scanner, fed each file's
// noted records in file order as one NDJSON stream. What it finds while a
// record is fed (or, at the end, on the last record fed) is placed on that
// record's index and offset in its file, as it comes.
type correlator struct {
	sc            *Scanner
	alerts        []Alert
	errs          []*RecordError
	index, offset uint64 // the noted record being fed
	fed           uint64 // records fed, one stream
}

func (r *Ruleset) newCorrelator(opts []ScanOption) (*correlator, error) {
	c := &correlator{}
	opts = append(opts[:len(opts):len(opts)], OnlyCorrelation(),
		OnRecordError(func(e *RecordError) error {
			c.errs = append(c.errs, &RecordError{e.Status, c.index, c.offset, e.Message, e.Evaluated,
				fmt.Sprintf("record %d at byte %d: %s", c.index, c.offset, e.Message)})
			return nil
		}),
		OnWarning(func(string) {})) // an empty stream: nothing the files' results would not say
	// An alert is placed on the record being fed when it comes (as the CLI
	// places it): the one that completed it, not the file's last noted one.
	sc, err := r.NewScanner(func(a Alert) error {
		a.RecordIndex, a.ByteOffset = c.index, c.offset
		c.alerts = append(c.alerts, a)
		return nil
	}, opts...)
	if err != nil {
		return nil, err
	}
	c.sc = sc
	return c, nil
}

// take returns res with what the correlator found since the last take (its
// reports are about the correlations: they count in no statistic).
func (c *correlator) take(res FileResult) FileResult {
	res.Alerts = append(res.Alerts, c.alerts...)
	res.RecordErrors = append(res.RecordErrors, c.errs...)
	res.Stats.Matches += uint64(len(c.alerts))
	c.alerts, c.errs = nil, nil
	return res
}

// feed correlates one file's noted records.
func (c *correlator) feed(res FileResult, kept []keptRecord) (FileResult, error) {
	for _, k := range kept {
		c.index, c.offset = k.index, k.offset
		_, err := c.sc.Write(k.raw)
		if err == nil {
			_, err = c.sc.Write([]byte{'\n'})
		}
		c.fed++
		if err == nil && c.sc.Stats().Records != c.fed {
			err = fmt.Errorf("the record did not read back as one record to correlate")
		}
		if err != nil { // its placement needs one record per noted record
			return res, fmt.Errorf("ctrule: %s: record %d at byte %d: internal error: %w", res.Path, k.index, k.offset, err)
		}
	}
	return c.take(res), nil
}

// finish ends the stream after the last file: what is decided then is
// placed on the last record fed, in res (its file).
func (c *correlator) finish(res FileResult) (FileResult, error) {
	if err := c.sc.Finish(); err != nil {
		return res, fmt.Errorf("ctrule: %s: internal error: the correlations' stream: %w", res.Path, err)
	}
	return c.take(res), nil
}

// held delivers results in order with the correlator's findings joined. The
// result of the last file with a match is held (with those after it) until
// a later one with a match comes or the stream ends, since the end may
// decide a correlation on its last record.
type held struct {
	c    *correlator
	fn   func(FileResult) error
	wait []FileResult
}

func (h *held) flush() error {
	for _, res := range h.wait {
		if err := h.fn(res); err != nil {
			return err
		}
	}
	h.wait = h.wait[:0]
	return nil
}

func (h *held) add(d fileDone) error {
	switch {
	case h.c == nil:
		return h.fn(d.res)
	case len(d.kept) > 0:
		res, err := h.c.feed(d.res, d.kept)
		if err != nil {
			return err
		}
		if err := h.flush(); err != nil {
			return err
		}
		h.wait = append(h.wait, res)
		return nil
	case len(h.wait) > 0:
		h.wait = append(h.wait, d.res)
		return nil
	}
	return h.fn(d.res)
}

func (h *held) end() error {
	if h.c == nil || len(h.wait) == 0 {
		return nil
	}
	res, err := h.c.finish(h.wait[0])
	if err != nil {
		return err
	}
	h.wait[0] = res
	return h.flush()
}

func (s Stats) sub(b Stats) Stats {
	return Stats{s.Bytes - b.Bytes, s.Records - b.Records, s.Matches - b.Matches, s.BadRecords - b.BadRecords,
		s.Skipped - b.Skipped, s.Evaluated - b.Evaluated, s.Incomplete - b.Incomplete}
}

// ScanFiles scans files on `workers` threads (0: runtime.GOMAXPROCS(0)),
// each with a scanner of its own on r, and calls fn with each file's result
// in the order of paths, as `ctrule scan -j N` prints them, whatever order
// they finish in; the results are the same whatever `workers`. fn runs on
// the calling goroutine, one result at a time. The threads are C threads,
// as the CLI's, not goroutines: they read and scan each file in C, and the
// calling goroutine waits for their results in C (a goroutine per worker
// lost a quarter of two cores to Go's scheduler; see filePool).
//
// Sigma correlations see every file in file order, as in `ctrule scan`:
// with an enabled correlation in r the workers' scanners run with
// NoCorrelation and note each record with a match; in file order the
// calling goroutine feeds each file's noted records to one OnlyCorrelation
// scanner (one stream for the call, finished after the last file). A
// correlation's alert is in the result of the file whose record completed
// it, after that file's own alerts, on that record's index and offset (one
// the stream's end decides, a window with an upper bound: on the last
// record with a match); its reports join that file's RecordErrors. So the
// result of a file with a match is passed to fn once a later file with a
// match was correlated, or at the end.
// A file that cannot be read or ends in a stream error is a result with Err
// set; the others go on. At most 64 files per worker (and 64 more) are
// scanned ahead of the one fn waits for.
//
// A non-nil error from fn stops the scan and is returned; so is an error
// wrapping context.Cause(ctx) once ctx is done. opts apply to every
// scanner, except OnRecordError and OnWarning: bad records and warnings are
// collected in each FileResult instead.
func (r *Ruleset) ScanFiles(ctx context.Context, paths []string, workers int, fn func(FileResult) error,
	opts ...ScanOption) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(paths)))
	forward := r.correlates()
	pool, err := r.newFilePool(paths, workers, opts, forward)
	if err != nil {
		return err
	}
	// ctx's end stops the threads; the pool is freed only once that is done.
	cancelled := make(chan struct{})
	stopWatching := context.AfterFunc(ctx, func() {
		capi.Ctrgo_pool_cancel(pool.p)
		close(cancelled)
	})
	defer func() {
		if !stopWatching() {
			<-cancelled
		}
		pool.free()
	}()
	out := &held{fn: fn}
	if forward {
		c, err := r.newCorrelator(opts)
		if err != nil {
			return err
		}
		defer c.sc.Close()
		out.c = c
	}
	for i, path := range paths {
		if ctx.Err() != nil {
			return canceled(ctx)
		}
		done, err := pool.take(i, path)
		if err != nil {
			return err
		}
		if done == nil {
			return canceled(ctx)
		}
		if err := out.add(*done); err != nil {
			return err
		}
	}
	return out.end()
}

// filePool is ScanFiles' scanning threads, C threads with a scanner each
// (ctrgo_pool in ../internal/capi/ctrule.i, where the reason is): they
// claim the files in order, at most 64 per thread (and 64) beyond the one
// the caller takes, and the caller takes each file's result in order,
// waiting in C.
type filePool struct {
	p       capi.SwigcptrStruct_SS_ctrgo_pool
	buf     []byte
	forward bool
	rules   ruleNames // the rules' names, shared by their alerts (newAlert)
}

func (r *Ruleset) newFilePool(paths []string, workers int, opts []ScanOption, forward bool) (*filePool, error) {
	var cfg scanConfig
	for _, o := range opts {
		o(&cfg)
	}
	flags := cfg.flags
	if forward {
		flags |= uint(capi.CTR_SCAN_NO_CORRELATION)
	}
	out := []uintptr{0}
	r.mu.RLock()
	if r.rs == 0 {
		r.mu.RUnlock()
		return nil, ErrClosed
	}
	code := capi.Ctrgo_pool_new(r.rs, flags, workers, int64(64*workers+64), int64(len(paths)), out)
	r.mu.RUnlock()
	if code != int(StatusOK) {
		return nil, opError("new scanner", code)
	}
	fp := &filePool{p: capi.SwigcptrStruct_SS_ctrgo_pool(out[0]), buf: make([]byte, 64<<10), forward: forward}
	fail := func(op string, code int) (*filePool, error) {
		fp.free()
		return nil, opError(op, code)
	}
	for _, l := range cfg.limits {
		if code := capi.Ctrgo_pool_set_limit(fp.p, l.kind, l.value); code != int(StatusOK) {
			return fail("configure scanner", code)
		}
	}
	for i, path := range paths {
		if code := capi.Ctrgo_pool_path(fp.p, int64(i), path); code != int(StatusOK) {
			return fail("scan files", code)
		}
	}
	if code := capi.Ctrgo_pool_start(fp.p); code != int(StatusOK) {
		return fail("start threads", code)
	}
	return fp, nil
}

func (fp *filePool) free() { capi.Ctrgo_pool_free(fp.p) }

// take waits for file i's result; nil once the pool was cancelled.
func (fp *filePool) take(i int, path string) (*fileDone, error) {
	n := int(capi.Ctrgo_pool_take(fp.p, int64(i), fp.buf))
	if n > len(fp.buf) {
		fp.buf = make([]byte, n+n/2)
		n = int(capi.Ctrgo_pool_take(fp.p, int64(i), fp.buf))
	}
	if n == 0 {
		if capi.Ctrgo_pool_failed(fp.p) != 0 {
			return nil, opError("scan files", int(capi.CTR_ENOMEM))
		}
		return nil, nil
	}
	done := fp.result(path, fp.buf[:n])
	if cap(fp.buf) > 4<<20 { // grown for a file with many alerts: not kept
		fp.buf = make([]byte, 64<<10)
	}
	return &done, nil
}

// poolHead is CTRGO_POOL_HEAD: the uint64s before a result's items.
const poolHead = 16

// result reads what ctrgo_pool_scan wrote for a file.
func (fp *filePool) result(path string, b []byte) fileDone {
	u := func(k int) uint64 { return binary.NativeEndian.Uint64(b[8*k:]) }
	status, errno, op, flags := Status(int64(u(0))), syscall.Errno(u(1)), u(2), u(3)
	var stream [numStats]uint64
	for k := range stream {
		stream[k] = u(4 + k)
	}
	nalerts, nerrs, nlast := u(4+numStats), u(5+numStats), u(7+numStats)
	items := b[8*poolHead:]
	alerts, errs, last := items[:nalerts], items[nalerts:nalerts+nerrs], items[nalerts+nerrs:][:nlast]

	res := FileResult{Path: path, Stats: Stats{
		Bytes: stream[capi.CTR_STAT_BYTES], Records: stream[capi.CTR_STAT_RECORDS],
		Matches: stream[capi.CTR_STAT_MATCHES], BadRecords: stream[capi.CTR_STAT_BAD_RECORDS],
		Skipped: stream[capi.CTR_STAT_SKIPPED], Evaluated: stream[capi.CTR_STAT_EVALUATED],
		Incomplete: stream[capi.CTR_STAT_INCOMPLETE]}}
	const head = 8 * (1 + numStats) // a queued match: its size, the counters, its pack
	for a := alerts; len(a) >= head; {
		size := int(binary.NativeEndian.Uint64(a))
		res.Alerts = append(res.Alerts, newAlert(a[head:head+size], &fp.rules))
		a = a[head+size:]
	}
	for r := (packReader{b: errs, text: string(errs)}); r.at < len(errs); {
		e := &RecordError{Status: Status(int64(r.u64())), Index: r.u64(), Offset: r.u64()}
		e.Evaluated = r.u64() != 0
		e.Message, e.Text = r.str(), r.str()
		res.RecordErrors = append(res.RecordErrors, e)
	}
	switch {
	case op == 1:
		res.Err = &fs.PathError{Op: "open", Path: path, Err: errno}
	case op == 2:
		res.Err = &fs.PathError{Op: "read", Path: path, Err: errno}
	case flags&4 != 0:
		res.Err = &ScanError{Status: Status(capi.CTR_ENOMEM), Message: "out of memory queueing a match for Go"}
	case status != StatusOK:
		res.Err = &ScanError{Status: status, Message: string(last)}
	default: // finished
		var warning string
		if warning, res.Err = recordsVerdict(stream); warning != "" {
			res.Warnings = []string{warning}
		}
	}
	var kept []keptRecord
	if fp.forward {
		all := len(res.Alerts)
		res.Alerts, kept = keep(res.Alerts)
		res.Stats.Matches -= uint64(all - len(res.Alerts)) // a silenced match is no alert (as the CLI counts)
	}
	return fileDone{res, kept}
}
