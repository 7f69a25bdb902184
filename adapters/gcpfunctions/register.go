package gcpfunctions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/polyfn/polyfn/core"
)

// Options configure New and Run. A nil *Options means the defaults.
type Options struct {
	// Lookup reads the apps' environment; nil means os.LookupEnv.
	Lookup func(key string) (string, bool)
	// Addr is where Run serves, host:port; default ListenAddress(os.Getenv),
	// every interface and $PORT (8080), or POLYFN_ADDR.
	Addr string
	// Drain bounds Run's shutdown once its context ends: the invocations in
	// flight and the apps' close hooks. Default ShutdownTimeout.
	Drain time.Duration
}

// Registration is a set of apps as the Functions Framework's entry points:
// New builds one, Register starts the apps and registers the entry points.
type Registration struct {
	apps        []*core.App
	opts        Options
	entryPoints []entryPoint
	gate        gate
	// decoded, when set, takes each event entry point's decoded delivery
	// instead of the function (RegisterDecoder).
	decoded func(*core.Delivery, error)
}

// registered holds the entry-point names registered in this process: the
// framework's registry is global and exits the process on a duplicate name,
// so Register refuses one first.
var registered = struct {
	sync.Mutex
	names map[string]bool
}{names: map[string]bool{}}

// New returns the Registration of apps, whose functions become entry
// points of the Functions Framework, each under its entry-point name (the
// FUNCTION_TARGET that selects it):
//
//   - an app that declares HTTP routes is one HTTP function named after the
//     app, serving every route;
//   - each event function is an HTTP function named after itself, taking
//     CloudEvents, Pub/Sub push requests and legacy background events;
//   - a timer function is an HTTP function named after itself, taking
//     CloudEvents (Cloud Scheduler through Pub/Sub and Eventarc) and Cloud
//     Scheduler's HTTP-target requests.
//
// It fails when two functions would have the same name. It has no side
// effects: Register starts the apps and registers the entry points.
func New(apps []*core.App, opts *Options) (*Registration, error) {
	r := &Registration{apps: apps}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.Drain <= 0 {
		r.opts.Drain = ShutdownTimeout
	}
	if err := r.build(); err != nil {
		return nil, err
	}
	return r, nil
}

// Register starts the apps and registers their entry points with the
// Functions Framework's registry. Starting an app resolves its environment
// (with Options.Lookup), refusing to start when a required variable is unset
// (naming each), then runs its init hooks. If an app fails to start, the
// apps already started are closed and nothing is registered. Entry-point
// names must be unique across the Registrations of a process.
func (r *Registration) Register(ctx context.Context) error {
	// The lock is held throughout, so that two calls cannot both claim a name.
	registered.Lock()
	defer registered.Unlock()
	if err := checkUnregistered(r.entryPoints); err != nil {
		return err
	}
	envs := make([]core.Env, len(r.apps))
	for i, a := range r.apps {
		env, err := core.ResolveEnv(a, r.opts.Lookup, nil)
		if err != nil {
			return err
		}
		envs[i] = env
	}
	for i, a := range r.apps {
		if err := a.Init(ctx, envs[i]); err != nil {
			return errors.Join(err, closeApps(ctx, r.apps[:i]))
		}
	}
	registerEntryPoints(r.entryPoints)
	return nil
}

// Run runs apps as this process's function until ctx ends: it starts them
// and registers their entry points (New, then Register), and serves the one
// FUNCTION_TARGET names on opts.Addr with the Functions Framework. When
// FUNCTION_TARGET is unset, Run sets it to the only entry point, or refuses
// to serve several. When ctx ends it drains in-flight invocations and
// closes the apps within opts.Drain.
func Run(ctx context.Context, apps []*core.App, opts *Options) error {
	r, err := New(apps, opts)
	if err != nil {
		return err
	}
	host, port, err := r.listenAddress()
	if err != nil {
		return err
	}
	if err := r.Register(ctx); err != nil {
		return err
	}
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.Drain)
		defer cancel()
		return r.Shutdown(sctx)
	}
	if err := chooseTarget(r.EntryPoints()); err != nil {
		return errors.Join(err, shutdown())
	}
	served := make(chan error, 1)
	go func() { served <- funcframework.StartHostPort(host, port) }()
	slog.Info("gcpfunctions: serving", slog.String("function", os.Getenv("FUNCTION_TARGET")),
		slog.String("addr", net.JoinHostPort(host, port)))
	select {
	case err := <-served:
		return errors.Join(fmt.Errorf("gcpfunctions: serving on %s: %w", net.JoinHostPort(host, port), err), shutdown())
	case <-ctx.Done():
		// The framework's server cannot be stopped; the process exits once
		// the invocations have drained, and the gate answers 503 meanwhile.
		return shutdown()
	}
}

// listenAddress is the host and port Run serves on.
func (r *Registration) listenAddress() (host, port string, err error) {
	if r.opts.Addr == "" {
		return ListenAddress(os.Getenv)
	}
	host, port, err = net.SplitHostPort(r.opts.Addr)
	if err != nil {
		return "", "", fmt.Errorf("gcpfunctions: Addr %q: %w", r.opts.Addr, err)
	}
	return host, port, nil
}

