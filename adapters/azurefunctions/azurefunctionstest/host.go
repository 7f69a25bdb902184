// Package azurefunctionstest stands in for the Azure Functions host in
// tests, which cannot run here: it starts a custom handler the way the host
// does, polls it until it answers, and sends it the exact requests the host
// sends in each of its three modes, with payloads encoded by the host's own
// rules (ScriptInvocationContextExtensions; see ../../shared/PROTOCOLS.md §0).
package azurefunctionstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polyfn/polyfn/internal/emulators"
)

// HostVersion is the host version the simulator reports in its headers.
const HostVersion = "4.1040.300.1"

// Options configure Start.
type Options struct {
	// Env is added to the process's environment, after the host's variables.
	Env []string
	// Dir is the function app's root: the working directory and
	// FUNCTIONS_APP_ROOT_PATH. Default: a new temporary directory.
	Dir string
	// ReadyTimeout bounds the wait for the first answer; default 30s, the
	// host's InitializationTimeout.
	ReadyTimeout time.Duration
	// RoutePrefix is host.json's extensions.http.routePrefix; "" means
	// "api" and "/" means no prefix, as in azurefunctions.Options. When Dir
	// has no host.json, Start writes one with this prefix.
	RoutePrefix string
}

// Host is a running custom handler and the host's side of the protocol.
type Host struct {
	// URL is the handler's base URL, http://127.0.0.1:<port>.
	URL string
	// RoutePrefix is the route prefix the simulated host serves HTTP under.
	RoutePrefix string

	client *http.Client
	out    *emulators.SyncBuffer
}

// Start starts the custom handler executable bin as the host does, with
// FUNCTIONS_CUSTOMHANDLER_PORT (and the older FUNCTIONS_HTTPWORKER_PORT)
// set to a free port, and waits until it answers GET /. The process gets
// SIGTERM when the test ends and must exit within 10 seconds.
func Start(t testing.TB, bin string, opts *Options) *Host {
	t.Helper()
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 30 * time.Second
	}
	if err := writeHostJSON(o.Dir, o.RoutePrefix); err != nil {
		t.Fatalf("azurefunctionstest: %v", err)
	}
	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(),
		"FUNCTIONS_CUSTOMHANDLER_PORT="+port,
		"FUNCTIONS_HTTPWORKER_PORT="+port,
		"FUNCTIONS_CUSTOMHANDLER_WORKER_ID="+newID(),
		"FUNCTIONS_APP_ROOT_PATH="+o.Dir,
		"FUNCTIONS_WORKER_RUNTIME=Custom",
	)
	cmd.Env = append(cmd.Env, o.Env...)
	out := &emulators.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("azurefunctionstest: starting %s: %v", bin, err)
	}
	// exited is closed when the process has exited, with its error in
	// waitErr: both the readiness poll and the clean-up wait on it, so it
	// must not be a value only one of them can receive.
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	h := newHost("http://127.0.0.1:"+port, o.RoutePrefix, out)
	t.Cleanup(func() { stop(t, cmd, exited, out) })
	if err := h.waitReady(o.ReadyTimeout, exited, func() error { return waitErr }); err != nil {
		t.Fatalf("azurefunctionstest: %s did not become ready: %v\noutput:\n%s", bin, err, out)
	}
	return h
}

// writeHostJSON writes a host.json with the route prefix into dir, unless
// dir has one or the prefix is the default.
func writeHostJSON(dir, prefix string) error {
	p := filepath.Join(dir, "host.json")
	if _, err := os.Stat(p); err == nil || prefix == "" {
		return nil
	}
	hostJSON, err := json.Marshal(map[string]any{
		"version":    "2.0",
		"extensions": map[string]any{"http": map[string]string{"routePrefix": strings.Trim(prefix, "/")}},
	})
	if err != nil {
		return err
	}
	return os.WriteFile(p, hostJSON, 0o644)
}

// Attach returns a Host for a handler already serving at url (an
// httptest.Server in the test's own process). routePrefix is as in Options,
// "/" meaning none.
func Attach(url, routePrefix string) *Host {
	return newHost(url, routePrefix, &emulators.SyncBuffer{})
}

