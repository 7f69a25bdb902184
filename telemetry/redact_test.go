package telemetry

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
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

func TestStampHandlerTopLevel(t *testing.T) {
	var buf bytes.Buffer
	h := NewStampHandler(slog.NewJSONHandler(&buf, nil), StampInvocation)
	ctx, cancel := core.WithInvocation(t.Context(), &core.Invocation{ID: "i-1", Function: "f"})
	defer cancel()
	slog.New(h).With("a", 1).WithGroup("g").InfoContext(ctx, "m", "b", 2)
	slog.New(h).InfoContext(ctx, "m2", "c", 3)
	slog.New(h).InfoContext(context.Background(), "outside")
	for _, want := range []string{
		`"msg":"m","invocation_id":"i-1","function":"f","a":1,"g":{"b":2}}`,
		`"msg":"m2","invocation_id":"i-1","function":"f","c":3}`,
	} {
		if got := buf.String(); !strings.Contains(got, want) {
			t.Errorf("got %s, want it to contain %s", got, want)
		}
	}
	if got := buf.String(); strings.Count(got, "invocation_id") != 2 {
		t.Errorf("got %s, want the stamp in the records logged with the invocation only", got)
	}
}
