//go:build azure

package runtimevar

import _ "github.com/polyfn/polyfn/providers/azure/keyvaultvar" // azurekeyvaultvar://
