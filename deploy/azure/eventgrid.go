package azure

import (
	"slices"
	"strings"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// An object trigger that asks for anything past creation (deletions, tier
// changes, rehydrations) is delivered by Event Grid: the blob trigger sees
// new and changed blobs only. Its Azure function is an httpTrigger on the
// adapter's Event Grid endpoint (azurefunctions.EventGridPath), which
// answers Event Grid's validation handshake itself, as an HTTP-triggered
// function must (https://learn.microsoft.com/azure/event-grid/webhook-event-delivery);
// the template declares the storage account's system topic and one
// webhook subscription per such function, with the trigger's event types
// and its prefix and suffix as subject filters. Event Grid validates the
// endpoint when it creates the subscription, so the function must be
// running by then: the subscriptions are deployed only with the parameter
// eventGridSubscriptions, in a second deployment after the zip's.

// The adapter's Event Grid endpoint, under the route prefix; the adapter's
// azurefunctions.EventGridRoute (deploy imports no adapter;
// TestEventGridRoute in cmd/polyfn holds them equal).
const eventGridRoute = "_polyfn/eventgrid/"

const (
	// apiEventGrid is the API version of Microsoft.EventGrid/systemTopics
	// and systemTopics/eventSubscriptions
	// (https://learn.microsoft.com/azure/templates/microsoft.eventgrid/2022-06-15/systemtopics).
	apiEventGrid = "2022-06-15"
	// eventGridParam deploys the subscriptions when true.
	eventGridParam = "eventGridSubscriptions"
	// gridMaxEvents and gridBatchKB are each subscription's output
	// batching; a batch is delivered, and redelivered, whole.
	gridMaxEvents = 10
	gridBatchKB   = 64
	// gridAttempts and gridTTLMinutes are Event Grid's default retry
	// policy: 30 deliveries within 24 hours
	// (https://learn.microsoft.com/azure/event-grid/delivery-and-retry#retry-policy).
	gridAttempts   = 30
	gridTTLMinutes = 1440
)

// gridTypes are the Blob Storage event types of each kind, as the adapter
// maps them (docs/azure.md, "Blob lifecycle events"): a restore begins with
// AsyncOperationInitiated and ends with the BlobTierChanged out of Archive.
// Azure Storage sends no event of the kinds updated and replication.
var gridTypes = map[core.Kind][]string{
	core.KindObjectCreated:  {"Microsoft.Storage.BlobCreated"},
	core.KindObjectDeleted:  {"Microsoft.Storage.BlobDeleted"},
	core.KindObjectTiered:   {"Microsoft.Storage.BlobTierChanged"},
	core.KindObjectRestored: {"Microsoft.Storage.AsyncOperationInitiated", "Microsoft.Storage.BlobTierChanged"},
}

// viaEventGrid reports whether an object trigger is delivered by Event
// Grid: when it asks for any kind but creation.
func viaEventGrid(o *core.ObjectTrigger) bool {
	return slices.ContainsFunc(o.Kinds(), func(k core.Kind) bool { return k != core.KindObjectCreated })
}

// eventGridFunction is the function.json of an object unit that Event Grid
// delivers: POST (deliveries, the Event Grid schema's validation) and
// OPTIONS (the CloudEvents validation) on the adapter's endpoint, with the
// function's key, which the subscription's URL carries.
func (r *renderer) eventGridFunction(u deploy.Unit) FunctionJSON {
	o := u.Trigger.Object
	for _, k := range o.Kinds() {
		if _, ok := gridTypes[k]; !ok {
			r.notef("function %s: Azure Storage sends no event of kind %s: the function receives none", u.Function, k)
		}
	}
	r.gridUnits = append(r.gridUnits, u)
	return FunctionJSON{Bindings: []Binding{
		{Type: "httpTrigger", Direction: "in", Name: bindingRequest, AuthLevel: "function",
			Methods: []string{"post", "options"}, Route: eventGridRoute + u.Function},
		{Type: "http", Direction: "out", Name: bindingResponse},
	}}
}

// eventGridResources are the storage account's system topic and the
// subscriptions of the units Event Grid delivers, each deployed only with
// eventGridSubscriptions: in CloudEvents 1.0 (the adapter answers its
// OPTIONS handshake), to the function's endpoint with the host's default
// function key, filtered to the trigger's event types and to subjects that
// begin with its container and prefix and end with its suffix (case
// sensitive, as blob names are).
func (r *renderer) eventGridResources() []Resource {
	if len(r.gridUnits) == 0 {
		return nil
	}
	r.declare(eventGridParam, "bool", "deploy the Event Grid subscriptions of the functions on blob events: "+
		"set it in a second deployment, once the zip is deployed, as Event Grid validates each function's endpoint "+
		"when it creates its subscription", false)
	r.notef("after deploying the zip, deploy the template again with --parameters %s=true: Event Grid validates "+
		"the endpoint of each function it delivers to (%s) when it creates the subscription; the storage account's "+
		"system topic is created in the template's location, which must be the account's, and an account has at "+
		"most one system topic, so an account that has one already needs the subscriptions made on it instead",
		eventGridParam, strings.Join(r.gridFunctions(), ", "))
	on := param(eventGridParam)
	topic := call("format", lit("{0}-storage"), param(appNameParam))
	accountID := resourceID("Microsoft.Storage/storageAccounts", param(dataStorageParam))
	topicID := resourceID("Microsoft.EventGrid/systemTopics", topic)
	res := []Resource{{
		Condition: expr(on), Type: "Microsoft.EventGrid/systemTopics", APIVersion: apiEventGrid, Name: name(topic),
		// A system topic is in its source's location; reference() may not
		// give a resource's location, so the account must be in the
		// deployment's.
		Location:   expr(param(locationParam)),
		Properties: map[string]any{"source": expr(accountID), "topicType": "Microsoft.Storage.StorageAccounts"},
	}}
	key := call("listKeys", resourceID("Microsoft.Web/sites/host", param(appNameParam), lit("default")), lit(apiWeb)) + ".functionKeys.default"
	host := call("reference", siteID(), lit(apiWeb)) + ".defaultHostName"
	for _, u := range r.gridUnits {
		o := u.Trigger.Object
		var types []string
		for _, k := range o.Kinds() {
			for _, t := range gridTypes[k] {
				if !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
		}
		filter := map[string]any{
			"includedEventTypes": types,
			"subjectBeginsWith": expr(call("format", lit("/blobServices/default/containers/{0}/blobs/{1}"),
				r.vars[o.Bucket].name, lit(o.Prefix))),
			"isSubjectCaseSensitive": true,
		}
		if o.Suffix != "" {
			filter["subjectEndsWith"] = o.Suffix
		}
		// listKeys is evaluated only when the subscriptions are deployed.
		url := call("if", on, call("format", lit("https://{0}/"+routePrefix+"/"+eventGridRoute+"{1}?code={2}"), host, lit(u.Function), key), lit(""))
		res = append(res, Resource{
			Condition: expr(on), Type: "Microsoft.EventGrid/systemTopics/eventSubscriptions", APIVersion: apiEventGrid,
			Name: name(topic, lit(u.Function)), DependsOn: []string{topicID, siteID()},
			Properties: map[string]any{
				"destination": map[string]any{"endpointType": "WebHook", "properties": map[string]any{
					"endpointUrl": expr(url), "maxEventsPerBatch": gridMaxEvents, "preferredBatchSizeInKilobytes": gridBatchKB,
				}},
				"eventDeliverySchema": "CloudEventSchemaV1_0",
				"filter":              filter,
				"retryPolicy":         map[string]any{"maxDeliveryAttempts": gridAttempts, "eventTimeToLiveInMinutes": gridTTLMinutes},
			},
		})
	}
	return res
}

// gridFunctions names the functions Event Grid delivers.
func (r *renderer) gridFunctions() []string {
	var fns []string
	for _, u := range r.gridUnits {
		fns = append(fns, u.Function)
	}
	return fns
}
