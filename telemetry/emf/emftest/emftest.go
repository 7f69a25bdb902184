// Package emftest checks CloudWatch Embedded Metric Format lines, for the
// tests of the exporter and of the programs that write them.
package emftest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaPath is the JSON Schema written from the EMF specification, relative
// to the module's root.
const SchemaPath = "telemetry/emf/testdata/emf.schema.json"

// Checker validates EMF lines.
type Checker struct {
	schema *jsonschema.Schema
}

// NewChecker compiles the schema in file: SchemaPath, relative to the
// calling test's directory.
func NewChecker(tb testing.TB, file string) *Checker {
	tb.Helper()
	f, err := os.Open(file)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		tb.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("emf.schema.json", doc); err != nil {
		tb.Fatal(err)
	}
	s, err := c.Compile("emf.schema.json")
	if err != nil {
		tb.Fatal(err)
	}
	return &Checker{schema: s}
}

// Schema is the compiled schema.
func (c *Checker) Schema() *jsonschema.Schema { return c.schema }

// Check validates one EMF line against the schema, and checks what the
// schema cannot say: every dimension and metric a directive names is a
// member of the root, a dimension's a string and a metric's a number or an
// array of numbers. It returns the line's members.
func (c *Checker) Check(tb testing.TB, line string) map[string]any {
	tb.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
	if err != nil {
		tb.Fatalf("line %s: %v", line, err)
	}
	if err := c.schema.Validate(v); err != nil {
		tb.Errorf("line %s does not follow the EMF specification: %v", line, err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(line), &doc); err != nil {
		tb.Fatal(err)
	}
	var meta struct {
		CloudWatchMetrics []struct {
			Dimensions [][]string
			Metrics    []struct{ Name string }
		}
	}
	b, _ := json.Marshal(doc["_aws"])
	_ = json.Unmarshal(b, &meta)
	for _, d := range meta.CloudWatchMetrics {
		for _, set := range d.Dimensions {
			for _, dim := range set {
				if _, ok := doc[dim].(string); !ok {
					tb.Errorf("line %s: dimension %q is not a string member of the root", line, dim)
				}
			}
		}
		for _, m := range d.Metrics {
			switch v := doc[m.Name].(type) {
			case float64:
			case []any:
				if len(v) == 0 {
					tb.Errorf("line %s: metric %q has no values", line, m.Name)
				}
			default:
				tb.Errorf("line %s: metric %q is not a number member of the root", line, m.Name)
			}
		}
	}
	return doc
}
