package main

import (
	"strings"
	"testing"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy/deploytest"
)

// TestAzureEventGridRoute checks that the function.json of a function Event
// Grid delivers routes to the adapter's endpoint for it (package deploy may
// not import the adapter, so the route is written twice): the kitchen
// sink's ingest, which takes deletions, is an httpTrigger on
// _polyfn/eventgrid/ingest for POST and OPTIONS.
func TestAzureEventGridRoute(t *testing.T) {
	app, err := azureFunctionApp([]core.Manifest{deploytest.KitchenSink().Manifest()}, deploytest.KitchenSinkName, nil)
	if err != nil {
		t.Fatal(err)
	}
	fj, ok := app.Functions["ingest"]
	if !ok || len(fj.Bindings) == 0 {
		t.Fatalf("no function ingest: %v", app.Functions)
	}
	b := fj.Bindings[0]
	want := strings.TrimPrefix(azurefunctions.EventGridPath("ingest"), "/")
	if b.Type != "httpTrigger" || b.Route != want || strings.Join(b.Methods, ",") != "post,options" {
		t.Errorf("ingest's trigger %+v, want an httpTrigger on %s for post and options", b, want)
	}
}
