// Package embedded runs a NATS server with JetStream inside the process, its
// streams stored in files under a directory: the local runtime's durable
// broker for jetstream:// topics and subscriptions.
//
// It is the only package of polyfn that links the NATS server: a binary that
// talks to an external NATS cluster imports resources/jetstreampubsub alone.
package embedded

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds the wait for the server to accept connections
// (recovering a large store takes a while).
const readyTimeout = 30 * time.Second

// Start runs a NATS server with JetStream, storing under dir, listening on
// addr (host:port; "" or a port of 0 means 127.0.0.1 on a free port). It
// returns the server's client URL (nats://host:port) and stop, which shuts
// the server down, waiting for it to write its state. Starting again on the
// same dir recovers every stream, message and consumer state written there.
func Start(dir, addr string) (url string, stop func(), err error) {
	if dir == "" {
		return "", nil, errors.New("embedded: no store directory")
	}
	host, port := "127.0.0.1", server.RANDOM_PORT
	if addr != "" {
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			return "", nil, fmt.Errorf("embedded: address %q: %w", addr, err)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return "", nil, fmt.Errorf("embedded: address %q: bad port", addr)
		}
		if h != "" {
			host = h
		}
		if n != 0 {
			port = n
		}
	}
	if port != server.RANDOM_PORT {
		// The server does not report a port in use, it only never becomes
		// ready: find out first.
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return "", nil, fmt.Errorf("embedded: %w", err)
		}
		l.Close()
	}
	s, err := server.NewServer(&server.Options{
		ServerName: "polyfn-local",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return "", nil, fmt.Errorf("embedded: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(readyTimeout) {
		s.Shutdown()
		return "", nil, fmt.Errorf("embedded: NATS server on %s:%d not ready within %s", host, port, readyTimeout)
	}
	if !s.JetStreamEnabled() {
		s.Shutdown()
		return "", nil, errors.New("embedded: JetStream did not start")
	}
	return s.ClientURL(), func() { s.Shutdown(); s.WaitForShutdown() }, nil
}
