package core_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

func TestGatewayClaims(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]any
		wantOK bool
	}{
		{"claims", map[string]any{"sub": "ada", "scope": "users:read"}, true},
		{"empty", map[string]any{}, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := core.GatewayClaimsFrom(core.WithGatewayClaims(t.Context(), tt.claims))
			if ok != tt.wantOK {
				t.Fatalf("ok: got %v, want %v", ok, tt.wantOK)
			}
			if ok {
				if diff := cmp.Diff(tt.claims, got); diff != "" {
					t.Errorf("claims (-want +got):\n%s", diff)
				}
			}
		})
	}
	if _, ok := core.GatewayClaimsFrom(t.Context()); ok {
		t.Error("claims in a context no adapter set")
	}
}
