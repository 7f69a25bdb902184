package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/polyfn/polyfn/adapters/awslambda"
	"github.com/polyfn/polyfn/core"
)

func init() {
	// arm64 first: Graviton functions cost less for the same work.
	packagers["aws"] = packager{archs: []string{"arm64", "amd64"}, pack: packAWS}
}

// Lambda function defaults written to the template; edit them there.
const (
	awsMemoryMB       = 128
	awsTimeoutSeconds = 30 // an HTTP API waits at most 30 s for its integration
)

// awsArchitecture is Lambda's name for each GOARCH.
var awsArchitecture = map[string]string{"arm64": "arm64", "amd64": "x86_64"}

// packAWS writes <out>/aws/<name>.zip, the bootstrap of a provided.al2023
// custom runtime, and <out>/aws/<name>/template.yaml, an AWS SAM template
// deploying it with its event sources.
func packAWS(ctx context.Context, job buildJob) error {
	if len(job.Manifests) != 1 {
		return fmt.Errorf("%s runs %d apps; an AWS Lambda function runs exactly one", job.Pkg, len(job.Manifests))
	}
	// The template first: a declaration it cannot express fails before the build.
	tmpl, err := samTemplate(job.Name, job.Arch, job.Manifests[0])
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "polyfn-aws-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	if err := crossBuild(ctx, job.Pkg, bin, job.Arch, "aws", "lambda.norpc"); err != nil {
		return err
	}
	zipPath := filepath.Join(job.OutDir, job.Name+".zip")
	if err := writeBootstrapZip(zipPath, bin); err != nil {
		return err
	}
	tmplPath := filepath.Join(job.OutDir, job.Name, "template.yaml")
	if err := os.MkdirAll(filepath.Dir(tmplPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(tmplPath, tmpl, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(job.Stdout, "wrote %s\nwrote %s\ndeploy with: sam deploy --guided --template-file %s\n", zipPath, tmplPath, tmplPath)
	return nil
}

// zipTime is every zip entry's modification time, so that the same
// bootstrap gives the same zip (and CloudFormation sees no change).
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// writeBootstrapZip writes a zip holding bin as "bootstrap" at its root,
// executable: Lambda runs it as it is unpacked.
func writeBootstrapZip(path, bin string) (err error) {
	src, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := zip.NewWriter(f)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: zipTime}
	hdr.SetMode(0o755) // also marks the entry as made on Unix, so the mode is read back
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		return err
	}
	return zw.Close()
}

// samTemplate returns the AWS SAM template of one function app.
//
// Each resource variable becomes a parameter holding its URL, except the
// bucket of an object trigger: SAM attaches S3 notifications only to a
// bucket the template declares, so the template creates that bucket from a
// name parameter and sets the variable to its URL. Buckets and topics get
// access policies derived from their URLs (s3://name?…, awssns:///arn…).
func samTemplate(fn, arch string, m core.Manifest) ([]byte, error) {
	s := &sam{fn: fn, app: m.App}
	created := map[string]bool{} // the variables of object triggers' buckets
	required := map[string]bool{}
	for _, f := range m.Functions {
		switch t := f.Trigger; {
		case t.Object != nil:
			created[t.Object.Bucket] = true
		case t.Message != nil:
			required[t.Message.Subscription] = true // the event source mapping names its queue
		}
	}
	for _, r := range m.Resources {
		if created[r.Env] {
			s.createBucket(r.Env)
			continue
		}
		s.urlParam(r, r.Optional && !required[r.Env])
	}
	for _, r := range m.Routes {
		s.route(r)
	}
	for _, f := range m.Functions {
		if err := s.function(f); err != nil {
			return nil, fmt.Errorf("aws: function %s: %w", f.Name, err)
		}
	}
	al, err := alarmsOf(m, awsTimeoutSeconds*time.Second)
	if err != nil {
		return nil, fmt.Errorf("aws: %w", err)
	}
	if al != nil {
		s.alarms = al
		s.params = append(s.params, samParam{
			name:        awsAlarmTopicParam,
			description: "the ARN of an SNS topic that the function's alarms notify when they go into and out of ALARM; empty for none",
			optional:    true,
		})
	}
	return s.render(awsArchitecture[arch]), nil
}

