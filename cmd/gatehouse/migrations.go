package main

import (
	"context"
	"log/slog"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/kongenv"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
)

// luaMigrations returns the migrations of the Lua plugins `plugins`
// enables, for `gatehouse migrations` (the plugins are loaded to read
// them, then closed).
func luaMigrations(ctx context.Context, cfg *config.Config) ([]app.PluginMigrations, error) {
	p, _, err := luaProvider(cfg, slog.New(slog.DiscardHandler))
	if err != nil || p == nil {
		return nil, err
	}
	defer p.Close()
	return pluginMigrations(ctx, p)
}

// recordLuaMigrations records the migrations of the Lua plugins p serves
// as executed in the node's database: the node stores their entities.
func recordLuaMigrations(ctx context.Context, cfg *config.Config, p hostabi.Provider) error {
	list, err := pluginMigrations(ctx, p)
	if err != nil {
		return err
	}
	return app.RecordPluginMigrations(ctx, cfg, list)
}

// pluginMigrations lists the migrations of the plugins of p by name.
func pluginMigrations(ctx context.Context, p hostabi.Provider) ([]app.PluginMigrations, error) {
	list, err := kongenv.Migrations(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]app.PluginMigrations, 0, len(list))
	for _, pm := range list {
		names := make([]string, len(pm.Migrations))
		for i, m := range pm.Migrations {
			names[i] = m.Name
		}
		out = append(out, app.PluginMigrations{Plugin: pm.Plugin, Names: names})
	}
	return out, nil
}
