package azurefunctions_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/core"
)

// flakyStream is an app with one stream function that fails each record
// whose data is "flaky" the first time it sees it, and every one whose data
// is "fail"; it records the sequence numbers it is handed.
type flakyStream struct {
	mu   sync.Mutex
	seen []string
	once map[string]bool
}

func (f *flakyStream) handle(ctx context.Context, e core.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := e.Record
	f.seen = append(f.seen, r.Partition+"/"+r.Sequence)
	switch string(r.Data) {
	case "fail":
		return core.Errorf(core.Unavailable, "record %s fails", r.Sequence)
	case "flaky":
		if !f.once[r.Sequence] {
			f.once[r.Sequence] = true
			return core.Errorf(core.Unavailable, "record %s fails once", r.Sequence)
		}
	}
	return nil
}

func (f *flakyStream) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.seen
	f.seen = nil
	return s
}

func startStream(t *testing.T) (*azurefunctionstest.Host, *flakyStream) {
	t.Helper()
	f := &flakyStream{once: map[string]bool{}}
	app := core.NewApp("clicks")
	app.On("on-clicks", core.StreamTrigger{Stream: "CLICKS_STREAM_URL"}, core.HandlerFunc(f.handle))
	h, err := azurefunctions.New([]*core.App{app}, &azurefunctions.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return azurefunctionstest.Attach(srv.URL, ""), f
}

var clicks = azurefunctionstest.EventHubsPartition{Namespace: "polyfn.servicebus.windows.net", EventHub: "clicks", PartitionID: "0"}

func batchOf(partition string, first int64, data ...string) azurefunctionstest.Invocation {
	p := clicks
	p.PartitionID = partition
	var evs []azurefunctionstest.EventHubsEvent
	for i, d := range data {
		evs = append(evs, azurefunctionstest.EventHubsEvent{Body: []byte(d), SequenceNumber: first + int64(i),
			Offset: 4096 * (first + int64(i)), EnqueuedTime: time.Date(2026, 11, 21, 10, 30, i, 0, time.UTC)})
	}
	return azurefunctionstest.EventHubsTrigger(p, evs...)
}

// TestEventHubsBatchStopsAtTheFailure: a partition's batch runs in order
// and stops at its first failure, which fails the invocation (the function's
// retry policy reruns the batch before the host checkpoints); the rerun,
// which the host marks with its RetryContext, hands the function the batch
// from the failed record on.
func TestEventHubsBatchStopsAtTheFailure(t *testing.T) {
	host, f := startStream(t)
	inv := batchOf("0", 10, "ok", "flaky", "ok")
	res, err := host.Invoke(t.Context(), "on-clicks", inv)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", res.Status, res.Body)
	}
	if got := f.take(); !slices.Equal(got, []string{"0/10", "0/11"}) {
		t.Errorf("first attempt handed %q, want 0/10 and 0/11, and not 0/12 after the failure", got)
	}
	var p struct {
		Type  string   `json:"type"`
		Retry []string `json:"retry"`
	}
	if err := json.Unmarshal(res.Body, &p); err != nil || p.Type != core.ProblemTypePrefix+"unavailable" || !slices.Equal(p.Retry, []string{"0/11", "0/12"}) {
		t.Errorf("reply %s (%v), want an unavailable problem naming 0/11 and 0/12 for the retry", res.Body, err)
	}

	res, err = host.Invoke(t.Context(), "on-clicks", azurefunctionstest.WithRetry(inv, 1, -1))
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("retry: %v %+v", err, res)
	}
	if got := f.take(); !slices.Equal(got, []string{"0/11", "0/12"}) {
		t.Errorf("the retry handed %q, want the batch from the failed record: 0/11, 0/12", got)
	}

	// The next batch of the partition, and a new delivery of a batch
	// without a RetryContext (after a restart, from the checkpoint), are
	// handed whole.
	if res, err := host.Invoke(t.Context(), "on-clicks", batchOf("0", 13, "ok", "ok")); err != nil || res.Status != http.StatusOK {
		t.Fatalf("next batch: %v %+v", err, res)
	}
	if got := f.take(); !slices.Equal(got, []string{"0/13", "0/14"}) {
		t.Errorf("next batch handed %q", got)
	}
	fail := batchOf("1", 5, "ok", "fail")
	if res, _ := host.Invoke(t.Context(), "on-clicks", fail); res.Status/100 == 2 {
		t.Fatalf("a failing record answered %d", res.Status)
	}
	f.take()
	if res, _ := host.Invoke(t.Context(), "on-clicks", fail); res.Status/100 == 2 {
		t.Fatalf("a failing record answered %d", res.Status)
	}
	if got := f.take(); !slices.Equal(got, []string{"1/5", "1/6"}) {
		t.Errorf("a delivery without a RetryContext handed %q, want the whole batch", got)
	}
	// After the policy's last attempt the host checkpoints past the batch:
	// no record of it is delivered again.
	res, err = host.Invoke(t.Context(), "on-clicks", azurefunctionstest.WithRetry(fail, 4, 4))
	if err != nil || res.Status/100 == 2 {
		t.Fatalf("last attempt: %v %+v", err, res)
	}
	if err := json.Unmarshal(res.Body, &p); err != nil || p.Retry == nil || len(p.Retry) != 0 {
		t.Errorf("last attempt's reply %s (%v), want an empty retry list", res.Body, err)
	}
	f.take()
	// Another partition's retry state is its own.
	if res, err := host.Invoke(t.Context(), "on-clicks", azurefunctionstest.WithRetry(batchOf("2", 5, "ok", "ok"), 1, -1)); err != nil || res.Status != http.StatusOK {
		t.Fatalf("partition 2: %v %+v", err, res)
	}
	if got := f.take(); !slices.Equal(got, []string{"2/5", "2/6"}) {
		t.Errorf("partition 2 handed %q, want its whole batch", got)
	}
}

