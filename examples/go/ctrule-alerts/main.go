// Command ctrule-alerts is a tiny alerting service built on the Go binding of
// libctrule: it reads CloudTrail data on stdin (NDJSON, CloudTrail log files
// {"Records":[...]}, EventBridge or CloudWatch Logs envelopes, gzip-compressed
// or not) and writes one Falco JSON alert per line on stdout (Alert.JSON: the
// same line as `ctrule scan --json`), as falcosidekick and SIEMs take them.
// Alerts are flushed after every chunk of input, so it can sit at the end of
// a pipe that never closes.
//
//	ctrule-alerts [-r rules.yaml]... [-no-builtin] [-min-priority warning]
//	              [-enable-tag T]... [-disable-tag T]... [-strict] [-quiet] < events
//
// Bad records are reported on stderr (with their record index and byte
// offset) and skipped, unless -strict. Input with no record is a warning;
// input with values but not one CloudTrail record an error (exit 1), as
// everywhere in the project (docs/bad-input.md). A summary line goes to
// stderr at the end. Exit status: 0 success, 1 scan failure (or interrupted), 2 usage or
// rules error, 74 alerts that could not be written (as the ctrule CLI).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitOutput is the exit status when alerts cannot be written (sysexits'
// EX_IOERR, as the ctrule CLI).
const exitOutput = 74

// outputError is a failed write of alerts: it stops the scan and exits
// with exitOutput.
type outputError struct{ err error }

func (e outputError) Error() string { return "writing alerts: " + e.err.Error() }
func (e outputError) Unwrap() error { return e.err }

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

const readSize = 64 << 10

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ctrule-alerts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ruleFiles, enableTags, disableTags stringList
	fs.Var(&ruleFiles, "r", "load the rules `file` after the built-in rules (repeatable)")
	noBuiltin := fs.Bool("no-builtin", false, "do not load the built-in RDS rules")
	minPriority := fs.String("min-priority", "debug", "report only rules at least this severe (emergency ... debug)")
	fs.Var(&enableTags, "enable-tag", "enable the rules carrying this `tag` (repeatable)")
	fs.Var(&disableTags, "disable-tag", "disable the rules carrying this `tag` (repeatable)")
	strict := fs.Bool("strict", false, "stop with exit status 1 at the first record that cannot be parsed")
	quiet := fs.Bool("quiet", false, "report neither bad records nor the summary on stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ctrule-alerts [flags] < cloudtrail-data > alerts.ndjson")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "ctrule-alerts: "+format+"\n", a...) }

	// Rules: built-in set, files, then the selection, in Falco's order.
	var opts []ctrule.CompileOption
	if !*noBuiltin {
		opts = append(opts, ctrule.LoadBuiltin("rds"))
	}
	for _, f := range ruleFiles {
		opts = append(opts, ctrule.LoadFile(f))
	}
	for _, t := range enableTags {
		opts = append(opts, ctrule.EnableTag(t))
	}
	for _, t := range disableTags {
		opts = append(opts, ctrule.DisableTag(t))
	}
	prio, err := ctrule.ParsePriority(*minPriority)
	if err != nil {
		logf("%v", err)
		return 2
	}
	opts = append(opts, ctrule.MinPriority(prio), ctrule.OnDiagnostic(func(d ctrule.Diagnostic) {
		if d.Severity == ctrule.SeverityWarning && !*quiet {
			fmt.Fprintln(stderr, d.Text)
		}
	}))
	rs, err := ctrule.Compile(opts...)
	if err != nil {
		var ce *ctrule.CompileError
		if errors.As(err, &ce) && len(ce.Errors()) > 0 {
			for _, d := range ce.Errors() {
				fmt.Fprintln(stderr, d.Text) // file:line:col: error: ...
			}
		} else {
			logf("%v", err)
		}
		return 2
	}
	defer rs.Close()
	if rs.EnabledCount() == 0 {
		logf("warning: no rule is enabled")
	}

	out := bufio.NewWriterSize(stdout, readSize)
	var line []byte // every alert's line is written into this one buffer
	sc, err := rs.NewScanner(func(a ctrule.Alert) error {
		var err error
		if line, err = a.AppendJSON(line[:0]); err != nil {
			return err // out of memory: stops the scan, comes back from Write
		}
		// An output error (e.g. a full disk) stops the scan and comes back
		// from Write.
		line = append(line, '\n')
		if _, err := out.Write(line); err != nil {
			return outputError{err}
		}
		return nil
	}, ctrule.OnRecordError(func(e *ctrule.RecordError) error {
		if *strict && !e.Evaluated {
			return e
		}
		if !*quiet {
			logf("%s", e.Text)
		}
		return nil
	}), ctrule.OnWarning(func(msg string) {
		if !*quiet {
			logf("warning: %s", msg)
		}
	}))
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer sc.Close()

	// Read on a goroutine so that a signal interrupts a blocked read.
	chunks := make(chan []byte)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			buf := make([]byte, readSize)
			n, err := stdin.Read(buf)
			if n > 0 {
				select {
				case chunks <- buf[:n]:
				case <-done:
					return
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				readErr <- err
				close(chunks)
				return
			}
		}
	}()

	summary := func() {
		if !*quiet {
			st := sc.Stats()
			logf("%d records, %d alerts, %d bad, %d incomplete, %d bytes",
				st.Records, st.Matches, st.BadRecords, st.Incomplete, st.Bytes)
		}
	}
	fail := func(err error) int {
		out.Flush()
		logf("%v", err)
		summary()
		if errors.As(err, new(outputError)) {
			return exitOutput
		}
		return 1
	}
	for {
		select {
		case <-ctx.Done():
			_ = sc.Reset() // abandon the partial record
			return fail(fmt.Errorf("interrupted: %w", context.Cause(ctx)))
		case chunk, ok := <-chunks:
			if !ok {
				if err := <-readErr; err != nil {
					_ = sc.Reset()
					return fail(fmt.Errorf("reading input: %w", err))
				}
				if err := sc.Finish(); err != nil {
					return fail(err)
				}
				if err := out.Flush(); err != nil {
					return fail(outputError{err})
				}
				summary()
				return 0
			}
			if _, err := sc.Write(chunk); err != nil {
				_ = sc.Reset()
				return fail(err)
			}
			if err := out.Flush(); err != nil {
				_ = sc.Reset()
				return fail(outputError{err})
			}
		}
	}
}
