package adaptertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// OutEnv names the environment variable holding the directory into which
// every run writes its platform's column, as <platform>.json.
const OutEnv = "POLYFN_CONFORMANCE_OUT"

// DocPath is where the capability matrix is published, relative to the
// module's root.
const DocPath = "docs/conformance.md"

// The results of a case.
const (
	Pass = "pass"
	Skip = "skip"
	Fail = "fail"
)

// Column is one platform's column of the capability matrix: what its
// harness can express, and the result of every case.
type Column struct {
	Platform string `json:"platform"`
	// Description is how the harness drives the platform (Describer).
	Description  string             `json:"description,omitempty"`
	Capabilities []CapabilityAnswer `json:"capabilities"`
	Cases        []CaseResult       `json:"cases"`
}

// CapabilityAnswer is a harness's answer to Can.
type CapabilityAnswer struct {
	Capability Capability `json:"capability"`
	OK         bool       `json:"ok"`
	Reason     string     `json:"reason,omitempty"`
}

// CaseResult is the result of one case.
type CaseResult struct {
	Case   string `json:"case"`
	Result string `json:"result"`
	// Missing is the capability whose absence skipped the case.
	Missing Capability `json:"missing,omitempty"`
}

// column records one run's results.
type column struct {
	h       Harness
	results map[string]CaseResult
}

func newColumn(h Harness) *column { return &column{h: h, results: map[string]CaseResult{}} }

// run runs case c as a subtest, skipping it when the harness lacks a
// capability it needs, and records its result.
func (col *column) run(t *testing.T, s *session, c tcase) {
	t.Run(c.name, func(t *testing.T) {
		r := CaseResult{Case: c.name}
		defer func() { // also after t.Skip and t.Fatal, which end the goroutine
			switch {
			case t.Failed():
				r.Result = Fail
			case t.Skipped():
				r.Result = Skip
			default:
				r.Result = Pass
			}
			col.results[c.name] = r
		}()
		for _, need := range c.needs {
			if ok, why := s.h.Can(need); !ok {
				r.Missing = need
				t.Skipf("%s cannot express %s: %s", s.h.Name(), need, why)
			}
		}
		c.run(t, s)
	})
}

// capabilities lists every capability the cases need or use, in the order
// they first appear.
func capabilities() []Capability {
	var cs []Capability
	for _, c := range cases() {
		for _, cap := range append(slices.Clone(c.needs), c.uses...) {
			if !slices.Contains(cs, cap) {
				cs = append(cs, cap)
			}
		}
	}
	return cs
}

// result returns the column of this run, and whether every case ran and
// none failed.
func (col *column) result() (Column, bool) {
	c := Column{Platform: col.h.Name()}
	if d, ok := col.h.(Describer); ok {
		c.Description = d.Describe()
	}
	for _, cap := range capabilities() {
		ok, why := col.h.Can(cap)
		c.Capabilities = append(c.Capabilities, CapabilityAnswer{Capability: cap, OK: ok, Reason: why})
	}
	complete := true
	for _, tc := range cases() {
		r, ok := col.results[tc.name]
		if !ok {
			complete = false
			continue
		}
		complete = complete && r.Result != Fail
		c.Cases = append(c.Cases, r)
	}
	return c, complete
}

// finish prints the column, writes it where OutEnv says, and compares it
// with the one docs/conformance.md records.
func (col *column) finish(t *testing.T) {
	c, complete := col.result()
	t.Logf("capability matrix, %s column:\n%s", c.Platform, c.text())
	if dir := os.Getenv(OutEnv); dir != "" {
		if !complete {
			t.Errorf("adaptertest: %s is set but the run was partial or failed: the %s column is not written", OutEnv, c.Platform)
		} else if err := writeColumn(dir, c); err != nil {
			t.Error(err)
		}
	}
	if !complete {
		t.Logf("adaptertest: a partial or failed run is not compared with %s", DocPath)
		return
	}
	doc, err := readDoc()
	if err != nil {
		t.Errorf("adaptertest: %v", err)
		return
	}
	recorded, err := ParseDoc(doc)
	if err != nil {
		t.Errorf("adaptertest: %s: %v", DocPath, err)
		return
	}
	i := slices.IndexFunc(recorded, func(r Column) bool { return r.Platform == c.Platform })
	if i < 0 {
		t.Errorf("adaptertest: %s has no %s column; %s", DocPath, c.Platform, regenerate)
		return
	}
	if diff := cmp.Diff(recorded[i], c); diff != "" {
		t.Errorf("adaptertest: the %s column of %s is stale (-recorded +this run):\n%s\n%s", c.Platform, DocPath, diff, regenerate)
	}
}

// regenerate says how to bring docs/conformance.md up to date.
const regenerate = "regenerate it: dir=$(mktemp -d); " + OutEnv + "=$dir go test -count=1 -run '^TestConformance$' " +
	"./adapters/local ./adapters/awslambda ./adapters/gcpfunctions ./adapters/azurefunctions; " +
	"go run ./adapters/adaptertest/cmd/conformancedoc $dir"

// text renders a column for the test log.
func (c Column) text() string {
	var b strings.Builder
	for _, r := range c.Cases {
		fmt.Fprintf(&b, "  %-4s  %s", r.Result, r.Case)
		if r.Missing != "" {
			fmt.Fprintf(&b, "  (no %s)", r.Missing)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func writeColumn(dir string, c Column) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("adaptertest: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, c.Platform+".json"), append(b, '\n'), 0o644)
}

// ReadColumns reads the columns that runs wrote into dir.
func ReadColumns(dir string) ([]Column, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var cols []Column
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var c Column
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// ModuleRoot returns the directory of the go.mod above the working
// directory: the module's root when run from any of its packages.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func readDoc() ([]byte, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(root, DocPath))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist; %s", DocPath, regenerate)
	}
	return b, err
}
