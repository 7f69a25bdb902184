package azurefunctions

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/polyfn/polyfn/core"
)

// maxBaseName bounds the readable part of a route's function name, so that
// with a suffix it stays within Azure's 128 characters.
const maxBaseName = 100

// FunctionNames returns the Azure function (folder) name of each route, in
// order. Event functions keep their own names (core's name rules already
// fit Azure's: a letter, then letters, digits and hyphens), so they are
// passed in only to be kept apart from.
//
// A route's name is its method in lower case ("any" when the pattern has
// none), then the words of its path joined with hyphens, wildcards by their
// names: "POST /users" → post-users, "GET /users/{id}" → get-users-id,
// "GET /" → get-root. When two routes, or a route and an event function,
// would share a name (Azure names ignore case), each such route gets a
// suffix of eight hex digits of the SHA-256 of its pattern, which depends
// on the pattern alone: "GET /users/{id}" and "GET /users/id" become
// get-users-id-2c1f…, get-users-id-8e0a…. Names are thus stable while
// routes are added, unless a new route collides with an existing one.
func FunctionNames(routes []core.Route, eventFuncs []string) ([]string, error) {
	count := map[string]int{}
	for _, n := range eventFuncs {
		count[strings.ToLower(n)]++
	}
	bases := make([]string, len(routes))
	for i, r := range routes {
		bases[i] = baseName(r)
		count[bases[i]]++
	}
	names := make([]string, len(routes))
	seen := map[string]string{}
	for _, n := range eventFuncs {
		seen[strings.ToLower(n)] = "event function " + n
	}
	for i, r := range routes {
		name := bases[i]
		if count[name] > 1 {
			sum := sha256.Sum256([]byte(r.Pattern))
			name += "-" + hex.EncodeToString(sum[:4])
		}
		if other, dup := seen[name]; dup {
			return nil, fmt.Errorf("azurefunctions: route %q and %s both have the Azure function name %q", r.Pattern, other, name)
		}
		seen[name] = fmt.Sprintf("route %q", r.Pattern)
		names[i] = name
	}
	return names, nil
}

// baseName is a route's readable name, before any suffix.
func baseName(r core.Route) string {
	words := []string{"any"}
	if r.Method != "" {
		words[0] = sanitize(r.Method)
	}
	for _, seg := range strings.Split(strings.Trim(r.Path, "/"), "/") {
		seg = strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}")
		seg = strings.TrimSuffix(seg, "...")
		if w := sanitize(seg); w != "" && seg != "$" {
			words = append(words, w)
		}
	}
	if len(words) == 1 {
		words = append(words, "root")
	}
	name := strings.Join(words, "-")
	if len(name) > maxBaseName {
		name = strings.TrimRight(name[:maxBaseName], "-")
	}
	return name
}

// sanitize lower-cases s and turns every run of characters other than a–z
// and 0–9 into one hyphen, trimmed at both ends.
func sanitize(s string) string {
	var b strings.Builder
	hyphen := false
	for _, c := range strings.ToLower(s) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			hyphen = false
			continue
		}
		hyphen = true
	}
	return b.String()
}
