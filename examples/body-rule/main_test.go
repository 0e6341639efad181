package main

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestBodyRule(t *testing.T) {
	pp, err := Plugin.Provide("body-rule")
	if err != nil {
		t.Fatal(err)
	}
	inst := plugintest.NewProvided(t, pp, map[string]any{"forbidden": "DROP TABLE"})
	for _, c := range []struct {
		body   string
		reject bool
	}{{"name=x; DROP TABLE users", true}, {"name=x", false}, {"", false}, {"drop table", false}} {
		res := plugintest.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("POST", "/").WithBody("text/plain", []byte(c.body)))
		if res.Exited != c.reject || (c.reject && (res.Status != 400 || res.ExitMessage() != "forbidden content")) {
			t.Errorf("body %q: exited %v %d %s", c.body, res.Exited, res.Status, res.ExitBody)
		}
	}
	if _, err := plugintest.TryProvided(pp, map[string]any{"forbidden": ""}); err == nil {
		t.Error("an empty forbidden string was accepted")
	}
}
