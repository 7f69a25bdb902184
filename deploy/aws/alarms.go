package aws

import (
	"fmt"
	"strconv"
	"time"

	"github.com/polyfn/polyfn/deploy"
)

// The template's alarm topic: the one it creates for the plan's channels,
// and the parameter naming an existing one, with the condition testing it.
const (
	AlarmTopic          = "AlarmTopic"
	AlarmTopicParam     = "AlarmTopicArn"
	alarmTopicCondition = "HasAlarmTopicArn"
	chatbotRole         = "ChatbotRole"
)

// channels creates the alarm topic and its subscribers when the plan has
// channels, and the optional existing-topic parameter when some unit has
// alarms; it sets what every alarm notifies.
func (r *renderer) channels(p *deploy.Plan) error {
	alarmed := false
	for _, u := range p.Units {
		alarmed = alarmed || u.Alarms != nil
	}
	if !alarmed {
		return nil
	}
	empty := ""
	if err := r.claim(AlarmTopicParam, "the parameter "+AlarmTopicParam); err != nil {
		return err
	}
	r.t.Parameters[AlarmTopicParam] = Parameter{Type: "String", Default: &empty,
		Description:    "the ARN of an existing SNS topic that the alarms notify too when they go into and out of ALARM; empty for none",
		AllowedPattern: "^$|^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$"}
	r.t.Conditions[alarmTopicCondition] = Not{[]any{Equals{[]any{ref(AlarmTopicParam), ""}}}}
	r.alarmActions = []any{ifThen(alarmTopicCondition, ref(AlarmTopicParam), noValue)}
	if len(p.Channels) == 0 {
		return nil
	}
	if err := r.resource(AlarmTopic, "the alarm topic", "AWS::SNS::Topic", Topic{}); err != nil {
		return err
	}
	r.alarmActions = append([]any{ref(AlarmTopic)}, r.alarmActions...)
	r.t.Outputs[AlarmTopic+"Arn"] = Output{Description: "the topic the alarms notify", Value: ref(AlarmTopic)}
	slack := false
	for _, c := range p.Channels {
		id := logicalID(c.Name)
		switch {
		case c.Email != "":
			// The address receives a confirmation message first; nothing
			// is delivered to it until it is confirmed.
			if err := r.resource(id, "channel "+c.Name, "AWS::SNS::Subscription", Subscription{
				Protocol: "email", Endpoint: c.Email, TopicArn: ref(AlarmTopic),
			}); err != nil {
				return err
			}
		case c.Slack != nil:
			slack = true
			if err := r.resource(id, "channel "+c.Name, "AWS::Chatbot::SlackChannelConfiguration", SlackChannelConfiguration{
				ConfigurationName: sub("${AWS::StackName}-"+c.Name, nil),
				IamRoleArn:        getAtt(chatbotRole, "Arn"),
				SlackWorkspaceID:  c.Slack.Workspace,
				SlackChannelID:    c.Slack.Channel,
				SnsTopicArns:      []any{ref(AlarmTopic)},
				// The channel's members may read alarms and metrics from
				// Slack, nothing more (without guardrails, Chatbot allows
				// AdministratorAccess).
				GuardrailPolicies: []any{sub("arn:${AWS::Partition}:iam::aws:policy/CloudWatchReadOnlyAccess", nil)},
				LoggingLevel:      "ERROR",
			}); err != nil {
				return err
			}
		}
	}
	if !slack {
		return nil
	}
	// The role Chatbot assumes to render an alarm's notification (its
	// graph and details): read-only CloudWatch
	// (https://docs.aws.amazon.com/chatbot/latest/adminguide/chatbot-iam-policies.html).
	return r.resource(chatbotRole, "the Chatbot role", "AWS::IAM::Role", Role{
		AssumeRolePolicyDocument: PolicyDocument{Version: policyVersion, Statement: []Statement{{
			Effect: "Allow", Principal: map[string]any{"Service": "chatbot.amazonaws.com"}, Action: []string{"sts:AssumeRole"},
		}}},
		ManagedPolicyArns: []any{sub("arn:${AWS::Partition}:iam::aws:policy/CloudWatchReadOnlyAccess", nil)},
	})
}

