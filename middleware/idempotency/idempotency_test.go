package idempotency_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/docstore"
	_ "gocloud.dev/docstore/memdocstore"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/middleware/idempotency"
	"github.com/polyfn/polyfn/middleware/idempotency/docstorestore"
	"github.com/polyfn/polyfn/middleware/idempotency/redisstore"
)

// stores runs f against every store: in-process, and the machine's Redis.
func stores(t *testing.T, f func(t *testing.T, s idempotency.Store)) {
	t.Run("memory", func(t *testing.T) { f(t, idempotency.NewMemory()) })
	t.Run("docstore", func(t *testing.T) {
		coll, err := docstore.OpenCollection(t.Context(), "mem://idempotency/key")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { coll.Close() })
		f(t, docstorestore.New(coll))
	})
	t.Run("redis", func(t *testing.T) {
		s, err := redisstore.Open(emulators.RedisURL(t), fmt.Sprintf("polyfn-test:%s:%d:", t.Name(), time.Now().UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f(t, s)
	})
}

// creator is a handler with a counted side effect.
type creator struct {
	effects atomic.Int32
	delay   time.Duration
	status  int
}

func (c *creator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := c.effects.Add(1)
	time.Sleep(c.delay)
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(c.status)
	fmt.Fprintf(w, `{"created":%d,"echo":%q}`, n, body)
}

func post(h http.Handler, key, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/users", strings.NewReader(body))
	if key != "" {
		req.Header.Set(idempotency.Header, key)
	}
	h.ServeHTTP(rec, req)
	return rec
}

func TestConcurrentRequestsOneEffect(t *testing.T) {
	stores(t, func(t *testing.T, s idempotency.Store) {
		c := &creator{delay: 50 * time.Millisecond, status: 201}
		h := idempotency.HTTP(s, nil)(c)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		bodies := map[string]bool{}
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec := post(h, "key-1", `{"name":"ada"}`)
				mu.Lock()
				defer mu.Unlock()
				codes[rec.Code]++
				if rec.Code == 201 {
					bodies[rec.Body.String()] = true
				}
			}()
		}
		wg.Wait()
		if n := c.effects.Load(); n != 1 {
			t.Fatalf("%d side effects for one key, want exactly 1", n)
		}
		if codes[201]+codes[409] != 50 || codes[201] < 1 {
			t.Errorf("statuses %v, want only 201 (first or replay) and 409 (in progress)", codes)
		}
		if len(bodies) != 1 {
			t.Errorf("201 bodies %v, want the one recorded response", bodies)
		}
		// A retry after completion replays it, marked.
		rec := post(h, "key-1", `{"name":"ada"}`)
		if rec.Code != 201 || rec.Header().Get(idempotency.ReplayedHeader) != "true" || !bodies[rec.Body.String()] || c.effects.Load() != 1 {
			t.Errorf("retry = %d %s (replayed %q), effects %d", rec.Code, rec.Body, rec.Header().Get(idempotency.ReplayedHeader), c.effects.Load())
		}
	})
}

func TestKeyReuseWithAnotherPayload(t *testing.T) {
	stores(t, func(t *testing.T, s idempotency.Store) {
		c := &creator{status: 201}
		h := idempotency.HTTP(s, nil)(c)
		if rec := post(h, "k", `{"name":"ada"}`); rec.Code != 201 {
			t.Fatalf("first = %d", rec.Code)
		}
		rec := post(h, "k", `{"name":"grace"}`)
		if rec.Code != 422 || rec.Header().Get("Content-Type") != "application/problem+json" || c.effects.Load() != 1 {
			t.Errorf("reuse with another payload = %d %s, effects %d; want a 422 problem and no effect", rec.Code, rec.Body, c.effects.Load())
		}
	})
}

func TestFailuresAreNotRecorded(t *testing.T) {
	stores(t, func(t *testing.T, s idempotency.Store) {
		c := &creator{status: 503}
		h := idempotency.HTTP(s, nil)(c)
		post(h, "k", "x")
		c.status = 201
		if rec := post(h, "k", "x"); rec.Code != 201 || c.effects.Load() != 2 {
			t.Errorf("retry after a failure = %d with %d effects, want the handler run again", rec.Code, c.effects.Load())
		}
		// A panic releases the key too.
		boom := idempotency.HTTP(s, nil)(core.Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("x") })))
		post(boom, "p", "x")
		if rec := post(h, "p", "x"); rec.Code != 201 {
			t.Errorf("retry after a panic = %d, want 201", rec.Code)
		}
	})
}

func TestCacheFailuresOption(t *testing.T) {
	c := &creator{status: 400}
	h := idempotency.HTTP(idempotency.NewMemory(), &idempotency.Options{CacheFailures: true})(c)
	post(h, "k", "x")
	if rec := post(h, "k", "x"); rec.Code != 400 || c.effects.Load() != 1 {
		t.Errorf("cached 400 replay = %d, effects %d", rec.Code, c.effects.Load())
	}
}