// TestEventHubsBadBatches: a batch the adapter cannot read is refused with
// a clear error, never half-run.
func TestEventHubsBadBatches(t *testing.T) {
	host, f := startStream(t)
	good := batchOf("0", 1, "ok", "ok")
	for name, edit := range map[string]func(azurefunctionstest.Invocation){
		"no partition context": func(inv azurefunctionstest.Invocation) { delete(inv.Metadata, "PartitionContext") },
		"short array": func(inv azurefunctionstest.Invocation) {
			inv.Metadata["SequenceNumberArray"] = json.RawMessage(`"[1]"`)
		},
		"sequence not a number": func(inv azurefunctionstest.Invocation) {
			inv.Metadata["SequenceNumberArray"] = json.RawMessage(`"[\"a\",\"b\"]"`)
			delete(inv.Metadata, "SystemPropertiesArray")
		},
		"bodies not an array": func(inv azurefunctionstest.Invocation) { inv.Data["records"] = json.RawMessage(`{"a":1}`) },
	} {
		inv := azurefunctionstest.Invocation{Data: map[string]json.RawMessage{}, Metadata: map[string]json.RawMessage{}}
		for k, v := range good.Data {
			inv.Data[k] = v
		}
		for k, v := range good.Metadata {
			inv.Metadata[k] = v
		}
		edit(inv)
		res, err := host.Invoke(t.Context(), "on-clicks", inv)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "invalid-argument") {
			t.Errorf("%s: %d %s, want 400 invalid-argument", name, res.Status, res.Body)
		}
		if got := f.take(); len(got) != 0 {
			t.Errorf("%s: handed %q", name, got)
		}
	}
}

// TestEventHubsSingle: with "cardinality": "one" the host sends one event,
// its binding data without "Array".
func TestEventHubsSingle(t *testing.T) {
	host, f := startStream(t)
	inv := azurefunctionstest.Invocation{
		Data: map[string]json.RawMessage{"records": azurefunctionstest.Encode([]byte("ok"))},
		Metadata: map[string]json.RawMessage{
			"PartitionContext": json.RawMessage(`{"FullyQualifiedNamespace":"polyfn.servicebus.windows.net","EventHubName":"clicks","ConsumerGroup":"$Default","PartitionId":"4"}`),
			"SequenceNumber":   azurefunctionstest.Encode(7), "Offset": azurefunctionstest.Encode(28672),
			"EnqueuedTimeUtc": azurefunctionstest.Encode(azurefunctionstest.DateTime(time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC))),
			"PartitionKey":    azurefunctionstest.Encode("user-1"),
			"Properties":      json.RawMessage(`{"kind":"click"}`),
		},
	}
	if res, err := host.Invoke(t.Context(), "on-clicks", inv); err != nil || res.Status != http.StatusOK {
		t.Fatalf("%v %+v", err, res)
	}
	if got := f.take(); !slices.Equal(got, []string{"4/7"}) {
		t.Errorf("handed %q, want 4/7", got)
	}
}
