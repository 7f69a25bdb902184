package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// TestBuildPlan checks that polyfn build --plan prints the users example's
// plan, the one its golden file in deploy/testdata holds (built there from
// users.New().Manifest(), here from the binary's printed manifest), and
// writes nothing.
func TestBuildPlan(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dist")
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"build", "--plan", "--out", out, "./../users"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "deploy", "testdata", "users.plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), want) {
		t.Errorf("stdout is not deploy/testdata/users.plan.json:\n%s", stdout.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr %q, want nothing", stderr.String())
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--plan created %s (%v), want nothing written", out, err)
	}

	// With a cloud, the units get its default architecture.
	stdout.Reset()
	if code := run(t.Context(), []string{"build", "--plan", "--cloud", "aws", "--out", out, "./../users"}, &stdout, &stderr); code != 0 {
		t.Fatalf("--cloud aws: exit %d, stderr:\n%s", code, stderr.String())
	}
	var p deploy.Plan
	if err := json.Unmarshal(stdout.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Units) != 1 || p.Units[0].Sizing.Arch != core.ARM64 {
		t.Errorf("--cloud aws: units %+v, want the users unit on arm64", p.Units)
	}
}

func TestBuildPlanUsage(t *testing.T) {
	tests := []struct {
		args    []string
		wantOut string
	}{
		{[]string{"build", "--plan", "--arch", "riscv64", "./../users"}, "--arch for the plan must be one of amd64, arm64"},
		{[]string{"build", "--plan", "--cloud", "gcp", "--arch", "arm64", "./../users"}, "--arch for gcp must be one of amd64"},
		{[]string{"build", "--plan", "--cloud", "mars", "./../users"}, "--cloud must be one of"},
		{[]string{"build", "--plan"}, "name the function's main package"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), tt.args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", tt.args, code)
		}
		if !strings.Contains(stderr.String(), tt.wantOut) {
			t.Errorf("%v: stderr %q does not contain %q", tt.args, stderr.String(), tt.wantOut)
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout %q, want nothing", tt.args, stdout.String())
		}
	}
}
