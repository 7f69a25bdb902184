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
	// KindOIDCIssuer is an OIDC issuer URL whose tokens the function accepts;
	// the local runtime defaults it to its development issuer.
	KindOIDCIssuer ResourceKind = "oidc-issuer"
	// KindOIDCAudience is the audience those tokens must name; the local
	// runtime defaults it to the development audience.
	KindOIDCAudience ResourceKind = "oidc-audience"
)

// Resource is a resource an app needs, configured by a gocloud.dev URL in
// an environment variable.
type Resource struct {
	// Env is the environment variable holding the URL, e.g. "USERS_BUCKET_URL".
	Env  string       `json:"env"`
	Kind ResourceKind `json:"kind"`
	// Optional resources may be left unset in cloud builds.
	Optional bool `json:"optional,omitempty"`
}

// Bucket declares a blob bucket URL in the variable env.
func Bucket(env string) Resource { return Resource{Env: env, Kind: KindBucket} }

// Topic declares a pub/sub topic URL in the variable env.
func Topic(env string) Resource { return Resource{Env: env, Kind: KindTopic} }

// Subscription declares a pub/sub subscription URL in the variable env.
func Subscription(env string) Resource { return Resource{Env: env, Kind: KindSubscription} }

// Keeper declares a secrets keeper URL in the variable env.
func Keeper(env string) Resource { return Resource{Env: env, Kind: KindKeeper} }

// Variable declares a runtime variable URL in the variable env.
func Variable(env string) Resource { return Resource{Env: env, Kind: KindVariable} }

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
