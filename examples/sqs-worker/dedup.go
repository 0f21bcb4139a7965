package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// seenSet remembers keys for a window, bounded in size: the oldest entries
// go first when it is full. It is what keeps a redelivered message (or the
// same event reached through two shapes) from alerting twice on one replica.
type seenSet struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	at     map[string]seenEntry
	order  []seenEntry // insertion order, for expiry and eviction
	seq    uint64      // tells a key's latest entry from its older ones
	now    func() time.Time
}

type seenEntry struct {
	key string
	at  time.Time
	seq uint64
}

func newSeenSet(window time.Duration, max int) *seenSet {
	return &seenSet{window: window, max: max, at: map[string]seenEntry{}, now: time.Now}
}

func (s *seenSet) seen(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.at[key]
	return ok && s.now().Sub(e.at) < s.window
}

func (s *seenSet) add(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.seq++
	e := seenEntry{key, now, s.seq}
	s.at[key] = e
	s.order = append(s.order, e)
	drop := 0
	for drop < len(s.order) && (len(s.order)-drop > s.max || now.Sub(s.order[drop].at) >= s.window) {
		e := s.order[drop]
		if s.at[e.key].seq == e.seq { // not re-added since
			delete(s.at, e.key)
		}
		drop++
	}
	if drop > 0 {
		s.order = append(s.order[:0:0], s.order[drop:]...)
	}
}

func (s *seenSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.at)
}

// deliverer hands alerts to every sink, each sink skipping the alerts it
// already accepted within the window (keyed by sink, eventID and rule), so
// that a message retried because one sink was down does not repeat its
// alerts on the others.
type deliverer struct {
	sinks []sink
	seen  *seenSet
	m     *metrics
}

func dedupKey(s sink, a outAlert) string { return s.Name() + "\x00" + a.EventID + "\x00" + a.Rule }

// deliver returns nil when every sink has every alert.
func (d *deliverer) deliver(ctx context.Context, alerts []outAlert) error {
	if len(alerts) == 0 {
		return nil
	}
	var errs []error
	for i, s := range d.sinks {
		todo := make([]outAlert, 0, len(alerts))
		for _, a := range alerts {
			if a.EventID != "" && d.seen.seen(dedupKey(s, a)) {
				d.m.alertsDeduplicated.WithLabelValues(s.Name()).Inc()
				continue
			}
			todo = append(todo, a)
		}
		if len(todo) == 0 {
			continue
		}
		if err := s.Send(ctx, todo); err != nil {
			d.m.failures.WithLabelValues("sink_" + s.Name()).Inc()
			errs = append(errs, fmt.Errorf("sink %s: %w", s.Name(), err))
			continue
		}
		now := time.Now()
		for _, a := range todo {
			if a.EventID != "" {
				d.seen.add(dedupKey(s, a))
			}
			d.m.alerts.WithLabelValues(s.Name(), a.Priority.String()).Inc()
			if i == 0 && !a.Time.IsZero() { // measured once, at the first sink
				d.m.eventToAlert.Observe(now.Sub(a.Time).Seconds())
			}
		}
	}
	return errors.Join(errs...)
}
