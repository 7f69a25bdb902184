//go:build gcp

package launch

// A -tags gcp build links the Google Cloud gocloud.dev drivers. The import
// lives apart from target_gcp.go, which wires the adapter, so each file
// holds one concern.
import _ "github.com/polyfn/polyfn/providers/gcp"
