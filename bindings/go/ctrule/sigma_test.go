package ctrule_test

// Sigma rules through the ordinary API (docs/sigma.md): a Sigma file is a
// rules file (LoadFile, LoadString, Load), its rule is a Rule, its matches
// are Alerts, and a bad Sigma document is a *CompileError at file:line:column.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

// sigmaLevels is docs/sigma.md's level → priority mapping.
var sigmaLevels = map[string]ctrule.Priority{
	"informational": ctrule.PriorityInformational, "low": ctrule.PriorityNotice,
	"medium": ctrule.PriorityWarning, "high": ctrule.PriorityError, "critical": ctrule.PriorityCritical,
}

type sigmaHeader struct {
	title, id, level string
	tags             []string
}

var (
	sigmaScalar = func(key string) *regexp.Regexp { return regexp.MustCompile(`(?m)^` + key + `: *(.+)$`) }
	sigmaTags   = regexp.MustCompile(`(?m)^tags:\n((?:  - .+\n)+)`)
)

// readSigmaHeader reads title, id, level and tags of a transcribed SigmaHQ
// file from its top-level lines (all of them write these as plain scalars
// and a block list), independently of the library.
func readSigmaHeader(t *testing.T, path string) sigmaHeader {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	get := func(key string) string {
		m := sigmaScalar(key).FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s: no %s", path, key)
		}
		return strings.Trim(strings.TrimSpace(string(m[1])), `'"`)
	}
	h := sigmaHeader{title: get("title"), id: get("id"), level: get("level")}
	if m := sigmaTags.FindSubmatch(b); m != nil {
		for _, line := range strings.Split(strings.TrimSpace(string(m[1])), "\n") {
			h.tags = append(h.tags, strings.TrimPrefix(strings.TrimSpace(line), "- "))
		}
	}
	return h
}

func nonEmptyLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

func TestSigmaHQRulesAreRules(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "tests", "sigma", "sigmahq", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("%d SigmaHQ files, want the transcriptions of tests/sigma/sigmahq", len(files))
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yml"), func(t *testing.T) {
			h := readSigmaHeader(t, path)
			rs := mustCompile(t, ctrule.LoadFile(path))
			rules := rs.Rules()
			if len(rules) != 1 || rules[0].Name != h.title || !rules[0].Enabled {
				t.Fatalf("rules %+v, want one enabled rule %q", rules, h.title)
			}
			want, ok := sigmaLevels[h.level]
			if !ok || rules[0].Priority != want {
				t.Errorf("priority %v for level %q", rules[0].Priority, h.level)
			}
			wantTags := append(slices.Clone(h.tags), "sigma", "sigma.id:"+h.id)
			if !slices.Equal(rules[0].Tags, wantTags) {
				t.Errorf("tags %q, want %q", rules[0].Tags, wantTags)
			}
			base := strings.TrimSuffix(path, ".yml")
			match, nomatch := nonEmptyLines(t, base+".match.json"), nonEmptyLines(t, base+".nomatch.json")
			if len(match) == 0 || len(nomatch) == 0 {
				t.Fatal("no records")
			}
			data := append(bytes.Join(append(slices.Clone(match), nomatch...), []byte("\n")), '\n')
			alerts := alertsOf(t, rs, bytes.NewReader(data))
			if len(alerts) != len(match) {
				var outs []string
				for _, a := range alerts {
					outs = append(outs, fmt.Sprintf("%d: %s", a.RecordIndex, a.Output))
				}
				t.Fatalf("%d alerts, want %d (one per match record): %q", len(alerts), len(match), outs)
			}
			for i, a := range alerts {
				var rec struct {
					EventName, EventSource, AwsRegion, EventID string
					UserIdentity                               struct{ Arn *string }
				}
				if err := json.Unmarshal(match[i], &rec); err != nil {
					t.Fatal(err)
				}
				if a.RecordIndex != uint64(i) || a.Rule != h.title || a.Priority != want ||
					!slices.Equal(a.Tags, wantTags) || !bytes.Equal(a.Raw, match[i]) {
					t.Errorf("alert %d: %+v", i, a)
				}
				if prefix := rec.EventName + " on " + rec.EventSource + " (user="; !strings.HasPrefix(a.Output, prefix) {
					t.Errorf("output %q, want the prefix %q", a.Output, prefix)
				}
				if arn, ok := a.Field("ct.user.arn"); ok != (rec.UserIdentity.Arn != nil) || (ok && arn != *rec.UserIdentity.Arn) {
					t.Errorf("ct.user.arn %q %v, record %v", arn, ok, rec.UserIdentity.Arn)
				}
				if region, _ := a.Field("ct.region"); region != rec.AwsRegion {
					t.Errorf("ct.region %q, want %q", region, rec.AwsRegion)
				}
				var falco struct {
					Rule, Priority string
					Tags           []string
					OutputFields   map[string]any `json:"output_fields"`
				}
				if err := json.Unmarshal(lineOf(t, a), &falco); err != nil {
					t.Fatal(err)
				}
				sorted := slices.Sorted(slices.Values(wantTags))
				if falco.Rule != h.title || falco.Priority != want.String() || !slices.Equal(falco.Tags, sorted) ||
					falco.OutputFields["ct.id"] != rec.EventID {
					t.Errorf("JSON line %s", lineOf(t, a))
				}
			}
		})
	}
}

