package ctrule_test

import (
	"testing"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

// alertAllocs is what an Alert is made of (newAlert): its bytes, its
// strings, and its Fields map's two allocations. An alert's cost in a scan
// that alerts often is its memory (docs/performance.md, stops 16 and 17),
// so the scan must allocate nothing else per alert.
const alertAllocs = 4

// TestAllocationsPerAlert holds a scan that delivers every Alert to at most
// alertAllocs heap allocations per alert more than the same scan with no
// callback: a counter array whose address deliver took was a fifth.
func TestAllocationsPerAlert(t *testing.T) {
	data := sharedData(t, "records.ndjson")
	rs := mustCompile(t, ctrule.LoadString("test.yml", testRules))
	alerts := 0
	scanner := func(onMatch func(ctrule.Alert) error) func() {
		sc, err := rs.NewScanner(onMatch)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sc.Close() })
		return func() {
			if _, err := sc.Write(data); err != nil {
				t.Fatal(err)
			}
			if err := sc.Finish(); err != nil {
				t.Fatal(err)
			}
			if err := sc.Reset(); err != nil {
				t.Fatal(err)
			}
		}
	}
	counting := scanner(nil) // the library counts the matches: no Alert is made
	building := scanner(func(ctrule.Alert) error { alerts++; return nil })
	building()
	perScan := alerts
	if perScan < 100 {
		t.Fatalf("%d alerts per scan: too few to tell what an alert allocates", perScan)
	}
	base := testing.AllocsPerRun(5, counting)
	allocs := testing.AllocsPerRun(5, building)
	// What else a scan with a callback allocates (a map of more than eight
	// fields grows, a yield) is far less than one per 20 alerts.
	if per := (allocs - base) / float64(perScan); per > alertAllocs+0.05 {
		t.Errorf("%.2f allocations per alert (%.0f in a scan of %d alerts, %.0f without a callback), more than the %d an Alert is made of",
			per, allocs, perScan, base, alertAllocs)
	}
}
