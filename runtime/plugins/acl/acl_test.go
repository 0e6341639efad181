package acl_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugins/acl"
	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// fixture: alice (groups admin, dev) with a credential, bob (no groups),
// carol (group banned), and an anonymous consumer (group guests).
type fixture struct {
	env                          *plugintest.Env
	alice, bob, carol, anonymous hostabi.Entity
	aliceCred, bobCred           hostabi.Entity
}

func newFixture() *fixture {
	env := plugintest.NewEnv()
	f := &fixture{env: env}
	f.alice = env.AddConsumer(hostabi.Entity{"username": "alice"})
	f.bob = env.AddConsumer(hostabi.Entity{"username": "bob"})
	f.carol = env.AddConsumer(hostabi.Entity{"username": "carol"})
	f.anonymous = env.AddConsumer(hostabi.Entity{"username": "anonymous"})
	for _, m := range []struct {
		c      hostabi.Entity
		groups []string
	}{{f.alice, []string{"admin", "dev"}}, {f.carol, []string{"banned"}}, {f.anonymous, []string{"guests"}}} {
		for _, g := range m.groups {
			env.AddCredential(acl.GroupEntity, m.c, hostabi.Entity{"group": g})
		}
	}
	f.aliceCred = env.AddCredential("keyauth_credentials", f.alice, hostabi.Entity{"key": "alice-key"})
	f.bobCred = env.AddCredential("keyauth_credentials", f.bob, hostabi.Entity{"key": "bob-key"})
	return f
}

// testTimeout is the policy timeout of the tests' sets: generous, so that
// a loaded machine running -race never fails a decision by the clock.
const testTimeout = 2 * time.Second

// shipped is a set with the shipped policies only, at testTimeout.
var shipped = func() *policy.Set {
	s, err := policy.NewCompiler(policy.Options{Timeout: testTimeout}).Build(1, nil)
	if err != nil {
		panic(err)
	}
	return s
}()

// newPlugin returns an instance bound to the shipped policies.
func newPlugin(t testing.TB, cfg map[string]any) any {
	t.Helper()
	p := plugintest.New(t, acl.Schema(), acl.New, cfg)
	p.(*acl.Plugin).BindPolicies(shipped)
	return p
}

// sharedGroups is a plugin that leaves authenticated groups in
// kong.ctx.shared, as ldap-auth does, before acl runs.
type sharedGroups struct{ groups any }

func (s sharedGroups) Access(k hostabi.Kong) error {
	k.Ctx().Shared().Set(acl.SharedAuthenticatedGroups, s.groups)
	return nil
}

type want struct {
	status  int // 0: passes
	message string
	header  string // header name expected upstream ("" none)
	value   string
}

func run(t *testing.T, f *fixture, cfg map[string]any, req *plugintest.Request, authGroups any) *plugintest.Result {
	t.Helper()
	plugins := []plugintest.ChainPlugin{{Name: acl.Name, Priority: acl.Priority, Instance: newPlugin(t, cfg)}}
	if authGroups != nil {
		plugins = append(plugins, plugintest.ChainPlugin{Name: "groups", Priority: 2000, Instance: sharedGroups{authGroups}})
	}
	return f.env.RunChain(t, plugins, req)
}

func check(t *testing.T, res *plugintest.Result, w want) {
	t.Helper()
	if res.Err != nil {
		t.Fatalf("error: %v", res.Err)
	}
	if w.status != 0 {
		if !res.Exited || res.Status != w.status {
			t.Fatalf("exited %v status %d, want %d", res.Exited, res.Status, w.status)
		}
		if got := res.ExitMessage(); got != w.message {
			t.Errorf("body %s, want message %q", res.ExitBody, w.message)
		}
		return
	}
	if res.Exited {
		t.Fatalf("unexpected exit %d %s", res.Status, res.ExitBody)
	}
	for _, h := range []string{acl.HeaderConsumerGroups, acl.HeaderAuthenticatedGroups} {
		if h == w.header {
			if got := res.UpstreamHeaderValues(h); !reflect.DeepEqual(got, []string{w.value}) {
				t.Errorf("%s = %q, want %q", h, got, w.value)
			}
		} else if res.HasUpstreamHeader(h) && h != w.header {
			t.Errorf("%s sent: %q", h, res.UpstreamHeader(h))
		}
	}
}

