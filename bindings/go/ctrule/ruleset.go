package ctrule

import (
	"runtime"
	"sync"

	"github.com/libctrule/libctrule/bindings/go/internal/capi"
)

// Rule describes one compiled rule, enabled or not.
type Rule struct {
	Name      string
	Desc      string
	Condition string
	Output    string
	Priority  Priority
	Enabled   bool
	Tags      []string
}

// Ruleset is an immutable, compiled set of rules. It is safe for concurrent
// use by any number of goroutines: create one Scanner per goroutine (or per
// stream) with NewScanner.
//
// Close drops the Ruleset's reference to the C ruleset; scanners hold their
// own reference, so closing a Ruleset does not disturb scanners already
// created from it. A finalizer releases a forgotten Ruleset.
type Ruleset struct {
	mu      sync.RWMutex
	rs      capi.SwigcptrStruct_SS_ctr_ruleset // 0 once closed
	cleanup runtime.Cleanup
	rules   []Rule // read once; immutable
	enabled int
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func newRuleset(p capi.SwigcptrStruct_SS_ctr_ruleset) *Ruleset {
	r := &Ruleset{rs: p}
	n := capi.Ctr_ruleset_rule_count(p)
	r.rules = make([]Rule, 0, n)
	for i := int64(0); i < n; i++ {
		rule := Rule{
			Name:      deref(capi.Ctr_ruleset_rule_name(p, i)),
			Desc:      deref(capi.Ctr_ruleset_rule_desc(p, i)),
			Condition: deref(capi.Ctr_ruleset_rule_condition(p, i)),
			Output:    deref(capi.Ctr_ruleset_rule_output(p, i)),
			Priority:  Priority(capi.Ctr_ruleset_rule_priority(p, i)),
			Enabled:   capi.Ctr_ruleset_rule_enabled(p, i) != 0,
		}
		nt := capi.Ctr_ruleset_rule_tag_count(p, i)
		for t := int64(0); t < nt; t++ {
			rule.Tags = append(rule.Tags, deref(capi.Ctr_ruleset_rule_tag(p, i, t)))
		}
		r.rules = append(r.rules, rule)
	}
	r.enabled = int(capi.Ctr_ruleset_enabled_count(p))
	r.cleanup = runtime.AddCleanup(r, func(p capi.SwigcptrStruct_SS_ctr_ruleset) {
		cleanupRuns.Add(1)
		capi.Ctr_ruleset_unref(p)
	}, p)
	return r
}

// Rules returns every compiled rule, enabled or not, in definition order.
// The slice is a copy; it stays available after Close.
func (r *Ruleset) Rules() []Rule {
	out := make([]Rule, len(r.rules))
	copy(out, r.rules)
	for i := range out {
		out[i].Tags = append([]string(nil), out[i].Tags...)
	}
	return out
}

// EnabledCount returns the number of enabled rules.
func (r *Ruleset) EnabledCount() int { return r.enabled }

// Close releases the Ruleset. Scanners created from it stay valid until
// they are closed. Close is idempotent; NewScanner fails with ErrClosed
// afterwards.
func (r *Ruleset) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rs == 0 {
		return nil
	}
	r.cleanup.Stop()
	capi.Ctr_ruleset_unref(r.rs)
	r.rs = 0
	return nil
}
