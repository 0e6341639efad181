package declarative

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// declKey is the key of an entity's collection in a file.
func declKey(e *store.Entity) string {
	if e.DeclarativeKey != "" {
		return e.DeclarativeKey
	}
	return e.Name
}

// childField returns the foreign key of child that references parent, the
// field a child nested in parent gets; "" when child cannot nest in parent.
// As in Kong, a parent field named like the child's collection (a route's
// `snis`) is a field, not a nesting.
func childField(parent, child *store.Entity) string {
	if parent.Schema.Field(declKey(child)) != nil {
		return ""
	}
	for _, f := range child.Foreigns() {
		if f.Reference == parent.Name {
			return f.Name
		}
	}
	return ""
}

// item is one entity read from a file.
type item struct {
	e    *store.Entity
	rec  map[string]any
	path []any
	// parent is the entity this one is nested in, parentField the foreign
	// key it gets from it.
	parent      *item
	parentField string
	// parentGiven holds the value the file gave parentField, if any.
	parentGiven    any
	hasParentGiven bool
}

func (it *item) id() string {
	id, _ := it.rec["id"].(string)
	return id
}

type parser struct {
	reg       *store.Registry
	errs      *errTree
	items     []*item
	byID      map[string]map[string]*item
	byKey     map[string]map[string]*item
	fallbacks map[string]int
}

// Parse reads a declarative configuration in YAML or JSON against the
// entity declarations of reg (a store's Registry: Kong's core entities and
// those of the enabled plugins).
//
// The top-level keys are `_format_version` (required: "1.1", "2.1" or
// "3.0"), `_transform` (a boolean, true by default), `_comment`,
// `_workspace` and `_ignore` (both ignored), and one collection per entity
// of reg, keyed by its DeclarativeKey or name as in Kong (services, routes,
// consumers, plugins, upstreams, targets, certificates, snis,
// ca_certificates, and the plugins' credentials). Any other key is an
// error.
//
// An entity may nest the entities that reference it, under the same
// collection keys: services[].routes[], services[].plugins[],
// routes[].plugins[], consumers[].plugins[], a consumer's credentials
// (consumers[].acls[], ...), upstreams[].targets[], certificates[].snis[] (where an
// SNI may also be given as a bare name). A nested entity gets its parent's
// foreign key; if it gives that key itself, the key must name the parent.
//
// Foreign keys may name their entity by id or by endpoint key (a service's
// or route's name, a consumer's username, ...), as strings or as {"id": …}
// records; they must resolve to an entity of the same file (Kong resolves
// consumers by username, not custom_id). Each entity may carry `_comment`
// and `_ignore`, which are dropped.
//
// Entities without an id get a deterministic one, so that loading a file
// twice yields the same ids. Where Kong 3.x derives the id, Parse gives
// Kong's: GenerateID of the entity's cache key ("plugins:*:<name>:<route>:
// <service>:<consumer>:<consumer group>", "acls:*:<consumer>:<group>",
// "<credential entity>:*:<username>", "targets:*:<upstream>:<target>", …,
// "*" being the default workspace) or else of its endpoint key (a service's
// name, a consumer's username). Where Kong would draw a random id
// (certificates, CA certificates, unnamed services and routes, consumers
// with only a custom_id, credentials whose key is generated), Parse uses
// GenerateID of "gatehouse:" followed by the entity's canonical JSON (keys
// sorted, nested entities left out, the parent's foreign key included),
// with "#2", "#3", … appended for repeated identical entities.
//
// Parse checks the file's shape, references and duplicates; the entities
// themselves are validated against the store's schemas by Config.Load.
func Parse(data []byte, reg *store.Registry) (*Config, error) {
	if reg == nil {
		return nil, errors.New("declarative: Parse needs an entity registry")
	}
	root, err := decode(data)
	if err != nil {
		return nil, invalid(schema.Errors{"error": "failed parsing declarative configuration: " + err.Error()})
	}
	top, ok := root.(map[string]any)
	if !ok {
		return nil, invalid(schema.Errors{"error": "failed parsing declarative configuration: expected an object"})
	}
	p := &parser{
		reg:       reg,
		errs:      newErrTree(),
		byID:      map[string]map[string]*item{},
		byKey:     map[string]map[string]*item{},
		fallbacks: map[string]int{},
	}
	c := &Config{Transform: true, entities: map[string][]map[string]any{}, origins: map[string][][]any{}}

	switch v := top["_format_version"].(type) {
	case nil:
		p.errs.root.Add("_format_version", "required field missing")
	case string:
		known := false
		for _, f := range FormatVersions {
			known = known || v == f
		}
		if !known {
			p.errs.root.Add("_format_version", "expected one of: "+strings.Join(FormatVersions, ", "))
		}
		c.FormatVersion = v
	default:
		p.errs.root.Add("_format_version", "expected a string")
	}
	switch v := top["_transform"].(type) {
	case nil:
	case bool:
		c.Transform = v
	default:
		p.errs.root.Add("_transform", "expected a boolean")
	}
	switch v := top["_comment"].(type) {
	case nil:
	case string:
		c.Comment = v
	default:
		p.errs.root.Add("_comment", "expected a string")
	}

	collections := map[string]*store.Entity{}
	for _, e := range p.reg.All() {
		if !store.NotDeclarative(e.Name) {
			collections[declKey(e)] = e
		}
	}
	for _, k := range store.SortedKeys(top) {
		switch k {
		case "_format_version", "_transform", "_comment", "_workspace", "_ignore":
			continue
		}
		if collections[k] == nil {
			p.errs.root.Add(k, "unknown field")
		}
	}
	for _, e := range p.reg.All() {
		if v, ok := top[declKey(e)]; ok && collections[declKey(e)] == e {
			p.walkList(e, v, []any{declKey(e)}, nil)
		}
	}
	p.index()
	p.resolve()
	if c.FormatVersion == "1.1" || c.FormatVersion == "2.1" {
		for _, it := range p.items {
			if it.e.Name == "routes" {
				migrateRoutePaths(it.rec)
			}
		}
	}
	if !p.errs.empty() {
		return nil, p.errs.err()
	}
	for _, it := range p.items {
		c.entities[it.e.Name] = append(c.entities[it.e.Name], it.rec)
		c.origins[it.e.Name] = append(c.origins[it.e.Name], it.path)
	}
	return c, nil
}

