package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

const ctKey = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0300Z_"

// waitDrained waits until the queue has nothing visible or in flight.
func waitDrained(t *testing.T, e *awsEnv, queueURL string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, "the queue to drain", func() bool {
		v, f := e.queueCounts(queueURL)
		return v == 0 && f == 0
	})
}

// From an uploaded .json.gz to alerts, through S3's own notification.
func TestEndToEndUploadToAlerts(t *testing.T) {
	e := newAWSEnv(t)
	q, arn, dlq := e.queue(30*time.Second, 3)
	bucket := e.bucket(arn) // S3 sends its test event to the queue now
	recs := fixtureRecords(t)
	data := logFile(t, recs, e.id, time.Time{})
	want := expectedAlerts(t, data)
	if len(want) < 20 {
		t.Fatalf("the fixtures give only %d alerts", len(want))
	}
	e.put(bucket, ctKey+"AbCdEfGh12345678.json.gz", data)
	// A digest and an Insights file are recognised by their keys and skipped.
	e.put(bucket, "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/01/02/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20260102T030000Z.json.gz", []byte("not fetched"))
	e.put(bucket, "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/01/02/x.json.gz", []byte("not fetched"))

	w := startWorker(t, "w1", q)
	waitFor(t, 30*time.Second, "every alert", func() bool { return len(missing(want, alertKeys(w))) == 0 })
	waitDrained(t, e, q, 15*time.Second)
	got := alertKeys(w)
	for k, n := range got {
		if !want[k] {
			t.Errorf("unexpected alert %q", k)
		}
		if n != 1 {
			t.Errorf("alert %q delivered %d times", k, n)
		}
	}
	for _, a := range w.received() {
		for _, field := range []string{"time", "rule", "priority", "output", "output_fields", "source", "tags", "hostname"} {
			if _, ok := a.Alert[field]; !ok {
				t.Errorf("alert without %q: %s", field, a.Line)
			}
		}
	}
	// Each line is, byte for byte, what the binding (and so the CLI) makes
	// of the same alert: the library's ctr_match_json.
	lines := map[string]bool{}
	rs, err := ctrule.Compile(ctrule.LoadBuiltin("rds"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Scan(bytes.NewReader(data), func(a ctrule.Alert) error {
		line, err := a.JSON()
		lines[string(line)] = true
		return err
	}); err != nil {
		t.Fatal(err)
	}
	rs.Close()
	for _, a := range w.received() {
		if !lines[a.Line] {
			t.Errorf("the worker's line is not the binding's:\n%s", a.Line)
			break
		}
	}
	if n := w.metric("ctrule_sqs_messages_total", `outcome="done"`); n != 1 {
		t.Errorf("%v messages done, want 1 (the log file)", n)
	}
	if n := w.metric("ctrule_sqs_messages_total", `outcome="ignored"`); n != 3 {
		t.Errorf("%v messages ignored, want 3 (test event, digest, Insights)", n)
	}
	if n := w.metric("ctrule_sqs_records_total"); n != float64(len(recs)) {
		t.Errorf("%v records counted, want %d", n, len(recs))
	}
	if n := w.metric("ctrule_sqs_alerts_total", `sink="stdout"`); n != float64(len(want)) {
		t.Errorf("%v alerts counted, want %d", n, len(want))
	}
	timed := 0 // alerts of records with an eventTime
	for _, a := range w.received() {
		if a.Alert["time"] != "1970-01-01T00:00:00.000000000Z" {
			timed++
		}
	}
	if n := w.metric("ctrule_sqs_event_to_alert_seconds_count"); n != float64(timed) || timed < len(want)-5 {
		t.Errorf("%v event-to-alert observations, want %d", n, timed)
	}
	log := w.log()
	for _, s := range []string{"S3 test event", "digest file", "Insights file"} {
		if !strings.Contains(log, s) {
			t.Errorf("log does not mention %q", s)
		}
	}
	w.stop()
	e.expectEmpty(dlq, "the dead-letter queue")
}

// Every delivery shape, through real SNS topics where SNS is involved.
func TestEveryMessageShape(t *testing.T) {
	e := newAWSEnv(t)
	q, arn, dlq := e.queue(30*time.Second, 3)
	bucket := e.bucket("")
	recs := fixtureRecords(t)
	want := map[string]bool{}
	object := func(name string) string {
		data := logFile(t, recs, e.id+"-"+name, time.Time{})
		for k := range expectedAlerts(t, data) {
			want[k] = true
		}
		key := ctKey + name + ".json.gz"
		e.put(bucket, key, data)
		return key
	}
	s3Notice := func(key string) string {
		b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
			"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": testRegion, "eventName": "ObjectCreated:Put",
			"s3": map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{
				"key": strings.ReplaceAll(key, "/", "%2F"), "size": 1}}}}})
		return string(b)
	}
	topic := func(name string, raw bool) string {
		tp, err := e.sns.CreateTopic(e.ctx, &sns.CreateTopicInput{Name: aws.String(e.id + "-" + name)})
		e.must(err)
		attrs := map[string]string{}
		if raw {
			attrs["RawMessageDelivery"] = "true"
		}
		_, err = e.sns.Subscribe(e.ctx, &sns.SubscribeInput{TopicArn: tp.TopicArn, Protocol: aws.String("sqs"),
			Endpoint: aws.String(arn), Attributes: attrs})
		e.must(err)
		return *tp.TopicArn
	}
	publish := func(topicArn, msg string) {
		_, err := e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topicArn), Message: aws.String(msg)})
		e.must(err)
	}
	eventBridge := func(name string) string {
		rec := map[string]any{}
		for k, v := range recs[0] {
			rec[k] = v
		}
		// The first fixture record alerts; check that below.
		rec["eventID"] = e.id + "-eb-" + name
		b, _ := json.Marshal(map[string]any{"version": "0", "id": "eb-" + name, "detail-type": "AWS API Call via CloudTrail",
			"source": "aws.rds", "account": "111122223333", "time": "2026-01-02T03:00:00Z", "region": testRegion,
			"resources": []any{}, "detail": rec})
		for k := range expectedAlerts(t, b) {
			want[k] = true
		}
		return string(b)
	}

	enveloped, raw := topic("s3-events", false), topic("s3-events-raw", true)
	// S3 notification: direct, via SNS, via SNS with raw delivery.
	e.send(q, s3Notice(object("direct")))
	publish(enveloped, s3Notice(object("sns")))
	publish(raw, s3Notice(object("sns-raw")))
	// CloudTrail's own notice, several keys, through the trail's SNS topic.
	notice, _ := json.Marshal(map[string]any{"s3Bucket": bucket, "s3ObjectKey": []string{object("ct-1"), object("ct-2")}})
	publish(enveloped, string(notice))
	// EventBridge: raw and via SNS; and S3's EventBridge "Object Created".
	e.send(q, eventBridge("raw"))
	publish(enveloped, eventBridge("sns"))
	ebS3, _ := json.Marshal(map[string]any{"version": "0", "detail-type": "Object Created", "source": "aws.s3",
		"detail": map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": object("eb-s3")}}})
	e.send(q, string(ebS3))
	// Acknowledged and ignored: the S3 test event, a digest notice, a
	// non-CloudTrail EventBridge event.
	e.send(q, `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-02T03:00:00.000Z","Bucket":"`+bucket+`"}`)
	e.send(q, s3Notice("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/01/02/d.json.gz"))
	e.send(q, `{"version":"0","detail-type":"Object Deleted","source":"aws.s3","detail":{}}`)

	if len(want) < 8*20 {
		t.Fatalf("only %d alerts expected", len(want))
	}
	w := startWorker(t, "w1", q, "-concurrency", "3")
	waitFor(t, 60*time.Second, "every alert of every shape", func() bool { return len(missing(want, alertKeys(w))) == 0 })
	waitDrained(t, e, q, 15*time.Second)
	for k, n := range alertKeys(w) {
		if !want[k] || n != 1 {
			t.Errorf("alert %q: delivered %d times, expected: %v", k, n, want[k])
		}
	}
	if n := w.metric("ctrule_sqs_objects_total", `outcome="scanned"`); n != 6 {
		t.Errorf("%v objects scanned, want 6", n)
	}
	if n := w.metric("ctrule_sqs_messages_total", `outcome="ignored"`); n != 3 {
		t.Errorf("%v messages ignored, want 3", n)
	}
	w.stop()
	e.expectEmpty(dlq, "the dead-letter queue")
}

// waitDeadLettered waits for n messages in the DLQ and returns their bodies.
func waitDeadLettered(t *testing.T, e *awsEnv, dlq string, n int) []string {
	t.Helper()
	var bodies []string
	waitFor(t, 60*time.Second, fmt.Sprintf("%d message(s) in the dead-letter queue", n), func() bool {
		out, err := e.sqs.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), MaxNumberOfMessages: 10})
		e.must(err)
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
		return len(bodies) >= n
	})
	return bodies
}

