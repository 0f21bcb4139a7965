package main

// Helpers of the end-to-end tests: they drive the real worker binary against
// an S3+SQS+SNS-compatible server (moto) that scripts/test.d/sqs.sh starts on
// 127.0.0.1 and names in CTRULE_SQS_TEST_ENDPOINT.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

const testRegion = "us-east-1"

var (
	workerBin     string // built once by TestMain
	raceWorkerBin string // the same with -race, when CTRULE_SQS_WORKER_RACE is set
	endpoint      = os.Getenv("CTRULE_SQS_TEST_ENDPOINT")
)

func TestMain(m *testing.M) {
	if endpoint != "" {
		dir, err := os.MkdirTemp("", "sqs-worker-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		workerBin = filepath.Join(dir, "ctrule-sqs-worker")
		builds := [][]string{{"build", "-o", workerBin, "."}}
		// CTRULE_SQS_WORKER_RACE=1 also builds the worker with the race
		// detector, for the tests of concurrent work: a race makes the
		// worker exit non-zero, which fails the test.
		if os.Getenv("CTRULE_SQS_WORKER_RACE") != "" {
			raceWorkerBin = workerBin + "-race"
			builds = append(builds, []string{"build", "-race", "-o", raceWorkerBin, "."})
		}
		for _, args := range builds {
			build := exec.Command("go", args...)
			build.Stdout, build.Stderr = os.Stderr, os.Stderr
			if err := build.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "building the worker:", err)
				os.Exit(1)
			}
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// awsEnv is a test's view of the local server.
type awsEnv struct {
	t   *testing.T
	ctx context.Context
	sqs *sqs.Client
	s3  *s3.Client
	sns *sns.Client
	id  string // unique per test: names of queues, buckets, topics
}

var testSeq atomic.Int64

func newAWSEnv(t *testing.T) *awsEnv {
	t.Helper()
	if endpoint == "" {
		if os.Getenv("CTRULE_SQS_REQUIRE_E2E") != "" {
			t.Fatal("CTRULE_SQS_TEST_ENDPOINT is not set: run scripts/test.d/sqs.sh")
		}
		t.Skip("end-to-end test: set CTRULE_SQS_TEST_ENDPOINT to a moto server (scripts/test.d/sqs.sh does)")
	}
	cfg := aws.Config{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	return &awsEnv{
		t: t, ctx: context.Background(),
		sqs: sqs.NewFromConfig(cfg),
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		sns: sns.NewFromConfig(cfg),
		id:  fmt.Sprintf("%s-%d-%d", strings.Trim(name, "-"), os.Getpid(), testSeq.Add(1)),
	}
}

func (e *awsEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// queue creates a queue with a dead-letter queue after maxReceives receives.
func (e *awsEnv) queue(visibility time.Duration, maxReceives int) (url, arn, dlqURL string) {
	e.t.Helper()
	dlq, err := e.sqs.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String(e.id + "-dlq")})
	e.must(err)
	dlqArn := e.queueArn(*dlq.QueueUrl)
	redrive, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlqArn, "maxReceiveCount": maxReceives})
	q, err := e.sqs.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String(e.id), Attributes: map[string]string{
		"VisibilityTimeout": strconv.Itoa(int(visibility / time.Second)),
		"RedrivePolicy":     string(redrive),
	}})
	e.must(err)
	return *q.QueueUrl, e.queueArn(*q.QueueUrl), *dlq.QueueUrl
}

func (e *awsEnv) queueArn(url string) string {
	e.t.Helper()
	a, err := e.sqs.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	e.must(err)
	return a.Attributes["QueueArn"]
}

// queueCounts returns the visible and in-flight message counts.
func (e *awsEnv) queueCounts(url string) (visible, inFlight int) {
	e.t.Helper()
	a, err := e.sqs.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	e.must(err)
	visible, _ = strconv.Atoi(a.Attributes["ApproximateNumberOfMessages"])
	inFlight, _ = strconv.Atoi(a.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return
}

func (e *awsEnv) expectEmpty(queueURL, what string) {
	e.t.Helper()
	if v, f := e.queueCounts(queueURL); v+f != 0 {
		e.t.Errorf("%d messages in %s", v+f, what)
	}
}

// bucket creates a bucket whose ObjectCreated notifications go to the queue
// (S3 also sends its test event then).
func (e *awsEnv) bucket(queueArn string) string {
	e.t.Helper()
	b := e.id + "-trail"
	_, err := e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
	e.must(err)
	if queueArn != "" {
		_, err = e.s3.PutBucketNotificationConfiguration(e.ctx, &s3.PutBucketNotificationConfigurationInput{
			Bucket: aws.String(b),
			NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
				QueueArn: aws.String(queueArn), Events: []s3types.Event{"s3:ObjectCreated:*"}}}},
		})
		e.must(err)
	}
	return b
}

