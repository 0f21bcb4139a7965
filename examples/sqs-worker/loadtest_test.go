package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestLoad pushes CTRULE_SQS_LOAD_OBJECTS log files through two workers (run
// by loadtest.sh; skipped otherwise). Each object holds 100 real CloudTrail
// records of the shared corpus and 2 records that alert.
//
// Phase 1, throughput: the objects are uploaded (S3 notifies the queue)
// before the workers start; the time from their start to the last message
// done gives objects/s and records/s.
// Phase 2, delay: with the workers idle, a tenth as many objects are uploaded
// at a steady pace, each with its records stamped at upload time; the delay
// is from that eventTime to the alert line reaching the reader of stdout.
func TestLoad(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CTRULE_SQS_LOAD_OBJECTS"))
	if n == 0 {
		t.Skip("load test: set CTRULE_SQS_LOAD_OBJECTS (examples/sqs-worker/loadtest.sh does)")
	}
	concurrency := os.Getenv("CTRULE_SQS_LOAD_CONCURRENCY")
	if concurrency == "" {
		concurrency = "8"
	}
	e := newAWSEnv(t)
	q, arn, dlq := e.queue(60*time.Second, 5)
	bucket := e.bucket(arn)

	real, err := os.ReadFile("../../../shared/data/cloudtrail/records.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var corpus []map[string]any
	for _, line := range bytes.Split(real, []byte("\n")) {
		var r map[string]any
		if json.Unmarshal(line, &r) == nil {
			corpus = append(corpus, r)
		}
	}
	var alerting []map[string]any
	for _, r := range fixtureRecords(t) {
		b, _ := json.Marshal(r)
		if len(expectedAlerts(t, b)) > 0 {
			alerting = append(alerting, r)
		}
	}
	object := func(i int, at time.Time) ([]byte, map[string]bool) {
		recs := make([]map[string]any, 0, 102)
		for j := range 100 {
			recs = append(recs, corpus[(i*100+j)%len(corpus)])
		}
		recs = append(recs, alerting[(2*i)%len(alerting)], alerting[(2*i+1)%len(alerting)])
		data := logFile(t, recs, fmt.Sprintf("%s-%d", e.id, i), at)
		return data, expectedAlerts(t, data)
	}
	upload := func(from, to int, pace time.Duration, want map[string]bool) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		jobs := make(chan int)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					data, w := object(i, time.Now())
					e.put(bucket, fmt.Sprintf("%s%08d.json.gz", ctKey, i), data)
					mu.Lock()
					for k := range w {
						want[k] = true
					}
					mu.Unlock()
				}
			}()
		}
		for i := from; i < to; i++ {
			jobs <- i
			time.Sleep(pace)
		}
		close(jobs)
		wg.Wait()
	}

	// Phase 1.
	want := map[string]bool{}
	t0 := time.Now()
	upload(0, n, 0, want)
	t.Logf("uploaded %d objects in %.1fs", n, time.Since(t0).Seconds())
	waitFor(t, 60*time.Second, "every notification queued", func() bool { v, _ := e.queueCounts(q); return v >= n+1 })
	time.Sleep(time.Second)
	queued, _ := e.queueCounts(q) // n, the S3 test event, and any notification S3 sent twice
	start := time.Now()
	w1 := startWorkerBinary(t, workerBin, "w1", q, "-concurrency", concurrency, "-log-level", "info")
	w2 := startWorkerBinary(t, workerBin, "w2", q, "-concurrency", concurrency, "-log-level", "info")
	waitFor(t, 20*time.Minute, "every message done", func() bool {
		return w1.metric("ctrule_sqs_messages_total", `outcome="done"`)+w2.metric("ctrule_sqs_messages_total", `outcome="done"`) >= float64(n)
	})
	elapsed := time.Since(start).Seconds()
	records := w1.metric("ctrule_sqs_records_total") + w2.metric("ctrule_sqs_records_total")
	if m := missing(want, alertKeys(w1, w2)); len(m) != 0 {
		t.Errorf("%d of %d alerts missing", len(m), len(want))
	}
	t.Logf("phase 1: %d objects, %.0f records, %d alerts through 2 workers (concurrency %s each) in %.1fs: %.1f objects/s, %.0f records/s; w1 did %v, w2 %v",
		n, records, len(want), concurrency, elapsed, float64(n)/elapsed, records/elapsed,
		w1.metric("ctrule_sqs_messages_total", `outcome="done"`), w2.metric("ctrule_sqs_messages_total", `outcome="done"`))

	dups := 0
	for _, c := range alertKeys(w1, w2) {
		dups += c - 1
	}
	t.Logf("phase 1: %d messages were queued for %d objects; %d alerts delivered twice", queued, n, dups)
	t.Logf("phase 1: worker CPU %.1fs + %.1fs for %.1fs of wall clock (the rest of the time is the S3/SQS server's)",
		w1.metric("process_cpu_seconds_total"), w2.metric("process_cpu_seconds_total"), elapsed)

	// Phase 2.
	m := max(n/10, 20)
	want2 := map[string]bool{}
	before := len(w1.received()) + len(w2.received())
	upload(n, n+m, 100*time.Millisecond, want2)
	waitFor(t, 5*time.Minute, "every phase-2 alert", func() bool { return len(missing(want2, alertKeys(w1, w2))) == 0 })
	var delays []float64
	for _, w := range []*workerProc{w1, w2} {
		for _, a := range w.received() {
			if !want2[a.key()] {
				continue
			}
			ts, err := time.Parse(time.RFC3339Nano, a.Alert["time"].(string))
			if err != nil {
				t.Fatal(err)
			}
			delays = append(delays, a.At.Sub(ts).Seconds())
		}
	}
	slices.Sort(delays)
	pct := func(p float64) float64 { return delays[int(p*float64(len(delays)-1))] }
	t.Logf("phase 2: %d objects at 10/s, %d alerts (%d lines in all): event-to-alert delay p50 %.0f ms, p99 %.0f ms, max %.0f ms",
		m, len(delays), len(w1.received())+len(w2.received())-before, 1000*pct(0.5), 1000*pct(0.99), 1000*delays[len(delays)-1])
	w1.stop()
	w2.stop()
	e.expectEmpty(dlq, "the dead-letter queue")
}
