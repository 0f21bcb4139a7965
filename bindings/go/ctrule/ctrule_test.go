package ctrule_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

func TestVersionAndRegistry(t *testing.T) {
	if got := ctrule.Version(); got != ctrule.HeaderVersion {
		t.Errorf("library version %q, header %q", got, ctrule.HeaderVersion)
	}
	if !slices.Contains(ctrule.Builtins(), "rds") {
		t.Errorf("Builtins() = %q, want it to contain rds", ctrule.Builtins())
	}
	var names []string
	for _, f := range ctrule.Fields() {
		if f.Name == "" || f.Type == "" {
			t.Errorf("field with empty name or type: %+v", f)
		}
		names = append(names, f.Name)
	}
	for _, want := range []string{"ct.name", "ct.user", "ct.region", "json.value"} {
		if !slices.Contains(names, want) {
			t.Errorf("Fields() lacks %s", want)
		}
	}
}

func TestPriority(t *testing.T) {
	if s := ctrule.PriorityCritical.String(); s != "Critical" {
		t.Errorf("PriorityCritical = %q", s)
	}
	if s := ctrule.PriorityInformational.String(); s != "Informational" {
		t.Errorf("PriorityInformational = %q", s)
	}
	if s := ctrule.Priority(8).String(); s != "Priority(8)" {
		t.Errorf("Priority(8) = %q", s)
	}
	for name, want := range map[string]ctrule.Priority{
		"info": ctrule.PriorityInformational, "CRITICAL": ctrule.PriorityCritical,
		"Emergency": ctrule.PriorityEmergency, "debug": ctrule.PriorityDebug,
	} {
		if p, err := ctrule.ParsePriority(name); err != nil || p != want {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v", name, p, err, want)
		}
	}
	if _, err := ctrule.ParsePriority("severe"); !errors.Is(err, ctrule.ErrInvalid) {
		t.Errorf("ParsePriority(severe) error %v, want ErrInvalid", err)
	}
	b, err := json.Marshal(struct{ P ctrule.Priority }{ctrule.PriorityWarning})
	if err != nil || string(b) != `{"P":"Warning"}` {
		t.Errorf("json = %s, %v", b, err)
	}
	var v struct{ P ctrule.Priority }
	if err := json.Unmarshal([]byte(`{"P":"notice"}`), &v); err != nil || v.P != ctrule.PriorityNotice {
		t.Errorf("unmarshal = %v, %v", v.P, err)
	}
}

func TestStatusErrors(t *testing.T) {
	if ctrule.ErrSyntax.Name() != "ESYNTAX" {
		t.Errorf("ErrSyntax.Name() = %q", ctrule.ErrSyntax.Name())
	}
	if ctrule.ErrSyntax.Error() != "invalid rules" {
		t.Errorf("ErrSyntax.Error() = %q", ctrule.ErrSyntax.Error())
	}
	if !errors.Is(ctrule.ErrClosed, ctrule.ErrState) {
		t.Error("ErrClosed is not ErrState")
	}
}

func TestCompileErrorCarriesPosition(t *testing.T) {
	c, err := ctrule.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bad := "- rule: broken\n  desc: d\n  condition: ct.name = (\n  output: x\n  priority: WARNING\n"
	err = c.AddString("bad.yaml", bad)
	if err == nil {
		_, err = c.Compile()
	}
	if !errors.Is(err, ctrule.ErrSyntax) {
		t.Fatalf("error %v, want ErrSyntax", err)
	}
	var ce *ctrule.CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("error %T is not a *CompileError", err)
	}
	errs := ce.Errors()
	if len(errs) == 0 {
		t.Fatalf("no error diagnostics in %+v", ce)
	}
	d := errs[0]
	if d.File != "bad.yaml" || d.Line < 1 || d.Line > 5 || d.Column < 1 {
		t.Errorf("diagnostic position %s:%d:%d, want bad.yaml:1..5:>0", d.File, d.Line, d.Column)
	}
	if !strings.HasPrefix(err.Error(), "bad.yaml:") || d.Text == "" || d.Code == "" || d.Message == "" {
		t.Errorf("error text %q, diagnostic %+v", err.Error(), d)
	}
	// Compile keeps failing on a compiler that has an error diagnostic.
	if _, err := c.Compile(); !errors.Is(err, ctrule.ErrSyntax) {
		t.Errorf("Compile after a failed add: %v, want ErrSyntax", err)
	}
}

func TestCompileErrorOnYAML(t *testing.T) {
	_, err := ctrule.Compile(ctrule.LoadString("yaml.yaml", "- rule: x\n  desc: [unclosed\n"))
	var ce *ctrule.CompileError
	if !errors.As(err, &ce) || !errors.Is(err, ctrule.ErrSyntax) {
		t.Fatalf("error %v, want a *CompileError wrapping ErrSyntax", err)
	}
	if len(ce.Errors()) == 0 || ce.Errors()[0].Line == 0 {
		t.Errorf("no positioned error diagnostic: %+v", ce.Diagnostics)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := ctrule.Compile(ctrule.LoadFile(filepath.Join(t.TempDir(), "missing.yaml")))
	if !errors.Is(err, ctrule.ErrIO) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrIO and fs.ErrNotExist", err)
	}
	// A directory exists: unreadable as rules, but not fs.ErrNotExist.
	if _, err := ctrule.Compile(ctrule.LoadFile(t.TempDir())); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory as rules file: %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file error %q does not name the file", err)
	}
	_, err = ctrule.Compile(ctrule.LoadBuiltin("no-such-set"))
	if !errors.Is(err, ctrule.ErrNotFound) {
		t.Errorf("unknown builtin: %v, want ErrNotFound", err)
	}
}

