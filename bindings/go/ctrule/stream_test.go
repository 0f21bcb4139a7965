package ctrule_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

// keyNoOffset identifies an alert independently of the byte layout of the
// stream (NDJSON and the gzipped log file hold the same records in the same
// order, at different offsets).
func keyNoOffset(a ctrule.Alert) string {
	return fmt.Sprintf("%d %s [%s] %s", a.RecordIndex, a.Rule, a.Priority, a.Output)
}

// scan is collect for goroutines: no testing.T calls.
func scan(rs *ctrule.Ruleset, data []byte, chunks []int, keyOf func(ctrule.Alert) string) ([]string, error) {
	var keys []string
	sc, err := rs.NewScanner(func(a ctrule.Alert) error {
		keys = append(keys, keyOf(a))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := writeChunked(sc, data, chunks); err != nil {
		sc.Reset()
		sc.Close()
		return nil, err
	}
	return keys, sc.Close()
}

func oddChunks(seed uint64, n, maxSize int) []int {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]int, n)
	for i := range out {
		out[i] = 1 + r.IntN(maxSize)
	}
	return out
}

func TestLargeStreamAnyChunking(t *testing.T) {
	nd := sharedData(t, "records.ndjson")
	rs := mustCompile(t, ctrule.LoadString("t.yaml", testRules), ctrule.LoadBuiltin("rds"))

	// One copy: check the alerts against the input itself.
	var one []ctrule.Alert
	stats, err := rs.Scan(bytes.NewReader(nd), func(a ctrule.Alert) error {
		one = append(one, a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Count(nd, []byte("\n"))
	if stats.Records != uint64(lines) || stats.BadRecords != 0 {
		t.Errorf("stats %+v, want %d records and no bad one", stats, lines)
	}
	if len(one) < 100 || stats.Matches != uint64(len(one)) {
		t.Fatalf("%d alerts (stats %+v): the test rules should match well over 100 records", len(one), stats)
	}
	rules := map[string]int{}
	for _, a := range one {
		rules[a.Rule]++
		end := a.ByteOffset + uint64(len(a.Raw))
		if end > uint64(len(nd)) || !bytes.Equal(nd[a.ByteOffset:end], a.Raw) {
			t.Fatalf("alert %s: Raw is not the input at its ByteOffset", key(a))
		}
		if a.ByteOffset > 0 && nd[a.ByteOffset-1] != '\n' {
			t.Fatalf("alert %s: offset does not start a line", key(a))
		}
	}
	if len(rules) < 4 {
		t.Errorf("alerts from only %d rules: %v", len(rules), rules)
	}

	// Four copies in one stream, written whole and in odd chunk sizes: the same
	// alerts every time, and the alerts of copy k are those of copy 0.
	const copies = 4
	big := bytes.Repeat(nd, copies)
	want := collect(t, rs, big, nil)
	if len(want) != copies*len(one) {
		t.Fatalf("%d alerts on %d copies, want %d", len(want), copies, copies*len(one))
	}
	for i, a := range one {
		k := fmt.Sprintf("%d@%d %s [%s] %s", a.RecordIndex+uint64(3*lines), a.ByteOffset+uint64(3*len(nd)), a.Rule, a.Priority, a.Output)
		if want[3*len(one)+i] != k {
			t.Fatalf("copy 3, alert %d: %s, want %s", i, want[3*len(one)+i], k)
		}
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		chunks []int
	}{
		{"1..13 bytes", nd, []int{1, 2, 3, 5, 7, 11, 13}},
		{"4093", big, []int{4093}},
		{"65537", big, []int{65537}},
		{"1MiB+3", big, []int{1<<20 + 3}},
		{"random up to 40000", big, oddChunks(1, 997, 40000)},
		{"random up to 300", nd, oddChunks(2, 1009, 300)},
	} {
		got := collect(t, rs, tc.data, tc.chunks)
		exp := want
		if len(tc.data) == len(nd) {
			exp = want[:len(one)]
		}
		equalKeys(t, tc.name, got, exp)
	}

	// The gzipped CloudTrail log file holds the same records in the same order.
	gz := sharedData(t, "records.json.gz")
	var wantNoOff []string
	for _, a := range one {
		wantNoOff = append(wantNoOff, keyNoOffset(a))
	}
	// Raw and ByteOffset refer to the decompressed stream.
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if _, err := rs.Scan(bytes.NewReader(gz), func(a ctrule.Alert) error {
		end := a.ByteOffset + uint64(len(a.Raw))
		if end > uint64(len(plain)) || !bytes.Equal(plain[a.ByteOffset:end], a.Raw) {
			return fmt.Errorf("gzip alert %s: Raw is not the decompressed input at its ByteOffset", key(a))
		}
		var rec map[string]any
		if err := json.Unmarshal(a.Raw, &rec); err != nil {
			return fmt.Errorf("gzip alert %s: Raw is not a JSON record: %v", key(a), err)
		}
		if !bytes.Equal(a.Raw, one[n].Raw) && !jsonEqual(a.Raw, one[n].Raw) {
			return fmt.Errorf("gzip alert %s: record differs from the NDJSON one", key(a))
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, chunks := range [][]int{nil, {1, 2, 3}, {509}, oddChunks(3, 101, 20000)} {
		got, err := scan(rs, gz, chunks, keyNoOffset)
		if err != nil {
			t.Fatalf("gzip chunks %v: %v", chunks, err)
		}
		equalKeys(t, fmt.Sprintf("gzip log file, chunks %.5v", chunks), got, wantNoOff)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func TestConcurrentScannersShareOneRuleset(t *testing.T) {
	nd := sharedData(t, "records.ndjson")
	gz := sharedData(t, "records.json.gz")
	rs := mustCompile(t, ctrule.LoadString("t.yaml", testRules), ctrule.LoadBuiltin("rds"))
	wantND := collect(t, rs, nd, nil)
	wantGZ, err := scan(rs, nd, nil, keyNoOffset)
	if err != nil {
		t.Fatal(err)
	}

	// A second ruleset that is closed while its scanners are still running.
	doomed, err := ctrule.Compile(ctrule.LoadString("t.yaml", testRules), ctrule.LoadBuiltin("rds"))
	if err != nil {
		t.Fatal(err)
	}

	const workers = 16
	var wg sync.WaitGroup
	created := make(chan struct{}, workers)
	errs := make(chan error, 4*workers)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every worker: its own scanner on the shared ruleset.
			chunks := oddChunks(uint64(100+g), 50, 1000+g*997)
			if g%4 == 0 {
				got, err := scan(rs, gz, chunks, keyNoOffset)
				errs <- compare(fmt.Sprintf("worker %d gzip", g), got, err, wantGZ)
			} else if g%4 == 1 {
				var got []string
				for a, err := range rs.Alerts(bytes.NewReader(nd)) {
					if err != nil {
						errs <- err
						break
					}
					got = append(got, key(a))
				}
				errs <- compare(fmt.Sprintf("worker %d iterator", g), got, nil, wantND)
			} else {
				got, err := scan(rs, nd, chunks, key)
				errs <- compare(fmt.Sprintf("worker %d ndjson", g), got, err, wantND)
			}
			// And one on the ruleset that is closed under it.
			var got []string
			sc, err := doomed.NewScanner(func(a ctrule.Alert) error {
				got = append(got, key(a))
				return nil
			})
			created <- struct{}{}
			if err != nil {
				errs <- err
				return
			}
			err = writeChunked(sc, nd, chunks)
			if cerr := sc.Close(); err == nil {
				err = cerr
			}
			errs <- compare(fmt.Sprintf("worker %d after Ruleset.Close", g), got, err, wantND)
		}()
	}
	// Meanwhile: rule listings and short-lived scanners from another goroutine.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			if n := len(rs.Rules()); n == 0 {
				errs <- errors.New("Rules() empty")
				return
			}
			sc, err := rs.NewScanner(nil)
			if err != nil {
				errs <- err
				return
			}
			if _, err := sc.Write([]byte(apiEvents)); err != nil {
				errs <- err
			}
			if err := sc.Close(); err != nil {
				errs <- err
			}
		}
	}()
	for range workers {
		<-created
	}
	if err := doomed.Close(); err != nil {
		t.Error(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func compare(what string, got []string, err error, want []string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if len(got) != len(want) {
		return fmt.Errorf("%s: %d alerts, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("%s: alert %d: %s, want %s", what, i, got[i], want[i])
		}
	}
	return nil
}

// TestParityWithCLI scans the shared corpus with the C CLI (`ctrule scan
// --json`: the built-in RDS rules, then also the test rules with -r) and with
// the binding, and requires the same alerts in the same order, each the
// same line byte for byte (Alert.JSON(): both are ctr_match_json's).
func TestParityWithCLI(t *testing.T) {
	cli := os.Getenv("CTRULE_CLI")
	if cli == "" {
		cli = filepath.Join(repoRoot(t), "build", "examples", "cli", "ctrule")
	}
	if _, err := os.Stat(cli); err != nil {
		t.Skipf("the C CLI is not built at %s (%v); set CTRULE_CLI or build examples/cli: parity with `ctrule scan --json` not checked", cli, err)
	}
	sharedData(t, "records.ndjson") // skip (or fail) early without the corpus
	dir := os.Getenv("CTR_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "..", "shared", "data", "cloudtrail")
	}
	rulesFile := filepath.Join(t.TempDir(), "test_rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(testRules), 0o644); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, cfg := range []struct {
		name string
		args []string
		opts []ctrule.CompileOption
	}{
		{"built-in rules", nil, []ctrule.CompileOption{ctrule.LoadBuiltin("rds")}},
		{"built-in + test rules", []string{"-r", rulesFile},
			[]ctrule.CompileOption{ctrule.LoadBuiltin("rds"), ctrule.LoadFile(rulesFile)}},
	} {
		rs := mustCompile(t, cfg.opts...)
		for _, name := range []string{"records.ndjson", "records.json.gz", "partial.ndjson"} {
			total += parityOne(t, cli, cfg.name, cfg.args, rs, filepath.Join(dir, name))
		}
	}
	if total == 0 {
		t.Error("no alert at all: the parity check compared nothing")
	}
}

// parityOne compares the CLI and the binding on one file; it returns the
// number of alerts compared.
func parityOne(t *testing.T, cli, cfgName string, args []string, rs *ctrule.Ruleset, path string) int {
	t.Helper()
	what := cfgName + ", " + filepath.Base(path)
	cmd := exec.Command(cli, append(append([]string{"scan", "--json"}, args...), path)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// Exit status 1 may only say "alerts found"; on the bad-input file
		// any status may say "bad records". The alerts are compared either
		// way; a CLI that did not run or was killed fails.
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() < 0 || (ee.ExitCode() != 1 && filepath.Base(path) != "partial.ndjson") {
			t.Fatalf("%s: %s: %v\nstderr:\n%s", what, strings.Join(cmd.Args, " "), err, stderr.String())
		}
		t.Logf("%s: the CLI exited with status %d", what, ee.ExitCode())
	}
	var wantLines [][]byte
	for i, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			t.Fatalf("%s: CLI output line %d is not JSON: %s", what, i+1, line)
		}
		wantLines = append(wantLines, line)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := alertsOf(t, rs, f)
	if len(got) != len(wantLines) {
		t.Errorf("%s: binding %d alerts, CLI %d", what, len(got), len(wantLines))
		return len(got)
	}
	for i := range got {
		if line := lineOf(t, got[i]); !bytes.Equal(line, wantLines[i]) {
			t.Errorf("%s: alert %d differs:\nbinding %s\nCLI     %s", what, i, line, wantLines[i])
			return len(got)
		}
	}
	t.Logf("%s: %d alerts, identical to the CLI's", what, len(got))
	return len(got)
}

// BenchmarkScan measures the binding end to end (framing, evaluation, and
// copying every alert into Go) on the shared corpus.
func BenchmarkScan(b *testing.B) {
	nd := sharedData(b, "records.ndjson")
	rs := mustCompile(b, ctrule.LoadString("t.yaml", testRules), ctrule.LoadBuiltin("rds"))
	sc, err := rs.NewScanner(func(ctrule.Alert) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	b.SetBytes(int64(len(nd)))
	b.ResetTimer()
	for range b.N {
		if _, err := sc.Write(nd); err != nil {
			b.Fatal(err)
		}
		if err := sc.Finish(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sc.Stats().Matches)/float64(b.N), "alerts/op")
}

// Matches reach Go in batches (after each slice of a Write is scanned, or
// mid-slice once 256 KiB are queued) but must look delivered one by one:
// in stream order with the record errors, Stats inside a callback as they
// stood at that match, and after a stop the counters of the stopping match
// (not those of the rest of the slice C scanned), also once later streams
// add to them.
func TestBatchedDeliveryLooksPerAlert(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	var in strings.Builder
	for i := 0; i < 3000; i++ { // about 2.5 MB, 9,000 alerts
		in.WriteString(apiEvents)
		if i%97 == 0 {
			in.WriteString("{broken}\n")
		}
	}
	data := []byte(in.String())

	type event struct {
		alert  bool
		index  uint64
		stats  ctrule.Stats
		served int // alerts delivered before this event
	}
	run := func(stopAt int) ([]event, *ctrule.Scanner, error) {
		var events []event
		alerts := 0
		var sc *ctrule.Scanner
		sc, err := rs.NewScanner(func(a ctrule.Alert) error {
			alerts++
			events = append(events, event{true, a.RecordIndex, sc.Stats(), alerts})
			if alerts == stopAt {
				return errTestStop
			}
			return nil
		}, ctrule.OnRecordError(func(e *ctrule.RecordError) error {
			events = append(events, event{false, e.Index, sc.Stats(), alerts})
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = sc.Write(data)
		return events, sc, err
	}

	events, sc, err := run(-1)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Finish(); err != nil {
		t.Fatal(err)
	}
	full := sc.Stats()
	sc.Close()
	if full.Matches != 9000 || full.BadRecords != 31 || len(events) != 9031 {
		t.Fatalf("full scan: %d events, stats %+v", len(events), full)
	}
	// Without a match callback nothing is queued; the counters are the same.
	if counted, err := rs.Scan(bytes.NewReader(data), nil); err != nil || counted != full {
		t.Errorf("count only: %+v, %v; want %+v", counted, err, full)
	}
	var last uint64
	bad := uint64(0)
	for i, e := range events {
		if e.index < last {
			t.Fatalf("event %d: record %d after record %d", i, e.index, last)
		}
		last = e.index
		if !e.alert {
			bad++
		}
		if e.stats.Records != e.index+1 || e.stats.Matches != uint64(e.served) || e.stats.BadRecords != bad {
			t.Fatalf("event %d (record %d, alert %v, %d alerts before): Stats %+v", i, e.index, e.alert, e.served, e.stats)
		}
	}

	for _, stopAt := range []int{1, 700, 4321} {
		events, sc, err := run(stopAt)
		if !errors.Is(err, errTestStop) {
			t.Fatalf("stop at %d: Write %v", stopAt, err)
		}
		stop := events[len(events)-1]
		st := sc.Stats()
		if !stop.alert || stop.served != stopAt || st != stop.stats {
			t.Errorf("stop at %d: Stats %+v after the stop, %+v at it", stopAt, st, stop.stats)
		}
		// A new stream adds to the counters as they stood at the stop.
		sc.Reset()
		if _, err := sc.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := sc.Finish(); err != nil {
			t.Fatal(err)
		}
		st2 := sc.Stats()
		if st2.Matches != st.Matches+full.Matches || st2.Records != st.Records+full.Records ||
			st2.BadRecords != st.BadRecords+full.BadRecords || st2.Bytes != st.Bytes+full.Bytes {
			t.Errorf("stop at %d: after a full stream %+v, want %+v + %+v", stopAt, st2, st, full)
		}
		sc.Close()
	}
}

// Alerts are read from the C queue in place, each copying its own bytes: kept
// alerts stay whole after the queue is emptied, refilled (mid-feed, once it
// holds 256 KiB, and after every Write) and freed with the scanner.
func TestKeptAlertsOutliveTheQueue(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	const n = 4000 // 8,000 alerts of about 1 KB: the queue fills several times
	lines := make([]string, n)
	var in strings.Builder
	for i := range lines {
		lines[i] = strings.Replace(apiEventLines[0], `"bob"`, fmt.Sprintf(`"user%05d"`, i), 1)
		in.WriteString(lines[i] + "\n")
	}
	var kept []ctrule.Alert
	sc, err := rs.NewScanner(func(a ctrule.Alert) error { kept = append(kept, a); return nil })
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(in.String())
	for at := 0; at < len(data); at += 64 << 10 {
		if _, err := sc.Write(data[at:min(at+64<<10, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2*n {
		t.Fatalf("%d alerts, want %d", len(kept), 2*n)
	}
	for k, a := range kept {
		i := int(a.RecordIndex)
		user := fmt.Sprintf("user%05d", i)
		line := lineOf(t, a)
		if k/2 != i || string(a.Raw) != lines[i] || !strings.Contains(a.Output, user) && a.Rule == "Risky RDS" ||
			!json.Valid(line) || !bytes.Contains(line, []byte(a.Rule)) {
			t.Fatalf("alert %d (record %d): %s %q %q %s", k, i, a.Rule, a.Output, a.Raw, line)
		}
		if v, ok := a.Field("ct.user"); a.Rule == "Risky RDS" && (!ok || v != user) {
			t.Fatalf("alert %d: ct.user %q %v, want %s", k, v, ok, user)
		}
	}
}
