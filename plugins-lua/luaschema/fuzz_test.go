package luaschema_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/plugins-lua/luaschema"
	"github.com/gatehouse/gatehouse/store"
)

// FuzzConvert: any schema a Lua chunk returns converts or is refused
// with an error, never a panic; whatever converts is JSON.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{
		`return { name = "p", fields = { { config = { type = "record", fields = { { a = { type = "string", default = "x", one_of = { "x", "y" } } } } } } } }`,
		`local t = require "kong.db.schema.typedefs" return { name = "p", fields = { { consumer = t.no_consumer }, { protocols = t.protocols_http }, { config = { type = "record", fields = { { h = t.host { required = true } } } } } } }`,
		`return { fields = { a = { type = "table", schema = { fields = { b = { type = "array", enum = { "q" } } } } } } }`,
		`return { name = "p", fields = { { config = { type = "record", fields = { { m = { type = "map", keys = { type = "string" }, values = { type = "record", fields = {} } } } }, entity_checks = { { conditional = { if_field = "m", if_match = { eq = 1 }, then_field = "m", then_match = { required = true } } } } } } } }`,
		`local r = {} r.fields = { { config = r } } r.name = "p" r.type = "record" return r`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		L := lua.NewState()
		defer L.Close()
		luaschema.Preload(L)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		L.SetContext(ctx)
		fn, err := L.LoadString(src)
		if err != nil {
			return
		}
		L.Push(fn)
		if L.PCall(0, 1, nil) != nil {
			return
		}
		L.RemoveContext()
		s, err := luaschema.Convert(L, "p", L.Get(-1))
		if err != nil {
			return
		}
		data, err := json.Marshal(s.Rendering)
		if err != nil {
			t.Fatalf("rendering is not JSON: %v", err)
		}
		store.PluginSchemaFromJSON("p", data) // may refuse; must not panic
		if _, err := luaschema.ConvertDaos(L, L.Get(-1)); err == nil {
			_ = err
		}
	})
}
