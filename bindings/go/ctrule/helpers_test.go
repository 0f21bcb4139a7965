package ctrule_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

// lineOf is a's JSON line (Alert.JSON); the test fails if it cannot be
// written.
func lineOf(t testing.TB, a ctrule.Alert) []byte {
	t.Helper()
	line, err := a.JSON()
	if err != nil {
		t.Fatalf("alert of %q, record %d: JSON: %v", a.Rule, a.RecordIndex, err)
	}
	return line
}

// repoRoot is the libctrule checkout this module lives in (bindings/go/ctrule
// is three levels down).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// sharedData returns a file of the shared CloudTrail corpus, which lives next
// to the repository (<repo>/../shared/data/cloudtrail) or in $CTR_SHARED_DATA.
// Outside the repository (e.g. from the module cache) the corpus is absent and
// the test is skipped, unless CTRULE_REQUIRE_DATA is set (as the repository's
// test script does), which makes its absence a failure.
func sharedData(t testing.TB, name string) []byte {
	t.Helper()
	dir := os.Getenv("CTR_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "..", "shared", "data", "cloudtrail")
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		if os.Getenv("CTRULE_REQUIRE_DATA") != "" {
			t.Fatalf("shared CloudTrail data required but unreadable: %v", err)
		}
		t.Skipf("shared CloudTrail data not available (%v); set CTR_SHARED_DATA", err)
	}
	return b
}

// testRules match plenty of the shared corpus, across several rules, tags,
// priorities and absent fields.
const testRules = `
- list: noisy_reads
  items: [DescribeInstances, DescribeInstanceInformation]

- macro: ok_call
  condition: not ct.error exists

- rule: Console Login
  desc: a console login, successful or not
  condition: ct.name = ConsoleLogin
  output: login by %ct.user from %ct.srcip result=%json.value[/responseElements/ConsoleLogin]
  priority: NOTICE
  source: aws_cloudtrail
  tags: [aws, login]

- rule: Noisy Read
  desc: a frequent read
  condition: ct.name in (noisy_reads) and ok_call
  output: read %ct.name by %ct.user in %ct.region
  priority: DEBUG
  source: aws_cloudtrail
  tags: [aws]

- rule: Secret Read
  desc: a secret was read
  condition: ct.name = GetSecretValue
  output: secret %json.value[/requestParameters/secretId] by %ct.user err=%ct.error
  priority: WARNING
  source: aws_cloudtrail
  tags: [aws, secrets]

- rule: Any Create
  desc: anything created
  condition: ct.name startswith Create
  output: create %ct.name by %ct.user err=%ct.error
  priority: INFO
  source: aws_cloudtrail
`

// apiRules and apiEvents are a small, fully known case.
const apiRules = `
- list: risky_names
  items: [StopDBInstance, DeleteDBCluster]
- macro: ok_call
  condition: not ct.error exists
- rule: Risky RDS
  desc: risky
  condition: ct.name in (risky_names) and ok_call
  output: risky %ct.name by %ct.user in %ct.region (%json.value[/requestParameters/dBInstanceIdentifier]) err=%ct.error
  priority: WARNING
  source: aws_cloudtrail
  tags: [aws, aws_rds]
- rule: Any Stop
  desc: any stop
  condition: ct.name startswith Stop
  output: stop %ct.name
  priority: INFO
  source: aws_cloudtrail
`

var apiEventLines = []string{
	`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"bob","accountId":"111122223333"},"eventTime":"2025-03-01T10:02:11Z","eventSource":"rds.amazonaws.com","eventName":"StopDBInstance","awsRegion":"eu-west-1","requestParameters":{"dBInstanceIdentifier":"orders-db"}}`,
	`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"eve","accountId":"111122223333"},"eventTime":"2025-03-01T10:03:11Z","eventSource":"rds.amazonaws.com","eventName":"StopDBInstance","awsRegion":"eu-west-1","errorCode":"AccessDenied","requestParameters":{"dBInstanceIdentifier":"x"}}`,
	`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"amy","accountId":"111122223333"},"eventTime":"2025-03-01T10:04:11Z","eventSource":"rds.amazonaws.com","eventName":"DescribeDBInstances","awsRegion":"eu-west-1"}`,
}

var apiEvents = strings.Join(apiEventLines, "\n") + "\n"

func mustCompile(t testing.TB, opts ...ctrule.CompileOption) *ctrule.Ruleset {
	t.Helper()
	rs, err := ctrule.Compile(opts...)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	t.Cleanup(func() { rs.Close() })
	return rs
}

// key is a comparable summary of an alert used to compare scans.
func key(a ctrule.Alert) string {
	return fmt.Sprintf("%d@%d %s [%s] %s", a.RecordIndex, a.ByteOffset, a.Rule, a.Priority, a.Output)
}

// collect scans data written in chunks of the given sizes (cycled; nil = one
// write) and returns the alert keys.
func collect(t testing.TB, rs *ctrule.Ruleset, data []byte, chunks []int, opts ...ctrule.ScanOption) []string {
	t.Helper()
	var keys []string
	sc, err := rs.NewScanner(func(a ctrule.Alert) error {
		keys = append(keys, key(a))
		return nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := writeChunked(sc, data, chunks); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := sc.Finish(); err != nil {
		t.Fatalf("finish: %v", err)
	}
	return keys
}

// alertsOf scans r whole with rs and returns every alert.
func alertsOf(t testing.TB, rs *ctrule.Ruleset, r io.Reader) []ctrule.Alert {
	t.Helper()
	var got []ctrule.Alert
	if _, err := rs.Scan(r, func(a ctrule.Alert) error {
		got = append(got, a)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func writeChunked(sc *ctrule.Scanner, data []byte, chunks []int) error {
	if len(chunks) == 0 {
		_, err := sc.Write(data)
		return err
	}
	for i := 0; len(data) > 0; i++ {
		n := min(chunks[i%len(chunks)], len(data))
		// Write from a scratch buffer that is overwritten afterwards: the
		// scanner must have copied whatever it keeps.
		buf := make([]byte, n)
		copy(buf, data[:n])
		if _, err := sc.Write(buf); err != nil {
			return err
		}
		for j := range buf {
			buf[j] = 'X'
		}
		data = data[n:]
	}
	return nil
}

func equalKeys(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d alerts, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("%s: alert %d differs:\n got %s\nwant %s", what, i, got[i], want[i])
			return
		}
	}
}

var errTestStop = errors.New("test: stop here")
