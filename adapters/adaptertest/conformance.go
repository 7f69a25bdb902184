package adaptertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"github.com/polyfn/polyfn/telemetry/telemetrytest"
)

// RunConformanceTests runs every case against the adapter newHarness makes,
// then prints the platform's column of the capability matrix, writes it
// where $POLYFN_CONFORMANCE_OUT says, and checks it against
// docs/conformance.md.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	h := newHarness(t)
	app := newConformanceApp()
	if ok, _ := h.Can(Streams); ok {
		app.On("stream", StreamTrigger, app.record("stream"))
	}
	s := &session{h: h, app: app, arrivals: map[core.Kind]*arrival{}}
	s.cl = h.Start(t, app.App, nil)
	col := newColumn(h)
	for _, c := range cases() {
		col.run(t, s, c)
	}
	col.finish(t)
}

// session is one run of the suite: the harness, the started app, and the
// fixture events delivered so far.
type session struct {
	h        Harness
	app      *conformanceApp
	cl       Client
	timerDue time.Time // of the timer fixture
	arrivals map[core.Kind]*arrival
}

// tcase is one row of the capability matrix.
type tcase struct {
	// name is the row's name: a group ("http", "events", "failures",
	// "batches", "invocation"), a slash, and what is checked.
	name string
	// needs are the capabilities without which the case is skipped.
	needs []Capability
	// uses are the behavioural capabilities that choose what it expects.
	uses []Capability
	run  func(t *testing.T, s *session)
}

// cases returns every case, in the matrix's order.
var cases = sync.OnceValue(buildCases)

func buildCases() []tcase {
	var cs []tcase
	cs = append(cs, httpCases()...)
	cs = append(cs, eventCases()...)
	cs = append(cs, streamingCases()...)
	cs = append(cs, failureCases()...)
	cs = append(cs, streamCases()...)
	cs = append(cs, invocationCases()...)
	return cs
}

// ---------------------------------------------------------------- HTTP

