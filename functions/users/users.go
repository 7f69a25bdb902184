// Package users is an HTTP function that creates and reads users, stored as
// JSON objects in a blob bucket, behind the portable gateway policies.
//
//	POST /users       {"name": "Ada Lovelace", "email": "ada@example.com"} → 201
//	GET  /users/{id}  → 200 with the user, or 404
//
// The bucket is opened from the URL in USERS_BUCKET_URL; user <id> is stored
// at users/<id>.json. Every error is answered with application/problem+json.
//
// Every request is authenticated: a bearer token from the OIDC issuer in
// USERS_OIDC_ISSUER for the audience in USERS_OIDC_AUDIENCE, or an API key
// from the list in USERS_API_KEYS_URL. POST /users requires the scope
// users:write or an API key; GET /users/{id} requires users:read. Each
// caller is rate limited (USERS_RATE_LIMIT); POST honours an
// Idempotency-Key; its body is checked against create-user.schema.json.
// Without an issuer and an audience the app does not start. A request still
// running 250 ms before the invocation's deadline is answered 504; browser
// pages of the origins in USERS_CORS_ORIGINS may call the API.
package users

import (
	"context"
	_ "embed" // the request schema
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/middleware/auth"
	"github.com/polyfn/polyfn/middleware/idempotency"
	"github.com/polyfn/polyfn/middleware/timeout"
	"github.com/polyfn/polyfn/middleware/validate"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// BucketEnv is the environment variable that holds the users bucket's URL.
const BucketEnv = "USERS_BUCKET_URL"

// maxBodyBytes caps the body of POST /users.
const maxBodyBytes = 1 << 20

// createSchemaJSON is the JSON Schema of the body of POST /users, compiled
// once, when the program starts.
//
//go:embed create-user.schema.json
var createSchemaJSON []byte

var createSchema = validate.MustCompile("create-user.schema.json", createSchemaJSON)

// User is a stored user, and the JSON body of the responses.
type User struct {
	// ID is a random (version 4) UUID in its canonical lower-case form.
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	// CreatedAt is when the user was created, in UTC; it is encoded in
	// RFC 3339 form.
	CreatedAt time.Time `json:"createdAt"`
}

// service holds what the handlers share, opened at start-up: the bucket
// and the gateway policies.
type service struct {
	bucket   *blob.Bucket
	policies *policies
	now      func() time.Time
}

// New returns the users app. Its bucket and policies are opened when the
// app is started (App.Init) from its environment (USERS_BUCKET_URL,
// USERS_OIDC_ISSUER, USERS_OIDC_AUDIENCE and the optional variables of
// gateway.go), and closed by App.Close. The routes are declared here, and
// their handlers, which wrap each route in the policies that open read,
// are built by Init once open has run.
func New() *core.App {
	s := &service{now: time.Now}
	app := core.NewApp("users")
	app.Require(
		core.Bucket(BucketEnv, core.ReadWrite), // POST writes a user, GET reads one
		core.Resource{Env: IssuerEnv, Kind: core.KindOIDCIssuer},
		core.Resource{Env: AudienceEnv, Kind: core.KindOIDCAudience},
		core.Resource{Env: APIKeysEnv, Kind: core.KindVariable, Use: core.Read, Optional: true},
	)
	// Small requests: a JSON body and one bucket round trip each.
	app.Size(core.Sizing{MemoryMiB: 256, Timeout: 10 * time.Second})
	// A read or a write is a bucket round trip: two seconds at the 99th
	// percentile is slow; one request in a hundred failing is an incident,
	// but fewer than five failures in five minutes page no one.
	app.Alarms(core.Alarms{ErrorRate: 1, Errors: 5, P99: 2 * time.Second,
		Notify: []core.Channel{core.EmailChannel("users-oncall@example.com")}})
	app.OnInit(s.open)
	app.OnClose(s.close)
	// App-wide, outermost first: CORS (USERS_CORS_ORIGINS, or none), which
	// must see preflights before routing, as they match no route; then the
	// deadline: a request still running 250 ms before the invocation's
	// deadline is answered 504 while there is time to answer.
	app.UseInit(func() func(http.Handler) http.Handler { return s.policies.cors })
	app.Use(timeout.Middleware(timeout.Options{}))
	// Outermost first: authenticate, throttle the caller, authorize the
	// route; a POST is then made idempotent before it creates anything.
	app.HandleInit("POST /users", func() http.Handler {
		p := s.policies
		return p.authn(p.throttle(canCreate(idempotency.HTTP(p.idem, nil)(http.HandlerFunc(s.create)))))
	})
	app.HandleInit("GET /users/{id}", func() http.Handler {
		p := s.policies
		return p.authn(p.throttle(auth.RequireScopes(ScopeRead)(http.HandlerFunc(s.get))))
	})
	return app
}

func (s *service) open(ctx context.Context, env core.Env) error {
	u := env(BucketEnv)
	if u == "" {
		return fmt.Errorf("users: %s is not set", BucketEnv)
	}
	p, err := openPolicies(ctx, env)
	if err != nil {
		return err
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		_ = p.close()
		return fmt.Errorf("users: opening the bucket in %s: %w", BucketEnv, err)
	}
	s.bucket, s.policies = b, p
	return nil
}

func (s *service) close(context.Context) error {
	var errs []error
	if s.policies != nil {
		errs = append(errs, s.policies.close())
	}
	if s.bucket != nil {
		errs = append(errs, s.bucket.Close())
	}
	return errors.Join(errs...)
}

func objectKey(id string) string { return "users/" + id + ".json" }

// create handles POST /users.
func (s *service) create(w http.ResponseWriter, r *http.Request) {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		core.WriteError(w, r, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			core.WriteError(w, r, core.Errorf(core.TooLarge, "users: the request body is larger than %d bytes", maxBodyBytes))
			return
		}
		core.WriteError(w, r, core.Errorf(core.InvalidArgument, "users: reading the request body: %w", err))
		return
	}
	// The schema checks the body's shape; decodeCreate then applies what
	// a schema cannot say (the trimmed name, the address as net/mail reads it).
	if err := createSchema.Check(body); err != nil {
		core.WriteError(w, r, err)
		return
	}
	in, err := decodeCreate(body)
	if err != nil {
		core.WriteError(w, r, err)
		return
	}
	id, err := uuid.NewRandom()
	if err != nil {
		core.WriteError(w, r, core.Errorf(core.Internal, "users: generating an id: %w", err))
		return
	}
	u := User{ID: id.String(), Name: in.Name, Email: in.Email, CreatedAt: s.now().UTC().Round(0)}
	data, err := json.Marshal(u)
	if err != nil {
		core.WriteError(w, r, core.Errorf(core.Internal, "users: encoding user: %w", err))
		return
	}
	err = s.bucket.WriteAll(r.Context(), objectKey(u.ID), data,
		&blob.WriterOptions{ContentType: "application/json", IfNotExist: true})
	if err != nil {
		core.WriteError(w, r, storageError("writing user "+u.ID, err))
		return
	}
	w.Header().Set("Location", "/users/"+u.ID)
	writeJSON(w, http.StatusCreated, data)
}

