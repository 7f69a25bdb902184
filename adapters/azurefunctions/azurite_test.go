package azurefunctions_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/internal/emulators"
)

// TestThumbnailsOnAzurite runs the thumbnails function as a custom handler
// (its -tags azure build, which links gocloud's azureblob driver through
// providers/azure) against Azure Blob Storage as Azurite serves it: a blob
// trigger delivers the upload's content, an Event Grid BlobCreated event
// only names it, and either way the thumbnail is written to Azurite.
func TestThumbnailsOnAzurite(t *testing.T) {
	bin := binary(t, "thumbnails")
	az := emulators.StartAzurite(t)
	ctx := t.Context()
	client, err := azblob.NewClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "media", nil); err != nil {
		t.Fatal(err)
	}
	host := azurefunctionstest.Start(t, bin, &azurefunctionstest.Options{
		Env: append(az.Env(), "MEDIA_BUCKET_URL="+az.BucketURL("media"), "THUMBNAILS_TOPIC_URL=mem://thumbnails"),
	})
	upload := func(key string, width, height int) []byte {
		t.Helper()
		img := image.NewRGBA(image.Rect(0, 0, width, height))
		for x := range width {
			img.Set(x, x%height, color.RGBA{R: 200, A: 255})
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if _, err := client.UploadBuffer(ctx, "media", key, buf.Bytes(), nil); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	thumbnail := func(key string) image.Config {
		t.Helper()
		resp, err := client.DownloadStream(ctx, "media", key, nil)
		if err != nil {
			t.Fatalf("the thumbnail %s is not in Azurite: %v\nhandler output:\n%s", key, err, host.Output())
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("thumbnail %s: %v", key, err)
		}
		return cfg
	}

	t.Run("blob trigger", func(t *testing.T) {
		content := upload("uploads/cat one.png", 600, 300)
		res, err := host.Invoke(ctx, "make-thumbnail", azurefunctionstest.BlobTrigger(azurefunctionstest.Blob{
			URI:     az.BlobEndpoint() + "/media/uploads/cat%20one.png",
			Content: content, ContentType: "image/png", ETag: "0x8DCF00D1E2A3B4C", LastModified: time.Now(),
			Tokens: map[string]string{"name": "cat one.png"},
		}))
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("%v %+v\noutput:\n%s", err, res, host.Output())
		}
		if cfg := thumbnail("thumbnails/cat one.png"); cfg.Width != 256 || cfg.Height != 128 {
			t.Errorf("thumbnail %dx%d, want 256x128", cfg.Width, cfg.Height)
		}
	})
	t.Run("event grid: the upload is read from Azurite", func(t *testing.T) {
		upload("uploads/dog.png", 100, 400)
		event, _ := json.Marshal(map[string]any{
			"topic":     "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/" + emulators.AzuriteAccount,
			"subject":   "/blobServices/default/containers/media/blobs/uploads/dog.png",
			"eventType": "Microsoft.Storage.BlobCreated", "id": "e-dog", "eventTime": time.Now().UTC().Format(time.RFC3339Nano),
			"data": map[string]any{"contentType": "image/png", "url": az.BlobEndpoint() + "/media/uploads/dog.png"},
		})
		res, err := host.Invoke(ctx, "make-thumbnail", azurefunctionstest.EventGridTrigger(event))
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("%v %+v\noutput:\n%s", err, res, host.Output())
		}
		if cfg := thumbnail("thumbnails/dog.png"); cfg.Width != 64 || cfg.Height != 256 {
			t.Errorf("thumbnail %dx%d, want 64x256", cfg.Width, cfg.Height)
		}
	})
}
