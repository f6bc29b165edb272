//go:build unix

package nn

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time, for benchmarks on a shared
// machine where wall time measures the neighbours as much as the code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
