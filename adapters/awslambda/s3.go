package awslambda

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/polyfn/polyfn/core"
)

// s3Record is an S3 event notification record. aws-lambda-go's type has
// the members S3 adds past creation and removal (the S3 User Guide's
// "Event message structure"): a restore's glacierEventData, a
// replication's replicationEventData, an Intelligent-Tiering move's
// intelligentTieringEventData, a lifecycle transition's
// lifecycleEventData; and restoreEventData outside glacierEventData, as one
// of its samples (s3-restore-event.json) has it.
type s3Record = events.S3EventRecord

// s3Kind is how one S3 event name (without its "s3:" prefix) becomes a
// neutral event: its type, and what it sets on the object.
type s3Kind struct {
	typ string
	// fill sets the kind's fields of o from r; nil sets none.
	fill func(o *core.Object, r *s3Record, name string)
}

// s3Kinds is the adapter's one table from S3's event names to neutral
// kinds (docs/events.md lists it). A name ending in ":" is a family: every
// name it begins.
var s3Kinds = map[string]s3Kind{
	"ObjectCreated:":                                {core.TypeObjectCreated, nil},
	"ObjectRemoved:":                                {core.TypeObjectDeleted, nil},
	"LifecycleExpiration:Delete":                    {core.TypeObjectDeleted, expired},
	"LifecycleExpiration:DeleteMarkerCreated":       {core.TypeObjectDeleted, expired},
	"LifecycleTransition":                           {core.TypeObjectTiered, transitioned},
	"IntelligentTiering":                            {core.TypeObjectTiered, tiered},
	"ObjectRestore:Post":                            {core.TypeObjectRestored, restore(core.RestoreStarted)},
	"ObjectRestore:Completed":                       {core.TypeObjectRestored, restore(core.RestoreCompleted)},
	"ObjectRestore:Delete":                          {core.TypeObjectRestored, restore(core.RestoreExpired)},
	"ObjectTagging:Put":                             {core.TypeObjectUpdated, nil},
	"ObjectTagging:Delete":                          {core.TypeObjectUpdated, nil},
	"ObjectAcl:Put":                                 {core.TypeObjectUpdated, nil},
	"Replication:OperationFailedReplication":        {core.TypeObjectReplication, replicated},
	"Replication:OperationMissedThreshold":          {core.TypeObjectReplication, replicated},
	"Replication:OperationReplicatedAfterThreshold": {core.TypeObjectReplication, replicated},
	"Replication:OperationNotTracked":               {core.TypeObjectReplication, replicated},
}

// s3KindOf returns the kind of an S3 event name: S3 sends it without the
// "s3:" of the notification configuration ("ObjectRestore:Completed"),
// some samples with it; both are read.
func s3KindOf(name string) (s3Kind, bool) {
	name = strings.TrimPrefix(name, "s3:")
	if k, ok := s3Kinds[name]; ok {
		return k, true
	}
	if family, _, ok := strings.Cut(name, ":"); ok {
		if k, ok := s3Kinds[family+":"]; ok {
			return k, true
		}
		// aws-lambda-go's sample names the Intelligent-Tiering event
		// "s3:IntelligentTiering:TransitionAccess".
		if k, ok := s3Kinds[family]; ok && family == "IntelligentTiering" {
			return k, true
		}
	}
	return s3Kind{}, false
}

func expired(o *core.Object, _ *s3Record, _ string) { o.Expired = true }

func transitioned(o *core.Object, r *s3Record, _ string) {
	if d := r.LifecycleEventData; d != nil && d.TransitionEventData != nil {
		o.StorageClass = d.TransitionEventData.DestinationStorageClass
	}
}

// tiered: an Intelligent-Tiering object moved to an archive access tier
// (ARCHIVE_ACCESS, DEEP_ARCHIVE_ACCESS); its storage class stays
// INTELLIGENT_TIERING, so the tier is the class it moved to.
func tiered(o *core.Object, r *s3Record, _ string) {
	if d := r.IntelligentTieringEventData; d != nil {
		o.StorageClass = d.DestinationAccessTier
	}
}

func restore(phase core.RestorePhase) func(o *core.Object, r *s3Record, _ string) {
	return func(o *core.Object, r *s3Record, _ string) {
		o.Restore = &core.Restore{Phase: phase}
		d := r.RestoreEventData
		if g := r.GlacierEventData; g != nil && g.RestoreEventData != nil {
			d = g.RestoreEventData
		}
		if d == nil {
			return
		}
		if !d.LifecycleRestorationExpiryTime.IsZero() {
			o.Restore.ExpiresAt = d.LifecycleRestorationExpiryTime.UTC()
		}
		o.Restore.StorageClass = d.LifecycleRestoreStorageClass
	}
}

func replicated(o *core.Object, r *s3Record, name string) {
	_, status, _ := strings.Cut(strings.TrimPrefix(name, "s3:"), ":")
	o.Replication = &core.Replication{Status: status}
	if d := r.ReplicationEventData; d != nil {
		o.Replication.Rule = d.ReplicationRuleID
		o.Replication.Destination = d.DestinationBucket
		o.Replication.FailureReason = d.FailureReason
	}
}

// errUnknownS3Event marks an S3 record whose event name the table does not
// hold: it is dropped with a warning, not failed, since S3 would redeliver
// it to the same code for nothing.
type errUnknownS3Event struct{ name string }

func (e errUnknownS3Event) Error() string {
	return fmt.Sprintf("S3 event %q is none polyfn knows", e.name)
}

// s3Event maps an S3 record to an object event. aws-lambda-go decodes the
// form-encoded key with url.QueryUnescape ("a+b%2B.jpg" is "a b+.jpg").
func s3Event(raw []byte) (core.Event, error) {
	var r s3Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return core.Event{}, err
	}
	o := r.S3.Object
	if r.S3.Bucket.Name == "" || o.Key == "" {
		return core.Event{}, fmt.Errorf("no bucket name or object key")
	}
	k, ok := s3KindOf(r.EventName)
	if !ok {
		return core.Event{}, errUnknownS3Event{r.EventName}
	}
	obj := &core.Object{
		Bucket: r.S3.Bucket.Name, Key: o.URLDecodedKey, Size: o.Size, ETag: o.ETag,
		Version: o.VersionID, EventName: r.EventName,
	}
	if k.fill != nil {
		k.fill(obj, &r, r.EventName)
	}
	source := r.S3.Bucket.Arn
	if source == "" {
		source = "arn:aws:s3:::" + obj.Bucket
	}
	e := newEvent(k.typ, objectEventID(r), source, r.EventName, r.EventTime, obj)
	e.SetSubject(obj.Key)
	return e, nil
}

// objectEventID derives an S3 event's id, which S3 does not send, from what
// identifies the change: the same notification redelivered gets the same id
// (so idempotency keys work), another change of the key another (the
// sequencer orders the changes of one key).
func objectEventID(r events.S3EventRecord) string {
	sum := sha256.Sum256([]byte(r.S3.Bucket.Name + "\x00" + r.S3.Object.Key + "\x00" + r.S3.Object.Sequencer + "\x00" + r.EventName))
	return hex.EncodeToString(sum[:16])
}
