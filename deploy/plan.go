// Package deploy turns apps' declarations (core.Manifest) into one
// cloud-neutral deployment plan: the deployment units, each with its
// sizing, its trigger, the resources it uses and how, the queue and dead
// letter its messages need, its alarms and its schedule, every default
// filled in. The renderer of each cloud translates a plan into that
// cloud's documents; `polyfn build --plan` prints it as JSON, so that a
// user sees what a deployment will create before creating it.
//
// The package imports core, the standard library and a cron parser, never
// an adapter, a provider or a cloud SDK: a plan is data.
package deploy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/polyfn/polyfn/core"
)

// Plan is what a deployment creates for a function binary's apps.
type Plan struct {
	// Units are the deployment units, app by app in the manifests' order:
	// an app's HTTP routes first (when it has any), then its event
	// functions in declaration order.
	Units []Unit `json:"units"`
	// Channels are the notification channels the units' alarms notify,
	// each once, in the order the apps first declare them.
	Channels []Channel `json:"channels,omitempty"`
}

// Channel is a notification channel the deployment creates, named for
// the units' alarms to refer to (see core.Channel).
type Channel struct {
	// Name is unique in the plan and safe in every cloud's resource
	// names: "email-" or "slack-" and lower-case letters, digits and
	// dashes ("email-oncall-example-com", "slack-c0456def").
	Name  string             `json:"name"`
	Email string             `json:"email,omitempty"`
	Slack *core.SlackChannel `json:"slack,omitempty"`
}

// UnitKind tells the HTTP routes' unit from an event function's.
type UnitKind string

// The kinds of unit.
const (
	// HTTPUnit serves all of an app's routes.
	HTTPUnit UnitKind = "http"
	// EventUnit runs one event function.
	EventUnit UnitKind = "event"
)

// Unit is one deployment unit: what one cloud function (one Lambda, one
// Cloud Run function, one function of an Azure function app) runs, sized,
// granted and watched on its own. An app's HTTP routes are one unit; each
// of its event functions is another.
type Unit struct {
	// Name is unique in the plan: the app's name for its HTTP routes,
	// "<app>-<function>" for an event function (core.UnitName). Renderers
	// derive their resource names from it.
	Name string   `json:"name"`
	Kind UnitKind `json:"kind"`
	// App is the app the unit belongs to.
	App string `json:"app"`
	// Function is the event function's name; empty for the HTTP unit.
	Function string `json:"function,omitempty"`
	// Routes are the HTTP unit's routes; nil for an event unit.
	Routes []core.Route `json:"routes,omitempty"`
	// StreamResponses is true for the HTTP unit of an app whose responses
	// stream (core.App.StreamResponses).
	StreamResponses bool `json:"streamResponses,omitempty"`
	// Trigger is the event unit's trigger; nil for the HTTP unit.
	Trigger *core.TriggerSpec `json:"trigger,omitempty"`
	// Sizing is the unit's declared sizing with the defaults filled in.
	Sizing Sizing `json:"sizing"`
	// Resources are the variables the unit is given, sorted by variable,
	// with the use its identity is granted on each.
	Resources []Resource `json:"resources"`
	// Queue is the queue and dead letter a message trigger needs; nil for
	// other units.
	Queue *Queue `json:"queue,omitempty"`
	// Schedule is a timer trigger's schedule, parsed; nil for other units.
	Schedule *Schedule `json:"schedule,omitempty"`
	// Stream is what a stream trigger reads, its defaults filled in; nil
	// for other units.
	Stream *Stream `json:"stream,omitempty"`
	// Alarms are the unit's alarm thresholds, resolved for its timeout;
	// nil when the app turns its alarms off.
	Alarms *Alarms `json:"alarms,omitempty"`
}

