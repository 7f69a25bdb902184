package core_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
)

func TestSizingDefaults(t *testing.T) {
	got, err := core.Sizing{}.Resolve()
	want := core.Sizing{MemoryMiB: 128, Timeout: 30 * time.Second, PerInstanceConcurrency: 1}
	if err != nil || got != want {
		t.Errorf("Sizing{}.Resolve() = %+v, %v; want %+v", got, err, want)
	}
	declared := core.Sizing{MemoryMiB: 1024, Timeout: time.Minute, Arch: core.ARM64, MaxConcurrency: 10,
		WarmInstances: 2, MaxInstances: 5, PerInstanceConcurrency: 80}
	if got, err := declared.Resolve(); err != nil || got != declared {
		t.Errorf("Resolve() of a full sizing = %+v, %v; want it unchanged", got, err)
	}
	if app := core.NewApp("a"); app.Sizing() != (core.Sizing{}) || app.Manifest().Sizing != nil {
		t.Errorf("an app not sized: Sizing() = %+v, manifest %+v", app.Sizing(), app.Manifest().Sizing)
	}
	if core.X86_64.GOARCH() != "amd64" || core.ARM64.GOARCH() != "arm64" || core.Arch("").GOARCH() != "" {
		t.Error("Arch.GOARCH: wrong spelling")
	}
}

func TestSizingValidate(t *testing.T) {
	for _, tc := range []struct {
		s    core.Sizing
		want string // "" for valid
	}{
		{core.Sizing{}, ""},
		{core.Sizing{MemoryMiB: 128, Timeout: 15 * time.Minute}, ""},
		{core.Sizing{MemoryMiB: 10240, Timeout: time.Second}, ""},
		{core.Sizing{Arch: core.X86_64}, ""},
		{core.Sizing{WarmInstances: 3, MaxInstances: 3, MaxConcurrency: 3}, ""},
		{core.Sizing{WarmInstances: 3}, ""},
		{core.Sizing{PerInstanceConcurrency: 1000}, ""},
		{core.Sizing{MemoryMiB: 127}, "MemoryMiB 127"},
		{core.Sizing{MemoryMiB: 10241}, "MemoryMiB 10241"},
		{core.Sizing{MemoryMiB: -1}, "MemoryMiB -1"},
		{core.Sizing{Timeout: -time.Second}, "Timeout -1s"},
		{core.Sizing{Timeout: 15*time.Minute + time.Second}, "Timeout 15m1s"},
		{core.Sizing{Timeout: 1500 * time.Millisecond}, "whole seconds"},
		{core.Sizing{Arch: "amd64"}, `Arch "amd64"`},
		{core.Sizing{MaxConcurrency: -1}, "MaxConcurrency -1"},
		{core.Sizing{WarmInstances: -1}, "WarmInstances -1"},
		{core.Sizing{MaxInstances: -1}, "MaxInstances -1"},
		{core.Sizing{PerInstanceConcurrency: -1}, "PerInstanceConcurrency -1"},
		{core.Sizing{PerInstanceConcurrency: 1001}, "PerInstanceConcurrency 1001"},
		{core.Sizing{WarmInstances: 4, MaxInstances: 3}, "above MaxInstances 3"},
		{core.Sizing{WarmInstances: 4, MaxConcurrency: 3}, "above MaxConcurrency 3"},
	} {
		err := tc.s.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: Validate() = %v, want nil", tc.s, err)
		case tc.want == "":
			if msg := panicOf(func() { core.NewApp("a").Size(tc.s) }); msg != "" {
				t.Errorf("%+v: Size panicked: %s", tc.s, msg)
			}
		case err == nil || !strings.Contains(err.Error(), tc.want) || core.CodeOf(err) != core.InvalidArgument:
			t.Errorf("%+v: Validate() = %v, want an InvalidArgument error naming %q", tc.s, err, tc.want)
		default:
			if _, err := tc.s.Resolve(); err == nil {
				t.Errorf("%+v: Resolve() succeeded", tc.s)
			}
			if msg := panicOf(func() { core.NewApp("a").Size(tc.s) }); !strings.Contains(msg, tc.want) {
				t.Errorf("%+v: Size panic %q, want one naming %q", tc.s, msg, tc.want)
			}
			app := core.NewApp("a")
			app.On("f", core.TimerTrigger{Schedule: "0 3 * * *"}, core.HandlerFunc(nil))
			if msg := panicOf(func() { app.SizeFunc("f", tc.s) }); !strings.Contains(msg, tc.want) || !strings.Contains(msg, "function f") {
				t.Errorf("%+v: SizeFunc panic %q, want one naming the function and %q", tc.s, msg, tc.want)
			}
			b, _ := json.Marshal(tc.s)
			var back core.Sizing
			if err := json.Unmarshal(b, &back); err == nil {
				t.Errorf("%+v: decoding %s succeeded", tc.s, b)
			}
		}
	}
}

func TestSizeFuncUndeclared(t *testing.T) {
	app := core.NewApp("a")
	if msg := panicOf(func() { app.SizeFunc("missing", core.Sizing{}) }); !strings.Contains(msg, `"missing"`) {
		t.Errorf("SizeFunc of an undeclared function: panic %q", msg)
	}
}

func TestSizingDeadline(t *testing.T) {
	start := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		s        core.Sizing
		platform time.Time
		want     time.Time
	}{
		{"default timeout, no platform deadline", core.Sizing{}, time.Time{}, start.Add(30 * time.Second)},
		{"declared timeout, no platform deadline", core.Sizing{Timeout: 10 * time.Second}, time.Time{}, start.Add(10 * time.Second)},
		{"declared timeout before the platform's", core.Sizing{Timeout: 10 * time.Second}, start.Add(5 * time.Minute), start.Add(10 * time.Second)},
		{"the platform's deadline first", core.Sizing{Timeout: time.Minute}, start.Add(20 * time.Second), start.Add(20 * time.Second)},
		{"the platform's deadline already past", core.Sizing{}, start.Add(-time.Second), start.Add(-time.Second)},
		{"equal deadlines", core.Sizing{Timeout: time.Minute}, start.Add(time.Minute), start.Add(time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Deadline(start, tc.platform); !got.Equal(tc.want) {
				t.Errorf("Deadline(start, %v) = %v, want %v", tc.platform, got, tc.want)
			}
		})
	}
}

func TestDeclaredSizing(t *testing.T) {
	app := core.NewApp("a")
	app.On("sized", core.TimerTrigger{Schedule: "0 3 * * *"}, core.HandlerFunc(nil))
	app.On("unsized", core.TimerTrigger{Schedule: "0 4 * * *"}, core.HandlerFunc(nil))
	app.SizeFunc("sized", core.Sizing{Timeout: 2 * time.Minute})
	app.Size(core.Sizing{Timeout: 5 * time.Second})
	for _, tc := range []struct {
		name string
		want core.Sizing
	}{
		{"sized", core.Sizing{Timeout: 2 * time.Minute}},
		{"unsized", core.Sizing{}}, // the defaults, not the app's Size
	} {
		f, _ := app.EventFunc(tc.name)
		if got := f.DeclaredSizing(); got != tc.want {
			t.Errorf("%s: DeclaredSizing() = %+v, want %+v", tc.name, got, tc.want)
		}
	}
	for _, f := range app.EventFuncs() {
		if f.Name == "sized" && f.DeclaredSizing().Timeout != 2*time.Minute {
			t.Errorf("EventFuncs()'s sized: DeclaredSizing() = %+v", f.DeclaredSizing())
		}
	}
}
