package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

func init() {
	commands["events"] = command{summary: "print a sample native payload a cloud delivers to an event function", run: runEvents}
}

const eventsUsage = `Usage: polyfn events --cloud aws|gcp|azure --trigger object|message|change|timer|stream
         [--source S] [--kind K] [--body @FILE|TEXT] [--bucket B] [--key K]

It prints, on standard output, a payload as the cloud delivers it to the
function process, which polyfn inspect takes as it is:

  polyfn events --cloud aws --trigger message --source sqs --body @order.json |
    polyfn inspect --cloud aws --trigger message -

An Azure payload is the host's invocation of the function the source names:
give polyfn inspect its --url /<function> and the host's header, as in
  polyfn events --cloud azure --trigger message --source servicebus |
    polyfn inspect --cloud azure --trigger message --url /on-bus \
      --header 'X-Azure-Functions-InvocationId: 1' -

Sources (the first of each trigger is its default):
%s
--body sets the message's or record's body, or the document of a change
(a JSON object); --bucket and --key name the object of an object event.

`

// eventSource is one source a cloud delivers a trigger's events from.
type eventSource struct {
	cloud, trigger, name string
	// kinds are the object event kinds the source sends (object
	// triggers), the first the default; none for other triggers.
	kinds []string
	// make builds the payload.
	make func(p eventParams) (any, error)
	// note is the line the usage shows.
	note string
	// bodyless is true for a payload that carries no body.
	bodyless bool
}

// eventParams are a payload's variable parts, defaults filled.
type eventParams struct {
	kind        string
	body        []byte
	bucket, key string
	now         time.Time
}

// eventSources lists every source, in the order the usage shows them.
var eventSources = []eventSource{
	{cloud: "aws", trigger: "message", name: "sqs", make: awsSQS, note: "an SQS batch of one message"},
	{cloud: "aws", trigger: "message", name: "sns", make: awsSNS, note: "an SNS notification"},
	{cloud: "aws", trigger: "object", name: "s3", kinds: []string{"object_created", "object_deleted", "object_restored", "object_tiered"},
		make: awsS3, note: "an S3 event notification"},
	{cloud: "aws", trigger: "change", name: "dynamodb", make: awsDynamoDB, note: "a DynamoDB Streams INSERT record"},
	{cloud: "aws", trigger: "timer", name: "eventbridge", make: awsScheduled, note: "an EventBridge scheduled rule's Scheduled Event", bodyless: true},
	{cloud: "aws", trigger: "stream", name: "kinesis", make: awsKinesis, note: "a Kinesis batch of one record"},
	{cloud: "aws", trigger: "stream", name: "msk", make: awsMSK, note: "an Amazon MSK batch of one record"},
	{cloud: "gcp", trigger: "message", name: "pubsub", make: gcpPubSubPush, note: "a Pub/Sub push subscription's request body"},
	{cloud: "gcp", trigger: "timer", name: "scheduler", make: gcpSchedulerPush,
		note: "a Cloud Scheduler job's Pub/Sub message (--body, the job's payload) to a push subscription"},
	{cloud: "gcp", trigger: "object", name: "storage", kinds: []string{"object_created", "object_deleted", "object_updated"},
		make: gcpStorage, note: "a Cloud Storage background event (finalize, delete, metadataUpdate)"},
	{cloud: "azure", trigger: "object", name: "eventgrid", kinds: []string{"object_created", "object_deleted"},
		make: azureEventGrid, note: "a Blob Storage event (BlobCreated, BlobDeleted) to function on-upload"},
	{cloud: "azure", trigger: "object", name: "blob", kinds: []string{"object_created"},
		make: azureBlob, note: "a blob trigger's new blob (--body, its content) to function on-upload"},
	{cloud: "azure", trigger: "message", name: "servicebus", make: azureServiceBus, note: "a Service Bus message to function on-bus"},
	{cloud: "azure", trigger: "message", name: "queue", make: azureQueue, note: "a Queue Storage message to function on-queue"},
	{cloud: "azure", trigger: "change", name: "cosmos", make: azureCosmos, note: "a Cosmos DB change feed batch to function on-change"},
	{cloud: "azure", trigger: "timer", name: "timer", make: azureTimer, note: "a timer firing to function on-timer", bodyless: true},
	{cloud: "azure", trigger: "stream", name: "eventhubs", make: azureEventHubs, note: "an Event Hubs batch of one event to function on-stream"},
}

