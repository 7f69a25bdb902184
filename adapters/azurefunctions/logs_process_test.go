package azurefunctions_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// azureLogLine is a log line of the -tags azure build, as written to stdout
// and kept in a default-mode reply's Logs.
type azureLogLine struct {
	Level        string `json:"level"`
	Msg          string `json:"msg"`
	InvocationID string `json:"invocation_id"`
	Function     string `json:"function"`
	TraceID      string `json:"trace_id"`
	OrderID      string `json:"order_id"`
	Code         string `json:"code"`
}

// replyLogs decodes the lines of a reply's Logs, each a JSON object.
func replyLogs(t *testing.T, res *azurefunctionstest.Result) []azureLogLine {
	t.Helper()
	var out []azureLogLine
	for _, l := range res.Logs {
		var line azureLogLine
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q of the reply: %v", l, err)
		}
		out = append(out, line)
	}
	return out
}

// onStdout reports whether the handler's output has a JSON line with the
// invocation id and message of line.
func onStdout(t *testing.T, host *azurefunctionstest.Host, line azureLogLine) bool {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, l := range strings.Split(host.Output(), "\n") {
			var got azureLogLine
			if json.Unmarshal([]byte(l), &got) == nil && got.InvocationID == line.InvocationID && got.Msg == line.Msg {
				return true
			}
		}
	}
	return false
}

// TestLogsEndToEnd runs the -tags azure orders and users handlers as the
// host does: the reply to a default-mode invocation carries the lines the
// function logged with its context in Logs, stamped with the invocation id,
// the function and the trace the host sent; stdout has them too.
func TestLogsEndToEnd(t *testing.T) {
	t.Run("orders, a queue message", func(t *testing.T) {
		host := azurefunctionstest.Start(t, binary(t, "orders"), &azurefunctionstest.Options{
			Env: []string{"ORDERS_BUCKET_URL=file://" + filepath.ToSlash(t.TempDir()) + "?create_dir=true&no_tmp_dir=true"},
		})
		inv := azurefunctionstest.QueueTrigger(azurefunctionstest.QueueMessage{
			ID: "q-logs", Text: `{"id":"o-logs","customer":"c-7","items":[{"sku":"s-1","quantity":2}],"total":9.5}`,
			DequeueCount: 1, InsertionTime: time.Now()})
		inv.Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		res, err := host.Invoke(t.Context(), "record-order", inv)
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("%v %+v", err, res)
		}
		lines := replyLogs(t, res)
		want := azureLogLine{Level: "INFO", Msg: "orders: recorded", InvocationID: res.InvocationID, Function: "record-order",
			TraceID: "0af7651916cd43dd8448eb211c80319c", OrderID: "o-logs"}
		if len(lines) != 1 || lines[0] != want {
			t.Fatalf("Logs %q, want one line %+v", res.Logs, want)
		}
		if !onStdout(t, host, want) {
			t.Errorf("the line is not on stdout:\n%s", host.Output())
		}
	})
	t.Run("users, a failed HTTP request", func(t *testing.T) {
		const broken = "6c792c37-a1d3-4387-a78a-267a711a9c3e"
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "users"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "users", broken+".json"), []byte(`{"id":`), 0o644); err != nil {
			t.Fatal(err)
		}
		iss := authtest.NewIssuer(t)
		host := azurefunctionstest.Start(t, binary(t, "users"), &azurefunctionstest.Options{
			Env: []string{"USERS_BUCKET_URL=file://" + filepath.ToSlash(dir) + "?no_tmp_dir=true",
				"USERS_OIDC_ISSUER=" + iss.URL, "USERS_OIDC_AUDIENCE=" + authtest.Audience},
		})
		req := clientRequest(t, "GET", "https://users.azurewebsites.net/api/users/"+broken, nil,
			http.Header{"Authorization": {iss.Bearer(t, "ada", "users:read")}})
		res, err := host.Invoke(t.Context(), "get-users-id", azurefunctionstest.HTTPTrigger(req, nil))
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("%v %+v", err, res)
		}
		if out, err := res.HTTPOutput(azurefunctions.BindingResponse); err != nil || out.StatusCode != http.StatusInternalServerError {
			t.Fatalf("response %+v (%v), want a 500", out, err)
		}
		var failure *azureLogLine
		for _, l := range replyLogs(t, res) {
			if l.InvocationID != res.InvocationID || l.Function != "get-users-id" {
				t.Errorf("line %+v of the Logs is not of invocation %s", l, res.InvocationID)
			}
			if l.Msg == "request failed" {
				failure = &l
			}
		}
		if failure == nil || failure.Level != "ERROR" || failure.Code != "internal" {
			t.Fatalf("Logs %q, want an ERROR line request failed with code internal", res.Logs)
		}
		if !onStdout(t, host, *failure) {
			t.Errorf("the line is not on the handler's output:\n%s", host.Output())
		}
	})
}
