package aws

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// TestStreamResponses: the HTTP unit of an app that streams its responses
// gets a public function URL in RESPONSE_STREAM mode, with the permission
// to invoke through it and its URL as an output; with warm instances the
// URL and the permission are the alias's. An app that does not stream has
// no function URL. cfn-lint has nothing to say about either.
func TestStreamResponses(t *testing.T) {
	for _, tt := range []struct {
		name   string
		stream bool
		warm   int
		target any
	}{
		{name: "buffered"},
		{name: "streaming", stream: true, target: ref("ChatFunction")},
		{name: "streaming with an alias", stream: true, warm: 1, target: ref("ChatFunction.Alias")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := core.NewApp("chat")
			app.HandleFunc("GET /events", func(http.ResponseWriter, *http.Request) {})
			if tt.stream {
				app.StreamResponses()
			}
			app.Size(core.Sizing{WarmInstances: tt.warm})
			p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.Units[0].StreamResponses != tt.stream {
				t.Errorf("the plan's unit streams: %v, want %v", p.Units[0].StreamResponses, tt.stream)
			}
			tmpl, err := Render(p, testOptions)
			if err != nil {
				t.Fatal(err)
			}
			fn := tmpl.Resources["ChatFunction"].Properties.(Function)
			perm, hasPerm := tmpl.Resources["ChatFunctionUrlInvoke"]
			out, hasOut := tmpl.Outputs["ChatFunctionUrl"]
			if !tt.stream {
				if fn.FunctionURLConfig != nil || hasPerm || hasOut {
					t.Errorf("a buffered app has a function URL: %+v, %v, %v", fn.FunctionURLConfig, hasPerm, hasOut)
				}
			} else {
				if diff := cmp.Diff(&FunctionURLConfig{AuthType: "NONE", InvokeMode: "RESPONSE_STREAM"}, fn.FunctionURLConfig); diff != "" {
					t.Errorf("FunctionUrlConfig (-want +got):\n%s", diff)
				}
				want := Resource{Type: "AWS::Lambda::Permission", Properties: Permission{
					Action: "lambda:InvokeFunction", FunctionName: tt.target, Principal: "*", InvokedViaFunctionURL: true}}
				if diff := cmp.Diff(want, perm); diff != "" {
					t.Errorf("permission (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(getAtt("ChatFunctionUrl", "FunctionUrl"), out.Value); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
			}
			if _, ok := tmpl.Outputs["HttpApiUrl"]; !ok {
				t.Error("the HTTP API is gone")
			}
			b, err := tmpl.YAML()
			if err != nil {
				t.Fatal(err)
			}
			lint(t, b)
		})
	}
}

// TestStreamingTimeout: the routes of an app that streams may run longer
// than an HTTP API waits (30 s), since their function URL streams for as
// long as the function runs; a buffered app's may not.
func TestStreamingTimeout(t *testing.T) {
	for _, stream := range []bool{false, true} {
		app := core.NewApp("chat")
		app.HandleFunc("GET /events", func(http.ResponseWriter, *http.Request) {})
		app.Size(core.Sizing{Timeout: 5 * time.Minute})
		if stream {
			app.StreamResponses()
		}
		p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := Render(p, testOptions)
		switch {
		case stream && err != nil:
			t.Errorf("a streaming unit of 5 minutes: %v", err)
		case stream && tmpl.Resources["ChatFunction"].Properties.(Function).Timeout != 300:
			t.Errorf("timeout %d, want 300", tmpl.Resources["ChatFunction"].Properties.(Function).Timeout)
		case !stream && (err == nil || !strings.Contains(err.Error(), "an HTTP API waits at most 30 s")):
			t.Errorf("a buffered unit of 5 minutes: got %v, want the HTTP API's limit", err)
		}
	}
}
