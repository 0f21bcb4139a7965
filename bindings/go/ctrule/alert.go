package ctrule

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/libctrule/libctrule/bindings/go/internal/capi"
)

// Alert is one rule matching one record. Everything in it is a Go copy: it
// stays valid after the callback returns and may be sent to other
// goroutines.
//
// Marshalled with encoding/json it is Falco's JSON alert, the line in JSON
// (see MarshalJSON).
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
	// Silenced is true only from a scanner made with NoCorrelation, for a
	// match that `generate: false` of the correlations naming its rule
	// would have kept quiet: it feeds a correlation elsewhere and is not to
	// be shown (ctr_match_silenced).
	Silenced bool `json:"-"`

	// saved is the match as the library saved it for its JSON line
	// (ctr_match_save), cut from the alert's one allocation; nil for an
	// alert that no scan produced.
	saved []byte
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

// errNoJSON is the error of JSON for an alert that no scan produced.
var errNoJSON = errors.New("ctrule: only an alert made by a scan has Falco's JSON line")

// JSON returns the alert as one line of Falco's JSON output, no newline:
// the bytes the ctrule CLI's --json, the Python binding's to_json() and the
// SQS worker write for it (the library's ctr_match_json with
// CTR_JSON_EVENT_ID; docs/alert-format.md): hostname, output with Falco's
// time-and-priority prefix, output_fields typed as Falco types them (plus
// evt.time and ct.id), priority, rule, source, tags, time. The line is
// written when asked for, from what the scan saved of the match, and the
// bytes are the caller's. An error for an alert that no scan produced, or
// when the library is out of memory.
func (a Alert) JSON() ([]byte, error) { return a.AppendJSON(nil) }

// AppendJSON appends the alert's JSON line (see JSON) to dst and returns
// the extended slice: a writer that reuses one buffer for every alert
// allocates nothing for the line. On an error dst is returned unchanged.
func (a Alert) AppendJSON(dst []byte) ([]byte, error) {
	if a.saved == nil {
		return dst, errNoJSON
	}
	room := jsonRoom(a.saved)
	for {
		dst = slices.Grow(dst, room+1) // +1: the NUL the library writes after a line that fits
		n := capi.Ctrgo_saved_json(a.saved, dst[len(dst):len(dst)+room+1])
		if n < 0 {
			return dst, opError("JSON", int(n))
		}
		if int(n) <= room {
			return dst[:len(dst)+int(n)], nil
		}
		room = int(n)
	}
}

// jsonRoom is the room AppendJSON gives a line first: as much as most
// lines take (a line holds the saved output and values, escaped, and the
// rule's part as saved); a longer one is written again.
func jsonRoom(saved []byte) int { return 2*len(saved) + 256 }

// MarshalJSON returns the alert's JSON line (see JSON). (encoding/json then
// escapes <, > and & in strings unless its Encoder's SetEscapeHTML(false):
// write a.JSON() itself for the exact bytes.)
func (a Alert) MarshalJSON() ([]byte, error) { return a.JSON() }

// newAlert builds an alert from what ctrgo_match_pack wrote (see ctrule.i).
// What an alert costs is mostly its bytes (a scan that alerts once every 60
// records spent more on alerts than on the records, most of it the kernel
// handing out the fresh pages they land on), so it copies only what is the
// alert's own, its text (output, field values), saved match and record,
// into one allocation its strings, saved match and Raw are cut from; the
// rule's name, source, tags and field names are shared by its alerts
// (rules). Four allocations in all: that block, the strings, the map's two.
func newAlert(pack []byte, rules *ruleNames) Alert {
	r := packReader{b: pack}
	ns := int64(r.u64())
	a := Alert{RecordIndex: r.u64(), ByteOffset: r.u64(), Priority: Priority(int64(r.u64()))}
	a.Silenced = r.u64() != 0
	namesLen, textLen, savedLen, rawLen, outputLen := int(r.u64()), int(r.u64()), int(r.u64()), int(r.u64()), int(r.u64())
	names := rules.of(pack[r.at : r.at+namesLen])
	ntags, nfields := len(names.tags), len(names.fields)
	r.at += namesLen
	lens := r.at
	r.at += 8 * nfields
	b := bytes.Clone(pack[r.at : r.at+textLen+savedLen+rawLen])
	// Raw and the saved match are capped at their ends, and Raw comes last:
	// what a caller writes or appends to Raw changes nothing else. Strings
	// share the text's memory, which nothing hands out as bytes.
	a.saved = b[textLen : textLen+savedLen : textLen+savedLen]
	a.Raw = b[textLen+savedLen : len(b) : len(b)]
	text := unsafe.String(unsafe.SliceData(b), textLen)
	a.Rule, a.Source, a.Output = names.rule, names.source, text[:outputLen]
	if ns != 0 {
		a.Time = time.Unix(0, ns).UTC()
	}
	strs := make([]string, ntags+nfields)
	a.Tags = strs[:ntags:ntags] // never nil: JSON [] as in Falco
	copy(a.Tags, names.tags)
	a.Fields = make(map[string]*string, nfields)
	values, at := strs[ntags:], outputLen
	for i, name := range names.fields {
		n := binary.NativeEndian.Uint64(pack[lens+8*i:])
		if n == math.MaxUint64 {
			a.Fields[name] = nil
			continue
		}
		values[i] = text[at : at+int(n)]
		at += int(n)
		a.Fields[name] = &values[i]
	}
	return a
}

// ruleNames holds, for one scanner or one ScanFiles call, what is the same
// in every alert of a rule (its name, source, tags and field names) as Go
// strings made once, looked up by the pack's bytes for them: so a rule
// seen again costs a lookup rather than an allocation, and nothing depends
// on the C memory they came from. Not safe for concurrent use.
type ruleNames struct {
	m map[string]*names
}

type names struct {
	rule, source string
	tags, fields []string
}

// maxRuleNames bounds a ruleNames' memory: past it the table starts over.
const maxRuleNames = 4096

// of returns the names packed in b.
func (rn *ruleNames) of(b []byte) *names {
	if n, ok := rn.m[string(b)]; ok { // no allocation: the key is converted for the lookup only
		return n
	}
	key := string(b)
	r := packReader{b: b, text: key}
	ntags, nfields := int(r.u64()), int(r.u64())
	n := &names{rule: r.str(), source: r.str(), tags: make([]string, ntags), fields: make([]string, nfields)}
	for i := range n.tags {
		n.tags[i] = r.str()
	}
	for i := range n.fields {
		n.fields[i] = r.str()
	}
	if rn.m == nil || len(rn.m) >= maxRuleNames {
		rn.m = make(map[string]*names)
	}
	rn.m[key] = n
	return n
}

// packReader reads what ctrule.i packs: numbers from b, strings as
// substrings of text, a string view of b.
type packReader struct {
	b    []byte
	text string
	at   int
}

func (r *packReader) u64() uint64 {
	v := binary.NativeEndian.Uint64(r.b[r.at:])
	r.at += 8
	return v
}

// str returns the next length-prefixed string, without copying.
func (r *packReader) str() string {
	n := int(r.u64())
	s := r.text[r.at : r.at+n]
	r.at += n
	return s
}
