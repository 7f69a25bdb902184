package gcpfunctions

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/polyfn/polyfn/core"
)

// TestDecoderIsDeliver: an entry point with a decoded hook hands it exactly
// the event and invocation the same entry point hands the function, for
// CloudEvent functions and timers (through Pub/Sub and an HTTP target).
func TestDecoderIsDeliver(t *testing.T) {
	const fsSource = "//firestore.googleapis.com/projects/my-project/databases/(default)"
	tests := []struct {
		name    string
		trigger core.Trigger
		request func() *http.Request
	}{
		{"storage", core.ObjectTrigger{Bucket: "B"}, func() *http.Request {
			return binaryRequest(typeObjectFinalized, bucketSource, "e-1", "application/json", readTestdata(t, "storage", "finalized.json"))
		}},
		{"pub/sub", core.MessageTrigger{Subscription: "S"}, func() *http.Request {
			return binaryRequest(typeMessagePublished, topicSource, "2070443601311540", "application/json", readTestdata(t, "pubsub", "full.json"),
				"Ce-Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		}},
		{"firestore", core.ChangeTrigger{Source: "T"}, func() *http.Request {
			return binaryRequest(typeDocumentUpdated, fsSource, "f-1", "application/protobuf", readTestdata(t, "firestore", "updated.pb"))
		}},
		{"scheduler through pub/sub", core.TimerTrigger{Schedule: "@hourly"}, func() *http.Request {
			return binaryRequest(typeMessagePublished, topicSource, "7", "application/json", readTestdata(t, "pubsub", "attributes-only.json"))
		}},
		{"scheduler HTTP target", core.TimerTrigger{Schedule: "@hourly"}, func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"report":"daily"}`))
			r.Header.Set(schedulerJobHeader, "nightly-report")
			r.Header.Set(schedulerTimeHeader, "2026-11-22T03:00:00Z")
			r.Header.Set("Function-Execution-Id", "x-1")
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var delivered []core.Event
			var deliveredInv core.Invocation
			app := core.NewApp("decode")
			app.On("fn", tt.trigger, core.HandlerFunc(func(ctx context.Context, e core.Event) error {
				inv, _ := core.InvocationFrom(ctx)
				deliveredInv = *inv
				delivered = append(delivered, e)
				return nil
			}))
			fn := app.EventFuncs()[0]
			var decoded *core.Delivery
			serve := func(r *Registration) {
				ep, err := r.eventEntryPoint(fn)
				if err != nil {
					t.Fatal(err)
				}
				h := http.Handler(ep.http)
				if ep.http == nil {
					h = serveCloudEvent(t, ep.http)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, tt.request())
				if w.Code != http.StatusOK {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			serve(&Registration{})
			serve(&Registration{decoded: func(d *core.Delivery, err error) {
				if err != nil {
					t.Fatal(err)
				}
				decoded = d
			}})
			if decoded == nil {
				t.Fatal("the decoder was not called")
			}
			deliveredInv.ColdStart, decoded.Invocation.ColdStart = false, false
			// Each computes its deadline from its own start, microseconds apart.
			if diff := cmp.Diff(deliveredInv, decoded.Invocation, cmpopts.EquateApproxTime(time.Second)); diff != "" {
				t.Errorf("invocation (-delivered +decoded):\n%s", diff)
			}
			want, _ := json.Marshal(delivered)
			got, _ := json.Marshal(decoded.Events)
			if string(got) != string(want) {
				t.Errorf("decoded %s\ndelivered %s", got, want)
			}
		})
	}
}

// TestDecoderErrors: a decoding error reaches the decoder, and the entry
// point acknowledges it.
func TestDecoderErrors(t *testing.T) {
	var gotErr error
	r := &Registration{decoded: func(_ *core.Delivery, err error) { gotErr = err }}
	ep, err := r.eventEntryPoint(core.EventFunc{Name: "fn", Trigger: core.ObjectTrigger{Bucket: "B"}})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	serveCloudEvent(t, ep.http).ServeHTTP(w, binaryRequest(typeObjectFinalized, bucketSource, "e-1", "application/json", []byte(`{"bucket":"b"}`)))
	if w.Code != http.StatusOK || core.CodeOf(gotErr) != core.InvalidArgument || !strings.Contains(gotErr.Error(), "no object name") {
		t.Errorf("status %d, error %v; want 200 and the InvalidArgument error", w.Code, gotErr)
	}
}

// TestRegisterDecoder registers with the framework once per name.
func TestRegisterDecoder(t *testing.T) {
	if err := RegisterDecoder("decode-test-http", nil, core.Sizing{}, func(*core.Delivery, error) {}); err != nil {
		t.Fatal(err)
	}
	if err := RegisterDecoder("decode-test-timer", core.TimerTrigger{Schedule: "@hourly"}, core.Sizing{}, func(*core.Delivery, error) {}); err != nil {
		t.Fatal(err)
	}
	if err := RegisterDecoder("decode-test-http", nil, core.Sizing{}, func(*core.Delivery, error) {}); err == nil || !strings.Contains(err.Error(), "registered already") {
		t.Errorf("a second registration: %v", err)
	}
	if err := RegisterDecoder("decode-test-nil", nil, core.Sizing{}, nil); err == nil {
		t.Error("a decoder without a function to call")
	}
}
