package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// emptyModule is the smallest valid Wasm module: discovery reads file
// names only, so the filters of these tests need no code.
var emptyModule = []byte("\x00asm\x01\x00\x00\x00")

// wasmFiltersDir returns a wasm_filters_path holding the filters "tests"
// (no config schema) and "rt_with_validation" (testdata/wasmfilters'
// meta.json: config must be an object with "add").
func wasmFiltersDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	meta, err := os.ReadFile("testdata/wasmfilters/rt_with_validation.meta.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"tests.wasm": emptyModule, "rt_with_validation.wasm": emptyModule,
		"rt_with_validation.meta.json": meta, "ignored.txt": []byte("not a filter"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wasmSettings turns wasm on with the test filters on top of a backend's
// settings.
func wasmSettings(t *testing.T, base map[string]string) map[string]string {
	out := map[string]string{"wasm": "on", "wasm_filters_path": wasmFiltersDir(t)}
	for k, v := range base {
		out[k] = v
	}
	return out
}

func compactJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestFilterChains: Kong's /filter-chains, the nested route and service
// paths, tags, paging, the one-chain-per-scope rule and the cascades, over
// real HTTP on both databases.
func TestFilterChains(t *testing.T) {
	for name, settings := range backends {
		t.Run(name, func(t *testing.T) {
			node := startNode(t, wasmSettings(t, settings(t)))
			c := &client{t: t, base: "http://" + node.Addr("admin")}
			svc := c.json("POST", "/services", map[string]any{"name": "svc", "url": "http://up.test"})
			expect(t, svc, http.StatusCreated, "service")
			route := c.json("POST", "/services/svc/routes", map[string]any{"name": "r", "paths": []string{"/r"}})
			expect(t, route, http.StatusCreated, "route")

			for _, rq := range []struct{ method, path string }{
				{"PATCH", "/filter-chains"}, {"PUT", "/filter-chains"}, {"DELETE", "/filter-chains"},
				{"POST", "/filter-chains/6a4c9ac7-2d29-4b53-9dbe-1c7e1a1bd5c4"},
				{"PATCH", "/routes/r/filter-chains"}, {"PUT", "/services/svc/filter-chains"}, {"DELETE", "/routes/r/filter-chains"},
			} {
				expect(t, c.json(rq.method, rq.path, map[string]any{}), http.StatusMethodNotAllowed, rq.method+" "+rq.path)
			}
			empty := c.get("/filter-chains")
			expect(t, empty, http.StatusOK, "empty list")
			equal(t, "empty list", compactJSON(empty.body), `{"data":[],"next":null}`)

			chain := c.json("POST", "/filter-chains", map[string]any{
				"name": "route-chain", "route": map[string]any{"id": route.str("id")}, "tags": []string{"a"},
				"filters": []any{
					map[string]any{"name": "tests", "config": "123"},
					map[string]any{"name": "rt_with_validation", "config": map[string]any{"add": map[string]any{"headers": []string{"x-foo:1"}}}},
				},
			})
			expect(t, chain, http.StatusCreated, "route chain")
			equal(t, "enabled default", chain.get("enabled"), true)
			equal(t, "service", chain.get("service"), nil)
			equal(t, "filter 0", compactJSON(chain.get("filters.0")), `{"config":"123","enabled":true,"name":"tests"}`)
			equal(t, "filter 1 config", compactJSON(chain.get("filters.1.config")), `{"add":{"headers":["x-foo:1"]}}`)
			id := chain.str("id")

			expect(t, c.get("/filter-chains/route-chain"), http.StatusOK, "by name")
			expect(t, c.get("/filter-chains/"+id), http.StatusOK, "by id")
			expect(t, c.get("/routes/r/filter-chains/route-chain"), http.StatusOK, "nested by name")
			expect(t, c.get("/services/svc/filter-chains/route-chain"), http.StatusNotFound, "not the service's")
			equal(t, "chain's route", c.get("/filter-chains/route-chain/route").get("id"), route.str("id"))

			nested := c.json("POST", "/services/svc/filter-chains", map[string]any{"name": "svc-chain",
				"filters": []any{map[string]any{"name": "tests", "enabled": false}}})
			expect(t, nested, http.StatusCreated, "nested service chain")
			equal(t, "nested scope", nested.get("service.id"), svc.str("id"))

			dup := c.json("POST", "/routes/r/filter-chains", map[string]any{"filters": []any{map[string]any{"name": "tests"}}})
			expect(t, dup, http.StatusConflict, "second chain on the route")

			patched := c.json("PATCH", "/filter-chains/route-chain", map[string]any{"tags": []string{"foo", "bar"}, "enabled": false,
				"filters": []any{map[string]any{"name": "tests", "config": "123", "enabled": true}, map[string]any{"name": "tests", "config": "456", "enabled": false}}})
			expect(t, patched, http.StatusOK, "patch")
			equal(t, "patched tags", compactJSON(patched.get("tags")), `["foo","bar"]`)
			equal(t, "patched filters", compactJSON(patched.get("filters")),
				`[{"config":"123","enabled":true,"name":"tests"},{"config":"456","enabled":false,"name":"tests"}]`)
			expect(t, c.json("PATCH", "/filter-chains/route-chain", map[string]any{"enabled": true}), http.StatusOK, "re-enable")

			put := c.json("PUT", "/services/svc/filter-chains/svc-chain", map[string]any{"filters": []any{map[string]any{"name": "tests", "config": "s"}}})
			expect(t, put, http.StatusOK, "put")
			equal(t, "put keeps the scope", put.get("service.id"), svc.str("id"))

			equal(t, "tag filter", len(c.get("/filter-chains?tags=foo").get("data").([]any)), 1)
			equal(t, "route listing", c.get("/routes/r/filter-chains").get("data.0.name"), "route-chain")
			equal(t, "service listing", c.get("/services/svc/filter-chains").get("data.0.name"), "svc-chain")
			page := c.get("/filter-chains?size=1")
			equal(t, "page size", len(page.get("data").([]any)), 1)
			next := page.str("next")
			if !strings.HasPrefix(next, "/filter-chains?") || !strings.Contains(next, "offset=") {
				t.Fatalf("next = %q", next)
			}
			second := c.get(next)
			equal(t, "second page", len(second.get("data").([]any)), 1)
			equal(t, "last page", second.get("next"), nil)
			if second.get("data.0.id") == page.get("data.0.id") {
				t.Fatal("the second page repeats the first")
			}

			// Kong's /routes/{r}/filters/{all,enabled,disabled}: the
			// service's chain first, then the route's.
			all := c.get("/routes/r/filters/all")
			expect(t, all, http.StatusOK, "filters/all")
			want := fmt.Sprintf(`{"filters":[`+
				`{"config":"s","enabled":true,"filter_chain":{"id":%q,"name":"svc-chain"},"from":"service","name":"tests"},`+
				`{"config":"123","enabled":true,"filter_chain":{"id":%q,"name":"route-chain"},"from":"route","name":"tests"},`+
				`{"config":"456","enabled":false,"filter_chain":{"id":%q,"name":"route-chain"},"from":"route","name":"tests"}]}`,
				put.str("id"), id, id)
			equal(t, "filters/all", compactJSON(all.body), want)
			equal(t, "filters/enabled", len(c.get("/routes/r/filters/enabled").get("filters").([]any)), 2)
			equal(t, "filters/disabled", c.get("/routes/r/filters/disabled").get("filters.0.config"), "456")
			expect(t, c.get("/routes/nope/filters/all"), http.StatusNotFound, "filters of a missing route")
			expect(t, c.json("POST", "/routes/r/filters/all", map[string]any{}), http.StatusMethodNotAllowed, "POST filters/all")

			sch := c.get("/schemas/filters/rt_with_validation")
			expect(t, sch, http.StatusOK, "filter schema")
			equal(t, "filter schema", sch.get("$schema"), "http://json-schema.org/draft-04/schema#")
			equal(t, "filter schema required", compactJSON(sch.get("required")), `["add"]`)
			equal(t, "default filter schema", compactJSON(c.get("/schemas/filters/tests").body),
				`{"$schema":"http://json-schema.org/draft-04/schema#","type":["string","null"]}`)
			missing := c.get("/schemas/filters/i-do-not-exist")
			expect(t, missing, http.StatusNotFound, "missing filter schema")
			equal(t, "missing filter schema", missing.get("message"), "Filter 'i-do-not-exist' not found")
			// Kong's /schemas/{name} takes the entity's name, not its path.
			es := c.get("/schemas/filter_chains")
			expect(t, es, http.StatusOK, "entity schema")
			expect(t, c.get("/schemas/filter-chains"), http.StatusNotFound, "schema by path, as Kong")
			valid := c.json("POST", "/schemas/filter_chains/validate", map[string]any{"service": map[string]any{"id": svc.str("id")}, "filters": []any{map[string]any{"name": "tests"}}})
			expect(t, valid, http.StatusOK, "schema validation")
			if !strings.Contains(string(es.raw), `"mutually_exclusive":["service","route"]`) {
				t.Fatalf("entity schema lacks the scope checks: %s", es.raw)
			}

			// Cascades.
			expect(t, c.do("DELETE", "/routes/r", "", nil), http.StatusNoContent, "delete route")
			expect(t, c.get("/filter-chains/route-chain"), http.StatusNotFound, "route chain after its route")
			expect(t, c.get("/filter-chains/svc-chain"), http.StatusOK, "service chain stays")
			expect(t, c.do("DELETE", "/services/svc", "", nil), http.StatusNoContent, "delete service")
			equal(t, "no chain left", len(c.get("/filter-chains").get("data").([]any)), 0)
		})
	}
}

// TestFilterChainSchemaErrors: Kong's error bodies for chains it refuses.
func TestFilterChainSchemaErrors(t *testing.T) {
	for name, settings := range backends {
		t.Run(name, func(t *testing.T) {
			node := startNode(t, wasmSettings(t, settings(t)))
			c := &client{t: t, base: "http://" + node.Addr("admin")}
			svc := c.json("POST", "/services", map[string]any{"name": "svc", "url": "http://up.test"})
			route := c.json("POST", "/routes", map[string]any{"name": "r", "paths": []string{"/r"}})
			sref := map[string]any{"id": svc.str("id")}
			rref := map[string]any{"id": route.str("id")}
			ok := []any{map[string]any{"name": "tests"}}
			for _, tc := range []struct {
				name    string
				body    map[string]any
				fields  string
				message string
			}{
				{"route and service", map[string]any{"route": rref, "service": sref, "filters": ok},
					`{"@entity":["only one or none of these fields must be set: 'service', 'route'"]}`,
					"schema violation (only one or none of these fields must be set: 'service', 'route')"},
				{"neither", map[string]any{"filters": ok},
					`{"@entity":["at least one of these fields must be non-empty: 'service', 'route'"]}`,
					"schema violation (at least one of these fields must be non-empty: 'service', 'route')"},
				{"unknown filter", map[string]any{"service": sref, "filters": []any{map[string]any{"name": "tests"}, map[string]any{"name": "nope"}}},
					`{"filters":[null,{"name":"no such filter"}]}`, "schema violation (filters.2.name: no such filter)"},
				{"config JSON without a schema", map[string]any{"service": sref, "filters": []any{map[string]any{"name": "tests", "config": map[string]any{"a": 1}}}},
					`{"filters":[{"config":"wrong type: expected one of string, null, got object"}]}`, ""},
				{"config against the filter's schema", map[string]any{"service": sref, "filters": []any{map[string]any{"name": "rt_with_validation", "config": map[string]any{}}}},
					`{"filters":[{"config":"property add is required"}]}`, ""},
				{"empty filters", map[string]any{"service": sref, "filters": []any{}},
					`{"filters":"length must be at least 1"}`, ""},
				{"bad enabled", map[string]any{"service": sref, "filters": ok, "enabled": "nope"},
					`{"enabled":"expected a boolean"}`, ""},
				{"missing route", map[string]any{"route": map[string]any{"id": "6a4c9ac7-2d29-4b53-9dbe-1c7e1a1bd5c4"}, "filters": ok},
					"", "the foreign key '{id=\"6a4c9ac7-2d29-4b53-9dbe-1c7e1a1bd5c4\"}' does not reference an existing 'routes' entity."},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := c.json("POST", "/filter-chains", tc.body)
					expect(t, r, http.StatusBadRequest, tc.name)
					if tc.fields != "" {
						equal(t, "fields", compactJSON(r.get("fields")), tc.fields)
						equal(t, "code", r.get("code"), 2.0)
						equal(t, "name", r.get("name"), "schema violation")
					}
					if tc.message != "" && !strings.Contains(r.str("message"), tc.message) {
						t.Fatalf("message %q, want %q", r.str("message"), tc.message)
					}
				})
			}
			bad := c.do("POST", "/filter-chains", "application/json", []byte(`{"service":`))
			expect(t, bad, http.StatusBadRequest, "truncated JSON")
		})
	}
}

