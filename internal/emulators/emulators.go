// Package emulators starts and finds the real peers that polyfn's tests run
// against (../shared/EMULATORS.md): Azurite from node_modules, services on
// the machine. A peer that cannot be had fails the test under CI=true and
// skips it, with what to install, otherwise.
package emulators

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Missing reports a peer the test cannot run without: a failure under
// CI=true, where nothing may be skipped silently; a skip that says what to
// install otherwise.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("required test peer unavailable under CI=true: %s", msg)
	}
	t.Skipf("test peer unavailable: %s", msg)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WaitTCP waits until addr accepts TCP connections, for at most d.
func WaitTCP(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("emulators: %s not reachable after %v: %w", addr, d, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// ModuleRoot returns the directory of polyfn's go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("emulators: go.mod not found above the test's directory")
		}
		dir = parent
	}
}
