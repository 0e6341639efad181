package acl_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugins/acl"
	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// benchAccess runs the access phase of plugins, in order, on one reused
// request; every run must pass.
func benchAccess(b *testing.B, req *plugintest.Request, env *plugintest.Env, plugins ...hostabi.Accessor) {
	k := env.NewKong(req)
	run := func() {
		k.Reset()
		for _, p := range plugins {
			if err := p.Access(k); err != nil {
				b.Fatal(err)
			}
		}
	}
	run()
	if r := k.Result(); r.Exited {
		b.Fatalf("exited %d %s", r.Status, r.ExitBody)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
}

func benchFixture(b *testing.B) (*plugintest.Env, hostabi.Accessor) {
	f := newFixture()
	ka, err := keyauth.New(plugintest.Config(b, keyauth.Schema(), nil))
	if err != nil {
		b.Fatal(err)
	}
	return f.env, ka.(hostabi.Accessor)
}

func aclPlugin(b *testing.B, cfg map[string]any) *acl.Plugin {
	p, err := acl.New(plugintest.Config(b, acl.Schema(), cfg))
	if err != nil {
		b.Fatal(err)
	}
	p.(*acl.Plugin).BindPolicies(shipped)
	return p.(*acl.Plugin)
}

// BenchmarkKeyAuth is key-auth alone: the baseline of key-auth + acl.
func BenchmarkKeyAuth(b *testing.B) {
	env, ka := benchFixture(b)
	benchAccess(b, plugintest.NewRequest("GET", "/").WithHeader("apikey", "alice-key"), env, ka)
}

// BenchmarkKeyAuthACL is key-auth then acl (allow admin), the decision
// cached: the steady state.
func BenchmarkKeyAuthACL(b *testing.B) {
	env, ka := benchFixture(b)
	benchAccess(b, plugintest.NewRequest("GET", "/").WithHeader("apikey", "alice-key"), env,
		ka, aclPlugin(b, map[string]any{"allow": []string{"admin"}}))
}

// BenchmarkAccess is the acl access phase alone, decision cached.
func BenchmarkAccess(b *testing.B) {
	f := newFixture()
	benchAccess(b, plugintest.NewRequest("GET", "/").WithIdentity(f.alice, f.aliceCred), f.env,
		aclPlugin(b, map[string]any{"allow": []string{"admin"}}))
}

// BenchmarkAccessUncached is the acl access phase with a policy that reads
// the whole input, so that every decision evaluates the prepared query.
func BenchmarkAccessUncached(b *testing.B) {
	f := newFixture()
	set, err := policy.NewCompiler(policy.Options{Timeout: testTimeout}).Build(1, []policy.Source{{Name: "whole",
		Rego: "package bench\nallow if {\n\tx := input\n\t\"admin\" in x.groups\n}\n"}})
	if err != nil {
		b.Fatal(err)
	}
	p := aclPlugin(b, map[string]any{"allow": []string{"admin"}, "policy": "whole"})
	p.BindPolicies(set)
	benchAccess(b, plugintest.NewRequest("GET", "/").WithIdentity(f.alice, f.aliceCred), f.env, p)
}
