package gcpfunctions

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/polyfn/polyfn/core"
)

// byCode is the adapter's one table from error code to the status an
// event function answers with, and so to what Eventarc, a Pub/Sub push
// subscription or Cloud Scheduler does next.
//
// A non-2xx status makes them redeliver the event with backoff. The retry
// statuses are ones that every sender retries: Pub/Sub push (and Eventarc
// standard, which rides on it) retries any non-2xx status, Eventarc Advanced
// only 408, 409, 429, 500, 502, 503 and 504.
//
// 202 Accepted acknowledges an event that failed for good: the same input
// would fail the same way, and a poison message must not be redelivered until
// its retention runs out. The failure is logged at error level instead.
var byCode = map[core.Code]int{
	core.Unknown:           http.StatusInternalServerError,
	core.Internal:          http.StatusInternalServerError,
	core.Unavailable:       http.StatusServiceUnavailable,
	core.DeadlineExceeded:  http.StatusGatewayTimeout,
	core.Canceled:          http.StatusServiceUnavailable, // 499 is retried by Pub/Sub only
	core.Aborted:           http.StatusConflict,
	core.ResourceExhausted: http.StatusTooManyRequests,

	core.InvalidArgument:      http.StatusAccepted,
	core.Unauthenticated:      http.StatusAccepted,
	core.PermissionDenied:     http.StatusAccepted,
	core.NotFound:             http.StatusAccepted,
	core.AlreadyExists:        http.StatusAccepted,
	core.FailedPrecondition:   http.StatusAccepted,
	core.TooLarge:             http.StatusAccepted,
	core.UnsupportedMediaType: http.StatusAccepted,
	core.Unimplemented:        http.StatusAccepted,
}

// statusFor returns the status for a failure with code; a code missing from
// the table is retried like Internal.
func statusFor(code core.Code) int {
	if s, ok := byCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// redelivered reports whether a status makes the sender redeliver the event.
func redelivered(status int) bool { return status < 200 || status > 299 }

// failed logs the failure of one event and returns the status to answer
// with and a short reason for the sender. The reason never carries the
// error's text: the error is in the log.
func failed(ctx context.Context, fn, id, nativeType string, err error) (int, string) {
	code := core.CodeOf(err)
	status := statusFor(code)
	attrs := []any{
		slog.String("function", fn), slog.String("event_id", id), slog.String("event_type", nativeType),
		slog.String("code", code.String()), slog.Int("status", status), slog.Any("error", err),
	}
	if redelivered(status) {
		slog.WarnContext(ctx, "gcpfunctions: event failed; redelivery requested", attrs...)
		return status, fmt.Sprintf("gcpfunctions: event %q failed (%s); redeliver", id, code)
	}
	slog.ErrorContext(ctx, "gcpfunctions: event failed for good; acknowledged so it is not redelivered", attrs...)
	return status, fmt.Sprintf("gcpfunctions: event %q failed for good (%s); acknowledged", id, code)
}
