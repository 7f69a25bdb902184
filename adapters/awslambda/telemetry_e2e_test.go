package awslambda_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/polyfn/polyfn/internal/emulators"
	"github.com/polyfn/polyfn/telemetry/emf/emftest"
)

// TestOrdersTelemetryEndToEnd delivers an SQS batch to the -tags aws
// orders bootstrap: each recorded order is logged on standard error as a
// Lambda JSON line with the invocation's request id, and the invocation's
// metrics are written on standard output as EMF: one invocation per message,
// the invalid one an error, and the batch's failure.
func TestOrdersTelemetryEndToEnd(t *testing.T) {
	stdout, stderr := &emulators.SyncBuffer{}, &emulators.SyncBuffer{}
	s := serveTo(t, "orders", stdout, stderr, "ORDERS_BUCKET_URL="+fileURL(t.TempDir()))
	message := func(id, body string) events.SQSMessage {
		return events.SQSMessage{MessageId: id, Body: body, EventSource: "aws:sqs", AWSRegion: "us-east-2",
			EventSourceARN: "arn:aws:sqs:us-east-2:123456789012:orders",
			Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"}}
	}
	payload, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{
		message("m-1", `{"id":"t-1","customer":"c-1","items":[{"sku":"a","quantity":1}],"total":5}`),
		message("m-2", `{"id":"t-2","customer":"","items":[]}`),
		message("m-3", `{"id":"t-3","customer":"c-3","items":[{"sku":"b","quantity":2}],"total":7.5}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r, err := s.Invoke(ctx, payload)
	if err != nil || r.FunctionError != "" {
		t.Fatalf("%v: %s", err, r.Payload)
	}

	checker := emftest.NewChecker(t, filepath.Join("..", "..", emftest.SchemaPath))
	metrics := map[string]float64{}
	for deadline := time.Now().Add(10 * time.Second); metrics["Invocations"] < 3 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		clear(metrics)
		for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			if line == "" {
				continue
			}
			doc := checker.Check(t, line)
			for k, v := range doc {
				if n, ok := v.(float64); ok && doc["FunctionName"] == "orders" {
					if code, ok := doc["ErrorCode"].(string); ok {
						k += " " + code
					}
					metrics[k] += n
				}
			}
		}
	}
	want := map[string]float64{"Invocations": 3, "Errors invalid-argument": 1, "BatchItemFailures": 1, "ColdStarts": 1}
	for k, v := range want {
		if metrics[k] != v {
			t.Errorf("EMF %s = %v, want %v (all: %v)", k, metrics[k], v, metrics)
		}
	}

	// Standard error reaches its buffer through a pipe of its own.
	for deadline := time.Now().Add(10 * time.Second); strings.Count(stderr.String(), `"requestId"`) < 3 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	var recorded, failed []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue // the server's log
		}
		if strings.Contains(line, `"_aws"`) {
			t.Errorf("an EMF line on standard error: %s", line)
		}
		var l struct {
			Level, Message, RequestID, TraceID string
			OrderID                            string `json:"order_id"`
			EventID                            string `json:"event_id"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %s: %v", line, err)
		}
		if l.RequestID != r.RequestID || !strings.HasPrefix(l.TraceID, "1-") {
			t.Errorf("line %s, want requestId %s and an X-Ray traceId", line, r.RequestID)
		}
		switch {
		case l.Message == "orders: recorded" && l.Level == "INFO":
			recorded = append(recorded, l.OrderID)
		case l.Level == "ERROR":
			failed = append(failed, l.EventID)
		}
	}
	if strings.Join(recorded, " ") != "t-1 t-3" || strings.Join(failed, " ") != "m-2" {
		t.Errorf("logged: orders %v recorded, events %v failed; want t-1 t-3, m-2", recorded, failed)
	}
}
