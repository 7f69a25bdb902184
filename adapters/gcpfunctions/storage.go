package gcpfunctions

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/polyfn/polyfn/core"
)

// storageObjectData is the part of Cloud Storage's StorageObjectData
// (google/events/cloud/storage/v1/data.proto, JSON) that a neutral Object
// carries.
type storageObjectData struct {
	Bucket       string    `json:"bucket"`
	Name         string    `json:"name"`
	Generation   jsonInt64 `json:"generation"`
	Size         jsonInt64 `json:"size"`
	ContentType  string    `json:"contentType"`
	ETag         string    `json:"etag"`
	StorageClass string    `json:"storageClass"`
}

// decodeObject decodes the data of a google.cloud.storage.object.v1.*
// event. The object name is taken as it is: it is not URL-encoded, so "+" is
// a plus sign. The bucket comes from the data, or else from the source
// (//storage.googleapis.com/projects/_/buckets/BUCKET).
func decodeObject(ce *event.Event) (any, error) {
	var d storageObjectData
	if err := decodeJSONData(ce, &d); err != nil {
		return nil, err
	}
	if d.Name == "" {
		return nil, core.Errorf(core.InvalidArgument, "gcpfunctions: storage event %q has no object name", ce.ID())
	}
	if d.Size < 0 {
		return nil, core.Errorf(core.InvalidArgument, "gcpfunctions: storage event %q has a negative size", ce.ID())
	}
	if d.Bucket == "" {
		_, d.Bucket, _ = strings.Cut(ce.Source(), "/buckets/")
	}
	if d.Bucket == "" {
		return nil, core.Errorf(core.InvalidArgument, "gcpfunctions: storage event %q names no bucket", ce.ID())
	}
	o := &core.Object{
		Bucket:       d.Bucket,
		Key:          d.Name,
		Size:         int64(d.Size),
		ContentType:  d.ContentType,
		ETag:         d.ETag,
		EventName:    ce.Type(),
		StorageClass: d.StorageClass,
	}
	if d.Generation != 0 {
		o.Version = strconv.FormatInt(int64(d.Generation), 10)
	}
	return o, nil
}

// jsonInt64 is an int64 in proto3 JSON: a string ("1234", how Cloud Storage
// sends it) or a number.
type jsonInt64 int64

func (n *jsonInt64) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*n = jsonInt64(v)
	return nil
}

// decodeJSONData decodes the event's data, which must be JSON, into v. The
// error has the code InvalidArgument.
func decodeJSONData(ce *event.Event, v any) error {
	if err := json.Unmarshal(ce.Data(), v); err != nil {
		return core.Errorf(core.InvalidArgument, "gcpfunctions: decoding the data of %s event %q: %v", ce.Type(), ce.ID(), err)
	}
	return nil
}
