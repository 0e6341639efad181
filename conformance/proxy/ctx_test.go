package proxy_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// ctxWriter and ctxReader check kong.ctx: Shared is common to a request's
// plugins, Plugin is private to each instance.
type ctxWriter struct{}

func (ctxWriter) Access(k hostabi.Kong) error {
	k.Ctx().Plugin().Set("v", "writer")
	k.Ctx().Shared().Set("from", "writer")
	return nil
}

type ctxReader struct{}

func (ctxReader) Access(k hostabi.Kong) error {
	private, shared := "empty", "missing"
	if v, ok := k.Ctx().Plugin().Get("v"); ok {
		private = v.(string)
	}
	if v, ok := k.Ctx().Shared().Get("from"); ok {
		shared = v.(string)
	}
	k.ServiceRequest().SetHeader("X-Ctx", private+"/"+shared)
	return nil
}

func init() {
	for name, p := range map[string]any{"test-ctx-writer": ctxWriter{}, "test-ctx-reader": ctxReader{}} {
		p, prio := p, 30
		if name == "test-ctx-reader" {
			prio = 20
		}
		plugin.Register(&plugin.Definition{Name: name, Version: "1", Priority: prio,
			Schema: &store.PluginSchema{Name: name, Config: &schema.Schema{}},
			New:    func(map[string]any) (any, error) { return p, nil }})
	}
}

func TestPluginContexts(t *testing.T) {
	up := startUpstream(t, "ctx", nil)
	nd := startNode(t, map[string]string{"plugins": "bundled,test-ctx-writer,test-ctx-reader"})
	nd.configure("POST", "/services", "name=s", "url=http://"+up.addr)
	nd.configure("POST", "/services/s/routes", "paths=/ctx")
	nd.configure("POST", "/plugins", "name=test-ctx-writer")
	nd.configure("POST", "/plugins", "name=test-ctx-reader")
	if got := nd.request("GET", "/ctx", nil, nil).echo(t).header("X-Ctx"); got != "empty/writer" {
		t.Fatalf("reader saw %q, want its own empty plugin context and the shared value", got)
	}
}

// TestHeaderRoutes routes on a request header through the proxy, whatever
// the header name's case.
func TestHeaderRoutes(t *testing.T) {
	up := startUpstream(t, "hdr", nil)
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=s", "url=http://"+up.addr)
	nd.configure("POST", "/services/s/routes", "paths=/hdr", "headers.x-version=v2")
	if r := nd.request("GET", "/hdr", map[string]string{"X-VERSION": "v2"}, nil); r.status != 200 {
		t.Fatalf("with the header: %d %s", r.status, r.body)
	}
	if r := nd.request("GET", "/hdr", map[string]string{"X-Version": "v1"}, nil); r.status != 404 {
		t.Fatalf("with another value: %d", r.status)
	}
}
