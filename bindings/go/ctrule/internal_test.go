package ctrule

import (
	"runtime"
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
