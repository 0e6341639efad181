package admin

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTeamRuleMatches(t *testing.T) {
	prodPay := map[string]any{"name": "payments", "tags": []any{"prod", "eu"}}
	devAuth := map[string]any{"name": "auth-api", "tags": []any{"dev"}}
	untagged := map[string]any{"name": "legacy"}
	consumer := map[string]any{"username": "pay-client"}
	tests := []struct {
		name   string
		rule   map[string]any
		entity string
		rec    map[string]any
		want   bool
	}{
		{"no condition matches all", map[string]any{"entity_type": "services"}, "services", untagged, true},
		{"other entity type", map[string]any{"entity_type": "routes"}, "services", untagged, false},
		{"tags contains", rule("services", "and", "tags contains pro"), "services", prodPay, true},
		{"tags contains, no tag", rule("services", "and", "tags contains pro"), "services", untagged, false},
		{"tags equals one tag", rule("services", "and", "tags equals eu"), "services", prodPay, true},
		{"tags equals no partial", rule("services", "and", "tags equals e"), "services", prodPay, false},
		{"tags starts_with", rule("services", "and", "tags starts_with de"), "services", devAuth, true},
		{"tags ends_with", rule("services", "and", "tags ends_with od"), "services", prodPay, true},
		{"name starts_with", rule("services", "and", "name starts_with pay"), "services", prodPay, true},
		{"name starts_with, other", rule("services", "and", "name starts_with pay"), "services", devAuth, false},
		{"name ends_with", rule("services", "and", "name ends_with -api"), "services", devAuth, true},
		{"name equals is exact", rule("services", "and", "name equals Payments"), "services", prodPay, false},
		{"consumer name is username", rule("consumers", "and", "name starts_with pay"), "consumers", consumer, true},
		{"description missing", rule("services", "and", "description contains x"), "services", prodPay, false},
		{"and: both", rule("services", "and", "name starts_with pay", "tags equals prod"), "services", prodPay, true},
		{"and: one fails", rule("services", "and", "name starts_with pay", "tags equals dev"), "services", prodPay, false},
		{"or: one holds", rule("services", "or", "name starts_with zzz", "tags equals dev"), "services", devAuth, true},
		{"or: none holds", rule("services", "or", "name starts_with zzz", "tags equals qa"), "services", devAuth, false},
		{"value with spaces", rule("services", "and", "name equals a b"), "services", map[string]any{"name": "a b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseTeamRule(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Matches(tt.entity, tt.rec); got != tt.want {
				t.Errorf("Matches = %v, want %v (rule %+v)", got, tt.want, r)
			}
		})
	}
}

func rule(entity, join string, conds ...string) map[string]any {
	c := make([]any, len(conds))
	for i, s := range conds {
		c[i] = s
	}
	return map[string]any{"entity_type": entity, "join": join, "conditions": c}
}

func TestParseTeamRule(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  string
		want TeamRule
	}{
		{"objects", `{"entity_type":"routes","conditions":[{"field":"Tags","op":"Starts with","value":"x"}]}`, "",
			TeamRule{Entity: "routes", Join: "and", Conditions: []TeamCondition{{"tags", "starts_with", "x"}}}},
		{"entity alias and or", `{"entity":"plugins","join":"OR","conditions":"name equals rate"}`, "",
			TeamRule{Entity: "plugins", Join: "or", Conditions: []TeamCondition{{"name", "equals", "rate"}}}},
		{"empty conditions", `{"entity_type":"certificates","conditions":[]}`, "", TeamRule{Entity: "certificates", Join: "and"}},
		{"unknown entity", `{"entity_type":"targets"}`, "entity_type", TeamRule{}},
		{"missing entity", `{}`, "entity_type", TeamRule{}},
		{"bad join", `{"entity_type":"services","join":"xor"}`, "join", TeamRule{}},
		{"bad field", `{"entity_type":"services","conditions":["host equals x"]}`, "conditions.1: field", TeamRule{}},
		{"bad op", `{"entity_type":"services","conditions":[{"field":"name","op":"like","value":"x"}]}`, "conditions.1: op", TeamRule{}},
		{"short string", `{"entity_type":"services","conditions":["name equals"]}`, "conditions.1", TeamRule{}},
		{"value not a string", `{"entity_type":"services","conditions":[{"field":"name","op":"equals","value":1}]}`, "value", TeamRule{}},
		{"conditions not an array", `{"entity_type":"services","conditions":{"a":1}}`, "conditions", TeamRule{}},
		{"element not an object", `{"entity_type":"services","conditions":[3]}`, "conditions.1", TeamRule{}},
		{"too many", `{"entity_type":"services","conditions":[` + strings.Repeat(`"name equals a",`, maxConditions) + `"name equals a"]}`, "at most", TeamRule{}},
		{"long value", `{"entity_type":"services","conditions":["name equals ` + strings.Repeat("v", 1025) + `"]}`, "length", TeamRule{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in map[string]any
			if err := json.Unmarshal([]byte(tt.in), &in); err != nil {
				t.Fatal(err)
			}
			got, err := ParseTeamRule(in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(t, got), mustJSON(t, tt.want); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
			// The stored record parses back to the same rule.
			again, err := ParseTeamRule(roundTripJSON(t, got.Record()))
			if err != nil || mustJSON(t, again) != mustJSON(t, got) {
				t.Errorf("record %v parses back to %+v, %v", got.Record(), again, err)
			}
		})
	}
}

func mustJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func roundTripJSON(t testing.TB, v map[string]any) map[string]any {
	var out map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, v)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzParseTeamRule: any JSON body parses to a rule or an error, never a
// panic; a parsed rule's record parses back to the same rule, and
// matching any record does not panic.
func FuzzParseTeamRule(f *testing.F) {
	f.Add(`{"entity_type":"services","conditions":[{"field":"tags","op":"contains","value":"prod"}]}`)
	f.Add(`{"entity":"consumers","join":"or","conditions":["name starts_with pay","tags equals x"]}`)
	f.Add(`{"entity_type":"routes","conditions":"description ends_with  z "}`)
	f.Add(`{"entity_type":"services","conditions":[null,1,"",{}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var in map[string]any
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		r, err := ParseTeamRule(in)
		if err != nil {
			return
		}
		again, err := ParseTeamRule(roundTripJSON(t, r.Record()))
		if err != nil || mustJSON(t, again) != mustJSON(t, r) {
			t.Fatalf("record %v of %s parses back to %+v, %v", r.Record(), body, again, err)
		}
		r.Matches(r.Entity, in)
		r.Matches(r.Entity, map[string]any{"name": body, "tags": []any{body, 1}})
	})
}
