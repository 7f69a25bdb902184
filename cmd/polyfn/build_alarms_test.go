package main

import (
	"net/http"
	"time"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
)

// wantAlarms are the thresholds each cloud's output must carry.
type wantAlarms struct {
	errors, throttles int
	p99               time.Duration
	period            time.Duration
}

// alarmCases are the functions whose alarm output each cloud's test
// parses: users (declared thresholds) and thumbnails (defaults; the p99
// threshold is 80% of make-thumbnail's declared 60 s timeout). A unit's
// alarms resolve against its own timeout, so every cloud carries the same
// thresholds.
func alarmCases() []alarmCase {
	return []alarmCase{
		{m: users.New().Manifest(), deployment: "users", hasRoutes: true,
			want: wantAlarms{5, 1, 2 * time.Second, 5 * time.Minute}},
		{m: thumbnails.New().Manifest(), deployment: "make-thumbnail",
			want: wantAlarms{1, 1, 48 * time.Second, 5 * time.Minute}},
	}
}

// alarmCase is one function's expected alarms.
type alarmCase struct {
	m          core.Manifest
	want       wantAlarms
	deployment string
	hasRoutes  bool
}

// quietApp is an app that turns its alarms off.
func quietApp() core.Manifest {
	app := core.NewApp("quiet")
	app.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	app.Alarms(core.Alarms{Off: true})
	return app.Manifest()
}

// withAlarms is an app with one route that declares a.
func withAlarms(name string, a core.Alarms) core.Manifest {
	app := core.NewApp(name)
	app.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	app.Alarms(a)
	return app.Manifest()
}
