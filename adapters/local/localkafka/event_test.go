package localkafka

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/polyfn/polyfn/core"
)

// FuzzEvent maps arbitrary Kafka records to events: the mapping never
// panics, and the record's fields arrive as they were read.
func FuzzEvent(f *testing.F) {
	f.Add("clicks", int32(0), int64(7), []byte("k"), []byte("v"), "ce_id", []byte("evt-1"), int64(1700000000000))
	f.Add("t", int32(3), int64(0), []byte(nil), []byte(nil), "traceparent", []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), int64(0))
	f.Add("t", int32(1), int64(9), []byte{0xff}, []byte{0, 1}, "ce_id", []byte(""), int64(-5))
	f.Fuzz(func(t *testing.T, topic string, p int32, off int64, key, value []byte, hk string, hv []byte, ms int64) {
		c := &consumer{source: "kafka://localhost:9092/" + topic}
		r := &kgo.Record{Topic: topic, Partition: p, Offset: off, Key: key, Value: value,
			Headers: []kgo.RecordHeader{{Key: hk, Value: hv}}}
		if ms != 0 {
			r.Timestamp = time.UnixMilli(ms)
		}
		e := c.event(r)
		rec := e.Record
		if e.Kind() != core.KindRecord || rec == nil || rec.Stream != topic || rec.Key != string(key) || string(rec.Data) != string(value) ||
			rec.Partition != strconv.Itoa(int(p)) || rec.Sequence != strconv.FormatInt(off, 10) || rec.Headers[hk] != string(hv) {
			t.Fatalf("record %+v from %+v", rec, r)
		}
		if id := strings.TrimSpace(string(hv)); e.ID() == "" || hk == "ce_id" && id != "" && e.ID() != id {
			t.Errorf("id %q, header %s=%q", e.ID(), hk, hv)
		}
	})
}
