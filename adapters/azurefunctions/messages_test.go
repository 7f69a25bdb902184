package azurefunctions_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
)

var enqueued = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

// TestServiceBusProperties: every property of the binding data reaches a
// field of the message or Broker, by its name; one the extension does not
// send today but a host may (TimeToLive, LockedUntilUtc, …) is kept in
// Broker too, times in RFC 3339; the host's .NET objects are left out; a
// message that never expires has no ExpiresAt.
func TestServiceBusProperties(t *testing.T) {
	host, rec := inProcess(t, nil)
	inv := azurefunctionstest.ServiceBusTrigger(azurefunctionstest.ServiceBusMessage{
		MessageID: "m-1", Body: []byte("hello"), DeliveryCount: 1, EnqueuedTime: enqueued, SequenceNumber: 5,
		CorrelationID: "c-1", Subject: "greet", To: "greeters", ReplyTo: "replies", DeadLetterSource: "jobs",
		ReplyToSessionID: "rs-1", PartitionKey: "pk-1", ExpiresAt: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	})
	inv.Metadata["TimeToLive"] = azurefunctionstest.Encode("10675199.02:48:05.4775807")
	inv.Metadata["LockedUntilUtc"] = azurefunctionstest.Encode(azurefunctionstest.DateTime(enqueued.Add(time.Minute)))
	inv.Metadata["ScheduledEnqueueTimeUtc"] = azurefunctionstest.Encode(azurefunctionstest.DateTime(enqueued))
	inv.Metadata["EnqueuedSequenceNumber"] = azurefunctionstest.Encode(0)
	inv.Metadata["State"] = azurefunctionstest.Encode("Active")
	res, err := host.Invoke(t.Context(), "on-bus", inv)
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("%v %+v", err, res)
	}
	got := rec.take("on-bus")
	if len(got) != 1 {
		t.Fatalf("%d events, want 1", len(got))
	}
	m := got[0].event.Message
	if m.CorrelationID != "c-1" || m.Subject != "greet" || m.To != "greeters" || m.ReplyTo != "replies" || !m.ExpiresAt.IsZero() {
		t.Errorf("message %+v", m)
	}
	broker := map[string]string{}
	for k, v := range m.Broker {
		if k != "LockToken" {
			broker[k] = v
		} else if v == "" {
			t.Errorf("LockToken empty")
		}
	}
	want := map[string]string{
		"DeadLetterSource": "jobs", "ReplyToSessionId": "rs-1", "PartitionKey": "pk-1", "TransactionPartitionKey": "pk-1",
		"TimeToLive": "10675199.02:48:05.4775807", "LockedUntilUtc": "2026-11-21T10:31:00Z", "ScheduledEnqueueTimeUtc": "2026-11-21T10:30:00Z",
		"EnqueuedSequenceNumber": "0", "State": "Active",
	}
	if d := cmp.Diff(want, broker); d != "" {
		t.Errorf("Broker (-want +got):\n%s", d)
	}
}

// TestServiceBusBatchFailure: a batch (cardinality many) is one
// invocation; a custom handler cannot settle its messages one by one, so a
// failure fails the invocation and the host abandons every message of it:
// none is acknowledged. An ordered trigger (sessions) stops at the failure.
func TestServiceBusBatchFailure(t *testing.T) {
	host, rec := inProcess(t, nil)
	var ms []azurefunctionstest.ServiceBusMessage
	for i, body := range []string{"ok", "fail:unavailable", "ok"} {
		ms = append(ms, azurefunctionstest.ServiceBusMessage{MessageID: "b-" + string(rune('0'+i)), Body: []byte(body),
			DeliveryCount: 1, EnqueuedTime: enqueued, SequenceNumber: int64(i)})
	}
	for fn, want := range map[string][]string{"on-bus": {"b-0", "b-1"}, "on-bus-unordered": {"b-0", "b-1", "b-2"}} {
		res, err := host.Invoke(t.Context(), fn, azurefunctionstest.ServiceBusBatch(ms...))
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503 so that the host abandons the batch", fn, res.Status)
		}
		var ids []string
		for _, r := range rec.take(fn) {
			ids = append(ids, r.event.ID())
		}
		if !slices.Equal(ids, want) {
			t.Errorf("%s handled %q, want %q", fn, ids, want)
		}
	}
	res, err := host.Invoke(t.Context(), "on-bus-unordered", azurefunctionstest.ServiceBusBatch(ms[0], ms[2]))
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("a batch that succeeds: %v %+v", err, res)
	}
	if got := rec.take("on-bus-unordered"); len(got) != 2 {
		t.Errorf("%d events, want 2", len(got))
	}
}

// TestServiceBusBadBatch: a batch whose binding data does not match its
// bodies is refused whole, with a clear error.
func TestServiceBusBadBatch(t *testing.T) {
	host, rec := inProcess(t, nil)
	inv := azurefunctionstest.ServiceBusBatch(
		azurefunctionstest.ServiceBusMessage{MessageID: "x-1", Body: []byte("ok"), DeliveryCount: 1, EnqueuedTime: enqueued},
		azurefunctionstest.ServiceBusMessage{MessageID: "x-2", Body: []byte("ok"), DeliveryCount: 1, EnqueuedTime: enqueued})
	inv.Metadata["MessageIdArray"] = json.RawMessage(`"[\"x-1\"]"`)
	res, err := host.Invoke(t.Context(), "on-bus", inv)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "MessageIdArray has 1 entries for 2 items") {
		t.Errorf("%d %s, want 400 naming MessageIdArray", res.Status, res.Body)
	}
	if got := rec.take("on-bus"); len(got) != 0 {
		t.Errorf("%d events handled, want none", len(got))
	}
}
