package telemetry

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestSensitive(t *testing.T) {
	for key, want := range map[string]bool{
		"Authorization": true, "set-cookie": true, "db_password": true, "X-Api-Key": true, "apiKey": true,
		"refresh_token": true, "client.secret": true, "private_key": true, "aws_credentials": true,
		"user_id": false, "key": false, "status": false, "email": false, "path": false,
	} {
		if got := Sensitive(key); got != want {
			t.Errorf("Sensitive(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestRedactAttr(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: RedactAttr}))
	log.Info("m",
		slog.String("password", "hunter2"),
		slog.Any("headers", http.Header{"Authorization": {"Bearer x"}, "Accept": {"*/*"}}),
		slog.String("auth", "Bearer abc.def"),
		slog.String("note", "Bearer"), // a word, not a credential
		slog.Any("labels", map[string]string{"token": "t", "env": "prod"}),
		slog.Group("db", slog.String("secret", "s"), slog.String("host", "h")),
	)
	got := buf.String()
	for _, secret := range []string{"hunter2", "Bearer x", "abc.def", `"t"`, `"s"`} {
		if strings.Contains(got, secret) {
			t.Errorf("%s leaks %q", got, secret)
		}
	}
	for _, kept := range []string{`"Accept":["*/*"]`, `"note":"Bearer"`, `"env":"prod"`, `"host":"h"`} {
		if !strings.Contains(got, kept) {
			t.Errorf("%s lacks %s", got, kept)
		}
	}
}
