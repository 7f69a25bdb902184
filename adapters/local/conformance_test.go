package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
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
	adaptertest.RunConformanceTests(t, func(t *testing.T) adaptertest.Harness { return localHarness{stream: newKafkaStream(t)} })
}

type localHarness struct{ stream *kafkaStream }

func (localHarness) Name() string { return "local" }

func (localHarness) Describe() string {
	return "`local.New` and `Runtime.Start`: HTTP through the runtime's own `net/http` server; events posted as CloudEvents JSON to its dev " +
		"endpoint `POST /_polyfn/events/{function}`, which invokes the function once. Whether a failed event is then " +
		"redelivered follows the runtime's table (`deliver.go`), applied to the code the endpoint answers with. Stream records " +
		"go through a real Kafka: written to a topic of kfake (a Kafka protocol implementation in process) that the runtime's " +
		"kafka:// driver (`adapters/local/localkafka`, franz-go) reads as a consumer group; the records to be delivered again " +
		"are those at or past their partition's committed offset once each partition is committed to its end or stopped at a failed record."
}

func (localHarness) Can(c adaptertest.Capability) (bool, string) {
	switch c {
	case adaptertest.Deadline:
		return true, "the app's declared timeout from the request's start, as on a cloud whose deployment the same declaration configures"
	case adaptertest.EventDeadline:
		return true, "the function's declared timeout from the delivery's start; a handler that returns after it has failed with DeadlineExceeded"
	case adaptertest.PartialBatchFailure, adaptertest.PartialChangeBatchFailure:
		return true, "the local runtime delivers events one at a time"
	case adaptertest.OrderedChangeBatches:
		return false, "not applicable: changes are delivered one at a time"
	case adaptertest.AcknowledgePermanentFailures:
		return true, "a client-error failure is dead-lettered at once (kept under .polyfn/dead-letters); other failures are retried with backoff up to the trigger's delivery limit"
	case adaptertest.Streams:
		return true, "a stream trigger on kafka://HOST:PORT/TOPIC is read by the kafka:// driver (adapters/local/localkafka, franz-go) as a member of the trigger's consumer group; other streams run on their clouds"
	case adaptertest.EventKind(core.KindRecord):
		return true, "each partition in offset order, one record per invocation, its offset committed once handled; a failed record stops its partition uncommitted and is delivered again after the retry backoff"
	case adaptertest.EventField(core.KindRecord, adaptertest.FieldSource):
		return false, "a record's source is its stream's URL, kafka://BROKERS/TOPIC (as Lambda names a self-managed cluster's), and its data the topic"
	case adaptertest.EventKind(core.KindObjectTiered), adaptertest.EventKind(core.KindObjectRestored),
		adaptertest.EventKind(core.KindObjectUpdated), adaptertest.EventKind(core.KindObjectReplication):
		return false, "local buckets are directories of files: no storage class, archive restore, metadata change or replication happens to one, so the runtime has no such event to deliver"
	case adaptertest.StreamingResponses:
		return true, "the runtime serves the app with net/http: a flush (http.Flusher or http.ResponseController) sends " +
			"what the handler wrote, chunked"
	}
	return true, ""
}

// Source names the sources as the local runtime does: bucket and
// subscription URLs, the timer's polyfn:// name.
func (localHarness) Source(fn string) string {
	return map[string]string{
		"objects":  "file:///srv/polyfn/buckets/conformance-bucket",
		"messages": "mem://conformance-topic",
		"changes":  "conformance-table",
		"timer":    "polyfn://local/timers/timer",
		"stream":   streamTopic,
	}[fn]
}

// Start starts app on the runtime. Its retry backoff is the runtime's cap,
// 30 s, so that a stream partition stopped at a failed record is not
// retried during the stream cases (kafkaStream.deliver).
func (h localHarness) Start(t *testing.T, app *core.App, env map[string]string) adaptertest.Client {
	h.stream.prepare(t, core.UnitName(app.Name(), "stream"))
	env = maps.Clone(env)
	if env == nil {
		env = map[string]string{}
	}
	env[adaptertest.StreamTrigger.Stream] = h.stream.url
	rt, err := newStarted(t.Context(), []*core.App{app}, &local.Options{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), RetryBackoff: 30 * time.Second,
		Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Logger: slog.New(h.stream.failed),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rt.Shutdown(ctx)
	})
	return localClient{rt: rt, stream: h.stream}
}

type localClient struct {
	rt     *local.Runtime
	stream *kafkaStream
}

func (c localClient) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	u, _ := url.Parse(c.rt.URL())
	req = req.Clone(ctx)
	req.URL.Scheme, req.URL.Host, req.Host = u.Scheme, u.Host, ""
	req.RequestURI = ""
	return noRedirect.Do(req)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Deliver posts each event to the dev endpoint. A failed event is
// redelivered unless its code is a client error, which the runtime
// dead-letters at once.
func (c localClient) Deliver(ctx context.Context, fn string, events []core.Event) (adaptertest.Outcome, error) {
	if fn == "stream" {
		return c.stream.deliver(ctx, events)
	}
	var out adaptertest.Outcome
	for _, e := range events {
		b, err := e.MarshalJSON()
		if err != nil {
			return out, err
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", c.rt.URL()+"/_polyfn/events/"+fn, bytes.NewReader(b))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return out, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return out, err
		}
		out.Reply = append(out.Reply, body...)
		if resp.StatusCode == http.StatusNoContent {
			continue
		}
		var p core.Problem
		_ = json.Unmarshal(body, &p)
		if !codeNamed(strings.TrimPrefix(p.Type, core.ProblemTypePrefix)).IsClientError() {
			out.Redelivered = append(out.Redelivered, e.ID())
		}
	}
	return out, nil
}

// codeNamed returns the code of a problem type's name; Unknown for none.
func codeNamed(name string) core.Code {
	for _, c := range core.Codes() {
		if c.String() == name {
			return c
		}
	}
	return core.Unknown
}
