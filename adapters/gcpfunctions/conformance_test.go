package gcpfunctions

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/adaptertest"
	"github.com/polyfn/polyfn/core"
)

// TestConformance runs the cross-adapter suite through the entry points
// New makes for the Functions Framework, each served on its own server as
// FUNCTION_TARGET would serve it, wrapped as the framework wraps its HTTP
// functions: plain HTTP for the app's routes, binary-mode CloudEvents from
// Eventarc for Cloud Storage, Pub/Sub and Firestore (JSON data), Pub/Sub
// for Cloud Scheduler. (The framework's registry is global and its server cannot be
// stopped; internal/e2e drives the real one.)
func TestConformance(t *testing.T) {
	adaptertest.RunConformanceTests(t, func(t *testing.T) adaptertest.Harness { return gcpHarness{} })
}

// The project and names of the conformance deployment.
const (
	gcpProject    = "conformance"
	firestoreRoot = "projects/" + gcpProject + "/databases/(default)/documents/"
)

type gcpHarness struct{}

func (gcpHarness) Name() string { return "gcp" }

func (gcpHarness) Describe() string {
	return "the entry points `gcpfunctions.New` makes for the Functions Framework, each on its own `net/http` server " +
		"as `FUNCTION_TARGET` serves it, wrapped as the framework wraps HTTP functions (its request context and panic " +
		"recovery; event functions read the request themselves). HTTP requests go to the app's function as they are; objects, messages " +
		"and changes arrive as Eventarc's binary-mode CloudEvents (Cloud Storage, Pub/Sub, Firestore `written` with " +
		"JSON data), one event per request, and timers as Cloud Scheduler's Pub/Sub messages. A non-2xx answer " +
		"means redelivery."
}

func (gcpHarness) Can(c adaptertest.Capability) (bool, string) {
	switch c {
	case adaptertest.LargeBodies, adaptertest.LargeBinaryBodies:
		return true, "Cloud Run takes HTTP/1 requests and responses up to 32 MiB"
	case adaptertest.Cancellation:
		return true, "the framework serves requests with net/http, which ends a request's context when its connection closes"
	case adaptertest.Deadline, adaptertest.EventDeadline:
		return true, "the unit's declared timeout from the request's start: Cloud Run sends no deadline with a request, " +
			"and the framework's context timeout from CLOUD_RUN_TIMEOUT_SECONDS (unset here) wins when it is earlier"
	case adaptertest.PartialBatchFailure, adaptertest.PartialChangeBatchFailure:
		return true, "Eventarc and Pub/Sub push deliver one event per request, each answered on its own"
	case adaptertest.OrderedChangeBatches:
		return false, "not applicable: one change per request, and Eventarc does not keep their order"
	case adaptertest.AcknowledgePermanentFailures:
		return true, "a client-error failure is answered 202, which acknowledges it (Pub/Sub push would redeliver a " +
			"poison message until its retention runs out); it is logged at error level"
	case adaptertest.EventField(core.KindChange, "data.key"):
		return false, `Firestore names a document by its path: the key is the document's id as a JSON string ("u1")`
	case adaptertest.EventKind(core.KindObjectUpdated):
		return true, "Cloud Storage's metadataUpdated event (Eventarc), for a change of an object's metadata"
	case adaptertest.EventKind(core.KindObjectTiered), adaptertest.EventKind(core.KindObjectRestored),
		adaptertest.EventKind(core.KindObjectReplication):
		return false, "Cloud Storage has no such event"
	case adaptertest.StreamingResponses:
		return true, "the functions framework hands the HTTP function net/http's own writer, and Cloud Run passes a " +
			"chunked response on as it is written (up to 10 MB streamed, 32 MB buffered, on Cloud Run functions)"
	case adaptertest.Streams, adaptertest.EventKind(core.KindRecord):
		return false, "not yet delivered by this adapter"
	}
	return true, ""
}

func (gcpHarness) Source(fn string) string {
	return map[string]string{
		"objects":  "//storage.googleapis.com/projects/_/buckets/conformance-bucket",
		"messages": "//pubsub.googleapis.com/projects/" + gcpProject + "/topics/conformance-topic",
		"changes":  "//firestore.googleapis.com/projects/" + gcpProject + "/databases/(default)",
		"timer":    "//pubsub.googleapis.com/projects/" + gcpProject + "/topics/timer-timer",
	}[fn]
}

func (gcpHarness) Start(t *testing.T, app *core.App, env map[string]string) adaptertest.Client {
	r := &Registration{apps: []*core.App{app}}
	if err := r.build(); err != nil {
		t.Fatal(err)
	}
	resolved, err := core.ResolveEnv(app, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Init(t.Context(), resolved); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		_ = r.Shutdown(ctx)
	})
	c := &gcpClient{servers: map[string]*httptest.Server{}}
	for _, ep := range r.entryPoints {
		srv := httptest.NewServer(frameworkHTTP(ep.http))
		t.Cleanup(srv.Close)
		c.servers[ep.name] = srv
	}
	return c
}

