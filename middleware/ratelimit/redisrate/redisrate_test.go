package redisrate_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/middleware/ratelimit"
	"github.com/polyfn/polyfn/middleware/ratelimit/redisrate"
)

// TestMain lets the test binary play a function process: with
// POLYFN_REDISRATE_CHILD set it serves one rate-limited route and prints its
// address, as a function instance on a cloud would.
func TestMain(m *testing.M) {
	if store := os.Getenv("POLYFN_REDISRATE_CHILD"); store != "" {
		serveChild(store)
		return
	}
	os.Exit(m.Run())
}

func serveChild(store string) {
	var s ratelimit.Store = ratelimit.NewMemory()
	if store != "memory" {
		r, err := redisrate.Open(store, os.Getenv("POLYFN_RATELIMIT_PREFIX"))
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		s = r
	}
	limit := ratelimit.Limit{Rate: 1.0 / 3600, Burst: 5}
	h := ratelimit.Middleware(s, limit, &ratelimit.Options{Key: func(*http.Request) string { return "shared-caller" }})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	srv := &http.Server{Handler: h}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("listening", ln.Addr().String())
	_ = srv.Serve(ln)
}

// startChild runs this test binary as a function process using store.
func startChild(t *testing.T, store, prefix string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "POLYFN_REDISRATE_CHILD="+store, "POLYFN_RATELIMIT_PREFIX="+prefix)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("child: %q, %v", line, err)
	}
	return "http://" + addr
}

// allowedAcross sends n requests alternately to the processes and counts
// those let through.
func allowedAcross(t *testing.T, urls []string, n int) int {
	t.Helper()
	allowed := 0
	for i := range n {
		resp, err := http.Get(urls[i%len(urls)])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case 204:
			allowed++
		case 429:
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	return allowed
}

// TestTwoProcessesShareARedisLimit proves the Redis store is one limit for
// every instance of a function, and the memory store one per instance.
func TestTwoProcessesShareARedisLimit(t *testing.T) {
	url := emulators.RedisURL(t)
	prefix := fmt.Sprintf("polyfn-test:%d:", time.Now().UnixNano())
	shared := []string{startChild(t, url, prefix), startChild(t, url, prefix)}
	if got := allowedAcross(t, shared, 12); got != 5 {
		t.Errorf("Redis store: %d of 12 requests allowed across two processes, want 5 (one shared burst)", got)
	}
	separate := []string{startChild(t, "memory", ""), startChild(t, "memory", "")}
	if got := allowedAcross(t, separate, 12); got != 10 {
		t.Errorf("memory store: %d of 12 requests allowed across two processes, want 10 (a burst each)", got)
	}
}

func TestRedisRefillsAndExpires(t *testing.T) {
	s, err := redisrate.Open(emulators.RedisURL(t), fmt.Sprintf("polyfn-test:%d:", time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := ratelimit.Limit{Rate: 20, Burst: 2} // a token every 50ms
	ctx := context.Background()
	for i, want := range []bool{true, true, false} {
		d, err := s.Take(ctx, "k", l)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != want {
			t.Fatalf("take %d: %+v, want allowed=%v", i, d, want)
		}
		if !want && (d.RetryAfter <= 0 || d.RetryAfter > 50*time.Millisecond) {
			t.Errorf("retry after %v, want within 50ms", d.RetryAfter)
		}
	}
	time.Sleep(60 * time.Millisecond)
	if d, _ := s.Take(ctx, "k", l); !d.Allowed {
		t.Errorf("after a refill interval: %+v, want allowed", d)
	}
}
