package store

import (
	"fmt"
	"net/url"
	"sort"

	"github.com/gatehouse/gatehouse/store/schema"
)

// Entity is the one declaration of an entity type: it drives validation,
// defaults, storage keys, the Admin API paths and declarative config.
type Entity struct {
	// Name is the entity's name as Kong names it ("services", "keyauth_credentials").
	Name string
	// Path is the Admin API collection path segment ("services", "key-auths").
	Path string
	// NestedPath is the segment under the parent's path when it differs from
	// Path: credentials live at /consumers/{c}/key-auth but /key-auths.
	NestedPath string
	// Schema declares the fields.
	Schema *schema.Schema
	// EndpointKey is the unique field accepted in place of the id in URLs.
	EndpointKey string
	// CacheKey lists the fields whose combination must be unique.
	CacheKey []string
	// Shorthand rewrites raw input before coercion (Kong's shorthand_fields),
	// e.g. a service's url into protocol, host, port and path.
	Shorthand func(input map[string]any) schema.Errors
	// Generate fills generated values (keys, secrets, digests) that the input
	// left out; it also runs for raw imports.
	Generate func(rec map[string]any)
	// BeforeWrite adjusts a validated record before it is stored (hashing a
	// password, generating a key). old is nil on insert.
	BeforeWrite func(old, rec map[string]any) error
	// TTL lets writes give the entity a time to live (Kong's ttl = true):
	// a `ttl` input in seconds, shown as the seconds left on reads, after
	// which the entity is gone.
	TTL bool
	// DeclarativeKey is the key of the entity in a kong.yml file; Name when empty.
	DeclarativeKey string
	// KongCacheKey is the cache_key of Kong's schema for the entity, when it
	// declares one ({"consumer", "group"} for ACL groups): Kong derives the
	// id of an entity a kong.yml file gives without one from these fields.
	// It may differ from CacheKey, which serves uniqueness.
	KongCacheKey []string
	// ParentKey, when set, is the field a nested Admin API path names the
	// entity by in place of its id or endpoint key: the field is unique
	// among the children of one parent (an ACL's group under
	// /consumers/{c}/acls/{group}), and a PUT to a nested path naming a
	// missing child creates it with that field set.
	ParentKey string
	// UpsertByAnyKey lets a PUT name the entity by a key that is neither
	// its id nor an endpoint key, for the caller to resolve (Kong's
	// /certificates/{SNI name}); without it such a PUT is refused.
	UpsertByAnyKey bool
	// TakeInput removes from a write's input the fields stored elsewhere
	// than on the entity itself (a certificate's `snis`), before
	// validation, and returns the follow-up that stores them; nil when the
	// input holds none.
	TakeInput func(in map[string]any) (FollowUp, error)
	// BeforeDelete may refuse the removal of rec, inside the delete's
	// transaction (a CA certificate a service still lists).
	BeforeDelete func(tx Tx, rec map[string]any) error
}

// OneOf returns values as a schema one_of list.
func OneOf(values ...string) []any { return oneOf(values...) }

// RandomToken returns 32 random hex characters, the shape Kong gives
// generated keys and secrets.
func RandomToken() string { return randomToken() }

// ForeignID returns the id inside a foreign-key value ({"id": ...}), or "".
func ForeignID(v any) string { return foreignID(v) }

// checkURL accepts absolute URLs with a host (Kong's typedefs.url); it is
// the "url" validator URLField names.
func checkURL(v any) string {
	s, _ := v.(string)
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "cannot parse '" + s + "'"
	}
	return ""
}

// Foreigns returns the foreign-key fields of the entity in declaration order.
func (e *Entity) Foreigns() []*schema.Field {
	var out []*schema.Field
	for _, f := range e.Schema.Fields {
		if f.Type == schema.Foreign {
			out = append(out, f)
		}
	}
	return out
}

