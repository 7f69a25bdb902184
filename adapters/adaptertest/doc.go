package adaptertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The platforms whose columns docs/conformance.md must have, in its order;
// other platforms follow, by name.
var platformOrder = []string{"local", "aws", "gcp", "azure", "azure-forwarding", "azure-proxying"}

// RequiredPlatforms are the platforms every adapter's CI run covers.
var RequiredPlatforms = []string{"local", "aws", "gcp", "azure"}

// The markers around the columns' data at the end of the document.
const (
	dataStart = "<!-- conformance-data\n"
	dataEnd   = "\n-->\n"
)

// capabilityText explains each capability in the document.
var capabilityText = map[Capability]string{
	BinaryResponses:              "a binary response body reaches the client intact",
	LargeBodies:                  "5 MB text bodies pass both ways",
	LargeBinaryBodies:            "5 MB binary bodies pass both ways",
	RepeatedRequestHeaders:       "several values of a request header reach the function as separate values",
	RepeatedQueryValues:          "several values of a query parameter reach the function as separate values",
	MultipleCookies:              "several `Set-Cookie` headers reach the client",
	RepeatedResponseHeaders:      "several values of a response header reach the client as separate values",
	Cancellation:                 "a client that goes away ends the request's context",
	Deadline:                     "an HTTP request's context carries the app's declared timeout, or the platform's deadline when earlier",
	EventDeadline:                "an event's context carries its own function's declared timeout, or the platform's deadline when earlier",
	PartialBatchFailure:          "of a batch of messages, exactly the failed ones are redelivered",
	PartialChangeBatchFailure:    "of a batch of database changes, exactly the failed ones are redelivered",
	OrderedChangeBatches:         "otherwise, a change batch stops at its first failure, redelivered with every later change (else the whole batch is)",
	AcknowledgePermanentFailures: "an event that failed with a client-error code is acknowledged (dropped or dead-lettered at once), not redelivered",
}

func describeCapability(c Capability) string {
	if s, ok := capabilityText[c]; ok {
		return s
	}
	kind, field, ok := strings.Cut(string(c), ".")
	if !ok {
		return ""
	}
	what := strings.ReplaceAll(kind, "_", " ") + " event"
	if strings.ContainsAny(what[:1], "aeiou") {
		what = "an " + what
	} else {
		what = "a " + what
	}
	if field == FieldSubjectKey {
		return "the subject of " + what + " is the object's key"
	}
	return fmt.Sprintf("the %s of %s arrives as sent", field, what)
}

// groups names the sections of the matrix by the first segment of a case's
// name.
var groups = []struct{ prefix, title string }{
	{"http", "HTTP"},
	{"events", "Events: envelope and data"},
	{"failures", "Failures"},
	{"batches", "Batches"},
	{"invocation", "Invocation metadata and middleware"},
}

// MergeColumns returns cols with each of updates in place of the column of
// its platform, in the document's order.
func MergeColumns(cols, updates []Column) []Column {
	out := slices.Clone(cols)
	for _, u := range updates {
		if i := slices.IndexFunc(out, func(c Column) bool { return c.Platform == u.Platform }); i >= 0 {
			out[i] = u
		} else {
			out = append(out, u)
		}
	}
	rank := func(p string) int {
		if i := slices.Index(platformOrder, p); i >= 0 {
			return i
		}
		return len(platformOrder)
	}
	slices.SortStableFunc(out, func(a, b Column) int {
		if ra, rb := rank(a.Platform), rank(b.Platform); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Platform, b.Platform)
	})
	return out
}

