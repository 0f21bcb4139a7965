package ctrule

import (
	"fmt"

	"github.com/libctrule/libctrule/bindings/go/internal/capi"
)

// Priority is a Falco rule priority. A lower value is more severe, so
// "at least Warning" is p <= PriorityWarning.
type Priority int

// Falco's eight priorities (ctr_priority).
const (
	PriorityEmergency     Priority = 0
	PriorityAlert         Priority = 1
	PriorityCritical      Priority = 2
	PriorityError         Priority = 3
	PriorityWarning       Priority = 4
	PriorityNotice        Priority = 5
	PriorityInformational Priority = 6
	PriorityDebug         Priority = 7
)

// priorityNames holds the library's canonical names, read once.
var priorityNames = func() [PriorityDebug + 1]string {
	var names [PriorityDebug + 1]string
	for p := range names {
		if n := capi.Ctr_priority_name(p); n != nil {
			names[p] = *n
		}
	}
	return names
}()

// Valid reports whether p is one of the eight priorities.
func (p Priority) Valid() bool { return p >= PriorityEmergency && p <= PriorityDebug }

// String returns Falco's canonical name ("Critical", "Informational", ...),
// or "Priority(N)" for an invalid value.
func (p Priority) String() string {
	if p.Valid() {
		return priorityNames[p]
	}
	return fmt.Sprintf("Priority(%d)", int(p))
}

// ParsePriority parses a priority name, case-insensitively, accepting "info"
// as Falco does. The error wraps ErrInvalid.
func ParsePriority(name string) (Priority, error) {
	p := capi.Ctr_priority_parse(name)
	if p < 0 {
		return 0, fmt.Errorf("ctrule: unknown priority %q: %w", name, Status(p))
	}
	return Priority(p), nil
}

// MarshalText encodes the canonical name, so priorities appear as "Warning"
// in JSON.
func (p Priority) MarshalText() ([]byte, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("ctrule: invalid priority %d: %w", int(p), ErrInvalid)
	}
	return []byte(p.String()), nil
}

// UnmarshalText parses a name as ParsePriority does.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
