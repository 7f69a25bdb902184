package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/polyfn/polyfn/core"
)

// Authenticator finds and checks one kind of credentials in a request.
type Authenticator interface {
	// Authenticate returns the request's principal. It returns
	// ErrNoCredentials when the request carries none of its kind, and an
	// error for which IsInvalidCredentials is true when they are rejected;
	// any other error is a failure on the server's side (keys unavailable).
	Authenticate(r *http.Request) (*Principal, error)
}

// ErrNoCredentials is returned by an Authenticator that found nothing to check.
var ErrNoCredentials = errors.New("auth: no credentials")

// IsInvalidCredentials reports whether err rejects presented credentials.
func IsInvalidCredentials(err error) bool {
	return errors.Is(err, errInvalidToken) || errors.Is(err, errInvalidCredentials)
}

// Bearer adapts a JWT verifier to read "Authorization: Bearer <token>".
type Bearer struct{ Verifier *JWTVerifier }

// Authenticate implements Authenticator.
func (b Bearer) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") {
		return nil, ErrNoCredentials
	}
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return nil, fmt.Errorf("%w: empty bearer token", errInvalidToken)
	}
	return b.Verifier.Verify(r.Context(), token)
}

// Options configure Middleware.
type Options struct {
	// Realm is the realm in WWW-Authenticate challenges; default "polyfn".
	Realm string
}

// Middleware authenticates every request with the first authenticator that
// finds credentials in it, and puts the principal in the request's context.
// A request with no credentials, or with rejected ones, is answered 401 with
// a Bearer challenge (RFC 6750 §3: no error code when none were presented,
// error="invalid_token" when they were rejected); a failure to check them
// (keys unavailable) is 503. Nothing reaches next in either case.
func Middleware(opts *Options, auths ...Authenticator) func(http.Handler) http.Handler {
	realm := "polyfn"
	if opts != nil && opts.Realm != "" {
		realm = opts.Realm
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, a := range auths {
				p, err := a.Authenticate(r)
				if errors.Is(err, ErrNoCredentials) {
					continue
				}
				if err != nil {
					if IsInvalidCredentials(err) {
						challenge(w, realm, `error="invalid_token", error_description="the credentials were rejected"`)
						core.WriteError(w, r, core.Errorf(core.Unauthenticated, "credentials rejected: %v", reason(err)))
						return
					}
					core.WriteError(w, r, core.Wrap(core.Unavailable, err))
					return
				}
				next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
				return
			}
			challenge(w, realm, "")
			core.WriteError(w, r, core.Errorf(core.Unauthenticated, "authentication required"))
		})
	}
}

// reason is the caller-facing part of a rejection: what was wrong with the
// token, without library prefixes.
func reason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return strings.TrimPrefix(msg, "go-jose/go-jose/jwt: ")
}

func challenge(w http.ResponseWriter, realm, params string) {
	v := fmt.Sprintf("Bearer realm=%q", realm)
	if params != "" {
		v += ", " + params
	}
	w.Header().Add("WWW-Authenticate", v)
}

// RequireScopes lets a request through only when its principal was granted
// every one of scopes: 401 without a principal, 403 with
// error="insufficient_scope" (RFC 6750 §3.1) without the scopes. Put it
// inside Middleware.
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return require("scope", scopes, (*Principal).HasScope)
}

// RequireRoles is RequireScopes for roles.
func RequireRoles(roles ...string) func(http.Handler) http.Handler {
	return require("role", roles, (*Principal).HasRole)
}

func require(what string, want []string, has func(*Principal, string) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				challenge(w, "polyfn", "")
				core.WriteError(w, r, core.Errorf(core.Unauthenticated, "authentication required"))
				return
			}
			for _, s := range want {
				if !has(p, s) {
					params := `error="insufficient_scope"`
					if what == "scope" {
						params += fmt.Sprintf(", scope=%q", strings.Join(want, " "))
					}
					challenge(w, "polyfn", params)
					core.WriteError(w, r, core.Errorf(core.PermissionDenied, "%s %q required", what, s))
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
