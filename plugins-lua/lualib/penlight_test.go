package lualib

import (
	"regexp"
	"testing"
)

func TestPenlight(t *testing.T) {
	runCases(t, Options{}, []luaCase{
		{"readonly", `local tablex = require "pl.tablex"
			local ro = tablex.readonly({a = 1, 2})
			local ok, err = pcall(function() ro.b = 2 end)
			return ro.a, #ro, ok, err:match("Attempt to modify read%-only table") ~= nil, getmetatable(ro)`, "1|1|false|true|false"},
		{"deepcopy", `local tablex = require "pl.tablex"
			local src = {a = {b = {1, 2}}} src.self = src
			local c = tablex.deepcopy(src) c.a.b[1] = 9
			return src.a.b[1], c.a.b[1], c.self == c`, "1|9|true"},
		{"deepcompare", `local tablex = require "pl.tablex"
			return tablex.deepcompare({a = {1, 2}}, {a = {1, 2}}), tablex.deepcompare({a = {1}}, {a = {1, 2}}), tablex.deepcompare({1.0}, {1.05}, false, 0.1)`, "true|false|true"},
		{"merge union", `local tablex = require "pl.tablex"
			local u = tablex.union({a = 1, b = 2}, {b = 3, c = 4}) local i = tablex.merge({a = 1, b = 2}, {b = 3, c = 4})
			return u.a, u.b, u.c, i.a, i.b, i.c`, "1|3|4|nil|2|nil"},
		{"keys values size", `local tablex = require "pl.tablex"
			local k = tablex.keys({x = 1}) local v = tablex.values({x = 1}) return k[1], v[1], tablex.size({1, 2, a = 3})`, "x|1|3"},
		{"find makeset", `local tablex = require "pl.tablex" local s = tablex.makeset({"a", "b"}) return tablex.find({"a", "b", "c"}, "c"), tablex.find({"a"}, "z"), s.a, s.c`, "3|nil|true|nil"},
		{"map filter reduce", `local tablex = require "pl.tablex"
			local m = tablex.map(function(v, k) return v * k end, {a = 2}, 10)
			local f = tablex.filter({1, 2, 3, 4}, function(v) return v % 2 == 0 end)
			return m.a, #f, f[2], tablex.reduce(function(a, b) return a + b end, {1, 2, 3})`, "20|2|4|6"},
		{"sort", `local tablex = require "pl.tablex" local out = {} for k, v in tablex.sort({b = 2, a = 1, c = 3}) do out[#out+1] = k .. v end return table.concat(out, ",")`, "a1,b2,c3"},
		{"stringx split", `local s = require "pl.stringx" local a = s.split(" a  b c ") local b = s.split("a,b,,c", ",") return #a, a[2], #b, b[3], #s.split("a,b,", ","), #s.split("", ","), #s.split(" ")`, "3|b|4||3|0|0"},
		{"stringx split n", `local s = require "pl.stringx" local r = s.split("a,b,c", ",", 2) local w = s.split("a b  c", nil, 2) return #r, r[2], #w, w[2]`, "2|b,c|2|b  c"},
		{"utils split", `local u = require "pl.utils" local r = u.split("a, b,,c,", ",%s*") local p = u.split("a.b", ".", true) return #r, r[2], r[3], #p, #u.split("x", "")`, "4|b||2|1"},
		{"stringx strip", `local s = require "pl.stringx" return "[" .. s.strip("  x  ") .. "]", s.lstrip("xxyxx", "x"), s.rstrip("xxyxx", "x")`, "[x]|yxx|xxy"},
		{"stringx affixes", `local s = require "pl.stringx" return s.startswith("hello", "he"), s.endswith("hello", {"x", "lo"}), s.startswith("hello", "lo")`, "true|true|false"},
		{"stringx misc", `local s = require "pl.stringx"
			local l = s.splitlines("a\nb\r\nc")
			return s.replace("aaa", "a", "b", 2), s.join(",", {"a", "b"}), #l, l[3], s.count("aaaa", "aa"), s.count("aaaa", "aa", true)`, "bba|a,b|3|c|2|3"},
		{"stringx partition", `local s = require "pl.stringx" return s.partition("k=v=w", "=")`, "k|=|v=w"},
		{"utils", `local u = require "pl.utils"
			local parts = u.split("a1b22c", "%d+") local p = u.pack(1, nil, 3)
			return #parts, parts[3], u.escape("a.b*"), p.n, select("#", u.unpack(p))`, "3|c|a%.b%*|3|3"},
		{"assert_arg", `local u = require "pl.utils" return select(2, pcall(u.assert_arg, 1, 5, "string"))`, "argument 1 expected a 'string', got a 'number'"},
		{"kong utils", `local u = require "kong.tools.utils"
			return u.is_valid_uuid(u.uuid()), u.is_valid_uuid("nope"), #u.random_string(), u.table_contains({"a"}, "a"), u.strip("  x "), #u.split("a,,b", ","), u.deep_copy({a = {1}}).a[1]`, "true|false|32|true|x|3|1"},
		{"kong uuid string rand", `return require("kong.tools.uuid").is_valid_uuid(require("kong.tools.uuid").uuid()), require("kong.tools.string").strip(" a "), #require("kong.tools.rand").random_string()`, "true|a|32"},
	})
}

func TestUUIDAndRandomString(t *testing.T) {
	if u := NewUUID(); !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u) {
		t.Errorf("bad uuid %q", u)
	}
	if s := RandomString(); !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(s) {
		t.Errorf("bad random string %q", s)
	}
}
