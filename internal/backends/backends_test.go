// Package backends_test runs the example functions' storage paths, the same
// users and thumbnails code that every build deploys, against every backend
// polyfn links, each behind its real protocol: S3 (gofakes3), Cloud Storage
// (fake-gcs-server), Azure Blob Storage (Azurite), Pub/Sub (pstest), NATS
// and RabbitMQ (the machine's servers), local files and memory. Functions
// open them by URL through gocloud.dev's default openers, exactly as in a
// deployment; only the endpoints and credentials in the environment differ.
package backends_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"cloud.google.com/go/pubsub/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/gcppubsub"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/polyfn/polyfn/internal/emulators"
	_ "github.com/polyfn/polyfn/providers/aws"
	_ "github.com/polyfn/polyfn/providers/azure"
	_ "github.com/polyfn/polyfn/providers/gcp"
	_ "github.com/polyfn/polyfn/providers/local"
	_ "github.com/polyfn/polyfn/providers/selfhosted"
)

// The in-process peers, started once for the test binary by TestMain.
var (
	s3Backend *s3mem.Backend
	s3URL     string // the S3 endpoint
	gcs       *fakestorage.Server
	pstestSrv *pstest.Server
)

// gcpProject is the project of the Pub/Sub topics and subscriptions.
const gcpProject = "polyfn-test"

// TestMain starts the in-process peers and points gocloud.dev's default
// openers at them through the environment, as a deployment would point them
// at the cloud: those openers read it once per process. Azurite, a separate
// process, is started by the first test that needs it and shared.
func TestMain(m *testing.M) {
	s3Backend = s3mem.New()
	s3srv := httptest.NewServer(gofakes3.New(s3Backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	s3URL = s3srv.URL

	var err error
	gcs, err = fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1",
		// Objects are read over the XML API's host, which is this server.
		PublicHost: "127.0.0.1",
		Writer:     io.Discard,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake-gcs-server:", err)
		os.Exit(1)
	}
	pstestSrv = pstest.NewServer()

	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":     "polyfn",
		"AWS_SECRET_ACCESS_KEY": "polyfn-secret",
		// Neither a shared config file nor the instance metadata service is consulted.
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"STORAGE_EMULATOR_HOST":       strings.TrimPrefix(gcs.URL(), "http://"),
		"PUBSUB_EMULATOR_HOST":        pstestSrv.Addr,
		"AZURE_STORAGE_ACCOUNT":       emulators.AzuriteAccount,
		"AZURE_STORAGE_KEY":           emulators.AzuriteKey,
	} {
		os.Setenv(k, v)
	}

	code := m.Run()
	if azurite.stop != nil {
		azurite.stop()
	}
	pstestSrv.Close()
	gcs.Stop()
	s3srv.Close()
	os.Exit(code)
}

var azurite struct {
	once sync.Once
	a    *emulators.Azurite
	stop func()
	err  error
}

// sharedAzurite returns the Azurite that the package's tests share.
func sharedAzurite(t *testing.T) *emulators.Azurite {
	t.Helper()
	azurite.once.Do(func() {
		azurite.a, azurite.stop, azurite.err = emulators.LaunchAzurite(emulators.ModuleRoot(t))
	})
	if u := (*emulators.UnavailableError)(nil); errors.As(azurite.err, &u) {
		emulators.Missing(t, "%s", u.Reason)
	}
	if azurite.err != nil {
		t.Fatal(azurite.err)
	}
	return azurite.a
}

var names atomic.Int64

// name returns a resource name no other test uses, valid everywhere: 3 to
// 63 lower-case letters, digits and hyphens.
func name(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), names.Add(1))
}

// A bucketBackend makes new, empty buckets and returns their URLs.
type bucketBackend struct {
	name   string
	bucket func(t *testing.T) string
}

var bucketBackends = []bucketBackend{
	{"s3blob on gofakes3", func(t *testing.T) string {
		b := name("polyfn")
		if err := s3Backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
		q := url.Values{"region": {"us-east-1"}, "endpoint": {s3URL}, "use_path_style": {"true"}, "disable_https": {"true"}}
		return "s3://" + b + "?" + q.Encode()
	}},
	{"gcsblob on fake-gcs-server", func(t *testing.T) string {
		b := name("polyfn")
		gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
		return "gs://" + b
	}},
	{"azureblob on Azurite", func(t *testing.T) string {
		az := sharedAzurite(t)
		client, err := azblob.NewClientFromConnectionString(az.ConnectionString(), nil)
		if err != nil {
			t.Fatal(err)
		}
		// gocloud.dev's azureblob does not create containers.
		c := name("polyfn")
		if _, err := client.CreateContainer(t.Context(), c, nil); err != nil {
			t.Fatal(err)
		}
		return az.BucketURL(c)
	}},
	{"fileblob", fileBucket},
	{"memblob", func(t *testing.T) string { return sharedMemScheme + "://" + name("polyfn") }},
}