// TestFilterChainsWasmOff: with wasm off (the default) Kong answers 400
// on every filter chain endpoint.
func TestFilterChainsWasmOff(t *testing.T) {
	for name, settings := range backends {
		t.Run(name, func(t *testing.T) {
			node := startNode(t, settings(t))
			c := &client{t: t, base: "http://" + node.Addr("admin")}
			svc := c.json("POST", "/services", map[string]any{"name": "svc", "url": "http://up.test"})
			expect(t, svc, http.StatusCreated, "service")
			expect(t, c.json("POST", "/routes", map[string]any{"name": "r", "paths": []string{"/r"}}), http.StatusCreated, "route")
			for _, rq := range []struct{ method, path string }{
				{"GET", "/filter-chains"}, {"POST", "/filter-chains"}, {"PATCH", "/filter-chains/a-name"},
				{"PUT", "/filter-chains/another-name"}, {"DELETE", "/filter-chains/x"}, {"GET", "/filter-chains/x/route"},
				{"GET", "/services/svc/filter-chains"}, {"POST", "/routes/r/filter-chains"},
				{"DELETE", "/routes/r/filter-chains/x"}, {"GET", "/routes/r/filters/enabled"},
				{"GET", "/routes/r/filters/disabled"}, {"GET", "/routes/r/filters/all"},
			} {
				r := c.json(rq.method, rq.path, map[string]any{"filters": []any{map[string]any{"name": "tests"}}, "service": map[string]any{"id": svc.str("id")}})
				expect(t, r, http.StatusBadRequest, rq.method+" "+rq.path)
				equal(t, rq.method+" "+rq.path, r.get("message"), "this endpoint is only available when wasm is enabled")
			}
			expect(t, c.get("/schemas/filter_chains"), http.StatusOK, "entity schema still served")
			expect(t, c.get("/schemas/filters/tests"), http.StatusNotFound, "no filters when wasm is off")
		})
	}
}