func httpCases() []tcase {
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	largeText := bytes.Repeat([]byte("polyfn conformance: five megabytes of text, byte for byte. ✓\n"), 5<<20/64)
	bodies := []struct {
		name, ct string
		body     []byte
		needs    []Capability
	}{
		{"utf-8", "text/plain; charset=utf-8", []byte("héllo wörld ✓ 世界\n"), nil},
		{"json", "application/json", []byte(`{"n":9007199254740993,"s":"\u00e9"}`), nil},
		{"empty", "text/plain", nil, nil},
		{"binary", "application/octet-stream", allBytes, []Capability{BinaryResponses}},
		{"5 MB text", "text/plain; charset=utf-8", largeText, []Capability{LargeBodies}},
		{"5 MB binary", "application/octet-stream", bytes.Repeat(allBytes, 5<<20/256), []Capability{LargeBinaryBodies}},
	}
	var cs []tcase
	for _, b := range bodies {
		cs = append(cs, tcase{name: "http/body " + b.name + " byte for byte", needs: b.needs, run: func(t *testing.T, s *session) {
			resp, got := s.do(t, "POST", "/echo", b.body, http.Header{"Content-Type": {b.ct}})
			if resp.StatusCode != 200 || !bytes.Equal(got, b.body) {
				t.Errorf("echo: status %d, %d bytes back of %d sent, equal %v", resp.StatusCode, len(got), len(b.body), bytes.Equal(got, b.body))
			}
			if ct := resp.Header.Get("Content-Type"); len(b.body) > 0 && ct != b.ct {
				t.Errorf("Content-Type %q, want %q", ct, b.ct)
			}
		}})
	}
	return append(cs,
		tcase{name: "http/headers, query and route parameters", run: func(t *testing.T, s *session) {
			got := s.inspect(t, "/inspect/a%20b%C3%BC/items/7?one=x%26y", http.Header{"X-Single": {"s, t"}})
			want := map[string]any{"id": "a bü", "item": "7", "single": "s, t", "one": []any{"x&y"}}
			if diff := cmp.Diff(want, pick(got, "id", "item", "single", "one")); diff != "" {
				t.Errorf("request as the function saw it (-want +got):\n%s", diff)
			}
		}},
		tcase{name: "http/request cookies", run: func(t *testing.T, s *session) {
			got := s.inspect(t, "/inspect/a/items/b", http.Header{"Cookie": {"a=1; b=x%20y"}})
			if diff := cmp.Diff([]any{"a=1", "b=x%20y"}, got["cookies"]); diff != "" {
				t.Errorf("cookies as the function saw them (-want +got):\n%s", diff)
			}
		}},
		tcase{name: "http/repeated request headers", needs: []Capability{RepeatedRequestHeaders}, run: func(t *testing.T, s *session) {
			got := s.inspect(t, "/inspect/a/items/b", http.Header{"X-Multi": {"one", "two"}})
			if diff := cmp.Diff([]any{"one", "two"}, got["multi"]); diff != "" {
				t.Errorf("X-Multi as the function saw it (-want +got):\n%s", diff)
			}
		}},
		tcase{name: "http/repeated query values", needs: []Capability{RepeatedQueryValues}, run: func(t *testing.T, s *session) {
			got := s.inspect(t, "/inspect/a/items/b?q=1&q=2&q=c%20d&q=e%2Cf", nil)
			if diff := cmp.Diff([]any{"1", "2", "c d", "e,f"}, got["q"]); diff != "" {
				t.Errorf("q as the function saw it (-want +got):\n%s", diff)
			}
		}},
		tcase{name: "http/status codes", run: func(t *testing.T, s *session) {
			for _, code := range []int{200, 201, 202, 204, 301, 304, 400, 404, 409, 418, 500, 503} {
				if resp, _ := s.do(t, "GET", fmt.Sprintf("/status/%d", code), nil, nil); resp.StatusCode != code {
					t.Errorf("status %d arrived as %d", code, resp.StatusCode)
				}
			}
		}},
		tcase{name: "http/several cookies", needs: []Capability{MultipleCookies}, run: func(t *testing.T, s *session) {
			resp, _ := s.do(t, "GET", "/cookies", nil, nil)
			var got []string
			for _, c := range resp.Cookies() {
				got = append(got, c.Name+"="+c.Value)
			}
			if !slices.Equal(got, []string{"a=1", "b=2"}) {
				t.Errorf("cookies %q, want [a=1 b=2]", got)
			}
		}},
		tcase{name: "http/repeated response headers", needs: []Capability{RepeatedResponseHeaders}, run: func(t *testing.T, s *session) {
			resp, _ := s.do(t, "GET", "/cookies", nil, nil)
			if got := resp.Header.Values("X-Multi"); !slices.Equal(got, []string{"x", "y"}) {
				t.Errorf("X-Multi = %q, want [x y]", got)
			}
		}},
		tcase{name: "http/each error code's status", run: func(t *testing.T, s *session) {
			for _, code := range core.Codes() {
				resp, body := s.do(t, "GET", fmt.Sprintf("/error/%d", int(code)), nil, nil)
				if resp.StatusCode != core.HTTPStatus(code) {
					t.Errorf("%v: status %d, want %d", code, resp.StatusCode, core.HTTPStatus(code))
				}
				var p core.Problem
				if err := json.Unmarshal(body, &p); err != nil || p.Type != core.ProblemTypePrefix+code.String() {
					t.Errorf("%v: body %q is not the code's problem", code, body)
				}
			}
		}},
		tcase{name: "http/error text shown for client errors only", run: func(t *testing.T, s *session) {
			for _, code := range core.Codes() {
				_, body := s.do(t, "GET", fmt.Sprintf("/error/%d", int(code)), nil, nil)
				if shown := strings.Contains(string(body), secretDetail); shown != code.ShowsDetail() {
					t.Errorf("%v: the error text reached the client: %v, want %v: %s", code, shown, code.ShowsDetail(), body)
				}
			}
		}},
		tcase{name: "http/panic: a generic 500, and the next request served", run: func(t *testing.T, s *session) {
			resp, body := s.do(t, "GET", "/panic", nil, nil)
			if resp.StatusCode != 500 || strings.Contains(string(body), "secret") {
				t.Errorf("panic: %d %s, want a generic 500", resp.StatusCode, body)
			}
			if resp, _ := s.do(t, "GET", "/status/204", nil, nil); resp.StatusCode != 204 {
				t.Errorf("after a panic: %d, want the next request served", resp.StatusCode)
			}
		}},
		tcase{name: "http/cancellation ends the request's context", needs: []Capability{Cancellation}, run: func(t *testing.T, s *session) {
			drain(s.app.waiting)
			drain(s.app.waited)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() {
				select {
				case <-s.app.waiting:
					cancel()
				case <-ctx.Done():
				}
			}()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://function/wait", nil)
			if resp, err := s.cl.Do(ctx, req); err == nil {
				resp.Body.Close()
				t.Errorf("the request was answered %d after its client went away", resp.StatusCode)
			}
			select {
			case err := <-s.app.waited:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("the handler's context ended with %v, want context.Canceled", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("the handler did not finish")
			}
		}},
	)
}

func drain[T any](c chan T) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// pick returns the members of m named keys that m has.
func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok && v != nil {
			out[k] = v
		}
	}
	return out
}

