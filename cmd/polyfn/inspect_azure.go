package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
)

// inspectAzure decodes a request the Functions host sends with the Azure
// adapter's Decode. The handler serves an app of one function: with
// --transport custom-handler, the function --url names, with the trigger
// --trigger gives; otherwise an HTTP route that takes every request.
func inspectAzure(ctx context.Context, in inspectInput) (*core.Delivery, error) {
	method, target, err := requestTarget(in)
	if err != nil {
		return nil, err
	}
	app := core.NewApp("inspect")
	if in.trigger == "http" {
		app.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {})
		app.Size(in.sizing)
	}
	if fn, ok := eventGridTarget(target); ok && in.transport != "custom-handler" && in.trigger != "http" {
		// Event Grid's request to an event function's endpoint, as the
		// host proxies or forwards it.
		if !validFunctionName(fn) {
			return nil, fmt.Errorf("--url: function name %q: polyfn's functions are named with lower-case letters, digits and hyphens, starting with a letter", fn)
		}
		app.On(fn, triggerOf(in.trigger), core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
		app.SizeFunc(fn, in.sizing)
	}
	if in.transport == "custom-handler" {
		if in.header.Get("X-Azure-Functions-Invocationid") == "" {
			return nil, fmt.Errorf("a default-mode invocation carries the host's X-Azure-Functions-InvocationId header: give it with --header")
		}
		path, query, _ := strings.Cut(target, "?")
		name := strings.ToLower(strings.Trim(path, "/"))
		if in.url == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("--url: want /<FunctionName>, the path the host POSTs a default-mode invocation to")
		}
		if in.trigger == "http" {
			// An HTTP function's name only selects it: the request in
			// Data.req is routed by its own path. Every request here goes
			// to the one route, under its function's name.
			names, err := azurefunctions.FunctionNames(app.Routes(), nil)
			if err != nil {
				return nil, err
			}
			name = names[0]
		} else {
			if !validFunctionName(name) {
				return nil, fmt.Errorf("--url: function name %q: polyfn's functions are named with lower-case letters, digits and hyphens, starting with a letter", name)
			}
			app.On(name, triggerOf(in.trigger), core.HandlerFunc(func(context.Context, core.Event) error { return nil }))
			app.SizeFunc(name, in.sizing)
		}
		target = "/" + name
		if query != "" {
			target += "?" + query
		}
	}
	h, err := azurefunctions.New([]*core.App{app}, &azurefunctions.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	r := httptest.NewRequestWithContext(ctx, method, target, bytes.NewReader(in.body))
	for k, vs := range in.header {
		if k == "Host" {
			r.Host = vs[len(vs)-1]
			continue
		}
		r.Header[k] = vs
	}
	// The host's own connection; in default mode the adapter takes the
	// client's address from X-Forwarded-For instead.
	r.RemoteAddr = ""
	return h.Decode(r)
}

// eventGridTarget is the function whose Event Grid endpoint
// (/api/_polyfn/eventgrid/<function>) target names.
func eventGridTarget(target string) (string, bool) {
	path, _, _ := strings.Cut(target, "?")
	_, fn, ok := strings.Cut(path, azurefunctions.EventGridRoute)
	return fn, ok && !strings.Contains(fn, "/")
}

var functionNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// validFunctionName reports whether name is a valid polyfn function name.
func validFunctionName(name string) bool { return functionNamePattern.MatchString(name) }
