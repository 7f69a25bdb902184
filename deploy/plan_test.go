package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
	"github.com/polyfn/polyfn/deploy/deploytest"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
)

// update rewrites the golden plans in testdata instead of comparing with
// them: go test ./deploy -run Golden -update, then review the diff.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGoldenPlans compares the plan of each example app with its golden
// JSON file.
func TestGoldenPlans(t *testing.T) {
	tests := []struct {
		name string
		app  *core.App
		opts *deploy.Options
	}{
		{"users", users.New(), nil},
		{"thumbnails", thumbnails.New(), &deploy.Options{Arch: core.ARM64}},
		{"orders", orders.New(), nil},
		{deploytest.KitchenSinkName, deploytest.KitchenSink(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := deploy.NewPlan([]core.Manifest{tt.app.Manifest()}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", tt.name+".plan.json"), p)
		})
	}
}

// TestUnitsOfAnApp checks what the golden files show for an app with both
// routes and event functions of every trigger kind: one unit per function
// beside the routes' unit, the sizing of each (not the app's for its
// functions), the trigger's variables given only to their own unit, and
// the alarms resolved against each unit's timeout.
func TestUnitsOfAnApp(t *testing.T) {
	app := core.NewApp("shop")
	app.Require(
		core.Bucket("MEDIA_BUCKET_URL", core.Read),
		core.Collection("ORDERS_COLLECTION_URL", core.Write),
		core.Keeper("KEYS_URL", core.Decrypt),
		core.Resource{Env: "ISSUER_URL", Kind: core.KindOIDCIssuer},
	)
	noop := core.HandlerFunc(func(ctx context.Context, e core.Event) error { return nil })
	app.HandleFunc("GET /items", func(http.ResponseWriter, *http.Request) {})
	app.On("on-upload", core.ObjectTrigger{Bucket: "UPLOADS_BUCKET_URL"}, noop)
	app.On("on-order", core.MessageTrigger{Subscription: "ORDERS_SUB_URL", Topic: "ORDERS_TOPIC_URL", Ordered: true, MaxDeliveries: 3}, noop)
	app.On("nightly", core.TimerTrigger{Schedule: "0 3 * * *", TimeZone: "Europe/Paris"}, noop)
	app.On("on-change", core.ChangeTrigger{Source: "ORDERS_COLLECTION_URL"}, noop)
	app.Size(core.Sizing{MemoryMiB: 512, Timeout: 20 * time.Second, WarmInstances: 1})
	app.SizeFunc("on-order", core.Sizing{Timeout: 2 * time.Minute, Arch: core.ARM64, MaxConcurrency: 10})
	app.Alarms(core.Alarms{Errors: 3, Notify: []core.Channel{core.EmailChannel("Oncall@Example.com"), core.SlackChannelOf("T0123", "C0456")}})

	p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, u := range p.Units {
		names = append(names, u.Name)
	}
	if got, want := strings.Join(names, " "), "shop shop-on-upload shop-on-order shop-nightly shop-on-change"; got != want {
		t.Fatalf("units %q, want %q", got, want)
	}
	web, upload, order, nightly, change := p.Units[0], p.Units[1], p.Units[2], p.Units[3], p.Units[4]

	if want := (deploy.Sizing{MemoryMiB: 512, TimeoutSeconds: 20, Arch: core.X86_64, WarmInstances: 1, PerInstanceConcurrency: 1}); web.Sizing != want {
		t.Errorf("HTTP unit's sizing %+v, want %+v", web.Sizing, want)
	}
	if want := (deploy.Sizing{MemoryMiB: 128, TimeoutSeconds: 120, Arch: core.ARM64, MaxConcurrency: 10, PerInstanceConcurrency: 1}); order.Sizing != want {
		t.Errorf("on-order's sizing %+v, want %+v", order.Sizing, want)
	}
	if want := (deploy.Sizing{MemoryMiB: 128, TimeoutSeconds: 30, Arch: core.X86_64, PerInstanceConcurrency: 1}); upload.Sizing != want {
		t.Errorf("on-upload's sizing %+v (not the app's), want the defaults %+v", upload.Sizing, want)
	}

	shared := "ISSUER_URL: KEYS_URL:decrypt MEDIA_BUCKET_URL:read ORDERS_COLLECTION_URL:write"
	for _, tc := range []struct {
		u    deploy.Unit
		want string
	}{
		{web, shared},
		{upload, shared + " UPLOADS_BUCKET_URL:*"},
		{order, shared + " ORDERS_SUB_URL:consume* ORDERS_TOPIC_URL:*"},
		{nightly, shared},
		{change, shared},
	} {
		if got := resources(tc.u); got != sortedFields(tc.want) {
			t.Errorf("%s's resources %q, want %q", tc.u.Name, got, sortedFields(tc.want))
		}
	}

	if want := (deploy.Queue{Subscription: "ORDERS_SUB_URL", Topic: "ORDERS_TOPIC_URL", Ordered: true, MaxDeliveries: 3, DeadLetter: "shop-on-order-dead-letter"}); order.Queue == nil || *order.Queue != want {
		t.Errorf("on-order's queue %+v, want %+v", order.Queue, want)
	}
	for _, u := range []deploy.Unit{web, upload, nightly, change} {
		if u.Queue != nil {
			t.Errorf("%s has a queue %+v, want none", u.Name, u.Queue)
		}
	}
	if nightly.Schedule == nil || nightly.Schedule.Cron == nil || nightly.Schedule.Cron.String() != "0 0 3 * * *" || nightly.Schedule.TimeZone != "Europe/Paris" {
		t.Errorf("nightly's schedule %+v, want 0 0 3 * * * in Europe/Paris", nightly.Schedule)
	}
	// P99 defaults to 80% of each unit's own timeout.
	for _, tc := range []struct {
		u   deploy.Unit
		p99 int64
	}{{web, 16000}, {order, 96000}, {upload, 24000}} {
		want := &deploy.Alarms{ErrorRate: 1, Errors: 3, Throttles: 1, P99Millis: tc.p99, PeriodSeconds: 300,
			Notify: []string{"email-oncall-example-com", "slack-c0456"}}
		if diff := cmp.Diff(want, tc.u.Alarms); diff != "" {
			t.Errorf("%s's alarms (-want +got):\n%s", tc.u.Name, diff)
		}
	}
	wantChannels := []deploy.Channel{
		{Name: "email-oncall-example-com", Email: "Oncall@Example.com"},
		{Name: "slack-c0456", Slack: &core.SlackChannel{Workspace: "T0123", Channel: "C0456"}},
	}
	if diff := cmp.Diff(wantChannels, p.Channels); diff != "" {
		t.Errorf("channels (-want +got):\n%s", diff)
	}
}

// TestChannelsShared checks that two apps notifying the same channel get
// one channel in the plan, and that two channels whose names would clash
// are refused, naming both.
func TestChannelsShared(t *testing.T) {
	app := func(name string, cs ...core.Channel) core.Manifest {
		a := core.NewApp(name)
		a.HandleFunc("GET /"+name, func(http.ResponseWriter, *http.Request) {})
		a.Alarms(core.Alarms{Notify: cs})
		return a.Manifest()
	}
	oncall := core.EmailChannel("oncall@example.com")
	p, err := deploy.NewPlan([]core.Manifest{app("a", oncall), app("b", core.EmailChannel("dev@example.com"), oncall)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range p.Channels {
		names = append(names, c.Name)
	}
	if got, want := strings.Join(names, " "), "email-oncall-example-com email-dev-example-com"; got != want {
		t.Errorf("channels %q, want %q", got, want)
	}
	_, err = deploy.NewPlan([]core.Manifest{app("a", oncall), app("b", core.EmailChannel("oncall@example-com"))}, nil)
	if err == nil || !strings.Contains(err.Error(), "oncall@example.com and oncall@example-com") {
		t.Errorf("clashing channel names: %v, want an error naming both", err)
	}
}

// resources writes a unit's resources as "ENV:use", with "*" after the
// variables of its own trigger.
func resources(u deploy.Unit) string {
	var out []string
	for _, r := range u.Resources {
		s := r.Env + ":" + string(r.Use)
		if r.Trigger {
			s += "*"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func sortedFields(s string) string {
	f := strings.Fields(s)
	slices.Sort(f)
	return strings.Join(f, " ")
}

func TestAlarmsOff(t *testing.T) {
	app := core.NewApp("quiet")
	app.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
	app.Alarms(core.Alarms{Off: true})
	p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Units[0].Alarms != nil {
		t.Errorf("alarms %+v, want none when the app turns them off", p.Units[0].Alarms)
	}
}

// TestPlanErrors checks that what no cloud could deploy is refused, with
// an error naming the app, the function or the variable at fault.
func TestPlanErrors(t *testing.T) {
	route := []core.Route{{Pattern: "GET /", Method: "GET", Path: "/"}}
	timer := func(schedule, zone string) []core.FunctionSpec {
		return []core.FunctionSpec{{Name: "tick", Trigger: core.SpecOf(core.TimerTrigger{Schedule: schedule, TimeZone: zone})}}
	}
	tests := []struct {
		name      string
		manifests []core.Manifest
		opts      *deploy.Options
		want      []string // each in the error
	}{
		{"empty app", []core.Manifest{{App: "idle"}}, nil, []string{"app idle", "nothing to deploy"}},
		{"app twice", []core.Manifest{{App: "a", Routes: route}, {App: "a", Routes: route}}, nil, []string{"app a is declared twice"}},
		{"unit names collide", []core.Manifest{
			{App: "a-b", Routes: route},
			{App: "a", Functions: timer("@hourly", "")},
		}, nil, nil},
		{"sizing of the routes", []core.Manifest{{App: "web", Routes: route, Sizing: &core.Sizing{MemoryMiB: 64}}}, nil,
			[]string{"app web, HTTP routes", "MemoryMiB 64"}},
		{"sizing of a function", []core.Manifest{{App: "jobs", Functions: []core.FunctionSpec{{
			Name: "tick", Trigger: core.SpecOf(core.TimerTrigger{Schedule: "@hourly"}), Sizing: &core.Sizing{Timeout: time.Hour},
		}}}}, nil, []string{"app jobs, function tick", "Timeout 1h0m0s"}},
		{"p99 above a unit's timeout", []core.Manifest{{App: "web", Routes: route, Sizing: &core.Sizing{Timeout: 2 * time.Second},
			Alarms: &core.Alarms{P99: 3 * time.Second}}}, nil, []string{"app web, HTTP routes", "P99 3s is not below", "timeout 2s"}},
		{"bad schedule", []core.Manifest{{App: "jobs", Functions: timer("61 * * * *", "")}}, nil,
			[]string{"app jobs, function tick", `schedule "61 * * * *"`}},
		{"bad time zone", []core.Manifest{{App: "jobs", Functions: timer("@hourly", "Mars/Olympus")}}, nil,
			[]string{"app jobs, function tick", `time zone "Mars/Olympus"`}},
		{"zone in the schedule", []core.Manifest{{App: "jobs", Functions: timer("CRON_TZ=Europe/Paris 0 3 * * *", "")}}, nil,
			[]string{"app jobs, function tick", "TimeZone"}},
		{"interval below a second", []core.Manifest{{App: "jobs", Functions: timer("@every 500ms", "")}}, nil,
			[]string{"app jobs, function tick", "whole seconds"}},
		{"use the kind does not take", []core.Manifest{{App: "web", Routes: route,
			Resources: []core.Resource{{Env: "MEDIA_BUCKET_URL", Kind: core.KindBucket, Use: core.Publish}}}}, nil,
			[]string{"app web", "resource MEDIA_BUCKET_URL", "publish"}},
		{"trigger without its variable", []core.Manifest{{App: "jobs", Functions: []core.FunctionSpec{{
			Name: "on-message", Trigger: core.SpecOf(core.MessageTrigger{Subscription: "bad name"}),
		}}}}, nil, []string{"app jobs, function on-message", `"bad name"`}},
		{"arch", []core.Manifest{{App: "web", Routes: route}}, &deploy.Options{Arch: "riscv64"}, []string{`Options.Arch "riscv64"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "unit names collide" {
				// The app a's function tick is unit a-tick; the app a-b's
				// routes are unit a-b: no collision. Make one.
				tt.manifests[1].Functions[0].Name = "b"
				tt.want = []string{`unit name "a-b"`, "the HTTP routes of app a-b", "function b of app a"}
			}
			p, err := deploy.NewPlan(tt.manifests, tt.opts)
			if err == nil {
				t.Fatalf("plan %+v, want an error", p)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// checkGolden compares v, encoded as indented JSON, with the golden file
// at path, or rewrites the file under -update (review the diff).
func checkGolden(t *testing.T, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update and review the diff):\n%s", path, got)
	}
}
