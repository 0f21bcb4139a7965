package ctrule

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/libctrule/libctrule/bindings/go/internal/capi"
)

// The Go constants mirror the C enums; SWIG exposes the C values.
func TestConstantsMatchHeader(t *testing.T) {
	for _, c := range []struct {
		name string
		got  Status
		want capi.Ctr_status
	}{
		{"OK", StatusOK, capi.CTR_OK}, {"STOPPED", StatusStopped, capi.CTR_STOPPED},
		{"ENOMEM", ErrNoMem, capi.CTR_ENOMEM}, {"EINVAL", ErrInvalid, capi.CTR_EINVAL},
		{"ESYNTAX", ErrSyntax, capi.CTR_ESYNTAX}, {"EIO", ErrIO, capi.CTR_EIO},
		{"EDATA", ErrData, capi.CTR_EDATA}, {"ENOENT", ErrNotFound, capi.CTR_ENOENT},
		{"EBUSY", ErrBusy, capi.CTR_EBUSY}, {"ELIMIT", ErrLimit, capi.CTR_ELIMIT},
		{"EVERSION", ErrVersion, capi.CTR_EVERSION}, {"ESTATE", ErrState, capi.CTR_ESTATE},
	} {
		if int(c.got) != int(c.want) || c.got.Name() != c.name {
			t.Errorf("%s: Go %d (%s), C %d", c.name, int(c.got), c.got.Name(), int(c.want))
		}
	}
	prios := []struct {
		got  Priority
		want capi.Ctr_priority
	}{
		{PriorityEmergency, capi.CTR_PRIORITY_EMERGENCY}, {PriorityAlert, capi.CTR_PRIORITY_ALERT},
		{PriorityCritical, capi.CTR_PRIORITY_CRITICAL}, {PriorityError, capi.CTR_PRIORITY_ERROR},
		{PriorityWarning, capi.CTR_PRIORITY_WARNING}, {PriorityNotice, capi.CTR_PRIORITY_NOTICE},
		{PriorityInformational, capi.CTR_PRIORITY_INFORMATIONAL}, {PriorityDebug, capi.CTR_PRIORITY_DEBUG},
	}
	for _, p := range prios {
		if int(p.got) != int(p.want) {
			t.Errorf("priority %s: Go %d, C %d", p.got, int(p.got), int(p.want))
		}
	}
	if numStats != int(capi.CTR_STAT__COUNT) {
		t.Errorf("numStats %d, CTR_STAT__COUNT %d", numStats, int(capi.CTR_STAT__COUNT))
	}
	if SeverityError != Severity(capi.CTR_SEVERITY_ERROR) || SeverityWarning != Severity(capi.CTR_SEVERITY_WARNING) {
		t.Error("severity values differ from the header")
	}
	if capi.Ctr_version() != uint(capi.CTR_VERSION_HEX) {
		t.Errorf("runtime version %#x, header %#x", capi.Ctr_version(), capi.CTR_VERSION_HEX)
	}
}

// Objects that are never closed are freed by the cleanup safety net.
func TestForgottenObjectsAreFreed(t *testing.T) {
	before := cleanupRuns.Load()
	func() {
		for range 8 {
			c, err := NewCompiler()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.AddString("r.yaml", "- rule: r\n  desc: d\n  condition: ct.name exists\n  output: o\n  priority: INFO\n"); err != nil {
				t.Fatal(err)
			}
			rs, err := c.Compile()
			if err != nil {
				t.Fatal(err)
			}
			sc, err := rs.NewScanner(func(Alert) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sc.Write([]byte(`{"eventName":"x"}`)); err != nil {
				t.Fatal(err)
			}
		}
	}()
	const want = 3 * 8 // compilers, rulesets, scanners
	deadline := time.Now().Add(10 * time.Second)
	for cleanupRuns.Load()-before < want && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := cleanupRuns.Load() - before; got < want {
		t.Errorf("%d of %d forgotten objects freed", got, want)
	}
}

// packNames is the names part of a pack (ctrgo_match_pack in ctrule.i).
func packNames(rule, source string, tags, fields []string) []byte {
	b := binary.NativeEndian.AppendUint64(nil, uint64(len(tags)))
	b = binary.NativeEndian.AppendUint64(b, uint64(len(fields)))
	for _, s := range append(append([]string{rule, source}, tags...), fields...) {
		b = binary.NativeEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// ruleNames makes a rule's strings once and finds them again by the pack's
// bytes; the same strings as tags or as field names are different names;
// the table starts over past maxRuleNames; nothing refers to the bytes it
// was given.
func TestRuleNamesAreSharedByTheirBytes(t *testing.T) {
	var rn ruleNames
	b := packNames("R", "aws_cloudtrail", []string{"x"}, []string{"ct.user", "ct.name"})
	n := rn.of(b)
	if n.rule != "R" || n.source != "aws_cloudtrail" || !slices.Equal(n.tags, []string{"x"}) ||
		!slices.Equal(n.fields, []string{"ct.user", "ct.name"}) {
		t.Fatalf("names %+v", n)
	}
	if again := rn.of(slices.Clone(b)); again != n {
		t.Error("the same bytes made the names again")
	}
	if allocs := testing.AllocsPerRun(10, func() { rn.of(b) }); allocs != 0 {
		t.Errorf("finding known names allocates %.0f times", allocs)
	}
	for i := range b {
		b[i] = 0
	}
	if n.rule != "R" || n.fields[1] != "ct.name" {
		t.Errorf("names changed with the pack's bytes: %+v", n)
	}
	asField := rn.of(packNames("R", "aws_cloudtrail", nil, []string{"x", "ct.user", "ct.name"}))
	if asField == n || len(asField.tags) != 0 || len(asField.fields) != 3 {
		t.Errorf("a tag taken for a field: %+v", asField)
	}
	for i := range maxRuleNames {
		rn.of(packNames(fmt.Sprint("rule ", i), "s", nil, nil))
	}
	if len(rn.m) > maxRuleNames {
		t.Errorf("%d names kept, at most %d", len(rn.m), maxRuleNames)
	}
}
