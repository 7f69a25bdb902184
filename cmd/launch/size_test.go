package launch_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/internal/usermodule"
)

// rawGreeters are, per cloud, the minimal function's route written on the
// platform's raw runtime with no polyfn in it, and the tags it builds with.
var rawGreeters = []struct{ cloud, tags, pkg string }{
	{"aws", "aws,lambda.norpc", "./adapters/awslambda/testdata/rawgreeter"},
	{"gcp", "gcp", "./adapters/gcpfunctions/internal/e2e/testdata/rawgreeter"},
	{"azure", "azure", "./adapters/azurefunctions/testdata/rawgreeter"},
}

// BenchmarkMinimalBinary reports, per cloud, the size of the minimal
// function (usermodule.Greeter) built for deployment in a user's own
// module, the size of the same route on the raw runtime (raw aws-lambda-go
// with lambda.norpc, the raw Functions Framework, a plain net/http custom
// handler), and the difference, all static and stripped as `polyfn build`
// builds them. Sizes are deterministic: run it once.
//
//	go test -run='^$' -bench='^BenchmarkMinimalBinary$' -benchtime=1x ./cmd/launch
func BenchmarkMinimalBinary(b *testing.B) {
	m := usermodule.New(b, usermodule.Greeter)
	root := emulators.ModuleRoot(b)
	for _, raw := range rawGreeters {
		b.Run(raw.cloud, func(b *testing.B) {
			dir := b.TempDir()
			polyfnBin, rawBin := filepath.Join(dir, "greeter"), filepath.Join(dir, "raw")
			for b.Loop() {
				if err := m.Build("./cmd/greeter", raw.tags, polyfnBin); err != nil {
					b.Fatal(err)
				}
				cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-tags", raw.tags, "-o", rawBin, raw.pkg)
				cmd.Dir = root
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("go build %s: %v\n%s", raw.pkg, err, out)
				}
			}
			p, r := size(b, polyfnBin), size(b, rawBin)
			b.ReportMetric(p/(1<<20), "polyfn-MiB")
			b.ReportMetric(r/(1<<20), "raw-MiB")
			b.ReportMetric((p-r)/(1<<20), "delta-MiB")
		})
	}
}

func size(b *testing.B, path string) float64 {
	b.Helper()
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return float64(info.Size())
}
