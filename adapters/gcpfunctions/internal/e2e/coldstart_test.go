package e2e_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/polyfn/polyfn/internal/coldstart"
	"github.com/polyfn/polyfn/internal/usermodule"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// BenchmarkColdStart measures, per iteration, one cold start: from starting
// the process to its first 200 answer. users is the -tags gcp build, reading
// a stored user (GET /users/{id}) with a bearer token, so the first answer
// includes fetching the (local test) issuer's keys; usersnodrivers is the
// same function on the adapter without the Google Cloud drivers
// (testdata/usersnodrivers); adapterread is the read without gateway
// policies as a polyfn app with the storage drivers linked
// (testdata/adapterread); rawusers is the same read served by the
// framework with the same storage drivers and no polyfn code
// (testdata/rawusers); hello is testdata/hello, a function served by
// the framework with no polyfn code. Each also reports its binary's size.
// Run each start as its own sample, and compare medians:
//
//	go test -run='^$' -bench='^BenchmarkColdStart$' -benchtime=1x -count=25 ./adapters/gcpfunctions > cold.txt
//	go tool benchstat -col /binary cold.txt
func BenchmarkColdStart(b *testing.B) {
	const userID = "6c792c37-a1d3-4387-a78a-267a711a9c3e"
	bucket := b.TempDir()
	user := `{"id":"` + userID + `","name":"Ada","email":"ada@example.com","createdAt":"2026-11-21T10:30:00Z"}`
	if err := os.MkdirAll(filepath.Join(bucket, "users"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bucket, "users", userID+".json"), []byte(user), 0o644); err != nil {
		b.Fatal(err)
	}
	iss := authtest.NewIssuer(b)
	usersEnv := []string{"FUNCTION_TARGET=users", "USERS_BUCKET_URL=" + fileBucket(bucket),
		"USERS_OIDC_ISSUER=" + iss.URL, "USERS_OIDC_AUDIENCE=" + authtest.Audience}
	authz := iss.Bearer(b, "bench", "users:read")
	tests := []struct {
		name, path string
		env        []string
		authz      string
	}{
		{"users", "/users/" + userID, usersEnv, authz},
		{"usersnodrivers", "/users/" + userID, usersEnv, authz},
		{"adapterread", "/users/" + userID, []string{"FUNCTION_TARGET=users", "USERS_BUCKET_URL=" + fileBucket(bucket)}, ""},
		{"rawusers", "/users/" + userID, []string{"FUNCTION_TARGET=users", "USERS_BUCKET_URL=" + fileBucket(bucket)}, ""},
		{"hello", "/", []string{"FUNCTION_TARGET=hello"}, ""},
	}
	for _, tt := range tests {
		b.Run("binary="+tt.name, func(b *testing.B) {
			bin := binary(b, tt.name)
			fi, err := os.Stat(bin)
			if err != nil {
				b.Fatal(err)
			}
			var cpu time.Duration
			for b.Loop() {
				_, used := coldStart(b, bin, tt.path, tt.authz, tt.env)
				cpu += used
			}
			b.ReportMetric(float64(cpu)/float64(b.N)/float64(time.Millisecond), "cpu-ms/op")
			b.ReportMetric(float64(fi.Size()), "binary-bytes")
		})
	}
}

// coldStart starts bin and polls path, with the Authorization header authz
// when it is not empty, until it answers 200, then kills it. It returns the
// wall time from the start to that answer, and the CPU time (user and
// system) the process used: nearly all of it before the answer, since the
// server then idles until it is killed. CPU time is steadier than wall
// time when other work shares the machine.
func coldStart(b *testing.B, bin, path, authz string, env []string) (wall, cpu time.Duration) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin)
	cmd.Env = append(withoutFunctionTarget(os.Environ()), append(env, "PORT="+port, "POLYFN_ADDR="+addr)...)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		b.StopTimer()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		b.StartTimer()
	}()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Microsecond) {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			wall = time.Since(start)
			return
		}
		b.Fatalf("%s %s answered %d", bin, path, resp.StatusCode)
	}
	b.Fatalf("%s did not answer within 10s", bin)
	return 0, 0
}

// BenchmarkColdStartMinimal measures the cold start of the minimal
// function (usermodule.Greeter: one route, no resources), built with
// -tags gcp in a user's own module, against the same route on the
// Functions Framework alone (testdata/rawgreeter): from process start to
// the first 200 answer to GET /hello/ada. Each iteration starts both, in
// turns (which goes first alternates); it reports each one's median wall
// and CPU time, the medians of the paired differences, and both binaries'
// sizes. Run it with -benchtime=21x or more:
//
//	go test -run='^$' -bench='^BenchmarkColdStartMinimal$' -benchtime=41x ./adapters/gcpfunctions/internal/e2e
func BenchmarkColdStartMinimal(b *testing.B) {
	if testing.Short() {
		b.Skip("builds two functions; skipped with -short")
	}
	dir := b.TempDir()
	polyfnBin, rawBin := filepath.Join(dir, "greeter"), filepath.Join(dir, "rawgreeter")
	if err := usermodule.New(b, usermodule.Greeter).Build("./cmd/greeter", "gcp", polyfnBin); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", rawBin, "./testdata/rawgreeter")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build rawgreeter: %v\n%s", err, out)
	}
	env := []string{"FUNCTION_TARGET=greeter"}
	var pairs coldstart.Pairs
	start := func(bin string) coldstart.Start {
		wall, cpu := coldStart(b, bin, "/hello/ada", "", env)
		return coldstart.Start{Wall: wall, CPU: cpu}
	}
	for b.Loop() {
		pairs.Run(start, polyfnBin, rawBin)
	}
	pairs.Report(b, polyfnBin, rawBin)
}
