// Package aws links all of polyfn's gocloud.dev drivers for AWS at once,
// for tools and tests (internal/backends links every provider into one test
// binary); import it for its side effects. A function's main imports the
// kind packages it uses instead (providers/blob, …), which link the same
// drivers one kind at a time under -tags aws.
//
// Its imports (drivers.go) are generated from the driver table in
// providers/drivers.go.
package aws