// TestKongBehaviour follows Kong's acl spec (spec/03-plugins/18-acl):
// allow and deny lists, consumers without groups, anonymous consumers,
// authenticated groups, the groups header.
func TestKongBehaviour(t *testing.T) {
	f := newFixture()
	get := func() *plugintest.Request { return plugintest.NewRequest("GET", "/") }
	as := func(c, cred hostabi.Entity) *plugintest.Request { return get().WithIdentity(c, cred) }
	allowAdmin := map[string]any{"allow": []string{"admin"}}
	denyBanned := map[string]any{"deny": []string{"banned"}}
	cases := []struct {
		name       string
		cfg        map[string]any
		req        *plugintest.Request
		authGroups any
		want       want
	}{
		{"no identity", allowAdmin, get(), nil, want{status: 401, message: "Unauthorized"}},
		{"in allow list", allowAdmin, as(f.alice, f.aliceCred), nil, want{header: acl.HeaderConsumerGroups, value: "admin, dev"}},
		{"second group in allow list", map[string]any{"allow": []string{"dev"}}, as(f.alice, f.aliceCred), nil,
			want{header: acl.HeaderConsumerGroups, value: "admin, dev"}},
		{"not in allow list", map[string]any{"allow": []string{"ops"}}, as(f.alice, f.aliceCred), nil,
			want{status: 403, message: acl.MsgForbidden}},
		{"no groups, allow list, credential", allowAdmin, as(f.bob, f.bobCred), nil, want{status: 403, message: acl.MsgForbidden}},
		{"no groups, allow list, no credential", allowAdmin, as(f.bob, nil), nil, want{status: 401, message: "Unauthorized"}},
		{"no groups, deny list", denyBanned, as(f.bob, f.bobCred), nil, want{header: acl.HeaderConsumerGroups, value: ""}},
		{"in deny list", denyBanned, as(f.carol, nil), nil, want{status: 403, message: acl.MsgForbidden}},
		{"not in deny list", denyBanned, as(f.alice, f.aliceCred), nil, want{header: acl.HeaderConsumerGroups, value: "admin, dev"}},
		{"hide groups header", map[string]any{"allow": []string{"admin"}, "hide_groups_header": true}, as(f.alice, f.aliceCred), nil, want{}},
		{"anonymous consumer in allow list", map[string]any{"allow": []string{"guests"}}, as(f.anonymous, nil), nil,
			want{header: acl.HeaderConsumerGroups, value: "guests"}},
		{"anonymous consumer not allowed", allowAdmin, as(f.anonymous, nil), nil, want{status: 403, message: acl.MsgForbidden}},
		{"authenticated groups without consumer", allowAdmin, get(), []string{"admin"},
			want{header: acl.HeaderAuthenticatedGroups, value: "admin"}},
		{"authenticated groups (Lua table) without consumer", allowAdmin, get(), []any{"ops", "admin"},
			want{header: acl.HeaderAuthenticatedGroups, value: "ops, admin"}},
		{"authenticated groups denied", allowAdmin, get(), []string{"ops"}, want{status: 403, message: acl.MsgForbidden}},
		{"authenticated groups override an anonymous consumer", allowAdmin, as(f.anonymous, nil), []string{"admin"},
			want{header: acl.HeaderAuthenticatedGroups, value: "admin"}},
		{"consumer groups win for a credential", allowAdmin, as(f.bob, f.bobCred), []string{"admin"},
			want{status: 403, message: acl.MsgForbidden}},
		{"always_use_authenticated_groups", map[string]any{"allow": []string{"admin"}, "always_use_authenticated_groups": true},
			as(f.bob, f.bobCred), []string{"admin"}, want{header: acl.HeaderAuthenticatedGroups, value: "admin"}},
		{"always_use_authenticated_groups falls back to the consumer's", map[string]any{"allow": []string{"admin"}, "always_use_authenticated_groups": true},
			as(f.alice, f.aliceCred), nil, want{header: acl.HeaderConsumerGroups, value: "admin, dev"}},
		{"invalid authenticated groups are ignored", allowAdmin, get(), "admin", want{status: 401, message: "Unauthorized"}},
		{"credential without consumer", allowAdmin, get().WithIdentity(nil, hostabi.Entity{"id": "c"}), nil,
			want{status: 403, message: acl.MsgForbidden}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, run(t, f, c.cfg, c.req, c.authGroups), c.want)
		})
	}
}

