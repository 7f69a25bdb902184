package idempotency

import (
	"context"
	"sync"
	"time"
)

// Memory keeps records in this process: enough for one instance, and for
// tests; use redisstore or docstorestore when a function runs as many instances.
type Memory struct {
	mu      sync.Mutex
	records map[string]Record
	now     func() time.Time
}

// NewMemory returns an empty store.
func NewMemory() *Memory { return &Memory{records: map[string]Record{}, now: time.Now} }

// Begin implements Store.
func (m *Memory) Begin(_ context.Context, rec Record) (Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.records) > 1024 {
		for k, r := range m.records {
			if now.After(r.Expires) {
				delete(m.records, k)
			}
		}
	}
	if got, ok := m.records[rec.Key]; ok && now.Before(got.Expires) {
		return got, false, nil
	}
	m.records[rec.Key] = rec
	return rec, true, nil
}

// Complete implements Store.
func (m *Memory) Complete(_ context.Context, rec Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if got, ok := m.records[rec.Key]; !ok || got.Owner != rec.Owner {
		return ErrNotOwner
	}
	m.records[rec.Key] = rec
	return nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, key, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if got, ok := m.records[key]; !ok || got.Owner != owner {
		return ErrNotOwner
	}
	delete(m.records, key)
	return nil
}
