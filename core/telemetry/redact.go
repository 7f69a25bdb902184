package telemetry

import (
	"log/slog"
	"net/http"
	"strings"
)

// Redacted replaces a secret in a log record. It is the text that
// core/secretcache's values print as.
const Redacted = "[REDACTED]"

// sensitiveWords are the parts of an attribute key, lower-cased and without
// '-', '_' and '.', that mark its value as a secret.
var sensitiveWords = []string{
	"authorization", "cookie", "password", "passwd", "secret", "token",
	"apikey", "privatekey", "credential", "signature", "sessionid",
}

// Sensitive reports whether an attribute or header named key holds a secret:
// its name contains authorization, cookie, password, secret, token, api key,
// private key, credential, signature or session id, in any case and with any
// separators ("Authorization", "Set-Cookie", "db_password", "X-Api-Key",
// "refresh_token").
func Sensitive(key string) bool {
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
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// RedactAttr is a slog.HandlerOptions.ReplaceAttr that hides secrets: the
// value of an attribute whose key is Sensitive, the sensitive entries of an
// http.Header, and a string value that is a credential by its form ("Bearer
// …", "Basic …"). Log handlers of every cloud apply it, so a function that
// logs a request's headers never writes its Authorization or Cookie.
func RedactAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindGroup {
		return a
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

// isCredential reports whether s is an HTTP credential by its scheme.
func isCredential(s string) bool {
	scheme, rest, ok := strings.Cut(s, " ")
	if !ok || rest == "" {
		return false
	}
	switch strings.ToLower(scheme) {
	case "bearer", "basic", "digest", "negotiate", "apikey", "token":
		return true
	}
	return false
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
