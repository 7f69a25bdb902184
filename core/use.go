package core

import (
	"fmt"
	"slices"
)

// Use is how a function uses a resource: what the deployment grants its
// identity on that resource and nothing more. A resource is declared with
// its uses (core.Bucket("MEDIA_BUCKET_URL", core.Read)); a declaration
// without any gets its kind's default use (see DefaultUse).
type Use string

// The uses. Each kind of resource takes some of them (see UsesOf).
const (
	// Read reads and lists: a bucket's objects (blob.Bucket's NewReader,
	// Attributes, List), a collection's documents (Get, Query), a
	// variable's value (runtimevar.Variable's Latest, Watch).
	Read Use = "read"
	// Write creates, replaces and deletes: a bucket's objects (NewWriter,
	// Copy, Delete), a collection's documents (Create, Put, Replace,
	// Update, Delete). Write alone does not read.
	Write Use = "write"
	// ReadWrite is Read and Write.
	ReadWrite Use = "read-write"
	// Publish sends messages to a topic (pubsub.Topic's Send).
	Publish Use = "publish"
	// Consume receives and acknowledges a subscription's messages
	// (pubsub.Subscription's Receive, Ack, Nack).
	Consume Use = "consume"
	// Encrypt encrypts with a keeper's key (secrets.Keeper's Encrypt).
	Encrypt Use = "encrypt"
	// Decrypt decrypts with a keeper's key (secrets.Keeper's Decrypt).
	Decrypt Use = "decrypt"
	// EncryptDecrypt is Encrypt and Decrypt.
	EncryptDecrypt Use = "encrypt-decrypt"
)

// kindUses lists the uses each kind of resource takes; the first is the
// kind's default. A bucket's or collection's default is ReadWrite and a
// keeper's EncryptDecrypt, the broadest use short of administering the
// resource, so that a declaration written without uses keeps working as it
// did before uses existed; declare Read (or Write, Encrypt, Decrypt) to be
// granted less. The OIDC kinds are not opened with a cloud identity (an
// issuer's keys are public, an audience is a string): they take no use.
var kindUses = map[ResourceKind][]Use{
	KindBucket:       {ReadWrite, Read, Write},
	KindCollection:   {ReadWrite, Read, Write},
	KindTopic:        {Publish},
	KindSubscription: {Consume},
	KindKeeper:       {EncryptDecrypt, Encrypt, Decrypt},
	KindVariable:     {Read},
	KindStream:       {Consume},
	KindOIDCIssuer:   nil,
	KindOIDCAudience: nil,
}

// UsesOf returns the uses a resource of kind k takes, its default first;
// none for a kind that takes no use or that core does not know.
func UsesOf(k ResourceKind) []Use { return slices.Clone(kindUses[k]) }

// DefaultUse returns the use a resource of kind k gets when its
// declaration names none, or "" for a kind that takes no use.
func DefaultUse(k ResourceKind) Use {
	if us := kindUses[k]; len(us) > 0 {
		return us[0]
	}
	return ""
}

// Includes reports whether u grants what v needs: ReadWrite includes Read
// and Write, EncryptDecrypt includes Encrypt and Decrypt, and every use
// includes itself and "".
func (u Use) Includes(v Use) bool {
	return v == "" || u == v || u == ReadWrite && (v == Read || v == Write) ||
		u == EncryptDecrypt && (v == Encrypt || v == Decrypt)
}

// join returns the one use that includes both u and v: the same use, or
// ReadWrite from Read and Write, EncryptDecrypt from Encrypt and Decrypt.
// It fails for uses of different families (Read and Publish).
func join(u, v Use) (Use, error) {
	switch {
	case u.Includes(v):
		return u, nil
	case v.Includes(u):
		return v, nil
	case (u == Read || u == Write) && (v == Read || v == Write):
		return ReadWrite, nil
	case (u == Encrypt || u == Decrypt) && (v == Encrypt || v == Decrypt):
		return EncryptDecrypt, nil
	}
	return "", fmt.Errorf("uses %q and %q do not combine", u, v)
}

// resolveUse returns the single use of a resource of kind k declared with
// uses: their join, or the kind's default when there are none. It fails
// for a use the kind does not take.
func resolveUse(k ResourceKind, uses ...Use) (Use, error) {
	allowed, known := kindUses[k]
	if !known {
		return "", fmt.Errorf("unknown resource kind %q", k)
	}
	if len(uses) == 0 {
		return DefaultUse(k), nil
	}
	var out Use
	if len(allowed) == 0 {
		return "", fmt.Errorf("kind %s takes no use, not %q", k, uses)
	}
	for _, u := range uses {
		if !slices.Contains(allowed, u) {
			return "", fmt.Errorf("kind %s cannot be used for %q: its uses are %q", k, u, allowed)
		}
		j, err := join(out, u)
		if err != nil {
			return "", err
		}
		out = j
	}
	return out, nil
}

// declare returns the resource of kind k in env used as uses; it panics on
// an invalid variable name or a use the kind does not take, programmer
// errors at declaration.
func declare(env string, k ResourceKind, uses []Use) Resource {
	if !validEnvName(env) {
		panic(fmt.Sprintf("core: resource variable %q: want an upper-case environment variable name", env))
	}
	u, err := resolveUse(k, uses...)
	if err != nil {
		panic(fmt.Sprintf("core: resource %s: %v", env, err))
	}
	return Resource{Env: env, Kind: k, Use: u}
}

// validate reports a resource whose use its kind does not take. The empty
// use is valid for every known kind (a trigger's variable).
func (r Resource) validate() error {
	if !validEnvName(r.Env) {
		return fmt.Errorf("variable %q: want an upper-case environment variable name", r.Env)
	}
	if r.Use == "" {
		if _, known := kindUses[r.Kind]; !known {
			return fmt.Errorf("unknown resource kind %q", r.Kind)
		}
		return nil
	}
	_, err := resolveUse(r.Kind, r.Use)
	return err
}
