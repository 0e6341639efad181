package gokong_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// FilterChain and Filter are go-kong's (kong/filter_chain.go).
type FilterChain struct {
	CreatedAt *int      `json:"created_at,omitempty"`
	Enabled   *bool     `json:"enabled,omitempty"`
	Filters   []*Filter `json:"filters,omitempty"`
	ID        *string   `json:"id,omitempty"`
	Name      *string   `json:"name,omitempty"`
	Route     *Route    `json:"route,omitempty"`
	Service   *Service  `json:"service,omitempty"`
	Tags      []*string `json:"tags,omitempty"`
	UpdatedAt *int      `json:"updated_at,omitempty"`
}

// Filter is one filter of a FilterChain.
type Filter struct {
	Config  *json.RawMessage `json:"config,omitempty"`
	Enabled *bool            `json:"enabled,omitempty"`
	Name    *string          `json:"name,omitempty"`
}

func raw(s string) *json.RawMessage { m := json.RawMessage(s); return &m }

// TestGoKongFilterChains syncs filter chains as decK does (PUT by id with
// the whole route or service object read back, PATCH, list, delete) on
// one keep-alive connection, on both databases.
func TestGoKongFilterChains(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"tests.wasm", "obj.wasm"} {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "obj.meta.json"), []byte(`{"config_schema":{"type":"object","required":["k"]}}`), 0o644); err != nil {
				t.Fatal(err)
			}
			settings := map[string]string{"wasm": "on", "wasm_filters_path": dir}
			for k, v := range b.settings(t) {
				settings[k] = v
			}
			n := startNode(t, settings)
			hc, dials := oneConn()
			kc := NewClient("http://"+n.Addr("admin"), hc)
			ctx := context.Background()
			must := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			svc, err := kc.CreateService(ctx, &Service{ID: String(id('s', 1)), Name: String("svc"), Host: String("up.test"), Port: Int(80), Protocol: String("http")})
			must("service", err)
			route, err := kc.CreateRoute(ctx, &Route{ID: String(id('r', 1)), Name: String("r"), Paths: StringSlice("/r"), Service: &Service{ID: svc.ID}})
			must("route", err)
			for pass := 0; pass < 2; pass++ { // the second pass is idempotent
				out := new(FilterChain)
				must("route chain", kc.Do(ctx, http.MethodPut, "/filter-chains/"+id('f', 1), &FilterChain{Name: String("rc"), Route: route,
					Filters: []*Filter{{Name: String("tests"), Config: raw(`"abc"`)}, {Name: String("obj"), Config: raw(`{"k":1}`), Enabled: Bool(false)}},
					Tags:    []*string{String("sync")}}, out))
				if *out.ID != id('f', 1) || *out.Route.ID != *route.ID || !*out.Enabled || !*out.Filters[0].Enabled || string(*out.Filters[1].Config) != `{"k":1}` {
					t.Fatalf("pass %d: route chain read back as %+v", pass, out)
				}
				must("service chain", kc.Do(ctx, http.MethodPut, "/filter-chains/"+id('f', 2), &FilterChain{Service: svc,
					Filters: []*Filter{{Name: String("tests")}}}, out))
			}
			out := new(FilterChain)
			must("patch", kc.Do(ctx, http.MethodPatch, "/filter-chains/"+id('f', 2), &FilterChain{Enabled: Bool(false)}, out))
			if *out.Enabled || *out.Service.ID != *svc.ID || len(out.Filters) != 1 {
				t.Fatalf("patched chain %+v", out)
			}
			var page struct {
				Data []*FilterChain `json:"data"`
				Next *string        `json:"next"`
			}
			must("list", kc.Do(ctx, http.MethodGet, "/filter-chains?tags=sync", nil, &page))
			if len(page.Data) != 1 || *page.Data[0].Name != "rc" || page.Next != nil {
				t.Fatalf("tag listing %+v", page)
			}
			err = kc.Do(ctx, http.MethodPut, "/filter-chains/"+id('f', 3), &FilterChain{Route: route, Filters: []*Filter{{Name: String("obj"), Config: raw(`{}`)}}}, nil)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Code != http.StatusBadRequest {
				t.Fatalf("invalid config: %v", err)
			}
			must("delete", kc.delete(ctx, "/filter-chains/"+id('f', 1)))
			must("delete route", kc.DeleteRoute(ctx, id('r', 1)))
			must("delete service", kc.DeleteService(ctx, id('s', 1)))
			must("list", kc.Do(ctx, http.MethodGet, "/filter-chains", nil, &page))
			if len(page.Data) != 0 {
				t.Fatalf("chains left after deleting the service: %d", len(page.Data))
			}
			if *dials != 1 {
				t.Fatalf("%d connections dialed, want 1", *dials)
			}
		})
	}
}
