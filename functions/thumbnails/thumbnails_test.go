package thumbnails_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/mempubsub"
)

// fixture is a started thumbnails app on a fileblob bucket in a temporary
// directory and an in-memory topic, with the test's own handles on both.
type fixture struct {
	dir     string
	handler core.Handler
	bucket  *blob.Bucket
	topic   *pubsub.Topic // the same *pubsub.Topic the app publishes to
	sub     *pubsub.Subscription
	app     *core.App
}

var topics atomic.Int64

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	f := &fixture{dir: t.TempDir(), app: thumbnails.New()}
	bucketURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(f.dir), RawQuery: "create_dir=true&no_tmp_dir=true"}).String()
	topicURL := fmt.Sprintf("mem://thumbs-%d", topics.Add(1))

	var err error
	if f.bucket, err = blob.OpenBucket(ctx, bucketURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.bucket.Close() })
	// The topic must exist before a subscription can be opened on it, and
	// the subscription before anything is published.
	if f.topic, err = pubsub.OpenTopic(ctx, topicURL); err != nil {
		t.Fatal(err)
	}
	if f.sub, err = pubsub.OpenSubscription(ctx, topicURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.sub.Shutdown(context.Background()) })

	env := map[string]string{thumbnails.MediaBucketEnv: bucketURL, thumbnails.TopicEnv: topicURL}
	if err := f.app.Init(ctx, func(k string) string { return env[k] }); err != nil {
		t.Fatalf("Init: %v", err)
	}
	ef, ok := f.app.EventFunc("make-thumbnail")
	if !ok {
		t.Fatal(`no event function "make-thumbnail"`)
	}
	f.handler = ef.Handler
	return f
}

// closeApp closes the app, as the runtime does at shut-down.
func (f *fixture) closeApp(t *testing.T) {
	t.Helper()
	if err := f.app.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func (f *fixture) put(t *testing.T, key string, data []byte) {
	t.Helper()
	if err := f.bucket.WriteAll(t.Context(), key, data, nil); err != nil {
		t.Fatal(err)
	}
}

// deliver hands the handler an object-created event for key, as an adapter would.
func (f *fixture) deliver(t *testing.T, obj *core.Object) error {
	t.Helper()
	e, err := core.NewEvent(core.TypeObjectCreated, "evt-1", "test://media", obj)
	if err != nil {
		t.Fatal(err)
	}
	return core.Invoke(t.Context(), f.handler, e)
}

func (f *fixture) receive(t *testing.T) *pubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	m, err := f.sub.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	m.Ack()
	return m
}

// expectNoMessage checks that nothing was published: a sentinel sent now
// is the next message received.
func (f *fixture) expectNoMessage(t *testing.T) {
	t.Helper()
	if err := f.topic.Send(t.Context(), &pubsub.Message{Body: []byte("sentinel")}); err != nil {
		t.Fatal(err)
	}
	if m := f.receive(t); string(m.Body) != "sentinel" {
		t.Errorf("got message %s, want none", m.Body)
	}
}

// keys lists every key in the bucket.
func (f *fixture) keys(t *testing.T) []string {
	t.Helper()
	var keys []string
	it := f.bucket.List(nil)
	for {
		obj, err := it.Next(t.Context())
		if err == io.EOF {
			return keys
		}
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, obj.Key)
	}
}

var (
	red  = color.NRGBA{R: 255, A: 255}
	blue = color.NRGBA{B: 255, A: 255}
)

