package awslambda

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
)

// TestUnit: a Handler told its unit serves that unit's payloads only, and
// refuses the others with an error saying which unit it is.
func TestUnit(t *testing.T) {
	tests := []struct {
		unit, payload string
		// refused is a part of the error; "" for served, then got names
		// the function that must have received it.
		refused, got string
	}{
		{unit: "test", payload: "function-url.json"},
		{unit: "test", payload: "apigw-v2-get.json"},
		{unit: "test", payload: "s3-put.json", refused: "unit test serves the app's HTTP routes only"},
		{unit: "test", payload: "scheduler.json", refused: "unit test serves the app's HTTP routes only"},
		{unit: "test-thumbs", payload: "s3-put.json", got: "thumbs"},
		{unit: "test-thumbs", payload: "function-url.json", refused: "unit test-thumbs runs the event function thumbs only; an HTTP request"},
		{unit: "test-thumbs", payload: "scheduler.json", refused: "unit test-thumbs runs the event function thumbs only"},
		{unit: "test-nightly-report", payload: "scheduler.json", got: "nightly-report"},
		// Another timer's schedule is not the one timer's to take.
		{unit: "test-hourly", payload: "scheduler.json", refused: "unit test-hourly runs the event function hourly only"},
		{unit: "test-orders", payload: "s3-put.json", refused: "unit test-orders runs the event function orders only"},
		{unit: "test-thumbs", payload: "sqs-fifo.json", refused: "unit test-thumbs runs the event function thumbs only"},
		{unit: "test-orders-fifo", payload: "sqs-fifo.json", got: "orders-fifo"},
	}
	for _, tt := range tests {
		t.Run(tt.unit+"/"+tt.payload, func(t *testing.T) {
			app, rec := newTestApp()
			h, err := New([]*core.App{app}, &Options{Env: func(k string) string { return testEnv[k] }, Logger: discardLogger, Unit: tt.unit})
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Invoke(lambdaContext(t, time.Now().Add(time.Minute)), readTestdata(t, tt.payload))
			switch {
			case tt.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.refused != "" && (err == nil || !strings.Contains(err.Error(), tt.refused)):
				t.Fatalf("got %v, want an error containing %q", err, tt.refused)
			}
			for _, fn := range app.EventFuncs() {
				n := len(rec.got(fn.Name))
				if want := fn.Name == tt.got; want != (n > 0) {
					t.Errorf("function %s received %d events", fn.Name, n)
				}
			}
		})
	}
}