// get handles GET /users/{id}.
func (s *service) get(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("id")
	id, err := uuid.Parse(raw)
	// Only the canonical form (any case) names a user; other spellings that
	// uuid.Parse accepts ({…}, urn:uuid:…, no hyphens) do not.
	if err != nil || id.String() != strings.ToLower(raw) {
		core.WriteError(w, r, core.Errorf(core.NotFound, "users: no user %q", raw))
		return
	}
	data, err := s.bucket.ReadAll(r.Context(), objectKey(id.String()))
	if gcerrors.Code(err) == gcerrors.NotFound {
		core.WriteError(w, r, core.Errorf(core.NotFound, "users: no user %q", raw))
		return
	}
	if err != nil {
		core.WriteError(w, r, storageError("reading user "+id.String(), err))
		return
	}
	var u User
	if err := json.Unmarshal(data, &u); err != nil {
		core.WriteError(w, r, core.Errorf(core.Internal, "users: decoding stored user %s: %w", id, err))
		return
	}
	out, err := json.Marshal(u)
	if err != nil {
		core.WriteError(w, r, core.Errorf(core.Internal, "users: encoding user %s: %w", id, err))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// checkContentType accepts no Content-Type at all, application/json and any
// application/…+json type, in UTF-8 (the only charset JSON has).
func checkContentType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return core.Errorf(core.UnsupportedMediaType, "users: malformed Content-Type %q", ct)
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return core.Errorf(core.UnsupportedMediaType, "users: Content-Type %q is not JSON; send application/json", mt)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return core.Errorf(core.UnsupportedMediaType, "users: charset %q is not supported; send UTF-8", cs)
	}
	return nil
}

// storageError gives a storage failure its code: the context's own, Internal
// when retrying cannot help (a misconfigured bucket or permission), and
// Unavailable otherwise. The message stays in the logs: WriteError never
// shows a server error's text to the client.
func storageError(op string, err error) error {
	switch gcerrors.Code(err) {
	case gcerrors.Canceled:
		return core.Errorf(core.Canceled, "users: %s: %w", op, err)
	case gcerrors.DeadlineExceeded:
		return core.Errorf(core.DeadlineExceeded, "users: %s: %w", op, err)
	case gcerrors.PermissionDenied, gcerrors.InvalidArgument, gcerrors.Unimplemented, gcerrors.FailedPrecondition:
		return core.Errorf(core.Internal, "users: %s: %w", op, err)
	}
	return core.Errorf(core.Unavailable, "users: %s: %w", op, err)
}
