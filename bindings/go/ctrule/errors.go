package ctrule

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/libctrule/libctrule/bindings/go/internal/capi"
)

// Status is a libctrule status code (ctr_status). The negative values are
// the library's errors; every error this package returns wraps one of them,
// so errors.Is(err, ctrule.ErrSyntax) and friends work on CompileError,
// RecordError, ScanError and the Status values themselves.
//
// StatusOK and StatusStopped are not errors and are never returned as one.
type Status int

// The library's status values (CTR_STATUS_MAP in ctrule.h).
const (
	StatusOK      Status = 0   // success
	StatusStopped Status = 1   // the scan was stopped by the match callback
	ErrNoMem      Status = -1  // out of memory
	ErrInvalid    Status = -2  // invalid argument
	ErrSyntax     Status = -3  // invalid rules
	ErrIO         Status = -4  // input/output error
	ErrData       Status = -5  // invalid event data
	ErrNotFound   Status = -6  // not found (e.g. an unknown built-in ruleset)
	ErrBusy       Status = -7  // scanner re-entered from its own callback, or used concurrently
	ErrLimit      Status = -8  // a configured limit was exceeded
	ErrVersion    Status = -9  // unsatisfied version requirement
	ErrState      Status = -10 // call not allowed in the object's current state
)

// Error returns the library's message for the status ("invalid rules"), like
// syscall.Errno. The errors built on it (CompileError, RecordError,
// ScanError and the others this package returns) add the context.
func (s Status) Error() string { return capi.Ctr_strerror(int(s)) }

// Name returns the symbolic name without prefix ("ESYNTAX", "UNKNOWN" for
// values the library does not know).
func (s Status) Name() string { return capi.Ctr_status_name(int(s)) }

// String returns the symbolic name, as Name does.
func (s Status) String() string { return s.Name() }

// opError wraps a failed status with the operation that failed.
func opError(op string, st int) error { return fmt.Errorf("ctrule: %s: %w", op, Status(st)) }

// ErrClosed is returned when a closed Compiler, Ruleset or Scanner is used.
// errors.Is(ErrClosed, ErrState) is true.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string        { return "ctrule: use of closed object" }
func (closedError) Is(target error) bool { return target == ErrState }

// errBusy is returned when a Scanner is used from its own callback or from
// two goroutines at once.
var errBusy error = &ScanError{Status: ErrBusy, Message: "scanner used from its own callback or concurrently"}

// Severity of a Diagnostic.
type Severity int

const (
	SeverityError   Severity = 0 // CTR_SEVERITY_ERROR
	SeverityWarning Severity = 1 // CTR_SEVERITY_WARNING
)

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Diagnostic is one error or warning produced while loading or compiling
// rules, with its position in the rules file.
type Diagnostic struct {
	Severity Severity
	File     string // the path given to AddFile, or the name given to AddString / AddBuiltin
	Line     int    // 1-based; 0 when unknown
	Column   int    // 1-based; 0 when unknown
	Item     string // the rule, macro or list concerned; "" if none
	Code     string // Falco-style machine-readable code, e.g. "LOAD_ERR_YAML_PARSE"
	Message  string // the message without position
	Text     string // "file:line:col: error: message (rule 'x')"
}

// String returns d.Text.
func (d Diagnostic) String() string { return d.Text }

func newDiagnostic(d capi.Struct_SS_ctr_diag) Diagnostic {
	out := Diagnostic{
		Severity: Severity(capi.Ctr_diag_severity(d)),
		File:     capi.Ctr_diag_file(d),
		Line:     int(capi.Ctr_diag_line(d)),
		Column:   int(capi.Ctr_diag_column(d)),
		Code:     capi.Ctr_diag_code(d),
		Message:  capi.Ctr_diag_message(d),
		Text:     capi.Ctr_diag_text(d),
	}
	if item := capi.Ctr_diag_item(d); item != nil {
		out.Item = *item
	}
	return out
}

