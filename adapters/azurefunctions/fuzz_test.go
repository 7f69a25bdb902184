package azurefunctions

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
)

// fuzzFunctions are the functions FuzzInvocation sends payloads to, one
// per trigger kind and an HTTP route.
var fuzzFunctions = []string{"on-upload", "on-blob-event", "on-queue", "on-change", "on-timer", "any-echo"}

func fuzzHandler(f *testing.F) *Handler {
	app := core.NewApp("fuzz")
	ok := core.HandlerFunc(func(context.Context, core.Event) error { return nil })
	app.On("on-upload", core.ObjectTrigger{Bucket: "B_URL"}, ok)
	app.On("on-blob-event", core.ObjectTrigger{Bucket: "B_URL", Events: []core.Kind{core.KindObjectDeleted}}, ok)
	app.On("on-queue", core.MessageTrigger{Subscription: "S_URL"}, ok)
	app.On("on-change", core.ChangeTrigger{Source: "C"}, ok)
	app.On("on-timer", core.TimerTrigger{Schedule: "@hourly"}, ok)
	app.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(w, r.Body) })
	h, err := New([]*core.App{app}, &Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxRequestBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	return h
}

// FuzzInvocation sends arbitrary default-mode bodies to a function of each
// trigger kind: the handler answers 200 or a 4xx, never a panic or a 5xx
// (the functions themselves always succeed).
func FuzzInvocation(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "invocations", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for i := range fuzzFunctions {
			f.Add(uint8(i), b)
		}
	}
	f.Add(uint8(0), []byte(`{"Data":{"blob":"AA=="},"Metadata":{"Uri":"\"http://h/a/c/k\"","Properties":"{\"Length\":\"3\"}"}}`))
	f.Add(uint8(5), []byte(`{"Data":{"req":{"Url":"/api/echo?a=1","Method":"PUT","Query":"{\"a\":\"1\"}","Headers":{"Host":"x"},"Body":{"a":1}}}}`))
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, fn uint8, body []byte) {
		name := fuzzFunctions[int(fn)%len(fuzzFunctions)]
		req := httptest.NewRequest(http.MethodPost, "/"+name, bytes.NewReader(body))
		req.Header.Set("X-Azure-Functions-InvocationId", "fuzz")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code > 499) {
			t.Errorf("%s: status %d for %q: %s", name, rec.Code, body, rec.Body)
		}
	})
}

// FuzzBlobURL checks that a parsed blob URL names a container and a key.
func FuzzBlobURL(f *testing.F) {
	for _, s := range []string{"https://acct.blob.core.windows.net/media/uploads/a%20b.png",
		"http://127.0.0.1:10000/devstoreaccount1/media/k", "https://x/a", "http://[::1]:1/a/b/c%zz", "https://acct.blob.x/c/%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := parseBlobURL(s)
		if err == nil && (loc.container == "" || loc.key == "" || !strings.HasPrefix(loc.containerURL, "http")) {
			t.Errorf("parseBlobURL(%q) = %+v", s, loc)
		}
	})
}

// FuzzTimeSpan checks that a parsed host.json time span is not negative.
func FuzzTimeSpan(f *testing.F) {
	for _, s := range []string{"00:05:00", "1.02:03:04.5", "-1", "10675199.02:48:05.4775807", "00:00:NaN", "1:2:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseTimeSpan(s); err == nil && d < 0 {
			t.Errorf("ParseTimeSpan(%q) = %v", s, d)
		}
	})
}

// FuzzForwardedRequest sends arbitrary paths, queries and X-Original-URL
// headers as forwarded requests: never a panic or a 5xx.
func FuzzForwardedRequest(f *testing.F) {
	f.Add("/api/echo", "a=1%2C2", "/api/echo?a=1&a=2")
	f.Add("/API/echo", "", "%zz")
	f.Add("/apix", "a", "/apix?b")
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, path, query, original string) {
		u := &url.URL{Path: path, RawQuery: query}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL, req.RequestURI = u, u.RequestURI()
		req.Header.Set("X-Azure-Functions-InvocationId", "fuzz")
		req.Header.Set("X-Original-Url", original)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("%q ? %q (original %q): status %d: %s", path, query, original, rec.Code, rec.Body)
		}
	})
}
