package main

import (
	"fmt"
	"io"
	"testing"
	"time"
)

func TestSeenSetWindowAndBound(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newSeenSet(time.Minute, 3)
	s.now = func() time.Time { return now }
	s.add("a")
	if !s.seen("a") || s.seen("b") {
		t.Fatal("a must be seen, b not")
	}
	now = now.Add(61 * time.Second)
	if s.seen("a") {
		t.Error("a still seen after the window")
	}
	for i := range 5 {
		s.add(fmt.Sprint(i))
	}
	if s.len() != 3 || s.seen("0") || s.seen("1") || !s.seen("4") {
		t.Errorf("bound of 3 not kept: len %d", s.len())
	}
	// Re-adding refreshes an entry: evicting its old position must not drop it.
	s.add("2")
	s.add("5")
	if !s.seen("2") {
		t.Error("re-added key lost when its older entry was evicted")
	}
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		receives int
		want     time.Duration
	}{{0, 10 * time.Second}, {1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second}, {10, 2 * time.Minute}, {1000, 2 * time.Minute}} {
		if got := backoff(10*time.Second, 2*time.Minute, c.receives); got != c.want {
			t.Errorf("backoff after %d receives: %v, want %v", c.receives, got, c.want)
		}
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv("CTRULE_SQS_QUEUE_URL", "http://q")
	t.Setenv("CTRULE_SQS_CONCURRENCY", "7")
	t.Setenv("CTRULE_SQS_RULES", "a.yaml, b.yaml")
	c, err := parseConfig([]string{"-concurrency", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.QueueURL != "http://q" || c.Concurrency != 2 || len(c.RuleFiles) != 2 || c.RuleFiles[1] != "b.yaml" {
		t.Errorf("config %+v: the flag must win over the environment, lists split on commas", c)
	}
	t.Setenv("CTRULE_SQS_CONCURRENCY", "many")
	if _, err := parseConfig(nil, io.Discard); err == nil {
		t.Error("a bad environment value must be an error")
	}
	t.Setenv("CTRULE_SQS_CONCURRENCY", "1")
	t.Setenv("CTRULE_SQS_STDOUT", "false")
	if _, err := parseConfig(nil, io.Discard); err == nil {
		t.Error("no sink at all must be an error")
	}
}
