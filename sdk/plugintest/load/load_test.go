package load_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/sdk/plugintest/load"
)

const luaDir = "../../../conformance/plugins/testdata/lua"

// TestAPIKeyEveryRuntime runs the API-key plugin compiled to Wasm (from
// examples/api-key) and the Lua one of the scenario set through the same
// fake requests and expects the same results.
func TestAPIKeyEveryRuntime(t *testing.T) {
	for _, rt := range []struct {
		name string
		load func(t *testing.T) hostabi.ProvidedPlugin
	}{
		{"wasm", func(t *testing.T) hostabi.ProvidedPlugin { return load.WasmSource(t, "../../../examples/api-key") }},
		{"lua", func(t *testing.T) hostabi.ProvidedPlugin { return load.Lua(t, luaDir, "sc-api-key") }},
	} {
		t.Run(rt.name, func(t *testing.T) {
			pp := rt.load(t)
			if _, err := plugintest.TryProvided(pp, map[string]any{"header": "x"}); err == nil ||
				!strings.Contains(err.Error(), "keys") {
				t.Errorf("a configuration without keys: %v", err)
			}
			inst := plugintest.NewProvided(t, pp, map[string]any{"keys": []any{"k1", "k2"}})
			env := plugintest.NewEnv()
			for _, c := range []struct {
				key, msg string
				status   int
				index    string
			}{
				{"", "No API key found in request", 401, ""},
				{"nope", "Invalid API key", 403, ""},
				{"k2", "", 0, "2"},
			} {
				req := plugintest.NewRequest("GET", "/")
				if c.key != "" {
					req = req.WithHeader("X-Api-Key", c.key)
				}
				res := env.Run(t, inst, hostabi.PhaseAccess, req)
				if res.Err != nil {
					t.Fatalf("key %q: %v", c.key, res.Err)
				}
				if res.Exited != (c.status != 0) || (c.status != 0 && (res.Status != c.status || res.ExitMessage() != c.msg)) {
					t.Errorf("key %q: exited %v %d %q", c.key, res.Exited, res.Status, res.ExitBody)
				}
				if got := res.UpstreamHeader("X-Key-Index"); got != c.index {
					t.Errorf("key %q: X-Key-Index %q, want %q", c.key, got, c.index)
				}
			}
		})
	}
}

// TestWasmExamples runs each example compiled to Wasm on fake requests.
func TestWasmExamples(t *testing.T) {
	t.Run("header-rewrite", func(t *testing.T) {
		inst := plugintest.NewProvided(t, load.WasmSource(t, "../../../examples/header-rewrite"),
			map[string]any{"header": "X-Added", "value": "yes", "drop": "X-Drop"})
		env := plugintest.NewEnv()
		k := env.NewKong(plugintest.NewRequest("GET", "/").WithHeader("X-Drop", "1").WithHeader("X-Keep", "k"))
		for _, ph := range []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseHeaderFilter} {
			if err := plugintest.Call(k, inst, ph); err != nil {
				t.Fatal(ph, err)
			}
		}
		res := k.Result()
		if res.UpstreamHeader("X-Added") != "yes" || res.HasUpstreamHeader("X-Drop") || res.UpstreamHeader("X-Keep") != "k" ||
			res.RespHeader("X-Scenario") != "header-rewrite" {
			t.Errorf("upstream %v, response %v", res.Header, res.ResponseHeader)
		}
	})
	t.Run("body-rule", func(t *testing.T) {
		inst := plugintest.NewProvided(t, load.WasmSource(t, "../../../examples/body-rule"), map[string]any{"forbidden": "DROP TABLE"})
		res := plugintest.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("POST", "/").WithBody("text/plain", []byte("x; DROP TABLE users")))
		if !res.Exited || res.Status != 400 || res.ExitMessage() != "forbidden content" {
			t.Errorf("forbidden body: %+v", res)
		}
		res = plugintest.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("POST", "/").WithBody("text/plain", []byte("name=x")))
		if res.Exited || res.Err != nil {
			t.Errorf("allowed body: %v %v", res.Exited, res.Err)
		}
	})
	t.Run("counter", func(t *testing.T) {
		inst := plugintest.NewProvided(t, load.WasmSource(t, "../../../examples/counter"), nil)
		env := plugintest.NewEnv()
		for i, c := range []struct{ user, want string }{{"alice", "1"}, {"alice", "2"}, {"bob", "1"}, {"alice", "3"}} {
			res := env.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithHeader("X-User", c.user))
			if res.Err != nil || res.RespHeader("X-Count") != c.want {
				t.Errorf("request %d (%s): X-Count %q, want %s (%v)", i+1, c.user, res.RespHeader("X-Count"), c.want, res.Err)
			}
		}
	})
}