func TestPoisonMessageReachesDeadLetterQueue(t *testing.T) {
	e := newAWSEnv(t)
	q, _, dlq := e.queue(30*time.Second, 2)
	e.send(q, `{"Records":[{"eventSource":"aws:s3","s3":`) // truncated JSON
	e.send(q, `{"hello":"world"}`)                         // valid JSON, unknown shape
	w := startWorker(t, "w1", q)
	bodies := waitDeadLettered(t, e, dlq, 2)
	w.stop()
	if len(bodies) != 2 {
		t.Errorf("dead-letter queue has %d messages, want 2", len(bodies))
	}
	log := w.log()
	for _, s := range []string{"invalid JSON", "not a CloudTrail, S3, SNS or EventBridge message", `"stage":"parse"`} {
		if !strings.Contains(log, s) {
			t.Errorf("log does not say %q", s)
		}
	}
	if len(w.received()) != 0 {
		t.Errorf("alerts from poison messages: %v", w.received())
	}
}

func TestMissingObjectRetriedThenDeadLettered(t *testing.T) {
	e := newAWSEnv(t)
	q, _, dlq := e.queue(30*time.Second, 3)
	bucket := e.bucket("")
	notice, _ := json.Marshal(map[string]any{"s3Bucket": bucket, "s3ObjectKey": []string{ctKey + "missing.json.gz"}})
	e.send(q, string(notice))
	w := startWorker(t, "w1", q)
	waitDeadLettered(t, e, dlq, 1)
	w.stop()
	log := w.log()
	if n := strings.Count(log, `"stage":"s3"`); n != 3 {
		t.Errorf("%d S3 failures logged, want one per receive (3)", n)
	}
	if !strings.Contains(log, "NoSuchKey") {
		t.Error("log does not name the S3 error (NoSuchKey)")
	}
	for _, s := range []string{`"receive_count":1`, `"receive_count":2`, `"receive_count":3`} {
		if !strings.Contains(log, s) {
			t.Errorf("log has no failure with %s", s)
		}
	}
}

