package gcpfunctions

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/polyfn/polyfn/core"
)

// SchedulerJobAttribute is the Pub/Sub message attribute that names the
// Cloud Scheduler job of a timer event arriving through a Pub/Sub target.
// Cloud Scheduler sets no attribute of its own, so the jobs that polyfn
// build writes set this one (--attributes=scheduler-job=NAME); without it
// the timer is named after its function.
const SchedulerJobAttribute = "scheduler-job"

// The headers of a Cloud Scheduler HTTP-target request.
const (
	schedulerJobHeader  = "X-CloudScheduler-JobName"
	schedulerTimeHeader = "X-CloudScheduler-ScheduleTime"
)

// schedulerType is the native type recorded on timer events from an HTTP
// target: Eventarc's name for a Cloud Scheduler job execution.
const schedulerType = "google.cloud.scheduler.job.v1.executed"

// maxSchedulerBody bounds the body of an HTTP-target request read as the
// timer's payload; Cloud Scheduler's own limit is far lower.
const maxSchedulerBody = 1 << 20

// timerFromPubSub returns the decoder of messagePublished events for a
// timer function: the job is the message's scheduler-job attribute (else
// the function's name), the scheduled time its publish time and the
// payload its data.
func timerFromPubSub(function string) func(*event.Event) (any, error) {
	return func(ce *event.Event) (any, error) {
		m, err := decodePubSub(ce)
		if err != nil {
			return nil, err
		}
		return &core.Timer{
			Name:          first(m.attributes[SchedulerJobAttribute], function),
			ScheduledTime: m.publishTime,
			Attempt:       m.deliveryAttempt,
			Payload:       m.data,
		}, nil
	}
}

// isSchedulerRequest reports whether r is a Cloud Scheduler HTTP-target
// request rather than a CloudEvent.
func isSchedulerRequest(r *http.Request) bool {
	return r.Header.Get(schedulerJobHeader) != "" && r.Header.Get("Ce-Id") == ""
}

// timerFromRequest decodes a Cloud Scheduler HTTP-target request as a timer
// event. Its id is the job and the schedule time, which Cloud Scheduler
// keeps across the retries of one run, so a handler can deduplicate on it.
func timerFromRequest(w http.ResponseWriter, r *http.Request) (core.Event, error) {
	job := r.Header.Get(schedulerJobHeader)
	at, err := time.Parse(time.RFC3339Nano, r.Header.Get(schedulerTimeHeader))
	if err != nil {
		return core.Event{}, core.Errorf(core.InvalidArgument, "gcpfunctions: scheduler job %q: %s is not an RFC 3339 time", job, schedulerTimeHeader)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSchedulerBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return core.Event{}, core.Errorf(core.TooLarge, "gcpfunctions: scheduler job %q: body over %d bytes", job, tooLarge.Limit)
	case err != nil:
		return core.Event{}, core.Errorf(core.Unavailable, "gcpfunctions: scheduler job %q: reading the body: %w", job, err)
	}
	if len(body) == 0 {
		body = nil
	}
	t := &core.Timer{Name: job, ScheduledTime: at.UTC(), Payload: body}
	e, err := core.NewEvent(core.TypeTimer, job+"/"+at.UTC().Format(time.RFC3339Nano), "//cloudscheduler.googleapis.com/jobs/"+job, t)
	if err != nil {
		return core.Event{}, err
	}
	e.SetTime(at)
	e.SetExtension(core.NativeTypeExtension, schedulerType)
	return e, nil
}
