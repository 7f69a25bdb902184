package local_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/adaptertest"
	"github.com/polyfn/polyfn/adapters/local"
	"github.com/polyfn/polyfn/core"
)

// TestConformance runs the cross-adapter suite through the local runtime:
// HTTP through its real server, events through its dev endpoint.
func TestConformance(t *testing.T) {
	adaptertest.RunConformanceTests(t, func(t *testing.T) adaptertest.Harness { return localHarness{} })
}

type localHarness struct{}

func (localHarness) Name() string { return "local" }

func (localHarness) Can(c adaptertest.Capability) (bool, string) {
	if c == adaptertest.Deadline {
		return false, "the local runtime sets no invocation deadline"
	}
	return true, ""
}

func (localHarness) Start(t *testing.T, app *core.App, env map[string]string) adaptertest.Client {
	rt, err := local.Start(t.Context(), []*core.App{app}, &local.Options{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rt.Shutdown(ctx)
	})
	return localClient{rt: rt}
}

type localClient struct{ rt *local.Runtime }

func (c localClient) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	u, _ := url.Parse(c.rt.URL())
	req = req.Clone(ctx)
	req.URL.Scheme, req.URL.Host, req.Host = u.Scheme, u.Host, ""
	req.RequestURI = ""
	return noRedirect.Do(req)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Deliver posts each event to the dev endpoint: the local runtime delivers
// events one at a time, so a batch's failures are exactly its failed events.
func (c localClient) Deliver(ctx context.Context, fn string, events []core.Event) (adaptertest.Outcome, error) {
	var out adaptertest.Outcome
	for _, e := range events {
		b, err := e.MarshalJSON()
		if err != nil {
			return out, err
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", c.rt.URL()+"/_polyfn/events/"+fn, strings.NewReader(string(b)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return out, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			out.Failed = append(out.Failed, e.ID())
			out.Retried = true
		}
	}
	return out, nil
}
