package ctrule_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

// fileTree writes inputs of every kind: gzip and plain parts of the shared
// corpus, bad JSON, a corrupt gzip, an empty file, JSON that is not
// CloudTrail, and a path that does not exist.
func fileTree(t *testing.T) []string {
	t.Helper()
	lines := bytes.SplitAfter(sharedData(t, "records.ndjson"), []byte("\n"))
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		w := gzip.NewWriter(&out)
		w.Write(b)
		w.Close()
		return out.Bytes()
	}
	var parts []string
	for i := 0; i < len(lines); i += 97 {
		parts = append(parts, write(fmt.Sprintf("part-%05d.json.gz", i), gz(bytes.Join(lines[i:min(i+97, len(lines))], nil))))
	}
	raw := gz(bytes.Join(lines[:50], nil))
	corrupt := append(raw[:len(raw)/2:len(raw)/2], bytes.Repeat([]byte("\x00garbage"), 8)...)
	odd := []string{
		write("bad.ndjson", append(append(append([]byte{}, lines[0]...), `{"eventVersion": oops}`+"\n"...), lines[1]...)),
		write("corrupt.json.gz", corrupt),
		write("empty.json", nil),
		write("nokeys.json", []byte(`{"a": 1}`+"\n")),
		filepath.Join(dir, "missing.json"),
		dir,                                // a directory: its read fails
		filepath.Join(dir, "nul\x00.json"), // os.Open refuses a NUL
	}
	return append(append(append([]string{}, parts[:4]...), odd...), parts[4:]...)
}

type fileSummary struct {
	Path     string
	Alerts   []string
	Stats    ctrule.Stats
	Bad      []string
	Warnings []string
	Err      string
}

func summarize(r ctrule.FileResult) fileSummary {
	s := fileSummary{Path: r.Path, Stats: r.Stats, Warnings: r.Warnings}
	for _, a := range r.Alerts {
		s.Alerts = append(s.Alerts, key(a))
	}
	for _, e := range r.RecordErrors {
		s.Bad = append(s.Bad, e.Text)
	}
	if r.Err != nil {
		s.Err = r.Err.Error()
	}
	return s
}

// alone scans one file the documented single-stream way.
func alone(t *testing.T, rs *ctrule.Ruleset, path string) fileSummary {
	s := fileSummary{Path: path}
	sc, err := rs.NewScanner(func(a ctrule.Alert) error { s.Alerts = append(s.Alerts, key(a)); return nil },
		ctrule.OnRecordError(func(e *ctrule.RecordError) error { s.Bad = append(s.Bad, e.Text); return nil }),
		ctrule.OnWarning(func(m string) { s.Warnings = append(s.Warnings, m) }))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	b, err := os.ReadFile(path)
	if err == nil {
		if _, err = sc.Write(b); err == nil {
			err = sc.Finish()
		} else {
			sc.Reset()
		}
	}
	if err != nil { // a missing file: *fs.PathError "open PATH: ..." as ScanFiles gives it
		s.Err = err.Error()
	}
	s.Stats = sc.Stats()
	return s
}

func TestScanFilesInInputOrderSameAsEachAlone(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("rules.yaml", testRules))
	paths := fileTree(t)
	var want []fileSummary
	for _, p := range paths {
		want = append(want, alone(t, rs, p))
	}
	for _, workers := range []int{1, 2, 5, 0} {
		var got []fileSummary
		err := rs.ScanFiles(context.Background(), paths, workers, func(r ctrule.FileResult) error {
			got = append(got, summarize(r))
			return nil
		})
		if err != nil {
			t.Fatalf("workers=%d: %v", workers, err)
		}
		if !reflect.DeepEqual(got, want) {
			for i := range want {
				if i >= len(got) || !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("workers=%d: file %d differs:\n got %+v\nwant %+v", workers, i, got[i], want[i])
				}
			}
			t.Fatalf("workers=%d: %d results, want %d", workers, len(got), len(want))
		}
	}
	// The odd inputs say what went wrong.
	byName := map[string]fileSummary{}
	for _, s := range want {
		byName[filepath.Base(s.Path)] = s
	}
	if byName["bad.ndjson"].Err != "" || len(byName["bad.ndjson"].Bad) != 1 {
		t.Errorf("bad.ndjson: %+v", byName["bad.ndjson"])
	}
	for _, name := range []string{"corrupt.json.gz", "nokeys.json", "missing.json", filepath.Base(filepath.Dir(paths[0])), "nul\x00.json"} {
		if byName[name].Err == "" {
			t.Errorf("%q: no error", name)
		}
	}
	if len(byName["empty.json"].Warnings) != 1 {
		t.Errorf("empty.json: %+v", byName["empty.json"])
	}
}

