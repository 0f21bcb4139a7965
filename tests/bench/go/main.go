// Command bench scans the benchmark corpus through the Go binding and prints
// records/s and MB/s, as ctrule-bench measures the C library
// (tests/bench/run.sh compares the two).
//
//	go run . CORPUS.ndjson RULES.yaml [REPEATS]
//
// Rules: the built-in RDS rules plus RULES.yaml. The file is read first and
// written to the scanner in 1 MiB slices (as the C bench feeds it); a run
// times the scan only, in CPU time (user + system of the process, getrusage,
// the Go runtime's threads included) as ctrule-bench times the C library:
// wall time on a shared machine would also count the wait for a core. The
// best of REPEATS runs is printed. One untimed
// run comes first, as in ctrule-bench: what is measured is a warm scanner.
// Every match is built into an Alert, as a program using the binding gets
// it; ctrule-bench's callback only counts: ./alertcost takes the difference
// apart in one process.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
	"github.com/libctrule/libctrule/tests/bench/go/internal/cputime"
)

const chunk = 1 << 20

func main() {
	if len(os.Args) != 3 && len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: bench CORPUS.ndjson RULES.yaml [REPEATS]")
		os.Exit(2)
	}
	repeats := 3
	if len(os.Args) == 4 {
		n, err := strconv.Atoi(os.Args[3])
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "bench: REPEATS must be a positive integer")
			os.Exit(2)
		}
		repeats = n
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	rs, err := ctrule.Compile(ctrule.LoadBuiltin("rds"), ctrule.LoadFile(os.Args[2]))
	if err != nil {
		fail(err)
	}
	defer rs.Close()
	var times []time.Duration
	var alerts, records uint64
	for i := 0; i <= repeats; i++ {
		start := cpuTime()
		records, alerts = scan(rs, data)
		if i > 0 {
			times = append(times, cpuTime()-start)
		}
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	t := times[0].Seconds() // the best run: on a shared machine other work only adds time
	fmt.Printf("go-rate rds+20 %.0f records/s %.1f MB/s alerts %d\n", float64(records)/t, float64(len(data))/t/1e6, alerts)
}

// scan feeds data to a new scanner and returns the records and alerts seen.
func scan(rs *ctrule.Ruleset, data []byte) (records, alerts uint64) {
	sc, err := rs.NewScanner(func(ctrule.Alert) error { alerts++; return nil })
	if err != nil {
		fail(err)
	}
	defer sc.Close()
	for at := 0; at < len(data); at += chunk {
		end := min(at+chunk, len(data))
		if _, err := sc.Write(data[at:end]); err != nil {
			fail(err)
		}
	}
	if err := sc.Finish(); err != nil {
		fail(err)
	}
	return sc.Stats().Records, alerts
}

// cpuTime is the user and system time of the process, all its threads.
func cpuTime() time.Duration {
	t, err := cputime.Process()
	if err != nil {
		fail(err)
	}
	return t
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
