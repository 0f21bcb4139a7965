package ctrule

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync/atomic"
	"time"

	"github.com/libctrule/libctrule/bindings/go/internal/capi"
)

// ScanOption configures a Scanner.
type ScanOption func(*scanConfig)

type scanLimit struct {
	kind  int
	value uint64
}

type scanConfig struct {
	flags         uint
	limits        []scanLimit
	onRecordError func(*RecordError) error
	onWarning     func(string)
}

// FirstMatch stops evaluating a record at its first matching rule (Falco's
// rule_matching: first). By default every matching rule is reported.
func FirstMatch() ScanOption {
	return func(c *scanConfig) { c.flags |= uint(capi.CTR_SCAN_FIRST_MATCH) }
}

// NoIndex evaluates every enabled rule on every record, each record parsed
// whole: no eventName index, no literal prefilter, no field read from the
// bytes the framer walked (the plain route every fast path is tested
// against). Results are identical; it exists for tests and benchmarks.
func NoIndex() ScanOption {
	return func(c *scanConfig) { c.flags |= uint(capi.CTR_SCAN_NO_INDEX) }
}

// NoCorrelation keeps no correlation state and makes no correlation alert
// (CTR_SCAN_NO_CORRELATION): the matches `generate: false` would keep quiet
// are delivered with Alert.Silenced set, for a caller that forwards each
// matched record (Alert.Raw) to a scanner made with OnlyCorrelation.
func NoCorrelation() ScanOption {
	return func(c *scanConfig) { c.flags |= uint(capi.CTR_SCAN_NO_CORRELATION) }
}

// OnlyCorrelation is the other half (CTR_SCAN_ONLY_CORRELATION): rules are
// evaluated to feed the correlations and only correlation alerts are
// delivered and counted. Not with NoCorrelation (NewScanner fails with
// ErrInvalid). ScanFiles pairs them so that correlations see every file in
// order.
func OnlyCorrelation() ScanOption {
	return func(c *scanConfig) { c.flags |= uint(capi.CTR_SCAN_ONLY_CORRELATION) }
}

// MaxRecordBytes sets the largest record, in bytes (default 16 MiB). A larger
// record is reported as a RecordError (ErrLimit) and skipped.
func MaxRecordBytes(n uint64) ScanOption {
	return func(c *scanConfig) { c.limits = append(c.limits, scanLimit{int(capi.CTR_LIMIT_RECORD_BYTES), n}) }
}

// MaxJSONDepth sets the deepest JSON nesting inside a record (default 64).
func MaxJSONDepth(n uint64) ScanOption {
	return func(c *scanConfig) { c.limits = append(c.limits, scanLimit{int(capi.CTR_LIMIT_JSON_DEPTH), n}) }
}

// MaxGzipOutput sets the most bytes one gzip input may expand to (default
// 64 GiB).
func MaxGzipOutput(n uint64) ScanOption {
	return func(c *scanConfig) { c.limits = append(c.limits, scanLimit{int(capi.CTR_LIMIT_GZIP_OUTPUT), n}) }
}

// OnRecordError receives every record the scanner could not evaluate or
// found incomplete (see RecordError), synchronously, on the goroutine that is
// writing. The scanner carries on after a bad record unless fn returns an
// error: then no further match is delivered, and Write/Finish return that
// error. Without this option bad records are only counted (Stats).
//
// To make bad records fatal but tolerate incomplete ones:
//
//	ctrule.OnRecordError(func(e *ctrule.RecordError) error {
//		if e.Evaluated {
//			return nil
//		}
//		return e
//	})
func OnRecordError(fn func(*RecordError) error) ScanOption {
	return func(c *scanConfig) { c.onRecordError = fn }
}

