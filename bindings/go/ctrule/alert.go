package ctrule

import (
	"time"

	"github.com/libctrule/libctrule/bindings/go/internal/capi"
)

// Alert is one rule matching one record. Everything in it is a Go copy: it
// stays valid after the callback returns and may be sent to other
// goroutines.
//
// Marshalled with encoding/json it has the shape of Falco's JSON output
// (time, rule, priority, output, output_fields, source, tags) minus the
// hostname, which belongs to the host that reports it.
type Alert struct {
	// Time is the record's eventTime, in UTC. It is the zero time.Time when
	// the record has no valid eventTime (check Time.IsZero()).
	Time time.Time `json:"time"`
	// Rule is the name of the rule that matched.
	Rule string `json:"rule"`
	// Priority is the rule's priority; it marshals as "Critical", "Warning", ...
	Priority Priority `json:"priority"`
	// Output is the rule's output template rendered Falco's way; absent
	// fields are rendered "<NA>".
	Output string `json:"output"`
	// Fields are Falco's output_fields: every field named in the output
	// template, mapped to its rendered value. A field that is absent from
	// the record is present in the map with a nil value (JSON null, Falco's
	// <NA>); a name that is not in the template is not in the map. Use
	// Field for a plain lookup.
	Fields map[string]*string `json:"output_fields"`
	// Source is always "aws_cloudtrail".
	Source string `json:"source"`
	// Tags are the rule's tags (never nil).
	Tags []string `json:"tags"`
	// Raw is a copy of the matching record's bytes as they appeared in the
	// (decompressed) stream.
	Raw []byte `json:"-"`
	// RecordIndex is the 0-based index of the record in the stream, and
	// ByteOffset its offset in the (decompressed) stream.
	RecordIndex uint64 `json:"-"`
	ByteOffset  uint64 `json:"-"`
}

// Field returns the rendered value of an output field and true, or "" and
// false when the field is absent from the record or not named in the rule's
// output template.
func (a *Alert) Field(name string) (string, bool) {
	v := a.Fields[name]
	if v == nil {
		return "", false
	}
	return *v, true
}

// newAlert copies everything out of the borrowed C view m.
func newAlert(m capi.Struct_SS_ctr_match) Alert {
	a := Alert{
		Rule:        capi.Ctr_match_rule(m),
		Priority:    Priority(capi.Ctr_match_priority(m)),
		Source:      capi.Ctr_match_source(m),
		Output:      capi.Ctr_match_output(m),
		Raw:         capi.Ctr_match_event(m),
		RecordIndex: capi.Ctr_match_record_index(m),
		ByteOffset:  capi.Ctr_match_byte_offset(m),
	}
	if ns := capi.Ctr_match_time(m); ns != 0 {
		a.Time = time.Unix(0, ns).UTC()
	}
	nt := capi.Ctr_match_tag_count(m)
	a.Tags = make([]string, 0, nt) // never nil: JSON [] as in Falco
	for i := int64(0); i < nt; i++ {
		a.Tags = append(a.Tags, deref(capi.Ctr_match_tag(m, i)))
	}
	n := capi.Ctr_match_field_count(m)
	a.Fields = make(map[string]*string, n)
	for i := int64(0); i < n; i++ {
		a.Fields[deref(capi.Ctr_match_field_name(m, i))] = capi.Ctr_match_field_value(m, i)
	}
	return a
}
