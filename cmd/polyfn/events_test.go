package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
)

// eventsCase is one polyfn events command line and what the adapter must
// decode from its output.
type eventsCase struct {
	cloud, trigger, source, kind string
	extra                        []string
	// want is the kind of the one event decoded; body the message's or
	// record's body or the change's new document; key the object's key.
	want      core.Kind
	body, key string
}

func TestEventsDecode(t *testing.T) {
	dir := t.TempDir()
	order := filepath.Join(dir, "order.json")
	if err := os.WriteFile(order, []byte(`{"id":"A-7","lines":[{"sku":"b-1","n":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	const defBody = `{"id":"A-1001","item":"book","quantity":2}`
	cases := []eventsCase{
		{cloud: "aws", trigger: "message", want: core.KindMessage, body: defBody},
		{cloud: "aws", trigger: "message", source: "sqs", extra: []string{"--body", "@" + order}, want: core.KindMessage, body: `{"id":"A-7","lines":[{"sku":"b-1","n":1}]}`},
		{cloud: "aws", trigger: "message", source: "sqs", extra: []string{"--body", "plain text"}, want: core.KindMessage, body: "plain text"},
		{cloud: "aws", trigger: "message", source: "sns", extra: []string{"--body", "hello <sns> & co"}, want: core.KindMessage, body: "hello <sns> & co"},
		{cloud: "aws", trigger: "object", want: core.KindObjectCreated, key: "uploads/red flower.jpg"},
		{cloud: "aws", trigger: "object", source: "s3", kind: "object_created", extra: []string{"--bucket", "b2", "--key", "a b/c+d%.txt"}, want: core.KindObjectCreated, key: "a b/c+d%.txt"},
		{cloud: "aws", trigger: "object", source: "s3", kind: "object_deleted", want: core.KindObjectDeleted, key: "uploads/red flower.jpg"},
		{cloud: "aws", trigger: "object", source: "s3", kind: "object_restored", want: core.KindObjectRestored, key: "uploads/red flower.jpg"},
		{cloud: "aws", trigger: "object", source: "s3", kind: "object_tiered", want: core.KindObjectTiered, key: "uploads/red flower.jpg"},
		{cloud: "aws", trigger: "change", source: "dynamodb", want: core.KindChange, body: `{"id":"u1","name":"Ada","visits":3}`},
		{cloud: "aws", trigger: "change", source: "dynamodb", extra: []string{"--body", `{"pk":"x","n":1.5,"ok":true,"tags":["a"],"m":{"z":null}}`},
			want: core.KindChange, body: `{"pk":"x","n":1.5,"ok":true,"tags":["a"],"m":{"z":null}}`},
		{cloud: "aws", trigger: "timer", source: "eventbridge", want: core.KindTimer},
		{cloud: "aws", trigger: "stream", source: "kinesis", extra: []string{"--body", "click"}, want: core.KindRecord, body: "click"},
		{cloud: "aws", trigger: "stream", source: "msk", extra: []string{"--body", "debit"}, want: core.KindRecord, body: "debit"},
		{cloud: "gcp", trigger: "message", source: "pubsub", extra: []string{"--body", "@" + order}, want: core.KindMessage, body: `{"id":"A-7","lines":[{"sku":"b-1","n":1}]}`},
		{cloud: "gcp", trigger: "timer", source: "scheduler", extra: []string{"--body", `{"report":"daily"}`}, want: core.KindTimer, body: `{"report":"daily"}`},
		{cloud: "gcp", trigger: "timer", want: core.KindTimer, body: "nightly-report"},
		{cloud: "gcp", trigger: "object", source: "storage", want: core.KindObjectCreated, key: "uploads/red flower.jpg"},
		{cloud: "gcp", trigger: "object", source: "storage", kind: "object_deleted", extra: []string{"--key", "x/y z.png"}, want: core.KindObjectDeleted, key: "x/y z.png"},
		{cloud: "gcp", trigger: "object", source: "storage", kind: "object_updated", want: core.KindObjectUpdated, key: "uploads/red flower.jpg"},
		{cloud: "azure", trigger: "object", want: core.KindObjectCreated, key: "uploads/red flower.jpg"},
		{cloud: "azure", trigger: "object", source: "eventgrid", kind: "object_deleted", extra: []string{"--bucket", "media", "--key", "a b/c+1%.png"}, want: core.KindObjectDeleted, key: "a b/c+1%.png"},
		{cloud: "azure", trigger: "object", source: "blob", extra: []string{"--bucket", "media", "--key", "in/a b+1%.txt", "--body", "hello"}, want: core.KindObjectCreated, key: "in/a b+1%.txt"},
		{cloud: "azure", trigger: "message", source: "servicebus", extra: []string{"--body", "@" + order}, want: core.KindMessage, body: `{"id":"A-7","lines":[{"sku":"b-1","n":1}]}`},
		{cloud: "azure", trigger: "message", source: "servicebus", extra: []string{"--body", "plain \"text\""}, want: core.KindMessage, body: `plain "text"`},
		{cloud: "azure", trigger: "message", source: "queue", extra: []string{"--body", "job 7"}, want: core.KindMessage, body: "job 7"},
		{cloud: "azure", trigger: "change", source: "cosmos", extra: []string{"--body", `{"id":"u9","n":9007199254740993}`}, want: core.KindChange, body: `{"id":"u9","n":9007199254740993}`},
		{cloud: "azure", trigger: "timer", source: "timer", want: core.KindTimer},
		{cloud: "azure", trigger: "stream", source: "eventhubs", extra: []string{"--body", "click"}, want: core.KindRecord, body: "click"},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		args := []string{"--cloud", c.cloud, "--trigger", c.trigger}
		if c.source != "" {
			args = append(args, "--source", c.source)
		}
		if c.kind != "" {
			args = append(args, "--kind", c.kind)
		}
		args = append(args, c.extra...)
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := runEvents(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("polyfn events: %v\n%s", err, stderr.String())
			}
			if !json.Valid(stdout.Bytes()) {
				t.Fatalf("not JSON:\n%s", stdout.String())
			}
			// The same decoding polyfn inspect runs on standard input.
			in := inspectInput{transport: transports[c.cloud][0], trigger: c.trigger, body: stdout.Bytes(), start: time.Now()}
			if c.cloud == "azure" {
				var inv azureInvocation
				if err := json.Unmarshal(stdout.Bytes(), &inv); err != nil {
					t.Fatal(err)
				}
				sys, _ := inv.Metadata["sys"].(map[string]any)
				in.url = "/" + fmt.Sprint(sys["MethodName"])
				in.header = http.Header{"X-Azure-Functions-Invocationid": {"3c1e5a2b-8f4d-4e6a-9b7c-1d2e3f4a5b6c"}}
			}
			d, err := inspectors[c.cloud](context.Background(), in)
			if err != nil {
				t.Fatalf("decoding:\n%s\n%v", stdout.String(), err)
			}
			if _, err := encodeDelivery(d, in, ""); err != nil {
				t.Fatalf("polyfn inspect's output: %v", err)
			}
			if len(d.Events) != 1 {
				t.Fatalf("%d events, want 1:\n%s", len(d.Events), stdout.String())
			}
			e := d.Events[0]
			if e.Kind() != c.want {
				t.Fatalf("kind %s, want %s", e.Kind(), c.want)
			}
			var body []byte
			switch {
			case e.Message != nil:
				body = e.Message.Body
			case e.Record != nil:
				body = e.Record.Data
			case e.Change != nil:
				body = e.Change.New
			case e.Object != nil:
				if e.Object.Key != c.key {
					t.Errorf("key %q, want %q", e.Object.Key, c.key)
				}
				if want := argValue(args, "--bucket"); want != "" && e.Object.Bucket != want {
					t.Errorf("bucket %q, want %q", e.Object.Bucket, want)
				}
			case e.Timer != nil:
				if e.Timer.ScheduledTime.IsZero() {
					t.Error("no scheduled time")
				}
				body = e.Timer.Payload
			}
			if c.trigger == "change" {
				if !jsonContains(t, body, []byte(c.body)) {
					t.Errorf("document %s, want %s", body, c.body)
				}
			} else if c.body != "" && string(body) != c.body {
				t.Errorf("body %q, want %q", body, c.body)
			}
		})
		name := c.source
		if name == "" {
			name = firstSource(c.cloud, c.trigger)
		}
		k := c.kind
		if k == "" {
			k = firstKind(c.cloud, c.trigger, name)
		}
		covered[c.cloud+" "+c.trigger+" "+name+" "+k] = true
	}
	// Every source and kind the command offers is in the table.
	for _, s := range eventSources {
		kinds := s.kinds
		if len(kinds) == 0 {
			kinds = []string{""}
		}
		for _, k := range kinds {
			if !covered[s.cloud+" "+s.trigger+" "+s.name+" "+k] {
				t.Errorf("no case for %s %s %s %s", s.cloud, s.trigger, s.name, k)
			}
		}
	}
}

func firstSource(cloud, trigger string) string {
	s, _ := findSource(cloud, trigger, "")
	return s.name
}

func firstKind(cloud, trigger, name string) string {
	s, _ := findSource(cloud, trigger, name)
	if len(s.kinds) == 0 {
		return ""
	}
	return s.kinds[0]
}

// jsonContains reports whether the JSON object doc has every member of
// the JSON object want, with an equal value (numbers compared as text, so
// that no precision is lost); a document may carry the platform's own
// members besides (Cosmos DB's _rid, _ts…).
func jsonContains(t *testing.T, doc, want []byte) bool {
	t.Helper()
	decode := func(b []byte) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return m
	}
	d, w := decode(doc), decode(want)
	for k, wv := range w {
		var x, y bytes.Buffer
		if json.Compact(&x, d[k]) != nil || json.Compact(&y, wv) != nil || x.String() != y.String() {
			return false
		}
	}
	return true
}

// TestEventsCLI runs the command through run: a payload on stdout, and
// bad command lines are usage errors, exit status 2, with a message
// naming what is wrong.
func TestEventsCLI(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"events", "--cloud", "aws", "--trigger", "message"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var ev struct {
		Records []struct{ EventSource string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &ev); err != nil || len(ev.Records) != 1 || ev.Records[0].EventSource != "aws:sqs" {
		t.Fatalf("default aws message payload: %v\n%s", err, stdout.String())
	}
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"--trigger", "message"}, `--cloud must be aws, gcp or azure, not ""`},
		{[]string{"--cloud", "ibm", "--trigger", "message"}, `--cloud must be aws, gcp or azure, not "ibm"`},
		{[]string{"--cloud", "aws", "--trigger", "http"}, `--trigger for aws must be change, message, object, stream, timer, not "http"`},
		{[]string{"--cloud", "aws", "--trigger", "message", "--source", "kafka"}, `--source for aws message events must be sqs, sns, not "kafka"`},
		{[]string{"--cloud", "aws", "--trigger", "object", "--source", "s3", "--kind", "object_updated"}, `aws s3 does not send "object_updated" events; --kind must be object_created, object_deleted, object_restored, object_tiered`},
		{[]string{"--cloud", "gcp", "--trigger", "object", "--kind", "object_tiered"}, `gcp storage does not send "object_tiered" events`},
		{[]string{"--cloud", "azure", "--trigger", "object", "--source", "blob", "--kind", "object_deleted"}, `azure blob does not send "object_deleted" events; --kind must be object_created`},
		{[]string{"--cloud", "aws", "--trigger", "message", "--kind", "object_created"}, "--kind is for object triggers"},
		{[]string{"--cloud", "aws", "--trigger", "message", "--key", "k"}, "--bucket and --key are for object triggers"},
		{[]string{"--cloud", "aws", "--trigger", "object", "--key", ""}, "--bucket and --key must not be empty"},
		{[]string{"--cloud", "aws", "--trigger", "timer", "--body", "x"}, "--body: aws eventbridge carries no body"},
		{[]string{"--cloud", "aws", "--trigger", "message", "extra"}, "unexpected arguments"},
		{[]string{"--cloud", "aws", "--trigger", "message", "--nope"}, "flag provided but not defined"},
	}
	for _, b := range bad {
		stdout.Reset()
		stderr.Reset()
		code := run(context.Background(), append([]string{"events"}, b.args...), &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), b.want) || stdout.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", b.args, code, stdout.String(), stderr.String(), b.want)
		}
	}
	// Bad input that is not a usage error: exit status 1.
	for _, args := range [][]string{
		{"--cloud", "aws", "--trigger", "change", "--body", "[1]"},
		{"--cloud", "aws", "--trigger", "message", "--body", "@/nonexistent/order.json"},
	} {
		stdout.Reset()
		stderr.Reset()
		if code := run(context.Background(), append([]string{"events"}, args...), &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "--body") {
			t.Errorf("%q: exit %d, stderr %q; want 1 naming --body", args, code, stderr.String())
		}
	}
}

// TestEventsDocs checks that docs/local-runtime.md's section lists every
// source and kind polyfn events prints.
func TestEventsDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/local-runtime.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Sample events: polyfn events\n")
	if !ok {
		t.Fatal(`docs/local-runtime.md has no "Sample events: polyfn events" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, s := range eventSources {
		row := ""
		for _, line := range strings.Split(section, "\n") {
			if strings.HasPrefix(line, "| "+s.cloud+" | "+s.trigger+" |") {
				row = line
			}
		}
		if !strings.Contains(row, "`"+s.name+"`") {
			t.Errorf("no row of %s %s lists source %s", s.cloud, s.trigger, s.name)
		}
		for _, k := range s.kinds {
			if !strings.Contains(row, "`"+k+"`") {
				t.Errorf("the row of %s %s does not list kind %s", s.cloud, s.trigger, k)
			}
		}
	}
}
