package azure

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// severity is the alerts' severity: 2, Warning.
const severity = 2

// QueryRule is the properties of a Microsoft.Insights/scheduledQueryRules,
// a log search alert
// (https://learn.microsoft.com/azure/templates/microsoft.insights/2021-08-01/scheduledqueryrules).
type QueryRule struct {
	DisplayName         string   `json:"displayName"`
	Description         string   `json:"description"`
	Severity            int      `json:"severity"`
	Enabled             bool     `json:"enabled"`
	Scopes              []string `json:"scopes"`
	EvaluationFrequency string   `json:"evaluationFrequency"`
	WindowSize          string   `json:"windowSize"`
	Criteria            struct {
		AllOf []QueryCriterion `json:"allOf"`
	} `json:"criteria"`
	AutoMitigate bool `json:"autoMitigate"`
	Actions      struct {
		ActionGroups []string `json:"actionGroups"`
	} `json:"actions"`
}

// QueryCriterion is one condition of a log search alert.
type QueryCriterion struct {
	Query               string `json:"query"`
	TimeAggregation     string `json:"timeAggregation"`
	MetricMeasureColumn string `json:"metricMeasureColumn,omitempty"`
	Operator            string `json:"operator"`
	Threshold           int64  `json:"threshold"`
	FailingPeriods      struct {
		NumberOfEvaluationPeriods int `json:"numberOfEvaluationPeriods"`
		MinFailingPeriodsToAlert  int `json:"minFailingPeriodsToAlert"`
	} `json:"failingPeriods"`
}

// ActionGroup is the properties of a Microsoft.Insights/actionGroups
// (https://learn.microsoft.com/azure/templates/microsoft.insights/actiongroups).
type ActionGroup struct {
	GroupShortName string          `json:"groupShortName"`
	Enabled        bool            `json:"enabled"`
	EmailReceivers []EmailReceiver `json:"emailReceivers"`
}

// EmailReceiver is an action group's email receiver.
type EmailReceiver struct {
	Name                 string `json:"name"`
	EmailAddress         string `json:"emailAddress"`
	UseCommonAlertSchema bool   `json:"useCommonAlertSchema"`
}

// isoDuration writes a period as ISO 8601.
func isoDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("PT%dH", d/time.Hour)
	}
	return fmt.Sprintf("PT%dM", d/time.Minute)
}

// alerts writes an action group per email channel and, per unit with
// alarms, two log search alerts over Application Insights' requests
// table, where the host records every invocation (HTTP or event) under
// its function's name: the error rate (failed ≥ Errors and 100·failed/total
// ≥ ErrorRate in the period) and the p99 duration above P99Millis. Azure
// Functions has no throttling metric, so Throttles has no alert; Azure
// Monitor has no Slack receiver, so a Slack channel is reported and left
// out.
func (r *renderer) alerts(insightsID string) error {
	groups := map[string]string{} // channel → action group ID
	for _, c := range r.plan.Channels {
		if c.Slack != nil {
			r.notef("channel %s (Slack %s/%s) is not created on Azure: Azure Monitor has no Slack receiver; its alerts notify the app's email channels only",
				c.Name, c.Slack.Workspace, c.Slack.Channel)
			continue
		}
		n := call("format", lit("{0}-"+c.Name), param(appNameParam))
		groups[c.Name] = resourceID("Microsoft.Insights/actionGroups", n)
		short := c.Name
		if len(short) > 12 { // groupShortName: at most 12 characters
			short = strings.TrimRight(short[:12], "-")
		}
		r.t.Resources = append(r.t.Resources, Resource{
			Type: "Microsoft.Insights/actionGroups", APIVersion: apiActionGroups, Name: name(n), Location: "Global",
			Properties: ActionGroup{GroupShortName: short, Enabled: true,
				EmailReceivers: []EmailReceiver{{Name: c.Name, EmailAddress: c.Email, UseCommonAlertSchema: true}}},
		})
	}
	for _, u := range r.plan.Units {
		a := u.Alarms
		if a == nil {
			continue
		}
		var actions, deps []string
		for _, c := range a.Notify {
			if id, ok := groups[c]; ok {
				actions = append(actions, expr(id))
				deps = append(deps, id)
			}
		}
		if actions == nil {
			actions = []string{}
		}
		period := a.Period()
		quoted := make([]string, len(r.funcs[u.Name]))
		for i, f := range r.funcs[u.Name] {
			quoted[i] = strconv.Quote(f)
		}
		requests := "requests | where name in (" + strings.Join(quoted, ", ") + ")"
		rate := QueryCriterion{
			Query: fmt.Sprintf("%s | summarize total = count(), failed = countif(success == false) | where failed >= %d and 100.0 * failed / total >= %s",
				requests, a.Errors, a.ErrorRateText()),
			// The query returns a row when the period is over both thresholds.
			TimeAggregation: "Count", Operator: "GreaterThanOrEqual", Threshold: 1,
		}
		p99 := QueryCriterion{
			Query:           requests + " | summarize p99 = percentile(duration, 99)",
			TimeAggregation: "Maximum", MetricMeasureColumn: "p99", Operator: "GreaterThan", Threshold: a.P99Millis,
		}
		for _, rule := range []struct {
			suffix, what string
			c            QueryCriterion
		}{
			{"error-rate", fmt.Sprintf("%d or more failed invocations, and %s%% or more of all, in %s", a.Errors, a.ErrorRateText(), a.PeriodText()), rate},
			{"p99-duration", fmt.Sprintf("p99 duration above %d ms in %s", a.P99Millis, a.PeriodText()), p99},
		} {
			q := QueryRule{
				DisplayName: "polyfn " + u.Name + ": " + rule.suffix, Description: "polyfn " + u.Name + ": " + rule.what,
				Severity: severity, Enabled: true, Scopes: []string{expr(insightsID)},
				EvaluationFrequency: isoDuration(period), WindowSize: isoDuration(period), AutoMitigate: true,
			}
			rule.c.FailingPeriods.NumberOfEvaluationPeriods, rule.c.FailingPeriods.MinFailingPeriodsToAlert = 1, 1
			q.Criteria.AllOf = []QueryCriterion{rule.c}
			q.Actions.ActionGroups = actions
			r.t.Resources = append(r.t.Resources, Resource{
				Type: "Microsoft.Insights/scheduledQueryRules", APIVersion: apiQueryRules, Kind: "LogAlert",
				Name:       name(call("format", lit("{0}-"+u.Name+"-"+rule.suffix), param(appNameParam))),
				Location:   expr(param(locationParam)),
				DependsOn:  append([]string{insightsID}, slices.Clone(deps)...),
				Properties: q,
			})
		}
	}
	return nil
}