// An object whose stream breaks half-way (a truncated gzip): the alerts of
// the records before the break are delivered before the scan error fails
// the message; the message comes back (at least once) until it is
// dead-lettered, and the replica's de-duplication sends each alert once.
func TestAlertsBeforeAScanErrorAreDelivered(t *testing.T) {
	e := newAWSEnv(t)
	q, _, dlq := e.queue(30*time.Second, 2)
	bucket := e.bucket("")
	data := logFile(t, fixtureRecords(t), e.id, time.Time{})
	cut := data[:len(data)*3/4]
	want := map[string]bool{}
	rs, err := ctrule.Compile(ctrule.LoadBuiltin("rds"))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	_, err = rs.Scan(bytes.NewReader(cut), func(a ctrule.Alert) error {
		var rec struct {
			EventID string `json:"eventID"`
		}
		json.Unmarshal(a.Raw, &rec)
		want[rec.EventID+" "+a.Rule] = true
		return nil
	})
	if err == nil || len(want) < 5 {
		t.Fatalf("the cut log file should give alerts (%d) then an error (%v)", len(want), err)
	}
	key := ctKey + "cut.json.gz"
	e.put(bucket, key, cut)
	notice, _ := json.Marshal(map[string]any{"s3Bucket": bucket, "s3ObjectKey": []string{key}})
	e.send(q, string(notice))
	w := startWorker(t, "w1", q)
	waitDeadLettered(t, e, dlq, 1)
	w.stop()
	got := alertKeys(w)
	if m := missing(want, got); len(m) != 0 {
		t.Errorf("%d of %d alerts found before the error were not delivered: %v", len(m), len(want), m)
	}
	for k, n := range got {
		if !want[k] {
			t.Errorf("unexpected alert %q", k)
		}
		if n != 1 {
			t.Errorf("alert %q delivered %d times, want once (de-duplicated on the second receive)", k, n)
		}
	}
	if n := strings.Count(w.log(), `"stage":"scan"`); n != 2 {
		t.Errorf("%d scan failures logged, want one per receive (2):\n%s", n, tail(w.log(), 2000))
	}
}

