package launch_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
	"github.com/polyfn/polyfn/providers"
)

// linked returns the driver packages of providers.Drivers that the
// packages pkgs link under target ("local" for no tag).
func linked(t *testing.T, target string, pkgs ...string) map[string]bool {
	t.Helper()
	args := []string{"list", "-deps"}
	if target != "local" {
		args = append(args, "-tags", target)
	}
	out, err := goTool(t, append(args, pkgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string]bool{}
	for _, pkg := range strings.Fields(out) {
		deps[pkg] = true
	}
	got := map[string]bool{}
	for _, d := range providers.Drivers() {
		if deps[d.Package] {
			got[d.Package] = true
		}
	}
	return got
}

// TestKindPackagesLink proves each kind package links, for each target,
// exactly the drivers that providers.Drivers attributes to its portable
// types and that target (or to every build), so that a scheme
// providers.Explain sends to "-tags aws and import providers/blob" is
// served there, and nothing else is linked with it.
func TestKindPackagesLink(t *testing.T) {
	for _, target := range []string{"local", "aws", "gcp", "azure"} {
		for _, pkg := range providers.KindPackages() {
			t.Run(target+"/"+pkg[strings.LastIndex(pkg, "/")+1:], func(t *testing.T) {
				want := map[string]bool{}
				for _, d := range providers.Drivers() {
					if d.Link() == pkg && (d.EveryBuild() || d.Provider == target) {
						want[d.Package] = true
					}
				}
				got := linked(t, target, pkg)
				if !maps.Equal(got, want) {
					t.Errorf("%s links %v under the %s target, want %v",
						pkg, slices.Sorted(maps.Keys(got)), target, slices.Sorted(maps.Keys(want)))
				}
			})
		}
	}
}

// resourceTypes maps each resource kind a function can declare to the
// portable type its URL opens.
var resourceTypes = map[core.ResourceKind]string{
	core.KindBucket:       "blob.Bucket",
	core.KindTopic:        "pubsub.Topic",
	core.KindSubscription: "pubsub.Subscription",
	core.KindKeeper:       "secrets.Keeper",
	core.KindVariable:     "runtimevar.Variable",
	core.KindCollection:   "docstore.Collection",
}

// TestMainsLinkTheirKinds proves each example function's main links the
// drivers of every resource kind its app declares, and of no other kind:
// a cloud build can open each resource, and pays the start-up cost of no
// SDK it does not use.
func TestMainsLinkTheirKinds(t *testing.T) {
	for _, m := range []struct {
		main string
		app  *core.App
	}{
		{"./cmd/users", users.New()},
		{"./cmd/thumbnails", thumbnails.New()},
		{"./cmd/orders", orders.New()},
	} {
		t.Run(m.main, func(t *testing.T) {
			types := map[string]bool{}
			for _, r := range m.app.Manifest().Resources {
				if typ, ok := resourceTypes[r.Kind]; ok {
					types[typ] = true
				}
			}
			for _, target := range []string{"aws", "gcp", "azure"} {
				want := map[string]bool{}
				for _, d := range providers.Drivers() {
					if types[d.Type] && (d.Provider == target || d.EveryBuild()) {
						want[d.Package] = true
					}
				}
				got := linked(t, target, m.main)
				if !maps.Equal(got, want) {
					t.Errorf("the %s build of %s links %v, want %v",
						target, m.main, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
				}
			}
		})
	}
}
