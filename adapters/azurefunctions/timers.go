package azurefunctions

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/polyfn/polyfn/core"
)

const nativeTimerTrigger = "timerTrigger"

// decodeTimer decodes a timer trigger's TimerInfo (captured form):
//
//	Data:     {"timer": {"Schedule": {"AdjustForDST": true},
//	                     "ScheduleStatus": {"Last": "…", "Next": "…", "LastUpdated": "…"} | null,
//	                     "IsPastDue": false}}
//	Metadata: {"sys": {"MethodName": "nightly", "UtcNow": "2022-07-05T11:40:07.4850616Z", …},
//	           "RetryContext": {"RetryCount": 1, "MaxRetryCount": 5, …} (with a retry policy)}
//
// The firing's scheduled time is ScheduleStatus.Next as passed to this
// invocation (the host updates the status after the run); without a
// status (useMonitor false, the first run) it is the host's time of the
// invocation, sys.UtcNow.
func decodeTimer(src source, payload json.RawMessage) (decoded, error) {
	obj, err := metaObject(payload)
	if err != nil {
		return decoded{}, fmt.Errorf("timer info: %w", err)
	}
	info := metadata(obj)
	tm := &core.Timer{Name: src.sys.MethodName, Attempt: 1}
	if tm.Name == "" {
		tm.Name = src.function
	}
	if v, ok := info.get("IsPastDue"); ok {
		if tm.PastDue, err = metaBool(v); err != nil {
			return decoded{}, fmt.Errorf("IsPastDue: %w", err)
		}
	}
	if v, ok := info.get("ScheduleStatus"); ok {
		status, err := metaObject(v)
		if err != nil {
			return decoded{}, fmt.Errorf("ScheduleStatus: %w", err)
		}
		tm.ScheduledTime = metadata(status).time("Next")
	}
	if tm.ScheduledTime.IsZero() {
		tm.ScheduledTime = src.now()
	}
	if v, ok := src.meta.get("RetryContext"); ok {
		if rc, err := metaObject(v); err == nil {
			if n, err := metadata(rc).count("RetryCount"); err == nil {
				tm.Attempt = n + 1
			}
		}
	}
	// Retries of one firing share its id.
	id := tm.Name + "@" + tm.ScheduledTime.Format(time.RFC3339Nano)
	e, err := newEvent(core.TypeTimer, id, src.uri(), tm, "", src.now(), nativeTimerTrigger)
	if err != nil {
		return decoded{}, err
	}
	return decoded{events: []core.Event{e}}, nil
}
