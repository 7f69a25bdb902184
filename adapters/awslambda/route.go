package awslambda

import (
	"net/url"
	"slices"
	"strings"

	"github.com/polyfn/polyfn/core"
)

// router decides which event functions receive an event (see the package
// documentation for the rule).
type router struct {
	bindings []binding
}

// binding is an event function with the sources its trigger names, each as
// a source key ("s3:media", "sqs:123456789012:orders").
type binding struct {
	fn      core.EventFunc
	sources []string
	// named is true when a variable of the trigger holds an AWS URL: the
	// function then receives events of the sources it names only.
	named bool
}

func newRouter(fns []core.EventFunc, env core.Env) router {
	var r router
	for _, fn := range fns {
		b := binding{fn: fn}
		switch t := fn.Trigger.(type) {
		case core.ObjectTrigger:
			b.addURL(env(t.Bucket))
		case core.MessageTrigger:
			b.addURL(env(t.Subscription))
			if t.Topic != "" {
				b.addURL(env(t.Topic))
			}
		case core.ChangeTrigger:
			b.addURL(env(t.Source))
		case core.StreamTrigger:
			b.addURL(env(t.Stream))
		case core.TimerTrigger:
			// A schedule names its function (the Scheduler input's "job", or
			// the rule's name); timers have no URL, so they stay unnamed.
			b.sources = []string{"timer:" + fn.Name}
		}
		r.bindings = append(r.bindings, b)
	}
	return r
}

// nameTimers makes each timer function receive the events of its own
// schedule only, as a function with a URL receives its source's only: a
// unit that runs one function refuses another's schedule rather than
// taking it as the one timer there is.
func (r *router) nameTimers() {
	for i, b := range r.bindings {
		if _, ok := b.fn.Trigger.(core.TimerTrigger); ok {
			r.bindings[i].named = true
		}
	}
}

func (b *binding) addURL(raw string) {
	if k := sourceOfURL(raw); k != "" {
		b.sources = append(b.sources, k)
		b.named = true
	}
}

// sourceOfURL returns the source key of a gocloud URL of an AWS resource,
// or "" for any other URL (file://, mem://, another cloud's) or none.
//
//	s3://media?region=eu-west-1                                 → s3:media
//	awssqs://sqs.eu-west-1.amazonaws.com/123456789012/orders    → sqs:123456789012:orders
//	awssns:///arn:aws:sns:eu-west-1:123456789012:orders         → sns:123456789012:orders
//	dynamodb://users?partition_key=id                           → dynamodb:users
//	kinesis://clicks                                            → kinesis:clicks
//	kafka://b-1:9092,b-2:9092/clicks?msk=arn:aws:kafka:…        → kafka:clicks
func sourceOfURL(raw string) string {
	if strings.HasPrefix(raw, core.SchemeKinesis+"://") || strings.HasPrefix(raw, core.SchemeKafka+"://") {
		// Stream URLs have their own parser: a Kafka URL's host is a list.
		if su, err := core.ParseStreamURL(raw); err == nil {
			return su.Scheme + ":" + su.Name
		}
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	switch u.Scheme {
	case "s3":
		if u.Host != "" {
			return "s3:" + u.Host
		}
	case "awssqs":
		// The path is /<account>/<queue>.
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(parts) == 2 && parts[0] != "" && parts[1] != "" {
			return "sqs:" + parts[0] + ":" + parts[1]
		}
	case "awssns":
		return sourceOfARN(strings.TrimPrefix(u.Path, "/"))
	case "dynamodb":
		if u.Host != "" {
			return "dynamodb:" + u.Host
		}
	}
	return ""
}

// sourceOfARN returns the source key of a queue, topic or table ARN (a
// DynamoDB stream's ARN names its table), or "".
func sourceOfARN(arn string) string {
	// arn:partition:service:region:account:resource
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return ""
	}
	service, account, resource := f[2], f[4], f[5]
	switch service {
	case "sqs", "sns":
		if account != "" && resource != "" {
			return service + ":" + account + ":" + resource
		}
	case "kinesis":
		if name, ok := strings.CutPrefix(resource, "stream/"); ok && name != "" {
			return "kinesis:" + name
		}
	case "dynamodb":
		// table/<name>[/stream/<label>]
		if name, ok := strings.CutPrefix(resource, "table/"); ok {
			name, _, _ = strings.Cut(name, "/")
			if name != "" {
				return "dynamodb:" + name
			}
		}
	}
	return ""
}

// sourceOf returns the source key of a neutral event made by this adapter.
func sourceOf(e core.Event) string {
	switch {
	case e.Object != nil:
		return "s3:" + e.Object.Bucket
	case e.Change != nil:
		return sourceOfARN(e.Change.Source)
	case e.Timer != nil:
		return "timer:" + e.Timer.Name
	case e.Record != nil:
		if strings.HasPrefix(e.Record.Stream, "arn:") {
			return sourceOfARN(e.Record.Stream) // a Kinesis stream
		}
		return "kafka:" + e.Record.Stream // a topic
	}
	return sourceOfARN(e.Source()) // messages: the queue's or the topic's ARN
}

// route returns the functions that receive e.
func (r router) route(e core.Event) ([]core.EventFunc, error) {
	src := sourceOf(e)
	var named, unnamed []core.EventFunc
	for _, b := range r.bindings {
		if !accepts(b.fn.Trigger, e) {
			continue
		}
		switch {
		case src != "" && slices.Contains(b.sources, src):
			named = append(named, b.fn)
		case !b.named:
			unnamed = append(unnamed, b.fn)
		}
	}
	if len(named) > 0 {
		return named, nil
	}
	if len(unnamed) == 1 {
		return unnamed, nil
	}
	return nil, r.noRoute(e, unnamed)
}

func (r router) noRoute(e core.Event, unnamed []core.EventFunc) error {
	what := string(e.Kind()) + " event from " + e.Source()
	if e.Object != nil {
		what += " for key " + e.Object.Key
	}
	if len(unnamed) > 1 {
		names := make([]string, len(unnamed))
		for i, fn := range unnamed {
			names[i] = fn.Name
		}
		return core.Errorf(core.NotFound,
			"awslambda: %s: functions %s all accept it and none names its source: set their variables to the AWS resources' URLs",
			what, strings.Join(names, ", "))
	}
	return core.Errorf(core.NotFound, "awslambda: no event function accepts the %s", what)
}

// listsKind reports whether the object event e is of a kind that an
// object trigger which would take its bucket lists, prefix and suffix
// aside. When no object trigger would take the bucket at all it is true,
// so that the event meets the routing error.
func (r router) listsKind(e core.Event) bool {
	src := sourceOf(e)
	reached := false
	for _, b := range r.bindings {
		ot, ok := b.fn.Trigger.(core.ObjectTrigger)
		if !ok || (b.named && !slices.Contains(b.sources, src)) {
			continue
		}
		if slices.Contains(ot.Kinds(), e.Kind()) {
			return true
		}
		reached = true
	}
	return !reached
}

// accepts reports whether trigger t delivers events like e.
func accepts(t core.Trigger, e core.Event) bool {
	k := e.Kind()
	if ot, ok := t.(core.ObjectTrigger); ok {
		return e.Object != nil && ot.Matches(k, e.Object.Key)
	}
	return slices.Contains(t.Kinds(), k)
}
