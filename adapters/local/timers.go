package local

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/polyfn/polyfn/core"
)

// cronParser reads five-field cron, six-field cron with seconds first (as
// Azure's NCRONTAB writes it) and descriptors such as "@hourly" and "@every 5m".
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a TimerTrigger's schedule in its time zone.
func ParseSchedule(t core.TimerTrigger) (cron.Schedule, error) {
	spec := t.Schedule
	if t.TimeZone != "" {
		if _, err := time.LoadLocation(t.TimeZone); err != nil {
			return nil, fmt.Errorf("timer: time zone %q: %w", t.TimeZone, err)
		}
		spec = "CRON_TZ=" + t.TimeZone + " " + spec
	}
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("timer: schedule %q: %w", t.Schedule, err)
	}
	return s, nil
}

// pastDueAfter is how late a firing may start before it is flagged past due.
const pastDueAfter = time.Second

// startTimer fires fn on its schedule until the runtime stops. Firings of one
// timer never overlap: one that is still running when the next is due delays
// it, and the delayed firing is flagged PastDue; firings missed entirely
// (the machine slept) are collapsed into one.
func (rt *Runtime) startTimer(fn core.EventFunc, t core.TimerTrigger) error {
	sched, err := ParseSchedule(t)
	if err != nil {
		return fmt.Errorf("local: %s: %w", fn.Name, err)
	}
	rt.sources.Add(1)
	go func() {
		defer rt.sources.Done()
		next := sched.Next(time.Now())
		for {
			if next.IsZero() {
				rt.log.Warn("timer schedule never fires again", slog.String("function", fn.Name))
				return
			}
			wait := time.NewTimer(time.Until(next))
			select {
			case <-rt.intake.Done():
				wait.Stop()
				return
			case <-wait.C:
			}
			due := next
			late := time.Since(due)
			e, err := core.NewEvent(core.TypeTimer, newID(), "polyfn://local/timers/"+fn.Name,
				&core.Timer{Name: fn.Name, ScheduledTime: due.UTC(), PastDue: late > pastDueAfter, Attempt: 1})
			if err != nil {
				panic(err) // the type and data match
			}
			e.SetTime(time.Now().UTC())
			rt.fireTimer(fn, e)
			next = sched.Next(due)
			if now := time.Now(); next.Before(now) {
				// Missed firings collapse into one, run at once and flagged past due.
				for n := sched.Next(next); !n.IsZero() && n.Before(now); n = sched.Next(n) {
					next = n
				}
			}
		}
	}()
	return nil
}

// fireTimer runs one timer firing to completion, retries included, before
// the next is scheduled. A firing still waiting for a retry when the runtime
// stops is dropped: it is not data.
func (rt *Runtime) fireTimer(fn core.EventFunc, e core.Event) {
	rt.inflight.Add(1)
	defer rt.inflight.Done()
	rt.retryInProcess(fn, e, func(int, error) {})
}

// startTriggers starts every event trigger of a.
func (rt *Runtime) startTriggers(ctx context.Context, a *app) error {
	urls, groups := objectGroups(a)
	for _, u := range urls {
		if err := rt.startObjectWatch(ctx, u, groups[u]); err != nil {
			return err
		}
	}
	for _, fn := range a.EventFuncs() {
		var err error
		switch t := fn.Trigger.(type) {
		case core.MessageTrigger:
			err = rt.startMessages(ctx, a, fn, t)
		case core.TimerTrigger:
			err = rt.startTimer(fn, t)
		case core.StreamTrigger:
			err = rt.startStream(ctx, a, fn, t)
		case core.ChangeTrigger:
			rt.log.Info("change trigger has no local source; send events to it through the dev endpoint",
				slog.String("function", fn.Name), slog.String("endpoint", DevPrefix+"events/"+fn.Name))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