func TestRecordsExpire(t *testing.T) {
	stores(t, func(t *testing.T, s idempotency.Store) {
		c := &creator{status: 201}
		h := idempotency.HTTP(s, &idempotency.Options{TTL: 100 * time.Millisecond})(c)
		post(h, "k", "x")
		time.Sleep(200 * time.Millisecond)
		post(h, "k", "x")
		if n := c.effects.Load(); n != 2 {
			t.Errorf("%d effects, want 2: the record had expired", n)
		}
	})
}

func TestWithoutKeyOrSafeMethod(t *testing.T) {
	c := &creator{status: 201}
	h := idempotency.HTTP(idempotency.NewMemory(), nil)(c)
	post(h, "", "x")
	post(h, "", "x")
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/users", nil)
	req.Header.Set(idempotency.Header, "k")
	h.ServeHTTP(rec, req)
	if n := c.effects.Load(); n != 3 {
		t.Errorf("%d effects, want 3: no key, or a safe method, passes through", n)
	}
	if rec := post(h, strings.Repeat("k", 300), "x"); rec.Code != 400 {
		t.Errorf("an over-long key = %d, want 400", rec.Code)
	}
}

func orderEvent(t *testing.T, id, body string, delivery int) core.Event {
	e, err := core.NewEvent(core.TypeMessage, id, "//queue/orders", &core.Message{ID: id, Body: []byte(body), DeliveryCount: delivery})
	if err != nil {
		t.Fatal(err)
	}
	e.SetTime(time.Now().Add(time.Duration(delivery) * time.Second))
	return e
}

func TestEvents(t *testing.T) {
	stores(t, func(t *testing.T, s idempotency.Store) {
		var effects atomic.Int32
		fail := atomic.Bool{}
		release, entered := make(chan struct{}), make(chan struct{})
		h := core.Chain(core.HandlerFunc(func(ctx context.Context, e core.Event) error {
			if string(e.Message.Body) == "slow" {
				close(entered)
				<-release
			}
			if fail.Load() {
				return core.Errorf(core.Unavailable, "down")
			}
			effects.Add(1)
			return nil
		}), idempotency.Events(s, nil))
		ctx := t.Context()

		// A redelivery (new delivery count and time) is acknowledged without a second effect.
		if err := h.HandleEvent(ctx, orderEvent(t, "m1", "a", 1)); err != nil {
			t.Fatal(err)
		}
		if err := h.HandleEvent(ctx, orderEvent(t, "m1", "a", 2)); err != nil || effects.Load() != 1 {
			t.Fatalf("redelivery: %v, effects %d; want acknowledged, one effect", err, effects.Load())
		}
		// The same id with another payload is refused, permanently.
		if err := h.HandleEvent(ctx, orderEvent(t, "m1", "b", 1)); core.CodeOf(err) != core.FailedPrecondition {
			t.Errorf("another payload: %v, want FailedPrecondition", err)
		}
		// A failed execution is not recorded: the retry runs.
		fail.Store(true)
		if err := h.HandleEvent(ctx, orderEvent(t, "m2", "a", 1)); core.CodeOf(err) != core.Unavailable {
			t.Fatalf("failing handler: %v", err)
		}
		fail.Store(false)
		if err := h.HandleEvent(ctx, orderEvent(t, "m2", "a", 2)); err != nil || effects.Load() != 2 {
			t.Errorf("retry after a failure: %v, effects %d; want run", err, effects.Load())
		}
		// A duplicate while the first is running gets a retryable Aborted.
		done := make(chan error)
		go func() { done <- h.HandleEvent(ctx, orderEvent(t, "m3", "slow", 1)) }()
		<-entered
		if err := h.HandleEvent(ctx, orderEvent(t, "m3", "slow", 2)); core.CodeOf(err) != core.Aborted {
			t.Errorf("concurrent duplicate: %v, want Aborted", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestEventsKeyFromPayload(t *testing.T) {
	var effects atomic.Int32
	h := core.Chain(core.HandlerFunc(func(context.Context, core.Event) error { effects.Add(1); return nil }),
		idempotency.Events(idempotency.NewMemory(), &idempotency.EventOptions{
			Key: func(e core.Event) (string, error) { return "order:" + string(e.Message.Body), nil },
		}))
	for _, id := range []string{"m1", "m2"} { // two messages, one order
		if err := h.HandleEvent(t.Context(), orderEvent(t, id, "o-1", 1)); err != nil {
			t.Fatalf("message %s: %v, want the duplicate order acknowledged", id, err)
		}
	}
	if effects.Load() != 1 {
		t.Errorf("%d effects for one order key, want 1", effects.Load())
	}
}
