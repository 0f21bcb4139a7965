// Command scanfiles measures two cores against one on 2,000 small log files
// (issue 18, "cores") through the Go binding's ScanFiles, and optionally the
// CLI's `ctrule scan -q -j N` on the same files, 1 and 2 taking turns.
//
//	go run ./scanfiles [-rounds 6] [-priority] [-cli build/examples/cli/ctrule] [-dir DIR]
//
// The files are those of BenchmarkScanFiles and of the Python driver
// (bindings/python/bench/scan_files.py): 2,000 gzip files of 100 of the
// shared real records each, written to a temporary directory unless -dir
// names one. Every run reports wall time, CPU time (user + system of the
// process, or of the CLI child) and the time the process's threads spent
// runnable but waiting for a core (/proc/self/task/*/schedstat): on a
// shared machine that wait is the neighbours', not ours. -priority runs the
// measurement in a session of its own at autogroup nice -20 (root), as
// docs/performance.md describes. The best run of each side is compared,
// and the results of 1 and 2 workers must be the same (a digest of every
// result, in order); nothing else fails on a figure.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

const goName = "Go ScanFiles(ctx, paths, N, fn)"

type run struct {
	wall, cpu, wait   time.Duration
	sleeps, preempted int64 // voluntary and involuntary context switches
}

func main() {
	rounds := flag.Int("rounds", 6, "runs of each side, taking turns")
	priority := flag.Bool("priority", false, "own session at autogroup nice -20 (root)")
	cli := flag.String("cli", "", "the ctrule CLI, to measure scan -q -j 1 and -j 2 too")
	dir := flag.String("dir", "", "the files (default: the 2,000 files written to a temporary directory)")
	flag.Parse()
	if *priority && os.Getenv("CTRULE_BENCH_PRIORITY") != "1" {
		os.Exit(reexec())
	}
	paths, tmp := files(*dir)
	if tmp != "" {
		defer os.RemoveAll(tmp)
	}
	rs, err := ctrule.Compile(ctrule.LoadBuiltin("rds"))
	if err != nil {
		fail(err)
	}
	defer rs.Close()

	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("%d files, %d rounds, 1 and 2 taking turns; load %s, priority %v\n",
		len(paths), *rounds, strings.Fields(string(load))[0], *priority)
	digest := map[int][]byte{}
	goRun := func(n int) run {
		h := sha256.New()
		r := timed(false, func() {
			err := rs.ScanFiles(context.Background(), paths, n, func(res ctrule.FileResult) error {
				fmt.Fprintf(h, "%s %+v %v %v %v\n", res.Path, res.Stats, res.Warnings, res.Err, len(res.RecordErrors))
				var line []byte
				for _, a := range res.Alerts {
					var err error
					if line, err = a.AppendJSON(line[:0]); err != nil {
						return err
					}
					h.Write(line)
				}
				return nil
			})
			if err != nil {
				fail(err)
			}
		})
		if d := h.Sum(nil); digest[n] == nil {
			digest[n] = d
		} else if !bytes.Equal(d, digest[n]) {
			fail(fmt.Errorf("ScanFiles with %d workers: the results changed from one run to the next", n))
		}
		return r
	}
	compare(goName, *rounds, goRun)
	if !bytes.Equal(digest[1], digest[2]) {
		fail(fmt.Errorf("ScanFiles: the results of 1 and 2 workers differ"))
	}
	if *cli != "" {
		d := filepath.Dir(paths[0])
		compare(fmt.Sprintf("ctrule scan -q -j N (%s)", *cli), *rounds, func(n int) run {
			return timed(true, func() {
				cmd := exec.Command(*cli, "scan", "-q", "-j"+strconv.Itoa(n), d)
				if out, err := cmd.CombinedOutput(); err != nil {
					fail(fmt.Errorf("%s: %v: %s", *cli, err, out))
				}
			})
		})
	}
}

