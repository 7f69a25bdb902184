package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
)

func init() {
	commands["inspect"] = command{summary: "print what a function receives from a cloud's payload, in polyfn's JSON form", run: inspect}
}

const inspectUsage = `Usage: polyfn inspect --cloud aws|gcp|azure [--transport lambda|http|custom-handler]
         --trigger http|object|message|change|timer|stream [--method M] [--url PATH?QUERY]
         [--header 'Name: value']... [--route PATTERN] [--timeout D] [FILE|-]

FILE (default -, standard input) is the body the function process receives:
  aws    (--transport lambda)  the Lambda event; --header gives the Runtime API's
                               headers (Lambda-Runtime-Aws-Request-Id,
                               Lambda-Runtime-Deadline-Ms, Lambda-Runtime-Trace-Id)
  gcp    (--transport http)    the HTTP request's body under the Functions Framework:
                               a plain request, a CloudEvent in binary (ce-* headers)
                               or structured mode, a legacy background event or
                               Pub/Sub push request, a Cloud Scheduler HTTP target
  azure  (--transport custom-handler)  the {"Data","Metadata"} body the host POSTs
                               to --url /<FunctionName>, with the host's headers
         (--transport http)    a request the host forwards or proxies (/api/…)
It runs the adapters' own decoding and prints one JSON object (docs/events.md).
--route, an HTTP route pattern of the app ("GET /users/{id}"), fills route_params.
--timeout is the function's declared timeout (app.Size for the HTTP routes,
app.SizeFunc for an event function; default 30s): the deadline shown is the
invocation's, the earlier of it and the platform's.

`

// transports lists each cloud's transports; the first is the default.
var transports = map[string][]string{
	"aws":   {"lambda"},
	"gcp":   {"http"},
	"azure": {"custom-handler", "http"},
}

// inspectInput is what one inspection decodes.
type inspectInput struct {
	transport string
	trigger   string // http, object, message, change, timer or stream
	method    string // "" when not given
	url       string // "" when not given
	header    http.Header
	body      []byte
	// sizing is the unit's declared sizing (--timeout).
	sizing core.Sizing
	// start is when the inspection began: a deadline that runs from the
	// invocation's start is shown as its length from here.
	start time.Time
}

// inspectors decode an input with one cloud's adapter.
var inspectors = map[string]func(ctx context.Context, in inspectInput) (*core.Delivery, error){
	"aws":   inspectAWS,
	"gcp":   inspectGCP,
	"azure": inspectAzure,
}

// stdin is where FILE "-" is read from; tests replace it.
var stdin io.Reader = os.Stdin

func inspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("polyfn inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, inspectUsage)
		fs.PrintDefaults()
	}
	cloud := fs.String("cloud", "", "the `cloud`: aws, gcp or azure (required)")
	transport := fs.String("transport", "", "how the payload reaches the process: lambda, http or custom-handler (default: the cloud's first)")
	trigger := fs.String("trigger", "", "the function's `trigger`: http, object, message, change, timer or stream (required)")
	method := fs.String("method", "", "the HTTP `method` of the request (default POST)")
	target := fs.String("url", "", "the request's `path` and query (default /; azure custom-handler: /<FunctionName>)")
	route := fs.String("route", "", "an HTTP route `pattern` of the app, whose wildcards fill route_params")
	timeout := fs.Duration("timeout", 0, "the function's declared `timeout`, whole seconds (default 30s)")
	var headers headerList
	fs.Var(&headers, "header", "a request `header` 'Name: value'; repeat for more")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	inspector, ok := inspectors[*cloud]
	if !ok {
		fmt.Fprintf(stderr, "polyfn inspect: --cloud must be aws, gcp or azure, not %q\n", *cloud)
		return errUsage
	}
	if *transport == "" {
		*transport = transports[*cloud][0]
	}
	if !slices.Contains(transports[*cloud], *transport) {
		fmt.Fprintf(stderr, "polyfn inspect: --transport for %s must be %s, not %q\n", *cloud, strings.Join(transports[*cloud], " or "), *transport)
		return errUsage
	}
	if !slices.Contains([]string{"http", "object", "message", "change", "timer", "stream"}, *trigger) {
		fmt.Fprintf(stderr, "polyfn inspect: --trigger must be http, object, message, change, timer or stream, not %q\n", *trigger)
		return errUsage
	}
	if *route != "" && *trigger != "http" {
		fmt.Fprintln(stderr, "polyfn inspect: --route is for --trigger http")
		return errUsage
	}
	sizing := core.Sizing{Timeout: *timeout}
	if err := sizing.Validate(); err != nil {
		fmt.Fprintf(stderr, "polyfn inspect: --timeout %v: %v\n", *timeout, err)
		return errUsage
	}
	body, err := readInput(fs.Arg(0))
	if err != nil {
		return err
	}
	in := inspectInput{transport: *transport, trigger: *trigger, method: *method, url: *target, header: http.Header(headers), body: body,
		sizing: sizing, start: time.Now()}
	d, err := inspector(ctx, in)
	if err != nil {
		return err
	}
	out, err := encodeDelivery(d, in, *route)
	if err != nil {
		return err
	}
	return writeJSON(stdout, out)
}

// readInput reads FILE, or standard input for "-" or none.
func readInput(name string) ([]byte, error) {
	if name == "" || name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// headerList collects --header flags, "Name: value" each, in order.
type headerList http.Header

func (h *headerList) String() string { return "" }

func (h *headerList) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return errors.New(`want "Name: value"`)
	}
	if *h == nil {
		*h = headerList{}
	}
	http.Header(*h).Add(textproto.CanonicalMIMEHeaderKey(name), strings.TrimSpace(value))
	return nil
}

// triggerOf is the trigger of an event function that inspect decodes for,
// by --trigger: it takes every event of its kind. Its variables are never
// read.
func triggerOf(kind string) core.Trigger {
	switch kind {
	case "object":
		return core.ObjectTrigger{Bucket: "INSPECT_BUCKET_URL", Events: core.ObjectKinds}
	case "message":
		return core.MessageTrigger{Subscription: "INSPECT_SUBSCRIPTION_URL"}
	case "change":
		return core.ChangeTrigger{Source: "INSPECT_SOURCE"}
	case "timer":
		return core.TimerTrigger{Schedule: "0 * * * *"}
	case "stream":
		return core.StreamTrigger{Stream: "INSPECT_STREAM_URL"}
	}
	return nil
}

// requestTarget is the method and path?query of the request that carries
// the payload, with defaults.
func requestTarget(in inspectInput) (string, string, error) {
	method, target := in.method, in.url
	if method == "" {
		method = http.MethodPost
	}
	if target == "" {
		target = "/"
	}
	if !methodPattern.MatchString(method) {
		return "", "", fmt.Errorf("--method %q is not an HTTP method", method)
	}
	if _, err := url.ParseRequestURI(target); err != nil || !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \t\r\n") {
		return "", "", fmt.Errorf("--url %q: want a path and query, such as /api/users?id=1", target)
	}
	return method, target, nil
}

var methodPattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
