package launch_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/local"
	"github.com/polyfn/polyfn/internal/emulators"
)

// TestCloudBuildRefusesMissingEnv builds the users function for each cloud
// and runs it with USERS_BUCKET_URL unset: it must refuse to start, naming
// the variable, never fall back to local files.
func TestCloudBuildRefusesMissingEnv(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three binaries; skipped with -short")
	}
	for _, cloud := range []string{"aws", "gcp", "azure"} {
		t.Run(cloud, func(t *testing.T) {
			bin := t.TempDir() + "/users"
			if _, err := goTool(t, "build", "-tags", cloud, "-o", bin, "./cmd/users"); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(t.Context(), bin)
			cmd.Env = withoutVar(os.Environ(), "USERS_BUCKET_URL")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if err == nil {
				t.Fatalf("the %s build started without USERS_BUCKET_URL", cloud)
			}
			if !strings.Contains(stderr.String(), "USERS_BUCKET_URL") {
				t.Errorf("stderr does not name the variable:\n%s", stderr.String())
			}
		})
	}
}

func withoutVar(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// TestLocalBuildStartsTheDevelopmentIssuer runs the users function as
// `go run ./cmd/users` does, with no OIDC variables set: the local target
// starts the development issuer, and a token `polyfn token` would sign for
// the same data directory is accepted.
func TestLocalBuildStartsTheDevelopmentIssuer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the users function; skipped with -short")
	}
	bin := t.TempDir() + "/users"
	if _, err := goTool(t, "build", "-o", bin, "./cmd/users"); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(emulators.FreePort(t))
	cmd := exec.CommandContext(t.Context(), bin)
	env := os.Environ()
	for _, name := range []string{"USERS_OIDC_ISSUER", "USERS_OIDC_AUDIENCE", "USERS_BUCKET_URL", "USERS_JWKS_URL", "USERS_API_KEYS_URL", "POLYFN_ISSUER_ADDR"} {
		env = withoutVar(env, name)
	}
	cmd.Env = append(env, "POLYFN_ADDR="+addr, "POLYFN_DATA_DIR="+data)
	var stderr emulators.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	if err := emulators.WaitTCP(addr, 30*time.Second); err != nil {
		t.Fatalf("users did not listen: %v\n%s", err, stderr.String())
	}
	post := func(authz string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", "http://"+addr+"/users", strings.NewReader(`{"name":"Ada","email":"ada@example.com"}`))
		req.Header.Set("Content-Type", "application/json")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(""); got != http.StatusUnauthorized {
		t.Errorf("POST /users without a token: %d, want 401", got)
	}
	tok, err := local.IssueToken(data, local.TokenRequest{Subject: "ada", Scopes: []string{"users:write"}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got := post("Bearer " + tok); got != http.StatusCreated {
		t.Errorf("POST /users with a development token: %d, want 201\n%s", got, stderr.String())
	}
	if !strings.Contains(stderr.String(), "development OIDC issuer serving") {
		t.Errorf("the log does not announce the issuer:\n%s", stderr.String())
	}
}