// CheckColumns reports what makes cols unfit for the document: a failed
// case, cases or capabilities that differ between columns (one ran an
// older suite), a required platform missing.
func CheckColumns(cols []Column) error {
	var errs []error
	for _, p := range RequiredPlatforms {
		if !slices.ContainsFunc(cols, func(c Column) bool { return c.Platform == p }) {
			errs = append(errs, fmt.Errorf("no %s column", p))
		}
	}
	for _, c := range cols {
		for _, r := range c.Cases {
			if r.Result != Pass && r.Result != Skip {
				errs = append(errs, fmt.Errorf("%s: %s: %s", c.Platform, r.Case, r.Result))
			}
		}
		if len(cols) > 0 && !slices.Equal(caseNames(c), caseNames(cols[0])) {
			errs = append(errs, fmt.Errorf("%s and %s ran different cases: rerun both", c.Platform, cols[0].Platform))
		}
	}
	return errors.Join(errs...)
}

func caseNames(c Column) []string {
	names := make([]string, len(c.Cases))
	for i, r := range c.Cases {
		names[i] = r.Case
	}
	return names
}

// ParseDoc returns the columns recorded in a generated docs/conformance.md.
func ParseDoc(doc []byte) ([]Column, error) {
	i := bytes.Index(doc, []byte(dataStart))
	if i < 0 {
		return nil, errors.New("no conformance data block: the document was not generated")
	}
	rest := doc[i+len(dataStart):]
	j := bytes.Index(rest, []byte(dataEnd))
	if j < 0 {
		return nil, errors.New("the conformance data block is not closed")
	}
	var cols []Column
	if err := json.Unmarshal(rest[:j], &cols); err != nil {
		return nil, fmt.Errorf("the conformance data block: %w", err)
	}
	return cols, nil
}

// RenderDoc renders docs/conformance.md from the columns, in the order
// given, with the columns' data at its end for ParseDoc.
func RenderDoc(cols []Column) ([]byte, error) {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("<!-- Code generated by go run ./adapters/adaptertest/cmd/conformancedoc; DO NOT EDIT. -->\n\n")
	p("# Conformance across platforms\n\n")
	p("The conformance suite (`adapters/adaptertest`) runs one function, the conformance app, on every\n")
	p("platform through a small harness per adapter, shaped like gocloud's `drivertest`: the harness encodes\n")
	p("each neutral input as the platform's native delivery, pushes it through the adapter's real entry point\n")
	p("and decodes the native reply. Every case runs on every platform or is skipped because the platform\n")
	p("cannot express what it needs; the capability table below says why, platform by platform.\n\n")
	p("This page is generated from the runs, never written by hand: each adapter's `TestConformance` fails\n")
	p("when its column here differs from what it finds, and a test in `adapters/adaptertest` fails when the\n")
	p("page differs from its data. To regenerate it:\n\n")
	p("```sh\n")
	p("dir=$(mktemp -d)\n")
	p("%s=$dir go test -count=1 -run '^TestConformance$' \\\n", OutEnv)
	p("    ./adapters/local ./adapters/awslambda ./adapters/gcpfunctions ./adapters/azurefunctions\n")
	p("go run ./adapters/adaptertest/cmd/conformancedoc $dir\n")
	p("```\n\n")

	p("## Platforms\n\n")
	for _, c := range cols {
		desc := c.Description
		if desc == "" {
			desc = "(no description)"
		}
		p("- **%s**: %s\n", c.Platform, desc)
	}
	p("\n")

	p("## Matrix\n\n")
	p("✓ the case passes; *skip: capability* the platform cannot express the capability, explained below.\n")
	p("Cases whose expectation depends on a behavioural capability (marked †) pass on each platform against\n")
	p("that platform's documented behaviour.\n\n")
	if len(cols) == 0 {
		return nil, errors.New("adaptertest: no columns")
	}
	uses := map[string]bool{}
	for _, c := range cases() {
		uses[c.name] = len(c.uses) > 0
	}
	for _, g := range groups {
		var rows []string
		for _, r := range cols[0].Cases {
			if strings.HasPrefix(r.Case, g.prefix+"/") {
				rows = append(rows, r.Case)
			}
		}
		if len(rows) == 0 {
			continue
		}
		p("### %s\n\n", g.title)
		header(&b, "case", cols)
		for _, name := range rows {
			label := strings.TrimPrefix(name, g.prefix+"/")
			if uses[name] {
				label += " †"
			}
			p("| %s |", escape(label))
			for _, c := range cols {
				p(" %s |", cell(c, name))
			}
			p("\n")
		}
		p("\n")
	}

	p("## Capabilities\n\n")
	p("✓ the platform can express it; ✗ it cannot. Behavioural capabilities choose what a case expects.\n\n")
	header(&b, "capability", cols)
	for _, a := range cols[0].Capabilities {
		p("| `%s`: %s |", a.Capability, escape(describeCapability(a.Capability)))
		for _, c := range cols {
			mark := "?"
			if ans, ok := answer(c, a.Capability); ok {
				mark = map[bool]string{true: "✓", false: "✗"}[ans.OK]
			}
			p(" %s |", mark)
		}
		p("\n")
	}
	p("\n")

	p("## Differences between platforms\n\n")
	p("Why each platform lacks a capability (and, where it has one, anything worth knowing), as its\n")
	p("harness states it.\n\n")
	for _, c := range cols {
		p("### %s\n\n", c.Platform)
		n := 0
		for _, a := range c.Capabilities {
			if a.Reason == "" {
				continue
			}
			mark := map[bool]string{true: "✓", false: "✗"}[a.OK]
			p("- %s `%s`: %s\n", mark, a.Capability, a.Reason)
			n++
		}
		if n == 0 {
			p("Every capability, nothing to note.\n")
		}
		p("\n")
	}

	data, err := marshalColumns(cols)
	if err != nil {
		return nil, err
	}
	b.WriteString(dataStart)
	b.Write(data)
	b.WriteString(dataEnd)
	return b.Bytes(), nil
}

