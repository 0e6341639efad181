package admin

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/store"
)

// TeamCondition is one condition of a team assignment rule: the entity's
// Field ("name", "tags" or "description") compared with Value by Op
// ("equals", "contains", "starts_with" or "ends_with").
type TeamCondition struct {
	Field string `json:"field"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

// TeamRule is a team assignment rule: the team (TeamID) owns every entity
// of type Entity whose fields match the conditions, joined by Join ("and"
// or "or"). A rule with no condition matches every entity of its type.
type TeamRule struct {
	ID, TeamID string
	Entity     string
	Conditions []TeamCondition
	Join       string
}

// maxConditions bounds the conditions of one rule.
const maxConditions = 64

// ParseTeamRule reads a rule from a POST /teams/{t}/rules body (or a
// stored team_rules record): `entity_type` (alias `entity`), `conditions`
// (an array of {field, op, value} objects or of "field op value"
// strings, or one such string) and `join` ("and" by default). Ops may be
// written as webMethods shows them ("Starts with"); fields and ops are
// case-insensitive, values are not.
func ParseTeamRule(in map[string]any) (TeamRule, error) {
	var r TeamRule
	entity, _ := in["entity_type"].(string)
	if entity == "" {
		entity, _ = in["entity"].(string)
	}
	if !slices.Contains(store.TeamOwnedEntities, entity) {
		return r, fmt.Errorf("entity_type: expected one of: %s", strings.Join(store.TeamOwnedEntities, ", "))
	}
	r.Entity = entity
	r.Join = "and"
	if j, present := in["join"]; present && j != nil {
		s, _ := j.(string)
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "and" && s != "or" {
			return r, fmt.Errorf("join: expected one of: and, or")
		}
		r.Join = s
	}
	var raw []any
	switch c := in["conditions"].(type) {
	case nil:
	case string:
		if strings.TrimSpace(c) != "" {
			raw = []any{c}
		}
	case []any:
		raw = c
	case []map[string]any:
		for _, m := range c {
			raw = append(raw, m)
		}
	default:
		return r, fmt.Errorf("conditions: expected an array")
	}
	if len(raw) > maxConditions {
		return r, fmt.Errorf("conditions: at most %d conditions", maxConditions)
	}
	for i, item := range raw {
		cond, err := parseCondition(item)
		if err != nil {
			return r, fmt.Errorf("conditions.%d: %w", i+1, err)
		}
		r.Conditions = append(r.Conditions, cond)
	}
	return r, nil
}

// parseCondition reads one condition: an object or a "field op value"
// string.
func parseCondition(item any) (TeamCondition, error) {
	var c TeamCondition
	switch v := item.(type) {
	case map[string]any:
		f, _ := v["field"].(string)
		op, _ := v["op"].(string)
		val, ok := v["value"].(string)
		if !ok {
			return c, fmt.Errorf("value: expected a string")
		}
		c = TeamCondition{Field: f, Op: op, Value: val}
	case string:
		parts := strings.SplitN(strings.TrimSpace(v), " ", 3)
		if len(parts) < 3 {
			return c, fmt.Errorf("expected \"field op value\"")
		}
		c = TeamCondition{Field: parts[0], Op: parts[1], Value: strings.TrimSpace(parts[2])}
	default:
		return c, fmt.Errorf("expected an object with field, op and value")
	}
	c.Field = strings.ToLower(strings.TrimSpace(c.Field))
	c.Op = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(c.Op)), " ", "_")
	if !slices.Contains(store.TeamRuleFields, c.Field) {
		return c, fmt.Errorf("field: expected one of: %s", strings.Join(store.TeamRuleFields, ", "))
	}
	if !slices.Contains(store.TeamRuleOps, c.Op) {
		return c, fmt.Errorf("op: expected one of: %s", strings.Join(store.TeamRuleOps, ", "))
	}
	if len(c.Value) > 1024 {
		return c, fmt.Errorf("value: length must be at most 1024")
	}
	return c, nil
}

// Record returns the rule as team_rules stores it (without team and id).
func (r TeamRule) Record() map[string]any {
	conds := make([]any, 0, len(r.Conditions))
	for _, c := range r.Conditions {
		conds = append(conds, map[string]any{"field": c.Field, "op": c.Op, "value": c.Value})
	}
	return map[string]any{"entity_type": r.Entity, "conditions": conds, "join": r.Join}
}

// Matches reports whether an entity of type entity matches the rule. A
// condition on tags holds when one of the entity's tags satisfies it; on
// name, the entity's name (a consumer's username); on description, its
// description. A missing field is the empty string (no tags: no tag).
func (r TeamRule) Matches(entity string, rec map[string]any) bool {
	if entity != r.Entity {
		return false
	}
	if len(r.Conditions) == 0 {
		return true
	}
	or := r.Join == "or"
	for _, c := range r.Conditions {
		ok := c.holds(entity, rec)
		if or && ok {
			return true
		}
		if !or && !ok {
			return false
		}
	}
	return !or
}

// holds tests one condition.
func (c TeamCondition) holds(entity string, rec map[string]any) bool {
	switch c.Field {
	case "tags":
		for _, tag := range stringList(rec["tags"]) {
			if compare(c.Op, tag, c.Value) {
				return true
			}
		}
		return false
	case "name":
		name, _ := rec["name"].(string)
		if entity == "consumers" {
			name, _ = rec["username"].(string)
		}
		return compare(c.Op, name, c.Value)
	default:
		s, _ := rec[c.Field].(string)
		return compare(c.Op, s, c.Value)
	}
}

func compare(op, have, want string) bool {
	switch op {
	case "equals":
		return have == want
	case "contains":
		return strings.Contains(have, want)
	case "starts_with":
		return strings.HasPrefix(have, want)
	case "ends_with":
		return strings.HasSuffix(have, want)
	}
	return false
}
