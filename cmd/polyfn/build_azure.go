package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
)

func init() {
	// Azure Functions runs custom handlers on Linux x64 only.
	packagers["azure"] = packager{archs: []string{"amd64"}, pack: packAzure}
}

// The function app's fixed parts.
const (
	azureExecutable        = "handler"
	azureRoutePrefix       = "api"
	azureTimeout           = 5 * time.Minute // the Consumption plan's default
	azureStorageSetting    = "AzureWebJobsStorage"
	azureServiceBusSetting = "ServiceBusConnection"
	azureCosmosDBSetting   = "CosmosDBConnection"
	// azureEventRetries is how often the host retries a failed timer or Cosmos DB
	// invocation (their triggers have no retries of their own): five
	// deliveries, as the other triggers and the local runtime give.
	azureEventRetries = 4
)

// packAzure writes <out>/azure/<name>/: the handler executable, host.json,
// local.settings.json and one folder per function with its function.json.
// Names the function.json files need (containers, queues, databases) are
// taken from the trigger variables' values in polyfn build's environment,
// or derived from the variables' names.
func packAzure(ctx context.Context, job buildJob) error {
	files, notes, err := azureFunctionApp(job.Manifests, os.LookupEnv)
	if err != nil {
		return err
	}
	alerts, err := azureAlertTemplate(job.Manifests)
	if err != nil {
		return err
	}
	dir := filepath.Join(job.OutDir, job.Name)
	if err := os.RemoveAll(dir); err != nil { // functions removed since the last build must go too
		return err
	}
	if err := writeAzureFiles(dir, files); err != nil {
		return err
	}
	if err := crossBuild(ctx, job.Pkg, filepath.Join(dir, azureExecutable), job.Arch, "azure"); err != nil {
		return err
	}
	fmt.Fprintf(job.Stdout, "azure: %s\n", dir)
	for _, n := range notes {
		fmt.Fprintf(job.Stdout, "azure: %s\n", n)
	}
	fmt.Fprintf(job.Stdout, "azure: deploy with: cd %s && func azure functionapp publish <function-app-name>\n", dir)
	alertsPath := filepath.Join(job.OutDir, azureAlertsFile(job.Name))
	if alerts == nil {
		if err := os.Remove(alertsPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := writeAzureFiles(job.OutDir, map[string]any{azureAlertsFile(job.Name): alerts}); err != nil {
		return err
	}
	fmt.Fprintf(job.Stdout, "azure: alert rules: %s\nazure: deploy them with: %s\n", alertsPath, azureAlertsCommand(alertsPath))
	return nil
}

// writeAzureFiles writes each file, as indented JSON, under dir.
func writeAzureFiles(dir string, files map[string]any) error {
	for name, v := range files {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// azureHostJSON is host.json.
type azureHostJSON struct {
	Version         string               `json:"version"`
	CustomHandler   azureCustomHandler   `json:"customHandler"`
	ExtensionBundle azureExtensionBundle `json:"extensionBundle"`
	Extensions      azureExtensions      `json:"extensions"`
	FunctionTimeout string               `json:"functionTimeout"`
}

type azureCustomHandler struct {
	Description struct {
		DefaultExecutablePath string   `json:"defaultExecutablePath"`
		WorkingDirectory      string   `json:"workingDirectory"`
		Arguments             []string `json:"arguments"`
	} `json:"description"`
	EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
	EnableProxyingHTTPRequest   bool `json:"enableProxyingHttpRequest"`
}

type azureExtensionBundle struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

type azureExtensions struct {
	HTTP struct {
		RoutePrefix string `json:"routePrefix"`
	} `json:"http"`
	Queues *struct {
		MaxDequeueCount int `json:"maxDequeueCount"`
	} `json:"queues,omitempty"`
}

// azureFunctionJSON is a function folder's function.json.
type azureFunctionJSON struct {
	Bindings []azureBinding    `json:"bindings"`
	Retry    *azureRetryPolicy `json:"retry,omitempty"`
}

// azureBinding is one binding; each trigger type uses some of the fields.
type azureBinding struct {
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

	Schedule     string `json:"schedule,omitempty"`
	RunOnStartup *bool  `json:"runOnStartup,omitempty"`
	UseMonitor   *bool  `json:"useMonitor,omitempty"`

	Connection string `json:"connection,omitempty"`
}

// azureRetryPolicy is a function's retry policy (host.json-style "retry").
type azureRetryPolicy struct {
	Strategy        string `json:"strategy"`
	MaxRetryCount   int    `json:"maxRetryCount"`
	MinimumInterval string `json:"minimumInterval"`
	MaximumInterval string `json:"maximumInterval"`
}

var azureDefaultRetry = &azureRetryPolicy{Strategy: "exponentialBackoff", MaxRetryCount: azureEventRetries,
	MinimumInterval: "00:00:10", MaximumInterval: "00:15:00"}

// azureLocalSettings is local.settings.json, which `func start` reads and
// `func azure functionapp publish` leaves behind unless told otherwise.
type azureLocalSettings struct {
	IsEncrypted bool              `json:"IsEncrypted"`
	Values      map[string]string `json:"Values"`
}

// azureApp collects what the files of one function app need.
type azureApp struct {
	lookup   func(string) (string, bool)
	files    map[string]any
	settings map[string]string
	notes    []string
	dequeues map[int][]string // maxDequeueCount → the queue functions asking for it
	zones    map[string][]string
}

// azureFunctionApp returns the function app's files (path → JSON value)
// for the apps in ms, and notes for the person deploying it. lookup reads
// the build's environment.
func azureFunctionApp(ms []core.Manifest, lookup func(string) (string, bool)) (map[string]any, []string, error) {
	a := &azureApp{lookup: lookup, files: map[string]any{}, dequeues: map[int][]string{}, zones: map[string][]string{},
		settings: map[string]string{"FUNCTIONS_WORKER_RUNTIME": "Custom", azureStorageSetting: "UseDevelopmentStorage=true"}}
	var routes []core.Route
	var events []string
	for _, m := range ms {
		routes = append(routes, m.Routes...)
		for _, f := range m.Functions {
			events = append(events, f.Name)
		}
		for _, r := range m.Resources {
			a.settings[r.Env], _ = lookup(r.Env)
		}
	}
	if len(routes) == 0 && len(events) == 0 {
		return nil, nil, fmt.Errorf("azure: the function declares no HTTP route and no event function")
	}
	names, err := azurefunctions.FunctionNames(routes, events)
	if err != nil {
		return nil, nil, err
	}
	for i, r := range routes {
		fj, err := azureHTTPFunction(r)
		if err != nil {
			return nil, nil, err
		}
		a.files[names[i]+"/function.json"] = fj
	}
	for _, m := range ms {
		for _, f := range m.Functions {
			if err := a.eventFunction(m.App, f); err != nil {
				return nil, nil, fmt.Errorf("azure: function %s: %w", f.Name, err)
			}
		}
	}
	host, err := a.host(len(events) == 0)
	if err != nil {
		return nil, nil, err
	}
	a.files["host.json"] = host
	if err := a.timeZone(); err != nil {
		return nil, nil, err
	}
	a.files["local.settings.json"] = azureLocalSettings{Values: a.settings}
	return a.files, a.notes, nil
}

// host is the app's host.json. HTTP-only apps have the host proxy
// requests as they are (enableProxyingHttpRequest, the documented setting
// for them, which carries any body and streams); apps with event triggers
// keep the documented default, where HTTP functions get the default-mode
// payload too.
func (a *azureApp) host(httpOnly bool) (azureHostJSON, error) {
	h := azureHostJSON{
		Version:         "2.0",
		ExtensionBundle: azureExtensionBundle{ID: "Microsoft.Azure.Functions.ExtensionBundle", Version: "[4.*, 5.0.0)"},
		FunctionTimeout: azureTimeSpan(azureTimeout),
	}
	h.CustomHandler.Description.DefaultExecutablePath = azureExecutable
	h.CustomHandler.Description.Arguments = []string{}
	h.CustomHandler.EnableProxyingHTTPRequest = httpOnly
	h.Extensions.HTTP.RoutePrefix = azureRoutePrefix
	if len(a.dequeues) > 1 {
		return azureHostJSON{}, fmt.Errorf("azure: queue triggers ask for different MaxDeliveries (%v), but host.json has one maxDequeueCount for all", a.dequeues)
	}
	for n := range a.dequeues {
		h.Extensions.Queues = &struct {
			MaxDequeueCount int `json:"maxDequeueCount"`
		}{n}
	}
	return h, nil
}

func azureTimeSpan(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// azureMethods are the methods an httpTrigger accepts.
var azureMethods = []string{"get", "post", "put", "delete", "head", "patch", "options", "trace"}

// azureHTTPFunction is the function.json of one route: an anonymous httpTrigger
// (the app authenticates, middleware/auth) with the route's methods and path, and
// the http output.
func azureHTTPFunction(r core.Route) (azureFunctionJSON, error) {
	route, err := azureRoute(r.Path)
	if err != nil {
		return azureFunctionJSON{}, fmt.Errorf("azure: route %q: %w", r.Pattern, err)
	}
	trigger := azureBinding{Type: "httpTrigger", Direction: "in", Name: azurefunctions.BindingRequest, AuthLevel: "anonymous", Route: route}
	if r.Method != "" {
		m := strings.ToLower(r.Method)
		if !slices.Contains(azureMethods, m) {
			return azureFunctionJSON{}, fmt.Errorf("azure: route %q: Azure Functions routes only the methods %v", r.Pattern, azureMethods)
		}
		trigger.Methods = []string{m}
		if m == "get" { // ServeMux serves HEAD with GET routes
			trigger.Methods = append(trigger.Methods, "head")
		}
	}
	out := azureBinding{Type: "http", Direction: "out", Name: azurefunctions.BindingResponse}
	return azureFunctionJSON{Bindings: []azureBinding{trigger, out}}, nil
}

// azureRoute translates a ServeMux path into a route template: {id} stays,
// {path...} becomes the catch-all {*path}, and a subtree ("/static/", "/")
// gets a catch-all {*rest}. "{$}" (this path only) has no template form;
// the route then also matches the path without its trailing slash, which
// ServeMux redirects.
func azureRoute(path string) (string, error) {
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

// eventFunction writes the function.json of one event function.
func (a *azureApp) eventFunction(app string, f core.FunctionSpec) error {
	var (
		fj  azureFunctionJSON
		err error
	)
	t := f.Trigger
	switch {
	case t.Object != nil:
		fj, err = a.objectFunction(f.Name, *t.Object)
	case t.Message != nil:
		fj, err = a.messageFunction(f.Name, *t.Message)
	case t.Change != nil:
		fj, err = a.changeFunction(app, f.Name, *t.Change)
	case t.Timer != nil:
		fj, err = a.timerFunction(f.Name, *t.Timer)
	default:
		err = fmt.Errorf("trigger of kind %q", t.Kind)
	}
	if err != nil {
		return err
	}
	a.files[f.Name+"/function.json"] = fj
	return nil
}

// objectFunction: a blob trigger on the bucket's container for created
// objects (the content comes with the event); an Event Grid trigger when
// deletions are asked for too, since blob triggers see no deletions.
func (a *azureApp) objectFunction(name string, t core.ObjectTrigger) (azureFunctionJSON, error) {
	container, err := a.resourceName(t.Bucket, "azblob")
	if err != nil {
		return azureFunctionJSON{}, err
	}
	if strings.ContainsAny(t.Prefix+t.Suffix, "{}") {
		return azureFunctionJSON{}, fmt.Errorf("prefix %q or suffix %q has a brace, which a blob path reads as a token", t.Prefix, t.Suffix)
	}
	if slices.Contains(t.Events, core.KindObjectDeleted) {
		subject := "/blobServices/default/containers/" + container + "/blobs/" + t.Prefix
		a.notes = append(a.notes, fmt.Sprintf("function %s needs an Event Grid subscription on the storage account: "+
			"az eventgrid event-subscription create --name %s --source-resource-id <storage-account-id> "+
			"--endpoint-type azurefunction --endpoint <function-app-id>/functions/%s "+
			"--included-event-types Microsoft.Storage.BlobCreated Microsoft.Storage.BlobDeleted "+
			"--subject-begins-with %s%s", name, name, name, subject, azureSuffixFlag(t.Suffix)))
		return azureFunctionJSON{Bindings: []azureBinding{{Type: "eventGridTrigger", Direction: "in", Name: azurefunctions.BindingEvent}}}, nil
	}
	return azureFunctionJSON{Bindings: []azureBinding{{
		Type: "blobTrigger", Direction: "in", Name: azurefunctions.BindingBlob, DataType: "binary",
		Path: container + "/" + t.Prefix + "{name}" + t.Suffix, Connection: azureStorageSetting,
	}}}, nil
}

func azureSuffixFlag(suffix string) string {
	if suffix == "" {
		return ""
	}
	return " --subject-ends-with " + suffix
}

// messageFunction: a Service Bus trigger for an azuresb:// subscription
// (azuresb://<topic>?subscription=<name>, or azuresb://<queue>), a Queue
// Storage trigger otherwise. Bodies arrive as bytes ("dataType": "binary")
// from Service Bus; queue messages are text.
func (a *azureApp) messageFunction(name string, t core.MessageTrigger) (azureFunctionJSON, error) {
	v, _ := a.lookup(t.Subscription)
	if u, err := url.Parse(v); err == nil && u.Scheme == "azuresb" && u.Host != "" {
		b := azureBinding{Type: "serviceBusTrigger", Direction: "in", Name: azurefunctions.BindingMessage, DataType: "binary",
			Connection: azureServiceBusSetting, IsSessions: t.Ordered}
		if sub := u.Query().Get("subscription"); sub != "" {
			b.TopicName, b.SubscriptionName = u.Host, sub
		} else {
			b.QueueName = u.Host
		}
		a.connection(azureServiceBusSetting)
		if t.MaxDeliveries > 0 {
			a.notes = append(a.notes, fmt.Sprintf("function %s: set the Service Bus entity's MaxDeliveryCount to %d (Azure configures it on the entity)", name, t.MaxDeliveries))
		}
		return azureFunctionJSON{Bindings: []azureBinding{b}}, nil
	}
	queue, err := a.resourceName(t.Subscription, "")
	if err != nil {
		return azureFunctionJSON{}, err
	}
	if t.Ordered {
		a.notes = append(a.notes, fmt.Sprintf("function %s: Queue Storage does not keep order; use an azuresb:// subscription with sessions for ordered delivery", name))
	}
	if t.MaxDeliveries > 0 {
		a.dequeues[t.MaxDeliveries] = append(a.dequeues[t.MaxDeliveries], name)
	}
	return azureFunctionJSON{Bindings: []azureBinding{{
		Type: "queueTrigger", Direction: "in", Name: azurefunctions.BindingMessage, QueueName: queue, Connection: azureStorageSetting,
	}}}, nil
}

// changeFunction: a Cosmos DB trigger. The Source variable's value names the
// database and container as "<database>/<container>" (optionally behind a
// scheme: "cosmos://<database>/<container>"); by default the database is
// the app's name and the container is derived from the variable's name.
func (a *azureApp) changeFunction(app, name string, t core.ChangeTrigger) (azureFunctionJSON, error) {
	db, container := app, azureConventionalName(t.Source)
	if v, ok := a.lookup(t.Source); ok && v != "" {
		if u, err := url.Parse(v); err == nil && u.Scheme != "" {
			v = u.Host + u.Path
		}
		d, c, ok := strings.Cut(strings.Trim(v, "/"), "/")
		if !ok || d == "" || c == "" || strings.Contains(c, "/") {
			return azureFunctionJSON{}, fmt.Errorf("%s=%q: want <database>/<container>", t.Source, v)
		}
		db, container = d, c
	}
	a.connection(azureCosmosDBSetting)
	return azureFunctionJSON{
		Bindings: []azureBinding{{
			Type: "cosmosDBTrigger", Direction: "in", Name: azurefunctions.BindingDocuments, Connection: azureCosmosDBSetting,
			DatabaseName: db, ContainerName: container, LeaseContainerName: "leases", LeaseContainerPrefix: name + "-",
			CreateLeaseContainer: true,
		}},
		Retry: azureDefaultRetry,
	}, nil
}

// timerFunction: a timer trigger with the schedule in NCRONTAB form.
func (a *azureApp) timerFunction(name string, t core.TimerTrigger) (azureFunctionJSON, error) {
	schedule, err := ncrontab(t.Schedule)
	if err != nil {
		return azureFunctionJSON{}, err
	}
	if t.TimeZone != "" {
		a.zones[t.TimeZone] = append(a.zones[t.TimeZone], name)
	}
	no, yes := false, true
	return azureFunctionJSON{
		Bindings: []azureBinding{{Type: "timerTrigger", Direction: "in", Name: azurefunctions.BindingTimer,
			Schedule: schedule, RunOnStartup: &no, UseMonitor: &yes}},
		Retry: azureDefaultRetry,
	}, nil
}

// timeZone sets WEBSITE_TIME_ZONE, the one time zone of a function app's
// timers, when the timers name one.
func (a *azureApp) timeZone() error {
	switch len(a.zones) {
	case 0:
		return nil
	case 1:
		for z := range a.zones {
			a.settings["WEBSITE_TIME_ZONE"] = z
		}
		a.notes = append(a.notes, "set the app setting WEBSITE_TIME_ZONE as in local.settings.json (Linux Consumption plans ignore it and run timers in UTC)")
		return nil
	}
	return fmt.Errorf("azure: timers ask for different time zones (%v), but a function app has one (WEBSITE_TIME_ZONE)", a.zones)
}

// ncrontabDescriptors are the cron descriptors in NCRONTAB form.
var ncrontabDescriptors = map[string]string{
	"@yearly": "0 0 0 1 1 *", "@annually": "0 0 0 1 1 *", "@monthly": "0 0 0 1 * *",
	"@weekly": "0 0 0 * * 0", "@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *", "@hourly": "0 0 * * * *",
}

// ncrontab converts a schedule to Azure's six-field NCRONTAB: five-field
// cron gets "0 " (second 0) in front, six fields stay, descriptors are
// spelled out, and "@every <d>" becomes a step when d divides a minute,
// an hour or a day evenly.
func ncrontab(s string) (string, error) {
	s = strings.TrimSpace(s)
	if d, ok := ncrontabDescriptors[s]; ok {
		return d, nil
	}
	if every, ok := strings.CutPrefix(s, "@every "); ok {
		return ncrontabEvery(strings.TrimSpace(every))
	}
	switch len(strings.Fields(s)) {
	case 5:
		return "0 " + strings.Join(strings.Fields(s), " "), nil
	case 6:
		return strings.Join(strings.Fields(s), " "), nil
	}
	return "", fmt.Errorf("schedule %q: want five or six cron fields, or a descriptor such as @hourly", s)
}

func ncrontabEvery(every string) (string, error) {
	d, err := time.ParseDuration(every)
	switch {
	case err != nil || d <= 0:
	case d < time.Minute && d%time.Second == 0 && time.Minute%d == 0:
		return fmt.Sprintf("*/%d * * * * *", d/time.Second), nil
	case d < time.Hour && d%time.Minute == 0 && time.Hour%d == 0:
		return fmt.Sprintf("0 */%d * * * *", d/time.Minute), nil
	case d <= 24*time.Hour && d%time.Hour == 0 && (24*time.Hour)%d == 0:
		return fmt.Sprintf("0 0 */%d * * *", d/time.Hour), nil
	}
	return "", fmt.Errorf("schedule @every %s has no NCRONTAB form: use a duration that divides a minute, an hour or a day", every)
}

// azureStorageName is what Azure allows for container and queue names.
var azureStorageName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)

// resourceName is the container or queue a trigger variable names: the
// host of its URL in the build's environment (azblob://<container>?…), or
// the name derived from the variable (MEDIA_BUCKET_URL → media).
func (a *azureApp) resourceName(env, scheme string) (string, error) {
	name := azureConventionalName(env)
	if v, ok := a.lookup(env); ok && v != "" {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || (scheme != "" && u.Scheme != scheme) {
			want := "a URL naming it as its host"
			if scheme != "" {
				want = scheme + "://<container>"
			}
			return "", fmt.Errorf("%s=%q: want %s", env, v, want)
		}
		name = u.Host
	}
	if !azureStorageName.MatchString(name) {
		return "", fmt.Errorf("%q (from %s) is not a valid container or queue name: 3 to 63 lower-case letters, digits and single hyphens", name, env)
	}
	return name, nil
}

// azureConventionalName derives a resource's name from its variable:
// MEDIA_BUCKET_URL → media, ORDERS_SUBSCRIPTION_URL → orders.
func azureConventionalName(env string) string {
	n := strings.TrimSuffix(env, "_URL")
	for _, suffix := range []string{"_BUCKET", "_CONTAINER", "_SUBSCRIPTION", "_TOPIC", "_QUEUE", "_TABLE", "_COLLECTION", "_SOURCE"} {
		if t := strings.TrimSuffix(n, suffix); t != n && t != "" {
			n = t
			break
		}
	}
	return strings.ReplaceAll(strings.ToLower(n), "_", "-")
}

// connection lists a connection setting in local.settings.json, empty: it
// holds a secret, which the build does not copy.
func (a *azureApp) connection(name string) {
	if _, ok := a.settings[name]; !ok {
		a.settings[name] = ""
	}
}
