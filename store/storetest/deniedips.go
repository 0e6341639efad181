package storetest

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// runDeniedIPs checks the denied_ips entity on one backend: addresses and
// CIDR ranges, unique ip, expires_at and reason kept, invalid addresses
// refused on the ip field, tags and delete.
func runDeniedIPs(t *testing.T, open Opener) {
	ctx := context.Background()
	t.Run("DeniedIPs", func(t *testing.T) {
		b := open(t, false)
		t.Cleanup(func() { b.Close() })
		s := store.New(b, store.Options{Plugins: TestPlugins{}})
		a, err := s.Insert(ctx, "denied_ips", map[string]any{"ip": "203.0.113.7", "reason": "dos_by_ip", "expires_at": 4102444800, "tags": []any{"auto"}})
		if err != nil {
			t.Fatal(err)
		}
		if !store.IsUUID(a["id"].(string)) || a["created_at"] == nil || a["reason"] != "dos_by_ip" {
			t.Errorf("inserted %v", a)
		}
		if exp, _ := a["expires_at"].(int64); exp != 4102444800 {
			if f, ok := a["expires_at"].(float64); !ok || f != 4102444800 {
				t.Errorf("expires_at %v (%T)", a["expires_at"], a["expires_at"])
			}
		}
		if _, err := s.Insert(ctx, "denied_ips", map[string]any{"ip": "2001:db8::/32"}); err != nil {
			t.Fatal(err)
		}
		_, err = s.Insert(ctx, "denied_ips", map[string]any{"ip": "203.0.113.7"})
		if e, ok := store.AsError(err); !ok || e.Code != store.CodeUniqueViolation {
			t.Errorf("duplicate ip: %v", err)
		}
		for _, bad := range []string{"nope", "10.0.0.0/33", ""} {
			_, err = s.Insert(ctx, "denied_ips", map[string]any{"ip": bad})
			if e, ok := store.AsError(err); !ok || e.Code != store.CodeSchemaViolation || e.Fields["ip"] == nil {
				t.Errorf("ip %q: %v, want a schema violation on ip", bad, err)
			}
		}
		page, err := s.List(ctx, "denied_ips", store.ListQuery{Tags: []string{"auto"}})
		if err != nil || len(page.Data) != 1 || page.Data[0]["ip"] != "203.0.113.7" {
			t.Errorf("tags: %v, %v", page, err)
		}
		if _, err := s.Delete(ctx, "denied_ips", a["id"].(string)); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Count(ctx, "denied_ips"); n != 1 {
			t.Errorf("%d denied ips after delete, want 1", n)
		}
	})
}
