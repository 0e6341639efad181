package main

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestCounter(t *testing.T) {
	pp, err := Plugin.Provide("counter")
	if err != nil {
		t.Fatal(err)
	}
	inst := plugintest.NewProvided(t, pp, nil)
	env := plugintest.NewEnv() // the node: its cache outlives requests
	for i, c := range []struct{ user, want string }{{"alice", "1"}, {"alice", "2"}, {"bob", "1"}, {"alice", "3"}} {
		res := env.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithHeader("X-User", c.user))
		if res.Err != nil || res.RespHeader("X-Count") != c.want {
			t.Errorf("request %d (%s): X-Count %q, want %s (%v)", i+1, c.user, res.RespHeader("X-Count"), c.want, res.Err)
		}
	}
}
