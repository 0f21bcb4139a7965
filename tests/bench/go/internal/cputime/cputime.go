// Package cputime is how the Go benchmark drivers time a run: the user and
// system time of the whole process (every thread, the Go runtime's too), as
// ctrule-bench times the C library. Wall time on a shared machine would also
// count the wait for a core.
package cputime

import (
	"syscall"
	"time"
)

// Process returns the CPU time the process has used so far.
func Process() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
