package core

import (
	"regexp"
	"strings"
	"testing"
)

// TestNameChecksMatchTheirPatterns: validName and validEnvName accept
// exactly what the patterns they document accept, over every string of up
// to two characters from an alphabet of every class they distinguish, and
// over boundary lengths.
func TestNameChecksMatchTheirPatterns(t *testing.T) {
	checks := []struct {
		name    string
		valid   func(string) bool
		pattern *regexp.Regexp
	}{
		{"validName", validName, regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)},
		{"validEnvName", validEnvName, regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)},
	}
	alphabet := []string{"a", "z", "A", "Z", "0", "9", "-", "_", " ", ".", "é", "\x00", "`", "{", "@", "["}
	inputs := []string{"", strings.Repeat("a", 63), strings.Repeat("a", 64), "a" + strings.Repeat("-", 62), strings.Repeat("A", 200)}
	for _, x := range alphabet {
		inputs = append(inputs, x)
		for _, y := range alphabet {
			inputs = append(inputs, x+y, "a"+x+y, "A"+x+y)
		}
	}
	for _, c := range checks {
		for _, in := range inputs {
			if got, want := c.valid(in), c.pattern.MatchString(in); got != want {
				t.Errorf("%s(%q) = %v, want %v as %s", c.name, in, got, want, c.pattern)
			}
		}
	}
}
