package ctrule_test

// The bad-input catalogue (tests/catalogue/catalogue.json, documented in
// docs/bad-input.md) through the Go module: every bad rule is a
// *CompileError matching the catalogued status, code, position and message
// (or a warning); every bad event is the catalogued *RecordError (or a
// *ScanError for a stream), and the good records are still scanned. Also the
// limits API: Limit, WithLimit, Compiler.SetLimit and ScanLimit.

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

type catalogueRule struct {
	ID       string            `json:"id"`
	YAML     *string           `json:"yaml"`
	Path     string            `json:"path"`
	Limits   map[string]uint64 `json:"limits"`
	Step     string            `json:"step"`
	Status   string            `json:"status"`
	Severity string            `json:"severity"`
	Code     string            `json:"code"`
	Line     int               `json:"line"`
	Column   int               `json:"column"`
	Item     *string           `json:"item"`
	Message  string            `json:"message"`
}

type catalogueEvent struct {
	ID        string            `json:"id"`
	Input     *string           `json:"input"`
	InputFile string            `json:"input_file"`
	Rules     *string           `json:"rules"`
	Limits    map[string]uint64 `json:"limits"`
	Kind      string            `json:"kind"`
	Status    string            `json:"status"`
	Index     uint64            `json:"index"`
	Offset    uint64            `json:"offset"`
	Alerts    int               `json:"alerts"`
	Message   string            `json:"message"`
}

type catalogue struct {
	GoodRecord   string           `json:"good_record"`
	DefaultRules string           `json:"default_rules"`
	Rules        []catalogueRule  `json:"rules"`
	Events       []catalogueEvent `json:"events"`
}

func catalogueDir(t *testing.T) string { return filepath.Join(repoRoot(t), "tests", "catalogue") }

func loadCatalogue(t *testing.T) catalogue {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(catalogueDir(t), "catalogue.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c catalogue
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Rules) < 20 || len(c.Events) < 10 {
		t.Fatalf("catalogue too small: %d rules, %d events", len(c.Rules), len(c.Events))
	}
	return c
}

// statusNamed is the Status an entry names ("ESYNTAX" -> ErrSyntax).
func statusNamed(t *testing.T, name string) ctrule.Status {
	t.Helper()
	for s := ctrule.ErrState; s <= ctrule.StatusOK; s++ {
		if s.Name() == name {
			return s
		}
	}
	t.Fatalf("unknown status %q", name)
	return 0
}

func limitOptions(t *testing.T, limits map[string]uint64) []ctrule.CompileOption {
	t.Helper()
	var opts []ctrule.CompileOption
	for name, v := range limits {
		l, ok := ctrule.LimitByName(name)
		if !ok {
			t.Fatalf("unknown limit %q", name)
		}
		opts = append(opts, ctrule.WithLimit(l, v))
	}
	return opts
}

func checkDiag(t *testing.T, d ctrule.Diagnostic, e catalogueRule, file string) {
	t.Helper()
	item := ""
	if e.Item != nil {
		item = *e.Item
	}
	got := []any{d.Code, d.Line, d.Column, d.Message, d.Item, d.File}
	want := []any{e.Code, e.Line, e.Column, e.Message, item, file}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("diagnostic %v, want %v", got, want)
		}
	}
}

func TestCatalogueBadRules(t *testing.T) {
	for _, e := range loadCatalogue(t).Rules {
		t.Run(e.ID, func(t *testing.T) {
			file := "bad.yaml"
			opts := limitOptions(t, e.Limits)
			if e.Path != "" {
				file = e.Path
				opts = append(opts, ctrule.LoadFile(file))
			} else {
				opts = append(opts, ctrule.LoadString(file, *e.YAML))
			}
			var diags []ctrule.Diagnostic
			opts = append(opts, ctrule.OnDiagnostic(func(d ctrule.Diagnostic) { diags = append(diags, d) }))
			rs, err := ctrule.Compile(opts...)
			if e.Status == "OK" {
				if err != nil {
					t.Fatal(err)
				}
				defer rs.Close()
				for _, d := range diags {
					if d.Severity == ctrule.SeverityWarning {
						checkDiag(t, d, e, file)
						return
					}
				}
				t.Fatalf("no warning in %v", diags)
			}
			if rs != nil {
				t.Fatal("compiled despite the error")
			}
			want := statusNamed(t, e.Status)
			if !errors.Is(err, want) {
				t.Fatalf("errors.Is(%v, %v) is false", err, want)
			}
			var ce *ctrule.CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("%T is not a *CompileError", err)
			}
			wantOp := "compile"
			if e.Step == "add" {
				wantOp = "add string"
				if e.Path != "" {
					wantOp = "add file"
				}
			}
			if ce.Op != wantOp {
				t.Fatalf("failed at %q, want %q", ce.Op, wantOp)
			}
			checkDiag(t, ce.Errors()[0], e, file)
		})
	}
}

