package cors

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestNormalizeOrigin(t *testing.T) {
	cases := []struct{ in, domain, host string }{
		{"http://a.com", "http://a.com", "a.com"},
		{"http://a.com:80", "http://a.com", "a.com"},
		{"https://a.com:443", "https://a.com", "a.com"},
		{"https://a.com:80", "https://a.com:80", "a.com"},
		{"http://user@a.com:8080/path?q#f", "http://a.com:8080", "a.com"},
		{"http://[::1]:8080", "http://::1:8080", "::1"},
		{"a.com", "a.com", "a.com"},
		{"null", "null", "null"},
		{"a.com:8000", "a.com:8000", "a.com:8000"},
		{"http://", "http://", "http://"},
		{"//a.com", "a.com", "a.com"},
	}
	for _, c := range cases {
		got := normalizeOrigin(c.in)
		if got.domain != c.domain || got.host != c.host {
			t.Errorf("normalizeOrigin(%q) = %+v, want {%s %s}", c.in, got, c.domain, c.host)
		}
	}
}

func TestLuaNumber(t *testing.T) {
	for in, want := range map[float64]string{3600: "3600", 0: "0", 1.5: "1.5", -2: "-2", 1e20: "1e+20"} {
		if got := luaNumber(in); got != want {
			t.Errorf("luaNumber(%v) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalizeOrigin(f *testing.F) {
	for _, s := range []string{"http://a.com:80", "https://[::1]:443/x", "a:b@c", "//", "::", "http://@:"} {
		f.Add(s)
	}
	p := NewPlugin(Config{Origins: []string{"http://a.com", "(.*)\\.b\\.org", "https://c.com:8443"}, Credentials: true, AllowOriginAbsent: true})
	env := plugintest.NewEnv()
	f.Fuzz(func(t *testing.T, s string) {
		o := normalizeOrigin(s)
		if s != "" && o.domain == "" {
			t.Fatalf("normalizeOrigin(%q) has an empty domain", s)
		}
		res := env.Run(t, p, hostabi.PhaseHeaderFilter, plugintest.NewRequest("GET", "/").WithHeader("Origin", s))
		if acao := res.ResponseHeader["access-control-allow-origin"]; len(acao) > 0 && acao[0] != o.domain {
			t.Fatalf("origin %q allowed as %q, want its normalized %q", s, acao, o.domain)
		}
	})
}

func BenchmarkAccess(b *testing.B) {
	p := NewPlugin(Config{Origins: []string{"http://a.com", "(.*)\\.b\\.org"}, Methods: methods, Credentials: true, AllowOriginAbsent: true})
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("OPTIONS", "/").
		WithHeader("Origin", "https://x.b.org").WithHeader("Access-Control-Request-Method", "GET"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
}
