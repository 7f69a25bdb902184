package ratelimit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want Limit
		ok   bool
	}{
		{"20/s", Limit{Rate: 20, Burst: 20}, true},
		{"120/m", Limit{Rate: 2, Burst: 120}, true},
		{"3600/h, burst=10", Limit{Rate: 1, Burst: 10}, true},
		{"0/s", Limit{}, false},
		{"20/d", Limit{}, false},
		{"twenty/s", Limit{}, false},
		{"20/s,burst=0", Limit{}, false},
		{"20", Limit{}, false},
	}
	for _, tt := range tests {
		got, err := ParseLimit(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseLimit(%q) = %+v, %v; want %+v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestMemoryBucket(t *testing.T) {
	m := NewMemory()
	now := time.Unix(1000, 0)
	m.now = func() time.Time { return now }
	l := Limit{Rate: 2, Burst: 3} // 2 per second, burst 3
	take := func() Decision {
		d, err := m.Take(context.Background(), "alice", l)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for i := range 3 {
		if d := take(); !d.Allowed || d.Remaining != 2-i {
			t.Fatalf("take %d = %+v, want allowed with %d remaining", i, d, 2-i)
		}
	}
	d := take()
	if d.Allowed || d.RetryAfter != 500*time.Millisecond {
		t.Fatalf("4th take = %+v, want denied, retry after 500ms", d)
	}
	now = now.Add(500 * time.Millisecond) // one token back
	if d := take(); !d.Allowed {
		t.Fatalf("after 500ms: %+v, want allowed", d)
	}
	if d, _ := m.Take(context.Background(), "bob", l); !d.Allowed || d.Remaining != 2 {
		t.Errorf("another caller's bucket = %+v, want its own full bucket", d)
	}
	// Idle full buckets are swept.
	now = now.Add(2 * time.Minute)
	take()
	if n := len(m.buckets); n != 1 {
		t.Errorf("%d buckets after the sweep, want 1 (alice's, just used)", n)
	}
}

func TestMiddleware429(t *testing.T) {
	h := Middleware(NewMemory(), Limit{Rate: 1.0 / 60, Burst: 2}, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(204)
	}))
	var codes []int
	var last *httptest.ResponseRecorder
	for range 3 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "203.0.113.9:4711"
		h.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
		last = rec
	}
	if codes[0] != 204 || codes[1] != 204 || codes[2] != 429 {
		t.Fatalf("statuses %v, want 204 204 429", codes)
	}
	hd := last.Header()
	if hd.Get("Retry-After") != "60" || hd.Get("RateLimit-Limit") != "2" || hd.Get("RateLimit-Remaining") != "0" {
		t.Errorf("headers Retry-After=%q RateLimit-Limit=%q RateLimit-Remaining=%q", hd.Get("Retry-After"), hd.Get("RateLimit-Limit"), hd.Get("RateLimit-Remaining"))
	}
	var p map[string]any
	if err := json.Unmarshal(last.Body.Bytes(), &p); err != nil || p["status"] != float64(429) || hd.Get("Content-Type") != "application/problem+json" {
		t.Errorf("body %s: want a 429 problem", last.Body)
	}
}

type failing struct{}

func (failing) Take(context.Context, string, Limit) (Decision, error) {
	return Decision{}, context.DeadlineExceeded
}

func TestStoreFailure(t *testing.T) {
	for _, closed := range []bool{false, true} {
		rec := httptest.NewRecorder()
		Middleware(failing{}, Limit{Rate: 1, Burst: 1}, &Options{FailClosed: closed})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(204)
		})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		want := 204
		if closed {
			want = 503
		}
		if rec.Code != want {
			t.Errorf("FailClosed=%v: status %d, want %d", closed, rec.Code, want)
		}
	}
}
