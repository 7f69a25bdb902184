//go:build azure

package pubsub

import _ "gocloud.dev/pubsub/azuresb" // azuresb://