func eventBytes(t *testing.T, c catalogue, e catalogueEvent) []byte {
	t.Helper()
	if e.InputFile != "" {
		b, err := os.ReadFile(filepath.Join(catalogueDir(t), e.InputFile))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []byte(strings.ReplaceAll(*e.Input, "{GOOD}", c.GoodRecord))
}

func TestCatalogueBadEvents(t *testing.T) {
	c := loadCatalogue(t)
	for _, e := range c.Events {
		t.Run(e.ID, func(t *testing.T) {
			rules := c.DefaultRules
			if e.Rules != nil {
				rules = *e.Rules
			}
			rs, err := ctrule.Compile(ctrule.LoadString("rules.yaml", rules))
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			var reports []*ctrule.RecordError
			opts := []ctrule.ScanOption{ctrule.OnRecordError(func(r *ctrule.RecordError) error {
				reports = append(reports, r)
				return nil
			})}
			for name, v := range e.Limits {
				l, ok := ctrule.LimitByName(name)
				if !ok {
					t.Fatalf("unknown limit %q", name)
				}
				opts = append(opts, ctrule.ScanLimit(l, v))
			}
			alerts := 0
			sc, err := rs.NewScanner(func(ctrule.Alert) error { alerts++; return nil }, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			_, err = sc.Write(eventBytes(t, c, e))
			if err == nil {
				err = sc.Finish()
			}
			want := statusNamed(t, e.Status)
			if e.Kind == "stream" {
				var se *ctrule.ScanError
				if !errors.As(err, &se) || !errors.Is(err, want) {
					t.Fatalf("stream error %v (%T), want a *ScanError matching %v", err, err, want)
				}
				if !strings.Contains(se.Message, e.Message) {
					t.Fatalf("%q does not contain %q", se.Message, e.Message)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if alerts != e.Alerts {
				t.Fatalf("%d alerts, want %d", alerts, e.Alerts)
			}
			if len(reports) != 1 {
				t.Fatalf("%d reports, want 1: %v", len(reports), reports)
			}
			r := reports[0]
			if !errors.Is(r, want) || r.Offset != e.Offset || r.Message != e.Message ||
				r.Evaluated != (e.Kind == "evaluated") || (e.Kind != "stream" && r.Index != e.Index) {
				t.Fatalf("report %+v, want %s index %d offset %d message %q", *r, e.Status, e.Index, e.Offset, e.Message)
			}
		})
	}
}

func TestLimitNamesAndDefaults(t *testing.T) {
	want := map[ctrule.Limit]struct {
		name string
		def  uint64
	}{
		ctrule.LimitRecordBytes: {"record_bytes", 16 << 20}, ctrule.LimitJSONDepth: {"json_depth", 64},
		ctrule.LimitGzipOutput: {"gzip_output", 64 << 30}, ctrule.LimitYAMLAliases: {"yaml_aliases", 10000},
		ctrule.LimitYAMLNodes: {"yaml_nodes", 2000000}, ctrule.LimitConditionBytes: {"condition_bytes", 262144},
		ctrule.LimitMacroDepth: {"macro_depth", 64}, ctrule.LimitConditionNodes: {"condition_nodes", 100000},
		ctrule.LimitRules: {"rules", 20000}, ctrule.LimitRegexMatch: {"regex_match", 100000},
		ctrule.LimitRegexDepth: {"regex_depth", 10000}, ctrule.LimitListItems: {"list_items", 100000},
		ctrule.LimitGzipRatio: {"gzip_ratio", 200}, ctrule.LimitCorrelationEvents: {"correlation_events", 100000},
		ctrule.LimitCorrelationLateness: {"correlation_lateness", 900},
	}
	for l, w := range want {
		if l.String() != w.name || l.Default() != w.def {
			t.Errorf("%d: %s %d, want %s %d", int(l), l, l.Default(), w.name, w.def)
		}
		if got, ok := ctrule.LimitByName(w.name); !ok || got != l {
			t.Errorf("LimitByName(%q) = %v, %v", w.name, got, ok)
		}
	}
	if _, ok := ctrule.LimitByName("nosuch"); ok {
		t.Error("LimitByName accepted an unknown name")
	}
	if s := ctrule.Limit(99).String(); s != "Limit(99)" {
		t.Errorf("unknown limit prints %q", s)
	}
}

func TestLimitSettersTakeOnlyTheirLimits(t *testing.T) {
	c, err := ctrule.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetLimit(ctrule.LimitRecordBytes, 10); !errors.Is(err, ctrule.ErrInvalid) {
		t.Fatalf("a record limit on the compiler: %v", err)
	}
	if err := c.SetLimit(ctrule.LimitRules, 1); err != nil {
		t.Fatal(err)
	}
	const two = "- rule: a\n  desc: d\n  condition: ct.name exists\n  output: o\n  priority: INFO\n" +
		"- rule: b\n  desc: d\n  condition: ct.name exists\n  output: o\n  priority: INFO\n"
	err = c.AddString("two.yaml", two)
	if !errors.Is(err, ctrule.ErrSyntax) || !strings.Contains(err.Error(), "two.yaml:6:9: error: more than 1 rules (limit rules)") {
		t.Fatalf("rules limit: %v", err)
	}
	rs, err := ctrule.Compile(ctrule.LoadString("two.yaml", two))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if _, err := rs.NewScanner(nil, ctrule.ScanLimit(ctrule.LimitMacroDepth, 3)); !errors.Is(err, ctrule.ErrInvalid) {
		t.Fatalf("a compiler limit on a scanner: %v", err)
	}
}
