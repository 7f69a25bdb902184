//go:build azure

package launch

// A -tags azure build links the Azure gocloud.dev drivers. The import
// lives apart from target_azure.go, which wires the adapter, so each file
// holds one concern.
import _ "github.com/polyfn/polyfn/providers/azure"
