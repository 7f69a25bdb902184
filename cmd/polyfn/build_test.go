package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/deploy"
)

func TestDescribeReadsTheDeclaration(t *testing.T) {
	ms, err := describe(t.Context(), "./../orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].App != "orders" || len(ms[0].Functions) != 1 ||
		ms[0].Functions[0].Name != "record-order" || ms[0].Functions[0].Trigger.Message == nil {
		t.Fatalf("manifests = %+v, want the orders app with its message trigger", ms)
	}
}

func TestBuildUsage(t *testing.T) {
	tests := []struct {
		args    []string
		wantOut string
	}{
		{[]string{"build", "--cloud", "mars", "./cmd/users"}, "--cloud must be one of"},
		{[]string{"build", "./cmd/users"}, "--cloud must be one of"},
		{[]string{"build", "--cloud", "aws", "--scheme", "USERS_API_KEYS_URL", "./cmd/users"}, "want VAR=SCHEME"},
		{[]string{"build", "--cloud", "aws", "--scheme", "A=s3", "--scheme", "A=gs", "./cmd/users"}, "A is given twice"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), tt.args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", tt.args, code)
		}
		if !strings.Contains(stderr.String(), tt.wantOut) {
			t.Errorf("%v: stderr %q does not contain %q", tt.args, stderr.String(), tt.wantOut)
		}
	}
}

// TestBuildSchemeFlag checks that --scheme reaches the packager as the
// grant options its renderer takes.
func TestBuildSchemeFlag(t *testing.T) {
	var got *deploy.GrantOptions
	packagers["test"] = packager{archs: []string{"amd64"}, pack: func(_ context.Context, job buildJob) error {
		got = job.Grants
		return nil
	}}
	t.Cleanup(func() { delete(packagers, "test") })
	var stdout, stderr bytes.Buffer
	args := []string{"build", "--cloud", "test", "--out", t.TempDir(),
		"--scheme", "USERS_API_KEYS_URL=awssecretsmanager", "--scheme", "JOBS_URL=" + deploy.AzureQueueScheme, "./../users"}
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := &deploy.GrantOptions{Schemes: map[string]string{"USERS_API_KEYS_URL": "awssecretsmanager", "JOBS_URL": deploy.AzureQueueScheme}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the packager's grant options (-want +got):\n%s", diff)
	}
}
