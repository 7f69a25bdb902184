package main

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
)

// azureAlertsFile names the function app's alert template, written beside
// its folder (not in it: the folder is what gets published).
func azureAlertsFile(name string) string { return name + ".alerts.json" }

// azureTemplate is an Azure Resource Manager deployment template.
type azureTemplate struct {
	Schema         string                        `json:"$schema"`
	ContentVersion string                        `json:"contentVersion"`
	Parameters     map[string]azureTemplateParam `json:"parameters"`
	Variables      map[string]string             `json:"variables"`
	Resources      []azureResource               `json:"resources"`
}

type azureTemplateParam struct {
	Type         string  `json:"type"`
	DefaultValue *string `json:"defaultValue,omitempty"`
	Metadata     struct {
		Description string `json:"description"`
	} `json:"metadata"`
}

type azureResource struct {
	Condition  string `json:"condition,omitempty"`
	Type       string `json:"type"`
	APIVersion string `json:"apiVersion"`
	Name       string `json:"name"`
	Location   string `json:"location"`
	Kind       string `json:"kind,omitempty"`
	Properties any    `json:"properties"`
}

// azureMetricAlert is the properties of a Microsoft.Insights/metricAlerts.
type azureMetricAlert struct {
	Description         string              `json:"description"`
	Severity            int                 `json:"severity"`
	Enabled             bool                `json:"enabled"`
	Scopes              []string            `json:"scopes"`
	EvaluationFrequency string              `json:"evaluationFrequency"`
	WindowSize          string              `json:"windowSize"`
	Criteria            azureMetricCriteria `json:"criteria"`
	AutoMitigate        bool                `json:"autoMitigate"`
	Actions             string              `json:"actions"`
}

type azureMetricCriteria struct {
	ODataType string                 `json:"odata.type"`
	AllOf     []azureMetricCriterion `json:"allOf"`
}

type azureMetricCriterion struct {
	Name            string                 `json:"name"`
	CriterionType   string                 `json:"criterionType"`
	MetricNamespace string                 `json:"metricNamespace"`
	MetricName      string                 `json:"metricName"`
	Dimensions      []azureMetricDimension `json:"dimensions"`
	Operator        string                 `json:"operator"`
	Threshold       int64                  `json:"threshold"`
	TimeAggregation string                 `json:"timeAggregation"`
}

