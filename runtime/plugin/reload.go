package plugin

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Change is what replacing a catalog's plugins with another set does, by
// plugin name: a provider reload computes it before it swaps anything.
type Change struct {
	// Added are definitions enabled by the new set only.
	Added []*Definition
	// Removed are definitions the new set no longer enables.
	Removed []*Definition
	// Replaced are the old definitions of plugins the new set enables
	// with another definition (a provider re-read the plugin's files);
	// Replacements are their successors, in the same order.
	Replaced, Replacements []*Definition
}

// Empty reports whether the change changes nothing.
func (c Change) Empty() bool {
	return len(c.Added) == 0 && len(c.Removed) == 0 && len(c.Replaced) == 0
}

// Incoming returns the definitions the new set brings: the added ones and
// the replacements (those whose init_worker phase must run).
func (c Change) Incoming() []*Definition {
	return append(append([]*Definition(nil), c.Added...), c.Replacements...)
}

// Outgoing returns the definitions the new set retires: the removed and
// the replaced ones (those to close once nothing uses them).
func (c Change) Outgoing() []*Definition {
	return append(append([]*Definition(nil), c.Removed...), c.Replaced...)
}

// Diff compares the catalog with next, the set a reload would enable. The
// store's tables and routes are made for the entities the node started
// with, so a set whose entities differ (one added, removed or declared
// otherwise) is refused: that takes a restart, as in Kong.
func (c *Catalog) Diff(next *Catalog) (Change, error) {
	cur, nxt := c.load(), next.load()
	if err := sameEntities(cur.entities, nxt.entities); err != nil {
		return Change{}, err
	}
	var ch Change
	for _, name := range store.SortedKeys(nxt.byName) {
		d := nxt.byName[name]
		old, ok := cur.byName[name]
		switch {
		case !ok:
			ch.Added = append(ch.Added, d)
		case old != d:
			ch.Replaced = append(ch.Replaced, old)
			ch.Replacements = append(ch.Replacements, d)
		}
	}
	for _, name := range store.SortedKeys(cur.byName) {
		if _, ok := nxt.byName[name]; !ok {
			ch.Removed = append(ch.Removed, cur.byName[name])
		}
	}
	return ch, nil
}

// Replace makes next's plugins the catalog's in one step: every reader
// (the store's validation, the snapshot builder, the Admin API's plugin
// list) sees either the old set or the new one. Callers check the change
// with Diff first; Replace itself refuses a set with other entities.
func (c *Catalog) Replace(next *Catalog) error {
	cur, nxt := c.load(), next.load()
	if err := sameEntities(cur.entities, nxt.entities); err != nil {
		return err
	}
	if !c.state.CompareAndSwap(cur, nxt) {
		return fmt.Errorf("reloading plugins: the catalog changed while this reload was prepared")
	}
	return nil
}

// sameEntities reports, as an error naming them, the entities that differ
// between two catalog generations.
func sameEntities(cur, next []*store.Entity) error {
	a, b := entityPrints(cur), entityPrints(next)
	var diffs []string
	for name, p := range a {
		q, ok := b[name]
		switch {
		case !ok:
			diffs = append(diffs, name+" would be removed")
		case p != q:
			diffs = append(diffs, name+" is declared otherwise")
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			diffs = append(diffs, name+" would be added")
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	sort.Strings(diffs)
	return fmt.Errorf("reloading plugins: their entities changed (%s); restart the node to apply", strings.Join(diffs, ", "))
}

// entityPrints renders each entity's declaration (its schema as Kong
// renders it, and the keys and paths the store derives tables, routes and
// ids from) so two generations compare by content.
func entityPrints(list []*store.Entity) map[string]string {
	out := make(map[string]string, len(list))
	for _, e := range list {
		decl := map[string]any{
			"path": e.Path, "nested_path": e.NestedPath, "endpoint_key": e.EndpointKey,
			"cache_key": e.CacheKey, "kong_cache_key": e.KongCacheKey, "declarative_key": e.DeclarativeKey,
			"parent_key": e.ParentKey, "ttl": e.TTL, "upsert_by_any_key": e.UpsertByAnyKey,
		}
		if e.Schema != nil {
			decl["schema"] = schema.Render(e.Schema)
		}
		data, err := json.Marshal(decl)
		if err != nil {
			data = []byte(fmt.Sprintf("unrenderable %p", e))
		}
		out[e.Name] = string(data)
	}
	return out
}

// Generation returns a catalog holding the plugins this one enables now;
// it does not follow later Replace calls. A reload keeps it to go back to.
func (c *Catalog) Generation() *Catalog {
	g := &Catalog{}
	g.state.Store(c.load())
	return g
}
