package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// goLoader is a SchemaLoader over Go-declared schemas: it checks that the
// provider's rendering is the one expected and hands back the declaration.
type goLoader struct {
	plugins  map[string]*store.PluginSchema
	entities map[string]*schema.Schema
}

func (l goLoader) PluginSchema(name string, rendering map[string]any) (*store.PluginSchema, error) {
	if rendering["fields"] == nil {
		return nil, errors.New("no fields")
	}
	ps, ok := l.plugins[name]
	if !ok {
		return nil, errors.New("unknown plugin schema")
	}
	return ps, nil
}

func (l goLoader) EntitySchema(entity string, rendering map[string]any) (*schema.Schema, error) {
	if rendering["fields"] == nil {
		return nil, errors.New("no fields")
	}
	s, ok := l.entities[entity]
	if !ok {
		return nil, errors.New("unknown entity schema")
	}
	return s, nil
}

type factory struct{ validated []map[string]any }

func (f *factory) New(config map[string]any) (any, error) { return config, nil }
func (f *factory) Validate(config map[string]any) error {
	f.validated = append(f.validated, config)
	return nil
}

type provider struct {
	plugins []hostabi.ProvidedPlugin
	err     error
	closed  int
}

func (p *provider) Plugins() ([]hostabi.ProvidedPlugin, error) { return p.plugins, p.err }
func (p *provider) Close() error                               { p.closed++; return nil }

