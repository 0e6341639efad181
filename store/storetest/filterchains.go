package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// TestWasm is a Wasm state with two filters: "tests" without a config
// schema (its config is a string or null) and "rt_with_validation",
// whose config must be an object with an "add" property.
func TestWasm() *store.WasmState {
	return &store.WasmState{Enabled: true, Filters: []store.WasmFilter{
		{Name: "rt_with_validation", Path: "/filters/rt_with_validation.wasm", ConfigSchema: map[string]any{
			"type":     "object",
			"required": []any{"add"},
			"properties": map[string]any{
				"add": map[string]any{"type": "object", "properties": map[string]any{
					"headers": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
				}},
			},
		}},
		{Name: "tests", Path: "/filters/tests.wasm"},
	}}
}

// runFilterChains checks Kong's filter_chains entity on one backend: CRUD,
// Kong's schema errors, one chain per route or service, nested listing,
// tags, paging, cascades and the wasm status.
func runFilterChains(t *testing.T, open Opener) {
	ctx := context.Background()
	newStore := func(t *testing.T, w *store.WasmState) *store.Store {
		b := open(t, false)
		t.Cleanup(func() { b.Close() })
		return store.New(b, store.Options{Plugins: TestPlugins{}, Wasm: w})
	}
	ins := func(t *testing.T, s *store.Store, entity string, in map[string]any) map[string]any {
		t.Helper()
		rec, err := s.Insert(ctx, entity, in)
		if err != nil {
			t.Fatalf("insert %s %v: %v", entity, in, err)
		}
		return rec
	}
	fieldsOf := func(t *testing.T, err error) string {
		t.Helper()
		e, ok := store.AsError(err)
		if !ok || e.Code != store.CodeSchemaViolation {
			t.Fatalf("got %v, want a schema violation", err)
		}
		b, _ := json.Marshal(e.Fields)
		return string(b)
	}

	t.Run("FilterChainsCRUD", func(t *testing.T) {
		s := newStore(t, TestWasm())
		svc := ins(t, s, "services", map[string]any{"name": "svc", "url": "http://up.test"})
		route := ins(t, s, "routes", map[string]any{"name": "r", "paths": []any{"/r"}, "service": map[string]any{"id": svc["id"]}})
		chain := ins(t, s, "filter_chains", map[string]any{
			"name": "chain-1", "route": map[string]any{"id": route["id"]}, "tags": []any{"a"},
			"filters": []any{
				map[string]any{"name": "tests", "config": "123"},
				map[string]any{"name": "rt_with_validation", "config": map[string]any{"add": map[string]any{"headers": []any{"x-foo:1"}}}, "enabled": false},
			},
		})
		if chain["enabled"] != true || chain["service"] != nil || chain["created_at"] == nil {
			t.Fatalf("defaults: %v", chain)
		}
		f0 := chain["filters"].([]any)[0].(map[string]any)
		if !reflect.DeepEqual(f0, map[string]any{"name": "tests", "config": "123", "enabled": true}) {
			t.Fatalf("filter defaults: %v", f0)
		}
		got, err := s.Get(ctx, "filter_chains", "chain-1")
		if err != nil || got["id"] != chain["id"] {
			t.Fatalf("get by name: %v %v", got, err)
		}
		f1 := got["filters"].([]any)[1].(map[string]any)
		if fmt.Sprint(f1["config"]) != "map[add:map[headers:[x-foo:1]]]" || f1["enabled"] != false {
			t.Fatalf("JSON config round trip: %v", f1)
		}
		upd, err := s.Update(ctx, "filter_chains", "chain-1", map[string]any{"enabled": false, "tags": []any{"foo", "bar"},
			"filters": []any{map[string]any{"name": "tests", "config": "456", "enabled": false}}})
		if err != nil || upd["enabled"] != false || len(upd["filters"].([]any)) != 1 {
			t.Fatalf("update: %v %v", upd, err)
		}
		// One chain per route: a second is refused.
		_, err = s.Insert(ctx, "filter_chains", map[string]any{"route": map[string]any{"id": route["id"]},
			"filters": []any{map[string]any{"name": "tests"}}})
		if e, ok := store.AsError(err); !ok || e.Code != store.CodeUniqueViolation {
			t.Fatalf("second chain on a route: %v", err)
		}
		// The service takes its own chain.
		ins(t, s, "filter_chains", map[string]any{"name": "svc-chain", "service": map[string]any{"id": svc["id"]},
			"filters": []any{map[string]any{"name": "tests"}}})
		page, err := s.List(ctx, "filter_chains", store.ListQuery{ForeignField: "route", ForeignKey: "r"})
		if err != nil || len(page.Data) != 1 || page.Data[0]["name"] != "chain-1" {
			t.Fatalf("nested route listing: %v %v", page, err)
		}
		page, err = s.List(ctx, "filter_chains", store.ListQuery{ForeignField: "service", ForeignKey: "svc"})
		if err != nil || len(page.Data) != 1 || page.Data[0]["name"] != "svc-chain" {
			t.Fatalf("nested service listing: %v %v", page, err)
		}
		page, err = s.List(ctx, "filter_chains", store.ListQuery{Tags: []string{"foo"}})
		if err != nil || len(page.Data) != 1 || page.Data[0]["name"] != "chain-1" {
			t.Fatalf("tags: %v %v", page, err)
		}
		page, err = s.List(ctx, "filter_chains", store.ListQuery{Size: 1})
		if err != nil || len(page.Data) != 1 || page.Offset == "" {
			t.Fatalf("paging: %v %v", page, err)
		}
		next, err := s.List(ctx, "filter_chains", store.ListQuery{Size: 1, Offset: page.Offset})
		if err != nil || len(next.Data) != 1 || next.Data[0]["id"] == page.Data[0]["id"] || next.Offset != "" {
			t.Fatalf("second page: %v %v", next, err)
		}
		// Cascades: deleting the route deletes its chain; the service's
		// goes with the service.
		if _, err := s.Delete(ctx, "routes", "r"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Count(ctx, "filter_chains"); n != 1 {
			t.Fatalf("after route delete: %d chains", n)
		}
		if _, err := s.Delete(ctx, "services", "svc"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Count(ctx, "filter_chains"); n != 0 {
			t.Fatalf("after service delete: %d chains", n)
		}
	})

	t.Run("FilterChainsSchemaErrors", func(t *testing.T) {
		s := newStore(t, TestWasm())
		svc := ins(t, s, "services", map[string]any{"name": "svc", "url": "http://up.test"})
		route := ins(t, s, "routes", map[string]any{"name": "r", "paths": []any{"/r"}})
		sref := map[string]any{"id": svc["id"]}
		rref := map[string]any{"id": route["id"]}
		ok := []any{map[string]any{"name": "tests"}}
		for _, c := range []struct {
			name string
			in   map[string]any
			want string
		}{
			{"both", map[string]any{"route": rref, "service": sref, "filters": ok},
				`{"@entity":["only one or none of these fields must be set: 'service', 'route'"]}`},
			{"neither", map[string]any{"filters": ok},
				`{"@entity":["at least one of these fields must be non-empty: 'service', 'route'"]}`},
			{"no filters", map[string]any{"service": sref, "filters": []any{}},
				`{"filters":"length must be at least 1"}`},
			{"missing filters", map[string]any{"service": sref},
				`{"filters":"required field missing"}`},
			{"unknown filters", map[string]any{"service": sref, "filters": []any{
				map[string]any{"name": "tests"}, map[string]any{"name": "nope"},
				map[string]any{"name": "tests"}, map[string]any{"name": "missing"}}},
				`{"filters":[null,{"name":"no such filter"},null,{"name":"no such filter"}]}`},
			{"object config without schema", map[string]any{"service": sref, "filters": []any{
				map[string]any{"name": "tests", "config": map[string]any{"a": 1.0}}}},
				`{"filters":[{"config":"wrong type: expected one of string, null, got object"}]}`},
			{"config against schema", map[string]any{"service": sref, "filters": []any{
				map[string]any{"name": "rt_with_validation", "config": map[string]any{"remove": true}}}},
				`{"filters":[{"config":"property add is required"}]}`},
			{"nested config type", map[string]any{"service": sref, "filters": []any{
				map[string]any{"name": "rt_with_validation", "config": map[string]any{"add": map[string]any{"headers": 1234.0}}}}},
				`{"filters":[{"config":"property add validation failed: property headers validation failed: wrong type: expected array, got number"}]}`},
			{"null config against an object schema", map[string]any{"service": sref, "filters": []any{
				map[string]any{"name": "rt_with_validation"}}},
				`{"filters":[{"config":"wrong type: expected object, got null"}]}`},
			{"string config, no schema, disabled filter", map[string]any{"service": sref, "filters": []any{
				map[string]any{"name": "tests", "enabled": false, "config": 5.0}}},
				`{"filters":[{"config":"wrong type: expected one of string, null, got number"}]}`},
			{"bad enabled", map[string]any{"service": sref, "enabled": "yes", "filters": ok},
				`{"enabled":"expected a boolean"}`},
			{"bad id", map[string]any{"id": "nope", "service": sref, "filters": ok},
				`{"id":"expected a valid UUID"}`},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.Insert(ctx, "filter_chains", c.in)
				if got := fieldsOf(t, err); got != c.want {
					t.Fatalf("fields %s, want %s", got, c.want)
				}
			})
		}
	})

	t.Run("FilterChainsWasmStatus", func(t *testing.T) {
		for _, c := range []struct {
			name string
			w    *store.WasmState
			want string
		}{
			{"off", nil, `{"@entity":["wasm support is not enabled"],"filters":[{"name":"no such filter"}]}`},
			{"disabled", &store.WasmState{Enabled: false, Filters: TestWasm().Filters}, `{"@entity":["wasm support is not enabled"],"filters":[{"name":"no such filter"}]}`},
			{"no filters", &store.WasmState{Enabled: true}, `{"@entity":["no wasm filters are available"],"filters":[{"name":"no such filter"}]}`},
		} {
			t.Run(c.name, func(t *testing.T) {
				s := newStore(t, c.w)
				svc := ins(t, s, "services", map[string]any{"name": "svc", "url": "http://up.test"})
				_, err := s.Insert(ctx, "filter_chains", map[string]any{"service": map[string]any{"id": svc["id"]},
					"filters": []any{map[string]any{"name": "tests"}}})
				if got := fieldsOf(t, err); got != c.want {
					t.Fatalf("fields %s, want %s", got, c.want)
				}
			})
		}
	})
}
