package ctrule_test

import (
	"runtime"
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

// TestBytesPerAlert holds what a scan that delivers every Alert allocates
// beyond the same scan with no callback to the alert's own bytes (its
// record, the match saved for its JSON line, output and field values,
// copied once) and a bounded
// rest: its strings' headers, its Fields map and the allocator's rounding.
// The rule's name, source, tags and field names are shared by its alerts,
// not copied per alert.
func TestBytesPerAlert(t *testing.T) {
	data := sharedData(t, "records.ndjson")
	rs := mustCompile(t, ctrule.LoadString("test.yml", testRules))
	var own, alerts int
	measure := func(onMatch func(ctrule.Alert) error) uint64 {
		sc, err := rs.NewScanner(onMatch)
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		scan := func() {
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
		scan() // warm: the scanner's own buffers
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		scan()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	base := measure(nil)
	building := measure(func(a ctrule.Alert) error {
		alerts++
		own += len(a.Raw) + ctrule.SavedLen(a) + len(a.Output)
		for _, v := range a.Fields {
			if v != nil {
				own += len(*v)
			}
		}
		return nil
	})
	alerts /= 2 // two scans: the warm one and the measured one
	own /= 2
	if alerts < 100 {
		t.Fatalf("%d alerts per scan: too few to tell what an alert allocates", alerts)
	}
	perAlert := float64(building-base) / float64(alerts)
	ownPerAlert := float64(own) / float64(alerts)
	t.Logf("%.0f bytes allocated per alert, %.0f of them its own", perAlert, ownPerAlert)
	if rest := perAlert - ownPerAlert; rest > maxAlertOverhead {
		t.Errorf("%.0f bytes per alert beyond its own %.0f, more than %d", rest, ownPerAlert, maxAlertOverhead)
	}
}

// maxAlertOverhead is the bytes an Alert may take beyond its own: a few
// string headers, a Fields map of a few entries (Go 1.24's: a header and a
// group of eight slots), and the size classes' rounding of the block. On
// the shared records: 436 (Go 1.26); 616 when the rule's names were copied
// into every alert with the pack's lengths.
const maxAlertOverhead = 512