// Uniques returns the names of the entity's unique fields.
func (e *Entity) Uniques() []string {
	var out []string
	for _, f := range e.Schema.Fields {
		if f.Unique {
			out = append(out, f.Name)
		}
	}
	return out
}

// NestedSegment returns the path segment used under a parent entity.
func (e *Entity) NestedSegment() string {
	if e.NestedPath != "" {
		return e.NestedPath
	}
	return e.Path
}

// HasField reports whether the entity declares the named field.
func (e *Entity) HasField(name string) bool { return e.Schema.Field(name) != nil }

// Registry holds the entity declarations by name and by Admin API path.
type Registry struct {
	byName map[string]*Entity
	byPath map[string]*Entity
	order  []*Entity
}

// NewRegistry returns a registry holding the given entities, which must come
// in dependency order (an entity after those it references).
func NewRegistry(entities ...*Entity) (*Registry, error) {
	r := &Registry{byName: map[string]*Entity{}, byPath: map[string]*Entity{}}
	for _, e := range entities {
		if _, dup := r.byName[e.Name]; dup {
			return nil, fmt.Errorf("store: entity %q declared twice", e.Name)
		}
		for _, f := range e.Foreigns() {
			if _, ok := r.byName[f.Reference]; !ok && f.Reference != e.Name {
				return nil, fmt.Errorf("store: entity %q references %q declared after it", e.Name, f.Reference)
			}
		}
		boundIndexed(e.Schema.Fields, e.CacheKey)
		schema.RequireRecords(e.Schema.Fields)
		r.byName[e.Name] = e
		r.byPath[e.Path] = e
		r.order = append(r.order, e)
	}
	return r, nil
}

// MergeEntities returns core followed by extra, where extra is reordered so
// that each entity comes after the extra entities it references (the order
// NewRegistry needs); extra entities keep their given order otherwise. A
// reference cycle among extra entities, or a duplicate name, is reported by
// NewRegistry on the result.
func MergeEntities(core []*Entity, extra []*Entity) []*Entity {
	out := append([]*Entity(nil), core...)
	placed := map[string]bool{}
	for _, e := range core {
		placed[e.Name] = true
	}
	pending := append([]*Entity(nil), extra...)
	for len(pending) > 0 {
		var next []*Entity
		for _, e := range pending {
			ready := true
			for _, f := range e.Foreigns() {
				if f.Reference == e.Name || placed[f.Reference] {
					continue
				}
				for _, p := range pending {
					if p.Name == f.Reference {
						ready = false
					}
				}
			}
			if ready {
				out = append(out, e)
				placed[e.Name] = true
			} else {
				next = append(next, e)
			}
		}
		if len(next) == len(pending) { // a cycle: keep the rest as given
			return append(out, next...)
		}
		pending = next
	}
	return out
}

// Entity returns the declaration with the given name.
func (r *Registry) Entity(name string) (*Entity, bool) {
	e, ok := r.byName[name]
	return e, ok
}

// ByPath returns the declaration served at the given Admin API path segment.
func (r *Registry) ByPath(path string) (*Entity, bool) {
	e, ok := r.byPath[path]
	return e, ok
}

// All returns every declaration in dependency order.
func (r *Registry) All() []*Entity { return append([]*Entity(nil), r.order...) }

// Names returns the entity names, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.order))
	for _, e := range r.order {
		out = append(out, e.Name)
	}
	sort.Strings(out)
	return out
}

// Referencing lists (entity, field) pairs that hold a foreign key to name.
func (r *Registry) Referencing(name string) []FieldRef {
	var out []FieldRef
	for _, e := range r.order {
		for _, f := range e.Foreigns() {
			if f.Reference == name {
				out = append(out, FieldRef{Entity: e, Field: f})
			}
		}
	}
	return out
}

// FieldRef names a foreign-key field of an entity.
type FieldRef struct {
	Entity *Entity
	Field  *schema.Field
}
