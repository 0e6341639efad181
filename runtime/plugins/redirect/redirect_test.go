package redirect_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugins/redirect"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func newPlugin(t testing.TB, cfg map[string]any) *redirect.Plugin {
	t.Helper()
	inst, err := redirect.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*redirect.Plugin)
}

func TestLocation(t *testing.T) {
	cases := []struct {
		location    string
		keep        bool
		path, query string
		want        string
	}{
		{"https://a.test/x?y", false, "/p", "q", "https://a.test/x?y"},
		{"https://a.test/x?y", true, "/p/q", "a=1", "https://a.test/p/q?a=1"},
		{"https://a.test/x?y", true, "/p", "", "https://a.test/p"},
		{"https://A.Test:443/x", true, "/p", "", "https://a.test/p"},
		{"http://[::1]:8080/x#f", true, "/p", "z", "http://[::1]:8080/p?z#f"},
		{"https://a.test", true, "/sp ace", "", "https://a.test/sp%20ace"},
		{"https://a.test", true, "/", "a=<b> c#d\x00", "https://a.test/?a=%3Cb%3E%20c%23d%00"},
	}
	for _, c := range cases {
		p := newPlugin(t, map[string]any{"location": c.location, "keep_incoming_path": c.keep})
		if got := p.Location(c.path, c.query); got != c.want {
			t.Errorf("%s keep=%v %s?%s: %q, want %q", c.location, c.keep, c.path, c.query, got, c.want)
		}
	}
}

func TestAccess(t *testing.T) {
	p := newPlugin(t, map[string]any{"location": "https://a.test/", "status_code": 307, "keep_incoming_path": true})
	res := plugintest.NewEnv().Run(t, p, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/in?x=1"))
	if !res.Exited || res.Status != 307 || string(res.ExitBody) != "redirecting" || res.ExitHeaders["Location"] != "https://a.test/in?x=1" {
		t.Errorf("exit %v %d %q %v", res.Exited, res.Status, res.ExitBody, res.ExitHeaders)
	}
}

// FuzzLocation: whatever path and query a client sends, the kept-path
// Location stays on the configured host and is one header line.
func FuzzLocation(f *testing.F) {
	for _, s := range []string{"/a", "//evil.test/x", "/\r\nSet-Cookie: x", "/%2e%2e/", "/@evil.test"} {
		f.Add(s, "q=1")
	}
	p := newPlugin(f, map[string]any{"location": "https://a.test/base", "keep_incoming_path": true})
	f.Fuzz(func(t *testing.T, path, query string) {
		loc := p.Location(path, query)
		if strings.ContainsAny(loc, "\r\n") {
			t.Fatalf("%q: header injection in %q", path, loc)
		}
		u, err := url.Parse(loc)
		if err != nil || u.Host != "a.test" || u.Scheme != "https" {
			t.Fatalf("%q %q: redirect to %q leaves the configured host", path, query, loc)
		}
	})
}

func BenchmarkAccess(b *testing.B) {
	p := newPlugin(b, map[string]any{"location": "https://a.test/", "keep_incoming_path": true})
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/some/path?x=1"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
}
