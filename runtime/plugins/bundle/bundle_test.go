package bundle_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// TestConfigDefaultsComeFromSchemas is the convention that no plugin sets
// a configuration default in Go: every bundled plugin with a config
// schema decodes its configuration into its own type through plugin.Typed,
// and an empty configuration decodes, field by field, to the schema's
// defaults (the zero value where the schema has none).
func TestConfigDefaultsComeFromSchemas(t *testing.T) {
	cat, err := plugin.NewCatalog([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Names()) == 0 {
		t.Fatal("no bundled plugin")
	}
	for _, name := range cat.Names() {
		d, _ := cat.Get(name)
		if d.Schema.Config == nil {
			continue
		}
		cfg, typed, err := d.DecodeConfig(nil)
		if !typed {
			t.Errorf("%s: its configuration is not decoded with plugin.Typed", name)
			continue
		}
		if err != nil {
			t.Errorf("%s: decoding an empty configuration: %v", name, err)
			continue
		}
		if err := plugin.CheckDefaults(d.Schema.Config, cfg); err != nil {
			t.Errorf("%s: defaults not from the schema:\n%v", name, err)
		}
	}
}
