package conformance_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
)

// minimalConfigs are the smallest valid configurations of bundled plugins
// whose schema requires something; the others validate with {}.
var minimalConfigs = map[string]map[string]any{
	"response-ratelimiting":    {"limits": map[string]any{"videos": map[string]any{"minute": 5}}},
	"rate-limiting":            {"minute": 5},
	"proxy-cache":              {"strategy": "memory"},
	"http-log":                 {"http_endpoint": "http://127.0.0.1:9/log"},
	"file-log":                 {"path": "/dev/null"},
	"tcp-log":                  {"host": "127.0.0.1", "port": 9},
	"udp-log":                  {"host": "127.0.0.1", "port": 9},
	"oauth2":                   {"enable_client_credentials": true},
	"application-registration": {"display_name": "api"},
	"ip-restriction":           {"allow": []any{"10.0.0.0/8"}},
	"redirect":                 {"location": "https://example.com"},
	"acl":                      {"allow": []any{"admin"}},
}

// TestBundledPhasesMatchInstances: the phases a native plugin declares are
// exactly the phase interfaces its instances implement, so the registry's
// Phases can be trusted by whatever reads definitions (the Admin API, the
// ABI conformance runner).
func TestBundledPhasesMatchInstances(t *testing.T) {
	ctx := context.Background()
	s, catalog := catalogtest.OpenStore(t, "bundled")
	for _, name := range plugin.Bundled() {
		t.Run(name, func(t *testing.T) {
			d, _ := catalog.Get(name)
			cfg := minimalConfigs[name]
			if cfg == nil {
				cfg = map[string]any{}
			}
			rec, err := s.Insert(ctx, "plugins", map[string]any{"name": name, "config": cfg})
			if err != nil {
				t.Fatalf("minimal config %v: %v (add one to minimalConfigs)", cfg, err)
			}
			inst, err := d.New(rec["config"].(map[string]any))
			if err != nil {
				t.Fatal(err)
			}
			var got []hostabi.Phase
			for _, p := range []struct {
				phase hostabi.Phase
				ok    bool
			}{
				{hostabi.PhaseRewrite, is[hostabi.Rewriter](inst)},
				{hostabi.PhaseAccess, is[hostabi.Accessor](inst)},
				{hostabi.PhaseResponse, is[hostabi.Responder](inst)},
				{hostabi.PhaseHeaderFilter, is[hostabi.HeaderFilterer](inst)},
				{hostabi.PhaseBodyFilter, is[hostabi.BodyFilterer](inst)},
				{hostabi.PhaseLog, is[hostabi.LogPhaser](inst)},
			} {
				if p.ok {
					got = append(got, p.phase)
				}
			}
			if !reflect.DeepEqual(got, d.Phases) {
				t.Errorf("declares phases %v, its instances implement %v", d.Phases, got)
			}
		})
	}
}

func is[T any](v any) bool {
	_, ok := v.(T)
	return ok
}
