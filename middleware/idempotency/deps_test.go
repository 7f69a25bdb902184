package idempotency_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestInMemoryLinksNoStoreClient checks that importing the package (for its
// in-memory store) links no Redis client and no docstore: those stores live
// in packages of their own.
func TestInMemoryLinksNoStoreClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/polyfn/polyfn/middleware/idempotency").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/redis/") || strings.HasPrefix(dep, "github.com/go-redis/") || strings.HasPrefix(dep, "gocloud.dev/docstore") {
			t.Errorf("middleware/idempotency links %s", dep)
		}
	}
}
