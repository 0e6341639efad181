package schema

// Render returns the schema as Kong's `GET /schemas/...` endpoints show it:
// {"fields": [{"name": {"type": ..., ...}}, ...]}, with "entity_checks"
// when the schema has entity checks as data. FromJSON reads this form back.
func Render(s *Schema) map[string]any {
	out := map[string]any{"fields": renderFields(s.Fields)}
	if len(s.EntityChecks) > 0 {
		out["entity_checks"] = RenderEntityChecks(s.EntityChecks)
	}
	return out
}

// RenderEntityChecks returns entity checks as Kong renders them: a list of
// one-key objects ({"at_least_one_of": [...]}, {"conditional": {...}}, ...);
// a named record validator renders as {"x_gatehouse_validator": "<name>"}.
func RenderEntityChecks(checks []EntityCheck) []any {
	out := make([]any, 0, len(checks))
	for _, c := range checks {
		out = append(out, renderEntityCheck(c))
	}
	return out
}

func renderEntityCheck(c EntityCheck) map[string]any {
	strs := func(l []string) []any {
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	}
	switch {
	case c.AtLeastOneOf != nil:
		return map[string]any{"at_least_one_of": strs(c.AtLeastOneOf)}
	case c.OnlyOneOf != nil:
		return map[string]any{"only_one_of": strs(c.OnlyOneOf)}
	case c.MutuallyExclusive != nil:
		return map[string]any{"mutually_exclusive": strs(c.MutuallyExclusive)}
	case c.MutuallyRequired != nil:
		return map[string]any{"mutually_required": strs(c.MutuallyRequired)}
	case c.Distinct != nil:
		return map[string]any{"distinct": strs(c.Distinct)}
	case c.Conditional != nil:
		k := c.Conditional
		m := map[string]any{
			"if_field": k.IfField, "if_match": RenderField(k.IfMatch),
			"then_field": k.ThenField, "then_match": RenderField(k.ThenMatch),
		}
		if k.ThenErr != "" {
			m["then_err"] = k.ThenErr
		}
		return map[string]any{"conditional": m}
	case c.ConditionalAtLeastOneOf != nil:
		k := c.ConditionalAtLeastOneOf
		m := map[string]any{"if_field": k.IfField, "if_match": RenderField(k.IfMatch)}
		if k.ThenAtLeastOneOf != nil {
			m["then_at_least_one_of"] = strs(k.ThenAtLeastOneOf)
		}
		if k.ElseMatch != nil {
			m["else_match"] = RenderField(k.ElseMatch)
		}
		if k.ElseThenAtLeastOneOf != nil {
			m["else_then_at_least_one_of"] = strs(k.ElseThenAtLeastOneOf)
		}
		if k.ThenErr != "" {
			m["then_err"] = k.ThenErr
		}
		if k.ElseThenErr != "" {
			m["else_then_err"] = k.ElseThenErr
		}
		return map[string]any{"conditional_at_least_one_of": m}
	}
	return map[string]any{ValidatorKey: c.Validator}
}

func renderFields(fields []*Field) []any {
	out := make([]any, 0, len(fields))
	for _, f := range fields {
		out = append(out, map[string]any{f.Name: RenderField(f)})
	}
	return out
}

// RenderField returns one field's attributes as Kong renders them. A
// constraint-only field (no Type, as in a conditional's if_match) renders
// without "type".
func RenderField(f *Field) map[string]any {
	m := map[string]any{}
	if f.Type != "" {
		m["type"] = string(f.Type)
	}
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
	if len(f.NotOneOf) > 0 {
		m["not_one_of"] = Clone(anyList(f.NotOneOf))
	}
	if f.Null {
		m["eq"] = nil
	} else if f.Eq != nil {
		m["eq"] = Clone(f.Eq)
	}
	if f.Contains != nil {
		m["contains"] = Clone(f.Contains)
	}
	if f.Pattern != "" {
		m["match"] = f.Pattern
	}
	if f.NotMatch != "" {
		m["not_match"] = f.NotMatch
	}
	if f.MatchNone != nil {
		m["match_none"] = renderRules(f.MatchNone)
	}
	if f.MatchAll != nil {
		m["match_all"] = renderRules(f.MatchAll)
	}
	if f.MatchAny != nil {
		ps := make([]any, len(f.MatchAny.Patterns))
		for i, p := range f.MatchAny.Patterns {
			ps[i] = p
		}
		ma := map[string]any{"patterns": ps}
		if f.MatchAny.Err != "" {
			ma["err"] = f.MatchAny.Err
		}
		m["match_any"] = ma
	}
	if f.MatchMessage != "" {
		m[MatchMessageKey] = f.MatchMessage
	}
	if f.Validator != "" {
		m[ValidatorKey] = f.Validator
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
	if f.IsRegex {
		m["is_regex"] = true
	}
	if d := f.Deprecation; d != nil {
		dm := map[string]any{"message": d.Message, "removal_in_version": d.RemovalInVersion}
		if d.OldDefault != nil {
			dm["old_default"] = Clone(d.OldDefault)
		}
		m["deprecation"] = dm
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
	if len(f.EntityChecks) > 0 {
		m["entity_checks"] = RenderEntityChecks(f.EntityChecks)
	}
	return m
}

func renderRules(rules []PatternRule) []any {
	out := make([]any, len(rules))
	for i, r := range rules {
		m := map[string]any{"pattern": r.Pattern}
		if r.Err != "" {
			m["err"] = r.Err
		}
		out[i] = m
	}
	return out
}

func anyList(l []any) []any { return append([]any(nil), l...) }

// num renders a whole number as an integer so JSON shows 65535, not 65535.0.
func num(f float64) any {
	if f == float64(int64(f)) {
		return int64(f)
	}
	return f
}
