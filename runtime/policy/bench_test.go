package policy

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkACLCached is the steady state: the decision for these groups
// is in the cache.
func BenchmarkACLCached(b *testing.B) {
	acl, err := newSet(b, 0).Shipped("acl")
	if err != nil {
		b.Fatal(err)
	}
	d := NewDecider(acl, aclConfig(b, `{"allow": ["admin", "ops"], "deny": []}`))
	f := &Facts{Groups: []string{"user", "ops"}}
	ctx := context.Background()
	if ok, err := d.Allow(ctx, f); !ok || err != nil {
		b.Fatal(ok, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, _ := d.Allow(ctx, f); !ok {
			b.Fatal("denied")
		}
	}
}

// BenchmarkACLUncached evaluates the prepared query every time: a new
// group set (a cache miss), input built from the facts.
func BenchmarkACLUncached(b *testing.B) {
	acl, err := newSet(b, 0).Shipped("acl")
	if err != nil {
		b.Fatal(err)
	}
	d := NewDecider(acl, aclConfig(b, `{"allow": ["admin", "ops"], "deny": []}`))
	f := &Facts{Groups: []string{"user", "ops"}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, err := d.eval(ctx, f); ok != true || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkACLMiss is a whole cache miss: key, evaluation, insertion.
func BenchmarkACLMiss(b *testing.B) {
	acl, err := newSet(b, 0).Shipped("acl")
	if err != nil {
		b.Fatal(err)
	}
	d := NewDecider(acl, aclConfig(b, `{"allow": ["admin", "ops"], "deny": []}`))
	groups := make([][]string, 4096)
	for i := range groups {
		groups[i] = []string{"g" + strconv.Itoa(i), "ops"}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(groups) == 0 {
			d.mu.Lock()
			d.cache = map[string]any{}
			d.mu.Unlock()
		}
		if ok, err := d.Allow(ctx, &Facts{Groups: groups[i%len(groups)]}); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkCustomCached is "admin, or reader and GET": keyed by groups
// and method.
func BenchmarkCustomCached(b *testing.B) {
	set := newSet(b, 0, Source{Name: "readers", Rego: readFixture(b, "admin_or_reader_get.rego")})
	p, _ := set.Policy("readers")
	d := NewDecider(p, nil)
	f := &Facts{Groups: []string{"reader"}, Request: request("GET", "/")}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, _ := d.Allow(ctx, f); !ok {
			b.Fatal("denied")
		}
	}
}

// BenchmarkCustomUncached evaluates "admin, or reader and GET" every time.
func BenchmarkCustomUncached(b *testing.B) {
	set := newSet(b, 0, Source{Name: "readers", Rego: readFixture(b, "admin_or_reader_get.rego")})
	p, _ := set.Policy("readers")
	d := NewDecider(p, nil)
	f := &Facts{Groups: []string{"reader"}, Request: request("GET", "/")}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, err := d.eval(ctx, f); ok != true || err != nil {
			b.Fatal(ok, err)
		}
	}
}
