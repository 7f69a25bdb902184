package deploy

import (
	"fmt"
	"slices"

	"github.com/polyfn/polyfn/core"
)

// Grant is what one cloud grants a unit's identity on one of its
// resources: the rows of that cloud's table for the resource's kind, use
// and URL scheme, each scoped to the resource. T is the cloud's grant
// type: AWSStatement, GCPRole or AzureRole.
type Grant[T any] struct {
	// Env is the variable whose URL names the resource.
	Env  string            `json:"env"`
	Kind core.ResourceKind `json:"kind"`
	Use  core.Use          `json:"use"`
	// Scheme is the URL scheme that picked the row (see GrantOptions).
	Scheme string `json:"scheme"`
	Grants []T    `json:"grants"`
}

// GrantOptions are the grants' inputs that the declaration does not hold.
type GrantOptions struct {
	// Schemes maps a variable to the scheme of its URL when that is not
	// its cloud's default for the kind (DefaultScheme): the kind alone
	// does not decide the service for a runtime variable on AWS
	// (awsparamstore or awssecretsmanager), nor for a subscription on
	// Azure (a Service Bus subscription, azuresb, or a Storage queue that
	// the Functions host delivers, AzureQueueScheme). A manifest carries
	// variables' names only, never their URLs, so the scheme is an
	// option of the deployment, like the URLs themselves.
	Schemes map[string]string
}

// AzureQueueScheme stands for an Azure Storage queue, which a message
// trigger's subscription may be on Azure (the Functions host receives
// from it; no gocloud driver opens it, so it has no URL scheme of its
// own).
const AzureQueueScheme = "azurequeue"

// The clouds the tables cover.
const (
	AWS   = "aws"
	GCP   = "gcp"
	Azure = "azure"
)

// defaultSchemes is each cloud's scheme per kind: the driver that
// providers/<cloud> links for it (providers/drivers.go) and that the
// renderers' placeholder URLs name.
var defaultSchemes = map[string]map[core.ResourceKind]string{
	AWS: {
		core.KindBucket: "s3", core.KindTopic: "awssns", core.KindSubscription: "awssqs",
		core.KindKeeper: "awskms", core.KindVariable: "awsparamstore", core.KindCollection: "dynamodb",
		core.KindStream: core.SchemeKinesis,
	},
	GCP: {
		core.KindBucket: "gs", core.KindTopic: "gcppubsub", core.KindSubscription: "gcppubsub",
		core.KindKeeper: "gcpkms", core.KindVariable: "gcpsecretmanager", core.KindCollection: "firestore",
	},
	Azure: {
		core.KindBucket: "azblob", core.KindTopic: "azuresb", core.KindSubscription: "azuresb",
		core.KindKeeper: "azurekeyvault", core.KindVariable: "azurekeyvaultvar", core.KindCollection: "mongo",
		core.KindStream: core.SchemeEventHubs,
	},
}

// lacks are the kinds a cloud cannot deploy at all, with why: a unit
// given one is refused by that cloud's grants, and so by its renderer.
var lacks = map[string]map[core.ResourceKind]string{
	GCP: {core.KindStream: "Cloud Run functions have no trigger that reads a partitioned log (Kinesis, Kafka, Event Hubs): " +
		"deploy the stream function on aws or azure"},
}

// Lacks returns why cloud cannot deploy a resource of kind k, or "" when
// it can.
func Lacks(cloud string, k core.ResourceKind) string { return lacks[cloud][k] }

// DefaultScheme returns the URL scheme a resource of kind k has on cloud
// when GrantOptions.Schemes names none, or "" for a kind that takes no
// grant.
func DefaultScheme(cloud string, k core.ResourceKind) string { return defaultSchemes[cloud][k] }

// row is one row of a cloud's table: what a resource of Kind, used for
// Use, behind a URL of Scheme, is granted.
type row[T any] struct {
	Kind   core.ResourceKind
	Use    core.Use
	Scheme string
	Grants []T
}

// AWSGrants returns the IAM statements of each of u's resources that its
// use needs, in u's order of resources; a resource without a use (an OIDC
// kind, a trigger's bucket or topic that the platform delivers from) gets
// none. It fails for a (kind, use, scheme) the table has no row for,
// naming the variable.
func AWSGrants(u Unit, o *GrantOptions) ([]Grant[AWSStatement], error) {
	return grants(AWS, awsTable, u, o)
}

// GCPGrants returns the IAM role bindings of the deployment's service
// account on each of u's resources, as AWSGrants does.
func GCPGrants(u Unit, o *GrantOptions) ([]Grant[GCPRole], error) {
	return grants(GCP, gcpTable, u, o)
}

// AzureGrants returns the role assignments of the function app's
// system-assigned identity on each of u's resources, as AWSGrants does.
func AzureGrants(u Unit, o *GrantOptions) ([]Grant[AzureRole], error) {
	return grants(Azure, azureTable, u, o)
}

func grants[T any](cloud string, table []row[T], u Unit, o *GrantOptions) ([]Grant[T], error) {
	out := []Grant[T]{}
	for _, r := range u.Resources {
		if why := Lacks(cloud, r.Kind); why != "" {
			what := "the HTTP routes of app " + u.App
			if u.Kind == EventUnit {
				what = "function " + u.Function + " of app " + u.App
			}
			return nil, fmt.Errorf("deploy: unit %s (%s), %s: %s cannot deploy a %s: %s", u.Name, what, r.Env, cloud, r.Kind, why)
		}
		if r.Use == "" {
			continue
		}
		scheme := DefaultScheme(cloud, r.Kind)
		if o != nil && o.Schemes[r.Env] != "" {
			scheme = o.Schemes[r.Env]
		}
		i := slices.IndexFunc(table, func(w row[T]) bool { return w.Kind == r.Kind && w.Use == r.Use && w.Scheme == scheme })
		if i < 0 {
			return nil, fmt.Errorf("deploy: unit %s, %s: %s has no grant for a %s used for %q behind %s:// (schemes on %s: %q)",
				u.Name, r.Env, cloud, r.Kind, r.Use, scheme, cloud, schemesOf(table, r.Kind))
		}
		out = append(out, Grant[T]{Env: r.Env, Kind: r.Kind, Use: r.Use, Scheme: scheme, Grants: slices.Clone(table[i].Grants)})
	}
	return out, nil
}

// schemesOf lists the schemes a table has rows for a kind.
func schemesOf[T any](table []row[T], k core.ResourceKind) []string {
	var out []string
	for _, w := range table {
		if w.Kind == k && !slices.Contains(out, w.Scheme) {
			out = append(out, w.Scheme)
		}
	}
	return out
}
