package ctrule_test

// Sigma correlation rules through the ordinary API (docs/sigma.md,
// "Correlation rules"): a correlation is a Rule, its alert an ordinary Alert
// whose output and fields list the base events, its limits a scanner's, its
// mistakes a *CompileError.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

const corrBase = `title: RDS Snapshot Deleted
id: 11111111-0000-4000-8000-000000000001
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventSource: rds.amazonaws.com
    eventName: DeleteDBSnapshot
  condition: selection
level: low
`

const massDeletion = corrBase + `---
title: RDS Snapshot Mass Deletion
id: 11111111-0000-4000-8000-000000000002
description: Three snapshots deleted by one principal within ten minutes.
tags: [attack.impact]
correlation:
  type: event_count
  rules: RDS Snapshot Deleted
  group-by: [userIdentity.arn]
  timespan: 10m
  condition: {gte: 3}
level: critical
`

const (
	alice = "arn:aws:iam::111122223333:user/alice"
	bob   = "arn:aws:iam::111122223333:user/bob"
)

func corrRecord(t *testing.T, id, at, arn, name string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"eventVersion": "1.08", "eventTime": at, "eventSource": "rds.amazonaws.com", "eventName": name,
		"awsRegion": "eu-west-1", "eventID": id, "sourceIPAddress": "203.0.113.9",
		"userIdentity":      map[string]any{"type": "IAMUser", "arn": arn, "accountId": "111122223333"},
		"requestParameters": map[string]any{"dBSnapshotIdentifier": "snap-" + id},
	})
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// corrStream: three deletions by alice within ten minutes, one by bob among them.
func corrStream(t *testing.T) [][]byte {
	return [][]byte{
		corrRecord(t, "e-1", "2024-05-01T10:00:00Z", alice, "DeleteDBSnapshot"),
		corrRecord(t, "e-2", "2024-05-01T10:03:00Z", bob, "DeleteDBSnapshot"),
		corrRecord(t, "e-3", "2024-05-01T10:04:00Z", alice, "DeleteDBSnapshot"),
		corrRecord(t, "e-4", "2024-05-01T10:09:00Z", alice, "DeleteDBSnapshot"),
	}
}

const corrEvents = "e-1@2024-05-01T10:00:00Z (RDS Snapshot Deleted), e-3@2024-05-01T10:04:00Z (RDS Snapshot " +
	"Deleted), e-4@2024-05-01T10:09:00Z (RDS Snapshot Deleted)"

func TestCorrelationIsARule(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("mass.yml", massDeletion))
	rules := rs.Rules()
	if len(rules) != 2 || rules[1].Name != "RDS Snapshot Mass Deletion" || rules[1].Priority != ctrule.PriorityCritical ||
		!slices.Equal(rules[1].Tags, []string{"attack.impact", "sigma", "sigma.correlation",
			"sigma.id:11111111-0000-4000-8000-000000000002"}) || !strings.Contains(rules[1].Output, "%correlation.events") {
		t.Errorf("rules %+v", rules)
	}
	off := mustCompile(t, ctrule.LoadString("mass.yml", massDeletion), ctrule.DisableTag("sigma.correlation"))
	if r := off.Rules(); r[1].Enabled || !r[0].Enabled {
		t.Errorf("DisableTag(sigma.correlation): %+v", r)
	}
}