func newHost(url, prefix string, out *emulators.SyncBuffer) *Host {
	if prefix == "" {
		prefix = "api"
	}
	return &Host{
		URL:         url,
		RoutePrefix: strings.Trim(prefix, "/"),
		client: &http.Client{
			// The host's HttpClient does not follow redirects for the handler.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		out: out,
	}
}

// Output returns what the process has written to stdout and stderr so far.
func (h *Host) Output() string { return h.out.String() }

// waitReady polls GET / as the host does (DefaultHttpWorkerService.IsWorkerReady):
// any HTTP answer means ready; a refused connection means wait.
func (h *Host) waitReady(timeout time.Duration, exited <-chan struct{}, waitErr func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := h.client.Get(h.URL + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the process exited: %v", waitErr())
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stop(t testing.TB, cmd *exec.Cmd, exited <-chan struct{}, out *emulators.SyncBuffer) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Errorf("azurefunctionstest: the handler did not exit within 10s of SIGTERM\noutput:\n%s", out)
	}
}

// Result is a default-mode reply.
type Result struct {
	// InvocationID is the id the simulator sent.
	InvocationID string
	// Status is the reply's status: the host fails the invocation unless it is 2xx.
	Status int
	// Body is the reply's body.
	Body []byte
	// Outputs, Logs and ReturnValue are the reply's members, when Status is 2xx.
	Outputs     map[string]json.RawMessage
	Logs        []string
	ReturnValue json.RawMessage
}

// Invoke sends a default-mode invocation of function: POST /<function>
// with {"Data": …, "Metadata": …} and the host's headers. Metadata gets
// the "sys" member the host always adds.
func (h *Host) Invoke(ctx context.Context, function string, in Invocation) (*Result, error) {
	meta := map[string]json.RawMessage{}
	for k, v := range in.Metadata {
		meta[k] = v
	}
	if _, ok := meta["sys"]; !ok {
		meta["sys"] = Sys(function, time.Now())
	}
	body, err := json.Marshal(struct {
		Data     map[string]json.RawMessage
		Metadata map[string]json.RawMessage
	}{in.Data, meta})
	if err != nil {
		return nil, err
	}
	return h.Send(ctx, function, body, in.Traceparent)
}

// Send sends body as a default-mode invocation of function, as Invoke does:
// for payloads read from files.
func (h *Host) Send(ctx context.Context, function string, body []byte, traceparent string) (*Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL+"/"+function, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	id := newUUID()
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	h.addHostHeaders(req.Header, id)
	if traceparent != "" {
		req.Header.Set("Traceparent", traceparent)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	r := &Result{InvocationID: id, Status: resp.StatusCode}
	if r.Body, err = io.ReadAll(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return r, nil
	}
	// The host reads the reply with Json.NET, whose member names ignore case.
	var reply struct {
		Outputs     map[string]json.RawMessage
		Logs        []string
		ReturnValue json.RawMessage
	}
	if err := json.Unmarshal(r.Body, &reply); err != nil {
		return nil, fmt.Errorf("azurefunctionstest: the host cannot read the reply %q: %w", r.Body, err)
	}
	r.Outputs, r.Logs, r.ReturnValue = reply.Outputs, reply.Logs, reply.ReturnValue
	return r, nil
}

// addHostHeaders adds the headers of every host request (DefaultHttpWorkerService.AddHeaders).
func (h *Host) addHostHeaders(hd http.Header, id string) {
	hd.Set("X-Azure-Functions-HostVersion", HostVersion)
	hd.Set("X-Azure-Functions-InvocationId", id)
	ua := "Azure-Functions-Host/" + HostVersion
	if prev := hd.Get("User-Agent"); prev != "" {
		ua = prev + " " + ua
	}
	hd.Set("User-Agent", ua)
}

// HTTPResponse is what the host sends the client for an http output
// binding (HttpBinding and RawScriptResult): statusCode (or status), as a
// number or text; each header value's text; the body's text, as UTF-8.
type HTTPResponse struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// HTTPOutput reads the http output binding name (usually "res") of a reply.
func (r *Result) HTTPOutput(name string) (*HTTPResponse, error) {
	raw, ok := r.Outputs[name]
	if !ok {
		return nil, fmt.Errorf("azurefunctionstest: the reply has no output %q: %s", name, r.Body)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("azurefunctionstest: output %q is not an object: %w", name, err)
	}
	get := func(k string) json.RawMessage {
		for key, v := range out {
			if strings.EqualFold(key, k) {
				return v
			}
		}
		return nil
	}
	resp := &HTTPResponse{StatusCode: http.StatusOK, Header: http.Header{}}
	status := get("statusCode")
	if status == nil {
		status = get("status")
	}
	if status != nil {
		s := strings.Trim(string(status), `"`)
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("azurefunctionstest: statusCode %s is not a number", status)
		}
		resp.StatusCode = n
	}
	if raw := get("headers"); raw != nil {
		var hs map[string]any
		if err := json.Unmarshal(raw, &hs); err != nil {
			return nil, fmt.Errorf("azurefunctionstest: headers: %w", err)
		}
		for k, v := range hs {
			s, ok := v.(string)
			if !ok { // the host writes value.ToString(): arrays and objects as JSON
				b, _ := json.Marshal(v)
				s = string(b)
			}
			resp.Header.Set(k, s)
		}
	}
	if raw := get("body"); raw != nil && string(raw) != "null" {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("azurefunctionstest: body is not a string: %s", raw)
		}
		resp.Body = []byte(s)
	}
	return resp, nil
}

