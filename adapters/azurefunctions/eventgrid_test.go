package azurefunctions_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/core"
)

// gridApp has the Event Grid targets of the tests: an object function that
// takes every kind Azure delivers under uploads/, one that takes tier
// changes only, and a message function fed by a custom topic.
func gridApp(rec *recorder) *core.App {
	app := core.NewApp("grid")
	app.On("on-lifecycle", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/", Events: []core.Kind{
		core.KindObjectCreated, core.KindObjectDeleted, core.KindObjectTiered, core.KindObjectRestored,
	}}, rec.handler("on-lifecycle"))
	app.On("on-tiering", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Events: []core.Kind{core.KindObjectTiered}}, rec.handler("on-tiering"))
	app.On("on-topic", core.MessageTrigger{Subscription: "ORDERS_SUBSCRIPTION_URL"}, rec.handler("on-topic"))
	app.On("on-timer", core.TimerTrigger{Schedule: "*/5 * * * *"}, rec.handler("on-timer"))
	return app
}

// gridMode is how Event Grid's request reaches the handler: as the host
// proxies (or forwards) an HTTP request, or as a default-mode invocation of
// the function's httpTrigger, what polyfn build writes for an app with
// event functions.
type gridMode string

const (
	gridProxied gridMode = "proxied"
	gridDefault gridMode = "default"
)

type gridHost struct {
	t    *testing.T
	host *azurefunctionstest.Host
	rec  *recorder
}

