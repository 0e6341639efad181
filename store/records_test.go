package store

import (
	"testing"

	"github.com/gatehouse/gatehouse/store/schema"
)

// TestEntityRecordsRequired: as Kong's Entity.new does, every record of an
// entity schema (nested ones too) is required unless declared optional, and
// the upstream health-check tree carries Kong's defaults.
func TestEntityRecordsRequired(t *testing.T) {
	reg, err := NewRegistry(KongEntities()...)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(entity, path string, fields []*schema.Field)
	walk = func(entity, path string, fields []*schema.Field) {
		for _, f := range fields {
			if f.Type != schema.Record {
				continue
			}
			if !f.Optional && !f.Required {
				t.Errorf("%s: record %s%s is not required", entity, path, f.Name)
			}
			walk(entity, path+f.Name+".", f.Fields)
		}
	}
	for _, e := range reg.All() {
		walk(e.Name, "", e.Schema.Fields)
	}
	up, _ := reg.Entity("upstreams")
	hc := schema.RenderField(up.Schema.Field("healthchecks"))
	if hc["required"] != true {
		t.Errorf("healthchecks rendered without required: %v", hc["required"])
	}
	def, _ := hc["default"].(map[string]any)
	active, _ := def["active"].(map[string]any)
	healthy, _ := active["healthy"].(map[string]any)
	if healthy["interval"] != float64(0) || active["concurrency"] != int64(10) {
		t.Errorf("healthchecks default = %v", def)
	}
	if _, has := def["threshold"]; has {
		t.Error("Kong's healthchecks default has no threshold")
	}
	if _, has := active["https_sni"]; has {
		t.Error("Kong's healthchecks default has no https_sni")
	}
	keys, _ := reg.Entity("keys")
	if r := schema.RenderField(keys.Schema.Field("pem")); r["required"] != false {
		t.Errorf("keys.pem renders required = %v, want false as typedefs.pem", r["required"])
	}
	pl, _ := reg.Entity("plugins")
	if pl.Schema.Field("ordering").Required {
		t.Error("ordering must stay optional")
	}
}
