package core

import (
	"encoding/json"
	"fmt"
)

// Manifest is an App's declaration as data: what packaging reads to write a
// cloud's deployment files (a SAM template, function.json files, deploy
// commands). A function binary prints its apps' manifests as a JSON array
// when started with POLYFN_MANIFEST=1 (see cmd/launch), so tools learn a
// function's routes and triggers without importing it.
type Manifest struct {
	App       string         `json:"app"`
	Routes    []Route        `json:"routes"`
	Functions []FunctionSpec `json:"functions"`
	Resources []Resource     `json:"resources"`
	// Alarms are the app's declared alarm thresholds; nil means the
	// defaults (see Alarms).
	Alarms *Alarms `json:"alarms,omitempty"`
	// Sizing is the declared sizing of the HTTP routes' unit (App.Size);
	// nil means the defaults (see Sizing).
	Sizing *Sizing `json:"sizing,omitempty"`
	// StreamResponses is true when the app's HTTP responses stream
	// (App.StreamResponses).
	StreamResponses bool `json:"streamResponses,omitempty"`
}

// FunctionSpec is one declared event function.
type FunctionSpec struct {
	Name    string      `json:"name"`
	Trigger TriggerSpec `json:"trigger"`
	// Sizing is the function's declared sizing (App.SizeFunc); nil means
	// the defaults.
	Sizing *Sizing `json:"sizing,omitempty"`
}

// TriggerSpec holds exactly one trigger, named by Kind.
type TriggerSpec struct {
	// Kind is "object", "message", "change", "timer" or "stream".
	Kind    string          `json:"kind"`
	Object  *ObjectTrigger  `json:"object,omitempty"`
	Message *MessageTrigger `json:"message,omitempty"`
	Change  *ChangeTrigger  `json:"change,omitempty"`
	Timer   *TimerTrigger   `json:"timer,omitempty"`
	Stream  *StreamTrigger  `json:"stream,omitempty"`
}

// SpecOf returns the spec of t.
func SpecOf(t Trigger) TriggerSpec {
	switch t := t.(type) {
	case ObjectTrigger:
		t.Events = t.Kinds()
		return TriggerSpec{Kind: "object", Object: &t}
	case MessageTrigger:
		return TriggerSpec{Kind: "message", Message: &t}
	case ChangeTrigger:
		return TriggerSpec{Kind: "change", Change: &t}
	case TimerTrigger:
		return TriggerSpec{Kind: "timer", Timer: &t}
	case StreamTrigger:
		return TriggerSpec{Kind: "stream", Stream: &t}
	}
	panic(fmt.Sprintf("core: unknown trigger type %T", t))
}

// Trigger returns the trigger the spec holds.
func (s TriggerSpec) Trigger() (Trigger, error) {
	var t Trigger
	switch {
	case s.Kind == "object" && s.Object != nil:
		t = *s.Object
	case s.Kind == "message" && s.Message != nil:
		t = *s.Message
	case s.Kind == "change" && s.Change != nil:
		t = *s.Change
	case s.Kind == "timer" && s.Timer != nil:
		t = *s.Timer
	case s.Kind == "stream" && s.Stream != nil:
		t = *s.Stream
	default:
		return nil, Errorf(InvalidArgument, "core: trigger spec of kind %q without its trigger", s.Kind)
	}
	if err := t.validate(); err != nil {
		return nil, Errorf(InvalidArgument, "core: %v", err)
	}
	return t, nil
}

// Manifest returns the app's declaration.
func (a *App) Manifest() Manifest {
	m := Manifest{App: a.name, Routes: a.Routes(), Resources: a.Resources(), Functions: []FunctionSpec{}, StreamResponses: a.streaming}
	if a.alarms != nil {
		al := *a.alarms
		m.Alarms = &al
	}
	if a.sizing != nil {
		sz := *a.sizing
		m.Sizing = &sz
	}
	if m.Routes == nil {
		m.Routes = []Route{}
	}
	for _, f := range a.events {
		spec := FunctionSpec{Name: f.Name, Trigger: SpecOf(f.Trigger)}
		if f.Sizing != nil {
			sz := *f.Sizing
			spec.Sizing = &sz
		}
		m.Functions = append(m.Functions, spec)
	}
	return m
}

// ParseManifests decodes the JSON array a function binary prints. It fails
// on a trigger, a sizing or a resource use the declaration would have
// refused (the sizings and alarms validate as they decode).
func ParseManifests(b []byte) ([]Manifest, error) {
	var ms []Manifest
	if err := json.Unmarshal(b, &ms); err != nil {
		return nil, Errorf(InvalidArgument, "core: decoding manifests: %w", err)
	}
	for _, m := range ms {
		for _, r := range m.Resources {
			if err := r.validate(); err != nil {
				return nil, Errorf(InvalidArgument, "core: app %s, resource %s: %v", m.App, r.Env, err)
			}
		}
		for _, f := range m.Functions {
			if _, err := f.Trigger.Trigger(); err != nil {
				return nil, fmt.Errorf("core: app %s, function %s: %w", m.App, f.Name, err)
			}
		}
	}
	return ms, nil
}