// chooseTarget makes sure the framework serves one entry point at "/". Cloud
// Run sets FUNCTION_TARGET; a binary run by hand with a single entry point
// needs none, and one with several must be told which.
func chooseTarget(entryPoints []string) error {
	if os.Getenv("FUNCTION_TARGET") != "" {
		return nil
	}
	if len(entryPoints) == 1 {
		return os.Setenv("FUNCTION_TARGET", entryPoints[0])
	}
	return fmt.Errorf("gcpfunctions: set FUNCTION_TARGET to the entry point to serve, one of: %s", strings.Join(entryPoints, ", "))
}

// checkUnregistered fails when an entry point's name is registered already.
// The caller holds the registered lock.
func checkUnregistered(eps []entryPoint) error {
	for _, ep := range eps {
		if registered.names[ep.name] {
			return fmt.Errorf("gcpfunctions: entry point %q is registered already", ep.name)
		}
	}
	return nil
}

// registerEntryPoints registers eps with the framework. The caller holds
// the registered lock and has checked the names.
func registerEntryPoints(eps []entryPoint) {
	for _, ep := range eps {
		registered.names[ep.name] = true
		functions.HTTP(ep.name, ep.http)
	}
}

// build makes the entry points of the apps, checking that their names are
// unique.
func (r *Registration) build() error {
	seen := map[string]bool{}
	add := func(ep entryPoint) error {
		if seen[ep.name] {
			return fmt.Errorf("gcpfunctions: two functions would be the entry point %q; rename one", ep.name)
		}
		seen[ep.name] = true
		r.entryPoints = append(r.entryPoints, ep)
		return nil
	}
	for _, a := range r.apps {
		if len(a.Routes()) > 0 {
			if err := add(entryPoint{name: a.Name(), http: r.httpFunction(a.Name(), a.Sizing(), a.HTTPHandler())}); err != nil {
				return err
			}
		}
		for _, fn := range a.EventFuncs() {
			ep, err := r.eventEntryPoint(fn)
			if err != nil {
				return err
			}
			if err := add(ep); err != nil {
				return err
			}
		}
	}
	if len(r.entryPoints) == 0 {
		return errors.New("gcpfunctions: the apps declare no HTTP route and no event function")
	}
	return nil
}

// eventEntryPoint makes the entry point of an event function: see
// timerFunction for a timer's, eventFunction for the others'.
func (r *Registration) eventEntryPoint(fn core.EventFunc) (entryPoint, error) {
	ep := entryPoint{name: fn.Name}
	if _, timer := fn.Trigger.(core.TimerTrigger); timer {
		h, err := r.timerFunction(fn)
		if err != nil {
			return entryPoint{}, fmt.Errorf("gcpfunctions: %s: %w", fn.Name, err)
		}
		ep.http = h
	} else {
		ep.http = r.eventFunction(fn)
	}
	return ep, nil
}

// EntryPoints returns the registered entry-point names, in declaration order.
func (r *Registration) EntryPoints() []string {
	names := make([]string, len(r.entryPoints))
	for i, ep := range r.entryPoints {
		names[i] = ep.name
	}
	return names
}

// Shutdown stops admitting invocations (later ones are answered 503, which
// makes event senders redeliver), waits until those running have finished
// or ctx ends, and then closes the apps.
func (r *Registration) Shutdown(ctx context.Context) error {
	drained := r.gate.close(ctx)
	return errors.Join(drained, closeApps(ctx, r.apps))
}

// closeApps closes apps in reverse order.
func closeApps(ctx context.Context, apps []*core.App) error {
	var errs []error
	for _, a := range slices.Backward(apps) {
		errs = append(errs, a.Close(ctx))
	}
	return errors.Join(errs...)
}

// ShutdownTimeout is how long MustRegister, and Run by default, give
// in-flight invocations and the apps' close hooks after SIGTERM: Cloud Run
// kills the instance 10 seconds after sending it.
const ShutdownTimeout = 9 * time.Second

// MustRegister registers apps as New and Register do, for a process whose
// main is not polyfn's: a source bundle's package, imported by the main that
// Google's buildpacks generate. Call it from an init function. It sets the
// default slog logger to NewLogHandler on standard error (level from
// POLYFN_LOG_LEVEL); an app that cannot start ends the process with status
// 1, so the instance fails its start-up; and on SIGTERM it drains in-flight
// invocations, closes the apps and exits.
func MustRegister(apps ...*core.App) {
	slog.SetDefault(slog.New(NewLogHandler(os.Stderr, logLevel())))
	r, err := New(apps, nil)
	if err == nil {
		err = r.Register(context.Background())
	}
	if err != nil {
		slog.Error("gcpfunctions: cannot start", slog.Any("error", err))
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			slog.Error("gcpfunctions: shutting down", slog.Any("error", err))
			os.Exit(1)
		}
		os.Exit(0)
	}()
}

// gate admits invocations until it is closed, and lets the closer wait for
// those admitted. Admission and closing share a lock so that no invocation
// is admitted once the wait has begun.
type gate struct {
	mu      sync.Mutex
	closed  bool
	running sync.WaitGroup
}

func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.running.Add(1)
	return true
}

func (g *gate) leave() { g.running.Done() }

// close stops admission and waits for the running invocations, or for ctx.
func (g *gate) close(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	done := make(chan struct{})
	go func() {
		g.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gcpfunctions: invocations still running at shutdown: %w", ctx.Err())
	}
}
