package snapshot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/balancer"
	"github.com/gatehouse/gatehouse/runtime/snapshot"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

func wasmStore(t *testing.T, w *store.WasmState) *store.Store {
	b, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return store.New(b, store.Options{Wasm: w})
}

var testFilters = &store.WasmState{Enabled: true, Filters: []store.WasmFilter{
	{Name: "add-header", Path: "/f/add-header.wasm"}, {Name: "json", Path: "/f/json.wasm", ConfigSchema: map[string]any{"type": "object"}},
}}

func names(fs []snapshot.ChainFilter) string {
	var out []string
	for _, f := range fs {
		cfg := "<nil>"
		if f.HasConfig {
			cfg = string(f.Config)
		}
		out = append(out, f.From+":"+f.Name+"="+cfg)
	}
	return strings.Join(out, " ")
}

// TestFilterChainsResolve: a request runs its service's chain, then its
// route's, enabled filters only, with Kong's serialized configuration; the
// index follows changes.
func TestFilterChainsResolve(t *testing.T) {
	ctx := context.Background()
	st := wasmStore(t, testFilters)
	svc := mustInsert(t, st, "services", map[string]any{"name": "s", "url": "http://up.test"})
	r1 := mustInsert(t, st, "routes", map[string]any{"name": "r1", "paths": []any{"/1"}, "service": map[string]any{"id": svc["id"]}})
	r2 := mustInsert(t, st, "routes", map[string]any{"name": "r2", "paths": []any{"/2"}, "service": map[string]any{"id": svc["id"]}})
	mustInsert(t, st, "filter_chains", map[string]any{"name": "svc", "service": map[string]any{"id": svc["id"]}, "filters": []any{
		map[string]any{"name": "add-header", "config": "x-svc: 1"},
		map[string]any{"name": "json", "config": map[string]any{"a": 1.0}},
		map[string]any{"name": "add-header", "config": "off", "enabled": false},
	}})
	mustInsert(t, st, "filter_chains", map[string]any{"name": "r1", "route": map[string]any{"id": r1["id"]}, "filters": []any{
		map[string]any{"name": "add-header"},
	}})
	b, err := snapshot.NewBuilder(ctx, st, nil, nil, balancer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fc := b.Current().FilterChains
	id1, id2, sid := r1["id"].(string), r2["id"].(string), svc["id"].(string)
	for _, c := range []struct{ route, service, want string }{
		{id1, sid, `service:add-header=x-svc: 1 service:json={"a":1} route:add-header=<nil>`},
		{id2, sid, `service:add-header=x-svc: 1 service:json={"a":1}`},
		{id1, "", `route:add-header=<nil>`},
		{"", "", ``},
	} {
		if got := names(fc.For(c.route, c.service)); got != c.want {
			t.Errorf("For(%q, %q) = %q, want %q", c.route, c.service, got, c.want)
		}
	}
	if got := fc.Service(sid).Filters[1].PluginConfig(); fmt.Sprint(got) != "map[config:map[a:1]]" {
		t.Errorf("plugin config %v", got)
	}
	if got := fc.Route(id1).Filters[0].PluginConfig(); len(got) != 0 {
		t.Errorf("plugin config of a filter without config: %v", got)
	}
	// Disabling the service chain leaves the route's.
	if _, err := st.Update(ctx, "filter_chains", "svc", map[string]any{"enabled": false}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for names(b.Current().FilterChains.For(id1, sid)) != "route:add-header=<nil>" {
		if time.Now().After(deadline) {
			t.Fatalf("not rebuilt: %q", names(b.Current().FilterChains.For(id1, sid)))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFilterChainsWasmOff: chains stored while wasm was on do not run when
// it is off; a chain naming a filter that is gone stops the build, as it
// stops Kong's start.
func TestFilterChainsWasmOff(t *testing.T) {
	ctx := context.Background()
	st := wasmStore(t, testFilters)
	svc := mustInsert(t, st, "services", map[string]any{"name": "s", "url": "http://up.test"})
	mustInsert(t, st, "filter_chains", map[string]any{"service": map[string]any{"id": svc["id"]}, "filters": []any{map[string]any{"name": "json", "config": map[string]any{}}}})
	st.SetWasm(nil)
	b, err := snapshot.NewBuilder(ctx, st, nil, nil, balancer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Current().FilterChains.Empty() {
		t.Fatal("chains run with wasm off")
	}
	b.Close()
	st.SetWasm(&store.WasmState{Enabled: true, Filters: testFilters.Filters[:1]})
	if _, err := snapshot.NewBuilder(ctx, st, nil, nil, balancer.Options{}); err == nil ||
		!strings.Contains(err.Error(), "not enabled/installed") || !strings.Contains(err.Error(), "(json)") {
		t.Fatalf("missing filter: %v", err)
	}
}
