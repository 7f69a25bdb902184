package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/polyfn/polyfn/adapters/gcpfunctions"
	"github.com/polyfn/polyfn/core"
)

// inspectGCP decodes an HTTP request with the GCP adapter's decoding entry
// point (gcpfunctions.RegisterDecoder) served by the real Functions
// Framework on a loopback port, which sets up the request as on the
// platform and can only be run as a server. The request goes there as the
// platform would send it, with exactly the given headers.
func inspectGCP(ctx context.Context, in inspectInput) (*core.Delivery, error) {
	method, target, err := requestTarget(in)
	if err != nil {
		return nil, err
	}
	gcpInspect.Lock()
	defer gcpInspect.Unlock()
	base, err := gcpDecoderURL(in.trigger, in.sizing)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, base+target, bytes.NewReader(in.body))
	if err != nil {
		return nil, fmt.Errorf("--url %q: %v", target, err)
	}
	for k, vs := range in.header {
		if k == "Host" {
			req.Host = vs[len(vs)-1]
			continue
		}
		req.Header[k] = vs
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = []string{""} // Go's own is not the platform's: send none
	}
	select {
	case <-gcpInspect.got: // a stale delivery, of a request that failed
	default:
	}
	resp, err := gcpClient.Do(req)
	if err != nil {
		return nil, err
	}
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	select {
	case got := <-gcpInspect.got:
		return got.d, got.err
	default:
	}
	return nil, fmt.Errorf("the Functions Framework answered %s without a delivery to the adapter: %s",
		resp.Status, strings.TrimSpace(string(reply)))
}

var gcpClient = &http.Client{
	// Like the platform's front end: no proxy, no compression added, and
	// redirects are the answer, not followed.
	Transport:     &http.Transport{Proxy: nil, DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

// gcpInspect holds the framework servers of this process, one per trigger
// and timeout (the framework serves one target at "/" per server), and the
// delivery of the request in flight: inspections are one at a time.
var gcpInspect struct {
	sync.Mutex
	servers map[string]string // base URL by entry-point name
	got     chan gcpDecoded
}

type gcpDecoded struct {
	d   *core.Delivery
	err error
}

// gcpDecoderURL returns the base URL of the framework server of the
// decoding entry point for trigger, of a unit sized sz, starting it the
// first time. The caller holds gcpInspect's lock.
func gcpDecoderURL(trigger string, sz core.Sizing) (string, error) {
	name := fmt.Sprintf("polyfn-inspect-%s-%ds", trigger, int(sz.Timeout/time.Second))
	if base, ok := gcpInspect.servers[name]; ok {
		return base, nil
	}
	if gcpInspect.servers == nil {
		gcpInspect.servers = map[string]string{}
		gcpInspect.got = make(chan gcpDecoded, 1)
	}
	if err := gcpfunctions.RegisterDecoder(name, triggerOf(trigger), sz, gcpDelivered); err != nil {
		return "", err
	}
	base, err := startFramework(name)
	if err != nil {
		return "", err
	}
	gcpInspect.servers[name] = base
	return base, nil
}

// gcpDelivered takes a decoded delivery during its request: an HTTP
// request's body is read now, and its peer, inspect's own connection, is
// not the client's.
func gcpDelivered(d *core.Delivery, err error) {
	if err == nil && d.Request != nil {
		body, rerr := io.ReadAll(d.Request.Body)
		if rerr != nil {
			d, err = nil, fmt.Errorf("reading the request body: %w", rerr)
		} else {
			d.Request.Body = io.NopCloser(bytes.NewReader(body))
			d.Request.RemoteAddr = ""
		}
	}
	select {
	case gcpInspect.got <- gcpDecoded{d, err}:
	default: // not a request of this inspection
	}
}

// startFramework serves the registered function name with the Functions
// Framework at "/" of a free loopback port, as FUNCTION_TARGET selects it on
// the platform, and returns the server's base URL. The framework's server
// cannot be stopped: it ends with the process.
func startFramework(name string) (string, error) {
	old, had := os.LookupEnv("FUNCTION_TARGET")
	if err := os.Setenv("FUNCTION_TARGET", name); err != nil {
		return "", err
	}
	// The framework reads FUNCTION_TARGET before it listens, so once it
	// listens the variable can be restored.
	defer func() {
		if had {
			os.Setenv("FUNCTION_TARGET", old)
		} else {
			os.Unsetenv("FUNCTION_TARGET")
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	failed := make(chan error, 1)
	go func() { failed <- funcframework.StartHostPort("127.0.0.1", port) }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-failed:
			return "", fmt.Errorf("starting the Functions Framework: %w", err)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr, nil
		}
	}
	return "", fmt.Errorf("the Functions Framework is not listening on %s after 10s", addr)
}
