package azure

import (
	"fmt"
	"strings"
)

// Template is an Azure Resource Manager template
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/syntax).
type Template struct {
	Schema         string               `json:"$schema"`
	ContentVersion string               `json:"contentVersion"`
	Parameters     map[string]Parameter `json:"parameters"`
	Variables      map[string]string    `json:"variables"`
	Resources      []Resource           `json:"resources"`
	Outputs        map[string]Output    `json:"outputs,omitempty"`
}

// Parameter is a template parameter.
type Parameter struct {
	Type         string `json:"type"`
	DefaultValue any    `json:"defaultValue,omitempty"`
	MinValue     *int   `json:"minValue,omitempty"`
	Metadata     struct {
		Description string `json:"description"`
	} `json:"metadata"`
}

// Output is a template output.
type Output struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Resource is one resource of a template. Properties is the resource
// type's own properties struct.
type Resource struct {
	Condition  string    `json:"condition,omitempty"`
	Type       string    `json:"type"`
	APIVersion string    `json:"apiVersion"`
	Name       string    `json:"name"`
	Scope      string    `json:"scope,omitempty"`
	Location   string    `json:"location,omitempty"`
	Kind       string    `json:"kind,omitempty"`
	Sku        *Sku      `json:"sku,omitempty"`
	Identity   *Identity `json:"identity,omitempty"`
	DependsOn  []string  `json:"dependsOn,omitempty"`
	Properties any       `json:"properties"`
}

// Sku is a resource's SKU.
type Sku struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

// Identity is a resource's managed identity.
type Identity struct {
	Type string `json:"type"`
}

// The ARM expressions the renderer writes. An expression is written
// without its brackets and bracketed once, by expr, where a template
// value takes it.

// expr brackets an expression into a template value.
func expr(e string) string { return "[" + e + "]" }

// lit is a string literal in an expression.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func param(name string) string { return "parameters(" + lit(name) + ")" }

func templateVar(name string) string { return "variables(" + lit(name) + ")" }

// call is a call of an ARM template function.
func call(fn string, args ...string) string { return fn + "(" + strings.Join(args, ", ") + ")" }

// name is a resource's name from its segments (a child resource's name
// has its parents' names first): one expression, or their format().
func name(segs ...string) string {
	if len(segs) == 1 {
		return expr(segs[0])
	}
	ph := make([]string, len(segs))
	for i := range segs {
		ph[i] = fmt.Sprintf("{%d}", i)
	}
	return expr(call("format", append([]string{lit(strings.Join(ph, "/"))}, segs...)...))
}

// resourceID is the expression of a resource's ID in the deployment's
// resource group, from its type and name segments.
func resourceID(typ string, segs ...string) string {
	return call("resourceId", append([]string{lit(typ)}, segs...)...)
}

// scopePath is an extension resource's scope: the resource's type and
// name segments interleaved, the form a role assignment's scope takes
// for a resource of the deployment's resource group
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/scope-extension-resources).
func scopePath(typ string, segs ...string) string {
	parts := strings.Split(typ, "/")
	// Microsoft.Storage/storageAccounts/blobServices/containers →
	// Microsoft.Storage/storageAccounts/{0}/blobServices/{1}/containers/{2}
	format := parts[0]
	for i, p := range parts[1:] {
		format += "/" + p + fmt.Sprintf("/{%d}", i)
	}
	return call("format", append([]string{lit(format)}, segs...)...)
}
