// Package thumbnails is an event function that makes a thumbnail of every
// JPEG or PNG image uploaded under uploads/ in the media bucket.
//
// The thumbnail of uploads/<name> is written to thumbnails/<name> in the same
// bucket, in the image's own format, at most 256 pixels on its long side.
// Then a Thumbnail message is published to the topic in THUMBNAILS_TOPIC_URL.
//
// Objects that are not JPEG or PNG images, are corrupt, too large, or gone by
// the time the event arrives are logged and skipped: retrying cannot help.
// Storage and publish failures are Unavailable errors, so the platform
// retries the event.
package thumbnails

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/telemetry"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
)

// The environment variables holding the URLs of the app's resources.
const (
	MediaBucketEnv = "MEDIA_BUCKET_URL"
	TopicEnv       = "THUMBNAILS_TOPIC_URL"
)

// The key prefixes: uploads are read from UploadsPrefix, and the thumbnail
// of UploadsPrefix+name is written to ThumbnailsPrefix+name.
const (
	UploadsPrefix    = "uploads/"
	ThumbnailsPrefix = "thumbnails/"
)

// MaxSide is the most pixels a thumbnail has on its long side.
const MaxSide = 256

// Thumbnail is the JSON body of the message published for every thumbnail
// written, with the metadata content-type: application/json.
type Thumbnail struct {
	// SourceKey is the key of the uploaded image: "uploads/cat.png".
	SourceKey string `json:"sourceKey"`
	// ThumbnailKey is the key of the thumbnail: "thumbnails/cat.png".
	ThumbnailKey string `json:"thumbnailKey"`
	// Width and Height are the thumbnail's size in pixels.
	Width  int `json:"width"`
	Height int `json:"height"`
	// ContentType is the thumbnail's media type: "image/png" or "image/jpeg".
	ContentType string `json:"contentType"`
}

// limits guard against decompression bombs and oversized uploads.
type limits struct {
	maxBytes  int64 // the most bytes of an upload that are read
	maxPixels int64 // the most pixels (width × height) an image may declare
}

var defaultLimits = limits{maxBytes: 50 << 20, maxPixels: 40_000_000}

// service holds the resources the handler uses, opened at start-up.
type service struct {
	media  *blob.Bucket
	topic  *pubsub.Topic
	limits limits
}

// New returns the thumbnails app. Its bucket and topic are opened when the
// app is started (App.Init) from MEDIA_BUCKET_URL and THUMBNAILS_TOPIC_URL,
// and closed by App.Close.
func New() *core.App {
	s := &service{limits: defaultLimits}
	app := core.NewApp("thumbnails")
	// It reads each upload and writes its thumbnail in the same bucket, and
	// announces the thumbnail on the topic.
	app.Require(core.Bucket(MediaBucketEnv, core.Read, core.Write), core.Topic(TopicEnv, core.Publish))
	app.OnInit(s.open)
	app.OnClose(s.close)
	app.On("make-thumbnail", core.ObjectTrigger{Bucket: MediaBucketEnv, Prefix: UploadsPrefix}, core.HandlerFunc(s.makeThumbnail))
	// Decoding and resizing an image of up to the size limit holds it
	// decoded in memory, and takes seconds on Lambda's smaller CPU shares.
	app.SizeFunc("make-thumbnail", core.Sizing{MemoryMiB: 1024, Timeout: 60 * time.Second})
	return app
}

func (s *service) open(ctx context.Context, env core.Env) error {
	bucketURL, topicURL := env(MediaBucketEnv), env(TopicEnv)
	switch {
	case bucketURL == "":
		return fmt.Errorf("thumbnails: %s is not set", MediaBucketEnv)
	case topicURL == "":
		return fmt.Errorf("thumbnails: %s is not set", TopicEnv)
	}
	b, err := blob.OpenBucket(ctx, bucketURL)
	if err != nil {
		return fmt.Errorf("thumbnails: opening the bucket in %s: %w", MediaBucketEnv, err)
	}
	t, err := pubsub.OpenTopic(ctx, topicURL)
	if err != nil {
		_ = b.Close()
		return fmt.Errorf("thumbnails: opening the topic in %s: %w", TopicEnv, err)
	}
	s.media, s.topic = b, t
	return nil
}

func (s *service) close(ctx context.Context) error {
	var first error
	if s.topic != nil {
		if err := s.topic.Shutdown(ctx); err != nil {
			first = fmt.Errorf("thumbnails: shutting down the topic: %w", err)
		}
	}
	if s.media != nil {
		if err := s.media.Close(); err != nil && first == nil {
			first = fmt.Errorf("thumbnails: closing the bucket: %w", err)
		}
	}
	return first
}