// The wrong-or-empty-input policy (docs/bad-input.md): an object with no
// record is done with a warning; one whose values hold no CloudTrail record
// fails (stage scan) on every receive and is dead-lettered.
func TestWrongOrEmptyObject(t *testing.T) {
	e := newAWSEnv(t)
	q, _, dlq := e.queue(30*time.Second, 2)
	bucket := e.bucket("")
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	for key, body := range map[string][]byte{"empty.json.gz": gz(`{"Records":[]}`), "wrong.json.gz": gz(`{"hello":"world"}`)} {
		e.put(bucket, ctKey+key, body)
		notice, _ := json.Marshal(map[string]any{"s3Bucket": bucket, "s3ObjectKey": []string{ctKey + key}})
		e.send(q, string(notice))
	}
	w := startWorker(t, "w1", q)
	bodies := waitDeadLettered(t, e, dlq, 1)
	waitDrained(t, e, q, 15*time.Second)
	if n := w.metric("ctrule_sqs_messages_total", `outcome="done"`); n != 1 {
		t.Errorf("%v messages done, want 1 (the empty object)", n)
	}
	w.stop()
	if len(bodies) != 1 || !strings.Contains(bodies[0], "wrong.json.gz") {
		t.Errorf("dead-lettered %q, want the wrong object only", bodies)
	}
	log := w.log()
	if n := strings.Count(log, "no CloudTrail record in this input (1 value: 0 not a JSON record, 1 without the CloudTrail keys)"); n != 2 {
		t.Errorf("%d no-record failures logged, want one per receive (2):\n%s", n, tail(log, 2000))
	}
	if !strings.Contains(log, `"msg":"empty input: no record in it"`) || !strings.Contains(log, "empty.json.gz") {
		t.Errorf("no warning for the empty object:\n%s", tail(log, 2000))
	}
}

