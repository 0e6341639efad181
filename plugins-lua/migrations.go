package luahost

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/hostabi"
	lua "github.com/yuin/gopher-lua"
)

// phaseMigrations marks a CallError of reading a plugin's migrations.
const phaseMigrations hostabi.Phase = 201

// Migration is one migration a plugin ships (Kong's
// kong/plugins/NAME/migrations/<name>.lua), as Kong's migration schema
// reads it: its postgres part's SQL (up), Lua step (up_f) and teardown.
type Migration struct {
	Name string
	// SQL is the postgres `up` statement text ("" when there is none).
	SQL string
	// UpF and Teardown report the postgres part's up_f and teardown
	// functions.
	UpF, Teardown bool
}

// PluginMigrations are the migrations of one plugin, in the order its
// migrations/init.lua lists them.
type PluginMigrations struct {
	Plugin     string
	Migrations []Migration
}

// Migrations reads the migrations of the provider's plugins, in plugin
// name order: the list of kong.plugins.NAME.migrations (or its .init
// module, as Kong falls back to), then each listed module, which must
// have a postgres part with up, up_f or teardown (Kong's migration
// schema; a cassandra part is ignored, as Kong 3 does). Plugins without
// migrations are left out. Gatehouse runs none of it: it stores plugin
// entities itself (see README.md, "Migrations").
func (h *Provider) Migrations(ctx context.Context) ([]PluginMigrations, error) {
	var out []PluginMigrations
	for _, p := range h.plugins {
		index := "kong.plugins." + p.spec.Name + ".migrations"
		mod := index
		if h.mods.resolve(mod) == "" {
			mod = index + ".init"
			if h.mods.resolve(mod) == "" {
				continue
			}
		}
		pm := PluginMigrations{Plugin: p.spec.Name}
		err := h.withState(ctx, p, phaseMigrations, func(st *state) error {
			list, err := requireModule(st.L, mod)
			if err != nil {
				return err
			}
			names, ok := list.(*lua.LTable)
			if !ok {
				return fmt.Errorf("migrations index from '%s' must be a table", mod)
			}
			for i := 1; i <= names.Len(); i++ {
				name, ok := names.RawGetInt(i).(lua.LString)
				if !ok {
					return fmt.Errorf("migrations index from '%s': entry %d is not a string", mod, i)
				}
				m, err := readMigration(st.L, index, string(name))
				if err != nil {
					return fmt.Errorf("migration '%s' of '%s' subsystem is invalid: %w", name, p.spec.Name, err)
				}
				pm.Migrations = append(pm.Migrations, m)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("lua plugin %s: migrations: %w", p.spec.Name, err)
		}
		out = append(out, pm)
	}
	return out, nil
}

// readMigration loads one migration module and checks it against Kong's
// migration schema.
func readMigration(L *lua.LState, index, name string) (Migration, error) {
	v, err := requireModule(L, index+"."+name)
	if err != nil {
		return Migration{}, err
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return Migration{}, fmt.Errorf("the module returned a %s, want a table", v.Type())
	}
	pg, ok := t.RawGetString("postgres").(*lua.LTable)
	if !ok {
		return Migration{}, fmt.Errorf("postgres: required field missing")
	}
	m := Migration{Name: name}
	switch up := pg.RawGetString("up").(type) {
	case lua.LString:
		m.SQL = string(up)
	case *lua.LNilType:
	default:
		return Migration{}, fmt.Errorf("postgres.up: expected a string")
	}
	for _, f := range []struct {
		name string
		set  *bool
	}{{"up_f", &m.UpF}, {"teardown", &m.Teardown}} {
		switch pg.RawGetString(f.name).(type) {
		case *lua.LFunction:
			*f.set = true
		case *lua.LNilType:
		default:
			return Migration{}, fmt.Errorf("postgres.%s: expected a function", f.name)
		}
	}
	if pg.RawGetString("up") == lua.LNil && !m.UpF && !m.Teardown {
		return Migration{}, fmt.Errorf("at least one of these fields must be non-empty: 'postgres.up', 'postgres.up_f', 'postgres.teardown'")
	}
	return m, nil
}
