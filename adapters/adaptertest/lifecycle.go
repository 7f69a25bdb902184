package adaptertest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polyfn/polyfn/core"
)

// The capabilities of the object kinds past creation and removal, of
// stream triggers and of streamed HTTP responses.
const (
	// Streams: the platform delivers the records of a partitioned log to a
	// core.StreamTrigger's function. Without it the conformance app has no
	// stream function and the stream cases are skipped.
	Streams Capability = "streams"
	// StreamingResponses: what an HTTP handler writes and flushes reaches
	// the client before the handler returns.
	StreamingResponses Capability = "streaming-responses"
)

// EventKind is the capability of delivering events of kind k at all; the
// suite asks it of the kinds past the first five (the object lifecycle
// kinds and stream records): "kind.object_tiered".
func EventKind(k core.Kind) Capability { return Capability("kind." + string(k)) }

// StreamTrigger is the conformance app's stream trigger, for harnesses
// that map it; Source("stream") names the stream.
var StreamTrigger = core.StreamTrigger{Stream: "CONFORMANCE_STREAM_URL", StartingPosition: core.StartEarliest}

// lifecycleKinds are the object kinds past creation and removal, whose
// cases need EventKind.
var lifecycleKinds = []core.Kind{core.KindObjectTiered, core.KindObjectRestored, core.KindObjectUpdated, core.KindObjectReplication}

// needsKind reports whether the cases of kind k need EventKind(k).
func needsKind(k core.Kind) bool { return slices.Contains(lifecycleKinds, k) || k == core.KindRecord }

// lifecycleFixture returns the fixture of an object lifecycle kind.
func (s *session) lifecycleFixture(k core.Kind) core.Event {
	o := &core.Object{Bucket: "conformance-bucket", Key: objectKey, Size: 5 << 30, ETag: "d41d8cd98f00b204e9800998ecf8427e"}
	switch k {
	case core.KindObjectTiered:
		o.StorageClass = "ARCHIVE"
		return s.event(core.TypeObjectTiered, "obj-tier", "objects", objectKey, when, o)
	case core.KindObjectRestored:
		o.Restore = &core.Restore{Phase: core.RestoreCompleted}
		return s.event(core.TypeObjectRestored, "obj-restore", "objects", objectKey, when, o)
	case core.KindObjectUpdated:
		return s.event(core.TypeObjectUpdated, "obj-update", "objects", objectKey, when, o)
	case core.KindObjectReplication:
		o.Replication = &core.Replication{Status: "OperationFailedReplication", Rule: "rule-1", Destination: "arn:aws:s3:::replica"}
		return s.event(core.TypeObjectReplication, "obj-repl", "objects", objectKey, when, o)
	}
	panic("adaptertest: no fixture of kind " + string(k))
}

// record returns a stream record event of partition p at sequence seq
// whose data is data (a marker, as for messages).
func (s *session) record(id, p string, seq int, data string) core.Event {
	return s.event(core.TypeRecord, id, "stream", "", when, &core.Record{
		Stream: s.h.Source("stream"), Partition: p, Key: "key-" + p, Sequence: fmt.Sprint(seq),
		ArrivalTime: when, Data: []byte(data), Headers: map[string]string{"kind": "click"},
	})
}

// lifecycleFields are the checks of the lifecycle kinds' data.
func lifecycleFields(k core.Kind) []field {
	object := func(t *testing.T, got received) *core.Object {
		t.Helper()
		if got.event.Object == nil {
			t.Fatal("no object data")
		}
		return got.event.Object
	}
	switch k {
	case core.KindObjectTiered:
		return []field{{name: "data.storage_class", optional: true, check: func(t *testing.T, sent core.Event, got received) {
			if g := object(t, got).StorageClass; !strings.EqualFold(g, sent.Object.StorageClass) {
				t.Errorf("storage class %q, want %q", g, sent.Object.StorageClass)
			}
		}}}
	case core.KindObjectRestored:
		return []field{{name: "data.restore.phase", check: func(t *testing.T, sent core.Event, got received) {
			if r := object(t, got).Restore; r == nil || r.Phase != sent.Object.Restore.Phase {
				t.Errorf("restore %+v, want phase %q", r, sent.Object.Restore.Phase)
			}
		}}}
	case core.KindObjectReplication:
		return []field{{name: "data.replication", check: func(t *testing.T, sent core.Event, got received) {
			if r := object(t, got).Replication; r == nil || *r != *sent.Object.Replication {
				t.Errorf("replication %+v, want %+v", r, *sent.Object.Replication)
			}
		}}}
	}
	return nil
}