// marshalColumns encodes the columns with one line per capability and per
// case, so that a change to one shows as one line in a diff.
func marshalColumns(cols []Column) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("[")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(",")
		}
		head, err := json.Marshal(struct {
			Platform    string `json:"platform"`
			Description string `json:"description,omitempty"`
		}{c.Platform, c.Description})
		if err != nil {
			return nil, err
		}
		b.WriteString("\n")
		b.Write(head[:len(head)-1])
		b.WriteString(`,"capabilities":[`)
		for j, a := range c.Capabilities {
			if err := writeLine(&b, j, a); err != nil {
				return nil, err
			}
		}
		b.WriteString(`],"cases":[`)
		for j, r := range c.Cases {
			if err := writeLine(&b, j, r); err != nil {
				return nil, err
			}
		}
		b.WriteString("]}")
	}
	b.WriteString("\n]")
	return b.Bytes(), nil
}

func writeLine(b *bytes.Buffer, i int, v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if i > 0 {
		b.WriteString(",")
	}
	b.WriteString("\n ")
	b.Write(line)
	return nil
}

func header(b *bytes.Buffer, first string, cols []Column) {
	fmt.Fprintf(b, "| %s |", first)
	for _, c := range cols {
		fmt.Fprintf(b, " %s |", c.Platform)
	}
	b.WriteString("\n| --- |")
	for range cols {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
}

func cell(c Column, name string) string {
	i := slices.IndexFunc(c.Cases, func(r CaseResult) bool { return r.Case == name })
	if i < 0 {
		return "not run"
	}
	switch r := c.Cases[i]; r.Result {
	case Pass:
		return "✓"
	case Skip:
		return "*skip: " + string(r.Missing) + "*"
	default:
		return r.Result
	}
}

func answer(c Column, cap Capability) (CapabilityAnswer, bool) {
	i := slices.IndexFunc(c.Capabilities, func(a CapabilityAnswer) bool { return a.Capability == cap })
	if i < 0 {
		return CapabilityAnswer{}, false
	}
	return c.Capabilities[i], true
}

// escape keeps text from breaking a table cell.
func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
