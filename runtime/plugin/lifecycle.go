package plugin

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// InitWorkers runs Kong's init_worker phase of the given definitions, in
// name order: the node calls it once with its enabled plugins when it
// starts, and with a provider's plugins when it loads them. A plugin's
// error or panic is logged with its name and returned among the faults;
// the other plugins still run, and the node goes on.
func InitWorkers(ctx context.Context, defs []*Definition, log *slog.Logger) []error {
	defs = append([]*Definition(nil), defs...)
	sort.Slice(defs, func(i, j int) bool { return defs[i].Name < defs[j].Name })
	var faults []error
	for _, d := range defs {
		if d.InitWorker == nil {
			continue
		}
		if err := isolate(d.Name, hostabi.PhaseInitWorker, log, func() error { return d.InitWorker(ctx) }); err != nil {
			faults = append(faults, err)
		}
	}
	return faults
}

// Definitions returns the enabled plugins' definitions, in name order.
func (c *Catalog) Definitions() []*Definition {
	st := c.load()
	out := make([]*Definition, 0, len(st.byName))
	for _, n := range store.SortedKeys(st.byName) {
		out = append(out, st.byName[n])
	}
	return out
}

// Configure runs Kong's configure phase of every enabled plugin that has
// one, in name order: plugin entities are the enabled plugin entities of
// the snapshot being built (any order). Each plugin gets copies of its
// entities' configs ordered by entity id, or nil when it has none. A
// plugin's error or panic is logged with its name and returned among the
// faults; the others still run.
func (c *Catalog) Configure(ctx context.Context, entities []map[string]any, log *slog.Logger) []error {
	st := c.load()
	byName := map[string][]map[string]any{}
	for _, e := range entities {
		name, _ := e["name"].(string)
		if d, ok := st.byName[name]; ok && d.Configure != nil {
			byName[name] = append(byName[name], e)
		}
	}
	var faults []error
	for _, n := range store.SortedKeys(st.byName) {
		d := st.byName[n]
		if d.Configure == nil {
			continue
		}
		list := byName[n]
		sort.Slice(list, func(i, j int) bool { return entityID(list[i]) < entityID(list[j]) })
		var configs []map[string]any
		for _, e := range list {
			cfg, _ := schema.Clone(e["config"]).(map[string]any)
			configs = append(configs, cfg)
		}
		if err := isolate(n, hostabi.PhaseConfigure, log, func() error { return d.Configure(ctx, configs) }); err != nil {
			faults = append(faults, err)
		}
	}
	return faults
}

func entityID(e map[string]any) string {
	id, _ := e["id"].(string)
	return id
}

// isolate runs one plugin-level phase, turning a panic into an error, and
// logs a failure with the plugin's name.
func isolate(name string, phase hostabi.Phase, log *slog.Logger, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("plugin %s: %s panicked: %v", name, phase, r)
			if log != nil {
				log.Error("plugin phase panicked", "plugin", name, "phase", phase.String(), "panic", fmt.Sprint(r),
					"stack", string(debug.Stack()))
			}
		}
	}()
	if err = fn(); err != nil {
		err = fmt.Errorf("plugin %s: %s: %w", name, phase, err)
		if log != nil {
			log.Error("plugin phase failed", "plugin", name, "phase", phase.String(), "error", err)
		}
	}
	return err
}
