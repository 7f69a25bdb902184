package azurefunctions_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
)

// wantEvent is what one neutral event should be.
type wantEvent struct {
	typ, id, source, subject, native string
	time                             time.Time
	data                             any // *core.Object, *core.Message, *core.Change or *core.Timer
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestPayloadForms sends every payload form in testdata/invocations (from
// captures of a live host and from the documentation, see PROTOCOLS.md)
// through the handler and checks the neutral events the functions receive.
func TestPayloadForms(t *testing.T) {
	const topic = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/polyfnmedia"
	tests := []struct {
		file, function string
		want           []wantEvent
	}{
		{"blob-trigger.json", "on-upload", []wantEvent{{
			typ: core.TypeObjectCreated, source: "https://baldevgroup84df.blob.core.windows.net/media",
			subject: "uploads/hello world+1.txt", native: "blobTrigger", time: at("2022-07-25T10:26:34Z"),
			data: &core.Object{Bucket: "media", Key: "uploads/hello world+1.txt", Size: 16, ContentType: "text/plain",
				ETag: "0x8DA6E28262505DD", Account: "baldevgroup84df", Content: []byte("hello from byte\n"), EventName: "blobTrigger"},
		}}},
		{"blob-trigger-azurite.json", "on-upload", []wantEvent{{
			typ: core.TypeObjectCreated, source: "http://127.0.0.1:10000/devstoreaccount1/media",
			subject: "uploads/café/a.bin", native: "blobTrigger", time: at("2026-11-21T10:30:00Z"),
			data: &core.Object{Bucket: "media", Key: "uploads/café/a.bin", Size: 5, ContentType: "application/octet-stream",
				ETag: "0x8DCF00D1E2A3B4C", Version: "2026-11-21T10:30:00.1234567Z", Account: "devstoreaccount1",
				Content: []byte{0, 1, 2, 3, 0xff}, EventName: "blobTrigger"},
		}}},
		{"eventgrid-created.json", "on-blob-event", []wantEvent{{
			typ: core.TypeObjectCreated, id: "831e1650-001e-001b-66ab-eeb76e069631", source: topic,
			subject: "uploads/red flower+1.png", native: "Microsoft.Storage.BlobCreated", time: at("2017-06-26T18:41:00.9584103Z"),
			data: &core.Object{Bucket: "media", Key: "uploads/red flower+1.png", Size: 524288, ContentType: "image/png",
				ETag: "0x8D4BCC2E4835CD0", Account: "polyfnmedia", EventName: "Microsoft.Storage.BlobCreated"},
		}}},
		{"eventgrid-deleted.json", "on-blob-event", []wantEvent{{
			typ: core.TypeObjectDeleted, id: "831e1650-001e-001b-66ab-eeb76e069632", source: topic,
			subject: "uploads/old.png", native: "Microsoft.Storage.BlobDeleted", time: at("2017-11-07T20:09:22.5674003Z"),
			data: &core.Object{Bucket: "media", Key: "uploads/old.png", ContentType: "image/png", Account: "polyfnmedia",
				EventName: "Microsoft.Storage.BlobDeleted"},
		}}},
		{"eventgrid-cloudevent.json", "on-blob-event", []wantEvent{{
			typ: core.TypeObjectCreated, id: "9aeb0fdf-c01e-0131-0922-9eb54906e209", source: topic,
			subject: "uploads/ce.jpg", native: "Microsoft.Storage.BlobCreated", time: at("2019-11-18T15:13:39.4589254Z"),
			data: &core.Object{Bucket: "media", Key: "uploads/ce.jpg", Size: 30699, ContentType: "image/jpeg",
				ETag: "0x8D76C39E4407333", Account: "polyfnmedia", EventName: "Microsoft.Storage.BlobCreated"},
		}}},
		{"queue-string.json", "on-queue", []wantEvent{{
			typ: core.TypeMessage, id: "a0004923-f050-417a-9742-6d7c7b984134", source: "polyfn://azure/functions/on-queue",
			native: "queueTrigger", time: at("2022-06-13T06:00:06Z"),
			data: &core.Message{ID: "a0004923-f050-417a-9742-6d7c7b984134", Body: []byte("aaaaa"), DeliveryCount: 1,
				PublishTime: at("2022-06-13T06:00:06Z")},
		}}},
		{"queue-json.json", "on-queue", []wantEvent{{
			typ: core.TypeMessage, id: "5a4e9c51-3f2b-4c1e-9a3d-1f2e3d4c5b6a", source: "polyfn://azure/functions/on-queue",
			native: "queueTrigger", time: at("2026-11-21T10:30:00Z"),
			data: &core.Message{ID: "5a4e9c51-3f2b-4c1e-9a3d-1f2e3d4c5b6a", Body: []byte(`{"id":"o-1","total":9007199254740993}`),
				DeliveryCount: 3, PublishTime: at("2026-11-21T10:30:00Z")},
		}}},
		{"queue-docs.json", "on-queue", []wantEvent{{
			typ: core.TypeMessage, id: "800ae4b3-bdd2-4c08-badd-f08e5a34b865", source: "polyfn://azure/functions/on-queue",
			native: "queueTrigger", time: at("2019-10-09T17:58:31Z"),
			data: &core.Message{ID: "800ae4b3-bdd2-4c08-badd-f08e5a34b865", Body: []byte("hello queue"), DeliveryCount: 1,
				PublishTime: at("2019-10-09T17:58:31Z")},
		}}},
		{"servicebus-string.json", "on-bus", []wantEvent{{
			typ: core.TypeMessage, id: "7d3fa5f7f41f4d6e9b3e1b1a8c1d2e3f", source: "polyfn://azure/functions/on-bus",
			native: "serviceBusTrigger", time: at("2026-11-21T10:30:00Z"),
			data: &core.Message{ID: "7d3fa5f7f41f4d6e9b3e1b1a8c1d2e3f", Body: []byte(`{"job":7}`), DeliveryCount: 2,
				PublishTime: at("2026-11-21T10:30:00Z"), OrderingKey: "customer-7", Sequence: "42", ContentType: "application/json",
				Attributes: map[string]string{"tenant": "t-1", "priority": "5", "urgent": "true",
					"Diagnostic-Id": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
				CorrelationID: "c-1", Subject: "jobs", ExpiresAt: at("2026-12-05T10:30:00Z"),
				Broker: map[string]string{"LockToken": "5c0d5ba8-2a4d-4b0f-9f27-2a6f3b0c9a11"}},
		}}},
		{"servicebus-all.json", "on-bus", []wantEvent{{
			typ: core.TypeMessage, id: "job-8", source: "polyfn://azure/functions/on-bus",
			native: "serviceBusTrigger", time: at("2026-11-21T10:30:00Z"),
			data: &core.Message{ID: "job-8", Body: []byte(`{"job":8}`), DeliveryCount: 3, PublishTime: at("2026-11-21T10:30:00Z"),
				OrderingKey: "customer-7", Sequence: "77", ContentType: "application/json",
				Attributes: map[string]string{"tenant": "t-1", "attempt": "2",
					"Diagnostic-Id": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
				CorrelationID: "req-41", Subject: "resize", ReplyTo: "job-replies", To: "workers", ExpiresAt: at("2026-11-21T11:30:00Z"),
				Broker: map[string]string{"LockToken": "5c0d5ba8-2a4d-4b0f-9f27-2a6f3b0c9a13", "DeadLetterSource": "jobs",
					"ReplyToSessionId": "customer-7-replies", "PartitionKey": "customer-7", "TransactionPartitionKey": "customer-7"}},
		}}},
		{"servicebus-batch.json", "on-bus", []wantEvent{{
			typ: core.TypeMessage, id: "job-9", source: "polyfn://azure/functions/on-bus",
			native: "serviceBusTrigger", time: at("2026-11-21T10:30:00.25Z"),
			data: &core.Message{ID: "job-9", Body: []byte(`{"job":9}`), DeliveryCount: 1, PublishTime: at("2026-11-21T10:30:00.25Z"),
				Sequence: "78", ContentType: "application/json",
				Attributes:    map[string]string{"tenant": "t-1", "Diagnostic-Id": "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"},
				CorrelationID: "req-42", Subject: "resize", ExpiresAt: at("2026-11-21T11:30:00.25Z"),
				Broker: map[string]string{"LockToken": "1b7a0a1e-0000-4000-8000-000000000001"}},
		}, {
			typ: core.TypeMessage, id: "raw-1", source: "polyfn://azure/functions/on-bus",
			native: "serviceBusTrigger", time: at("2026-11-21T10:30:01.5Z"),
			data: &core.Message{ID: "raw-1", Body: []byte{0, 1, 0xff}, DeliveryCount: 4, PublishTime: at("2026-11-21T10:30:01.5Z"),
				Sequence: "79", Attributes: map[string]string{"tenant": "t-2", "big": "9007199254740993"}, ReplyTo: "raw-replies",
				Broker: map[string]string{"LockToken": "1b7a0a1e-0000-4000-8000-000000000002"}},
		}}},
		{"eventhubs-batch.json", "on-stream", []wantEvent{{
			typ: core.TypeRecord, id: "click-1", source: "sb://polyfn.servicebus.windows.net/clicks",
			native: "eventHubTrigger", time: at("2026-11-21T10:30:00.123Z"),
			data: &core.Record{Stream: "clicks", Partition: "3", Key: "user-7", Sequence: "1041", Offset: "4294967296",
				ArrivalTime: at("2026-11-21T10:30:00.123Z"), Data: []byte(`{"page":"/home"}`),
				Headers: map[string]string{"kind": "click", "Diagnostic-Id": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
		}, {
			typ: core.TypeRecord, id: "3/1042", source: "sb://polyfn.servicebus.windows.net/clicks",
			native: "eventHubTrigger", time: at("2026-11-21T10:30:00.456Z"),
			data: &core.Record{Stream: "clicks", Partition: "3", Sequence: "1042", Offset: "4294967424",
				ArrivalTime: at("2026-11-21T10:30:00.456Z"), Data: []byte(`{"page":"/cart"}`),
				Headers: map[string]string{"kind": "click", "n": "2"}},
		}}},
		{"servicebus-binary.json", "on-bus", []wantEvent{{
			typ: core.TypeMessage, id: "bin-1", source: "polyfn://azure/functions/on-bus",
			native: "serviceBusTrigger", time: at("2026-11-21T10:30:00Z"),
			data: &core.Message{ID: "bin-1", Body: []byte{0, 0xff, 1, 2}, DeliveryCount: 1, PublishTime: at("2026-11-21T10:30:00Z"),
				Sequence: "43", Attributes: map[string]string{"kind": "raw"},
				Broker: map[string]string{"LockToken": "5c0d5ba8-2a4d-4b0f-9f27-2a6f3b0c9a12"}},
		}}},
		{"cosmos.json", "on-change", []wantEvent{{
			typ: core.TypeChange, id: "ehee@9", source: "dbs/zlIsAA==/colls/zlIsAKxe8VA=", subject: "ehee",
			native: "cosmosDBTrigger", time: at("2022-06-29T12:30:02Z"),
			data: &core.Change{Source: "dbs/zlIsAA==/colls/zlIsAKxe8VA=", Op: core.OpWrite, ID: "ehee", Sequence: "9",
				Key: json.RawMessage(`{"id":"ehee"}`),
				New: json.RawMessage(`{"id":"ehee","_rid":"zlIsAKxe8VCHhB4AAAAAAA==","_self":"dbs/zlIsAA==/colls/zlIsAKxe8VA=/docs/zlIsAKxe8VCHhB4AAAAAAA==/","_ts":1656505802,"_etag":"\"1f0507d0-0000-0700-0000-62bc45ca0000\"","_lsn":9}`)},
		}}},
		{"cosmos-many.json", "on-change", []wantEvent{{
			typ: core.TypeChange, id: "u1@11", source: "dbs/d==/colls/c=", subject: "u1", native: "cosmosDBTrigger",
			time: time.Unix(1763721000, 0).UTC(),
			data: &core.Change{Source: "dbs/d==/colls/c=", Op: core.OpWrite, ID: "u1", Sequence: "11", Key: json.RawMessage(`{"id":"u1"}`),
				New: json.RawMessage(`{"id":"u1","visits":9007199254740993,"_rid":"a==","_self":"dbs/d==/colls/c=/docs/a==/","_etag":"\"00000000-0000-0000-0000-000000000001\"","_attachments":"attachments/","_ts":1763721000,"_lsn":11}`)},
		}, {
			typ: core.TypeChange, id: "u2@12", source: "dbs/d==/colls/c=", subject: "u2", native: "cosmosDBTrigger",
			time: time.Unix(1763721001, 0).UTC(),
			data: &core.Change{Source: "dbs/d==/colls/c=", Op: core.OpWrite, ID: "u2", Sequence: "12", Key: json.RawMessage(`{"id":"u2"}`),
				New: json.RawMessage(`{"id":"u2","name":"Ada","_rid":"b==","_self":"dbs/d==/colls/c=/docs/b==/","_etag":"\"00000000-0000-0000-0000-000000000002\"","_ts":1763721001,"_lsn":12}`)},
		}}},
		{"timer-null.json", "on-timer", []wantEvent{{
			typ: core.TypeTimer, id: "on-timer@2022-07-05T11:40:07.4850616Z", source: "polyfn://azure/functions/on-timer",
			native: "timerTrigger", time: at("2022-07-05T11:40:07.4850616Z"),
			data: &core.Timer{Name: "on-timer", ScheduledTime: at("2022-07-05T11:40:07.4850616Z"), Attempt: 1},
		}}},
		{"timer-status.json", "on-timer", []wantEvent{{
			typ: core.TypeTimer, id: "on-timer@2026-11-21T10:30:00Z", source: "polyfn://azure/functions/on-timer",
			native: "timerTrigger", time: at("2026-11-21T10:31:12Z"),
			data: &core.Timer{Name: "on-timer", ScheduledTime: at("2026-11-21T10:30:00Z"), PastDue: true, Attempt: 2},
		}}},
	}
	host, rec := inProcess(t, nil)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "invocations", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := host.Send(t.Context(), tt.function, body, "")
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", res.Status, res.Body)
			}
			got := rec.take(tt.function)
			if len(got) != len(tt.want) {
				t.Fatalf("%d events, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				checkEvent(t, got[i].event, w)
				if got[i].invocation.ID != res.InvocationID || got[i].invocation.Function != tt.function ||
					got[i].invocation.Cloud != core.CloudAzure {
					t.Errorf("invocation %+v, want id %s, function %s, cloud azure", got[i].invocation, res.InvocationID, tt.function)
				}
			}
			if n := strings.Count(strings.Join(res.Logs, "\n"), `"msg":"event received"`); n != len(tt.want) {
				t.Errorf("Logs have %d lines of the function, want %d: %q", n, len(tt.want), res.Logs)
			}
			// Redelivery gives the same ids, so that functions can deduplicate.
			if again, err := host.Send(t.Context(), tt.function, body, ""); err != nil || again.Status != http.StatusOK {
				t.Fatalf("second delivery: %v", err)
			}
			for i, r := range rec.take(tt.function) {
				if r.event.ID() != got[i].event.ID() {
					t.Errorf("redelivered event %d has id %q, first %q", i, r.event.ID(), got[i].event.ID())
				}
			}
		})
	}
}

func checkEvent(t *testing.T, e core.Event, w wantEvent) {
	t.Helper()
	if err := e.Validate(); err != nil {
		t.Errorf("invalid event: %v", err)
	}
	if w.id == "" { // derived from content: any stable non-empty id
		w.id = e.ID()
	}
	got := wantEvent{typ: e.Type(), id: e.ID(), source: e.Source(), subject: e.Subject(), native: e.NativeType(), time: e.Time()}
	want := w
	want.data, got.data = nil, nil
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(wantEvent{})); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
	var data any
	switch {
	case e.Object != nil:
		data = e.Object
	case e.Message != nil:
		data = e.Message
	case e.Change != nil:
		data = e.Change
	case e.Timer != nil:
		data = e.Timer
	case e.Record != nil:
		data = e.Record
	}
	if diff := cmp.Diff(w.data, data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

// TestEventFilters acknowledges, without a call, what a trigger does not
// ask for: keys outside its prefix, Event Grid events of other types.
func TestEventFilters(t *testing.T) {
	host, rec := inProcess(t, nil)
	body, err := os.ReadFile(filepath.Join("testdata", "invocations", "blob-trigger.json"))
	if err != nil {
		t.Fatal(err)
	}
	outside := strings.Replace(string(body), `media\/uploads\/`, `media\/other\/`, 1)
	other := `{"Data":{"event":{"id":"1","topic":"/t","subject":"/s","eventType":"Microsoft.Storage.BlobTierChanged","eventTime":"2026-01-01T00:00:00Z","data":{}}},"Metadata":{}}`
	for fn, body := range map[string]string{"on-upload": outside, "on-blob-event": other} {
		res, err := host.Send(t.Context(), fn, []byte(body), "")
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("%s: %v %+v", fn, err, res)
		}
		if got := rec.take(fn); len(got) != 0 {
			t.Errorf("%s received %d events, want none", fn, len(got))
		}
	}
}

// TestFailureStatusForEveryCode proves the table is complete and that every
// failure is a non-2xx reply, so the host retries the event.
func TestFailureStatusForEveryCode(t *testing.T) {
	host, _ := inProcess(t, nil)
	for _, code := range core.Codes() {
		t.Run(code.String(), func(t *testing.T) {
			status := azurefunctions.FailureStatus(code)
			if status < 400 || status > 599 {
				t.Fatalf("FailureStatus(%s) = %d, want 4xx or 5xx", code, status)
			}
			if want := core.HTTPStatus(code); code != core.Canceled && status != want {
				t.Errorf("FailureStatus(%s) = %d, want %d as for HTTP functions", code, status, want)
			}
			res, err := host.Invoke(t.Context(), "on-queue", queueMessage("fail:"+code.String()))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != status {
				t.Errorf("reply %d, want %d: %s", res.Status, status, res.Body)
			}
			var p core.Problem
			if err := json.Unmarshal(res.Body, &p); err != nil || p.Type != core.ProblemTypePrefix+code.String() {
				t.Errorf("problem %s (%v), want type %s", res.Body, err, core.ProblemTypePrefix+code.String())
			}
		})
	}
	if got := azurefunctions.FailureStatus(core.Code(99)); got != http.StatusInternalServerError {
		t.Errorf("FailureStatus(unknown) = %d, want 500", got)
	}
}
