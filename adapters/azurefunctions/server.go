package azurefunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
)

// DefaultPort is where the handler listens when the host has not set
// FUNCTIONS_CUSTOMHANDLER_PORT, that is when it runs on its own: 7071, the
// port `func start` serves the function app on, so that the same URLs
// (http://127.0.0.1:7071/api/…) reach the routes either way.
const DefaultPort = 7071

// Addr is the address to listen on: 127.0.0.1 and the port the host chose
// (FUNCTIONS_CUSTOMHANDLER_PORT, or FUNCTIONS_HTTPWORKER_PORT from hosts
// that predate the name), else DefaultPort. getenv is os.Getenv when nil.
func Addr(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, k := range []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "FUNCTIONS_HTTPWORKER_PORT"} {
		if p := strings.TrimSpace(getenv(k)); p != "" {
			return net.JoinHostPort("127.0.0.1", p)
		}
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(DefaultPort))
}

// Run runs apps as this process's custom handler until ctx ends: it
// resolves every app's environment, refusing to start when a required
// variable is unset (naming each), runs the apps' init hooks, and serves
// their Handler on opts.Addr. When ctx ends it stops accepting requests,
// drains the invocations in flight for at most opts.Drain, and closes the
// apps that started, last first.
func Run(ctx context.Context, apps []*core.App, opts *Options) error {
	h, err := New(apps, opts)
	if err != nil {
		return err
	}
	addr := ""
	if opts != nil {
		addr = opts.Addr
	}
	if addr == "" {
		addr = Addr(os.Getenv)
	}
	started, err := startApps(ctx, apps)
	if err == nil {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err != nil {
			err = fmt.Errorf("azurefunctions: listen: %w", err)
		} else {
			err = h.Serve(ctx, ln)
		}
	}
	return errors.Join(err, closeApps(context.WithoutCancel(ctx), started))
}

// startApps resolves every app's environment, then runs each app's init
// hooks, and returns the apps that started.
func startApps(ctx context.Context, apps []*core.App) ([]*core.App, error) {
	envs := make([]core.Env, len(apps))
	for i, a := range apps {
		env, err := core.ResolveEnv(a, nil, nil)
		if err != nil {
			return nil, err
		}
		envs[i] = env
	}
	for i, a := range apps {
		if err := a.Init(ctx, envs[i]); err != nil {
			return apps[:i], err
		}
	}
	return apps, nil
}

// closeApps runs the close hooks of apps, last started first.
func closeApps(ctx context.Context, apps []*core.App) error {
	var errs []error
	for _, a := range slices.Backward(apps) {
		errs = append(errs, a.Close(ctx))
	}
	return errors.Join(errs...)
}

// Serve serves h on ln until ctx ends, then stops accepting requests and
// waits up to Options.Drain for the invocations in flight; those still
// running after it see their context canceled. The host polls the address
// until it answers. The caller has run the apps' init hooks.
func (h *Handler) Serve(ctx context.Context, ln net.Listener) error {
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return work },
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	slog.InfoContext(ctx, "azurefunctions: custom handler serving", slog.String("addr", ln.Addr().String()))
	select {
	case err := <-served:
		return fmt.Errorf("azurefunctions: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		cancelWork() // what is still running is abandoned: let it see that
		err = fmt.Errorf("azurefunctions: drain: %w", err)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// HostOptions reads the Options that host.json in dir implies: the route
// prefix (extensions.http.routePrefix) and function timeout
// (functionTimeout). A missing host.json gives the defaults. dir is the
// function app's root: the host passes it in FUNCTIONS_APP_ROOT_PATH.
func HostOptions(dir string) (*Options, error) {
	b, err := os.ReadFile(filepath.Join(dir, "host.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &Options{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("azurefunctions: %w", err)
	}
	var hj struct {
		FunctionTimeout *string `json:"functionTimeout"`
		Extensions      struct {
			HTTP struct {
				RoutePrefix *string `json:"routePrefix"`
			} `json:"http"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(b, &hj); err != nil {
		return nil, fmt.Errorf("azurefunctions: reading %s: %w", filepath.Join(dir, "host.json"), err)
	}
	o := &Options{}
	if p := hj.Extensions.HTTP.RoutePrefix; p != nil {
		o.RoutePrefix = *p
		if strings.Trim(*p, "/") == "" {
			o.RoutePrefix = "/"
		}
	}
	if t := hj.FunctionTimeout; t != nil {
		if o.FunctionTimeout, err = ParseTimeSpan(*t); err != nil {
			return nil, fmt.Errorf("azurefunctions: host.json functionTimeout: %w", err)
		}
	}
	return o, nil
}

// ParseTimeSpan parses a .NET TimeSpan as host.json writes one:
// "[d.]hh:mm:ss[.fffffff]". "-1" (no limit, on plans that allow it) gives 0.
func ParseTimeSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "-1" {
		return 0, nil
	}
	var days int64
	if d, rest, ok := strings.Cut(s, "."); ok && !strings.Contains(d, ":") {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil || n < 0 || n > 100_000 { // a time.Duration holds 292 years

			return 0, fmt.Errorf("%q is not a time span", s)
		}
		days, s = n, rest
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("%q is not a time span like 00:05:00", s)
	}
	h, err1 := strconv.ParseUint(parts[0], 10, 16)
	m, err2 := strconv.ParseUint(parts[1], 10, 8)
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || m > 59 || !(sec >= 0 && sec < 60) {
		return 0, fmt.Errorf("%q is not a time span like 00:05:00", s)
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec*float64(time.Second))
	return d, nil
}
