package azure

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// The function app's fixed parts. The binding names are the ones the
// adapter looks for first (adapters/azurefunctions, BindingRequest and
// the others); deploy imports no adapter, so they are repeated here and
// TestBindingNames in cmd/polyfn holds them equal.
const (
	// Executable is the custom handler's file in the function app.
	Executable  = "handler"
	routePrefix = "api"

	bindingRequest   = "req"
	bindingResponse  = "res"
	bindingBlob      = "blob"
	bindingEvent     = "event"
	bindingMessage   = "message"
	bindingDocuments = "documents"
	bindingTimer     = "timer"
	bindingRecords   = "records"

	// eventRetries is how often the host retries a failed timer or Cosmos
	// DB invocation, whose triggers have no retries of their own: five
	// deliveries, the plan's default.
	eventRetries = deploy.DefaultMaxDeliveries - 1
)

// HostJSON is the function app's host.json
// (https://learn.microsoft.com/azure/azure-functions/functions-host-json).
type HostJSON struct {
	Version         string          `json:"version"`
	CustomHandler   CustomHandler   `json:"customHandler"`
	ExtensionBundle ExtensionBundle `json:"extensionBundle"`
	Extensions      Extensions      `json:"extensions"`
	// FunctionTimeout is the largest timeout of the app's units: the host
	// stops an invocation after it, and the adapter gives each invocation
	// its own function's timeout as its deadline.
	FunctionTimeout string `json:"functionTimeout"`
}

// CustomHandler is host.json's customHandler
// (https://learn.microsoft.com/azure/azure-functions/functions-custom-handlers#hostjson).
type CustomHandler struct {
	Description struct {
		DefaultExecutablePath string   `json:"defaultExecutablePath"`
		WorkingDirectory      string   `json:"workingDirectory"`
		Arguments             []string `json:"arguments"`
	} `json:"description"`
	EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
	EnableProxyingHTTPRequest   bool `json:"enableProxyingHttpRequest"`
}

// ExtensionBundle is host.json's extensionBundle.
type ExtensionBundle struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// Extensions are host.json's extensions.
type Extensions struct {
	HTTP struct {
		RoutePrefix string `json:"routePrefix"`
	} `json:"http"`
	Queues    *QueuesExtension    `json:"queues,omitempty"`
	EventHubs *EventHubsExtension `json:"eventHubs,omitempty"`
}

// QueuesExtension is host.json's extensions.queues
// (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json).
type QueuesExtension struct {
	MaxDequeueCount int `json:"maxDequeueCount"`
}

// EventHubsExtension is host.json's extensions.eventHubs, for every Event
// Hubs trigger of the app (extension 5.x,
// https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-hubs#host-json):
// the most events one invocation receives, and where a partition without a
// checkpoint starts.
type EventHubsExtension struct {
	MaxEventBatchSize    int `json:"maxEventBatchSize"`
	InitialOffsetOptions struct {
		Type string `json:"type"` // fromStart, fromEnd
	} `json:"initialOffsetOptions"`
}

// FunctionJSON is a function folder's function.json.
type FunctionJSON struct {
	Bindings []Binding    `json:"bindings"`
	Retry    *RetryPolicy `json:"retry,omitempty"`
}

// Binding is one binding of a function.json; each trigger type uses some
// of the fields. A value between percent signs (%NAME%) is the app
// setting NAME, which the template sets from its parameters
// (https://learn.microsoft.com/azure/azure-functions/functions-bindings-expressions-patterns#binding-expressions---app-settings).
type Binding struct {
	Type      string `json:"type"`
	Direction string `json:"direction"`
	Name      string `json:"name"`
	DataType  string `json:"dataType,omitempty"`

	AuthLevel string   `json:"authLevel,omitempty"`
	Methods   []string `json:"methods,omitempty"`
	Route     string   `json:"route,omitempty"`

	Path             string `json:"path,omitempty"`
	QueueName        string `json:"queueName,omitempty"`
	TopicName        string `json:"topicName,omitempty"`
	SubscriptionName string `json:"subscriptionName,omitempty"`
	IsSessions       bool   `json:"isSessionsEnabled,omitempty"`

	DatabaseName         string `json:"databaseName,omitempty"`
	ContainerName        string `json:"containerName,omitempty"`
	LeaseContainerName   string `json:"leaseContainerName,omitempty"`
	LeaseContainerPrefix string `json:"leaseContainerPrefix,omitempty"`
	CreateLeaseContainer bool   `json:"createLeaseContainerIfNotExists,omitempty"`

	EventHubName  string `json:"eventHubName,omitempty"`
	ConsumerGroup string `json:"consumerGroup,omitempty"`
	Cardinality   string `json:"cardinality,omitempty"`

	Schedule     string `json:"schedule,omitempty"`
	RunOnStartup *bool  `json:"runOnStartup,omitempty"`
	UseMonitor   *bool  `json:"useMonitor,omitempty"`

	Connection string `json:"connection,omitempty"`
}