func TestSpoofedGroupsHeaderIsReplaced(t *testing.T) {
	f := newFixture()
	req := plugintest.NewRequest("GET", "/").WithIdentity(f.alice, f.aliceCred).WithHeader("X-Consumer-Groups", "root")
	res := run(t, f, map[string]any{"allow": []string{"admin"}}, req, nil)
	if got := res.UpstreamHeaderValues("X-Consumer-Groups"); !reflect.DeepEqual(got, []string{"admin, dev"}) {
		t.Errorf("X-Consumer-Groups = %q", got)
	}
}

func TestSchema(t *testing.T) {
	for _, c := range []struct {
		cfg  map[string]any
		want string // "" valid
	}{
		{map[string]any{"allow": []string{"a"}}, ""},
		{map[string]any{"deny": []string{"a"}}, ""},
		{map[string]any{"allow": []string{"a"}, "policy": "readers"}, ""},
		{map[string]any{}, "at least one of these fields must be non-empty"},
		{map[string]any{"allow": []string{"a"}, "deny": []string{"b"}}, "only one of these fields must be non-empty"},
		{map[string]any{"allow": []string{"a"}, "policy": ""}, "length must be at least 1"},
	} {
		_, errs := plugintest.ValidateConfig(acl.Schema(), c.cfg)
		got := fmt.Sprint(errs)
		switch {
		case c.want == "" && !errs.Empty():
			t.Errorf("%v: %v", c.cfg, got)
		case c.want != "" && !strings.Contains(got, c.want):
			t.Errorf("%v: %v, want %q", c.cfg, got, c.want)
		}
	}
	got, err := acl.ParseConfig(map[string]any{"allow": []any{"a"}})
	if err != nil || got.HideGroupsHeader || got.AlwaysUseAuthenticatedGroups || got.IncludeConsumerGroups || got.Policy != "" ||
		!reflect.DeepEqual(got.Allow, []string{"a"}) {
		t.Errorf("ParseConfig = %+v, %v", got, err)
	}
}