// Sizing is a unit's capacity with every default filled in (see
// core.Sizing for what each field means on each cloud).
type Sizing struct {
	MemoryMiB      int       `json:"memoryMiB"`
	TimeoutSeconds int       `json:"timeoutSeconds"`
	Arch           core.Arch `json:"arch"`
	// MaxConcurrency, WarmInstances and MaxInstances are 0 for none: no
	// cap, scale to zero, the cloud's limit.
	MaxConcurrency         int `json:"maxConcurrency"`
	WarmInstances          int `json:"warmInstances"`
	MaxInstances           int `json:"maxInstances"`
	PerInstanceConcurrency int `json:"perInstanceConcurrency"`
}

// Timeout returns the timeout as a duration.
func (s Sizing) Timeout() time.Duration { return time.Duration(s.TimeoutSeconds) * time.Second }

// Resource is a variable a unit is given and what its identity may do
// with the resource the variable's URL names.
type Resource struct {
	// Env is the environment variable the resource's URL is passed in.
	Env  string            `json:"env"`
	Kind core.ResourceKind `json:"kind"`
	// Use is what the unit is granted on the resource (core.Use); empty
	// for no grant: the OIDC kinds, and a trigger's bucket or topic that
	// the platform delivers from and the function opens not.
	Use core.Use `json:"use,omitempty"`
	// Optional resources may be left unset.
	Optional bool `json:"optional,omitempty"`
	// Trigger marks the variable of the unit's own trigger.
	Trigger bool `json:"trigger,omitempty"`
}

// Queue is what a message trigger needs between its source and its unit:
// the queue (or subscription) its messages wait in and the dead letter a
// message goes to after MaxDeliveries failed deliveries.
type Queue struct {
	// Subscription is the variable of the queue's or subscription's URL.
	Subscription string `json:"subscription"`
	// Topic is the variable of the topic that feeds it, or empty when
	// messages are sent to the queue itself.
	Topic string `json:"topic,omitempty"`
	// Ordered asks for in-order delivery (FIFO queues, ordering keys,
	// sessions).
	Ordered bool `json:"ordered,omitempty"`
	// MaxDeliveries is the trigger's delivery limit, DefaultMaxDeliveries
	// when it declares none.
	MaxDeliveries int `json:"maxDeliveries"`
	// DeadLetter is the dead letter's name, from the unit's.
	DeadLetter string `json:"deadLetter"`
}

// Stream is a stream trigger's reading of its stream (core.StreamTrigger)
// with every default filled in. The stream's service comes from its URL
// (core.ParseStreamURL), which the deployment is given, not the plan.
type Stream struct {
	// Stream is the variable of the stream's URL.
	Stream           string                `json:"stream"`
	StartingPosition core.StartingPosition `json:"startingPosition"`
	// BatchSize is the most records one invocation receives.
	BatchSize int `json:"batchSize"`
	// KafkaGroup is the consumer group the unit joins on a Kafka
	// stream: the declared one, or the unit's name.
	KafkaGroup string `json:"kafkaGroup"`
	// EventHubsGroup is the consumer group the unit reads an event hub
	// as: the declared one, or DefaultEventHubsGroup.
	EventHubsGroup string `json:"eventHubsGroup"`
}

// DefaultEventHubsGroup is the consumer group every event hub has.
const DefaultEventHubsGroup = "$Default"

// DefaultMaxDeliveries is the delivery limit of a message trigger that
// declares none (core.MessageTrigger.MaxDeliveries).
const DefaultMaxDeliveries = 5

// Alarms are a unit's alarm thresholds, resolved (see core.Alarms).
type Alarms struct {
	// ErrorRate (a percentage) and Errors: the errors alarm fires when a
	// period's failed invocations are at least both.
	ErrorRate     float64 `json:"errorRate"`
	Errors        int     `json:"errors"`
	Throttles     int     `json:"throttles"`
	P99Millis     int64   `json:"p99Millis"`
	PeriodSeconds int64   `json:"periodSeconds"`
	// Notify names the plan's channels that every alarm of the unit
	// notifies.
	Notify []string `json:"notify,omitempty"`
}

