package core_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

func TestManifestRoundTrip(t *testing.T) {
	h := core.HandlerFunc(func(context.Context, core.Event) error { return nil })
	app := core.NewApp("shop")
	noop := func(http.ResponseWriter, *http.Request) {}
	app.HandleFunc("GET /items/{id}", noop)
	app.HandleFunc("/health", noop)
	app.Require(core.Bucket("ITEMS_BUCKET_URL", core.Read), core.Collection("ITEMS_COLLECTION_URL", core.Write),
		core.Keeper("ITEMS_KEEPER_URL", core.Decrypt), core.Variable("ITEMS_FLAGS_URL"))
	app.Size(core.Sizing{MemoryMiB: 256, Timeout: 10 * time.Second, Arch: core.ARM64, WarmInstances: 1, MaxInstances: 4, PerInstanceConcurrency: 40})
	app.On("on-upload", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "uploads/", Suffix: ".png"}, h)
	app.On("on-order", core.MessageTrigger{Subscription: "ORDERS_SUBSCRIPTION_URL", Topic: "ORDERS_TOPIC_URL", Ordered: true, MaxDeliveries: 3}, h)
	app.On("on-change", core.ChangeTrigger{Source: "ITEMS_TABLE"}, h)
	app.On("nightly", core.TimerTrigger{Schedule: "0 3 * * *", TimeZone: "Europe/Paris"}, h)
	app.SizeFunc("on-upload", core.Sizing{MemoryMiB: 1024, Timeout: time.Minute, MaxConcurrency: 10})

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
	if m.Sizing == nil || m.Sizing.Timeout != 10*time.Second || m.Functions[0].Sizing == nil || m.Functions[1].Sizing != nil {
		t.Errorf("sizings: app %+v, functions %+v and %+v", m.Sizing, m.Functions[0].Sizing, m.Functions[1].Sizing)
	}
	for _, want := range []string{
		`"sizing":{"memoryMiB":256,"timeout":"10s","arch":"arm64","warmInstances":1,"maxInstances":4,"perInstanceConcurrency":40}`,
		`"sizing":{"memoryMiB":1024,"timeout":"1m0s","maxConcurrency":10}`,
		`{"env":"ITEMS_COLLECTION_URL","kind":"collection","use":"write"}`,
		`{"env":"ITEMS_KEEPER_URL","kind":"keeper","use":"decrypt"}`,
		`{"env":"ITEMS_FLAGS_URL","kind":"variable","use":"read"}`,
		`{"env":"ORDERS_SUBSCRIPTION_URL","kind":"subscription","use":"consume","optional":true}`,
		`{"env":"ORDERS_TOPIC_URL","kind":"topic","optional":true}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("manifest JSON %s\nlacks %s", b, want)
		}
	}
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
		`[{"app":"a","resources":[{"env":"T_URL","kind":"topic","use":"read"}]}]`,
		`[{"app":"a","resources":[{"env":"K_URL","kind":"keeper","use":"read-write"}]}]`,
		`[{"app":"a","resources":[{"env":"I_URL","kind":"oidc-issuer","use":"read"}]}]`,
		`[{"app":"a","resources":[{"env":"Q_URL","kind":"queue"}]}]`,
		`[{"app":"a","resources":[{"env":"lower","kind":"bucket"}]}]`,
		`[{"app":"a","sizing":{"memoryMiB":64}}]`,
		`[{"app":"a","sizing":{"timeout":"16m"}}]`,
		`[{"app":"a","sizing":{"timeout":"soon"}}]`,
		`[{"app":"a","functions":[{"name":"f","trigger":{"kind":"timer","timer":{"schedule":"0 3 * * *"}},"sizing":{"arch":"amd64"}}]}]`,
	} {
		if _, err := core.ParseManifests([]byte(in)); err == nil {
			t.Errorf("ParseManifests(%s) succeeded, want an error", in)
		}
	}
}
