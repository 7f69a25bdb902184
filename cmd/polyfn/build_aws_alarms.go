package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The template's alarm parameter and the condition that tests it.
const (
	awsAlarmTopicParam     = "AlarmTopicArn"
	awsAlarmTopicCondition = "HasAlarmTopic"
)

// cloudWatchAlarm is one AWS::CloudWatch::Alarm of the template.
type cloudWatchAlarm struct {
	id, description string
	namespace       string
	metric          string
	dimension       [2]string // name, value
	// statistic is "Statistic: Sum" or "ExtendedStatistic: p99".
	statistic  string
	threshold  int64
	comparison string
}

// cloudWatchAlarms returns the template's alarm resources, each a YAML
// block at the resources' indent: errors, throttles and p99 duration on
// the function's AWS/Lambda metrics, and the HTTP API's 5xx responses when
// there are routes (a handler's 500 is a successful Lambda invocation, so
// Errors does not count it).
func (s *sam) cloudWatchAlarms() []string {
	if s.alarms == nil {
		return nil
	}
	a := s.alarms
	period := describePeriod(a.Period)
	fn := [2]string{"FunctionName", "!Ref Function"}
	alarms := []cloudWatchAlarm{
		{id: "ErrorsAlarm", namespace: "AWS/Lambda", metric: "Errors", dimension: fn, statistic: "Statistic: Sum",
			threshold: int64(a.Errors), comparison: "GreaterThanOrEqualToThreshold",
			description: fmt.Sprintf("%d or more failed invocations in %s", a.Errors, period)},
		{id: "ThrottlesAlarm", namespace: "AWS/Lambda", metric: "Throttles", dimension: fn, statistic: "Statistic: Sum",
			threshold: int64(a.Throttles), comparison: "GreaterThanOrEqualToThreshold",
			description: fmt.Sprintf("%d or more throttled invocations in %s", a.Throttles, period)},
		{id: "DurationAlarm", namespace: "AWS/Lambda", metric: "Duration", dimension: fn, statistic: "ExtendedStatistic: p99",
			threshold: a.P99.Milliseconds(), comparison: "GreaterThanThreshold",
			description: fmt.Sprintf("p99 duration above %v in %s", a.P99, period)},
	}
	if s.http {
		alarms = append(alarms, cloudWatchAlarm{id: "HttpErrorsAlarm", namespace: "AWS/ApiGateway", metric: "5xx",
			dimension: [2]string{"ApiId", "!Ref ServerlessHttpApi"}, statistic: "Statistic: Sum",
			threshold: int64(a.Errors), comparison: "GreaterThanOrEqualToThreshold",
			description: fmt.Sprintf("%d or more 5xx responses from the HTTP API in %s", a.Errors, period)})
	}
	actions := "!If [" + awsAlarmTopicCondition + ", [!Ref " + awsAlarmTopicParam + `], !Ref "AWS::NoValue"]`
	var out []string
	for _, al := range alarms {
		lines := []string{
			al.id + ":",
			"  Type: AWS::CloudWatch::Alarm",
			"  Properties:",
			"    AlarmDescription: " + quote("polyfn "+s.app+": "+al.description),
			"    Namespace: " + al.namespace,
			"    MetricName: " + quote(al.metric),
			"    Dimensions:",
			"      - Name: " + al.dimension[0],
			"        Value: " + al.dimension[1],
			"    " + al.statistic,
			"    Period: " + strconv.Itoa(int(a.Period/time.Second)),
			"    EvaluationPeriods: 1",
			"    DatapointsToAlarm: 1",
			"    Threshold: " + strconv.FormatInt(al.threshold, 10),
			"    ComparisonOperator: " + al.comparison,
			"    TreatMissingData: notBreaching",
			"    AlarmActions: " + actions,
			"    OKActions: " + actions,
		}
		out = append(out, strings.Join(lines, "\n"))
	}
	return out
}

// describePeriod writes an alarm period for people: "1 minute", "5
// minutes", "1 hour".
func describePeriod(d time.Duration) string {
	if d%time.Hour == 0 {
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/time.Minute), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
