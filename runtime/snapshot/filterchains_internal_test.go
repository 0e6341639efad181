package snapshot

import "testing"

// TestFilterPluginLess: Kong's filter_plugin_compare — name, then
// updated_at, then created_at, then id; a timestamp missing on either side
// is skipped.
func TestFilterPluginLess(t *testing.T) {
	p := func(id, name string, updated, created any) map[string]any {
		m := map[string]any{"id": id, "name": name}
		if updated != nil {
			m["updated_at"] = updated
		}
		if created != nil {
			m["created_at"] = created
		}
		return m
	}
	for _, c := range []struct {
		name string
		a, b map[string]any
		want bool
	}{
		{"name first", p("9", "a", int64(9), int64(9)), p("1", "b", int64(1), int64(1)), true},
		{"name first, reversed", p("1", "b", int64(1), int64(1)), p("9", "a", int64(9), int64(9)), false},
		{"updated_at", p("9", "a", int64(1), int64(9)), p("1", "a", int64(2), int64(1)), true},
		{"created_at", p("9", "a", int64(2), int64(1)), p("1", "a", int64(2), int64(2)), true},
		{"id", p("1", "a", int64(2), int64(2)), p("2", "a", int64(2), int64(2)), true},
		{"id, reversed", p("2", "a", int64(2), int64(2)), p("1", "a", int64(2), int64(2)), false},
		{"float timestamps", p("9", "a", 1.0, nil), p("1", "a", 2.0, nil), true},
		{"missing updated_at skipped", p("9", "a", nil, int64(1)), p("1", "a", int64(5), int64(2)), true},
		{"all missing: id", p("2", "a", nil, nil), p("1", "a", nil, nil), false},
	} {
		if got := filterPluginLess(c.a, c.b); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}
