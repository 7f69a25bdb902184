package awslambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
)

// Options configure New and Run. A nil *Options means the defaults.
type Options struct {
	// Env reads the variables of the app's triggers, whose URLs route
	// events to functions; default os.Getenv. Run sets it to the app's
	// resolved environment.
	Env core.Env
	// Logger receives a record of each failed event; default slog.Default().
	Logger *slog.Logger
	// ReplyMargin is how long before Lambda's deadline the function's
	// context ends, so that a partial-batch reply still reaches Lambda when a
	// handler overruns (a reply after the deadline is lost, and Lambda then
	// retries the whole batch). Default 200ms; negative means none.
	ReplyMargin time.Duration
	// CloseTimeout bounds the app's close hooks once Run's context ends;
	// default 500ms, since Lambda sends SIGKILL about 500 ms after SIGTERM.
	CloseTimeout time.Duration
	// Unit is the deployment unit the Handler serves (core.UnitName):
	// the app's name for its HTTP routes alone, "<app>-<function>" for one
	// event function alone; any other payload is refused with an error.
	// Default $POLYFN_UNIT (core.UnitEnv), which polyfn build sets on each
	// Lambda; empty for every unit: the routes and all event functions.
	Unit string
}

const (
	defaultReplyMargin  = 200 * time.Millisecond
	defaultCloseTimeout = 500 * time.Millisecond
)

// Handler serves one App on AWS Lambda. It implements aws-lambda-go's
// lambda.Handler; create one with New, or let Run make and serve it.
type Handler struct {
	http     http.Handler
	router   router
	log      *slog.Logger
	margin   time.Duration
	function string
	unit     unit
}

var _ lambda.Handler = (*Handler)(nil)

// New returns the Handler of apps, which must be exactly one app: Lambda
// runs one app per function. It has no side effects; the caller runs the
// app's init hooks before the Handler serves an invocation. It fails when
// Options.Unit names no unit of the app, listing those there are.
func New(apps []*core.App, opts *Options) (*Handler, error) {
	app, err := oneApp(apps)
	if err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Unit == "" {
		o.Unit = os.Getenv(core.UnitEnv)
	}
	u, err := unitOf(app, o.Unit)
	if err != nil {
		return nil, err
	}
	if o.Env == nil {
		o.Env = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case o.ReplyMargin == 0:
		o.ReplyMargin = defaultReplyMargin
	case o.ReplyMargin < 0:
		o.ReplyMargin = 0
	}
	function := lambdacontext.FunctionName // AWS_LAMBDA_FUNCTION_NAME
	if function == "" {
		function = app.Name()
	}
	r := newRouter(u.functions(app), o.Env)
	if u.function != nil {
		// One function's unit takes its own schedule's events only.
		r.nameTimers()
	}
	return &Handler{
		http: app.HTTPHandler(), router: r, log: o.Logger,
		margin: o.ReplyMargin, function: function, unit: u,
	}, nil
}

// Invoke handles one invocation: payload is the event JSON Lambda delivered,
// the reply is the JSON Lambda returns to the caller (API Gateway, the ALB,
// an event source mapping). A payload that is malformed or of an unknown
// shape, and an event batch that fails as a whole, return an error: the
// runtime reports it to Lambda as the invocation's function error.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	start := time.Now()
	p, s, err := probe(payload)
	if err != nil {
		return nil, h.functionError(err)
	}
	return h.invokeProbed(ctx, payload, start, p, s)
}

// invokeProbed is Invoke once the payload, which arrived at start, is
// probed: p of shape s.
func (h *Handler) invokeProbed(ctx context.Context, payload []byte, start time.Time, p *payload, s shape) ([]byte, error) {
	if err := h.unit.refuse(s); err != nil {
		return nil, h.functionError(err)
	}
	var (
		evs []core.Event
		err error
	)
	if !s.isHTTP() {
		// Decoded before the invocation's context, whose deadline is their
		// function's; a record that does not decode still fails inside it.
		evs, err = h.decodeEvents(ctx, p, s)
	}
	ctx, cancel := h.invocation(ctx, payload, start, p, s, evs)
	defer cancel()
	var reply []byte
	switch {
	case err != nil:
	case s.isHTTP():
		reply, err = h.serveHTTP(ctx, p, s)
	default:
		reply, err = h.handleEvents(ctx, p, s, evs)
	}
	if err != nil {
		return nil, h.functionError(err)
	}
	return reply, nil
}

// invocation returns the context of one invocation: its metadata
// (core.InvocationFrom), the raw payload (RawEvent, As) and its deadline
// (bound). evs are the events of an event payload.
func (h *Handler) invocation(ctx context.Context, payload []byte, start time.Time, p *payload, s shape, evs []core.Event) (context.Context, context.CancelFunc) {
	inv := h.invocationOf(ctx)
	h.bound(inv, start, p, s, evs)
	inv.ColdStart = core.ColdStart()
	ctx = context.WithValue(ctx, rawKey{}, payload)
	return core.WithInvocation(telemetry.WithInvocationLog(ctx), inv)
}

// invocationOf reads an invocation's metadata from the context that
// aws-lambda-go's runtime loop made from the Runtime API's headers.
func (h *Handler) invocationOf(ctx context.Context) *core.Invocation {
	inv := &core.Invocation{Cloud: core.CloudAWS, Function: h.function, Trace: traceFrom(ctx)}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		inv.ID = lc.AwsRequestID
	}
	if d, ok := ctx.Deadline(); ok {
		inv.Deadline = d.Add(-h.margin)
	}
	return inv
}

