package secretcache_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/runtimevar"
	_ "gocloud.dev/runtimevar/constantvar"
	"gocloud.dev/runtimevar/driver"

	"github.com/polyfn/polyfn/resources/secretcache"
)

// store is a fake secret store behind a runtimevar driver: it counts the
// driver's reads, and its value or failure can be changed under a running
// variable. Its variables are opened as counting://<name>.
type store struct {
	reads atomic.Int64
	wait  time.Duration

	mu    sync.Mutex
	value any
	err   error
}

func (s *store) set(value any, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.value, s.err = value, err
}

// watcher is the driver: one read of the store per WatchVariable, as a
// polling cloud driver does, returning nil when nothing changed.
type watcher struct{ s *store }

type state struct {
	val any
	err error
}

func (st *state) Value() (any, error)   { return st.val, st.err }
func (st *state) UpdateTime() time.Time { return time.Time{} }
func (st *state) As(any) bool           { return false }

func (w watcher) WatchVariable(_ context.Context, prev driver.State) (driver.State, time.Duration) {
	w.s.reads.Add(1)
	w.s.mu.Lock()
	cur := &state{val: w.s.value, err: w.s.err}
	w.s.mu.Unlock()
	if p, ok := prev.(*state); ok && fmt.Sprint(p.val) == fmt.Sprint(cur.val) && errors.Is(p.err, cur.err) {
		return nil, w.s.wait
	}
	return cur, w.s.wait
}

func (watcher) Close() error                       { return nil }
func (watcher) ErrorAs(error, any) bool            { return false }
func (watcher) ErrorCode(error) gcerrors.ErrorCode { return gcerrors.NotFound }
func (o opener) OpenVariableURL(_ context.Context, u *url.URL) (*runtimevar.Variable, error) {
	stores.mu.Lock()
	defer stores.mu.Unlock()
	s, ok := stores.m[u.Host]
	if !ok {
		return nil, fmt.Errorf("no store %q", u.Host)
	}
	return runtimevar.New(watcher{s}), nil
}

type opener struct{}

var stores = struct {
	mu sync.Mutex
	m  map[string]*store
}{m: map[string]*store{}}

func init() { runtimevar.DefaultURLMux().RegisterVariable("counting", opener{}) }

// newStore returns a store holding value, refreshed every wait, and its URL.
func newStore(t *testing.T, value any, wait time.Duration) (*store, string) {
	t.Helper()
	s := &store{value: value, wait: wait}
	stores.mu.Lock()
	defer stores.mu.Unlock()
	name := fmt.Sprintf("store%d", len(stores.m))
	stores.m[name] = s
	return s, "counting://" + name
}

