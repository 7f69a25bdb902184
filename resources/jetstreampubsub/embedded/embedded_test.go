package embedded_test

import (
	"context"
	"net"
	"net/url"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/polyfn/polyfn/resources/jetstreampubsub/embedded"
)

// TestRestart: a server started again on the same directory and address
// has the streams and messages of the first.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	u, stop, err := embedded.Start(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(u string) {
		nc, err := nats.Connect(u)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}, Storage: jetstream.FileStorage}); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, "s", []byte("kept")); err != nil {
			t.Fatal(err)
		}
	}
	publish(u)
	stop()

	u2, stop2, err := embedded.Start(dir, pu.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer stop2()
	if u2 != u {
		t.Errorf("restarted on %s, want %s", u2, u)
	}
	nc, err := nats.Connect(u2)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx, "s")
	if err != nil || string(m.Data) != "kept" {
		t.Fatalf("after restart: %v, %v", m, err)
	}
}

func TestBadArguments(t *testing.T) {
	if _, _, err := embedded.Start("", ""); err == nil {
		t.Error("no directory: no error")
	}
	for _, addr := range []string{"nonsense", "127.0.0.1:99999", "127.0.0.1:x"} {
		if _, _, err := embedded.Start(t.TempDir(), addr); err == nil {
			t.Errorf("address %q: no error", addr)
		}
	}
	// A port in use is an error, not a hang.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, stop, err := embedded.Start(t.TempDir(), l.Addr().String()); err == nil {
		stop()
		t.Errorf("address %s in use: no error", l.Addr())
	}
}
