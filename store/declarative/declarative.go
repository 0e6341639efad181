// Package declarative reads and writes Kong's declarative configuration
// format (kong.yml, `_format_version: "3.0"`) for Gatehouse's store.
//
// Parse turns a YAML or JSON file into a Config: nested entities are
// flattened (services[].routes[] become routes with a service foreign key),
// foreign keys given by name are resolved to the ids of the entities they
// name in the same file, and entities without an id get a deterministic one,
// so that loading the same file twice yields the same ids. Config.Load then
// hands the flat entities to store.Store.Import, which validates every entity
// against the store's schemas in one transaction: all of them land or none.
// Export writes a store back as a flat kong.yml, the shape of Kong's
// `kong config db_export`.
//
// Errors are *store.Error values with Code store.CodeDeclarativeConfig whose
// Fields tree names the offending entity by its place in the file, e.g.
// {"services": [{"routes": [{"paths": ...}]}]}, as Kong reports them.
package declarative

import (
	"context"
	"errors"
	"regexp"
	"strconv"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// FormatVersions lists the `_format_version` values Parse accepts, as Kong
// does. Files in 1.1 and 2.1 get Kong's on-the-fly route path migration.
var FormatVersions = []string{"1.1", "2.1", "3.0"}

// Config is a parsed declarative configuration: its metadata and its
// entities, flattened and with every foreign key resolved to an id.
type Config struct {
	// FormatVersion is the file's `_format_version`.
	FormatVersion string
	// Transform is the file's `_transform` (true when absent): when true,
	// credentials are transformed on load (basic-auth passwords hashed,
	// missing keys generated); when false, values are stored as given, the
	// way `kong config db_export` files are meant to be loaded.
	Transform bool
	// Comment is the file's `_comment`, if any.
	Comment string

	entities map[string][]map[string]any
	// origins holds, parallel to entities, where each entity sits in the
	// file: a path of collection keys and indexes such as
	// ["services", 0, "routes", 1].
	origins map[string][][]any
}

// Entities returns a copy of the flattened entities, grouped by entity name
// in file order: every entity has an id and its foreign keys are {"id": ...}
// records. This is the input Load hands to store.Store.Import.
func (c *Config) Entities() map[string][]map[string]any {
	out := make(map[string][]map[string]any, len(c.entities))
	for name, recs := range c.entities {
		list := make([]map[string]any, len(recs))
		for i, r := range recs {
			list[i] = schema.Clone(r).(map[string]any)
		}
		out[name] = list
	}
	return out
}

// Load stores the configuration's entities in s in one transaction, first
// deleting every stored entity when replace is true (a DB-less reload). It
// imports raw (values kept as given) when the file says `_transform: false`.
// Validation errors are reported as declarative configuration errors naming
// the entity's place in the file; when Load fails, s is left unchanged.
func (c *Config) Load(ctx context.Context, s *store.Store, replace bool) error {
	groups := c.Entities()
	raw := !c.Transform
	if raw {
		// The store applies shorthands (a service's url, a target's default
		// port) only to transformed imports; a raw file may use them too.
		tree := newErrTree()
		for _, name := range store.SortedKeys(groups) {
			e, ok := s.Registry().Entity(name)
			if !ok || e.Shorthand == nil {
				continue
			}
			for i, rec := range groups[name] {
				if errs := e.Shorthand(rec); !errs.Empty() {
					tree.merge(c.origin(name, i), errs)
				}
			}
		}
		if !tree.empty() {
			return tree.err()
		}
	}
	err := s.Import(ctx, groups, store.ImportOptions{Replace: replace, Raw: raw})
	if err != nil {
		return c.importError(err)
	}
	return nil
}

func (c *Config) origin(entity string, i int) []any {
	if list := c.origins[entity]; i >= 0 && i < len(list) {
		return list[i]
	}
	return []any{entity, i}
}

// importPosition matches the "entity[n]: " prefix store.Import puts on the
// error of the n-th (1-based) entity of a group.
var importPosition = regexp.MustCompile(`^([a-z0-9_]+)\[(\d+)\]: `)

// importError turns an error of store.Import into a declarative
// configuration error placed where the entity sits in the file.
func (c *Config) importError(err error) error {
	inner, ok := store.AsError(err)
	if !ok || inner.Code == store.CodeDatabaseError {
		return err
	}
	m := importPosition.FindStringSubmatch(err.Error())
	if m == nil {
		if inner.Code == store.CodeDeclarativeConfig {
			return inner
		}
		return invalid(schema.Errors{"error": inner.Message})
	}
	n, convErr := strconv.Atoi(m[2])
	if convErr != nil {
		return err
	}
	tree := newErrTree()
	path := c.origin(m[1], n-1)
	switch inner.Code {
	case store.CodeSchemaViolation, store.CodeForeignKeyViolation:
		if !inner.Fields.Empty() {
			tree.merge(path, inner.Fields)
			break
		}
		tree.entityMessage(path, inner.Message)
	default:
		tree.entityMessage(path, inner.Message)
	}
	return tree.err()
}

// IsInvalid reports whether err is a declarative configuration error.
func IsInvalid(err error) bool {
	var e *store.Error
	return errors.As(err, &e) && e.Code == store.CodeDeclarativeConfig
}
