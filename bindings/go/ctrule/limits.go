package ctrule

import (
	"fmt"

	"github.com/libctrule/libctrule/bindings/go/internal/capi"
)

// Limit names one of the library's resource limits (ctr_limit). Each has a
// safe default; rules limits are set with WithLimit or Compiler.SetLimit,
// record limits with ScanLimit (or MaxRecordBytes & co), and the PCRE2
// limits with either. Exceeding a rules limit is a CompileError (ErrSyntax)
// whose diagnostic names the limit; exceeding a record limit is a
// RecordError (ErrLimit) for that record, and the scan goes on.
type Limit int

// The limits (ctr_limit values). The comments give the defaults.
const (
	LimitRecordBytes    Limit = 0  // scanner: 16 MiB per record
	LimitJSONDepth      Limit = 1  // scanner: 64 levels
	LimitGzipOutput     Limit = 2  // scanner: 64 GiB per gzip input
	LimitYAMLAliases    Limit = 3  // compiler: 10000 per file
	LimitYAMLNodes      Limit = 4  // compiler: 2000000 per file
	LimitConditionBytes Limit = 5  // compiler: 262144
	LimitMacroDepth     Limit = 6  // compiler: 64
	LimitConditionNodes Limit = 7  // compiler: 100000 once macros are expanded
	LimitRules          Limit = 8  // compiler: 20000, the built-in rules counted
	LimitRegexMatch     Limit = 9  // both: PCRE2 match limit 100000
	LimitRegexDepth     Limit = 10 // both: PCRE2 depth limit 10000
	LimitListItems      Limit = 11 // compiler: 100000 values per list literal
	LimitGzipRatio      Limit = 12 // scanner: 200 bytes out per compressed byte in, past 16 MiB out
	// scanner: 100000 base-rule matches held for Sigma correlations
	LimitCorrelationEvents Limit = 13
	// scanner: 900 seconds out of event-time order allowed for Sigma correlations
	LimitCorrelationLateness Limit = 14
)

// String is the limit's stable name ("macro_depth"), as diagnostics say it.
func (l Limit) String() string {
	if name := capi.Ctr_limit_name(int(l)); name != "" {
		return name
	}
	return fmt.Sprintf("Limit(%d)", int(l))
}

// Default is the limit's default value (0 for an unknown limit).
func (l Limit) Default() uint64 { return capi.Ctr_limit_default(int(l)) }

// LimitByName finds a limit by its name ("rules", "macro_depth", ...).
func LimitByName(name string) (Limit, bool) {
	for i := 0; i < int(capi.CTR_LIMIT__COUNT); i++ {
		if capi.Ctr_limit_name(i) == name {
			return Limit(i), true
		}
	}
	return 0, false
}

// SetLimit sets a rules limit or a PCRE2 limit; 0 restores the default. YAML
// and rules-count limits apply to the files added afterwards. ErrInvalid for
// a record limit.
func (c *Compiler) SetLimit(l Limit, value uint64) error {
	return c.call("set limit", l.String(), func(p capi.SwigcptrStruct_SS_ctr_compiler) int {
		return capi.Ctr_compiler_set_limit(p, int(l), value)
	})
}

// WithLimit sets a compiler limit; place it before the sources it should
// bound (see Compiler.SetLimit).
func WithLimit(l Limit, value uint64) CompileOption {
	return func(s *compileSteps) {
		s.steps = append(s.steps, func(c *Compiler) error { return c.SetLimit(l, value) })
	}
}

// ScanLimit sets a record limit or a PCRE2 limit for a scanner; 0 restores
// the default (for PCRE2 limits, the ruleset's).
func ScanLimit(l Limit, value uint64) ScanOption {
	return func(c *scanConfig) { c.limits = append(c.limits, scanLimit{int(l), value}) }
}
