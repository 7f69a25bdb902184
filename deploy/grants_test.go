package deploy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
	"github.com/polyfn/polyfn/deploy/deploytest"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
)

// unitGrants are one unit's grants on the three clouds, as the golden
// files hold them.
type unitGrants struct {
	Unit string                              `json:"unit"`
	AWS  []deploy.Grant[deploy.AWSStatement] `json:"aws"`
	GCP  []deploy.Grant[deploy.GCPRole]      `json:"gcp"`
	// GCPRefused is GCP's refusal of a unit it cannot deploy.
	GCPRefused string                           `json:"gcpRefused,omitempty"`
	Azure      []deploy.Grant[deploy.AzureRole] `json:"azure"`
}

func grantsOf(t *testing.T, p *deploy.Plan, o *deploy.GrantOptions) []unitGrants {
	t.Helper()
	var out []unitGrants
	for _, u := range p.Units {
		aws, err := deploy.AWSGrants(u, o)
		if err != nil {
			t.Fatal(err)
		}
		gcp, err := deploy.GCPGrants(u, o)
		var refused string
		if err != nil && deploy.Lacks(deploy.GCP, core.KindStream) != "" && u.Stream != nil {
			gcp, refused = nil, err.Error() // GCP has no stream trigger
		} else if err != nil {
			t.Fatal(err)
		}
		azure, err := deploy.AzureGrants(u, o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, unitGrants{Unit: u.Name, AWS: aws, GCP: gcp, GCPRefused: refused, Azure: azure})
	}
	return out
}

func plan(t *testing.T, app *core.App) *deploy.Plan {
	t.Helper()
	p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGoldenGrants compares the grants of each example's units on every
// cloud with its golden JSON file (go test ./deploy -run GoldenGrants
// -update rewrites them; review the diff).
func TestGoldenGrants(t *testing.T) {
	for _, tt := range []struct {
		name string
		app  *core.App
	}{{"users", users.New()}, {"thumbnails", thumbnails.New()}, {"orders", orders.New()}, {deploytest.KitchenSinkName, deploytest.KitchenSink()}} {
		t.Run(tt.name, func(t *testing.T) {
			checkGolden(t, filepath.Join("testdata", tt.name+".grants.json"), grantsOf(t, plan(t, tt.app), nil))
		})
	}
}

// summary writes a unit's grants on one cloud as "ENV: a b c" lines, the
// actions, roles or permissions of each resource in order.
func summary(g unitGrants) map[string]string {
	out := map[string]string{}
	line := func(cloud, env string, names []string) { out[cloud+" "+env] = strings.Join(names, " ") }
	for _, r := range g.AWS {
		var n []string
		for _, s := range r.Grants {
			n = append(n, s.Action...)
		}
		line("aws", r.Env, n)
	}
	for _, r := range g.GCP {
		var n []string
		for _, b := range r.Grants {
			n = append(n, b.Role+"@"+string(b.On))
		}
		line("gcp", r.Env, n)
	}
	for _, r := range g.Azure {
		var n []string
		for _, a := range r.Grants {
			n = append(n, a.Name+"@"+string(a.Scope))
		}
		line("azure", r.Env, n)
	}
	return out
}

// TestExampleGrants states each example unit's grants on each cloud:
// exactly these, for exactly these variables.
func TestExampleGrants(t *testing.T) {
	objects := "s3:ListBucket s3:GetObject s3:PutObject s3:DeleteObject s3:AbortMultipartUpload"
	tests := []struct {
		app  *core.App
		want map[string]map[string]string // unit → cloud+env → grants
	}{
		{users.New(), map[string]map[string]string{"users": {
			"aws USERS_API_KEYS_URL":   "ssm:GetParameter kms:Decrypt",
			"aws USERS_BUCKET_URL":     objects,
			"gcp USERS_API_KEYS_URL":   "roles/secretmanager.secretAccessor@secret",
			"gcp USERS_BUCKET_URL":     "roles/storage.objectUser@bucket",
			"azure USERS_API_KEYS_URL": "Key Vault Secrets User@secret",
			"azure USERS_BUCKET_URL":   "Storage Blob Data Contributor@container",
		}}},
		{thumbnails.New(), map[string]map[string]string{"thumbnails-make-thumbnail": {
			"aws MEDIA_BUCKET_URL":       objects,
			"aws THUMBNAILS_TOPIC_URL":   "sns:Publish",
			"gcp MEDIA_BUCKET_URL":       "roles/storage.objectUser@bucket",
			"gcp THUMBNAILS_TOPIC_URL":   "roles/pubsub.publisher@topic",
			"azure MEDIA_BUCKET_URL":     "Storage Blob Data Contributor@container",
			"azure THUMBNAILS_TOPIC_URL": "Azure Service Bus Data Sender@entity",
		}}},
		// The topic feeding the subscription is the platform's to deliver
		// from: no grant on it.
		{orders.New(), map[string]map[string]string{"orders-record-order": {
			"aws ORDERS_BUCKET_URL":         objects,
			"aws ORDERS_SUBSCRIPTION_URL":   "sqs:ReceiveMessage sqs:DeleteMessage sqs:ChangeMessageVisibility sqs:GetQueueAttributes",
			"gcp ORDERS_BUCKET_URL":         "roles/storage.objectUser@bucket",
			"gcp ORDERS_SUBSCRIPTION_URL":   "roles/pubsub.subscriber@subscription",
			"azure ORDERS_BUCKET_URL":       "Storage Blob Data Contributor@container",
			"azure ORDERS_SUBSCRIPTION_URL": "Azure Service Bus Data Receiver@subscription",
		}}},
	}
	for _, tt := range tests {
		got := grantsOf(t, plan(t, tt.app), nil)
		if len(got) != len(tt.want) {
			t.Errorf("%d units, want %d", len(got), len(tt.want))
		}
		for _, g := range got {
			want, ok := tt.want[g.Unit]
			if !ok {
				t.Errorf("unexpected unit %s", g.Unit)
				continue
			}
			s := summary(g)
			for k, v := range want {
				if s[k] != v {
					t.Errorf("%s: %s: got %q, want %q", g.Unit, k, s[k], v)
				}
			}
			for k, v := range s {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: unexpected grant %s: %q", g.Unit, k, v)
				}
			}
		}
	}
}

