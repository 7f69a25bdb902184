package core_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

func TestAlarmsResolveDefaults(t *testing.T) {
	tests := []struct {
		name    string
		in      core.Alarms
		timeout time.Duration
		want    core.Alarms
	}{
		{"undeclared, 30 s timeout", core.Alarms{}, 30 * time.Second,
			core.Alarms{ErrorRate: 1, Errors: 1, Throttles: 1, P99: 24 * time.Second, Period: 5 * time.Minute}},
		{"undeclared, 5 min timeout", core.Alarms{}, 5 * time.Minute,
			core.Alarms{ErrorRate: 1, Errors: 1, Throttles: 1, P99: 4 * time.Minute, Period: 5 * time.Minute}},
		{"80% truncated to milliseconds", core.Alarms{}, 1001 * time.Microsecond,
			core.Alarms{ErrorRate: 1, Errors: 1, Throttles: 1, P99: 0, Period: 5 * time.Minute}},
		{"declared values kept", core.Alarms{ErrorRate: 2.5, Errors: 5, Throttles: 10, P99: 2 * time.Second, Period: time.Minute}, 30 * time.Second,
			core.Alarms{ErrorRate: 2.5, Errors: 5, Throttles: 10, P99: 2 * time.Second, Period: time.Minute}},
		{"off kept, defaults still filled", core.Alarms{Off: true}, time.Minute,
			core.Alarms{Off: true, ErrorRate: 1, Errors: 1, Throttles: 1, P99: 48 * time.Second, Period: 5 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Resolve(tt.timeout)
			if tt.want.P99 == 0 {
				if err == nil {
					t.Fatalf("Resolve = %+v, want an error: 80%% of %v rounds to no milliseconds", got, tt.timeout)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAlarmsRejects(t *testing.T) {
	tests := []struct {
		name string
		in   core.Alarms
		want string
	}{
		{"negative errors", core.Alarms{Errors: -1}, "Errors -1"},
		{"negative error rate", core.Alarms{ErrorRate: -1}, "ErrorRate -1"},
		{"error rate above 100", core.Alarms{ErrorRate: 100.5}, "ErrorRate 100.5"},
		{"channel of no kind", core.Alarms{Notify: []core.Channel{{}}}, "exactly one"},
		{"channel of both kinds", core.Alarms{Notify: []core.Channel{{Email: "a@example.com", Slack: &core.SlackChannel{Workspace: "T1", Channel: "C1"}}}}, "exactly one"},
		{"email with a name", core.Alarms{Notify: []core.Channel{core.EmailChannel("On call <oncall@example.com>")}}, "bare address"},
		{"not an email", core.Alarms{Notify: []core.Channel{core.EmailChannel("oncall")}}, `"oncall"`},
		{"slack workspace by name", core.Alarms{Notify: []core.Channel{core.SlackChannelOf("acme", "C0123")}}, `workspace "acme"`},
		{"slack channel by name", core.Alarms{Notify: []core.Channel{core.SlackChannelOf("T0123", "#alerts")}}, `channel "#alerts"`},
		{"channel twice", core.Alarms{Notify: []core.Channel{core.EmailChannel("a@example.com"), core.EmailChannel("a@example.com")}}, "twice"},
		{"negative throttles", core.Alarms{Throttles: -2}, "Throttles -2"},
		{"negative p99", core.Alarms{P99: -time.Second}, "P99"},
		{"sub-millisecond p99", core.Alarms{P99: 1500 * time.Microsecond}, "whole milliseconds"},
		{"period no cloud takes", core.Alarms{Period: 2 * time.Minute}, "Period 2m0s"},
		{"period in seconds", core.Alarms{Period: 30 * time.Second}, "Period 30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if core.CodeOf(err) != core.InvalidArgument {
				t.Errorf("code %v, want InvalidArgument", core.CodeOf(err))
			}
			if _, err := tt.in.Resolve(time.Hour); err == nil {
				t.Error("Resolve accepted what Validate rejects")
			}
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "app shop") {
					t.Errorf("App.Alarms: recovered %v, want a panic naming the app", r)
				}
			}()
			core.NewApp("shop").Alarms(tt.in)
		})
	}
	if _, err := (core.Alarms{P99: 30 * time.Second}).Resolve(30 * time.Second); err == nil || !strings.Contains(err.Error(), "not below the function's timeout") {
		t.Errorf("P99 at the timeout: %v, want an error", err)
	}
}

func TestAlarmsInManifest(t *testing.T) {
	noop := func(http.ResponseWriter, *http.Request) {}
	undeclared := core.NewApp("plain")
	undeclared.HandleFunc("GET /x", noop)
	declared := core.NewApp("watched")
	declared.HandleFunc("GET /x", noop)
	declared.Alarms(core.Alarms{ErrorRate: 2.5, Errors: 5, P99: 1500 * time.Millisecond, Period: 15 * time.Minute,
		Notify: []core.Channel{core.EmailChannel("oncall@example.com"), core.SlackChannelOf("T0123ABC", "C0456DEF")}})
	off := core.NewApp("quiet")
	off.HandleFunc("GET /x", noop)
	off.Alarms(core.Alarms{Off: true})

	b, err := json.Marshal([]core.Manifest{undeclared.Manifest(), declared.Manifest(), off.Manifest()})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"alarms":{"errorRate":2.5,"errors":5,"p99":"1.5s","period":"15m0s","notify":[{"email":"oncall@example.com"},{"slack":{"workspace":"T0123ABC","channel":"C0456DEF"}}]}`, `"alarms":{"off":true}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("manifest JSON %s does not contain %s", b, want)
		}
	}
	ms, err := core.ParseManifests(b)
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Alarms != nil {
		t.Errorf("undeclared alarms decoded as %+v, want nil (the defaults)", ms[0].Alarms)
	}
	if diff := cmp.Diff(&core.Alarms{ErrorRate: 2.5, Errors: 5, P99: 1500 * time.Millisecond, Period: 15 * time.Minute,
		Notify: []core.Channel{core.EmailChannel("oncall@example.com"), core.SlackChannelOf("T0123ABC", "C0456DEF")}}, ms[1].Alarms); diff != "" {
		t.Errorf("declared alarms (-want +got):\n%s", diff)
	}
	if ms[2].Alarms == nil || !ms[2].Alarms.Off {
		t.Errorf("off alarms decoded as %+v", ms[2].Alarms)
	}
}

func TestParseManifestsRejectsAlarms(t *testing.T) {
	for _, in := range []string{
		`[{"app":"a","alarms":{"errors":-1}}]`,
		`[{"app":"a","alarms":{"errorRate":101}}]`,
		`[{"app":"a","alarms":{"notify":[{"email":"nobody"}]}}]`,
		`[{"app":"a","alarms":{"notify":[{}]}}]`,
		`[{"app":"a","alarms":{"period":"2m"}}]`,
		`[{"app":"a","alarms":{"p99":"soon"}}]`,
		`[{"app":"a","alarms":{"p99":"100us"}}]`,
		`[{"app":"a","alarms":"loud"}]`,
	} {
		if _, err := core.ParseManifests([]byte(in)); err == nil {
			t.Errorf("ParseManifests(%s) succeeded, want an error", in)
		}
	}
}
