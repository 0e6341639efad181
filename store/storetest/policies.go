package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// readersPolicy is "group admin, or group reader and method GET".
const readersPolicy = `package custom.readers

default allow := false

allow if "admin" in input.groups

allow if {
	"reader" in input.groups
	input.request.method == "GET"
}
`

// runPolicies checks the policies entity on one backend: CRUD by id and
// by name, unique names, tags, paging, and Rego that does not compile
// refused as a schema violation on `rego` naming line and column.
func runPolicies(t *testing.T, open Opener) {
	ctx := context.Background()
	newStore := func(t *testing.T) *store.Store {
		b := open(t, false)
		t.Cleanup(func() { b.Close() })
		return store.New(b, store.Options{Plugins: TestPlugins{}})
	}
	t.Run("PoliciesCRUD", func(t *testing.T) {
		s := newStore(t)
		p, err := s.Insert(ctx, "policies", map[string]any{"name": "readers", "rego": readersPolicy, "tags": []any{"team-a"}})
		if err != nil {
			t.Fatal(err)
		}
		if !store.IsUUID(p["id"].(string)) || p["created_at"] == nil || p["updated_at"] == nil || p["rego"] != readersPolicy {
			t.Errorf("inserted %v", p)
		}
		got, err := s.Get(ctx, "policies", "readers")
		if err != nil || got["id"] != p["id"] {
			t.Fatalf("get by name: %v, %v", got, err)
		}
		_, err = s.Insert(ctx, "policies", map[string]any{"name": "readers", "rego": readersPolicy})
		if e, ok := store.AsError(err); !ok || e.Code != store.CodeUniqueViolation {
			t.Errorf("duplicate name: %v", err)
		}
		upd, err := s.Update(ctx, "policies", "readers", map[string]any{"rego": "package custom.readers\nallow if true\n"})
		if err != nil || !strings.Contains(upd["rego"].(string), "allow if true") {
			t.Fatalf("update: %v, %v", upd, err)
		}
		if _, err := s.Insert(ctx, "policies", map[string]any{"name": "other", "rego": "package other\nallow := false\n"}); err != nil {
			t.Fatal(err)
		}
		page, err := s.List(ctx, "policies", store.ListQuery{Tags: []string{"team-a"}})
		if err != nil || len(page.Data) != 1 || page.Data[0]["name"] != "readers" {
			t.Errorf("tags: %v, %v", page, err)
		}
		page, err = s.List(ctx, "policies", store.ListQuery{Size: 1})
		if err != nil || len(page.Data) != 1 || page.Offset == "" {
			t.Errorf("paging: %v, %v", page, err)
		}
		if _, err := s.Delete(ctx, "policies", "readers"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Count(ctx, "policies"); n != 1 {
			t.Errorf("%d policies after delete, want 1", n)
		}
	})
	t.Run("PoliciesThatDoNotCompile", func(t *testing.T) {
		s := newStore(t)
		for _, c := range []struct {
			in   map[string]any
			want string // in the rego field's message
		}{
			{map[string]any{"name": "p", "rego": "package p\n\nallow if {\n"}, "line 4, column 1: rego_parse_error"},
			{map[string]any{"name": "p", "rego": "package p\nallow if x > 1\n"}, "line 2, column 10: rego_unsafe_var_error"},
			{map[string]any{"name": "p", "rego": "package gatehouse.acl\nallow := true\n"}, "line 1, column 1"},
			{map[string]any{"name": "p", "rego": "package p\nallow if http.send({}).status_code == 200\n"}, "undefined function http.send"},
		} {
			_, err := s.Insert(ctx, "policies", c.in)
			e, ok := store.AsError(err)
			if !ok || e.Code != store.CodeSchemaViolation {
				t.Errorf("%q: %v, want a schema violation", c.in["rego"], err)
				continue
			}
			if msg, _ := e.Fields["rego"].(string); !strings.Contains(msg, c.want) {
				t.Errorf("%q: rego error %q, want %q", c.in["rego"], msg, c.want)
			}
		}
		_, err := s.Insert(ctx, "policies", map[string]any{"name": "p"})
		if e, ok := store.AsError(err); !ok || e.Fields["rego"] != "required field missing" {
			t.Errorf("missing rego: %v", err)
		}
		p, err := s.Insert(ctx, "policies", map[string]any{"name": "ok", "rego": readersPolicy})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Update(ctx, "policies", p["id"].(string), map[string]any{"rego": "package p\nallow if {"})
		if e, ok := store.AsError(err); !ok || e.Code != store.CodeSchemaViolation {
			t.Errorf("update with bad rego: %v", err)
		}
		if got, _ := s.Get(ctx, "policies", "ok"); got["rego"] != readersPolicy {
			t.Errorf("a refused update changed the policy: %v", got["rego"])
		}
	})
}
