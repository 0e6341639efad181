package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

func openAuditStore(t *testing.T) *store.Store {
	t.Helper()
	b, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return store.New(b, store.Options{})
}

// TestAuditRecords covers filters, paging in time order, expiry on read
// and purge, on SQLite.
func TestAuditRecords(t *testing.T) {
	ctx := context.Background()
	s := openAuditStore(t)
	base := time.Unix(1_700_000_000, 0)
	methods := []string{"POST", "PATCH", "DELETE", "POST", "POST"}
	var ids []string
	for i, m := range methods {
		exp := base.Add(time.Hour)
		if i == 4 {
			exp = base.Add(10 * time.Second) // expires early
		}
		id, err := s.RecordAudit(ctx, store.AuditRequests, map[string]any{
			"request_timestamp": base.Unix() + int64(i), "method": m, "status": 200 + i,
		}, exp)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	now := base.Add(time.Minute) // record 4 has expired
	list := func(q store.AuditQuery) *store.AuditPage {
		t.Helper()
		if q.Now.IsZero() {
			q.Now = now
		}
		p, err := s.ListAudit(ctx, store.AuditRequests, q)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	idsOf := func(p *store.AuditPage) []string {
		var out []string
		for _, r := range p.Data {
			out = append(out, r["id"].(string))
		}
		return out
	}
	tests := []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"all unexpired, in time order", store.AuditQuery{}, ids[:4]},
		{"method filter", store.AuditQuery{Fields: map[string]string{"method": "POST"}}, []string{ids[0], ids[3]}},
		{"status filter as text", store.AuditQuery{Fields: map[string]string{"status": "201"}}, ids[1:2]},
		{"after", store.AuditQuery{After: base.Unix() + 2}, ids[2:4]},
		{"before", store.AuditQuery{Before: base.Unix() + 1}, ids[:2]},
		{"absent field", store.AuditQuery{Fields: map[string]string{"nope": "x"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := idsOf(list(tc.q))
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	// Paging: 4 unexpired records, size 3 → 3 then 1.
	p1 := list(store.AuditQuery{Size: 3})
	if len(p1.Data) != 3 || p1.Offset != ids[2] {
		t.Fatalf("page 1: %v offset %q", idsOf(p1), p1.Offset)
	}
	p2 := list(store.AuditQuery{Size: 3, Offset: p1.Offset})
	if len(p2.Data) != 1 || p2.Data[0]["id"] != ids[3] || p2.Offset != "" {
		t.Fatalf("page 2: %v offset %q", idsOf(p2), p2.Offset)
	}
	if ttl, ok := p2.Data[0]["ttl"]; !ok || ttl.(int64) <= 0 {
		t.Fatalf("ttl = %v", p2.Data[0]["ttl"])
	}
	if _, leaked := p2.Data[0]["$expires_at"]; leaked {
		t.Fatal("internal expiry shown")
	}
	// Purge deletes only the expired record.
	n, err := s.PurgeAudit(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("purge = %d, %v; want 1", n, err)
	}
	if got := list(store.AuditQuery{Now: base}); len(got.Data) != 4 {
		t.Fatalf("after purge, even at the old time: %d records, want 4", len(got.Data))
	}
	// Audit records are no entities: no list nor export shows them.
	exp, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name := range exp {
		if name == store.AuditRequests || name == store.AuditObjects {
			t.Fatalf("export holds %s", name)
		}
	}
	if _, err := s.RecordAudit(ctx, "services", map[string]any{}, time.Time{}); err == nil {
		t.Fatal("recording an unknown kind succeeded")
	}
}