// Period returns the evaluation period as a duration.
func (a Alarms) Period() time.Duration { return time.Duration(a.PeriodSeconds) * time.Second }

// PeriodText writes the period for the alarms' descriptions: "1 minute",
// "5 minutes", "1 hour" (core.Alarms takes whole minutes and an hour).
func (a Alarms) PeriodText() string {
	d := a.Period()
	n, unit := int(d/time.Minute), "minute"
	if d%time.Hour == 0 {
		n, unit = int(d/time.Hour), "hour"
	}
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// ErrorRateText writes the error rate as the renderers' queries and
// descriptions take it: the shortest decimal ("1", "2.5").
func (a Alarms) ErrorRateText() string { return strconv.FormatFloat(a.ErrorRate, 'f', -1, 64) }

// Options are the plan's inputs that are not part of the declaration.
type Options struct {
	// Arch is the architecture of the units that declare none; default
	// core.X86_64, the one every cloud runs.
	Arch core.Arch
}

// NewPlan returns the deployment plan of the apps whose manifests are given.
// It validates them as core.ParseManifests does, and fails on a sizing, an
// alarm, a schedule or a name that no cloud could deploy, naming the app,
// the function or the variable.
func NewPlan(manifests []core.Manifest, opts *Options) (*Plan, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Arch == "" {
		o.Arch = core.X86_64
	}
	if o.Arch != core.X86_64 && o.Arch != core.ARM64 {
		return nil, fmt.Errorf("deploy: Options.Arch %q: want %q or %q", o.Arch, core.X86_64, core.ARM64)
	}
	if err := validate(manifests); err != nil {
		return nil, err
	}
	p := &Plan{Units: []Unit{}}
	owner := map[string]string{} // unit name → what declared it
	for _, m := range manifests {
		units, err := planApp(m, o)
		if err != nil {
			return nil, err
		}
		for _, u := range units {
			what := "the HTTP routes of app " + u.App
			if u.Kind == EventUnit {
				what = "function " + u.Function + " of app " + u.App
			}
			if prev, dup := owner[u.Name]; dup {
				return nil, fmt.Errorf("deploy: unit name %q is both %s and %s: rename one", u.Name, prev, what)
			}
			owner[u.Name] = what
			p.Units = append(p.Units, u)
		}
		if m.Alarms != nil && !m.Alarms.Off {
			for _, c := range m.Alarms.Notify {
				ch := channelOf(c)
				if i := slices.IndexFunc(p.Channels, func(d Channel) bool { return d.Name == ch.Name }); i >= 0 {
					if !channelEqual(p.Channels[i], ch) {
						return nil, fmt.Errorf("deploy: channels %s and %s of app %s would both be named %s: rename one", describeChannel(p.Channels[i]), describeChannel(ch), m.App, ch.Name)
					}
					continue
				}
				p.Channels = append(p.Channels, ch)
			}
		}
	}
	return p, nil
}

// channelOf names a declared channel after its address or Slack channel.
func channelOf(c core.Channel) Channel {
	if c.Slack != nil {
		s := *c.Slack
		return Channel{Name: "slack-" + resourceName(s.Channel), Slack: &s}
	}
	return Channel{Name: "email-" + resourceName(c.Email), Email: c.Email}
}

func channelEqual(a, b Channel) bool {
	if (a.Slack == nil) != (b.Slack == nil) {
		return false
	}
	return a.Email == b.Email && (a.Slack == nil || *a.Slack == *b.Slack)
}

func describeChannel(c Channel) string {
	if c.Slack != nil {
		return "Slack " + c.Slack.Workspace + "/" + c.Slack.Channel
	}
	return c.Email
}

// resourceName lower-cases s and turns every run of other characters than
// ASCII letters and digits into one dash, trimmed at both ends.
func resourceName(s string) string {
	b := make([]byte, 0, len(s))
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		default:
			dash = len(b) > 0
			continue
		}
		if dash {
			b = append(b, '-')
			dash = false
		}
		b = append(b, c)
	}
	return string(b)
}

