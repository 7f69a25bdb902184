package jsonlogtest

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Scripts returns n pseudo-random scripts for Run, the same ones for the
// same seed, each up to 200 bytes.
func Scripts(seed uint64, n int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	scripts := make([][]byte, n)
	for i := range scripts {
		data := make([]byte, rng.IntN(200))
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		scripts[i] = data
	}
	return scripts
}

// AddSeeds adds the corpus every differential fuzz target starts from: an
// empty script and two that nest groups and attributes.
func AddSeeds(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x02\x01\x00\x03\x04\x00\x17\x02\x01\x05\x00\x18\x02\x03\x00\x0e"))
	f.Add([]byte("\x00\x02\x18\x01\x03\x00\x00\x01\x19\x02\x02\x03\x03\x01\x04\x01\x04"))
}

// Same runs the script data on want and on got with ctx, and fails t when
// what they wrote (into wantOut and gotOut) or what they panicked with
// differs.
func Same(t testing.TB, ctx context.Context, data []byte, want slog.Handler, wantOut *bytes.Buffer, got slog.Handler, gotOut *bytes.Buffer) {
	t.Helper()
	wantPanics := Run(ctx, want, data)
	gotPanics := Run(ctx, got, data)
	if diff := cmp.Diff(strings.Split(wantOut.String(), "\n"), strings.Split(gotOut.String(), "\n")); diff != "" {
		t.Fatalf("script %q: output differs (-want +got):\n%s", data, diff)
	}
	if diff := cmp.Diff(wantPanics, gotPanics); diff != "" {
		t.Fatalf("script %q: panics differ (-want +got):\n%s", data, diff)
	}
}
