// Package blob links the gocloud.dev blob.Bucket driver of the build's
// target: s3:// with -tags aws, gs:// with -tags gcp, azblob:// with
// -tags azure. Every build made with cmd/launch serves file:// and mem://
// without it (providers/local).
//
// A function's main imports it for its side effects when the function opens
// a bucket (core.Bucket), so that a binary links the drivers of the resource
// kinds its function uses and no other:
//
//	import _ "github.com/polyfn/polyfn/providers/blob"
package blob
