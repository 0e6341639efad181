package main

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestAPIKey(t *testing.T) {
	pp, err := Plugin.Provide("api-key")
	if err != nil {
		t.Fatal(err)
	}
	inst := plugintest.NewProvided(t, pp, map[string]any{"keys": []any{"k1", "k2"}})
	for _, c := range []struct {
		name, key, msg string
		status         int
		index          string
	}{
		{"no key", "", "No API key found in request", 401, ""},
		{"wrong key", "nope", "Invalid API key", 403, ""},
		{"second key", "k2", "", 0, "2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := plugintest.NewRequest("GET", "/")
			if c.key != "" {
				req = req.WithHeader("X-Api-Key", c.key)
			}
			res := plugintest.Run(t, inst, hostabi.PhaseAccess, req)
			if c.status != 0 && (!res.Exited || res.Status != c.status || res.ExitMessage() != c.msg) {
				t.Errorf("exit %v %d %q", res.Exited, res.Status, res.ExitBody)
			}
			if c.status == 0 && res.Exited {
				t.Errorf("refused: %d %s", res.Status, res.ExitBody)
			}
			if got := res.UpstreamHeader("X-Key-Index"); got != c.index {
				t.Errorf("X-Key-Index %q, want %q", got, c.index)
			}
		})
	}
}
