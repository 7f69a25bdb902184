package main

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
)

// kitchenSink declares every route form and trigger the template handles.
func kitchenSink() core.Manifest {
	app := core.NewApp("kitchen-sink")
	nop := core.HandlerFunc(nil)
	app.Require(core.Bucket("ARCHIVE_BUCKET_URL"), core.Topic("ALERTS_TOPIC_URL"), core.Keeper("SIGNING_KEY_URL"),
		core.Resource{Env: "CACHE_BUCKET_URL", Kind: core.KindBucket, Optional: true})
	for _, p := range []string{"GET /items/{id}", "POST /items", "/files/{path...}", "GET /static/", "PUT /exact/{$}"} {
		app.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	app.On("ingest", core.ObjectTrigger{Bucket: "MEDIA_BUCKET_URL", Prefix: "in/", Suffix: ".csv",
		Events: []core.Kind{core.KindObjectCreated, core.KindObjectDeleted}}, nop)
	app.On("orders", core.MessageTrigger{Subscription: "ORDERS_QUEUE_URL", Ordered: true}, nop)
	app.On("user-changes", core.ChangeTrigger{Source: "USERS_TABLE_URL"}, nop)
	app.On("nightly", core.TimerTrigger{Schedule: "30 2 * * 1-5", TimeZone: "Europe/Paris"}, nop)
	app.On("every-ten", core.TimerTrigger{Schedule: "@every 10m"}, nop)
	return app.Manifest()
}

func TestSAMTemplateGolden(t *testing.T) {
	tests := []struct {
		name string
		arch string
		m    core.Manifest
	}{
		{"users", "arm64", users.New().Manifest()},
		{"thumbnails", "arm64", thumbnails.New().Manifest()},
		{"orders", "amd64", orders.New().Manifest()},
		{"kitchen-sink", "arm64", kitchenSink()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := samTemplate(tt.name, tt.arch, tt.m)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "aws", tt.name+".template.yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestSAMTemplateGolden -update to write it)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("template (-want +got):\n%s", d)
			}
		})
	}
}

func TestSAMTemplateRejects(t *testing.T) {
	app := core.NewApp("bad")
	app.On("both-days", core.TimerTrigger{Schedule: "0 3 1 * MON"}, core.HandlerFunc(nil))
	if _, err := samTemplate("bad", "arm64", app.Manifest()); err == nil || !strings.Contains(err.Error(), "both-days") {
		t.Errorf("got %v, want an error naming the function", err)
	}
}

func TestScheduleExpression(t *testing.T) {
	tests := []struct {
		spec, want, err string
	}{
		{spec: "0 3 * * *", want: "cron(0 3 * * ? *)"},
		{spec: "*/15 * * * *", want: "cron(*/15 * * * ? *)"},
		{spec: "0 0 1 * *", want: "cron(0 0 1 * ? *)"},
		{spec: "30 2 * * 1-5", want: "cron(30 2 ? * 2-6 *)"},
		{spec: "0 9 * * 0,6", want: "cron(0 9 ? * 1,7 *)"},
		{spec: "0 9 * * 7", want: "cron(0 9 ? * 1 *)"},
		{spec: "0 9 * * 5-7", want: "cron(0 9 ? * 6-7,1 *)"},
		{spec: "0 9 * * 0-6", want: "cron(0 9 ? * 1-7 *)"},
		{spec: "0 9 * * mon-fri", want: "cron(0 9 ? * MON-FRI *)"},
		{spec: "0 9 * * 1/2", want: "cron(0 9 ? * 2/2 *)"},
		{spec: "0 0 3 * * *", want: "cron(0 3 * * ? *)"},
		{spec: "@hourly", want: "cron(0 * * * ? *)"},
		{spec: "@weekly", want: "cron(0 0 ? * 1 *)"},
		{spec: "@every 10m", want: "rate(10 minutes)"},
		{spec: "@every 1h", want: "rate(1 hour)"},
		{spec: "@every 48h", want: "rate(2 days)"},
		{spec: "@every 90m", want: "rate(90 minutes)"},
		{spec: "@every 30s", err: "whole minutes"},
		{spec: "30 0 3 * * *", err: "whole minutes"},
		{spec: "0 3 1 * 1", err: "both the day of the month and the day of the week"},
		{spec: "0 9 * * 8", err: "not 0–7"},
		{spec: "0 9 * * 5-7/2", err: "wraps"},
		{spec: "0 9 * *", err: "five cron fields"},
	}
	for _, tt := range tests {
		got, err := scheduleExpression(tt.spec)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: got %q, %v; want an error containing %q", tt.spec, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%q: got %q, %v; want %q", tt.spec, got, err, tt.want)
		}
	}
}

func TestCamel(t *testing.T) {
	for in, want := range map[string]string{
		"USERS_BUCKET_URL": "UsersBucketUrl", "make-thumbnail": "MakeThumbnail", "/users/{id}": "UsersId", "s3v2-x": "S3V2X",
	} {
		if got := camel(in); got != want {
			t.Errorf("camel(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestBootstrapZip(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	content := []byte("#!/bin/sh\necho hello\n")
	if err := os.WriteFile(bin, content, 0o600); err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(dir, "fn.zip")
	if err := writeBootstrapZip(zipPath, bin); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(first), int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("entries: got %v, want bootstrap alone at the root", zr.File)
	}
	f := zr.File[0]
	if f.Mode().Perm() != 0o755 || f.CreatorVersion>>8 != 3 { // 3: Unix, whose external attributes hold the mode
		t.Errorf("mode %v, creator %d; want 0755 made on Unix", f.Mode(), f.CreatorVersion>>8)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); !bytes.Equal(got, content) {
		t.Errorf("content: got %q", got)
	}
	if err := writeBootstrapZip(zipPath, bin); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(zipPath); !bytes.Equal(again, first) {
		t.Error("the same bootstrap gave another zip")
	}
}
