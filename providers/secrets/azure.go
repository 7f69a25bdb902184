//go:build azure

package secrets

import _ "gocloud.dev/secrets/azurekeyvault" // azurekeyvault://
