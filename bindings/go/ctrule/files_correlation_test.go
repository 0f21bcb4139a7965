package ctrule_test

// ScanFiles correlates every file in file order whatever the workers (issue
// 21), as `ctrule scan -j N` does: the workers' scanners run with
// NoCorrelation and one OnlyCorrelation scanner is fed each file's matched
// records in order. Also the two options themselves.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

const exfiltration = "RDS Snapshot Exfiltration Sequence"

const snapDeleted = "title: Snapshot Deleted\nname: snapshot_deleted\nlogsource: {product: aws, service: cloudtrail}\n" +
	"detection:\n  sel: {eventName: DeleteDBSnapshot}\n  condition: sel\nlevel: low\n"

const manyDeleted = "title: Many Snapshot Deletions\ncorrelation:\n  type: event_count\n  rules: snapshot_deleted\n" +
	"  group-by: [userIdentity.arn]\n  timespan: 5m\n  condition: {gte: 3}\nlevel: high\n"

func snapDeletion(i int, hms, who string) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2025-01-01T%sZ","eventName":"DeleteDBSnapshot",`+
		`"eventSource":"rds.amazonaws.com","awsRegion":"us-east-1","eventID":"id-%d","eventType":"AwsApiCall",`+
		`"requestParameters":{"dBSnapshotIdentifier":"s%d"},"userIdentity":{"type":"IAMUser",`+
		`"arn":"arn:aws:iam::1:user/%s","accountId":"1"}}`+"\n", hms, i, i, who)
}

func sequenceRecords(t *testing.T) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "libctrule", "rules", "correlation_tests",
		"rds_snapshot_exfiltration_sequence.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(b), []byte("\n"))
}

