package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// cloudLoggingLine is a structured log line as Cloud Logging reads it from
// a Cloud Run instance's output.
type cloudLoggingLine struct {
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Trace    string `json:"logging.googleapis.com/trace"`
	SpanID   string `json:"logging.googleapis.com/spanId"`
	Sampled  *bool  `json:"logging.googleapis.com/trace_sampled"`
	Labels   struct {
		ExecutionID string `json:"execution_id"`
		Function    string `json:"function"`
	} `json:"logging.googleapis.com/labels"`
	HTTPRequest *struct {
		RequestMethod string `json:"requestMethod"`
		RequestURL    string `json:"requestUrl"`
	} `json:"httpRequest"`
	OrderID string `json:"order_id"`
}

// awaitLogLine waits for the line of c's output that match accepts: each
// JSON line is decoded (a line that is not JSON fails the test).
func awaitLogLine(t *testing.T, c *child, match func(cloudLoggingLine) bool) cloudLoggingLine {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(c.logs.String(), "\n") {
			if !strings.HasPrefix(line, "{") {
				continue
			}
			var l cloudLoggingLine
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("log line %s: %v", line, err)
			}
			if match(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no such log line within 10s")
		}
	}
}

// TestUsersLogsTraceEndToEnd sends the -tags gcp users function a request
// with a traceparent that fails on the server (a stored user that does not
// decode): the line logging the failure carries the trace, qualified with
// the project, the span, the execution id and the request.
func TestUsersLogsTraceEndToEnd(t *testing.T) {
	const (
		traceID = "0af7651916cd43dd8448eb211c80319c"
		spanID  = "b7ad6b7169203331"
		exec    = "exec-e2e-trace"
		broken  = "6c792c37-a1d3-4387-a78a-267a711a9c3e"
	)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "users"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users", broken+".json"), []byte(`{"id":`), 0o644); err != nil {
		t.Fatal(err)
	}
	iss := authtest.NewIssuer(t)
	c := startFunction(t, "users", "users", usersEnv(dir, iss, "GOOGLE_CLOUD_PROJECT=e2e-project")...)
	status, body := do(t, newRequest(t, http.MethodGet, c.url+"/users/"+broken, nil,
		"Authorization", iss.Bearer(t, "ada", "users:read"), "Function-Execution-Id", exec,
		"Traceparent", "00-"+traceID+"-"+spanID+"-01"))
	if status != http.StatusInternalServerError {
		t.Fatalf("GET of an undecodable user: %d %s, want 500", status, body)
	}
	l := awaitLogLine(t, c, func(l cloudLoggingLine) bool { return l.Labels.ExecutionID == exec })
	if l.Severity != "ERROR" || l.Message != "request failed" {
		t.Errorf("line %+v, want the ERROR request failed", l)
	}
	if want := "projects/e2e-project/traces/" + traceID; l.Trace != want || l.SpanID != spanID || l.Sampled == nil || !*l.Sampled {
		t.Errorf("trace %q, span %q, sampled %v; want %s, %s, true", l.Trace, l.SpanID, l.Sampled, want, spanID)
	}
	if l.Labels.Function != "users" || l.HTTPRequest == nil || l.HTTPRequest.RequestMethod != "GET" ||
		!strings.HasSuffix(l.HTTPRequest.RequestURL, "/users/"+broken) {
		t.Errorf("labels %+v, httpRequest %+v; want the users function's GET /users/%s", l.Labels, l.HTTPRequest, broken)
	}
	c.stop(t)
}

