// Package local is polyfn's embedded runtime: it runs function apps on a
// developer's machine with no cloud and no Docker. HTTP routes are served by a
// real net/http server; object triggers watch local buckets (file://
// directories, so dropping a file in fires the trigger too); message triggers
// receive from any gocloud subscription (in memory by default); timers fire on
// their cron schedules. Resources left unset in the environment get local
// defaults under a data directory.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

// Options configure New and Run. A nil *Options means the defaults, as does
// each zero field.
type Options struct {
	// Addr is the HTTP listen address; default "127.0.0.1:8080". Use
	// "127.0.0.1:0" for a free port (tests).
	Addr string
	// DataDir holds local buckets, dead letters and the development key;
	// default "./.polyfn".
	DataDir string
	// Lookup reads the environment; default os.LookupEnv.
	Lookup func(string) (string, bool)
	// Logger receives the runtime's logs; default slog.Default().
	Logger *slog.Logger
	// PollInterval is how often watched buckets are rescanned in addition
	// to file-system notifications; default 2s.
	PollInterval time.Duration
	// Settle is how long a new object must stay unchanged before its event
	// fires, so that a file still being copied in fires once; default 100ms.
	Settle time.Duration
	// RetryBackoff is the first delay before an event is retried; it
	// doubles per attempt, capped at 30s. Default 200ms.
	RetryBackoff time.Duration
	// OIDCIssuer is the URL of the development OIDC issuer (StartIssuer),
	// the default of variables of kind core.KindOIDCIssuer.
	OIDCIssuer string
	// Metrics, when set, serves GET /_polyfn/metrics: the functions'
	// metrics in the Prometheus text format (telemetry/prom).
	Metrics http.Handler
	// Drain is how long Run waits, once its context ends, for the
	// invocations in flight (see Runtime.Shutdown); default 30s. A negative
	// Drain waits for none: what is in flight is canceled at once.
	Drain time.Duration
}

// Runtime runs apps locally. Make one with New, start it with Start and
// stop it with Shutdown; or let Run do all three.
type Runtime struct {
	opts   Options
	log    *slog.Logger
	apps   []*app
	server *http.Server
	ln     net.Listener
	dead   *deadLetters
	topics topicCache

	// intake stops the sources of new events (watchers, receivers, timers);
	// invocations run on work, which only ends if a drain times out.
	intake       context.Context
	stopIntake   context.CancelFunc
	work         context.Context
	cancelWork   context.CancelFunc
	sources      sync.WaitGroup // goroutines that produce events
	inflight     sync.WaitGroup // event invocations, retries included
	serveErr     chan error
	shutdownOnce sync.Once
	shutdownErr  error
}

// app is one started core.App with its resolved environment.
type app struct {
	*core.App
	env core.Env
}

// New returns a Runtime for apps, configured by opts. It fails when two
// apps have the same name. It has no side effects: Start runs the apps.
func New(apps []*core.App, opts *Options) (*Runtime, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.DataDir == "" {
		o.DataDir = ".polyfn"
	}
	if o.Lookup == nil {
		o.Lookup = os.LookupEnv
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 100 * time.Millisecond
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 200 * time.Millisecond
	}
	if o.Drain == 0 {
		o.Drain = 30 * time.Second
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("local: data directory: %w", err)
	}
	o.DataDir = dir
	rt := &Runtime{opts: o, log: o.Logger, dead: &deadLetters{dir: filepath.Join(dir, "dead-letters")}, serveErr: make(chan error, 1)}
	seen := map[string]bool{}
	for _, a := range apps {
		if seen[a.Name()] {
			return nil, fmt.Errorf("local: two apps named %q", a.Name())
		}
		seen[a.Name()] = true
		rt.apps = append(rt.apps, &app{App: a})
	}
	return rt, nil
}