func writeFiles(t *testing.T, contents ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, c := range contents {
		p := filepath.Join(dir, fmt.Sprintf("%03d.json", i))
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// correlatedFiles scans with 1 and 2 workers, checks they agree (alerts with
// their places and JSON, stats, record errors, errors) and that the results
// come in path order; returns 1 worker's.
func correlatedFiles(t *testing.T, rs *ctrule.Ruleset, paths []string, opts ...ctrule.ScanOption) []ctrule.FileResult {
	t.Helper()
	type seen struct {
		Summary fileSummary
		Places  []string
	}
	run := func(workers int) ([]ctrule.FileResult, []seen) {
		var res []ctrule.FileResult
		var out []seen
		err := rs.ScanFiles(context.Background(), paths, workers, func(r ctrule.FileResult) error {
			res = append(res, r)
			s := seen{Summary: summarize(r)}
			for _, a := range r.Alerts {
				s.Places = append(s.Places, fmt.Sprintf("%d@%d %v %s", a.RecordIndex, a.ByteOffset, a.Silenced, lineOf(t, a)))
			}
			out = append(out, s)
			return nil
		}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return res, out
	}
	one, a := run(1)
	_, b := run(2)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("1 worker:\n%+v\n2 workers:\n%+v", a, b)
	}
	if len(one) != len(paths) {
		t.Fatalf("%d results for %d files", len(one), len(paths))
	}
	for i, r := range one {
		if r.Path != paths[i] {
			t.Fatalf("result %d is %s, want %s", i, r.Path, paths[i])
		}
	}
	return one
}

func rules(r ctrule.FileResult) []string {
	var out []string
	for _, a := range r.Alerts {
		out = append(out, a.Rule)
	}
	return out
}

func TestScanFilesCorrelatesTheExfiltrationSequenceOverThreeFiles(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadBuiltin("rds"))
	rec := sequenceRecords(t)
	paths := writeFiles(t, string(rec[0])+"\n", string(rec[1])+"\n", `{"Records":[`+string(rec[2])+"]}")
	res := correlatedFiles(t, rs, paths)
	got := [][]string{rules(res[0]), rules(res[1]), rules(res[2])}
	want := [][]string{{"RDS Manual Snapshot Created"}, {"RDS Snapshot Shared With Foreign Account"},
		{"RDS Snapshot Deleted", exfiltration}} // after the completing file's own alert (generate: true)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("alerts %v, want %v", got, want)
	}
	corr := res[2].Alerts[1]
	if corr.RecordIndex != 0 || corr.ByteOffset != uint64(len(`{"Records":[`)) {
		t.Fatalf("placed at record %d byte %d, want the completing record 0 at byte 12", corr.RecordIndex, corr.ByteOffset)
	}
	if v, _ := corr.Field("requestParameters.dBSnapshotIdentifier"); v != "exfil-1" {
		t.Fatalf("group %q", v)
	}
	if res[2].Stats.Matches != 2 || len(res[2].RecordErrors) != 0 {
		t.Fatalf("stats %+v errors %v", res[2].Stats, res[2].RecordErrors)
	}
	// what one scanner finds over the files' records in order
	var one []string
	sc, err := rs.NewScanner(func(a ctrule.Alert) error { one = append(one, a.Rule); return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.Write(append(bytes.Join(rec[:3], []byte("\n")), '\n')); err != nil || sc.Finish() != nil {
		t.Fatal(err)
	}
	if all := append(append(rules(res[0]), rules(res[1])...), rules(res[2])...); !reflect.DeepEqual(all, one) {
		t.Fatalf("ScanFiles %v, one scanner %v", all, one)
	}
}

func TestScanFilesCorrelatesWhicheverWorkerTakesTheFiles(t *testing.T) {
	// 60 files: the three steps far apart among files without a match, a
	// bad one and a missing one, so that both workers take steps
	rs := mustCompile(t, ctrule.LoadBuiltin("rds"))
	rec := sequenceRecords(t)
	quiet := `{"eventVersion":"1.08","eventTime":"2024-05-01T09:00:00Z","eventName":"DescribeDBInstances",` +
		`"eventSource":"rds.amazonaws.com","awsRegion":"us-east-1","userIdentity":{"type":"IAMUser"}}` + "\n"
	contents := make([]string, 60)
	for i := range contents {
		contents[i] = quiet
	}
	contents[5], contents[29], contents[51] = string(rec[0])+"\n", string(rec[1])+"\n", quiet+string(rec[2])+"\n"
	contents[30] = "{not json\n" + quiet
	paths := writeFiles(t, contents...)
	paths[31] = filepath.Join(filepath.Dir(paths[31]), "missing.json")
	res := correlatedFiles(t, rs, paths)
	var fired []string
	for i, r := range res {
		for _, a := range r.Alerts {
			if a.Rule == exfiltration {
				fired = append(fired, fmt.Sprintf("%d:%d", i, a.RecordIndex))
			}
		}
	}
	if !reflect.DeepEqual(fired, []string{"51:1"}) {
		t.Fatalf("fired %v", fired)
	}
	if len(res[30].RecordErrors) == 0 || !errors.Is(res[31].Err, os.ErrNotExist) {
		t.Fatalf("bad file %v, missing file %v", res[30].RecordErrors, res[31].Err)
	}
}

func TestScanFilesNearMissesOnePerFileStayQuiet(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadBuiltin("rds"))
	var contents []string
	for _, r := range sequenceRecords(t)[3:] {
		contents = append(contents, string(r)+"\n")
	}
	n := 0
	for _, r := range correlatedFiles(t, rs, writeFiles(t, contents...)) {
		for _, a := range r.Alerts {
			n++
			for _, tag := range a.Tags {
				if tag == "sigma.correlation" {
					t.Fatalf("%s: %s", r.Path, a.Rule)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("the near-misses' own rules made no alert")
	}
}

func TestScanFilesGenerateFalseBaseAlertsStaySilent(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("corr.yml", snapDeleted+"---\n"+manyDeleted))
	paths := writeFiles(t, snapDeletion(0, "10:00:00", "m"), snapDeletion(1, "10:01:00", "z"),
		snapDeletion(2, "10:02:00", "m"), snapDeletion(3, "10:04:59", "m"))
	res := correlatedFiles(t, rs, paths)
	var got []string
	var matches []uint64
	for _, r := range res {
		got = append(got, strings.Join(rules(r), ","))
		matches = append(matches, r.Stats.Matches)
	}
	if !reflect.DeepEqual(got, []string{"", "", "", "Many Snapshot Deletions"}) ||
		!reflect.DeepEqual(matches, []uint64{0, 0, 0, 1}) { // a silenced match is no alert
		t.Fatalf("alerts %q, matches %v", got, matches)
	}
	if a := res[3].Alerts[0]; a.Silenced || strings.Count(*a.Fields["correlation.events"], "id-") != 3 {
		t.Fatalf("%+v", a)
	}
}

func TestScanFilesPlacesACorrelationReportOnTheFilesRecord(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("corr.yml", snapDeleted+"---\n"+manyDeleted))
	z := snapDeletion(1, "10:00:01", "z")
	res := correlatedFiles(t, rs, writeFiles(t, snapDeletion(0, "10:00:00", "m"), z+z),
		ctrule.ScanLimit(ctrule.LimitCorrelationEvents, 1))
	var got []string
	for _, e := range res[1].RecordErrors {
		got = append(got, fmt.Sprintf("%v %d %d %v", e.Status, e.Index, e.Offset, e.Evaluated))
	}
	want := []string{fmt.Sprintf("%v 0 0 true", ctrule.ErrLimit), fmt.Sprintf("%v 1 %d true", ctrule.ErrLimit, len(z))}
	if len(res[0].RecordErrors) != 0 || !reflect.DeepEqual(got, want) || res[1].Stats.Incomplete != 0 {
		t.Fatalf("errors %v, want %v; stats %+v", got, want, res[1].Stats)
	}
	if txt := res[1].RecordErrors[1].Text; !strings.HasPrefix(txt, fmt.Sprintf("record 1 at byte %d: correlation 'Many Snapshot Deletions'", len(z))) {
		t.Fatal(txt)
	}
}

func TestScanFilesCorrelatingStopsAtFnsError(t *testing.T) {
	// the first result (held until the next file with a match was
	// correlated) goes to fn, whose error stops the scan there
	rs := mustCompile(t, ctrule.LoadBuiltin("rds"))
	rec := sequenceRecords(t)
	paths := writeFiles(t, string(rec[0])+"\n", "", string(rec[1])+"\n", string(rec[2])+"\n")
	var got []string
	stop := errors.New("stop")
	err := rs.ScanFiles(context.Background(), paths, 1, func(r ctrule.FileResult) error {
		got = append(got, filepath.Base(r.Path))
		return stop
	})
	if !errors.Is(err, stop) || !reflect.DeepEqual(got, []string{"000.json"}) {
		t.Fatalf("%v %v", got, err)
	}
}

func TestTheScannerHalves(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("corr.yml", snapDeleted+"---\n"+manyDeleted))
	data := snapDeletion(0, "10:00:00", "m") + snapDeletion(1, "10:01:00", "m") + snapDeletion(2, "10:02:00", "m")
	var forwarded []ctrule.Alert
	sc, err := rs.NewScanner(func(a ctrule.Alert) error { forwarded = append(forwarded, a); return nil }, ctrule.NoCorrelation())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.WriteString(data); err != nil || sc.Finish() != nil {
		t.Fatal(err)
	}
	if len(forwarded) != 3 || !forwarded[0].Silenced || !forwarded[2].Silenced || forwarded[0].Rule != "Snapshot Deleted" {
		t.Fatalf("%+v", forwarded)
	}
	var found []ctrule.Alert
	only, err := rs.NewScanner(func(a ctrule.Alert) error { found = append(found, a); return nil }, ctrule.OnlyCorrelation())
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close()
	for _, a := range forwarded {
		if _, err := only.Write(append(a.Raw, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	if err := only.Finish(); err != nil || only.Stats().Matches != 1 {
		t.Fatal(err, only.Stats())
	}
	if len(found) != 1 || found[0].Rule != "Many Snapshot Deletions" || found[0].Silenced || found[0].RecordIndex != 2 {
		t.Fatalf("%+v", found)
	}
	// a plain scanner's matches are never silenced
	for _, a := range alertsOf(t, mustCompile(t, ctrule.LoadString("d.yml", snapDeleted)), strings.NewReader(data)) {
		if a.Silenced {
			t.Fatalf("%+v", a)
		}
	}
	if _, err := rs.NewScanner(nil, ctrule.NoCorrelation(), ctrule.OnlyCorrelation()); !errors.Is(err, ctrule.ErrInvalid) {
		t.Fatalf("both halves: %v", err)
	}
}

func TestScanFilesPutsWhatTheEndDecidesInTheLastMatchingFilesResult(t *testing.T) {
	// an upper bound is decided when its window closes: here at the end of
	// the one stream, on the last record with a match, whose file's result
	// waits for it (the files after it without a match too)
	few := strings.NewReplacer("Many Snapshot Deletions", "Few Snapshot Deletions", "{gte: 3}", "{lte: 2}").Replace(manyDeleted)
	rs := mustCompile(t, ctrule.LoadString("corr.yml", snapDeleted+"---\n"+few))
	quiet := strings.Replace(snapDeletion(9, "10:00:30", "z"), "DeleteDBSnapshot", "DescribeDBSnapshots", 1)
	res := correlatedFiles(t, rs, writeFiles(t, snapDeletion(0, "10:00:00", "m"), quiet,
		"x\n"+snapDeletion(1, "10:01:00", "m"), quiet))
	var got []string
	for _, r := range res {
		s := ""
		for _, a := range r.Alerts {
			s += fmt.Sprintf("%s@%d:%d", a.Rule, a.RecordIndex, a.ByteOffset)
		}
		got = append(got, s)
	}
	if !reflect.DeepEqual(got, []string{"", "", "Few Snapshot Deletions@1:2", ""}) || res[2].Stats.Matches != 1 {
		t.Fatalf("%q %+v", got, res[2].Stats)
	}
}

// A correlation completed by a file's first noted records is placed on the
// record that completed it, as a scanner of the file alone (and the CLI)
// places it, not on the file's last noted record (they were all placed on
// the last one until the placement moved to the moment an alert comes).
func TestScanFilesPlacesACorrelationOnTheRecordThatCompletedIt(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("s.yml", snapDeleted), ctrule.LoadString("c.yml", manyDeleted))
	content := snapDeletion(1, "00:00:00", "a") + snapDeletion(2, "00:00:10", "a") +
		snapDeletion(3, "00:00:20", "a") + snapDeletion(4, "00:00:30", "a")
	var want []string
	sc, err := rs.NewScanner(func(a ctrule.Alert) error {
		want = append(want, fmt.Sprintf("%s %d@%d", a.Rule, a.RecordIndex, a.ByteOffset))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := sc.Finish(); err != nil {
		t.Fatal(err)
	}
	sc.Close()
	var got []string
	for _, a := range correlatedFiles(t, rs, writeFiles(t, content))[0].Alerts {
		got = append(got, fmt.Sprintf("%s %d@%d", a.Rule, a.RecordIndex, a.ByteOffset))
	}
	if !reflect.DeepEqual(got, want) || !slices.Contains(got, "Many Snapshot Deletions 2@640") {
		t.Fatalf("ScanFiles placed %v; a scanner of the file alone %v", got, want)
	}
}

// A record without awsRegion whose match the built-in RDS Mass Deletion
// correlation cannot count (no valid eventTime) is reported twice and counts
// once: beside a good record the input holds a CloudTrail record, for a
// Scanner and for ScanFiles with 1 and 2 workers (docs/bad-input.md). The
// odd record alone holds none.
func TestARecordReportedTwiceCountsOnce(t *testing.T) {
	const odd = `{"eventVersion":"1.10","eventTime":"bogus","eventSource":"rds.amazonaws.com",` +
		`"eventName":"DeleteDBInstance","eventType":"AwsApiCall","eventID":"e1",` +
		`"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333"},` +
		`"requestParameters":{"dBInstanceIdentifier":"orders-prod","skipFinalSnapshot":false}}` + "\n"
	const good = `{"eventVersion":"1.10","eventTime":"2025-06-03T09:00:00Z","awsRegion":"us-east-1",` +
		`"eventSource":"rds.amazonaws.com","eventName":"DescribeDBInstances","eventType":"AwsApiCall","eventID":"e2",` +
		`"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333"}}` + "\n"
	rs := mustCompile(t, ctrule.LoadBuiltin("rds"))
	var reports []string
	alerts := 0
	stats, err := rs.Scan(strings.NewReader(odd+good), func(ctrule.Alert) error { alerts++; return nil },
		ctrule.OnRecordError(func(e *ctrule.RecordError) error {
			reports = append(reports, e.Message)
			return nil
		}))
	if err != nil || alerts != 1 || len(reports) != 2 || stats.Incomplete != 1 {
		t.Fatalf("err %v, %d alerts, reports %q, stats %+v", err, alerts, reports, stats)
	}
	res := correlatedFiles(t, rs, writeFiles(t, odd+good)) // 1 and 2 workers, the same results
	if res[0].Err != nil || len(res[0].Alerts) != 1 || res[0].Stats.Incomplete != 1 {
		t.Fatalf("ScanFiles: err %v, %d alerts, stats %+v", res[0].Err, len(res[0].Alerts), res[0].Stats)
	}
	if _, err := rs.Scan(strings.NewReader(odd), func(ctrule.Alert) error { return nil }); !errors.Is(err, ctrule.ErrNoRecords) {
		t.Fatalf("the odd record alone: %v, want ErrNoRecords", err)
	}
}