// do sends a request through the client and returns the response with its
// body read.
func (s *session) do(t *testing.T, method, path string, body []byte, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://function"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := s.cl.Do(t.Context(), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// inspect sends GET path and decodes the JSON the inspect route answers.
func (s *session) inspect(t *testing.T, path string, header http.Header) map[string]any {
	t.Helper()
	resp, body := s.do(t, "GET", path, nil, header)
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return got
}

// -------------------------------------------------------------- events

// when is the time of the fixture events other than the timer's.
var when = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

// objectKey is the key of the fixture objects: a space, a plus sign and a
// non-ASCII letter, each of which some platform encodes.
const objectKey = "uploads/red flower+1 ü.png"

// The kinds of event, in the matrix's order, and the function of each.
var kinds = []struct {
	kind core.Kind
	fn   string
}{
	{core.KindObjectCreated, "objects"},
	{core.KindObjectDeleted, "objects"},
	{core.KindMessage, "messages"},
	{core.KindChange, "changes"},
	{core.KindTimer, "timer"},
	{core.KindObjectTiered, "objects"},
	{core.KindObjectRestored, "objects"},
	{core.KindObjectUpdated, "objects"},
	{core.KindObjectReplication, "objects"},
	{core.KindRecord, "stream"},
}

// fixture returns the neutral event of kind k that the suite delivers, with
// the source the harness names.
func (s *session) fixture(k core.Kind) core.Event {
	switch k {
	case core.KindObjectCreated:
		return s.event(core.TypeObjectCreated, "obj-1", "objects", objectKey, when,
			&core.Object{Bucket: "conformance-bucket", Key: objectKey, Size: 5 << 30, ContentType: "image/png", ETag: "d41d8cd98f00b204e9800998ecf8427e"})
	case core.KindObjectDeleted:
		return s.event(core.TypeObjectDeleted, "obj-2", "objects", objectKey, when,
			&core.Object{Bucket: "conformance-bucket", Key: objectKey})
	case core.KindMessage:
		return s.message("msg-1", `{"id":"o-1"}`)
	case core.KindChange:
		return s.event(core.TypeChange, "chg-1", "changes", "", when, &core.Change{
			Op: core.OpModify, Key: json.RawMessage(`{"id":"u1"}`),
			New: json.RawMessage(`{"id":"u1","n":9007199254740993,"f":0.5,"s":"<é & ✓>","tags":["a","b"],"nested":{"ok":true,"none":null}}`),
			Old: json.RawMessage(`{"id":"u1","n":1}`),
		})
	case core.KindTimer:
		// Due when first delivered, so that no platform finds it past due;
		// the same for every later delivery, so that its id stays.
		if s.timerDue.IsZero() {
			s.timerDue = time.Now().UTC().Truncate(time.Second)
		}
		name := "timer"
		if tn, ok := s.h.(TimerNamer); ok {
			name = tn.TimerName("timer")
		}
		return s.event(core.TypeTimer, "tmr-1", "timer", "", s.timerDue, &core.Timer{Name: name, ScheduledTime: s.timerDue})
	case core.KindRecord:
		return s.record("rec-1", "0", 1, "ok")
	}
	if k.IsObject() {
		return s.lifecycleFixture(k)
	}
	panic("adaptertest: no fixture of kind " + string(k))
}

func (s *session) event(typ, id, fn, subject string, at time.Time, data any) core.Event {
	e, err := core.NewEvent(typ, id, s.h.Source(fn), data)
	if err != nil {
		panic(err)
	}
	e.SetSubject(subject)
	e.SetTime(at)
	return e
}

// message returns a message event whose id is id and body body.
func (s *session) message(id, body string) core.Event {
	return s.event(core.TypeMessage, id, "messages", "", when,
		&core.Message{ID: id, Body: []byte(body), Attributes: map[string]string{"kind": "order"}})
}

// change returns an inserted document change whose new document asks for
// outcome.
func (s *session) change(id, outcome string) core.Event {
	key, _ := json.Marshal(map[string]string{"id": id})
	doc, _ := json.Marshal(map[string]string{"id": id, "outcome": outcome})
	return s.event(core.TypeChange, id, "changes", "", when, &core.Change{Op: core.OpInsert, Key: key, New: doc})
}

// deliver delivers events to fn and returns the outcome and what fn
// received.
func (s *session) deliver(t *testing.T, fn string, events ...core.Event) (Outcome, []received) {
	t.Helper()
	s.app.take(fn)
	out, err := s.cl.Deliver(t.Context(), fn, events)
	if err != nil {
		t.Fatalf("Deliver to %s: %v", fn, err)
	}
	return out, s.app.take(fn)
}

// arrival is the fixture event of one kind as it arrived, delivered once
// for all the cases that inspect it.
type arrival struct {
	sent, got core.Event
	r         received
	err       error
}

// arrived delivers the fixture of kind k, the first time, and returns it
// as sent and as the function received it.
func (s *session) arrived(t *testing.T, k core.Kind) (sent core.Event, got received) {
	t.Helper()
	a, ok := s.arrivals[k]
	if !ok {
		a = &arrival{sent: s.fixture(k)}
		s.arrivals[k] = a
		fn := fnOf(k)
		s.app.take(fn)
		out, err := s.cl.Deliver(t.Context(), fn, []core.Event{a.sent})
		rs := s.app.take(fn)
		switch {
		case err != nil:
			a.err = fmt.Errorf("delivering the %s fixture: %v", k, err)
		case len(out.Redelivered) != 0:
			a.err = fmt.Errorf("delivering the %s fixture: %v will be redelivered, want none", k, out.Redelivered)
		case len(rs) != 1:
			a.err = fmt.Errorf("delivering the %s fixture: %d events arrived, want 1", k, len(rs))
		default:
			a.r = rs[0]
		}
	}
	if a.err != nil {
		t.Fatal(a.err)
	}
	return a.sent, a.r
}

func fnOf(k core.Kind) string {
	for _, kf := range kinds {
		if kf.kind == k {
			return kf.fn
		}
	}
	return ""
}

// field is one check of the fixture event of a kind as it arrived.
type field struct {
	name string
	// optional fields can be missing on a platform: the check needs the
	// capability EventField(kind, name).
	optional bool
	check    func(t *testing.T, sent core.Event, got received)
}

func eventCases() []tcase {
	var cs []tcase
	for _, kf := range kinds {
		k := kf.kind
		for _, f := range fieldsOf(k) {
			c := tcase{name: "events/" + string(k) + " " + f.name, run: func(t *testing.T, s *session) {
				sent, got := s.arrived(t, k)
				f.check(t, sent, got)
			}}
			if needsKind(k) {
				c.needs = []Capability{EventKind(k)}
			}
			if f.optional {
				c.needs = append(c.needs, EventField(k, f.name))
			}
			cs = append(cs, c)
		}
		if k == core.KindMessage {
			cs = append(cs, tcase{name: "events/message binary body byte for byte", needs: []Capability{EventField(k, FieldBinaryBody)}, run: func(t *testing.T, s *session) {
				body := make([]byte, 256)
				for i := range body {
					body[i] = byte(i)
				}
				e := s.message("binary-1", string(body))
				out, got := s.deliver(t, "messages", e)
				if len(out.Redelivered) != 0 || len(got) != 1 || got[0].event.Message == nil {
					t.Fatalf("redelivered %q, %d arrived; want it handled once", out.Redelivered, len(got))
				}
				if g := got[0].event.Message.Body; !bytes.Equal(g, body) {
					t.Errorf("%d bytes arrived of the 256 sent, equal %v", len(g), bytes.Equal(g, body))
				}
			}})
		}
		if k == core.KindChange {
			cs = append(cs, tcase{name: "events/change removal: op and old document", needs: []Capability{EventField(k, FieldRemoval)}, run: func(t *testing.T, s *session) {
				e := s.event(core.TypeChange, "chg-rm", "changes", "", when,
					&core.Change{Op: core.OpRemove, Key: json.RawMessage(`{"id":"u9"}`), Old: json.RawMessage(`{"id":"u9","n":1}`)})
				out, got := s.deliver(t, "changes", e)
				if len(out.Redelivered) != 0 || len(got) != 1 || got[0].event.Change == nil {
					t.Fatalf("redelivered %q, %d arrived; want it handled once", out.Redelivered, len(got))
				}
				c := got[0].event.Change
				if c.Op != core.OpRemove || c.New != nil {
					t.Errorf("op %q, new %s; want remove and no new document", c.Op, c.New)
				}
				if d := cmp.Diff(plainJSON(t, e.Change.Old), plainJSON(t, c.Old)); d != "" {
					t.Errorf("old document (-sent +arrived):\n%s", d)
				}
			}})
		}
		if k == core.KindMessage {
			cs = append(cs, tcase{name: "events/message trace context carried by the message", needs: []Capability{EventField(k, FieldTrace)}, run: func(t *testing.T, s *session) {
				e := s.message("traced-1", "ok")
				e.SetExtension(core.TraceparentExtension, Traceparent)
				_, got := s.deliver(t, "messages", e)
				if len(got) != 1 {
					t.Fatalf("%d events arrived, want 1", len(got))
				}
				if tr, ok := got[0].event.Trace(); !ok || !SameTrace(tr.TraceID, traceID) {
					t.Errorf("the event's trace is %+v (%v), want trace %s", tr, ok, traceID)
				}
			}})
		}
		if k == core.KindMessage {
			cs = append(cs, tcase{name: "events/message span continues the producer's trace", needs: []Capability{EventField(k, FieldTrace)}, run: func(t *testing.T, s *session) {
				spans := telemetrytest.RecordSpans(t, nil)
				e := s.message("traced-2", "ok")
				e.SetExtension(core.TraceparentExtension, Traceparent)
				_, got := s.deliver(t, "messages", e)
				if len(got) != 1 {
					t.Fatalf("%d events arrived, want 1", len(got))
				}
				span := waitSpan(t, spans, telemetry.AttrEventID, got[0].event.ID())
				if tid := span.SpanContext.TraceID().String(); !SameTrace(tid, traceID) {
					t.Errorf("the event's span is in trace %s, want the producer's %s", tid, traceID)
				}
				if span.SpanKind != trace.SpanKindConsumer || spanAttr(span, telemetry.AttrTrigger) != "pubsub" {
					t.Errorf("the event's span: kind %v, attributes %v; want a consumer span of a pubsub trigger", span.SpanKind, span.Attributes)
				}
			}})
		}
		var needs []Capability
		if needsKind(k) {
			needs = []Capability{EventKind(k)}
		}
		cs = append(cs, tcase{name: "events/" + string(k) + " id the same on redelivery", needs: needs, run: func(t *testing.T, s *session) {
			e := s.fixture(k)
			_, first := s.deliver(t, fnOf(k), e)
			_, again := s.deliver(t, fnOf(k), e)
			if len(first) != 1 || len(again) != 1 {
				t.Fatalf("%d and %d events arrived, want 1 each", len(first), len(again))
			}
			if a, b := first[0].event.ID(), again[0].event.ID(); a == "" || a != b {
				t.Errorf("the event's id is %q, then %q on redelivery; want one non-empty id", a, b)
			}
		}})
	}
	return cs
}

// fieldsOf returns the checks of the fixture event of kind k. Data fields
// that the platforms fill in themselves (an object's event name and account,
// a message's delivery count, publish time, subscription and sequence, a
// change's source, id, sequence and document, a timer's attempt) are not
// compared: they describe the delivery, not the event.
func fieldsOf(k core.Kind) []field {
	fs := []field{
		{name: "type", check: func(t *testing.T, sent core.Event, got received) {
			if g := got.event; g.Type() != sent.Type() || g.Kind() != sent.Kind() {
				t.Errorf("type %q (kind %s), want %q", g.Type(), g.Kind(), sent.Type())
			}
		}},
		{name: FieldID, optional: true, check: func(t *testing.T, sent core.Event, got received) {
			if g := got.event.ID(); g != sent.ID() {
				t.Errorf("id %q, want %q", g, sent.ID())
			}
		}},
		{name: FieldSource, optional: true, check: func(t *testing.T, sent core.Event, got received) {
			if g := got.event.Source(); g != sent.Source() {
				t.Errorf("source %q, want %q", g, sent.Source())
			}
		}},
		{name: FieldTime, optional: true, check: func(t *testing.T, sent core.Event, got received) {
			if g := got.event.Time(); !g.Equal(sent.Time()) {
				t.Errorf("time %v, want %v", g, sent.Time())
			}
		}},
	}
	diff := func(t *testing.T, what string, want, got any, opts ...cmp.Option) {
		t.Helper()
		if d := cmp.Diff(want, got, append(opts, cmpopts.EquateEmpty())...); d != "" {
			t.Errorf("%s (-sent +arrived):\n%s", what, d)
		}
	}
	switch {
	case k.IsObject():
		fs = append(fs,
			field{name: FieldSubjectKey, optional: true, check: func(t *testing.T, sent core.Event, got received) {
				if g := got.event.Subject(); g != sent.Object.Key {
					t.Errorf("subject %q, want the key %q", g, sent.Object.Key)
				}
			}},
			field{name: "data (bucket, key, size, etag)", check: func(t *testing.T, sent core.Event, got received) {
				type obj struct {
					Bucket, Key, ETag string
					Size              int64
				}
				o := func(o *core.Object) obj { return obj{o.Bucket, o.Key, o.ETag, o.Size} }
				if got.event.Object == nil {
					t.Fatal("no object data")
				}
				diff(t, "object", o(sent.Object), o(got.event.Object))
			}},
		)
		fs = append(fs, lifecycleFields(k)...)
		if k == core.KindObjectCreated {
			fs = append(fs, field{name: "data.content_type", optional: true, check: func(t *testing.T, sent core.Event, got received) {
				if got.event.Object == nil || got.event.Object.ContentType != sent.Object.ContentType {
					t.Errorf("content type of %+v, want %q", got.event.Object, sent.Object.ContentType)
				}
			}})
		}
	case k == core.KindRecord:
		fs = append(fs, recordFields()...)
	case k == core.KindMessage:
		fs = append(fs, field{name: "data (id, body, attributes, content type, ordering key)", check: func(t *testing.T, sent core.Event, got received) {
			type msg struct {
				ID, ContentType, OrderingKey string
				Body                         []byte
				Attributes                   map[string]string
			}
			m := func(m *core.Message) msg { return msg{m.ID, m.ContentType, m.OrderingKey, m.Body, m.Attributes} }
			if got.event.Message == nil {
				t.Fatal("no message data")
			}
			diff(t, "message", m(sent.Message), m(got.event.Message))
		}})
	case k == core.KindChange:
		change := func(t *testing.T, got received) *core.Change {
			t.Helper()
			if got.event.Change == nil {
				t.Fatal("no change data")
			}
			return got.event.Change
		}
		fs = append(fs,
			field{name: "data.op", optional: true, check: func(t *testing.T, sent core.Event, got received) {
				if g := change(t, got).Op; g != sent.Change.Op {
					t.Errorf("op %q, want %q", g, sent.Change.Op)
				}
			}},
			field{name: "data.key", optional: true, check: func(t *testing.T, sent core.Event, got received) {
				diff(t, "key", plainJSON(t, sent.Change.Key), plainJSON(t, change(t, got).Key))
			}},
			field{name: "data.new, exactly", optional: true, check: func(t *testing.T, sent core.Event, got received) {
				diff(t, "new document", plainJSON(t, sent.Change.New), plainJSON(t, change(t, got).New))
			}},
			field{name: "data.new, every member as written", check: func(t *testing.T, sent core.Event, got received) {
				want, _ := plainJSON(t, sent.Change.New).(map[string]any)
				g, _ := plainJSON(t, change(t, got).New).(map[string]any)
				for k, v := range want {
					diff(t, "member "+k, v, g[k])
				}
			}},
			field{name: "data.old", optional: true, check: func(t *testing.T, sent core.Event, got received) {
				diff(t, "old document", plainJSON(t, sent.Change.Old), plainJSON(t, change(t, got).Old))
			}},
		)
	case k == core.KindTimer:
		fs = append(fs, field{name: "data (name, scheduled time, past due, payload)", check: func(t *testing.T, sent core.Event, got received) {
			g := got.event.Timer
			if g == nil {
				t.Fatal("no timer data")
			}
			w := sent.Timer
			if g.Name != w.Name || !g.ScheduledTime.Equal(w.ScheduledTime) || g.PastDue != w.PastDue || !bytes.Equal(g.Payload, w.Payload) {
				t.Errorf("timer %+v, want %+v", *g, *w)
			}
		}})
	}
	return fs
}

// plainJSON decodes a JSON document with its numbers exact, or nil.
func plainJSON(t *testing.T, b json.RawMessage) any {
	t.Helper()
	if len(b) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%q is not JSON: %v", b, err)
	}
	return v
}

