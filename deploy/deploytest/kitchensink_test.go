package deploytest_test

import (
	"slices"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
	"github.com/polyfn/polyfn/deploy/deploytest"
)

// TestKitchenSinkCoversEverything checks the kitchen sink's promise: every
// trigger kind, every use of every resource kind, and a plan that takes it.
func TestKitchenSinkCoversEverything(t *testing.T) {
	m := deploytest.KitchenSink().Manifest()
	p, err := deploy.NewPlan([]core.Manifest{m}, nil)
	if err != nil {
		t.Fatal(err)
	}
	type kindUse struct {
		k core.ResourceKind
		u core.Use
	}
	have := map[kindUse]bool{}
	triggers := map[string]bool{}
	for _, u := range p.Units {
		for _, r := range u.Resources {
			have[kindUse{r.Kind, r.Use}] = true
		}
		if t := u.Trigger; t != nil {
			switch {
			case t.Object != nil:
				triggers["object"] = true
			case t.Message != nil && t.Message.Topic != "":
				triggers["message from a topic"] = true
			case t.Message != nil:
				triggers["message from a queue"] = true
			case t.Change != nil:
				triggers["change"] = true
			case t.Timer != nil && u.Schedule.Cron != nil:
				triggers["cron timer"] = true
			case t.Timer != nil:
				triggers["interval timer"] = true
			case t.Stream != nil:
				triggers["stream"] = true
			}
		}
	}
	for _, k := range []core.ResourceKind{core.KindBucket, core.KindCollection, core.KindTopic, core.KindSubscription,
		core.KindKeeper, core.KindVariable, core.KindOIDCIssuer, core.KindOIDCAudience, core.KindStream} {
		uses := core.UsesOf(k)
		if len(uses) == 0 {
			uses = []core.Use{""}
		}
		for _, use := range uses {
			if !have[kindUse{k, use}] {
				t.Errorf("no unit has a %s used for %q", k, use)
			}
		}
	}
	for _, want := range []string{"object", "message from a topic", "message from a queue", "change", "cron timer", "interval timer", "stream"} {
		if !triggers[want] {
			t.Errorf("no %s trigger", want)
		}
	}
	if !slices.ContainsFunc(p.Units, func(u deploy.Unit) bool { return u.Kind == deploy.HTTPUnit }) {
		t.Error("no HTTP unit")
	}
	if len(p.Channels) != 2 || p.Channels[0].Email == "" || p.Channels[1].Slack == nil {
		t.Errorf("channels %+v, want an email and a Slack channel", p.Channels)
	}
}

// TestKitchenSinkFor checks that the kitchen sink of a cloud leaves out
// exactly the functions whose trigger variables are of a kind the cloud
// lacks (deploy.Lacks: a stream on GCP).
func TestKitchenSinkFor(t *testing.T) {
	m := deploytest.KitchenSink().Manifest()
	for _, cloud := range []string{deploy.AWS, deploy.GCP, deploy.Azure} {
		var want []string
		for _, f := range m.Functions {
			if f.Trigger.Stream == nil || deploy.Lacks(cloud, core.KindStream) == "" {
				want = append(want, f.Name)
			}
		}
		var got []string
		for _, f := range deploytest.KitchenSinkFor(cloud).Manifest().Functions {
			got = append(got, f.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: functions %q, want %q", cloud, got, want)
		}
	}
}
