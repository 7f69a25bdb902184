package awslambda_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/polyfn/polyfn/adapters/awslambda/runtimeapi"
	"github.com/polyfn/polyfn/internal/coldstart"
	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/internal/usermodule"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// deployBuilds holds the cold-start benchmark's bootstraps, built as
// `polyfn build --cloud aws` builds them (static, trimmed, stripped).
var deployBuilds struct {
	once sync.Once
	dir  string
	err  error
}

func deployBuild(b *testing.B, name string) string {
	b.Helper()
	deployBuilds.once.Do(func() {
		deployBuilds.dir, deployBuilds.err = os.MkdirTemp("", "awslambda-coldstart-")
		if deployBuilds.err != nil {
			return
		}
		for _, t := range []struct{ out, pkg, tags string }{
			{"users", "./cmd/users", "aws,lambda.norpc"},
			{"adapteronly", "./adapters/awslambda/testdata/adapteronly", "lambda.norpc"},
			{"adapterread", "./adapters/awslambda/testdata/adapterread", "lambda.norpc"},
			{"rawusers", "./adapters/awslambda/testdata/rawusers", "lambda.norpc"},
			{"rawhello", "./adapters/awslambda/testdata/rawhello", "lambda.norpc"},
		} {
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-tags", t.tags,
				"-o", filepath.Join(deployBuilds.dir, t.out), t.pkg)
			cmd.Dir = filepath.Join("..", "..")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				deployBuilds.err = fmt.Errorf("go build %s: %v\n%s", t.pkg, err, out)
				return
			}
		}
	})
	if deployBuilds.err != nil {
		b.Fatal(deployBuilds.err)
	}
	return filepath.Join(deployBuilds.dir, name)
}

// BenchmarkColdStart measures, for the users function (as cmd/users builds
// it, and on the adapter without cloud drivers: adapteronly), the users
// read path without gateway policies on polyfn (adapterread) and on
// aws-lambda-go alone (rawusers), both linking the S3 driver, and a bare
// aws-lambda-go function (rawhello), the time from starting the bootstrap process to
// its first response under the local Runtime API: process start, Go
// runtime start, init, the first /next and one HTTP API request. The users
// request carries a bearer token, so its first response includes fetching
// the issuer's discovery document and keys (from a local test issuer). Run
// it with -benchtime=25x; it reports the median wall time (p50-ms), the
// median CPU time the bootstrap used (cpu-p50-ms, steadier when other work
// shares the machine) and the binary's size.
func BenchmarkColdStart(b *testing.B) {
	iss := authtest.NewIssuer(b)
	event, err := json.Marshal(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: "/users/00000000-0000-4000-8000-000000000000",
		Headers: map[string]string{"authorization": iss.Bearer(b, "bench", "users:read")},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Stage: "$default", DomainName: "api.example.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/users/00000000-0000-4000-8000-000000000000"},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"users", "adapteronly", "adapterread", "rawusers", "rawhello"} {
		b.Run(name, func(b *testing.B) {
			bin := deployBuild(b, name)
			info, err := os.Stat(bin)
			if err != nil {
				b.Fatal(err)
			}
			env := []string{"USERS_BUCKET_URL=" + fileURL(b.TempDir()), "USERS_OIDC_ISSUER=" + iss.URL, "USERS_OIDC_AUDIENCE=" + authtest.Audience}
			var starts, cpu []time.Duration
			for b.Loop() {
				wall, used, payload := coldStart(b, bin, env, event)
				var resp events.APIGatewayV2HTTPResponse
				if name != "rawhello" && (json.Unmarshal(payload, &resp) != nil || resp.StatusCode != 404) {
					b.Fatalf("first invocation: %s, want an authenticated 404", payload)
				}
				starts = append(starts, wall)
				if used > 0 {
					cpu = append(cpu, used)
				}
			}
			slices.Sort(starts)
			b.ReportMetric(float64(starts[len(starts)/2])/float64(time.Millisecond), "p50-ms")
			if len(cpu) > 0 {
				slices.Sort(cpu)
				b.ReportMetric(float64(cpu[len(cpu)/2])/float64(time.Millisecond), "cpu-p50-ms")
			}
			b.ReportMetric(float64(info.Size())/(1<<20), "binary-MiB")
		})
	}
}

// coldStart starts the bootstrap bin under a local Runtime API with env and
// sends it event, and returns the wall time from the process's start to
// its first response, the CPU time the bootstrap used (zero where the
// platform does not say) and the response's payload. Only the start and
// the first invocation are timed.
func coldStart(b *testing.B, bin string, env []string, event []byte) (wall, cpu time.Duration, payload []byte) {
	b.Helper()
	cpu0, _ := emulators.ChildCPU()
	start := time.Now()
	s, err := runtimeapi.Start(b.Context(), "127.0.0.1:0", &runtimeapi.Options{
		Bootstrap: bin, Env: env, Timeout: 10 * time.Second,
		Stdout: io.Discard, Stderr: io.Discard, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
	r, err := s.Invoke(ctx, event)
	cancel()
	if err != nil || r.FunctionError != "" {
		b.Fatalf("first invocation: %s, %v", r.Payload, err)
	}
	wall = time.Since(start)
	b.StopTimer()
	defer b.StartTimer()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	// The bootstrap has been waited for: its CPU time, nearly all spent
	// before its first response, since it then waits for the next
	// invocation until it is stopped.
	if cpu1, ok := emulators.ChildCPU(); ok {
		cpu = cpu1 - cpu0
	}
	return wall, cpu, r.Payload
}

// BenchmarkColdStartMinimal measures the cold start of the minimal
// function (usermodule.Greeter: one route, no resources), built with
// -tags aws,lambda.norpc in a user's own module, against the same route on
// aws-lambda-go alone (testdata/rawgreeter). Each iteration starts both,
// in turns (which goes first alternates), so that both see the same
// machine; it reports each one's median wall and CPU time from process
// start to the first response, the median of the paired differences, and
// both binaries' sizes. Run it with -benchtime=21x or more:
//
//	go test -run='^$' -bench='^BenchmarkColdStartMinimal$' -benchtime=41x ./adapters/awslambda
func BenchmarkColdStartMinimal(b *testing.B) {
	dir := b.TempDir()
	polyfnBin, rawBin := filepath.Join(dir, "greeter"), filepath.Join(dir, "rawgreeter")
	if err := usermodule.New(b, usermodule.Greeter).Build("./cmd/greeter", "aws,lambda.norpc", polyfnBin); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-tags", "lambda.norpc", "-o", rawBin, "./testdata/rawgreeter")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build rawgreeter: %v\n%s", err, out)
	}
	event, err := json.Marshal(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: "/hello/ada",
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Stage: "$default", DomainName: "api.example.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/hello/ada"},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	var pairs coldstart.Pairs
	start := func(bin string) coldstart.Start {
		wall, cpu, payload := coldStart(b, bin, nil, event)
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(payload, &resp); err != nil || resp.StatusCode != 200 || resp.Body != "hello, ada\n" {
			b.Fatalf("%s: first response %s, want 200 \"hello, ada\\n\"", filepath.Base(bin), payload)
		}
		return coldstart.Start{Wall: wall, CPU: cpu}
	}
	for b.Loop() {
		pairs.Run(start, polyfnBin, rawBin)
	}
	pairs.Report(b, polyfnBin, rawBin)
}
