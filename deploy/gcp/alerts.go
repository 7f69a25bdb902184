package gcp

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/polyfn/polyfn/deploy"
)

// The parts of a Cloud Monitoring API v3 AlertPolicy that deploy.sh
// creates (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies).
// A Cloud Run function is a Cloud Run service of the same name, whose
// request metrics (run.googleapis.com, resource cloud_run_revision) count
// what it answers, HTTP requests and event deliveries alike
// (https://cloud.google.com/monitoring/api/metrics_gcp_p_z#gcp-run).
type AlertPolicy struct {
	DisplayName   string            `json:"displayName"`
	Documentation Documentation     `json:"documentation"`
	UserLabels    map[string]string `json:"userLabels"`
	Combiner      string            `json:"combiner"`
	Conditions    []Condition       `json:"conditions"`
}

// Documentation is what a notification says.
type Documentation struct {
	Content  string `json:"content"`
	MimeType string `json:"mimeType"`
}

// Condition is one of a policy's conditions.
type Condition struct {
	DisplayName        string          `json:"displayName"`
	ConditionThreshold MetricThreshold `json:"conditionThreshold"`
}

// MetricThreshold compares a time series, or the ratio of two, with a
// threshold.
type MetricThreshold struct {
	Filter                  string        `json:"filter"`
	Aggregations            []Aggregation `json:"aggregations"`
	DenominatorFilter       string        `json:"denominatorFilter,omitempty"`
	DenominatorAggregations []Aggregation `json:"denominatorAggregations,omitempty"`
	Comparison              string        `json:"comparison"`
	ThresholdValue          float64       `json:"thresholdValue"`
	Duration                string        `json:"duration"`
	Trigger                 Trigger       `json:"trigger"`
	EvaluationMissingData   string        `json:"evaluationMissingData"`
}

// Aggregation aligns and reduces the series.
type Aggregation struct {
	AlignmentPeriod    string `json:"alignmentPeriod"`
	PerSeriesAligner   string `json:"perSeriesAligner"`
	CrossSeriesReducer string `json:"crossSeriesReducer"`
}

// Trigger is how many series must cross the threshold.
type Trigger struct {
	Count int `json:"count"`
}

// policyDisplayName is the display name deploy.sh finds a policy by.
func policyDisplayName(unit, what string) string { return "polyfn " + unit + ": " + what }

// alertPolicies returns a unit's three policies by file name: errors,
// p99 latency and throttles. The errors policy fires when both of its
// conditions hold (combiner AND): at least Errors failed requests in the
// period, and at least ErrorRate percent of the requests failed.
//
// The API compares with COMPARISON_GT or COMPARISON_LT only, so "at
// least N" of a count, a whole number, is "more than N-1", and "at least
// r" of a ratio is "more than the float just below r".
func alertPolicies(u deploy.Unit, services []string) map[string]AlertPolicy {
	a := u.Alarms
	period := strconv.FormatInt(a.PeriodSeconds, 10) + "s"
	in := a.PeriodText()
	var names []string
	for _, s := range services {
		names = append(names, fmt.Sprintf("resource.labels.service_name = %q", s))
	}
	service := `resource.type = "cloud_run_revision" AND ` + strings.Join(names, " OR ")
	if len(names) > 1 {
		service = `resource.type = "cloud_run_revision" AND (` + strings.Join(names, " OR ") + ")"
	}
	requests := service + ` AND metric.type = "run.googleapis.com/request_count"`
	sum := []Aggregation{{AlignmentPeriod: period, PerSeriesAligner: "ALIGN_SUM", CrossSeriesReducer: "REDUCE_SUM"}}
	threshold := func(filter string, aggs []Aggregation, value float64) MetricThreshold {
		return MetricThreshold{Filter: filter, Aggregations: aggs, Comparison: "COMPARISON_GT", ThresholdValue: value,
			Duration: "0s", Trigger: Trigger{Count: 1}, EvaluationMissingData: "EVALUATION_MISSING_DATA_INACTIVE"}
	}
	policy := func(what, about string, combiner string, cs ...Condition) AlertPolicy {
		return AlertPolicy{
			DisplayName: policyDisplayName(u.Name, what),
			Documentation: Documentation{MimeType: "text/markdown", Content: fmt.Sprintf(
				"Created by polyfn's deploy.sh from the alarm thresholds of the app %s (docs/alarms.md): the unit %s %s.",
				u.App, u.Name, about)},
			UserLabels: map[string]string{"polyfn-app": u.App, "polyfn-unit": u.Name},
			Combiner:   combiner,
			Conditions: cs,
		}
	}
	errorsFilter := requests + ` AND metric.labels.response_code_class = "5xx"`
	ratio := threshold(errorsFilter, sum, math.Nextafter(a.ErrorRate/100, 0))
	ratio.DenominatorFilter, ratio.DenominatorAggregations = requests, sum
	return map[string]AlertPolicy{
		u.Name + "-errors": policy("errors", fmt.Sprintf("failed at least %d requests, %v%% or more of them, in %s", a.Errors, a.ErrorRate, in), "AND",
			Condition{DisplayName: fmt.Sprintf("%s: %d or more 5xx responses in %s", u.Name, a.Errors, in),
				ConditionThreshold: threshold(errorsFilter, sum, float64(a.Errors-1))},
			Condition{DisplayName: fmt.Sprintf("%s: %v%% or more of the responses 5xx in %s", u.Name, a.ErrorRate, in),
				ConditionThreshold: ratio}),
		u.Name + "-p99": policy("p99 latency", fmt.Sprintf("answered slower than %dms at the 99th percentile in %s", a.P99Millis, in), "OR",
			Condition{DisplayName: fmt.Sprintf("%s: p99 request latency above %dms in %s", u.Name, a.P99Millis, in),
				ConditionThreshold: threshold(service+` AND metric.type = "run.googleapis.com/request_latencies"`,
					[]Aggregation{{AlignmentPeriod: period, PerSeriesAligner: "ALIGN_PERCENTILE_99", CrossSeriesReducer: "REDUCE_MAX"}},
					float64(a.P99Millis))}),
		u.Name + "-throttles": policy("throttles", fmt.Sprintf("answered at least %d requests with 429 (no instance available) in %s", a.Throttles, in), "OR",
			Condition{DisplayName: fmt.Sprintf("%s: %d or more 429 responses (no instance available) in %s", u.Name, a.Throttles, in),
				ConditionThreshold: threshold(requests+` AND metric.labels.response_code = "429"`, sum, float64(a.Throttles-1))}),
	}
}

