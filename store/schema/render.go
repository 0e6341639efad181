package schema

// Render returns the schema as Kong's `GET /schemas/...` endpoints show it:
// {"fields": [{"name": {"type": ..., ...}}, ...]}.
func Render(s *Schema) map[string]any {
	return map[string]any{"fields": renderFields(s.Fields)}
}

func renderFields(fields []*Field) []any {
	out := make([]any, 0, len(fields))
	for _, f := range fields {
		out = append(out, map[string]any{f.Name: RenderField(f)})
	}
	return out
}

// RenderField returns one field's attributes as Kong renders them.
func RenderField(f *Field) map[string]any {
	m := map[string]any{"type": string(f.Type)}
	if f.Type == Foreign {
		m["type"] = "foreign"
		m["reference"] = f.Reference
		if f.OnDelete != "" {
			m["on_delete"] = f.OnDelete
		}
	}
	if f.Required {
		m["required"] = true
	} else if f.Optional {
		m["required"] = false // Kong shows a record declared required = false
	}
	if f.Default != nil {
		m["default"] = Clone(f.Default)
	}
	if f.Unique {
		m["unique"] = true
	}
	if f.Auto {
		m["auto"] = true
	}
	if f.UUID {
		m["uuid"] = true
	}
	if f.Timestamp {
		m["timestamp"] = true
	}
	if f.Immutable {
		m["immutable"] = true
	}
	if len(f.OneOf) > 0 {
		m["one_of"] = Clone(anyList(f.OneOf))
	}
	if f.Between != nil {
		m["between"] = []any{num(f.Between[0]), num(f.Between[1])}
	}
	if f.Gt != nil {
		m["gt"] = num(*f.Gt)
	}
	if f.LenMin > 0 {
		m["len_min"] = int64(f.LenMin)
	}
	if f.LenMax > 0 {
		m["len_max"] = int64(f.LenMax)
	}
	if f.StartsWith != "" {
		m["starts_with"] = f.StartsWith
	}
	if f.Referenceable {
		m["referenceable"] = true
	}
	if f.Encrypted {
		m["encrypted"] = true
	}
	if f.Sensitive {
		m["sensitive"] = true
	}
	if f.Description != "" {
		m["description"] = f.Description
	}
	if f.Elements != nil {
		m["elements"] = RenderField(f.Elements)
	}
	if f.Keys != nil {
		m["keys"] = RenderField(f.Keys)
	}
	if f.Values != nil {
		m["values"] = RenderField(f.Values)
	}
	if f.Type == Record {
		m["fields"] = renderFields(f.Fields)
	}
	return m
}

func anyList(l []any) []any { return append([]any(nil), l...) }

// num renders a whole number as an integer so JSON shows 65535, not 65535.0.
func num(f float64) any {
	if f == float64(int64(f)) {
		return int64(f)
	}
	return f
}