// Traceparent is the W3C trace context the suite's clients and producers
// send.
const (
	Traceparent = "00-" + traceID + "-00f067aa0ba902b7-01"
	traceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
)

// SameTrace reports whether two trace ids name the same trace, across the
// W3C form (32 hex digits) and X-Ray's (1-<8 hex>-<24 hex>).
func SameTrace(a, b string) bool {
	norm := func(id string) string {
		return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(id, "1-"), "-", ""))
	}
	return a != "" && norm(a) == norm(b)
}

// ------------------------------------------------- failures and batches

// redelivered reports whether a platform redelivers an event that failed
// with code: always for codes redelivery may fix, and for the others unless
// the platform acknowledges permanent failures.
func (s *session) redelivered(code core.Code) bool {
	ack, _ := s.h.Can(AcknowledgePermanentFailures)
	return !code.IsClientError() || !ack
}

// codeOfMarker is the code an event with marker fails with, and whether it
// fails.
func codeOfMarker(marker string) (core.Code, bool) {
	switch {
	case marker == "malformed":
		return core.InvalidArgument, true
	case marker == "panic":
		return core.Internal, true
	case strings.HasPrefix(marker, "fail:"):
		return codeNamed(strings.TrimPrefix(marker, "fail:"))
	}
	return 0, false
}