func TestFromProvider(t *testing.T) {
	rendering := map[string]any{"fields": []any{}}
	loader := goLoader{
		plugins: map[string]*store.PluginSchema{"lua-auth": {Name: "lua-auth", Config: &schema.Schema{}}},
		entities: map[string]*schema.Schema{"luaauth_credentials": {Fields: []*schema.Field{
			store.IDField(), store.ConsumerField(), {Name: "key", Type: schema.String, Unique: true}}}},
	}
	f := &factory{}
	p := &provider{plugins: []hostabi.ProvidedPlugin{{Factory: f, Definition: hostabi.Definition{
		Name: "lua-auth", Version: "2.0.0", Priority: 1001, Phases: []hostabi.Phase{hostabi.PhaseAccess},
		Schema: rendering,
		Entities: []hostabi.EntityDefinition{{Name: "luaauth_credentials", AdminAPIName: "lua-auths",
			AdminAPINestedName: "lua-auth", EndpointKey: "key", CacheKey: []string{"key"}, TTL: true, Schema: rendering}},
	}}}}
	defs, err := plugin.FromProvider(p, loader)
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 {
		t.Fatalf("%d definitions", len(defs))
	}
	d := defs[0]
	if d.Name != "lua-auth" || d.Version != "2.0.0" || d.Priority != 1001 || !reflect.DeepEqual(d.Phases, []hostabi.Phase{hostabi.PhaseAccess}) {
		t.Errorf("definition %+v", d)
	}
	if d.Schema != loader.plugins["lua-auth"] || d.Validate == nil || d.New == nil {
		t.Errorf("schema, Validate or New not wired: %+v", d)
	}
	e := d.Entities[0]
	if e.Name != "luaauth_credentials" || e.Path != "lua-auths" || e.NestedSegment() != "lua-auth" || e.EndpointKey != "key" ||
		!e.TTL || !reflect.DeepEqual(e.KongCacheKey, []string{"key"}) || !reflect.DeepEqual(e.CacheKey, []string{"key"}) {
		t.Errorf("entity %+v", e)
	}
	cat, err := plugin.NewCatalog([]string{"lua-auth"}, defs...)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := cat.Registry()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.ByPath("lua-auths"); !ok {
		t.Error("the provided entity is not served")
	}

	for _, c := range []struct {
		name   string
		mutate func(*hostabi.ProvidedPlugin)
		want   string
	}{
		{"no factory", func(pp *hostabi.ProvidedPlugin) { pp.Factory = nil }, "no factory"},
		{"no name", func(pp *hostabi.ProvidedPlugin) { pp.Definition.Name = "" }, "without a name"},
		{"bad schema", func(pp *hostabi.ProvidedPlugin) { pp.Definition.Schema = map[string]any{} }, "no fields"},
		{"endpoint key not a field", func(pp *hostabi.ProvidedPlugin) {
			pp.Definition.Entities = []hostabi.EntityDefinition{{Name: "luaauth_credentials", EndpointKey: "nope", Schema: rendering}}
		}, `key field "nope"`},
		{"cache key not a field", func(pp *hostabi.ProvidedPlugin) {
			pp.Definition.Entities = []hostabi.EntityDefinition{{Name: "luaauth_credentials", CacheKey: []string{"nope"}, Schema: rendering}}
		}, `cache key field "nope"`},
	} {
		pp := p.plugins[0]
		pp.Definition.Entities = append([]hostabi.EntityDefinition(nil), pp.Definition.Entities...)
		c.mutate(&pp)
		_, err := plugin.FromProvider(&provider{plugins: []hostabi.ProvidedPlugin{pp}}, loader)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := plugin.FromProvider(&provider{err: errors.New("folder unreadable")}, loader); err == nil ||
		!strings.Contains(err.Error(), "folder unreadable") {
		t.Errorf("provider error: %v", err)
	}
}

// TestJSONSchemaLoaderRoundTrip: every bundled plugin entity, rendered as
// `GET /schemas/{entity}` shows it and delivered back as data, renders the
// same and validates the same inputs with the same errors.
func TestJSONSchemaLoaderRoundTrip(t *testing.T) {
	ctx := context.Background()
	inputs := []map[string]any{
		{},
		{"consumer": map[string]any{"id": "not-a-uuid"}},
		{"consumer": map[string]any{"id": "8c6e1e31-2a5f-4f3c-9e43-35c1d1b0f0a1"}, "key": "k", "username": "u", "password": "p",
			"group": "g", "name": "n", "secret": "s", "algorithm": "HS256"},
		{"consumer": map[string]any{"id": "8c6e1e31-2a5f-4f3c-9e43-35c1d1b0f0a1"}, "key": "", "username": 7, "group": "",
			"algorithm": "RS256", "redirect_uris": []any{"nope"}, "client_type": "other", "tags": []any{"a,b"}},
		{"consumer": map[string]any{"id": "8c6e1e31-2a5f-4f3c-9e43-35c1d1b0f0a1"}, "unknown": true, "hash_secret": "yes"},
	}
	for _, orig := range plugin.LinkedEntities() {
		if strings.HasPrefix(orig.Name, "tplugin_") || strings.HasPrefix(orig.Name, "towner_") {
			continue // plugin_test's own registrations
		}
		t.Run(orig.Name, func(t *testing.T) {
			rendering, err := jsonRoundTrip(schema.Render(orig.Schema))
			if err != nil {
				t.Fatal(err)
			}
			loaded, err := plugin.EntityFromData(hostabi.EntityDefinition{Name: orig.Name, AdminAPIName: orig.Path,
				AdminAPINestedName: orig.NestedPath, EndpointKey: orig.EndpointKey, ParentKey: orig.ParentKey,
				CacheKey: orig.KongCacheKey, TTL: orig.TTL, Schema: rendering}, plugin.JSONSchemaLoader{})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(schema.Render(orig.Schema))
			got, _ := json.Marshal(schema.Render(loaded.Schema))
			if string(got) != string(want) {
				t.Errorf("renders\n%s\nwant\n%s", got, want)
			}
			// The other linked entities come along: the ones orig refers to
			// (oauth2_tokens needs oauth2_credentials).
			with := func(e *store.Entity) []*store.Entity {
				out := []*store.Entity{e}
				for _, o := range plugin.LinkedEntities() {
					if o.Name != e.Name && !strings.HasPrefix(o.Name, "tplugin_") && !strings.HasPrefix(o.Name, "towner_") {
						out = append(out, o)
					}
				}
				return out
			}
			s1, err := store.NewChecked(nil, store.Options{Entities: with(orig)})
			if err != nil {
				t.Fatal(err)
			}
			s2, err := store.NewChecked(nil, store.Options{Entities: with(loaded)})
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range inputs {
				e1 := s1.ValidateSchema(ctx, orig.Name, cloneMap(in))
				e2 := s2.ValidateSchema(ctx, orig.Name, cloneMap(in))
				if fmt.Sprint(e1) != fmt.Sprint(e2) {
					t.Errorf("input %v: loaded schema says %v, declared one %v", in, e2, e1)
				}
			}
		})
	}
}

func jsonRoundTrip(v map[string]any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(data, &out)
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