type azureMetricDimension struct {
	Name     string   `json:"name"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

// azureLogAlert is the properties of a Microsoft.Insights/scheduledQueryRules
// (a log search alert), for what metric alerts cannot aggregate: percentiles.
type azureLogAlert struct {
	DisplayName         string   `json:"displayName"`
	Description         string   `json:"description"`
	Severity            int      `json:"severity"`
	Enabled             bool     `json:"enabled"`
	Scopes              []string `json:"scopes"`
	EvaluationFrequency string   `json:"evaluationFrequency"`
	WindowSize          string   `json:"windowSize"`
	Criteria            struct {
		AllOf []azureLogCriterion `json:"allOf"`
	} `json:"criteria"`
	AutoMitigate bool `json:"autoMitigate"`
	Actions      struct {
		ActionGroups string `json:"actionGroups"`
	} `json:"actions"`
}

type azureLogCriterion struct {
	Query               string `json:"query"`
	TimeAggregation     string `json:"timeAggregation"`
	MetricMeasureColumn string `json:"metricMeasureColumn"`
	Operator            string `json:"operator"`
	Threshold           int64  `json:"threshold"`
	FailingPeriods      struct {
		NumberOfEvaluationPeriods int `json:"numberOfEvaluationPeriods"`
		MinFailingPeriodsToAlert  int `json:"minFailingPeriodsToAlert"`
	} `json:"failingPeriods"`
}

// The template's parameters.
const (
	azureFunctionAppParam  = "functionAppId"
	azureAppInsightsParam  = "applicationInsightsId"
	azureActionGroupParam  = "actionGroupId"
	azureAlertSeverity     = 2 // Warning
	azureAlertEvaluateEach = "PT1M"
)

// azureISODuration writes an alarm period as Azure's ISO 8601 window size.
func azureISODuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("PT%dH", d/time.Hour)
	}
	return fmt.Sprintf("PT%dM", d/time.Minute)
}

// azureAlarms returns the one set of alarms of a function app running the
// apps in ms: an Azure function app has one set of platform metrics, so the
// apps that declare alarms must declare the same ones. It returns nil when
// they turn alarms off.
func azureAlarms(ms []core.Manifest) (*core.Alarms, error) {
	var declared *core.Manifest
	for i, m := range ms {
		if m.Alarms == nil {
			continue
		}
		if declared != nil && !reflect.DeepEqual(*declared.Alarms, *m.Alarms) {
			return nil, fmt.Errorf("azure: apps %s and %s declare different alarms, but a function app has one set", declared.App, m.App)
		}
		declared = &ms[i]
	}
	m := core.Manifest{App: ms[0].App}
	if declared != nil {
		m = *declared
	}
	al, err := alarmsOf(m, azureTimeout)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	return al, nil
}

// azureAlertTemplate returns the ARM template of the function app's alert
// rules, or nil when the apps turn alarms off. Scoped to the function app
// (Microsoft.Web/sites): its Http5xx count when the apps have routes. Scoped
// to the Application Insights component the app logs to, when one is given
// (every invocation, HTTP or event, is a request there): failed requests,
// and, in a log search alert since metric alerts have no percentiles, the
// p99 request duration. Azure Functions has no throttling metric.
func azureAlertTemplate(ms []core.Manifest) (*azureTemplate, error) {
	a, err := azureAlarms(ms)
	if err != nil || a == nil {
		return nil, err
	}
	var apps []string
	http := false
	for _, m := range ms {
		apps = append(apps, m.App)
		http = http || len(m.Routes) > 0
	}
	label := "polyfn " + strings.Join(apps, ", ")
	period := describePeriod(a.Period)
	window := azureISODuration(a.Period)
	empty := ""
	t := &azureTemplate{
		Schema:         "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
		ContentVersion: "1.0.0.0",
		Parameters:     map[string]azureTemplateParam{},
		Variables: map[string]string{
			"appName":      "[last(split(parameters('" + azureFunctionAppParam + "'), '/'))]",
			"actions":      "[if(empty(parameters('" + azureActionGroupParam + "')), createArray(), createArray(createObject('actionGroupId', parameters('" + azureActionGroupParam + "'))))]",
			"actionGroups": "[if(empty(parameters('" + azureActionGroupParam + "')), createArray(), createArray(parameters('" + azureActionGroupParam + "')))]",
		},
	}
	param := func(name, description string, def *string) {
		p := azureTemplateParam{Type: "string", DefaultValue: def}
		p.Metadata.Description = description
		t.Parameters[name] = p
	}
	param(azureFunctionAppParam, "the resource ID of the function app, /subscriptions/SUBSCRIPTION/resourceGroups/GROUP/providers/Microsoft.Web/sites/NAME", nil)
	param(azureAppInsightsParam, "the resource ID of the Application Insights component the function app logs to; empty for the function app's own metrics only", &empty)
	param(azureActionGroupParam, "the resource ID of an action group that the alerts notify; empty for none", &empty)

	name := func(suffix string) string { return "[format('{0}-" + suffix + "', variables('appName'))]" }
	metricAlert := func(suffix, condition, description, scope string, c azureMetricCriterion) azureResource {
		c.CriterionType = "StaticThresholdCriterion"
		if c.Dimensions == nil {
			c.Dimensions = []azureMetricDimension{}
		}
		return azureResource{
			Condition: condition, Type: "Microsoft.Insights/metricAlerts", APIVersion: "2018-03-01",
			Name: name(suffix), Location: "global",
			Properties: azureMetricAlert{
				Description: label + ": " + description, Severity: azureAlertSeverity, Enabled: true,
				Scopes: []string{scope}, EvaluationFrequency: azureAlertEvaluateEach, WindowSize: window,
				Criteria:     azureMetricCriteria{ODataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria", AllOf: []azureMetricCriterion{c}},
				AutoMitigate: true, Actions: "[variables('actions')]",
			},
		}
	}
	site := "[parameters('" + azureFunctionAppParam + "')]"
	insights := "[parameters('" + azureAppInsightsParam + "')]"
	hasInsights := "[not(empty(parameters('" + azureAppInsightsParam + "')))]"
	if http {
		t.Resources = append(t.Resources, metricAlert("http-errors", "",
			fmt.Sprintf("%d or more HTTP 5xx responses in %s", a.Errors, period), site,
			azureMetricCriterion{Name: "Http5xx", MetricNamespace: "Microsoft.Web/sites", MetricName: "Http5xx",
				Operator: "GreaterThanOrEqual", Threshold: int64(a.Errors), TimeAggregation: "Total"}))
	}
	t.Resources = append(t.Resources, metricAlert("errors", hasInsights,
		fmt.Sprintf("%d or more failed invocations in %s", a.Errors, period), insights,
		azureMetricCriterion{Name: "FailedRequests", MetricNamespace: "microsoft.insights/components", MetricName: "requests/failed",
			Dimensions: []azureMetricDimension{{Name: "cloud/roleName", Operator: "Include", Values: []string{"[variables('appName')]"}}},
			Operator:   "GreaterThanOrEqual", Threshold: int64(a.Errors), TimeAggregation: "Count"}))

	p99 := azureLogAlert{
		DisplayName: label + ": p99 duration", Severity: azureAlertSeverity, Enabled: true,
		Description: fmt.Sprintf("%s: p99 duration above %v in %s", label, a.P99, period),
		Scopes:      []string{insights}, EvaluationFrequency: window, WindowSize: window, AutoMitigate: true,
	}
	p99.Actions.ActionGroups = "[variables('actionGroups')]"
	c := azureLogCriterion{
		Query: fmt.Sprintf("[format('requests | where cloud_RoleName =~ ''{0}'' | summarize p99 = percentile(duration, 99) by bin(timestamp, %dm)', variables('appName'))]",
			int(a.Period/time.Minute)),
		TimeAggregation: "Maximum", MetricMeasureColumn: "p99", Operator: "GreaterThan", Threshold: a.P99.Milliseconds(),
	}
	c.FailingPeriods.NumberOfEvaluationPeriods, c.FailingPeriods.MinFailingPeriodsToAlert = 1, 1
	p99.Criteria.AllOf = []azureLogCriterion{c}
	t.Resources = append(t.Resources, azureResource{
		Condition: hasInsights, Type: "Microsoft.Insights/scheduledQueryRules", APIVersion: "2021-08-01",
		Name: name("p99-duration"), Location: "[resourceGroup().location]", Kind: "LogAlert", Properties: p99,
	})
	return t, nil
}

// azureAlertsCommand is the command that deploys the alert template.
func azureAlertsCommand(path string) string {
	return "az deployment group create --resource-group <resource-group> --template-file " + path +
		" --parameters " + azureFunctionAppParam + "=<function-app-id> " + azureAppInsightsParam + "=<app-insights-id> " +
		azureActionGroupParam + "=<action-group-id>"
}
