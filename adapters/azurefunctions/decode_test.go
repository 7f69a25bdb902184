package azurefunctions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
)

// decodeReceived is what the functions of decodeApp were called with.
type decodeReceived struct {
	mu      sync.Mutex
	inv     *core.Invocation
	request *http.Request
	body    []byte
	events  []core.Event
}

func (rc *decodeReceived) invocation(ctx context.Context) {
	if inv, ok := core.InvocationFrom(ctx); ok {
		c := *inv
		c.ColdStart = false
		rc.inv = &c
	}
}

// decodeApp has a route that takes every request and an event function of
// each trigger kind, named after it.
func decodeApp(rc *decodeReceived) *core.App {
	app := core.NewApp("decode")
	app.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.invocation(r.Context())
		rc.request = r
		rc.body, _ = io.ReadAll(r.Body)
	})
	record := core.HandlerFunc(func(ctx context.Context, e core.Event) error {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.invocation(ctx)
		rc.events = append(rc.events, e)
		return nil
	})
	app.On("blob", core.ObjectTrigger{Bucket: "B"}, record)
	app.On("eventgrid", core.ObjectTrigger{Bucket: "B", Events: []core.Kind{core.KindObjectCreated, core.KindObjectDeleted}}, record)
	app.On("message", core.MessageTrigger{Subscription: "S"}, record)
	app.On("cosmos", core.ChangeTrigger{Source: "C"}, record)
	app.On("timer", core.TimerTrigger{Schedule: "@hourly"}, record)
	app.On("stream", core.StreamTrigger{Stream: "S_STREAM_URL"}, record)
	return app
}

// functionFor is the decodeApp function each testdata invocation is for.
func functionFor(file string) string {
	switch base := filepath.Base(file); {
	case strings.HasPrefix(base, "blob"):
		return "blob"
	case strings.HasPrefix(base, "eventgrid"):
		return "eventgrid"
	case strings.HasPrefix(base, "queue"), strings.HasPrefix(base, "servicebus"):
		return "message"
	case strings.HasPrefix(base, "cosmos"):
		return "cosmos"
	case strings.HasPrefix(base, "timer"):
		return "timer"
	case strings.HasPrefix(base, "eventhubs"):
		return "stream"
	}
	names, _ := azurefunctions.FunctionNames([]core.Route{{Pattern: "/", Path: "/"}}, nil)
	return names[0]
}

// TestDecodeIsServeHTTP: for every invocation of the testdata, and for
// forwarded and proxied requests, Decode returns exactly what ServeHTTP
// hands the app, in the same invocation metadata.
func TestDecodeIsServeHTTP(t *testing.T) {
	type request struct {
		name, method, target string
		header               map[string]string
		body                 []byte
	}
	var requests []request
	files, err := filepath.Glob(filepath.Join("testdata", "invocations", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		requests = append(requests, request{filepath.Base(f), http.MethodPost, "/" + functionFor(f),
			map[string]string{"X-Azure-Functions-InvocationId": "inv-1", "Traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, body})
	}
	requests = append(requests,
		request{"forwarded", http.MethodPost, "/api/users/7?tag=a%2Cb",
			map[string]string{"X-Azure-Functions-InvocationId": "inv-2", "X-Original-Url": "/api/users/7?tag=a&tag=b", "Content-Type": "application/json"},
			[]byte(`{"name":"Ada"}`)},
		request{"proxied", http.MethodGet, "/api/users/7?tag=a&tag=b", map[string]string{"X-Ms-Invocation-Id": "inv-3"}, nil},
	)
	for _, req := range requests {
		t.Run(req.name, func(t *testing.T) {
			var rc decodeReceived
			h, err := azurefunctions.New([]*core.App{decodeApp(&rc)}, &azurefunctions.Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			newRequest := func() *http.Request {
				r := httptest.NewRequest(req.method, req.target, bytes.NewReader(req.body))
				for k, v := range req.header {
					r.Header.Set(k, v)
				}
				return r
			}
			d, err := h.Decode(newRequest())
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, newRequest())
			if w.Code != http.StatusOK {
				t.Fatalf("ServeHTTP answered %d: %s", w.Code, w.Body)
			}
			// Each computes its deadline from its own start, microseconds apart.
			if diff := cmp.Diff(rc.inv, &d.Invocation, cmpopts.EquateApproxTime(time.Second)); diff != "" {
				t.Errorf("invocation (-served +decoded):\n%s", diff)
			}
			if d.Request == nil {
				if diff := cmp.Diff(eventJSON(t, rc.events), eventJSON(t, d.Events)); diff != "" {
					t.Errorf("events (-served +decoded):\n%s", diff)
				}
				return
			}
			body, _ := io.ReadAll(d.Request.Body)
			got, want := d.Request, rc.request
			if got.Method != want.Method || got.URL.String() != want.URL.String() || got.Host != want.Host ||
				got.RemoteAddr != want.RemoteAddr || string(body) != string(rc.body) || !cmp.Equal(got.Header, want.Header) {
				t.Errorf("decoded %s %s %v %q, served %s %s %v %q", got.Method, got.URL, got.Header, body,
					want.Method, want.URL, want.Header, rc.body)
			}
		})
	}
}

func eventJSON(t *testing.T, evs []core.Event) []string {
	t.Helper()
	out := make([]string, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

// TestDecodeErrors: what ServeHTTP refuses, Decode refuses with the code
// the reply's status comes from.
func TestDecodeErrors(t *testing.T) {
	var rc decodeReceived
	h, err := azurefunctions.New([]*core.App{decodeApp(&rc)}, &azurefunctions.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, target, body string
		header                     bool
		want                       core.Code
	}{
		{"malformed invocation", http.MethodPost, "/message", "{", true, core.InvalidArgument},
		{"no binding", http.MethodPost, "/timer", `{"Data":{"a":1,"b":2}}`, true, core.InvalidArgument},
		{"readiness poll", http.MethodGet, "/", "", false, core.InvalidArgument},
		{"outside the route prefix", http.MethodGet, "/users", "", false, core.NotFound},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
		if tt.header {
			r.Header.Set("X-Azure-Functions-InvocationId", "inv")
		}
		if _, err := h.Decode(r); core.CodeOf(err) != tt.want {
			t.Errorf("%s: error %v, want code %v", tt.name, err, tt.want)
		}
	}
}
