package aws

import (
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

func TestScheduleExpression(t *testing.T) {
	tests := []struct {
		spec, want, err string
	}{
		{spec: "0 3 * * *", want: "cron(0 3 * * ? *)"},
		{spec: "*/15 * * * *", want: "cron(*/15 * * * ? *)"},
		{spec: "0 0 1 * *", want: "cron(0 0 1 * ? *)"},
		{spec: "30 2 * * 1-5", want: "cron(30 2 ? * 2-6 *)"},
		{spec: "0 9 * * 0,6", want: "cron(0 9 ? * 1,7 *)"},
		{spec: "0 9 * * 0-6", want: "cron(0 9 ? * 1-7 *)"},
		{spec: "0 9 * * mon-fri", want: "cron(0 9 ? * MON-FRI *)"},
		{spec: "0 9 * * 1/2", want: "cron(0 9 ? * 2/2 *)"},
		{spec: "0 9 ? * 1", want: "cron(0 9 ? * 2 *)"},
		{spec: "0 9 1 * ?", want: "cron(0 9 1 * ? *)"},
		{spec: "0 0 3 * * *", want: "cron(0 3 * * ? *)"},
		{spec: "@hourly", want: "cron(0 * * * ? *)"},
		{spec: "@daily", want: "cron(0 0 * * ? *)"},
		{spec: "@weekly", want: "cron(0 0 ? * 1 *)"},
		{spec: "@monthly", want: "cron(0 0 1 * ? *)"},
		{spec: "@yearly", want: "cron(0 0 1 1 ? *)"},
		{spec: "@every 10m", want: "rate(10 minutes)"},
		{spec: "@every 1h", want: "rate(1 hour)"},
		{spec: "@every 48h", want: "rate(2 days)"},
		{spec: "@every 90m", want: "rate(90 minutes)"},
		{spec: "@every 30s", err: "whole minutes"},
		{spec: "@every 90s", err: "whole minutes"},
		{spec: "30 0 3 * * *", err: "whole minutes"},
		{spec: "0 3 1 * 1", err: "both the day of the month and the day of the week"},
	}
	for _, tt := range tests {
		s, err := deploy.ParseSchedule(core.TimerTrigger{Schedule: tt.spec})
		if err != nil {
			t.Fatalf("%q: %v", tt.spec, err)
		}
		got, err := ScheduleExpression(s)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: got %q, %v; want an error containing %q", tt.spec, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%q: got %q, %v; want %q", tt.spec, got, err, tt.want)
		}
	}
}

func TestRenderRejects(t *testing.T) {
	two := &deploy.Plan{Units: []deploy.Unit{{Name: "a", App: "a"}, {Name: "b", App: "b"}}}
	if _, err := Render(two, nil); err == nil || !strings.Contains(err.Error(), "apps a and b") {
		t.Errorf("two apps: %v", err)
	}
	if _, err := Render(&deploy.Plan{}, nil); err == nil {
		t.Error("an empty plan rendered")
	}
	app := core.NewApp("tick")
	app.On("t", core.TimerTrigger{Schedule: "@hourly"}, core.HandlerFunc(nil))
	p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(p, &Options{SchedulerInput: func(string) string { return "{}" }}); err == nil || !strings.Contains(err.Error(), "unit tick-t: no bootstrap") {
		t.Errorf("no code: %v", err)
	}
	if _, err := Render(p, &Options{CodeURI: map[core.Arch]string{core.X86_64: "x.zip"}}); err == nil || !strings.Contains(err.Error(), "SchedulerInput") {
		t.Errorf("no scheduler input: %v", err)
	}
}

func TestLogicalID(t *testing.T) {
	for in, want := range map[string]string{
		"USERS_BUCKET_URL": "UsersBucketUrl", "make-thumbnail": "MakeThumbnail", "/users/{id}": "UsersId", "s3v2-x": "S3V2X",
	} {
		if got := logicalID(in); got != want {
			t.Errorf("logicalID(%q): got %q, want %q", in, got, want)
		}
	}
}
