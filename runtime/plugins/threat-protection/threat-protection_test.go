package threatprotection_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	threatprotection "github.com/gatehouse/gatehouse/runtime/plugins/threat-protection"
	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/store/schema"
)

// newInst creates an instance bound to the shipped policies, as a
// snapshot binds it.
func newInst(t testing.TB, config map[string]any) any {
	t.Helper()
	inst, err := threatprotection.New(config)
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewCompiler(policy.Options{}).Build(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	inst.(policy.Binder).BindPolicies(set)
	return inst
}

// newInstErr validates config's rules with the schema's rules field, as
// the Admin API does, and creates an instance.
func newInstErr(config map[string]any) (any, error) {
	for _, f := range threatprotection.Schema().Config.Fields {
		if f.Name == "rules" {
			if errs := schema.Validate(&schema.Schema{Fields: []*schema.Field{f}}, map[string]any{"rules": config["rules"]}); len(errs) > 0 {
				return nil, fmt.Errorf("%v", errs)
			}
		}
	}
	return threatprotection.New(config)
}

func TestUnboundFailsClosed(t *testing.T) {
	inst, err := threatprotection.New(map[string]any{"dos": map[string]any{"max_requests": 0}})
	if err != nil {
		t.Fatal(err)
	}
	res := plugintest.NewEnv().Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithClientIP("192.0.2.1"))
	if res.Err == nil {
		t.Fatalf("a denial without a policy set: %+v, want an error (500)", res)
	}
	// A set without the shipped threat policy fails closed too.
	inst.(policy.Binder).BindPolicies(nil)
	if res := plugintest.NewEnv().Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithClientIP("192.0.2.1")); res.Err == nil {
		t.Fatalf("nil set: %+v", res)
	}
}

func TestConfigDefaultsAreUnlimited(t *testing.T) {
	c, err := threatprotection.ParseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DoS.MaxRequests != -1 || c.DoS.MaxInProgress != -1 || c.DoSByIP.MaxRequests != -1 ||
		c.DoSByIP.Action != "block" || c.AuthLockout.MaxFailures != -1 || c.DoS.Message != "Too many requests" {
		t.Errorf("defaults %+v", c)
	}
	inst := newInst(t, nil)
	env := plugintest.NewEnv()
	for i := 0; i < 100; i++ {
		if res := env.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithClientIP("192.0.2.1")); res.Exited {
			t.Fatalf("request %d denied by an unlimited config: %d", i, res.Status)
		}
	}
}

func TestNewRejectsBadTrustedCIDR(t *testing.T) {
	for _, cfg := range []map[string]any{
		{"dos": map[string]any{"trusted_cidrs": []any{"nope"}}},
		{"dos_by_ip": map[string]any{"trusted_cidrs": []any{"10.0.0.0/40"}}},
	} {
		if _, err := threatprotection.New(cfg); err == nil {
			t.Errorf("config %v accepted", cfg)
		}
	}
}

// TestAccess: rate limits per instance and per address (the in-progress
// limits are left unlimited: no log phase runs here).
func TestAccess(t *testing.T) {
	cases := []struct {
		name   string
		config map[string]any
		ips    []string
		want   []int // 0: passed
		body   string
	}{
		{"dos", map[string]any{"dos": map[string]any{"max_requests": 2, "message": "busy"}},
			[]string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}, []int{0, 0, 429}, "busy"},
		{"dos trusted", map[string]any{"dos": map[string]any{"max_requests": 0, "trusted_cidrs": []any{"192.0.2.0/24"}}},
			[]string{"192.0.2.1", "::ffff:192.0.2.9", "198.51.100.1"}, []int{0, 0, 429}, "Too many requests"},
		{"by ip", map[string]any{"dos_by_ip": map[string]any{"max_requests": 1}},
			[]string{"192.0.2.1", "192.0.2.2", "::ffff:192.0.2.1"}, []int{0, 0, 429}, "Too many requests"},
		{"by ip zero", map[string]any{"dos_by_ip": map[string]any{"max_requests": 0, "message": "no"}},
			[]string{"192.0.2.1"}, []int{429}, "no"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inst := newInst(t, c.config)
			env := plugintest.NewEnv()
			for i, ip := range c.ips {
				res := env.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithClientIP(ip))
				got := 0
				if res.Exited {
					got = res.Status
					if !strings.Contains(string(res.ExitBody), c.body) {
						t.Errorf("request %d body %s, want %q", i, res.ExitBody, c.body)
					}
				}
				if got != c.want[i] {
					t.Errorf("request %d from %s: %d, want %d", i, ip, got, c.want[i])
				}
			}
		})
	}
}

func BenchmarkAccess(b *testing.B) {
	inst := newInst(b, map[string]any{
		"dos":       map[string]any{"max_requests": 1 << 40, "max_in_progress": 1 << 20, "trusted_cidrs": []any{"10.0.0.0/8"}},
		"dos_by_ip": map[string]any{"max_requests": 1 << 40, "max_in_progress": 1 << 20},
	})
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/").WithClientIP("172.20.1.1"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
		if err := plugintest.Call(k, inst, hostabi.PhaseLog); err != nil {
			b.Fatal(err)
		}
	}
}
