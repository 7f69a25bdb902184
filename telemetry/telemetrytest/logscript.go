package telemetrytest

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"
)

// RunLogScript reads data as a script of handler calls and makes them on h: a chain
// of WithAttrs and WithGroup (with non-empty names), then records
// at various levels and times with attributes of every kind: strings with
// escapes, invalid UTF-8 and credentials, keys that name secrets or the
// built-in fields, numbers at the edges of their formats, errors,
// marshalers, headers, LogValuers, nested and empty groups. It returns
// what each call panicked with, if anything, in order, so that two
// handlers can be compared on that too.
func RunLogScript(ctx context.Context, h slog.Handler, data []byte) []string {
	s := &logScript{data: data}
	var panics []string
	try := func(f func()) {
		defer func() {
			if p := recover(); p != nil {
				panics = append(panics, fmt.Sprint(p))
			}
		}()
		f()
	}
	for !s.done() {
		switch s.byte() % 8 {
		case 0:
			attrs := s.attrs(2)
			try(func() { h = h.WithAttrs(attrs) })
		case 1:
			// An empty name is left out: the slog.Handler contract makes
			// WithGroup("") return the receiver, which slog.JSONHandler does
			// not honour and slog.Logger never asks for.
			if name := s.key(); name != "" {
				try(func() { h = h.WithGroup(name) })
			}
		default:
			r := slog.NewRecord(s.time(), slog.Level(int(s.byte()%16)-6), s.str(), 0)
			r.AddAttrs(s.attrs(2)...)
			try(func() { _ = h.Handle(ctx, r) })
		}
	}
	return panics
}

type logScript struct {
	data []byte
	i    int
}

func (s *logScript) done() bool { return s.i >= len(s.data) }

func (s *logScript) byte() byte {
	if s.done() {
		return 0
	}
	s.i++
	return s.data[s.i-1]
}

var logKeys = []string{
	"user_id", "status", "", "time", "level", "msg", "message", "severity", "timestamp", "password",
	"Authorization", "X-Api-Key", "db.secret", "requestId", "httpRequest", "logging.googleapis.com/labels",
	"a\"b", "k\\", "tab\there", "line\u2028sep", "bad\xffutf8", "<html>&", "é", "\x00", "g", "requestUrl",
}

var logStrings = []string{
	"", "u-17", "user created", "Bearer abc.def", "basic QWxhZGRpbg==", "Token", "quote\"back\\slash",
	"nl\ncr\rtab\t", "ctl\x01\x1f\x7f", "\u2028\u2029", "bad\xff\xfe", "trunc\xe2\x82", "<a href=\"x\">&amp;</a>",
	"日本語", "emoji 🎉", "invalid \xc0\xaf seq", "https://example.com/?api_key=s3cret&q=1",
}

func (s *logScript) key() string { return s.pick(logKeys) }

func (s *logScript) pick(xs []string) string {
	b := int(s.byte()) % (len(xs) + 4)
	if b >= len(xs) {
		// a string of the raw bytes that follow
		n := int(s.byte()) % 7
		out := make([]byte, 0, n)
		for range n {
			out = append(out, s.byte())
		}
		return string(out)
	}
	return xs[b]
}

func (s *logScript) str() string { return s.pick(logStrings) }

func (s *logScript) time() time.Time {
	switch s.byte() % 6 {
	case 0:
		return time.Time{}
	case 1:
		return time.Date(2026, 12, 2, 5, 42, 28, 123456789, time.UTC)
	case 2:
		return time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", -7*3600))
	case 3:
		return time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC)
	case 4:
		return time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("Y", 5*3600+1800)).Add(time.Duration(s.byte()) * time.Millisecond)
	}
	return time.Unix(int64(s.byte())<<24, int64(s.byte())*1000003).In(time.UTC)
}

func (s *logScript) attrs(depth int) []slog.Attr {
	n := int(s.byte() % 5)
	as := make([]slog.Attr, 0, n)
	for range n {
		as = append(as, slog.Attr{Key: s.key(), Value: s.value(depth)})
	}
	return as
}

var logFloats = []float64{0, math.Copysign(0, -1), 1, -2.5, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 1e20, 1e21, 123456789e15,
	math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 0.1, 1.0 / 3}

func (s *logScript) value(depth int) slog.Value {
	switch s.byte() % 24 {
	case 0, 1:
		return slog.StringValue(s.str())
	case 2:
		return slog.Int64Value(int64(s.byte())<<56 - int64(s.byte()))
	case 3:
		return slog.Uint64Value(math.MaxUint64 - uint64(s.byte()))
	case 4:
		return slog.Float64Value(logFloats[int(s.byte())%len(logFloats)])
	case 5:
		return slog.BoolValue(s.byte()%2 == 0)
	case 6:
		return slog.DurationValue(time.Duration(s.byte()) * time.Millisecond)
	case 7:
		return slog.TimeValue(s.time())
	case 8:
		return slog.AnyValue(errors.New(s.str()))
	case 9:
		return slog.AnyValue(jsonMarshaler{s.str()})
	case 10:
		return slog.AnyValue(textMarshaler{s.str()})
	case 11:
		return slog.AnyValue(map[string]any{s.key(): s.str(), "n": 1})
	case 12:
		return slog.AnyValue(http.Header{"Authorization": {"Bearer x"}, "Accept": {s.str()}})
	case 13:
		return slog.AnyValue(map[string]string{s.key(): s.str(), "Cookie": "c"})
	case 14:
		return slog.AnyValue(nil)
	case 15:
		return slog.AnyValue(struct {
			A string
			B []byte
			C float64
		}{s.str(), []byte(s.str()), logFloats[int(s.byte())%len(logFloats)]})
	case 16:
		return slog.AnyValue((*nilError)(nil))
	case 17:
		return slog.AnyValue(&slog.Source{Function: s.str(), File: s.str(), Line: int(s.byte() % 3)})
	case 18:
		return slog.AnyValue(valuer{s.value(depth)})
	case 19:
		return slog.AnyValue(slog.Level(int(s.byte()%16) - 6))
	case 20:
		return slog.AnyValue(marshalError{})
	}
	if depth == 0 {
		return slog.StringValue(s.str())
	}
	return slog.GroupValue(s.attrs(depth - 1)...)
}

type jsonMarshaler struct{ s string }

func (m jsonMarshaler) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("{%q:1}", m.s)), nil }
func (m jsonMarshaler) Error() string                { return "marshaler as error" }

type textMarshaler struct{ s string }

var _ encoding.TextMarshaler = textMarshaler{}

func (m textMarshaler) MarshalText() ([]byte, error) { return []byte("text:" + m.s), nil }

type marshalError struct{}

func (marshalError) MarshalJSON() ([]byte, error) { return nil, errors.New("cannot") }

type nilError struct{ msg string }

func (e *nilError) Error() string { return e.msg }

type valuer struct{ v slog.Value }

func (v valuer) LogValue() slog.Value { return v.v }
