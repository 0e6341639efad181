package proxycache_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	proxycache "github.com/gatehouse/gatehouse/runtime/plugins/proxy-cache"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// TestMissStoreHit runs the three phases through plugintest: a miss
// stores the response the header and body filters see, and the next
// request is answered from the cache in access.
func TestMissStoreHit(t *testing.T) {
	p := plugintest.New(t, proxycache.Schema(), proxycache.New, map[string]any{"strategy": "memory",
		"memory": map[string]any{"dictionary_name": "kong"}})
	req := func() *plugintest.Request {
		r := plugintest.NewRequest("GET", "/unit")
		r.RawQuery = "unit=1"
		r.Route = hostabi.Entity{"id": "00000000-0000-4000-8000-00000000cafe"}
		r.ServiceHeader = map[string][]string{"Content-Type": {"text/plain"}, "X-Up": {"1"}}
		r.ServiceBody = []byte("cached body")
		return r
	}
	env := plugintest.NewEnv()
	k := env.NewKong(req())
	for _, ph := range []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseHeaderFilter, hostabi.PhaseBodyFilter} {
		if err := plugintest.Call(k, p, ph); err != nil {
			t.Fatal(err)
		}
	}
	if got := k.Result().ResponseHeader["x-cache-status"]; len(got) != 1 || got[0] != "Miss" {
		t.Fatalf("first request: X-Cache-Status %v", got)
	}
	res := plugintest.Run(t, p, hostabi.PhaseAccess, req())
	if !res.Exited || res.Status != 200 || string(res.ExitBody) != "cached body" || res.ResponseHeader["x-up"][0] != "1" ||
		res.ResponseHeader["x-cache-status"][0] != "Hit" {
		t.Fatalf("second request: exited %v %d %q %v", res.Exited, res.Status, res.ExitBody, res.ResponseHeader)
	}
}

// BenchmarkAccess measures a cache hit: key computation, lookup and the
// replayed response.
func BenchmarkAccess(b *testing.B) {
	p := plugintest.New(b, proxycache.Schema(), proxycache.New, map[string]any{"strategy": "memory",
		"memory": map[string]any{"dictionary_name": "kong_locks"}})
	req := plugintest.NewRequest("GET", "/bench")
	req.RawQuery = "a=1&b=2"
	req.Route = hostabi.Entity{"id": "00000000-0000-4000-8000-00000000beef"}
	req.ServiceHeader = map[string][]string{"Content-Type": {"application/json"}}
	req.ServiceBody = []byte(`{"hello":"world"}`)
	env := plugintest.NewEnv()
	k := env.NewKong(req)
	for _, ph := range []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseHeaderFilter, hostabi.PhaseBodyFilter} {
		if err := plugintest.Call(k, p, ph); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := env.NewKong(req)
		if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
}