func TestCorrelationAlertListsItsBaseEvents(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("mass.yml", massDeletion))
	stream := corrStream(t)
	data := bytes.Join(stream, nil)
	alerts := alertsOf(t, rs, bytes.NewReader(data))
	if len(alerts) != 1 { // generate: false (the default): the base rule's own matches are silent
		t.Fatalf("%d alerts, want the correlation's only: %+v", len(alerts), alerts)
	}
	a := alerts[0]
	wantOut := "event_count of RDS Snapshot Deleted within 10m (gte 3): count=3 group=userIdentity.arn=" + alice +
		" events=" + corrEvents
	if a.Rule != "RDS Snapshot Mass Deletion" || a.Priority != ctrule.PriorityCritical || a.Output != wantOut {
		t.Errorf("alert %s [%v]: %s", a.Rule, a.Priority, a.Output)
	}
	want := map[string]string{"correlation.count": "3", "correlation.group": "userIdentity.arn=" + alice,
		"correlation.events": corrEvents, "userIdentity.arn": alice}
	if len(a.Fields) != len(want) {
		t.Errorf("fields %v", a.Fields)
	}
	for k, v := range want {
		if got, ok := a.Field(k); !ok || got != v {
			t.Errorf("field %s = %q, want %q", k, got, v)
		}
	}
	if a.RecordIndex != 3 || a.ByteOffset != uint64(len(stream[0])+len(stream[1])+len(stream[2])) ||
		!a.Time.Equal(time.Date(2024, 5, 1, 10, 9, 0, 0, time.UTC)) {
		t.Errorf("at record %d byte %d, time %v", a.RecordIndex, a.ByteOffset, a.Time)
	}
	// The record the engine makes names the base events.
	var ev struct {
		EventID     string
		Correlation struct{ EventList []map[string]string }
	}
	if err := json.Unmarshal(a.Raw, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.EventID != "e-4" || len(ev.Correlation.EventList) != 3 || ev.Correlation.EventList[1]["eventID"] != "e-3" ||
		ev.Correlation.EventList[1]["rule"] != "RDS Snapshot Deleted" {
		t.Errorf("event %s", a.Raw)
	}
	var falco struct {
		Rule, Priority string
		OutputFields   map[string]any `json:"output_fields"`
	}
	if err := json.Unmarshal(lineOf(t, a), &falco); err != nil {
		t.Fatal(err)
	}
	if falco.Rule != a.Rule || falco.Priority != "Critical" || falco.OutputFields["ct.id"] != "e-4" ||
		falco.OutputFields["correlation.events"] != corrEvents {
		t.Errorf("JSON line %s", lineOf(t, a))
	}
	// Any chunking: the same alert.
	equalKeys(t, "13-byte writes", collect(t, rs, data, []int{13}), []string{key(a)})
}

func TestCorrelationNearMisses(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("mass.yml", massDeletion))
	for name, stream := range map[string][][]byte{
		"two in the group": {corrRecord(t, "e-1", "2024-05-01T10:00:00Z", alice, "DeleteDBSnapshot"),
			corrRecord(t, "e-2", "2024-05-01T10:03:00Z", bob, "DeleteDBSnapshot"),
			corrRecord(t, "e-3", "2024-05-01T10:04:00Z", alice, "DeleteDBSnapshot")},
		"outside the timespan": {corrRecord(t, "e-1", "2024-05-01T10:00:00Z", alice, "DeleteDBSnapshot"),
			corrRecord(t, "e-3", "2024-05-01T10:04:00Z", alice, "DeleteDBSnapshot"),
			corrRecord(t, "e-4", "2024-05-01T10:10:01Z", alice, "DeleteDBSnapshot")},
		"another call": {corrRecord(t, "e-1", "2024-05-01T10:00:00Z", alice, "DeleteDBSnapshot"),
			corrRecord(t, "e-3", "2024-05-01T10:04:00Z", alice, "DeleteDBSnapshot"),
			corrRecord(t, "e-4", "2024-05-01T10:05:00Z", alice, "DeleteDBClusterSnapshot")},
	} {
		if got := alertsOf(t, rs, bytes.NewReader(bytes.Join(stream, nil))); len(got) != 0 {
			t.Errorf("%s: %d alerts, want none", name, len(got))
		}
	}
}

