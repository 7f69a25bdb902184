// Package docstorestore keeps idempotency records in a gocloud docstore
// collection, so DynamoDB, Firestore and Cosmos DB (MongoDB API) serve as
// stores in production. It is a package of its own so that a function with
// the in-memory store links no docstore.
package docstorestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/gcerrors"

	"github.com/polyfn/polyfn/middleware/idempotency"
)

// Store is an idempotency.Store in a docstore collection. Begin is one Create (atomic: it fails if the key exists); Complete and
// Release use the document's revision, so an execution whose lease expired
// cannot overwrite its successor's record. The collection's key field must
// be "key". Expired records are replaced on the next Begin; let the database
// delete them too (DynamoDB TTL on the numeric field "expires_unix").
type Store struct {
	coll *docstore.Collection
}

var _ idempotency.Store = (*Store)(nil)

// New returns a store on coll, whose key field is "key".
func New(coll *docstore.Collection) *Store { return &Store{coll: coll} }

// document is the stored form of an idempotency.Record.
type document struct {
	Key              string `docstore:"key"`
	Fingerprint      string `docstore:"fingerprint"`
	State            string `docstore:"state"`
	Owner            string `docstore:"owner"`
	Response         string `docstore:"response"` // JSON of *idempotency.Response, or ""
	ExpiresUnix      int64  `docstore:"expires_unix"`
	DocstoreRevision any
}

func toDocument(rec idempotency.Record) (*document, error) {
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

func (d *document) record() (idempotency.Record, error) {
	rec := idempotency.Record{Key: d.Key, Fingerprint: d.Fingerprint, State: idempotency.State(d.State), Owner: d.Owner, Expires: time.UnixMilli(d.ExpiresUnix)}
	if d.Response != "" {
		rec.Response = new(idempotency.Response)
		if err := json.Unmarshal([]byte(d.Response), rec.Response); err != nil {
			return idempotency.Record{}, fmt.Errorf("docstorestore: corrupt record %q: %w", d.Key, err)
		}
	}
	return rec, nil
}

// Begin implements idempotency.Store.
func (s *Store) Begin(ctx context.Context, rec idempotency.Record) (idempotency.Record, bool, error) {
	d, err := toDocument(rec)
	if err != nil {
		return idempotency.Record{}, false, err
	}
	for range 3 { // the existing record may expire or vanish meanwhile
		err := s.coll.Create(ctx, d)
		if err == nil {
			return rec, true, nil
		}
		if gcerrors.Code(err) != gcerrors.AlreadyExists {
			return idempotency.Record{}, false, fmt.Errorf("docstorestore: %w", err)
		}
		cur := &document{Key: rec.Key}
		if err := s.coll.Get(ctx, cur); err != nil {
			if gcerrors.Code(err) == gcerrors.NotFound {
				continue
			}
			return idempotency.Record{}, false, fmt.Errorf("docstorestore: %w", err)
		}
		got, err := cur.record()
		if err != nil {
			return idempotency.Record{}, false, err
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
			return idempotency.Record{}, false, fmt.Errorf("docstorestore: %w", err)
		}
		d.DocstoreRevision = nil
	}
	return idempotency.Record{}, false, errors.New("docstorestore: record kept changing")
}

// Complete implements idempotency.Store.
func (s *Store) Complete(ctx context.Context, rec idempotency.Record) error {
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

// Release implements idempotency.Store.
func (s *Store) Release(ctx context.Context, key, owner string) error {
	cur, err := s.owned(ctx, key, owner)
	if err != nil {
		return err
	}
	return s.revisioned(s.coll.Delete(ctx, cur))
}

// owned returns the record if owner holds it.
func (s *Store) owned(ctx context.Context, key, owner string) (*document, error) {
	cur := &document{Key: key}
	if err := s.coll.Get(ctx, cur); err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, idempotency.ErrNotOwner
		}
		return nil, fmt.Errorf("docstorestore: %w", err)
	}
	if cur.Owner != owner {
		return nil, idempotency.ErrNotOwner
	}
	return cur, nil
}

// revisioned maps a lost revision race to idempotency.ErrNotOwner.
func (s *Store) revisioned(err error) error {
	switch gcerrors.Code(err) {
	case gcerrors.OK:
		return nil
	case gcerrors.FailedPrecondition, gcerrors.NotFound:
		return idempotency.ErrNotOwner
	}
	return fmt.Errorf("docstorestore: %w", err)
}
