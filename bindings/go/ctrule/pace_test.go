package ctrule_test

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

// With one P, Write paces its feeds (feedPace); with more, it feeds 1 MiB at
// a time and never paces. Either way the same alerts come out.
func TestWritePacesItsFeedsOnlyWithOneP(t *testing.T) {
	data := bytes.Repeat(sharedData(t, "records.ndjson"), 8) // several MiB: many feeds
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rs := mustCompile(t, ctrule.LoadBuiltin("rds"))
	scan := func(procs int) (next int, alerts []string) {
		runtime.GOMAXPROCS(procs)
		sc, err := rs.NewScanner(func(a ctrule.Alert) error { alerts = append(alerts, string(lineOf(t, a))); return nil })
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		if _, err := sc.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := sc.Finish(); err != nil {
			t.Fatal(err)
		}
		return ctrule.NextPacedFeed(sc), alerts
	}
	next, one := scan(1)
	if next < ctrule.PaceMin || next > ctrule.FeedSlice {
		t.Errorf("GOMAXPROCS=1: the next feed is %d bytes, not paced within [%d, %d]", next, ctrule.PaceMin, ctrule.FeedSlice)
	}
	next, two := scan(2)
	if next != 0 {
		t.Errorf("GOMAXPROCS=2: Write paced its feeds (next %d bytes)", next)
	}
	if len(one) == 0 || len(one) != len(two) {
		t.Fatalf("%d alerts with one P, %d with two", len(one), len(two))
	}
	for i := range one {
		if one[i] != two[i] {
			t.Fatalf("alert %d differs:\n%s\n%s", i, one[i], two[i])
		}
	}
}
