package gcp

import (
	"fmt"
	"strings"

	"github.com/polyfn/polyfn/deploy"
)

// schedulerCron writes a plan's schedule in Cloud Scheduler's unix-cron,
// five fields at minute precision
// (https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules):
// a calendar whose seconds are 0, its day fields' "?" as "*"; an interval
// of whole minutes that divide an hour, or of whole hours that divide a
// day, as a step.
func schedulerCron(s deploy.Schedule) (string, error) {
	switch s.Kind {
	case deploy.ScheduleCron:
		c := *s.Cron
		if c.Second != "0" {
			return "", fmt.Errorf("schedule %q: Cloud Scheduler fires at minute precision; want second 0, not %q", s.Expr, c.Second)
		}
		star := func(f string) string {
			if f == "?" {
				return "*"
			}
			return f
		}
		return strings.Join([]string{c.Minute, c.Hour, star(c.DayOfMonth), c.Month, star(c.DayOfWeek)}, " "), nil
	case deploy.ScheduleEvery:
		const minute, hour, day = 60, 3600, 86400
		switch d := s.EverySeconds; {
		case d >= minute && d < hour && d%minute == 0 && hour%d == 0:
			return fmt.Sprintf("*/%d * * * *", d/minute), nil
		case d == hour:
			return "0 * * * *", nil
		case d > hour && d < day && d%hour == 0 && day%d == 0:
			return fmt.Sprintf("0 */%d * * *", d/hour), nil
		case d == day:
			return "0 0 * * *", nil
		}
		return "", fmt.Errorf("schedule %q: Cloud Scheduler repeats only by minutes that divide an hour or hours that divide a day", s.Expr)
	}
	return "", fmt.Errorf("schedule %q: unknown kind %q", s.Expr, s.Kind)
}
