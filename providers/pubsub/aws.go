//go:build aws

package pubsub

import _ "gocloud.dev/pubsub/awssnssqs" // awssns://, awssqs://
