package awslambda_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/polyfn/polyfn/adapters/awslambda/runtimeapi"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/internal/emulators"
)

var unitsBootstrap struct {
	once sync.Once
	path string
	err  error
}

// unitsBin builds testdata/units, an app of three units, once.
func unitsBin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a bootstrap; skipped with -short")
	}
	unitsBootstrap.once.Do(func() {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("awslambda-units-%d", os.Getpid()))
		unitsBootstrap.path = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", unitsBootstrap.path, "./testdata/units")
		if out, err := cmd.CombinedOutput(); err != nil {
			unitsBootstrap.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if unitsBootstrap.err != nil {
		t.Fatal(unitsBootstrap.err)
	}
	return unitsBootstrap.path
}

// TestUnitsEndToEnd starts testdata/units' bootstrap under the local
// Runtime API once per unit, POLYFN_UNIT set as polyfn build sets it on
// each Lambda: each serves its own payloads and refuses the others with a
// function error naming the unit, and the right function receives the
// events it serves.
func TestUnitsEndToEnd(t *testing.T) {
	bin := unitsBin(t)
	defer os.RemoveAll(filepath.Dir(bin))
	s3 := events.S3Event{Records: []events.S3EventRecord{{
		EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: "us-east-1", EventTime: time.Now().UTC(), EventName: "ObjectCreated:Put",
		S3: events.S3Entity{Bucket: events.S3Bucket{Name: "media", Arn: "arn:aws:s3:::media"},
			Object: events.S3Object{Key: "a.png", Size: 1, Sequencer: "0A"}},
	}}}
	sqs := events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "m-1", Body: "{}", EventSource: "aws:sqs", AWSRegion: "us-east-2",
		EventSourceARN: "arn:aws:sqs:us-east-2:123456789012:orders",
		Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
	}}}
	http := httpRequest("GET", "/hello", "")
	tests := []struct {
		unit string
		// served are the payloads the unit serves, with the function that
		// receives each ("" for the routes); refused the others.
		served  map[string]any
		refused map[string]any
		marks   []string
	}{
		{unit: "units", served: map[string]any{"http": http}, refused: map[string]any{"s3": s3, "sqs": sqs}},
		{unit: "units-resize", served: map[string]any{"s3": s3}, refused: map[string]any{"http": http, "sqs": sqs}, marks: []string{"resize"}},
		{unit: "units-record", served: map[string]any{"sqs": sqs}, refused: map[string]any{"http": http, "s3": s3}, marks: []string{"record"}},
	}
	for _, tt := range tests {
		t.Run(tt.unit, func(t *testing.T) {
			out := t.TempDir()
			s := startUnits(t, bin, core.UnitEnv+"="+tt.unit, "UNITS_OUT="+out)
			for name, payload := range tt.served {
				r := invokeRaw(t, s, payload)
				if r.FunctionError != "" {
					t.Errorf("%s: refused: %s", name, r.Payload)
				}
				if name == "http" {
					var resp events.APIGatewayV2HTTPResponse
					if err := json.Unmarshal(r.Payload, &resp); err != nil || resp.StatusCode != 200 || resp.Body != "hello" {
						t.Errorf("GET /hello: %s, %v", r.Payload, err)
					}
				}
				if name == "sqs" && strings.Contains(string(r.Payload), "m-1") {
					t.Errorf("sqs: the message failed: %s", r.Payload)
				}
			}
			for name, payload := range tt.refused {
				r := invokeRaw(t, s, payload)
				if r.FunctionError == "" || !strings.Contains(string(r.Payload), "unit "+tt.unit) {
					t.Errorf("%s: got %s (function error %q), want a function error naming unit %s", name, r.Payload, r.FunctionError, tt.unit)
				}
			}
			entries, _ := os.ReadDir(out)
			var marks []string
			for _, e := range entries {
				marks = append(marks, e.Name())
			}
			if fmt.Sprint(marks) != fmt.Sprint(tt.marks) {
				t.Errorf("functions that ran: %v, want %v", marks, tt.marks)
			}
		})
	}

	t.Run("unknown", func(t *testing.T) {
		s := startUnits(t, bin, core.UnitEnv+"=units-nope", "UNITS_OUT="+t.TempDir())
		r := invokeRaw(t, s, http)
		if r.FunctionError == "" || !strings.Contains(string(r.Payload), "its units are units, units-resize, units-record") {
			t.Errorf("got %s, want the init error listing the units", r.Payload)
		}
	})
}

func startUnits(t *testing.T, bin string, env ...string) *runtimeapi.Server {
	t.Helper()
	env = append(env, "UNITS_MEDIA_URL=s3://media?region=us-east-1",
		"UNITS_QUEUE_URL=awssqs://sqs.us-east-2.amazonaws.com/123456789012/orders?region=us-east-2")
	return startBootstrap(t, bin, "units", env...)
}

// startBootstrap serves bin under polyfn's Lambda Runtime API as function
// name, with env, and shows its output and the server's log if the test
// fails.
func startBootstrap(t *testing.T, bin, name string, env ...string) *runtimeapi.Server {
	t.Helper()
	out := &emulators.SyncBuffer{}
	s, err := runtimeapi.Start(t.Context(), "127.0.0.1:0", &runtimeapi.Options{
		Bootstrap: bin, FunctionName: name, Env: env, Timeout: 20 * time.Second,
		Stdout: out, Stderr: out, Logger: slog.New(slog.NewTextHandler(out, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the server: %v", err)
		}
		if t.Failed() {
			t.Logf("the bootstrap's output and the server's log:\n%s", out)
		}
	})
	return s
}

// invokeRaw invokes and returns the response, function errors included.
func invokeRaw(t *testing.T, s *runtimeapi.Server, event any) runtimeapi.Response {
	t.Helper()
	payload, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r, err := s.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
