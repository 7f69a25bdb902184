package core_test

import (
	"testing"

	"github.com/polyfn/polyfn/core"
)

func TestEventTrace(t *testing.T) {
	const (
		w3c  = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1"
	)
	tests := []struct {
		name      string
		ext       map[string]string
		attrs     map[string]string // the message's
		wantID    string
		wantFound bool
	}{
		{"none", nil, nil, "", false},
		{"w3c", map[string]string{core.TraceparentExtension: w3c}, nil, "4bf92f3577b34da6a3ce929d0e0e4736", true},
		{"x-ray", map[string]string{core.XRayTraceExtension: xray}, nil, "1-5759e988-bd862e3fe1be46a994272793", true},
		{"w3c wins", map[string]string{core.TraceparentExtension: w3c, core.XRayTraceExtension: xray}, nil, "4bf92f3577b34da6a3ce929d0e0e4736", true},
		{"invalid w3c, then x-ray", map[string]string{core.TraceparentExtension: "00-zz", core.XRayTraceExtension: xray}, nil, "1-5759e988-bd862e3fe1be46a994272793", true},
		{"x-ray without a root", map[string]string{core.XRayTraceExtension: "Parent=53995c3f42cd8ad8"}, nil, "", false},
		{"message attribute", nil, map[string]string{core.TraceparentAttribute: w3c}, "4bf92f3577b34da6a3ce929d0e0e4736", true},
		{"google pub/sub client attribute", nil, map[string]string{core.GooglePubSubTraceparentAttribute: w3c}, "4bf92f3577b34da6a3ce929d0e0e4736", true},
		{"extension wins over attribute", map[string]string{core.XRayTraceExtension: xray}, map[string]string{core.TraceparentAttribute: w3c}, "1-5759e988-bd862e3fe1be46a994272793", true},
		{"invalid attribute", nil, map[string]string{core.TraceparentAttribute: "00-zz"}, "", false},
	}
	for _, tt := range tests {
		e, err := core.NewEvent(core.TypeMessage, "m-1", "q", &core.Message{ID: "m-1", Attributes: tt.attrs})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tt.ext {
			e.SetExtension(k, v)
		}
		got, ok := e.Trace()
		if ok != tt.wantFound || got.TraceID != tt.wantID {
			t.Errorf("%s: Trace() = %+v, %v; want trace id %q, %v", tt.name, got, ok, tt.wantID, tt.wantFound)
		}
	}
	if tr, _ := core.ParseXRay(xray); tr.Format != core.TraceXRay || tr.SpanID != "53995c3f42cd8ad8" || !tr.Sampled || tr.Raw != xray {
		t.Errorf("ParseXRay = %+v", tr)
	}
}
