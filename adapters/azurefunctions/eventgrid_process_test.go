package azurefunctions_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/core"
)

// TestProcessEventGrid runs the real -tags azure triggerapp and plays Event
// Grid against its on-blob-event endpoint, both as the host hands it an
// httpTrigger invocation (default mode, what polyfn build writes for an app
// with event functions) and as it proxies the request: the executable
// answers both validation handshakes, and records the object events of a
// delivery.
func TestProcessEventGrid(t *testing.T) {
	host := azurefunctionstest.Start(t, binary(t, "triggerapp"), nil)
	const fn = "on-blob-event"
	url := "https://media.azurewebsites.net/api" + azurefunctions.EventGridPath(fn) + "?code=function-key"
	request := func(method, contentType, aegType string, body []byte) *http.Request {
		r, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.ContentLength = int64(len(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		if aegType != "" {
			r.Header.Set("Aeg-Event-Type", aegType)
			r.Header.Set("Aeg-Subscription-Name", "ON-BLOB-EVENT")
			r.Header.Set("Aeg-Delivery-Count", "0")
		}
		return r
	}
	// viaHost sends r as a default-mode invocation of fn's httpTrigger and
	// returns the http output and the events the reply's Logs report.
	viaHost := func(r *http.Request, body []byte) (*azurefunctionstest.HTTPResponse, []record) {
		t.Helper()
		res, err := host.Invoke(t.Context(), fn, azurefunctionstest.HTTPTrigger(r, body))
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != http.StatusOK {
			t.Fatalf("status %d: %s\noutput:\n%s", res.Status, res.Body, host.Output())
		}
		out, err := res.HTTPOutput(azurefunctions.BindingResponse)
		if err != nil {
			t.Fatal(err)
		}
		return out, records(t, res)
	}
	// proxied sends r as enableProxyingHttpRequest does.
	proxied := func(r *http.Request) (*http.Response, []byte) {
		t.Helper()
		r.URL.Path = azurefunctions.EventGridPath(fn) // the host's client path, without the prefix
		resp, err := host.Proxy(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	t.Run("event grid schema validation", func(t *testing.T) {
		body := gridFile(t, "validation.json")
		out, rs := viaHost(request(http.MethodPost, "application/json", "SubscriptionValidation", body), body)
		if out.StatusCode != http.StatusOK || !strings.Contains(string(out.Body), `"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"`) || len(rs) != 0 {
			t.Errorf("default mode: %d %s, %d events", out.StatusCode, out.Body, len(rs))
		}
		resp, b := proxied(request(http.MethodPost, "application/json", "SubscriptionValidation", body))
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"`) {
			t.Errorf("proxied: %d %s", resp.StatusCode, b)
		}
	})
	t.Run("cloudevents abuse protection", func(t *testing.T) {
		r := request(http.MethodOptions, "", "", nil)
		r.Header.Set("WebHook-Request-Origin", "eventgrid.azure.net")
		out, _ := viaHost(r, nil)
		if out.StatusCode != http.StatusOK || out.Header.Get("WebHook-Allowed-Origin") != "eventgrid.azure.net" {
			t.Errorf("default mode: %d %v", out.StatusCode, out.Header)
		}
		r = request(http.MethodOptions, "", "", nil)
		r.Header.Set("WebHook-Request-Origin", "eventgrid.azure.net")
		resp, _ := proxied(r)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("WebHook-Allowed-Origin") != "eventgrid.azure.net" {
			t.Errorf("proxied: %d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("a blob event delivered", func(t *testing.T) {
		body := gridFile(t, "blob-cloudevent.json")
		out, rs := viaHost(request(http.MethodPost, "application/cloudevents+json; charset=utf-8", "Notification", body), body)
		if out.StatusCode != http.StatusOK || len(rs) != 1 {
			t.Fatalf("default mode: %d %s, %d events", out.StatusCode, out.Body, len(rs))
		}
		e := rs[0].Event
		if e.Kind() != core.KindObjectCreated || e.ID() != "831e1650-001e-001b-66ab-eeb76e069631" || e.Object.Key != "uploads/red flower.png" ||
			e.Object.Bucket != "media" || e.Object.Account != "mediaacct" || rs[0].Invocation.Function != fn {
			t.Errorf("event %s %s %+v, invocation %+v", e.Kind(), e.ID(), e.Object, rs[0].Invocation)
		}
	})
	t.Run("a batch delivered through the proxy", func(t *testing.T) {
		// The batch's tier change is not among on-blob-event's kinds: only
		// the deletion reaches it.
		body := gridFile(t, "blob-cloudevents-batch.json")
		resp, b := proxied(request(http.MethodPost, "application/cloudevents-batch+json", "Notification", body))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("proxied: %d %s", resp.StatusCode, b)
		}
		// A proxied reply has no Logs: the record reaches stdout, which
		// the test reads as the pipe delivers it.
		wait, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var deleted *record
		for deleted == nil && wait.Err() == nil {
			for _, r := range outputRecords(t, host.Output()) {
				if r.Event.ID() == "4c2359fe-001e-00ba-0e04-58fdc5069631" {
					deleted = &r
				}
				if r.Event.ID() == "0a0b6c2f-101e-0067-2c3b-c1b2e8000001" {
					t.Errorf("the tier change reached the function: %+v", r.Event.Object)
				}
			}
			if deleted == nil {
				time.Sleep(10 * time.Millisecond)
			}
		}
		if deleted == nil || deleted.Event.Kind() != core.KindObjectDeleted || deleted.Event.Object.Key != "uploads/gone.png" ||
			deleted.Invocation.Function != fn {
			t.Errorf("deletion %+v", deleted)
		}
	})
	t.Run("a failed event is retried", func(t *testing.T) {
		body := []byte(strings.ReplaceAll(string(gridFile(t, "blob-cloudevent.json")), "red flower.png", "fail:unavailable"))
		out, rs := viaHost(request(http.MethodPost, "application/cloudevents+json", "Notification", body), body)
		if out.StatusCode != http.StatusServiceUnavailable || len(rs) != 1 {
			t.Errorf("default mode: %d %s, %d events; want 503 after one call", out.StatusCode, out.Body, len(rs))
		}
	})
}

// outputRecords reads the events triggerapp logged to stdout, for
// requests whose reply carries no Logs.
func outputRecords(t *testing.T, out string) []record {
	t.Helper()
	var rs []record
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg    string `json:"msg"`
			Record string `json:"record"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "event" {
			continue
		}
		var r record
		if err := json.Unmarshal([]byte(line.Record), &r); err != nil {
			t.Fatalf("record %q: %v", line.Record, err)
		}
		rs = append(rs, r)
	}
	return rs
}
