package jsonlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// appendString appends s as a JSON string, escaped as slog's JSON handler
// escapes it: '"', '\\' and the control characters (as \n, \r, \t or \u00XX),
// U+2028 and U+2029 (which JavaScript reads as line ends) and each byte of
// invalid UTF-8 (as \ufffd). Everything else, '<', '>' and '&' included, is
// written as it is.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// AppendString appends s as a JSON string, escaped as the Handler escapes
// the strings of a record. An Options.AppendContext writes with it and
// AppendMember.
func AppendString(b []byte, s string) []byte { return appendString(b, s) }

// AppendMember appends `,"key":"value"`, both strings escaped as
// AppendString escapes them: a member after others, as an
// Options.AppendContext writes its fields.
func AppendMember(b []byte, key, value string) []byte {
	b = append(b, ',')
	b = appendString(b, key)
	b = append(b, ':')
	return appendString(b, value)
}

// AppendEscaped appends s escaped as AppendString escapes it, without the
// quotes: for a JSON string written in parts. Each part must begin where a
// character does, as a part that follows an ASCII character does.
func AppendEscaped(b []byte, s string) []byte { return appendEscaped(b, s) }

const hexDigits = "0123456789abcdef"

// plain marks the ASCII bytes that are written unescaped.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Masks of the SWAR test in plainWord: every byte's high bit, and each
// byte set to 0x01, 0x20, '"' and '\\'.
const (
	highBits  = 0x8080808080808080
	ones      = 0x0101010101010101
	spaces    = 0x20 * ones
	quotes    = '"' * ones
	backslash = '\\' * ones
)

// plainWord reports whether the 8 bytes of w are all plain: printable
// ASCII other than '"' and '\\'. A byte below 0x20 borrows its high bit in
// w-spaces; one equal to '"' or '\\' becomes zero after the XOR and does
// the same in x-ones; a byte from 0x80 has it already. A borrow can only
// mark bytes above one that is not plain, so a word with no mark is plain.
func plainWord(w uint64) bool {
	q, bs := w^quotes, w^backslash
	return (w|(w-spaces)|((q-ones)&^q)|((bs-ones)&^bs))&highBits == 0
}

func appendEscaped(b []byte, s string) []byte {
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		// Most strings are plain ASCII: skip them eight bytes at a time.
		for i+8 <= len(s) && plainWord(uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		done = i
	}
	return append(b, s[done:]...)
}

// appendValue appends v, which is resolved and not a group, as slog's JSON
// handler writes it. A value that cannot be written is written as the text
// "!ERROR:<why>", and a panic while writing it as "!PANIC: <what>" (or
// "<nil>" for a nil pointer whose method panicked), as slog does.
func appendValue(b []byte, v slog.Value) (out []byte) {
	defer func() {
		if p := recover(); p != nil {
			if v.Kind() == slog.KindAny {
				if rv := reflect.ValueOf(v.Any()); rv.Kind() == reflect.Pointer && rv.IsNil() {
					out = appendString(b, "<nil>")
					return
				}
			}
			out = appendString(b, fmt.Sprintf("!PANIC: %v", p))
		}
	}()
	switch v.Kind() {
	case slog.KindString:
		return appendString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return appendFloat(b, v.Float64())
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		return strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindTime:
		return AppendTime(b, v.Time())
	case slog.KindAny:
		a := v.Any()
		if err, ok := a.(error); ok {
			if _, marshals := a.(json.Marshaler); !marshals {
				return appendString(b, err.Error())
			}
		}
		return appendMarshal(b, a)
	}
	panic(fmt.Sprintf("jsonlog: bad kind: %s", v.Kind()))
}

// appendError appends the text that stands for a value that could not be
// written.
func appendError(b []byte, err error) []byte {
	return appendString(b, fmt.Sprintf("!ERROR:%v", err))
}

// appendFloat writes f as encoding/json does: the shortest decimal that
// reads back as f, in exponent form below 1e-6 and from 1e21 on, with a
// one-digit negative exponent as e-7, not e-07. NaN and the infinities are
// not JSON: encoding/json's error for them is written instead.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendMarshal(b, f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-07 → e-7
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// AppendTime appends t as slog's JSON handler writes a time: an RFC 3339
// string with nanoseconds, in t's zone. A year outside [0, 9999] is
// preceded by slog's error text for it, as slog writes it.
func AppendTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y >= 10000 {
		b = appendError(b, errYear)
	}
	b = append(b, '"')
	b = appendRFC3339Nano(b, t)
	return append(b, '"')
}

// appendRFC3339Nano appends t.Format(time.RFC3339Nano), digit by digit for
// the years and zone offsets that layout writes plainly: formatting by the
// layout parses it every time, a tenth of a record's cost.
func appendRFC3339Nano(b []byte, t time.Time) []byte {
	// The zone is looked up once: the clock in UTC, moved by the offset,
	// reads as t's own.
	_, offset := t.Zone()
	if offset%60 != 0 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	b, ok := AppendDateTime(b, t.UTC().Add(time.Duration(offset)*time.Second))
	if !ok {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	if ns := t.Nanosecond(); ns != 0 {
		b = append(b, '.')
		b = AppendDigits(b, ns, 9)
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
	}
	if offset == 0 {
		return append(b, 'Z')
	}
	sign := byte('+')
	if offset < 0 {
		sign, offset = '-', -offset
	}
	b = append(b, sign)
	b = AppendDigits(b, offset/3600, 2)
	b = append(b, ':')
	return AppendDigits(b, offset/60%60, 2)
}

// AppendDateTime appends t's date and time of day as RFC 3339 writes them,
// 2006-01-02T15:04:05, in t's location, for a time format of one's own
// written digit by digit. For a year outside [0, 9999], which that form
// cannot hold, it appends nothing and reports false.
func AppendDateTime(b []byte, t time.Time) ([]byte, bool) {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return b, false
	}
	hour, min, sec := t.Clock()
	b = AppendDigits(b, year, 4)
	b = append(b, '-')
	b = AppendDigits(b, int(month), 2)
	b = append(b, '-')
	b = AppendDigits(b, day, 2)
	b = append(b, 'T')
	b = AppendDigits(b, hour, 2)
	b = append(b, ':')
	b = AppendDigits(b, min, 2)
	b = append(b, ':')
	return AppendDigits(b, sec, 2), true
}

// AppendDigits appends n, which is not negative, in width digits, with
// leading zeros: the higher digits of a wider n are lost.
func AppendDigits(b []byte, n, width int) []byte {
	start := len(b)
	for range width {
		b = append(b, '0')
	}
	for i := len(b) - 1; i >= start; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}

var errYear = errors.New("time.Time year outside of range [0,9999]")

// marshaler is an encoding/json encoder that writes to its own buffer,
// without escaping HTML, as slog's JSON handler uses for values of kind Any.
type marshaler struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var marshalers = sync.Pool{New: func() any {
	m := &marshaler{}
	m.enc = json.NewEncoder(&m.buf)
	m.enc.SetEscapeHTML(false)
	return m
}}

// appendMarshal appends a as encoding/json writes it (a json.Marshaler, an
// encoding.TextMarshaler, or by reflection), or the error.
func appendMarshal(b []byte, a any) []byte {
	m := marshalers.Get().(*marshaler)
	m.buf.Reset()
	defer func() {
		if m.buf.Cap() <= 16<<10 {
			marshalers.Put(m)
		}
	}()
	if err := m.enc.Encode(a); err != nil {
		return appendError(b, err)
	}
	out := m.buf.Bytes()
	return append(b, out[:len(out)-1]...) // without Encode's newline
}