// Forward sends r the way enableForwardingHttpRequest does
// (ProcessHttpInAndOutInvocationRequest, HttpRequestExtensions.ToHttpRequestMessage):
// same method and path (under the route prefix); the query rebuilt from a
// key → comma-joined values dictionary; every header copied, Host included,
// plus the host's own; the body only when Content-Length is positive.
// r's URL is the client's: path without the prefix.
func (h *Host) Forward(ctx context.Context, r *http.Request) (*http.Response, error) {
	req, err := h.clientRequest(ctx, r, rebuiltQuery(r.URL.Query(), r.URL.RawQuery))
	if err != nil {
		return nil, err
	}
	if r.ContentLength <= 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Host = r.Host
	h.addHostHeaders(req.Header, newUUID())
	return h.client.Do(req)
}

// Proxy sends r the way enableProxyingHttpRequest does (YARP): path and
// raw query as they are, the body streamed, x-ms-invocation-id set, and
// YARP's default X-Forwarded-* headers.
func (h *Host) Proxy(ctx context.Context, r *http.Request) (*http.Response, error) {
	req, err := h.clientRequest(ctx, r, r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Ms-Invocation-Id", newUUID())
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", r.Host)
	return h.client.Do(req)
}

// clientRequest copies the client's request r onto the handler's URL, under
// the route prefix, with rawQuery.
func (h *Host) clientRequest(ctx context.Context, r *http.Request, rawQuery string) (*http.Request, error) {
	path := r.URL.EscapedPath()
	if h.RoutePrefix != "" {
		path = "/" + h.RoutePrefix + path
	}
	u := h.URL + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u, r.Body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = r.ContentLength
	req.Header = r.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	return req, nil
}

// rebuiltQuery is the forwarded query: each key once, in first-appearance
// order, its values joined with a comma and then encoded (a=1&a=2 → a=1%2C2).
func rebuiltQuery(q map[string][]string, raw string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, pair := range strings.Split(raw, "&") {
		k, _, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil || key == "" || seen[key] {
			continue
		}
		seen[key] = true
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(urlEscape(key) + "=" + urlEscape(strings.Join(q[key], ",")))
	}
	return b.String()
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newUUID returns a random UUID in the host's invocation id form.
func newUUID() string {
	id := newID()
	return id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}

// urlEscape encodes a query key or value as ASP.NET Core's UrlEncoder does:
// spaces as %20, not +.
func urlEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