// frameworkHTTP wraps an HTTP function as the framework does
// (wrapHTTPFunction): the request's context, with the timeout
// CLOUD_RUN_TIMEOUT_SECONDS asks for, and a panic answered with a generic
// 500 and X-Google-Status: crash.
func frameworkHTTP(fn http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := os.Getenv("CLOUD_RUN_TIMEOUT_SECONDS"); s != "" {
			if n, err := strconv.Atoi(s); err == nil {
				ctx, cancel := context.WithTimeout(r.Context(), time.Duration(n)*time.Second)
				defer cancel()
				r = r.WithContext(ctx)
			}
		}
		defer func() {
			if v := recover(); v != nil {
				fmt.Fprintf(os.Stderr, "panic: %v\n%s", v, debug.Stack())
				w.Header().Set("X-Google-Status", "crash")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintln(w, "A panic occurred during user function execution. Please see logs for more details.")
			}
		}()
		fn(w, r)
	})
}

type gcpClient struct {
	servers map[string]*httptest.Server // by entry point
}

var gcpHTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Do sends req to the app's HTTP function as Cloud Run passes it on.
func (c *gcpClient) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	srv, ok := c.servers["conformance"]
	if !ok {
		return nil, fmt.Errorf("no HTTP function")
	}
	req = req.Clone(ctx)
	u := req.URL
	u.Scheme, u.Host = "http", strings.TrimPrefix(srv.URL, "http://")
	req.RequestURI = ""
	// Cloud Run's front end adds its own trace context.
	req.Header.Set("X-Cloud-Trace-Context", "0af7651916cd43dd8448eb211c80319c/2;o=1")
	req.Header.Set("X-Forwarded-Proto", "https")
	return gcpHTTPClient.Do(req)
}

// Deliver sends each event as its own binary-mode CloudEvent, as Eventarc
// does; a non-2xx answer means Eventarc (Pub/Sub push) redelivers it.
func (c *gcpClient) Deliver(ctx context.Context, fn string, evs []core.Event) (adaptertest.Outcome, error) {
	var out adaptertest.Outcome
	srv, ok := c.servers[fn]
	if !ok {
		return out, fmt.Errorf("no entry point %s", fn)
	}
	for _, e := range evs {
		req, err := cloudEventRequest(ctx, srv.URL, e)
		if err != nil {
			return out, err
		}
		resp, err := gcpHTTPClient.Do(req)
		if err != nil {
			return out, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return out, err
		}
		out.Reply = append(out.Reply, body...)
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			out.Redelivered = append(out.Redelivered, e.ID())
		}
	}
	return out, nil
}

// cloudEventRequest encodes e as the binary-mode CloudEvent Google's
// services send for it.
func cloudEventRequest(ctx context.Context, url string, e core.Event) (*http.Request, error) {
	var (
		typ, subject string
		data         any
		ext          = map[string]string{}
	)
	switch {
	case e.Object != nil:
		var err error
		if typ, subject, data, err = storageEvent(e); err != nil {
			return nil, err
		}
		ext["bucket"] = e.Object.Bucket
	case e.Message != nil:
		typ, data = typeMessagePublished, pubsubData(e.ID(), e.Message.Body, e.Message.Attributes, e.Time())
	case e.Change != nil:
		var doc string
		var err error
		typ, doc, data, err = firestoreEvent(e)
		if err != nil {
			return nil, err
		}
		subject = "documents/" + doc
		ext["database"], ext["namespace"], ext["document"] = "(default)", "(default)", doc
	case e.Timer != nil:
		typ = typeMessagePublished
		data = pubsubData(e.ID(), e.Timer.Payload, map[string]string{SchedulerJobAttribute: e.Timer.Name}, e.Timer.ScheduledTime)
	default:
		return nil, fmt.Errorf("no Google event for %s", e.Kind())
	}
	body, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("Ce-Specversion", "1.0")
	h.Set("Ce-Id", e.ID())
	h.Set("Ce-Type", typ)
	h.Set("Ce-Source", e.Source())
	h.Set("Ce-Time", e.Time().UTC().Format(time.RFC3339Nano))
	if tp, ok := e.Extensions()[core.TraceparentExtension].(string); ok { // Eventarc's tracing extension
		h.Set("Ce-Traceparent", tp)
	}
	if subject != "" {
		h.Set("Ce-Subject", percentEncode(subject))
	}
	for k, v := range ext {
		h.Set("Ce-"+k, percentEncode(v))
	}
	return req, nil
}

// percentEncode encodes a CloudEvents attribute for an HTTP header, as the
// HTTP protocol binding (3.1.3.2) says: space, '"', '%' and anything outside
// printable ASCII.
func percentEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c <= ' ' || c > '~' || c == '"' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// storageTypes are Cloud Storage's events of the object kinds it has.
var storageTypes = map[core.Kind]string{
	core.KindObjectCreated: typeObjectFinalized,
	core.KindObjectDeleted: typeObjectDeleted,
	core.KindObjectUpdated: typeObjectMetadataUpdated,
}

