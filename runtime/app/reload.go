package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
)

// pluginInfo is what the Admin API reports of a catalog's plugins.
func pluginInfo(c *plugin.Catalog) map[string]admin.PluginInfo {
	out := map[string]admin.PluginInfo{}
	for _, d := range c.Definitions() {
		out[d.Name] = admin.PluginInfo{Version: d.Version, Priority: d.Priority}
	}
	return out
}

// ReloadPlugins asks every provider for its plugins again (a Lua or Wasm
// host re-reads its folders) and makes the result the node's plugins, as
// `kong reload` picks up changed plugin files:
//
//   - plugins a provider now offers become available to the Admin API;
//   - configured plugins whose definition changed are served by the new
//     one: their instances are rebuilt, their init_worker phase runs, and
//     the replaced definitions close after the last request using them;
//   - the node keeps its plugins, and nothing changes, when the new set
//     would drop a plugin that is configured, would refuse a stored
//     configuration, declares other entities (that takes a restart), or a
//     new instance fails to build.
//
// It returns what changed, and logs it (a refusal too). Reloads run one
// at a time; the gatehouse command runs one on SIGHUP.
func (n *Node) ReloadPlugins(ctx context.Context) (_ plugin.Change, err error) {
	n.reloadMu.Lock()
	defer n.reloadMu.Unlock()
	defer func() {
		if err != nil {
			n.log.Error("plugin reload refused", "error", err)
		}
	}()
	var loaded []*plugin.Definition
	// discard closes what this reload loaded, but for keep.
	discard := func(keep *plugin.Catalog) {
		for _, d := range loaded {
			if kept, ok := keep.Get(d.Name); ok && kept == d {
				continue
			}
			if d.Close != nil {
				d.Close()
			}
		}
	}
	none := &plugin.Catalog{}
	for _, p := range n.providers {
		defs, err := plugin.FromProvider(p, n.loader)
		if err != nil {
			discard(none)
			return plugin.Change{}, fmt.Errorf("reloading plugins: %w", err)
		}
		loaded = append(loaded, defs...)
	}
	next, err := plugin.NewCatalog(n.pluginNames, append(append([]*plugin.Definition(nil), n.staticPlugins...), loaded...)...)
	if err != nil {
		discard(none)
		return plugin.Change{}, fmt.Errorf("reloading plugins: %w", err)
	}
	ch, err := n.catalog.Diff(next)
	if err != nil {
		discard(none)
		return plugin.Change{}, err
	}
	if ch.Empty() {
		discard(n.catalog)
		return ch, nil
	}
	if err := n.checkConfigured(ctx, next, ch); err != nil {
		discard(none)
		return plugin.Change{}, err
	}
	prev := n.snapshots.Current()
	previous := n.catalog.Generation()
	plugin.InitWorkers(ctx, ch.Incoming(), n.log)
	if err := n.catalog.Replace(next); err != nil {
		discard(none)
		return plugin.Change{}, err
	}
	if err := n.snapshots.Rebuild(ctx); err != nil {
		// A new definition cannot serve a stored configuration: back to
		// the old plugins, rebuilt (their instances were retired).
		rerr := n.catalog.Replace(previous)
		if rerr == nil {
			rerr = n.snapshots.Rebuild(ctx)
		}
		discard(none)
		return plugin.Change{}, errors.Join(fmt.Errorf("reloading plugins: building the proxy configuration: %w; the previous plugins stay", err), rerr)
	}
	discard(n.catalog) // loaded but not enabled by `plugins`
	n.admin.SetPlugins(pluginInfo(n.catalog))
	outgoing := ch.Outgoing()
	closeOld := func() {
		for _, d := range outgoing {
			if d.Close != nil {
				if err := d.Close(); err != nil {
					n.log.Warn("closing a reloaded plugin", "plugin", d.Name, "error", err)
				}
			}
		}
	}
	if prev != nil {
		prev.AfterClose(closeOld)
	} else {
		closeOld()
	}
	n.log.Info("plugins reloaded", "added", names(ch.Added), "replaced", names(ch.Replaced), "removed", names(ch.Removed))
	return ch, nil
}

// checkConfigured refuses a plugin set that cannot serve the stored plugin
// entities: one whose plugin it drops, or whose configuration the new
// definition's schema refuses.
func (n *Node) checkConfigured(ctx context.Context, next *plugin.Catalog, ch plugin.Change) error {
	removed, replaced := map[string]bool{}, map[string]bool{}
	for _, d := range ch.Removed {
		removed[d.Name] = true
	}
	for _, d := range ch.Replaced {
		replaced[d.Name] = true
	}
	if len(removed) == 0 && len(replaced) == 0 {
		return nil
	}
	check, err := store.NewChecked(n.store.Backend(), store.Options{Plugins: next, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("reloading plugins: %w", err)
	}
	var errs []error
	q := store.ListQuery{Size: store.MaxPageSize}
	for {
		page, err := n.store.List(ctx, "plugins", q)
		if err != nil {
			return fmt.Errorf("reloading plugins: reading the configured plugins: %w", err)
		}
		for _, rec := range page.Data {
			name, _ := rec["name"].(string)
			id, _ := rec["id"].(string)
			switch {
			case removed[name]:
				errs = append(errs, fmt.Errorf("plugin %s is configured (plugin %s) but would no longer be available", name, id))
			case replaced[name]:
				if err := check.ValidateSchema(ctx, "plugins", rec); err != nil {
					errs = append(errs, fmt.Errorf("plugin %s (%s): its stored configuration does not suit the reloaded plugin: %w", name, id, err))
				}
			}
		}
		if page.Offset == "" {
			break
		}
		q.Offset = page.Offset
	}
	if len(errs) > 0 {
		return fmt.Errorf("reloading plugins: %w; the previous plugins stay", errors.Join(errs...))
	}
	return nil
}

func names(defs []*plugin.Definition) []string {
	out := make([]string, 0, len(defs))
	for _, d := range defs {
		out = append(out, d.Name)
	}
	return out
}