// alerts adds the notification channels and every unit's alert policies.
// Neither has a name of its own choosing, so each is found by its display
// name and created when none has it.
func (b *builder) alerts(p *deploy.Plan) {
	b.channels = map[string]string{}
	for _, c := range p.Channels {
		v := channelVar(c.Name)
		b.channels[c.Name] = v
		display := "polyfn " + c.Name
		// https://cloud.google.com/sdk/gcloud/reference/beta/monitoring/channels/create
		create := gcloud("beta", "monitoring", "channels", "create", "--display-name="+display)
		comment := "The email channel " + c.Name + ": Cloud Monitoring mails " + c.Email + "."
		if c.Slack != nil {
			b.d.Slack = true
			b.need("SLACK_AUTH_TOKEN", "the Slack token Cloud Monitoring posts with (a Slack channel is declared)")
			// The slack channel type's labels: channel_name, and the
			// sensitive auth_token
			// (https://cloud.google.com/monitoring/support/notification-options#slack).
			create = create.with("--type=slack", "--description=Slack workspace "+c.Slack.Workspace,
				"--channel-labels=channel_name="+c.Slack.Channel+",auth_token=${SLACK_AUTH_TOKEN}")
			comment = "The Slack channel " + c.Name + ": Cloud Monitoring posts to " + c.Slack.Channel + " of workspace " + c.Slack.Workspace + "."
		} else {
			create = create.with("--type=email", "--channel-labels=email_address="+c.Email)
		}
		b.step(Step{Comment: comment, Set: v,
			Check:  project(gcloud("beta", "monitoring", "channels", "list", `--filter=displayName="`+display+`"`, "--format=value(name)")),
			Create: project(create.with("--format=value(name)"))})
	}
	services := map[string][]string{}
	for _, f := range b.d.Functions {
		services[f.Unit] = append(services[f.Unit], f.Name)
	}
	for _, u := range p.Units {
		if u.Alarms == nil {
			continue
		}
		policies := alertPolicies(u, services[u.Name])
		for _, what := range []string{"errors", "p99", "throttles"} {
			file := u.Name + "-" + what
			pol := policies[file]
			path := "alerts/" + file + ".json"
			b.d.Policies[path] = pol
			create := gcloud("monitoring", "policies", "create", "--policy-from-file="+path)
			var chans []string
			for _, n := range u.Alarms.Notify {
				chans = append(chans, "${"+b.channels[n]+"}")
			}
			if len(chans) > 0 {
				create = create.with("--notification-channels=" + strings.Join(chans, ","))
			}
			b.step(Step{Comment: "The alert policy " + pol.DisplayName + ".", Set: "policy",
				Check:  project(gcloud("monitoring", "policies", "list", `--filter=displayName="`+pol.DisplayName+`"`, "--format=value(name)")),
				Create: project(create.with("--format=value(name)"))})
		}
	}
}