func TestCorrelationNamesAFalcoRule(t *testing.T) {
	rules := `- rule: Snapshot Shared
  desc: a snapshot's restore attribute changed
  condition: ct.name = ModifyDBSnapshotAttribute
  output: shared by %ct.user.arn
  priority: NOTICE
  source: aws_cloudtrail
---
` + corrBase + `---
title: Snapshot Shared Then Deleted
correlation:
  type: temporal_ordered
  rules: [Snapshot Shared, RDS Snapshot Deleted]
  group-by: [userIdentity.arn]
  timespan: 1h
level: high
`
	rs := mustCompile(t, ctrule.LoadString("ordered.yml", rules))
	shared := corrRecord(t, "s-1", "2024-05-01T10:00:00Z", alice, "ModifyDBSnapshotAttribute")
	deleted := corrRecord(t, "d-1", "2024-05-01T10:30:00Z", alice, "DeleteDBSnapshot")
	alerts := alertsOf(t, rs, bytes.NewReader(append(slices.Clone(shared), deleted...)))
	if len(alerts) != 1 || alerts[0].Rule != "Snapshot Shared Then Deleted" || alerts[0].Priority != ctrule.PriorityError ||
		alerts[0].RecordIndex != 1 {
		t.Fatalf("alerts %+v", alerts)
	}
	if ev, _ := alerts[0].Field("correlation.events"); ev != "s-1@2024-05-01T10:00:00Z (Snapshot Shared), "+
		"d-1@2024-05-01T10:30:00Z (RDS Snapshot Deleted)" {
		t.Errorf("events %q", ev)
	}
	early := corrRecord(t, "d-0", "2024-05-01T09:59:00Z", alice, "DeleteDBSnapshot")
	other := corrRecord(t, "d-2", "2024-05-01T10:30:00Z", bob, "DeleteDBSnapshot")
	for name, data := range map[string][]byte{"the other order": append(slices.Clone(early), shared...),
		"another principal": append(slices.Clone(shared), other...)} {
		if got := alertsOf(t, rs, bytes.NewReader(data)); len(got) != 0 {
			t.Errorf("%s: %d alerts", name, len(got))
		}
	}
}

// The groups live in the scanner: with one worker, ScanFiles' files correlate
// with one another, and the alert is in the result of the file that completed it.
func TestCorrelationAcrossFilesOfOneWorker(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("mass.yml", massDeletion))
	stream := corrStream(t)
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}
	for i, p := range paths {
		if err := os.WriteFile(p, bytes.Join(stream[2*i:2*i+2], nil), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var counts []int
	var last []ctrule.Alert
	if err := rs.ScanFiles(context.Background(), paths, 1, func(r ctrule.FileResult) error {
		counts = append(counts, len(r.Alerts))
		last = r.Alerts
		return r.Err
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(counts, []int{0, 1}) || last[0].Rule != "RDS Snapshot Mass Deletion" || last[0].RecordIndex != 1 {
		t.Errorf("alerts per file %v, last %+v", counts, last)
	}
}

func TestCorrelationEventsLimitIsReportedOnTheRecord(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("mass.yml", massDeletion))
	stream := corrStream(t)
	var errs []*ctrule.RecordError
	stats, err := rs.Scan(bytes.NewReader(bytes.Join(stream, nil)), func(ctrule.Alert) error {
		t.Error("an alert past the limit")
		return nil
	}, ctrule.ScanLimit(ctrule.LimitCorrelationEvents, 2), ctrule.OnRecordError(func(e *ctrule.RecordError) error {
		errs = append(errs, e)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%d@%d %v %v", e.Index, e.Offset, e.Evaluated, errors.Is(e, ctrule.ErrLimit)))
	}
	want := []string{fmt.Sprintf("2@%d true true", len(stream[0])+len(stream[1])),
		fmt.Sprintf("3@%d true true", len(stream[0])+len(stream[1])+len(stream[2]))}
	if !slices.Equal(got, want) || !strings.Contains(errs[0].Message, "correlation_events") || stats.Incomplete != 0 {
		t.Errorf("record errors %q, want %q; %+v; stats %+v", got, want, errs, stats)
	}
}

func TestBadCorrelationIsACompileErrorAtItsPosition(t *testing.T) {
	for _, c := range []struct {
		from, to     string
		line, column int
		code, words  string
	}{
		{"condition: {gte: 3}", "condition: {lt: 1}", 20, 15, "LOAD_ERR_SIGMA", "'lt 1' can never hold"},
		{"rules: RDS Snapshot Deleted", "rules: Nope", 17, 10, "LOAD_ERR_SIGMA", "'Nope'"},
	} {
		_, err := ctrule.Compile(ctrule.LoadString("mass.yml", strings.Replace(massDeletion, c.from, c.to, 1)))
		var ce *ctrule.CompileError
		if !errors.As(err, &ce) || !errors.Is(err, ctrule.ErrSyntax) || len(ce.Errors()) != 1 {
			t.Fatalf("%s: error %v", c.to, err)
		}
		d := ce.Errors()[0]
		if d.File != "mass.yml" || d.Line != c.line || d.Column != c.column || d.Code != c.code ||
			!strings.Contains(d.Message, c.words) {
			t.Errorf("%s: diagnostic %+v", c.to, d)
		}
	}
}
