package azure

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// The connections (app setting prefixes) the triggers use. Blob, queue
// and Service Bus triggers connect with the function app's identity
// (https://learn.microsoft.com/azure/azure-functions/functions-reference#configure-an-identity-based-connection);
// the Cosmos DB trigger with the connection string of a parameter.
const (
	blobConnection       = "PolyfnBlobs"
	queueConnection      = "PolyfnQueues"
	serviceBusConnection = "ServiceBusConnection"
	cosmosConnection     = "CosmosDBConnection"

	// changeDatabaseSetting names the Cosmos DB database of change triggers.
	changeDatabaseSetting = "POLYFN_NAME_DATABASE"
)

// The template's shared parameters.
const (
	locationParam         = "location"
	appNameParam          = "appName"
	dataStorageParam      = "storageAccountName"
	serviceBusParam       = "serviceBusNamespace"
	keyVaultParam         = "keyVaultName"
	cosmosAccountParam    = "cosmosAccountName"
	databaseParam         = "databaseName"
	mongoPasswordParam    = "mongoPassword"
	cosmosConnectionParam = "cosmosDBConnection"
)

// API versions of the resource types the template declares, each from its
// template reference page, https://learn.microsoft.com/azure/templates/<type>
// (testdata/resource-types.json holds the same table for the tests).
const (
	apiStorage      = "2023-05-01" // Microsoft.Storage/storageAccounts, …/queueServices/queues
	apiWorkspace    = "2023-09-01" // Microsoft.OperationalInsights/workspaces
	apiInsights     = "2020-02-02" // Microsoft.Insights/components
	apiWeb          = "2023-12-01" // Microsoft.Web/serverfarms, Microsoft.Web/sites
	apiServiceBus   = "2021-11-01" // Microsoft.ServiceBus/namespaces/queues, topics, topics/subscriptions
	apiRoles        = "2022-04-01" // Microsoft.Authorization/roleAssignments, roleDefinitions
	apiMongoRBAC    = "2023-04-15" // Microsoft.DocumentDB/databaseAccounts/mongodbRoleDefinitions, mongodbUserDefinitions
	apiActionGroups = "2023-01-01" // Microsoft.Insights/actionGroups
	apiQueryRules   = "2021-08-01" // Microsoft.Insights/scheduledQueryRules
	schema          = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
)

