// Package deploytest holds what the deploy layer's renderers are tested
// with beside the example functions: a kitchen-sink app that declares
// every trigger, every resource kind with every use it takes, routes,
// sizing of every field, and alarms that notify an email address and a
// Slack channel.
package deploytest

import (
	"context"
	"net/http"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// KitchenSinkName is the kitchen-sink app's name.
const KitchenSinkName = "kitchen-sink"

// KitchenSink returns the kitchen-sink app. Its handlers do nothing: it is
// declared to be planned and rendered, never run.
func KitchenSink() *core.App { return kitchenSink(nil) }

// KitchenSinkFor returns the kitchen sink as cloud can deploy it: without
// the functions whose trigger it lacks (deploy.Lacks: on GCP, the stream
// function).
func KitchenSinkFor(cloud string) *core.App {
	return kitchenSink(func(t core.Trigger) bool {
		_, stream := t.(core.StreamTrigger)
		return !stream || deploy.Lacks(cloud, core.KindStream) == ""
	})
}

func kitchenSink(keep func(core.Trigger) bool) *core.App {
	app := core.NewApp(KitchenSinkName)
	app.Require(
		// Every use of every kind that takes one.
		core.Bucket("ARCHIVE_BUCKET_URL", core.Read),
		core.Bucket("EXPORT_BUCKET_URL", core.Write),
		core.Resource{Env: "CACHE_BUCKET_URL", Kind: core.KindBucket, Use: core.ReadWrite, Optional: true},
		core.Collection("USERS_COLLECTION_URL", core.Read),
		core.Collection("AUDIT_COLLECTION_URL", core.Write),
		core.Collection("CARTS_COLLECTION_URL", core.ReadWrite),
		core.Topic("ALERTS_TOPIC_URL", core.Publish),
		// A subscription the functions pull from themselves, no trigger's.
		core.Resource{Env: "JOBS_SUBSCRIPTION_URL", Kind: core.KindSubscription, Use: core.Consume},
		core.Keeper("SIGNING_KEY_URL", core.Encrypt),
		core.Keeper("TOKENS_KEY_URL", core.Decrypt),
		core.Keeper("SESSIONS_KEY_URL", core.EncryptDecrypt),
		core.Resource{Env: "FEATURE_FLAGS_URL", Kind: core.KindVariable, Use: core.Read},
		// The kinds that take no grant.
		core.Resource{Env: "ISSUER_URL", Kind: core.KindOIDCIssuer},
		core.Resource{Env: "AUDIENCE", Kind: core.KindOIDCAudience, Optional: true},
	)
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }
	for _, p := range []string{"GET /items/{id}", "POST /items", "/files/{path...}", "GET /static/", "PUT /exact/{$}"} {
		app.HandleFunc(p, ok)
	}
	nop := core.HandlerFunc(func(context.Context, core.Event) error { return nil })
	on := func(name string, t core.Trigger) {
		if keep == nil || keep(t) {
			app.On(name, t, nop)
		}
	}
	on("ingest", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "in/", Suffix: ".csv",
		Events: []core.Kind{core.KindObjectCreated, core.KindObjectDeleted}})
	on("fan-out", core.MessageTrigger{Subscription: "EVENTS_SUBSCRIPTION_URL", Topic: "EVENTS_TOPIC_URL", MaxDeliveries: 3})
	on("orders", core.MessageTrigger{Subscription: "ORDERS_QUEUE_URL", Ordered: true})
	on("user-changes", core.ChangeTrigger{Source: "USERS_COLLECTION_URL"})
	on("nightly", core.TimerTrigger{Schedule: "30 2 * * 1-5", TimeZone: "Europe/Paris"})
	on("every-ten", core.TimerTrigger{Schedule: "@every 10m"})
	on("clicks", core.StreamTrigger{Stream: "CLICKS_STREAM_URL", StartingPosition: core.StartEarliest, BatchSize: 500, ConsumerGroup: "clickers"})

	// Every sizing field, on the routes and on one function; the others
	// take the defaults.
	app.Size(core.Sizing{MemoryMiB: 512, Timeout: 15 * time.Second, MaxConcurrency: 50,
		WarmInstances: 2, MaxInstances: 20, PerInstanceConcurrency: 80})
	app.SizeFunc("ingest", core.Sizing{MemoryMiB: 2048, Timeout: 5 * time.Minute, Arch: core.ARM64, MaxConcurrency: 5})
	app.SizeFunc("orders", core.Sizing{Timeout: 45 * time.Second, MaxInstances: 3})
	// Its routes stream: on AWS, a function URL in RESPONSE_STREAM mode.
	app.StreamResponses()

	app.Alarms(core.Alarms{ErrorRate: 2, Errors: 3, Throttles: 5, Period: 15 * time.Minute, Notify: []core.Channel{
		core.EmailChannel("oncall@example.com"),
		core.SlackChannelOf("T0123ABCD", "C0456EFGH"),
	}})
	return app
}
