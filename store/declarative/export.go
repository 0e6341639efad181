package declarative

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
	"gopkg.in/yaml.v3"
)

// Export writes every entity of s as a declarative configuration, the shape
// of Kong's `kong config db_export`: `_format_version: "3.0"`,
// `_transform: false` (values are written as stored: basic-auth passwords
// are already hashed), then one flat list per entity type in dependency
// order, each ordered by id, with foreign keys written as plain ids.
//
// Fields are written in schema order. Null fields are left out when loading
// the file gives them back as null anyway (no default); a null field whose
// default is not null is written as null, so that loading the export into an
// empty store reproduces exactly the exported entities.
func Export(ctx context.Context, s *store.Store) ([]byte, error) {
	data, err := s.Export(ctx)
	if err != nil {
		return nil, err
	}
	doc := &yaml.Node{Kind: yaml.MappingNode}
	addPair(doc, "_format_version", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "3.0", Style: yaml.DoubleQuotedStyle})
	addPair(doc, "_transform", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"})
	for _, e := range s.Registry().All() {
		if store.NotDeclarative(e.Name) {
			continue
		}
		recs := append([]map[string]any(nil), data[e.Name]...)
		if len(recs) == 0 {
			continue
		}
		sort.SliceStable(recs, func(i, j int) bool {
			a, _ := recs[i]["id"].(string)
			b, _ := recs[j]["id"].(string)
			return a < b
		})
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, rec := range recs {
			n, err := recordNode(s, e, rec)
			if err != nil {
				return nil, err
			}
			seq.Content = append(seq.Content, n)
		}
		addPair(doc, declKey(e), seq)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}); err != nil {
		return nil, fmt.Errorf("declarative: encoding export: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("declarative: encoding export: %w", err)
	}
	return buf.Bytes(), nil
}

func addPair(m *yaml.Node, key string, value *yaml.Node) {
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, value)
}

// recordNode renders one stored entity.
func recordNode(s *store.Store, e *store.Entity, rec map[string]any) (*yaml.Node, error) {
	sch := e.Schema
	if e.Name == "plugins" {
		if name, ok := rec["name"].(string); ok {
			if ps, ok := s.PluginEntitySchema(name); ok {
				sch = ps
			}
		}
	}
	n := &yaml.Node{Kind: yaml.MappingNode}
	seen := map[string]bool{}
	add := func(key string, v any) error {
		vn, err := valueNode(v)
		if err != nil {
			return fmt.Errorf("declarative: encoding %s %v field %s: %w", e.Name, rec["id"], key, err)
		}
		addPair(n, key, vn)
		return nil
	}
	for _, f := range sch.Fields {
		v, ok := rec[f.Name]
		if !ok {
			continue
		}
		seen[f.Name] = true
		if v == nil && omittable(f) {
			continue
		}
		if f.Type == schema.Foreign {
			if m, ok := v.(map[string]any); ok && len(m) == 1 {
				if id, ok := m["id"].(string); ok {
					v = id
				}
			}
		} else {
			v = prune(f, v)
		}
		if err := add(f.Name, v); err != nil {
			return nil, err
		}
	}
	for _, k := range store.SortedKeys(rec) {
		if !seen[k] {
			if err := add(k, rec[k]); err != nil {
				return nil, err
			}
		}
	}
	return n, nil
}

// omittable reports whether a null field may be left out of a file: loading
// the file fills a missing field with what the store's defaults give, which
// is null only for a field without default that is not a record the store
// fills in.
func omittable(f *schema.Field) bool {
	if f.Default != nil {
		return false
	}
	return f.Type != schema.Record || (!f.Required && !hasDefaults(f.Fields))
}

func hasDefaults(fields []*schema.Field) bool {
	for _, f := range fields {
		if f.Default != nil || f.Required {
			return true
		}
		if f.Type == schema.Record && hasDefaults(f.Fields) {
			return true
		}
	}
	return false
}

// prune drops the omittable null fields of a record value, recursively.
// Elements of arrays and maps are kept whole: the store fills no defaults
// in them.
func prune(f *schema.Field, v any) any {
	m, ok := v.(map[string]any)
	if f.Type != schema.Record || !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		out[k] = e
	}
	for _, sub := range f.Fields {
		e, present := out[sub.Name]
		if !present {
			continue
		}
		if e == nil && omittable(sub) {
			delete(out, sub.Name)
			continue
		}
		out[sub.Name] = prune(sub, e)
	}
	return out
}

// valueNode encodes a value, writing whole floats as integers (a file read
// back gives integers to number fields, which the store converts).
func valueNode(v any) (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(wholeNumbers(v)); err != nil {
		return nil, err
	}
	return &n, nil
}

func wholeNumbers(v any) any {
	switch t := v.(type) {
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t)
		}
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = wholeNumbers(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = wholeNumbers(e)
		}
		return out
	}
	return v
}