func TestScanFilesErrorsOfFnAndContext(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadString("rules.yaml", testRules))
	paths := fileTree(t)
	stop := errors.New("enough")
	n := 0
	err := rs.ScanFiles(context.Background(), paths, 2, func(r ctrule.FileResult) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("err %v after %d results, want %v after 3", err, n, stop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	err = rs.ScanFiles(ctx, paths, 2, func(r ctrule.FileResult) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("err %v after %d results, want context.Canceled after 1", err, n)
	}
	if err := rs.ScanFiles(context.Background(), nil, 0, func(ctrule.FileResult) error { return stop }); err != nil {
		t.Fatalf("no paths: %v", err)
	}
}

// The workers stop at the read-ahead window (64 per worker and 64) until the
// caller takes a result, and the caller waits for results in runs: with fn
// slow at first, the workers fill the window, and the results stay those of
// one worker, in order.
func TestScanFilesWaitsForAFullWindow(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadBuiltin("rds"))
	lines := bytes.SplitAfter(sharedData(t, "records.ndjson"), []byte("\n"))
	dir := t.TempDir()
	var paths []string
	for i := range 3 * (64*2 + 64) {
		p := filepath.Join(dir, fmt.Sprintf("%04d.json", i))
		if err := os.WriteFile(p, bytes.Join(lines[i%(len(lines)-1):i%(len(lines)-1)+1], nil), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	scan := func(workers int, slow bool) []fileSummary {
		var got []fileSummary
		err := rs.ScanFiles(context.Background(), paths, workers, func(r ctrule.FileResult) error {
			if slow && (len(got) == 0 || len(got) == 200) {
				time.Sleep(100 * time.Millisecond)
			}
			got = append(got, summarize(r))
			return nil
		})
		if err != nil {
			t.Fatalf("workers=%d: %v", workers, err)
		}
		return got
	}
	want := scan(1, false)
	if len(want) != len(paths) {
		t.Fatalf("%d results for %d files", len(want), len(paths))
	}
	for _, workers := range []int{2, 3} {
		if got := scan(workers, true); !reflect.DeepEqual(got, want) {
			t.Fatalf("workers=%d: the results differ from one worker's", workers)
		}
	}
}

// ctx's end stops the threads mid-file and the caller waiting in C for a
// result. The first input is a FIFO whose writer never stops: a scan that
// finished its file before looking at ctx would never return (the test's
// own timeout), so returning at all proves the file was left mid-way; no
// bound on how long it took (a loaded machine is not the binding's fault).
func TestScanFilesDeadlineWhileWaitingForAFile(t *testing.T) {
	rs := mustCompile(t, ctrule.LoadBuiltin("rds"))
	fifo := filepath.Join(t.TempDir(), "endless.ndjson")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFO here:", err)
	}
	records := sharedData(t, "records.ndjson")
	wrote := make(chan error, 1)
	go func() { // writes until the one reader has let go of the FIFO (EPIPE)
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			wrote <- err
			return
		}
		defer w.Close()
		for {
			if _, err := w.Write(records); err != nil {
				wrote <- nil
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	called := false
	err := rs.ScanFiles(ctx, []string{fifo}, 2, func(ctrule.FileResult) error { called = true; return nil })
	if !errors.Is(err, context.DeadlineExceeded) || called {
		t.Fatalf("err %v, fn called %v; want context.DeadlineExceeded before any result", err, called)
	}
	if werr := <-wrote; werr != nil {
		t.Fatal("the writer:", werr)
	}
}

// BenchmarkScanFiles: the built-in rules over 2,000 gzip files of 100 real
// records each, with 1 and 2 workers (go test -run - -bench ScanFiles).
func BenchmarkScanFiles(b *testing.B) {
	rs, err := ctrule.Compile(ctrule.LoadBuiltin("rds"))
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	lines := bytes.SplitAfter(sharedData(b, "records.ndjson"), []byte("\n"))
	dir := b.TempDir()
	var paths []string
	for i := range 2000 {
		var raw, out bytes.Buffer
		for j := range 100 {
			raw.Write(lines[(i*100+j)%(len(lines)-1)])
		}
		w := gzip.NewWriter(&out)
		w.Write(raw.Bytes())
		w.Close()
		p := filepath.Join(dir, fmt.Sprintf("%04d.json.gz", i))
		os.WriteFile(p, out.Bytes(), 0o644)
		paths = append(paths, p)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			// CPU time too: on a shared machine wall time also measures the
			// neighbours; cpu-s/op of 2 workers against 1 is the overhead.
			c0 := cpuTime()
			for b.Loop() {
				var alerts int
				if err := rs.ScanFiles(context.Background(), paths, workers, func(r ctrule.FileResult) error {
					alerts += len(r.Alerts)
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
