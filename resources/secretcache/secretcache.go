// Package secretcache serves a function's secret values (API keys,
// passwords, key lists) from memory, refreshed in the background, and keeps
// them out of logs.
//
// A secret is a gocloud.dev runtime variable opened by URL
// (awssecretsmanager://, gcpsecretmanager://, azurekeyvaultvar://, file://
// locally). Its driver polls the store in the background, every `wait` (a
// URL parameter; 30 s by default for the cloud secret stores): that interval
// is the cache's time to live. Open it once at start-up, in OnInit:
//
//	key, err := secretcache.Open(ctx, env("API_KEY_URL"))
//
// and read it per invocation with key.Value(), which reads memory only.
//
// A *runtimevar.Variable alone already caches and refreshes; Secret adds
// three things a function needs. Open fails when the first read fails (a
// missing secret, a denied permission), so the start fails with the store's
// error, where Variable.Latest would instead hold every invocation until its
// deadline. Value never blocks. And the Value it returns prints, logs and
// marshals as "[REDACTED]": only Reveal gives the secret.
//
// When a refresh fails, Value keeps returning the last value read: a
// function stays available while its secret store is not. Rotate secrets so
// that the previous value stays valid for longer than the refresh interval
// (AWS's alternating-users rotation, a new Key Vault version before the old
// one is disabled), or a function may use a value its store has already
// replaced.
package secretcache

import (
	"context"
	"fmt"
	"log/slog"

	"gocloud.dev/runtimevar"
)

// Secret is a secret value held in memory and refreshed in the background.
// It is safe for concurrent use.
type Secret struct {
	v *runtimevar.Variable
}

// Open opens the runtime variable at urlstr and reads it once. It returns an
// error, and closes the variable, when that read fails or the variable does
// not decode to a string or bytes (use ?decoder=string or ?decoder=bytes;
// decode structured secrets from Reveal).
func Open(ctx context.Context, urlstr string) (*Secret, error) {
	v, err := runtimevar.OpenVariable(ctx, urlstr)
	if err != nil {
		return nil, fmt.Errorf("secretcache: %w", err)
	}
	// The first Watch returns the first read, good or bad; Latest would wait
	// for a good one.
	snap, err := v.Watch(ctx)
	if err != nil {
		_ = v.Close()
		return nil, fmt.Errorf("secretcache: first read: %w", err)
	}
	if _, err := valueOf(snap); err != nil {
		_ = v.Close()
		return nil, err
	}
	return &Secret{v: v}, nil
}

// done is an ended context: Latest given it never waits.
var done = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// Value returns the value last read from the store. It reads memory only and
// never blocks; it fails only once the Secret is closed.
func (s *Secret) Value() (Value, error) {
	snap, err := s.v.Latest(done)
	if err != nil {
		return Value{}, fmt.Errorf("secretcache: %w", err)
	}
	return valueOf(snap)
}

// Close stops the background refresh.
func (s *Secret) Close() error { return s.v.Close() }

func valueOf(snap runtimevar.Snapshot) (Value, error) {
	switch v := snap.Value.(type) {
	case string:
		return Value{&v}, nil
	case []byte:
		s := string(v)
		return Value{&s}, nil
	}
	return Value{}, fmt.Errorf("secretcache: the variable decodes to %T, want a string or bytes (decoder=string or decoder=bytes)", snap.Value)
}

// redacted is how a Value prints.
const redacted = "[REDACTED]"

// Value is a secret value. It prints with every fmt verb, logs with slog,
// and marshals to JSON and text as "[REDACTED]"; Reveal returns the secret.
//
// The secret is held behind a pointer so that fmt, printing a struct that
// holds a Value in an unexported field (where it cannot call Value's
// methods), prints an address rather than the secret.
type Value struct {
	s *string
}

// Reveal returns the secret. Pass it to what needs it (a request header, a
// database driver), never to a log.
func (v Value) Reveal() string {
	if v.s == nil {
		return ""
	}
	return *v.s
}

// String returns "[REDACTED]".
func (Value) String() string { return redacted }

// GoString returns "[REDACTED]", for %#v.
func (Value) GoString() string { return redacted }

// Format prints "[REDACTED]" for every verb, including %d and %x, which
// would otherwise format the field.
func (Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue logs "[REDACTED]".
func (Value) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes "[REDACTED]".
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes "[REDACTED]".
func (Value) MarshalText() ([]byte, error) { return []byte(redacted), nil }
