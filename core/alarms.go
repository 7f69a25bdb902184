package core

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Alarms are the thresholds of the alarms `polyfn build` writes beside each
// cloud's deployment files: CloudWatch alarms in the SAM template, Cloud
// Monitoring alert policies for GCP, Azure Monitor alert rules. An app
// that declares none gets the defaults; a zero field means its default.
//
// Counts are "at least N in one period": Errors: 5 alarms when a period
// holds five failed invocations or more. The duration alarm fires when the
// 99th percentile of invocation durations in a period is above P99.
type Alarms struct {
	// Off turns the alarms off: the build writes none.
	Off bool
	// Errors is the number of failed invocations in one period that raises
	// the errors alarm; default 1, any failure.
	Errors int
	// Throttles is the number of throttled invocations (rejected for lack of
	// capacity) in one period that raises the throttles alarm; default 1.
	Throttles int
	// P99 is the 99th-percentile duration above which the duration alarm is
	// raised, in whole milliseconds; default 80% of the timeout the build
	// gives the function on each cloud. It must be below that timeout.
	P99 time.Duration
	// Period is the length of the evaluation period: one of 1, 5, 15 or
	// 30 minutes or an hour, the periods every cloud evaluates; default 5
	// minutes.
	Period time.Duration
}

// The documented defaults of Alarms.
const (
	DefaultAlarmErrors    = 1
	DefaultAlarmThrottles = 1
	DefaultAlarmPeriod    = 5 * time.Minute
	// DefaultAlarmP99Percent is the default P99 threshold as a percentage of
	// the function's timeout.
	DefaultAlarmP99Percent = 80
)

// alarmPeriods are the periods that CloudWatch (a multiple of 60 s), Cloud
// Monitoring (alignment periods of whole minutes) and Azure Monitor metric
// alerts (window sizes PT1M, PT5M, PT15M, PT30M, PT1H, …) all take.
var alarmPeriods = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour}

// Validate reports a value no cloud can take: a negative count or duration,
// a P99 that is not whole milliseconds, a period not in the list above.
func (a Alarms) Validate() error {
	switch {
	case a.Errors < 0:
		return Errorf(InvalidArgument, "core: alarms: Errors %d is negative", a.Errors)
	case a.Throttles < 0:
		return Errorf(InvalidArgument, "core: alarms: Throttles %d is negative", a.Throttles)
	case a.P99 < 0 || a.P99%time.Millisecond != 0:
		return Errorf(InvalidArgument, "core: alarms: P99 %v: want a positive duration in whole milliseconds", a.P99)
	case a.Period != 0 && !slices.Contains(alarmPeriods, a.Period):
		return Errorf(InvalidArgument, "core: alarms: Period %v: want one of %v", a.Period, alarmPeriods)
	}
	return nil
}

// Resolve returns the alarms with every default filled in, for a function
// whose timeout on the target cloud is timeout. It fails when P99 is not
// below the timeout: durations stop at the timeout, so such an alarm could
// never fire.
func (a Alarms) Resolve(timeout time.Duration) (Alarms, error) {
	if err := a.Validate(); err != nil {
		return Alarms{}, err
	}
	if a.Errors == 0 {
		a.Errors = DefaultAlarmErrors
	}
	if a.Throttles == 0 {
		a.Throttles = DefaultAlarmThrottles
	}
	if a.Period == 0 {
		a.Period = DefaultAlarmPeriod
	}
	if a.P99 == 0 {
		a.P99 = (timeout * DefaultAlarmP99Percent / 100).Truncate(time.Millisecond)
	}
	if a.P99 <= 0 || a.P99 >= timeout {
		return Alarms{}, Errorf(InvalidArgument, "core: alarms: P99 %v is not below the function's timeout %v", a.P99, timeout)
	}
	return a, nil
}

// alarmsJSON is the manifest form of Alarms: durations as Go duration
// strings ("2s", "5m0s").
type alarmsJSON struct {
	Off       bool   `json:"off,omitempty"`
	Errors    int    `json:"errors,omitempty"`
	Throttles int    `json:"throttles,omitempty"`
	P99       string `json:"p99,omitempty"`
	Period    string `json:"period,omitempty"`
}

// MarshalJSON writes the manifest form.
func (a Alarms) MarshalJSON() ([]byte, error) {
	j := alarmsJSON{Off: a.Off, Errors: a.Errors, Throttles: a.Throttles}
	if a.P99 != 0 {
		j.P99 = a.P99.String()
	}
	if a.Period != 0 {
		j.Period = a.Period.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the manifest form and validates it.
func (a *Alarms) UnmarshalJSON(b []byte) error {
	var j alarmsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := Alarms{Off: j.Off, Errors: j.Errors, Throttles: j.Throttles}
	for _, d := range []struct {
		s   string
		dst *time.Duration
	}{{j.P99, &out.P99}, {j.Period, &out.Period}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil {
			return Errorf(InvalidArgument, "core: alarms: %v", err)
		}
		*d.dst = v
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*a = out
	return nil
}

// Alarms declares the thresholds of the app's alarms (see Alarms); an app
// that does not call it gets the defaults. It panics on a value Validate
// rejects, a programmer error at start-up like an invalid trigger.
func (a *App) Alarms(al Alarms) {
	if err := al.Validate(); err != nil {
		panic(fmt.Sprintf("core: app %s: %v", a.name, err))
	}
	a.alarms = &al
}