func TestSigmaAlertInDetail(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "tests", "sigma", "sigmahq")
	rs := mustCompile(t, ctrule.LoadFile(filepath.Join(dir, "iam_backdoor_users_keys.yml")))
	data, err := os.ReadFile(filepath.Join(dir, "iam_backdoor_users_keys.match.json"))
	if err != nil {
		t.Fatal(err)
	}
	alerts := alertsOf(t, rs, bytes.NewReader(data))
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	if a.Rule != "AWS IAM Backdoor Users Keys" || a.Priority != ctrule.PriorityWarning {
		t.Errorf("rule %q priority %v", a.Rule, a.Priority)
	}
	wantOut := "CreateAccessKey on iam.amazonaws.com (user=alice arn=arn:aws:iam::111122223333:user/alice " +
		`account=111122223333 resources=<NA> request={"userName":"bob"} region=eu-west-1 ip=203.0.113.9 ` +
		"agent=aws-cli/2.15 error=<NA> userIdentity.arn=arn:aws:iam::111122223333:user/alice " +
		"responseElements.accessKey.userName=bob errorCode=<NA> errorMessage=<NA>)"
	if a.Output != wantOut {
		t.Errorf("output\n got %s\nwant %s", a.Output, wantOut)
	}
	// Every field of the output template, with nil for an absent one; a
	// Sigma rule's fields: entries are json.values[...] fields.
	want := map[string]any{
		"ct.name": "CreateAccessKey", "ct.src": "iam.amazonaws.com", "ct.user": "alice",
		"ct.user.arn": "arn:aws:iam::111122223333:user/alice", "ct.user.accountid": "111122223333",
		"ct.resources": nil, "ct.request": `{"userName":"bob"}`, "ct.region": "eu-west-1",
		"ct.srcip": "203.0.113.9", "ct.useragent": "aws-cli/2.15", "ct.error": nil,
		"json.values[userIdentity.arn]":                    "arn:aws:iam::111122223333:user/alice",
		"json.values[responseElements.accessKey.userName]": "bob",
		"json.values[errorCode]":                           nil,
		"json.values[errorMessage]":                        nil,
	}
	if len(a.Fields) != len(want) {
		t.Errorf("fields %v, want %v", a.Fields, want)
	}
	for k, v := range want {
		got, present := a.Fields[k]
		switch {
		case !present:
			t.Errorf("field %s missing", k)
		case v == nil && got != nil:
			t.Errorf("field %s = %q, want absent (nil)", k, *got)
		case v != nil && (got == nil || *got != v):
			t.Errorf("field %s = %v, want %q", k, got, v)
		}
	}
	if !a.Time.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("time %v", a.Time)
	}
}

// publicRestore is a Sigma rule written for these tests: modifiers, a
// negated filter, fields, level critical.
const publicRestore = `title: Public RDS Restore From Outside
id: 6f1c2d3e-0000-4000-8000-000000000001
description: A DB instance restored public, by a caller outside 10.0.0.0/8.
tags: [attack.exfiltration, team.db]
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: rds.amazonaws.com
    eventName|startswith: RestoreDBInstance
    responseElements.publiclyAccessible: 'true'
  filter_internal:
    sourceIPAddress|cidr: 10.0.0.0/8
  condition: selection and not filter_internal
fields:
  - requestParameters.dBInstanceIdentifier
level: critical
`

