package idempotency

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/gcerrors"
)

// Docstore keeps records in a gocloud docstore collection, so DynamoDB,
// Firestore and Cosmos DB (MongoDB API) serve as stores in production.
// Begin is one Create (atomic: it fails if the key exists); Complete and
// Release use the document's revision, so an execution whose lease expired
// cannot overwrite its successor's record. The collection's key field must
// be "key". Expired records are replaced on the next Begin; let the database
// delete them too (DynamoDB TTL on the numeric field "expires_unix").
type Docstore struct {
	coll *docstore.Collection
}

// NewDocstore returns a store on coll, whose key field is "key".
func NewDocstore(coll *docstore.Collection) *Docstore { return &Docstore{coll: coll} }

// document is the stored form of a Record.
type document struct {
	Key              string `docstore:"key"`
	Fingerprint      string `docstore:"fingerprint"`
	State            string `docstore:"state"`
	Owner            string `docstore:"owner"`
	Response         string `docstore:"response"` // JSON of *Response, or ""
	ExpiresUnix      int64  `docstore:"expires_unix"`
	DocstoreRevision any
}

func toDocument(rec Record) (*document, error) {
	d := &document{Key: rec.Key, Fingerprint: rec.Fingerprint, State: string(rec.State), Owner: rec.Owner, ExpiresUnix: rec.Expires.UnixMilli()}
	if rec.Response != nil {
		b, err := json.Marshal(rec.Response)
		if err != nil {
			return nil, err
		}
		d.Response = string(b)
	}
	return d, nil
}

func (d *document) record() (Record, error) {
	rec := Record{Key: d.Key, Fingerprint: d.Fingerprint, State: State(d.State), Owner: d.Owner, Expires: time.UnixMilli(d.ExpiresUnix)}
	if d.Response != "" {
		rec.Response = new(Response)
		if err := json.Unmarshal([]byte(d.Response), rec.Response); err != nil {
			return Record{}, fmt.Errorf("idempotency: corrupt record %q: %w", d.Key, err)
		}
	}
	return rec, nil
}

// Begin implements Store.
func (s *Docstore) Begin(ctx context.Context, rec Record) (Record, bool, error) {
	d, err := toDocument(rec)
	if err != nil {
		return Record{}, false, err
	}
	for range 3 { // the existing record may expire or vanish meanwhile
		err := s.coll.Create(ctx, d)
		if err == nil {
			return rec, true, nil
		}
		if gcerrors.Code(err) != gcerrors.AlreadyExists {
			return Record{}, false, fmt.Errorf("idempotency: docstore: %w", err)
		}
		cur := &document{Key: rec.Key}
		if err := s.coll.Get(ctx, cur); err != nil {
			if gcerrors.Code(err) == gcerrors.NotFound {
				continue
			}
			return Record{}, false, fmt.Errorf("idempotency: docstore: %w", err)
		}
		got, err := cur.record()
		if err != nil {
			return Record{}, false, err
		}
		if time.Now().Before(got.Expires) {
			return got, false, nil
		}
		// Expired: take it over, unless someone else does first.
		d.DocstoreRevision = cur.DocstoreRevision
		err = s.coll.Replace(ctx, d)
		if err == nil {
			return rec, true, nil
		}
		if c := gcerrors.Code(err); c != gcerrors.FailedPrecondition && c != gcerrors.NotFound {
			return Record{}, false, fmt.Errorf("idempotency: docstore: %w", err)
		}
		d.DocstoreRevision = nil
	}
	return Record{}, false, errors.New("idempotency: docstore: record kept changing")
}

// Complete implements Store.
func (s *Docstore) Complete(ctx context.Context, rec Record) error {
	cur, err := s.owned(ctx, rec.Key, rec.Owner)
	if err != nil {
		return err
	}
	d, err := toDocument(rec)
	if err != nil {
		return err
	}
	d.DocstoreRevision = cur.DocstoreRevision
	return s.revisioned(s.coll.Replace(ctx, d))
}

// Release implements Store.
func (s *Docstore) Release(ctx context.Context, key, owner string) error {
	cur, err := s.owned(ctx, key, owner)
	if err != nil {
		return err
	}
	return s.revisioned(s.coll.Delete(ctx, cur))
}

// owned returns the record if owner holds it.
func (s *Docstore) owned(ctx context.Context, key, owner string) (*document, error) {
	cur := &document{Key: key}
	if err := s.coll.Get(ctx, cur); err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, ErrNotOwner
		}
		return nil, fmt.Errorf("idempotency: docstore: %w", err)
	}
	if cur.Owner != owner {
		return nil, ErrNotOwner
	}
	return cur, nil
}

// revisioned maps a lost revision race to ErrNotOwner.
func (s *Docstore) revisioned(err error) error {
	switch gcerrors.Code(err) {
	case gcerrors.OK:
		return nil
	case gcerrors.FailedPrecondition, gcerrors.NotFound:
		return ErrNotOwner
	}
	return fmt.Errorf("idempotency: docstore: %w", err)
}
