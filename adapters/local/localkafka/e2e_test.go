package localkafka_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/polyfn/polyfn/internal/usermodule"
)

// TestBinaryResumesAtFailure builds a stream function as a user does, in a
// module of their own with no tag (the local runtime, whose launch links
// the kafka:// driver), runs it on a
// topic of kfake, and reads its log: the record that fails once stops its
// partition, is delivered again, and the partition's later record comes
// only after it; the group's committed offsets end past every record.
func TestBinaryResumesAtFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function binary; skipped with -short")
	}
	src, err := os.ReadFile(filepath.Join("testdata", "clicks", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "clicks")
	if err := usermodule.New(t, map[string]string{"cmd/clicks/main.go": string(src)}).Build("./cmd/clicks", "", bin); err != nil {
		t.Fatal(err)
	}

	brokers, cl := startKafka(t, 2, "clicks")
	for _, r := range []*kgo.Record{
		{Partition: 0, Value: []byte("a")}, {Partition: 0, Value: []byte("poison")}, {Partition: 0, Value: []byte("b")},
		{Partition: 1, Value: []byte("c")}, {Partition: 1, Value: []byte("d")},
	} {
		r.Topic = "clicks"
		if err := cl.ProduceSync(t.Context(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "CLICKS_STREAM_URL=kafka://"+brokers[0]+"/clicks",
		"POLYFN_ADDR=127.0.0.1:0", "POLYFN_DATA_DIR="+t.TempDir(), "POLYFN_LOG_FORMAT=json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type line struct {
		Msg      string `json:"msg"`
		EventID  string `json:"event_id"`
		Delivery int    `json:"delivery"`
	}
	var mu sync.Mutex
	var lines []line
	var raw bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var l line
			mu.Lock()
			raw.Write(append(sc.Bytes(), '\n'))
			if json.Unmarshal(sc.Bytes(), &l) == nil && (l.Msg == "event handled" || l.Msg == "event failed") {
				lines = append(lines, l)
			}
			mu.Unlock()
		}
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-read
		if err := cmd.Wait(); err != nil {
			t.Errorf("the function exited with %v", err)
		}
	}
	t.Cleanup(stop)

	adm := kadm.NewClient(cl)
	waitFor(t, "the group to commit both partitions to their end", func() bool {
		offs, err := adm.FetchOffsets(t.Context(), "clicks-count")
		if err != nil {
			return false
		}
		p0, _ := offs.Lookup("clicks", 0)
		p1, _ := offs.Lookup("clicks", 1)
		return p0.At == 3 && p1.At == 2
	})
	stop()

	mu.Lock()
	defer mu.Unlock()
	var p0 []string
	for _, l := range lines {
		if strings.HasPrefix(l.EventID, "clicks-0:") {
			p0 = append(p0, l.Msg+" "+l.EventID+" #"+strconv.Itoa(l.Delivery))
		}
	}
	want := []string{"event handled clicks-0:0 #1", "event failed clicks-0:1 #1", "event handled clicks-0:1 #2", "event handled clicks-0:2 #1"}
	if !slices.Equal(p0, want) {
		t.Errorf("partition 0's log:\n%q\nwant\n%q\nstderr:\n%s", p0, want, raw.String())
	}
}
