package gcpfunctions

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/polyfn/polyfn/core"
)

// RegisterDecoder registers with the Functions Framework, under name, an
// entry point that decodes what it receives as Register's entry points do,
// with the same code, and hands the result to decoded instead of running a
// function: polyfn inspect serves it to show what a function would receive.
//
// With a nil trigger it is an HTTP function, and decoded gets the request
// as an app's routes would, during the request (read its body then).
// Otherwise it is the entry point of an event function with trigger t,
// which takes CloudEvents, Pub/Sub push requests and legacy background
// events, and for a TimerTrigger also Cloud Scheduler's HTTP-target
// requests. decoded gets the
// event, none when the trigger's filter declines it, or the decoding error;
// the entry point then answers 200. A request that is no event at all
// (neither a CloudEvent, a Pub/Sub push request nor a legacy background
// event) reaches decoded as the error that Register's entry point answers
// 400 with. Each delivery's invocation carries the deadline of a unit
// sized sz, as Register's would.
func RegisterDecoder(name string, t core.Trigger, sz core.Sizing, decoded func(*core.Delivery, error)) error {
	if decoded == nil {
		return errors.New("gcpfunctions: RegisterDecoder needs a function to take the deliveries")
	}
	r := &Registration{decoded: decoded}
	var ep entryPoint
	if t == nil {
		ep = entryPoint{name: name, http: r.httpFunction(name, sz, http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
			inv, _ := core.InvocationFrom(req.Context())
			decoded(&core.Delivery{Invocation: *inv, Request: req}, nil)
		}))}
	} else {
		var err error
		if ep, err = r.eventEntryPoint(core.EventFunc{Name: name, Trigger: t, Sizing: &sz}); err != nil {
			return err
		}
	}
	registered.Lock()
	defer registered.Unlock()
	if err := checkUnregistered([]entryPoint{ep}); err != nil {
		return fmt.Errorf("gcpfunctions: RegisterDecoder: %w", err)
	}
	registerEntryPoints([]entryPoint{ep})
	return nil
}

// delivery is the delivery of the event e that an entry point of a function
// with trigger t decoded, in invocation inv, or the decoding error.
func delivery(inv *core.Invocation, t core.Trigger, e core.Event, err error) (*core.Delivery, error) {
	if err != nil {
		return nil, err
	}
	d := &core.Delivery{Invocation: *inv}
	if !filtered(t, e) {
		d.Events = []core.Event{e}
	}
	return d, nil
}