// Start creates the data directory, resolves each app's environment, runs
// the apps' init hooks, listens on Options.Addr and starts every trigger.
// It returns once the runtime serves. If it fails, the apps that started are
// closed, and the Runtime cannot be started again.
func (rt *Runtime) Start(ctx context.Context) error {
	if rt.intake != nil {
		return errors.New("local: the runtime was started already")
	}
	o, dir := rt.opts, rt.opts.DataDir
	rt.intake, rt.stopIntake = context.WithCancel(context.WithoutCancel(ctx))
	rt.work, rt.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("local: data directory: %w", err)
	}

	d := defaults{dataDir: dir, issuer: o.OIDCIssuer}
	for _, a := range rt.apps {
		env, err := d.resolveEnv(a.App, o.Lookup)
		if err != nil {
			return err
		}
		a.env = env
	}
	started := 0
	fail := func(err error) error {
		rt.stopIntake()
		rt.sources.Wait()
		rt.cancelWork()
		for i := started - 1; i >= 0; i-- {
			_ = rt.apps[i].Close(context.WithoutCancel(ctx))
		}
		return err
	}
	for _, a := range rt.apps {
		if err := a.Init(ctx, a.env); err != nil {
			return fail(err)
		}
		started++
	}

	handler, err := rt.httpHandler()
	if err != nil {
		return fail(err)
	}
	for _, a := range rt.apps {
		if err := rt.startTriggers(ctx, a); err != nil {
			return fail(err)
		}
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fail(fmt.Errorf("local: listen: %w", err))
	}
	rt.ln = ln
	rt.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return rt.work },
	}
	go func() {
		err := rt.server.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		rt.serveErr <- err
	}()
	names := make([]string, len(rt.apps))
	for i, a := range rt.apps {
		names[i] = a.Name()
	}
	rt.log.Info("polyfn local runtime serving", slog.String("addr", "http://"+ln.Addr().String()),
		slog.Any("apps", names), slog.String("data", dir))
	return nil
}

// Addr returns the address the HTTP server listens on.
func (rt *Runtime) Addr() string { return rt.ln.Addr().String() }

// URL returns the base URL of the HTTP server.
func (rt *Runtime) URL() string { return "http://" + rt.Addr() }

// Env returns the resolved environment of the named app, or nil.
func (rt *Runtime) Env(appName string) core.Env {
	for _, a := range rt.apps {
		if a.Name() == appName {
			return a.env
		}
	}
	return nil
}

// Shutdown stops the runtime gracefully: it stops accepting HTTP requests and
// new events, waits for in-flight invocations (HTTP and events, retries
// included) to finish, then closes the apps. If ctx ends first, in-flight
// invocations see their context canceled and Shutdown returns ctx's error
// once they have returned.
func (rt *Runtime) Shutdown(ctx context.Context) error {
	rt.shutdownOnce.Do(func() { rt.shutdownErr = rt.shutdown(ctx) })
	return rt.shutdownErr
}

func (rt *Runtime) shutdown(ctx context.Context) error {
	if rt.server == nil {
		return nil // never started, or its Start failed and closed the apps
	}
	rt.log.Info("polyfn local runtime draining")
	rt.stopIntake()
	httpErr := rt.server.Shutdown(ctx)
	serveErr := <-rt.serveErr

	drained := make(chan struct{})
	go func() {
		rt.sources.Wait()
		rt.inflight.Wait()
		close(drained)
	}()
	var drainErr error
	select {
	case <-drained:
	case <-ctx.Done():
		drainErr = fmt.Errorf("local: drain: %w", ctx.Err())
		rt.cancelWork()
		<-drained
	}
	rt.cancelWork()
	closeCtx := context.WithoutCancel(ctx)
	var closeErr error
	for i := len(rt.apps) - 1; i >= 0; i-- {
		if err := rt.apps[i].Close(closeCtx); err != nil && closeErr == nil {
			closeErr = err
		}
	}
	if err := rt.topics.shutdown(closeCtx); err != nil && closeErr == nil {
		closeErr = err
	}
	rt.log.Info("polyfn local runtime stopped")
	return errors.Join(drainErr, httpErr, serveErr, closeErr)
}

// Run runs apps until ctx ends (wire it to SIGINT and SIGTERM with
// signal.NotifyContext): New, then Start, then Shutdown within opts.Drain.
func Run(ctx context.Context, apps []*core.App, opts *Options) error {
	rt, err := New(apps, opts)
	if err != nil {
		return err
	}
	if err := rt.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-rt.serveErr:
		rt.serveErr <- err // let Shutdown read it too
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(rt.opts.Drain, 0))
	defer cancel()
	return rt.Shutdown(sctx)
}

// newID returns a random 128-bit id in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// invocation returns the context for one invocation of function fn, a
// unit sized sz: its deadline is the unit's timeout from now, as on a cloud
// whose deployment the same declaration configures, or parent's deadline
// when that is earlier.
func (rt *Runtime) invocation(parent context.Context, fn, id string, trace core.Trace, sz core.Sizing) (context.Context, context.CancelFunc) {
	platform, _ := parent.Deadline()
	return core.WithInvocation(telemetry.WithInvocationLog(parent), &core.Invocation{
		ID:        id,
		Cloud:     core.CloudLocal,
		Function:  fn,
		Deadline:  sz.Deadline(time.Now(), platform),
		Trace:     trace,
		ColdStart: core.ColdStart(),
	})
}
