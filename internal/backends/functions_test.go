package backends_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/pubsub"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
	"github.com/polyfn/polyfn/middleware/auth/authtest"
)

// env is a function's environment holding only vars (key, value, …).
func env(vars ...string) core.Env {
	m := map[string]string{}
	for i := 0; i < len(vars); i += 2 {
		m[vars[i]] = vars[i+1]
	}
	return func(k string) string { return m[k] }
}

// start initialises app as a runtime does and closes it when the test ends.
func start(t *testing.T, app *core.App, e core.Env) {
	t.Helper()
	if err := app.Init(t.Context(), e); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() {
		if err := app.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// serve sends a request with the headers (name, value, …).
func serve(t *testing.T, h http.Handler, method, target, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestUsers creates and reads a user through the users function's HTTP
// handler on every bucket backend, and checks what it stored.
func TestUsers(t *testing.T) {
	for _, be := range bucketBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := t.Context()
			u := be.bucket(t)
			bucket := openBucket(t, u)
			iss := authtest.NewIssuer(t)
			app := users.New()
			start(t, app, env(users.BucketEnv, u, users.IssuerEnv, iss.URL, users.AudienceEnv, authtest.Audience))
			h := app.HTTPHandler()
			authz := []string{"Authorization", iss.Bearer(t, "ada", users.ScopeRead, users.ScopeWrite)}

			w := serve(t, h, http.MethodPost, "/users", `{"name": "Ada Lovelace", "email": "ada@example.com"}`, authz...)
			if w.Code != http.StatusCreated {
				t.Fatalf("POST /users: got %d, want 201; body %s", w.Code, w.Body)
			}
			var created users.User
			if err := json.Unmarshal(w.Body.Bytes(), &created); err != nil {
				t.Fatal(err)
			}
			if loc := w.Header().Get("Location"); loc != "/users/"+created.ID {
				t.Errorf("Location: got %q, want /users/%s", loc, created.ID)
			}

			// Stored where the function documents, as JSON.
			key := "users/" + created.ID + ".json"
			attrs, err := bucket.Attributes(ctx, key)
			if err != nil {
				t.Fatalf("the stored user %s: %v", key, err)
			}
			if attrs.ContentType != "application/json" {
				t.Errorf("%s: Content-Type %q, want application/json", key, attrs.ContentType)
			}

			w = serve(t, h, http.MethodGet, "/users/"+created.ID, "", authz...)
			if w.Code != http.StatusOK {
				t.Fatalf("GET: got %d, want 200; body %s", w.Code, w.Body)
			}
			var got users.User
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(created, got); diff != "" {
				t.Errorf("GET returned another user (-created +got):\n%s", diff)
			}

			// The backend's "not found" reaches the client as a 404.
			w = serve(t, h, http.MethodGet, "/users/00000000-0000-4000-8000-000000000000", "", authz...)
			if w.Code != http.StatusNotFound || w.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("GET of an unknown user: got %d %q, want a problem+json 404; body %s",
					w.Code, w.Header().Get("Content-Type"), w.Body)
			}
		})
	}
}

// TestThumbnails runs the thumbnails function on every bucket backend (with
// an in-memory topic) and on every topic backend (with a local bucket).
func TestThumbnails(t *testing.T) {
	for _, be := range bucketBackends {
		t.Run("bucket/"+be.name, func(t *testing.T) {
			topic, sub := topicBackends[0].topic(t)
			runThumbnails(t, be.bucket(t), topic, sub)
		})
	}
	for _, tb := range topicBackends {
		t.Run("topic/"+tb.name, func(t *testing.T) {
			topic, sub := tb.topic(t)
			runThumbnails(t, fileBucket(t), topic, sub)
		})
	}
}

// runThumbnails uploads an image to the bucket at bucketURL, delivers the
// object-created event as an adapter does, and checks the thumbnail in the
// bucket and the message published to topicURL, received on sub.
func runThumbnails(t *testing.T, bucketURL, topicURL string, sub *pubsub.Subscription) {
	ctx := t.Context()
	bucket := openBucket(t, bucketURL)
	// A key that URL encodings (S3's, Azure's, the GCS JSON API's) must
	// carry intact.
	const upload = "uploads/red flower+1.png"
	img := twoTone(t, 512, 256)
	if err := bucket.WriteAll(ctx, upload, img, &blob.WriterOptions{ContentType: "image/png"}); err != nil {
		t.Fatal(err)
	}

	app := thumbnails.New()
	start(t, app, env(thumbnails.MediaBucketEnv, bucketURL, thumbnails.TopicEnv, topicURL))
	fn, ok := app.EventFunc("make-thumbnail")
	if !ok {
		t.Fatal(`no event function "make-thumbnail"`)
	}
	e, err := core.NewEvent(core.TypeObjectCreated, name("evt"), "polyfn://backends",
		&core.Object{Bucket: "media", Key: upload, Size: int64(len(img)), ContentType: "image/png"})
	if err != nil {
		t.Fatal(err)
	}
	if err := core.Invoke(ctx, fn.Handler, e); err != nil {
		t.Fatalf("make-thumbnail: %v", err)
	}

	want := thumbnails.Thumbnail{
		SourceKey: upload, ThumbnailKey: "thumbnails/red flower+1.png",
		Width: 256, Height: 128, ContentType: "image/png",
	}
	data, err := bucket.ReadAll(ctx, want.ThumbnailKey)
	if err != nil {
		t.Fatalf("reading the thumbnail: %v", err)
	}
	m, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding the thumbnail: %v", err)
	}
	if got := m.Bounds(); got != image.Rect(0, 0, want.Width, want.Height) {
		t.Errorf("thumbnail bounds: got %v, want %dx%d", got, want.Width, want.Height)
	}
	if r, _, b, _ := m.At(10, 64).RGBA(); r < 0xf000 || b > 0x1000 {
		t.Errorf("the thumbnail's left half is not red: %v", m.At(10, 64))
	}
	attrs, err := bucket.Attributes(ctx, want.ThumbnailKey)
	if err != nil {
		t.Fatal(err)
	}
	if attrs.ContentType != "image/png" {
		t.Errorf("thumbnail Content-Type: got %q, want image/png", attrs.ContentType)
	}

	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := sub.Receive(rctx)
	if err != nil {
		t.Fatalf("receiving the thumbnail message: %v", err)
	}
	msg.Ack()
	var got thumbnails.Thumbnail
	if err := json.Unmarshal(msg.Body, &got); err != nil {
		t.Fatalf("message body %q: %v", msg.Body, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if ct := msg.Metadata["content-type"]; ct != "application/json" {
		t.Errorf("message metadata content-type: got %q, want application/json", ct)
	}
}
