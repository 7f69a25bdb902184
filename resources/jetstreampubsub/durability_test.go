package jetstreampubsub

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"

	"github.com/polyfn/polyfn/resources/jetstreampubsub/embedded"
)

// childDirEnv makes the test binary a JetStream server storing under the
// directory it names (see TestHelperServer).
const childDirEnv = "POLYFN_JETSTREAM_CHILD_DIR"

// TestHelperServer is not a test: re-executed by startChild with
// childDirEnv set, it runs an embedded JetStream server, prints its URL and
// serves until it is killed or its parent is gone.
func TestHelperServer(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("runs only as the child server of TestDurability")
	}
	url, _, err := embedded.Start(dir, "")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("url:", url)
	// Serve until killed, or until the parent is gone (its end of stdin
	// closes), so that no server outlives a test binary that died.
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

type child struct {
	cmd   *exec.Cmd
	stdin io.Closer
	url   string
}

// startChild runs a JetStream server in a child process storing under dir
// and returns once it accepts connections.
func startChild(t *testing.T, dir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // held open for the child's life
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin}
	t.Cleanup(c.kill)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), "url: "); ok {
			c.url = url
			go func() { // keep draining so the child never blocks writing
				for sc.Scan() {
				}
			}()
			return c
		}
		t.Logf("child: %s", sc.Text())
	}
	t.Fatalf("child server exited without a URL: %v", sc.Err())
	return nil
}

// kill sends SIGKILL: the server writes nothing more.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDurability: messages the server acknowledged survive a SIGKILL of the
// server, those published while it is killed too if it acknowledged them,
// and messages acked before the kill are not delivered again.
func TestDurability(t *testing.T) {
	if os.Getenv(childDirEnv) != "" {
		t.Skip()
	}
	const (
		stream   = "ORDERS"
		consumer = "worker"
		subject  = "orders.created"
		n        = 200 // published before the kill
		k        = 60  // of which received and acked before the kill
	)
	dir := t.TempDir()
	ctx := context.Background()
	srv := startChild(t, dir)

	js := connect(t, srv.url)
	dt, err := openTopic(ctx, js, stream, subject, &TopicOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	// ackwait=1s: messages delivered but not acked before the kill come back
	// soon after the restart.
	ds, err := openSubscription(ctx, js, stream, consumer, &SubscriptionOptions{Subject: subject, Create: true, AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	top := pubsub.NewTopic(dt, nil)
	acknowledged := map[string]bool{} // published and acknowledged by the server
	for i := range n {
		body := fmt.Sprintf("m-%d", i)
		if err := top.Send(ctx, &pubsub.Message{Body: []byte(body), Metadata: map[string]string{"i": body}}); err != nil {
			t.Fatal(err)
		}
		acknowledged[body] = true
	}

	// Receive and ack k messages, through the driver, so that exactly those
	// are acked; SendAcks returns once the server confirmed each ack.
	acked := map[string]bool{}
	for len(acked) < k {
		dms, err := ds.ReceiveBatch(ctx, k-len(acked))
		if err != nil {
			t.Fatal(err)
		}
		var ids []driver.AckID
		for _, dm := range dms {
			acked[string(dm.Body)] = true
			ids = append(ids, dm.AckID)
		}
		if err := ds.SendAcks(ctx, ids); err != nil {
			t.Fatal(err)
		}
	}
	// The server writes a consumer's state at most every 100 ms, after the
	// ack: wait until it has written its state twice since the acks were
	// confirmed, each write prompted by one more delivery, so that the
	// second write was encoded after the acks were applied.
	stateFile := func() string {
		m, _ := filepath.Glob(filepath.Join(dir, "jetstream", "*", "streams", stream, "obs", consumer, "o.dat"))
		if len(m) != 1 {
			return ""
		}
		return m[0]
	}
	mtime := func() time.Time {
		fi, err := os.Stat(stateFile())
		if err != nil {
			return time.Time{}
		}
		return fi.ModTime()
	}
	for range 2 {
		before := mtime()
		var dms []*driver.Message
		for len(dms) == 0 {
			if dms, err = ds.ReceiveBatch(ctx, 1); err != nil { // delivered, not acked: comes back later
				t.Fatal(err)
			}
		}
		waitFor(t, "the consumer's state to be written", func() bool { return !mtime().Equal(before) })
	}

	// Publish in the background while the server is killed: every message
	// whose Send returned nil must survive.
	pubCtx, stopPub := context.WithCancel(ctx)
	var mu sync.Mutex
	duringKill := 0
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; pubCtx.Err() == nil; i++ {
			body := fmt.Sprintf("k-%d", i)
			sctx, cancel := context.WithTimeout(pubCtx, 2*time.Second)
			err := dt.SendBatch(sctx, []*driver.Message{{Body: []byte(body)}})
			cancel()
			if err == nil {
				mu.Lock()
				acknowledged[body] = true
				duringKill++
				mu.Unlock()
			}
		}
	})
	waitFor(t, "publishes during the kill", func() bool { mu.Lock(); defer mu.Unlock(); return duringKill >= 50 })
	srv.kill()
	stopPub()
	wg.Wait()
	t.Logf("%d published before the kill (%d acked), %d acknowledged while publishing into the kill", n, k, duringKill)

	// Restart on the same store; the stream and the consumer must exist
	// (no create), and deliver every acknowledged message but the acked.
	srv = startChild(t, dir)
	js = connect(t, srv.url)
	sub, err := OpenSubscription(ctx, js, stream, consumer, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	want := map[string]bool{}
	for body := range acknowledged {
		if !acked[body] {
			want[body] = true
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	got := map[string]int{}
	for len(want) > 0 {
		m, err := sub.Receive(rctx)
		if err != nil {
			missing := []string{}
			for b := range want {
				missing = append(missing, b)
			}
			t.Fatalf("after the restart: %v; %d acknowledged messages never delivered, e.g. %q", err, len(missing), missing[:min(5, len(missing))])
		}
		body := string(m.Body)
		got[body]++
		if acked[body] {
			t.Errorf("message %s was acked before the kill and was delivered again", body)
		}
		if strings.HasPrefix(body, "m-") && m.Metadata["i"] != body {
			t.Errorf("message %s lost its metadata: %q", body, m.Metadata)
		}
		delete(want, body)
		m.Ack()
	}
	if err := sub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// Every message is acked now: the consumer has nothing pending.
	c, err := js.Consumer(ctx, stream, consumer)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the consumer to have nothing pending", func() bool {
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	redelivered := 0
	for _, c := range got {
		redelivered += c - 1
	}
	t.Logf("after the restart: %d distinct messages received, %d received twice", len(got), redelivered)
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		t.Fatal("receive deadline passed")
	}
}
