// Package local links the gocloud.dev drivers that need no cloud: local
// files, memory, constant values and local keys. cmd/launch imports it, so
// every build made with it links them, whatever the cloud, and any binary
// can run against local resources in tests. Import it for its side effects.
//
// Its imports (drivers.go) are generated from the driver table in
// providers/drivers.go.
package local