// alarms writes the unit's alarms on its function's AWS/Lambda metrics
// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html):
// the error rate, throttles and p99 duration, and on the HTTP unit the HTTP
// API's 5xx rate (a handler's 500 is a successful invocation, which Errors
// does not count).
func (r *renderer) alarms(u deploy.Unit, fid string) error {
	a := u.Alarms
	if a == nil {
		return nil
	}
	id := logicalID(u.Name)
	period := a.PeriodSeconds
	in := a.PeriodText()
	fn := []NameValue{{Name: "FunctionName", Value: ref(fid)}}
	base := func(description string) Alarm {
		return Alarm{
			AlarmDescription:  "polyfn " + u.Name + ": " + description,
			EvaluationPeriods: 1, DatapointsToAlarm: 1, TreatMissingData: "notBreaching",
			AlarmActions: r.alarmActions, OKActions: r.alarmActions,
		}
	}
	rate := a.ErrorRateText()

	errorRate := base(fmt.Sprintf("%d or more failed invocations, and %s%% or more of them, in %s", a.Errors, rate, in))
	errorRate.Metrics = rateQueries("AWS/Lambda", "Errors", "Invocations", fn, period, a.Errors)
	errorRate.Threshold, errorRate.ComparisonOperator = Threshold(a.ErrorRate), "GreaterThanOrEqualToThreshold"

	throttles := base(fmt.Sprintf("%d or more throttled invocations in %s", a.Throttles, in))
	throttles.Namespace, throttles.MetricName, throttles.Dimensions = "AWS/Lambda", "Throttles", fn
	throttles.Statistic, throttles.Period = "Sum", period
	throttles.Threshold, throttles.ComparisonOperator = Threshold(a.Throttles), "GreaterThanOrEqualToThreshold"

	duration := base(fmt.Sprintf("p99 duration above %v in %s", time.Duration(a.P99Millis)*time.Millisecond, in))
	duration.Namespace, duration.MetricName, duration.Dimensions = "AWS/Lambda", "Duration", fn
	duration.ExtendedStatistic, duration.Period = "p99", period
	duration.Threshold, duration.ComparisonOperator = Threshold(a.P99Millis), "GreaterThanThreshold"

	alarms := map[string]Alarm{id + "ErrorRateAlarm": errorRate, id + "ThrottlesAlarm": throttles, id + "DurationAlarm": duration}
	if u.Kind == deploy.HTTPUnit {
		// HTTP API metrics: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html
		api := []NameValue{{Name: "ApiId", Value: ref("ServerlessHttpApi")}}
		http := base(fmt.Sprintf("%d or more 5xx responses from the HTTP API, and %s%% or more of its requests, in %s", a.Errors, rate, in))
		http.Metrics = rateQueries("AWS/ApiGateway", "5xx", "Count", api, period, a.Errors)
		http.Threshold, http.ComparisonOperator = Threshold(a.ErrorRate), "GreaterThanOrEqualToThreshold"
		alarms[id+"HttpErrorRateAlarm"] = http
	}
	for _, aid := range sortedKeys(alarms) {
		if err := r.resource(aid, "an alarm of unit "+u.Name, "AWS::CloudWatch::Alarm", alarms[aid]); err != nil {
			return err
		}
	}
	return nil
}

// rateQueries is the metric math of a rate alarm: the period's failures
// as a percentage of all its invocations (or requests), counted as 0 while
// the failures are fewer than least, so that the alarm's threshold is the
// rate itself
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html:
// IF(condition, trueValue, falseValue) and the comparison operators). A
// period without traffic has no data, which the alarm treats as not
// breaching.
func rateQueries(namespace, failed, all string, dims []NameValue, period int64, least int) []MetricDataQuery {
	stat := func(metric string) *MetricStat {
		return &MetricStat{Metric: Metric{Namespace: namespace, MetricName: metric, Dimensions: dims}, Period: period, Stat: "Sum"}
	}
	return []MetricDataQuery{
		{ID: "failed", MetricStat: stat(failed)},
		{ID: "total", MetricStat: stat(all)},
		{ID: "rate", Label: "failed, % of all (0 below " + strconv.Itoa(least) + " failures)",
			Expression: fmt.Sprintf("IF(failed >= %d, 100 * failed / total, 0)", least), ReturnData: true},
	}
}
