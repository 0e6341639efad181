package lualib

import (
	"strings"
	"testing"
)

func TestCJSONEncode(t *testing.T) {
	runCases(t, Options{}, []luaCase{
		{"slash escaped", `local cjson = require "cjson" return cjson.encode({url = "http://x/y"})`, `{"url":"http:\/\/x\/y"}`},
		{"integers", `return require("cjson").encode({1, 2, 300000, -7})`, `[1,2,300000,-7]`},
		{"precision 14", `return require("cjson").encode({0.1, 1/3, 1e20, 123456789012345, 1.5e-7})`, `[0.1,0.33333333333333,1e+20,1.2345678901234e+14,1.5e-07]`},
		{"empty table is object", `return require("cjson").encode({})`, `{}`},
		{"empty_array", `local cjson = require "cjson" return cjson.encode({a = cjson.empty_array})`, `{"a":[]}`},
		{"array_mt", `local cjson = require "cjson" return cjson.encode(setmetatable({}, cjson.array_mt))`, `[]`},
		{"empty_array_mt", `local cjson = require "cjson" return cjson.encode(setmetatable({}, cjson.empty_array_mt))`, `[]`},
		{"empty table as array", `local cjson = require "cjson" cjson.encode_empty_table_as_object(false) return cjson.encode({})`, `[]`},
		{"null", `local cjson = require "cjson" return cjson.encode({a = cjson.null, b = ngx.null})`, `{"a":null,"b":null}`},
		{"sorted keys", `return require("cjson").encode({b = 1, a = true, c = "x", [1] = 2})`, `{"1":2,"a":true,"b":1,"c":"x"}`},
		{"sparse array", `return require("cjson").encode({[1] = 1, [3] = 3})`, `[1,null,3]`},
		{"escapes", `return require("cjson").encode("a\"b\\c\n\t\1\127")`, `"a\"b\\c\n\t\u0001\u007f"`},
		{"no slash escape", `local cjson = require "cjson" cjson.encode_escape_forward_slash(false) return cjson.encode("a/b")`, `"a/b"`},
		{"precision option", `local cjson = require "cjson" cjson.encode_number_precision(3) return cjson.encode(3.14159)`, `3.14`},
		{"nested", `return require("cjson").encode({a = {b = {1, {c = false}}}})`, `{"a":{"b":[1,{"c":false}]}}`},
		{"new instance independent", `local cjson = require "cjson" local c2 = cjson.new() c2.encode_escape_forward_slash(false) return cjson.encode("/"), c2.encode("/")`, `"\/"|"/"`},
		{"safe error", `return require("cjson.safe").encode({f = print})`, `nil|Cannot serialise function: type not supported`},
		{"safe sparse", `return require("cjson.safe").encode({[1] = 1, [20] = 2})`, `nil|Cannot serialise table: excessively sparse array`},
		{"safe bad key", `return require("cjson.safe").encode({[true] = 1})`, `nil|Cannot serialise boolean: table key must be a number or string`},
		{"safe nan", `return require("cjson.safe").encode(0/0)`, `nil|Cannot serialise number: must not be NaN or Infinity`},
		{"safe depth", `local t = {} t.t = t return require("cjson.safe").encode(t)`, `nil|Cannot serialise, excessive nesting (1001)`},
	})
}

func TestCJSONDecode(t *testing.T) {
	runCases(t, Options{}, []luaCase{
		{"object", `local v = require("cjson").decode('{"a":[1,2.5,"x"],"b":{"c":true}}') return v.a[1], v.a[2], v.a[3], v.b.c`, `1|2.5|x|true`},
		{"null is sentinel", `local cjson = require "cjson" local v = cjson.decode('{"a":null}') return v.a == cjson.null, v.a == ngx.null`, `true|true`},
		{"top null", `local cjson = require "cjson" return cjson.decode('null') == cjson.null`, `true`},
		{"unicode", `return require("cjson").decode('"\\u00e9\\ud83d\\ude00\\/"')`, "é😀/"},
		{"array mt off", `local cjson = require "cjson" return getmetatable(cjson.decode('[]')) == nil`, `true`},
		{"array mt on", `local cjson = require "cjson" cjson.decode_array_with_array_mt(true) local v = cjson.decode('[]') return getmetatable(v) == cjson.array_mt, cjson.encode(v)`, `true|[]`},
		{"invalid token", `return require("cjson.safe").decode('x')`, `nil|Expected value but found invalid token at character 1`},
		{"empty", `return require("cjson.safe").decode('')`, `nil|Expected value but found T_END at character 1`},
		{"trailing", `return require("cjson.safe").decode('[1] x')`, `nil|Expected the end but found invalid token at character 5`},
		{"missing comma", `return require("cjson.safe").decode('[1 2]')`, `nil|Expected comma or array end but found T_INTEGER at character 4`},
		{"bad key", `return require("cjson.safe").decode('{1:2}')`, `nil|Expected object key string but found T_INTEGER at character 2`},
		{"colon", `return require("cjson.safe").decode('{"a" 1}')`, `nil|Expected colon but found T_INTEGER at character 6`},
		{"object end", `return require("cjson.safe").decode('{"a":1 "b"}')`, `nil|Expected comma or object end but found T_STRING at character 8`},
		{"unterminated", `return require("cjson.safe").decode('"abc')`, `nil|Expected value but found unexpected end of string at character 5`},
		{"bad escape", `return require("cjson.safe").decode('"\\q"')`, `nil|Expected value but found invalid escape code at character 2`},
		{"number forms", `local d = require("cjson").decode return d('-0.5e2'), d('1E3'), d('12')`, `-50|1000|12`},
		{"unsafe raises", `local ok, err = pcall(require("cjson").decode, '{') return ok, err`, `false|Expected object key string but found T_END at character 2`},
		{"arg count", `local ok, err = pcall(require("cjson").decode) return ok, err`, `false|bad argument #1 to 'decode' (expected 1 argument)`},
		{"roundtrip", `local cjson = require "cjson" return cjson.encode(cjson.decode('{"a":[1,2,{"b":null}],"c":"d\\/e"}'))`, `{"a":[1,2,{"b":null}],"c":"d\/e"}`},
	})
}

func TestCJSONDepthLimit(t *testing.T) {
	L := newState(t, Options{})
	deep := strings.Repeat("[", 1001) + strings.Repeat("]", 1001)
	L.SetGlobal("deep", luaString(deep))
	got := eval(t, L, `return require("cjson.safe").decode(deep)`)
	if got != "nil|Found too many nested data structures (1001) at character 1001" {
		t.Fatalf("got %q", got)
	}
}

func BenchmarkCJSONEncode(b *testing.B) {
	L := newState(b, Options{})
	if err := L.DoString(`cjson = require "cjson" obj = {id = "6a1c", name = "alice", tags = {"a", "b"}, n = 42, ok = true}`); err != nil {
		b.Fatal(err)
	}
	obj := L.GetGlobal("obj")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := CJSONEncode(L, obj, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCJSONDecode(b *testing.B) {
	L := newState(b, Options{})
	src := `{"id":"6a1c","name":"alice","tags":["a","b"],"n":42,"ok":true}`
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := CJSONDecode(L, src, nil); err != nil {
			b.Fatal(err)
		}
	}
}
