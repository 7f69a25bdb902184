package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/gcsblob" // gs://, against fake-gcs-server
	"gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/gcppubsub" // gcppubsub://, against pstest

	"github.com/polyfn/polyfn/adapters/gcpfunctions"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
)

// These tests run the thumbnails and orders functions under the real
// framework against Google's protocols: Cloud Storage's JSON API served by
// fake-gcs-server and Pub/Sub's gRPC API served by pstest, both in this
// process, reached through gocloud's gcsblob and gcppubsub drivers.

const project = "polyfn-test"

var peers struct {
	once sync.Once
	err  error
	url  string // the framework serving make-thumbnail and record-order
	gcs  *fakestorage.Server
	ps   *pstest.Server
}

// withPeers starts the peers and the functions once per test binary. The
// emulator variables are set for the whole process: gocloud's default GCP
// openers read them once.
func withPeers(t *testing.T) {
	t.Helper()
	peers.once.Do(func() { peers.err = startPeers() })
	if peers.err != nil {
		t.Fatal(peers.err)
	}
}

func startPeers() error {
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", PublicHost: "127.0.0.1"})
	if err != nil {
		return err
	}
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "media"})
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "orders"})
	ps := pstest.NewServerWithAddress("127.0.0.1:0")
	ctx := context.Background()
	for _, name := range []string{"thumbnails", "thumbnails-e2e", "orders"} {
		topic := "projects/" + project + "/topics/" + name
		if _, err := ps.GServer.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
			return err
		}
		sub := &pubsubpb.Subscription{Name: "projects/" + project + "/subscriptions/" + name + "-check", Topic: topic, AckDeadlineSeconds: 10}
		if _, err := ps.GServer.CreateSubscription(ctx, sub); err != nil {
			return err
		}
	}
	u, err := url.Parse(gcs.URL())
	if err != nil {
		return err
	}
	if err := os.Setenv("STORAGE_EMULATOR_HOST", u.Host); err != nil {
		return err
	}
	if err := os.Setenv("PUBSUB_EMULATOR_HOST", ps.Addr); err != nil {
		return err
	}
	env := map[string]string{
		thumbnails.MediaBucketEnv: "gs://media",
		thumbnails.TopicEnv:       "gcppubsub://projects/" + project + "/topics/thumbnails",
		orders.BucketEnv:          "gs://orders",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	apps := []*core.App{thumbnails.New(), orders.New()}
	if err := register(ctx, apps, &gcpfunctions.Options{Lookup: lookup}); err != nil {
		return err
	}
	peers.gcs, peers.ps = gcs, ps
	peers.url, err = startFramework()
	return err
}

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestThumbnailsAgainstGCSAndPubSub uploads an image through gcsblob, sends
// the finalized event Eventarc would send, and finds the thumbnail in the
// bucket and its message on the topic.
func TestThumbnailsAgainstGCSAndPubSub(t *testing.T) {
	withPeers(t)
	ctx := t.Context()
	media, err := blob.OpenBucket(ctx, "gs://media")
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	if err := media.WriteAll(ctx, "uploads/cat.png", pngOf(t, 1024, 512), &blob.WriterOptions{ContentType: "image/png"}); err != nil {
		t.Fatal(err)
	}
	attrs, err := media.Attributes(ctx, "uploads/cat.png")
	if err != nil {
		t.Fatal(err)
	}
	data := fmt.Sprintf(`{"kind":"storage#object","bucket":"media","name":"uploads/cat.png","size":"%d","contentType":"image/png","generation":"1"}`, attrs.Size)
	body, headers := binaryMode(typeFinal, "//storage.googleapis.com/projects/_/buckets/media", "objects/uploads/cat.png", "application/json", []byte(data))
	if status, resp := do(t, newRequest(t, http.MethodPost, peers.url+"/make-thumbnail", body, headers...)); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}

	thumb, err := media.ReadAll(ctx, "thumbnails/cat.png")
	if err != nil {
		t.Fatalf("the thumbnail is not in the bucket: %v", err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(thumb))
	if err != nil || cfg.Width != 256 || cfg.Height != 128 {
		t.Errorf("thumbnail %dx%d (%v), want 256x128", cfg.Width, cfg.Height, err)
	}

	sub, err := pubsub.OpenSubscription(ctx, "gcppubsub://projects/"+project+"/subscriptions/thumbnails-check")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(context.WithoutCancel(ctx))
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := sub.Receive(rctx)
	if err != nil {
		t.Fatalf("no thumbnail message on the topic: %v", err)
	}
	msg.Ack()
	var got thumbnails.Thumbnail
	if err := json.Unmarshal(msg.Body, &got); err != nil || got.ThumbnailKey != "thumbnails/cat.png" || got.Width != 256 {
		t.Errorf("message %s (%v), want the thumbnail of uploads/cat.png", msg.Body, err)
	}
}

// TestOrdersAgainstPubSubAndGCS publishes an order through gcppubsub to
// pstest, delivers the message pstest holds as a Pub/Sub push request (no
// CloudEvent headers; the framework converts it), and finds the order
// recorded in the GCS bucket.
func TestOrdersAgainstPubSubAndGCS(t *testing.T) {
	withPeers(t)
	ctx := t.Context()
	topic, err := pubsub.OpenTopic(ctx, "gcppubsub://projects/"+project+"/topics/orders")
	if err != nil {
		t.Fatal(err)
	}
	defer topic.Shutdown(context.WithoutCancel(ctx))
	order := `{"id":"G-1","customer":"Ada","items":[{"sku":"TEA-01","quantity":2}],"total":9.5}`
	if err := topic.Send(ctx, &pubsub.Message{Body: []byte(order), Metadata: map[string]string{"origin": "test"}}); err != nil {
		t.Fatal(err)
	}
	msgs := peers.ps.Messages()
	m := msgs[len(msgs)-1]
	push, _ := json.Marshal(map[string]any{
		"message": map[string]any{
			"data": base64.StdEncoding.EncodeToString(m.Data), "attributes": m.Attributes,
			"messageId": m.ID, "publishTime": m.PublishTime.Format(time.RFC3339Nano),
		},
		"subscription": "projects/" + project + "/subscriptions/orders-push",
	})
	req := newRequest(t, http.MethodPost, peers.url+"/record-order", push, "Content-Type", "application/json")
	if status, resp := do(t, req); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	stored, err := peers.gcs.GetObject("orders", "orders/G-1.json")
	if err != nil {
		t.Fatalf("the order is not in the bucket: %v", err)
	}
	if want := `{"id":"G-1","customer":"Ada","items":[{"sku":"TEA-01","quantity":2}],"total":9.5}`; string(stored.Content) != want {
		t.Errorf("stored %s, want %s", stored.Content, want)
	}
}
