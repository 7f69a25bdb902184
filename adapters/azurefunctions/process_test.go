package azurefunctions_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// These tests run the real handler executables, built with -tags azure,
// as the host runs them: a child process told its port in
// FUNCTIONS_CUSTOMHANDLER_PORT, polled on / until it answers, then sent the
// host's requests over HTTP.

// record is what testdata/triggerapp logs for each event.
type record struct {
	Event      core.Event      `json:"event"`
	Invocation core.Invocation `json:"invocation"`
}

// records reads the events a reply's Logs report.
func records(t *testing.T, res *azurefunctionstest.Result) []record {
	t.Helper()
	var out []record
	for _, l := range res.Logs {
		var line struct {
			Msg    string `json:"msg"`
			Record string `json:"record"`
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if line.Msg != "event" {
			continue
		}
		var r record
		if err := json.Unmarshal([]byte(line.Record), &r); err != nil {
			t.Fatalf("record %q: %v", line.Record, err)
		}
		out = append(out, r)
	}
	return out
}

// invokeOne sends inv to fn and returns the one event the function reports.
func invokeOne(t *testing.T, host *azurefunctionstest.Host, fn string, inv azurefunctionstest.Invocation) record {
	t.Helper()
	res, err := host.Invoke(t.Context(), fn, inv)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("%s: status %d: %s\noutput:\n%s", fn, res.Status, res.Body, host.Output())
	}
	rs := records(t, res)
	if len(rs) != 1 {
		t.Fatalf("%s: %d events in the Logs, want 1: %q", fn, len(rs), res.Logs)
	}
	if rs[0].Invocation.ID != res.InvocationID || rs[0].Invocation.Function != fn {
		t.Errorf("%s: invocation %+v, want id %s", fn, rs[0].Invocation, res.InvocationID)
	}
	return rs[0]
}

