package adaptertest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDocIsGenerated fails when docs/conformance.md is not what its data
// renders to (edited by hand, or rendered by an older generator), or its
// data is not of the suite's present cases and capabilities. Each adapter's
// TestConformance checks that its column is what its run finds.
func TestDocIsGenerated(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, DocPath))
	if err != nil {
		t.Fatal(err)
	}
	cols, err := ParseDoc(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckColumns(cols); err != nil {
		t.Errorf("%s: %v", DocPath, err)
	}
	want, err := RenderDoc(cols)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, want) {
		t.Errorf("%s is not what its data renders to: run go run ./adapters/adaptertest/cmd/conformancedoc", DocPath)
	}
	var names []string
	for _, c := range cases() {
		names = append(names, c.name)
	}
	for _, c := range cols {
		if !slices.Equal(caseNames(c), names) {
			t.Errorf("the %s column is of other cases than the suite's: %s", c.Platform, regenerate)
		}
		var caps []Capability
		for _, a := range c.Capabilities {
			caps = append(caps, a.Capability)
		}
		if !slices.Equal(caps, capabilities()) {
			t.Errorf("the %s column answers other capabilities than the suite's: %s", c.Platform, regenerate)
		}
	}
}