// TestReadOnlyBucket: a bucket declared read gets no write or delete
// anywhere, and a write-only one no read.
func TestReadOnlyBucket(t *testing.T) {
	for _, tc := range []struct {
		use    core.Use
		banned []string
	}{
		{core.Read, []string{"put", "delete", "write", "create", "abort", "contributor", "objectuser", "add/action"}},
		{core.Write, []string{"s3:getobject", "s3:listbucket", "viewer", "reader", "objectuser", "contributor"}},
	} {
		app := core.NewApp("media")
		app.Require(core.Bucket("MEDIA_BUCKET_URL", tc.use))
		app.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
		g := grantsOf(t, plan(t, app), nil)[0]
		b, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		doc := strings.ToLower(string(b))
		for _, w := range tc.banned {
			if strings.Contains(doc, w) {
				t.Errorf("a %s bucket's grants hold %q: %s", tc.use, w, b)
			}
		}
		if len(g.AWS) != 1 || len(g.GCP) != 1 || len(g.Azure) != 1 {
			t.Errorf("a %s bucket: want one grant per cloud, got %s", tc.use, b)
		}
	}
}

// TestGrantSchemes: the scheme of a variable's URL picks its row where the
// kind alone does not decide, and a scheme without a row is an error that
// names the variable.
func TestGrantSchemes(t *testing.T) {
	app := core.NewApp("cfg")
	app.Require(core.Variable("DB_PASSWORD_URL"), core.Subscription("JOBS_URL"))
	app.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
	u := plan(t, app).Units[0]

	aws, err := deploy.AWSGrants(u, &deploy.GrantOptions{Schemes: map[string]string{"DB_PASSWORD_URL": "awssecretsmanager"}})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(aws, func(g deploy.Grant[deploy.AWSStatement]) bool { return g.Env == "DB_PASSWORD_URL" })
	if i < 0 || aws[i].Scheme != "awssecretsmanager" || !slices.Contains(aws[i].Grants[0].Action, "secretsmanager:GetSecretValue") ||
		!strings.Contains(aws[i].Grants[0].Resource[0], ":secret:${Name}-") {
		t.Errorf("a Secrets Manager variable's grants: %+v", aws)
	}

	az, err := deploy.AzureGrants(u, &deploy.GrantOptions{Schemes: map[string]string{"JOBS_URL": deploy.AzureQueueScheme}})
	if err != nil {
		t.Fatal(err)
	}
	i = slices.IndexFunc(az, func(g deploy.Grant[deploy.AzureRole]) bool { return g.Env == "JOBS_URL" })
	if i < 0 || len(az[i].Grants) != 2 || az[i].Grants[1].Name != "Storage Queue Data Message Processor" || az[i].Grants[1].Scope != deploy.AzureQueue {
		t.Errorf("a Storage queue subscription's grants: %+v", az)
	}

	_, err = deploy.GCPGrants(u, &deploy.GrantOptions{Schemes: map[string]string{"DB_PASSWORD_URL": "awsparamstore"}})
	if err == nil || !strings.Contains(err.Error(), "DB_PASSWORD_URL") || !strings.Contains(err.Error(), "unit cfg") {
		t.Errorf("an AWS scheme on GCP: error %v, want one naming the unit and DB_PASSWORD_URL", err)
	}
}

