// Package aws renders a deployment plan (deploy.Plan) as an AWS SAM
// template: one Lambda function per deployment unit, all from the same
// bootstrap, each with its own role holding exactly the unit's grants
// (deploy.AWSGrants), its sizing, its trigger and the queues that feed it,
// its alarms, and the notification channels the app declares. See
// docs/aws.md for what a user declares and what the template creates.
//
// The package is data in, data out: it imports core and deploy, never an
// adapter or an SDK, so the adapter's wire formats it needs (the schedule
// input) come in through Options.
package aws

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// Options are the template's inputs that the plan does not hold.
type Options struct {
	// CodeURI maps each architecture the plan's units run on to the
	// bootstrap zip's path, relative to the template: one zip per
	// architecture, shared by the units that run on it.
	CodeURI map[core.Arch]string
	// SchedulerInput returns the input an EventBridge schedule passes to a
	// timer function (awslambda.SchedulerInput): required when the plan has
	// a timer unit.
	SchedulerInput func(function string) string
	// Grants picks the URL schemes whose kind alone does not decide it
	// (Secrets Manager rather than Parameter Store); nil: the defaults.
	Grants *deploy.GrantOptions
}

// Lambda's and API Gateway's limits the renderer checks.
const (
	// httpAPITimeoutSeconds is how long an HTTP API waits for its Lambda
	// integration at most
	// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
	httpAPITimeoutSeconds = 30
	// maxVisibilityTimeout is SQS's longest visibility timeout, 12 hours.
	maxVisibilityTimeout = 43200
	// retention14Days is SQS's longest message retention, for dead letters.
	retention14Days = 1209600
	// alias is the alias that carries provisioned concurrency.
	alias = "live"
)

// Render returns the SAM template of the plan, which must hold the units
// of one app: Lambda runs one app per bootstrap. It fails, naming the unit
// or the variable, on what the template cannot express.
func Render(p *deploy.Plan, opts *Options) (*Template, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if p == nil || len(p.Units) == 0 {
		return nil, fmt.Errorf("aws: the plan has no unit")
	}
	app := p.Units[0].App
	for _, u := range p.Units {
		if u.App != app {
			return nil, fmt.Errorf("aws: the plan holds apps %s and %s; a Lambda bootstrap runs exactly one", app, u.App)
		}
	}
	r := &renderer{
		opts: o,
		t: &Template{
			AWSTemplateFormatVersion: "2010-09-09",
			Transform:                "AWS::Serverless-2016-10-31",
			Description:              "polyfn app " + app + ": one Lambda function per deployment unit",
			Parameters:               map[string]Parameter{},
			Conditions:               map[string]any{},
			Resources:                map[string]Resource{},
			Outputs:                  map[string]Output{},
		},
		bindings: map[string]*binding{},
		ids:      map[string]string{},
	}
	if err := r.render(p); err != nil {
		return nil, err
	}
	return r.t, nil
}

type renderer struct {
	opts Options
	t    *Template
	// bindings are the resource variables by name: how the template fills
	// each one's URL and its grants' placeholders.
	bindings map[string]*binding
	// ids are the logical ids taken, with what took them.
	ids map[string]string
	// alarmActions are what every alarm notifies; nil: no alarms.
	alarmActions []any
}

// binding is how the template gives one resource variable: the values of
// the grants' ${Name} and ${Arn}, the variable's value (its URL), and the
// condition under which it is set (an optional resource whose parameter
// may be left empty), "" for always.
type binding struct {
	vars map[string]any
	url  any
	cond string
}

// claim takes a logical id for what; two things may not share one.
func (r *renderer) claim(id, what string) error {
	if prev, ok := r.ids[id]; ok {
		return fmt.Errorf("aws: %s and %s would both be the template's %s: rename one", prev, what, id)
	}
	r.ids[id] = what
	return nil
}

func (r *renderer) resource(id, what, typ string, props any) error {
	if err := r.claim(id, what); err != nil {
		return err
	}
	r.t.Resources[id] = Resource{Type: typ, Properties: props}
	return nil
}

