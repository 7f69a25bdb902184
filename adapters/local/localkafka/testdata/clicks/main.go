// Command clicks is a stream function on the local runtime, built in a
// user's own module and run by TestBinaryResumesAtFailure: it reads
// CLICKS_STREAM_URL and fails the first delivery of each record whose
// value is "poison". It imports no driver: launch links the kafka:// one in
// a build without a cloud tag.
package main

import (
	"context"
	"sync"

	"github.com/polyfn/polyfn/cmd/launch"
	"github.com/polyfn/polyfn/core"
)

func main() {
	app := core.NewApp("clicks")
	var mu sync.Mutex
	failed := map[string]bool{}
	app.On("count", core.StreamTrigger{Stream: "CLICKS_STREAM_URL", StartingPosition: core.StartEarliest},
		core.HandlerFunc(func(_ context.Context, e core.Event) error {
			if string(e.Record.Data) != "poison" {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			if failed[e.ID()] {
				return nil
			}
			failed[e.ID()] = true
			return core.Errorf(core.Unavailable, "poisoned, once")
		}))
	launch.Start(app)
}
