package ctrule

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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

// fileWorker is one goroutine's Scanner, its findings collected per file.
// forward: the scanner correlates nothing and the records with a match are
// noted for the caller's correlator (silenced matches only noted).
type fileWorker struct {
	sc      *Scanner
	buf     []byte
	cur     FileResult
	forward bool
}

func (r *Ruleset) newFileWorker(opts []ScanOption, forward bool) (*fileWorker, error) {
	w := &fileWorker{buf: make([]byte, readChunk), forward: forward}
	if forward {
		opts = append(opts[:len(opts):len(opts)], NoCorrelation())
	}
	// Last: they replace any OnRecordError/OnWarning of opts, whose callbacks
	// would otherwise run on several goroutines at once.
	opts = append(opts[:len(opts):len(opts)],
		OnRecordError(func(e *RecordError) error {
			w.cur.RecordErrors = append(w.cur.RecordErrors, e)
			return nil
		}),
		OnWarning(func(msg string) { w.cur.Warnings = append(w.cur.Warnings, msg) }))
	sc, err := r.NewScanner(func(a Alert) error {
		w.cur.Alerts = append(w.cur.Alerts, a)
		return nil
	}, opts...)
	if err != nil {
		return nil, err
	}
	w.sc = sc
	return w, nil
}

func (w *fileWorker) scan(ctx context.Context, path string) fileDone {
	w.cur = FileResult{Path: path}
	before := w.sc.Stats()
	f, err := os.Open(path)
	if err == nil {
		// ctxReader also hides *os.File's WriterTo, which would copy in 32 KiB.
		_, err = io.CopyBuffer(w.sc, ctxReader{ctx, f}, w.buf)
		f.Close()
		if err != nil {
			_ = w.sc.Reset()
		} else {
			err = w.sc.Finish()
		}
	}
	w.cur.Err = err
	w.cur.Stats = w.sc.Stats().sub(before)
	res := w.cur
	w.cur = FileResult{}
	var kept []keptRecord
	if w.forward {
		all := len(res.Alerts)
		res.Alerts, kept = keep(res.Alerts)
		res.Stats.Matches -= uint64(all - len(res.Alerts)) // a silenced match is no alert (as the CLI counts)
	}
	return fileDone{res, kept}
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
// record's index and offset in its file.
type correlator struct {
	sc            *Scanner
	alerts        []Alert
	errs          []*RecordError
	index, offset uint64 // the noted record being fed
	fed           uint64 // records fed, one stream
	incomplete    uint64 // its Incomplete counter at the last take
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
	sc, err := r.NewScanner(func(a Alert) error {
		c.alerts = append(c.alerts, a)
		return nil
	}, opts...)
	if err != nil {
		return nil, err
	}
	c.sc = sc
	return c, nil
}

// take returns res with what the correlator found since the last take.
func (c *correlator) take(res FileResult) FileResult {
	incomplete := c.sc.Stats().Incomplete
	for i := range c.alerts {
		c.alerts[i].RecordIndex, c.alerts[i].ByteOffset = c.index, c.offset
	}
	res.Alerts = append(res.Alerts, c.alerts...)
	res.RecordErrors = append(res.RecordErrors, c.errs...)
	res.Stats.Matches += uint64(len(c.alerts))
	res.Stats.Incomplete += incomplete - c.incomplete
	c.alerts, c.errs, c.incomplete = nil, nil, incomplete
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

// ScanFiles scans files on `workers` goroutines (0: runtime.GOMAXPROCS(0)),
// the calling one and workers-1 others, each with a Scanner of its own on r,
// and calls fn with each file's result in the order of paths, as `ctrule
// scan -j N` prints them, whatever order they finish in; the results are the
// same whatever `workers`. fn runs on the calling goroutine, one result at a
// time; while the result it waits for is not ready, that goroutine scans a
// file itself (so with workers = 1 no goroutine is started).
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
	ws := make([]*fileWorker, 0, workers)
	defer func() {
		for _, w := range ws {
			_ = w.sc.Close()
		}
	}()
	forward := r.correlates()
	for range workers {
		w, err := r.newFileWorker(opts, forward)
		if err != nil {
			return err
		}
		ws = append(ws, w)
	}
	out := &held{fn: fn}
	if forward {
		c, err := r.newCorrelator(opts)
		if err != nil {
			return err
		}
		defer c.sc.Close()
		out.c = c
	}

	ctx, cancel := context.WithCancelCause(ctx)
	run := newFileRun(ctx, paths, ws)
	defer func() {
		cancel(nil) // the goroutines stop; then the scanners close (deferred earlier)
		run.wg.Wait()
	}()
	for i := range paths {
		done, err := run.next(i)
		if err != nil {
			return err
		}
		if err := out.add(done); err != nil {
			cancel(err)
			return err
		}
	}
	return out.end()
}

// fileRun is one ScanFiles call: the calling goroutine and workers-1 others
// each claim the next file themselves and leave its result in that file's
// slot; the caller takes the slots in order and, while the one it needs is
// not ready, scans a file itself rather than wait. With a goroutine more
// than there are workers, the caller (feeding the correlator, running fn)
// was a third goroutine on two cores: each result it was woken for, and
// each yield of its correlating scanner, waited for a core while both
// workers ran, until the read-ahead window filled and the workers waited
// in turn (2,000 small files: 1.5x on 2 workers against 1).
type fileRun struct {
	ctx     context.Context
	paths   []string
	caller  *fileWorker
	results []chan fileDone // one slot each: whoever scans a file never blocks on it
	// ahead bounds the files claimed beyond the one the caller waits for: a
	// claim takes a place, the caller gives it back with the result.
	ahead   chan struct{}
	claimed atomic.Int64
	wg      sync.WaitGroup
}

func newFileRun(ctx context.Context, paths []string, ws []*fileWorker) *fileRun {
	run := &fileRun{ctx: ctx, paths: paths, caller: ws[0], results: make([]chan fileDone, len(paths)),
		ahead: make(chan struct{}, 64*len(ws)+64)}
	for i := range run.results {
		run.results[i] = make(chan fileDone, 1)
	}
	for _, w := range ws[1:] {
		run.wg.Add(1)
		go func() {
			defer run.wg.Done()
			for {
				select {
				case run.ahead <- struct{}{}:
				case <-ctx.Done():
					return
				}
				if !run.scanNext(w) {
					return
				}
			}
		}()
	}
	return run
}

// scanNext claims the next file and scans it into its slot (the caller
// holds a place in ahead); false once there is none left.
func (run *fileRun) scanNext(w *fileWorker) bool {
	i := int(run.claimed.Add(1) - 1)
	if i >= len(run.paths) {
		return false
	}
	run.results[i] <- w.scan(run.ctx, run.paths[i])
	return true
}

// next returns file i's result, scanning other files on the caller's
// goroutine while it is not ready.
func (run *fileRun) next(i int) (fileDone, error) {
	for {
		if run.ctx.Err() != nil {
			return fileDone{}, canceled(run.ctx)
		}
		select {
		case done := <-run.results[i]:
			<-run.ahead
			return done, nil
		default:
		}
		select {
		case run.ahead <- struct{}{}:
			if run.scanNext(run.caller) {
				continue
			}
			<-run.ahead // every file is claimed: i is being scanned elsewhere
		default: // the window is full: i is being scanned elsewhere
		}
		select {
		case done := <-run.results[i]:
			<-run.ahead
			return done, nil
		case <-run.ctx.Done():
			return fileDone{}, canceled(run.ctx)
		}
	}
}
