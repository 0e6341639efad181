package lualib

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins-lua/lualib/pcre"
	lua "github.com/yuin/gopher-lua"
)

// FuzzCJSONDecode: decoding never panics; what decodes re-encodes and
// decodes to the same encoding; valid JSON that encoding/json accepts
// (without lone surrogates and nesting beyond the limit) decodes.
func FuzzCJSONDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `"\ud83d\ude00"`, `[1e400, -0, 0.1]`, `{`, `nan`, "\"\x00\"", `[[[[]]]]`, `0x10`, `"\u12"`} {
		f.Add(s)
	}
	L := lua.NewState()
	defer L.Close()
	f.Fuzz(func(t *testing.T, s string) {
		v, err := CJSONDecode(L, s, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "Expected ") && !strings.HasPrefix(err.Error(), "Found too many") && !strings.HasPrefix(err.Error(), "JSON parser") {
				t.Fatalf("unexpected error text %q", err)
			}
			var x any
			if json.Valid([]byte(s)) && !strings.ContainsRune(s, 0) && strings.Count(s, "[")+strings.Count(s, "{") < 900 && json.Unmarshal([]byte(s), &x) == nil && !strings.Contains(s, `\u`) {
				t.Fatalf("valid JSON %q rejected: %v", s, err)
			}
			return
		}
		cfg := DefaultCJSONConfig()
		cfg.EncodeInvalidNumbers = 1
		cfg.SparseRatio = 0
		enc, err := CJSONEncode(L, v, &cfg)
		if err != nil {
			t.Fatalf("re-encode of %q: %v", s, err)
		}
		v2, err := CJSONDecode(L, enc, nil)
		if err != nil {
			t.Fatalf("decode of re-encoded %q: %v", enc, err)
		}
		enc2, _ := CJSONEncode(L, v2, &cfg)
		if enc2 != enc && !strings.Contains(enc, "NaN") {
			t.Fatalf("unstable: %q -> %q -> %q", s, enc, enc2)
		}
	})
}

// FuzzPCRETranslate: translation never panics, and a pattern without
// any backslash, group or class syntax translates to itself and
// compiles the same way in Go.
func FuzzPCRETranslate(f *testing.F) {
	for _, s := range []string{`(?<n>\d+)-(\w+)`, `a(?=b)`, `[\]a-z]+?`, `\Qa.b\E`, `(?i:x)|y{2,3}+`, `\x{41}\0`, `(?#c)a`, `[[:alpha:]]`} {
		f.Add(s, "ijo")
	}
	f.Fuzz(func(t *testing.T, pattern, opts string) {
		flags, err := pcre.ParseOptions(opts)
		if err != nil {
			return
		}
		res, err := pcre.Translate(pattern, flags)
		if err != nil {
			if !strings.Contains(err.Error(), "pattern") {
				t.Fatalf("error without the pattern: %v", err)
			}
			return
		}
		_, _ = regexp.Compile(res.Pattern)
		plain := !strings.ContainsAny(pattern, `\()[]{}*+?#`) && !flags.Extended && !flags.Anchored && !flags.CaseInsensitive && !flags.Multiline && !flags.DotAll
		if plain && res.Pattern != pattern {
			t.Fatalf("plain pattern %q changed to %q", pattern, res.Pattern)
		}
		if n := strings.Count(res.Pattern, "(") - strings.Count(res.Pattern, `\(`); n < len(res.Names) {
			t.Fatalf("%d group names for %d open parens in %q", len(res.Names), n, res.Pattern)
		}
	})
}

// FuzzJWTParse: jwt_parser and resty.jwt's load_jwt never raise on any
// token string, and agree on which tokens have a JSON header.
func FuzzJWTParse(f *testing.F) {
	for _, s := range []string{"eyJhbGciOiJIUzI1NiJ9.e30.abc", "a.b.c", "...", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.x.y"} {
		f.Add(s)
	}
	L := newState(f, Options{})
	parser := eval(f, L, `parser = require "kong.plugins.jwt.jwt_parser" jwt = require "resty.jwt" return "ok"`)
	if parser != "ok" {
		f.Fatal("modules did not load")
	}
	f.Fuzz(func(t *testing.T, token string) {
		_, _, _, _ = ParseKongJWT(token)
		L.SetGlobal("tok", lua.LString(token))
		if err := L.DoString(`local o = parser:new(tok)
			local j = jwt:load_jwt(tok)
			assert(type(j.valid) == "boolean")
			if not j.valid then assert(type(j.reason) == "string") end
			local v = jwt:verify("secret", tok)
			assert(v.verified == false)`); err != nil {
			t.Fatalf("token %q: %v", token, err)
		}
	})
}

// FuzzDecodeArgs: decoding never panics, respects the limit and only
// yields non-empty keys; escape_uri output always decodes back.
func FuzzDecodeArgs(f *testing.F) {
	for _, s := range []string{"a=1&b=2&a=3", "=x&&c", "%zz=%41+b", "k"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		args := DecodeArgs(s, max)
		if max > 0 && len(args) > max {
			t.Fatalf("%d args with max %d", len(args), max)
		}
		for _, a := range args {
			if a.Key == "" {
				t.Fatal("empty key")
			}
		}
		if got := UnescapeURI(EscapeURI(s, false)); got != s {
			t.Fatalf("escape round trip of %q gave %q", s, got)
		}
	})
}
