// Package cors answers cross-origin requests (the Fetch standard's CORS
// protocol) the same way on every cloud, where each gateway otherwise has
// its own settings. The protocol itself is github.com/rs/cors; this package
// sets polyfn's defaults and answers a refused preflight with an RFC 9457
// problem instead of rs/cors' bare 204 without grants.
package cors

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rs/cors"

	"github.com/polyfn/polyfn/core"
)

// Options configure Middleware.
type Options struct {
	// Origins lists allowed origins ("https://app.example.com"); "*" allows
	// any origin (never together with AllowCredentials: with it, "*" is
	// ignored). No origins allow no cross-origin request.
	Origins []string
	// Methods allowed in preflights; default GET, HEAD, POST.
	Methods []string
	// Headers the client may send; default Content-Type, Authorization,
	// Idempotency-Key, X-API-Key. A preflight that asks for another is
	// refused.
	Headers []string
	// Expose lists response headers the client may read.
	Expose []string
	// AllowCredentials lets the browser send cookies and credentials.
	AllowCredentials bool
	// MaxAge is how long a preflight may be cached; default 10m.
	MaxAge time.Duration
}

// Middleware answers preflights (OPTIONS with Access-Control-Request-Method)
// itself: 204 for an allowed origin, method and headers, otherwise 403 with
// an RFC 9457 problem (PermissionDenied) saying which was refused. Other
// requests from an allowed origin with an allowed method get the CORS
// response headers; other requests pass through without them (the browser
// then withholds the answer).
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
	ro := cors.Options{
		AllowedOrigins:   o.Origins,
		AllowedMethods:   o.Methods,
		AllowedHeaders:   o.Headers,
		ExposedHeaders:   o.Expose,
		AllowCredentials: o.AllowCredentials,
		MaxAge:           int(o.MaxAge.Seconds()),
		// The preflight reaches finish below, which answers it.
		OptionsPassthrough: true,
	}
	if o.AllowCredentials {
		// A credentialed request may not be granted to any origin.
		ro.AllowedOrigins = slices.DeleteFunc(slices.Clone(o.Origins), func(s string) bool { return s == "*" })
	}
	if len(ro.AllowedOrigins) == 0 {
		// rs/cors reads no origins as any origin; here they mean none.
		ro.AllowOriginFunc = func(string) bool { return false }
	}
	c := cors.New(ro)
	methods := strings.Join(o.Methods, ", ")
	headers := strings.Join(o.Headers, ", ")
	expose := strings.Join(o.Expose, ", ")
	return func(next http.Handler) http.Handler {
		finish := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			granted := h.Get("Access-Control-Allow-Origin") != ""
			// rs/cors echoes the requested method and headers, and
			// canonicalizes the exposed names (Ratelimit-Limit); the lists
			// are given as configured instead, as a grant may be cached for
			// other requests.
			if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
				if granted && expose != "" {
					h.Set("Access-Control-Expose-Headers", expose)
				}
				next.ServeHTTP(w, r)
				return
			}
			if granted {
				h.Set("Access-Control-Allow-Methods", methods)
				h.Set("Access-Control-Allow-Headers", headers)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			var err error
			switch m := r.Header.Get("Access-Control-Request-Method"); {
			case r.Header.Get("Origin") == "" || !c.OriginAllowed(r):
				err = core.Errorf(core.PermissionDenied, "cross-origin requests from this origin are not allowed")
			case !slices.Contains(o.Methods, m):
				err = core.Errorf(core.PermissionDenied, "the method %q is not allowed in cross-origin requests (allowed: %s)", m, methods)
			default:
				err = core.Errorf(core.PermissionDenied, "the headers %q are not all allowed in cross-origin requests (allowed: %s)",
					strings.Join(r.Header.Values("Access-Control-Request-Headers"), ", "), headers)
			}
			core.WriteError(w, r, err)
		})
		return c.Handler(finish)
	}
}
