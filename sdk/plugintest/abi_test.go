package plugintest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// TestCallChecksPhases: Call runs the phase through the chain, so an
// operation outside its phases fails the plugin with the PhaseError the
// node fails it with, and nothing is recorded.
func TestCallChecksPhases(t *testing.T) {
	k := plugintest.NewEnv().NewKong(nil)
	err := plugintest.Call(k, pluginFunc(func(k hostabi.Kong) error {
		k.Response().Status() // not in access
		k.ServiceRequest().SetHeader("X-Never", "1")
		return nil
	}), hostabi.PhaseAccess)
	var pe *hostabi.PhaseError
	if !errors.As(err, &pe) || pe.Op != hostabi.OpResponseStatus || pe.Phase != hostabi.PhaseAccess {
		t.Fatalf("error %v", err)
	}
	if k.Result().HasUpstreamHeader("X-Never") {
		t.Error("the plugin went on after the out-of-phase call")
	}
	// Driven directly (no phase), a Kong is not checked.
	if st := plugintest.NewEnv().NewKong(nil).Response().Status(); st != 200 {
		t.Errorf("direct status %d", st)
	}
}

// TestNewOperations covers kong.response.error, kong.service, kong.ip,
// kong.plugin and the plugin name on log entries.
func TestNewOperations(t *testing.T) {
	req := plugintest.NewRequest("GET", "/").WithHeader("Accept", "text/plain")
	req.TrustedIPs, req.Upstreams = []string{"10.0.0.0/8", "192.0.2.1"}, []string{"up"}
	req.PluginID, req.PluginName, req.RequestID = "p-1", "demo", "r-1"
	var seen []any
	res := plugintest.Run(t, pluginFunc(func(k hostabi.Kong) error {
		k.Log().Warn("hello")
		k.Service().SetTarget("::1", 8080)
		seen = append(seen, k.Service().SetUpstream("up"), k.Service().SetUpstream("other") != nil,
			k.IP().IsTrusted("10.2.3.4"), k.IP().IsTrusted("192.0.2.1"), k.IP().IsTrusted("192.0.2.2"),
			k.Plugin().ID(), k.Plugin().Name())
		k.Response().Error(404, "", map[string]string{"X-E": "1"})
		return nil
	}), hostabi.PhaseAccess, req)
	want := []any{nil, true, true, true, false, "p-1", "demo"}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("value %d = %v, want %v", i, seen[i], want[i])
		}
	}
	if res.Target != "[::1]:8080" || res.Upstream != "up" {
		t.Errorf("target %q upstream %q", res.Target, res.Upstream)
	}
	if !res.Exited || res.Status != 404 || string(res.ExitBody) != "Not found\nrequest_id: r-1\n" ||
		res.RespHeader("Content-Type") != "text/plain; charset=utf-8" || res.RespHeader("X-E") != "1" {
		t.Errorf("error response %d %q %v", res.Status, res.ExitBody, res.ResponseHeader)
	}
	if len(res.Logs) != 1 || res.Logs[0].Plugin != "demo" {
		t.Errorf("logs %+v", res.Logs)
	}
}

// TestContextDeadline: the context's deadline is the service's timeouts
// from the request's start, and it ends with Reset.
func TestContextDeadline(t *testing.T) {
	req := plugintest.NewRequest("GET", "/").WithService(hostabi.Entity{"connect_timeout": int64(1000), "write_timeout": int64(1000), "read_timeout": int64(1000)})
	k := plugintest.NewEnv().NewKong(req)
	ctx := k.Context()
	d, ok := ctx.Deadline()
	if left := time.Until(d); !ok || left <= 2*time.Second || left > 3*time.Second {
		t.Fatalf("deadline in %v", left)
	}
	k.Reset()
	if ctx.Err() == nil {
		t.Error("the context outlived its request")
	}
	d, _ = plugintest.NewEnv().NewKong(nil).Context().Deadline()
	if left := time.Until(d); left <= 179*time.Second || left > 180*time.Second {
		t.Errorf("default deadline in %v", left)
	}
}

// TestCtxValues: shared values are seeded from the request and common to
// the request; plugin values are the instance's.
func TestCtxValues(t *testing.T) {
	req := &plugintest.Request{Shared: map[string]any{"seed": 1}}
	res := plugintest.Run(t, pluginFunc(func(k hostabi.Kong) error {
		k.Ctx().Shared().Set("a", "x")
		k.Ctx().Shared().Delete("seed")
		k.Ctx().Plugin().Set("p", 2)
		if _, ok := k.Ctx().Plugin().Get("a"); ok {
			t.Error("plugin context sees a shared value")
		}
		return nil
	}), hostabi.PhaseAccess, req)
	if len(res.Shared) != 1 || res.Shared["a"] != "x" || res.Plugin["p"] != 2 || req.Shared["seed"] != 1 {
		t.Errorf("shared %v plugin %v seed %v", res.Shared, res.Plugin, req.Shared)
	}
}