func failureCases() []tcase {
	return []tcase{
		{name: "failures/each error code redelivers or acknowledges a message", uses: []Capability{AcknowledgePermanentFailures}, run: func(t *testing.T, s *session) {
			for _, code := range core.Codes() {
				e := s.message("code-"+code.String(), "fail:"+code.String())
				out, got := s.deliver(t, "messages", e)
				var want []string
				if s.redelivered(code) {
					want = []string{e.ID()}
				}
				if len(got) != 1 {
					t.Errorf("%v: %d events arrived, want 1", code, len(got))
				}
				if !slices.Equal(out.Redelivered, want) {
					t.Errorf("%v: redelivered %q, want %q", code, out.Redelivered, want)
				}
			}
		}},
		{name: "failures/internal error text never reaches the platform", run: func(t *testing.T, s *session) {
			for _, code := range core.Codes() {
				e := s.message("leak-"+code.String(), "fail:"+code.String())
				out, _ := s.deliver(t, "messages", e)
				if shown := bytes.Contains(out.Reply, []byte(secretDetail)); shown && !code.ShowsDetail() {
					t.Errorf("%v: the error text reached the platform: %s", code, out.Reply)
				}
			}
		}},
		{name: "failures/panic: redelivered, and the next event handled", run: func(t *testing.T, s *session) {
			e := s.message("panic-1", "panic")
			out, _ := s.deliver(t, "messages", e)
			if !slices.Equal(out.Redelivered, []string{e.ID()}) || bytes.Contains(out.Reply, []byte(secretPanic)) {
				t.Errorf("panic: redelivered %q, reply %s; want it redelivered, without the panic's text", out.Redelivered, out.Reply)
			}
			next := s.message("after-panic", "ok")
			if out, got := s.deliver(t, "messages", next); len(out.Redelivered) != 0 || len(got) != 1 {
				t.Errorf("after a panic: redelivered %q, %d arrived; want it handled", out.Redelivered, len(got))
			}
		}},
		{name: "failures/a failed object event is redelivered", run: func(t *testing.T, s *session) {
			e := s.event(core.TypeObjectCreated, "obj-fail", "objects", "uploads/fail:unavailable", when,
				&core.Object{Bucket: "conformance-bucket", Key: "uploads/fail:unavailable", Size: 1, ETag: "c4ca4238a0b923820dcc509a6f75849b"})
			out, got := s.deliver(t, "objects", e)
			if len(got) != 1 || !slices.Equal(out.Redelivered, []string{e.ID()}) {
				t.Errorf("%d arrived, redelivered %q; want it handled once and redelivered", len(got), out.Redelivered)
			}
		}},
		{name: "batches/messages: exactly the failed ones", uses: []Capability{PartialBatchFailure, AcknowledgePermanentFailures}, run: func(t *testing.T, s *session) {
			var batch []core.Event
			for i, body := range []string{"ok", "malformed", "ok", "panic", "ok"} {
				batch = append(batch, s.message(fmt.Sprintf("batch-%d", i), body))
			}
			out, got := s.deliver(t, "messages", batch...)
			partial, _ := s.h.Can(PartialBatchFailure)
			want := s.expectedBatch(batch, partial, false)
			if !slices.Equal(out.Redelivered, want) {
				t.Errorf("redelivered %q, want %q (%d events arrived)", out.Redelivered, want, len(got))
			}
			s.nextWorks(t, "messages", s.message("after-batch", "ok"))
		}},
		{name: "batches/changes: the failed ones, by the platform's rule", uses: []Capability{PartialChangeBatchFailure, OrderedChangeBatches, AcknowledgePermanentFailures}, run: func(t *testing.T, s *session) {
			var batch []core.Event
			for i, outcome := range []string{"ok", "malformed", "ok", "panic", "ok"} {
				batch = append(batch, s.change(fmt.Sprintf("c%d", i), outcome))
			}
			out, got := s.deliver(t, "changes", batch...)
			partial, _ := s.h.Can(PartialChangeBatchFailure)
			ordered, _ := s.h.Can(OrderedChangeBatches)
			want := s.expectedBatch(batch, partial, ordered)
			if !slices.Equal(out.Redelivered, want) {
				t.Errorf("redelivered %q, want %q (%d events arrived)", out.Redelivered, want, len(got))
			}
			s.nextWorks(t, "changes", s.change("after-batch", "ok"))
		}},
	}
}