// walkList reads the collection v of entities e found at path (ending with
// the collection key), nested in parent when not nil.
func (p *parser) walkList(e *store.Entity, v any, path []any, parent *item) {
	var list []any
	switch t := v.(type) {
	case nil:
		return
	case []any:
		list = t
	case map[string]any:
		if len(t) == 0 {
			return // an empty YAML mapping reads as Kong's empty table
		}
		p.errs.set(path, "expected an array")
		return
	default:
		p.errs.set(path, "expected an array")
		return
	}
	for i, el := range list {
		elPath := append(append([]any(nil), path...), i)
		var rec map[string]any
		switch t := el.(type) {
		case map[string]any:
			rec = make(map[string]any, len(t))
			for k, v := range t {
				rec[k] = v
			}
		case string:
			if e.Name == "snis" && parent != nil && parent.e.Name == "certificates" {
				rec = map[string]any{"name": t}
				break
			}
			p.errs.set(elPath, "expected a record")
			continue
		default:
			p.errs.set(elPath, "expected a record")
			continue
		}
		p.walkRecord(e, rec, elPath, parent)
	}
}

type nestedList struct {
	e     *store.Entity
	value any
}

func (p *parser) walkRecord(e *store.Entity, rec map[string]any, path []any, parent *item) {
	delete(rec, "_comment")
	delete(rec, "_ignore")
	it := &item{e: e, rec: rec, path: path, parent: parent}
	parentID := ""
	if parent != nil {
		it.parentField = childField(parent.e, e)
		parentID = parent.id()
		it.parentGiven, it.hasParentGiven = rec[it.parentField]
		if it.parentGiven == nil {
			it.hasParentGiven = false
		}
	}
	var nested []nestedList
	for _, child := range p.reg.All() {
		if childField(e, child) == "" {
			continue
		}
		if v, ok := rec[declKey(child)]; ok {
			delete(rec, declKey(child))
			nested = append(nested, nestedList{child, v})
		}
	}
	if rec["id"] == nil {
		rec["id"] = p.generateID(e, rec, it.parentField, parentID)
	}
	if it.parentField != "" {
		delete(rec, it.parentField) // set to the parent's id by resolve
	}
	p.items = append(p.items, it)
	for _, n := range nested {
		p.walkList(n.e, n.value, append(append([]any(nil), path...), declKey(n.e)), it)
	}
}