func newGridHost(t *testing.T) *gridHost {
	t.Helper()
	rec := &recorder{events: map[string][]received{}}
	h, err := azurefunctions.New([]*core.App{gridApp(rec)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &gridHost{t: t, host: azurefunctionstest.Attach(srv.URL, "api"), rec: rec}
}

// gridResponse is the answer Event Grid gets.
type gridResponse struct {
	status int
	header http.Header
	body   []byte
}

// send delivers an Event Grid request to fn's endpoint in mode m: method,
// content type and the aeg-* or WebHook-* headers as Event Grid sends them.
func (g *gridHost) send(m gridMode, fn, method string, header http.Header, body []byte) gridResponse {
	g.t.Helper()
	r, err := http.NewRequestWithContext(g.t.Context(), method,
		"https://media.azurewebsites.net"+azurefunctions.EventGridPath(fn)+"?code=function-key", bytes.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	r.ContentLength = int64(len(body))
	for k, vs := range header {
		r.Header[k] = vs
	}
	if m == gridProxied {
		resp, err := g.host.Proxy(g.t.Context(), r)
		if err != nil {
			g.t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return gridResponse{resp.StatusCode, resp.Header, b.Bytes()}
	}
	inv := azurefunctionstest.HTTPTrigger(r, body)
	// The host's Url is the client's, with the route prefix.
	var req map[string]any
	_ = json.Unmarshal(inv.Data["req"], &req)
	req["Url"] = "https://media.azurewebsites.net/api" + azurefunctions.EventGridPath(fn) + "?code=function-key"
	inv.Data["req"], _ = json.Marshal(req)
	res, err := g.host.Invoke(g.t.Context(), fn, inv)
	if err != nil {
		g.t.Fatal(err)
	}
	if res.Status != http.StatusOK {
		g.t.Fatalf("%s: the invocation failed with %d: %s", fn, res.Status, res.Body)
	}
	out, err := res.HTTPOutput(azurefunctions.BindingResponse)
	if err != nil {
		g.t.Fatal(err)
	}
	return gridResponse{out.StatusCode, out.Header, out.Body}
}

func gridFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "eventgrid", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func notification(contentType string) http.Header {
	return http.Header{
		"Content-Type": {contentType}, "Aeg-Event-Type": {"Notification"}, "Aeg-Subscription-Name": {"ON-LIFECYCLE"},
		"Aeg-Delivery-Count": {"0"}, "Aeg-Metadata-Version": {"1"}, "Aeg-Data-Version": {""},
	}
}

func TestEventGridHandshakes(t *testing.T) {
	for _, m := range []gridMode{gridProxied, gridDefault} {
		t.Run(string(m), func(t *testing.T) {
			g := newGridHost(t)
			t.Run("validation event", func(t *testing.T) {
				res := g.send(m, "on-lifecycle", http.MethodPost, http.Header{
					"Content-Type": {"application/json"}, "Aeg-Event-Type": {"SubscriptionValidation"},
					"Aeg-Subscription-Name": {"ON-LIFECYCLE"}, "Aeg-Delivery-Count": {"0"},
				}, gridFile(t, "validation.json"))
				var got map[string]string
				if res.status != http.StatusOK || json.Unmarshal(res.body, &got) != nil ||
					got["validationResponse"] != "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" || len(got) != 1 {
					t.Errorf("status %d, body %s; want 200 and the validation code", res.status, res.body)
				}
				if len(g.rec.take("on-lifecycle")) != 0 {
					t.Error("the validation event reached the function")
				}
			})
			t.Run("CloudEvents abuse protection", func(t *testing.T) {
				res := g.send(m, "on-topic", http.MethodOptions, http.Header{
					"Webhook-Request-Origin": {"eventgrid.azure.net"}, "Webhook-Request-Rate": {"120"},
				}, nil)
				if res.status != http.StatusOK || res.header.Get("WebHook-Allowed-Origin") != "eventgrid.azure.net" ||
					res.header.Get("WebHook-Allowed-Rate") == "" {
					t.Errorf("status %d, headers %v; want 200 allowing eventgrid.azure.net", res.status, res.header)
				}
			})
			t.Run("OPTIONS without an origin", func(t *testing.T) {
				if res := g.send(m, "on-topic", http.MethodOptions, nil, nil); res.status != http.StatusBadRequest {
					t.Errorf("status %d, want 400", res.status)
				}
			})
			t.Run("validation header without the event", func(t *testing.T) {
				res := g.send(m, "on-lifecycle", http.MethodPost, http.Header{
					"Content-Type": {"application/json"}, "Aeg-Event-Type": {"SubscriptionValidation"},
				}, gridFile(t, "custom-topic.json"))
				if res.status != http.StatusBadRequest {
					t.Errorf("status %d, want 400", res.status)
				}
			})
			t.Run("subscription deleted", func(t *testing.T) {
				body := `[{"id":"d-1","topic":"/subscriptions/s","subject":"","eventType":"Microsoft.EventGrid.SubscriptionDeletedEvent",` +
					`"eventTime":"2026-11-21T10:30:00Z","data":{"eventSubscriptionId":"/subscriptions/s/x"},"dataVersion":"1","metadataVersion":"1"}]`
				res := g.send(m, "on-lifecycle", http.MethodPost, http.Header{
					"Content-Type": {"application/json"}, "Aeg-Event-Type": {"SubscriptionDeletion"},
				}, []byte(body))
				if res.status != http.StatusOK || len(g.rec.take("on-lifecycle")) != 0 {
					t.Errorf("status %d, want 200 and no call", res.status)
				}
			})
		})
	}
}

// wantObject is what a test expects of one object event.
type wantObject struct {
	kind                  core.Kind
	id, key, class, prev  string
	phase                 core.RestorePhase
	restoredFrom, account string
}

func checkObjects(t *testing.T, got []received, want []wantObject) {
	t.Helper()
	if len(got) != len(want) {
		kinds := []string{}
		for _, r := range got {
			kinds = append(kinds, string(r.event.Kind())+" "+r.event.ID())
		}
		t.Fatalf("%d events %v, want %d", len(got), kinds, len(want))
	}
	for i, w := range want {
		e := got[i].event
		o := e.Object
		if e.Kind() != w.kind || e.ID() != w.id || o == nil || o.Key != w.key || o.Bucket != "media" ||
			o.StorageClass != w.class || o.PreviousStorageClass != w.prev || o.Account != "mediaacct" {
			t.Errorf("event %d: %s %s %+v, want %+v", i, e.Kind(), e.ID(), o, w)
			continue
		}
		switch {
		case w.phase == "" && o.Restore != nil:
			t.Errorf("event %d: restore %+v, want none", i, *o.Restore)
		case w.phase != "" && (o.Restore == nil || o.Restore.Phase != w.phase || o.Restore.StorageClass != w.restoredFrom):
			t.Errorf("event %d: restore %+v, want phase %s from %s", i, o.Restore, w.phase, w.restoredFrom)
		}
		if got[i].invocation.Function != "on-lifecycle" && got[i].invocation.Function != "on-tiering" {
			t.Errorf("event %d: invocation %+v", i, got[i].invocation)
		}
	}
}

func TestEventGridBlobEvents(t *testing.T) {
	for _, m := range []gridMode{gridProxied, gridDefault} {
		t.Run(string(m), func(t *testing.T) {
			g := newGridHost(t)
			t.Run("event grid schema batch", func(t *testing.T) {
				res := g.send(m, "on-lifecycle", http.MethodPost, notification("application/json"), gridFile(t, "blob-batch.json"))
				if res.status != http.StatusOK {
					t.Fatalf("status %d: %s", res.status, res.body)
				}
				// BlobRenamed is no object kind: acknowledged unread.
				checkObjects(t, g.rec.take("on-lifecycle"), []wantObject{
					{kind: core.KindObjectCreated, id: "831e1650-001e-001b-66ab-eeb76e069631", key: "uploads/red flower.png"},
					{kind: core.KindObjectTiered, id: "0a0b6c2f-101e-0067-2c3b-c1b2e8000001", key: "uploads/old.png", class: "Archive", prev: "Cool"},
					{kind: core.KindObjectRestored, id: "0a0b6c2f-101e-0067-2c3b-c1b2e8000002", key: "uploads/old.png", phase: core.RestoreStarted, restoredFrom: "Archive"},
					{kind: core.KindObjectRestored, id: "0a0b6c2f-101e-0067-2c3b-c1b2e8000003", key: "uploads/old.png", class: "Hot", prev: "Archive", phase: core.RestoreCompleted, restoredFrom: "Archive"},
					{kind: core.KindObjectDeleted, id: "4c2359fe-001e-00ba-0e04-58fdc5069631", key: "uploads/gone.png"},
				})
			})
			t.Run("a rehydration's end is a tier change to a trigger without restores", func(t *testing.T) {
				res := g.send(m, "on-tiering", http.MethodPost, notification("application/json"), gridFile(t, "blob-batch.json"))
				if res.status != http.StatusOK {
					t.Fatalf("status %d: %s", res.status, res.body)
				}
				checkObjects(t, g.rec.take("on-tiering"), []wantObject{
					{kind: core.KindObjectTiered, id: "0a0b6c2f-101e-0067-2c3b-c1b2e8000001", key: "uploads/old.png", class: "Archive", prev: "Cool"},
					{kind: core.KindObjectTiered, id: "0a0b6c2f-101e-0067-2c3b-c1b2e8000003", key: "uploads/old.png", class: "Hot", prev: "Archive"},
				})
			})
			t.Run("structured cloudevent", func(t *testing.T) {
				res := g.send(m, "on-lifecycle", http.MethodPost, notification("application/cloudevents+json; charset=utf-8"), gridFile(t, "blob-cloudevent.json"))
				if res.status != http.StatusOK {
					t.Fatalf("status %d: %s", res.status, res.body)
				}
				got := g.rec.take("on-lifecycle")
				checkObjects(t, got, []wantObject{{kind: core.KindObjectCreated, id: "831e1650-001e-001b-66ab-eeb76e069631", key: "uploads/red flower.png"}})
				if o := got[0].event.Object; o.Size != 524288 || o.ContentType != "image/png" || o.ETag != "0x8D4BCC2E4835CD0" ||
					got[0].event.NativeType() != "Microsoft.Storage.BlobCreated" ||
					!got[0].event.Time().Equal(time.Date(2026, 11, 21, 10, 30, 0, 958410300, time.UTC)) {
					t.Errorf("object %+v at %v", o, got[0].event.Time())
				}
			})
			t.Run("cloudevents batch", func(t *testing.T) {
				res := g.send(m, "on-lifecycle", http.MethodPost, notification("application/cloudevents-batch+json; charset=utf-8"), gridFile(t, "blob-cloudevents-batch.json"))
				if res.status != http.StatusOK {
					t.Fatalf("status %d: %s", res.status, res.body)
				}
				checkObjects(t, g.rec.take("on-lifecycle"), []wantObject{
					{kind: core.KindObjectTiered, id: "0a0b6c2f-101e-0067-2c3b-c1b2e8000001", key: "uploads/old.png", class: "Cool", prev: "Hot"},
					{kind: core.KindObjectDeleted, id: "4c2359fe-001e-00ba-0e04-58fdc5069631", key: "uploads/gone.png"},
				})
			})
			t.Run("keys outside the prefix are acknowledged unread", func(t *testing.T) {
				body := strings.ReplaceAll(string(gridFile(t, "blob-batch.json")), "/blobs/uploads/", "/blobs/other/")
				if res := g.send(m, "on-lifecycle", http.MethodPost, notification("application/json"), []byte(body)); res.status != http.StatusOK {
					t.Fatalf("status %d: %s", res.status, res.body)
				}
				if got := g.rec.take("on-lifecycle"); len(got) != 0 {
					t.Errorf("%d events, want none", len(got))
				}
			})
		})
	}
}

func TestEventGridCustomTopic(t *testing.T) {
	for _, m := range []gridMode{gridProxied, gridDefault} {
		t.Run(string(m), func(t *testing.T) {
			g := newGridHost(t)
			if res := g.send(m, "on-topic", http.MethodPost, notification("application/json"), gridFile(t, "custom-topic.json")); res.status != http.StatusOK {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			if res := g.send(m, "on-topic", http.MethodPost, notification("application/cloudevents+json"), gridFile(t, "custom-topic-cloudevent.json")); res.status != http.StatusOK {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			got := g.rec.take("on-topic")
			if len(got) != 2 {
				t.Fatalf("%d events, want 2", len(got))
			}
			topic := "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/orders-rg/providers/Microsoft.EventGrid/topics/orders"
			e, msg := got[0].event, got[0].event.Message
			if e.Kind() != core.KindMessage || e.ID() != "b3ccc7e3-c1cb-49bf-b7c8-0d4e60980616" || e.Source() != topic ||
				e.NativeType() != "Contoso.Orders.OrderPlaced" || e.Subject() != "orders/o-1" || msg == nil ||
				msg.ID != e.ID() || string(msg.Body) != `{"id": "o-1", "total": 42.5}` || msg.Subject != "orders/o-1" ||
				msg.ContentType != "application/json" || msg.Subscription != "ON-LIFECYCLE" ||
				!msg.PublishTime.Equal(time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)) ||
				msg.Broker["dataVersion"] != "1.0" || msg.Broker["metadataVersion"] != "1" || msg.Broker["aeg-delivery-count"] != "0" {
				t.Errorf("event grid schema: %s %s %s %+v", e.Kind(), e.ID(), e.Source(), msg)
			}
			e, msg = got[1].event, got[1].event.Message
			if e.ID() != "9aeb0fdf-c01e-0131-0922-9eb54906e209" || e.Source() != topic || string(msg.Body) != "hello, orders" ||
				msg.ContentType != "text/plain" || msg.Subject != "orders/o-2" || msg.Attributes["tenant"] != "t-7" ||
				msg.Attributes["priority"] != "3" || len(msg.Attributes) != 2 {
				t.Errorf("cloudevent: %s %s %+v", e.ID(), e.Source(), msg)
			}
		})
	}
}

// TestEventGridStatuses checks what Event Grid is told: 400, 413 and the
// other statuses it does not retry for what will never succeed, a retried
// status when any event of the batch may succeed later, and never a panic.
func TestEventGridStatuses(t *testing.T) {
	blob := func(key string) string {
		return `{"specversion":"1.0","source":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/mediaacct",` +
			`"subject":"/blobServices/default/containers/media/blobs/uploads/` + key + `","type":"Microsoft.Storage.BlobCreated",` +
			`"id":"` + key + `","time":"2026-11-21T10:30:00Z","data":{"url":"https://mediaacct.blob.core.windows.net/media/uploads/` + key + `"}}`
	}
	for _, m := range []gridMode{gridProxied, gridDefault} {
		t.Run(string(m), func(t *testing.T) {
			g := newGridHost(t)
			for _, c := range []struct {
				name        string
				fn, method  string
				contentType string
				body        string
				want        int
				calls       int
			}{
				{name: "malformed JSON", body: `[{"id":`, want: 400},
				{name: "not an event", body: `"hello"`, want: 400},
				{name: "an event without an id", body: `[{"eventType":"Microsoft.Storage.BlobCreated","topic":"/t"}]`, want: 400},
				{name: "an array as one cloudevent", contentType: "application/cloudevents+json", body: "[" + blob("a.png") + "]", want: 400},
				{name: "an object as a cloudevents batch", contentType: "application/cloudevents-batch+json", body: blob("a.png"), want: 400},
				{name: "a custom-topic event to an object function", body: string(gridFile(t, "custom-topic.json")), want: 400},
				{name: "a blob without a name", body: `[{"id":"x","topic":"/t","subject":"/s","eventType":"Microsoft.Storage.BlobCreated","eventTime":"2026-11-21T10:30:00Z","data":{"url":"nope"}}]`, want: 400},
				{name: "validation among other events", body: "[" + strings.Trim(string(gridFile(t, "validation.json")), "[] \n") + "," + blob("a.png") + "]", want: 400},
				{name: "empty batch", body: `[]`, want: 200},
				{name: "a failure is retried", body: "[" + blob("a.png") + "," + blob("fail:unavailable") + "]", want: 503, calls: 2},
				{name: "a permanent failure is dead-lettered", body: "[" + blob("fail:invalid-argument") + "]", want: 400, calls: 1},
				{name: "a retried failure wins over a permanent one", body: "[" + blob("fail:invalid-argument") + "," + blob("fail:unavailable") + "]", want: 503, calls: 2},
				{name: "a panic", body: "[" + blob("panic") + "]", want: 500, calls: 1},
				{name: "another method", method: http.MethodGet, want: 405},
				{name: "a function without an endpoint", fn: "on-timer", body: blob("a.png"), want: 404},
			} {
				t.Run(c.name, func(t *testing.T) {
					fn, method, ct := "on-lifecycle", http.MethodPost, "application/json"
					if c.fn != "" {
						fn = c.fn
					}
					if c.method != "" {
						method = c.method
					}
					if c.contentType != "" {
						ct = c.contentType
					}
					var res gridResponse
					if c.fn == "on-timer" && m == gridDefault {
						t.Skip("the host invokes no function without an httpTrigger")
					}
					res = g.send(m, fn, method, notification(ct), []byte(c.body))
					if res.status != c.want {
						t.Errorf("status %d, want %d: %s", res.status, c.want, res.body)
					}
					if got := len(g.rec.take(fn)); got != c.calls {
						t.Errorf("%d calls, want %d", got, c.calls)
					}
				})
			}
		})
	}
	t.Run("oversized body", func(t *testing.T) {
		g := newGridHost(t)
		big := "[" + strings.Repeat(blob("a.png")+",", (3<<20)/len(blob("a.png"))) + blob("a.png") + "]"
		if res := g.send(gridProxied, "on-lifecycle", http.MethodPost, notification("application/json"), []byte(big)); res.status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", res.status)
		}
		if got := len(g.rec.take("on-lifecycle")); got != 0 {
			t.Errorf("%d calls, want none", got)
		}
	})
}

// FuzzEventGrid sends any body to an object and a message function's
// endpoint: the handler answers, never panics, and says 200 or a status
// Event Grid reads.
func FuzzEventGrid(f *testing.F) {
	for _, name := range []string{"validation.json", "blob-batch.json", "blob-cloudevent.json", "blob-cloudevents-batch.json", "custom-topic.json", "custom-topic-cloudevent.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "eventgrid", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "application/json")
		f.Add(b, "application/cloudevents+json")
	}
	f.Add([]byte(`[{"id":"1","eventType":"x"}]`), "application/cloudevents-batch+json")
	rec := &recorder{events: map[string][]received{}}
	h, err := azurefunctions.New([]*core.App{gridApp(rec)}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		for _, fn := range []string{"on-lifecycle", "on-topic"} {
			r := httptest.NewRequest(http.MethodPost, "/api"+azurefunctions.EventGridPath(fn), bytes.NewReader(body))
			r.Header.Set("Content-Type", contentType)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if s := w.Code; s != 200 && s != 400 && s != 500 {
				t.Errorf("%s: status %d for %q", fn, s, body)
			}
			rec.take(fn)
		}
	})
}

// TestEventGridDecode checks that Decode, which polyfn inspect runs, gives
// what the endpoint delivers: a notification's events, none for a
// handshake, in both modes.
func TestEventGridDecode(t *testing.T) {
	rec := &recorder{events: map[string][]received{}}
	h, err := azurefunctions.New([]*core.App{gridApp(rec)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := "/api" + azurefunctions.EventGridPath("on-lifecycle")
	decode := func(r *http.Request) *core.Delivery {
		t.Helper()
		d, err := h.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		if d.Request != nil || d.Invocation.Function != "on-lifecycle" {
			t.Errorf("delivery %+v, want events of on-lifecycle", d)
		}
		return d
	}
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(gridFile(t, "blob-batch.json")))
	r.Header = notification("application/json")
	if d := decode(r); len(d.Events) != 5 || d.Events[1].Kind() != core.KindObjectTiered {
		t.Errorf("batch: %d events", len(d.Events))
	}
	r = httptest.NewRequest(http.MethodPost, path, bytes.NewReader(gridFile(t, "validation.json")))
	if d := decode(r); len(d.Events) != 0 {
		t.Errorf("validation: %d events, want none", len(d.Events))
	}
	r = httptest.NewRequest(http.MethodOptions, path, nil)
	r.Header.Set("WebHook-Request-Origin", "eventgrid.azure.net")
	if d := decode(r); len(d.Events) != 0 {
		t.Errorf("OPTIONS: %d events, want none", len(d.Events))
	}
	body := gridFile(t, "blob-cloudevent.json")
	client := httptest.NewRequest(http.MethodPost, "https://media.azurewebsites.net"+path, bytes.NewReader(body))
	client.Header.Set("Content-Type", "application/cloudevents+json")
	inv := azurefunctionstest.HTTPTrigger(client, body)
	b, _ := json.Marshal(map[string]any{"Data": inv.Data, "Metadata": inv.Metadata})
	r = httptest.NewRequest(http.MethodPost, "/on-lifecycle", bytes.NewReader(b))
	r.Header.Set("X-Azure-Functions-InvocationId", "3c1e5a2b-8f4d-4e6a-9b7c-1d2e3f4a5b6c")
	if d := decode(r); len(d.Events) != 1 || d.Events[0].Kind() != core.KindObjectCreated || d.Invocation.ID != "3c1e5a2b-8f4d-4e6a-9b7c-1d2e3f4a5b6c" {
		t.Errorf("default mode: %+v", d)
	}
	if got := rec.take("on-lifecycle"); len(got) != 0 {
		t.Errorf("Decode ran the function %d times", len(got))
	}
}
