package aws

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/polyfn/polyfn/deploy"
)

// ScheduleExpression returns EventBridge Scheduler's expression for a
// parsed schedule: cron() with six fields (minute hour day-of-month month
// day-of-week year), one of the two day fields "?", days of the week
// numbered from 1 (Sunday); or rate() for an interval of whole minutes
// (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
// It fails for what EventBridge cannot express: a second other than 0, an
// interval that is not whole minutes, both day fields restricted.
func ScheduleExpression(s deploy.Schedule) (string, error) {
	if s.Kind == deploy.ScheduleEvery {
		return rateExpression(s)
	}
	if s.Cron == nil {
		return "", fmt.Errorf("schedule %q has no cron fields", s.Expr)
	}
	c := *s.Cron
	if c.Second != "0" {
		return "", fmt.Errorf("schedule %q fires within a minute; EventBridge schedules fire on whole minutes", s.Expr)
	}
	dow, err := awsDaysOfWeek(c.DayOfWeek)
	if err != nil {
		return "", fmt.Errorf("schedule %q: %w", s.Expr, err)
	}
	dom := c.DayOfMonth
	switch {
	case dow == "*" || dow == "?":
		dow = "?"
		if dom == "?" {
			dom = "*"
		}
	case dom == "*" || dom == "?":
		dom = "?"
	default:
		return "", fmt.Errorf("schedule %q restricts both the day of the month and the day of the week, which EventBridge cannot express", s.Expr)
	}
	return fmt.Sprintf("cron(%s %s %s %s %s *)", c.Minute, c.Hour, dom, c.Month, dow), nil
}

// rateExpression writes an interval as rate(), in whole minutes.
func rateExpression(s deploy.Schedule) (string, error) {
	secs := s.EverySeconds
	if secs < 60 || secs%60 != 0 {
		return "", fmt.Errorf("schedule %q: EventBridge rates are whole minutes, at least one", s.Expr)
	}
	n, unit := secs/60, "minute"
	switch {
	case secs%86400 == 0:
		n, unit = secs/86400, "day"
	case secs%3600 == 0:
		n, unit = secs/3600, "hour"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("rate(%d %s)", n, unit), nil
}

// awsDaysOfWeek renumbers a cron day-of-week field from cron's 0–6 (0 is
// Sunday) to EventBridge's 1–7 (1 is Sunday). Names stay, upper-cased. The
// plan's parser has accepted the field, so its ranges run upwards within
// 0–6 and their renumbering never wraps.
func awsDaysOfWeek(field string) (string, error) {
	var out []string
	for item := range strings.SplitSeq(field, ",") {
		base, step, hasStep := strings.Cut(item, "/")
		lo, hi, isRange := strings.Cut(base, "-")
		if base == "*" || base == "?" {
			out = append(out, item)
			continue
		}
		l, err := awsDay(lo)
		if err != nil {
			return "", err
		}
		suffix := ""
		if hasStep {
			suffix = "/" + step
		}
		if !isRange {
			out = append(out, l+suffix)
			continue
		}
		h, err := awsDay(hi)
		if err != nil {
			return "", err
		}
		out = append(out, l+"-"+h+suffix)
	}
	return strings.Join(out, ","), nil
}

// awsDay renumbers one day: a number 0–7, or a name, kept.
func awsDay(d string) (string, error) {
	n, err := strconv.Atoi(d)
	if err != nil {
		if len(d) == 3 {
			return strings.ToUpper(d), nil
		}
		return "", fmt.Errorf("day of week %q", d)
	}
	if n < 0 || n > 7 {
		return "", fmt.Errorf("day of week %d is not 0–7", n)
	}
	return strconv.Itoa(n%7 + 1), nil
}
