package emulators_test

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob"

	"github.com/polyfn/polyfn/internal/emulators"
)

// TestAzurite proves the emulator starts and speaks the Azure Blob protocol
// to both the Azure SDK and gocloud's azureblob driver.
func TestAzurite(t *testing.T) {
	az := emulators.StartAzurite(t)
	ctx := t.Context()
	client, err := azblob.NewClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "media", nil); err != nil {
		t.Fatal(err)
	}
	for _, kv := range az.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	b, err := blob.OpenBucket(ctx, az.BucketURL("media"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.WriteAll(ctx, "uploads/a b+c.txt", []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	got, err := b.ReadAll(ctx, "uploads/a b+c.txt")
	if err != nil || string(got) != "hello" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
}
