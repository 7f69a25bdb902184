// Package cors answers cross-origin requests (the Fetch standard's CORS
// protocol) the same way on every cloud, where each gateway otherwise has
// its own settings.
package cors

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
)

// Options configure Middleware.
type Options struct {
	// Origins lists allowed origins ("https://app.example.com"); "*" allows
	// any origin (never together with AllowCredentials).
	Origins []string
	// Methods allowed in preflights; default GET, HEAD, POST.
	Methods []string
	// Headers the client may send; default Content-Type, Authorization,
	// Idempotency-Key, X-API-Key.
	Headers []string
	// Expose lists response headers the client may read.
	Expose []string
	// AllowCredentials lets the browser send cookies and credentials.
	AllowCredentials bool
	// MaxAge is how long a preflight may be cached; default 10m.
	MaxAge time.Duration
}

// Middleware answers preflights (OPTIONS with Access-Control-Request-Method)
// itself: 204 for an allowed origin and method, otherwise 403 with an RFC 9457
// problem (PermissionDenied) saying which was refused. Other requests
// from an allowed origin get the CORS response headers; requests from other
// origins pass through without them (the browser then withholds the answer).
func Middleware(o Options) func(http.Handler) http.Handler {
	if len(o.Methods) == 0 {
		o.Methods = []string{http.MethodGet, http.MethodHead, http.MethodPost}
	}
	if len(o.Headers) == 0 {
		o.Headers = []string{"Content-Type", "Authorization", "Idempotency-Key", "X-API-Key"}
	}
	if o.MaxAge == 0 {
		o.MaxAge = 10 * time.Minute
	}
	any := slices.Contains(o.Origins, "*") && !o.AllowCredentials
	methods := strings.Join(o.Methods, ", ")
	headers := strings.Join(o.Headers, ", ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			h := w.Header()
			h.Add("Vary", "Origin")
			allowed := origin != "" && (any || slices.Contains(o.Origins, origin))
			preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
			if preflight {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
				if !allowed {
					core.WriteError(w, r, core.Errorf(core.PermissionDenied, "cross-origin requests from this origin are not allowed"))
					return
				}
				if m := r.Header.Get("Access-Control-Request-Method"); !slices.Contains(o.Methods, m) {
					core.WriteError(w, r, core.Errorf(core.PermissionDenied, "the method %q is not allowed in cross-origin requests (allowed: %s)", m, methods))
					return
				}
				setOrigin(h, origin, any, o.AllowCredentials)
				h.Set("Access-Control-Allow-Methods", methods)
				h.Set("Access-Control-Allow-Headers", headers)
				h.Set("Access-Control-Max-Age", strconv.Itoa(int(o.MaxAge.Seconds())))
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if allowed {
				setOrigin(h, origin, any, o.AllowCredentials)
				if len(o.Expose) > 0 {
					h.Set("Access-Control-Expose-Headers", strings.Join(o.Expose, ", "))
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func setOrigin(h http.Header, origin string, any, credentials bool) {
	if any {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}
