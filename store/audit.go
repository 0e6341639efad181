package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// The Admin API audit log, as Kong Enterprise keeps it: one record per
// audited call in audit_requests, one per entity change in audit_objects.
// Records live in the database next to the entities, in the rows of two
// entity names no registry declares (so the generic Admin API, exports and
// declarative files never see them), until their expiry (audit_log_ttl).
// Their ids are UUIDv7: row order is time order, so a page's offset is the
// last id it showed.

// The entity names the audit records are stored under.
const (
	AuditRequests = "audit_requests"
	AuditObjects  = "audit_objects"
)

// auditExpiresKey holds a record's expiry (Unix seconds) in its document.
const auditExpiresKey = "$expires_at"

// requestIDKey holds an audit request id in a context.
type requestIDKey struct{}

// WithRequestID returns ctx carrying the audit request id of the Admin API
// call it serves: the changes written with it carry the id on their
// events, and so in their audit_objects records.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the audit request id ctx carries, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// AuditQuery selects audit records for one page.
type AuditQuery struct {
	// After and Before keep records whose timestamp (Unix seconds) is
	// >= After and <= Before; 0 means unbounded.
	After, Before int64
	// Fields keeps records whose field equals the value (compared as the
	// field's text: "status" matches "201").
	Fields map[string]string
	// Offset is the id of the last record of the previous page.
	Offset string
	// Size is the page size (1..1000; 0 is 100).
	Size int
	// Now is the time expired records are judged at (zero: time.Now).
	Now time.Time
}

// AuditPage is one page of audit records, oldest first; Offset is "" on the
// last page.
type AuditPage struct {
	Data   []map[string]any
	Offset string
}

// auditTimeField is the timestamp field of each audit kind.
var auditTimeField = map[string]string{AuditRequests: "request_timestamp", AuditObjects: "request_timestamp"}

// RecordAudit stores one audit record of kind (AuditRequests or
// AuditObjects) that expires at expires (zero: never). It sets the
// record's "id" (a UUIDv7) and returns it. Audit records are not entities:
// no event is published and no entity validation applies.
func (s *Store) RecordAudit(ctx context.Context, kind string, rec map[string]any, expires time.Time) (string, error) {
	if _, ok := auditTimeField[kind]; !ok {
		return "", fmt.Errorf("store: unknown audit kind %q", kind)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("store: audit record id: %w", err)
	}
	doc := make(map[string]any, len(rec)+2)
	for k, v := range rec {
		doc[k] = v
	}
	doc["id"] = id.String()
	if !expires.IsZero() {
		doc[auditExpiresKey] = expires.Unix()
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("store: encoding the %s record: %w", kind, err)
	}
	err = s.backend.Update(ctx, func(tx Tx) error {
		return tx.Insert(&Row{Entity: kind, ID: id.String(), Data: data})
	})
	if err != nil {
		return "", fmt.Errorf("store: recording %s: %w", kind, err)
	}
	return id.String(), nil
}

// ListAudit returns one page of the audit records of kind that match q and
// have not expired, with "ttl" (seconds left) on those that expire.
func (s *Store) ListAudit(ctx context.Context, kind string, q AuditQuery) (*AuditPage, error) {
	tf, ok := auditTimeField[kind]
	if !ok {
		return nil, fmt.Errorf("store: unknown audit kind %q", kind)
	}
	size := q.Size
	if size <= 0 {
		size = 100
	}
	now := q.Now
	if now.IsZero() {
		now = time.Now()
	}
	page := &AuditPage{}
	after := q.Offset
	const batch = 200
	err := s.backend.View(ctx, func(tx Tx) error {
		for {
			rows, err := tx.List(kind, RowQuery{AfterID: after, Limit: batch})
			if err != nil {
				return fmt.Errorf("store: listing %s: %w", kind, err)
			}
			for _, row := range rows {
				after = row.ID
				rec := map[string]any{}
				dec := json.NewDecoder(bytes.NewReader(row.Data))
				dec.UseNumber()
				if err := dec.Decode(&rec); err != nil {
					return fmt.Errorf("store: decoding %s %s: %w", kind, row.ID, err)
				}
				if !auditKeep(rec, tf, q, now) {
					continue
				}
				if len(page.Data) == size {
					// One more match exists: the page has a next one.
					page.Offset = page.Data[size-1]["id"].(string)
					return nil
				}
				page.Data = append(page.Data, rec)
			}
			if len(rows) < batch {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// auditKeep reports whether rec is unexpired and matches q, and turns its
// stored expiry into "ttl".
func auditKeep(rec map[string]any, timeField string, q AuditQuery, now time.Time) bool {
	if exp, ok := rec[auditExpiresKey]; ok {
		delete(rec, auditExpiresKey)
		n, _ := exp.(json.Number).Int64()
		left := n - now.Unix()
		if left <= 0 {
			return false
		}
		rec["ttl"] = left
	}
	ts := int64(0)
	if n, ok := rec[timeField].(json.Number); ok {
		ts, _ = n.Int64()
	}
	if q.After != 0 && ts < q.After || q.Before != 0 && ts > q.Before {
		return false
	}
	for k, want := range q.Fields {
		v, ok := rec[k]
		if !ok || v == nil || fmt.Sprint(v) != want {
			return false
		}
	}
	return true
}

// PurgeAudit deletes the audit records that expired at or before now and
// returns how many.
func (s *Store) PurgeAudit(ctx context.Context, now time.Time) (int, error) {
	deleted := 0
	err := s.backend.Update(ctx, func(tx Tx) error {
		for _, kind := range []string{AuditRequests, AuditObjects} {
			after := ""
			var expired []string
			for {
				rows, err := tx.List(kind, RowQuery{AfterID: after, Limit: 500})
				if err != nil {
					return fmt.Errorf("store: listing %s: %w", kind, err)
				}
				for _, row := range rows {
					after = row.ID
					var doc struct {
						Expires *int64 `json:"$expires_at"`
					}
					if json.Unmarshal(row.Data, &doc) == nil && doc.Expires != nil && *doc.Expires <= now.Unix() {
						expired = append(expired, row.ID)
					}
				}
				if len(rows) < 500 {
					break
				}
			}
			for _, id := range expired {
				if err := tx.Delete(kind, id); err != nil {
					return fmt.Errorf("store: purging %s %s: %w", kind, id, err)
				}
				deleted++
			}
		}
		return nil
	})
	return deleted, err
}
