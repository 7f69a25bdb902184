// Package providers knows which polyfn build links the gocloud.dev driver
// for each resource URL scheme, and explains a URL that the running binary
// cannot open.
//
// A function opens its resources by URL, through gocloud.dev, and a binary
// serves the URL schemes of the drivers it links. Every build made with
// cmd/launch links providers/local (file://, mem://, constant://,
// base64key://). A function's main links the cloud drivers of each resource
// kind its function uses with one blank import per kind, whatever the
// target: providers/blob, providers/pubsub (which also links the
// self-hosted brokers, NATS and RabbitMQ), providers/docstore,
// providers/runtimevar and providers/secrets link the build tag's driver
// for that kind, so a binary pays the start-up cost of the SDKs it uses and
// no other. providers/aws, gcp, azure and selfhosted link all of one
// provider's drivers at once, for tools and tests.
//
// When a URL's scheme has no driver in the binary, gocloud.dev fails with
// "no driver registered for …; available schemes: …"; Explain adds the
// build tag and the import that link the missing driver.
//
// This package links no driver itself.
package providers

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Driver is one URL scheme that a gocloud.dev driver registers for a
// portable type, and the polyfn provider that links the driver.
type Driver struct {
	// Type is the portable type as gocloud.dev names it in errors:
	// "blob.Bucket", "pubsub.Topic", "pubsub.Subscription", "secrets.Keeper",
	// "runtimevar.Variable" or "docstore.Collection".
	Type   string
	Scheme string
	// Package is the driver's import path.
	Package string
	// Provider is the package under providers/ that links the driver: "aws",
	// "gcp" or "azure", which the build tag of the same name links, or
	// "local" or "selfhosted", which every build links.
	Provider string
}

// EveryBuild reports whether the driver is linked whatever the build tag:
// by every build made with cmd/launch (providers/local), or by every build
// that imports its kind's package (providers/selfhosted's brokers, through
// providers/pubsub).
func (d Driver) EveryBuild() bool { return d.Provider == "local" || d.Provider == "selfhosted" }

// Link returns the package a function's main imports to link the driver in
// a build for its target, or "" for providers/local's drivers, which
// cmd/launch links into every build.
func (d Driver) Link() string {
	if d.Provider == "local" {
		return ""
	}
	return KindPackage(d.Type)
}

// Module is polyfn's module path.
const Module = "github.com/polyfn/polyfn"

// kindPackages maps each portable type, as gocloud.dev names it in errors,
// to the package that links the build target's drivers for it.
var kindPackages = map[string]string{
	"blob.Bucket":         Module + "/providers/blob",
	"docstore.Collection": Module + "/providers/docstore",
	"pubsub.Topic":        Module + "/providers/pubsub",
	"pubsub.Subscription": Module + "/providers/pubsub",
	"runtimevar.Variable": Module + "/providers/runtimevar",
	"secrets.Keeper":      Module + "/providers/secrets",
}

// KindPackage returns the package that links the build target's drivers
// for portable type t ("blob.Bucket"), or "" for an unknown type.
func KindPackage(t string) string { return kindPackages[t] }

