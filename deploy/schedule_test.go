package deploy_test

import (
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// TestParseSchedule checks each form a timer trigger's schedule takes:
// five-field cron (second 0 added), six fields with seconds first, the
// calendar descriptors spelled out, and @every, the rate-like interval.
func TestParseSchedule(t *testing.T) {
	tests := []struct {
		name    string
		trigger core.TimerTrigger
		want    deploy.Schedule
	}{
		{"five fields", core.TimerTrigger{Schedule: "*/5 9-17 * * MON-FRI"}, deploy.Schedule{
			Expr: "*/5 9-17 * * MON-FRI", Kind: deploy.ScheduleCron, TimeZone: "UTC",
			Cron: &deploy.CronFields{Second: "0", Minute: "*/5", Hour: "9-17", DayOfMonth: "*", Month: "*", DayOfWeek: "MON-FRI"},
		}},
		{"six fields, seconds first", core.TimerTrigger{Schedule: "30 0 3 1,15 * ?", TimeZone: "Europe/Paris"}, deploy.Schedule{
			Expr: "30 0 3 1,15 * ?", Kind: deploy.ScheduleCron, TimeZone: "Europe/Paris",
			Cron: &deploy.CronFields{Second: "30", Minute: "0", Hour: "3", DayOfMonth: "1,15", Month: "*", DayOfWeek: "?"},
		}},
		{"spaces around", core.TimerTrigger{Schedule: "  0 12 * * *  "}, deploy.Schedule{
			Expr: "  0 12 * * *  ", Kind: deploy.ScheduleCron, TimeZone: "UTC",
			Cron: &deploy.CronFields{Second: "0", Minute: "0", Hour: "12", DayOfMonth: "*", Month: "*", DayOfWeek: "*"},
		}},
		{"descriptor", core.TimerTrigger{Schedule: "@weekly"}, deploy.Schedule{
			Expr: "@weekly", Kind: deploy.ScheduleCron, TimeZone: "UTC",
			Cron: &deploy.CronFields{Second: "0", Minute: "0", Hour: "0", DayOfMonth: "*", Month: "*", DayOfWeek: "0"},
		}},
		{"every, minutes", core.TimerTrigger{Schedule: "@every 10m"}, deploy.Schedule{
			Expr: "@every 10m", Kind: deploy.ScheduleEvery, EverySeconds: 600, TimeZone: "UTC",
		}},
		{"every, hours and minutes", core.TimerTrigger{Schedule: "@every 1h30m"}, deploy.Schedule{
			Expr: "@every 1h30m", Kind: deploy.ScheduleEvery, EverySeconds: 5400, TimeZone: "UTC",
		}},
		{"every, seconds", core.TimerTrigger{Schedule: "@every 15s"}, deploy.Schedule{
			Expr: "@every 15s", Kind: deploy.ScheduleEvery, EverySeconds: 15, TimeZone: "UTC",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := deploy.ParseSchedule(tt.trigger)
			if err != nil {
				t.Fatal(err)
			}
			if got.Expr != tt.want.Expr || got.Kind != tt.want.Kind || got.EverySeconds != tt.want.EverySeconds ||
				got.TimeZone != tt.want.TimeZone || (got.Cron == nil) != (tt.want.Cron == nil) ||
				got.Cron != nil && *got.Cron != *tt.want.Cron {
				t.Errorf("ParseSchedule(%+v) = %+v (cron %v), want %+v (cron %v)", tt.trigger, got, got.Cron, tt.want, tt.want.Cron)
			}
		})
	}
}

// TestDescriptorsSpelledOut checks every calendar descriptor against the
// cron fields it stands for.
func TestDescriptorsSpelledOut(t *testing.T) {
	for d, want := range map[string]string{
		"@yearly": "0 0 0 1 1 *", "@annually": "0 0 0 1 1 *", "@monthly": "0 0 0 1 * *",
		"@weekly": "0 0 0 * * 0", "@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *", "@hourly": "0 0 * * * *",
	} {
		s, err := deploy.ParseSchedule(core.TimerTrigger{Schedule: d})
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		if s.Kind != deploy.ScheduleCron || s.Cron == nil || s.Cron.String() != want {
			t.Errorf("%s = %+v, want cron %s", d, s, want)
		}
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct {
		trigger core.TimerTrigger
		want    string
	}{
		{core.TimerTrigger{Schedule: "* * *"}, `schedule "* * *"`},
		{core.TimerTrigger{Schedule: "0 25 * * *"}, `schedule "0 25 * * *"`},
		{core.TimerTrigger{Schedule: "@fortnightly"}, `schedule "@fortnightly"`},
		{core.TimerTrigger{Schedule: "rate(5 minutes)"}, `schedule "rate(5 minutes)"`},
		{core.TimerTrigger{Schedule: "@every soon"}, `schedule "@every soon"`},
		{core.TimerTrigger{Schedule: "@every 1500ms"}, "whole seconds"},
		{core.TimerTrigger{Schedule: "TZ=UTC 0 3 * * *"}, "TimeZone"},
		{core.TimerTrigger{Schedule: "@hourly", TimeZone: "Nowhere/Else"}, `time zone "Nowhere/Else"`},
	}
	for _, tt := range tests {
		_, err := deploy.ParseSchedule(tt.trigger)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSchedule(%+v) = %v, want an error containing %q", tt.trigger, err, tt.want)
		}
	}
}