// stateful adds a resource that holds data (a bucket, a queue): the stack
// keeps it when it is deleted or replaced, so that objects and messages
// are never lost to a stack operation (cfn-lint I3011).
func (r *renderer) stateful(id, what, typ string, props any) error {
	if err := r.resource(id, what, typ, props); err != nil {
		return err
	}
	res := r.t.Resources[id]
	res.DeletionPolicy, res.UpdateReplacePolicy = "Retain", "Retain"
	r.t.Resources[id] = res
	return nil
}

func (r *renderer) render(p *deploy.Plan) error {
	// Triggers first: the template creates their buckets, queues and
	// topics, and the variables of every unit that names them are bound to
	// what it creates.
	for _, u := range p.Units {
		if err := r.plumbing(u); err != nil {
			return err
		}
	}
	for _, u := range p.Units {
		for _, res := range u.Resources {
			if err := r.bind(u, res); err != nil {
				return err
			}
		}
	}
	if err := r.channels(p); err != nil {
		return err
	}
	for _, u := range p.Units {
		if err := r.unit(u); err != nil {
			return err
		}
	}
	return nil
}

// logicalID turns "USERS_BUCKET_URL" or "kitchen-sink-fan-out" into
// "UsersBucketUrl" or "KitchenSinkFanOut": CloudFormation's logical ids
// are alphanumeric.
func logicalID(s string) string {
	var b strings.Builder
	upper := true
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
			b.WriteRune(c)
			upper = false
		case c >= '0' && c <= '9':
			b.WriteRune(c)
			upper = true
		default:
			upper = true
		}
	}
	return b.String()
}

// varID is the logical id a variable's parameters and resources start
// with: USERS_BUCKET_URL is UsersBucket.
func varID(env string) string { return logicalID(strings.TrimSuffix(env, "_URL")) }

// plumbing creates what a unit's trigger needs in the template: an object
// trigger's bucket (SAM attaches S3 notifications only to a bucket of the
// template), a message trigger's queue, dead letter and topic.
func (r *renderer) plumbing(u deploy.Unit) error {
	if u.Trigger == nil {
		return nil
	}
	switch t := u.Trigger; {
	case t.Object != nil:
		env := t.Object.Bucket
		if _, ok := r.bindings[env]; ok {
			return nil // another function's trigger on the same bucket
		}
		param := varID(env) + "Name"
		if err := r.param(param, env+": the name of the bucket the stack creates for the object trigger of "+u.Function+" (SAM attaches S3 notifications only to a bucket of the template)",
			false, "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"); err != nil {
			return err
		}
		if err := r.stateful(varID(env), "the bucket of "+env, "AWS::S3::Bucket", Bucket{
			BucketName: ref(param),
			PublicAccessBlockConfiguration: &PublicAccessBlockConfiguration{
				BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
			},
		}); err != nil {
			return err
		}
		vars := map[string]any{"Name": ref(param)}
		r.bindings[env] = &binding{vars: vars, url: sub(urlForms[core.KindBucket]["s3"], vars)}
	case t.Message != nil:
		return r.queue(u)
	case t.Stream != nil && u.Stream != nil:
		return r.bindStream(u)
	}
	return nil
}

