package ctrule

import (
	"context"
	"io"
	"os"
	"runtime"
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

// fileWorker is one goroutine's Scanner, its findings collected per file.
type fileWorker struct {
	sc  *Scanner
	buf []byte
	cur FileResult
}

func (r *Ruleset) newFileWorker(opts []ScanOption) (*fileWorker, error) {
	w := &fileWorker{buf: make([]byte, readChunk)}
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

func (w *fileWorker) scan(ctx context.Context, path string) FileResult {
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
	return res
}

func (s Stats) sub(b Stats) Stats {
	return Stats{s.Bytes - b.Bytes, s.Records - b.Records, s.Matches - b.Matches, s.BadRecords - b.BadRecords,
		s.Skipped - b.Skipped, s.Evaluated - b.Evaluated, s.Incomplete - b.Incomplete}
}

// ScanFiles scans files on `workers` goroutines (0: runtime.GOMAXPROCS(0)),
// each with a Scanner of its own on r, and calls fn with each file's result
// in the order of paths, as `ctrule scan -j N` prints them, whatever order
// they finish in. fn runs on the calling goroutine, one result at a time.
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
	for range workers {
		w, err := r.newFileWorker(opts)
		if err != nil {
			return err
		}
		ws = append(ws, w)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	results := make([]chan FileResult, len(paths)) // one slot each: a worker never blocks on it
	for i := range results {
		results[i] = make(chan FileResult, 1)
	}
	// Workers claim files in order, at most `ahead` beyond the one fn waits
	// for. No goroutine hands files out: on a busy machine every hand-off
	// waits for a core (2,000 small files took 3x longer on 2 workers that
	// way, and with 4 files per worker ahead instead of 64).
	ahead := make(chan struct{}, 64*workers+64)
	var claimed atomic.Int64
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case ahead <- struct{}{}:
				case <-ctx.Done():
					return
				}
				i := int(claimed.Add(1) - 1)
				if i >= len(paths) {
					return
				}
				results[i] <- w.scan(ctx, paths[i])
			}
		}()
	}
	defer func() {
		cancel(nil) // the workers stop; then the scanners close (deferred earlier)
		wg.Wait()
	}()

	for i := range paths {
		if ctx.Err() != nil {
			return canceled(ctx)
		}
		select {
		case res := <-results[i]:
			<-ahead
			if err := fn(res); err != nil {
				cancel(err)
				return err
			}
		case <-ctx.Done():
			return canceled(ctx)
		}
	}
	return nil
}
