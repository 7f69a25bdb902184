package telemetry

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// The allocation-free Sensitive and isCredential must answer as the plain
// definitions do: lower-case the key with strings.Map, drop separators and
// look for each word; lower-case the scheme with strings.ToLower.
func TestRedactionMatchesItsDefinition(t *testing.T) {
	sensitive := func(key string) bool {
		k := strings.Map(func(r rune) rune {
			switch r {
			case '-', '_', '.', ' ':
				return -1
			}
			if 'A' <= r && r <= 'Z' {
				return r + ('a' - 'A')
			}
			return r
		}, key)
		for _, w := range sensitiveWords {
			if strings.Contains(k, string(w)) {
				return true
			}
		}
		return false
	}
	credential := func(s string) bool {
		scheme, rest, ok := strings.Cut(s, " ")
		return ok && rest != "" && slices.Contains(credentialSchemes, strings.ToLower(scheme))
	}
	inputs := []string{
		"", "key", "token", "TOKEN", "to-ken", "t.o_k e-n", "X-Api-Key", "API KEY", "apı_key", "pass\xffword",
		"session_ID", "Ünïcode_password", strings.Repeat("x", 70) + "_Secret", strings.Repeat("-", 100) + "cookie",
		"Bearer x", "BEARER x", "bearer", "Bearer ", "Basic  x", "NeGoTiAtE y", "negotiates y", "to\u212Aen x",
		"Ba\u017Fic x", "apikey k", "Token t", "Digest d", "user created", "Αuthorization x",
	}
	for _, in := range inputs {
		if got, want := Sensitive(in), sensitive(in); got != want {
			t.Errorf("Sensitive(%q) = %v, want %v", in, got, want)
		}
		if got, want := isCredential(in), credential(in); got != want {
			t.Errorf("isCredential(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestRedactionDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		Sensitive("X-Request-Id")
		isCredential("Bearer abc")
	}); n != 0 {
		t.Errorf("%v allocations, want none", n)
	}
}

// RedactAttr hands on the level as its name: the JSON and text handlers
// write every level as they write it without a ReplaceAttr.
func TestRedactAttrWritesLevelsUnchanged(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	for _, l := range []slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelInfo + 2, slog.LevelWarn, slog.LevelError, slog.LevelError + 8} {
		for name, newHandler := range map[string]func(io.Writer, *slog.HandlerOptions) slog.Handler{
			"json": func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) },
			"text": func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) },
		} {
			var plain, redacted bytes.Buffer
			r := slog.NewRecord(at, l, "m", 0)
			r.AddAttrs(slog.Any("level", l), slog.Group("g", slog.Any(slog.LevelKey, l)))
			_ = newHandler(&plain, &slog.HandlerOptions{Level: slog.LevelDebug - 8}).Handle(t.Context(), r)
			_ = newHandler(&redacted, &slog.HandlerOptions{Level: slog.LevelDebug - 8, ReplaceAttr: RedactAttr}).Handle(t.Context(), r)
			if plain.String() != redacted.String() {
				t.Errorf("%s, level %v: got %s, want %s", name, l, redacted.String(), plain.String())
			}
		}
	}
}
