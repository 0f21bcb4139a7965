// Command alertcost takes apart the Go binding's figure against C (issue
// 18) in one process, so that every side reads the same memory (two
// processes differ by up to 8% with their layout alone).
//
//	go run ./alertcost CORPUS.ndjson RULES.yaml [ROUNDS]
//
// It times, in turns: C, the scan of ctrule-bench -1 driven by C in one cgo
// call, its callback counting a borrowed view of each match; C reading the
// output, the same with the output read (the library renders an alert's
// output and fields on the callback's first read of them: the borrowed view
// never pays for it, every binding does); C copying, the
// same with a callback that takes what a Go Alert holds (the match saved
// for its Falco JSON line, the record and every string, copied into a block
// of its own); Go
// counting, Scanner.Write in 1 MiB slices with no callback and the matches
// counted by the library (Stats().Matches), the same work as the first; and
// Go with Alerts, the same with a callback given every Alert as
// tests/bench/go (run.sh's Go figure) does, the same work as C copying.
//
// Rules: the built-in RDS rules plus RULES.yaml, compiled once per side.
// Each round runs every side once untimed and three times timed (CPU time of
// the process); the best run of each side is printed, with its ratio to C
// and what it costs per alert beyond C.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
	"github.com/libctrule/libctrule/tests/bench/go/internal/cputime"
)

const chunk = 1 << 20

type side struct {
	name string
	scan func() (records, alerts uint64)
	best time.Duration
}

func main() {
	if len(os.Args) != 3 && len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: alertcost CORPUS.ndjson RULES.yaml [ROUNDS]")
		os.Exit(2)
	}
	rounds := 4
	if len(os.Args) == 4 {
		n, err := strconv.Atoi(os.Args[3])
		if err != nil || n < 1 {
			fail(fmt.Errorf("ROUNDS must be a positive integer"))
		}
		rounds = n
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
	crs, err := compileC(os.Args[2])
	if err != nil {
		fail(err)
	}
	sides := []*side{
		{name: "C, counting a borrowed view", scan: func() (uint64, uint64) { return crs.scan(data, cCount) }},
		{name: "C, reading the output", scan: func() (uint64, uint64) { return crs.scan(data, cRender) }},
		{name: "C, copying what an Alert holds", scan: func() (uint64, uint64) { return crs.scan(data, cCopy) }},
		{name: "Go, counting (no callback)", scan: func() (uint64, uint64) { return scanGo(rs, data, false) }},
		{name: "Go, every Alert built", scan: func() (uint64, uint64) { return scanGo(rs, data, true) }},
	}
	var records, alerts uint64
	for round := 0; round < rounds; round++ {
		for _, s := range sides {
			wantR, wantA := s.scan() // untimed: a warm scanner is measured
			if round == 0 && s == sides[0] {
				records, alerts = wantR, wantA
			}
			for k := 0; k < 3; k++ {
				start := cpuTime()
				r, a := s.scan()
				t := cpuTime() - start
				if r != records || a != alerts || r != wantR || a != wantA || r == 0 {
					fail(fmt.Errorf("%s: %d records and %d alerts, C saw %d and %d", s.name, r, a, records, alerts))
				}
				if s.best == 0 || t < s.best {
					s.best = t
				}
			}
		}
	}
	fmt.Printf("%d records, %d alerts; best of %d runs each, CPU time, in turns\n", records, alerts, 3*rounds)
	c := sides[0].best
	for _, s := range sides {
		extra := float64(s.best-c) / float64(alerts) / 1e3
		fmt.Printf("  %-30s %8.1f ms %9.0f records/s  %.3fx C  %+.2f us per alert\n", s.name,
			float64(s.best)/1e6, float64(records)/s.best.Seconds(), c.Seconds()/s.best.Seconds(), extra)
	}
}

// scanGo is tests/bench/go's scan: a new scanner, the data in 1 MiB slices;
// with alerts, a callback given every Alert, else the library's count.
func scanGo(rs *ctrule.Ruleset, data []byte, alerts bool) (records, n uint64) {
	var onMatch func(ctrule.Alert) error
	if alerts {
		onMatch = func(ctrule.Alert) error { n++; return nil }
	}
	sc, err := rs.NewScanner(onMatch)
	if err != nil {
		fail(err)
	}
	defer sc.Close()
	for at := 0; at < len(data); at += chunk {
		if _, err := sc.Write(data[at:min(at+chunk, len(data))]); err != nil {
			fail(err)
		}
	}
	if err := sc.Finish(); err != nil {
		fail(err)
	}
	st := sc.Stats()
	if !alerts {
		n = st.Matches
	}
	return st.Records, n
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
	fmt.Fprintln(os.Stderr, "alertcost:", err)
	os.Exit(1)
}