// OnWarning receives the scanner's warnings about a whole stream, on the
// goroutine that calls Finish: "empty input: no record in it" for a stream
// with no record at all (no bytes, only whitespace, [] or {"Records":[]};
// see ErrNoRecords for the error case and docs/bad-input.md). Without this
// option warnings are dropped.
func OnWarning(fn func(msg string)) ScanOption {
	return func(c *scanConfig) { c.onWarning = fn }
}

// Stats are a scanner's counters. They accumulate across streams (Finish,
// Reset) for the life of the scanner.
type Stats struct {
	Bytes      uint64 // bytes written (compressed as given)
	Records    uint64 // records framed, good and bad
	Matches    uint64 // alerts delivered
	BadRecords uint64 // records reported as errors (not evaluated)
	Skipped    uint64 // values recognised and skipped (digests, CloudWatch control messages)
	Evaluated  uint64 // records parsed and evaluated (the others were ruled out unparsed by the index and prefilter)
	Incomplete uint64 // records evaluated but reported as incomplete
}

// scanState is what the C callbacks reach through the cgo.Handle. It holds
// no pointer to the Scanner, so a forgotten Scanner can still be collected.
// All its fields are used only by the goroutine inside Write/Finish (cgo runs
// callbacks on the calling goroutine).
//
// Matches reach Go in batches (see ctrule.i): the C callback queues each one
// with the scanner's counters as they stood, and deliver hands them to
// onMatch after the feed, in order, one at a time. What the user sees is as
// if each had been delivered when it was made: nothing is delivered after a
// callback's error or panic, Stats inside a callback are the counters of its
// match, and after a stop Stats read as they stood at the stopping match
// (the C scan may have gone on to the end of the feed slice: that surplus is
// kept in adjust and subtracted).
type scanState struct {
	onMatch       func(Alert) error
	onRecordError func(*RecordError) error
	onWarning     func(string)
	ctx           capi.SwigcptrStruct_SS_ctrgo_ctx
	sc            capi.SwigcptrStruct_SS_ctr_scanner

	current *[numStats]uint64 // the counters of the match being delivered (&cur)
	stopped *[numStats]uint64 // the counters where a callback stopped the stream, until settled (&stopAt)
	adjust  [numStats]uint64  // counted by C past stops, subtracted from what Stats report
	// What current and stopped point to: kept here, a local whose address
	// was taken was a heap allocation for every alert.
	cur, stopAt [numStats]uint64

	err      error // the first error a callback returned during the current call
	panicked bool  // a callback panicked during the current call
	panicVal any

	streamStart [numStats]uint64 // the C counters when the current stream began

	rules ruleNames // the rules' names, shared by their alerts (newAlert)
}

// numStats is CTR_STAT__COUNT, which SWIG exports as a variable; a test
// checks that they agree.
const numStats = 7

var _ capi.Handler = (*scanState)(nil)

// Flush implements capi.Handler: the C queue is full, mid-feed.
func (st *scanState) Flush() int {
	st.deliver()
	if st.err != nil || st.panicked {
		return 1
	}
	return 0
}

// deliver hands the queued matches to onMatch, read where C queued them
// (each alert copies its own pack), and empties the queue. No callback can
// reach the queue meanwhile: the scanner is busy.
func (st *scanState) deliver() {
	q := capi.Queue(st.ctx)
	if len(q) == 0 {
		return
	}
	const head = 8 * (1 + numStats)
	for b := q; len(b) >= head; {
		size := int(binary.NativeEndian.Uint64(b))
		pack := b[head : head+size]
		if st.err != nil || st.panicked || st.onMatch == nil {
			b = b[head+size:]
			continue
		}
		for k := range st.cur {
			st.cur[k] = binary.NativeEndian.Uint64(b[8*(1+k):])
		}
		b = b[head+size:]
		st.current = &st.cur
		st.err = st.call(func() error { return st.onMatch(newAlert(pack, &st.rules)) })
		st.current = nil
		if st.err != nil || st.panicked {
			st.stopAt = st.cur
			st.stopped = &st.stopAt
		}
	}
	capi.Ctrgo_queue_clear(st.ctx)
}