// sam collects the parts of a template.
type sam struct {
	fn, app   string
	params    []samParam
	env       [][2]string // variable, value
	policies  []string    // each a YAML block at the policy list's indent
	events    []samEvent
	resources []string // each a YAML block at the resources' indent
	failures  bool     // a queue receives the events that fail for good
	http      bool
	eventIDs  map[string]int
	alarms    *core.Alarms // nil: none
}

type samParam struct {
	name, description string
	optional          bool
	pattern           string
}

type samEvent struct {
	id, typ string
	props   []string // lines at the properties' indent
}

// camel turns "USERS_BUCKET_URL" or "make-thumbnail" into "UsersBucketUrl"
// or "MakeThumbnail": CloudFormation's logical ids are alphanumeric.
func camel(s string) string {
	var b strings.Builder
	upper := true
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z':
			if upper {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			upper = false
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			upper = true
		default:
			upper = true
		}
	}
	return b.String()
}

// quote writes s as a YAML double-quoted scalar (JSON's string syntax is
// valid YAML).
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

func (s *sam) createBucket(env string) {
	base := camel(strings.TrimSuffix(env, "_URL"))
	param := base + "Name"
	s.params = append(s.params, samParam{
		name:        param,
		description: env + ": the name of the bucket this stack creates; SAM attaches S3 notifications only to buckets in the template",
		pattern:     "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
	})
	s.setEnv(env, `!Sub "s3://${`+param+`}?region=${AWS::Region}"`)
	s.policies = append(s.policies, "- S3CrudPolicy:\n    BucketName: !Ref "+param)
	s.resources = append(s.resources, base+":\n  Type: AWS::S3::Bucket\n  Properties:\n    BucketName: !Ref "+param)
}

// urlForms shows the URL of each kind of AWS resource, as gocloud.dev's
// drivers read it; the template derives names and ARNs from these forms.
var urlForms = map[core.ResourceKind]string{
	core.KindBucket:       "s3://<bucket>?region=<region>",
	core.KindTopic:        "awssns:///<topic ARN>?region=<region>",
	core.KindSubscription: "awssqs://sqs.<region>.amazonaws.com/<account>/<queue>?region=<region>",
	core.KindKeeper:       "awskms://<key ID or alias>?region=<region>",
	core.KindVariable:     "awsparamstore://<name>?region=<region>&decoder=string",
}

// oidcDescriptions describe the parameters of the kinds that are not
// gocloud.dev URLs.
var oidcDescriptions = map[core.ResourceKind]string{
	core.KindOIDCIssuer:   "the URL of the OIDC issuer whose bearer tokens the function accepts, https://<issuer>",
	core.KindOIDCAudience: "the audience (aud) that bearer tokens must name; several separated by commas",
}

// urlParam declares the parameter holding a resource's URL and, for a
// required bucket or topic, the function's access to it.
func (s *sam) urlParam(r core.Resource, optional bool) {
	param := camel(r.Env)
	description := fmt.Sprintf("%s: the %s's gocloud.dev URL, %s", r.Env, r.Kind, urlForms[r.Kind])
	if d, ok := oidcDescriptions[r.Kind]; ok {
		description = r.Env + ": " + d
	}
	s.params = append(s.params, samParam{
		name:        param,
		description: description,
		optional:    optional,
	})
	s.setEnv(r.Env, "!Ref "+param)
	if optional {
		return // an empty value has no name to grant access to
	}
	switch r.Kind {
	case core.KindBucket: // s3://<bucket>?region=…
		s.policies = append(s.policies, "- S3CrudPolicy:\n    BucketName: !Select [0, !Split [\"?\", !Select [2, !Split [\"/\", !Ref "+param+"]]]]")
	case core.KindTopic: // awssns:///arn:aws:sns:<region>:<account>:<topic>?region=…
		s.policies = append(s.policies, "- SNSPublishMessagePolicy:\n    TopicName: !Select [5, !Split [\":\", !Select [0, !Split [\"?\", !Select [1, !Split [\"///\", !Ref "+param+"]]]]]]")
	}
}

// setEnv sets a variable of the function, once: the first value stays.
func (s *sam) setEnv(name, value string) {
	for _, kv := range s.env {
		if kv[0] == name {
			return
		}
	}
	s.env = append(s.env, [2]string{name, value})
}

