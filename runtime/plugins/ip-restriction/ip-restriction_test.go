package iprestriction_test

import (
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	iprestriction "github.com/gatehouse/gatehouse/runtime/plugins/ip-restriction"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestParseIPOrCIDR(t *testing.T) {
	cases := []struct{ in, want string }{
		{"10.0.0.1", "10.0.0.1/32"},
		{"10.0.0.9/8", "10.0.0.0/8"},
		{"::1", "::1/128"},
		{"2001:db8::1/32", "2001:db8::/32"},
		{"::ffff:10.0.0.1", "10.0.0.1/32"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"fe80::1%eth0", "fe80::1/128"},
		{"bad", ""},
		{"10.0.0.0/33", ""},
	}
	for _, c := range cases {
		got, err := iprestriction.ParseIPOrCIDR(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("%q parsed as %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("%q = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestAccessClientIPs(t *testing.T) {
	inst, err := iprestriction.New(map[string]any{"allow": []any{"10.0.0.0/8", "2001:db8::/32"}, "deny": []any{"10.9.9.9"}})
	if err != nil {
		t.Fatal(err)
	}
	env := plugintest.NewEnv()
	for ip, want := range map[string]int{"10.1.2.3": 0, "10.9.9.9": 403, "::ffff:10.1.2.3": 0, "2001:db8::7": 0,
		"192.168.0.1": 403, "unix:": 403, "": 403} {
		res := env.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithClientIP(ip))
		got := 0
		if res.Exited {
			got = res.Status
		}
		if got != want {
			t.Errorf("client %q: exit %d, want %d", ip, got, want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []map[string]any{{"allow": []any{"nope"}}, {"deny": []any{"1.2.3.4/99"}}} {
		if _, err := iprestriction.New(cfg); err == nil {
			t.Errorf("config %v accepted", cfg)
		}
	}
}

func FuzzParseIPOrCIDR(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "1.2.3.4/24", "::1", "::ffff:1.2.3.4/120", "fe80::1%x", "1.2.3.4/-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := iprestriction.ParseIPOrCIDR(s)
		if err != nil {
			return
		}
		if p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("%q parsed as an unnormalized %v", s, p)
		}
		// Round trip: the prefix's own text parses to itself.
		if again, err := netip.ParsePrefix(p.String()); err != nil || again != p {
			t.Fatalf("%q: %v does not round trip (%v, %v)", s, p, again, err)
		}
	})
}

func BenchmarkAccess(b *testing.B) {
	inst, err := iprestriction.New(map[string]any{"allow": []any{"10.0.0.0/8", "172.16.0.0/12", "2001:db8::/32"}, "deny": []any{"10.9.9.9"}})
	if err != nil {
		b.Fatal(err)
	}
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/").WithClientIP("172.20.1.1"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
}
