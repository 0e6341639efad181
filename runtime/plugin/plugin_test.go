package plugin_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// credential declares a consumer-owned entity named name at path.
func credential(name, path string) *store.Entity {
	return &store.Entity{Name: name, Path: path, EndpointKey: "secret", KongCacheKey: []string{"secret"},
		Schema: &schema.Schema{Fields: []*schema.Field{store.IDField(), store.CreatedAtField(), store.ConsumerField(),
			{Name: "secret", Type: schema.String, Required: true, Unique: true}}}}
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

// The registry is process-wide: the tests register names of their own.
func init() {
	plugin.Register(&plugin.Definition{Name: "t-plugin", Version: "1.0.0", Priority: 7,
		Entities: []*store.Entity{credential("tplugin_creds", "tplugin-creds")},
		Schema: &store.PluginSchema{Name: "t-plugin", Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "limit", Type: schema.Integer, Default: int64(1)}}}},
		Validate: func(config map[string]any) error {
			if n, _ := config["limit"].(int64); n == 13 {
				return errors.New("13 is unlucky")
			}
			return nil
		},
		New: func(map[string]any) (any, error) { return struct{}{}, nil },
	})
	plugin.RegisterEntities("t-owner", credential("towner_creds", "towner-creds"))
}

func TestRegisterRefusesConflicts(t *testing.T) {
	mustPanic(t, "Validate without a config schema", func() {
		plugin.Register(&plugin.Definition{Name: "t-novalidate", Validate: func(map[string]any) error { return nil }})
	})
	mustPanic(t, "a second t-plugin", func() { plugin.Register(&plugin.Definition{Name: "t-plugin"}) })
	mustPanic(t, "a plugin named like an entity owner", func() { plugin.Register(&plugin.Definition{Name: "t-owner"}) })
	mustPanic(t, "entities of t-plugin again", func() { plugin.RegisterEntities("t-plugin", credential("x_creds", "x-creds")) })
	mustPanic(t, "an entity declared twice", func() { plugin.RegisterEntities("t-other", credential("towner_creds", "o-creds")) })
	mustPanic(t, "an entity on a core path", func() { plugin.RegisterEntities("t-other2", credential("o2_creds", "services")) })
	mustPanic(t, "an entity referencing nothing known", func() {
		e := credential("o3_creds", "o3-creds")
		e.Schema.Fields = append(e.Schema.Fields, store.ForeignField("thing", "things", false, ""))
		plugin.RegisterEntities("t-other3", e)
	})
	for _, n := range []string{"t-other", "t-other2", "t-other3"} {
		for _, o := range plugin.EntityOwners() {
			if o == n {
				t.Errorf("refused owner %s was registered", n)
			}
		}
	}
}

func TestCatalogEnablesEntitiesWithTheirOwner(t *testing.T) {
	for _, c := range []struct {
		names    []string
		plugins  []string
		entities []string
	}{
		{[]string{"bundled"}, []string{"t-plugin"}, []string{"tplugin_creds", "towner_creds"}},
		{[]string{"t-plugin"}, []string{"t-plugin"}, []string{"tplugin_creds"}},
		{[]string{"t-owner"}, []string{}, []string{"towner_creds"}},
		{[]string{"off"}, []string{}, nil},
	} {
		cat, err := plugin.NewCatalog(c.names)
		if err != nil {
			t.Fatal(err)
		}
		// The bundled plugins are linked too (provider_test imports them):
		// only this file's registrations are compared.
		plugins := []string{}
		for _, n := range cat.Names() {
			if strings.HasPrefix(n, "t-") {
				plugins = append(plugins, n)
			}
		}
		if !reflect.DeepEqual(plugins, c.plugins) {
			t.Errorf("%v: plugins %v, want %v", c.names, plugins, c.plugins)
		}
		var got []string
		for _, e := range cat.Entities() {
			if strings.HasPrefix(e.Name, "tplugin_") || strings.HasPrefix(e.Name, "towner_") {
				got = append(got, e.Name)
			}
		}
		if !reflect.DeepEqual(got, c.entities) {
			t.Errorf("%v: entities %v, want %v", c.names, got, c.entities)
		}
		if _, ok := cat.Get("t-owner"); ok {
			t.Errorf("%v: the entity owner is enabled as a plugin", c.names)
		}
	}
	if _, err := plugin.NewCatalog([]string{"no-such"}); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("unknown plugin: %v", err)
	}
	extra := &plugin.Definition{Name: "t-extra", Entities: []*store.Entity{credential("tplugin_creds", "extra-creds")}}
	if _, err := plugin.NewCatalog([]string{"bundled", "t-extra"}, extra); err == nil {
		t.Error("an extra definition redeclaring a bundled entity was accepted")
	}
}

func TestStoreServesCatalogEntitiesAndValidate(t *testing.T) {
	ctx := context.Background()
	s, _ := catalogtest.OpenStore(t, "bundled")
	c, err := s.Insert(ctx, "consumers", map[string]any{"username": "u"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Insert(ctx, "towner_creds", map[string]any{"consumer": map[string]any{"id": c["id"]}, "secret": "s"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "towner_creds", "s"); err != nil || got["secret"] != "s" {
		t.Errorf("Get by endpoint key = %v, %v", got, err)
	}
	if _, err := s.Insert(ctx, "plugins", map[string]any{"name": "t-plugin", "config": map[string]any{"limit": 2}}); err != nil {
		t.Errorf("a valid config: %v", err)
	}
	_, err = s.Insert(ctx, "plugins", map[string]any{"name": "t-plugin", "config": map[string]any{"limit": 13}})
	if e, ok := store.AsError(err); !ok || e.Code != store.CodeSchemaViolation || !strings.Contains(err.Error(), "13 is unlucky") {
		t.Errorf("a config Validate refuses: %v", err)
	}
}

func TestCatalogClose(t *testing.T) {
	closed := 0
	d := &plugin.Definition{Name: "t-closing", Close: func() error { closed++; return errors.New("boom") }}
	cat, err := plugin.NewCatalog([]string{"t-closing"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Close(); err == nil || !strings.Contains(err.Error(), "t-closing: boom") || closed != 1 {
		t.Errorf("Close = %v after %d calls", err, closed)
	}
	reg, err := cat.Registry()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Entity("services"); !ok {
		t.Error("the catalog's registry lacks the core entities")
	}
}
