package awslambda

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
)

func TestSourceOfURL(t *testing.T) {
	tests := map[string]string{
		"s3://media?region=eu-west-1":                                                                           "s3:media",
		"awssqs://sqs.eu-west-1.amazonaws.com/123456789012/orders?region=x":                                     "sqs:123456789012:orders",
		"awssns:///arn:aws:sns:eu-west-1:123456789012:orders?region=x":                                          "sns:123456789012:orders",
		"dynamodb://users?partition_key=id":                                                                     "dynamodb:users",
		"kinesis://clicks?region=eu-west-1":                                                                     "kinesis:clicks",
		"kafka://b-1.example:9092,b-2.example:9092/ledger?msk=arn:aws:kafka:eu-west-1:123456789012:cluster/l/1": "kafka:ledger",
		"kafka://b-1.example:9092/ledger":                                                                       "kafka:ledger",
		"kafka://b-1.example/ledger":                                                                            "",
		"kinesis://a/b":                                                                                         "",
		"file:///tmp/media":                                                                                     "",
		"mem://orders":                                                                                          "",
		"gs://media":                                                                                            "",
		"awssqs://sqs.eu-west-1.amazonaws.com/orders":                                                           "",
		"awssns:///not-an-arn":                                                                                  "",
		"":                                                                                                      "",
		"::":                                                                                                    "",
	}
	for raw, want := range tests {
		if got := sourceOfURL(raw); got != want {
			t.Errorf("sourceOfURL(%q): got %q, want %q", raw, got, want)
		}
	}
}

func TestSourceOfARN(t *testing.T) {
	tests := map[string]string{
		"arn:aws:sqs:us-east-2:123456789012:orders.fifo":                                     "sqs:123456789012:orders.fifo",
		"arn:aws:sns:us-east-2:123456789012:order-events":                                    "sns:123456789012:order-events",
		"arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2015-06-27T00:48:05.899": "dynamodb:users",
		"arn:aws:dynamodb:us-east-1:123456789012:table/users":                                "dynamodb:users",
		"arn:aws:kinesis:us-east-1:123456789012:stream/clicks":                               "kinesis:clicks",
		"arn:aws:s3:::media":            "",
		"com.example.orders":            "",
		"arn:aws:sqs:us-east-2::orders": "",
	}
	for arn, want := range tests {
		if got := sourceOfARN(arn); got != want {
			t.Errorf("sourceOfARN(%q): got %q, want %q", arn, got, want)
		}
	}
}

