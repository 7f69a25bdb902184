package azure

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// A stream trigger's stream is an event hub (eventhubs://NAMESPACE/HUB) in
// an Event Hubs namespace that exists already, which the template's
// parameter eventHubsNamespace names; the template creates the event hub,
// named after the variable (CLICKS_STREAM_URL → clicks), and the unit's
// consumer group when it is not $Default. The Functions host reads it
// with the app's identity, which the grants table gives Azure Event Hubs
// Data Receiver on the hub, and keeps its checkpoints in the app's own
// storage account (AzureWebJobsStorage).
const (
	eventHubsConnection = "EventHubConnection"
	eventHubsParam      = "eventHubsNamespace"
	apiEventHubs        = "2024-01-01" // Microsoft.EventHub/namespaces/eventhubs, …/consumergroups
)

// initialOffsets are host.json's initialOffsetOptions.type of each
// starting position (the extension's OffsetType).
var initialOffsets = map[core.StartingPosition]string{
	core.StartEarliest: "fromStart",
	core.StartLatest:   "fromEnd",
}

// eventHubName is what Event Hubs allows for an event hub's and a
// consumer group's names
// (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsofteventhub).
var eventHubName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$`)

// streamFunction is the function.json of a stream unit: an eventHubTrigger
// of the unit's event hub and consumer group that receives a batch of one
// partition's events per invocation (cardinality many), their bodies as
// bytes, and the retry policy that reruns a failed batch before the host
// checkpoints (docs/azure.md, Event Hubs).
func (r *renderer) streamFunction(u deploy.Unit) (FunctionJSON, error) {
	s := u.Stream
	if s == nil {
		return FunctionJSON{}, fmt.Errorf("stream trigger without its plan")
	}
	if scheme := r.scheme(s.Stream, core.KindStream); scheme != core.SchemeEventHubs {
		return FunctionJSON{}, fmt.Errorf("%s: a stream trigger reads an event hub on Azure (%s://NAMESPACE/HUB), not %s://", s.Stream, core.SchemeEventHubs, scheme)
	}
	if !eventHubName.MatchString(s.EventHubsGroup) && s.EventHubsGroup != deploy.DefaultEventHubsGroup {
		return FunctionJSON{}, fmt.Errorf("consumer group %q: want 1 to 256 letters, digits, '.', '_' and '-', starting and ending with a letter or digit", s.EventHubsGroup)
	}
	r.notef("unit %s: a batch that fails all %d attempts of its retry policy is checkpointed past by the host: its failed record "+
		"and the later ones are not delivered again (the adapter logs their ids); a maxRetryCount of -1 in %s/function.json "+
		"holds the partition until the batch succeeds", u.Name, eventRetries+1, u.Function)
	return FunctionJSON{
		Bindings: []Binding{{
			Type: "eventHubTrigger", Direction: "in", Name: bindingRecords, DataType: "binary", Cardinality: "many",
			EventHubName: "%" + nameSetting(s.Stream) + "%", ConsumerGroup: s.EventHubsGroup, Connection: eventHubsConnection,
		}},
		Retry: defaultRetry(),
	}, nil
}

// eventHubsExtension is host.json's extensions.eventHubs from the app's
// stream units, which must agree: one host.json sets the batch size and
// the starting position of every Event Hubs trigger of the app.
func (r *renderer) eventHubsExtension() (*EventHubsExtension, error) {
	var ext *EventHubsExtension
	var first string
	for _, u := range r.plan.Units {
		if u.Stream == nil {
			continue
		}
		e := &EventHubsExtension{MaxEventBatchSize: u.Stream.BatchSize}
		e.InitialOffsetOptions.Type = initialOffsets[u.Stream.StartingPosition]
		if ext == nil {
			ext, first = e, u.Name
			continue
		}
		if *e != *ext {
			return nil, fmt.Errorf("azure: stream triggers of units %s and %s ask for different batch sizes or starting positions (%d from %s, %d from %s), but host.json has one maxEventBatchSize and initialOffsetOptions for the app",
				first, u.Name, ext.MaxEventBatchSize, ext.InitialOffsetOptions.Type, e.MaxEventBatchSize, e.InitialOffsetOptions.Type)
		}
	}
	return ext, nil
}

// streamVariable fills the variable of a stream: the event hub the
// template creates in the namespace parameter, its URL, and its scope.
func (r *renderer) streamVariable(v *variable, res deploy.Resource) error {
	if v.scheme != core.SchemeEventHubs {
		return fmt.Errorf("a stream is %s (Event Hubs) on Azure, not %s", core.SchemeEventHubs, v.scheme)
	}
	hub := derivedName(res.Env)
	if !eventHubName.MatchString(hub) {
		return fmt.Errorf("the event hub name %q derived from %s is not valid (1 to 256 letters, digits, '.', '_' and '-'): rename the variable", hub, res.Env)
	}
	r.declareShared(eventHubsParam, "string", "the existing Event Hubs namespace (in this resource group) of the app's event hubs", false)
	ns := param(eventHubsParam)
	v.name = lit(hub)
	v.value = expr(call("format", lit(core.SchemeEventHubs+"://{0}/{1}"), ns, v.name))
	v.scopes[deploy.AzureEventHub] = scope{path: scopePath("Microsoft.EventHub/namespaces/eventhubs", ns, v.name),
		dependsOn: []string{resourceID("Microsoft.EventHub/namespaces/eventhubs", ns, v.name)}}
	return nil
}

// eventHubs are the event hubs of the app's stream triggers, each once,
// and the consumer groups other than $Default
// (https://learn.microsoft.com/azure/templates/microsoft.eventhub/2024-01-01/namespaces/eventhubs,
// …/eventhubs/consumergroups). An event hub's partition count and
// retention are Event Hubs' defaults.
func (r *renderer) eventHubs() []Resource {
	var out []Resource
	var hubs, groups []string
	ns := param(eventHubsParam)
	for _, u := range r.plan.Units {
		if u.Stream == nil {
			continue
		}
		hub := lit(derivedName(u.Stream.Stream))
		hubID := resourceID("Microsoft.EventHub/namespaces/eventhubs", ns, hub)
		if !slices.Contains(hubs, hub) {
			hubs = append(hubs, hub)
			out = append(out, Resource{Type: "Microsoft.EventHub/namespaces/eventhubs", APIVersion: apiEventHubs,
				Name: name(ns, hub), Properties: map[string]any{}})
		}
		g := u.Stream.EventHubsGroup
		if g == deploy.DefaultEventHubsGroup || slices.Contains(groups, hub+"/"+g) {
			continue
		}
		groups = append(groups, hub+"/"+g)
		out = append(out, Resource{Type: "Microsoft.EventHub/namespaces/eventhubs/consumergroups", APIVersion: apiEventHubs,
			Name: name(ns, hub, lit(g)), DependsOn: []string{hubID}, Properties: map[string]any{
				"userMetadata": "polyfn: the consumer group of " + u.Name,
			}})
	}
	return out
}
