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

// TestFilterPluginsJoinChains: enabled plugins named after a filter
// (Kong 3.6+) run as filters, appended to their route's or service's
// enabled chain — after its own filters, sorted by name — or to a chain of
// their own when there is none, the chain is disabled or all its filters
// are; disabled plugins do not run; none of them is an ordinary plugin.
func TestFilterPluginsJoinChains(t *testing.T) {
	ctx := context.Background()
	st := wasmStore(t, testFilters)
	svc := mustInsert(t, st, "services", map[string]any{"name": "s", "url": "http://up.test"})
	svcRef := map[string]any{"id": svc["id"]}
	var ids []string
	for _, n := range []string{"r1", "r2", "r3", "r4"} {
		r := mustInsert(t, st, "routes", map[string]any{"name": n, "paths": []any{"/" + n}, "service": svcRef})
		ids = append(ids, r["id"].(string))
	}
	ref := func(i int) map[string]any { return map[string]any{"id": ids[i]} }
	mustInsert(t, st, "filter_chains", map[string]any{"service": svcRef, "filters": []any{map[string]any{"name": "add-header", "config": "x-svc"}}})
	mustInsert(t, st, "filter_chains", map[string]any{"route": ref(0), "filters": []any{map[string]any{"name": "add-header"}}})
	mustInsert(t, st, "filter_chains", map[string]any{"route": ref(2), "enabled": false, "filters": []any{map[string]any{"name": "add-header", "config": "off"}}})
	mustInsert(t, st, "filter_chains", map[string]any{"route": ref(3), "filters": []any{map[string]any{"name": "add-header", "config": "off", "enabled": false}}})
	plugin := func(name string, at map[string]any, config any, enabled bool) map[string]any {
		p := map[string]any{"name": name, "config": config, "enabled": enabled}
		for k, v := range at {
			p[k] = v
		}
		return mustInsert(t, st, "plugins", p)
	}
	// Inserted out of name order: the chain sorts them.
	plugin("json", map[string]any{"route": ref(0)}, map[string]any{"b": 2.0}, true)
	pr1 := plugin("add-header", map[string]any{"route": ref(0)}, "p-r1", true)
	plugin("add-header", map[string]any{"service": svcRef}, "p-svc", true)
	plugin("add-header", map[string]any{"route": ref(1)}, "p-r2", true)
	plugin("json", map[string]any{"route": ref(1)}, map[string]any{"off": true}, false)
	plugin("add-header", map[string]any{"route": ref(2)}, "p-r3", true)
	plugin("add-header", map[string]any{"route": ref(3)}, nil, true)
	b, err := snapshot.NewBuilder(ctx, st, nil, nil, balancer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fc := b.Current().FilterChains
	sid := svc["id"].(string)
	for _, c := range []struct{ route, service, want string }{
		{ids[0], sid, `service:add-header=x-svc service:add-header=p-svc route:add-header=<nil> route:add-header=p-r1 route:json={"b":2}`},
		{ids[1], sid, `service:add-header=x-svc service:add-header=p-svc route:add-header=p-r2`},
		{ids[2], "", `route:add-header=p-r3`},
		{ids[3], "", `route:add-header=<nil>`},
		{"", sid, `service:add-header=x-svc service:add-header=p-svc`},
	} {
		if got := names(fc.For(c.route, c.service)); got != c.want {
			t.Errorf("For(%q, %q) = %q, want %q", c.route, c.service, got, c.want)
		}
	}
	r1 := fc.Route(ids[0]).Filters
	if r1[0].PluginID != "" || r1[1].PluginID != pr1["id"] || r1[1].ChainID != r1[0].ChainID || r1[1].ChainID == "" {
		t.Errorf("route chain filters %+v", r1)
	}
	if got := r1[2].PluginConfig(); fmt.Sprint(got) != "map[config:map[b:2]]" {
		t.Errorf("plugin config %v", got)
	}
	if !fc.Has("json") || !fc.Has("add-header") || fc.Has("nope") {
		t.Errorf("Has: json %v, add-header %v, nope %v", fc.Has("json"), fc.Has("add-header"), fc.Has("nope"))
	}
	for _, in := range b.Current().Plugins.Instances() {
		if in.Name == "add-header" || in.Name == "json" {
			t.Errorf("filter plugin %s runs as an ordinary plugin", in.ID)
		}
	}
	// Disabling a filter plugin drops it at the next build.
	if _, err := st.Update(ctx, "plugins", pr1["id"].(string), map[string]any{"enabled": false}); err != nil {
		t.Fatal(err)
	}
	want := `service:add-header=x-svc service:add-header=p-svc route:add-header=<nil> route:json={"b":2}`
	for deadline := time.Now().Add(5 * time.Second); names(b.Current().FilterChains.For(ids[0], sid)) != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not rebuilt: %q", names(b.Current().FilterChains.For(ids[0], sid)))
		}
	}
}
