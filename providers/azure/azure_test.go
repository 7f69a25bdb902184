package azure_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/providers"
	_ "github.com/polyfn/polyfn/providers/azure"
	"github.com/polyfn/polyfn/providers/providertest"
)

// TestSchemes proves the package links exactly the drivers that
// providers.Drivers attributes to it, so that providers.Explain names the
// right build.
func TestSchemes(t *testing.T) {
	want := map[string][]string{}
	for _, d := range providers.Drivers() {
		if d.Provider == "azure" {
			want[d.Type] = append(want[d.Type], d.Scheme)
		}
	}
	for _, schemes := range want {
		slices.Sort(schemes)
	}
	if diff := cmp.Diff(want, providertest.Registered()); diff != "" {
		t.Errorf("registered schemes (-providers.Drivers +registered):\n%s", diff)
	}
}
