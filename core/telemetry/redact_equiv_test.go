package telemetry

import (
	"slices"
	"strings"
	"testing"
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
