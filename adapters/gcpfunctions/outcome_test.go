package gcpfunctions

import (
	"net/http"
	"slices"
	"testing"

	"github.com/polyfn/polyfn/core"
)

// TestStatusTable covers every code: client errors are acknowledged with 202
// and never redelivered; every other failure gets a status that Pub/Sub push,
// Eventarc (standard and Advanced) and Cloud Scheduler all retry.
func TestStatusTable(t *testing.T) {
	want := map[core.Code]int{
		core.Unknown:              500,
		core.InvalidArgument:      202,
		core.Unauthenticated:      202,
		core.PermissionDenied:     202,
		core.NotFound:             202,
		core.AlreadyExists:        202,
		core.Aborted:              409,
		core.FailedPrecondition:   202,
		core.TooLarge:             202,
		core.UnsupportedMediaType: 202,
		core.ResourceExhausted:    429,
		core.Canceled:             503,
		core.DeadlineExceeded:     504,
		core.Unimplemented:        202,
		core.Unavailable:          503,
		core.Internal:             500,
	}
	retriedEverywhere := []int{408, 409, 429, 500, 502, 503, 504} // Eventarc Advanced's transient statuses
	for _, code := range core.Codes() {
		s, ok := byCode[code]
		if !ok {
			t.Errorf("byCode has no entry for %v", code)
			continue
		}
		if s != want[code] {
			t.Errorf("byCode[%v] = %d, want %d", code, s, want[code])
		}
		if redelivered(s) == code.IsClientError() {
			t.Errorf("%v: redelivered = %v, want %v", code, redelivered(s), !code.IsClientError())
		}
		if redelivered(s) && !slices.Contains(retriedEverywhere, s) {
			t.Errorf("%v: status %d is not retried by Eventarc Advanced", code, s)
		}
	}
	if got := statusFor(core.Code(99)); got != http.StatusInternalServerError {
		t.Errorf("statusFor(unknown code) = %d, want 500", got)
	}
}
