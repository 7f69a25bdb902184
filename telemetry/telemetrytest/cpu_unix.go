//go:build unix

package telemetrytest

import (
	"syscall"
	"time"
)

// cpuTime is the process's CPU time so far, user and system, garbage
// collection included; ok is false if the system does not tell.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
