package deploy

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/polyfn/polyfn/core"
)

// Schedule is a timer trigger's schedule, parsed once into the form every
// cloud's renderer translates from: a calendar (cron fields, seconds
// first) or a fixed interval. The parser is the local runtime's
// (github.com/robfig/cron/v3), so that a schedule the plan accepts is one
// `polyfn dev` fires.
type Schedule struct {
	// Expr is the schedule as declared ("*/5 * * * *", "@hourly",
	// "@every 10m").
	Expr string `json:"expr"`
	// Kind is ScheduleCron or ScheduleEvery.
	Kind ScheduleKind `json:"kind"`
	// Cron holds the calendar's fields when Kind is ScheduleCron.
	Cron *CronFields `json:"cron,omitempty"`
	// EverySeconds is the interval when Kind is ScheduleEvery: "@every d",
	// what EventBridge calls a rate; at least one second, whole seconds.
	EverySeconds int64 `json:"everySeconds,omitempty"`
	// TimeZone is the IANA zone the calendar is read in: the trigger's, or
	// "UTC" when it names none. An interval does not depend on it.
	TimeZone string `json:"timeZone"`
}

// ScheduleKind names the form of a Schedule.
type ScheduleKind string

// The forms of a schedule.
const (
	// ScheduleCron fires at the times its cron fields match.
	ScheduleCron ScheduleKind = "cron"
	// ScheduleEvery fires at a fixed interval from the deployment.
	ScheduleEvery ScheduleKind = "every"
)

// CronFields are the six fields of a calendar schedule, seconds first, as
// written: a five-field expression gets Second "0", and a descriptor is
// spelled out (@hourly is 0 0 * * * *). Each field is the cron syntax of
// the declaration (lists, ranges, steps, names, "?" in a day field), which
// the parser has accepted; a renderer rewrites it into its cloud's dialect
// and reports what that dialect cannot express.
type CronFields struct {
	Second     string `json:"second"`
	Minute     string `json:"minute"`
	Hour       string `json:"hour"`
	DayOfMonth string `json:"dayOfMonth"`
	Month      string `json:"month"`
	DayOfWeek  string `json:"dayOfWeek"`
}

// String returns the six fields separated by spaces.
func (c CronFields) String() string {
	return strings.Join([]string{c.Second, c.Minute, c.Hour, c.DayOfMonth, c.Month, c.DayOfWeek}, " ")
}

// cronParser reads what core.TimerTrigger documents: five-field cron, six
// fields with seconds first, and descriptors ("@hourly", "@every 10m").
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// descriptorFields spell out the calendar descriptors the parser takes.
var descriptorFields = map[string]CronFields{
	"@yearly":   {"0", "0", "0", "1", "1", "*"},
	"@annually": {"0", "0", "0", "1", "1", "*"},
	"@monthly":  {"0", "0", "0", "1", "*", "*"},
	"@weekly":   {"0", "0", "0", "*", "*", "0"},
	"@daily":    {"0", "0", "0", "*", "*", "*"},
	"@midnight": {"0", "0", "0", "*", "*", "*"},
	"@hourly":   {"0", "0", "*", "*", "*", "*"},
}

// ParseSchedule parses a timer trigger's schedule and time zone.
func ParseSchedule(t core.TimerTrigger) (Schedule, error) {
	expr := strings.TrimSpace(t.Schedule)
	zone := t.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	if _, err := time.LoadLocation(zone); err != nil {
		return Schedule{}, fmt.Errorf("time zone %q: %v", t.TimeZone, err)
	}
	if strings.HasPrefix(expr, "CRON_TZ=") || strings.HasPrefix(expr, "TZ=") {
		return Schedule{}, fmt.Errorf("schedule %q: name the zone in the trigger's TimeZone, not in the schedule", t.Schedule)
	}
	if _, err := cronParser.Parse(expr); err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: %v", t.Schedule, err)
	}
	s := Schedule{Expr: t.Schedule, TimeZone: zone}
	if every, ok := strings.CutPrefix(expr, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(every))
		if err != nil || d < time.Second || d%time.Second != 0 {
			return Schedule{}, fmt.Errorf("schedule %q: want an interval of whole seconds, at least one", t.Schedule)
		}
		s.Kind, s.EverySeconds = ScheduleEvery, int64(d/time.Second)
		return s, nil
	}
	if f, ok := descriptorFields[expr]; ok {
		s.Kind, s.Cron = ScheduleCron, &f
		return s, nil
	}
	f := strings.Fields(expr)
	switch len(f) {
	case 5:
		f = append([]string{"0"}, f...)
	case 6:
	default: // unreachable: the parser takes five or six fields or a descriptor
		return Schedule{}, fmt.Errorf("schedule %q: want five cron fields, six with seconds first, or a descriptor", t.Schedule)
	}
	s.Kind = ScheduleCron
	s.Cron = &CronFields{Second: f[0], Minute: f[1], Hour: f[2], DayOfMonth: f[3], Month: f[4], DayOfWeek: f[5]}
	return s, nil
}
