package providers

import (
	"slices"
	"strings"
)

// The tables below are the one list of the drivers polyfn links. The
// packages that link them are generated from it: each provider's imports
// (providers/aws/drivers.go, …) and each kind package (providers/blob, …),
// with its documentation and one file per cloud, tagged by cloud. After
// editing a table, run:
//
//	go generate ./providers/...
//
// cmd/internal/gendrivers's test fails while a generated file differs from
// what the tables make.
//
//go:generate go run ../cmd/internal/gendrivers -root ..

// Module is polyfn's module path.
const Module = "github.com/polyfn/polyfn"

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

// EveryBuild reports whether the driver is linked whatever the build tag
// by every build that imports its kind's package: local files and memory
// (providers/local's drivers), and the self-hosted brokers
// (providers/selfhosted's, through providers/pubsub). The local target
// links all of providers/local besides.
func (d Driver) EveryBuild() bool { return d.Provider == "local" || d.Provider == "selfhosted" }

// Link returns the package a function's main imports to link the driver in
// a build for its target: its kind's package.
func (d Driver) Link() string { return KindPackage(d.Type) }

// Kind is a package that links the build target's drivers for some
// portable types, which a function's main imports when its function uses
// them.
type Kind struct {
	// Package is the kind package's import path.
	Package string
	// Types are the portable types it links drivers for, as gocloud.dev
	// names them in errors.
	Types []string
	// Uses completes "A function's main imports it when the function …" in
	// the package's documentation.
	Uses string
}

// kinds is every kind package, by import path.
var kinds = []Kind{
	{Module + "/providers/blob", []string{"blob.Bucket"},
		"opens a bucket (core.Bucket)"},
	{Module + "/providers/docstore", []string{"docstore.Collection"},
		"opens a collection (an idempotency store, say)"},
	{Module + "/providers/pubsub", []string{"pubsub.Topic", "pubsub.Subscription"},
		"publishes to a topic or consumes a subscription (core.Topic, core.Subscription)"},
	{Module + "/providers/runtimevar", []string{"runtimevar.Variable"},
		"reads a runtime variable (core.Variable: API keys, feature flags)"},
	{Module + "/providers/secrets", []string{"secrets.Keeper"},
		"encrypts or decrypts with a keeper (core.Keeper)"},
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
	{"pubsub.Topic", "jetstream", Module + "/resources/jetstreampubsub", "selfhosted"},
	{"pubsub.Subscription", "jetstream", Module + "/resources/jetstreampubsub", "selfhosted"},
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
	{"runtimevar.Variable", "azurekeyvaultvar", Module + "/providers/azure/keyvaultvar", "azure"},
	{"secrets.Keeper", "azurekeyvault", "gocloud.dev/secrets/azurekeyvault", "azure"},
}

// Drivers returns every scheme polyfn links, with the provider that links it.
func Drivers() []Driver { return slices.Clone(drivers) }

// Kinds returns every kind package, sorted by import path.
func Kinds() []Kind {
	ks := slices.Clone(kinds)
	for i := range ks {
		ks[i].Types = slices.Clone(ks[i].Types)
	}
	return ks
}

// KindPackage returns the package that links the build target's drivers
// for portable type t ("blob.Bucket"), or "" for an unknown type.
func KindPackage(t string) string {
	for _, k := range kinds {
		if slices.Contains(k.Types, t) {
			return k.Package
		}
	}
	return ""
}

// KindPackages returns every package KindPackage names, sorted.
func KindPackages() []string {
	pkgs := make([]string, len(kinds))
	for i, k := range kinds {
		pkgs[i] = k.Package
	}
	slices.Sort(pkgs)
	return pkgs
}

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
