package router

import "testing"

// Expected values come from Kong's kong/tools/uri.lua normalize(uri, true)
// (the version that decodes every non-reserved triplet and does not
// re-escape), run under LuaJIT, plus Kong's spec/01-unit uri_spec cases.
func TestNormalizePath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"/", "/"},
		{"/a", "/a"},
		{"/a/", "/a/"},
		{"/a/b/c/", "/a/b/c/"},
		{"/a%2Fb%2Fc/", "/a%2Fb%2Fc/"},
		{"/a%2fb%2fc/", "/a%2Fb%2Fc/"},
		{"/f%6f%6f", "/foo"},
		{"/%6B%6f%6e%67", "/kong"},
		{"/%2E", "/"},
		{"//", "/"},
		{"/./", "/"},
		{"/.", "/"},
		{"/..", "/"},
		{"/../", "/"},
		{"/////", "/"},
		{"/./.././../", "/"},
		{"/a/b/c/./../../g", "/a/g"},
		{"mid/content=5/../6", "mid/6"},
		{"/a//b//", "/a/b/"},
		{"/endel%C3%B8st", "/endel\u00f8st"},
		{"/\u00e4/a/%2e./a%2E//a/%2e/./a/../a/%2e%2E/%5f%99%af%2f%2F", "/\u00e4/a./a/_\x99\xaf%2F%2F"},
		{"/%21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D", "/%21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D"},
		{"/%20%7e%41", "/ ~A"},
		{"/a/..", "/"},
		{"/a/../../b", "/b"},
		{"/.hidden/..x/x..", "/.hidden/..x/x.."},
		{"/%2541", "/%2541"},
		{"/%4", "/%4"},
		{"/a%", "/a%"},
		{"/a/%2e%2e/b", "/b"},
		{"/a/./", "/a/"},
		{"./a", "a"},
		{"../a", "a"},
		{"/.././a", "/a"},
		{"/a//../b", "/b"},
		{"/a/b/..", "/a/"},
		{"/a/b/../", "/a/"},
		{"a/../../b", "/b"},
		{".", ""},
		{"..", ""},
		{"/foo%2e/bar", "/foo./bar"},
	} {
		if got := NormalizePath(c.in); got != c.want {
			t.Errorf("NormalizePath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNormalizePathNoAllocWhenClean(t *testing.T) {
	n := testing.AllocsPerRun(100, func() { _ = NormalizePath("/api/v1/users/42") })
	if n != 0 {
		t.Errorf("allocs = %v, want 0", n)
	}
}

// Kong's uri_spec escape() cases.
func TestEscapePath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/!#$%&'()*+,/:;=?@[]ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~", "/!#$%&'()*+,/:;=?@[]ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"},
		{"/a b/c d", "/a%20b/c%20d"},
		{"/a\U0001F600", "/a%F0%9F%98%80"},
		{"/endel\u00f8st", "/endel%C3%B8st"},
		{"/\"<>\\^`{|}", "/%22%3C%3E%5C%5E%60%7B%7C%7D"},
	} {
		if got := EscapePath(c.in); got != c.want {
			t.Errorf("EscapePath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSanitizeURIPostfix(t *testing.T) {
	for in, want := range map[string]string{"": "", ".": "", "..": "", "./a": "a", "../a": "a", ".../a": ".../a", "/a": "/a", ".a": ".a"} {
		if got := sanitizeURIPostfix(in); got != want {
			t.Errorf("sanitizeURIPostfix(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/a/../b", "/%2e%2E/x", "//a//b", "/a%2f%41", "mid/./x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := NormalizePath(p)
		if len(got) > len(p) {
			t.Fatalf("NormalizePath(%q) = %q grew", p, got)
		}
		// a normalized path without "%" is a fixed point
		if again := NormalizePath(got); again != got && !containsByte(got, '%') {
			t.Fatalf("NormalizePath not idempotent on %q: %q then %q", p, got, again)
		}
	})
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
