package ctrule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
)

// readChunk is the read size of Scan and Alerts: the C scanner is slower fed
// small chunks (a record that spans two is walked once more, when the next
// completes it), about 3-4% at 64 KiB and 7-10% at 32 KiB against 256 KiB.
const readChunk = 256 << 10

// Scan reads rd to EOF through a new Scanner, delivering every alert to
// onMatch, and returns the scanner's counters. A non-nil error from onMatch
// stops the scan and is returned; so is a read error or a *ScanError.
func (r *Ruleset) Scan(rd io.Reader, onMatch func(Alert) error, opts ...ScanOption) (Stats, error) {
	return r.ScanContext(context.Background(), rd, onMatch, opts...)
}

// ScanContext is Scan that stops when ctx is done: it checks ctx before each
// read of rd and before feeding what was read, abandons the stream (no
// partial record is flushed) and returns an error wrapping context.Cause(ctx)
// (errors.Is(err, context.Canceled) or context.DeadlineExceeded). A read
// that blocks is interrupted only by a reader bound to ctx (an S3 body from
// GetObject(ctx, ...), an http.Request made with ctx); alerts found before
// the cancellation were delivered.
func (r *Ruleset) ScanContext(ctx context.Context, rd io.Reader, onMatch func(Alert) error,
	opts ...ScanOption) (Stats, error) {
	sc, err := r.NewScanner(onMatch, opts...)
	if err != nil {
		return Stats{}, err
	}
	if _, err := io.CopyBuffer(sc, ctxReader{ctx, rd}, make([]byte, readChunk)); err != nil {
		// Abandon the stream so Close does not report the error again.
		_ = sc.Reset()
		_ = sc.Close()
		return sc.Stats(), err
	}
	// Finish even an empty stream: the wrong-or-empty-input policy applies.
	err = sc.Finish()
	if cerr := sc.Close(); err == nil {
		err = cerr
	}
	return sc.Stats(), err
}

// ctxReader reads from r until ctx is done; then it fails with an error
// wrapping context.Cause(ctx).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, canceled(c.ctx)
	}
	n, err := c.r.Read(p)
	if c.ctx.Err() != nil {
		// What was read is dropped: the scan was cancelled.
		return 0, canceled(c.ctx)
	}
	return n, err
}

// canceled is the error of a scan or compile stopped by ctx.
func canceled(ctx context.Context) error {
	return fmt.Errorf("ctrule: cancelled: %w", context.Cause(ctx))
}

// Alerts is the iterator form of Scan: it reads rd to EOF and yields every
// alert in stream order with a nil error. A read, stream or record error
// (see OnRecordError) is yielded once, with a zero Alert, and ends the
// sequence. Breaking out of the loop stops reading.
//
//	for a, err := range rs.Alerts(os.Stdin) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(a.Rule, a.Output)
//	}
//
// Alerts are buffered per read of rd (at most 64 KiB of input at a time), so
// the loop body runs outside the C scanner and may do anything, including
// scanning with other scanners.
func (r *Ruleset) Alerts(rd io.Reader, opts ...ScanOption) iter.Seq2[Alert, error] {
	return r.AlertsContext(context.Background(), rd, opts...)
}

// AlertsContext is Alerts that stops when ctx is done, as ScanContext does:
// the last value yielded is then an error wrapping context.Cause(ctx).
func (r *Ruleset) AlertsContext(ctx context.Context, rd io.Reader, opts ...ScanOption) iter.Seq2[Alert, error] {
	rd = ctxReader{ctx, rd}
	return func(yield func(Alert, error) bool) {
		var pending []Alert
		sc, err := r.NewScanner(func(a Alert) error {
			pending = append(pending, a)
			return nil
		}, opts...)
		if err != nil {
			yield(Alert{}, err)
			return
		}
		defer func() {
			_ = sc.Reset()
			_ = sc.Close()
		}()
		// flush yields the buffered alerts; false if the consumer stopped.
		flush := func() bool {
			for i, a := range pending {
				pending[i] = Alert{}
				if !yield(a, nil) {
					return false
				}
			}
			pending = pending[:0]
			return true
		}
		buf := make([]byte, readChunk)
		for {
			n, rerr := rd.Read(buf)
			if n > 0 {
				_, werr := sc.Write(buf[:n])
				if !flush() {
					return
				}
				if werr != nil {
					yield(Alert{}, werr)
					return
				}
			}
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				yield(Alert{}, rerr)
				return
			}
		}
		ferr := sc.Finish()
		if !flush() {
			return
		}
		if ferr != nil {
			yield(Alert{}, ferr)
		}
	}
}