func objectEvent(t *testing.T, bucket, key string) core.Event {
	t.Helper()
	e, err := core.NewEvent(core.TypeObjectCreated, "id", "arn:aws:s3:::"+bucket, &core.Object{Bucket: bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func messageEvent(t *testing.T, source string) core.Event {
	t.Helper()
	e, err := core.NewEvent(core.TypeMessage, "id", source, &core.Message{ID: "id"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRoute covers the routing rule: the functions naming the event's
// source, else the one function of its kind that names no AWS resource.
func TestRoute(t *testing.T) {
	nop := core.HandlerFunc(nil)
	tests := []struct {
		name  string
		fns   []core.EventFunc
		env   map[string]string
		event func(t *testing.T) core.Event
		want  []string // function names, or nil for an error
		err   string
	}{
		{
			name: "bucket named by URL",
			fns: []core.EventFunc{
				{Name: "a", Trigger: core.ObjectTrigger{Bucket: "A_URL"}},
				{Name: "b", Trigger: core.ObjectTrigger{Bucket: "B_URL"}},
			},
			env:   map[string]string{"A_URL": "s3://a", "B_URL": "s3://b"},
			event: func(t *testing.T) core.Event { return objectEvent(t, "b", "k") },
			want:  []string{"b"},
		},
		{
			name: "every function naming the bucket, by key filter",
			fns: []core.EventFunc{
				{Name: "all", Trigger: core.ObjectTrigger{Bucket: "A_URL"}},
				{Name: "png", Trigger: core.ObjectTrigger{Bucket: "A_URL", Suffix: ".png"}},
				{Name: "jpg", Trigger: core.ObjectTrigger{Bucket: "A_URL", Suffix: ".jpg"}},
			},
			env:   map[string]string{"A_URL": "s3://a"},
			event: func(t *testing.T) core.Event { return objectEvent(t, "a", "x.png") },
			want:  []string{"all", "png"},
		},
		{
			name:  "a bucket no URL names goes to the one unnamed function",
			fns:   []core.EventFunc{{Name: "local", Trigger: core.ObjectTrigger{Bucket: "A_URL"}}},
			env:   map[string]string{"A_URL": "file:///tmp/a"},
			event: func(t *testing.T) core.Event { return objectEvent(t, "media", "k") },
			want:  []string{"local"},
		},
		{
			name:  "a function naming another bucket gets nothing",
			fns:   []core.EventFunc{{Name: "a", Trigger: core.ObjectTrigger{Bucket: "A_URL"}}},
			env:   map[string]string{"A_URL": "s3://a"},
			event: func(t *testing.T) core.Event { return objectEvent(t, "media", "k") },
			err:   "no event function accepts the object_created event from arn:aws:s3:::media for key k",
		},
		{
			name: "two unnamed functions are ambiguous",
			fns: []core.EventFunc{
				{Name: "x", Trigger: core.MessageTrigger{Subscription: "X_URL"}},
				{Name: "y", Trigger: core.MessageTrigger{Subscription: "Y_URL"}},
			},
			event: func(t *testing.T) core.Event { return messageEvent(t, "arn:aws:sqs:us-east-2:1:q") },
			err:   "functions x, y all accept it",
		},
		{
			name: "queue named by URL beats an unnamed function",
			fns: []core.EventFunc{
				{Name: "unnamed", Trigger: core.MessageTrigger{Subscription: "X_URL"}},
				{Name: "queue", Trigger: core.MessageTrigger{Subscription: "Q_URL"}},
			},
			env:   map[string]string{"Q_URL": "awssqs://sqs.us-east-2.amazonaws.com/1/q"},
			event: func(t *testing.T) core.Event { return messageEvent(t, "arn:aws:sqs:us-east-2:1:q") },
			want:  []string{"queue"},
		},
		{
			name: "topic named by the trigger's topic URL",
			fns: []core.EventFunc{
				{Name: "queue", Trigger: core.MessageTrigger{Subscription: "Q_URL"}},
				{Name: "topic", Trigger: core.MessageTrigger{Subscription: "S_URL", Topic: "T_URL"}},
			},
			env: map[string]string{
				"Q_URL": "awssqs://sqs.us-east-2.amazonaws.com/1/q",
				"T_URL": "awssns:///arn:aws:sns:us-east-2:1:t",
			},
			event: func(t *testing.T) core.Event { return messageEvent(t, "arn:aws:sns:us-east-2:1:t") },
			want:  []string{"topic"},
		},
		{
			name: "kind decides first",
			fns: []core.EventFunc{
				{Name: "objects", Trigger: core.ObjectTrigger{Bucket: "A_URL"}},
				{Name: "messages", Trigger: core.MessageTrigger{Subscription: "X_URL"}},
			},
			event: func(t *testing.T) core.Event { return messageEvent(t, "com.example") },
			want:  []string{"messages"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.fns {
				tt.fns[i].Handler = nop
			}
			r := newRouter(tt.fns, func(k string) string { return tt.env[k] })
			fns, err := r.route(tt.event(t))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || core.CodeOf(err) != core.NotFound {
					t.Fatalf("got %v, want a NotFound error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, fn := range fns {
				names = append(names, fn.Name)
			}
			if !cmp.Equal(names, tt.want) {
				t.Errorf("got %v, want %v", names, tt.want)
			}
		})
	}
}