// TestUnitEnv: the unit defaults to $POLYFN_UNIT.
func TestUnitEnv(t *testing.T) {
	t.Setenv(core.UnitEnv, "test-thumbs")
	app, _ := newTestApp()
	h, err := New([]*core.App{app}, &Options{Env: func(k string) string { return testEnv[k] }, Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Invoke(lambdaContext(t, time.Now().Add(time.Minute)), readTestdata(t, "function-url.json")); err == nil {
		t.Error("the thumbs unit served an HTTP request")
	}
}

// TestUnknownUnit: a unit the app does not have fails New, naming the
// units there are.
func TestUnknownUnit(t *testing.T) {
	app, _ := newTestApp()
	_, err := New([]*core.App{app}, &Options{Unit: "test-nope"})
	want := `POLYFN_UNIT="test-nope" names no unit of app test; its units are test, test-thumbs, test-orders, test-orders-fifo, test-order-events, test-bus, test-user-changes, test-nightly-report, test-hourly`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error containing %s", err, want)
	}
	routeless := core.NewApp("quiet")
	routeless.On("tick", core.TimerTrigger{Schedule: "@hourly"}, core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
	if _, err := New([]*core.App{routeless}, &Options{Unit: "quiet"}); err == nil || !strings.Contains(err.Error(), "its units are quiet-tick") {
		t.Errorf("an app without routes has no HTTP unit: got %v", err)
	}
}

// TestUnitDeadline: an invocation's deadline is its unit's declared
// timeout after it starts, or Lambda's less the reply margin when that is
// earlier.
func TestUnitDeadline(t *testing.T) {
	var deadline time.Time
	app := core.NewApp("timed")
	app.HandleFunc("GET /", func(_ http.ResponseWriter, r *http.Request) { deadline, _ = r.Context().Deadline() })
	app.On("tick", core.TimerTrigger{Schedule: "@hourly"}, core.HandlerFunc(func(ctx context.Context, _ core.Event) error {
		deadline, _ = ctx.Deadline()
		return nil
	}))
	app.Size(core.Sizing{Timeout: 3 * time.Second})
	app.SizeFunc("tick", core.Sizing{Timeout: 5 * time.Second})
	scheduler := []byte(strings.Replace(string(readTestdata(t, "scheduler.json")), "nightly-report", "tick", 1))
	for _, tt := range []struct {
		unit    string
		payload []byte
		lambda  time.Duration // Lambda's deadline after now
		want    time.Duration // the invocation's
	}{
		{"timed", readTestdata(t, "function-url.json"), time.Minute, 3 * time.Second},
		{"timed", readTestdata(t, "function-url.json"), 2 * time.Second, 2*time.Second - defaultReplyMargin},
		{"timed-tick", scheduler, time.Minute, 5 * time.Second},
		{"timed-tick", scheduler, 4 * time.Second, 4*time.Second - defaultReplyMargin},
		// Every unit: the routes' timeout bounds a request.
		{"", readTestdata(t, "function-url.json"), time.Minute, 3 * time.Second},
	} {
		h, err := New([]*core.App{app}, &Options{Env: func(string) string { return "" }, Logger: discardLogger, Unit: tt.unit})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := h.Invoke(lambdaContext(t, start.Add(tt.lambda)), tt.payload); err != nil {
			t.Fatal(err)
		}
		if got := deadline.Sub(start); got < tt.want-200*time.Millisecond || got > tt.want+200*time.Millisecond {
			t.Errorf("unit %q, Lambda's deadline in %v: deadline in %v, want %v", tt.unit, tt.lambda, got, tt.want)
		}
	}
}

// TestEventDeadline: a Handler serving every unit gives an event the
// declared timeout of the function it is routed to, for a whole batch, or
// Lambda's deadline less the reply margin when that is earlier.
func TestEventDeadline(t *testing.T) {
	deadlines := map[string]time.Time{}
	app := core.NewApp("timed")
	app.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
	on := func(name string, trigger core.Trigger) {
		app.On(name, trigger, core.HandlerFunc(func(ctx context.Context, _ core.Event) error {
			deadlines[name], _ = ctx.Deadline()
			return nil
		}))
	}
	on("thumbs", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL"})
	on("orders", core.MessageTrigger{Subscription: "ORDERS_QUEUE_URL"})
	app.Size(core.Sizing{Timeout: 3 * time.Second})
	app.SizeFunc("thumbs", core.Sizing{Timeout: 4 * time.Second})
	app.SizeFunc("orders", core.Sizing{Timeout: 7 * time.Second})
	h, err := New([]*core.App{app}, &Options{Env: func(k string) string { return testEnv[k] }, Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		payload, function string
		lambda            time.Duration // Lambda's deadline after now
		want              time.Duration // the function's
	}{
		{"s3-put.json", "thumbs", time.Minute, 4 * time.Second},
		{"sqs.json", "orders", time.Minute, 7 * time.Second},
		{"sqs.json", "orders", 5 * time.Second, 5*time.Second - defaultReplyMargin},
	} {
		clear(deadlines)
		start := time.Now()
		ctx := lambdaContext(t, start.Add(tt.lambda))
		if _, err := h.Invoke(ctx, readTestdata(t, tt.payload)); err != nil {
			t.Fatal(err)
		}
		near := func(d time.Time) bool {
			got := d.Sub(start)
			return got > tt.want-200*time.Millisecond && got < tt.want+200*time.Millisecond
		}
		d, ok := deadlines[tt.function]
		if !ok || !near(d) {
			t.Errorf("%s, Lambda's deadline in %v: %s's deadline in %v, want %v", tt.payload, tt.lambda, tt.function, d.Sub(start), tt.want)
		}
		// Decode reads the deadline Invoke gives.
		got, err := h.Decode(ctx, readTestdata(t, tt.payload))
		if err != nil {
			t.Fatal(err)
		}
		if !near(got.Invocation.Deadline) {
			t.Errorf("%s, Lambda's deadline in %v: Decode's deadline in %v, want %v", tt.payload, tt.lambda, got.Invocation.Deadline.Sub(start), tt.want)
		}
	}
}