// webhook is a test alert endpoint: it refuses while down, and counts what
// it accepted per "eventID rule" key.
type webhook struct {
	srv      *httptest.Server
	down     atomic.Bool
	delay    time.Duration
	refused  atomic.Int64
	mu       sync.Mutex
	accepted map[string]int
	requests atomic.Int64
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{accepted: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		if h.down.Load() {
			h.refused.Add(1)
			http.Error(rw, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		time.Sleep(h.delay)
		var a map[string]any
		if err := json.Unmarshal(body, &a); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(rw, "bad alert", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.accepted[receivedAlert{Alert: a}.key()]++
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *webhook) keys() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := make(map[string]int, len(h.accepted))
	for k, v := range h.accepted {
		c[k] = v
	}
	return c
}

func TestWebhookDownThenRecovers(t *testing.T) {
	e := newAWSEnv(t)
	q, arn, dlq := e.queue(30*time.Second, 10)
	bucket := e.bucket(arn)
	hook := newWebhook(t)
	hook.down.Store(true)
	want := e.putFixtureLog(bucket, "webhook")
	w := startWorker(t, "w1", q, "-webhook-url", hook.srv.URL, "-webhook-retries", "1")
	waitFor(t, 30*time.Second, "a failed delivery", func() bool {
		return w.metric("ctrule_sqs_failures_total", `stage="sink"`) >= 2
	})
	if got := len(hook.keys()); got != 0 {
		t.Fatalf("webhook accepted %d alerts while down", got)
	}
	hook.down.Store(false)
	waitFor(t, 30*time.Second, "every alert at the webhook", func() bool { return len(missing(want, hook.keys())) == 0 })
	waitDrained(t, e, q, 15*time.Second)
	for k, n := range hook.keys() {
		if !want[k] || n != 1 {
			t.Errorf("webhook alert %q: accepted %d times, expected %v", k, n, want[k])
		}
	}
	// stdout took the alerts on the first attempt; the retries did not
	// repeat them there.
	for k, n := range alertKeys(w) {
		if n != 1 {
			t.Errorf("stdout alert %q written %d times", k, n)
		}
	}
	if len(missing(want, alertKeys(w))) != 0 {
		t.Error("stdout misses alerts")
	}
	if !strings.Contains(w.log(), "503") {
		t.Error("log does not give the webhook's status")
	}
	w.stop()
	e.expectEmpty(dlq, "the dead-letter queue")
}

// An authenticated HTTPS endpoint behind a private CA (falcosidekick with a
// token, a Splunk HEC, Elastic): the headers come from the environment and
// a file, never the command line, and the CA bundle makes TLS verify.
func TestWebhookHTTPSWithToken(t *testing.T) {
	e := newAWSEnv(t)
	q, arn, dlq := e.queue(30*time.Second, 5)
	bucket := e.bucket(arn)
	var mu sync.Mutex
	accepted, refused := map[string]int{}, 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Splunk s3cret-token" || r.Header.Get("X-Tenant") != "acme" ||
			r.Header.Get("Content-Type") != "application/json" {
			refused++
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		var a receivedAlert
		if err := json.NewDecoder(r.Body).Decode(&a.Alert); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		accepted[a.key()]++
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	headers := filepath.Join(dir, "headers")
	if err := os.WriteFile(headers, []byte("# from a mounted secret\nX-Tenant: acme\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CTRULE_SQS_WEBHOOK_HEADERS", "Authorization: Splunk s3cret-token")
	want := e.putFixtureLog(bucket, "https")
	w := startWorker(t, "w1", q, "-webhook-url", srv.URL, "-webhook-ca-file", ca, "-webhook-header-file", headers)
	keys := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(accepted)
	}
	waitFor(t, 30*time.Second, "every alert at the HTTPS endpoint", func() bool { return len(missing(want, keys())) == 0 })
	waitDrained(t, e, q, 15*time.Second)
	w.stop()
	mu.Lock()
	if refused != 0 {
		t.Errorf("%d requests refused (headers missing)", refused)
	}
	mu.Unlock()
	if strings.Contains(strings.Join(w.cmd.Args, " "), "s3cret") || strings.Contains(w.log(), "s3cret") {
		t.Error("the token is on the command line or in the log")
	}
	e.expectEmpty(dlq, "the dead-letter queue")

	// Without the CA bundle, TLS does not verify: nothing is accepted.
	q2, arn2, _ := e.queue(30*time.Second, 5)
	e.putFixtureLog(e.bucket(arn2), "https-noca")
	w2 := startWorker(t, "w2", q2, "-webhook-url", srv.URL, "-webhook-retries", "0")
	waitFor(t, 30*time.Second, "a failed delivery", func() bool {
		return w2.metric("ctrule_sqs_failures_total", `stage="sink"`) >= 1
	})
	w2.stop()
	if !strings.Contains(w2.log(), "certificate") {
		t.Errorf("the log does not say the certificate is not trusted:\n%s", tail(w2.log(), 1500))
	}
}

// /healthz and /metrics agree on the messages in flight (0 while idle, even
// during a long poll), /metrics passes promtool check metrics, and each
// message done leaves one info line.
func TestHealthMetricsAndLog(t *testing.T) {
	e := newAWSEnv(t)
	q, arn, _ := e.queue(30*time.Second, 5)
	bucket := e.bucket(arn)
	want := e.putFixtureLog(bucket, "health")
	w := startWorker(t, "w1", q, "-log-level", "info")
	waitFor(t, 30*time.Second, "every alert", func() bool { return len(missing(want, alertKeys(w))) == 0 })
	waitDrained(t, e, q, 15*time.Second)
	time.Sleep(1500 * time.Millisecond) // inside the next long poll
	resp, err := http.Get("http://" + w.metrics + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		InFlight int `json:"in_flight"`
	}
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if g := w.metric("ctrule_sqs_in_flight_messages"); h.InFlight != 0 || g != 0 {
		t.Errorf("idle: /healthz in_flight %d, /metrics in_flight_messages %v; want 0 and 0", h.InFlight, g)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		resp, err := http.Get("http://" + w.metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else if os.Getenv("CTRULE_SQS_REQUIRE_PROMTOOL") != "" {
		t.Fatal("promtool not found (Debian: apt-get install prometheus)")
	} else {
		t.Log("promtool not found: /metrics not linted")
	}
	w.stop()
	if n := strings.Count(w.log(), `"level":"INFO","msg":"message done"`); n != 1 {
		t.Errorf("%d info lines for the message done, want 1:\n%s", n, tail(w.log(), 2000))
	}
}

// A worker killed mid-object: the message comes back after its visibility
// timeout and another worker delivers every alert. The object is slow to
// deliver (a slow webhook), so that the first worker also has to keep the
// message invisible past the queue's timeout while it works.
func TestKilledWorkerMessageComesBack(t *testing.T) {
	e := newAWSEnv(t)
	q, arn, dlq := e.queue(3*time.Second, 5)
	bucket := e.bucket(arn)
	hook := newWebhook(t)
	hook.delay = 60 * time.Millisecond
	want := e.putFixtureLog(bucket, "killed")

	w1 := startWorker(t, "w1", q, "-webhook-url", hook.srv.URL, "-visibility-timeout", "3s")
	waitFor(t, 30*time.Second, "the first alerts at the webhook", func() bool { return len(hook.keys()) >= 3 })
	w1.kill()
	if len(missing(want, hook.keys())) == 0 {
		t.Fatal("the object was finished before the kill: make it slower")
	}
	w2 := startWorker(t, "w2", q, "-webhook-url", hook.srv.URL, "-visibility-timeout", "3s")
	waitFor(t, 60*time.Second, "every alert at the webhook", func() bool { return len(missing(want, hook.keys())) == 0 })
	waitDrained(t, e, q, 15*time.Second)
	if n := w2.metric("ctrule_sqs_messages_total", `outcome="done"`); n != 1 {
		t.Errorf("worker 2 finished %v messages, want 1", n)
	}
	// With 60ms per alert the scan outlives the 3s visibility timeout: it
	// stays with worker 2 only because the worker extends it.
	if !strings.Contains(w2.log(), "visibility extended") {
		t.Error("worker 2 never extended the visibility timeout")
	}
	w2.stop()
	e.expectEmpty(dlq, "the dead-letter queue")
}

// Two workers on one queue: every risky event alerted, and no message
// processed to completion twice.
func TestTwoWorkersShareAQueue(t *testing.T) {
	e := newAWSEnv(t)
	q, arn, dlq := e.queue(20*time.Second, 5)
	bucket := e.bucket(arn)
	recs := fixtureRecords(t)
	const objects = 30
	want := map[string]bool{}
	for i := range objects {
		data := logFile(t, recs, fmt.Sprintf("%s-%d", e.id, i), time.Now())
		for k := range expectedAlerts(t, data) {
			want[k] = true
		}
		e.put(bucket, fmt.Sprintf("%s%08d.json.gz", ctKey, i), data)
	}
	w1 := startWorker(t, "w1", q, "-concurrency", "3")
	w2 := startWorker(t, "w2", q, "-concurrency", "3")
	waitFor(t, 90*time.Second, "every alert", func() bool { return len(missing(want, alertKeys(w1, w2))) == 0 })
	waitDrained(t, e, q, 15*time.Second)
	done1 := w1.metric("ctrule_sqs_messages_total", `outcome="done"`)
	done2 := w2.metric("ctrule_sqs_messages_total", `outcome="done"`)
	if done1+done2 != objects {
		t.Errorf("messages done: %v + %v, want %d in all", done1, done2, objects)
	}
	if done1 == 0 || done2 == 0 {
		t.Errorf("one worker did all the work (%v, %v)", done1, done2)
	}
	for k, n := range alertKeys(w1, w2) {
		if !want[k] || n != 1 {
			t.Errorf("alert %q: delivered %d times, expected %v", k, n, want[k])
		}
	}
	w1.stop()
	w2.stop()
	e.expectEmpty(dlq, "the dead-letter queue")
}

// SIGTERM while a message is in flight: the worker stops receiving,
// finishes the message (every alert delivered, message deleted) and exits 0.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	e := newAWSEnv(t)
	q, arn, _ := e.queue(30*time.Second, 5)
	bucket := e.bucket(arn)
	hook := newWebhook(t)
	hook.delay = 20 * time.Millisecond
	want := e.putFixtureLog(bucket, "shutdown")
	w := startWorker(t, "w1", q, "-webhook-url", hook.srv.URL)
	waitFor(t, 30*time.Second, "the first alerts at the webhook", func() bool { return len(hook.keys()) >= 3 })
	w.stop() // SIGTERM, exit status 0
	if m := missing(want, hook.keys()); len(m) != 0 {
		t.Errorf("%d alerts missing after a graceful shutdown", len(m))
	}
	if v, f := e.queueCounts(q); v+f != 0 {
		t.Errorf("queue still holds %d messages: the finished one was not deleted", v+f)
	}
}

// SIGTERM with a shutdown timeout too short for the message in flight: the
// worker releases it at once (visible again, for another replica) and
// exits 0; the next worker delivers what was missing.
func TestShutdownTimeoutReleasesMessage(t *testing.T) {
	e := newAWSEnv(t)
	q, arn, _ := e.queue(60*time.Second, 5)
	bucket := e.bucket(arn)
	hook := newWebhook(t)
	hook.delay = 100 * time.Millisecond
	want := e.putFixtureLog(bucket, "release")
	w1 := startWorker(t, "w1", q, "-webhook-url", hook.srv.URL, "-shutdown-timeout", "1s")
	waitFor(t, 30*time.Second, "the first alerts at the webhook", func() bool { return len(hook.keys()) >= 2 })
	w1.stop()
	if !strings.Contains(w1.log(), "released unfinished message") {
		t.Error("worker 1 did not log the release")
	}
	// Visible again right away, not after the queue's 60s timeout.
	waitFor(t, 5*time.Second, "the released message to be visible", func() bool { v, _ := e.queueCounts(q); return v == 1 })
	hook.delay = 0
	w2 := startWorker(t, "w2", q, "-webhook-url", hook.srv.URL)
	waitFor(t, 30*time.Second, "every alert at the webhook", func() bool { return len(missing(want, hook.keys())) == 0 })
	waitDrained(t, e, q, 15*time.Second)
	w2.stop()
}

// Alerts published to an SNS topic reach its subscribers, with the rule
// and priority as message attributes.
func TestAlertsToSNSTopic(t *testing.T) {
	e := newAWSEnv(t)
	q, arn, _ := e.queue(30*time.Second, 5)
	bucket := e.bucket(arn)
	// The subscriber: a second queue on an alerts topic, raw delivery.
	sub, err := e.sqs.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String(e.id + "-alerts")})
	e.must(err)
	tp, err := e.sns.CreateTopic(e.ctx, &sns.CreateTopicInput{Name: aws.String(e.id + "-alerts")})
	e.must(err)
	_, err = e.sns.Subscribe(e.ctx, &sns.SubscribeInput{TopicArn: tp.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(e.queueArn(*sub.QueueUrl)), Attributes: map[string]string{"RawMessageDelivery": "true"}})
	e.must(err)
	want := e.putFixtureLog(bucket, "sns")
	w := startWorker(t, "w1", q, "-sns-topic-arn", *tp.TopicArn, "-stdout=false")
	got := map[string]int{}
	waitFor(t, 30*time.Second, "every alert on the topic", func() bool {
		out, err := e.sqs.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: sub.QueueUrl, MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}})
		e.must(err)
		for _, m := range out.Messages {
			var a map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &a); err != nil {
				t.Fatalf("SNS alert is not JSON: %v", err)
			}
			if r := m.MessageAttributes["rule"]; r.StringValue == nil || *r.StringValue != a["rule"] {
				t.Errorf("rule attribute %v, alert rule %v", r.StringValue, a["rule"])
			}
			got[receivedAlert{Alert: a}.key()]++
			e.sqs.DeleteMessage(e.ctx, &sqs.DeleteMessageInput{QueueUrl: sub.QueueUrl, ReceiptHandle: m.ReceiptHandle})
		}
		return len(missing(want, got)) == 0
	})
	if len(w.received()) != 0 {
		t.Errorf("%d alerts on stdout with -stdout=false", len(w.received()))
	}
	waitDrained(t, e, q, 15*time.Second)
	w.stop()
}