// call runs a user callback, turning a panic into panicked (re-raised by
// check once C has returned: a panic must not unwind C frames).
func (st *scanState) call(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			st.panicked, st.panicVal = true, v
		}
	}()
	return fn()
}

// RecordError implements capi.Handler.
func (st *scanState) RecordError(e capi.Struct_SS_ctr_record_error) {
	st.deliver() // the matches queued before this record come first
	if st.err != nil || st.panicked || st.onRecordError == nil {
		return
	}
	st.err = st.call(func() error { return st.onRecordError(newRecordError(e)) })
	if st.err != nil || st.panicked {
		st.stopAt = st.counters()
		st.stopped = &st.stopAt
	}
}

// counters reads the C scanner's counters.
func (st *scanState) counters() (c [numStats]uint64) {
	for k := range c {
		c[k] = capi.Ctr_scanner_stat(st.sc, k)
	}
	return c
}

// settle, once C has returned, sets aside what C counted past a stop.
func (st *scanState) settle() {
	if st.stopped == nil {
		return
	}
	now := st.counters()
	for k := range now {
		st.adjust[k] += now[k] - st.stopped[k]
	}
	st.stopped = nil
}

// Scanner scans one stream of CloudTrail data at a time against a Ruleset.
// Write bytes in any chunking (it is an io.Writer, so io.Copy(scanner, r)
// works); every match is delivered synchronously to the callback given to
// NewScanner, on the writing goroutine. Finish ends the stream.
//
// The input format is recognised by itself: CloudTrail log files
// {"Records":[...]}, NDJSON, concatenated or single records, JSON arrays,
// EventBridge envelopes, CloudWatch Logs subscription payloads, and any of
// these gzip-compressed.
//
// A Scanner is for one goroutine at a time: use one per goroutine, all
// sharing a Ruleset. Calling Write, Finish, Reset or Close from the Scanner's
// own callback, or from two goroutines at once, fails with an error wrapping
// ErrBusy instead of corrupting state.
//
// Close frees the scanner's C memory; a finalizer frees a forgotten one.
type Scanner struct {
	busy    atomic.Bool
	sc      capi.SwigcptrStruct_SS_ctr_scanner // 0 once closed
	res     scannerResources
	st      *scanState
	cleanup runtime.Cleanup
	dirty   bool      // bytes written since the stream began
	err     error     // the error that ended the current stream (sticky until Finish/Reset)
	final   Stats     // the counters at Close
	yielded time.Time // when Write last yielded the processor (see feedSlice)
	pace    feedPace  // the bytes of one feed with a single P (see feedPace)
}

type scannerResources struct {
	sc  capi.SwigcptrStruct_SS_ctr_scanner
	ctx capi.SwigcptrStruct_SS_ctrgo_ctx
	h   cgo.Handle
}

func (res scannerResources) free() {
	capi.Ctr_scanner_free(res.sc)
	capi.Ctrgo_ctx_free(res.ctx)
	res.h.Delete()
}

// errPanicked ends a stream whose callback panicked (the panic itself is
// re-raised from the Write or Finish that ran the callback).
var errPanicked = errors.New("ctrule: a scanner callback panicked; the stream was abandoned")

