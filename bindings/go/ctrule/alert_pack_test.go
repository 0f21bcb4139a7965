package ctrule_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

// checkAlertJSON holds an alert's JSON line to the alert's own values: the
// rule, priority, source, tags, output (after Falco's prefix) and every
// output field (null when absent; the string ones to their values).
func checkAlertJSON(t *testing.T, i int, a ctrule.Alert) {
	t.Helper()
	var line struct {
		Output       string         `json:"output"`
		OutputFields map[string]any `json:"output_fields"`
		Priority     string         `json:"priority"`
		Rule         string         `json:"rule"`
		Source       string         `json:"source"`
		Tags         []string       `json:"tags"`
	}
	b := lineOf(t, a)
	if err := json.Unmarshal(b, &line); err != nil {
		t.Fatalf("alert %d: %v in %.200q", i, err, b)
	}
	tags := slices.Clone(a.Tags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if line.Rule != a.Rule || line.Source != a.Source || line.Priority != a.Priority.String() ||
		!slices.Equal(line.Tags, tags) || !strings.HasSuffix(line.Output, " "+a.Priority.String()+" "+a.Output) {
		t.Errorf("alert %d: the line's rule %q source %q priority %q tags %d output %.80q, the alert's %q %q %q %d %.80q",
			i, line.Rule, line.Source, line.Priority, len(line.Tags), line.Output, a.Rule, a.Source, a.Priority, len(tags), a.Output)
	}
	for name, v := range a.Fields { // strings compared; numbers and lists are typed in the line
		lv, ok := line.OutputFields[name]
		s, isString := lv.(string)
		if !ok || (v == nil) != (lv == nil) || (v != nil && isString && *v != s) {
			t.Errorf("alert %d: field %s is %v in the alert, %v (present %v) in the line", i, name, v, lv, ok)
		}
	}
}

// A JSON line longer than the room Alert.AppendJSON first gives it (values
// that escape six-fold) is written again where it fits, and a rule with
// many tags saves them whole; the alerts around them are whole, in a
// scanner's queue and in ScanFiles' results.
func TestAlertWithALineLongerThanItsGuess(t *testing.T) {
	var tags []string
	for i := range 400 {
		tags = append(tags, fmt.Sprintf("tag-%03d-%s", i, strings.Repeat("t", 12)))
	}
	rules := `
- rule: Escaped
  desc: d
  condition: ct.name = StopDBInstance
  output: id=%json.value[/requestParameters/dBInstanceIdentifier] by %ct.user
  priority: WARNING
  source: aws_cloudtrail
- rule: Tagged
  desc: d
  condition: ct.name = StopDBInstance
  output: tagged %ct.name
  priority: NOTICE
  source: aws_cloudtrail
  tags: [` + strings.Join(tags, ", ") + `]
`
	rs := mustCompile(t, ctrule.LoadString("long.yaml", rules))
	escaped := strings.Repeat(`\u0001\"`, 1500)
	var records []string
	for i, id := range []string{"plain-db", escaped, "after-db"} {
		records = append(records, fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"u%d","accountId":"1"},`+
			`"eventTime":"2025-03-01T10:02:1%dZ","eventSource":"rds.amazonaws.com","eventName":"StopDBInstance",`+
			`"awsRegion":"eu-west-1","requestParameters":{"dBInstanceIdentifier":"%s"}}`, i, i, id))
	}
	data := strings.Join(records, "\n") + "\n"
	check := func(how string, got []ctrule.Alert) {
		t.Helper()
		if len(got) != 6 {
			t.Fatalf("%s: %d alerts, want 6", how, len(got))
		}
		wantIDs := []string{"plain-db", strings.Repeat("\x01\"", 1500), "after-db"}
		for i, a := range got {
			checkAlertJSON(t, i, a)
			if string(a.Raw) != records[i/2] || a.RecordIndex != uint64(i/2) {
				t.Errorf("%s: alert %d: record %d, raw of %d bytes", how, i, a.RecordIndex, len(a.Raw))
			}
			switch a.Rule {
			case "Escaped":
				if v, _ := a.Field("json.value[/requestParameters/dBInstanceIdentifier]"); v != wantIDs[i/2] {
					t.Errorf("%s: alert %d: id of %d bytes, want %d", how, i, len(v), len(wantIDs[i/2]))
				}
				if n := len(lineOf(t, a)); i/2 == 1 && n <= ctrule.JSONRoom(a) {
					t.Errorf("%s: alert %d: a line of %d bytes is within the first room, %d", how, i, n, ctrule.JSONRoom(a))
				}
			case "Tagged":
				if !slices.Equal(a.Tags, tags) || ctrule.SavedLen(a) < len(strings.Join(tags, "")) {
					t.Errorf("%s: alert %d: %d tags, %d bytes saved", how, i, len(a.Tags), ctrule.SavedLen(a))
				}
			default:
				t.Errorf("%s: alert %d of rule %q", how, i, a.Rule)
			}
		}
	}
	check("Scanner", alertsOf(t, rs, strings.NewReader(data)))
	paths := writeFiles(t, data, data)
	n := 0
	err := rs.ScanFiles(t.Context(), paths, 2, func(r ctrule.FileResult) error {
		n++
		check("ScanFiles", r.Alerts)
		return r.Err
	})
	if err != nil || n != 2 {
		t.Fatalf("ScanFiles: %v after %d files", err, n)
	}
}

// The alerts of one rule share its name, source, tags and field names as
// strings, but each has slices and a map of its own: what a callback does
// to one alert's Tags or Fields leaves every other alert as it was.
func TestAlertsOfOneRuleAreIndependent(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	data := strings.Repeat(apiEvents, 3)
	var got []ctrule.Alert
	sc, err := rs.NewScanner(func(a ctrule.Alert) error {
		if a.Rule == "Risky RDS" && len(got) == 0 {
			a.Tags[0] = "changed"
			a.Fields["ct.user"] = nil
			a.Fields["added"] = &a.Rule
		}
		got = append(got, a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := sc.Finish(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 9 || got[0].Tags[0] != "changed" {
		t.Fatalf("%d alerts, the first's tags %q", len(got), got[0].Tags)
	}
	for i, a := range got[1:] {
		if a.Rule != "Risky RDS" {
			continue
		}
		checkAlertJSON(t, i+1, a)
		if !slices.Equal(a.Tags, []string{"aws", "aws_rds"}) || len(a.Fields) != 5 || a.Fields["added"] != nil {
			t.Errorf("alert %d: tags %q, fields %v", i+1, a.Tags, a.Fields)
		}
		if _, ok := a.Field("ct.user"); !ok {
			t.Errorf("alert %d: ct.user absent", i+1)
		}
	}
}

// A scanner's C side packs a rule's names (its name, source, tags and field
// names) once and keeps them in one of 64 slots by rule (ctrgo_names_of):
// with more rules than slots, taking each other's slots as they match,
// every alert still carries its own rule's names, scan after scan, in a
// Scanner and in ScanFiles.
func TestMoreRulesThanNameSlotsKeepTheirNames(t *testing.T) {
	fields := []string{"ct.user", "ct.region", "ct.name", "ct.srcip", "ct.id"}
	var rules strings.Builder
	for i := range 150 {
		fmt.Fprintf(&rules, "- rule: R%03d \"q\"\n  desc: d\n  condition: ct.name = StopDBInstance\n"+
			"  output: r%03d %%%s %%%s\n  priority: NOTICE\n  source: aws_cloudtrail\n  tags: [t%03d, shared]\n",
			i, i, fields[i%5], fields[(i/5)%5], i)
	}
	rs := mustCompile(t, ctrule.LoadString("many.yaml", rules.String()))
	record := `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"u","accountId":"1"},` +
		`"eventTime":"2025-03-01T10:02:10Z","eventSource":"rds.amazonaws.com","eventName":"StopDBInstance",` +
		`"awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.9","eventID":"e1"}` + "\n"
	data := strings.Repeat(record, 3)
	check := func(how string, got []ctrule.Alert) {
		t.Helper()
		if len(got) != 3*150 {
			t.Fatalf("%s: %d alerts, want %d", how, len(got), 3*150)
		}
		for k, a := range got {
			var i int
			if _, err := fmt.Sscanf(a.Rule, "R%03d", &i); err != nil || a.Rule != fmt.Sprintf("R%03d \"q\"", i) {
				t.Fatalf("%s: alert %d of rule %q", how, k, a.Rule)
			}
			want := map[string]bool{fields[i%5]: true, fields[(i/5)%5]: true}
			if !slices.Equal(a.Tags, []string{fmt.Sprintf("t%03d", i), "shared"}) || a.Source != "aws_cloudtrail" ||
				len(a.Fields) != len(want) || !strings.HasPrefix(a.Output, fmt.Sprintf("r%03d ", i)) {
				t.Fatalf("%s: alert %d of %s: tags %q, source %q, output %q, fields %v", how, k, a.Rule, a.Tags, a.Source, a.Output, a.Fields)
			}
			for name := range a.Fields {
				if !want[name] {
					t.Fatalf("%s: alert %d of %s has field %s, want %v", how, k, a.Rule, name, want)
				}
			}
			checkAlertJSON(t, k, a)
		}
	}
	for range 2 {
		check("Scanner", alertsOf(t, rs, strings.NewReader(data)))
	}
	paths := writeFiles(t, data, data, data)
	err := rs.ScanFiles(t.Context(), paths, 2, func(r ctrule.FileResult) error {
		check("ScanFiles", r.Alerts)
		return r.Err
	})
	if err != nil {
		t.Fatal(err)
	}
}
