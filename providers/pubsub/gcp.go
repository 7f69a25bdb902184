//go:build gcp

package pubsub

import _ "gocloud.dev/pubsub/gcppubsub" // gcppubsub://
