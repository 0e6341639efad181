package store_test

import (
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

func TestMergeEntitiesOrdersByReference(t *testing.T) {
	decl := func(name string, refs ...string) *store.Entity {
		fields := []*schema.Field{store.IDField()}
		for _, r := range refs {
			fields = append(fields, store.ForeignField(r, r, false, "cascade"))
		}
		return &store.Entity{Name: name, Path: name, Schema: &schema.Schema{Fields: fields}}
	}
	for _, c := range []struct {
		name  string
		extra []*store.Entity
		want  []string
	}{
		{"kept as given", []*store.Entity{decl("a", "consumers"), decl("b", "consumers")}, []string{"a", "b"}},
		{"referenced first", []*store.Entity{decl("child", "parent"), decl("parent", "consumers")}, []string{"parent", "child"}},
		{"chain", []*store.Entity{decl("c", "b"), decl("b", "a"), decl("a")}, []string{"a", "b", "c"}},
		{"self reference", []*store.Entity{decl("tree", "tree")}, []string{"tree"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			core := store.KongEntities()
			all := store.MergeEntities(core, c.extra)
			var got []string
			for i, e := range all {
				if i < len(core) {
					if e.Name != core[i].Name {
						t.Fatalf("core entity %d is %s, want %s", i, e.Name, core[i].Name)
					}
					continue
				}
				got = append(got, e.Name)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("extra order %v, want %v", got, c.want)
			}
			if _, err := store.NewRegistry(all...); err != nil {
				t.Errorf("NewRegistry: %v", err)
			}
		})
	}
	cycle := store.MergeEntities(store.KongEntities(), []*store.Entity{decl("x", "y"), decl("y", "x")})
	if _, err := store.NewRegistry(cycle...); err == nil {
		t.Error("a reference cycle was accepted")
	}
}

func TestOptionsEntitiesJoinTheRegistry(t *testing.T) {
	e := &store.Entity{Name: "extra_things", Path: "extra-things", Schema: &schema.Schema{Fields: []*schema.Field{
		store.IDField(), store.ConsumerField()}}}
	s, err := store.NewChecked(nil, store.Options{Entities: []*store.Entity{e}})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Registry().ByPath("extra-things"); !ok || got != e {
		t.Errorf("ByPath = %v, %v", got, ok)
	}
	if _, err := store.NewChecked(nil, store.Options{Entities: []*store.Entity{store.Services()}}); err == nil {
		t.Error("a second services declaration was accepted")
	}
}
