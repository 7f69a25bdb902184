package emulators

import (
	"syscall"
	"time"
)

// ChildCPU returns the CPU time (user and system) used so far by this
// process's children that have exited and been waited for. The difference
// across one child's life is that child's CPU time: cold-start benchmarks
// report it beside wall time, since it hardly moves when other work shares
// the machine. ok is false where the platform does not report it.
func ChildCPU() (d time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
