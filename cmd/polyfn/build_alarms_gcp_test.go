package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
)

// gcpPolicy is the part of an alert policy file the tests read.
type gcpPolicy struct {
	DisplayName string
	Combiner    string
	Conditions  []struct {
		DisplayName        string
		ConditionThreshold struct {
			Filter, DenominatorFilter, Comparison string
			ThresholdValue                        float64
			Aggregations                          []struct{ AlignmentPeriod, PerSeriesAligner string }
		}
	}
}

// TestGCPAlarmOutputs parses the alert policies the build writes for each
// of alarmCases and checks that each names the unit's Cloud Run service,
// carries its thresholds and is created by deploy.sh with the app's
// channels.
func TestGCPAlarmOutputs(t *testing.T) {
	for _, tt := range alarmCases() {
		t.Run(tt.m.App+"/gcp", func(t *testing.T) {
			files, _, err := gcpFiles("./cmd/x", "x", []core.Manifest{tt.m}, launchCall{}, nil, goldenHost, nil)
			if err != nil {
				t.Fatal(err)
			}
			unit := tt.deployment
			if !tt.hasRoutes {
				unit = core.UnitName(tt.m.App, tt.deployment)
			}
			policy := func(what string) gcpPolicy {
				name := "alerts/" + unit + "-" + what + ".json"
				var p gcpPolicy
				if err := json.Unmarshal(files[name], &p); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !strings.Contains(string(files["deploy.sh"]), "--policy-from-file="+name) {
					t.Errorf("deploy.sh does not create %s", name)
				}
				for _, c := range p.Conditions {
					ct := c.ConditionThreshold
					if !strings.Contains(ct.Filter, fmt.Sprintf(`resource.labels.service_name = %q`, unit)) {
						t.Errorf("%s, condition %q: filter %s does not name the service", name, c.DisplayName, ct.Filter)
					}
					if ct.Comparison != "COMPARISON_GT" {
						t.Errorf("%s, condition %q: %s", name, c.DisplayName, ct.Comparison)
					}
					if ct.Aggregations[0].AlignmentPeriod != fmt.Sprintf("%ds", int(tt.want.period.Seconds())) {
						t.Errorf("%s, condition %q: alignment period %s", name, c.DisplayName, ct.Aggregations[0].AlignmentPeriod)
					}
				}
				return p
			}
			errs := policy("errors")
			if errs.Combiner != "AND" || len(errs.Conditions) != 2 {
				t.Fatalf("errors policy %+v, want a count and a rate, both", errs)
			}
			if got := errs.Conditions[0].ConditionThreshold.ThresholdValue; got != float64(tt.want.errors-1) {
				t.Errorf("errors: count above %v, want above %d", got, tt.want.errors-1)
			}
			rate := errs.Conditions[1].ConditionThreshold
			if rate.DenominatorFilter == "" || !strings.Contains(rate.Filter, `"5xx"`) || strings.Contains(rate.DenominatorFilter, "5xx") {
				t.Errorf("errors: the rate condition %+v is not 5xx over all responses", rate)
			}
			want := core.DefaultAlarmErrorRate
			if tt.m.Alarms != nil && tt.m.Alarms.ErrorRate != 0 {
				want = tt.m.Alarms.ErrorRate
			}
			if rate.ThresholdValue >= want/100 || rate.ThresholdValue < math.Nextafter(want/100, 0) {
				t.Errorf("errors: rate above %v, want the float just below %v", rate.ThresholdValue, want/100)
			}
			p99 := policy("p99")
			if c := p99.Conditions[0].ConditionThreshold; c.ThresholdValue != float64(tt.want.p99.Milliseconds()) || c.Aggregations[0].PerSeriesAligner != "ALIGN_PERCENTILE_99" {
				t.Errorf("p99: %+v, want ALIGN_PERCENTILE_99 above %d", c, tt.want.p99.Milliseconds())
			}
			if got := policy("throttles").Conditions[0].ConditionThreshold.ThresholdValue; got != float64(tt.want.throttles-1) {
				t.Errorf("throttles: above %v, want above %d", got, tt.want.throttles-1)
			}
			if tt.m.Alarms != nil && len(tt.m.Alarms.Notify) > 0 && !strings.Contains(string(files["deploy.sh"]), "--notification-channels=${CHANNEL_") {
				t.Error("deploy.sh creates the policies without the app's channels")
			}
		})
	}
}

// TestGCPAlarmsOff checks that an app that turns alarms off gets none.
func TestGCPAlarmsOff(t *testing.T) {
	files, _, err := gcpFiles("./cmd/quiet", "quiet", []core.Manifest{quietApp()}, launchCall{}, nil, goldenHost, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if strings.HasPrefix(name, "alerts/") {
			t.Errorf("bundle has %s", name)
		}
	}
	if strings.Contains(string(files["DEPLOY.md"]), "## Alerts") || strings.Contains(string(files["deploy.sh"]), "monitoring policies") {
		t.Error("the deployment has alerts")
	}
}

// TestGCPAlarmsRejectedAtBuild checks that thresholds the cloud cannot
// use fail the build with an error naming the app, never a panic.
func TestGCPAlarmsRejectedAtBuild(t *testing.T) {
	slow := withAlarms("slow", core.Alarms{P99: time.Minute})
	if _, _, err := gcpFiles("./cmd/slow", "slow", []core.Manifest{slow}, launchCall{}, nil, goldenHost, nil); err == nil || !strings.Contains(err.Error(), "app slow") {
		t.Errorf("gcp: %v, want an error: the p99 threshold is past the 30 s timeout", err)
	}
}
