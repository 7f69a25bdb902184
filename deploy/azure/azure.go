// Package azure renders a deployment plan (deploy.Plan) for Azure
// Functions: the function app's files (host.json, a function.json per
// function) and one Azure Resource Manager template for the whole app,
// which `az deployment group create` deploys. The template holds the
// Elastic Premium plan, the app's storage account, a Log Analytics
// workspace and Application Insights, the function app with its
// system-assigned identity and app settings, the identity's role
// assignments (deploy.AzureGrants) on the resources the units use, the
// Service Bus entities and Storage queues that message triggers receive
// from, with their dead letters, and per unit an error-rate and a p99
// duration alert that notify the plan's email channels.
//
// Resources the app uses but does not own (its buckets' storage account
// and containers, its Key Vault, its Service Bus namespace, its Cosmos DB
// account) exist already; template parameters name them, each with a
// default derived from its variable. See docs/azure.md.
package azure

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// Options are the renderer's inputs beyond the plan.
type Options struct {
	// Name is the function app's name, from which the template's
	// resources are named: the function binary's ("users"). Required.
	Name string
	// FunctionNames names each route's Azure function, as the adapter
	// does (azurefunctions.FunctionNames, which deploy may not import).
	// Required.
	FunctionNames func(routes []core.Route, eventFuncs []string) ([]string, error)
	// Grants picks each variable's URL scheme where it is not Azure's
	// default (a Storage queue for a subscription, deploy.AzureQueueScheme).
	Grants *deploy.GrantOptions
}

// FunctionApp is what Render produces.
type FunctionApp struct {
	Host HostJSON
	// Functions are the function.json files by function (folder) name.
	Functions map[string]FunctionJSON
	// Template is the ARM template of the whole app.
	Template Template
	// Assignments are the identity's roles, as the template assigns them.
	Assignments []Assignment
	// Notes are what the person deploying needs to know: what Azure
	// cannot express of the plan, and what is left to do by hand.
	Notes []string
}

// Files returns the function app folder's files by slash-separated path,
// each a value to encode as JSON.
func (a *FunctionApp) Files() map[string]any {
	files := map[string]any{"host.json": a.Host}
	for n, f := range a.Functions {
		files[n+"/function.json"] = f
	}
	return files
}

// Assignment is one role the function app's identity holds on one
// resource.
type Assignment struct {
	// Env is the variable whose resource the role is scoped to.
	Env  string
	Role deploy.AzureRole
	// Units are the units whose grants (deploy.AzureGrants) hold the role;
	// none for a role the Functions host needs for a trigger.
	Units []string
	// Host says why the Functions host needs the role, for a role that no
	// unit's grants hold.
	Host string `json:",omitempty"`
}

// Premium plan SKUs by per-instance memory
// (https://learn.microsoft.com/azure/azure-functions/functions-premium-plan#available-instance-skus).
var premiumSKUs = []struct {
	name      string
	memoryMiB int
}{{"EP1", 3584}, {"EP2", 7168}, {"EP3", 14336}}

// defaultMaxBurst is the plan's maximum burst (instance count) when no
// unit caps it: what a Linux Premium plan scales out to in most regions
// (40 in East US), and maxAlwaysReady the most always-ready instances an
// app may have
// (https://learn.microsoft.com/azure/azure-functions/functions-premium-plan#region-max-scale-out,
// …#always-ready-instances).
const (
	defaultMaxBurst = 20
	maxAlwaysReady  = 20
)

// storageName is what Azure allows for container and queue names
// (https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata).
var storageName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)

var appName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// renderer holds what Render builds.
type renderer struct {
	opts   Options
	plan   *deploy.Plan
	app    *FunctionApp
	t      *Template
	funcs  map[string][]string // unit → its Azure functions
	vars   map[string]*variable
	order  []string // variables in first-use order
	notes  []string
	params map[string]Parameter
	// gridUnits are the object units Event Grid delivers (eventgrid.go).
	gridUnits []deploy.Unit
}

// Render returns the function app of plan p.
func Render(p *deploy.Plan, opts *Options) (*FunctionApp, error) {
	if opts == nil || opts.FunctionNames == nil {
		return nil, fmt.Errorf("azure: Options.FunctionNames is required")
	}
	if !appName.MatchString(opts.Name) {
		return nil, fmt.Errorf("azure: function app name %q: want a lower-case letter, then up to 39 lower-case letters, digits and dashes", opts.Name)
	}
	if len(p.Units) == 0 {
		return nil, fmt.Errorf("azure: the plan has no unit: nothing to deploy")
	}
	if err := checkTimeZones(p); err != nil {
		return nil, err
	}
	r := &renderer{opts: *opts, plan: p, app: &FunctionApp{Functions: map[string]FunctionJSON{}},
		funcs: map[string][]string{}, vars: map[string]*variable{}, params: map[string]Parameter{}}
	r.t = &r.app.Template
	if err := r.functions(); err != nil {
		return nil, err
	}
	if err := r.variables(); err != nil {
		return nil, err
	}
	if err := r.template(); err != nil {
		return nil, err
	}
	r.app.Notes = r.notes
	return r.app, nil
}

