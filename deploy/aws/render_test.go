package aws

import (
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
	"github.com/polyfn/polyfn/deploy/deploytest"
)

func kitchenSinkPlan(t *testing.T) *deploy.Plan {
	t.Helper()
	p, err := deploy.NewPlan([]core.Manifest{deploytest.KitchenSink().Manifest()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var testOptions = &Options{
	CodeURI:        map[core.Arch]string{core.X86_64: "../k.zip", core.ARM64: "../k-arm64.zip"},
	SchedulerInput: func(f string) string { return `{"job":"` + f + `"}` },
}

// TestSecretsManagerScheme: a variable whose scheme the options name is
// given as a secret, its URL and its grant alike.
func TestSecretsManagerScheme(t *testing.T) {
	o := *testOptions
	o.Grants = &deploy.GrantOptions{Schemes: map[string]string{"FEATURE_FLAGS_URL": "awssecretsmanager"}}
	tmpl, err := Render(kitchenSinkPlan(t), &o)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tmpl.Parameters["FeatureFlagsSecretName"]; !ok {
		t.Errorf("no FeatureFlagsSecretName parameter: %v", tmpl.Parameters)
	}
	b, err := tmpl.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"awssecretsmanager://${Name}?region=${AWS::Region}&decoder=string", "secretsmanager:GetSecretValue"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the template has no %s", want)
		}
	}
	if strings.Contains(string(b), "ssm:GetParameter") {
		t.Error("the template still grants the parameter")
	}
}

// TestRenderDeterministic: the same plan gives the same bytes.
func TestRenderDeterministic(t *testing.T) {
	var first []byte
	for range 5 {
		tmpl, err := Render(kitchenSinkPlan(t), testOptions)
		if err != nil {
			t.Fatal(err)
		}
		b, err := tmpl.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if string(b) != string(first) {
			t.Fatal("two renders of one plan differ")
		}
	}
}

// TestReserved: reserved concurrency is the smaller cap that is set.
func TestReserved(t *testing.T) {
	for _, tt := range []struct{ concurrency, instances, want int }{
		{0, 0, 0}, {5, 0, 5}, {0, 3, 3}, {50, 20, 20}, {2, 9, 2},
	} {
		if got := reserved(deploy.Sizing{MaxConcurrency: tt.concurrency, MaxInstances: tt.instances}); got != tt.want {
			t.Errorf("reserved(%d, %d) = %d, want %d", tt.concurrency, tt.instances, got, tt.want)
		}
	}
}

// TestSharedQueue: two functions cannot both be triggered by one queue.
func TestSharedQueue(t *testing.T) {
	app := core.NewApp("twice")
	nop := core.HandlerFunc(nil)
	app.On("a", core.MessageTrigger{Subscription: "JOBS_URL"}, nop)
	app.On("b", core.MessageTrigger{Subscription: "JOBS_URL"}, nop)
	p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(p, testOptions); err == nil || !strings.Contains(err.Error(), "unit twice-b: JOBS_URL is another function's trigger too") {
		t.Errorf("got %v", err)
	}
}
