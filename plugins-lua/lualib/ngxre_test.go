package lualib

import (
	"strings"
	"testing"
)

func TestNgxRe(t *testing.T) {
	runCases(t, Options{}, []luaCase{
		{"match", `local m = ngx.re.match("hello, 1234", "[0-9]+") return m[0]`, "1234"},
		{"groups", `local m = ngx.re.match("hello, 1234", "([0-9])[0-9]+") return m[0], m[1]`, "1234|1"},
		{"named", `local m = ngx.re.match("hello, 1234", "([0-9])(?<remaining>[0-9]+)") return m[0], m[1], m[2], m.remaining`, "1234|1|234|234"},
		{"unmatched false", `local m = ngx.re.match("hello, world", "(world)|(hello)|(?<named>howdy)") return m[0], m[1], m[2], m[3], m.named`, "hello|false|hello|false|false"},
		{"no match", `return ngx.re.match("abc", "\\d")`, "nil"},
		{"case-insensitive extended", `local m = ngx.re.match("hello, world", "HEL LO", "ix") return m[0]`, "hello"},
		{"utf8", `local m = ngx.re.match("hello, 美好生活", "HELLO, (.{2})", "iu") return m[0], m[1]`, "hello, 美好|美好"},
		{"ctx pos", `local ctx = {} local m = ngx.re.match("1234, hello", "[0-9]+", "", ctx) return m[0], ctx.pos`, "1234|5"},
		{"ctx pos start", `local ctx = {pos = 2} local m = ngx.re.match("1234, hello", "[0-9]+", "", ctx) return m[0], ctx.pos`, "234|5"},
		{"anchored", `return ngx.re.match("ab12", "\\d+", "a"), ngx.re.match("12ab", "\\d+", "a")[0]`, "nil|12"},
		{"dup names", `local m = ngx.re.match("hello, world", "(?<named>\\w+), (?<named>\\w+)", "D") return m.named[1], m.named[2]`, "hello|world"},
		{"dup names without D", `return ngx.re.match("a", "(?<n>a)|(?<n>b)")`, `nil|failed to compile regex "(?<n>a)|(?<n>b)": two named subpatterns have the same name n at offset 0 in pattern "(?<n>a)|(?<n>b)"`},
		{"multiline dotall", `return ngx.re.match("a\nb", "^b$", "m")[0], ngx.re.match("a\nb", "a.b", "s")[0] == "a\nb"`, "b|true"},
		{"find", `return ngx.re.find("hello, 1234", "([0-9])([0-9]+)")`, "8|11"},
		{"find nth", `return ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "", nil, 2)`, "9|11"},
		{"gmatch", `local out = {} for m in ngx.re.gmatch("hello, world", "([a-z])[a-z]+", "i") do out[#out+1] = m[0] .. "/" .. m[1] end return table.concat(out, ",")`, "hello/h,world/w"},
		{"sub", `return ngx.re.sub("hello, 1234", "([0-9])[0-9]", "[$0][$1]")`, "hello, [12][1]34|1"},
		{"gsub", `return ngx.re.gsub("hello, world", "([a-z])[a-z]+", "[$0,$1]", "i")`, "[hello,h], [world,w]|2"},
		{"gsub braces dollar", `return ngx.re.gsub("abc", "b", "${0}$$")`, "ab$c|1"},
		{"gsub function", `return ngx.re.gsub("hello, world", "([a-z])[a-z]+", function(m) return "[" .. m[0] .. "," .. m[1] .. "]" end, "i")`, "[hello,h], [world,w]|2"},
		{"gsub empty matches", `return ngx.re.gsub("abc", "x*", "-")`, "-a-b-c-|4"},
		{"bad template", `return ngx.re.gsub("abc", "b", "$x")`, `nil|nil|invalid capturing variable name found in "$x"`},
		{"bad pattern", `return ngx.re.match("abc", "(")`, `nil|failed to compile regex "(": error parsing regexp: missing closing ): ` + "`(`"},
		{"lookahead", `return ngx.re.match("abc", "a(?=b)")`, `nil|failed to compile regex "a(?=b)": unsupported PCRE construct "(?=" (lookahead) at offset 1 in pattern "a(?=b)"`},
		{"backreference", `return ngx.re.find("aa", "(a)\\1")`, `nil|failed to compile regex "(a)\1": unsupported PCRE construct "\\1" (backreference) at offset 3 in pattern "(a)\\1"`},
		{"possessive", `return ngx.re.match("aaa", "a++")`, `nil|failed to compile regex "a++": unsupported PCRE construct "++" (possessive quantifier) at offset 1 in pattern "a++"`},
		{"bad option", `return ngx.re.match("a", "a", "q")`, `nil|unknown flag "q" (flags "q")`},
		{"split", `local r = ngx.re.split("a,b,,c", ",") return #r, r[1], r[3], r[4]`, "4|a||c"},
		{"arg check", `return select(2, pcall(ngx.re.match, nil, "a"))`, "bad argument #1 to 'match' (string expected, got nil)"},
	})
}

func TestRegexCache(t *testing.T) {
	a, err := compileRegex(`\d+`, "i")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := compileRegex(`\d+`, "i")
	c, _ := compileRegex(`\d+`, "")
	if a != b {
		t.Error("same pattern and options compiled twice")
	}
	if a == c {
		t.Error("different options share a cache entry")
	}
	if !strings.HasPrefix(a.re.String(), "(?i)") {
		t.Errorf("flags not applied: %s", a.re)
	}
}
