package aws

import (
	"os"
	"os/exec"
	"path/filepath"
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

// TestOrderedTopic: an ordered trigger fed by a topic gets a FIFO topic
// and FIFO queues, named as FIFO names must be, and cfn-lint has nothing
// to say about them.
func TestOrderedTopic(t *testing.T) {
	app := core.NewApp("ledger")
	app.On("post", core.MessageTrigger{Subscription: "ENTRIES_URL", Topic: "ENTRIES_TOPIC_URL", Ordered: true, MaxDeliveries: 2}, core.HandlerFunc(nil))
	p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Render(p, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	topic := tmpl.Resources["EntriesTopic"].Properties.(Topic)
	queue := tmpl.Resources["LedgerPostQueue"].Properties.(Queue)
	dead := tmpl.Resources["LedgerPostDeadLetter"].Properties.(Queue)
	if !topic.FifoTopic || !queue.FifoQueue || !dead.FifoQueue || queue.RedrivePolicy.MaxReceiveCount != 2 {
		t.Errorf("topic %+v, queue %+v, dead letter %+v", topic, queue, dead)
	}
	for _, name := range []any{topic.TopicName, queue.QueueName, dead.QueueName} {
		if s, _ := name.(Sub).Sub.(string); !strings.HasSuffix(s, ".fifo") {
			t.Errorf("FIFO name %v does not end in .fifo", name)
		}
	}
	b, err := tmpl.YAML()
	if err != nil {
		t.Fatal(err)
	}
	lint(t, b)
}

// lint runs cfn-lint, informational checks included, on a template: it
// must report nothing. Under CI=true a missing cfn-lint fails.
func lint(t *testing.T, template []byte) {
	t.Helper()
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint is not installed (pip install cfn-lint)")
		}
		t.Skip("cfn-lint is not installed (pip install cfn-lint)")
	}
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, template, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--include-checks", "I", "--", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("cfn-lint: %v\n%s", err, out)
	}
}