// sourcesUsage lists the sources for the usage message.
func sourcesUsage() string {
	var b strings.Builder
	for _, s := range eventSources {
		fmt.Fprintf(&b, "  %-5s --trigger %-7s --source %-12s %s", s.cloud, s.trigger, s.name, s.note)
		if len(s.kinds) > 0 {
			fmt.Fprintf(&b, "; --kind %s", strings.Join(s.kinds, ", "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// eventsNow is the time the payloads carry; tests fix it.
var eventsNow = func() time.Time { return time.Now().UTC() }

func runEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("polyfn events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, eventsUsage, sourcesUsage())
		fs.PrintDefaults()
	}
	cloud := fs.String("cloud", "", "the `cloud`: aws, gcp or azure (required)")
	trigger := fs.String("trigger", "", "the function's `trigger`: object, message, change, timer or stream (required)")
	source := fs.String("source", "", "the `source` of the events (default: the trigger's first)")
	kind := fs.String("kind", "", "the object event `kind` (object triggers; default: the source's first)")
	body := fs.String("body", "", "the message or record body, or the changed document: `TEXT`, or @FILE")
	bucket := fs.String("bucket", "media-bucket", "the `bucket` of an object event")
	key := fs.String("key", "uploads/red flower.jpg", "the object `key` of an object event")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	src, err := findSource(*cloud, *trigger, *source)
	if err != nil {
		fmt.Fprintf(stderr, "polyfn events: %v\n", err)
		return errUsage
	}
	p := eventParams{kind: *kind, bucket: *bucket, key: *key, now: eventsNow().Truncate(time.Millisecond)}
	switch {
	case len(src.kinds) == 0 && p.kind != "":
		fmt.Fprintf(stderr, "polyfn events: --kind is for object triggers; %s %s sends %s events only\n", src.cloud, src.name, src.trigger)
		return errUsage
	case len(src.kinds) > 0 && p.kind == "":
		p.kind = src.kinds[0]
	case len(src.kinds) > 0 && !slices.Contains(src.kinds, p.kind):
		fmt.Fprintf(stderr, "polyfn events: %s %s does not send %q events; --kind must be %s\n", src.cloud, src.name, p.kind, strings.Join(src.kinds, ", "))
		return errUsage
	}
	if src.trigger != "object" && (flagSet(fs, "bucket") || flagSet(fs, "key")) {
		fmt.Fprintln(stderr, "polyfn events: --bucket and --key are for object triggers")
		return errUsage
	}
	if p.bucket == "" || p.key == "" {
		fmt.Fprintln(stderr, "polyfn events: --bucket and --key must not be empty")
		return errUsage
	}
	switch {
	case strings.HasPrefix(*body, "@"):
		b, err := os.ReadFile((*body)[1:])
		if err != nil {
			return fmt.Errorf("--body: %w", err)
		}
		p.body = b
	case *body != "":
		p.body = []byte(*body)
	case src.trigger == "timer":
		p.body = []byte("nightly-report")
	case src.trigger == "change":
		p.body = []byte(`{"id":"u1","name":"Ada","visits":3}`)
	default:
		p.body = []byte(`{"id":"A-1001","item":"book","quantity":2}`)
	}
	if src.bodyless && flagSet(fs, "body") {
		fmt.Fprintf(stderr, "polyfn events: --body: %s %s carries no body\n", src.cloud, src.name)
		return errUsage
	}
	v, err := src.make(p)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err = stdout.Write(buf.Bytes())
	return err
}

// findSource finds the source of cloud and trigger named name, or the
// trigger's first for "".
func findSource(cloud, trigger, name string) (eventSource, error) {
	var clouds, triggers, names []string
	for _, s := range eventSources {
		if !slices.Contains(clouds, s.cloud) {
			clouds = append(clouds, s.cloud)
		}
		if s.cloud != cloud {
			continue
		}
		if !slices.Contains(triggers, s.trigger) {
			triggers = append(triggers, s.trigger)
		}
		if s.trigger != trigger {
			continue
		}
		if name == "" || s.name == name {
			return s, nil
		}
		names = append(names, s.name)
	}
	switch {
	case len(triggers) == 0:
		return eventSource{}, fmt.Errorf("--cloud must be %s or %s, not %q", strings.Join(clouds[:len(clouds)-1], ", "), clouds[len(clouds)-1], cloud)
	case len(names) == 0:
		sort.Strings(triggers)
		return eventSource{}, fmt.Errorf("--trigger for %s must be %s, not %q", cloud, strings.Join(triggers, ", "), trigger)
	}
	return eventSource{}, fmt.Errorf("--source for %s %s events must be %s, not %q", cloud, trigger, strings.Join(names, ", "), name)
}

// flagSet reports whether the command line set the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