// queue creates a message trigger's queue, its dead letter and, when the
// trigger names a topic, the topic and its subscription to the queue.
func (r *renderer) queue(u deploy.Unit) error {
	q := u.Queue
	if _, ok := r.bindings[q.Subscription]; ok {
		return fmt.Errorf("aws: unit %s: %s is another function's trigger too; an SQS queue delivers each message to one function", u.Name, q.Subscription)
	}
	uid := logicalID(u.Name)
	qid, dlq := uid+"Queue", logicalID(q.DeadLetter)
	dead := Queue{MessageRetentionPeriod: retention14Days}
	queue := Queue{
		// Lambda's advice: six times the function's timeout, so that a
		// batch being retried is not received again meanwhile
		// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
		VisibilityTimeout:      min(6*u.Sizing.TimeoutSeconds, maxVisibilityTimeout),
		MessageRetentionPeriod: 345600, // SQS's default, 4 days
		RedrivePolicy:          &RedrivePolicy{DeadLetterTargetArn: getAtt(dlq, "Arn"), MaxReceiveCount: q.MaxDeliveries},
	}
	if q.Ordered {
		// A FIFO queue's name ends in .fifo, so the stack names it.
		queue.FifoQueue, queue.ContentBasedDeduplication = true, true
		queue.QueueName = sub("${AWS::StackName}-"+u.Name+".fifo", nil)
		dead.FifoQueue = true
		dead.QueueName = sub("${AWS::StackName}-"+u.Name+"-dl.fifo", nil)
	}
	if err := r.stateful(qid, "the queue of "+q.Subscription, "AWS::SQS::Queue", queue); err != nil {
		return err
	}
	if err := r.stateful(dlq, "the dead letter of "+u.Name, "AWS::SQS::Queue", dead); err != nil {
		return err
	}
	vars := map[string]any{"Name": getAtt(qid, "QueueName")}
	r.bindings[q.Subscription] = &binding{vars: vars, url: sub(urlForms[core.KindSubscription]["awssqs"], vars)}
	r.t.Outputs[qid+"Url"] = Output{Description: q.Subscription, Value: ref(qid)}
	r.t.Outputs[dlq+"Url"] = Output{Description: "the dead letter of " + u.Name + ": messages that failed " + fmt.Sprint(q.MaxDeliveries) + " deliveries", Value: ref(dlq)}
	if q.Topic == "" {
		return nil
	}
	tid := varID(q.Topic)
	if _, ok := r.bindings[q.Topic]; !ok {
		topic := Topic{}
		if q.Ordered {
			// Publishers need give no deduplication id, as on the queue.
			topic.FifoTopic, topic.ContentBasedDeduplication = true, true
			topic.TopicName = sub("${AWS::StackName}-"+varID(q.Topic)+".fifo", nil)
		}
		if err := r.resource(tid, "the topic of "+q.Topic, "AWS::SNS::Topic", topic); err != nil {
			return err
		}
		vars := map[string]any{"Arn": ref(tid)}
		r.bindings[q.Topic] = &binding{vars: vars, url: sub(urlForms[core.KindTopic]["awssns"], vars)}
	}
	if err := r.resource(uid+"Subscription", "the subscription of "+q.Subscription+" to "+q.Topic, "AWS::SNS::Subscription", Subscription{
		Protocol: "sqs", Endpoint: getAtt(qid, "Arn"), TopicArn: ref(tid),
		// The queue receives the message as published, not SNS's envelope.
		RawMessageDelivery: true,
	}); err != nil {
		return err
	}
	return r.resource(uid+"QueuePolicy", "the policy of "+q.Subscription, "AWS::SQS::QueuePolicy", QueuePolicy{
		Queues: []any{ref(qid)},
		PolicyDocument: PolicyDocument{Version: policyVersion, Statement: []Statement{{
			Effect: "Allow", Principal: map[string]any{"Service": "sns.amazonaws.com"},
			Action: []string{"sqs:SendMessage"}, Resource: getAtt(qid, "Arn"),
			Condition: map[string]map[string]any{"ArnEquals": {"aws:SourceArn": ref(tid)}},
		}}},
	})
}