// CompileError is returned when rules cannot be loaded or compiled. It
// carries the diagnostics (file:line:col) and unwraps to the library
// status: ErrSyntax, ErrIO, ErrVersion, ErrNotFound, ...
type CompileError struct {
	Status      Status
	Op          string       // "add file", "add string", "add builtin", "select", "compile"
	Name        string       // the file or rules name concerned, if any
	Diagnostics []Diagnostic // errors and warnings produced by the failed call

	notExist bool // AddFile of a file that does not exist (fs.ErrNotExist)
}

// Errors returns only the error diagnostics.
func (e *CompileError) Errors() []Diagnostic {
	var out []Diagnostic
	for _, d := range e.Diagnostics {
		if d.Severity == SeverityError {
			out = append(out, d)
		}
	}
	return out
}

// Error returns the first error diagnostic ("rules.yaml:4:3: error: ...")
// and how many more there are, or the status message when the library gave
// no diagnostic.
func (e *CompileError) Error() string {
	errs := e.Errors()
	switch len(errs) {
	case 0:
		var b strings.Builder
		b.WriteString("ctrule: ")
		b.WriteString(e.Op)
		if e.Name != "" {
			b.WriteString(" ")
			b.WriteString(e.Name)
		}
		b.WriteString(": ")
		b.WriteString(capi.Ctr_strerror(int(e.Status)))
		return b.String()
	case 1:
		return errs[0].Text
	}
	return fmt.Sprintf("%s (and %d more errors)", errs[0].Text, len(errs)-1)
}

// Unwrap returns the Status.
func (e *CompileError) Unwrap() error { return e.Status }

// Is reports whether target is fs.ErrNotExist and e is about a rules file
// that does not exist.
func (e *CompileError) Is(target error) bool { return target == fs.ErrNotExist && e.notExist }

// RecordError describes one record the scanner could not evaluate (invalid
// JSON, not an object, truncated, over a limit: Evaluated is false) or
// evaluated but found not to be a complete CloudTrail record (Evaluated is
// true). The scanner carries on after either; see OnRecordError.
type RecordError struct {
	Status    Status // why, e.g. ErrData or ErrLimit
	Index     uint64 // 0-based index of the record in the stream
	Offset    uint64 // byte offset of the record in the (decompressed) stream
	Message   string // the reason, without position
	Evaluated bool   // true for an incomplete record that was still evaluated
	Text      string // "record 12 at byte 40960: invalid JSON: ..."
}

func (e *RecordError) Error() string { return "ctrule: " + e.Text }

// Unwrap returns the Status.
func (e *RecordError) Unwrap() error { return e.Status }

func newRecordError(e capi.Struct_SS_ctr_record_error) *RecordError {
	return &RecordError{
		Status:    Status(capi.Ctr_record_error_status(e)),
		Index:     capi.Ctr_record_error_index(e),
		Offset:    capi.Ctr_record_error_offset(e),
		Message:   capi.Ctr_record_error_message(e),
		Evaluated: capi.Ctr_record_error_evaluated(e) != 0,
		Text:      capi.Ctr_record_error_text(e),
	}
}

// ScanError is returned by Scanner.Write or Finish when the stream itself
// is unreadable (e.g. a corrupt gzip stream: ErrData) or the scanner is
// misused (ErrBusy). It unwraps to its Status.
type ScanError struct {
	Status  Status
	Message string // the scanner's last error text, if any

	noRecords bool // the stream held no CloudTrail record (ErrNoRecords)
}

// ErrNoRecords is matched (errors.Is) by the *ScanError that Finish, Scan,
// Alerts and Close return for a stream that held values but not one complete
// CloudTrail record (every value a bad record, or JSON without the
// CloudTrail keys): the data is not CloudTrail (docs/bad-input.md). Its
// Status is ErrData. The alerts found were delivered first.
var ErrNoRecords = errors.New("ctrule: no CloudTrail record in the input")

// Is reports whether target is ErrNoRecords and e is that error.
func (e *ScanError) Is(target error) bool { return target == ErrNoRecords && e.noRecords }

func (e *ScanError) Error() string {
	if e.Message == "" {
		return "ctrule: scan: " + capi.Ctr_strerror(int(e.Status))
	}
	return "ctrule: scan: " + capi.Ctr_strerror(int(e.Status)) + ": " + e.Message
}

// Unwrap returns the Status.
func (e *ScanError) Unwrap() error { return e.Status }