// KindPackages returns every package KindPackage names, sorted.
func KindPackages() []string {
	var pkgs []string
	for _, p := range kindPackages {
		if !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	slices.Sort(pkgs)
	return pkgs
}

// drivers is every scheme polyfn links, by provider. Each provider's test
// checks its rows against what its imports register.
var drivers = []Driver{
	{"blob.Bucket", "file", "gocloud.dev/blob/fileblob", "local"},
	{"blob.Bucket", "mem", "gocloud.dev/blob/memblob", "local"},
	{"docstore.Collection", "mem", "gocloud.dev/docstore/memdocstore", "local"},
	{"pubsub.Topic", "mem", "gocloud.dev/pubsub/mempubsub", "local"},
	{"pubsub.Subscription", "mem", "gocloud.dev/pubsub/mempubsub", "local"},
	{"runtimevar.Variable", "constant", "gocloud.dev/runtimevar/constantvar", "local"},
	{"runtimevar.Variable", "file", "gocloud.dev/runtimevar/filevar", "local"},
	{"secrets.Keeper", "base64key", "gocloud.dev/secrets/localsecrets", "local"},

	{"pubsub.Topic", "nats", "gocloud.dev/pubsub/natspubsub", "selfhosted"},
	{"pubsub.Subscription", "nats", "gocloud.dev/pubsub/natspubsub", "selfhosted"},
	{"pubsub.Topic", "rabbit", "gocloud.dev/pubsub/rabbitpubsub", "selfhosted"},
	{"pubsub.Subscription", "rabbit", "gocloud.dev/pubsub/rabbitpubsub", "selfhosted"},

	{"blob.Bucket", "s3", "gocloud.dev/blob/s3blob", "aws"},
	{"docstore.Collection", "dynamodb", "gocloud.dev/docstore/awsdynamodb/v2", "aws"},
	{"pubsub.Topic", "awssns", "gocloud.dev/pubsub/awssnssqs", "aws"},
	{"pubsub.Topic", "awssqs", "gocloud.dev/pubsub/awssnssqs", "aws"},
	{"pubsub.Subscription", "awssqs", "gocloud.dev/pubsub/awssnssqs", "aws"},
	{"runtimevar.Variable", "awsparamstore", "gocloud.dev/runtimevar/awsparamstore", "aws"},
	{"runtimevar.Variable", "awssecretsmanager", "gocloud.dev/runtimevar/awssecretsmanager", "aws"},
	{"secrets.Keeper", "awskms", "gocloud.dev/secrets/awskms", "aws"},

	{"blob.Bucket", "gs", "gocloud.dev/blob/gcsblob", "gcp"},
	{"docstore.Collection", "firestore", "gocloud.dev/docstore/gcpfirestore", "gcp"},
	{"pubsub.Topic", "gcppubsub", "gocloud.dev/pubsub/gcppubsub", "gcp"},
	{"pubsub.Subscription", "gcppubsub", "gocloud.dev/pubsub/gcppubsub", "gcp"},
	{"runtimevar.Variable", "gcpsecretmanager", "gocloud.dev/runtimevar/gcpsecretmanager", "gcp"},
	{"secrets.Keeper", "gcpkms", "gocloud.dev/secrets/gcpkms", "gcp"},

	{"blob.Bucket", "azblob", "gocloud.dev/blob/azureblob", "azure"},
	{"docstore.Collection", "mongo", "gocloud.dev/docstore/mongodocstore", "azure"},
	{"pubsub.Topic", "azuresb", "gocloud.dev/pubsub/azuresb", "azure"},
	{"pubsub.Subscription", "azuresb", "gocloud.dev/pubsub/azuresb", "azure"},
	{"runtimevar.Variable", "azurekeyvaultvar", "github.com/polyfn/polyfn/providers/azure/keyvaultvar", "azure"},
	{"secrets.Keeper", "azurekeyvault", "gocloud.dev/secrets/azurekeyvault", "azure"},
}

// Drivers returns every scheme polyfn links, with the provider that links it.
func Drivers() []Driver { return slices.Clone(drivers) }

// lookup returns the driver for scheme and portable type t, or nil.
func lookup(t, scheme string) *Driver {
	scheme = strings.ToLower(scheme)
	i := slices.IndexFunc(drivers, func(d Driver) bool { return d.Type == t && d.Scheme == scheme })
	if i < 0 {
		return nil
	}
	d := drivers[i]
	return &d
}

// noDriver matches gocloud.dev's error for a URL whose scheme no linked
// driver registered (gocloud.dev/internal/openurl), for every portable type.
var noDriver = regexp.MustCompile(`open (\w+\.\w+): no driver registered for "([^"]*)"`)

// SchemeError is a resource URL whose scheme no driver in this binary
// serves, with what would link one.
type SchemeError struct {
	// Type is the portable type being opened ("blob.Bucket") and Scheme the
	// URL's scheme.
	Type, Scheme string
	// Driver is the driver polyfn links for Type and Scheme in other builds,
	// or nil when no polyfn build links one.
	Driver *Driver
	// Err is gocloud.dev's error, as the caller wrapped it; its text names
	// the schemes this binary links.
	Err error
}

func (e *SchemeError) Error() string {
	d := e.Driver
	switch {
	case d == nil:
		return fmt.Sprintf("%v; providers: no polyfn build links a %s driver for %q: add the gocloud.dev driver with a blank import in main",
			e.Err, e.Type, e.Scheme)
	case d.Provider == "local":
		return fmt.Sprintf("%v; providers: every build made with cmd/launch links %s; a main without it must import %s/providers/local",
			e.Err, d.Package, Module)
	case d.EveryBuild():
		return fmt.Sprintf("%v; providers: import _ %q in main to link %s",
			e.Err, d.Link(), d.Package)
	}
	return fmt.Sprintf("%v; providers: build with -tags %s and import _ %q in main to link %s",
		e.Err, d.Provider, d.Link(), d.Package)
}

func (e *SchemeError) Unwrap() error { return e.Err }

// Explain returns err with the build tag that would link the missing driver
// when err is, or wraps, gocloud.dev's "no driver registered" error for a
// URL's scheme: a *SchemeError that wraps err. It returns any other error
// unchanged. Runtimes call it on a failed start, before reporting the error.
//
// gocloud.dev reports a missing driver in an error without a type, so
// Explain finds it by its text, which a test pins for every portable type.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	if se := (*SchemeError)(nil); errors.As(err, &se) {
		return err
	}
	m := noDriver.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	return &SchemeError{Type: m[1], Scheme: m[2], Driver: lookup(m[1], m[2]), Err: err}
}
