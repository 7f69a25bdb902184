package main

import "flag"

// update rewrites the packagers' golden files in testdata instead of
// comparing with them: go test ./cmd/polyfn -run Golden -update, then review
// the diff.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")
