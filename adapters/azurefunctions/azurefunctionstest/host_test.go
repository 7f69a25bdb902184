package azurefunctionstest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fatalRecorder stands for a test that Start fails: it records the failure
// and the clean-ups instead of ending the real test.
type fatalRecorder struct {
	testing.TB
	fatal    string
	errors   []string
	cleanups []func()
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *fatalRecorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *fatalRecorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// TestStartReportsAnEarlyExit checks that a handler that exits before it is
// ready fails the test with that cause, and that the clean-up then returns
// instead of waiting for an exit it already saw.
func TestStartReportsAnEarlyExit(t *testing.T) {
	r := &fatalRecorder{TB: t}
	started := make(chan struct{})
	go func() {
		defer close(started)
		Start(r, "/bin/false", &Options{Dir: t.TempDir()})
	}()
	<-started
	if !strings.Contains(r.fatal, "the process exited: exit status 1") {
		t.Errorf("Start failed with %q, want the process's exit", r.fatal)
	}
	cleaned := make(chan struct{})
	go func() {
		defer close(cleaned)
		for i := len(r.cleanups) - 1; i >= 0; i-- {
			r.cleanups[i]()
		}
	}()
	select {
	case <-cleaned:
	case <-time.After(15 * time.Second):
		t.Fatal("the clean-up still waits for the process 15s after it exited")
	}
	if len(r.errors) != 0 {
		t.Errorf("the clean-up reported %q", r.errors)
	}
}