// addEvent adds an event source with a logical id unique in the function.
func (s *sam) addEvent(id, typ string, props ...string) {
	if s.eventIDs == nil {
		s.eventIDs = map[string]int{}
	}
	s.eventIDs[id]++
	if n := s.eventIDs[id]; n > 1 {
		id += strconv.Itoa(n)
	}
	s.events = append(s.events, samEvent{id: id, typ: typ, props: props})
}

// route declares an HTTP API route for a ServeMux pattern: "{name...}" is
// API Gateway's greedy "{name+}", a subtree ("/static/") its
// "/static/{proxy+}", and "/exact/{$}" the path "/exact/" alone.
func (s *sam) route(r core.Route) {
	s.http = true
	method := r.Method
	if method == "" {
		method = "ANY"
	}
	path, exact := strings.CutSuffix(r.Path, "{$}")
	path = strings.ReplaceAll(path, "...}", "+}")
	if !exact && strings.HasSuffix(path, "/") {
		path += "{proxy+}"
	}
	s.addEvent("Http"+camel(method)+camel(path), "HttpApi", "Method: "+method, "Path: "+quote(path))
}

func (s *sam) function(f core.FunctionSpec) error {
	id := camel(f.Name)
	switch t := f.Trigger; {
	case t.Object != nil:
		o := t.Object
		props := []string{"Bucket: !Ref " + camel(strings.TrimSuffix(o.Bucket, "_URL")), "Events:"}
		for _, k := range o.Kinds() {
			props = append(props, "  - "+quote(map[core.Kind]string{
				core.KindObjectCreated: "s3:ObjectCreated:*",
				core.KindObjectDeleted: "s3:ObjectRemoved:*",
			}[k]))
		}
		if o.Prefix != "" || o.Suffix != "" {
			props = append(props, "Filter:", "  S3Key:", "    Rules:")
			if o.Prefix != "" {
				props = append(props, "      - Name: prefix", "        Value: "+quote(o.Prefix))
			}
			if o.Suffix != "" {
				props = append(props, "      - Name: suffix", "        Value: "+quote(o.Suffix))
			}
		}
		s.failures = true
		s.addEvent(id, "S3", props...)
	case t.Message != nil:
		// awssqs://sqs.<region>.amazonaws.com/<account>/<queue>?region=…
		u := "!Ref " + camel(t.Message.Subscription)
		s.addEvent(id, "SQS",
			`Queue: !Sub`,
			`  - "arn:${AWS::Partition}:sqs:${Region}:${Account}:${Queue}"`,
			`  - Region: !Select [1, !Split [".", !Select [2, !Split ["/", `+u+`]]]]`,
			`    Account: !Select [3, !Split ["/", `+u+`]]`,
			`    Queue: !Select [0, !Split ["?", !Select [4, !Split ["/", `+u+`]]]]`,
			"BatchSize: 10",
			"FunctionResponseTypes:",
			"  - ReportBatchItemFailures",
		)
	case t.Change != nil:
		stream := camel(strings.TrimSuffix(t.Change.Source, "_URL")) + "StreamArn"
		s.params = append(s.params, samParam{
			name:        stream,
			description: t.Change.Source + ": the ARN of the DynamoDB stream of the table whose changes " + f.Name + " receives",
		})
		// arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>
		s.setEnv(t.Change.Source, `!Sub ["dynamodb://${Table}", {Table: !Select [1, !Split ["/", !Ref `+stream+`]]}]`)
		s.failures = true
		s.addEvent(id, "DynamoDB",
			"Stream: !Ref "+stream,
			"StartingPosition: LATEST",
			"BatchSize: 100",
			"MaximumRetryAttempts: 5",
			"FunctionResponseTypes:",
			"  - ReportBatchItemFailures",
			"DestinationConfig:",
			"  OnFailure:",
			"    Type: SQS",
			"    Destination: !GetAtt FailedEvents.Arn",
		)
	case t.Timer != nil:
		expr, err := scheduleExpression(t.Timer.Schedule)
		if err != nil {
			return err
		}
		props := []string{"ScheduleExpression: " + quote(expr)}
		if t.Timer.TimeZone != "" {
			props = append(props, "ScheduleExpressionTimezone: "+quote(t.Timer.TimeZone))
		}
		props = append(props, "Input: "+quote(awslambda.SchedulerInput(f.Name)))
		s.failures = true
		s.addEvent(id, "ScheduleV2", props...)
	}
	return nil
}

