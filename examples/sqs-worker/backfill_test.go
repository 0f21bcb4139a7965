package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// The message the backfill enqueues is one the worker reads as a new object,
// whatever the key holds (spaces, '+', '%', non-ASCII).
func TestBackfillNotificationRoundTrips(t *testing.T) {
	for _, key := range []string{
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/a_b.json.gz",
		"my prefix/AWSLogs/o-abcdefghij/111122223333/CloudTrail/eu-west-1/2024/05/01/x+y%z é.json.gz",
	} {
		d, err := parseMessage([]byte(notification("trail-bucket", key, 42)))
		if err != nil {
			t.Fatal(err)
		}
		if d.Shape != "s3" || len(d.Objects) != 1 || d.Objects[0] != (objectRef{"trail-bucket", key}) {
			t.Errorf("%q: got %+v", key, d)
		}
	}
}

func TestBackfillUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-bucket", "b", "-since", "2024-05-01"}, "-queue-url"},
		{[]string{"-queue-url", "q", "-since", "2024-05-01"}, "-bucket is required"},
		{[]string{"-queue-url", "q", "-bucket", "b"}, "-since is required"},
		{[]string{"-queue-url", "q", "-bucket", "b", "-since", "May 1"}, "not a YYYY-MM-DD day"},
		{[]string{"-queue-url", "q", "-bucket", "b", "-since", "2024-05-02", "-until", "2024-05-01"}, "is after -until"},
		{[]string{"-queue-url", "q", "-bucket", "b", "-since", "2024-05-01", "-accounts", "42"}, "not an account id"},
		{[]string{"-queue-url", "q", "-bucket", "b", "-since", "2024-05-01", "-regions", "mars"}, "not a region name"},
	} {
		t.Setenv(envName("queue-url"), "")
		var stderr bytes.Buffer
		if code := runBackfill(t.Context(), c.args, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}

// backfill runs the worker binary's backfill subcommand against the local server.
func backfill(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(workerBin, append([]string{"backfill", "-region", testRegion, "-s3-path-style"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+endpoint,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stderr.String()
}

// History in CloudTrail's layout (3 accounts, one under an organization
// trail, x 2 regions x 3 days x 20 objects, digests, a corrupt object): the
// backfill of a sub-range, run twice, and two workers deliver every alert
// of that range at least once and nothing else; the queue drains and the
// dead-letter queue holds the corrupt object's two messages.
func TestBackfillTwoWorkers(t *testing.T) {
	e := newAWSEnv(t)
	q, _, dlq := e.queue(20*time.Second, 2)
	bucket := e.bucket("")
	recs := fixtureRecords(t)
	accounts := []string{"111111111111", "222222222222", "333333333333"}
	days := []time.Time{time.Date(2024, 5, 1, 3, 0, 0, 0, time.UTC), time.Date(2024, 5, 2, 3, 0, 0, 0, time.UTC),
		time.Date(2024, 5, 3, 3, 0, 0, 0, time.UTC)}
	const perDay = 20
	want, allowed := map[string]bool{}, map[string]bool{}
	corrupt := ""
	for ai, acct := range accounts {
		owner := "AWSLogs/"
		if ai == 2 {
			owner = "AWSLogs/o-abcde12345/"
		}
		for _, region := range []string{"eu-west-1", "us-east-1"} {
			for di, day := range days {
				dir := fmt.Sprintf("%s%s/CloudTrail/%s/%s/", owner, acct, region, day.Format("2006/01/02"))
				for i := range perDay {
					key := fmt.Sprintf("%s%s_CloudTrail_%s_%sZ_%04d.json.gz", dir, acct, region, day.Format("20060102T1504"), i)
					data := logFile(t, recs, fmt.Sprintf("%s-%s-%d-%d", acct, region, di, i), day)
					inRange := di >= 1 && ai != 1 // the backfill: days 2..3, accounts 1 and 3
					if inRange && ai == 0 && region == "us-east-1" && di == 1 && i == 7 {
						// Alerts before the break are delivered; none is required.
						for k := range expectedAlerts(t, data) {
							allowed[k] = true
						}
						data, corrupt = data[:len(data)/2], key
					} else if inRange {
						for k := range expectedAlerts(t, data) {
							want[k], allowed[k] = true, true
						}
					}
					e.put(bucket, key, data)
				}
				if di == 1 { // digests: never enqueued
					e.put(bucket, dir+acct+"_CloudTrail-Digest_"+region+"_x.json.gz", []byte("\x1f\x8bbad"))
					e.put(bucket, fmt.Sprintf("%s%s/CloudTrail-Digest/%s/%s/d.json.gz", owner, acct, region, day.Format("2006/01/02")), []byte("x"))
				}
			}
		}
	}
	args := []string{"-queue-url", q, "-bucket", bucket, "-since", "2024-05-02", "-until", "2024-05-03",
		"-accounts", accounts[0] + "," + accounts[2]}
	const enqueued = 2 * 2 * 2 * perDay
	for run := range 2 { // a re-run is safe
		code, log := backfill(t, args...)
		if code != 0 || !strings.Contains(log, fmt.Sprintf("done: %d objects enqueued", enqueued)) ||
			!strings.Contains(log, "(4 digests or folders skipped, 0 prefixes not listed)") {
			t.Fatalf("backfill run %d: exit %d\n%s", run+1, code, log)
		}
	}
	if v, _ := e.queueCounts(q); v != 2*enqueued {
		t.Fatalf("%d messages on the queue, want %d", v, 2*enqueued)
	}
	w1 := startWorker(t, "w1", q, "-concurrency", "4")
	w2 := startWorker(t, "w2", q, "-concurrency", "4")
	waitFor(t, 180*time.Second, "every alert", func() bool { return len(missing(want, alertKeys(w1, w2))) == 0 })
	bodies := waitDeadLettered(t, e, dlq, 2)
	if len(bodies) != 2 {
		t.Errorf("%d messages dead-lettered, want the corrupt object's 2", len(bodies))
	}
	for _, b := range bodies {
		if !strings.Contains(b, corrupt) {
			t.Errorf("dead-lettered message does not name the corrupt object %s: %s", corrupt, b)
		}
	}
	waitDrained(t, e, q, 150*time.Second) // generous: the suite shares a loaded machine
	for k := range alertKeys(w1, w2) {
		if !allowed[k] {
			t.Errorf("unexpected alert %q (outside the backfilled range?)", k)
		}
	}
	done := w1.metric("ctrule_sqs_messages_total", `outcome="done"`) + w2.metric("ctrule_sqs_messages_total", `outcome="done"`)
	// At least once: on a loaded machine a visibility timeout may run out
	// during a scan and the message be done again.
	if done < 2*enqueued-2 {
		t.Errorf("messages done: %v, want at least %d", done, 2*enqueued-2)
	}
	w1.stop()
	w2.stop()
}

// cancellingSender cancels the context after its first batch, as a SIGINT
// arriving then would.
type cancellingSender struct {
	sqsSender
	cancel  func()
	batches int
}

func (c *cancellingSender) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	c.batches++
	out, err := c.sqsSender.SendMessageBatch(ctx, in, opts...)
	c.cancel()
	return out, err
}

// A signal during the backfill: what was enqueued stays, the run stops at
// once, says how far it got and exits 1.
func TestBackfillStopsOnSignal(t *testing.T) {
	e := newAWSEnv(t)
	q, _, _ := e.queue(20*time.Second, 2)
	bucket := e.bucket("")
	for i := range 35 {
		e.put(bucket, fmt.Sprintf("AWSLogs/111111111111/CloudTrail/us-east-1/2024/05/01/k%02d.json.gz", i), []byte("{}"))
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sender := &cancellingSender{sqsSender: e.sqs, cancel: cancel}
	var log bytes.Buffer
	say := func(format string, a ...any) { fmt.Fprintf(&log, format+"\n", a...) }
	cfg := backfillConfig{QueueURL: q, Bucket: bucket, Since: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}
	cfg.Until = cfg.Since
	if code := enqueueHistory(ctx, cfg, e.s3, sender, say); code != 1 {
		t.Errorf("exit %d after a signal, want 1", code)
	}
	if sender.batches != 1 || !strings.Contains(log.String(), "interrupted: 10 objects enqueued; re-running is safe") {
		t.Errorf("%d batches sent; log:\n%s", sender.batches, log.String())
	}
	if v, _ := e.queueCounts(q); v != 10 {
		t.Errorf("%d messages on the queue, want the first batch's 10", v)
	}
}