// twoTone returns a w×h image, red on its left half and blue on its right,
// so that a thumbnail shows whether the image was flipped or cropped.
func twoTone(w, h int) image.Image {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := red
			if x >= w/2 {
				c = blue
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestMakeThumbnail(t *testing.T) {
	tests := []struct {
		name       string
		key        string
		w, h       int
		jpeg       bool
		wantKey    string
		wantW      int
		wantH      int
		wantFormat string
	}{
		{"wide png", "uploads/cat.png", 1024, 512, false, "thumbnails/cat.png", 256, 128, "png"},
		{"wide jpeg", "uploads/cat.jpg", 1024, 512, true, "thumbnails/cat.jpg", 256, 128, "jpeg"},
		{"tall png", "uploads/tall.png", 100, 300, false, "thumbnails/tall.png", 85, 256, "png"},
		{"tall jpeg", "uploads/tall.jpeg", 300, 100, true, "thumbnails/tall.jpeg", 256, 85, "jpeg"},
		{"small png keeps its size", "uploads/small.png", 50, 40, false, "thumbnails/small.png", 50, 40, "png"},
		{"small jpeg keeps its size", "uploads/small.jpg", 50, 40, true, "thumbnails/small.jpg", 50, 40, "jpeg"},
		{"exactly the limit", "uploads/square.png", 256, 256, false, "thumbnails/square.png", 256, 256, "png"},
		{"one over the limit", "uploads/square.png", 257, 257, false, "thumbnails/square.png", 256, 256, "png"},
		{"thin line keeps 1 px", "uploads/line.png", 1000, 1, false, "thumbnails/line.png", 256, 1, "png"},
		{"nested key", "uploads/a/b/c d.png", 512, 512, false, "thumbnails/a/b/c d.png", 256, 256, "png"},
		{"format by content, not extension", "uploads/photo.png", 600, 400, true, "thumbnails/photo.png", 256, 171, "jpeg"},
		{"no extension", "uploads/photo", 400, 600, false, "thumbnails/photo", 171, 256, "png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			defer f.closeApp(t)
			src := twoTone(tt.w, tt.h)
			data := encodePNG(t, src)
			if tt.jpeg {
				data = encodeJPEG(t, src)
			}
			f.put(t, tt.key, data)

			if err := f.deliver(t, &core.Object{Bucket: "media", Key: tt.key, Size: int64(len(data))}); err != nil {
				t.Fatalf("handler: got error %v, want nil", err)
			}

			wantType := "image/" + tt.wantFormat
			attrs, err := f.bucket.Attributes(t.Context(), tt.wantKey)
			if err != nil {
				t.Fatalf("thumbnail %q: %v", tt.wantKey, err)
			}
			if got := attrs.ContentType; got != wantType {
				t.Errorf("thumbnail content type: got %q, want %q", got, wantType)
			}
			thumb, err := f.bucket.ReadAll(t.Context(), tt.wantKey)
			if err != nil {
				t.Fatal(err)
			}
			img, format, err := image.Decode(bytes.NewReader(thumb))
			if err != nil {
				t.Fatalf("decoding thumbnail: %v", err)
			}
			if format != tt.wantFormat {
				t.Errorf("thumbnail format: got %q, want %q", format, tt.wantFormat)
			}
			if got, want := img.Bounds().Size(), image.Pt(tt.wantW, tt.wantH); got != want {
				t.Errorf("thumbnail size: got %v, want %v", got, want)
			}
			checkTwoTone(t, img)

			var got thumbnails.Thumbnail
			m := f.receive(t)
			if err := json.Unmarshal(m.Body, &got); err != nil {
				t.Fatalf("decoding message %q: %v", m.Body, err)
			}
			want := thumbnails.Thumbnail{SourceKey: tt.key, ThumbnailKey: tt.wantKey, Width: tt.wantW, Height: tt.wantH, ContentType: wantType}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("message mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]string{"content-type": "application/json"}, m.Metadata); diff != "" {
				t.Errorf("message metadata mismatch (-want +got):\n%s", diff)
			}
			f.expectNoMessage(t) // exactly one message per thumbnail
		})
	}
}

// checkTwoTone checks that img is red at its left edge and blue at its right.
func checkTwoTone(t *testing.T, img image.Image) {
	t.Helper()
	b := img.Bounds()
	y := b.Min.Y + b.Dy()/2
	for _, c := range []struct {
		x    int
		want color.NRGBA
	}{{b.Min.X, red}, {b.Max.X - 1, blue}} {
		got := color.NRGBAModel.Convert(img.At(c.x, y)).(color.NRGBA)
		if diff(got.R, c.want.R) > 40 || diff(got.G, c.want.G) > 40 || diff(got.B, c.want.B) > 40 {
			t.Errorf("pixel (%d,%d): got %v, want about %v", c.x, y, got, c.want)
		}
	}
}

func diff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestMakeThumbnailFromEventContent(t *testing.T) {
	f := newFixture(t)
	defer f.closeApp(t)
	// The object is not in the bucket: the platform delivered its content.
	data := encodePNG(t, twoTone(512, 256))
	if err := f.deliver(t, &core.Object{Bucket: "media", Key: "uploads/inline.png", Content: data}); err != nil {
		t.Fatalf("handler: got error %v, want nil", err)
	}
	var got thumbnails.Thumbnail
	if err := json.Unmarshal(f.receive(t).Body, &got); err != nil {
		t.Fatal(err)
	}
	want := thumbnails.Thumbnail{SourceKey: "uploads/inline.png", ThumbnailKey: "thumbnails/inline.png", Width: 256, Height: 128, ContentType: "image/png"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("message mismatch (-want +got):\n%s", diff)
	}
	if _, err := f.bucket.Attributes(t.Context(), want.ThumbnailKey); err != nil {
		t.Errorf("thumbnail %q: %v", want.ThumbnailKey, err)
	}
}

// pngDeclaring returns a PNG whose header declares a w×h image while its
// data is that of a 1×1 image: a decompression bomb's shape.
func pngDeclaring(t *testing.T, w, h uint32) []byte {
	t.Helper()
	b := encodePNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	// signature (8), IHDR length (4), "IHDR" (4), width (4), height (4), …, CRC over "IHDR"+data (13)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestSkipped(t *testing.T) {
	valid := encodePNG(t, twoTone(300, 300))
	flipped := bytes.Clone(valid)
	for i := len(flipped) / 2; i < len(flipped)/2+32; i++ {
		flipped[i] ^= 0xff
	}
	tests := []struct {
		name   string
		key    string
		stored []byte // the object's content in the bucket; nil: no object
		inline []byte // the content delivered with the event, if any
	}{
		{"text file", "uploads/notes.txt", []byte("hello, world\n"), nil},
		{"empty file", "uploads/empty.png", []byte{}, nil},
		{"gif", "uploads/anim.gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), nil},
		{"truncated png", "uploads/truncated.png", valid[:len(valid)/2], nil},
		{"png header only", "uploads/header.png", valid[:33], nil},
		{"corrupt png data", "uploads/corrupt.png", flipped, nil},
		{"decompression bomb", "uploads/bomb.png", pngDeclaring(t, 100_000, 100_000), nil},
		{"over 40 megapixels", "uploads/big.png", pngDeclaring(t, 8000, 5001), nil},
		{"zero width", "uploads/zero.png", pngDeclaring(t, 0, 10), nil},
		{"corrupt inline content", "uploads/inline.png", nil, valid[:100]},
		{"missing object", "uploads/gone.png", nil, nil},
		{"not under uploads/", "other/cat.png", valid, nil},
		{"a thumbnail", "thumbnails/cat.png", valid, nil},
		{"folder marker", "uploads/", nil, valid},
		{"nested folder marker", "uploads/a/", nil, valid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			defer f.closeApp(t)
			var want []string
			if tt.stored != nil {
				f.put(t, tt.key, tt.stored)
				want = []string{tt.key}
			}
			obj := &core.Object{Bucket: "media", Key: tt.key, Size: int64(len(tt.stored)), Content: tt.inline}
			if err := f.deliver(t, obj); err != nil {
				t.Fatalf("handler: got error %v (code %v), want nil", err, core.CodeOf(err))
			}
			if diff := cmp.Diff(want, f.keys(t)); diff != "" {
				t.Errorf("bucket contents (-want +got):\n%s", diff)
			}
			f.expectNoMessage(t)
		})
	}
}

func TestTooLarge(t *testing.T) {
	const limit = 50 << 20
	small := encodePNG(t, twoTone(10, 10))
	// A valid PNG padded past the limit: decoding would succeed, reading must not happen.
	huge := append(bytes.Clone(small), make([]byte, limit+1-len(small))...)
	tests := []struct {
		name   string
		stored []byte
		obj    core.Object
	}{
		{"size in the event", small, core.Object{Key: "uploads/huge.png", Size: limit + 1}},
		{"content in the event", nil, core.Object{Key: "uploads/huge.png", Content: huge}},
		{"size of the object", huge, core.Object{Key: "uploads/huge.png"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			defer f.closeApp(t)
			var want []string
			if tt.stored != nil {
				f.put(t, tt.obj.Key, tt.stored)
				want = []string{tt.obj.Key}
			}
			if err := f.deliver(t, &tt.obj); err != nil {
				t.Fatalf("handler: got error %v, want nil", err)
			}
			if diff := cmp.Diff(want, f.keys(t)); diff != "" {
				t.Errorf("bucket contents (-want +got):\n%s", diff)
			}
			f.expectNoMessage(t)
		})
	}
}

func TestStorageFailureIsRetryable(t *testing.T) {
	f := newFixture(t)
	defer f.closeApp(t)
	f.put(t, "uploads/cat.png", encodePNG(t, twoTone(512, 512)))
	// A file where the thumbnails/ directory belongs makes the write fail.
	if err := os.WriteFile(filepath.Join(f.dir, "thumbnails"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := f.deliver(t, &core.Object{Key: "uploads/cat.png"})
	if got, want := core.CodeOf(err), core.Unavailable; err == nil || got != want {
		t.Fatalf("handler: got error %v (code %v), want code %v", err, got, want)
	}
	f.expectNoMessage(t)
}

func TestPublishFailureIsRetryable(t *testing.T) {
	f := newFixture(t)
	f.put(t, "uploads/cat.png", encodePNG(t, twoTone(512, 512)))
	if err := f.topic.Shutdown(t.Context()); err != nil { // the app's topic too: it is the same one
		t.Fatal(err)
	}
	err := f.deliver(t, &core.Object{Key: "uploads/cat.png"})
	if got, want := core.CodeOf(err), core.Unavailable; err == nil || got != want {
		t.Fatalf("handler: got error %v (code %v), want code %v", err, got, want)
	}
	// The app's Close shuts the topic down again, which gocloud reports.
	if err := f.app.Close(context.Background()); gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("Close: got %v, want the already-shut-down error", err)
	}
}

func TestNotAnObjectEvent(t *testing.T) {
	f := newFixture(t)
	defer f.closeApp(t)
	e, err := core.NewEvent(core.TypeMessage, "evt-1", "test://queue", &core.Message{ID: "m-1", Body: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	err = core.Invoke(t.Context(), f.handler, e)
	if got, want := core.CodeOf(err), core.InvalidArgument; err == nil || got != want {
		t.Fatalf("handler: got error %v (code %v), want code %v", err, got, want)
	}
}

func TestDeclaration(t *testing.T) {
	app := thumbnails.New()
	if got, want := app.Name(), "thumbnails"; got != want {
		t.Errorf("Name: got %q, want %q", got, want)
	}
	want := []core.Resource{
		{Env: thumbnails.MediaBucketEnv, Kind: core.KindBucket, Use: core.ReadWrite},
		{Env: thumbnails.TopicEnv, Kind: core.KindTopic, Use: core.Publish},
	}
	if diff := cmp.Diff(want, app.Resources()); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if f, ok := app.EventFunc("make-thumbnail"); !ok || f.Sizing == nil || f.Sizing.MemoryMiB != 1024 || f.Sizing.Timeout != time.Minute {
		t.Errorf("make-thumbnail's sizing = %+v, want 1024 MiB and 60 s", f.Sizing)
	}
	funcs := app.EventFuncs()
	if len(funcs) != 1 {
		t.Fatalf("got %d event functions, want 1", len(funcs))
	}
	wantTrigger := core.ObjectTrigger{Bucket: thumbnails.MediaBucketEnv, Prefix: thumbnails.UploadsPrefix}
	if got := funcs[0]; got.Name != "make-thumbnail" || !cmp.Equal(got.Trigger, core.Trigger(wantTrigger)) {
		t.Errorf("event function: got %q %+v, want %q %+v", got.Name, got.Trigger, "make-thumbnail", wantTrigger)
	}
}

func TestInitWithoutEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"no bucket", map[string]string{thumbnails.TopicEnv: "mem://x"}, thumbnails.MediaBucketEnv},
		{"no topic", map[string]string{thumbnails.MediaBucketEnv: "file:///tmp"}, thumbnails.TopicEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := thumbnails.New()
			err := app.Init(t.Context(), func(k string) string { return tt.env[k] })
			if err == nil {
				app.Close(context.Background())
				t.Fatalf("Init: got nil error, want one naming %s", tt.wantVar)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tt.wantVar)) {
				t.Errorf("Init error: got %q, want it to name %s", err, tt.wantVar)
			}
		})
	}
}
