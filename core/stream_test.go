package core_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
)

func TestParseStreamURL(t *testing.T) {
	for _, tt := range []struct {
		in                      string
		scheme, namespace, name string
		brokers                 []string
		region                  string
	}{
		{in: "kinesis://clicks", scheme: "kinesis", name: "clicks"},
		{in: "kinesis://clicks.v2?region=eu-west-1", scheme: "kinesis", name: "clicks.v2", region: "eu-west-1"},
		{in: "kafka://localhost:9092/clicks", scheme: "kafka", name: "clicks", brokers: []string{"localhost:9092"}},
		{in: "kafka://b-1.example:9098,b-2.example:9098,[::1]:9092/orders_v1", scheme: "kafka", name: "orders_v1",
			brokers: []string{"b-1.example:9098", "b-2.example:9098", "[::1]:9092"}},
		{in: "eventhubs://shop/clicks", scheme: "eventhubs", namespace: "shop", name: "clicks"},
		{in: "eventhubs://shop.servicebus.windows.net/clicks", scheme: "eventhubs", namespace: "shop.servicebus.windows.net", name: "clicks"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			u, err := core.ParseStreamURL(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme != tt.scheme || u.Namespace != tt.namespace || u.Name != tt.name || !slices.Equal(u.Brokers, tt.brokers) || u.Query.Get("region") != tt.region {
				t.Errorf("got %+v", u)
			}
			if got := u.String(); got != tt.in {
				t.Errorf("String() = %q, want %q", got, tt.in)
			}
		})
	}
}

func TestParseStreamURLErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"clicks", `stream URL "clicks": want kinesis://NAME`},
		{"sqs://clicks", `stream URL sqs://clicks: unknown scheme "sqs"`},
		{"kinesis://clicks/x", "kinesis://clicks/x: want kinesis://NAME"},
		{"kinesis://", "want kinesis://NAME"},
		{"kafka:///clicks", "no broker"},
		{"kafka://localhost/clicks", `broker "localhost": want HOST:PORT`},
		{"kafka://localhost:0/clicks", `broker "localhost:0"`},
		{"kafka://a:1,/clicks", `broker ""`},
		{"kafka://localhost:9092/", `topic ""`},
		{"kafka://localhost:9092/a/b", `topic "a/b"`},
		{"kafka://localhost:9092/..", `topic ".."`},
		{"kafka://localhost:9092/" + strings.Repeat("t", 250), "want 1 to 249"},
		{"eventhubs://shop", `event hub ""`},
		{"eventhubs:///clicks", `namespace ""`},
		{"kafka://localhost:9092/clicks?password=%zz", "kafka://localhost:9092/clicks: query"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			_, err := core.ParseStreamURL(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "password") {
				t.Errorf("error %v names the query", err)
			}
		})
	}
}

func FuzzParseStreamURL(f *testing.F) {
	for _, s := range []string{"kinesis://clicks", "kafka://a:1,b:2/t?x=1", "eventhubs://ns/hub", "kafka://[::1]:9092/t", "://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := core.ParseStreamURL(s)
		if err != nil {
			return
		}
		again, err := core.ParseStreamURL(u.String())
		if err != nil || again.String() != u.String() {
			t.Errorf("%q parses to %q, which parses to %q (%v)", s, u.String(), again.String(), err)
		}
	})
}