// expectedBatch returns the ids a platform redelivers of batch: exactly
// the failed ones (partial), the first failure and everything after it
// (ordered), or the whole batch; failures the platform acknowledges are
// left out where it reports them one by one.
func (s *session) expectedBatch(batch []core.Event, partial, ordered bool) []string {
	var want []string
	for _, e := range batch {
		code, failed := codeOfMarker(markerOf(e))
		switch {
		case partial:
			if failed && s.redelivered(code) {
				want = append(want, e.ID())
			}
		case ordered:
			if failed || len(want) > 0 {
				want = append(want, e.ID())
			}
		default:
			if failed {
				for _, e := range batch {
					want = append(want, e.ID())
				}
				return want
			}
		}
	}
	return want
}

// nextWorks checks that an event delivered after a failed batch is handled.
func (s *session) nextWorks(t *testing.T, fn string, e core.Event) {
	t.Helper()
	if out, got := s.deliver(t, fn, e); len(out.Redelivered) != 0 || len(got) != 1 {
		t.Errorf("after the batch: redelivered %q, %d arrived; want the next event handled", out.Redelivered, len(got))
	}
}

// ---------------------------------------- invocation and middleware

func invocationCases() []tcase {
	return []tcase{
		{name: "invocation/metadata in an HTTP request's context", run: func(t *testing.T, s *session) {
			info := s.invocation(t)
			if !info.Present || info.ID == "" || !s.isCloud(info.Cloud) || info.Function == "" {
				t.Errorf("invocation %+v, want one with an id, cloud %s and a function", info, s.h.Name())
			}
		}},
		{name: "invocation/metadata in an event's context", run: func(t *testing.T, s *session) {
			_, got := s.arrived(t, core.KindTimer)
			if inv := got.inv; inv == nil || inv.ID == "" || !s.isCloud(string(inv.Cloud)) || inv.Function == "" {
				t.Errorf("invocation %+v, want one with an id, cloud %s and a function", inv, s.h.Name())
			}
		}},
		{name: "invocation/span continues the platform's trace", run: func(t *testing.T, s *session) {
			spans := telemetrytest.RecordSpans(t, nil)
			_, body := s.do(t, "GET", "/invocation", nil, http.Header{"Traceparent": {Traceparent}})
			var info invocationInfo
			if err := json.Unmarshal(body, &info); err != nil || info.ID == "" {
				t.Fatalf("no invocation: %s", body)
			}
			span := waitSpan(t, spans, telemetry.AttrInvocationID, info.ID)
			// The platform's trace context: the caller's traceparent, or
			// on Lambda the Runtime API's X-Ray header.
			if got := span.SpanContext.TraceID().String(); !SameTrace(got, info.TraceID) || !span.Parent.IsValid() || !span.Parent.IsRemote() {
				t.Errorf("the invocation's span is in trace %s with parent %v, want a child of the platform's trace %s", got, span.Parent, info.TraceID)
			}
			if span.SpanKind != trace.SpanKindServer || spanAttr(span, telemetry.AttrTrigger) != "http" ||
				spanAttr(span, telemetry.AttrFunction) == "" || spanAttr(span, telemetry.AttrColdStart) != "false" {
				t.Errorf("the invocation's span: kind %v, attributes %v; want a warm server span of an http trigger naming its function", span.SpanKind, span.Attributes)
			}
		}},
		{name: "invocation/trace context in an HTTP request's context", run: func(t *testing.T, s *session) {
			_, body := s.do(t, "GET", "/invocation", nil, http.Header{"Traceparent": {Traceparent}})
			var info invocationInfo
			if err := json.Unmarshal(body, &info); err != nil || info.TraceID == "" {
				t.Errorf("the invocation has no trace: %s", body)
			}
		}},
		{name: "invocation/deadline in an HTTP request's context is the app's declared timeout", needs: []Capability{Deadline}, run: func(t *testing.T, s *session) {
			info := s.invocation(t)
			if left := time.Duration(info.RemainingMS) * time.Millisecond; !info.HasDeadline || !nearTimeout(left, HTTPTimeout) {
				t.Errorf("the request's context has deadline %v, %v away; want the app's declared %v", info.HasDeadline, left, HTTPTimeout)
			}
		}},
		{name: "invocation/deadline in an event's context is its function's declared timeout", needs: []Capability{EventDeadline}, run: func(t *testing.T, s *session) {
			_, got := s.arrived(t, core.KindTimer)
			if left := got.deadline.Sub(got.at); !got.hasDeadline || !nearTimeout(left, TimerTimeout) {
				t.Errorf("the event's context has deadline %v, %v away; want its function's declared %v", got.hasDeadline, left, TimerTimeout)
			}
		}},
		{name: "invocation/HTTP middleware order", run: func(t *testing.T, s *session) {
			s.app.takeTrace()
			s.do(t, "GET", "/status/204", nil, nil)
			if got := strings.Join(s.app.takeTrace(), ","); got != "http:outer,http:inner" {
				t.Errorf("middleware ran %q, want outer then inner", got)
			}
		}},
		{name: "invocation/event middleware order", run: func(t *testing.T, s *session) {
			s.app.takeTrace()
			s.deliver(t, "timer", s.fixture(core.KindTimer))
			if got := strings.Join(s.app.takeTrace(), ","); got != "event:outer,event:inner" {
				t.Errorf("middleware ran %q, want outer then inner", got)
			}
		}},
	}
}