// index records every entity by id and by endpoint key, reporting
// duplicates the way Kong does.
func (p *parser) index() {
	for _, it := range p.items {
		e := it.e
		failed := false
		if ek := e.EndpointKey; ek != "" {
			if f := e.Schema.Field(ek); f != nil && f.Unique {
				if key, ok := it.rec[ek].(string); ok {
					if p.byKey[e.Name] == nil {
						p.byKey[e.Name] = map[string]*item{}
					}
					if p.byKey[e.Name][key] != nil {
						p.errs.entityMessage(it.path, fmt.Sprintf("uniqueness violation: '%s' entity with %s set to '%s' already declared", e.Name, ek, key))
						failed = true
					} else {
						p.byKey[e.Name][key] = it
					}
				}
			}
		}
		if id, ok := it.rec["id"].(string); ok {
			if p.byID[e.Name] == nil {
				p.byID[e.Name] = map[string]*item{}
			}
			if p.byID[e.Name][id] != nil {
				if !failed {
					p.errs.entityMessage(it.path, fmt.Sprintf("uniqueness violation: '%s' entity with primary key set to '%s' already declared", e.Name, id))
				}
			} else {
				p.byID[e.Name][id] = it
			}
		}
	}
}

// find returns the entity of type entity that ref names: a string (endpoint
// key or id) or an {"id": …} record, looked up by endpoint key first, as
// Kong does.
func (p *parser) find(entity string, ref any) *item {
	var key string
	switch t := ref.(type) {
	case string:
		key = t
	case map[string]any:
		s, ok := t["id"].(string)
		if !ok {
			return nil
		}
		key = s
	default:
		return nil
	}
	if it := p.byKey[entity][key]; it != nil {
		return it
	}
	return p.byID[entity][key]
}

// resolve replaces every foreign key by {"id": …} of the entity it names.
func (p *parser) resolve() {
	for _, it := range p.items {
		for _, f := range it.e.Foreigns() {
			if f.Name == it.parentField {
				if it.hasParentGiven && p.find(f.Reference, it.parentGiven) != it.parent {
					p.errs.field(it.path, f.Name, "value must be null")
				}
				it.rec[f.Name] = map[string]any{"id": it.parent.id()}
				continue
			}
			v, ok := it.rec[f.Name]
			if !ok || v == nil {
				continue
			}
			target := p.find(f.Reference, v)
			if target == nil {
				shown, isStr := v.(string)
				if !isStr {
					b, err := json.Marshal(v)
					if err != nil {
						b = []byte(fmt.Sprint(v))
					}
					shown = string(b)
				}
				p.errs.field(it.path, f.Name, fmt.Sprintf("invalid reference '%s: %s' (no such entry in '%s')", f.Name, shown, f.Reference))
				continue
			}
			it.rec[f.Name] = map[string]any{"id": target.id()}
		}
	}
}