// RetryPolicy is a function's retry policy
// (https://learn.microsoft.com/azure/azure-functions/functions-bindings-error-pages#retry-policies).
type RetryPolicy struct {
	Strategy        string `json:"strategy"`
	MaxRetryCount   int    `json:"maxRetryCount"`
	MinimumInterval string `json:"minimumInterval"`
	MaximumInterval string `json:"maximumInterval"`
}

func defaultRetry() *RetryPolicy {
	return &RetryPolicy{Strategy: "exponentialBackoff", MaxRetryCount: eventRetries,
		MinimumInterval: "00:00:10", MaximumInterval: "00:15:00"}
}

// timeSpan writes d as host.json's hh:mm:ss.
func timeSpan(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// methods are the methods an httpTrigger accepts.
var methods = []string{"get", "post", "put", "delete", "head", "patch", "options", "trace"}

// httpFunction is the function.json of one route: an anonymous httpTrigger
// (the app authenticates, middleware/auth) with the route's methods and
// path, and the http output.
func httpFunction(r core.Route) (FunctionJSON, error) {
	route, err := routeTemplate(r.Path)
	if err != nil {
		return FunctionJSON{}, fmt.Errorf("route %q: %w", r.Pattern, err)
	}
	trigger := Binding{Type: "httpTrigger", Direction: "in", Name: bindingRequest, AuthLevel: "anonymous", Route: route}
	if r.Method != "" {
		m := strings.ToLower(r.Method)
		if !slices.Contains(methods, m) {
			return FunctionJSON{}, fmt.Errorf("route %q: Azure Functions routes only the methods %v", r.Pattern, methods)
		}
		trigger.Methods = []string{m}
		if m == "get" { // ServeMux serves HEAD with GET routes
			trigger.Methods = append(trigger.Methods, "head")
		}
	}
	out := Binding{Type: "http", Direction: "out", Name: bindingResponse}
	return FunctionJSON{Bindings: []Binding{trigger, out}}, nil
}

// routeTemplate translates a ServeMux path into a route template: {id}
// stays, {path...} becomes the catch-all {*path}, and a subtree
// ("/static/", "/") gets a catch-all {*rest}. "{$}" (this path only) has
// no template form; the route then also matches the path without its
// trailing slash, which ServeMux redirects.
func routeTemplate(path string) (string, error) {
	p := strings.TrimPrefix(path, "/")
	if p == "{$}" {
		return "", fmt.Errorf("the root path alone cannot be an Azure route (an empty route means the function's name); add a segment")
	}
	segs := strings.Split(p, "/")
	last := len(segs) - 1
	switch {
	case segs[last] == "{$}":
		segs = segs[:last]
	case segs[last] == "":
		segs[last] = "{*rest}"
	}
	for i, s := range segs {
		if name, ok := strings.CutSuffix(strings.TrimPrefix(s, "{"), "...}"); ok && strings.HasPrefix(s, "{") {
			segs[i] = "{*" + name + "}"
		}
	}
	return strings.Join(segs, "/"), nil
}

// NCRONTAB returns a timer's schedule as Azure's six-field NCRONTAB
// (https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions):
// the plan's cron fields, seconds first, with "?" (any, in a day field)
// written "*"; an interval becomes a step of seconds, minutes or hours
// when it divides a minute, an hour or a day evenly, which NCRONTAB can
// express, and is refused otherwise.
func NCRONTAB(s deploy.Schedule) (string, error) {
	switch s.Kind {
	case deploy.ScheduleCron:
		f := *s.Cron
		for _, p := range []*string{&f.DayOfMonth, &f.DayOfWeek} {
			if *p == "?" {
				*p = "*"
			}
		}
		return f.String(), nil
	case deploy.ScheduleEvery:
		d := time.Duration(s.EverySeconds) * time.Second
		switch {
		case d < time.Minute && time.Minute%d == 0:
			return fmt.Sprintf("*/%d * * * * *", d/time.Second), nil
		case d < time.Hour && d%time.Minute == 0 && time.Hour%d == 0:
			return fmt.Sprintf("0 */%d * * * *", d/time.Minute), nil
		case d <= 24*time.Hour && d%time.Hour == 0 && (24*time.Hour)%d == 0:
			return fmt.Sprintf("0 0 */%d * * *", d/time.Hour), nil
		}
		return "", fmt.Errorf("schedule %q has no NCRONTAB form: use an interval that divides a minute, an hour or a day", s.Expr)
	}
	return "", fmt.Errorf("schedule %q of kind %q", s.Expr, s.Kind)
}