func readPolicy(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCustomPolicy: config.policy replaces the allow/deny rule; its
// version follows the set the snapshot binds; a missing policy and one
// that errors at evaluation fail closed.
func TestCustomPolicy(t *testing.T) {
	f := newFixture()
	comp := policy.NewCompiler(policy.Options{Timeout: testTimeout})
	set, err := comp.Build(1, []policy.Source{
		{Name: "readers", Rego: readPolicy(t, "admin_or_reader_get.rego")},
		{Name: "broken", Rego: readPolicy(t, "fails_at_eval.rego")},
	})
	if err != nil {
		t.Fatal(err)
	}
	reader := f.env.AddConsumer(hostabi.Entity{"username": "rita"})
	f.env.AddCredential(acl.GroupEntity, reader, hostabi.Entity{"group": "reader"})
	newBound := func(cfg map[string]any) *acl.Plugin {
		p := newPlugin(t, cfg).(*acl.Plugin)
		p.BindPolicies(set)
		return p
	}
	readers := newBound(map[string]any{"allow": []string{"reader", "admin"}, "policy": "readers"})
	for _, c := range []struct {
		who    hostabi.Entity
		method string
		want   want
	}{
		{reader, "GET", want{header: acl.HeaderConsumerGroups, value: "reader"}},
		{reader, "POST", want{status: 403, message: acl.MsgForbidden}},
		{f.alice, "DELETE", want{header: acl.HeaderConsumerGroups, value: "admin, dev"}},
		{f.bob, "GET", want{status: 403, message: acl.MsgForbidden}}, // no groups: the policy decides (403)
	} {
		res := f.env.RunChain(t, []plugintest.ChainPlugin{{Name: acl.Name, Priority: acl.Priority, Instance: readers}},
			plugintest.NewRequest(c.method, "/").WithIdentity(c.who, nil))
		check(t, res, c.want)
	}

	// Without a custom policy the same config lets readers POST.
	plain := newBound(map[string]any{"allow": []string{"reader", "admin"}})
	res := f.env.RunChain(t, []plugintest.ChainPlugin{{Name: acl.Name, Priority: acl.Priority, Instance: plain}},
		plugintest.NewRequest("POST", "/").WithIdentity(reader, nil))
	check(t, res, want{header: acl.HeaderConsumerGroups, value: "reader"})

	for name, p := range map[string]*acl.Plugin{
		"missing": newBound(map[string]any{"allow": []string{"x"}, "policy": "nope"}),
		"broken":  newBound(map[string]any{"allow": []string{"x"}, "policy": "broken"}),
	} {
		res := f.env.Run(t, p, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithIdentity(f.alice, f.aliceCred))
		if res.Err == nil || res.Exited {
			t.Errorf("%s policy: err %v exited %v; want an error (a 500)", name, res.Err, res.Exited)
		}
	}

	// A new version of the policy, bound by the next snapshot, decides.
	set2, err := comp.Build(2, []policy.Source{{Name: "readers", Rego: "package custom.readers\nallow if \"reader\" in input.groups\n"}})
	if err != nil {
		t.Fatal(err)
	}
	readers.BindPolicies(set2)
	res = f.env.Run(t, readers, hostabi.PhaseAccess, plugintest.NewRequest("POST", "/").WithIdentity(reader, nil))
	check(t, res, want{header: acl.HeaderConsumerGroups, value: "reader"})
}

func TestDecisionsAreCached(t *testing.T) {
	f := newFixture()
	// Unbound: the instance binds the shipped policies itself, as outside
	// a node.
	p := plugintest.New(t, acl.Schema(), acl.New, map[string]any{"allow": []string{"admin"}}).(*acl.Plugin)
	for i := 0; i < 5; i++ {
		res := f.env.Run(t, p, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithIdentity(f.alice, f.aliceCred))
		check(t, res, want{header: acl.HeaderConsumerGroups, value: "admin, dev"})
	}
	d, err := p.Decider()
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Evaluations(); n != 1 {
		t.Errorf("%d evaluations for five identical decisions", n)
	}
	if _, err := d.Allow(context.Background(), &policy.Facts{Groups: []string{"ops"}}); err != nil {
		t.Fatal(err)
	}
	if n := d.Evaluations(); n != 2 {
		t.Errorf("new groups: %d evaluations, want 2", n)
	}
}

// TestGroupLookupFailureFailsClosed: when the consumer's groups cannot be
// read, the request fails (a 500), never passes.
func TestGroupLookupFailureFailsClosed(t *testing.T) {
	f := newFixture()
	f.env.CredentialErr = errors.New("database unreachable")
	for _, cfg := range []map[string]any{{"allow": []string{"admin"}}, {"deny": []string{"banned"}}} {
		res := f.env.Run(t, newPlugin(t, cfg), hostabi.PhaseAccess,
			plugintest.NewRequest("GET", "/").WithIdentity(f.alice, f.aliceCred))
		if res.Err == nil || res.Exited || res.HasUpstreamHeader(acl.HeaderConsumerGroups) {
			t.Errorf("%v: err %v exited %v", cfg, res.Err, res.Exited)
		}
	}
}