func TestLoadFileAndBuiltin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "extra.yaml")
	if err := os.WriteFile(path, []byte(apiRules), 0o644); err != nil {
		t.Fatal(err)
	}
	var diags []ctrule.Diagnostic
	rs := mustCompile(t, ctrule.LoadBuiltin("rds"), ctrule.LoadFile(path),
		ctrule.OnDiagnostic(func(d ctrule.Diagnostic) { diags = append(diags, d) }))
	for _, d := range diags {
		if d.Severity == ctrule.SeverityError {
			t.Errorf("error diagnostic on a good ruleset: %s", d)
		}
	}
	names := map[string]bool{}
	for _, r := range rs.Rules() {
		names[r.Name] = true
	}
	if !names["Risky RDS"] || !names["Any Stop"] {
		t.Errorf("file rules missing from %v", names)
	}
	if len(names) < 3 {
		t.Errorf("built-in rds rules missing: %v", names)
	}
}

func TestSelection(t *testing.T) {
	enabled := func(rs *ctrule.Ruleset) []string {
		var out []string
		for _, r := range rs.Rules() {
			if r.Enabled {
				out = append(out, r.Name)
			}
		}
		if len(out) != rs.EnabledCount() {
			t.Errorf("EnabledCount %d, Rules() has %d enabled", rs.EnabledCount(), len(out))
		}
		return out
	}
	all := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	if got := enabled(all); !slices.Equal(got, []string{"Risky RDS", "Any Stop"}) {
		t.Errorf("default: %q", got)
	}
	r := all.Rules()[0]
	if r.Priority != ctrule.PriorityWarning || !slices.Equal(r.Tags, []string{"aws", "aws_rds"}) ||
		r.Desc != "risky" || !strings.Contains(r.Condition, "risky_names") || !strings.HasPrefix(r.Output, "risky %ct.name") {
		t.Errorf("rule info %+v", r)
	}
	cases := []struct {
		opts []ctrule.CompileOption
		want []string
	}{
		{[]ctrule.CompileOption{ctrule.DisableTag("aws_rds")}, []string{"Any Stop"}},
		{[]ctrule.CompileOption{ctrule.DisableRules("*"), ctrule.EnableTag("aws")}, []string{"Risky RDS"}},
		{[]ctrule.CompileOption{ctrule.DisableRules("Any*")}, []string{"Risky RDS"}},
		{[]ctrule.CompileOption{ctrule.DisableRules("*"), ctrule.EnableRules("Any St?p")}, []string{"Any Stop"}},
		{[]ctrule.CompileOption{ctrule.MinPriority(ctrule.PriorityWarning)}, []string{"Risky RDS"}},
		{[]ctrule.CompileOption{ctrule.MinPriority(ctrule.PriorityCritical)}, nil},
	}
	for i, tc := range cases {
		rs := mustCompile(t, append([]ctrule.CompileOption{ctrule.LoadString("r.yaml", apiRules)}, tc.opts...)...)
		if got := enabled(rs); !slices.Equal(got, tc.want) {
			t.Errorf("case %d: enabled %q, want %q", i, got, tc.want)
		}
	}
}

func TestCompilerClosed(t *testing.T) {
	c, err := ctrule.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := c.AddBuiltin("rds"); !errors.Is(err, ctrule.ErrClosed) {
		t.Errorf("AddBuiltin after Close: %v", err)
	}
	if _, err := c.Compile(); !errors.Is(err, ctrule.ErrClosed) {
		t.Errorf("Compile after Close: %v", err)
	}
}

