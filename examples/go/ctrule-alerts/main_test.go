package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

const rules = `
- rule: Stop RDS Instance
  desc: an RDS instance was stopped
  condition: ct.name = StopDBInstance and not ct.error exists
  output: stopped %json.value[/requestParameters/dBInstanceIdentifier] by %ct.user in %ct.region err=%ct.error
  priority: WARNING
  source: aws_cloudtrail
  tags: [aws, aws_rds]
- rule: Console Login
  desc: a console login
  condition: ct.name = ConsoleLogin
  output: login by %ct.user
  priority: NOTICE
  source: aws_cloudtrail
  tags: [aws]
`

const events = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"bob","accountId":"111122223333"},"eventTime":"2025-03-01T10:02:11Z","eventSource":"rds.amazonaws.com","eventName":"StopDBInstance","awsRegion":"eu-west-1","requestParameters":{"dBInstanceIdentifier":"orders-db"}}
{this is not json}
{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"eve","accountId":"111122223333"},"eventTime":"2025-03-01T10:03:11Z","eventSource":"rds.amazonaws.com","eventName":"StopDBInstance","awsRegion":"eu-west-1","errorCode":"AccessDenied"}
`

func writeRules(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runService(t *testing.T, ctx context.Context, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestAlertsAsFalcoJSON(t *testing.T) {
	code, out, errOut := runService(t, context.Background(), events, "-no-builtin", "-r", writeRules(t, rules))
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d alert lines, want 1:\n%s", len(lines), out)
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &a); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	fields, _ := a["output_fields"].(map[string]any)
	if a["rule"] != "Stop RDS Instance" || a["priority"] != "Warning" || a["source"] != "aws_cloudtrail" ||
		a["output"] != "10:02:11.000000000: Warning stopped orders-db by bob in eu-west-1 err=<NA>" ||
		a["time"] != "2025-03-01T10:02:11.000000000Z" ||
		a["hostname"] != host || fields["ct.user"] != "bob" {
		t.Errorf("alert %s", lines[0])
	}
	if v, ok := fields["ct.error"]; !ok || v != nil {
		t.Errorf("output_fields.ct.error = %v (present %v), want null", v, ok)
	}
	// The bad record is reported with its position, and counted.
	if !strings.Contains(errOut, "record 1 at byte ") || !strings.Contains(errOut, "3 records, 1 alerts, 1 bad") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

func TestStrictStopsAtBadRecord(t *testing.T) {
	code, out, errOut := runService(t, context.Background(), events, "-strict", "-no-builtin", "-r", writeRules(t, rules))
	if code != 1 || !strings.Contains(errOut, "record 1 at byte") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Count(out, "\n") != 1 {
		t.Errorf("alerts before the bad record: %q", out)
	}
}

func TestRulesErrorIsPositioned(t *testing.T) {
	bad := writeRules(t, "- rule: x\n  desc: d\n  condition: ct.name = (\n  output: o\n  priority: INFO\n")
	code, _, errOut := runService(t, context.Background(), events, "-no-builtin", "-r", bad)
	if code != 2 || !strings.Contains(errOut, bad+":") || !strings.Contains(errOut, "error") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if code, _, _ := runService(t, context.Background(), events, "-min-priority", "loud"); code != 2 {
		t.Errorf("bad -min-priority: exit %d", code)
	}
}

func TestSelectionFlags(t *testing.T) {
	logins := `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"amy"},"eventTime":"2025-03-01T10:02:11Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1"}` + "\n"
	r := writeRules(t, rules)
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"-min-priority", "warning"}, 1},
		{[]string{"-disable-tag", "aws_rds"}, 1},
	} {
		args := append([]string{"-no-builtin", "-quiet", "-r", r}, tc.args...)
		code, out, errOut := runService(t, context.Background(), events+logins, args...)
		if code != 0 || strings.Count(out, "\n") != tc.want || errOut != "" {
			t.Errorf("%v: exit %d, %d alerts (want %d), stderr %q", tc.args, code, strings.Count(out, "\n"), tc.want, errOut)
		}
	}
}

func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-no-builtin", "-r", writeRules(t, rules)}, pr, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
}

// TestCorpusMatchesLibrary runs the service over the shared CloudTrail
// corpus, with the built-in rules and the test rules, and checks it reports
// exactly what the binding finds.
func TestCorpusMatchesLibrary(t *testing.T) {
	dir := os.Getenv("CTR_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "..", "shared", "data", "cloudtrail")
	}
	for _, name := range []string{"records.ndjson", "records.json.gz"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			if os.Getenv("CTRULE_REQUIRE_DATA") != "" {
				t.Fatal(err)
			}
			t.Skipf("shared CloudTrail data not available: %v", err)
		}
		r := writeRules(t, rules)
		code, out, errOut := runService(t, context.Background(), string(data), "-r", r)
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr:\n%s", name, code, errOut)
		}
		rs, err := ctrule.Compile(ctrule.LoadBuiltin("rds"), ctrule.LoadFile(r))
		if err != nil {
			t.Fatal(err)
		}
		// The service writes each alert's JSON line as the binding makes it.
		var want []string
		if _, err := rs.Scan(bytes.NewReader(data), func(a ctrule.Alert) error {
			line, err := a.JSON()
			want = append(want, string(line))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		rs.Close()
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			if !json.Valid([]byte(line)) {
				t.Fatalf("%s: bad JSON line %q", name, line)
			}
			got = append(got, line)
		}
		if len(want) == 0 {
			t.Errorf("%s: no alert at all; the corpus has console logins", name)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: service reported %d alerts, library %d (or they differ)", name, len(got), len(want))
		}
	}
}

// failingWriter fails every write, as stdout on a full disk does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// An alert that cannot be written is an error, never lost in silence.
func TestOutputFailureIsAnError(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"-no-builtin", "-r", writeRules(t, rules)},
		strings.NewReader(events), failingWriter{}, &stderr)
	if code != exitOutput || !strings.Contains(stderr.String(), "writing alerts: no space left on device") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
	// No alert: nothing to write, nothing fails.
	stderr.Reset()
	code = run(context.Background(), []string{"-no-builtin", "-quiet", "-r", writeRules(t, rules)},
		strings.NewReader(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser"},"eventTime":"2025-03-01T10:02:11Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1"}`+"\n"),
		failingWriter{}, &stderr)
	if code != 0 {
		t.Errorf("no alert: exit %d, stderr:\n%s", code, stderr.String())
	}
}

// The wrong-or-empty-input policy of docs/bad-input.md.
func TestWrongOrEmptyInput(t *testing.T) {
	r := writeRules(t, rules)
	code, out, errOut := runService(t, context.Background(), "", "-no-builtin", "-r", r)
	if code != 0 || out != "" || !strings.Contains(errOut, "ctrule-alerts: warning: empty input: no record in it") {
		t.Errorf("empty: exit %d, stderr:\n%s", code, errOut)
	}
	code, _, errOut = runService(t, context.Background(), `{"hello":"world"}`, "-no-builtin", "-r", r)
	if code != 1 || !strings.Contains(errOut, "no CloudTrail record in this input (1 value: 0 not a JSON record, 1 without the CloudTrail keys)") {
		t.Errorf("not CloudTrail: exit %d, stderr:\n%s", code, errOut)
	}
}