// functions names each unit's Azure functions and writes their
// function.json files and host.json.
func (r *renderer) functions() error {
	var routes []core.Route
	var events []string
	seen := map[string]string{}
	for _, u := range r.plan.Units {
		routes = append(routes, u.Routes...)
		if u.Kind == deploy.EventUnit {
			if prev, dup := seen[strings.ToLower(u.Function)]; dup {
				return fmt.Errorf("azure: function %s of app %s and function %s of app %s would be one Azure function: rename one", u.Function, u.App, u.Function, prev)
			}
			seen[strings.ToLower(u.Function)] = u.App
			events = append(events, u.Function)
		}
	}
	names, err := r.opts.FunctionNames(routes, events)
	if err != nil {
		return fmt.Errorf("azure: %w", err)
	}
	i := 0
	dequeues := map[int][]string{}
	for _, u := range r.plan.Units {
		if u.Kind == deploy.HTTPUnit {
			for _, rt := range u.Routes {
				fj, err := httpFunction(rt)
				if err != nil {
					return fmt.Errorf("azure: app %s: %w", u.App, err)
				}
				r.app.Functions[names[i]] = fj
				r.funcs[u.Name] = append(r.funcs[u.Name], names[i])
				i++
			}
			continue
		}
		fj, err := r.eventFunction(u)
		if err != nil {
			return fmt.Errorf("azure: app %s, function %s: %w", u.App, u.Function, err)
		}
		r.app.Functions[u.Function] = fj
		r.funcs[u.Name] = []string{u.Function}
		if u.Queue != nil && r.scheme(u.Queue.Subscription, core.KindSubscription) == deploy.AzureQueueScheme {
			dequeues[u.Queue.MaxDeliveries] = append(dequeues[u.Queue.MaxDeliveries], u.Name)
		}
	}

	h := HostJSON{Version: "2.0", ExtensionBundle: ExtensionBundle{ID: "Microsoft.Azure.Functions.ExtensionBundle", Version: "[4.*, 5.0.0)"}}
	h.CustomHandler.Description.DefaultExecutablePath = Executable
	h.CustomHandler.Description.Arguments = []string{}
	// An HTTP-only app has the host proxy its requests as they are: the
	// mode the documentation recommends for HTTP-only functions, which
	// carries any body and streams (docs/azure.md, "The three modes").
	h.CustomHandler.EnableProxyingHTTPRequest = len(events) == 0
	h.Extensions.HTTP.RoutePrefix = routePrefix
	if len(dequeues) > 1 {
		return fmt.Errorf("azure: Storage queue triggers of units %v ask for different MaxDeliveries, but host.json has one maxDequeueCount for the app", dequeues)
	}
	for n := range dequeues {
		h.Extensions.Queues = &QueuesExtension{MaxDequeueCount: n}
	}
	if h.Extensions.EventHubs, err = r.eventHubsExtension(); err != nil {
		return err
	}
	longest := 0
	for _, u := range r.plan.Units {
		longest = max(longest, u.Sizing.TimeoutSeconds)
	}
	h.FunctionTimeout = timeSpan(time.Duration(longest) * time.Second)
	r.app.Host = h
	return nil
}

