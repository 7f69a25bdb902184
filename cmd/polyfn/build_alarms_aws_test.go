package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	awsdeploy "github.com/polyfn/polyfn/deploy/aws"
)

// TestAWSAlarmOutputs reads back the template of each of alarmCases and
// checks the alarms of its unit: the error rate (metric math over Errors
// and Invocations with the least count and the rate), throttles, p99
// duration and, with routes, the HTTP API's 5xx rate; each notifies the
// app's channels' topic and the optional existing topic.
func TestAWSAlarmOutputs(t *testing.T) {
	for _, tt := range alarmCases() {
		t.Run(tt.m.App+"/aws", func(t *testing.T) {
			b, _, err := awsTemplate(tt.m.App, "arm64", []core.Manifest{tt.m}, nil)
			if err != nil {
				t.Fatal(err)
			}
			doc := parseTemplate(t, b)
			if p := dig(doc, "Parameters", awsdeploy.AlarmTopicParam); dig(p, "Default") != "" {
				t.Errorf("%s: %v, want an optional parameter", awsdeploy.AlarmTopicParam, p)
			}
			unit := core.UnitName(tt.m.App, "")
			if !tt.hasRoutes {
				unit = core.UnitName(tt.m.App, tt.deployment)
			}
			doc.unitFunction(t, unit)
			var declared core.Alarms
			if tt.m.Alarms != nil {
				declared = *tt.m.Alarms
			}
			rate := declared.ErrorRate
			if rate == 0 {
				rate = core.DefaultAlarmErrorRate
			}
			want := map[string]string{ // kind → threshold
				"error-rate": fmt.Sprintf("IF(failed >= %d, 100 * failed / total, 0) >= %v", tt.want.errors, rate),
				"throttles":  fmt.Sprint(tt.want.throttles),
				"duration":   fmt.Sprint(tt.want.p99.Milliseconds()),
			}
			if tt.hasRoutes {
				want["http-error-rate"] = want["error-rate"]
			}
			got := map[string]string{}
			notifies := len(declared.Notify) > 0
			for id, r := range doc.resources("AWS::CloudWatch::Alarm") {
				p := r["Properties"].(map[string]any)
				if d, _ := p["AlarmDescription"].(string); !strings.HasPrefix(d, "polyfn "+unit+":") {
					t.Errorf("%s: description %q does not name the unit", id, d)
					continue
				}
				if p["TreatMissingData"] != "notBreaching" {
					t.Errorf("%s: missing data %v", id, p["TreatMissingData"])
				}
				actions := fmt.Sprint(p["AlarmActions"])
				if !strings.Contains(actions, awsdeploy.AlarmTopicParam) {
					t.Errorf("%s: actions %v do not notify the existing topic", id, actions)
				}
				if notifies && !strings.Contains(actions, "map[Ref:"+awsdeploy.AlarmTopic+"]") {
					t.Errorf("%s: actions %v do not notify the channels' topic", id, actions)
				}
				period := fmt.Sprint(int(tt.want.period.Seconds()))
				switch {
				case strings.HasSuffix(id, "HttpErrorRateAlarm"), strings.HasSuffix(id, "ErrorRateAlarm"):
					kind := "error-rate"
					namespace, all := "AWS/Lambda", "Invocations"
					if strings.HasSuffix(id, "HttpErrorRateAlarm") {
						kind, namespace, all = "http-error-rate", "AWS/ApiGateway", "Count"
					}
					ms := p["Metrics"].([]any)
					if len(ms) != 3 {
						t.Fatalf("%s: metrics %v", id, ms)
					}
					if dig(ms[1], "MetricStat", "Metric", "MetricName") != all || dig(ms[0], "MetricStat", "Metric", "Namespace") != namespace ||
						fmt.Sprint(dig(ms[0], "MetricStat", "Period")) != period {
						t.Errorf("%s: metrics %v", id, ms)
					}
					if p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
						t.Errorf("%s: comparison %v", id, p["ComparisonOperator"])
					}
					got[kind] = fmt.Sprintf("%v >= %v", dig(ms[2], "Expression"), p["Threshold"])
				case strings.HasSuffix(id, "ThrottlesAlarm"):
					got["throttles"] = fmt.Sprint(p["Threshold"])
				case strings.HasSuffix(id, "DurationAlarm"):
					if p["ExtendedStatistic"] != "p99" || fmt.Sprint(p["Period"]) != period {
						t.Errorf("%s: %v, want ExtendedStatistic p99 over %s s", id, p, period)
					}
					got["duration"] = fmt.Sprint(p["Threshold"])
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("alarm thresholds (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAWSAlarmsOff checks that an app that turns alarms off gets none.
func TestAWSAlarmsOff(t *testing.T) {
	b, _, err := awsTemplate("quiet", "arm64", []core.Manifest{quietApp()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"AWS::CloudWatch::Alarm", awsdeploy.AlarmTopicParam, "Conditions:"} {
		if strings.Contains(string(b), s) {
			t.Errorf("template has %s", s)
		}
	}
}

// TestAWSAlarmsRejectedAtBuild checks that thresholds the cloud cannot
// use fail the build with an error naming the app, never a panic.
func TestAWSAlarmsRejectedAtBuild(t *testing.T) {
	slow := withAlarms("slow", core.Alarms{P99: time.Minute})
	if _, _, err := awsTemplate("slow", "arm64", []core.Manifest{slow}, nil); err == nil || !strings.Contains(err.Error(), "app slow") || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("aws: %v, want an error: the p99 threshold is past the routes' 30 s", err)
	}
}
