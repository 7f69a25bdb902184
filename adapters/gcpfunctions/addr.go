package gcpfunctions

import (
	"fmt"
	"net"
)

// ListenAddress returns the host and port to serve on, read with getenv:
// POLYFN_ADDR (host:port) when it is set, else every interface (what Cloud
// Run needs) and $PORT, or 8080. Tests and local runs set
// POLYFN_ADDR=127.0.0.1:PORT to stay on the loopback interface.
func ListenAddress(getenv func(string) string) (host, port string, err error) {
	if addr := getenv("POLYFN_ADDR"); addr != "" {
		host, port, err = net.SplitHostPort(addr)
		if err != nil {
			return "", "", fmt.Errorf("gcpfunctions: POLYFN_ADDR %q: %w", addr, err)
		}
		return host, port, nil
	}
	port = getenv("PORT")
	if port == "" {
		port = "8080"
	}
	return "", port, nil
}