// recordFields are the checks of the stream record fixture.
func recordFields() []field {
	rec := func(t *testing.T, got received) *core.Record {
		t.Helper()
		if got.event.Record == nil {
			t.Fatal("no record data")
		}
		return got.event.Record
	}
	return []field{
		{name: "data (stream, partition, key, sequence, data)", check: func(t *testing.T, sent core.Event, got received) {
			g, w := rec(t, got), sent.Record
			if g.Stream != w.Stream || g.Partition != w.Partition || g.Key != w.Key || g.Sequence != w.Sequence || string(g.Data) != string(w.Data) {
				t.Errorf("record %+v, want %+v", *g, *w)
			}
		}},
		{name: "data.arrival_time", optional: true, check: func(t *testing.T, sent core.Event, got received) {
			if g := rec(t, got).ArrivalTime; !g.Equal(sent.Record.ArrivalTime) {
				t.Errorf("arrival time %v, want %v", g, sent.Record.ArrivalTime)
			}
		}},
		{name: "data.headers", optional: true, check: func(t *testing.T, sent core.Event, got received) {
			if g := rec(t, got).Headers; g["kind"] != sent.Record.Headers["kind"] {
				t.Errorf("headers %v, want %v", g, sent.Record.Headers)
			}
		}},
	}
}

// streamCases are the cases of stream triggers.
func streamCases() []tcase {
	return []tcase{
		{name: "batches/stream records: each partition stops at its first failure", needs: []Capability{EventKind(core.KindRecord)}, run: func(t *testing.T, s *session) {
			// Two partitions interleaved; the second record of partition 0
			// fails. A platform that batches one partition at a time gets
			// them as one delivery per partition.
			batch := []core.Event{
				s.record("p0-1", "0", 1, "ok"), s.record("p1-1", "1", 1, "ok"),
				s.record("p0-2", "0", 2, "fail:unavailable"), s.record("p1-2", "1", 2, "ok"),
				s.record("p0-3", "0", 3, "ok"),
			}
			out, got := s.deliver(t, "stream", batch...)
			if want := []string{"p0-2", "p0-3"}; !slices.Equal(out.Redelivered, want) {
				t.Errorf("redelivered %q, want %q", out.Redelivered, want)
			}
			// A record is known by its id where the platform carries the
			// producer's (a Kafka record's ce_id header), else by its
			// partition and sequence: Kinesis and Event Hubs carry no
			// producer's id, so the id a function sees is the platform's.
			var order []string
			for _, r := range got {
				if rec := r.event.Record; rec != nil {
					id := r.event.ID()
					if !slices.ContainsFunc(batch, func(e core.Event) bool { return e.ID() == id }) {
						id = "p" + rec.Partition + "-" + rec.Sequence
					}
					order = append(order, id)
				}
			}
			p0 := slices.DeleteFunc(slices.Clone(order), func(id string) bool { return !strings.HasPrefix(id, "p0-") })
			p1 := slices.DeleteFunc(slices.Clone(order), func(id string) bool { return !strings.HasPrefix(id, "p1-") })
			if !slices.Equal(p0, []string{"p0-1", "p0-2"}) || !slices.Equal(p1, []string{"p1-1", "p1-2"}) {
				t.Errorf("the function received %q; want p0-1, p0-2 (and not p0-3, after the failure) and p1-1, p1-2, each partition in order", order)
			}
			s.nextWorks(t, "stream", s.record("p0-4", "0", 4, "ok"))
		}},
	}
}

// streamRelease is how long the streaming route waits for the client's
// first read before it finishes anyway; a client that only sees the first
// bytes once the handler returned waits that long and fails the case.
const streamRelease = 10 * time.Second

// handleStream is GET /stream: it writes and flushes a first line, waits
// until the client has read it (POST /stream/release) or streamRelease
// passed, and writes a second line.
func (c *conformanceApp) handleStream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	_, _ = io.WriteString(w, "data: first\n\n")
	if err := http.NewResponseController(w).Flush(); err != nil {
		_, _ = io.WriteString(w, "data: no-flush\n\n")
		return
	}
	released := "released"
	select {
	case <-c.release:
	case <-time.After(streamRelease):
		released = "timeout"
	case <-r.Context().Done():
		return
	}
	_, _ = io.WriteString(w, "data: "+released+"\n\n")
}

func streamingCases() []tcase {
	return []tcase{
		{name: "http/streamed response arrives whole", run: func(t *testing.T, s *session) {
			go func() { // release at once: this case checks the body only
				time.Sleep(10 * time.Millisecond)
				select {
				case s.app.release <- struct{}{}:
				case <-time.After(streamRelease):
				}
			}()
			resp, body := s.do(t, "GET", "/stream", nil, nil)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "data: first\n\n") || !strings.Contains(string(body), "data: ") {
				t.Errorf("GET /stream: %d %q", resp.StatusCode, body)
			}
		}},
		{name: "http/streamed response: first bytes before the handler returns", needs: []Capability{StreamingResponses}, run: func(t *testing.T, s *session) {
			req, err := http.NewRequestWithContext(t.Context(), "GET", "http://function/stream", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := s.cl.Do(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			first, err := br.ReadString('\n')
			if err != nil || first != "data: first\n" {
				t.Fatalf("first line %q, %v", first, err)
			}
			select {
			case s.app.release <- struct{}{}:
			case <-time.After(2 * streamRelease):
				t.Fatal("the handler no longer waits to be released: the first bytes arrived only once it returned")
			}
			rest, err := io.ReadAll(br)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(rest); got != "\ndata: released\n\n" {
				t.Errorf("the rest of the stream is %q, want the handler released by the client's read", got)
			}
		}},
	}
}
