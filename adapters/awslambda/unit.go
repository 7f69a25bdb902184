package awslambda

import (
	"fmt"
	"strings"

	"github.com/polyfn/polyfn/core"
)

// unit is the deployment unit a Handler serves (core.UnitEnv): polyfn
// build deploys one Lambda per unit, all running the same bootstrap, and
// each serves its own routes or events only.
type unit struct {
	// name is the unit's name; "" when the handler serves every unit.
	name string
	// http is true for the unit of the app's routes.
	http bool
	// function is the event unit's function.
	function *core.EventFunc
	// sizing is the unit's declared sizing, from which each invocation's
	// deadline is read: the routes' for HTTP payloads when every unit is
	// served.
	sizing core.Sizing
}

// unitOf returns the unit of app that name (a core.UnitName) names, or
// every unit for "". An unknown name is an error listing the app's units.
func unitOf(app *core.App, name string) (unit, error) {
	all := unit{sizing: app.Sizing()}
	if name == "" {
		return all, nil
	}
	var names []string
	if len(app.Routes()) > 0 {
		if name == core.UnitName(app.Name(), "") {
			return unit{name: name, http: true, sizing: app.Sizing()}, nil
		}
		names = append(names, core.UnitName(app.Name(), ""))
	}
	for _, fn := range app.EventFuncs() {
		if name == core.UnitName(app.Name(), fn.Name) {
			return unit{name: name, function: &fn, sizing: fn.DeclaredSizing()}, nil
		}
		names = append(names, core.UnitName(app.Name(), fn.Name))
	}
	return unit{}, fmt.Errorf("awslambda: %s=%q names no unit of app %s; its units are %s",
		core.UnitEnv, name, app.Name(), strings.Join(names, ", "))
}

// functions returns the event functions the unit runs.
func (u unit) functions(app *core.App) []core.EventFunc {
	switch {
	case u.http:
		return nil
	case u.function != nil:
		return []core.EventFunc{*u.function}
	}
	return app.EventFuncs()
}

// refuse returns the error of a payload that is not the unit's: an event
// to the routes' unit, an HTTP request to an event function's. nil when
// the unit takes payloads of this shape.
func (u unit) refuse(s shape) error {
	switch {
	case u.http && !s.isHTTP():
		return core.Errorf(core.FailedPrecondition,
			"awslambda: unit %s serves the app's HTTP routes only; an event payload reached it (check the function's event sources)", u.name)
	case u.function != nil && s.isHTTP():
		return core.Errorf(core.FailedPrecondition,
			"awslambda: unit %s runs the event function %s only; an HTTP request reached it (check the function's event sources)", u.name, u.function.Name)
	}
	return nil
}

// misrouted wraps a routing error of an event unit: the event was another
// function's.
func (u unit) misrouted(err error) error {
	if u.function == nil {
		return err
	}
	return core.Wrap(core.FailedPrecondition, fmt.Errorf("awslambda: unit %s runs the event function %s only: %w", u.name, u.function.Name, err))
}