// compare runs 1 and 2 taking turns (one untimed warm-up of each first) and
// prints the best runs.
func compare(name string, rounds int, do func(n int) run) {
	do(1)
	do(2)
	runs := map[int][]run{}
	for range rounds {
		for _, n := range []int{1, 2} {
			runs[n] = append(runs[n], do(n))
		}
	}
	best := func(n int) run {
		return slices.MinFunc(runs[n], func(a, b run) int { return int(a.wall - b.wall) })
	}
	minCPU := func(n int) time.Duration {
		return slices.MinFunc(runs[n], func(a, b run) int { return int(a.cpu - b.cpu) }).cpu
	}
	b1, b2 := best(1), best(2)
	fmt.Printf("%s:\n", name)
	for _, n := range []int{1, 2} {
		var walls []string
		for _, r := range runs[n] {
			walls = append(walls, fmt.Sprintf("%.3f", r.wall.Seconds()))
		}
		b := best(n)
		wait := fmt.Sprintf("%.3f s", b.wait.Seconds())
		if name != goName {
			wait = "-" // the CLI's threads are not ours to read
		}
		fmt.Printf("  N=%d: best wall %.3f s (cpu %.3f s, waiting for a core %s, context switches %d voluntary %d not);"+
			" least cpu %.3f s; walls %s\n", n, b.wall.Seconds(), b.cpu.Seconds(), wait, b.sleeps, b.preempted,
			minCPU(n).Seconds(), strings.Join(walls, " "))
	}
	fmt.Printf("  2 against 1: %.2fx wall (best runs), %.2fx the CPU (least)\n",
		b1.wall.Seconds()/b2.wall.Seconds(), minCPU(2).Seconds()/minCPU(1).Seconds())
}

// timed runs fn and returns its wall time, the CPU time of the process (or
// of the children it waited for) and the time this process's threads waited
// for a core.
func timed(children bool, fn func()) run {
	who := syscall.RUSAGE_SELF
	if children {
		who = syscall.RUSAGE_CHILDREN
	}
	r0, w0, t0 := usage(who), runqWait(), time.Now()
	fn()
	wall, r1 := time.Since(t0), usage(who)
	return run{wall, cpuTime(r1) - cpuTime(r0), runqWait() - w0, r1.Nvcsw - r0.Nvcsw, r1.Nivcsw - r0.Nivcsw}
}

func usage(who int) (ru syscall.Rusage) {
	if err := syscall.Getrusage(who, &ru); err != nil {
		fail(err)
	}
	return ru
}

func cpuTime(ru syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runqWait is the time the process's live threads have spent runnable but
// not running (the second field of schedstat, in ns).
func runqWait() (d time.Duration) {
	tasks, _ := filepath.Glob("/proc/self/task/*/schedstat")
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if f := strings.Fields(string(b)); err == nil && len(f) >= 2 {
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			d += time.Duration(ns)
		}
	}
	return d
}

// files returns the .json.gz files of dir, or writes the 2,000 files to a
// temporary directory (returned to be removed).
func files(dir string) (paths []string, tmp string) {
	if dir != "" {
		paths, err := filepath.Glob(filepath.Join(dir, "*.json.gz"))
		if err != nil || len(paths) == 0 {
			fail(fmt.Errorf("no .json.gz file in %s", dir))
		}
		slices.Sort(paths)
		return paths, ""
	}
	exe, _ := os.Executable()
	src := "../../../../shared/data/cloudtrail/records.ndjson" // from tests/bench/go
	if _, err := os.Stat(src); err != nil {
		src = filepath.Join(filepath.Dir(exe), src)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		fail(fmt.Errorf("the shared records (run from tests/bench/go): %w", err))
	}
	var lines [][]byte
	for _, l := range bytes.SplitAfter(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			lines = append(lines, l)
		}
	}
	dir, err = os.MkdirTemp("", "ctrule-scanfiles-")
	if err != nil {
		fail(err)
	}
	for i := range 2000 {
		var raw, out bytes.Buffer
		for j := range 100 {
			raw.Write(lines[(i*100+j)%len(lines)])
		}
		w := gzip.NewWriter(&out)
		w.Write(raw.Bytes())
		w.Close()
		p := filepath.Join(dir, fmt.Sprintf("%04d.json.gz", i))
		if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
			fail(err)
		}
		paths = append(paths, p)
	}
	return paths, dir
}

// reexec runs this command again in a session of its own at autogroup nice
// -20, and returns its exit status.
func reexec() int {
	args := append([]string{"-c", `echo -20 > /proc/self/autogroup && exec nice -n -20 "$@"`, "sh"}, os.Args...)
	cmd := exec.Command("sh", args...)
	cmd.Env = append(os.Environ(), "CTRULE_BENCH_PRIORITY=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Run(); err != nil {
		if e, ok := err.(*exec.ExitError); ok {
			return e.ExitCode()
		}
		fail(err)
	}
	return 0
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scanfiles:", err)
	os.Exit(1)
}