// NewScanner creates a scanner on the ruleset. onMatch receives every alert;
// returning a non-nil error stops the scan, and that error is returned from
// the Write or Finish in progress (and from later Writes until Finish or
// Reset). onMatch may be nil to only count matches.
func (r *Ruleset) NewScanner(onMatch func(Alert) error, opts ...ScanOption) (*Scanner, error) {
	var cfg scanConfig
	for _, o := range opts {
		o(&cfg)
	}
	st := &scanState{onMatch: onMatch, onRecordError: cfg.onRecordError, onWarning: cfg.onWarning}
	h := cgo.NewHandle(st)
	want := 0
	if onMatch != nil {
		want = 1 // else C only counts the matches: nothing to queue
	}
	ctx := capi.Ctrgo_ctx_new(uint(h), want).(capi.SwigcptrStruct_SS_ctrgo_ctx)
	if ctx == 0 {
		h.Delete()
		return nil, opError("new scanner", int(capi.CTR_ENOMEM))
	}

	out := []uintptr{0}
	r.mu.RLock()
	if r.rs == 0 {
		r.mu.RUnlock()
		capi.Ctrgo_ctx_free(ctx)
		h.Delete()
		return nil, ErrClosed
	}
	code := capi.Ctrgo_scanner_new(r.rs, ctx, out)
	r.mu.RUnlock()
	if code != int(StatusOK) {
		capi.Ctrgo_ctx_free(ctx)
		h.Delete()
		return nil, opError("new scanner", code)
	}
	sc := capi.SwigcptrStruct_SS_ctr_scanner(out[0])
	st.ctx, st.sc = ctx, sc
	res := scannerResources{sc, ctx, h}
	fail := func(code int) (*Scanner, error) {
		res.free()
		return nil, opError("configure scanner", code)
	}
	if cfg.flags != 0 {
		if code := capi.Ctr_scanner_set_flags(sc, cfg.flags); code != int(StatusOK) {
			return fail(code)
		}
	}
	for _, l := range cfg.limits {
		if code := capi.Ctr_scanner_set_limit(sc, l.kind, l.value); code != int(StatusOK) {
			return fail(code)
		}
	}
	s := &Scanner{sc: sc, res: res, st: st}
	st.streamStart = st.counters()
	s.cleanup = runtime.AddCleanup(s, func(res scannerResources) {
		cleanupRuns.Add(1)
		res.free()
	}, res)
	return s, nil
}

// enter marks the scanner busy; it fails if it already is (re-entry from a
// callback, or concurrent use).
func (s *Scanner) enter() bool { return s.busy.CompareAndSwap(false, true) }
func (s *Scanner) leave()      { s.busy.Store(false) }

// check turns the status of a feed or finish, and what the callbacks did
// during it, into the result. A callback's panic is re-raised here, after the
// C call has returned.
func (s *Scanner) check(code int) error {
	st := s.st
	st.deliver() // what the call queued, even if it then failed
	st.settle()
	if st.panicked {
		v := st.panicVal
		st.panicked, st.panicVal, st.err = false, nil, nil
		s.err = errPanicked
		panic(v)
	}
	if st.err != nil {
		s.err, st.err = st.err, nil
		return s.err
	}
	if code == int(StatusOK) {
		return nil
	}
	if code == int(capi.CTR_STOPPED) && capi.Ctrgo_ctx_oom(st.ctx) != 0 {
		s.err = &ScanError{Status: Status(capi.CTR_ENOMEM), Message: "out of memory queueing a match for Go"}
		return s.err
	}
	// CTR_STOPPED for any other reason cannot happen (only the queue
	// stops); it is kept as an error rather than silently dropped.
	s.err = &ScanError{Status: Status(code), Message: capi.Ctr_scanner_last_error(s.sc)}
	return s.err
}

