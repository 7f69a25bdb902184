package awslambda

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/polyfn/polyfn/core"
)

// The Runtime API's headers on an invocation (GET …/runtime/invocation/next).
const (
	HeaderRequestID     = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadline      = "Lambda-Runtime-Deadline-Ms"
	HeaderTraceID       = "Lambda-Runtime-Trace-Id"
	HeaderFunctionARN   = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderClientContext = "Lambda-Runtime-Client-Context"
	HeaderCognito       = "Lambda-Runtime-Cognito-Identity"
	HeaderTenantID      = "Lambda-Runtime-Aws-Tenant-Id"
)

// RuntimeContext returns the context that aws-lambda-go's runtime loop
// passes to Invoke for an invocation the Runtime API announced with header:
// the request id, function ARN, client context and Cognito identity in
// lambdacontext, the X-Ray trace header under the loop's own key, and the
// deadline (epoch milliseconds) as the context's deadline. Unlike the loop,
// it accepts a header without a deadline (the context then has none), so
// that a payload can be decoded without one. The cancel function must be
// called.
func RuntimeContext(ctx context.Context, header http.Header) (context.Context, context.CancelFunc, error) {
	lc := &lambdacontext.LambdaContext{
		AwsRequestID:       header.Get(HeaderRequestID),
		InvokedFunctionArn: header.Get(HeaderFunctionARN),
		TenantID:           header.Get(HeaderTenantID),
	}
	if cc := header.Get(HeaderClientContext); cc != "" {
		if err := json.Unmarshal([]byte(cc), &lc.ClientContext); err != nil {
			return nil, nil, fmt.Errorf("awslambda: %s is not the JSON of a client context: %v", HeaderClientContext, err)
		}
	}
	if id := header.Get(HeaderCognito); id != "" {
		if err := json.Unmarshal([]byte(id), &lc.Identity); err != nil {
			return nil, nil, fmt.Errorf("awslambda: %s is not the JSON of a Cognito identity: %v", HeaderCognito, err)
		}
	}
	cancel := context.CancelFunc(func() {})
	if ms := header.Get(HeaderDeadline); ms != "" {
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("awslambda: %s %q is not a time in epoch milliseconds", HeaderDeadline, ms)
		}
		ctx, cancel = context.WithDeadline(ctx, time.UnixMilli(n))
	}
	ctx = lambdacontext.NewContext(ctx, lc)
	//nolint:staticcheck // aws-lambda-go's own key, a plain string by its design
	ctx = context.WithValue(ctx, traceKey, header.Get(HeaderTraceID))
	return ctx, cancel, nil
}

// Decode decodes one invocation as Invoke does, with the same code, and
// returns what the app would receive instead of running it: the HTTP request
// (with API Gateway's request id) or the batch of events, and the
// invocation's metadata from ctx (see RuntimeContext). No function runs,
// so any event is returned, whether a function takes it or not; the
// deadline is the one Invoke gives (the declared timeout of the function
// the events are routed to, when one is), read, not awaited. A payload
// Invoke would refuse gives the same error, with the code InvalidArgument.
func (h *Handler) Decode(ctx context.Context, payload []byte) (*core.Delivery, error) {
	start := time.Now()
	p, s, err := probe(payload)
	if err != nil {
		return nil, err
	}
	inv := h.invocationOf(ctx)
	if !s.isHTTP() {
		evs, err := h.decodeEvents(ctx, p, s)
		if err != nil {
			return nil, err
		}
		h.bound(inv, start, p, s, evs)
		return &core.Delivery{Invocation: *inv, Events: evs}, nil
	}
	h.bound(inv, start, p, s, nil)
	d := &core.Delivery{Invocation: *inv}
	if d.Request, err = p.request(ctx, s); err != nil {
		return nil, err
	}
	d.RequestID = p.RequestContext.RequestID
	return d, nil
}