// A large object streams through: the worker's peak memory stays far below
// the object's decompressed size.
func TestLargeObjectBoundedMemory(t *testing.T) {
	e := newAWSEnv(t)
	q, arn, _ := e.queue(30*time.Second, 5)
	bucket := e.bucket(arn)
	// Quiet records only: this measures streaming, not alert delivery.
	recs := quietRecords(t, fixtureRecords(t))
	const size = 256 << 20 // decompressed bytes
	var plain int64
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write([]byte(`{"Records":[`))
	n := 0
	for plain < size {
		r := recs[n%len(recs)]
		r["eventID"] = fmt.Sprintf("%s-%d", e.id, n)
		b, _ := json.Marshal(r)
		if n > 0 {
			zw.Write([]byte(","))
		}
		zw.Write(b)
		plain += int64(len(b)) + 1
		n++
	}
	zw.Write([]byte("]}"))
	zw.Close()
	e.put(bucket, ctKey+"large.json.gz", buf.Bytes())
	w := startWorkerBinary(t, workerBin, "w1", q, "-concurrency", "1")
	waitFor(t, 120*time.Second, "the large object to be scanned", func() bool {
		return w.metric("ctrule_sqs_messages_total", `outcome="done"`) == 1
	})
	if got := w.metric("ctrule_sqs_records_total"); got != float64(n) {
		t.Errorf("%v records scanned, want %d", got, n)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var peakKB int64
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Sscanf(strings.TrimPrefix(line, "VmHWM:"), "%d", &peakKB)
		}
	}
	t.Logf("%d records, %d MiB decompressed (%d KiB gzipped): peak RSS %d MiB", n, plain>>20, buf.Len()>>10, peakKB>>10)
	if peakKB == 0 || peakKB > 64<<10 {
		t.Errorf("peak RSS %d KiB for a %d MiB object: not streamed", peakKB, plain>>20)
	}
	w.stop()
}