// fileBucket returns the URL of a fileblob bucket in a new directory, as the
// local runtime makes one.
func fileBucket(t *testing.T) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(t.TempDir()), RawQuery: "create_dir=true&no_tmp_dir=true"}).String()
}

// sharedMemScheme opens memblob buckets shared by name within the process.
// A mem:// URL opens a new, empty bucket each time, so the test could not
// see what the function wrote; this opener hands the function and the test
// the same memblob bucket, and the driver under test is memblob itself.
const sharedMemScheme = "sharedmem"

type sharedMem struct {
	mu      sync.Mutex
	buckets map[string]*blob.Bucket
}

func (o *sharedMem) OpenBucketURL(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if b, ok := o.buckets[u.Host]; ok {
		return b, nil
	}
	b, err := new(memblob.URLOpener).OpenBucketURL(ctx, &url.URL{Scheme: memblob.Scheme})
	if err != nil {
		return nil, err
	}
	o.buckets[u.Host] = b
	return b, nil
}

func init() {
	blob.DefaultURLMux().RegisterBucket(sharedMemScheme, &sharedMem{buckets: map[string]*blob.Bucket{}})
}

// A topicBackend makes a new topic and returns its URL and a subscription
// to it, open before anything is published.
type topicBackend struct {
	name  string
	topic func(t *testing.T) (string, *pubsub.Subscription)
}

var topicBackends = []topicBackend{
	{"mempubsub", func(t *testing.T) (string, *pubsub.Subscription) {
		u := "mem://" + name("thumbnails")
		// A mem:// topic must exist before a subscription to it.
		top, err := pubsub.OpenTopic(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { top.Shutdown(context.Background()) })
		return u, subscribe(t, u)
	}},
	{"gcppubsub on pstest", func(t *testing.T) (string, *pubsub.Subscription) {
		ctx := t.Context()
		conn, err := grpc.NewClient(pstestSrv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// The admin calls go through the same Pub/Sub clients the driver uses.
		pub, err := gcppubsub.PublisherClient(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := gcppubsub.SubscriberClient(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		topic := "projects/" + gcpProject + "/topics/" + name("thumbnails")
		subscription := "projects/" + gcpProject + "/subscriptions/" + name("thumbnails")
		if _, err := pub.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
			t.Fatal(err)
		}
		if _, err := sub.CreateSubscription(ctx, &pubsubpb.Subscription{Name: subscription, Topic: topic}); err != nil {
			t.Fatal(err)
		}
		return gcppubsub.Scheme + "://" + topic, subscribe(t, gcppubsub.Scheme+"://"+subscription)
	}},
	{"natspubsub on NATS", func(t *testing.T) (string, *pubsub.Subscription) {
		t.Setenv("NATS_SERVER_URL", emulators.NATSURL(t))
		// natsv2: native NATS headers carry the message's metadata.
		u := "nats://" + name("polyfn.thumbnails") + "?natsv2"
		return u, subscribe(t, u)
	}},
	{"rabbitpubsub on RabbitMQ", func(t *testing.T) (string, *pubsub.Subscription) {
		server := emulators.RabbitMQURL(t)
		t.Setenv("RABBIT_SERVER_URL", server)
		// rabbitpubsub publishes to an exchange and receives from a queue,
		// and declares neither: an operator does.
		conn, err := amqp.Dial(server)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		exchange, queue := name("polyfn-thumbnails"), name("polyfn-thumbnails")
		if err := ch.ExchangeDeclare(exchange, amqp.ExchangeFanout, false, true, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare(queue, false, true, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind(queue, "", exchange, false, nil); err != nil {
			t.Fatal(err)
		}
		return "rabbit://" + exchange, subscribe(t, "rabbit://"+queue)
	}},
}

func subscribe(t *testing.T, u string) *pubsub.Subscription {
	t.Helper()
	s, err := pubsub.OpenSubscription(t.Context(), u)
	if err != nil {
		t.Fatalf("OpenSubscription(%s): %v", u, err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

// openBucket opens the test's own handle on the bucket at u.
func openBucket(t *testing.T, u string) *blob.Bucket {
	t.Helper()
	b, err := blob.OpenBucket(t.Context(), u)
	if err != nil {
		t.Fatalf("OpenBucket(%s): %v", u, err)
	}
	// A shared memblob bucket is closed by the function's own Close.
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// twoTone returns a w×h PNG, red on its left half and blue on its right.
func twoTone(t *testing.T, w, h int) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 255, A: 255}
			if x >= w/2 {
				c = color.NRGBA{B: 255, A: 255}
			}
			m.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
