package core

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// ResourceKind is the kind of portable resource a variable's URL opens.
type ResourceKind string

// The kinds, each opened with the gocloud.dev portable type named.
const (
	KindBucket       ResourceKind = "bucket"       // blob.OpenBucket
	KindTopic        ResourceKind = "topic"        // pubsub.OpenTopic
	KindSubscription ResourceKind = "subscription" // pubsub.OpenSubscription
	KindKeeper       ResourceKind = "keeper"       // secrets.OpenKeeper
	KindVariable     ResourceKind = "variable"     // runtimevar.OpenVariable
	KindCollection   ResourceKind = "collection"   // docstore.OpenCollection
	// KindOIDCIssuer is an OIDC issuer URL whose tokens the function accepts;
	// the local runtime defaults it to its development issuer.
	KindOIDCIssuer ResourceKind = "oidc-issuer"
	// KindOIDCAudience is the audience those tokens must name; the local
	// runtime defaults it to the development audience.
	KindOIDCAudience ResourceKind = "oidc-audience"
	// KindStream is the partitioned log a StreamTrigger consumes (see
	// ParseStreamURL): Consume, which the platform's poller needs.
	KindStream ResourceKind = "stream"
)

// Resource is a resource an app needs, configured by a gocloud.dev URL in
// an environment variable, and how the app uses it.
type Resource struct {
	// Env is the environment variable holding the URL, e.g. "USERS_BUCKET_URL".
	Env  string       `json:"env"`
	Kind ResourceKind `json:"kind"`
	// Use is how the app uses the resource, one of UsesOf(Kind): what the
	// deployment grants it there. Require fills in DefaultUse(Kind) when it
	// is empty. It stays empty only for the kinds that take no use and for
	// the variables a trigger names that nothing Requires: the platform
	// delivers those events, and the function itself opens nothing.
	Use Use `json:"use,omitempty"`
	// Optional resources may be left unset in cloud builds.
	Optional bool `json:"optional,omitempty"`
}

// The constructors below declare a resource in the variable env, used as
// uses: none means the kind's default (DefaultUse); several are joined
// (Read and Write make ReadWrite). They panic on an invalid variable name
// or a use the kind does not take, programmer errors at declaration like
// an invalid route.

// Bucket declares a blob bucket (blob.OpenBucket): Read, Write or
// ReadWrite, by default ReadWrite.
func Bucket(env string, uses ...Use) Resource { return declare(env, KindBucket, uses) }

// Collection declares a document collection (docstore.OpenCollection):
// Read, Write or ReadWrite, by default ReadWrite. Its URL names a
// DynamoDB table, a Firestore collection or a Cosmos DB (MongoDB API)
// collection, with the field that holds each document's key:
//
//	dynamodb://orders?partition_key=id
//	firestore://projects/PROJECT/databases/(default)/documents/orders?name_field=id
//	mongo://shop/orders?id_field=id   (the server in MONGO_SERVER_URL)
//	mem://orders/id                   (in memory, for tests)
func Collection(env string, uses ...Use) Resource { return declare(env, KindCollection, uses) }

// Topic declares a pub/sub topic (pubsub.OpenTopic): Publish, its default.
func Topic(env string, uses ...Use) Resource { return declare(env, KindTopic, uses) }

// Subscription declares a pub/sub subscription (pubsub.OpenSubscription):
// Consume, its default.
func Subscription(env string, uses ...Use) Resource { return declare(env, KindSubscription, uses) }

// Keeper declares a secrets keeper (secrets.OpenKeeper): Encrypt, Decrypt
// or EncryptDecrypt, by default EncryptDecrypt.
func Keeper(env string, uses ...Use) Resource { return declare(env, KindKeeper, uses) }

// Variable declares a runtime variable (runtimevar.OpenVariable): Read,
// its default.
func Variable(env string, uses ...Use) Resource { return declare(env, KindVariable, uses) }

// Env is a function's view of its configuration: it returns the value of a
// variable, or "". Runtimes build it with ResolveEnv.
type Env func(key string) string

// MissingEnvError lists required variables that are unset.
type MissingEnvError struct {
	App  string
	Vars []string
}

func (e *MissingEnvError) Error() string {
	return fmt.Sprintf("core: %s cannot start: required environment variable(s) not set: %s",
		e.App, strings.Join(e.Vars, ", "))
}

// ResolveEnv returns the Env for app. Each variable is read with lookup
// (os.LookupEnv when nil). A declared resource whose variable is unset or
// empty gets defaultFor(resource) when defaultFor is non-nil and returns a
// non-empty URL (the local runtime's defaults); otherwise a required one is
// reported in a *MissingEnvError naming every such variable, so a cloud build
// never falls back to local resources silently.
func ResolveEnv(app *App, lookup func(string) (string, bool), defaultFor func(Resource) string) (Env, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	resolved := map[string]string{}
	var missing []string
	for _, r := range app.Resources() {
		if v, ok := lookup(r.Env); ok && v != "" {
			resolved[r.Env] = v
			continue
		}
		if defaultFor != nil {
			if v := defaultFor(r); v != "" {
				resolved[r.Env] = v
				continue
			}
		}
		if !r.Optional {
			missing = append(missing, r.Env)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, &MissingEnvError{App: app.Name(), Vars: missing}
	}
	return func(key string) string {
		if v, ok := resolved[key]; ok {
			return v
		}
		v, _ := lookup(key)
		return v
	}, nil
}