// Write feeds p to the scanner; records may be split anywhere across
// writes. The scanner copies what it keeps of p, so p may be reused once
// Write returns.
//
// Write returns len(p) and nil, or the error that ended the stream: the
// match callback's (or OnRecordError's) error, or a *ScanError for an
// unreadable stream (e.g. corrupt gzip, ErrData). Bad records alone do not
// fail a Write. Once the stream has ended with an error, further writes
// return that error without scanning, until Finish or Reset.
func (s *Scanner) Write(p []byte) (int, error) {
	if !s.enter() {
		return 0, errBusy
	}
	defer s.leave()
	if s.sc == 0 {
		return 0, ErrClosed
	}
	if s.err != nil {
		return 0, s.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	s.dirty = true
	if now := time.Now(); now.Sub(s.pace.checked) >= paceRecheck {
		// GOMAXPROCS may change (Go follows a container's CPU limit), but
		// asking for it costs the scan allocations: at most once a second.
		s.pace.checked, s.pace.on = now, runtime.GOMAXPROCS(0) == 1
	}
	for at := 0; at < len(p); {
		n, start := feedSlice, time.Time{}
		if s.pace.on {
			n, start = s.pace.size(), time.Now()
		}
		n = min(n, len(p)-at)
		rc := capi.Ctr_scanner_feed(s.sc, p[at:at+n])
		now := time.Now()
		if s.pace.on {
			s.pace.took(n, now.Sub(start))
		}
		if err := s.check(rc); err != nil {
			return len(p), err
		}
		at += n
		if now.Sub(s.yielded) >= yieldEvery {
			s.yielded = now
			runtime.Gosched()
		}
	}
	return len(p), nil
}

// feedPace sizes Write's feeds when the program runs on a single P
// (GOMAXPROCS=1: a one-CPU container, or a process pinned to one core). A
// cgo call is a system call to Go's scheduler, and with no idle P the
// scheduler's monitor takes the P away from one that lasts more than about
// 0.1 ms, hands it to another thread, and from then on wakes every 20 us:
// fed 1 MiB at a time, a scan took 1.25x as long, with 1,200 context
// switches where 256 KiB feeds had 11 (docs/performance.md, stop 21). How
// many bytes last 0.1 ms depends on the rules and the records, so each feed
// is sized from the rate of the one before to last about paceTarget.
type feedPace struct {
	on      bool      // GOMAXPROCS was 1 when last checked
	checked time.Time // when
	bytes   int       // the next feed's size; 0 before the first
}

const (
	paceRecheck = time.Second
	paceTarget  = 40 * time.Microsecond
	paceFirst   = 64 << 10
	paceMin     = 16 << 10
)

func (f *feedPace) size() int {
	if f.bytes == 0 {
		return paceFirst
	}
	return f.bytes
}

// took notes that a feed of n bytes took d.
func (f *feedPace) took(n int, d time.Duration) {
	next := feedSlice
	if d > 0 {
		next = int(min(int64(n)*int64(paceTarget)/int64(d), feedSlice))
	}
	f.bytes = max(next, paceMin)
}

// Go's runtime (sysmon) treats a goroutine that has run for 10 ms without
// being rescheduled as a hog, and while such a goroutine is inside a cgo
// call it takes the goroutine's P away at every tick (20 us), waking another
// thread; the call's return must then get a P back. A long scan is exactly
// such a goroutine: the benchmark counted 5,100 context switches per run (10
// for C) and lost 8%. So Write hands C at most feedSlice bytes per call and
// yields the processor between calls once yieldEvery has passed, which
// starts a new time slice: about 500 context switches. A slice takes under
// 1 ms to scan (about 6 ms if every record alerts), so a yield comes before
// the 10 ms mark; yielding more often costs more than it saves (a yield may
// move the goroutine to another thread, and C's caches with it).
const (
	feedSlice  = 1 << 20
	yieldEvery = 5 * time.Millisecond
)

// WriteString is Write for a string.
func (s *Scanner) WriteString(str string) (int, error) { return s.Write([]byte(str)) }

// Finish ends the stream: the last record, if not yet complete, is flushed
// (and may match, or be reported as truncated). It returns the error that
// ended the stream, if any (the same one Write returned). Afterwards the
// scanner is ready for a new stream: record indexes and offsets restart at 0,
// Stats keep accumulating.
func (s *Scanner) Finish() error {
	if !s.enter() {
		return errBusy
	}
	defer s.leave()
	if s.sc == 0 {
		return ErrClosed
	}
	return s.finish()
}

func (s *Scanner) finish() error {
	defer s.reset()
	if s.err != nil {
		return s.err
	}
	if err := s.check(capi.Ctr_scanner_finish(s.sc)); err != nil {
		return err
	}
	return s.st.checkRecords()
}

// checkRecords applies the policy for wrong or empty input to the stream
// just finished (docs/bad-input.md): no record in it is a warning; values
// but not one complete CloudTrail record, and nothing recognised and
// skipped, is an error.
func (st *scanState) checkRecords() error {
	now := st.counters()
	var stream [numStats]uint64
	for k := range now {
		stream[k] = now[k] - st.streamStart[k]
	}
	warning, err := recordsVerdict(stream)
	if warning != "" && st.onWarning != nil {
		st.onWarning(warning)
	}
	return err
}

// recordsVerdict is the policy for wrong or empty input on a finished
// stream's counters: a warning for no record at all, an error for values but
// not one complete CloudTrail record; nothing if something was recognised and
// skipped. The library counts records, not reports: a record reported twice
// (incomplete, and its match not counted by a correlation) counts once.
func recordsVerdict(stream [numStats]uint64) (warning string, err error) {
	records, bad := stream[capi.CTR_STAT_RECORDS], stream[capi.CTR_STAT_BAD_RECORDS]
	incomplete := stream[capi.CTR_STAT_INCOMPLETE]
	if stream[capi.CTR_STAT_SKIPPED] != 0 {
		return "", nil
	}
	switch {
	case records == 0:
		return "empty input: no record in it", nil
	case bad+incomplete >= records:
		values := "values"
		if records == 1 {
			values = "value"
		}
		return "", &ScanError{Status: ErrData, noRecords: true, Message: fmt.Sprintf(
			"no CloudTrail record in this input (%d %s: %d not a JSON record, %d without the CloudTrail keys)",
			records, values, bad, incomplete)}
	}
	return "", nil
}

func (s *Scanner) reset() {
	capi.Ctr_scanner_reset(s.sc)
	s.err = nil
	s.dirty = false
	s.st.streamStart = s.st.counters()
}

// Reset abandons the current stream without flushing it and clears the
// error that ended it. Stats keep accumulating.
func (s *Scanner) Reset() error {
	if !s.enter() {
		return errBusy
	}
	defer s.leave()
	if s.sc == 0 {
		return ErrClosed
	}
	s.reset()
	return nil
}

// Close finishes the current stream if bytes were written since the last
// Finish or Reset (call Reset first to abandon it instead), frees the
// scanner, and returns what Finish would have. Close is idempotent.
func (s *Scanner) Close() error {
	if !s.enter() {
		return errBusy
	}
	defer s.leave()
	if s.sc == 0 {
		return nil
	}
	defer func() {
		s.final = s.stats()
		s.cleanup.Stop()
		s.res.free()
		s.sc = 0
	}()
	if s.dirty || s.err != nil {
		return s.finish()
	}
	return nil
}

// Stats returns the scanner's counters (after Close: their final values).
// It may be called from the scanner's own callbacks, but not concurrently
// with Write from another goroutine.
func (s *Scanner) Stats() Stats {
	if s.sc == 0 {
		return s.final
	}
	return s.stats()
}

// stats are the counters as the user has seen the scan: those of the match
// being delivered, inside a callback; less what C counted past a stop.
func (s *Scanner) stats() Stats {
	st := s.st
	var c [numStats]uint64
	if st.current != nil {
		c = *st.current
	} else {
		c = st.counters()
	}
	get := func(k capi.Ctr_stat) uint64 { return c[k] - st.adjust[k] }
	return Stats{
		Bytes:      get(capi.CTR_STAT_BYTES),
		Records:    get(capi.CTR_STAT_RECORDS),
		Matches:    get(capi.CTR_STAT_MATCHES),
		BadRecords: get(capi.CTR_STAT_BAD_RECORDS),
		Skipped:    get(capi.CTR_STAT_SKIPPED),
		Evaluated:  get(capi.CTR_STAT_EVALUATED),
		Incomplete: get(capi.CTR_STAT_INCOMPLETE),
	}
}