// storageEvent is Cloud Storage's event of an object's finalization,
// deletion or metadata update, with StorageObjectData (int64s as strings).
func storageEvent(e core.Event) (typ, subject string, data map[string]any, err error) {
	o := e.Object
	typ, ok := storageTypes[e.Kind()]
	if !ok {
		return "", "", nil, fmt.Errorf("Cloud Storage has no %s event", e.Kind())
	}
	metageneration := "1"
	if e.Kind() == core.KindObjectUpdated {
		metageneration = "2"
	}
	class := o.StorageClass
	if class == "" {
		class = "STANDARD"
	}
	gen := strconv.FormatInt(objectTime(e).UnixMicro(), 10)
	data = map[string]any{
		"kind": "storage#object", "id": o.Bucket + "/" + o.Key + "/" + gen, "name": o.Key, "bucket": o.Bucket,
		"generation": gen, "metageneration": metageneration, "size": strconv.FormatInt(o.Size, 10),
		"storageClass": class, "timeCreated": objectTime(e).Format(time.RFC3339Nano), "updated": objectTime(e).Format(time.RFC3339Nano),
		"selfLink": "https://www.googleapis.com/storage/v1/b/" + o.Bucket + "/o/" + strings.ReplaceAll(percentEncode(o.Key), "/", "%2F"),
	}
	if o.ContentType != "" {
		data["contentType"] = o.ContentType
	}
	if o.ETag != "" {
		data["etag"] = o.ETag
	}
	return typ, "objects/" + o.Key, data, nil
}

func objectTime(e core.Event) time.Time { return e.Time().UTC() }

// pubsubData is a MessagePublishedData, with the snake-case duplicates
// Pub/Sub writes; data is absent when the message has none.
func pubsubData(id string, body []byte, attrs map[string]string, published time.Time) map[string]any {
	t := published.UTC().Format(time.RFC3339Nano)
	m := map[string]any{"messageId": id, "message_id": id, "publishTime": t, "publish_time": t}
	if len(attrs) > 0 {
		m["attributes"] = attrs
	}
	if len(body) > 0 {
		m["data"] = base64.StdEncoding.EncodeToString(body)
	}
	return map[string]any{"message": m, "subscription": "projects/" + gcpProject + "/subscriptions/eventarc-conformance"}
}

// firestoreEvent is Firestore's document.v1.written event (what polyfn
// build subscribes to) of a change, with DocumentEventData in proto3 JSON.
// The document is users/<the key's id>.
func firestoreEvent(e core.Event) (typ, doc string, data map[string]any, err error) {
	c := e.Change
	var key struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(c.Key, &key); err != nil || key.ID == "" {
		return "", "", nil, fmt.Errorf("change %s: the key %s has no id", e.ID(), c.Key)
	}
	doc = "users/" + key.ID
	data = map[string]any{}
	for name, raw := range map[string]json.RawMessage{"value": c.New, "oldValue": c.Old} {
		if len(raw) == 0 {
			continue
		}
		fields, err := firestoreFields(raw)
		if err != nil {
			return "", "", nil, fmt.Errorf("change %s: %s: %w", e.ID(), name, err)
		}
		t := objectTime(e).Format(time.RFC3339Nano)
		data[name] = map[string]any{"name": firestoreRoot + doc, "fields": fields, "createTime": t, "updateTime": t}
	}
	if c.New != nil && c.Old != nil {
		data["updateMask"] = map[string]any{"fieldPaths": changedFields(c.Old, c.New)}
	}
	return typeDocumentWritten, doc, data, nil
}

// firestoreFields encodes a plain JSON object as Firestore's Value map.
func firestoreFields(doc json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	fields := map[string]any{}
	for k, x := range v {
		fields[k] = firestoreValue(x)
	}
	return fields, nil
}

func firestoreValue(v any) any {
	switch v := v.(type) {
	case string:
		return map[string]any{"stringValue": v}
	case json.Number:
		if _, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
			return map[string]any{"integerValue": v.String()}
		}
		f, _ := v.Float64()
		return map[string]any{"doubleValue": f}
	case bool:
		return map[string]any{"booleanValue": v}
	case nil:
		return map[string]any{"nullValue": nil}
	case []any:
		vs := make([]any, len(v))
		for i, x := range v {
			vs[i] = firestoreValue(x)
		}
		return map[string]any{"arrayValue": map[string]any{"values": vs}}
	case map[string]any:
		fs := map[string]any{}
		for k, x := range v {
			fs[k] = firestoreValue(x)
		}
		return map[string]any{"mapValue": map[string]any{"fields": fs}}
	}
	panic(fmt.Sprintf("no Firestore value for %T", v))
}

// changedFields lists the top-level fields that differ between two
// documents, as an update mask does.
func changedFields(old, new json.RawMessage) []string {
	var a, b map[string]json.RawMessage
	_ = json.Unmarshal(old, &a)
	_ = json.Unmarshal(new, &b)
	var paths []string
	for k, v := range b {
		if !bytes.Equal(a[k], v) {
			paths = append(paths, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			paths = append(paths, k)
		}
	}
	return paths
}
