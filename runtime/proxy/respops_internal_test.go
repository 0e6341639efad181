package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// TestApplyRespOp: the fast path (canonical name, clean value) and the
// general one give the same response as fasthttp's own Del+Set would:
// every earlier value replaced, CR/LF never reaching the wire.
func TestApplyRespOp(t *testing.T) {
	tests := []struct {
		name, value string
		canonical   bool
		want        string // the single value expected after the op
	}{
		{"X-RateLimit-Limit-Minute", "5", false, "5"}, // "RateLimit": not canonical
		{"X-Ratelimit-Limit-Minute", "5", true, "5"},
		{"Ratelimit-Reset", "60", true, "60"},
		{"x-lower", "v", false, "v"},
		{"X-Crlf", "a\r\nInjected: 1", true, "a  Injected: 1"},
		{"X-Digits-1", "1", true, "1"},
		{"Content-Type", "text/x-test", true, "text/x-test"},
		{"X--Double", "v", false, "v"},
		{"X--double", "v", true, "v"},
		{"X-", "v", true, "v"},
		{"Bad Name", "v", false, ""},
	}
	for _, tc := range tests {
		if got := canonicalHeaderName(tc.name); got != tc.canonical {
			t.Errorf("canonicalHeaderName(%q) = %v, want %v", tc.name, got, tc.canonical)
		}
		var h fasthttp.ResponseHeader
		h.Add(tc.name, "old-1")
		h.Add(tc.name, "old-2")
		applyRespOp(&h, headerOp{name: tc.name, value: tc.value, op: opSet})
		var ref fasthttp.ResponseHeader
		ref.Add(tc.name, "old-1")
		ref.Add(tc.name, "old-2")
		ref.Del(tc.name)
		ref.Set(tc.name, tc.value)
		if got, want := string(h.Header()), string(ref.Header()); got != want {
			t.Errorf("%q=%q: header\n%q\nwant (fasthttp's Del+Set)\n%q", tc.name, tc.value, got, want)
		}
		if tc.want != "" {
			if vs := h.PeekAll(tc.name); len(vs) != 1 || string(vs[0]) != tc.want {
				t.Errorf("%q: values %q, want [%q]", tc.name, vs, tc.want)
			}
		}
	}
}