// nearTimeout reports whether a deadline left away from its invocation's
// start is the one of a unit with timeout d: at most d, and less only by a
// margin an adapter keeps to reply in time (AWS's 200 ms) and the time the
// invocation took to reach the handler.
func nearTimeout(left, d time.Duration) bool {
	return left <= d && left > d-2*time.Second
}

// isCloud reports whether cloud is the platform's: its name, or the start
// of it ("azure" for "azure-proxying").
func (s *session) isCloud(cloud string) bool {
	name := s.h.Name()
	return cloud != "" && (name == cloud || strings.HasPrefix(name, cloud+"-"))
}

func (s *session) invocation(t *testing.T) invocationInfo {
	t.Helper()
	resp, body := s.do(t, "GET", "/invocation", nil, nil)
	var info invocationInfo
	if err := json.Unmarshal(body, &info); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /invocation: %d %s", resp.StatusCode, body)
	}
	return info
}

// ------------------------------------------------------------- tracing

// waitSpan returns the span whose attribute key is value, waiting a little
// for it: a platform may answer before its invocation has ended.
func waitSpan(t *testing.T, exp *tracetest.InMemoryExporter, key attribute.Key, value string) tracetest.SpanStub {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		spans := exp.GetSpans()
		for _, s := range spans {
			if spanAttr(s, key) == value {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no span with %s=%s among %d", key, value, len(spans))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// spanAttr returns a span's attribute as text, or "".
func spanAttr(s tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}