// validate checks each manifest's resources and triggers as a function
// binary's printed manifests are checked (core.ParseManifests), so that a
// manifest built in Go gets the same answer as one read from a binary.
// Sizings and alarms are left out of that check: fill resolves them per
// unit, and its errors name the unit.
func validate(ms []core.Manifest) error {
	apps := map[string]bool{}
	for _, m := range ms {
		if apps[m.App] {
			return fmt.Errorf("deploy: app %s is declared twice", m.App)
		}
		apps[m.App] = true
		m.Sizing, m.Alarms = nil, nil
		m.Functions = slices.Clone(m.Functions)
		for i := range m.Functions {
			m.Functions[i].Sizing = nil
		}
		b, err := json.Marshal([]core.Manifest{m})
		if err != nil {
			return fmt.Errorf("deploy: app %s: %w", m.App, err)
		}
		if _, err := core.ParseManifests(b); err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
	}
	return nil
}

// planApp returns the units of one app.
func planApp(m core.Manifest, o Options) ([]Unit, error) {
	if len(m.Routes) == 0 && len(m.Functions) == 0 {
		return nil, fmt.Errorf("deploy: app %s declares no route and no event function: nothing to deploy", m.App)
	}
	// A trigger's variable that only the trigger declares belongs to the
	// units of the functions it triggers. Every resource the app Requires
	// is opened by its start-up hooks, which every unit runs, and goes to
	// every unit, a trigger's variable included.
	triggerOnly := map[string]bool{}
	for _, f := range m.Functions {
		for _, v := range triggerVariables(f.Trigger) {
			triggerOnly[v.Env] = true
		}
	}
	for _, r := range m.Resources {
		if triggerOnly[r.Env] && !slices.ContainsFunc(m.Functions, func(f core.FunctionSpec) bool {
			return slices.ContainsFunc(triggerVariables(f.Trigger), func(v Resource) bool {
				return v.Env == r.Env && v.Kind == r.Kind && v.Use == r.Use && v.Optional == r.Optional
			})
		}) {
			delete(triggerOnly, r.Env) // Required by the app as well
		}
	}
	var declared core.Alarms
	if m.Alarms != nil {
		declared = *m.Alarms
	}
	var units []Unit
	if len(m.Routes) > 0 {
		u := Unit{Name: core.UnitName(m.App, ""), Kind: HTTPUnit, App: m.App, Routes: slices.Clone(m.Routes), StreamResponses: m.StreamResponses}
		if err := u.fill(m, nil, triggerOnly, declared, o); err != nil {
			return nil, fmt.Errorf("deploy: app %s, HTTP routes: %w", m.App, err)
		}
		units = append(units, u)
	}
	for _, f := range m.Functions {
		spec := f.Trigger
		u := Unit{Name: core.UnitName(m.App, f.Name), Kind: EventUnit, App: m.App, Function: f.Name, Trigger: &spec}
		if err := u.fill(m, &f, triggerOnly, declared, o); err != nil {
			return nil, fmt.Errorf("deploy: app %s, function %s: %w", m.App, f.Name, err)
		}
		units = append(units, u)
	}
	return units, nil
}

