package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
)

// TestGCPAlarmOutputs parses what the packager writes for each of
// alarmCases and checks that every alarm names the function and carries
// the thresholds.
func TestGCPAlarmOutputs(t *testing.T) {
	for _, tt := range alarmCases() {
		t.Run(tt.m.App+"/gcp", func(t *testing.T) {
			plan, err := planGCP([]core.Manifest{tt.m})
			if err != nil {
				t.Fatal(err)
			}
			files, err := plan.alertFiles()
			if err != nil {
				t.Fatal(err)
			}
			b, ok := files["alerts/"+tt.deployment+".json"]
			if !ok || len(files) != 1 {
				t.Fatalf("alert files %v, want alerts/%s.json", keys(files), tt.deployment)
			}
			var policy struct {
				DisplayName string
				Combiner    string
				Conditions  []struct {
					DisplayName        string
					ConditionThreshold struct {
						Filter         string
						Comparison     string
						ThresholdValue float64
						Aggregations   []struct{ AlignmentPeriod, PerSeriesAligner string }
					}
				}
			}
			if err := json.Unmarshal(b, &policy); err != nil {
				t.Fatalf("alerts/%s.json: %v", tt.deployment, err)
			}
			if !strings.Contains(policy.DisplayName, tt.m.App) || policy.Combiner != "OR" || len(policy.Conditions) != 3 {
				t.Fatalf("policy %+v", policy)
			}
			want := []float64{float64(tt.gcp.errors - 1), float64(tt.gcp.throttles - 1), float64(tt.gcp.p99.Milliseconds())}
			for i, c := range policy.Conditions {
				ct := c.ConditionThreshold
				if !strings.Contains(ct.Filter, fmt.Sprintf(`resource.labels.service_name = %q`, tt.deployment)) {
					t.Errorf("condition %q: filter %s does not name the service", c.DisplayName, ct.Filter)
				}
				if ct.ThresholdValue != want[i] || ct.Comparison != "COMPARISON_GT" {
					t.Errorf("condition %q: %s %v, want COMPARISON_GT %v", c.DisplayName, ct.Comparison, ct.ThresholdValue, want[i])
				}
				if ct.Aggregations[0].AlignmentPeriod != fmt.Sprintf("%ds", int(tt.gcp.period.Seconds())) {
					t.Errorf("condition %q: alignment period %s", c.DisplayName, ct.Aggregations[0].AlignmentPeriod)
				}
			}
			if policy.Conditions[2].ConditionThreshold.Aggregations[0].PerSeriesAligner != "ALIGN_PERCENTILE_99" {
				t.Errorf("latency condition aligns with %s", policy.Conditions[2].ConditionThreshold.Aggregations[0].PerSeriesAligner)
			}
		})
	}
}

// TestGCPAlarmsOff checks that an app that turns alarms off gets none.
func TestGCPAlarmsOff(t *testing.T) {
	m := quietApp()
	plan, err := planGCP([]core.Manifest{m})
	if err != nil {
		t.Fatal(err)
	}
	bundle := gcpBundle{Name: "quiet", Pkg: "./cmd/quiet", Module: bundleModulePrefix + "quiet", Host: goldenHost, Plan: plan,
		Call: launchCall{Args: []string{"quiet.New()"}, Imports: []goImport{{"quiet", "example.com/quiet"}}}}
	files, err := bundle.files()
	if err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if strings.HasPrefix(name, "alerts/") {
			t.Errorf("bundle has %s", name)
		}
	}
	if strings.Contains(string(files["DEPLOY.md"]), "## Alerts") {
		t.Error("DEPLOY.md has an Alerts section")
	}
}

// TestGCPAlarmsRejectedAtBuild checks that thresholds the cloud cannot
// use fail the build with an error naming the app, never a panic.
func TestGCPAlarmsRejectedAtBuild(t *testing.T) {
	slow := withAlarms("slow", core.Alarms{P99: time.Minute})
	if _, err := planGCP([]core.Manifest{slow}); err == nil || !strings.Contains(err.Error(), "app slow") {
		t.Errorf("gcp: %v, want an error: the p99 threshold is past the 60 s timeout", err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