func (e *awsEnv) put(bucket, key string, body []byte) {
	e.t.Helper()
	_, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	e.must(err)
}

func (e *awsEnv) send(queueURL, body string) {
	e.t.Helper()
	_, err := e.sqs.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)})
	e.must(err)
}

// ---------------------------------------------------------------- fixtures

// fixtureRecords are the built-in rules' fixture records (alerting and
// quiet ones), from libctrule/rules/tests.
func fixtureRecords(t *testing.T) []map[string]any {
	t.Helper()
	files, err := filepath.Glob("../../libctrule/rules/tests/*.ndjson")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture records in ../../libctrule/rules/tests (%v)", err)
	}
	var recs []map[string]any
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var r map[string]any
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			recs = append(recs, r)
		}
	}
	return recs
}

// logFile makes a gzipped CloudTrail log file of the records, each given a
// fresh eventID (prefix-N) and, when eventTime is not zero, that eventTime.
func logFile(t *testing.T, recs []map[string]any, prefix string, eventTime time.Time) []byte {
	t.Helper()
	out := make([]map[string]any, len(recs))
	for i, r := range recs {
		c := make(map[string]any, len(r))
		for k, v := range r {
			c[k] = v
		}
		c["eventID"] = fmt.Sprintf("%s-%d", prefix, i)
		if !eventTime.IsZero() {
			c["eventTime"] = eventTime.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		out[i] = c
	}
	js, err := json.Marshal(map[string]any{"Records": out})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(js)
	zw.Close()
	return buf.Bytes()
}

// putFixtureLog uploads a log file of every fixture record (fresh eventIDs)
// as <ctKey><name>.json.gz and returns the alerts it must give.
func (e *awsEnv) putFixtureLog(bucket, name string) map[string]bool {
	e.t.Helper()
	data := logFile(e.t, fixtureRecords(e.t), e.id+"-"+name, time.Time{})
	e.put(bucket, ctKey+name+".json.gz", data)
	return expectedAlerts(e.t, data)
}

var (
	oracleOnce  sync.Once
	oracleRules *ctrule.Ruleset
)

// expectedAlerts is what the built-in rules say about data, computed
// in-process by the binding: the set of "eventID rule" keys.
func expectedAlerts(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	want, _, err := oracleScan(t, data)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// quietRecords keeps the records on which the built-in rules (their
// correlations included) neither alert nor report anything: a fixture record
// with a placeholder eventTime that a correlation's rule matches is reported
// (the correlation cannot place it in time), so it is not quiet.
func quietRecords(t *testing.T, recs []map[string]any) []map[string]any {
	t.Helper()
	var quiet []map[string]any
	for _, r := range recs {
		b, _ := json.Marshal(r)
		if want, reports, err := oracleScan(t, b); err == nil && len(want) == 0 && reports == 0 {
			quiet = append(quiet, r)
		}
	}
	if len(quiet) == 0 {
		t.Fatal("no quiet fixture record")
	}
	return quiet
}

// oracleScan scans data with the built-in rules in this process: the alerts
// (eventID and rule) and how many records were reported.
func oracleScan(t *testing.T, data []byte) (map[string]bool, int, error) {
	t.Helper()
	oracleOnce.Do(func() {
		var err error
		if oracleRules, err = ctrule.Compile(ctrule.LoadBuiltin("rds")); err != nil {
			t.Fatal(err)
		}
	})
	want := map[string]bool{}
	reports := 0
	_, err := oracleRules.Scan(bytes.NewReader(data), func(a ctrule.Alert) error {
		var rec struct {
			EventID string `json:"eventID"`
		}
		json.Unmarshal(a.Raw, &rec)
		want[rec.EventID+" "+a.Rule] = true
		return nil
	}, ctrule.OnRecordError(func(*ctrule.RecordError) error { reports++; return nil }))
	return want, reports, err
}

// ---------------------------------------------------------------- the worker

// workerProc is one running worker binary.
type workerProc struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	metrics string // host:port of /metrics and /healthz
	mu      sync.Mutex
	alerts  []receivedAlert
	stderr  bytes.Buffer
	done    chan struct{}
	exit    error
}

type receivedAlert struct {
	At    time.Time // when the line reached the test
	Alert map[string]any
	Line  string
}

func (a receivedAlert) key() string {
	f, _ := a.Alert["output_fields"].(map[string]any)
	id, _ := f["ct.id"].(string)
	rule, _ := a.Alert["rule"].(string)
	return id + " " + rule
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startWorker runs the worker on the queue; extra flags follow the defaults
// the tests share (short waits, 1s backoff).
func startWorker(t *testing.T, name, queueURL string, extra ...string) *workerProc {
	t.Helper()
	bin := workerBin
	if raceWorkerBin != "" {
		bin = raceWorkerBin
	}
	return startWorkerBinary(t, bin, name, queueURL, extra...)
}

// startWorkerBinary is startWorker with a given binary (the load and memory
// tests measure the plain one).
func startWorkerBinary(t *testing.T, bin, name, queueURL string, extra ...string) *workerProc {
	t.Helper()
	w := &workerProc{t: t, name: name, metrics: freePort(t), done: make(chan struct{})}
	args := append([]string{"-queue-url", queueURL, "-region", testRegion, "-s3-path-style",
		"-wait-time", "1s", "-backoff-base", "1s", "-backoff-max", "4s", "-shutdown-timeout", "20s",
		"-listen", w.metrics, "-log-level", "debug"}, extra...)
	w.cmd = exec.Command(bin, args...)
	w.cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+endpoint,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true")
	w.cmd.Stderr = &lockedWriter{mu: &w.mu, w: &w.stderr}
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var a map[string]any
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				a = map[string]any{"unparsable": err.Error()}
			}
			w.mu.Lock()
			w.alerts = append(w.alerts, receivedAlert{At: time.Now(), Alert: a, Line: sc.Text()})
			w.mu.Unlock()
		}
		w.exit = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			w.cmd.Process.Kill()
			<-w.done
		}
		if i := strings.Index(w.log(), "WARNING: DATA RACE"); i >= 0 {
			t.Errorf("worker %s has a data race:\n%s", w.name, w.log()[i:])
		} else if t.Failed() {
			t.Logf("worker %s stderr (tail):\n%s", w.name, tail(w.log(), 40))
		}
	})
	waitFor(t, 15*time.Second, "worker "+name+" healthy", func() bool { return w.healthz() == http.StatusOK })
	return w
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (w *workerProc) log() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stderr.String()
}

