package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

const (
	// readChunk is how much of an S3 body is handed to the scanner at once:
	// with the scanner's bounded record buffer, it is what keeps memory flat
	// whatever the object size.
	readChunk = 64 << 10
	// alertBatch alerts are delivered together; a scan waits for their
	// delivery before it reads on, so alerts never pile up in memory.
	alertBatch = 100
	// sqsBatch is the SQS limit for receive and delete batches.
	sqsBatch = 10
)

type worker struct {
	cfg     config
	sqs     *sqs.Client
	s3      *s3.Client
	rules   *ctrule.Ruleset
	deliver *deliverer
	log     *slog.Logger
	m       *metrics

	slots          chan struct{}  // one per message in flight: make(chan struct{}, cfg.Concurrency)
	deletes        chan deleteReq // unbuffered
	receiveFailing atomic.Int32   // consecutive failed receives, for /healthz
	stopping       atomic.Bool
	inFlight       atomic.Int64 // messages being processed: /healthz and the in_flight_messages gauge agree
}

type deleteReq struct {
	msg  sqstypes.Message
	done chan error
}

// run consumes the queue until ctx is cancelled, then stops receiving, lets
// the messages in flight finish for cfg.ShutdownTimeout, releases those
// still unfinished to the queue, and returns.
func (w *worker) run(ctx context.Context) {
	deleterDone := make(chan struct{})
	go func() { w.deleteLoop(); close(deleterDone) }()

	// Processing has its own context: a signal stops receiving, not work.
	procCtx, abandon := context.WithCancel(context.Background())
	defer abandon()
	var inFlight sync.WaitGroup
	retryDelay := time.Second
	for ctx.Err() == nil {
		n := w.acquire(ctx)
		if n == 0 {
			break
		}
		out, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(w.cfg.QueueURL),
			MaxNumberOfMessages:         int32(n),
			WaitTimeSeconds:             int32(w.cfg.WaitTime / time.Second),
			VisibilityTimeout:           int32(w.cfg.VisibilityTimeout / time.Second),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			w.release(n)
			if ctx.Err() != nil {
				break
			}
			w.receiveFailing.Add(1)
			w.m.failures.WithLabelValues("receive").Inc()
			w.log.Error("receive failed", "queue", w.cfg.QueueURL, "err", err, "retry_in", retryDelay.String())
			sleep(ctx, retryDelay)
			retryDelay = min(2*retryDelay, 30*time.Second)
			continue
		}
		w.receiveFailing.Store(0)
		retryDelay = time.Second
		w.release(n - len(out.Messages))
		for _, msg := range out.Messages {
			inFlight.Add(1)
			w.m.inFlight.Set(float64(w.inFlight.Add(1)))
			go func() {
				defer inFlight.Done()
				defer func() { w.m.inFlight.Set(float64(w.inFlight.Add(-1))) }()
				defer w.release(1)
				w.handle(procCtx, msg)
			}()
		}
	}

	w.stopping.Store(true)
	w.log.Info("stopped receiving; finishing messages in flight", "in_flight", w.inFlight.Load(), "timeout", w.cfg.ShutdownTimeout.String())
	finished := make(chan struct{})
	go func() { inFlight.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(w.cfg.ShutdownTimeout):
		w.log.Warn("shutdown timeout: releasing unfinished messages to the queue")
		abandon()
		<-finished
	}
	close(w.deletes)
	<-deleterDone
}