// fill resolves the unit's sizing, resources, queue, schedule and alarms;
// f is nil for the HTTP unit.
func (u *Unit) fill(m core.Manifest, f *core.FunctionSpec, triggerOnly map[string]bool, declared core.Alarms, o Options) error {
	declaredSize := m.Sizing
	if f != nil {
		declaredSize = f.Sizing
	}
	var sz core.Sizing
	if declaredSize != nil {
		sz = *declaredSize
	}
	sz, err := sz.Resolve()
	if err != nil {
		return err
	}
	if sz.Arch == "" {
		sz.Arch = o.Arch
	}
	u.Sizing = Sizing{
		MemoryMiB: sz.MemoryMiB, TimeoutSeconds: int(sz.Timeout / time.Second), Arch: sz.Arch,
		MaxConcurrency: sz.MaxConcurrency, WarmInstances: sz.WarmInstances, MaxInstances: sz.MaxInstances,
		PerInstanceConcurrency: sz.PerInstanceConcurrency,
	}

	own := map[string]bool{}
	if f != nil {
		for _, v := range triggerVariables(f.Trigger) {
			own[v.Env] = true
		}
	}
	u.Resources = []Resource{}
	seen := map[string]bool{}
	for _, r := range m.Resources {
		if triggerOnly[r.Env] && !own[r.Env] {
			continue // another unit's trigger
		}
		seen[r.Env] = true
		u.Resources = append(u.Resources, Resource{Env: r.Env, Kind: r.Kind, Use: r.Use, Optional: r.Optional, Trigger: own[r.Env]})
	}
	if f != nil {
		// A manifest written by hand may leave a trigger's variables out
		// of its resources; the unit is given them all the same.
		for _, v := range triggerVariables(f.Trigger) {
			if !seen[v.Env] {
				u.Resources = append(u.Resources, v)
			}
		}
	}
	slices.SortFunc(u.Resources, func(a, b Resource) int {
		switch {
		case a.Env < b.Env:
			return -1
		case a.Env > b.Env:
			return 1
		}
		return 0
	})

	if f != nil {
		switch t := f.Trigger; {
		case t.Message != nil:
			md := t.Message.MaxDeliveries
			if md == 0 {
				md = DefaultMaxDeliveries
			}
			u.Queue = &Queue{Subscription: t.Message.Subscription, Topic: t.Message.Topic, Ordered: t.Message.Ordered,
				MaxDeliveries: md, DeadLetter: u.Name + "-dead-letter"}
		case t.Timer != nil:
			s, err := ParseSchedule(*t.Timer)
			if err != nil {
				return fmt.Errorf("timer trigger: %w", err)
			}
			u.Schedule = &s
		case t.Stream != nil:
			st := t.Stream
			u.Stream = &Stream{Stream: st.Stream, StartingPosition: st.Position(), BatchSize: st.Batch(),
				KafkaGroup: u.Name, EventHubsGroup: DefaultEventHubsGroup}
			if st.ConsumerGroup != "" {
				u.Stream.KafkaGroup, u.Stream.EventHubsGroup = st.ConsumerGroup, st.ConsumerGroup
			}
		}
	}

	if !declared.Off {
		al, err := declared.Resolve(sz.Timeout)
		if err != nil {
			return err
		}
		u.Alarms = &Alarms{ErrorRate: al.ErrorRate, Errors: al.Errors, Throttles: al.Throttles,
			P99Millis: al.P99.Milliseconds(), PeriodSeconds: int64(al.Period / time.Second)}
		for _, c := range al.Notify {
			u.Alarms.Notify = append(u.Alarms.Notify, channelOf(c).Name)
		}
	}
	return nil
}

// triggerVariables returns the variables a trigger names, as the
// resources core.App.On declares for them.
func triggerVariables(t core.TriggerSpec) []Resource {
	switch {
	case t.Object != nil:
		return []Resource{{Env: t.Object.Bucket, Kind: core.KindBucket, Optional: true, Trigger: true}}
	case t.Message != nil:
		rs := []Resource{{Env: t.Message.Subscription, Kind: core.KindSubscription, Use: core.Consume, Optional: true, Trigger: true}}
		if t.Message.Topic != "" {
			rs = append(rs, Resource{Env: t.Message.Topic, Kind: core.KindTopic, Optional: true, Trigger: true})
		}
		return rs
	case t.Stream != nil:
		// The platform's poller reads the stream with the function's
		// identity (a Lambda event source mapping, the Functions host).
		return []Resource{{Env: t.Stream.Stream, Kind: core.KindStream, Use: core.Consume, Optional: true, Trigger: true}}
	}
	// A change trigger's source is no resource the function opens: the
	// platform delivers its changes (a collection the app Requires under
	// the same variable is given to every unit, as every resource is).
	return nil
}
