package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/polyfn/polyfn/core"
)

// gcpTimeout is the timeout of a Cloud Run function deployed without
// --timeout, as DEPLOY.md's commands deploy it; the default P99 threshold
// is derived from it.
const gcpTimeout = 60 * time.Second

// The parts of a Cloud Monitoring API v3 AlertPolicy that the build writes
// (projects.alertPolicies): one policy per deployment, its conditions
// combined with OR.
type gcpAlertPolicy struct {
	DisplayName   string                `json:"displayName"`
	Documentation gcpAlertDocumentation `json:"documentation"`
	UserLabels    map[string]string     `json:"userLabels"`
	Combiner      string                `json:"combiner"`
	Conditions    []gcpAlertCondition   `json:"conditions"`
}

type gcpAlertDocumentation struct {
	Content  string `json:"content"`
	MimeType string `json:"mimeType"`
}

type gcpAlertCondition struct {
	DisplayName        string             `json:"displayName"`
	ConditionThreshold gcpMetricThreshold `json:"conditionThreshold"`
}

type gcpMetricThreshold struct {
	Filter                string           `json:"filter"`
	Aggregations          []gcpAggregation `json:"aggregations"`
	Comparison            string           `json:"comparison"`
	ThresholdValue        float64          `json:"thresholdValue"`
	Duration              string           `json:"duration"`
	Trigger               gcpAlertTrigger  `json:"trigger"`
	EvaluationMissingData string           `json:"evaluationMissingData"`
}

type gcpAggregation struct {
	AlignmentPeriod    string   `json:"alignmentPeriod"`
	PerSeriesAligner   string   `json:"perSeriesAligner"`
	CrossSeriesReducer string   `json:"crossSeriesReducer"`
	GroupByFields      []string `json:"groupByFields"`
}

type gcpAlertTrigger struct {
	Count int `json:"count"`
}

// gcpAlertPolicyFor returns the alert policy of one deployment: a Cloud Run
// function is a Cloud Run service of the same name, whose request metrics
// (run.googleapis.com, resource cloud_run_revision) count what it answers,
// HTTP requests and Eventarc's event deliveries alike.
//
// The API compares only with COMPARISON_GT or COMPARISON_LT, so "at least
// N" requests, a whole number, is written as more than N-1.
func gcpAlertPolicyFor(app, deployment string, a core.Alarms) gcpAlertPolicy {
	period := strconv.Itoa(int(a.Period/time.Second)) + "s"
	service := fmt.Sprintf(`resource.type = "cloud_run_revision" AND resource.labels.service_name = %q`, deployment)
	count := []gcpAggregation{{AlignmentPeriod: period, PerSeriesAligner: "ALIGN_SUM",
		CrossSeriesReducer: "REDUCE_SUM", GroupByFields: []string{"resource.label.service_name"}}}
	threshold := func(filter string, aggs []gcpAggregation, value float64) gcpMetricThreshold {
		return gcpMetricThreshold{Filter: filter, Aggregations: aggs, Comparison: "COMPARISON_GT", ThresholdValue: value,
			Duration: "0s", Trigger: gcpAlertTrigger{Count: 1}, EvaluationMissingData: "EVALUATION_MISSING_DATA_INACTIVE"}
	}
	in := describePeriod(a.Period)
	return gcpAlertPolicy{
		DisplayName: fmt.Sprintf("polyfn %s: %s", app, deployment),
		Documentation: gcpAlertDocumentation{MimeType: "text/markdown", Content: fmt.Sprintf(
			"Written by `polyfn build --cloud gcp` from the alarm thresholds of the app %s (docs/alarms.md). "+
				"The Cloud Run service %s answered with errors, was out of instances, or was slow.", app, deployment)},
		UserLabels: map[string]string{"polyfn-app": app, "polyfn-function": deployment},
		Combiner:   "OR",
		Conditions: []gcpAlertCondition{
			{DisplayName: fmt.Sprintf("%s: %d or more 5xx responses in %s", deployment, a.Errors, in),
				ConditionThreshold: threshold(service+` AND metric.type = "run.googleapis.com/request_count" AND metric.labels.response_code_class = "5xx"`,
					count, float64(a.Errors-1))},
			{DisplayName: fmt.Sprintf("%s: %d or more 429 responses (no instance available) in %s", deployment, a.Throttles, in),
				ConditionThreshold: threshold(service+` AND metric.type = "run.googleapis.com/request_count" AND metric.labels.response_code = "429"`,
					count, float64(a.Throttles-1))},
			{DisplayName: fmt.Sprintf("%s: p99 request latency above %v in %s", deployment, a.P99, in),
				ConditionThreshold: threshold(service+` AND metric.type = "run.googleapis.com/request_latencies"`,
					[]gcpAggregation{{AlignmentPeriod: period, PerSeriesAligner: "ALIGN_PERCENTILE_99",
						CrossSeriesReducer: "REDUCE_MAX", GroupByFields: []string{"resource.label.service_name"}}},
					float64(a.P99.Milliseconds()))},
		},
	}
}

// alertFiles returns the bundle's alert policy files by path,
// alerts/<deployment>.json, for the deployments whose app keeps alarms.
func (p gcpPlan) alertFiles() (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, d := range p.Deployments {
		if d.Alarms == nil {
			continue
		}
		b, err := json.MarshalIndent(gcpAlertPolicyFor(d.App, d.Name, *d.Alarms), "", "  ")
		if err != nil {
			return nil, err
		}
		files[d.AlertPolicy()] = append(b, '\n')
	}
	return files, nil
}

// AlertPolicy is the path of the deployment's alert policy in the bundle,
// or "" when its app turns alarms off.
func (d gcpDeployment) AlertPolicy() string {
	if d.Alarms == nil {
		return ""
	}
	return "alerts/" + d.Name + ".json"
}

// HasAlerts reports whether any deployment has an alert policy.
func (p gcpPlan) HasAlerts() bool {
	for _, d := range p.Deployments {
		if d.Alarms != nil {
			return true
		}
	}
	return false
}
