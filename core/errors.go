package core

import (
	"context"
	"errors"
	"fmt"
)

// Code classifies an error independently of any cloud. Every adapter has
// exactly one table from Code to its native behaviour (an HTTP status, retry
// or drop, a partial-batch failure); functions only choose the code.
type Code int

// The codes. Their names and meanings follow gRPC's canonical codes, with
// TooLarge and UnsupportedMediaType added because HTTP functions need them.
const (
	// Unknown is the code of an error that carries none. It is treated like
	// Internal: the caller sees a generic failure, and events are retried.
	Unknown Code = iota
	// InvalidArgument: the input is malformed or fails validation.
	InvalidArgument
	// Unauthenticated: no valid credentials were presented.
	Unauthenticated
	// PermissionDenied: the caller is known but may not do this.
	PermissionDenied
	// NotFound: the addressed entity does not exist.
	NotFound
	// AlreadyExists: the entity to create exists already.
	AlreadyExists
	// Aborted: a conflict with a concurrent operation; retrying later may work.
	Aborted
	// FailedPrecondition: the system is not in a state where the operation
	// can run (for example, a reused idempotency key with another payload).
	FailedPrecondition
	// TooLarge: the request or event is larger than the function accepts.
	TooLarge
	// UnsupportedMediaType: the content type is not one the function reads.
	UnsupportedMediaType
	// ResourceExhausted: a quota or rate limit was hit.
	ResourceExhausted
	// Canceled: the caller gave up.
	Canceled
	// DeadlineExceeded: the invocation's deadline passed.
	DeadlineExceeded
	// Unimplemented: the operation is not supported.
	Unimplemented
	// Unavailable: a dependency is temporarily unavailable; retry.
	Unavailable
	// Internal: a bug or broken invariant. Its text never reaches a client.
	Internal
)

var codeNames = [...]string{
	Unknown:              "unknown",
	InvalidArgument:      "invalid-argument",
	Unauthenticated:      "unauthenticated",
	PermissionDenied:     "permission-denied",
	NotFound:             "not-found",
	AlreadyExists:        "already-exists",
	Aborted:              "aborted",
	FailedPrecondition:   "failed-precondition",
	TooLarge:             "too-large",
	UnsupportedMediaType: "unsupported-media-type",
	ResourceExhausted:    "resource-exhausted",
	Canceled:             "canceled",
	DeadlineExceeded:     "deadline-exceeded",
	Unimplemented:        "unimplemented",
	Unavailable:          "unavailable",
	Internal:             "internal",
}

// String returns the code's stable kebab-case name, as used in logs and in
// problem+json type URIs.
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", int(c))
}

// Codes lists every defined code, in declaration order. Adapter tests use it
// to prove that their mapping tables are complete.
func Codes() []Code {
	cs := make([]Code, len(codeNames))
	for i := range cs {
		cs[i] = Code(i)
	}
	return cs
}

// Error is an error with a Code. Its message is for logs and operators; what
// a client sees is decided by the adapter (for HTTP, see WriteError): the
// message of a client-error code is shown, the message of a server-error
// code never is.
type Error struct {
	Code Code
	msg  string
	err  error // wrapped, may be nil
}

// Errorf returns an error with the given code. As with fmt.Errorf, a %w verb
// wraps its operand, which errors.Is and errors.As then see; with several
// %w verbs, they see every operand.
func Errorf(code Code, format string, args ...any) error {
	formatted := fmt.Errorf(format, args...)
	e := &Error{Code: code, msg: formatted.Error()}
	switch formatted.(type) {
	case interface{ Unwrap() error }, interface{ Unwrap() []error }:
		// fmt wrapped one operand or several: keep its error, whose own
		// Unwrap gives them all to errors.Is and errors.As.
		e.err = formatted
	}
	return e
}

// Wrap returns err with the given code, or nil if err is nil.
func Wrap(code Code, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, msg: err.Error(), err: err}
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the wrapped error, if any.
func (e *Error) Unwrap() error { return e.err }

// CodeOf returns the code of err: the code of the outermost *Error in its
// chain; Canceled or DeadlineExceeded for the context errors; Unknown for any
// other non-nil error. CodeOf(nil) is Unknown too: callers test err != nil first.
func CodeOf(err error) Code {
	if err == nil {
		return Unknown
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return Canceled
	}
	return Unknown
}

// IsClientError reports whether code describes a fault of the caller or of
// the input, as opposed to a fault of the function or a dependency. Client
// errors are never worth retrying unchanged, and their messages may be shown
// to the caller.
func (c Code) IsClientError() bool {
	switch c {
	case InvalidArgument, Unauthenticated, PermissionDenied, NotFound,
		AlreadyExists, FailedPrecondition, TooLarge, UnsupportedMediaType, Unimplemented:
		return true
	}
	return false
}

// ShowsDetail reports whether an error with this code shows its message to
// the caller: client errors, and the conflicts and limits a caller can act
// on (Aborted, ResourceExhausted). Every other code answers generically, so
// internal text never leaks.
func (c Code) ShowsDetail() bool {
	return c.IsClientError() || c == ResourceExhausted || c == Aborted
}