// urlForms are the gocloud.dev URLs of each kind and scheme, in Fn::Sub's
// syntax over the grants' placeholders ${Name} and ${Arn} (and ${Keys},
// a DynamoDB table's key query). The drivers read them so: s3blob the
// bucket from the host; awssnssqs a topic ARN from the path and a queue
// from https://<host>/<account>/<queue>; awskms, awsparamstore and
// awssecretsmanager the key, parameter or secret from host and path
// joined (a leading "/" dropped for a key, kept for a parameter, which
// Parameter Store names with it); awsdynamodb the table from the host and
// its keys from partition_key and sort_key.
var urlForms = map[core.ResourceKind]map[string]string{
	core.KindBucket:       {"s3": "s3://${Name}?region=${AWS::Region}"},
	core.KindTopic:        {"awssns": "awssns:///${Arn}?region=${AWS::Region}"},
	core.KindSubscription: {"awssqs": "awssqs://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/${Name}?region=${AWS::Region}"},
	core.KindKeeper:       {"awskms": "awskms:///${Arn}?region=${AWS::Region}"},
	core.KindVariable: {
		"awsparamstore":     "awsparamstore:///${Name}?region=${AWS::Region}&decoder=string",
		"awssecretsmanager": "awssecretsmanager://${Name}?region=${AWS::Region}&decoder=string",
	},
	core.KindCollection: {"dynamodb": "dynamodb://${Name}?${Keys}"},
}

// paramForms are the parameters a user gives for a resource of each kind
// and scheme the template does not create: the suffix of the parameter's
// logical id, the placeholder it fills, what it holds, its pattern.
var paramForms = map[core.ResourceKind]map[string][]paramForm{
	core.KindBucket: {"s3": {{"Name", "Name", "the bucket's name", "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"}}},
	core.KindTopic:  {"awssns": {{"Arn", "Arn", "the SNS topic's ARN", "^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$"}}},
	core.KindSubscription: {"awssqs": {{"QueueName", "Name", "the name of the SQS queue, in the stack's account and region",
		"^[A-Za-z0-9_-]{1,80}(\\.fifo)?$"}}},
	core.KindKeeper: {"awskms": {{"Arn", "Arn", "the KMS key's ARN (arn:aws:kms:<region>:<account>:key/<id>; KMS authorises on the key, not an alias)",
		"^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$"}}},
	core.KindVariable: {
		"awsparamstore": {{"ParameterName", "Name", "the Parameter Store parameter's name without its leading / (users/api-keys for /users/api-keys)",
			"^[A-Za-z0-9_.-][A-Za-z0-9_./-]*$"}},
		"awssecretsmanager": {{"SecretName", "Name", "the Secrets Manager secret's name", "^[A-Za-z0-9/_+=.@-]+$"}},
	},
	core.KindCollection: {"dynamodb": {
		{"TableName", "Name", "the DynamoDB table's name", "^[A-Za-z0-9_.-]{3,255}$"},
		{"TableKeys", "Keys", "the table's keys as gocloud.dev's URL query: partition_key=<attribute>[&sort_key=<attribute>]",
			"^partition_key=[^&]+(&sort_key=[^&]+)?$"},
	}},
}

type paramForm struct {
	suffix, placeholder, description, pattern string
}

// oidcDescriptions describe the parameters of the kinds whose value is
// passed as it is.
var oidcDescriptions = map[core.ResourceKind]string{
	core.KindOIDCIssuer:   "the URL of the OIDC issuer whose bearer tokens the function accepts, https://<issuer>",
	core.KindOIDCAudience: "the audience (aud) that bearer tokens must name; several separated by commas",
}

// bind declares the parameters of a variable the template does not
// create, once, however many units are given it.
func (r *renderer) bind(u deploy.Unit, res deploy.Resource) error {
	if _, ok := r.bindings[res.Env]; ok {
		return nil
	}
	if d, ok := oidcDescriptions[res.Kind]; ok {
		id := logicalID(res.Env)
		if err := r.param(id, res.Env+": "+d, res.Optional, ""); err != nil {
			return err
		}
		r.bindings[res.Env] = &binding{url: ref(id), cond: r.optional(id, res.Optional)}
		return nil
	}
	scheme := r.scheme(res)
	forms, ok := paramForms[res.Kind][scheme]
	if !ok {
		return fmt.Errorf("aws: unit %s, %s: no AWS form for a %s behind %s://", u.Name, res.Env, res.Kind, scheme)
	}
	b := &binding{vars: map[string]any{}}
	for i, f := range forms {
		id := varID(res.Env) + f.suffix
		what := res.Env + ": " + f.description
		if res.Optional {
			what += "; empty for none"
		}
		if err := r.param(id, what, res.Optional, f.pattern); err != nil {
			return err
		}
		b.vars[f.placeholder] = ref(id)
		if i == 0 {
			b.cond = r.optional(id, res.Optional)
		}
	}
	b.url = sub(urlForms[res.Kind][scheme], b.vars)
	r.bindings[res.Env] = b
	return nil
}

