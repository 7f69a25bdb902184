package providers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/docstore"
	"gocloud.dev/pubsub"
	"gocloud.dev/runtimevar"
	"gocloud.dev/secrets"

	"github.com/polyfn/polyfn/providers"
	_ "github.com/polyfn/polyfn/providers/local" // what every build links, less selfhosted
)

// open opens urlstr as the portable type t on gocloud.dev's default muxes,
// as a function does, and returns the error.
func open(ctx context.Context, t, urlstr string) error {
	var err error
	switch t {
	case "blob.Bucket":
		_, err = blob.OpenBucket(ctx, urlstr)
	case "pubsub.Topic":
		_, err = pubsub.OpenTopic(ctx, urlstr)
	case "pubsub.Subscription":
		_, err = pubsub.OpenSubscription(ctx, urlstr)
	case "secrets.Keeper":
		_, err = secrets.OpenKeeper(ctx, urlstr)
	case "runtimevar.Variable":
		_, err = runtimevar.OpenVariable(ctx, urlstr)
	case "docstore.Collection":
		_, err = docstore.OpenCollection(ctx, urlstr)
	default:
		panic("unknown type " + t)
	}
	return err
}

// TestExplain opens URLs this binary has no driver for, through gocloud.dev,
// wraps the error as a function and the runtime do, and checks the hint.
func TestExplain(t *testing.T) {
	tests := []struct {
		name, typ, url string
		want           string // the hint after gocloud.dev's error
	}{
		{"aws bucket", "blob.Bucket", "s3://media?region=eu-west-1",
			`providers: build with -tags aws and import _ "github.com/polyfn/polyfn/providers/blob" in main to link gocloud.dev/blob/s3blob`},
		{"gcp topic", "pubsub.Topic", "gcppubsub://projects/p/topics/thumbnails",
			`providers: build with -tags gcp and import _ "github.com/polyfn/polyfn/providers/pubsub" in main to link gocloud.dev/pubsub/gcppubsub`},
		{"aws subscription", "pubsub.Subscription", "awssqs://sqs.eu-west-1.amazonaws.com/123456789012/orders",
			`providers: build with -tags aws and import _ "github.com/polyfn/polyfn/providers/pubsub" in main to link gocloud.dev/pubsub/awssnssqs`},
		{"azure keeper", "secrets.Keeper", "azurekeyvault://v.vault.azure.net/keys/k",
			`providers: build with -tags azure and import _ "github.com/polyfn/polyfn/providers/secrets" in main to link gocloud.dev/secrets/azurekeyvault`},
		{"azure secret value", "runtimevar.Variable", "azurekeyvaultvar://v.vault.azure.net/secrets/api-key",
			`providers: build with -tags azure and import _ "github.com/polyfn/polyfn/providers/runtimevar" in main to link github.com/polyfn/polyfn/providers/azure/keyvaultvar`},
		{"gcp collection", "docstore.Collection", "firestore://projects/p/databases/(default)/documents/users?name_field=id",
			`providers: build with -tags gcp and import _ "github.com/polyfn/polyfn/providers/docstore" in main to link gocloud.dev/docstore/gcpfirestore`},
		{"scheme in upper case", "blob.Bucket", "GS://media",
			`providers: build with -tags gcp and import _ "github.com/polyfn/polyfn/providers/blob" in main to link gocloud.dev/blob/gcsblob`},
		{"self-hosted topic in a main that does not link pub/sub", "pubsub.Topic", "nats://thumbnails",
			`providers: import _ "github.com/polyfn/polyfn/providers/pubsub" in main to link gocloud.dev/pubsub/natspubsub`},
		{"SNS has no subscriptions", "pubsub.Subscription", "awssns:///arn:aws:sns:eu-west-1:123456789012:t",
			`providers: no polyfn build links a pubsub.Subscription driver for "awssns": add the gocloud.dev driver with a blank import in main`},
		{"unknown scheme", "blob.Bucket", "ftp://media",
			`providers: no polyfn build links a blob.Bucket driver for "ftp": add the gocloud.dev driver with a blank import in main`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cause := open(t.Context(), tc.typ, tc.url)
			if cause == nil {
				t.Fatalf("opening %s: got no error", tc.url)
			}
			// As users.New's init hook and core.App.Init wrap it.
			err := fmt.Errorf("core: starting users: %w", fmt.Errorf("users: opening the bucket in USERS_BUCKET_URL: %w", cause))
			got := providers.Explain(err)
			if want := err.Error() + "; " + tc.want; got.Error() != want {
				t.Errorf("Explain:\n got %s\nwant %s", got, want)
			}
			if !errors.Is(got, cause) {
				t.Error("Explain's error does not wrap the original")
			}
			var se *providers.SchemeError
			if !errors.As(got, &se) || se.Type != tc.typ {
				t.Errorf("errors.As(*SchemeError): got %+v, want Type %s", se, tc.typ)
			}
			if again := providers.Explain(got); again != got {
				t.Errorf("Explain twice: got %v, want the first result unchanged", again)
			}
		})
	}
}

