package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/internal/usermodule"
)

// clickstream is a user's app with the event sources of issue #17: a
// stream trigger, an object trigger that asks for restores and tier
// changes, and routes that stream their responses.
var clickstream = map[string]string{
	"clicks/clicks.go": `package clicks

import (
	"context"
	"fmt"
	"net/http"

	"github.com/polyfn/polyfn/core"
)

func New() *core.App {
	app := core.NewApp("clicks")
	app.StreamResponses()
	app.HandleFunc("GET /live", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: hello\n\n")
		http.NewResponseController(w).Flush()
	})
	app.On("count", core.StreamTrigger{Stream: "CLICKS_STREAM_URL", StartingPosition: core.StartEarliest, BatchSize: 500},
		core.HandlerFunc(func(ctx context.Context, e core.Event) error { return nil }))
	app.On("thaw", core.ObjectTrigger{Bucket: "ARCHIVE_BUCKET_URL", Events: []core.Kind{core.KindObjectRestored, core.KindObjectTiered}},
		core.HandlerFunc(func(ctx context.Context, e core.Event) error { return nil }))
	return app
}
`,
	"cmd/clicks/main.go": `package main

import (
	"github.com/polyfn/polyfn/cmd/launch"

	"` + usermodule.Path + `/clicks"
)

func main() { launch.Start(clicks.New()) }
`,
}

// TestBuildEventSourcesInUsersModule runs polyfn build in a user's own
// module whose app has a stream trigger, lifecycle object kinds and
// streamed responses: AWS reads the stream through a Kinesis mapping with
// partial batch responses, subscribes the bucket's restore and transition
// events and gives the routes a function URL in RESPONSE_STREAM mode; Azure
// binds the event hub and subscribes the storage account's tier and
// rehydration events through Event Grid; GCP, which has no stream trigger,
// refuses the stream function by name.
func TestBuildEventSourcesInUsersModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a user's module for every cloud; skipped with -short")
	}
	bin, err := polyfnBinary()
	if err != nil {
		t.Fatal(err)
	}
	mod := usermodule.New(t, clickstream)
	build := func(cloud string) (string, error) {
		out := t.TempDir()
		cmd := exec.Command(bin, "build", "--cloud", cloud, "--out", out, "./cmd/clicks")
		cmd.Dir = mod.Dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		var output bytes.Buffer
		cmd.Stdout, cmd.Stderr = &output, &output
		if err := cmd.Run(); err != nil {
			return output.String(), err
		}
		var text strings.Builder
		err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(path) == ".zip" || d.Name() == "bootstrap" || d.Name() == "handler" {
				return err
			}
			b, err := os.ReadFile(path)
			text.Write(b)
			return err
		})
		return text.String(), err
	}
	for cloud, want := range map[string][]string{
		"aws": {"Type: Kinesis", "BatchSize: 500", "StartingPosition: TRIM_HORIZON", "ReportBatchItemFailures",
			"kinesis:GetRecords", "s3:ObjectRestore:*", "s3:LifecycleTransition", "InvokeMode: RESPONSE_STREAM"},
		"azure": {"eventHubTrigger", "Azure Event Hubs Data Receiver", "Microsoft.EventGrid/systemTopics",
			"Microsoft.Storage.BlobTierChanged", "Microsoft.Storage.AsyncOperationInitiated"},
	} {
		t.Run(cloud, func(t *testing.T) {
			text, err := build(cloud)
			if err != nil {
				t.Fatalf("polyfn build --cloud %s in a user's module: %v\n%s", cloud, err, text)
			}
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("the %s artifacts do not mention %s", cloud, w)
				}
			}
		})
	}
	t.Run("gcp", func(t *testing.T) {
		out, err := build("gcp")
		if err == nil {
			t.Fatal("polyfn build --cloud gcp built a stream function, which Cloud Run functions cannot trigger")
		}
		if !strings.Contains(out, "function count") {
			t.Errorf("the refusal does not name the stream function count:\n%s", out)
		}
	})
}
