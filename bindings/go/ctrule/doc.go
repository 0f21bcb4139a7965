// Package ctrule evaluates Falco-format rules (source aws_cloudtrail) over
// AWS CloudTrail records, by embedding libctrule, the C library.
//
// The pipeline follows the C API:
//
//	Compiler (or Compile) --> *Ruleset (immutable, shared by goroutines)
//	*Ruleset.NewScanner   --> *Scanner (one per goroutine or stream; an io.Writer)
//	match callback        <-- Alert (a Go copy: rule, priority, output, fields, time, raw record)
//
// A minimal service:
//
//	rs, err := ctrule.Compile(ctrule.LoadBuiltin("rds"), ctrule.MinPriority(ctrule.PriorityWarning))
//	if err != nil {
//		log.Fatal(err) // a *ctrule.CompileError: "rules.yaml:12:7: error: ..."
//	}
//	defer rs.Close()
//	sc, err := rs.NewScanner(func(a ctrule.Alert) error {
//		return json.NewEncoder(os.Stdout).Encode(a) // a non-nil error stops the scan
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer sc.Close()
//	if _, err := io.Copy(sc, os.Stdin); err != nil { // NDJSON, {"Records":[...]}, gzip, ...
//		log.Fatal(err)
//	}
//	if err := sc.Finish(); err != nil {
//		log.Fatal(err)
//	}
//
// or, as an iterator: for a, err := range rs.Alerts(os.Stdin) { ... }.
//
// # Errors
//
// Every error wraps a Status, so errors.Is(err, ctrule.ErrSyntax),
// ErrIO, ErrData, ErrNotFound, ErrLimit, ... work. Rule problems are
// *CompileError values carrying Diagnostics with file, line and column; bad
// records are *RecordError values with the record index and byte offset
// (delivered to OnRecordError; the scan carries on unless that callback
// returns an error); unreadable streams are *ScanError values.
//
// # Concurrency and memory
//
// A Ruleset may be used from any number of goroutines. A Scanner, like the
// C scanner it wraps, is for one goroutine at a time; misuse (including
// calling a Scanner from its own callback) fails with ErrBusy. Callbacks run
// synchronously on the goroutine that calls Write or Finish; they reach Go
// through a runtime/cgo.Handle, so C never holds a Go pointer. A callback's
// panic is carried across the C frames and re-raised from Write/Finish.
//
// Close frees C memory deterministically; finalizers (runtime.AddCleanup)
// free forgotten objects only as a safety net.
//
// # Performance
//
// On large writes a Scanner with no match callback (counting only) scans at
// the C library's rate, within 1-3%. Each Alert costs 2-4 us more
// (docs/performance.md; tests/bench/go/alertcost measures it): copies of
// the record, of every string and of the match saved for its JSON line,
// which a C program keeping the same pays too (1.1-1.8 us), and their Go
// memory (1-2.5 us). The JSON line itself is written only when asked for
// (Alert.JSON). A scan with an alert every 60 records reads about 0.88x
// the C rate counting them, one with an alert every 7 records about 0.64x.
// Matches are queued in C during a feed and handed to the callback after
// it, one at a time, as if delivered when made (order, Stats, stop). Write hands
// C at most 1 MiB per cgo call and yields the processor every 5 ms of
// scanning, so that the Go scheduler does not treat the scan as a goroutine
// stuck in a system call. Writes of 256 KiB or more are best: the C scanner
// itself is about 7-10% slower fed 32 KiB at a time, io.Copy's buffer size
// (Ruleset.Scan and Alerts read 256 KiB at a time; with io.Copy, use
// io.CopyBuffer with a larger buffer). With GOMAXPROCS=1 (a one-CPU
// container, or a process pinned to one core) a cgo call longer than about
// 0.1 ms loses its P to the scheduler, so Write then sizes each call to last
// about 40 us, from the rate of the one before: about 0.87x the C rate on
// the benchmark's corpus, where 1 MiB calls read 0.73x (two Ps: about 0.90x).
//
// # Building
//
// The package uses cgo with `#cgo pkg-config: ctrule`: it needs a C compiler
// and libctrule installed where pkg-config finds it (or PKG_CONFIG_PATH set
// to a build's meson-uninstalled directory). The SWIG-generated layer is
// committed, so SWIG is not needed to build.
package ctrule