// TestExplainNamesTheLinkedSchemes pins the part of the message that
// gocloud.dev writes: the schemes this binary links.
func TestExplainNamesTheLinkedSchemes(t *testing.T) {
	err := providers.Explain(open(t.Context(), "blob.Bucket", "azblob://media"))
	want := `open blob.Bucket: no driver registered for "azblob" for URL "azblob://media"; available schemes: file, mem; ` +
		`providers: build with -tags azure and import _ "github.com/polyfn/polyfn/providers/blob" in main to link gocloud.dev/blob/azureblob`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

func TestExplainLeavesOtherErrors(t *testing.T) {
	if err := providers.Explain(nil); err != nil {
		t.Errorf("Explain(nil): got %v", err)
	}
	other := open(t.Context(), "blob.Bucket", "file:///nonexistent-polyfn-dir/x")
	for _, err := range []error{errors.New("users: opening the bucket: context canceled"), other} {
		if got := providers.Explain(err); got != err {
			t.Errorf("Explain(%v): got %v, want it unchanged", err, got)
		}
	}
}

// TestDrivers checks the table's own consistency; each provider's test
// checks its rows against what it registers.
func TestDrivers(t *testing.T) {
	types := map[string]bool{"blob.Bucket": true, "pubsub.Topic": true, "pubsub.Subscription": true,
		"secrets.Keeper": true, "runtimevar.Variable": true, "docstore.Collection": true}
	seen := map[string]string{}
	for _, d := range providers.Drivers() {
		key := d.Type + " " + d.Scheme
		if other, dup := seen[key]; dup {
			t.Errorf("%s is linked by both %s and %s: their registrations would panic", key, other, d.Package)
		}
		seen[key] = d.Package
		if !types[d.Type] {
			t.Errorf("%s: unknown portable type %q", d.Package, d.Type)
		}
		if providers.KindPackage(d.Type) == "" {
			t.Errorf("%s: no package links %s drivers", d.Package, d.Type)
		}
		if d.Scheme != strings.ToLower(d.Scheme) {
			t.Errorf("%s: scheme %q is not lower-case, as gocloud.dev reports schemes", d.Package, d.Scheme)
		}
	}
}

// TestKinds checks the kind table: each portable type belongs to one kind
// package, which KindPackage names, and every kind package has drivers.
func TestKinds(t *testing.T) {
	owner := map[string]string{}
	for _, k := range providers.Kinds() {
		if k.Uses == "" {
			t.Errorf("%s: no Uses for its documentation", k.Package)
		}
		for _, typ := range k.Types {
			if other, dup := owner[typ]; dup {
				t.Errorf("%s is in both %s and %s", typ, other, k.Package)
			}
			owner[typ] = k.Package
			if got := providers.KindPackage(typ); got != k.Package {
				t.Errorf("KindPackage(%q): got %q, want %q", typ, got, k.Package)
			}
		}
	}
	for _, d := range providers.Drivers() {
		delete(owner, d.Type)
	}
	for typ, pkg := range owner {
		t.Errorf("%s: no driver for %s", pkg, typ)
	}
	want := []string{providers.Module + "/providers/blob", providers.Module + "/providers/docstore",
		providers.Module + "/providers/pubsub", providers.Module + "/providers/runtimevar", providers.Module + "/providers/secrets"}
	if diff := cmp.Diff(want, providers.KindPackages()); diff != "" {
		t.Errorf("KindPackages (-want +got):\n%s", diff)
	}
}

// FuzzExplain feeds Explain arbitrary error text: it must not panic, must
// return an error it does not recognise unchanged, and must keep the
// original text first in one it does.
func FuzzExplain(f *testing.F) {
	f.Add(`open blob.Bucket: no driver registered for "s3" for URL "s3://b"; available schemes: file, mem`)
	f.Add(`open pubsub.Subscription: no driver registered for "" for URL ""`)
	f.Add(`open x.Y: no driver registered for "ünïcode"`)
	f.Add("users: opening the bucket: context canceled")
	f.Fuzz(func(t *testing.T, msg string) {
		err := errors.New(msg)
		got := providers.Explain(err)
		var se *providers.SchemeError
		if !errors.As(got, &se) {
			if got != err {
				t.Fatalf("Explain(%q) = %v, want it unchanged", msg, got)
			}
			return
		}
		if !strings.HasPrefix(got.Error(), msg) || !errors.Is(got, err) {
			t.Fatalf("Explain(%q) = %q: lost the original", msg, got)
		}
	})
}