// hostRoles are the built-in roles the Functions host needs for a trigger
// beyond what the unit's grants hold
// (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage).
var (
	blobReaderRole  = deploy.AzureRole{System: "rbac", Name: "Storage Blob Data Reader", ID: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", Scope: deploy.AzureContainer}
	queueSenderRole = deploy.AzureRole{System: "rbac", Name: "Storage Queue Data Message Sender", ID: "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a", Scope: deploy.AzureQueue}
	// The blob trigger keeps its poison queue (webjobs-blobtrigger-poison)
	// in the storage account of its connection
	// (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#identity-based-connections).
	queueContributorRole = deploy.AzureRole{System: "rbac", Name: "Storage Queue Data Contributor", ID: "974c5e8b-45b9-4653-ba55-5f855dd0fb88", Scope: "account"}
)

// variable is one resource variable of the plan as the template gives it.
type variable struct {
	env    string
	kind   core.ResourceKind
	scheme string
	// value is the app setting's value, a template expression.
	value string
	// scopes are the role assignment scopes of the resource, by the
	// grants' scope kind.
	scopes map[deploy.AzureScope]scope
	// name is the expression of the resource's own name (a container's,
	// a collection's), which a trigger's binding may need.
	name string
	// condition is the condition of its role assignments: an optional
	// resource is granted only when its parameter names it.
	condition string
}

type scope struct {
	path      string   // scopePath expression
	dependsOn []string // resources the template creates it in
}

// entity is a Service Bus queue, topic or subscription, or a Storage
// queue, that the template creates for a message trigger.
type entity struct {
	typ   string // resource type
	segs  []string
	props any
	deps  []string
}

func (r *renderer) declare(name, typ, description string, def any) {
	p := Parameter{Type: typ, DefaultValue: def}
	p.Metadata.Description = description
	r.params[name] = p
}

// triggerOf returns the unit whose message trigger receives from env.
func (r *renderer) triggerOf(env string) (*deploy.Unit, error) {
	var found *deploy.Unit
	for i, u := range r.plan.Units {
		if u.Queue != nil && u.Queue.Subscription == env {
			if found != nil {
				return nil, fmt.Errorf("azure: %s triggers both %s and %s: give each message trigger its own subscription", env, found.Name, u.Name)
			}
			found = &r.plan.Units[i]
		}
	}
	return found, nil
}

// topicCreated tells whether env is the topic of a Service Bus trigger,
// which the template creates.
func (r *renderer) topicCreated(env string) bool {
	return slices.ContainsFunc(r.plan.Units, func(u deploy.Unit) bool {
		return u.Queue != nil && u.Queue.Topic == env && r.scheme(u.Queue.Subscription, core.KindSubscription) == "azuresb"
	})
}

// variables resolves every resource variable of every unit: its
// parameters, its app setting and its scopes.
func (r *renderer) variables() error {
	for _, u := range r.plan.Units {
		for _, res := range u.Resources {
			if v, ok := r.vars[res.Env]; ok {
				if v.kind != res.Kind {
					return fmt.Errorf("azure: %s is a %s in one unit and a %s in %s", res.Env, v.kind, res.Kind, u.Name)
				}
				continue
			}
			v, err := r.variable(res)
			if err != nil {
				return fmt.Errorf("azure: unit %s, %s: %w", u.Name, res.Env, err)
			}
			r.vars[res.Env] = v
			r.order = append(r.order, res.Env)
		}
	}
	return nil
}

// validName checks a derived default name against what Azure allows.
func validName(env, n string) error {
	if !storageName.MatchString(n) {
		return fmt.Errorf("the name %q derived from %s is not a valid container or queue name (3 to 63 lower-case letters, digits and single hyphens): rename the variable", n, env)
	}
	return nil
}

func (r *renderer) variable(res deploy.Resource) (*variable, error) {
	v := &variable{env: res.Env, kind: res.Kind, scheme: r.scheme(res.Env, res.Kind), scopes: map[deploy.AzureScope]scope{}}
	p := nameParam(res.Env)
	// An optional resource the app opens itself is left unset, and
	// granted nothing, while its name parameter is empty.
	opt := res.Optional && !res.Trigger && res.Kind != core.KindCollection
	sb := func(typ string, segs ...string) string {
		return scopePath(typ, append([]string{param(serviceBusParam)}, segs...)...)
	}
	switch res.Kind {
	case core.KindBucket:
		if v.scheme != "azblob" {
			return nil, fmt.Errorf("a bucket is azblob on Azure, not %s", v.scheme)
		}
		if err := validName(res.Env, derivedName(res.Env)); err != nil {
			return nil, err
		}
		r.declareShared(dataStorageParam, "string", "the existing storage account (in this resource group) of the app's buckets", opt)
		r.declareName(p, "the existing blob container of "+res.Env, derivedName(res.Env), opt)
		v.name = param(p)
		v.value = expr(call("format", lit("azblob://{0}?storage_account={1}"), param(p), param(dataStorageParam)))
		v.scopes[deploy.AzureContainer] = scope{path: scopePath("Microsoft.Storage/storageAccounts/blobServices/containers", param(dataStorageParam), lit("default"), param(p))}
	case core.KindTopic:
		if v.scheme != "azuresb" {
			return nil, fmt.Errorf("a topic is azuresb on Azure, not %s", v.scheme)
		}
		r.declareShared(serviceBusParam, "string", "the existing Service Bus namespace (in this resource group) of the app's topics and subscriptions", opt)
		s := scope{}
		if r.topicCreated(res.Env) {
			v.name = lit(derivedName(res.Env))
			s.dependsOn = []string{resourceID("Microsoft.ServiceBus/namespaces/topics", param(serviceBusParam), v.name)}
		} else {
			r.declareName(p, "the existing Service Bus topic of "+res.Env, derivedName(res.Env), opt)
			v.name = param(p)
		}
		s.path = sb("Microsoft.ServiceBus/namespaces/topics", v.name)
		v.value = expr(call("format", lit("azuresb://{0}"), v.name))
		v.scopes[deploy.AzureEntity] = s
	case core.KindSubscription:
		trig, err := r.triggerOf(res.Env)
		if err != nil {
			return nil, err
		}
		switch v.scheme {
		case "azuresb":
			r.declareShared(serviceBusParam, "string", "the existing Service Bus namespace (in this resource group) of the app's topics and subscriptions", opt)
			var s scope
			switch {
			case trig != nil && trig.Queue.Topic != "":
				topic := lit(derivedName(trig.Queue.Topic))
				if len(trig.Name) > 50 {
					return nil, fmt.Errorf("the Service Bus subscription would be named %s, longer than Service Bus's 50 characters: shorten the app's or the function's name", trig.Name)
				}
				v.name = lit(trig.Name)
				v.value = expr(call("format", lit("azuresb://{0}?subscription={1}"), topic, v.name))
				s = scope{path: sb("Microsoft.ServiceBus/namespaces/topics/subscriptions", topic, v.name),
					dependsOn: []string{resourceID("Microsoft.ServiceBus/namespaces/topics/subscriptions", param(serviceBusParam), topic, v.name)}}
			case trig != nil:
				v.name = lit(derivedName(res.Env))
				v.value = expr(call("format", lit("azuresb://{0}"), v.name))
				s = scope{path: sb("Microsoft.ServiceBus/namespaces/queues", v.name),
					dependsOn: []string{resourceID("Microsoft.ServiceBus/namespaces/queues", param(serviceBusParam), v.name)}}
			default:
				r.declareName(p, "the existing Service Bus queue of "+res.Env, derivedName(res.Env), opt)
				v.name = param(p)
				v.value = expr(call("format", lit("azuresb://{0}"), v.name))
				s = scope{path: sb("Microsoft.ServiceBus/namespaces/queues", v.name)}
			}
			v.scopes[deploy.AzureSubscription] = s
		case deploy.AzureQueueScheme:
			n := derivedName(res.Env)
			if err := validName(res.Env, n); err != nil {
				return nil, err
			}
			var s scope
			if trig != nil { // in the app's own storage account, which the template creates
				v.name = lit(n)
				s = scope{path: scopePath("Microsoft.Storage/storageAccounts/queueServices/queues", templateVar("storageAccount"), lit("default"), v.name),
					dependsOn: []string{resourceID("Microsoft.Storage/storageAccounts/queueServices/queues", templateVar("storageAccount"), lit("default"), v.name)}}
			} else {
				r.declareShared(dataStorageParam, "string", "the existing storage account (in this resource group) of the app's buckets", opt)
				r.declareName(p, "the existing Storage queue of "+res.Env, n, opt)
				v.name = param(p)
				s = scope{path: scopePath("Microsoft.Storage/storageAccounts/queueServices/queues", param(dataStorageParam), lit("default"), v.name)}
			}
			// No gocloud driver opens a Storage queue: the variable holds
			// the queue's name, for the function to log or compare.
			v.value = expr(v.name)
			if trig != nil {
				v.value = n
			}
			v.scopes[deploy.AzureQueue] = s
		default:
			return nil, fmt.Errorf("a subscription is azuresb or %s on Azure, not %s", deploy.AzureQueueScheme, v.scheme)
		}
	case core.KindKeeper, core.KindVariable:
		want, path, sc, what := "azurekeyvault", "keys", deploy.AzureKey, "key"
		if res.Kind == core.KindVariable {
			want, path, sc, what = "azurekeyvaultvar", "secrets", deploy.AzureSecret, "secret"
		}
		if v.scheme != want {
			return nil, fmt.Errorf("a %s is %s on Azure, not %s", res.Kind, want, v.scheme)
		}
		r.declareShared(keyVaultParam, "string", "the existing Key Vault (in this resource group, with Azure RBAC authorization) of the app's keys and secrets", opt)
		r.declareName(p, "the existing Key Vault "+what+" of "+res.Env, derivedName(res.Env), opt)
		v.name = param(p)
		v.value = expr(call("format", lit(want+"://{0}{1}/"+path+"/{2}"), param(keyVaultParam), "environment().suffixes.keyvaultDns", param(p)))
		v.scopes[sc] = scope{path: scopePath("Microsoft.KeyVault/vaults/"+path, param(keyVaultParam), param(p))}
	case core.KindStream:
		if err := r.streamVariable(v, res); err != nil {
			return nil, err
		}
	case core.KindCollection:
		if v.scheme != "mongo" {
			return nil, fmt.Errorf("a collection is mongo (Cosmos DB for MongoDB) on Azure, not %s", v.scheme)
		}
		r.declare(cosmosAccountParam, "string", "the existing Cosmos DB for MongoDB account (in this resource group, with role-based access control on) of the app's collections", nil)
		r.declare(databaseParam, "string", "the database of the app's collections", r.opts.Name)
		r.declare(mongoPasswordParam, "securestring", "the password of the MongoDB user the template creates for the function app", nil)
		r.declare(p, "string", "the collection of "+res.Env, derivedName(res.Env))
		v.name = param(p)
		v.value = expr(call("format", lit("mongo://{0}/{1}"), param(databaseParam), param(p)))
	default:
		// The OIDC kinds, and any kind that takes no grant: the value
		// itself is the parameter.
		var def any
		if res.Optional {
			def = ""
		}
		p = paramName(res.Env)
		r.declare(p, "string", "the value of "+res.Env, def)
		v.value = expr(param(p))
		return v, nil
	}
	if opt {
		v.value = expr(call("if", call("empty", param(p)), "''", v.value[1:len(v.value)-1]))
		v.condition = expr(call("not", call("empty", param(p))))
	}
	return v, nil
}

// declareShared declares a parameter several variables share (a storage
// account, a namespace, a vault): required unless every variable that
// uses it is optional.
func (r *renderer) declareShared(name, typ, description string, optional bool) {
	if p, ok := r.params[name]; ok {
		if !optional {
			p.DefaultValue = nil
			r.params[name] = p
		}
		return
	}
	var def any
	if optional {
		def = ""
	}
	r.declare(name, typ, description, def)
}

// declareName declares the parameter that names a variable's existing
// resource, defaulting to the derived name, or to empty (unset) for an
// optional one.
func (r *renderer) declareName(name, description, derived string, optional bool) {
	if optional {
		r.declare(name, "string", description+"; empty leaves it unset (it is optional), "+derived+" for instance", "")
		return
	}
	r.declare(name, "string", description, derived)
}

// appSetting is one of the function app's app settings.
type appSetting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// siteID is the function app's resource ID.
func siteID() string { return resourceID("Microsoft.Web/sites", param(appNameParam)) }

// template builds the ARM template.
func (r *renderer) template() error {
	t := r.t
	t.Schema, t.ContentVersion = schema, "1.0.0.0"
	r.declare(locationParam, "string", "the location of the resources", expr("resourceGroup().location"))
	r.declare(appNameParam, "string", "the function app's name, which also names its plan, Application Insights and alerts",
		expr(call("format", lit("{0}-{1}"), lit(r.opts.Name), "uniqueString(resourceGroup().id)")))
	t.Variables = map[string]string{
		// A storage account's name: 3 to 24 lower-case letters and digits.
		"storageAccount": expr(call("format", lit("polyfn{0}"), call("uniqueString", "resourceGroup().id", param(appNameParam)))),
		"planName":       expr(call("format", lit("{0}-plan"), param(appNameParam))),
		"workspaceName":  expr(call("format", lit("{0}-logs"), param(appNameParam))),
	}
	storageID := resourceID("Microsoft.Storage/storageAccounts", templateVar("storageAccount"))
	insightsID := resourceID("Microsoft.Insights/components", param(appNameParam))
	location := expr(param(locationParam))

	t.Resources = append(t.Resources, Resource{
		Type: "Microsoft.Storage/storageAccounts", APIVersion: apiStorage, Name: name(templateVar("storageAccount")), Location: location,
		Kind: "StorageV2", Sku: &Sku{Name: "Standard_LRS"},
		Properties: map[string]any{"minimumTlsVersion": "TLS1_2", "supportsHttpsTrafficOnly": true, "allowBlobPublicAccess": false},
	})
	entities, err := r.entities()
	if err != nil {
		return err
	}
	for _, e := range entities {
		api := apiServiceBus
		if strings.HasPrefix(e.typ, "Microsoft.Storage/") {
			api = apiStorage
		}
		t.Resources = append(t.Resources, Resource{Type: e.typ, APIVersion: api, Name: name(e.segs...), DependsOn: e.deps, Properties: e.props})
	}
	t.Resources = append(t.Resources, r.eventHubs()...)
	t.Resources = append(t.Resources,
		Resource{
			Type: "Microsoft.OperationalInsights/workspaces", APIVersion: apiWorkspace, Name: name(templateVar("workspaceName")), Location: location,
			Properties: map[string]any{"sku": map[string]string{"name": "PerGB2018"}, "retentionInDays": 30},
		},
		Resource{
			// Workspace-based Application Insights
			// (https://learn.microsoft.com/azure/azure-monitor/app/create-workspace-resource).
			Type: "Microsoft.Insights/components", APIVersion: apiInsights, Name: name(param(appNameParam)), Location: location, Kind: "web",
			DependsOn: []string{resourceID("Microsoft.OperationalInsights/workspaces", templateVar("workspaceName"))},
			Properties: map[string]any{"Application_Type": "web",
				"WorkspaceResourceId": expr(resourceID("Microsoft.OperationalInsights/workspaces", templateVar("workspaceName")))},
		})
	plan, site, err := r.sizing()
	if err != nil {
		return err
	}
	site["appSettings"] = r.settings(storageID, insightsID)
	t.Resources = append(t.Resources,
		Resource{
			Type: "Microsoft.Web/serverfarms", APIVersion: apiWeb, Name: name(templateVar("planName")), Location: location,
			Kind: "elastic", Sku: &Sku{Name: plan.sku, Tier: "ElasticPremium"},
			Properties: map[string]any{"reserved": true, "maximumElasticWorkerCount": plan.maxBurst},
		},
		Resource{
			Type: "Microsoft.Web/sites", APIVersion: apiWeb, Name: name(param(appNameParam)), Location: location,
			Kind: "functionapp,linux", Identity: &Identity{Type: "SystemAssigned"},
			DependsOn: []string{resourceID("Microsoft.Web/serverfarms", templateVar("planName")), storageID, insightsID},
			Properties: map[string]any{
				"serverFarmId": expr(resourceID("Microsoft.Web/serverfarms", templateVar("planName"))),
				"reserved":     true, "httpsOnly": true, "siteConfig": site,
			},
		})
	t.Resources = append(t.Resources, r.eventGridResources()...)
	if err := r.roles(); err != nil {
		return err
	}
	if err := r.alerts(insightsID); err != nil {
		return err
	}
	for i := range t.Resources {
		// dependsOn holds resource IDs as expressions, each once.
		var deps []string
		for _, d := range t.Resources[i].DependsOn {
			if d = expr(d); !slices.Contains(deps, d) {
				deps = append(deps, d)
			}
		}
		t.Resources[i].DependsOn = deps
	}
	t.Parameters = r.params
	t.Outputs = map[string]Output{
		"functionAppName": {Type: "string", Value: expr(param(appNameParam))},
		"principalId":     {Type: "string", Value: expr(principalID())},
	}
	return nil
}

func principalID() string {
	return call("reference", siteID(), lit(apiWeb), lit("full")) + ".identity.principalId"
}

// entities are the Service Bus entities and Storage queues of the message
// triggers: a queue, or a topic and its subscription, each with the
// trigger's delivery limit (maxDeliveryCount) and forwarding its dead
// letters to a queue named after the plan's dead letter; a Storage queue
// and its poison queue (<queue>-poison), where the host moves a message
// after maxDequeueCount deliveries.
func (r *renderer) entities() ([]entity, error) {
	var out []entity
	topics := map[string]bool{}
	ns := param(serviceBusParam)
	for _, u := range r.plan.Units {
		q := u.Queue
		if q == nil {
			continue
		}
		switch r.scheme(q.Subscription, core.KindSubscription) {
		case "azuresb":
			// https://learn.microsoft.com/azure/templates/microsoft.servicebus/namespaces/queues
			// and …/topics/subscriptions: maxDeliveryCount, requiresSession,
			// deadLetteringOnMessageExpiration, forwardDeadLetteredMessagesTo.
			dl := lit(q.DeadLetter)
			dlID := resourceID("Microsoft.ServiceBus/namespaces/queues", ns, dl)
			out = append(out, entity{typ: "Microsoft.ServiceBus/namespaces/queues", segs: []string{ns, dl}, props: map[string]any{}})
			props := map[string]any{
				"maxDeliveryCount": q.MaxDeliveries, "requiresSession": q.Ordered,
				"deadLetteringOnMessageExpiration": true, "forwardDeadLetteredMessagesTo": q.DeadLetter,
			}
			if q.Topic == "" {
				out = append(out, entity{typ: "Microsoft.ServiceBus/namespaces/queues", segs: []string{ns, lit(derivedName(q.Subscription))}, props: props, deps: []string{dlID}})
				continue
			}
			topic := lit(derivedName(q.Topic))
			topicID := resourceID("Microsoft.ServiceBus/namespaces/topics", ns, topic)
			if !topics[q.Topic] {
				topics[q.Topic] = true
				out = append(out, entity{typ: "Microsoft.ServiceBus/namespaces/topics", segs: []string{ns, topic}, props: map[string]any{}})
			}
			out = append(out, entity{typ: "Microsoft.ServiceBus/namespaces/topics/subscriptions", segs: []string{ns, topic, lit(u.Name)}, props: props, deps: []string{topicID, dlID}})
		case deploy.AzureQueueScheme:
			storage := resourceID("Microsoft.Storage/storageAccounts", templateVar("storageAccount"))
			for _, n := range []string{derivedName(q.Subscription), derivedName(q.Subscription) + "-poison"} {
				if err := validName(q.Subscription, n); err != nil {
					return nil, fmt.Errorf("azure: unit %s: %w", u.Name, err)
				}
				out = append(out, entity{typ: "Microsoft.Storage/storageAccounts/queueServices/queues",
					segs: []string{templateVar("storageAccount"), lit("default"), lit(n)}, props: map[string]any{}, deps: []string{storage}})
			}
			if q.MaxDeliveries > 0 {
				r.notef("unit %s: the Storage queue's dead letter is its poison queue %s-poison (the host's name), not %s", u.Name, derivedName(q.Subscription), q.DeadLetter)
			}
		}
	}
	return out, nil
}

// planSizing is the Premium plan's size.
type planSizing struct {
	sku      string
	maxBurst int
}

// sizing sizes the plan and the site from the units: one function app has
// one plan, so the largest memory picks the SKU, the most warm instances
// are the app's always-ready instances, and the largest max instances,
// when every unit caps them, is the app's scale limit.
func (r *renderer) sizing() (planSizing, map[string]any, error) {
	var memory, warm, limit int
	capped := true
	var memUnit string
	distinct := map[string]bool{}
	for _, u := range r.plan.Units {
		s := u.Sizing
		if s.MemoryMiB > memory {
			memory, memUnit = s.MemoryMiB, u.Name
		}
		if s.WarmInstances > maxAlwaysReady {
			return planSizing{}, nil, fmt.Errorf("azure: unit %s asks for %d warm instances; a Premium plan's app has at most %d always ready", u.Name, s.WarmInstances, maxAlwaysReady)
		}
		warm = max(warm, s.WarmInstances)
		if s.MaxInstances > defaultMaxBurst {
			r.notef("unit %s: MaxInstances %d is above %d, where a Linux Premium plan stops scaling out in most regions", u.Name, s.MaxInstances, defaultMaxBurst)
		}
		if s.MaxInstances == 0 {
			capped = false
		}
		limit = max(limit, s.MaxInstances)
		distinct[fmt.Sprint(s.MemoryMiB, s.WarmInstances, s.MaxInstances)] = true
		if s.MaxConcurrency > 0 {
			r.notef("unit %s: Azure Functions has no per-function concurrency cap: MaxConcurrency %d is not applied", u.Name, s.MaxConcurrency)
		}
		if s.Arch == core.ARM64 {
			r.notef("unit %s: Azure runs custom handlers on x86_64 only: Arch %s is not applied", u.Name, s.Arch)
		}
	}
	i := slices.IndexFunc(premiumSKUs, func(s struct {
		name      string
		memoryMiB int
	}) bool {
		return memory <= s.memoryMiB
	})
	if i < 0 {
		return planSizing{}, nil, fmt.Errorf("azure: unit %s asks for %d MiB, more than the largest Premium instance (EP3, %d MiB)", memUnit, memory, premiumSKUs[len(premiumSKUs)-1].memoryMiB)
	}
	if len(distinct) > 1 {
		r.notef("the units share one function app and one plan: %s (%d MiB for %s), %d always-ready instances, scale limit %s for all of them",
			premiumSKUs[i].name, premiumSKUs[i].memoryMiB, memUnit, max(1, warm), limitText(capped, limit))
	}
	// The Premium plan keeps at least one instance always ready
	// (https://learn.microsoft.com/azure/azure-functions/functions-premium-plan#always-ready-instances).
	site := map[string]any{
		"linuxFxVersion": "", "ftpsState": "Disabled", "minTlsVersion": "1.2",
		"minimumElasticInstanceCount": max(1, warm),
	}
	p := planSizing{sku: premiumSKUs[i].name, maxBurst: max(defaultMaxBurst, warm)}
	if capped {
		site["functionAppScaleLimit"] = limit
		p.maxBurst = max(limit, warm, 1)
	}
	return p, site, nil
}

func limitText(capped bool, limit int) string {
	if !capped {
		return "none"
	}
	return fmt.Sprint(limit)
}

// settings are the function app's app settings, sorted by name: the
// Functions host's, the triggers' connections, and every resource
// variable of every unit.
func (r *renderer) settings(storageID, insightsID string) []appSetting {
	conn := expr(call("format", lit("DefaultEndpointsProtocol=https;AccountName={0};EndpointSuffix={1};AccountKey={2}"),
		templateVar("storageAccount"), "environment().suffixes.storage", call("listKeys", storageID, lit(apiStorage))+".keys[0].value"))
	s := map[string]string{
		// https://learn.microsoft.com/azure/azure-functions/functions-app-settings
		"FUNCTIONS_EXTENSION_VERSION":              "~4",
		"FUNCTIONS_WORKER_RUNTIME":                 "custom",
		"AzureWebJobsStorage":                      conn,
		"WEBSITE_CONTENTAZUREFILECONNECTIONSTRING": conn,
		"WEBSITE_CONTENTSHARE":                     expr(call("toLower", param(appNameParam))),
		"APPLICATIONINSIGHTS_CONNECTION_STRING":    expr(call("reference", insightsID, lit(apiInsights)) + ".ConnectionString"),
	}
	for _, env := range r.order {
		v := r.vars[env]
		s[env] = v.value
		switch v.kind {
		case core.KindTopic, core.KindSubscription:
			if v.scheme == "azuresb" {
				host := expr(call("format", lit("{0}.servicebus.windows.net"), param(serviceBusParam)))
				s["AZURE_SERVICEBUS_HOSTNAME"] = host // gocloud's azuresb
				s[serviceBusConnection+"__fullyQualifiedNamespace"] = host
			}
			if v.scheme == deploy.AzureQueueScheme {
				s[queueConnection+"__queueServiceUri"] = expr(call("reference", storageID, lit(apiStorage)) + ".primaryEndpoints.queue")
			}
		case core.KindStream:
			// The Event Hubs trigger's identity-based connection
			// (https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-hubs-trigger#identity-based-connections),
			// and the event hub its binding names.
			s[eventHubsConnection+"__fullyQualifiedNamespace"] = expr(call("format", lit("{0}.servicebus.windows.net"), param(eventHubsParam)))
			s[nameSetting(env)] = expr(v.name)
		case core.KindCollection:
			// Cosmos DB for MongoDB with its own role-based access control
			// (https://learn.microsoft.com/azure/cosmos-db/mongodb/how-to-setup-rbac):
			// the user the template creates, in the app's database.
			s["MONGO_SERVER_URL"] = expr(call("format",
				lit("mongodb://{0}:{1}@{2}.mongo.cosmos.azure.com:10255/{3}?ssl=true&replicaSet=globaldb&retrywrites=false&maxIdleTimeMS=120000&authMechanism=SCRAM-SHA-256"),
				param(appNameParam), call("uriComponent", param(mongoPasswordParam)), param(cosmosAccountParam), param(databaseParam)))
		}
	}
	for _, u := range r.plan.Units {
		switch t := u.Trigger; {
		case t == nil:
		case t.Object != nil && !slices.Contains(t.Object.Events, core.KindObjectDeleted):
			s[nameSetting(t.Object.Bucket)] = expr(r.vars[t.Object.Bucket].name)
			s[blobConnection+"__blobServiceUri"] = expr(call("format", lit("https://{0}.blob.{1}"), param(dataStorageParam), "environment().suffixes.storage"))
			s[blobConnection+"__queueServiceUri"] = expr(call("format", lit("https://{0}.queue.{1}"), param(dataStorageParam), "environment().suffixes.storage"))
		case t.Change != nil:
			r.declare(databaseParam, "string", "the database of the app's collections", r.opts.Name)
			r.declare(cosmosConnectionParam, "securestring", "the connection string of the Cosmos DB account whose change feed the change triggers read", nil)
			r.declare(nameParam(t.Change.Source), "string", "the Cosmos DB container of "+t.Change.Source, derivedName(t.Change.Source))
			s[changeDatabaseSetting] = expr(param(databaseParam))
			s[nameSetting(t.Change.Source)] = expr(param(nameParam(t.Change.Source)))
			s[cosmosConnection] = expr(param(cosmosConnectionParam))
		}
	}
	if z := r.timeZone(); z != "" {
		// https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-time-zones
		s["WEBSITE_TIME_ZONE"] = z
	}
	out := make([]appSetting, 0, len(s))
	for n, v := range s {
		out = append(out, appSetting{Name: n, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// timeZone is the one time zone of the app's calendar timers (Render has
// checked that there is one), or "" for UTC.
func (r *renderer) timeZone() string {
	for _, u := range r.plan.Units {
		if u.Schedule != nil && u.Schedule.Kind == deploy.ScheduleCron && u.Schedule.TimeZone != "UTC" {
			return u.Schedule.TimeZone
		}
	}
	return ""
}

// checkTimeZones fails when the app's calendar timers ask for different
// time zones: a function app has one (WEBSITE_TIME_ZONE).
func checkTimeZones(p *deploy.Plan) error {
	zones := map[string][]string{}
	for _, u := range p.Units {
		if u.Schedule != nil && u.Schedule.Kind == deploy.ScheduleCron {
			zones[u.Schedule.TimeZone] = append(zones[u.Schedule.TimeZone], u.Name)
		}
	}
	if len(zones) > 1 {
		return fmt.Errorf("azure: timers ask for different time zones (%v), but a function app has one (WEBSITE_TIME_ZONE)", zones)
	}
	return nil
}