func (r *renderer) scheme(res deploy.Resource) string {
	if g := r.opts.Grants; g != nil && g.Schemes[res.Env] != "" {
		return g.Schemes[res.Env]
	}
	return deploy.DefaultScheme(deploy.AWS, res.Kind)
}

// param declares a String parameter; an optional one defaults to "".
func (r *renderer) param(id, description string, optional bool, pattern string) error {
	if err := r.claim(id, "the parameter "+id); err != nil {
		return err
	}
	p := Parameter{Type: "String", Description: description}
	if optional {
		empty := ""
		p.Default = &empty
		if pattern != "" {
			pattern = "^$|" + pattern
		}
	}
	p.AllowedPattern = pattern
	r.t.Parameters[id] = p
	return nil
}

// optional declares the condition that an optional parameter is set and
// returns its name; "" for a required one.
func (r *renderer) optional(param string, optional bool) string {
	if !optional {
		return ""
	}
	c := "Has" + param
	r.t.Conditions[c] = Not{[]any{Equals{[]any{ref(param), ""}}}}
	return c
}

// placeholder matches the grants' own placeholders in a resource pattern.
var placeholder = regexp.MustCompile(`\$\{(Name|Arn)\}`)

// fill turns a grant's resource pattern into the template's value: the
// pattern under Fn::Sub with its placeholders bound to the variable's.
func (b *binding) fill(pattern string) (any, error) {
	vars := map[string]any{}
	for _, m := range placeholder.FindAllStringSubmatch(pattern, -1) {
		v, ok := b.vars[m[1]]
		if !ok {
			return nil, fmt.Errorf("the grant's %s has no value here", m[0])
		}
		vars[m[1]] = v
	}
	return sub(pattern, vars), nil
}