func TestProcessTriggers(t *testing.T) {
	host := azurefunctionstest.Start(t, binary(t, "triggerapp"), nil)
	when := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

	t.Run("cold start once", func(t *testing.T) {
		first := invokeOne(t, host, "on-queue", queueMessage("one"))
		second := invokeOne(t, host, "on-queue", queueMessage("two"))
		if !first.Invocation.ColdStart || second.Invocation.ColdStart {
			t.Errorf("cold start %v then %v, want true then false", first.Invocation.ColdStart, second.Invocation.ColdStart)
		}
	})
	t.Run("blob trigger", func(t *testing.T) {
		content := []byte{0x89, 'P', 'N', 'G', 0, 0xff}
		r := invokeOne(t, host, "on-upload", azurefunctionstest.BlobTrigger(azurefunctionstest.Blob{
			URI: "https://acct.blob.core.windows.net/media/uploads/red%20flower%2B1.png", Content: content,
			ContentType: "image/png", ETag: "0x8DA6E28262505DD", LastModified: when, Tokens: map[string]string{"name": "red flower+1.png"},
		}))
		o := r.Event.Object
		if o == nil || o.Bucket != "media" || o.Key != "uploads/red flower+1.png" || !bytes.Equal(o.Content, content) ||
			o.Size != int64(len(content)) || o.Account != "acct" || o.ETag != "0x8DA6E28262505DD" || !r.Event.Time().Equal(when) {
			t.Errorf("object %+v at %v", o, r.Event.Time())
		}
	})
	t.Run("event grid, both schemas", func(t *testing.T) {
		for _, ev := range []string{
			`{"topic":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct","subject":"/blobServices/default/containers/media/blobs/a b.png","eventType":"Microsoft.Storage.BlobDeleted","id":"e-1","eventTime":"2026-11-21T10:30:00Z","data":{"url":"https://acct.blob.core.windows.net/media/a%20b.png"},"dataVersion":"","metadataVersion":"1"}`,
			`{"specversion":"1.0","source":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct","subject":"/blobServices/default/containers/media/blobs/a b.png","type":"Microsoft.Storage.BlobDeleted","id":"e-1","time":"2026-11-21T10:30:00Z","data":{"url":"https://acct.blob.core.windows.net/media/a%20b.png"}}`,
		} {
			r := invokeOne(t, host, "on-blob-event", azurefunctionstest.EventGridTrigger(json.RawMessage(ev)))
			if r.Event.Kind() != core.KindObjectDeleted || r.Event.ID() != "e-1" || r.Event.Object.Key != "a b.png" ||
				r.Event.NativeType() != "Microsoft.Storage.BlobDeleted" || r.Event.Object.Account != "acct" {
				t.Errorf("event %s %s %+v", r.Event.Kind(), r.Event.ID(), r.Event.Object)
			}
		}
	})
	t.Run("queue storage", func(t *testing.T) {
		r := invokeOne(t, host, "on-queue", azurefunctionstest.QueueTrigger(azurefunctionstest.QueueMessage{
			ID: "q-1", Text: `{"id":"o-1"}`, DequeueCount: 4, InsertionTime: when,
		}))
		m := r.Event.Message
		if m.ID != "q-1" || string(m.Body) != `{"id":"o-1"}` || m.DeliveryCount != 4 || !m.PublishTime.Equal(when) ||
			r.Event.NativeType() != "queueTrigger" {
			t.Errorf("message %+v", m)
		}
	})
	t.Run("service bus", func(t *testing.T) {
		for _, binary := range []bool{false, true} {
			body := []byte(`{"job":7}`)
			if binary {
				body = []byte{0, 0xff, 0xfe}
			}
			r := invokeOne(t, host, "on-bus", azurefunctionstest.ServiceBusTrigger(azurefunctionstest.ServiceBusMessage{
				MessageID: "sb-1", Body: body, Binary: binary, DeliveryCount: 2, EnqueuedTime: when, SessionID: "customer-7",
				SequenceNumber: 42, ContentType: "application/json", UserProperties: binary,
				Properties: map[string]any{"tenant": "t-1", "Diagnostic-Id": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
			}))
			m := r.Event.Message
			if m.ID != "sb-1" || !bytes.Equal(m.Body, body) || m.DeliveryCount != 2 || m.OrderingKey != "customer-7" ||
				m.Sequence != "42" || m.Attributes["tenant"] != "t-1" || !m.PublishTime.Equal(when) {
				t.Errorf("binary %v: message %+v", binary, m)
			}
			if r.Invocation.Trace.TraceID != "0af7651916cd43dd8448eb211c80319c" {
				t.Errorf("trace %+v, want the message's Diagnostic-Id", r.Invocation.Trace)
			}
		}
	})
	t.Run("cosmos db", func(t *testing.T) {
		res, err := host.Invoke(t.Context(), "on-change", azurefunctionstest.CosmosDBTrigger(
			json.RawMessage(`{"id":"u1","n":9007199254740993,"_self":"dbs/d/colls/c/docs/x/","_ts":1763721000,"_lsn":5}`),
			json.RawMessage(`{"id":"u2","_ts":1763721001,"_lsn":6}`)))
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("%v %+v", err, res)
		}
		rs := records(t, res)
		if len(rs) != 2 || rs[0].Event.Change.ID != "u1" || rs[1].Event.Change.ID != "u2" ||
			rs[0].Event.Change.Op != core.OpWrite || !bytes.Contains(rs[0].Event.Change.New, []byte("9007199254740993")) {
			t.Errorf("changes %+v", rs)
		}
	})
	t.Run("timer", func(t *testing.T) {
		r := invokeOne(t, host, "on-timer", azurefunctionstest.TimerTrigger(nil, false, 0))
		if r.Event.Timer.Name != "on-timer" || r.Event.Timer.Attempt != 1 || time.Since(r.Event.Timer.ScheduledTime) > time.Minute {
			t.Errorf("timer without a status %+v", r.Event.Timer)
		}
		r = invokeOne(t, host, "on-timer", azurefunctionstest.TimerTrigger(
			&azurefunctionstest.ScheduleStatus{Last: when.Add(-5 * time.Minute), Next: when, LastUpdated: when.Add(-5 * time.Minute)}, true, 2))
		if tm := r.Event.Timer; !tm.ScheduledTime.Equal(when) || !tm.PastDue || tm.Attempt != 3 {
			t.Errorf("timer %+v", tm)
		}
	})
	t.Run("event hubs", func(t *testing.T) {
		p := azurefunctionstest.EventHubsPartition{Namespace: "polyfn.servicebus.windows.net", EventHub: "clicks", PartitionID: "1"}
		ev := func(id string, seq int64, data string) azurefunctionstest.EventHubsEvent {
			return azurefunctionstest.EventHubsEvent{Body: []byte(data), SequenceNumber: seq, Offset: seq * 4096,
				EnqueuedTime: when.Add(time.Duration(seq) * time.Second), PartitionKey: "user-" + id, MessageID: id,
				Properties: map[string]any{"kind": "click"}}
		}
		res, err := host.Invoke(t.Context(), "on-stream", azurefunctionstest.EventHubsTrigger(p, ev("c-1", 1, "ok"), ev("c-2", 2, "ok")))
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("%v %+v", err, res)
		}
		rs := records(t, res)
		if len(rs) != 2 || rs[0].Event.ID() != "c-1" || rs[1].Event.ID() != "c-2" {
			t.Fatalf("records %+v", rs)
		}
		r := rs[1].Event.Record
		if r.Stream != "clicks" || r.Partition != "1" || r.Sequence != "2" || r.Offset != "8192" || r.Key != "user-c-2" ||
			!r.ArrivalTime.Equal(when.Add(2*time.Second)) || r.Headers["kind"] != "click" || rs[1].Event.Source() != "sb://polyfn.servicebus.windows.net/clicks" {
			t.Errorf("record %+v from %s", r, rs[1].Event.Source())
		}

		// A failure stops the batch; the retry policy's rerun (RetryContext)
		// starts at the failed record: c-3 is not handed to the function again.
		batch := azurefunctionstest.EventHubsTrigger(p, ev("c-3", 3, "ok"), ev("c-4", 4, "fail:unavailable"), ev("c-5", 5, "ok"))
		for attempt := range 2 {
			inv := batch
			if attempt > 0 {
				inv = azurefunctionstest.WithRetry(batch, attempt, 4)
			}
			res, err := host.Invoke(t.Context(), "on-stream", inv)
			if err != nil || res.Status != http.StatusServiceUnavailable {
				t.Fatalf("attempt %d: %v %+v", attempt, err, res)
			}
			var reply struct {
				Retry []string `json:"retry"`
			}
			if err := json.Unmarshal(res.Body, &reply); err != nil || strings.Join(reply.Retry, ",") != "c-4,c-5" {
				t.Errorf("attempt %d: reply %s, want the retry from c-4", attempt, res.Body)
			}
		}
		if n := strings.Count(host.Output(), `\"id\":\"c-3\"`); n != 1 {
			t.Errorf("c-3 was handed to the function %d times, want once:\n%s", n, host.Output())
		}
		if n := strings.Count(host.Output(), `\"id\":\"c-5\"`); n != 0 {
			t.Errorf("c-5, after the failure, was handed to the function %d times", n)
		}
	})
	t.Run("every code fails the invocation with its status", func(t *testing.T) {
		for _, code := range core.Codes() {
			res, err := host.Invoke(t.Context(), "on-queue", queueMessage("fail:"+code.String()))
			if err != nil {
				t.Fatal(err)
			}
			if want := azurefunctions.FailureStatus(code); res.Status != want {
				t.Errorf("%s: status %d, want %d", code, res.Status, want)
			}
		}
	})
	t.Run("a panic fails one invocation only", func(t *testing.T) {
		res, err := host.Invoke(t.Context(), "on-upload", azurefunctionstest.BlobTrigger(azurefunctionstest.Blob{
			URI: "https://acct.blob.core.windows.net/media/uploads/panic", Content: []byte("x"), LastModified: when}))
		if err != nil || res.Status != http.StatusInternalServerError {
			t.Fatalf("%v %+v, want 500", err, res)
		}
		invokeOne(t, host, "on-queue", queueMessage("after"))
	})
}

