package main

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestHeaderRewrite(t *testing.T) {
	pp, err := Plugin.Provide("header-rewrite")
	if err != nil {
		t.Fatal(err)
	}
	inst := plugintest.NewProvided(t, pp, map[string]any{"header": "X-Added", "value": "yes", "drop": "X-Drop"})
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/").WithHeader("X-Drop", "1").WithHeader("X-Keep", "k"))
	for _, ph := range []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseHeaderFilter} {
		if err := plugintest.Call(k, inst, ph); err != nil {
			t.Fatal(ph, err)
		}
	}
	res := k.Result()
	if res.UpstreamHeader("X-Added") != "yes" || res.HasUpstreamHeader("X-Drop") || res.UpstreamHeader("X-Keep") != "k" {
		t.Errorf("upstream headers %v", res.Header)
	}
	if res.RespHeader("X-Scenario") != "header-rewrite" {
		t.Errorf("response headers %v", res.ResponseHeader)
	}
	if _, err := plugintest.TryProvided(pp, map[string]any{"header": "X-Added"}); err == nil {
		t.Error("a configuration without value was accepted")
	}
}