// eventFunction is the function.json of an event unit.
func (r *renderer) eventFunction(u deploy.Unit) (FunctionJSON, error) {
	t := u.Trigger
	switch {
	case t.Object != nil:
		o := t.Object
		if strings.ContainsAny(o.Prefix+o.Suffix, "{}%") {
			return FunctionJSON{}, fmt.Errorf("prefix %q or suffix %q has a brace or a percent sign, which a blob path reads as an expression", o.Prefix, o.Suffix)
		}
		if viaEventGrid(o) {
			// Blob triggers see no deletions, tier changes or
			// rehydrations: Event Grid delivers them (eventgrid.go).
			return r.eventGridFunction(u), nil
		}
		return FunctionJSON{Bindings: []Binding{{
			Type: "blobTrigger", Direction: "in", Name: bindingBlob, DataType: "binary",
			Path: "%" + nameSetting(o.Bucket) + "%/" + o.Prefix + "{name}" + o.Suffix, Connection: blobConnection,
		}}}, nil
	case t.Message != nil:
		q := u.Queue
		switch r.scheme(q.Subscription, core.KindSubscription) {
		case "azuresb":
			b := Binding{Type: "serviceBusTrigger", Direction: "in", Name: bindingMessage, DataType: "binary",
				Connection: serviceBusConnection, IsSessions: q.Ordered}
			if q.Topic != "" {
				b.TopicName, b.SubscriptionName = derivedName(q.Topic), u.Name
			} else {
				b.QueueName = derivedName(q.Subscription)
			}
			return FunctionJSON{Bindings: []Binding{b}}, nil
		case deploy.AzureQueueScheme:
			if q.Topic != "" {
				return FunctionJSON{}, fmt.Errorf("%s is a Storage queue, which no topic (%s) feeds: use a Service Bus subscription", q.Subscription, q.Topic)
			}
			if q.Ordered {
				r.notef("unit %s: Queue Storage does not keep order; use a Service Bus subscription (sessions) for ordered delivery", u.Name)
			}
			return FunctionJSON{Bindings: []Binding{{Type: "queueTrigger", Direction: "in", Name: bindingMessage,
				QueueName: derivedName(q.Subscription), Connection: queueConnection}}}, nil
		}
		return FunctionJSON{}, fmt.Errorf("%s: a message trigger's subscription is azuresb or %s on Azure, not %s", q.Subscription, deploy.AzureQueueScheme, r.scheme(q.Subscription, core.KindSubscription))
	case t.Change != nil:
		r.notef("unit %s: the Cosmos DB trigger reads the change feed of a Cosmos DB for NoSQL container (%s), with the connection string given in the parameter %s", u.Name, t.Change.Source, cosmosConnectionParam)
		return FunctionJSON{
			Bindings: []Binding{{
				Type: "cosmosDBTrigger", Direction: "in", Name: bindingDocuments, Connection: cosmosConnection,
				DatabaseName: "%" + changeDatabaseSetting + "%", ContainerName: "%" + nameSetting(t.Change.Source) + "%",
				LeaseContainerName: "leases", LeaseContainerPrefix: u.Function + "-", CreateLeaseContainer: true,
			}},
			Retry: defaultRetry(),
		}, nil
	case t.Stream != nil:
		return r.streamFunction(u)
	case t.Timer != nil:
		s, err := NCRONTAB(*u.Schedule)
		if err != nil {
			return FunctionJSON{}, err
		}
		no, yes := false, true
		return FunctionJSON{
			Bindings: []Binding{{Type: "timerTrigger", Direction: "in", Name: bindingTimer, Schedule: s, RunOnStartup: &no, UseMonitor: &yes}},
			Retry:    defaultRetry(),
		}, nil
	}
	return FunctionJSON{}, fmt.Errorf("trigger of kind %q", t.Kind)
}

func (r *renderer) notef(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// scheme is the URL scheme of a variable on Azure.
func (r *renderer) scheme(env string, k core.ResourceKind) string {
	if r.opts.Grants != nil && r.opts.Grants.Schemes[env] != "" {
		return r.opts.Grants.Schemes[env]
	}
	return deploy.DefaultScheme(deploy.Azure, k)
}

// derivedName is a resource's default name from its variable:
// MEDIA_BUCKET_URL → media, ORDERS_SUBSCRIPTION_URL → orders.
func derivedName(env string) string {
	n := strings.TrimSuffix(env, "_URL")
	for _, suffix := range []string{"_BUCKET", "_CONTAINER", "_SUBSCRIPTION", "_TOPIC", "_QUEUE", "_TABLE", "_COLLECTION", "_SOURCE", "_KEY", "_STREAM"} {
		if t := strings.TrimSuffix(n, suffix); t != n && t != "" {
			n = t
			break
		}
	}
	return strings.ReplaceAll(strings.ToLower(n), "_", "-")
}

// paramName is the template parameter of a variable's value:
// USERS_OIDC_ISSUER → usersOidcIssuer.
func paramName(env string) string {
	var b strings.Builder
	for i, w := range strings.Split(strings.ToLower(env), "_") {
		if i > 0 && w != "" {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
	}
	return b.String()
}

// nameParam is the template parameter that names a variable's existing
// resource: ARCHIVE_BUCKET_URL → archiveBucketName.
func nameParam(env string) string { return paramName(strings.TrimSuffix(env, "_URL")) + "Name" }

// nameSetting is the app setting that holds the name a trigger's binding
// needs (a container, a Cosmos DB container), for function.json to read
// as %NAME%.
func nameSetting(env string) string { return "POLYFN_NAME_" + env }
