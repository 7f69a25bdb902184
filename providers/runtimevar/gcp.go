//go:build gcp

package runtimevar

import _ "gocloud.dev/runtimevar/gcpsecretmanager" // gcpsecretmanager://