// An alert is copied out whole whatever its size: a small one, one a
// thousand times bigger (the scanner's copy buffer grows), a small one again
// (the grown buffer is reused, and nothing of the big one leaks into it).
func TestAlertsOfGrowingSize(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	big := strings.Replace(apiEventLines[0], `"awsRegion":"eu-west-1"`,
		`"awsRegion":"eu-west-1","userAgent":"`+strings.Repeat("a/b ", 50000)+`"`, 1)
	records := []string{apiEventLines[0], big, apiEventLines[0]}
	var got []ctrule.Alert
	sc, err := rs.NewScanner(func(a ctrule.Alert) error { got = append(got, a); return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.Write([]byte(strings.Join(records, "\n"))); err != nil {
		t.Fatal(err)
	}
	if err := sc.Finish(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Fatalf("%d alerts, want 6 (two rules on three records)", len(got))
	}
	for i, a := range got {
		if want := records[i/2]; string(a.Raw) != want {
			t.Errorf("alert %d: raw of %d bytes, want %d", i, len(a.Raw), len(want))
		}
		if a.RecordIndex != uint64(i/2) {
			t.Errorf("alert %d: record %d", i, a.RecordIndex)
		}
	}
	if user, ok := got[4].Field("ct.user"); !ok || user != "bob" || got[4].Output != got[0].Output {
		t.Errorf("after the big alert: ct.user %q %v, output %q", user, ok, got[4].Output)
	}
}

// An alert's strings and Raw share one allocation: whatever is done to Raw
// (overwritten, appended to) leaves the rest of the alert as it was.
func TestAlertRawIsIndependent(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	got := alertsOf(t, rs, strings.NewReader(apiEvents))
	if len(got) == 0 {
		t.Fatal("no alert")
	}
	for i, a := range got {
		before, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		raw := string(a.Raw)
		for j := range a.Raw {
			a.Raw[j] = 'X'
		}
		grown := append(a.Raw, strings.Repeat("Y", 4096)...)
		after, _ := json.Marshal(a)
		if string(after) != string(before) {
			t.Errorf("alert %d changed with its Raw:\n%s\n%s", i, before, after)
		}
		if strings.Trim(string(grown[:len(raw)]), "X") != "" || len(grown) != len(raw)+4096 {
			t.Errorf("alert %d: appending to Raw went wrong", i)
		}
	}
}

// An alert's line is written from what the alert holds: the same bytes
// after its scanner and ruleset are closed and collected, and from many
// goroutines at once (go test -race).
func TestAlertJSONOutlivesItsScanner(t *testing.T) {
	data := sharedData(t, "records.ndjson")
	rs, err := ctrule.Compile(ctrule.LoadBuiltin("rds"), ctrule.LoadString("r.yaml", testRules))
	if err != nil {
		t.Fatal(err)
	}
	var got []ctrule.Alert
	var during []string
	if _, err := rs.Scan(bytes.NewReader(data), func(a ctrule.Alert) error {
		got = append(got, a)
		during = append(during, string(lineOf(t, a)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rs.Close()
	runtime.GC()
	runtime.GC()
	if len(got) < 50 {
		t.Fatalf("%d alerts: too few", len(got))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(got))
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, a := range got {
				if line, err := a.JSON(); err != nil || string(line) != during[i] {
					errs <- fmt.Sprintf("alert %d: %v\nafter  %s\nduring %s", i, err, line, during[i])
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// The JSON line is the caller's: whatever is done to it (overwritten,
// appended to) leaves the alert as it was, and the next line asked for is
// the same; AppendJSON appends the same line after what a buffer holds,
// and in a buffer with room for it allocates nothing.
func TestAlertJSONIsIndependent(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	got := alertsOf(t, rs, strings.NewReader(apiEvents))
	if len(got) == 0 {
		t.Fatal("no alert")
	}
	// Everything, as text.
	rest := func(a ctrule.Alert) string {
		return fmt.Sprintf("%s|%s|%s|%v|%s|%q", a.Rule, a.Source, a.Output, a.Tags, a.Raw, fieldsText(a))
	}
	for i, a := range got {
		first := lineOf(t, a)
		if !json.Valid(first) {
			t.Fatalf("alert %d: JSON %q", i, first)
		}
		before, line := rest(a), string(first)
		for j := range first {
			first[j] = 'X'
		}
		grown := append(first, strings.Repeat("Y", 64)...)
		if after := rest(a); after != before {
			t.Errorf("alert %d changed with its JSON:\n%s\n%s", i, before, after)
		}
		if strings.Trim(string(grown[:len(line)]), "X") != "" || len(grown) != len(line)+64 {
			t.Errorf("alert %d: appending to JSON went wrong", i)
		}
		if again := lineOf(t, a); string(again) != line {
			t.Errorf("alert %d: the line asked for again is %q, first %q", i, again, line)
		}
		buf := make([]byte, 0, 64+ctrule.JSONRoom(a)+1)
		buf = append(buf, "prefix"...)
		var err error
		if allocs := testing.AllocsPerRun(3, func() { buf, err = a.AppendJSON(buf[:6]) }); allocs != 0 {
			t.Errorf("alert %d: AppendJSON into a buffer with room allocated %.0f times", i, allocs)
		}
		if err != nil || string(buf) != "prefix"+line {
			t.Errorf("alert %d: AppendJSON gave %q, %v", i, buf, err)
		}
		if out, err := a.AppendJSON(nil); err != nil || string(out) != line {
			t.Errorf("alert %d: AppendJSON(nil) gave %q, %v", i, out, err)
		}
	}
}

// fieldsText is an alert's output fields in name order, <NA> for absent.
func fieldsText(a ctrule.Alert) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(a.Fields)) {
		v, ok := a.Field(name)
		if !ok {
			v = "<NA>"
		}
		out = append(out, name+"="+v)
	}
	return out
}

func TestAlertContents(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	var alerts []ctrule.Alert
	sc, err := rs.NewScanner(func(a ctrule.Alert) error {
		alerts = append(alerts, a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.Write([]byte(apiEvents)); err != nil {
		t.Fatal(err)
	}
	if err := sc.Finish(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range alerts {
		got = append(got, key(a))
	}
	off1 := len(apiEventLines[0]) + 1
	want := []string{
		"0@0 Risky RDS [Warning] risky StopDBInstance by bob in eu-west-1 (orders-db) err=<NA>",
		"0@0 Any Stop [Informational] stop StopDBInstance",
		"1@" + itoa(off1) + " Any Stop [Informational] stop StopDBInstance",
	}
	equalKeys(t, "alerts", got, want)
	if len(alerts) != 3 {
		t.FailNow()
	}
	a := alerts[0]
	if a.Source != "aws_cloudtrail" || !slices.Equal(a.Tags, []string{"aws", "aws_rds"}) {
		t.Errorf("source %q tags %q", a.Source, a.Tags)
	}
	if want := time.Date(2025, 3, 1, 10, 2, 11, 0, time.UTC); !a.Time.Equal(want) || a.Time.Location() != time.UTC {
		t.Errorf("time %v, want %v", a.Time, want)
	}
	if string(a.Raw) != apiEventLines[0] {
		t.Errorf("raw %q, want %q", a.Raw, apiEventLines[0])
	}
	if string(alerts[2].Raw) != apiEventLines[1] {
		t.Errorf("raw of record 1: %q", alerts[2].Raw)
	}
	if len(a.Fields) != 5 {
		t.Errorf("fields %v, want 5 entries", a.Fields)
	}
	if v, ok := a.Field("ct.user"); !ok || v != "bob" {
		t.Errorf("ct.user = %q, %v", v, ok)
	}
	if v, ok := a.Field("json.value[/requestParameters/dBInstanceIdentifier]"); !ok || v != "orders-db" {
		t.Errorf("json.value = %q, %v", v, ok)
	}
	// Absent from the record: in the map with a nil value.
	if v, present := a.Fields["ct.error"]; !present || v != nil {
		t.Errorf("ct.error: present=%v value=%v, want present with nil", present, v)
	}
	if _, ok := a.Field("ct.error"); ok {
		t.Error("Field(ct.error) ok for an absent field")
	}
	// Not in the output template: not in the map.
	if _, present := a.Fields["ct.src"]; present {
		t.Error("ct.src in Fields but not in the template")
	}
	if alerts[1].Tags == nil || len(alerts[1].Tags) != 0 {
		t.Errorf("untagged rule: tags %#v, want empty non-nil", alerts[1].Tags)
	}
	// JSON has Falco's shape.
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["rule"] != "Risky RDS" || m["priority"] != "Warning" || m["source"] != "aws_cloudtrail" ||
		m["time"] != "2025-03-01T10:02:11.000000000Z" || m["hostname"] == "" ||
		m["output"] != "10:02:11.000000000: Warning "+a.Output {
		t.Errorf("json %s", b)
	}
	var exact map[string]any
	if err := json.Unmarshal(lineOf(t, a), &exact); err != nil || !reflect.DeepEqual(exact, m) {
		t.Errorf("json.Marshal %s, a.JSON() %s (%v)", b, lineOf(t, a), err)
	}
	if _, err := json.Marshal(ctrule.Alert{Rule: "by hand"}); err == nil {
		t.Error("an alert made by hand marshals")
	}
	if line, err := (ctrule.Alert{Rule: "by hand"}).JSON(); err == nil || line != nil {
		t.Errorf("an alert made by hand has a JSON line: %q, %v", line, err)
	}
	if out, err := (ctrule.Alert{Rule: "by hand"}).AppendJSON([]byte("kept")); err == nil || string(out) != "kept" {
		t.Errorf("AppendJSON of an alert made by hand: %q, %v", out, err)
	}
	of, _ := m["output_fields"].(map[string]any)
	if v, ok := of["ct.error"]; !ok || v != nil {
		t.Errorf("output_fields.ct.error = %v (present %v), want null", v, ok)
	}
	if v, ok := of["evt.time"].(float64); !ok || int64(v) != a.Time.UnixNano() {
		t.Errorf("output_fields.evt.time = %v, want %d", of["evt.time"], a.Time.UnixNano())
	}
	if _, ok := m["Raw"]; ok {
		t.Errorf("raw bytes in json: %s", b)
	}
	st := sc.Stats()
	if st.Records != 3 || st.Matches != 3 || st.BadRecords != 0 || st.Bytes != uint64(len(apiEvents)) {
		t.Errorf("stats %+v", st)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestRecordWithoutTime(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	rec := `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"bob"},"eventSource":"rds.amazonaws.com","eventName":"StopDBInstance","awsRegion":"eu-west-1"}`
	var got []ctrule.Alert
	_, err := rs.Scan(strings.NewReader(rec), func(a ctrule.Alert) error {
		got = append(got, a)
		return nil
	})
	// Without eventTime it is not a complete CloudTrail record, and the only
	// one: the input is not CloudTrail (ErrNoRecords), its alert delivered.
	if !errors.Is(err, ctrule.ErrNoRecords) {
		t.Errorf("err %v, want ErrNoRecords", err)
	}
	if len(got) == 0 {
		t.Fatal("no alert for a record without eventTime")
	}
	if !got[0].Time.IsZero() {
		t.Errorf("time %v, want zero", got[0].Time)
	}
}

func TestFirstMatch(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	all := collect(t, rs, []byte(apiEvents), nil)
	first := collect(t, rs, []byte(apiEvents), nil, ctrule.FirstMatch())
	noIndex := collect(t, rs, []byte(apiEvents), nil, ctrule.NoIndex())
	if len(all) != 3 || len(first) != 2 {
		t.Errorf("all %d alerts (want 3), first-match %d (want 2)", len(all), len(first))
	}
	equalKeys(t, "no index", noIndex, all)
}

func TestCloseFlushesLastRecord(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	n := 0
	sc, err := rs.NewScanner(func(ctrule.Alert) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	// A record without its newline is only complete at end of stream.
	if _, err := sc.Write([]byte(apiEventLines[1])); err != nil {
		t.Fatal(err)
	}
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d alerts after Close, want 1", n)
	}
	if st := sc.Stats(); st.Matches != 1 || st.Records != 1 {
		t.Errorf("final stats %+v", st)
	}
	if err := sc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := sc.Write([]byte("{}")); !errors.Is(err, ctrule.ErrClosed) || !errors.Is(err, ctrule.ErrState) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := sc.Finish(); !errors.Is(err, ctrule.ErrClosed) {
		t.Errorf("Finish after Close: %v", err)
	}
}

func TestStop(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	n := 0
	sc, err := rs.NewScanner(func(a ctrule.Alert) error {
		n++
		return errTestStop
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	data := []byte(strings.Repeat(apiEvents, 10))
	if _, err := sc.Write(data); !errors.Is(err, errTestStop) {
		t.Fatalf("Write: %v, want the callback's error", err)
	}
	if n != 1 || sc.Stats().Matches != 1 {
		t.Errorf("callback ran %d times (%d matches) after stopping, want 1", n, sc.Stats().Matches)
	}
	// The stream stays stopped: the same error, no more callbacks.
	if _, err := sc.Write(data); !errors.Is(err, errTestStop) {
		t.Errorf("second Write: %v", err)
	}
	if err := sc.Finish(); !errors.Is(err, errTestStop) {
		t.Errorf("Finish: %v, want the callback's error", err)
	}
	if n != 1 {
		t.Errorf("callback ran %d times, want 1", n)
	}
	// After Finish a new stream starts.
	if _, err := sc.Write([]byte(apiEvents)); !errors.Is(err, errTestStop) {
		t.Errorf("new stream: %v", err)
	}
	if n != 2 {
		t.Errorf("callback ran %d times, want 2", n)
	}
	if err := sc.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := sc.Close(); err != nil {
		t.Errorf("Close after Reset: %v", err)
	}
}

// A Write larger than the slice the binding hands to C at a time (1 MiB)
// stops where the callback stopped it: the rest of the buffer is not scanned.
func TestStopInLargeWrite(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	data := []byte(strings.Repeat(apiEvents, 1+(5<<20)/len(apiEvents))) // > 5 MiB
	for _, stopAt := range []int{1, 2000} {
		n := 0
		sc, err := rs.NewScanner(func(a ctrule.Alert) error {
			n++
			if n == stopAt {
				return errTestStop
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.Write(data); !errors.Is(err, errTestStop) {
			t.Fatalf("stop at %d: Write: %v, want the callback's error", stopAt, err)
		}
		st := sc.Stats()
		if n != stopAt || st.Matches != uint64(stopAt) {
			t.Errorf("stop at %d: callback ran %d times, %d matches", stopAt, n, st.Matches)
		}
		if st.Bytes >= uint64(len(data))/2 {
			t.Errorf("stop at %d: %d of %d bytes scanned after the stop", stopAt, st.Bytes, len(data))
		}
		sc.Reset()
		sc.Close()
	}
}

func TestStopViaIOCopy(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	seen := 0
	_, err := rs.Scan(strings.NewReader(strings.Repeat(apiEvents, 1000)), func(a ctrule.Alert) error {
		seen++
		if seen == 5 {
			return errTestStop
		}
		return nil
	})
	if !errors.Is(err, errTestStop) || seen != 5 {
		t.Errorf("Scan: err %v after %d alerts, want errTestStop after 5", err, seen)
	}
}

func TestCallbackPanicIsReraised(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	sc, err := rs.NewScanner(func(a ctrule.Alert) error { panic("boom") })
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want boom", v)
			}
		}()
		sc.Write([]byte(apiEvents))
		t.Error("Write did not panic")
	}()
	if _, err := sc.Write([]byte(apiEvents)); err == nil {
		t.Error("Write after a panic succeeded")
	}
	if err := sc.Reset(); err != nil {
		t.Fatal(err)
	}
	// The scanner is usable again; the callback still panics.
	func() {
		defer func() { recover() }()
		sc.Write([]byte(apiEvents))
	}()
	if st := sc.Stats(); st.Matches != 2 {
		t.Errorf("matches %d, want 2 (one per panicking stream)", st.Matches)
	}
	sc.Reset()
}

func TestReentryIsBusy(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	var sc *ctrule.Scanner
	var inner []error
	sc, err := rs.NewScanner(func(a ctrule.Alert) error {
		_, err := sc.Write([]byte(apiEvents))
		inner = append(inner, err, sc.Finish(), sc.Close())
		_ = sc.Stats() // allowed from the callback
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Write([]byte(apiEvents)); err != nil {
		t.Fatalf("outer Write: %v", err)
	}
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if len(inner) != 9 {
		t.Fatalf("%d inner results, want 9", len(inner))
	}
	for _, err := range inner {
		if !errors.Is(err, ctrule.ErrBusy) {
			t.Errorf("re-entrant call: %v, want ErrBusy", err)
		}
	}
}

func TestBadRecordsAreReported(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	garbage := "{this is not json}\n"
	incomplete := `{"eventName":"DescribeDBInstances","awsRegion":"eu-west-1"}`
	data := garbage + apiEvents + incomplete + "\n"
	var recErrs []*ctrule.RecordError
	var alerts []ctrule.Alert
	sc, err := rs.NewScanner(func(a ctrule.Alert) error {
		alerts = append(alerts, a)
		return nil
	}, ctrule.OnRecordError(func(e *ctrule.RecordError) error {
		recErrs = append(recErrs, e)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := writeChunked(sc, []byte(data), []int{5}); err != nil {
		t.Fatalf("bad records failed the write: %v", err)
	}
	if err := sc.Finish(); err != nil {
		t.Fatalf("bad records failed Finish: %v", err)
	}
	if len(recErrs) != 2 {
		t.Fatalf("record errors %v, want the garbage line and the incomplete record", recErrs)
	}
	e := recErrs[0]
	if e.Index != 0 || e.Offset != 0 || e.Evaluated || !errors.Is(e, e.Status) || e.Status >= 0 {
		t.Errorf("garbage record error %+v", e)
	}
	if !strings.Contains(e.Error(), "record 0") || e.Message == "" {
		t.Errorf("record error text %q message %q", e.Error(), e.Message)
	}
	e = recErrs[1]
	if e.Index != 4 || e.Offset != uint64(len(garbage)+len(apiEvents)) || !e.Evaluated {
		t.Errorf("incomplete record error %+v", e)
	}
	// The good records after the garbage still match, with their own index.
	if len(alerts) != 3 || alerts[0].RecordIndex != 1 || alerts[0].ByteOffset != uint64(len(garbage)) {
		var got []string
		for _, a := range alerts {
			got = append(got, key(a))
		}
		t.Errorf("alerts after garbage: %q", got)
	}
	st := sc.Stats()
	if st.BadRecords != 1 || st.Incomplete != 1 || st.Records != 5 {
		t.Errorf("stats %+v, want 5 records, 1 bad, 1 incomplete", st)
	}
}

func TestRecordErrorCanStopTheScan(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	data := apiEvents + "{broken}\n" + apiEvents
	var alerts int
	_, err := rs.Scan(strings.NewReader(data), func(ctrule.Alert) error { alerts++; return nil },
		ctrule.OnRecordError(func(e *ctrule.RecordError) error { return e }))
	var re *ctrule.RecordError
	if !errors.As(err, &re) || re.Index != 3 || re.Offset != uint64(len(apiEvents)) {
		t.Fatalf("Scan: %v, want the RecordError of record 3 at byte %d", err, len(apiEvents))
	}
	if !errors.Is(err, re.Status) {
		t.Errorf("errors.Is(err, %v) false", re.Status)
	}
	if alerts != 3 {
		t.Errorf("%d alerts, want the 3 before the bad record", alerts)
	}
}

func TestPartialCorpus(t *testing.T) {
	data := sharedData(t, "partial.ndjson")
	rs := mustCompile(t, ctrule.LoadString("t.yaml", testRules), ctrule.LoadBuiltin("rds"))
	var reports []*ctrule.RecordError
	stats, err := rs.Scan(bytes.NewReader(data), func(ctrule.Alert) error { return nil },
		ctrule.OnRecordError(func(e *ctrule.RecordError) error {
			reports = append(reports, e)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Count(data, []byte("\n"))
	if stats.Records < uint64(lines) {
		t.Errorf("%d records framed, input has %d lines", stats.Records, lines)
	}
	// Each bad record counts once, each incomplete one once; reports about a
	// rule or a correlation count in neither.
	var bad, incomplete uint64
	for _, e := range reports {
		switch {
		case !e.Evaluated:
			bad++
		case strings.HasPrefix(e.Message, "incomplete CloudTrail record"):
			incomplete++
		}
	}
	if len(reports) == 0 || stats.BadRecords != bad || stats.Incomplete != incomplete {
		t.Errorf("%d reports (%d bad, %d incomplete), stats %+v", len(reports), bad, incomplete, stats)
	}
	var prev uint64
	for i, e := range reports {
		if i > 0 && e.Index <= prev {
			t.Errorf("record indexes not increasing: %d after %d", e.Index, prev)
		}
		prev = e.Index
		if e.Offset > 0 && data[e.Offset-1] != '\n' {
			t.Errorf("offset %d of record %d does not start a line", e.Offset, e.Index)
		}
		if !errors.Is(e, ctrule.Status(e.Status)) || e.Text == "" {
			t.Errorf("report %+v", e)
		}
	}
}

func TestCorruptGzip(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	corrupt := append([]byte{0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff}, bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 64)...)
	var reports []*ctrule.RecordError
	_, err := rs.Scan(bytes.NewReader(corrupt), nil, ctrule.OnRecordError(func(e *ctrule.RecordError) error {
		reports = append(reports, e)
		return nil
	}))
	reported := false
	for _, e := range reports {
		if errors.Is(e, ctrule.ErrData) && !e.Evaluated {
			reported = true
		}
	}
	var se *ctrule.ScanError
	if errors.Is(err, ctrule.ErrData) && errors.As(err, &se) {
		reported = true
	}
	if !reported {
		t.Errorf("corrupt gzip: err=%v reports=%v; want a ScanError or RecordError wrapping ErrData", err, reports)
	}
}

func TestLimits(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	var reports []*ctrule.RecordError
	alerts := 0
	_, err := rs.Scan(strings.NewReader(apiEvents), func(ctrule.Alert) error { alerts++; return nil },
		ctrule.MaxRecordBytes(64), ctrule.OnRecordError(func(e *ctrule.RecordError) error {
			reports = append(reports, e)
			return nil
		}))
	if !errors.Is(err, ctrule.ErrNoRecords) { // every record over the limit: none read
		t.Fatalf("err %v, want ErrNoRecords", err)
	}
	if alerts != 0 || len(reports) != len(apiEventLines) {
		t.Fatalf("%d alerts, %d reports; want 0 and %d", alerts, len(reports), len(apiEventLines))
	}
	if !errors.Is(reports[0], ctrule.ErrLimit) {
		t.Errorf("over-limit record: %v, want ErrLimit", reports[0])
	}
}

func TestAlertsIterator(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	data := strings.Repeat(apiEvents, 50)
	want := collect(t, rs, []byte(data), nil)
	var got []string
	for a, err := range rs.Alerts(iotestOneByte(strings.NewReader(data))) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, key(a))
	}
	equalKeys(t, "iterator", got, want)

	// Breaking out stops the scan.
	n := 0
	for _, err := range rs.Alerts(strings.NewReader(data)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 4 {
			break
		}
	}
	if n != 4 {
		t.Errorf("loop ran %d times", n)
	}

	// A terminal error is yielded once, after the alerts before it.
	var alerts, errs int
	for _, err := range rs.Alerts(strings.NewReader(apiEvents+"{broken}\n"+apiEvents),
		ctrule.OnRecordError(func(e *ctrule.RecordError) error { return e })) {
		if err != nil {
			errs++
			if !errors.Is(err, ctrule.ErrData) && !errors.Is(err, ctrule.ErrLimit) {
				var re *ctrule.RecordError
				if !errors.As(err, &re) {
					t.Errorf("iterator error %v is not a RecordError", err)
				}
			}
			continue
		}
		alerts++
	}
	if alerts != 3 || errs != 1 {
		t.Errorf("%d alerts, %d errors; want 3 and 1", alerts, errs)
	}
}

// iotestOneByte returns a reader that reads at most 7 bytes at a time (an odd
// size, so records are split everywhere).
func iotestOneByte(r *strings.Reader) *smallReader { return &smallReader{r: r, n: 7} }

type smallReader struct {
	r *strings.Reader
	n int
}

func (s *smallReader) Read(p []byte) (int, error) {
	if len(p) > s.n {
		p = p[:s.n]
	}
	return s.r.Read(p)
}

func TestRulesetClose(t *testing.T) {
	rs, err := ctrule.Compile(ctrule.LoadString("r.yaml", apiRules))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc, err := rs.NewScanner(func(ctrule.Alert) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rs.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := rs.NewScanner(nil); !errors.Is(err, ctrule.ErrClosed) {
		t.Errorf("NewScanner after Close: %v", err)
	}
	if len(rs.Rules()) != 2 {
		t.Errorf("Rules() after Close: %d", len(rs.Rules()))
	}
	// The scanner holds its own reference: still works.
	if _, err := sc.Write([]byte(apiEvents)); err != nil {
		t.Fatal(err)
	}
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d alerts from a scanner whose Ruleset was closed, want 3", n)
	}
}

// The wrong-or-empty-input policy (docs/bad-input.md), per stream, through
// Scan, Alerts and a Scanner.
func TestWrongOrEmptyInput(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	gz := func(s string) string {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.String()
	}
	for _, in := range []string{"", "  \n", "[]", `{"Records":[]}`, gz("")} {
		var warnings []string
		_, err := rs.Scan(strings.NewReader(in), nil, ctrule.OnWarning(func(m string) { warnings = append(warnings, m) }))
		if err != nil || len(warnings) != 1 || warnings[0] != "empty input: no record in it" {
			t.Errorf("empty %q: err %v, warnings %q", in, err, warnings)
		}
	}
	for _, tc := range []struct {
		in      string
		message string
	}{
		{"this is not json\n", "(1 value: 1 not a JSON record, 0 without the CloudTrail keys)"},
		{`{"hello":"world"}`, "(1 value: 0 not a JSON record, 1 without the CloudTrail keys)"},
		{`{"Records":[{"a":1},{"b":2}]}`, "(2 values: 0 not a JSON record, 2 without the CloudTrail keys)"},
		{"{\"a\":1}\nnot json\n", "(2 values: 1 not a JSON record, 1 without the CloudTrail keys)"},
	} {
		for _, in := range []string{tc.in, gz(tc.in)} {
			_, err := rs.Scan(strings.NewReader(in), nil)
			var se *ctrule.ScanError
			if !errors.Is(err, ctrule.ErrNoRecords) || !errors.Is(err, ctrule.ErrData) || !errors.As(err, &se) ||
				!strings.Contains(err.Error(), "no CloudTrail record in this input "+tc.message) {
				t.Errorf("%q: err %v", tc.in, err)
			}
			var last error
			for _, err := range rs.Alerts(strings.NewReader(in)) {
				last = err
			}
			if !errors.Is(last, ctrule.ErrNoRecords) {
				t.Errorf("%q: Alerts ended with %v", tc.in, last)
			}
		}
	}
	// One good record among wrong values is fine; the verdict is per stream.
	good := apiEventLines[0]
	sc, err := rs.NewScanner(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	for i, tc := range []struct {
		in      string
		wantErr bool
	}{{"{\"a\":1}\n" + good, false}, {`{"hello":"world"}`, true}, {good, false}} {
		sc.WriteString(tc.in)
		if err := sc.Finish(); errors.Is(err, ctrule.ErrNoRecords) != tc.wantErr {
			t.Errorf("stream %d: err %v", i, err)
		}
	}
	if errors.Is(errors.New("other"), ctrule.ErrNoRecords) || errors.Is(&ctrule.ScanError{Status: ctrule.ErrData}, ctrule.ErrNoRecords) {
		t.Error("ErrNoRecords matches other errors")
	}
}

// A cancelled context stops a scan between reads, and a compile between
// steps; the error wraps the context's cause.
func TestContextCancellation(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("r.yaml", apiRules))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := strings.Repeat(apiEvents, 2000)
	alerts := 0
	// Cancel after the first alert: the reader yields small reads, so the
	// scan must stop well before the end.
	_, err := rs.ScanContext(ctx, iotestOneByte(strings.NewReader(data)), func(ctrule.Alert) error {
		alerts++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || alerts == 0 || alerts > 10 {
		t.Errorf("ScanContext: err %v after %d alerts", err, alerts)
	}
	n := 0
	var last error
	for _, err := range rs.AlertsContext(ctx, strings.NewReader(data)) {
		n++
		last = err
	}
	if n != 1 || !errors.Is(last, context.Canceled) {
		t.Errorf("AlertsContext on a cancelled context: %d values, last %v", n, last)
	}
	deadline, stop := context.WithTimeout(context.Background(), 0)
	defer stop()
	if _, err := ctrule.CompileContext(deadline, ctrule.LoadString("r.yaml", apiRules)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CompileContext past its deadline: %v", err)
	}
	if _, err := rs.ScanContext(context.Background(), strings.NewReader(apiEvents), nil); err != nil {
		t.Errorf("ScanContext with a live context: %v", err)
	}
}

// A tuning file applied on top of the built-in rules, as `ctrule scan -r`
// does: the built-ins first, then the file (docs/rds-rules.md).
func TestTuningFileOverridesABuiltinRule(t *testing.T) {
	tuning := filepath.Join(t.TempDir(), "tuning.yaml")
	if err := os.WriteFile(tuning, []byte("- rule: RDS Instance Stopped\n  enabled: false\n  override:\n    enabled: replace\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, load := range []func() (*ctrule.Ruleset, error){
		func() (*ctrule.Ruleset, error) {
			return ctrule.Compile(ctrule.LoadBuiltin("rds"), ctrule.LoadFile(tuning))
		},
		func() (*ctrule.Ruleset, error) { return ctrule.Load([]string{tuning}) },
	} {
		rs, err := load()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range rs.Rules() {
			if r.Name == "RDS Instance Stopped" {
				found = true
				if r.Enabled {
					t.Error("the tuning file did not disable the built-in rule")
				}
			}
		}
		if !found {
			t.Error("the built-in rule is missing")
		}
		rs.Close()
	}
	// Standalone, there is nothing to override.
	if _, err := ctrule.Compile(ctrule.LoadFile(tuning)); !errors.Is(err, ctrule.ErrSyntax) {
		t.Errorf("standalone tuning file: %v", err)
	}
}