// makeThumbnail handles one object-created event.
func (s *service) makeThumbnail(ctx context.Context, e core.Event) error {
	obj := e.Object
	if obj == nil {
		return core.Errorf(core.InvalidArgument, "thumbnails: event %q of type %q carries no object", e.ID(), e.Type())
	}
	log := slog.With(slog.String("event_id", e.ID()), slog.String("key", obj.Key))
	name, ok := strings.CutPrefix(obj.Key, UploadsPrefix)
	if !ok || name == "" || strings.HasSuffix(name, "/") {
		log.InfoContext(ctx, "thumbnails: skipped", slog.String("reason", "not an upload"))
		return nil
	}
	th, err := s.thumbnailOf(ctx, obj)
	var sk *skip
	if errors.As(err, &sk) {
		log.Log(ctx, sk.level, "thumbnails: skipped", slog.String("reason", sk.reason))
		return nil
	}
	if err != nil {
		return err
	}
	return s.store(ctx, log, obj.Key, name, th)
}

// thumbnailOf reads the object and renders its thumbnail.
func (s *service) thumbnailOf(ctx context.Context, obj *core.Object) (thumb, error) {
	data, err := s.read(ctx, obj)
	if err != nil {
		return thumb{}, err
	}
	return render(data, s.limits)
}

// store writes the thumbnail of uploads/<name> to thumbnails/<name> and
// publishes a Thumbnail message about it.
func (s *service) store(ctx context.Context, log *slog.Logger, key, name string, th thumb) error {
	msg := Thumbnail{
		SourceKey:    key,
		ThumbnailKey: ThumbnailsPrefix + name,
		Width:        th.width,
		Height:       th.height,
		ContentType:  th.contentType,
	}
	err := s.media.WriteAll(ctx, msg.ThumbnailKey, th.data, &blob.WriterOptions{ContentType: th.contentType})
	if err != nil {
		return retryable("writing "+msg.ThumbnailKey, err)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return core.Errorf(core.Internal, "thumbnails: encoding the message: %w", err)
	}
	// The message carries this invocation's trace, so that its consumer
	// continues the same trace.
	md := telemetry.TraceMetadata(ctx, map[string]string{"content-type": "application/json"})
	err = s.topic.Send(ctx, &pubsub.Message{Body: body, Metadata: md})
	if err != nil {
		return retryable("publishing the thumbnail of "+key, err)
	}
	log.InfoContext(ctx, "thumbnails: written", slog.String("thumbnail", msg.ThumbnailKey),
		slog.Int("width", msg.Width), slog.Int("height", msg.Height))
	return nil
}

// skip is why an object is skipped rather than retried, and how loudly to
// log it: Info for what is expected (not an image, deleted since), Warn for
// what may be an attack or a broken uploader (corrupt, too large, a bomb).
type skip struct {
	level  slog.Level
	reason string
}

func (s *skip) Error() string { return s.reason }

func skipf(level slog.Level, format string, args ...any) error {
	return &skip{level: level, reason: fmt.Sprintf(format, args...)}
}

// read returns the object's content: from the event when the platform sent
// it, from the bucket otherwise. It returns a skip when the object is gone or
// larger than the limit.
func (s *service) read(ctx context.Context, obj *core.Object) ([]byte, error) {
	limit := s.limits.maxBytes
	if obj.Content != nil {
		if int64(len(obj.Content)) > limit {
			return nil, skipf(slog.LevelWarn, "larger than %d bytes", limit)
		}
		return obj.Content, nil
	}
	if obj.Size > limit {
		return nil, skipf(slog.LevelWarn, "larger than %d bytes", limit)
	}
	r, err := s.media.NewReader(ctx, obj.Key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, skipf(slog.LevelInfo, "the object no longer exists")
	}
	if err != nil {
		return nil, retryable("reading "+obj.Key, err)
	}
	defer r.Close()
	if r.Size() > limit {
		return nil, skipf(slog.LevelWarn, "larger than %d bytes", limit)
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, retryable("reading "+obj.Key, err)
	}
	if int64(len(data)) > limit {
		return nil, skipf(slog.LevelWarn, "larger than %d bytes", limit)
	}
	return data, nil
}

// retryable codes a storage or publish failure: the context's own code when
// it ended, Unavailable (retry the event) otherwise.
func retryable(op string, err error) error {
	switch gcerrors.Code(err) {
	case gcerrors.Canceled:
		return core.Errorf(core.Canceled, "thumbnails: %s: %w", op, err)
	case gcerrors.DeadlineExceeded:
		return core.Errorf(core.DeadlineExceeded, "thumbnails: %s: %w", op, err)
	}
	return core.Errorf(core.Unavailable, "thumbnails: %s: %w", op, err)
}
