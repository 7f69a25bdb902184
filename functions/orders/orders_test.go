package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/polyfn/polyfn/core"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"
)

const orderA = `{"id":"A-1001","customer":"Ada","items":[{"sku":"TEA-01","quantity":2},{"sku":"CUP-07","quantity":1}],"total":23.5}`

// fixture is a started orders app on a fileblob bucket in a temporary
// directory, with the test's own handle on the bucket.
type fixture struct {
	dir     string
	handler core.Handler
	bucket  *blob.Bucket
}

func bucketURL(dir string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: "create_dir=true&no_tmp_dir=true"}).String()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.handler = start(t, f.dir)
	b, err := blob.OpenBucket(t.Context(), bucketURL(f.dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	f.bucket = b
	return f
}

// start starts an orders app on a bucket in dir and returns its handler.
func start(t *testing.T, dir string) core.Handler {
	t.Helper()
	app := New()
	env := map[string]string{BucketEnv: bucketURL(dir)}
	if err := app.Init(t.Context(), func(k string) string { return env[k] }); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() {
		if err := app.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	ef, ok := app.EventFunc("record-order")
	if !ok {
		t.Fatal(`no event function "record-order"`)
	}
	return ef.Handler
}

// message returns the event an adapter delivers for one message.
func message(t testing.TB, id, body string) core.Event {
	t.Helper()
	e, err := core.NewEvent(core.TypeMessage, id, "test://orders", &core.Message{ID: id, Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fixture) deliver(t *testing.T, body string) error {
	t.Helper()
	return core.Invoke(t.Context(), f.handler, message(t, "m-1", body))
}

// objects returns every object in the bucket, by key.
func (f *fixture) objects(t *testing.T) map[string]string {
	t.Helper()
	objs := map[string]string{}
	it := f.bucket.List(nil)
	for {
		obj, err := it.Next(t.Context())
		if err == io.EOF {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := f.bucket.ReadAll(t.Context(), obj.Key)
		if err != nil {
			t.Fatal(err)
		}
		objs[obj.Key] = string(data)
	}
}

func TestBatch(t *testing.T) {
	f := newFixture(t)
	events := []core.Event{
		message(t, "m-1", orderA),
		message(t, "m-2", `{"id":"B-1","customer":"Bob","items":[{"sku":"TEA-01","quantity":1.5}],"total":1}`),
		message(t, "m-3", orderA), // redelivered
	}
	failures := core.ProcessBatch(t.Context(), f.handler, events, nil)
	if len(failures) != 1 {
		t.Fatalf("got %d failures %v, want 1", len(failures), failures)
	}
	if got, want := failures[0].Index, 1; got != want {
		t.Errorf("failed index: got %d, want %d", got, want)
	}
	if got, want := core.CodeOf(failures[0].Err), core.InvalidArgument; got != want {
		t.Errorf("failure code: got %v, want %v (error %v)", got, want, failures[0].Err)
	}
	// The error text is all a dead letter shows: it names each violation.
	if got, want := failures[0].Err.Error(), "/items/0/quantity: must be a positive integer"; !strings.Contains(got, want) {
		t.Errorf("failure text: got %q, want it to contain %q", got, want)
	}
	want := map[string]string{
		"orders/A-1001.json": orderA, // orderA is written in canonical form
	}
	if diff := cmp.Diff(want, f.objects(t)); diff != "" {
		t.Errorf("bucket contents (-want +got):\n%s", diff)
	}
	attrs, err := f.bucket.Attributes(t.Context(), "orders/A-1001.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := attrs.ContentType, "application/json"; got != want {
		t.Errorf("content type: got %q, want %q", got, want)
	}
}

func TestDecodeOrder(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Order
	}{
		{"typical", orderA, Order{ID: "A-1001", Customer: "Ada", Items: []Item{{"TEA-01", 2}, {"CUP-07", 1}}, Total: 23.5}},
		{"white space and member order", " {\n \"total\": 3, \"items\": [ {\"quantity\": 1, \"sku\": \"X\"} ], \"customer\": \"Ada\", \"id\": \"x\" }\n",
			Order{ID: "x", Customer: "Ada", Items: []Item{{"X", 1}}, Total: 3}},
		{"longest id", `{"id":"` + strings.Repeat("a", 128) + `","customer":"Ada","items":[{"sku":"X","quantity":1}],"total":0}`,
			Order{ID: strings.Repeat("a", 128), Customer: "Ada", Items: []Item{{"X", 1}}}},
		{"every id character", `{"id":"AZaz09._-","customer":"Ada","items":[{"sku":"X","quantity":1}],"total":0}`,
			Order{ID: "AZaz09._-", Customer: "Ada", Items: []Item{{"X", 1}}}},
		{"negative zero total", `{"id":"x","customer":"Ada","items":[{"sku":"X","quantity":1}],"total":-0.0}`,
			Order{ID: "x", Customer: "Ada", Items: []Item{{"X", 1}}}},
		{"large quantity", `{"id":"x","customer":"Åsa Öberg","items":[{"sku":"X","quantity":9223372036854775807}],"total":1e3}`,
			Order{ID: "x", Customer: "Åsa Öberg", Items: []Item{{"X", 9223372036854775807}}, Total: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeOrder([]byte(tt.body))
			if err != nil {
				t.Fatalf("decodeOrder: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("order mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	const (
		okItems = `"items":[{"sku":"X","quantity":1}]`
		okRest  = `"customer":"Ada",` + okItems + `,"total":1`
	)
	item := func(members string) string {
		return `{"id":"x","customer":"Ada","items":[` + members + `],"total":1}`
	}
	tests := []struct {
		name         string
		body         string
		wantPointers []string // "" is a violation of the whole body
	}{
		{"invalid JSON", `{"id":`, []string{""}},
		{"empty body", ``, []string{""}},
		{"white space", " \n", []string{""}},
		{"trailing garbage", `{"id":"x",` + okRest + `} x`, []string{""}},
		{"two orders", `{"id":"x",` + okRest + `}{"id":"y",` + okRest + `}`, []string{""}},
		{"array", `[{"id":"x",` + okRest + `}]`, []string{""}},
		{"null", `null`, []string{""}},
		{"number", `42`, []string{""}},
		{"missing id", `{` + okRest + `}`, []string{"/id"}},
		{"empty id", `{"id":"",` + okRest + `}`, []string{"/id"}},
		{"null id", `{"id":null,` + okRest + `}`, []string{"/id"}},
		{"numeric id", `{"id":42,` + okRest + `}`, []string{"/id"}},
		{"id with a slash", `{"id":"../x",` + okRest + `}`, []string{"/id"}},
		{"id with a space", `{"id":"a b",` + okRest + `}`, []string{"/id"}},
		{"id with a non-ASCII letter", `{"id":"ordér",` + okRest + `}`, []string{"/id"}},
		{"id too long", `{"id":"` + strings.Repeat("a", 129) + `",` + okRest + `}`, []string{"/id"}},
		{"missing customer", `{"id":"x",` + okItems + `,"total":1}`, []string{"/customer"}},
		{"blank customer", `{"id":"x","customer":" ",` + okItems + `,"total":1}`, []string{"/customer"}},
		{"customer object", `{"id":"x","customer":{"name":"Ada"},` + okItems + `,"total":1}`, []string{"/customer"}},
		{"missing items", `{"id":"x","customer":"Ada","total":1}`, []string{"/items"}},
		{"empty items", `{"id":"x","customer":"Ada","items":[],"total":1}`, []string{"/items"}},
		{"items object", `{"id":"x","customer":"Ada","items":{"sku":"X","quantity":1},"total":1}`, []string{"/items"}},
		{"null items", `{"id":"x","customer":"Ada","items":null,"total":1}`, []string{"/items"}},
		{"item not an object", item(`1`), []string{"/items/0"}},
		{"missing sku", item(`{"quantity":1}`), []string{"/items/0/sku"}},
		{"empty sku", item(`{"sku":"","quantity":1}`), []string{"/items/0/sku"}},
		{"numeric sku", item(`{"sku":7,"quantity":1}`), []string{"/items/0/sku"}},
		{"missing quantity", item(`{"sku":"X"}`), []string{"/items/0/quantity"}},
		{"fractional quantity", item(`{"sku":"X","quantity":1.5}`), []string{"/items/0/quantity"}},
		{"quantity 2.0", item(`{"sku":"X","quantity":2.0}`), []string{"/items/0/quantity"}},
		{"quantity with exponent", item(`{"sku":"X","quantity":1e2}`), []string{"/items/0/quantity"}},
		{"string quantity", item(`{"sku":"X","quantity":"2"}`), []string{"/items/0/quantity"}},
		{"zero quantity", item(`{"sku":"X","quantity":0}`), []string{"/items/0/quantity"}},
		{"negative quantity", item(`{"sku":"X","quantity":-3}`), []string{"/items/0/quantity"}},
		{"null quantity", item(`{"sku":"X","quantity":null}`), []string{"/items/0/quantity"}},
		{"boolean quantity", item(`{"sku":"X","quantity":true}`), []string{"/items/0/quantity"}},
		{"quantity out of range", item(`{"sku":"X","quantity":9223372036854775808}`), []string{"/items/0/quantity"}},
		{"unknown item member", item(`{"sku":"X","quantity":1,"colour":"red"}`), []string{"/items/0/colour"}},
		{"second item bad", item(`{"sku":"X","quantity":1},{"sku":"Y","quantity":0}`), []string{"/items/1/quantity"}},
		{"missing total", `{"id":"x","customer":"Ada",` + okItems + `}`, []string{"/total"}},
		{"negative total", `{"id":"x","customer":"Ada",` + okItems + `,"total":-0.01}`, []string{"/total"}},
		{"string total", `{"id":"x","customer":"Ada",` + okItems + `,"total":"10"}`, []string{"/total"}},
		{"null total", `{"id":"x","customer":"Ada",` + okItems + `,"total":null}`, []string{"/total"}},
		{"total out of range", `{"id":"x","customer":"Ada",` + okItems + `,"total":1e400}`, []string{"/total"}},
		{"unknown member", `{"id":"x",` + okRest + `,"note":"rush"}`, []string{"/note"}},
		{"every violation", `{"id":"a/b","customer":null,"items":[{"sku":"","quantity":1.5,"x":1},"y"],"total":-1,"a/b~":0}`,
			[]string{"/id", "/customer", "/items/0/sku", "/items/0/quantity", "/items/0/x", "/items/1", "/total", "/a~1b~0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			err := f.deliver(t, tt.body)
			if got, want := core.CodeOf(err), core.InvalidArgument; err == nil || got != want {
				t.Fatalf("handler: got error %v (code %v), want code %v", err, got, want)
			}
			var ve *core.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got error %v (%T), want a ValidationError in its chain", err, err)
			}
			var got []string
			for _, v := range ve.Violations {
				got = append(got, v.Pointer)
			}
			if diff := cmp.Diff(tt.wantPointers, got); diff != "" {
				t.Errorf("violation pointers (-want +got):\n%s", diff)
			}
			if objs := f.objects(t); len(objs) != 0 {
				t.Errorf("stored %v, want nothing", objs)
			}
		})
	}
}

func TestDuplicates(t *testing.T) {
	tests := []struct {
		name     string
		first    string
		second   string
		wantCode core.Code // of the second delivery; Unknown: success
	}{
		{"same bytes", orderA, orderA, core.Unknown},
		{"same order, another encoding",
			orderA,
			`{"total":23.50,"items":[{"quantity":2,"sku":"TEA-01"},{"sku":"CUP-07","quantity":1}],"customer":"Ada","id":"A-1001"}`,
			core.Unknown},
		{"other customer", orderA, strings.Replace(orderA, `"Ada"`, `"Bob"`, 1), core.AlreadyExists},
		{"other total", orderA, strings.Replace(orderA, `23.5`, `23.6`, 1), core.AlreadyExists},
		{"items in another order", orderA,
			`{"id":"A-1001","customer":"Ada","items":[{"sku":"CUP-07","quantity":1},{"sku":"TEA-01","quantity":2}],"total":23.5}`,
			core.AlreadyExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if err := f.deliver(t, tt.first); err != nil {
				t.Fatalf("first delivery: %v", err)
			}
			err := f.deliver(t, tt.second)
			if tt.wantCode == core.Unknown {
				if err != nil {
					t.Fatalf("second delivery: got error %v, want nil", err)
				}
			} else if got := core.CodeOf(err); err == nil || got != tt.wantCode {
				t.Fatalf("second delivery: got error %v (code %v), want code %v", err, got, tt.wantCode)
			}
			want := map[string]string{"orders/A-1001.json": orderA}
			if diff := cmp.Diff(want, f.objects(t)); diff != "" {
				t.Errorf("bucket contents (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConcurrentDuplicates(t *testing.T) {
	f := newFixture(t)
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = core.Invoke(t.Context(), f.handler, message(t, fmt.Sprintf("m-%d", i), orderA))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("delivery %d: got error %v, want nil", i, err)
		}
	}
	want := map[string]string{"orders/A-1001.json": orderA}
	if diff := cmp.Diff(want, f.objects(t)); diff != "" {
		t.Errorf("bucket contents (-want +got):\n%s", diff)
	}
}

// TestConcurrentConflicts delivers n different orders with one id at once:
// exactly one is recorded, and every other fails with AlreadyExists.
func TestConcurrentConflicts(t *testing.T) {
	f := newFixture(t)
	const n = 20
	bodies := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		bodies[i] = strings.Replace(orderA, `"Ada"`, fmt.Sprintf(`"customer %d"`, i), 1)
		wg.Go(func() {
			errs[i] = core.Invoke(t.Context(), f.handler, message(t, fmt.Sprintf("m-%d", i), bodies[i]))
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("deliveries %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case core.CodeOf(err) != core.AlreadyExists:
			t.Errorf("delivery %d: got error %v (code %v), want code %v", i, err, core.CodeOf(err), core.AlreadyExists)
		}
	}
	if winner < 0 {
		t.Fatal("no delivery succeeded")
	}
	want := map[string]string{"orders/A-1001.json": bodies[winner]}
	if diff := cmp.Diff(want, f.objects(t)); diff != "" {
		t.Errorf("bucket contents (-want +got):\n%s", diff)
	}
}

func TestRecordedAcrossRestart(t *testing.T) {
	f := newFixture(t)
	if err := f.deliver(t, orderA); err != nil {
		t.Fatal(err)
	}
	restarted := start(t, f.dir)
	if err := core.Invoke(t.Context(), restarted, message(t, "m-2", orderA)); err != nil {
		t.Errorf("redelivery after restart: got error %v, want nil", err)
	}
	other := strings.Replace(orderA, `"Ada"`, `"Bob"`, 1)
	if err := core.Invoke(t.Context(), restarted, message(t, "m-3", other)); core.CodeOf(err) != core.AlreadyExists {
		t.Errorf("conflict after restart: got error %v, want code %v", err, core.AlreadyExists)
	}
}

func TestStorageFailureIsRetryable(t *testing.T) {
	f := newFixture(t)
	// A file where the orders/ directory belongs makes every write fail.
	if err := os.WriteFile(filepath.Join(f.dir, "orders"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := f.deliver(t, orderA)
	if got, want := core.CodeOf(err), core.Unavailable; err == nil || got != want {
		t.Fatalf("handler: got error %v (code %v), want code %v", err, got, want)
	}
}

func TestNotAMessageEvent(t *testing.T) {
	f := newFixture(t)
	e, err := core.NewEvent(core.TypeObjectCreated, "evt-1", "test://bucket", &core.Object{Key: "orders/x.json"})
	if err != nil {
		t.Fatal(err)
	}
	err = core.Invoke(t.Context(), f.handler, e)
	if got, want := core.CodeOf(err), core.InvalidArgument; err == nil || got != want {
		t.Fatalf("handler: got error %v (code %v), want code %v", err, got, want)
	}
}

func TestDeclaration(t *testing.T) {
	app := New()
	if got, want := app.Name(), "orders"; got != want {
		t.Errorf("Name: got %q, want %q", got, want)
	}
	want := []core.Resource{
		{Env: BucketEnv, Kind: core.KindBucket, Use: core.ReadWrite},
		{Env: SubscriptionEnv, Kind: core.KindSubscription, Use: core.Consume, Optional: true},
		{Env: TopicEnv, Kind: core.KindTopic, Optional: true},
	}
	if diff := cmp.Diff(want, app.Resources()); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	ef, ok := app.EventFunc("record-order")
	if !ok {
		t.Fatal(`no event function "record-order"`)
	}
	wantTrigger := core.MessageTrigger{Subscription: SubscriptionEnv, Topic: TopicEnv}
	if !cmp.Equal(ef.Trigger, core.Trigger(wantTrigger)) {
		t.Errorf("trigger: got %+v, want %+v", ef.Trigger, wantTrigger)
	}
}

// FuzzDecodeOrder checks that the decoder never panics, fails only with a
// ValidationError, and that an accepted order re-encodes (its canonical form)
// and decodes again to the same order.
func FuzzDecodeOrder(f *testing.F) {
	for _, s := range []string{
		orderA,
		`{"id":"x","customer":"Ada","items":[{"sku":"X","quantity":1}],"total":-0}`,
		`{"id":"x","customer":"Ada","items":[{"sku":"X","quantity":1.5}],"total":1e400}`,
		`{"id":"a/b","customer":null,"items":[{"sku":"","x":1},"y"],"total":-1,"a/b~":0}`,
		`{"id":"x","customer":"\u00e9\ud800","items":[{"sku":"<&>","quantity":9223372036854775807}],"total":5e-324}`,
		`{}`, `[]`, `null`, ``, `{"id":`, `{"id":"x"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := decodeOrder(body)
		if err != nil {
			var ve *core.ValidationError
			if !errors.As(err, &ve) || len(ve.Violations) == 0 {
				t.Fatalf("got error %v (%T), want a ValidationError with violations", err, err)
			}
			return
		}
		if !idPattern.MatchString(o.ID) || strings.TrimSpace(o.Customer) == "" || len(o.Items) == 0 || o.Total < 0 {
			t.Fatalf("accepted invalid order %+v", o)
		}
		canonical, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("encoding accepted order %+v: %v", o, err)
		}
		again, err := decodeOrder(canonical)
		if err != nil {
			t.Fatalf("canonical form %s does not decode: %v", canonical, err)
		}
		if diff := cmp.Diff(o, again); diff != "" {
			t.Fatalf("order changed by re-encoding (-want +got):\n%s", diff)
		}
		if again2, _ := json.Marshal(again); string(again2) != string(canonical) {
			t.Fatalf("canonical form is not stable: %s, then %s", canonical, again2)
		}
	})
}
