package policy

import (
	"context"
	"reflect"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestShippedThreatDecision: the shipped threat policy is queried at its
// `decision` rule and decides limits and rules from the configuration.
func TestShippedThreatDecision(t *testing.T) {
	p, err := newSet(t, 0).Shipped("threat")
	if err != nil {
		t.Fatal(err)
	}
	if p.Query.String() != "data.gatehouse.threat.decision" || !p.HasEntry {
		t.Fatalf("query %s, has entry %v", p.Query, p.HasEntry)
	}
	config := map[string]any{
		"dos":          map[string]any{"message": "busy"},
		"dos_by_ip":    map[string]any{"message": "slow down"},
		"auth_lockout": map[string]any{"message": "locked"},
		"rules": []any{
			map[string]any{"name": "no-big", "action": "deny", "message": "too big"},
			map[string]any{"name": "watch", "action": "alert", "message": "seen"},
		},
	}
	cases := []struct {
		violation map[string]any
		want      map[string]any // nil: undefined
	}{
		{map[string]any{"limit": "dos", "filter": "max_requests"},
			map[string]any{"rule": "dos", "filter": "max_requests", "action": "deny", "status": 429, "message": "busy"}},
		{map[string]any{"limit": "dos_by_ip", "filter": "blocked"},
			map[string]any{"rule": "dos_by_ip", "filter": "blocked", "action": "deny", "status": 429, "message": "slow down"}},
		{map[string]any{"limit": "auth_lockout", "filter": "blocked"},
			map[string]any{"rule": "auth_lockout", "filter": "blocked", "action": "deny", "status": 403, "message": "locked"}},
		{map[string]any{"limit": "rule", "rule": 0, "filter": "max_body_size"},
			map[string]any{"rule": "no-big", "filter": "max_body_size", "action": "deny", "status": 413, "message": "too big"}},
		{map[string]any{"limit": "rule", "rule": 1, "filter": "json"},
			map[string]any{"rule": "watch", "filter": "json", "action": "alert", "status": 403, "message": "seen"}},
		{map[string]any{"limit": "rule", "rule": 7, "filter": "json"}, nil},
		{map[string]any{"limit": "other", "filter": "x"}, nil},
	}
	for _, c := range cases {
		in, err := ast.InterfaceToValue(map[string]any{"violation": c.violation, "config": config})
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Eval(context.Background(), in)
		if err != nil {
			t.Fatalf("%v: %v", c.violation, err)
		}
		if c.want == nil {
			if got != nil {
				t.Errorf("%v: %v, want undefined", c.violation, got)
			}
			continue
		}
		m, _ := got.(map[string]any)
		norm := map[string]any{}
		for k, v := range m {
			norm[k] = v
			if n, ok := v.(interface{ Int64() (int64, error) }); ok {
				i, _ := n.Int64()
				norm[k] = int(i)
			}
		}
		if !reflect.DeepEqual(norm, c.want) {
			t.Errorf("%v: %v, want %v", c.violation, norm, c.want)
		}
	}
}
