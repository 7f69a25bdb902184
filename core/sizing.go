package core

import (
	"encoding/json"
	"fmt"
	"time"
)

// Sizing is the capacity a deployment unit is given on every cloud: the
// app's HTTP routes are one unit (App.Size), each event function another
// (App.SizeFunc). A zero field means its default, listed with each field;
// Resolve fills them in. Validate refuses only what no cloud can take; a
// value one cloud cannot take (a timeout above GCP's for event functions)
// is the deploy layer's to report for that cloud.
type Sizing struct {
	// MemoryMiB is the memory of one instance in MiB: 128 to 10240, the
	// range of AWS Lambda (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html),
	// within which GCP takes any value (https://cloud.google.com/run/docs/configuring/services/memory-limits).
	// Lambda and Cloud Run give CPU in proportion to memory. Default 128,
	// what the build gives a Lambda today.
	MemoryMiB int
	// Timeout is the longest one invocation runs, the deadline its context
	// carries, in whole seconds: at most 15 minutes, Lambda's maximum
	// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
	// GCP event functions stop at 9 minutes and Azure's Consumption plan at
	// 10. Default 30 s.
	Timeout time.Duration
	// Arch is the instruction set, where the cloud offers a choice (AWS
	// Lambda); GCP and Azure run x86_64. Default: polyfn build's --arch.
	Arch Arch
	// MaxConcurrency caps the invocations in flight at once over all
	// instances: AWS reserved concurrency, which also keeps that much of
	// the account's concurrency for this unit. Default 0: no cap.
	MaxConcurrency int
	// WarmInstances are kept started to spare requests a cold start, and
	// paid for while idle: AWS provisioned concurrency (on an alias), GCP
	// minimum instances, Azure always-ready instances. Default 0: scale to
	// zero. It is at most MaxInstances and MaxConcurrency when they are set.
	WarmInstances int
	// MaxInstances caps the instances: GCP maximum instances, Azure's scale
	// limit; on AWS, where an instance serves one invocation at a time, the
	// smaller of it and MaxConcurrency is the reserved concurrency.
	// Default 0: the cloud's limit.
	MaxInstances int
	// PerInstanceConcurrency is how many invocations one instance serves at
	// once where the cloud lets it (GCP, up to 1000:
	// https://cloud.google.com/run/docs/about-concurrency). Default 1, as
	// on Lambda, so that a function behaves alike on every cloud; raise it
	// for handlers that are safe to run concurrently.
	PerInstanceConcurrency int
}

// Arch is an instruction set, in AWS Lambda's spelling.
type Arch string

// The architectures.
const (
	X86_64 Arch = "x86_64"
	ARM64  Arch = "arm64"
)

// GOARCH returns the architecture in Go's spelling (amd64, arm64), or ""
// for the zero Arch.
func (a Arch) GOARCH() string {
	if a == X86_64 {
		return "amd64"
	}
	return string(a)
}

// The documented defaults and limits of Sizing.
const (
	DefaultMemoryMiB              = 128
	DefaultTimeout                = 30 * time.Second
	DefaultPerInstanceConcurrency = 1
	MinMemoryMiB                  = 128
	MaxMemoryMiB                  = 10240
	MaxTimeout                    = 15 * time.Minute
	MaxPerInstanceConcurrency     = 1000
)

// Validate reports a value no cloud can take.
func (s Sizing) Validate() error {
	switch {
	case s.MemoryMiB != 0 && (s.MemoryMiB < MinMemoryMiB || s.MemoryMiB > MaxMemoryMiB):
		return Errorf(InvalidArgument, "core: sizing: MemoryMiB %d: want %d to %d", s.MemoryMiB, MinMemoryMiB, MaxMemoryMiB)
	case s.Timeout < 0 || s.Timeout > MaxTimeout || s.Timeout%time.Second != 0:
		return Errorf(InvalidArgument, "core: sizing: Timeout %v: want whole seconds, at most %v", s.Timeout, MaxTimeout)
	case s.Arch != "" && s.Arch != X86_64 && s.Arch != ARM64:
		return Errorf(InvalidArgument, "core: sizing: Arch %q: want %q or %q", s.Arch, X86_64, ARM64)
	case s.MaxConcurrency < 0:
		return Errorf(InvalidArgument, "core: sizing: MaxConcurrency %d is negative", s.MaxConcurrency)
	case s.WarmInstances < 0:
		return Errorf(InvalidArgument, "core: sizing: WarmInstances %d is negative", s.WarmInstances)
	case s.MaxInstances < 0:
		return Errorf(InvalidArgument, "core: sizing: MaxInstances %d is negative", s.MaxInstances)
	case s.PerInstanceConcurrency < 0 || s.PerInstanceConcurrency > MaxPerInstanceConcurrency:
		return Errorf(InvalidArgument, "core: sizing: PerInstanceConcurrency %d: want 1 to %d", s.PerInstanceConcurrency, MaxPerInstanceConcurrency)
	case s.MaxInstances > 0 && s.WarmInstances > s.MaxInstances:
		return Errorf(InvalidArgument, "core: sizing: WarmInstances %d above MaxInstances %d", s.WarmInstances, s.MaxInstances)
	case s.MaxConcurrency > 0 && s.WarmInstances > s.MaxConcurrency:
		return Errorf(InvalidArgument, "core: sizing: WarmInstances %d above MaxConcurrency %d", s.WarmInstances, s.MaxConcurrency)
	}
	return nil
}