func open(t *testing.T, urlstr string) *secretcache.Secret {
	t.Helper()
	s, err := secretcache.Open(t.Context(), urlstr)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func reveal(t *testing.T, s *secretcache.Secret) string {
	t.Helper()
	v, err := s.Value()
	if err != nil {
		t.Fatalf("Value: %v", err)
	}
	return v.Reveal()
}

// eventually waits until s's value is want, failing after a second.
func eventually(t *testing.T, s *secretcache.Secret, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for reveal(t, s) != want {
		if time.Now().After(deadline) {
			t.Fatalf("value: got %q after 1s, want %q", reveal(t, s), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestInvocationsDoNotReadTheStore proves that many reads of a Secret cost
// the store one read per refresh interval, not one per read.
func TestInvocationsDoNotReadTheStore(t *testing.T) {
	const ttl = 20 * time.Millisecond
	st, u := newStore(t, "hunter2", ttl)
	start := time.Now()
	s := open(t, u)
	var wg sync.WaitGroup
	var calls atomic.Int64
	for range 8 {
		wg.Go(func() {
			for time.Since(start) < 10*ttl {
				if v, err := s.Value(); err != nil || v.Reveal() != "hunter2" {
					t.Errorf("Value: got %q, %v", v.Reveal(), err)
					return
				}
				calls.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	reads, max := st.reads.Load(), int64(elapsed/ttl)+2
	t.Logf("%d Value calls in %v, %d store reads", calls.Load(), elapsed, reads)
	if reads > max {
		t.Errorf("the store was read %d times in %v, want at most %d (one per %v)", reads, elapsed, max, ttl)
	}
	if calls.Load() < 100*reads {
		t.Errorf("only %d Value calls for %d reads: the test proves nothing", calls.Load(), reads)
	}
}

func TestRefreshesInTheBackground(t *testing.T) {
	st, u := newStore(t, []byte("v1"), 5*time.Millisecond)
	s := open(t, u)
	if got := reveal(t, s); got != "v1" {
		t.Fatalf("value: got %q, want v1", got)
	}
	st.set([]byte("v2"), nil)
	eventually(t, s, "v2")
}

// TestKeepsTheLastValueWhenTheStoreFails proves a function stays available
// while its store is down, and picks up the next value when it is back.
func TestKeepsTheLastValueWhenTheStoreFails(t *testing.T) {
	st, u := newStore(t, "v1", 2*time.Millisecond)
	s := open(t, u)
	st.set(nil, errors.New("store unavailable"))
	before := st.reads.Load()
	for st.reads.Load() < before+3 {
		time.Sleep(time.Millisecond)
	}
	if got := reveal(t, s); got != "v1" {
		t.Errorf("value while the store fails: got %q, want v1", got)
	}
	st.set("v2", nil)
	eventually(t, s, "v2")
}

func TestOpenFails(t *testing.T) {
	failing, missing := newStore(t, nil, time.Hour)
	failing.set(nil, errors.New("secret not found"))
	_, structured := newStore(t, map[string]any{"user": "u"}, time.Hour)
	tests := []struct {
		name, url, want string
	}{
		{"first read fails", missing, "secret not found"},
		{"not a string", structured, "decodes to map[string]interface {}, want a string or bytes"},
		{"unknown scheme", "nosuch://x", `no driver registered for "nosuch"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			s, err := secretcache.Open(ctx, tc.url)
			if err == nil {
				s.Close()
				t.Fatal("Open: got no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	_, u := newStore(t, "v", time.Hour)
	s, err := secretcache.Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Value(); err == nil {
		t.Error("Value after Close: got no error")
	}
}

// TestNeverPrinted renders a Value every way a function might log it.
func TestNeverPrinted(t *testing.T) {
	const secret = "hunter2"
	s := open(t, "constant://?decoder=string&val="+secret)
	v, err := s.Value()
	if err != nil {
		t.Fatal(err)
	}
	if v.Reveal() != secret {
		t.Fatalf("Reveal: got %q, want %q", v.Reveal(), secret)
	}
	type config struct {
		Name string
		Key  secretcache.Value
		key  secretcache.Value // unexported: fmt cannot call its methods
	}
	c := config{Name: "payments", Key: v, key: v}
	renderings := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%p", "%10.3s"} {
		renderings["fmt "+verb] = fmt.Sprintf(verb, v)
		renderings["fmt struct "+verb] = fmt.Sprintf(verb, c)
		renderings["fmt pointer "+verb] = fmt.Sprintf(verb, &c)
	}
	renderings["fmt slice"] = fmt.Sprint([]secretcache.Value{v})
	renderings["fmt error"] = fmt.Errorf("calling the API with key %v: denied", v).Error()
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	renderings["json"] = string(j)
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("call", "key", v, "config", c, "ptr", &c, slog.Group("g", "key", v))
		renderings[name] = buf.String()
	}
	for name, out := range renderings {
		if strings.Contains(out, secret) {
			t.Errorf("%s shows the secret: %s", name, out)
		}
	}
	if got := fmt.Sprint(v); got != "[REDACTED]" {
		t.Errorf("fmt.Sprint: got %q, want [REDACTED]", got)
	}
}

func ExampleOpen() {
	// In OnInit: the URL comes from the function's environment, e.g.
	// API_KEY_URL=awssecretsmanager://payments-api-key?region=eu-west-1&decoder=string
	ctx := context.Background()
	key, err := secretcache.Open(ctx, "constant://?decoder=string&val=hunter2")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer key.Close()

	// Per invocation: memory only.
	v, err := key.Value()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("key:", v)                // what a careless log line shows
	fmt.Println(len(v.Reveal()), "bytes") // what the API client gets
	// Output:
	// key: [REDACTED]
	// 7 bytes
}
