// Package coldstart collects the paired cold starts of a function and of
// its baseline on the raw runtime, started in turns, and reports them as
// benchmark metrics: each one's median wall and CPU time, the medians of
// the paired differences, and both binaries' sizes.
package coldstart

import (
	"os"
	"slices"
	"testing"
	"time"
)

// A Start is one cold start: the wall time from starting the process to
// its first answer, and the CPU time the process used.
type Start struct{ Wall, CPU time.Duration }

// Pairs are cold starts of polyfn's function and of the raw baseline, one
// pair per benchmark iteration.
type Pairs struct {
	polyfn, raw []Start
}

// Run starts both with start, in turns: which goes first alternates from
// one call to the next, so that both see the same machine.
func (p *Pairs) Run(start func(bin string) Start, polyfnBin, rawBin string) {
	if len(p.polyfn)%2 == 0 {
		a := start(polyfnBin)
		p.polyfn, p.raw = append(p.polyfn, a), append(p.raw, start(rawBin))
		return
	}
	r := start(rawBin)
	p.polyfn, p.raw = append(p.polyfn, start(polyfnBin)), append(p.raw, r)
}

// Report reports the medians and the binaries' sizes as b's metrics.
func (p *Pairs) Report(b *testing.B, polyfnBin, rawBin string) {
	b.Helper()
	if len(p.polyfn) == 0 {
		return
	}
	wall := func(s Start) time.Duration { return s.Wall }
	cpu := func(s Start) time.Duration { return s.CPU }
	for _, m := range []struct {
		unit string
		of   func(Start) time.Duration
	}{{"p50-ms", wall}, {"cpu-p50-ms", cpu}} {
		var ps, rs, ds []time.Duration
		for i := range p.polyfn {
			pv, rv := m.of(p.polyfn[i]), m.of(p.raw[i])
			ps, rs, ds = append(ps, pv), append(rs, rv), append(ds, pv-rv)
		}
		b.ReportMetric(median(ps), "polyfn-"+m.unit)
		b.ReportMetric(median(rs), "raw-"+m.unit)
		b.ReportMetric(median(ds), "delta-"+m.unit)
	}
	for name, bin := range map[string]string{"polyfn": polyfnBin, "raw": rawBin} {
		info, err := os.Stat(bin)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(info.Size())/(1<<20), name+"-binary-MiB")
	}
}

// median returns the median of ds in milliseconds.
func median(ds []time.Duration) float64 {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return float64(ds[len(ds)/2]) / float64(time.Millisecond)
}
