package launch_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
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
