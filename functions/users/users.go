// Package users is an HTTP function that creates and reads users, stored as
// JSON objects in a blob bucket.
//
//	POST /users       {"name": "Ada Lovelace", "email": "ada@example.com"} → 201
//	GET  /users/{id}  → 200 with the user, or 404
//
// The bucket is opened from the URL in USERS_BUCKET_URL; user <id> is stored
// at users/<id>.json. Every error is answered with application/problem+json.
package users

import (
	"context"
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
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// BucketEnv is the environment variable that holds the users bucket's URL.
const BucketEnv = "USERS_BUCKET_URL"

// maxBodyBytes caps the body of POST /users.
const maxBodyBytes = 1 << 20

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

// service holds what the handlers share: the bucket, opened at start-up.
type service struct {
	bucket *blob.Bucket
	now    func() time.Time
}

// New returns the users app. Its bucket is opened when the app is started
// (App.Init) from the URL in USERS_BUCKET_URL, and closed by App.Close.
func New() *core.App {
	s := &service{now: time.Now}
	app := core.NewApp("users")
	app.Require(core.Bucket(BucketEnv))
	app.OnInit(s.open)
	app.OnClose(s.close)
	app.HandleFunc("POST /users", s.create)
	app.HandleFunc("GET /users/{id}", s.get)
	return app
}

func (s *service) open(ctx context.Context, env core.Env) error {
	u := env(BucketEnv)
	if u == "" {
		return fmt.Errorf("users: %s is not set", BucketEnv)
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		return fmt.Errorf("users: opening the bucket in %s: %w", BucketEnv, err)
	}
	s.bucket = b
	return nil
}

func (s *service) close(context.Context) error {
	if s.bucket == nil {
		return nil
	}
	return s.bucket.Close()
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