// Resolve returns the sizing with the defaults filled in; Arch stays as
// declared ("" is the build's --arch). It fails as Validate does.
func (s Sizing) Resolve() (Sizing, error) {
	if err := s.Validate(); err != nil {
		return Sizing{}, err
	}
	if s.MemoryMiB == 0 {
		s.MemoryMiB = DefaultMemoryMiB
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.PerInstanceConcurrency == 0 {
		s.PerInstanceConcurrency = DefaultPerInstanceConcurrency
	}
	return s, nil
}

// Deadline returns the deadline of an invocation of the unit that started
// at start: start plus the resolved Timeout, or platform when the platform
// stops the invocation earlier (a Cloud Run request timeout, Azure's
// functionTimeout, Lambda's deadline); a zero platform means the platform
// does not say. Adapters give each invocation's context this deadline, so
// that a handler sees its own unit's timeout whatever the platform allows.
func (s Sizing) Deadline(start, platform time.Time) time.Time {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := start.Add(timeout)
	if !platform.IsZero() && platform.Before(d) {
		return platform
	}
	return d
}

// sizingJSON is the manifest form of Sizing: the timeout as a Go duration
// string ("10s", "1m0s").
type sizingJSON struct {
	MemoryMiB              int    `json:"memoryMiB,omitempty"`
	Timeout                string `json:"timeout,omitempty"`
	Arch                   Arch   `json:"arch,omitempty"`
	MaxConcurrency         int    `json:"maxConcurrency,omitempty"`
	WarmInstances          int    `json:"warmInstances,omitempty"`
	MaxInstances           int    `json:"maxInstances,omitempty"`
	PerInstanceConcurrency int    `json:"perInstanceConcurrency,omitempty"`
}

// MarshalJSON writes the manifest form.
func (s Sizing) MarshalJSON() ([]byte, error) {
	j := sizingJSON{MemoryMiB: s.MemoryMiB, Arch: s.Arch, MaxConcurrency: s.MaxConcurrency,
		WarmInstances: s.WarmInstances, MaxInstances: s.MaxInstances, PerInstanceConcurrency: s.PerInstanceConcurrency}
	if s.Timeout != 0 {
		j.Timeout = s.Timeout.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the manifest form and validates it.
func (s *Sizing) UnmarshalJSON(b []byte) error {
	var j sizingJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := Sizing{MemoryMiB: j.MemoryMiB, Arch: j.Arch, MaxConcurrency: j.MaxConcurrency,
		WarmInstances: j.WarmInstances, MaxInstances: j.MaxInstances, PerInstanceConcurrency: j.PerInstanceConcurrency}
	if j.Timeout != "" {
		d, err := time.ParseDuration(j.Timeout)
		if err != nil {
			return Errorf(InvalidArgument, "core: sizing: %v", err)
		}
		out.Timeout = d
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*s = out
	return nil
}

// Size declares the sizing of the app's HTTP routes, one deployment unit
// on every cloud; an app that does not call it gets the defaults. Event
// functions are sized apart, with SizeFunc: a worker that resizes images
// and a route that answers in milliseconds need different memory and
// timeouts, and each is its own unit. Size panics on a value Validate
// rejects, a programmer error at start-up.
func (a *App) Size(s Sizing) {
	if err := s.Validate(); err != nil {
		panic(fmt.Sprintf("core: app %s: %v", a.name, err))
	}
	a.sizing = &s
}

// SizeFunc declares the sizing of the event function name, declared
// before with On; a function not sized gets the defaults, not the app's
// Size. Sizing is a call of its own rather than an argument of On because
// it is deployment configuration, not wiring: On keeps its signature, and
// the sizes of an app's units read together, beside its Alarms. SizeFunc
// panics on an undeclared function or a value Validate rejects.
func (a *App) SizeFunc(name string, s Sizing) {
	i, ok := a.eventByID[name]
	if !ok {
		panic(fmt.Sprintf("core: app %s: SizeFunc(%q): no such event function (declare it with On first)", a.name, name))
	}
	if err := s.Validate(); err != nil {
		panic(fmt.Sprintf("core: app %s, event function %s: %v", a.name, name, err))
	}
	a.events[i].Sizing = &s
}

// Sizing returns the declared sizing of the app's HTTP routes, or the zero
// Sizing (every default).
func (a *App) Sizing() Sizing {
	if a.sizing == nil {
		return Sizing{}
	}
	return *a.sizing
}

// DeclaredSizing returns the function's declared sizing (App.SizeFunc), or
// the zero Sizing (every default), as App.Sizing does for the HTTP routes:
// an adapter reads the deadline of each invocation from it.
func (f EventFunc) DeclaredSizing() Sizing {
	if f.Sizing == nil {
		return Sizing{}
	}
	return *f.Sizing
}
