package aws

import (
	"slices"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// streamsPlan is an app with a stream function on each kind of stream and
// an object function of every object kind.
func streamsPlan(t *testing.T) *deploy.Plan {
	t.Helper()
	app := core.NewApp("feeds")
	nop := core.HandlerFunc(nil)
	app.On("clicks", core.StreamTrigger{Stream: "CLICKS_STREAM_URL", StartingPosition: core.StartEarliest, BatchSize: 500}, nop)
	app.On("ledger", core.StreamTrigger{Stream: "LEDGER_STREAM_URL", ConsumerGroup: "ledger-readers"}, nop)
	app.On("audit", core.StreamTrigger{Stream: "AUDIT_STREAM_URL"}, nop)
	app.On("archive", core.ObjectTrigger{Bucket: "ARCHIVE_BUCKET_URL", Events: core.ObjectKinds}, nop)
	p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var streamSchemes = &deploy.GrantOptions{Schemes: map[string]string{"LEDGER_STREAM_URL": deploy.MSKScheme, "AUDIT_STREAM_URL": core.SchemeKafka}}

// TestStreams: a Kinesis stream is a SAM Kinesis event, an MSK or
// self-managed Kafka topic an event source mapping in provisioned mode,
// each with its starting position, batch size, consumer group and partial
// batch responses; the function is given the stream's URL; cfn-lint has
// nothing to say.
func TestStreams(t *testing.T) {
	o := *testOptions
	o.Grants = streamSchemes
	tmpl, err := Render(streamsPlan(t), &o)
	if err != nil {
		t.Fatal(err)
	}
	kin := tmpl.Resources["FeedsClicksFunction"].Properties.(Function).Events["Clicks"]
	if ev, ok := kin.Properties.(KinesisEvent); kin.Type != "Kinesis" || !ok || ev.StartingPosition != "TRIM_HORIZON" || ev.BatchSize != 500 ||
		!slices.Equal(ev.FunctionResponseTypes, []string{"ReportBatchItemFailures"}) {
		t.Errorf("clicks: %+v", kin)
	}
	msk := tmpl.Resources["FeedsLedgerMapping"].Properties.(EventSourceMapping)
	if msk.AmazonManagedKafkaEventSourceConfig == nil || msk.AmazonManagedKafkaEventSourceConfig.ConsumerGroupID != "ledger-readers" ||
		msk.StartingPosition != "LATEST" || msk.BatchSize != 100 || msk.ProvisionedPollerConfig == nil || msk.EventSourceArn != ref("LedgerStreamClusterArn") {
		t.Errorf("ledger: %+v", msk)
	}
	self := tmpl.Resources["FeedsAuditMapping"].Properties.(EventSourceMapping)
	if self.SelfManagedKafkaEventSourceConfig == nil || self.SelfManagedKafkaEventSourceConfig.ConsumerGroupID != "feeds-audit" ||
		self.SelfManagedEventSource == nil || self.EventSourceArn != nil {
		t.Errorf("audit: %+v", self)
	}
	for _, p := range []string{"ClicksStreamName", "LedgerStreamClusterArn", "LedgerStreamTopic", "LedgerStreamBrokers", "AuditStreamTopic", "AuditStreamBrokers"} {
		if par, ok := tmpl.Parameters[p]; !ok || par.Default != nil {
			t.Errorf("parameter %s: %+v, want a required one", p, par)
		}
	}
	b, err := tmpl.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kinesis://${Name}?region=${AWS::Region}", "kafka://${Brokers}/${Name}?msk=${Arn}", "kinesis:GetRecords",
		"s3:ObjectRestore:*", "s3:LifecycleTransition", "s3:IntelligentTiering", "s3:ObjectTagging:*", "s3:ObjectAcl:Put", "s3:Replication:*", "s3:LifecycleExpiration:*"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the template has no %s", want)
		}
	}
	lint(t, b)
}

// TestStreamScheme: a stream behind a scheme AWS has no form for is
// refused, naming the variable and the schemes there are.
func TestStreamScheme(t *testing.T) {
	o := *testOptions
	o.Grants = &deploy.GrantOptions{Schemes: map[string]string{"CLICKS_STREAM_URL": core.SchemeEventHubs}}
	app := core.NewApp("feeds")
	app.On("clicks", core.StreamTrigger{Stream: "CLICKS_STREAM_URL"}, core.HandlerFunc(nil))
	p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(p, &o); err == nil || !strings.Contains(err.Error(), "CLICKS_STREAM_URL") {
		t.Errorf("got %v, want an error naming CLICKS_STREAM_URL", err)
	}
}