// render writes the template.
func (s *sam) render(arch string) []byte {
	var b strings.Builder
	line := func(indent int, text string) {
		for l := range strings.SplitSeq(text, "\n") {
			b.WriteString(strings.Repeat("  ", indent) + l + "\n")
		}
	}
	line(0, "# Generated by `polyfn build --cloud aws` from the declaration of the app "+s.app+".")
	line(0, "# Rebuild rather than edit: the next build overwrites it.")
	line(0, `AWSTemplateFormatVersion: "2010-09-09"`)
	line(0, "Transform: AWS::Serverless-2016-10-31")
	line(0, "Description: "+quote("polyfn function "+s.app))
	if len(s.params) > 0 {
		line(0, "\nParameters:")
		for _, p := range s.params {
			line(1, p.name+":")
			line(2, "Type: String")
			line(2, "Description: "+quote(p.description))
			if p.optional {
				line(2, `Default: ""`)
			}
			if p.pattern != "" {
				line(2, "AllowedPattern: "+quote(p.pattern))
			}
		}
	}
	if s.alarms != nil {
		line(0, "\nConditions:")
		line(1, awsAlarmTopicCondition+`: !Not [!Equals [!Ref `+awsAlarmTopicParam+`, ""]]`)
	}
	line(0, "\nResources:")
	line(1, "Function:")
	line(2, "Type: AWS::Serverless::Function")
	line(2, "Properties:")
	line(3, "CodeUri: ../"+s.fn+".zip")
	line(3, "Handler: bootstrap")
	line(3, "Runtime: provided.al2023")
	line(3, "Architectures:\n  - "+arch)
	line(3, "MemorySize: "+strconv.Itoa(awsMemoryMB))
	line(3, "Timeout: "+strconv.Itoa(awsTimeoutSeconds))
	if len(s.env) > 0 {
		line(3, "Environment:\n  Variables:")
		for _, kv := range s.env {
			line(5, kv[0]+": "+kv[1])
		}
	}
	policies := slices.Clone(s.policies)
	if s.failures {
		policies = append(policies, "- SQSSendMessagePolicy:\n    QueueName: !GetAtt FailedEvents.QueueName")
		// Asynchronous invocations (S3, schedules) that still fail after
		// Lambda's retries are kept, not dropped.
		line(3, "EventInvokeConfig:\n  MaximumRetryAttempts: 2\n  DestinationConfig:\n    OnFailure:\n      Type: SQS\n      Destination: !GetAtt FailedEvents.Arn")
	}
	if len(policies) > 0 {
		line(3, "Policies:")
		for _, p := range policies {
			line(4, p)
		}
	}
	if len(s.events) > 0 {
		line(3, "Events:")
		for _, e := range s.events {
			line(4, e.id+":")
			line(5, "Type: "+e.typ)
			line(5, "Properties:")
			for _, p := range e.props {
				line(6, p)
			}
		}
	}
	for _, r := range s.resources {
		line(1, r)
	}
	if s.failures {
		line(1, "FailedEvents:\n  Type: AWS::SQS::Queue\n  Properties:\n    MessageRetentionPeriod: 1209600")
	}
	for _, a := range s.cloudWatchAlarms() {
		line(1, a)
	}
	line(0, "\nOutputs:")
	line(1, "FunctionArn:\n  Value: !GetAtt Function.Arn")
	if s.http {
		line(1, `HttpApiUrl:`+"\n"+`  Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"`)
	}
	if s.failures {
		line(1, "FailedEventsQueueUrl:\n  Value: !Ref FailedEvents")
	}
	return []byte(b.String())
}