// restoreRecord builds a RestoreDBInstance record; changes replace
// top-level members (nil removes one).
func restoreRecord(t *testing.T, changes map[string]any) []byte {
	t.Helper()
	rec := map[string]any{
		"eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z",
		"userIdentity": map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
			"accountId": "111122223333", "userName": "alice"},
		"eventSource": "rds.amazonaws.com", "eventName": "RestoreDBInstanceFromDBSnapshot",
		"awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.15",
		"requestParameters": map[string]any{"dBInstanceIdentifier": "copy", "dBSnapshotIdentifier": "snap"},
		"responseElements":  map[string]any{"dBInstanceIdentifier": "copy", "publiclyAccessible": true},
		"eventID":           "e-1", "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
	}
	for k, v := range changes {
		if v == nil {
			delete(rec, k)
		} else {
			rec[k] = v
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSigmaStringMatchesAndNearMisses(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("public_restore.yml", publicRestore))
	rules := rs.Rules()
	wantTags := []string{"attack.exfiltration", "team.db", "sigma", "sigma.id:6f1c2d3e-0000-4000-8000-000000000001"}
	if len(rules) != 1 || rules[0].Name != "Public RDS Restore From Outside" ||
		rules[0].Priority != ctrule.PriorityCritical || !slices.Equal(rules[0].Tags, wantTags) ||
		rules[0].Desc != "A DB instance restored public, by a caller outside 10.0.0.0/8." {
		t.Fatalf("rules %+v", rules)
	}
	type rec struct {
		name    string
		changes map[string]any
	}
	matches := []rec{
		{"as built", nil},
		{"other restore API", map[string]any{"eventName": "RestoreDBInstanceToPointInTime"}},
		{"eventName in another case", map[string]any{"eventName": "restoredbinstancefromdbsnapshot"}},
		{"'true' as a string", map[string]any{"responseElements": map[string]any{"publiclyAccessible": "TRUE"}}},
		{"public IPv6 caller", map[string]any{"sourceIPAddress": "2001:db8::1"}},
	}
	nearMisses := []rec{
		{"not public", map[string]any{"responseElements": map[string]any{"publiclyAccessible": false}}},
		{"no publiclyAccessible", map[string]any{"responseElements": map[string]any{"dBInstanceIdentifier": "copy"}}},
		{"responseElements absent", map[string]any{"responseElements": nil}},
		{"internal caller", map[string]any{"sourceIPAddress": "10.20.30.40"}},
		{"other service", map[string]any{"eventSource": "rdsdata.amazonaws.com"}},
		{"not a restore", map[string]any{"eventName": "CreateDBInstance"}},
		{"restore prefix not at start", map[string]any{"eventName": "XRestoreDBInstanceFromDBSnapshot"}},
	}
	all := append(slices.Clone(matches), nearMisses...)
	var data []byte
	for _, r := range all {
		data = append(append(data, restoreRecord(t, r.changes)...), '\n')
	}
	alerts := alertsOf(t, rs, bytes.NewReader(data))
	var got []uint64
	for _, a := range alerts {
		got = append(got, a.RecordIndex)
		if a.Priority != ctrule.PriorityCritical {
			t.Errorf("priority %v", a.Priority)
		}
		if v, _ := a.Field("json.values[requestParameters.dBInstanceIdentifier]"); v != "copy" ||
			!strings.HasSuffix(a.Output, " requestParameters.dBInstanceIdentifier=copy)") {
			t.Errorf("fields entry: %q in %q", v, a.Output)
		}
	}
	for i := range all {
		if slices.Contains(got, uint64(i)) != (i < len(matches)) {
			t.Errorf("record %q: alerted %v, want %v", all[i].name, slices.Contains(got, uint64(i)), i < len(matches))
		}
	}
	// Any chunking: the same alerts.
	equalKeys(t, "7-byte writes", collect(t, rs, data, []int{7}), collect(t, rs, data, nil))
}

func TestSigmaTunedByAFalcoFile(t *testing.T) {
	dir := t.TempDir()
	sigma, tuning := filepath.Join(dir, "public_restore.yml"), filepath.Join(dir, "tuning.yaml")
	tuningText := `- rule: Public RDS Restore From Outside
  priority: NOTICE
  override: {priority: replace}
- rule: Public RDS Restore From Outside
  exceptions:
    - name: lab_account
      fields: [ct.user.accountid]
      values: [[111122223333]]
  override: {exceptions: append}
`
	if err := os.WriteFile(sigma, []byte(publicRestore), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tuning, []byte(tuningText), 0o644); err != nil {
		t.Fatal(err)
	}
	other := restoreRecord(t, map[string]any{"userIdentity": map[string]any{
		"type": "IAMUser", "arn": "arn:aws:iam::999988887777:user/eve", "accountId": "999988887777"}})
	data := append(append(append(restoreRecord(t, nil), '\n'), other...), '\n')
	for name, opts := range map[string][]ctrule.CompileOption{
		"two files":      {ctrule.LoadFile(sigma), ctrule.LoadFile(tuning)},
		"one mixed file": {ctrule.LoadString("mixed.yml", publicRestore+"---\n"+tuningText)},
	} {
		rs := mustCompile(t, opts...)
		alerts := alertsOf(t, rs, bytes.NewReader(data))
		if len(alerts) != 1 || alerts[0].RecordIndex != 1 || alerts[0].Priority != ctrule.PriorityNotice {
			t.Errorf("%s: alerts %+v, want record 1 only, at Notice", name, alerts)
		}
	}
	// As Load (and the CLI's -r): after the built-in rules; "sigma" deselects.
	rs, err := ctrule.Load([]string{sigma}, ctrule.DisableTag("sigma"))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for _, r := range rs.Rules() {
		if r.Name == "Public RDS Restore From Outside" && r.Enabled {
			t.Error("DisableTag(sigma) left the Sigma rule enabled")
		}
	}
	if len(rs.Rules()) < 10 {
		t.Errorf("Load did not add the built-in rules: %d rules", len(rs.Rules()))
	}
}

func TestBadSigmaIsACompileErrorAtItsPosition(t *testing.T) {
	const base = "title: Bad\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  s:\n"
	cases := []struct {
		name, text   string
		line, column int
		code, words  string
	}{
		{"aggregation", base + "    eventName: x\n  condition: s | count() > 3\n", 8, 16, "LOAD_ERR_SIGMA_UNSUPPORTED", "aggregation"},
		{"logsource", "title: Bad\nlogsource:\n  product: windows\n  service: security\ndetection:\n  s:\n    eventName: x\n  condition: s\n",
			3, 12, "LOAD_ERR_SIGMA_UNSUPPORTED", "windows"},
		{"modifier", base + "    eventName|windash: x\n  condition: s\n", 7, 15, "LOAD_ERR_SIGMA_UNSUPPORTED", "windash"},
		{"undefined selection", base + "    eventName: x\n  condition: s and t\n", 8, 20, "LOAD_ERR_SIGMA", "'t'"},
		{"level", base + "    eventName: x\n  condition: s\nlevel: severe\n", 9, 8, "LOAD_ERR_SIGMA", "severe"},
		{"regex", base + "    eventName|re: 'Create(User'\n  condition: s\n", 7, 31, "LOAD_ERR_SIGMA", "regular expression"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yml")
			if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			for file, opt := range map[string]ctrule.CompileOption{
				"inline.yml": ctrule.LoadString("inline.yml", c.text),
				path:         ctrule.LoadFile(path),
			} {
				_, err := ctrule.Compile(ctrule.LoadBuiltin("rds"), opt)
				var ce *ctrule.CompileError
				if !errors.As(err, &ce) || !errors.Is(err, ctrule.ErrSyntax) {
					t.Fatalf("%s: error %v, want a *CompileError wrapping ErrSyntax", file, err)
				}
				errs := ce.Errors()
				if len(errs) != 1 {
					t.Fatalf("%s: error diagnostics %v, want one", file, errs)
				}
				d := errs[0]
				if d.File != file || d.Line != c.line || d.Column != c.column || d.Code != c.code ||
					!strings.Contains(d.Message, c.words) {
					t.Errorf("diagnostic %+v, want %s:%d:%d %s containing %q", d, file, c.line, c.column, c.code, c.words)
				}
				if prefix := fmt.Sprintf("%s:%d:%d: error: ", file, c.line, c.column); !strings.HasPrefix(err.Error(), prefix) {
					t.Errorf("error %q, want the prefix %q", err, prefix)
				}
			}
		})
	}
}
