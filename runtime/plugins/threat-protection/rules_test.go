package threatprotection_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// tenRules is a rule set of ten rules over different paths and filters.
func tenRules() map[string]any {
	var rules []any
	for i := 0; i < 8; i++ {
		rules = append(rules, map[string]any{"name": fmt.Sprint("json-", i), "paths": []any{fmt.Sprintf("/api/v%d/*", i)},
			"filters": map[string]any{"json": map[string]any{"max_container_depth": 8, "max_string_length": 256}, "max_body_size": 65536}})
	}
	rules = append(rules,
		map[string]any{"name": "sqli", "paths": []any{"/api/*"}, "filters": map[string]any{"sql_injection": map[string]any{}}},
		map[string]any{"name": "audit", "action": "alert", "paths": []any{"/api/*"}, "filters": map[string]any{"require_credential": true}},
	)
	return map[string]any{"rules": rules}
}

func TestRulesTable(t *testing.T) {
	inst := newInst(t, map[string]any{"rules": []any{
		map[string]any{"name": "late-alert", "action": "alert", "message": "seen", "filters": map[string]any{"max_body_size": 4}},
		map[string]any{"name": "deep", "message": "too deep", "paths": []any{"/j*"}, "filters": map[string]any{"json": map[string]any{"max_container_depth": 2}}},
		map[string]any{"name": "sqli-q", "paths": []any{"/q*"}, "filters": map[string]any{"sql_injection": map[string]any{"parameters": []any{"q"}}}},
		map[string]any{"name": "cred", "message": "who are you", "paths": []any{"/c"}, "filters": map[string]any{"require_credential": true}},
	}})
	cases := []struct {
		name, path, ct, body string
		header               [2]string
		status               int
		message              string
	}{
		{"alert only", "/x", "text/plain", "12345", [2]string{}, 0, ""},
		{"deny before the earlier-listed alert", "/j", "application/json", "[[[1]]]", [2]string{}, 403, "too deep"},
		{"json depth ok", "/j", "application/json", "[[1]]", [2]string{}, 0, ""},
		{"sqli in a checked parameter", "/q?q=" + url.QueryEscape("1; DROP TABLE users--"), "", "", [2]string{}, 403, "Request blocked by threat protection"},
		{"sqli in an unchecked parameter", "/q?other=" + url.QueryEscape("' OR 1=1--"), "", "", [2]string{}, 0, ""},
		{"no credential", "/c", "", "", [2]string{}, 403, "who are you"},
		{"apikey header", "/c", "", "", [2]string{"apikey", "k"}, 0, ""},
		{"apikey query", "/c?apikey=k", "", "", [2]string{}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := plugintest.NewRequest("POST", c.path).WithClientIP("192.0.2.1")
			if c.body != "" {
				req = req.WithBody(c.ct, []byte(c.body))
			}
			if c.header[0] != "" {
				req = req.WithHeader(c.header[0], c.header[1])
			}
			res := plugintest.NewEnv().Run(t, inst, hostabi.PhaseAccess, req)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			got := 0
			if res.Exited {
				got = res.Status
			}
			if got != c.status || (c.message != "" && !strings.Contains(string(res.ExitBody), c.message)) {
				t.Errorf("%d %s, want %d %q", got, res.ExitBody, c.status, c.message)
			}
		})
	}
}

func TestRuleSchemaRejects(t *testing.T) {
	for _, rules := range []any{
		[]any{map[string]any{"filters": map[string]any{}}},                                                               // no name
		[]any{map[string]any{"name": "x", "action": "block", "filters": map[string]any{}}},                               // bad action
		[]any{map[string]any{"name": "x", "filters": map[string]any{"json": map[string]any{"max_container_depth": -2}}}}, // below -1
	} {
		if _, err := newInstErr(map[string]any{"rules": rules}); err == nil {
			t.Errorf("rules %v accepted", rules)
		}
	}
}

// BenchmarkRules10 is a threat decision with ten rules: a request on a
// path eight rules skip, one JSON rule and the SQL injection rule check
// (query and a small JSON body), and an alert rule passes.
func BenchmarkRules10(b *testing.B) {
	inst := newInst(b, tenRules())
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("POST", "/api/v3/orders?id=42&sort=asc").
		WithClientIP("172.20.1.1").WithHeader("Authorization", "Bearer t").
		WithBody("application/json", []byte(`{"order":{"id":42,"items":[{"sku":"a-1","qty":2}],"note":"leave at the door"}}`)))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
		if k.Response().Exited() {
			b.Fatal("denied")
		}
	}
}

// BenchmarkRules10Query is BenchmarkRules10 for a GET without a body: the
// rules' decisions without the JSON body's parameter extraction.
func BenchmarkRules10Query(b *testing.B) {
	inst := newInst(b, tenRules())
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/api/v3/orders?id=42&sort=asc").
		WithClientIP("172.20.1.1").WithHeader("Authorization", "Bearer t"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
		if k.Response().Exited() {
			b.Fatal("denied")
		}
	}
}
