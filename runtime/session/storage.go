package session

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// SessionsEntity is the store entity StoreStorage keeps sessions in
// (declared by store.Sessions).
const SessionsEntity = "sessions"

// StoreStorage keeps sessions as rows of the store's sessions entity, so
// that every node sharing the database sees them. Rows carry a ttl, so
// the store stops returning a session once it can no longer be live.
type StoreStorage struct {
	// Store is the entity store.
	Store *store.Store
}

// Create stores a new session row.
func (s StoreStorage) Create(ctx context.Context, rec Record, ttl time.Duration) error {
	_, err := s.Store.Insert(ctx, SessionsEntity, row(rec, ttl))
	return err
}

// Update replaces a session row; ErrNotFound when it is gone.
func (s StoreStorage) Update(ctx context.Context, rec Record, ttl time.Duration) error {
	_, err := s.Store.Update(ctx, SessionsEntity, rec.ID, row(rec, ttl))
	if store.IsNotFound(err) {
		return ErrNotFound
	}
	return err
}

// Get returns the session row with the id.
func (s StoreStorage) Get(ctx context.Context, id string) (Record, bool, error) {
	m, err := s.Store.Get(ctx, SessionsEntity, id)
	if store.IsNotFound(err) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	str := func(k string) string { v, _ := m[k].(string); return v }
	return Record{
		ID: str("session_id"), Audience: str("audience"), Subject: str("subject"),
		Created: fromMillis(m["created"]), LastSeen: fromMillis(m["last_seen"]),
		RollingExpires: fromMillis(m["rolling_expires"]), AbsoluteExpires: fromMillis(m["absolute_expires"]),
	}, true, nil
}

// Delete removes the session row with the id.
func (s StoreStorage) Delete(ctx context.Context, id string) error {
	_, err := s.Store.Delete(ctx, SessionsEntity, id)
	if store.IsNotFound(err) {
		return nil
	}
	return err
}

// Purge deletes the session rows past their ttl.
func (s StoreStorage) Purge(ctx context.Context) (int, error) {
	return s.Store.PurgeExpired(ctx, SessionsEntity)
}

// row is the store input of a session.
func row(rec Record, ttl time.Duration) map[string]any {
	in := map[string]any{
		"session_id": rec.ID, "audience": rec.Audience, "subject": rec.Subject,
		"created": toMillis(rec.Created), "last_seen": toMillis(rec.LastSeen),
		"rolling_expires": toMillis(rec.RollingExpires), "absolute_expires": toMillis(rec.AbsoluteExpires),
	}
	if ttl > 0 {
		in["ttl"] = min(int64((ttl+time.Second-1)/time.Second), store.MaxTTL)
	}
	return in
}

func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(v any) time.Time {
	var ms int64
	switch n := v.(type) {
	case int64:
		ms = n
	case float64:
		ms = int64(n)
	case int:
		ms = int64(n)
	}
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// MemoryStorage keeps sessions in this process's memory: for tests and
// single-node setups. The zero value is ready to use.
type MemoryStorage struct {
	mu   sync.Mutex
	rows map[string]memoryRow
	// Now is the clock expiries are checked against (nil: time.Now).
	Now func() time.Time
}

type memoryRow struct {
	rec     Record
	expires time.Time
}

func (s *MemoryStorage) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *MemoryStorage) put(rec Record, ttl time.Duration) {
	r := memoryRow{rec: rec}
	if ttl > 0 {
		r.expires = s.now().Add(ttl)
	}
	if s.rows == nil {
		s.rows = map[string]memoryRow{}
	}
	s.rows[rec.ID] = r
}

// Create stores a new session.
func (s *MemoryStorage) Create(_ context.Context, rec Record, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(rec, ttl)
	return nil
}

// Update replaces a session; ErrNotFound when it is gone.
func (s *MemoryStorage) Update(_ context.Context, rec Record, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rows[rec.ID]; !ok {
		return ErrNotFound
	}
	s.put(rec, ttl)
	return nil
}

// Get returns the session with the id.
func (s *MemoryStorage) Get(_ context.Context, id string) (Record, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[id]
	if !ok {
		return Record{}, false, nil
	}
	if !r.expires.IsZero() && !s.now().Before(r.expires) {
		delete(s.rows, id)
		return Record{}, false, nil
	}
	return r.rec, true, nil
}

// Delete removes the session with the id.
func (s *MemoryStorage) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rows, id)
	return nil
}

// Len returns the number of sessions kept (expired ones included until
// read).
func (s *MemoryStorage) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows)
}