// TestFilterChainsDBLess: filter chains in kong.yml, top level and nested
// under routes and services, and the refusals a declarative file gets.
func TestFilterChainsDBLess(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kong.yml")
	if err := os.WriteFile(file, []byte(`_format_version: "3.0"
services:
- name: svc
  url: http://up.test
  filter_chains:
  - name: svc-chain
    filters:
    - name: tests
      config: "abc"
  routes:
  - name: r
    paths: ["/r"]
    filter_chains:
    - name: route-chain
      filters:
      - name: rt_with_validation
        config:
          add:
            headers: ["x-a:1"]
routes:
- name: r2
  paths: ["/r2"]
filter_chains:
- name: top
  route: r2
  enabled: false
  tags: [t]
  filters:
  - name: tests
    enabled: false
`), 0o644); err != nil {
		t.Fatal(err)
	}
	node := startNode(t, wasmSettings(t, map[string]string{"database": "off", "declarative_config": file}))
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	svcID := c.get("/services/svc").str("id")
	equal(t, "service chain", c.get("/filter-chains/svc-chain").get("service.id"), svcID)
	equal(t, "route chain", c.get("/filter-chains/route-chain").get("route.id"), c.get("/routes/r").str("id"))
	equal(t, "route chain config", compactJSON(c.get("/filter-chains/route-chain").get("filters.0.config")), `{"add":{"headers":["x-a:1"]}}`)
	top := c.get("/filter-chains/top")
	equal(t, "top-level chain", top.get("route.id"), c.get("/routes/r2").str("id"))
	equal(t, "top-level enabled", top.get("enabled"), false)
	equal(t, "filter enabled", top.get("filters.0.enabled"), false)
	equal(t, "nested listing", c.get("/routes/r/filter-chains").get("data.0.name"), "route-chain")
	equal(t, "route filters", len(c.get("/routes/r/filters/enabled").get("filters").([]any)), 2)
	w := c.json("POST", "/filter-chains", map[string]any{"service": map[string]any{"id": svcID}, "filters": []any{map[string]any{"name": "tests"}}})
	expect(t, w, http.StatusMethodNotAllowed, "write in DB-less mode")

	bad := c.form("POST", "/config", "config=_format_version: \"3.0\"\nservices:\n- name: s\n  host: s.test\n  filter_chains:\n  - filters:\n    - name: nope\n")
	expect(t, bad, http.StatusBadRequest, "unknown filter in kong.yml")
	equal(t, "code", bad.get("code"), 14.0)
	if !strings.Contains(string(bad.raw), "no such filter") {
		t.Fatalf("kong.yml error lacks the filter: %s", bad.raw)
	}
	bad = c.form("POST", "/config", "config=_format_version: \"3.0\"\nroutes:\n- name: x\n  paths: [/x]\n  filter_chains:\n  - filters:\n    - name: tests\n      config: {a: 1}\n")
	expect(t, bad, http.StatusBadRequest, "object config without a schema in kong.yml")
	if !strings.Contains(string(bad.raw), "wrong type: expected one of string, null, got object") {
		t.Fatalf("kong.yml error lacks the config error: %s", bad.raw)
	}
	expect(t, c.get("/filter-chains/top"), http.StatusOK, "config kept after a bad upload")

	// The export holds the chains, nested or not, and loads back.
	exported := c.get("/config")
	expect(t, exported, http.StatusOK, "GET /config")
	if !strings.Contains(exported.str("config"), "filter_chains") || !strings.Contains(exported.str("config"), "route-chain") {
		t.Fatalf("export lacks the filter chains: %s", exported.str("config"))
	}
	expect(t, c.form("POST", "/config", "config="+exported.str("config")), http.StatusCreated, "export loads back")
	equal(t, "chain after the round trip", c.get("/filter-chains/route-chain").get("filters.0.config.add.headers.0"), "x-a:1")
}

// TestFilterChainsDBLessWasmOff: with wasm off a kong.yml declaring filter
// chains is refused with Kong's entity error.
func TestFilterChainsDBLessWasmOff(t *testing.T) {
	node := startNode(t, map[string]string{"database": "off"})
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	bad := c.form("POST", "/config", "config=_format_version: \"3.0\"\nservices:\n- name: s\n  host: s.test\n  filter_chains:\n  - filters:\n    - name: tests\n")
	expect(t, bad, http.StatusBadRequest, "filter chains with wasm off")
	equal(t, "code", bad.get("code"), 14.0)
	if !strings.Contains(string(bad.raw), "wasm support is not enabled") {
		t.Fatalf("error lacks the wasm status: %s", bad.raw)
	}
}