func (w *workerProc) received() []receivedAlert {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]receivedAlert(nil), w.alerts...)
}

func (w *workerProc) healthz() int {
	resp, err := http.Get("http://" + w.metrics + "/healthz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// metric returns the sum of the series of a metric whose labels contain
// every given label (e.g. `outcome="done"`).
func (w *workerProc) metric(name string, labels ...string) float64 {
	w.t.Helper()
	resp, err := http.Get("http://" + w.metrics + "/metrics")
	if err != nil {
		w.t.Fatalf("metrics of %s: %v", w.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	sum := 0.0
lines:
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue lines
			}
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			w.t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// stop sends SIGTERM and expects a clean exit (status 0).
func (w *workerProc) stop() {
	w.t.Helper()
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.t.Fatalf("worker %s did not stop within 30s of SIGTERM", w.name)
	}
	if w.exit != nil {
		w.t.Fatalf("worker %s exited with %v after SIGTERM; stderr:\n%s", w.name, w.exit, tail(w.log(), 30))
	}
}

func (w *workerProc) kill() {
	w.cmd.Process.Kill()
	<-w.done
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// alertKeys counts the alerts per "eventID rule" key over workers.
func alertKeys(ws ...*workerProc) map[string]int {
	got := map[string]int{}
	for _, w := range ws {
		for _, a := range w.received() {
			got[a.key()]++
		}
	}
	return got
}

// missing lists the wanted keys not in got.
func missing(want map[string]bool, got map[string]int) []string {
	var m []string
	for k := range want {
		if got[k] == 0 {
			m = append(m, k)
		}
	}
	return m
}