// TestStreamUnit plans a stream trigger: its unit is given the stream's
// variable to consume with the trigger's defaults filled in, AWS grants
// it by scheme (Kinesis, MSK, a self-managed cluster), Azure the Event
// Hubs receiver's role, and GCP, which has no stream trigger, refuses the
// unit naming its function.
func TestStreamUnit(t *testing.T) {
	app := core.NewApp("shop")
	nop := core.HandlerFunc(func(context.Context, core.Event) error { return nil })
	app.On("clicks", core.StreamTrigger{Stream: "CLICKS_STREAM_URL"}, nop)
	app.On("audit", core.StreamTrigger{Stream: "AUDIT_STREAM_URL", StartingPosition: core.StartEarliest, BatchSize: 500, ConsumerGroup: "auditors"}, nop)
	p := plan(t, app)
	clicks, audit := p.Units[0], p.Units[1]
	if want := (deploy.Stream{Stream: "CLICKS_STREAM_URL", StartingPosition: core.StartLatest, BatchSize: 100,
		KafkaGroup: "shop-clicks", EventHubsGroup: "$Default"}); clicks.Stream == nil || *clicks.Stream != want {
		t.Errorf("clicks' stream %+v, want %+v", clicks.Stream, want)
	}
	if want := (deploy.Stream{Stream: "AUDIT_STREAM_URL", StartingPosition: core.StartEarliest, BatchSize: 500,
		KafkaGroup: "auditors", EventHubsGroup: "auditors"}); audit.Stream == nil || *audit.Stream != want {
		t.Errorf("audit's stream %+v, want %+v", audit.Stream, want)
	}
	if want := []deploy.Resource{{Env: "CLICKS_STREAM_URL", Kind: core.KindStream, Use: core.Consume, Optional: true, Trigger: true}}; !slices.Equal(clicks.Resources, want) {
		t.Errorf("clicks' resources %+v, want %+v", clicks.Resources, want)
	}
	actions := func(gs []deploy.Grant[deploy.AWSStatement]) string {
		var out []string
		for _, g := range gs {
			for _, s := range g.Grants {
				out = append(out, s.Action...)
			}
		}
		return strings.Join(out, " ")
	}
	for scheme, want := range map[string][]string{
		"":               {"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:SubscribeToShard"},
		deploy.MSKScheme: {"kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers", "kafka-cluster:ReadData", "kafka-cluster:AlterGroup", "ec2:CreateNetworkInterface"},
		core.SchemeKafka: {"ec2:CreateNetworkInterface", "ec2:DescribeSubnets"},
	} {
		gs, err := deploy.AWSGrants(clicks, &deploy.GrantOptions{Schemes: map[string]string{"CLICKS_STREAM_URL": scheme}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range want {
			if !strings.Contains(actions(gs), a) {
				t.Errorf("scheme %q: actions %q, want %s among them", scheme, actions(gs), a)
			}
		}
	}
	az, err := deploy.AzureGrants(clicks, nil)
	if err != nil || len(az) != 1 || az[0].Grants[0].Name != "Azure Event Hubs Data Receiver" || az[0].Scheme != core.SchemeEventHubs {
		t.Errorf("Azure grants %+v, %v; want the Event Hubs receiver on the hub", az, err)
	}
	_, err = deploy.GCPGrants(clicks, nil)
	if err == nil || !strings.Contains(err.Error(), "function clicks of app shop") || !strings.Contains(err.Error(), "gcp cannot deploy a stream") {
		t.Errorf("GCP grants: error %v, want a refusal naming function clicks", err)
	}
}