// unit writes the unit's function, role, events and alarms.
func (r *renderer) unit(u deploy.Unit) error {
	id := logicalID(u.Name)
	fid, rid := id+"Function", id+"Role"
	// A unit that streams answers its function URL for as long as its
	// timeout; through the HTTP API, a request still ends at 30 s.
	if u.Kind == deploy.HTTPUnit && !u.StreamResponses && u.Sizing.TimeoutSeconds > httpAPITimeoutSeconds {
		return fmt.Errorf("aws: unit %s: timeout %ds: an HTTP API waits at most %d s for its function; give the routes a shorter one (app.Size)",
			u.Name, u.Sizing.TimeoutSeconds, httpAPITimeoutSeconds)
	}
	code, ok := r.opts.CodeURI[u.Sizing.Arch]
	if !ok {
		return fmt.Errorf("aws: unit %s: no bootstrap for %s (Options.CodeURI)", u.Name, u.Sizing.Arch)
	}
	fn := Function{
		CodeURI: code, Handler: "bootstrap", Runtime: "provided.al2023",
		Architectures: []string{string(u.Sizing.Arch)},
		MemorySize:    u.Sizing.MemoryMiB, Timeout: u.Sizing.TimeoutSeconds,
		Role: getAtt(rid, "Arn"),
		// Lambda samples and records each invocation and passes the
		// sampled trace header on (docs/aws.md, Tracing).
		Tracing:                      "Active",
		ReservedConcurrentExecutions: reserved(u.Sizing),
		Environment:                  Environment{Variables: map[string]any{core.UnitEnv: u.Name}},
	}
	if u.Sizing.WarmInstances > 0 {
		fn.AutoPublishAlias = alias
		fn.ProvisionedConcurrencyConfig = &ProvisionedConcurrencyConfig{ProvisionedConcurrentExecutions: u.Sizing.WarmInstances}
	}
	grants, err := deploy.AWSGrants(u, r.opts.Grants)
	if err != nil {
		return fmt.Errorf("aws: %w", err)
	}
	var policies []any
	for _, res := range u.Resources {
		b := r.bindings[res.Env]
		if b.cond != "" {
			fn.Environment.Variables[res.Env] = ifThen(b.cond, b.url, "")
		} else {
			fn.Environment.Variables[res.Env] = b.url
		}
	}
	for _, g := range grants {
		b := r.bindings[g.Env]
		pol := Policy{PolicyName: g.Env, PolicyDocument: PolicyDocument{Version: policyVersion}}
		for _, st := range g.Grants {
			s := Statement{Effect: st.Effect, Action: st.Action}
			var resources []any
			for _, pat := range st.Resource {
				v, err := b.fill(pat)
				if err != nil {
					return fmt.Errorf("aws: unit %s, %s: %w", u.Name, g.Env, err)
				}
				resources = append(resources, v)
			}
			s.Resource = resources
			for op, kv := range st.Condition {
				if s.Condition == nil {
					s.Condition = map[string]map[string]any{}
				}
				s.Condition[op] = map[string]any{}
				for k, v := range kv {
					s.Condition[op][k] = sub(v, nil)
				}
			}
			pol.PolicyDocument.Statement = append(pol.PolicyDocument.Statement, s)
		}
		if b.cond != "" {
			policies = append(policies, ifThen(b.cond, pol, noValue))
		} else {
			policies = append(policies, pol)
		}
	}
	delivery, err := r.events(u, &fn)
	if err != nil {
		return err
	}
	if len(delivery) > 0 {
		policies = append(policies, Policy{PolicyName: DeliveryPolicy, PolicyDocument: PolicyDocument{Version: policyVersion, Statement: delivery}})
	}
	if err := r.resource(rid, "the role of unit "+u.Name, "AWS::IAM::Role", Role{
		AssumeRolePolicyDocument: PolicyDocument{Version: policyVersion, Statement: []Statement{{
			Effect: "Allow", Principal: map[string]any{"Service": "lambda.amazonaws.com"}, Action: []string{"sts:AssumeRole"},
		}}},
		ManagedPolicyArns: []any{
			// CloudWatch Logs, and X-Ray for active tracing.
			sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", nil),
			sub("arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess", nil),
		},
		Policies: policies,
	}); err != nil {
		return err
	}
	if err := r.resource(fid, "the function of unit "+u.Name, "AWS::Serverless::Function", fn); err != nil {
		return err
	}
	r.t.Outputs[fid+"Arn"] = Output{Description: "the function of unit " + u.Name, Value: getAtt(fid, "Arn")}
	return r.alarms(u, fid)
}

// DeliveryPolicy names the inline policy of a unit's role that lets Lambda
// deliver its trigger (read a stream, keep failed events), beside one
// policy per resource variable named by the variable.
const DeliveryPolicy = "polyfn-delivery"

// reserved is the unit's reserved concurrency: the smaller of
// MaxConcurrency and MaxInstances where set (an instance serves one
// invocation at a time), 0 for none.
func reserved(s deploy.Sizing) int {
	switch {
	case s.MaxConcurrency == 0:
		return s.MaxInstances
	case s.MaxInstances == 0:
		return s.MaxConcurrency
	}
	return min(s.MaxConcurrency, s.MaxInstances)
}

