package proxy

import (
	"regexp"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestApplyRespOp: the fast path (a token name, cached in canonical form,
// with a clean value) and the general one give the same response as
// fasthttp's own Del+Set would: every earlier value replaced, CR/LF never
// reaching the wire.
func TestApplyRespOp(t *testing.T) {
	tests := []struct {
		name, value string
		canonical   string // canonicalName's answer ("": not a token)
		want        string // the single value expected after the op
	}{
		{"X-RateLimit-Limit-Minute", "5", "X-Ratelimit-Limit-Minute", "5"},
		{"Ratelimit-Reset", "60", "Ratelimit-Reset", "60"},
		{"x-lower", "v", "X-Lower", "v"},
		{"X-Crlf", "a\r\nInjected: 1", "X-Crlf", "a  Injected: 1"},
		{"X-Digits-1", "1", "X-Digits-1", "1"},
		{"content-type", "text/x-test", "Content-Type", "text/x-test"},
		{"X--Double", "v", "X--double", "v"},
		{"x-", "v", "X-", "v"},
		{"-x", "v", "-x", "v"},
		{"--x", "v", "--X", "v"},
		{"Bad Name", "v", "", ""},
		{"Bad\nName", "v", "", ""},
	}
	for _, tc := range tests {
		var st state
		for round := 0; round < 2; round++ { // the second from the cache
			if got := string(st.canonicalName(tc.name)); got != tc.canonical {
				t.Errorf("canonicalName(%q) = %q, want %q", tc.name, got, tc.canonical)
			}
		}
		var h fasthttp.ResponseHeader
		h.Add(tc.name, "old-1")
		h.Add(tc.name, "old-2")
		st.applyRespOp(&h, headerOp{name: tc.name, value: tc.value, op: opSet})
		var ref fasthttp.ResponseHeader
		ref.Add(tc.name, "old-1")
		ref.Add(tc.name, "old-2")
		ref.Del(tc.name)
		ref.Set(tc.name, tc.value)
		if got, want := headerText(&h), headerText(&ref); got != want {
			t.Errorf("%q=%q: header\n%q\nwant (fasthttp's Del+Set)\n%q", tc.name, tc.value, got, want)
		}
		if tc.want != "" {
			if vs := h.PeekAll(tc.name); len(vs) != 1 || string(vs[0]) != tc.want {
				t.Errorf("%q: values %q, want [%q]", tc.name, vs, tc.want)
			}
		}
	}
}

// FuzzApplyRespOp: for any name and value a plugin may set, the cached
// fast path writes exactly what fasthttp's Del+Set would.
func FuzzApplyRespOp(f *testing.F) {
	for _, seed := range []string{"X-RateLimit-Limit-Minute", "-x", "--x", "a b", "X--Y", "content-length", "é"} {
		f.Add(seed, "v")
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		var st state
		var h, ref fasthttp.ResponseHeader
		h.Add("X-Old", "1")
		ref.Add("X-Old", "1")
		for round := 0; round < 2; round++ {
			st.applyRespOp(&h, headerOp{name: name, value: value, op: opSet})
			ref.Del(name)
			ref.Set(name, value)
			if got, want := headerText(&h), headerText(&ref); got != want {
				t.Fatalf("%q=%q: %q, want %q", name, value, got, want)
			}
		}
	})
}

var dateLine = regexp.MustCompile("(?m)^Date: [^\r]*\r\n")

// headerText is the response head without its Date line (which changes
// with the second).
func headerText(h *fasthttp.ResponseHeader) string {
	return dateLine.ReplaceAllString(string(h.Header()), "")
}
