package telemetry

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// Redacted replaces a secret in a log record. It is the text that
// resources/secretcache's values print as.
const Redacted = "[REDACTED]"

// sensitiveWords are the parts of an attribute key, lower-cased and without
// '-', '_', '.' and ' ', that mark its value as a secret.
var sensitiveWords = [][]byte{
	[]byte("authorization"), []byte("cookie"), []byte("password"), []byte("passwd"), []byte("secret"), []byte("token"),
	[]byte("apikey"), []byte("privatekey"), []byte("credential"), []byte("signature"), []byte("sessionid"),
}

// Sensitive reports whether an attribute or header named key holds a secret:
// its name contains authorization, cookie, password, secret, token, api key,
// private key, credential, signature or session id, in any case and with any
// separators ("Authorization", "Set-Cookie", "db_password", "X-Api-Key",
// "refresh_token").
func Sensitive(key string) bool {
	// Every log record's keys pass here: normalise into a buffer on the
	// stack rather than a new string. Only ASCII letters change case, so a
	// byte at a time is the same as a rune at a time.
	var buf [64]byte
	k := buf[:0]
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '-' || c == '_' || c == '.' || c == ' ':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		k = append(k, c)
	}
	// Look for a word wherever one of their first letters is, up to where
	// the shortest word still fits.
	for i := 0; i+minWordLen <= len(k); i++ {
		for _, w := range wordsByFirst[k[i]] {
			if len(w) <= len(k)-i && string(k[i:i+len(w)]) == w {
				return true
			}
		}
	}
	return false
}

// wordsByFirst indexes sensitiveWords by their first byte; minWordLen is
// the length of the shortest.
var wordsByFirst, minWordLen = func() (t [256][]string, n int) {
	n = len(sensitiveWords[0])
	for _, w := range sensitiveWords {
		t[w[0]] = append(t[w[0]], string(w))
		n = min(n, len(w))
	}
	return t, n
}()

// RedactAttr is a slog.HandlerOptions.ReplaceAttr that hides secrets: the
// value of an attribute whose key is Sensitive, the sensitive entries of an
// http.Header, and a string value that is a credential by its form ("Bearer
// …", "Basic …"). Log handlers of every cloud apply it, so a function that
// logs a request's headers never writes its Authorization or Cookie.
//
// It also hands on a record's level as its name, which the handlers write
// as they write a level without a ReplaceAttr: a slog.Level value would be
// written through encoding/json (Level is a json.Marshaler and a
// TextMarshaler), to the same text at many times the cost.
func RedactAttr(groups []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindGroup {
		return a
	}
	if a.Key == slog.LevelKey && len(groups) == 0 {
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(a.Key, l.String())
		}
	}
	if Sensitive(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if isCredential(a.Value.String()) {
			return slog.String(a.Key, Redacted)
		}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case http.Header:
			return slog.Any(a.Key, redactHeader(v))
		case map[string][]string:
			return slog.Any(a.Key, redactHeader(v))
		case map[string]string:
			return slog.Any(a.Key, redactMap(v))
		}
	}
	return a
}

// credentialSchemes are the HTTP authentication schemes whose credentials
// isCredential recognises.
var credentialSchemes = []string{"bearer", "basic", "digest", "negotiate", "apikey", "token"}

// isCredential reports whether s is an HTTP credential by its scheme.
func isCredential(s string) bool {
	scheme, rest, ok := strings.Cut(s, " ")
	// No scheme is longer than "negotiate", lower-cased or not.
	if !ok || rest == "" || len(scheme) > len("negotiate") {
		return false
	}
	// Lower-case ASCII on the stack; anything else as strings.ToLower does.
	var buf [len("negotiate")]byte
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		if c >= utf8.RuneSelf {
			return slices.Contains(credentialSchemes, strings.ToLower(scheme))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return slices.Contains(credentialSchemes, string(buf[:len(scheme)]))
}

func redactHeader(h map[string][]string) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		if Sensitive(k) {
			out[k] = []string{Redacted}
			continue
		}
		out[k] = vs
	}
	return out
}

func redactMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if Sensitive(k) || isCredential(v) {
			v = Redacted
		}
		out[k] = v
	}
	return out
}

// ChainReplaceAttr returns a ReplaceAttr that applies fs in order; nil
// entries are skipped.
func ChainReplaceAttr(fs ...func([]string, slog.Attr) slog.Attr) func([]string, slog.Attr) slog.Attr {
	return func(groups []string, a slog.Attr) slog.Attr {
		for _, f := range fs {
			if f != nil {
				a = f(groups, a)
			}
		}
		return a
	}
}
