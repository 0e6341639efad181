package httpwasm

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/http-wasm/http-wasm-host-go/api/handler"
)

// FuzzSetURI feeds set_uri arbitrary guest bytes: it either traps (a
// HostError, never another panic) or sends the path and query upstream
// as given, and get_uri then returns what was set.
func FuzzSetURI(f *testing.F) {
	for _, s := range []string{"/", "", "/a?b=c", "/simple%26clean", "/disney?name=chip%26dale", "no-slash", "/x?", "?q", "/%zz", "/a b", "/\x00", "http://evil.example/x", "//evil/x"} {
		f.Add(s)
	}
	env := plugintest.NewEnv()
	f.Fuzz(func(t *testing.T, uri string) {
		k := env.NewKong(plugintest.NewRequest("GET", "/orig?o=1"))
		rs := &request{}
		if err := trapOf(func() { rs.setURI(k, uri) }); err != nil {
			if rs.uriSet {
				t.Fatalf("%q trapped (%v) yet was recorded", uri, err)
			}
			return
		}
		want := uri
		if want == "" {
			want = "/"
		}
		if !strings.HasPrefix(want, "/") {
			t.Fatalf("set_uri(%q) accepted a URI not in origin form", uri)
		}
		if got := rs.getURI(k); got != want {
			t.Fatalf("get_uri after set_uri(%q) = %q", uri, got)
		}
		r := k.Result()
		path, query, _ := strings.Cut(want, "?")
		if r.Path != path || r.RawQuery != query {
			t.Fatalf("set_uri(%q) sent %q ? %q upstream", uri, r.Path, r.RawQuery)
		}
	})
}

// FuzzHeaders feeds header changes arbitrary names and values: each
// either traps (a HostError) or is visible to the guest's next read as
// the reference host's net/http headers would be (case-insensitive).
func FuzzHeaders(f *testing.F) {
	f.Add("X-A", "v", uint8(0))
	f.Add("x-a", "", uint8(1))
	f.Add("Bad Name", "v", uint8(0))
	f.Add("X-B", "a\r\nb", uint8(1))
	f.Add("", "v", uint8(2))
	env := plugintest.NewEnv()
	f.Fuzz(func(t *testing.T, name, value string, op uint8) {
		k := env.NewKong(plugintest.NewRequest("GET", "/").WithHeader("X-A", "first"))
		rs := &request{}
		o := headerOp(op % 3)
		if err := trapOf(func() { rs.changeHeader(k, handler.HeaderKindRequest, o, name, value) }); err != nil {
			return
		}
		got := rs.headerValues(k, handler.HeaderKindRequest, strings.ToUpper(name))
		switch o {
		case opSet:
			if len(got) != 1 || got[0] != value {
				t.Fatalf("after set %q=%q: %q", name, value, got)
			}
		case opAdd:
			if len(got) == 0 || got[len(got)-1] != value {
				t.Fatalf("after add %q=%q: %q", name, value, got)
			}
		case opRemove:
			if len(got) != 0 {
				t.Fatalf("after remove %q: %q", name, got)
			}
		}
	})
}