// acquire blocks for one free slot, then takes up to a receive batch of
// the free ones without waiting; it returns how many it took (0: ctx done).
func (w *worker) acquire(ctx context.Context) int {
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < sqsBatch {
		select {
		case w.slots <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

func (w *worker) release(n int) {
	for range n {
		<-w.slots
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// handle processes one message to completion: deleted when everything it
// names was scanned and every alert delivered, otherwise left for
// redelivery with a backoff.
func (w *worker) handle(ctx context.Context, msg sqstypes.Message) {
	start := time.Now()
	receives, _ := strconv.Atoi(msg.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	log := w.log.With("message_id", aws.ToString(msg.MessageId), "receive_count", receives)

	d, err := parseMessage([]byte(aws.ToString(msg.Body)))
	if err != nil {
		w.fail(ctx, log, msg, receives, "parse", err)
		return
	}
	log = log.With("shape", d.Shape)
	for _, why := range d.Skipped {
		log.Info("skipped", "what", why)
	}
	if len(d.Objects) > 0 || len(d.Inline) > 0 {
		stopExtending := w.keepInvisible(ctx, log, msg)
		err = w.process(ctx, log, d)
		stopExtending()
		if err != nil {
			w.fail(ctx, log, msg, receives, stageOf(err), err)
			return
		}
	}

	done := make(chan error, 1)
	w.deletes <- deleteReq{msg: msg, done: done}
	if err := <-done; err != nil {
		// The message comes back after its visibility timeout; its alerts
		// are then de-duplicated.
		log.Error("delete failed", "err", err)
		return
	}
	outcome := "done"
	if len(d.Objects) == 0 && len(d.Inline) == 0 {
		outcome = "ignored"
	}
	w.m.messages.WithLabelValues(outcome).Inc()
	w.m.processing.Observe(time.Since(start).Seconds())
	log.Info("message "+outcome, "objects", len(d.Objects), "inline", len(d.Inline), "seconds", time.Since(start).Seconds())
}

// stageError tags an error with the stage that failed, for logs and metrics.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func stageOf(err error) string {
	var se *stageError
	if errors.As(err, &se) {
		return se.stage
	}
	return "scan"
}

func (w *worker) process(ctx context.Context, log *slog.Logger, d delivery) error {
	for _, obj := range d.Objects {
		if err := w.scanObject(ctx, log, obj); err != nil {
			w.m.objects.WithLabelValues("failed").Inc()
			return fmt.Errorf("%s: %w", obj, err)
		}
		w.m.objects.WithLabelValues("scanned").Inc()
	}
	for i, payload := range d.Inline {
		if err := w.scan(ctx, log, fmt.Sprintf("inline payload %d", i), &countingReader{r: bytes.NewReader(payload)}); err != nil {
			return err
		}
	}
	return nil
}

func (w *worker) scanObject(ctx context.Context, log *slog.Logger, obj objectRef) error {
	out, err := w.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key)})
	if err != nil {
		return &stageError{"s3", fmt.Errorf("GetObject: %w", err)}
	}
	defer out.Body.Close()
	return w.scan(ctx, log, obj.String(), &countingReader{r: out.Body})
}

// scan streams r through a scanner; alerts are delivered in batches as they
// come, and the scan fails as soon as a delivery does.
func (w *worker) scan(ctx context.Context, log *slog.Logger, name string, r *countingReader) error {
	var pending []outAlert
	flush := func() error {
		err := w.deliver.deliver(ctx, pending)
		pending = pending[:0]
		if err != nil {
			return &stageError{"sink", err}
		}
		return nil
	}
	sc, err := w.rules.NewScanner(func(a ctrule.Alert) error {
		oa, err := newOutAlert(a)
		if err != nil {
			return &stageError{"alert", err}
		}
		pending = append(pending, oa)
		if len(pending) >= alertBatch {
			return flush()
		}
		return nil
	}, ctrule.OnRecordError(func(e *ctrule.RecordError) error {
		// Reported and counted, and the scan carries on: one corrupt
		// record must not hold back the rest of the file.
		log.Warn("bad record", "source", name, "err", e.Text)
		return nil
	}), ctrule.OnWarning(func(msg string) {
		// An object with no record in it (docs/bad-input.md); one with
		// values but no CloudTrail record fails the message (ErrNoRecords).
		log.Warn(msg, "source", name)
	}))
	if err != nil {
		return err
	}
	defer sc.Close()
	buf := make([]byte, readChunk)
	_, err = io.CopyBuffer(writerOnly{sc}, r, buf)
	w.m.objectBytes.Add(float64(r.n))
	if err == nil {
		err = sc.Finish()
	} else {
		_ = sc.Reset()
	}
	st := sc.Stats()
	w.m.records.Add(float64(st.Records))
	w.m.badRecords.Add(float64(st.BadRecords))
	if err != nil {
		var se *stageError
		if errors.As(err, &se) {
			return err
		}
		// The alerts found before the error go out first: the message then
		// fails and comes back (at least once), and its alerts repeat with
		// the same ct.id, which consumers de-duplicate by.
		if ferr := flush(); ferr != nil {
			log.Warn("delivering the alerts found before a scan error", "source", name, "err", ferr)
		}
		if r.err != nil && errors.Is(err, r.err) {
			return &stageError{"s3", fmt.Errorf("reading after %d bytes: %w", r.n, err)}
		}
		return &stageError{"scan", err}
	}
	if err := flush(); err != nil {
		return err
	}
	log.Debug("scanned", "source", name, "records", st.Records, "alerts", st.Matches, "bad_records", st.BadRecords, "bytes", r.n)
	return nil
}

// writerOnly hides the Scanner's other methods from io.CopyBuffer so that
// it copies through our fixed-size buffer.
type writerOnly struct{ io.Writer }

// countingReader counts bytes and remembers the read error, which tells
// an S3 failure mid-stream from a scan failure.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// keepInvisible renews the message's visibility timeout every third of it
// while the message is processed, so that a large object is not handed to
// another replica half-way through.
func (w *worker) keepInvisible(ctx context.Context, log *slog.Logger, msg sqstypes.Message) (stop func()) {
	every := w.cfg.VisibilityTimeout / 3
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				_, err := w.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
					QueueUrl:          aws.String(w.cfg.QueueURL),
					ReceiptHandle:     msg.ReceiptHandle,
					VisibilityTimeout: int32(w.cfg.VisibilityTimeout / time.Second),
				})
				if err != nil && ctx.Err() == nil {
					w.m.failures.WithLabelValues("visibility").Inc()
					log.Warn("extending visibility failed", "err", err)
				} else if err == nil {
					log.Debug("visibility extended", "by", w.cfg.VisibilityTimeout.String())
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// fail leaves the message in the queue: visible again after a backoff that
// doubles per receive (the queue's redrive policy moves it to the
// dead-letter queue after maxReceiveCount receives), or at once when the
// worker is shutting down, so another replica takes it.
func (w *worker) fail(ctx context.Context, log *slog.Logger, msg sqstypes.Message, receives int, stage string, err error) {
	var delay time.Duration
	if ctx.Err() != nil {
		w.m.messages.WithLabelValues("released").Inc()
		log.Warn("released unfinished message at shutdown", "err", err)
	} else {
		delay = backoff(w.cfg.BackoffBase, w.cfg.BackoffMax, receives)
		w.m.messages.WithLabelValues("failed").Inc()
		w.m.failures.WithLabelValues(stage).Inc()
		log.Error("message failed; left for redelivery", "stage", stage, "err", err, "retry_in", delay.String())
	}
	// The processing context may be cancelled already: this call has its own.
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, cerr := w.sqs.ChangeMessageVisibility(cctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(w.cfg.QueueURL),
		ReceiptHandle:     msg.ReceiptHandle,
		VisibilityTimeout: int32(delay / time.Second),
	}); cerr != nil {
		w.m.failures.WithLabelValues("visibility").Inc()
		log.Warn("could not set the retry delay; the message returns after its visibility timeout", "err", cerr)
	}
}

// backoff is base·2^(receives-1), at most max.
func backoff(base, max time.Duration, receives int) time.Duration {
	d := base
	for i := 1; i < receives && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// deleteLoop deletes finished messages in batches of up to ten, waiting at
// most a few milliseconds for a batch to fill.
func (w *worker) deleteLoop() {
	const linger = 20 * time.Millisecond
	for {
		first, ok := <-w.deletes
		if !ok {
			return
		}
		batch := []deleteReq{first}
		timer := time.NewTimer(linger)
	fill:
		for len(batch) < sqsBatch {
			select {
			case r, ok := <-w.deletes:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		w.deleteBatch(batch)
	}
}

func (w *worker) deleteBatch(batch []deleteReq) {
	entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(batch))
	for i, r := range batch {
		entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: r.msg.ReceiptHandle}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := w.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(w.cfg.QueueURL), Entries: entries})
	if err != nil {
		w.m.failures.WithLabelValues("delete").Add(float64(len(batch)))
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	failed := map[string]error{}
	for _, f := range out.Failed {
		failed[aws.ToString(f.Id)] = fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
	}
	for i, r := range batch {
		err := failed[strconv.Itoa(i)]
		if err != nil {
			w.m.failures.WithLabelValues("delete").Inc()
		}
		r.done <- err
	}
}
