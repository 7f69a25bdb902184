package core

import (
	"testing"
)

func TestStreamResponses(t *testing.T) {
	app := NewApp("streams")
	if app.StreamsResponses() || app.Manifest().StreamResponses {
		t.Fatal("an app streams before it declares it")
	}
	app.StreamResponses()
	if !app.StreamsResponses() {
		t.Error("StreamsResponses is false after StreamResponses")
	}
	ms, err := ParseManifests([]byte(`[{"app":"streams","routes":[],"functions":[],"resources":[],"streamResponses":true}]`))
	if err != nil || !ms[0].StreamResponses || !app.Manifest().StreamResponses {
		t.Errorf("the manifest does not carry the declaration: %+v, %v", ms, err)
	}
	if err := app.Init(t.Context(), func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("StreamResponses after Init did not panic")
		}
	}()
	app.StreamResponses()
}
