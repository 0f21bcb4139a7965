package ctrule

import (
	"testing"
	"time"
)

// feedPace sizes a feed from the rate of the last one, to last paceTarget,
// within [paceMin, feedSlice].
func TestFeedPaceSizesAFeedFromTheLastOnesRate(t *testing.T) {
	var f feedPace
	if got := f.size(); got != paceFirst {
		t.Fatalf("first feed: %d bytes, want %d", got, paceFirst)
	}
	for _, c := range []struct {
		n    int
		d    time.Duration
		want int
	}{
		{64 << 10, 80 * time.Microsecond, 32 << 10},  // twice the target: half the bytes
		{32 << 10, 10 * time.Microsecond, 128 << 10}, // a quarter: four times
		{64 << 10, 10 * time.Millisecond, paceMin},   // a slow feed (its alerts): never below paceMin
		{1 << 20, time.Microsecond, feedSlice},       // a fast one: never above feedSlice
		{64 << 10, 0, feedSlice},                     // no measurable time: the most
		{paceMin, 40 * time.Microsecond, paceMin},    // on target: the same
		{100000, 40 * time.Microsecond, 100000},      // on target
		{3 << 20, 40 * time.Microsecond, feedSlice},  // (a feed is never that big)
		{1 << 10, 40 * time.Millisecond, paceMin},    // (nor that small)
	} {
		f.took(c.n, c.d)
		if got := f.size(); got != c.want {
			t.Errorf("after %d bytes in %v: next feed %d bytes, want %d", c.n, c.d, got, c.want)
		}
	}
}