// scheduleExpression converts a TimerTrigger schedule (five-field cron, six
// with seconds first, or a descriptor) to EventBridge Scheduler's: cron()
// with six fields (minute hour day-of-month month day-of-week year), one of
// the two day fields "?", days of the week numbered from 1 (Sunday); or
// rate().
func scheduleExpression(spec string) (string, error) {
	spec = strings.TrimSpace(spec)
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		return rateExpression(strings.TrimSpace(d))
	}
	if e, ok := descriptors[spec]; ok {
		return e, nil
	}
	f := strings.Fields(spec)
	switch len(f) {
	case 6:
		if f[0] != "0" {
			return "", fmt.Errorf("schedule %q fires within a minute; EventBridge schedules fire on whole minutes", spec)
		}
		f = f[1:]
	case 5:
	default:
		return "", fmt.Errorf("schedule %q: want five cron fields, six with seconds first, or a descriptor", spec)
	}
	minute, hour, dom, month, dow := f[0], f[1], f[2], f[3], f[4]
	dow, err := awsDaysOfWeek(dow)
	if err != nil {
		return "", fmt.Errorf("schedule %q: %w", spec, err)
	}
	switch {
	case dow == "*" || dow == "?":
		dow = "?"
	case dom == "*" || dom == "?":
		dom = "?"
	default:
		return "", fmt.Errorf("schedule %q restricts both the day of the month and the day of the week, which EventBridge cannot express", spec)
	}
	return fmt.Sprintf("cron(%s %s %s %s %s *)", minute, hour, dom, month, dow), nil
}

var descriptors = map[string]string{
	"@hourly":   "cron(0 * * * ? *)",
	"@daily":    "cron(0 0 * * ? *)",
	"@midnight": "cron(0 0 * * ? *)",
	"@weekly":   "cron(0 0 ? * 1 *)",
	"@monthly":  "cron(0 0 1 * ? *)",
	"@yearly":   "cron(0 0 1 1 ? *)",
	"@annually": "cron(0 0 1 1 ? *)",
}

// rateExpression converts an "@every" duration to rate(), in whole minutes.
func rateExpression(s string) (string, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute || d%time.Minute != 0 {
		return "", fmt.Errorf("schedule @every %s: EventBridge rates are whole minutes, at least one", s)
	}
	n, unit := int64(d/time.Minute), "minute"
	switch {
	case d%(24*time.Hour) == 0:
		n, unit = int64(d/(24*time.Hour)), "day"
	case d%time.Hour == 0:
		n, unit = int64(d/time.Hour), "hour"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("rate(%d %s)", n, unit), nil
}

// awsDaysOfWeek renumbers a cron day-of-week field from cron's 0–7 (0 and 7
// are Sunday) to EventBridge's 1–7 (1 is Sunday). Names stay as they are.
func awsDaysOfWeek(field string) (string, error) {
	var out []string
	for item := range strings.SplitSeq(field, ",") {
		base, step, hasStep := strings.Cut(item, "/")
		lo, hi, isRange := strings.Cut(base, "-")
		if base == "*" || base == "?" {
			out = append(out, item)
			continue
		}
		l, err := awsDay(lo)
		if err != nil {
			return "", err
		}
		if !isRange {
			out = append(out, l+suffix(step, hasStep))
			continue
		}
		h, err := awsDay(hi)
		if err != nil {
			return "", err
		}
		if li, hi := atoiOr(l, -1), atoiOr(h, -1); li > 0 && hi > 0 && li > hi {
			// "5-7" (Friday to Sunday) becomes "6-7,1": EventBridge ranges do not wrap.
			if hasStep {
				return "", fmt.Errorf("day-of-week range %q with a step wraps past Saturday", item)
			}
			out = append(out, l+"-7", dayRange("1", h))
			continue
		}
		out = append(out, l+"-"+h+suffix(step, hasStep))
	}
	return strings.Join(out, ","), nil
}

// awsDay renumbers one day: a number 0–7, or a name, kept.
func awsDay(d string) (string, error) {
	n, err := strconv.Atoi(d)
	if err != nil {
		if len(d) == 3 {
			return strings.ToUpper(d), nil
		}
		return "", fmt.Errorf("day of week %q", d)
	}
	if n < 0 || n > 7 {
		return "", fmt.Errorf("day of week %d is not 0–7", n)
	}
	return strconv.Itoa(n%7 + 1), nil
}

func dayRange(lo, hi string) string {
	if lo == hi {
		return lo
	}
	return lo + "-" + hi
}

func suffix(step string, has bool) string {
	if !has {
		return ""
	}
	return "/" + step
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}
