package proxycache

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"
)

func TestCacheKeyParts(t *testing.T) {
	cases := []struct {
		name, query string
		vary        []string
		want        string
	}{
		{"all params sorted", "b=2&a=1&c", nil, "a=1:b=2:c"},
		{"repeated values sorted and joined", "a=2&a=1&b=x", nil, "a=1,2:b=x"},
		{"vary keeps its own order and skips absent", "a=1&b=2&c=3", []string{"c", "a", "zz"}, "c=3:a=1"},
		{"escapes decoded", "q=a%20b&r=c+d", nil, "q=a b:r=c d"},
		{"empty value", "a=", nil, "a="},
		{"no query", "", nil, ""},
	}
	for _, c := range cases {
		if got := paramsKey(queryArgs(c.query), c.vary); got != c.want {
			t.Errorf("%s: params key %q, want %q", c.name, got, c.want)
		}
	}
	hdr := map[string][]string{"accept": {"json"}, "x-multi": {"b", "a"}}
	get := func(name string) []string { return hdr[lowerASCII(name)] }
	if got := headersKey(get, nil); got != "" {
		t.Errorf("headers key without vary_headers: %q", got)
	}
	if got := headersKey(get, []string{"Accept", "X-Multi", "X-None"}); got != "Accept=json:X-Multi=a,b" {
		t.Errorf("headers key: %q", got)
	}
	for _, c := range []struct{ consumer, route, want string }{
		{"c", "r", "c:r"}, {"", "r", "r"}, {"c", "", "default"}, {"", "", "default"},
	} {
		if got := prefix(c.consumer, c.route); got != c.want {
			t.Errorf("prefix(%q, %q) = %q, want %q", c.consumer, c.route, got, c.want)
		}
	}
	sum := sha256.Sum256([]byte("r|GET|GET /p|a=1|"))
	if got := BuildKey("", "r", "GET", "GET /p", "a=1", ""); got != hex.EncodeToString(sum[:]) {
		t.Errorf("BuildKey = %s", got)
	}
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestDirectivesAndTTL(t *testing.T) {
	cc := parseDirectives([]string{"public, max-age=60", "S-MAXAGE=30, no-cache, x=abc"})
	if !has(cc, "public") || !has(cc, "no-cache") || has(cc, "private") {
		t.Fatalf("directives %v", cc)
	}
	if v, ok := number(cc, "max-age"); !ok || v != 60 {
		t.Errorf("max-age = %v %v", v, ok)
	}
	if _, ok := number(cc, "x"); ok {
		t.Error("x=abc read as a number")
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		cc      []string
		expires []string
		want    float64
	}{
		{[]string{"max-age=60"}, nil, 60},
		{[]string{"max-age=60, s-maxage=10"}, nil, 10},
		{[]string{"max-age=-5"}, nil, 0},
		{nil, []string{now.Add(90 * time.Second).Format(http.TimeFormat)}, 90},
		{nil, []string{"not a date"}, 0},
		{nil, nil, 0},
	} {
		if got := resourceTTL(parseDirectives(c.cc), c.expires, now); got != c.want {
			t.Errorf("ttl(%v, %v) = %v, want %v", c.cc, c.expires, got, c.want)
		}
	}
}

func FuzzDirectives(f *testing.F) {
	for _, s := range []string{"max-age=60", "no-store, private", "=, ,=x", "max-age=1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cc := parseDirectives([]string{s})
		if ttl := resourceTTL(cc, []string{s}, time.Unix(0, 0)); ttl < 0 {
			t.Fatalf("negative ttl %v for %q", ttl, s)
		}
	})
}

func FuzzQueryKey(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "a&a=1", "%zz=%", "&&=&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, b := paramsKey(queryArgs(s), nil), paramsKey(queryArgs(s), nil)
		if a != b {
			t.Fatalf("params key of %q not stable: %q, %q", s, a, b)
		}
	})
}