// events adds the unit's event sources to fn and returns the statements its
// role needs for Lambda to deliver them.
func (r *renderer) events(u deploy.Unit, fn *Function) ([]Statement, error) {
	fn.Events = map[string]Event{}
	if u.Kind == deploy.HTTPUnit {
		for _, rt := range u.Routes {
			method, path := routeKey(rt)
			eid := "Http" + logicalID(method) + logicalID(path)
			for n := 2; ; n++ {
				if _, dup := fn.Events[eid]; !dup {
					break
				}
				eid = fmt.Sprintf("Http%s%s%d", logicalID(method), logicalID(path), n)
			}
			fn.Events[eid] = Event{Type: "HttpApi", Properties: HTTPAPIEvent{Method: method, Path: path}}
		}
		r.t.Outputs["HttpApiUrl"] = Output{Description: "the HTTP API of app " + u.App,
			Value: sub("https://${ServerlessHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/", nil)}
		if u.StreamResponses {
			// HTTP APIs buffer a Lambda's reply; a function URL in
			// RESPONSE_STREAM mode invokes the function with
			// InvokeWithResponseStream and passes the stream on
			// (docs/aws.md, Streaming responses). The app checks its
			// callers itself, as behind the HTTP API.
			fid := logicalID(u.Name) + "Function"
			fn.FunctionURLConfig = &FunctionURLConfig{AuthType: "NONE", InvokeMode: "RESPONSE_STREAM"}
			r.t.Outputs[fid+"Url"] = Output{Description: "the streaming function URL of app " + u.App, Value: getAtt(fid+"Url", "FunctionUrl")}
			// SAM grants the public lambda:InvokeFunctionUrl; function URLs
			// made since October 2025 need lambda:InvokeFunction too,
			// granted for calls through the URL only.
			target := ref(fid)
			if fn.AutoPublishAlias != "" {
				target = ref(fid + ".Alias") // the URL serves the alias
			}
			if err := r.resource(fid+"UrlInvoke", "the public invocation of unit "+u.Name+" through its function URL",
				"AWS::Lambda::Permission", Permission{Action: "lambda:InvokeFunction", FunctionName: target, Principal: "*", InvokedViaFunctionURL: true}); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	id := logicalID(u.Name)
	failures := func() (any, []Statement, error) {
		qid := id + "Failures"
		if err := r.stateful(qid, "the failed events of "+u.Name, "AWS::SQS::Queue", Queue{MessageRetentionPeriod: retention14Days}); err != nil {
			return nil, nil, err
		}
		r.t.Outputs[qid+"Url"] = Output{Description: "the events of " + u.Name + " that failed after Lambda's retries", Value: ref(qid)}
		return getAtt(qid, "Arn"), []Statement{{Effect: "Allow", Action: []string{"sqs:SendMessage"}, Resource: []any{getAtt(qid, "Arn")}}}, nil
	}
	async := func() ([]Statement, error) {
		dest, st, err := failures()
		if err != nil {
			return nil, err
		}
		// Asynchronous invocations (S3, schedules) that still fail after
		// Lambda's two retries are kept, not dropped.
		fn.EventInvokeConfig = &EventInvokeConfig{MaximumRetryAttempts: 2,
			DestinationConfig: DestinationConfig{OnFailure: OnFailure{Type: "SQS", Destination: dest}}}
		return st, nil
	}
	eid := logicalID(u.Function)
	switch t := u.Trigger; {
	case t.Object != nil:
		o := t.Object
		ev := S3Event{Bucket: ref(varID(o.Bucket))}
		for _, k := range o.Kinds() {
			types, ok := s3EventTypes[k]
			if !ok {
				return nil, fmt.Errorf("aws: unit %s: S3 sends no notification of %s events", u.Name, k)
			}
			ev.Events = append(ev.Events, types...)
		}
		if o.Prefix != "" || o.Suffix != "" {
			ev.Filter = &S3Filter{}
			if o.Prefix != "" {
				ev.Filter.S3Key.Rules = append(ev.Filter.S3Key.Rules, NameValue{Name: "prefix", Value: o.Prefix})
			}
			if o.Suffix != "" {
				ev.Filter.S3Key.Rules = append(ev.Filter.S3Key.Rules, NameValue{Name: "suffix", Value: o.Suffix})
			}
		}
		fn.Events[eid] = Event{Type: "S3", Properties: ev}
		return async()
	case t.Message != nil:
		fn.Events[eid] = Event{Type: "SQS", Properties: SQSEvent{
			Queue: getAtt(id+"Queue", "Arn"), BatchSize: 10,
			FunctionResponseTypes: []string{"ReportBatchItemFailures"},
		}}
		return nil, nil // the role consumes the queue: the variable's grant
	case t.Change != nil:
		stream := varID(t.Change.Source) + "StreamArn"
		if _, ok := r.t.Parameters[stream]; !ok {
			if err := r.param(stream, t.Change.Source+": the ARN of the DynamoDB stream of the table whose changes "+u.Function+" receives",
				false, "^arn:[a-z-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]+/stream/.+$"); err != nil {
				return nil, err
			}
		}
		dest, st, err := failures()
		if err != nil {
			return nil, err
		}
		fn.Events[eid] = Event{Type: "DynamoDB", Properties: DynamoDBEvent{
			Stream: ref(stream), StartingPosition: "LATEST", BatchSize: 100, MaximumRetryAttempts: 5,
			// A failing batch is halved until the failing record is alone.
			BisectBatchOnFunctionError: true,
			FunctionResponseTypes:      []string{"ReportBatchItemFailures"},
			DestinationConfig:          DestinationConfig{OnFailure: OnFailure{Destination: dest}},
		}}
		// What Lambda reads a stream with, on the stream
		// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/iam-policy-example-lamda-process-dynamodb-streams.html).
		st = append(st, Statement{Effect: "Allow", Resource: []any{ref(stream)},
			Action: []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}})
		return st, nil
	case t.Stream != nil:
		if u.Stream == nil {
			return nil, fmt.Errorf("aws: unit %s: the plan has no stream for its trigger", u.Name)
		}
		dest, st, err := failures()
		if err != nil {
			return nil, err
		}
		// The role reads the stream: the variable's grant.
		return st, r.streamEvents(u, fn, eid, dest)
	case t.Timer != nil:
		if u.Schedule == nil {
			return nil, fmt.Errorf("aws: unit %s: the plan has no schedule for its timer", u.Name)
		}
		expr, err := ScheduleExpression(*u.Schedule)
		if err != nil {
			return nil, fmt.Errorf("aws: unit %s: %w", u.Name, err)
		}
		if r.opts.SchedulerInput == nil {
			return nil, fmt.Errorf("aws: unit %s: Options.SchedulerInput is nil", u.Name)
		}
		ev := ScheduleV2Event{ScheduleExpression: expr, Input: r.opts.SchedulerInput(u.Function)}
		if u.Schedule.Kind == deploy.ScheduleCron {
			ev.ScheduleExpressionTimezone = u.Schedule.TimeZone
		}
		fn.Events[eid] = Event{Type: "ScheduleV2", Properties: ev}
		return async()
	}
	return nil, fmt.Errorf("aws: unit %s: an event unit without a trigger", u.Name)
}

// s3EventTypes are the S3 notification event types that deliver each
// neutral object kind, as a bucket's notification configuration names
// them (the adapter maps each event name back; docs/events.md has the
// table): an object trigger's function is subscribed to its kinds' only.
var s3EventTypes = map[core.Kind][]string{
	core.KindObjectCreated:     {"s3:ObjectCreated:*"},
	core.KindObjectDeleted:     {"s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"},
	core.KindObjectTiered:      {"s3:LifecycleTransition", "s3:IntelligentTiering"},
	core.KindObjectRestored:    {"s3:ObjectRestore:*"},
	core.KindObjectUpdated:     {"s3:ObjectTagging:*", "s3:ObjectAcl:Put"},
	core.KindObjectReplication: {"s3:Replication:*"},
}

// routeKey returns an HTTP API route for a ServeMux pattern: "{name...}"
// is API Gateway's greedy "{name+}", a subtree ("/static/") its
// "/static/{proxy+}", and "/exact/{$}" the path "/exact/" alone; no method
// is ANY.
func routeKey(rt core.Route) (method, path string) {
	method = rt.Method
	if method == "" {
		method = "ANY"
	}
	path, exact := strings.CutSuffix(rt.Path, "{$}")
	path = strings.ReplaceAll(path, "...}", "+}")
	if !exact && strings.HasSuffix(path, "/") {
		path += "{proxy+}"
	}
	return method, path
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
