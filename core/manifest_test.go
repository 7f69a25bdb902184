package core_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

func TestManifestRoundTrip(t *testing.T) {
	h := core.HandlerFunc(func(context.Context, core.Event) error { return nil })
	app := core.NewApp("shop")
	noop := func(http.ResponseWriter, *http.Request) {}
	app.HandleFunc("GET /items/{id}", noop)
	app.HandleFunc("/health", noop)
	app.Require(core.Bucket("ITEMS_BUCKET_URL"))
	app.On("on-upload", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/", Suffix: ".png"}, h)
	app.On("on-order", core.MessageTrigger{Subscription: "ORDERS_SUBSCRIPTION_URL", Topic: "ORDERS_TOPIC_URL", Ordered: true, MaxDeliveries: 3}, h)
	app.On("on-change", core.ChangeTrigger{Source: "ITEMS_TABLE"}, h)
	app.On("nightly", core.TimerTrigger{Schedule: "0 3 * * *", TimeZone: "Europe/Paris"}, h)

	b, err := json.Marshal([]core.Manifest{app.Manifest()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := core.ParseManifests(b)
	if err != nil {
		t.Fatalf("ParseManifests(%s): %v", b, err)
	}
	if diff := cmp.Diff([]core.Manifest{app.Manifest()}, got); diff != "" {
		t.Errorf("manifest round trip (-want +got):\n%s", diff)
	}
	m := got[0]
	if m.Functions[0].Trigger.Object.Events[0] != core.KindObjectCreated {
		t.Errorf("object trigger events = %v, want the default made explicit", m.Functions[0].Trigger.Object.Events)
	}
	if m.Routes[1].Method != "" || m.Routes[1].Path != "/health" {
		t.Errorf("route without method = %+v", m.Routes[1])
	}
	for _, f := range m.Functions {
		tr, err := f.Trigger.Trigger()
		if err != nil || tr.Kinds()[0] == "" {
			t.Errorf("%s: Trigger() = %v, %v", f.Name, tr, err)
		}
	}
}

func TestParseManifestsRejects(t *testing.T) {
	for _, in := range []string{
		`{`,
		`[{"app":"a","functions":[{"name":"f","trigger":{"kind":"timer"}}]}]`,
		`[{"app":"a","functions":[{"name":"f","trigger":{"kind":"object","object":{"bucket":"lower"}}}]}]`,
	} {
		if _, err := core.ParseManifests([]byte(in)); err == nil {
			t.Errorf("ParseManifests(%s) succeeded, want an error", in)
		}
	}
}