// TestOrdersLogsTraceEndToEnd delivers the -tags gcp orders function a
// Pub/Sub CloudEvent with a traceparent extension: its "recorded" line
// carries the trace, bare when no project is set, and the event's id.
func TestOrdersLogsTraceEndToEnd(t *testing.T) {
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		spanID  = "00f067aa0ba902b7"
	)
	c := startFunction(t, "orders", "record-order", "ORDERS_BUCKET_URL="+fileBucket(t.TempDir()),
		"GOOGLE_CLOUD_PROJECT=", "GCP_PROJECT=", "GCLOUD_PROJECT=")
	order := `{"id":"T-1","customer":"Ada","items":[{"sku":"TEA-01","quantity":2}],"total":9.5}`
	data := []byte(`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(order)) +
		`","messageId":"m-trace","publishTime":"2026-11-21T10:30:00Z"},"subscription":"projects/p/subscriptions/orders"}`)
	body, headers := binaryMode(typePublish, topicSource, "", "application/json", data)
	headers = append(headers, "Ce-Traceparent", "00-"+traceID+"-"+spanID+"-00")
	if status, resp := do(t, newRequest(t, http.MethodPost, c.url+"/", body, headers...)); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	l := awaitLogLine(t, c, func(l cloudLoggingLine) bool { return l.OrderID == "T-1" })
	if l.Severity != "INFO" || l.Trace != traceID || l.SpanID != spanID || l.Sampled == nil || *l.Sampled {
		t.Errorf("line %+v, want INFO with trace %s, span %s, not sampled", l, traceID, spanID)
	}
	if l.Labels.ExecutionID != "evt-b" || l.Labels.Function != "record-order" || l.HTTPRequest != nil {
		t.Errorf("labels %+v, httpRequest %+v; want the event's id and no request", l.Labels, l.HTTPRequest)
	}
	c.stop(t)
}

// TestOrdersLogsFailureUnderRequestTraceEndToEnd delivers the -tags gcp
// orders function a poison Pub/Sub CloudEvent in binary mode, as Eventarc
// does, with the request's traceparent header, which Cloud Run sets, and
// the producer's trace in its ce-traceparent: the line logging the
// acknowledged failure is filed under the request's trace, qualified with
// the project, not under the producer's.
func TestOrdersLogsFailureUnderRequestTraceEndToEnd(t *testing.T) {
	const (
		requestTrace = "0af7651916cd43dd8448eb211c80319c"
		requestSpan  = "b7ad6b7169203331"
		producer     = "4bf92f3577b34da6a3ce929d0e0e4736"
	)
	c := startFunction(t, "orders", "record-order", "ORDERS_BUCKET_URL="+fileBucket(t.TempDir()),
		"GOOGLE_CLOUD_PROJECT=e2e-project")
	poison := `{"id":"P-1"}` // no customer, items or total: invalid for good
	data := []byte(`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(poison)) +
		`","messageId":"m-poison","publishTime":"2026-11-21T10:30:00Z"},"subscription":"projects/e2e-project/subscriptions/orders"}`)
	body, headers := binaryMode(typePublish, topicSource, "", "application/json", data)
	headers = append(headers, "Ce-Traceparent", "00-"+producer+"-00f067aa0ba902b7-01",
		"Traceparent", "00-"+requestTrace+"-"+requestSpan+"-01")
	if status, resp := do(t, newRequest(t, http.MethodPost, c.url+"/", body, headers...)); status != http.StatusAccepted {
		t.Fatalf("status %d: %s, want 202 (acknowledged)", status, resp)
	}
	l := awaitLogLine(t, c, func(l cloudLoggingLine) bool { return strings.Contains(l.Message, "failed for good") })
	if want := "projects/e2e-project/traces/" + requestTrace; l.Trace != want || l.SpanID != requestSpan || l.Sampled == nil || !*l.Sampled {
		t.Errorf("trace %q, span %q, sampled %v; want the request's %s, %s, true", l.Trace, l.SpanID, l.Sampled, want, requestSpan)
	}
	if l.Severity != "ERROR" || l.Labels.ExecutionID != "evt-b" || l.Labels.Function != "record-order" {
		t.Errorf("line %+v, want an ERROR of record-order labelled with the event's id", l)
	}
	c.stop(t)
}
