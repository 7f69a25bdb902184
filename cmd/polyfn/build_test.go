package main

import (
	"bytes"
	"strings"
	"testing"
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
