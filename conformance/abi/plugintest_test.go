package abi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/abi"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// plugintestHost runs the probes through sdk/plugintest: one phase of the
// probe plugin on a recorded request.
type plugintestHost struct {
	env      *plugintest.Env
	rec      *abi.MemRecorder
	upstream string
}

func newPlugintestHost(t *testing.T) *plugintestHost {
	env := plugintest.NewEnv()
	// kong.db reads and writes a real store, as on a node.
	st, _ := catalogtest.OpenStore(t)
	env.UseStore(st)
	c := env.AddConsumer(hostabi.Entity{"username": abi.ConsumerName})
	env.AddCredential("keyauth_credentials", c, hostabi.Entity{"key": abi.CredentialKey})
	// The upstream answers the plugin's outbound requests.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(abi.UpstreamStatus)
		io.WriteString(w, abi.UpstreamBody)
	}))
	t.Cleanup(up.Close)
	return &plugintestHost{env: env, rec: abi.NewRecorder(), upstream: strings.TrimPrefix(up.URL, "http://")}
}

func (h *plugintestHost) Run(t testing.TB, p abi.Probe) abi.Outcome {
	timeout := int64(abi.ServiceTimeout.Milliseconds())
	req := &plugintest.Request{
		Method: "POST", Host: abi.RequestHost, Path: abi.Path, RawQuery: abi.Query, Body: []byte(abi.Body),
		Header: map[string][]string{abi.ProbeHeader: {p.Name}, "X-Abi-Nonce": {nonce()}, "X-Abi-Target": {h.upstream}},
		Route:  hostabi.Entity{"id": "b0000000-0000-4000-8000-000000000001"},
		Service: hostabi.Entity{"id": "b0000000-0000-4000-8000-000000000002", "name": "abi-service",
			"connect_timeout": timeout, "write_timeout": timeout, "read_timeout": timeout},
		URICaptures:   map[string]string{"0": abi.Path, "1": "probe", "what": "probe"},
		ServiceStatus: abi.UpstreamStatus,
		ServiceHeader: map[string][]string{abi.UpstreamHeader: {abi.UpstreamValue}, "Content-Type": {"text/plain"}},
		ServiceBody:   []byte(abi.UpstreamBody),
		TrustedIPs:    []string{abi.TrustedCIDR},
		Upstreams:     []string{abi.UpstreamName},
		PluginID:      abi.PluginID, PluginName: abi.PluginName,
	}
	for n, vs := range abi.RequestHeaders {
		req.Header[n] = vs
	}
	k := h.env.NewKong(req)
	err := plugintest.Call(k, &abi.Plugin{Rec: h.rec}, p.Phase)
	res := k.Result()
	o := abi.Outcome{Status: res.Status, Header: res.ResponseHeader, Body: string(res.ResponseBody),
		Proxied: !res.Exited, Upstream: abi.UpstreamRequest{Method: res.Method, Path: res.Path, RawQuery: res.RawQuery,
			Header: res.Header, Body: string(res.Body)}}
	if res.Exited {
		o.Body = string(res.ExitBody)
	}
	if err != nil {
		o.Fault = err.Error()
	}
	o.Called, o.Returned, o.Observed = h.rec.Result(p.Name)
	for _, l := range res.Logs {
		if l.Msg == "abi probe" {
			o.LogPlugins = append(o.LogPlugins, l.Plugin)
		}
	}
	return o
}

// TestPlugintestHost runs every probe on sdk/plugintest.
func TestPlugintestHost(t *testing.T) { abi.Run(t, newPlugintestHost(t)) }

// TestCoverage: every operation of the phase table has an in-phase probe,
// and one out of phase unless it is allowed in every phase.
func TestCoverage(t *testing.T) {
	in, out := abi.Covered()
	for _, op := range hostabi.Operations() {
		if !in[op.Op] {
			t.Errorf("%s has no in-phase probe", op.Name)
		}
		if op.Phases != hostabi.AllPhases && !out[op.Op] {
			t.Errorf("%s has no out-of-phase probe", op.Name)
		}
		if !strings.HasPrefix(op.Name, "kong.") && !strings.HasPrefix(op.Name, "ngx.") {
			t.Errorf("operation %d has no PDK name: %q", op.Op, op.Name)
		}
	}
}
