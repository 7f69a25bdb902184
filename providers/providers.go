// Package providers knows which polyfn build links the gocloud.dev driver
// for each resource URL scheme, and explains a URL that the running binary
// cannot open.
//
// A function opens its resources by URL, through gocloud.dev, and a binary
// serves the URL schemes of the drivers it links. A function's main links
// the drivers of each resource kind its function uses with one blank import
// per kind, whatever the target: providers/blob, providers/pubsub (which
// also links the self-hosted brokers, NATS and RabbitMQ),
// providers/docstore, providers/runtimevar and providers/secrets link the
// build tag's driver for that kind and its local ones (files, memory,
// constant values, local keys), so a binary pays the start-up cost of the
// SDKs it uses and no other, and a function that uses no resource links
// none of gocloud.dev. The local target (no tag) links every local driver
// (providers/local). providers/aws, gcp, azure and selfhosted link all of one
// provider's drivers at once, for tools and tests.
//
// When a URL's scheme has no driver in the binary, gocloud.dev fails with
// "no driver registered for …; available schemes: …"; Explain adds the
// build tag and the import that link the missing driver.
//
// Drivers and Kinds return the one table of the drivers polyfn links
// (drivers.go). Explain reads it, and the imports of every package named
// above are generated from it: go generate ./providers/... .
//
// This package links no driver itself.
package providers

import (
	"errors"
	"fmt"
	"regexp"
	"sync"
)

// noDriver matches gocloud.dev's error for a URL whose scheme no linked
// driver registered (gocloud.dev/internal/openurl), for every portable type.
// It is compiled on the first failed start, not in every binary's init.
var noDriver = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`open (\w+\.\w+): no driver registered for "([^"]*)"`)
})

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
	m := noDriver().FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	return &SchemeError{Type: m[1], Scheme: m[2], Driver: lookup(m[1], m[2]), Err: err}
}