// bound sets the invocation's deadline (inv.Deadline, Lambda's less
// ReplyMargin when it has one) to the declared timeout after start of what
// the invocation runs, when that is earlier: a unit's Handler its unit's;
// one serving every unit the routes' for an HTTP payload and, for the
// events evs, the sizing of the function they are routed to. A batch (SQS,
// a DynamoDB stream) comes from one queue or stream, the trigger of one
// function, so its first event names the function whose sizing applies.
// When several functions take the event, which run in turn in the one
// invocation, it lasts as long as the latest of their deadlines; when none
// does, the invocation fails with the routing error and Lambda's deadline
// stands.
func (h *Handler) bound(inv *core.Invocation, start time.Time, p *payload, s shape, evs []core.Event) {
	if h.unit.name != "" || s.isHTTP() {
		inv.Deadline = h.unit.sizing.Deadline(start, inv.Deadline)
		return
	}
	if len(evs) == 0 {
		return
	}
	fns, err := h.router.route(routedAs(evs[0], p.scheduledFunction(s)))
	if err != nil {
		return
	}
	var d time.Time
	for _, fn := range fns {
		if fd := fn.DeclaredSizing().Deadline(start, inv.Deadline); fd.After(d) {
			d = fd
		}
	}
	inv.Deadline = d
}

// traceKey is the context key under which aws-lambda-go stores the
// invocation's Lambda-Runtime-Trace-Id header: a plain string, by its design.
const traceKey = "x-amzn-trace-id"

// traceFrom reads the X-Ray trace header the runtime received
// ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1").
func traceFrom(ctx context.Context) core.Trace {
	raw, _ := ctx.Value(traceKey).(string)
	return parseXRay(raw)
}

func parseXRay(raw string) core.Trace {
	t, _ := core.ParseXRay(raw)
	return t
}

type rawKey struct{}

// RawEvent returns a copy of the payload Lambda delivered for the current
// invocation, exactly as received: the API Gateway, ALB, S3, SQS, SNS,
// EventBridge or DynamoDB event JSON. It reaches what polyfn does not map
// (an IAM caller's ARN, an S3 object's sequencer). ok is false outside an
// invocation of this adapter.
func RawEvent(ctx context.Context) (json.RawMessage, bool) {
	raw, ok := ctx.Value(rawKey{}).([]byte)
	if !ok {
		return nil, false
	}
	return bytes.Clone(raw), true
}

// As decodes the current invocation's payload into target, a pointer to an
// event type of github.com/aws/aws-lambda-go/events such as
// *events.APIGatewayV2HTTPRequest or *events.SQSEvent. It reports whether
// there was a payload and it decoded.
func As(ctx context.Context, target any) bool {
	raw, ok := ctx.Value(rawKey{}).([]byte)
	return ok && json.Unmarshal(raw, target) == nil
}

// failure is what Lambda is told about a failed event.
type failure struct {
	// errorType is the function error's type, which Lambda records in
	// CloudWatch, in on-failure destination records and in the Invoke API's
	// answer.
	errorType string
	// transient is true when redelivery may succeed. Lambda redelivers every
	// failed event either way (it gives a function no way to dead-letter one
	// event by itself, so reporting the failure is the only way not to lose
	// it): a permanent failure is logged as an error that redelivery will not
	// fix, and reaches the dead-letter queue or on-failure destination after
	// the retries.
	transient bool
}

// byCode is the adapter's one table from error code to Lambda behaviour.
// A failed SQS or DynamoDB record is reported in batchItemFailures; any other
// failed event fails the invocation, and Lambda retries it (twice for
// asynchronous invocations, then its on-failure destination).
var byCode = map[core.Code]failure{
	core.Unknown:              {"Polyfn.Unknown", true},
	core.InvalidArgument:      {"Polyfn.InvalidArgument", false},
	core.Unauthenticated:      {"Polyfn.Unauthenticated", false},
	core.PermissionDenied:     {"Polyfn.PermissionDenied", false},
	core.NotFound:             {"Polyfn.NotFound", false},
	core.AlreadyExists:        {"Polyfn.AlreadyExists", false},
	core.Aborted:              {"Polyfn.Aborted", true},
	core.FailedPrecondition:   {"Polyfn.FailedPrecondition", false},
	core.TooLarge:             {"Polyfn.TooLarge", false},
	core.UnsupportedMediaType: {"Polyfn.UnsupportedMediaType", false},
	core.ResourceExhausted:    {"Polyfn.ResourceExhausted", true},
	core.Canceled:             {"Polyfn.Canceled", true},
	core.DeadlineExceeded:     {"Polyfn.DeadlineExceeded", true},
	core.Unimplemented:        {"Polyfn.Unimplemented", false},
	core.Unavailable:          {"Polyfn.Unavailable", true},
	core.Internal:             {"Polyfn.Internal", true},
}

func failureFor(err error) failure {
	if f, ok := byCode[core.CodeOf(err)]; ok {
		return f
	}
	return byCode[core.Internal]
}

// functionError turns err into the error aws-lambda-go reports to Lambda:
// its type from the table, its message the error's text for client errors
// (the caller's input was wrong) and only the code otherwise, since internal
// text never leaves the function; the log has it.
func (h *Handler) functionError(err error) error {
	code := core.CodeOf(err)
	msg := err.Error()
	if !code.IsClientError() {
		msg = fmt.Sprintf("awslambda: the invocation failed (%s); see the function's log", code)
	}
	return messages.InvokeResponse_Error{Type: failureFor(err).errorType, Message: msg}
}
