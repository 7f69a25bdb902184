package core

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Alarms are the thresholds of the alarms `polyfn build` writes beside each
// cloud's deployment files: CloudWatch alarms in the SAM template, Cloud
// Monitoring alert policies for GCP, Azure Monitor alert rules. An app
// that declares none gets the defaults; a zero field means its default.
//
// The errors alarm watches the error rate: it fires when, in one period,
// at least ErrorRate percent of the unit's invocations failed and at least
// Errors of them did (the count keeps one failure among three invocations
// of a quiet function from paging anyone; raise it for such a function).
// The throttles alarm counts: at least Throttles in one period. The
// duration alarm fires when the 99th percentile of invocation durations in
// a period is above P99. Every alarm notifies every channel in Notify.
type Alarms struct {
	// Off turns the alarms off: the build writes none.
	Off bool
	// ErrorRate is the percentage of failed invocations in one period that
	// raises the errors alarm, above 0 and at most 100; default 1.
	ErrorRate float64
	// Errors is the least number of failed invocations in one period that
	// raises the errors alarm, whatever the rate; default 1.
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
	// Notify are the channels every alarm of the app notifies; the
	// deployment creates them (see docs/alarms.md for what each cloud
	// makes of each kind). None: the alarms only show in the console.
	Notify []Channel
}

// Channel is where an alarm's notifications go: an email address or a
// Slack channel, exactly one of the two.
type Channel struct {
	// Email is an address, as net/mail parses it ("oncall@example.com").
	// Every cloud sends to it; AWS and GCP first ask the address to
	// confirm its subscription.
	Email string `json:"email,omitempty"`
	// Slack is a channel of a Slack workspace, where the cloud has a
	// native way to post to one.
	Slack *SlackChannel `json:"slack,omitempty"`
}

// SlackChannel names a channel of a Slack workspace by the IDs Slack shows
// in a channel's details. AWS posts through AWS Chatbot, which needs the
// workspace authorised once in its console; GCP through a Cloud Monitoring
// Slack channel, whose token the deployment takes; Azure Monitor has no
// native Slack channel (docs/alarms.md).
type SlackChannel struct {
	// Workspace is the workspace's (team's) ID: "T" and letters and digits.
	Workspace string `json:"workspace"`
	// Channel is the channel's ID: "C" (or "G", a private channel) and
	// letters and digits.
	Channel string `json:"channel"`
}

// EmailChannel returns the channel of an email address.
func EmailChannel(addr string) Channel { return Channel{Email: addr} }

// SlackChannelOf returns the channel of a Slack workspace's channel.
func SlackChannelOf(workspace, channel string) Channel {
	return Channel{Slack: &SlackChannel{Workspace: workspace, Channel: channel}}
}

// Validate reports a channel that is neither or both of its kinds, an
// address net/mail does not parse (or one with a display name) or a Slack
// ID of the wrong form.
func (c Channel) Validate() error {
	switch {
	case (c.Email == "") == (c.Slack == nil):
		return Errorf(InvalidArgument, "core: alarms: a channel is an Email or a Slack channel, exactly one: got %+v", c)
	case c.Email != "":
		a, err := mail.ParseAddress(c.Email)
		if err != nil || a.Name != "" || a.Address != c.Email {
			return Errorf(InvalidArgument, "core: alarms: channel email %q: want a bare address such as oncall@example.com", c.Email)
		}
	default:
		if !slackID(c.Slack.Workspace, "T") {
			return Errorf(InvalidArgument, "core: alarms: Slack workspace %q: want its ID, T and upper-case letters and digits", c.Slack.Workspace)
		}
		if !slackID(c.Slack.Channel, "C") && !slackID(c.Slack.Channel, "G") {
			return Errorf(InvalidArgument, "core: alarms: Slack channel %q: want its ID, C (or G) and upper-case letters and digits", c.Slack.Channel)
		}
	}
	return nil
}

// slackID reports whether id is prefix and one or more upper-case ASCII
// letters and digits, as Slack's IDs are.
func slackID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || rest == "" {
		return false
	}
	for _, r := range rest {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// The documented defaults of Alarms.
const (
	DefaultAlarmErrorRate = 1.0
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
	case a.ErrorRate < 0 || a.ErrorRate > 100 || math.IsNaN(a.ErrorRate):
		return Errorf(InvalidArgument, "core: alarms: ErrorRate %v: want a percentage above 0 and at most 100", a.ErrorRate)
	case a.Errors < 0:
		return Errorf(InvalidArgument, "core: alarms: Errors %d is negative", a.Errors)
	case a.Throttles < 0:
		return Errorf(InvalidArgument, "core: alarms: Throttles %d is negative", a.Throttles)
	case a.P99 < 0 || a.P99%time.Millisecond != 0:
		return Errorf(InvalidArgument, "core: alarms: P99 %v: want a positive duration in whole milliseconds", a.P99)
	case a.Period != 0 && !slices.Contains(alarmPeriods, a.Period):
		return Errorf(InvalidArgument, "core: alarms: Period %v: want one of %v", a.Period, alarmPeriods)
	}
	for i, c := range a.Notify {
		if err := c.Validate(); err != nil {
			return err
		}
		if slices.ContainsFunc(a.Notify[:i], func(d Channel) bool { return d.key() == c.key() }) {
			return Errorf(InvalidArgument, "core: alarms: channel %s is listed twice in Notify", c.key())
		}
	}
	return nil
}

// key identifies a channel: its address or its Slack IDs.
func (c Channel) key() string {
	if c.Slack != nil {
		return "slack:" + c.Slack.Workspace + "/" + c.Slack.Channel
	}
	return "email:" + c.Email
}

// Resolve returns the alarms with every default filled in, for a function
// whose timeout on the target cloud is timeout. It fails when P99 is not
// below the timeout: durations stop at the timeout, so such an alarm could
// never fire.
func (a Alarms) Resolve(timeout time.Duration) (Alarms, error) {
	if err := a.Validate(); err != nil {
		return Alarms{}, err
	}
	if a.ErrorRate == 0 {
		a.ErrorRate = DefaultAlarmErrorRate
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
	Off       bool      `json:"off,omitempty"`
	ErrorRate float64   `json:"errorRate,omitempty"`
	Errors    int       `json:"errors,omitempty"`
	Throttles int       `json:"throttles,omitempty"`
	P99       string    `json:"p99,omitempty"`
	Period    string    `json:"period,omitempty"`
	Notify    []Channel `json:"notify,omitempty"`
}

// MarshalJSON writes the manifest form.
func (a Alarms) MarshalJSON() ([]byte, error) {
	j := alarmsJSON{Off: a.Off, ErrorRate: a.ErrorRate, Errors: a.Errors, Throttles: a.Throttles, Notify: a.Notify}
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
	out := Alarms{Off: j.Off, ErrorRate: j.ErrorRate, Errors: j.Errors, Throttles: j.Throttles, Notify: j.Notify}
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
	al.Notify = slices.Clone(al.Notify)
	a.alarms = &al
}
