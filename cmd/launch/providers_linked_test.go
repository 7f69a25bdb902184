package launch_test

import (
	"strings"
	"testing"

	"github.com/polyfn/polyfn/providers"
)

// TestProvidersLinked proves each target's binaries link exactly the drivers
// that providers.Drivers attributes to that target or to every build, so
// that a scheme providers.Explain sends to -tags aws is served there.
func TestProvidersLinked(t *testing.T) {
	for _, target := range []string{"local", "aws", "gcp", "azure"} {
		t.Run(target, func(t *testing.T) {
			args := []string{"list", "-deps"}
			if target != "local" {
				args = append(args, "-tags", target)
			}
			out, err := goTool(t, append(args, "./cmd/users", "./cmd/thumbnails", "./cmd/orders")...)
			if err != nil {
				t.Fatal(err)
			}
			linked := map[string]bool{}
			for _, pkg := range strings.Fields(out) {
				linked[pkg] = true
			}
			want := map[string]bool{}
			for _, d := range providers.Drivers() {
				want[d.Package] = d.EveryBuild() || d.Provider == target
			}
			for pkg, w := range want {
				if linked[pkg] != w {
					t.Errorf("the %s build links %s: %v, want %v", target, pkg, linked[pkg], w)
				}
			}
		})
	}
}