func TestProcessHTTPModes(t *testing.T) {
	host := azurefunctionstest.Start(t, binary(t, "triggerapp"), nil)
	t.Run("default", func(t *testing.T) {
		req := clientRequest(t, "POST", "https://app.azurewebsites.net/api/echo/a?x=1&x=2", []byte(`{"a":1}`),
			http.Header{"Content-Type": {"application/json"}})
		res, err := host.Invoke(t.Context(), echoFunction, azurefunctionstest.HTTPTrigger(req, []byte(`{"a":1}`)))
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("%v %+v", err, res)
		}
		out, err := res.HTTPOutput(azurefunctions.BindingResponse)
		if err != nil {
			t.Fatal(err)
		}
		e := decodeEcho(t, out.Body)
		if e.Method != "POST" || e.Path != "/echo/a" || e.RawQuery != "x=1&x=2" || string(e.Body) != `{"a":1}` ||
			e.Invocation.ID != res.InvocationID || e.Invocation.Function != echoFunction {
			t.Errorf("request %+v", e)
		}
		if !strings.Contains(strings.Join(res.Logs, "\n"), `"msg":"echo"`) {
			t.Errorf("the route's log line is not in the Logs: %q", res.Logs)
		}
	})
	t.Run("default: headers, one Set-Cookie", func(t *testing.T) {
		res, err := host.Invoke(t.Context(), "get-cookies",
			azurefunctionstest.HTTPTrigger(clientRequest(t, "GET", "https://app.azurewebsites.net/api/cookies", nil, nil), nil))
		if err != nil {
			t.Fatal(err)
		}
		out, err := res.HTTPOutput(azurefunctions.BindingResponse)
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != http.StatusAccepted || out.Header.Get("X-Multi") != "x, y" || out.Header.Get("Set-Cookie") != "a=1" {
			t.Errorf("response %d %v", out.StatusCode, out.Header)
		}
	})
	t.Run("default: binary body refused", func(t *testing.T) {
		res, err := host.Invoke(t.Context(), "get-binary",
			azurefunctionstest.HTTPTrigger(clientRequest(t, "GET", "https://app.azurewebsites.net/api/binary", nil, nil), nil))
		if err != nil {
			t.Fatal(err)
		}
		if out, err := res.HTTPOutput(azurefunctions.BindingResponse); err != nil || out.StatusCode != http.StatusInternalServerError {
			t.Errorf("binary response in default mode: %v %+v, want a 500", err, out)
		}
	})
	t.Run("forwarding", func(t *testing.T) {
		req := clientRequest(t, "GET", "http://app.example/echo/f?a=1&a=2", nil,
			http.Header{"X-Original-Url": {"/api/echo/f?a=1&a=2"}})
		resp, err := host.Forward(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if e := decodeEcho(t, b); e.RawQuery != "a=1&a=2" || e.Invocation.ID == "" || e.Host != "app.example" {
			t.Errorf("request %+v", e)
		}
	})
	t.Run("proxying", func(t *testing.T) {
		resp, err := host.Proxy(t.Context(), clientRequest(t, "GET", "http://app.example/binary", nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(b) != 256 || b[0] != 0 || b[255] != 0xff {
			t.Errorf("binary body of %d bytes", len(b))
		}
	})
}

// TestProcessReadsHostJSON proves the executable takes its route prefix
// from the host.json in FUNCTIONS_APP_ROOT_PATH.
func TestProcessReadsHostJSON(t *testing.T) {
	host := azurefunctionstest.Start(t, binary(t, "triggerapp"), &azurefunctionstest.Options{RoutePrefix: "v1"})
	for path, want := range map[string]int{"/v1/binary": http.StatusOK, "/api/binary": http.StatusNotFound} {
		req, _ := http.NewRequest("GET", host.URL+path, nil)
		req.Header.Set("X-Ms-Invocation-Id", "i-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// usersRequest sends a users request in default mode or as proxied, with
// the Authorization header authz unless it is empty, and returns the
// client's view of the response.
func usersRequest(t *testing.T, host *azurefunctionstest.Host, mode, authz, method, path string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	header := http.Header{}
	if body != nil {
		header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		header.Set("Authorization", authz)
	}
	if mode == "proxy" { // the client's request: the simulated host adds the route prefix
		resp, err := host.Proxy(t.Context(), clientRequest(t, method, "https://users.azurewebsites.net"+path, body, header))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	req := clientRequest(t, method, "https://users.azurewebsites.net/api"+path, body, header)
	function := map[string]string{"POST": "post-users", "GET": "get-users-id"}[method]
	res, err := host.Invoke(t.Context(), function, azurefunctionstest.HTTPTrigger(req, body))
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("%v %+v", err, res)
	}
	out, err := res.HTTPOutput(azurefunctions.BindingResponse)
	if err != nil {
		t.Fatal(err)
	}
	return out.StatusCode, out.Header, out.Body
}

func TestUsersEndToEnd(t *testing.T) {
	dir := t.TempDir()
	iss := authtest.NewIssuer(t)
	host := azurefunctionstest.Start(t, binary(t, "users"), &azurefunctionstest.Options{
		Env: []string{"USERS_BUCKET_URL=file://" + filepath.ToSlash(dir) + "?create_dir=true&no_tmp_dir=true",
			"USERS_OIDC_ISSUER=" + iss.URL, "USERS_OIDC_AUDIENCE=" + authtest.Audience},
	})
	authz := iss.Bearer(t, "ada", "users:read", "users:write")
	for _, mode := range []string{"default", "proxy"} {
		t.Run(mode, func(t *testing.T) {
			status, header, body := usersRequest(t, host, mode, authz, "POST", "/users", []byte(`{"name":"Ada Lovelace","email":"ada@example.com"}`))
			if status != http.StatusCreated || !strings.HasPrefix(header.Get("Location"), "/users/") {
				t.Fatalf("POST /users = %d %v %s", status, header, body)
			}
			var u struct{ ID, Name string }
			if err := json.Unmarshal(body, &u); err != nil || u.Name != "Ada Lovelace" {
				t.Fatalf("created user %s: %v", body, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "users", u.ID+".json")); err != nil {
				t.Errorf("the user was not stored: %v", err)
			}
			status, _, body = usersRequest(t, host, mode, authz, "GET", "/users/"+u.ID, nil)
			if status != http.StatusOK || !bytes.Contains(body, []byte(u.ID)) {
				t.Errorf("GET /users/%s = %d %s", u.ID, status, body)
			}
			status, header, _ = usersRequest(t, host, mode, authz, "GET", "/users/00000000-0000-4000-8000-000000000000", nil)
			if status != http.StatusNotFound || header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("GET unknown user = %d %s", status, header.Get("Content-Type"))
			}
			status, _, body = usersRequest(t, host, mode, authz, "POST", "/users", []byte(`{"name":`))
			if status != http.StatusBadRequest {
				t.Errorf("POST malformed = %d %s", status, body)
			}
			status, header, body = usersRequest(t, host, mode, "", "GET", "/users/"+u.ID, nil)
			if status != http.StatusUnauthorized || header.Get("WWW-Authenticate") != `Bearer realm="polyfn"` {
				t.Errorf("GET without a token = %d %v %s, want 401 with a Bearer challenge", status, header, body)
			}
			status, header, body = usersRequest(t, host, mode, iss.Bearer(t, "reader", "users:read"), "POST", "/users", []byte(`{"name":"Ada","email":"ada@example.com"}`))
			if status != http.StatusForbidden || !strings.Contains(header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Errorf("POST without users:write = %d %v %s, want 403 insufficient_scope", status, header, body)
			}
		})
	}
}

func TestOrdersEndToEnd(t *testing.T) {
	dir := t.TempDir()
	host := azurefunctionstest.Start(t, binary(t, "orders"), &azurefunctionstest.Options{
		Env: []string{"ORDERS_BUCKET_URL=file://" + filepath.ToSlash(dir) + "?create_dir=true&no_tmp_dir=true"},
	})
	order := `{"id":"o-1","customer":"c-7","items":[{"sku":"s-1","quantity":2}],"total":9.5}`
	deliver := func(text string, n int) int {
		t.Helper()
		res, err := host.Invoke(t.Context(), "record-order", azurefunctionstest.QueueTrigger(azurefunctionstest.QueueMessage{
			ID: "q-" + text[:min(8, len(text))], Text: text, DequeueCount: n, InsertionTime: time.Now()}))
		if err != nil {
			t.Fatal(err)
		}
		return res.Status
	}
	if got := deliver(order, 1); got != http.StatusOK {
		t.Fatalf("valid order: %d\n%s", got, host.Output())
	}
	if got := deliver(order, 2); got != http.StatusOK {
		t.Errorf("duplicate delivery: %d, want 200", got)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "orders", "*.json"))
	if len(files) != 1 {
		t.Fatalf("recorded files %v, want exactly one", files)
	}
	if b, _ := os.ReadFile(files[0]); string(b) != `{"id":"o-1","customer":"c-7","items":[{"sku":"s-1","quantity":2}],"total":9.5}` {
		t.Errorf("recorded %s", b)
	}
	if got := deliver(`{"id":"o-2"}`, 1); got/100 == 2 || got != azurefunctions.FailureStatus(core.InvalidArgument) {
		t.Errorf("bad order: %d, want a non-2xx %d so that it ends in orders-poison", got, azurefunctions.FailureStatus(core.InvalidArgument))
	}
	if got := deliver(strings.Replace(order, "9.5", "10", 1), 1); got != azurefunctions.FailureStatus(core.AlreadyExists) {
		t.Errorf("same id, other contents: %d, want %d", got, azurefunctions.FailureStatus(core.AlreadyExists))
	}
}
