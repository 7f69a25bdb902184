// Package e2e holds the gcpfunctions adapter's tests against the real
// Functions Framework and real peers: test apps served in process, the
// example functions built with -tags gcp and run as child processes, Cloud
// Storage and Pub/Sub through fake-gcs-server and pstest, and the cold-start
// benchmark. They live apart from the adapter so that its fuzz targets run in
// a small test binary. The package has no code of its own.
package e2e
