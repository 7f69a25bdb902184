package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// azureRules parses the app's template back and returns its log search
// alerts by display name and how many action groups it declares.
func azureRules(t *testing.T, m core.Manifest) (map[string]azureRule, int) {
	t.Helper()
	app, err := azureFunctionApp([]core.Manifest{m}, m.App, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(app.Template)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources []struct {
			Type       string
			Properties json.RawMessage
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	rules, groups := map[string]azureRule{}, 0
	for _, r := range doc.Resources {
		switch r.Type {
		case "Microsoft.Insights/scheduledQueryRules":
			var q azureRule
			if err := json.Unmarshal(r.Properties, &q); err != nil {
				t.Fatal(err)
			}
			rules[q.DisplayName] = q
		case "Microsoft.Insights/actionGroups":
			groups++
		}
	}
	return rules, groups
}

type azureRule struct {
	DisplayName string
	WindowSize  string
	Criteria    struct {
		AllOf []struct {
			Query     string
			Threshold int64
		}
	}
}

// TestAzureAlarmOutputs checks, for each of alarmCases, that every unit
// of the template has an error-rate alert over its own functions with the
// declared least count, and a p99-duration alert with the unit's
// threshold (80% of the unit's own timeout by default), in the period.
func TestAzureAlarmOutputs(t *testing.T) {
	for _, tt := range alarmCases() {
		t.Run(tt.m.App+"/azure", func(t *testing.T) {
			p, err := deploy.NewPlan([]core.Manifest{tt.m}, nil)
			if err != nil {
				t.Fatal(err)
			}
			rules, _ := azureRules(t, tt.m)
			if len(rules) != 2*len(p.Units) {
				t.Errorf("%d alerts for %d units, want two each", len(rules), len(p.Units))
			}
			for _, u := range p.Units {
				window := fmt.Sprintf("PT%dM", int(tt.want.period.Minutes()))
				rate, ok := rules["polyfn "+u.Name+": error-rate"]
				if !ok {
					t.Fatalf("unit %s: no error-rate alert in %v", u.Name, rules)
				}
				if q := rate.Criteria.AllOf[0].Query; !strings.Contains(q, "failed >= "+itoa(tt.want.errors)+" and 100.0 * failed / total >= ") {
					t.Errorf("unit %s: error-rate query %s, want at least %d failed", u.Name, q, tt.want.errors)
				}
				p99, ok := rules["polyfn "+u.Name+": p99-duration"]
				if !ok {
					t.Fatalf("unit %s: no p99-duration alert", u.Name)
				}
				if got, want := time.Duration(p99.Criteria.AllOf[0].Threshold)*time.Millisecond, time.Duration(u.Alarms.P99Millis)*time.Millisecond; got != want || got >= u.Sizing.Timeout() {
					t.Errorf("unit %s: p99 threshold %v, want %v, below the unit's timeout %v", u.Name, got, want, u.Sizing.Timeout())
				}
				for _, r := range []azureRule{rate, p99} {
					if r.WindowSize != window {
						t.Errorf("%s: window %s, want %s", r.DisplayName, r.WindowSize, window)
					}
				}
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestAzureAlarmsOff checks that an app that turns alarms off gets no
// alert and no action group.
func TestAzureAlarmsOff(t *testing.T) {
	if rules, groups := azureRules(t, quietApp()); len(rules) != 0 || groups != 0 {
		t.Errorf("azure: %d alerts, %d action groups; want none", len(rules), groups)
	}
}

// TestAzureAlarmsRejectedAtBuild checks that thresholds no deployment can
// use fail the build with an error naming the app, never a panic, and
// that apps with different alarms share one function app, each unit with
// its own.
func TestAzureAlarmsRejectedAtBuild(t *testing.T) {
	slow := withAlarms("slow", core.Alarms{P99: time.Minute})
	if _, err := azureFunctionApp([]core.Manifest{slow}, "slow", nil); err == nil || !strings.Contains(err.Error(), "slow") {
		t.Errorf("azure: %v; want an error naming the app: a minute is not below its 30 s timeout", err)
	}
	b := core.NewApp("b")
	b.HandleFunc("GET /y", func(http.ResponseWriter, *http.Request) {})
	b.Alarms(core.Alarms{Errors: 3})
	app, err := azureFunctionApp([]core.Manifest{withAlarms("a", core.Alarms{Errors: 2}), b.Manifest()}, "ab", nil)
	if err != nil {
		t.Fatal(err)
	}
	var queries []string
	for _, r := range app.Template.Resources {
		if r.Type == "Microsoft.Insights/scheduledQueryRules" {
			b, _ := json.Marshal(r.Properties)
			queries = append(queries, string(b))
		}
	}
	joined := strings.Join(queries, "\n")
	for _, want := range []string{"polyfn a: error-rate", "failed \\u003e= 2", "polyfn b: error-rate", "failed \\u003e= 3"} {
		if !strings.Contains(joined, want) {
			t.Errorf("two apps' alerts do not hold %q:\n%s", want, joined)
		}
	}
}
