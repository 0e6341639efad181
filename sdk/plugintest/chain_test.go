package plugintest_test

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

type authPlugin struct{}

func (authPlugin) Access(k hostabi.Kong) error {
	if k.Request().Header("apikey") != "ok" {
		k.Response().Error(401, "", nil)
		return nil
	}
	k.Client().Authenticate(hostabi.Entity{"id": "c1"}, nil)
	return nil
}

type tagPlugin struct{ tag string }

func (p tagPlugin) Access(k hostabi.Kong) error {
	k.ServiceRequest().SetHeader("X-Tag", p.tag)
	return nil
}

func (p tagPlugin) HeaderFilter(k hostabi.Kong) error {
	k.Response().SetHeader("X-Seen", p.tag)
	return nil
}

type failing struct{}

func (failing) Access(hostabi.Kong) error { return errors.New("nope") }

// TestRunChain: priorities, Kong's scoping with the consumer an earlier
// plugin identified, exits that stop the access handlers but not the
// later plugins' header_filter, and faults.
func TestRunChain(t *testing.T) {
	plugins := []plugintest.ChainPlugin{
		{Name: "auth", Priority: 1000, Instance: authPlugin{}},
		{Name: "seen", Priority: 2000, Instance: tagPlugin{"first"}},
		{Name: "tag", Priority: 10, Instance: tagPlugin{"global"}},
		{Name: "tag", Priority: 10, ConsumerID: "c1", Instance: tagPlugin{"consumer"}},
		{Name: "tag", Priority: 10, RouteID: "r2", Instance: tagPlugin{"route"}},
	}
	env := plugintest.NewEnv()
	req := plugintest.NewRequest("GET", "/").WithHeader("apikey", "ok")
	req.Route = hostabi.Entity{"id": "r1"}
	res := env.RunChain(t, plugins, req)
	if res.Err != nil || res.UpstreamHeader("X-Tag") != "consumer" || res.RespHeader("X-Seen") != "consumer" {
		t.Fatalf("authenticated: %v %q %q", res.Err, res.UpstreamHeader("X-Tag"), res.RespHeader("X-Seen"))
	}
	req = plugintest.NewRequest("GET", "/")
	req.Route = hostabi.Entity{"id": "r2"}
	res = env.RunChain(t, plugins, req)
	// The exit stops the access handlers before tag's turn, but as in Kong
	// (and on the node) tag is still collected: its header_filter runs
	// after seen's, so the response says "route".
	if !res.Exited || res.Status != 401 || res.UpstreamHeader("X-Tag") != "first" || res.RespHeader("X-Seen") != "route" {
		t.Fatalf("rejected: %+v", res)
	}
	res = env.RunChain(t, append(plugins, plugintest.ChainPlugin{Name: "fail", Priority: 500, Instance: failing{}}), plugintest.NewRequest("GET", "/").WithHeader("apikey", "ok"))
	if res.Err == nil || res.Err.Error() != "nope" || res.UpstreamHeader("X-Tag") != "first" || res.RespHeader("X-Seen") != "" {
		t.Fatalf("fault: %v %v", res.Err, res.Header)
	}
}
