package pcre

import (
	"errors"
	"reflect"
	"regexp"
	"testing"
)

func TestTranslate(t *testing.T) {
	cases := []struct {
		pattern string
		opts    string
		want    string
		names   []string
	}{
		{`(\d+)-(?<word>\w+)`, "", `(\d+)-(\w+)`, []string{"", "word"}},
		{`(?P<a>x)(?'b'y)`, "", `(x)(y)`, []string{"a", "b"}},
		{`a b # comment` + "\n" + `c`, "x", `abc`, nil},
		{`[a b]`, "x", `[a b]`, nil},
		{`hello`, "ims", `(?ims)hello`, nil},
		{`\d+`, "a", `\A(?:\d+)`, nil},
		{`(?:a)(?i:b)(?#note)c`, "", `(?:a)(?i:b)c`, nil},
		{`\Qa.b\E+`, "", `a\.b+`, nil},
		{`\e\h\0`, "", `\x1B[\t \xA0]\x00`, nil},
		{`[\]x]`, "", `[\]x]`, nil},
		{`[]a]`, "", `[\]a]`, nil},
		{`[[:alpha:]_]`, "", `[[:alpha:]_]`, nil},
		{`\x{263A}\p{L}`, "ju", `\x{263A}\p{L}`, nil},
		{`(?<n>a)|(?<n>b)`, "D", `(a)|(b)`, []string{"n", "n"}},
	}
	for _, c := range cases {
		f, err := ParseOptions(c.opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Translate(c.pattern, f)
		if err != nil {
			t.Errorf("%q: %v", c.pattern, err)
			continue
		}
		if res.Pattern != c.want || !reflect.DeepEqual(res.Names, c.names) && len(res.Names)+len(c.names) > 0 {
			t.Errorf("%q: got %q %q, want %q %q", c.pattern, res.Pattern, res.Names, c.want, c.names)
		}
		if _, err := regexp.Compile(res.Pattern); err != nil {
			t.Errorf("%q -> %q does not compile: %v", c.pattern, res.Pattern, err)
		}
	}
}

func TestTranslateUnsupported(t *testing.T) {
	cases := map[string]string{
		`a(?=b)`:       "lookahead",
		`a(?!b)`:       "negative lookahead",
		`(?<=a)b`:      "lookbehind",
		`(?<!a)b`:      "negative lookbehind",
		`(?>a)`:        "atomic group",
		`a*+`:          "possessive quantifier",
		`(a)\1`:        "backreference",
		`(?<n>a)\k<n>`: "backreference",
		`(a)(?1)`:      "recursion",
		`(?R)`:         "recursion",
		`(?|a|b)`:      "branch reset",
		`(?(1)a|b)`:    "conditional",
		`a\Z`:          "end-or-before-final-newline assertion",
		`(*UTF8)a`:     "backtracking control verb",
		`(?x)a`:        "inline x or J flag",
	}
	for pattern, what := range cases {
		_, err := Translate(pattern, Flags{})
		var ue *UnsupportedError
		if !errors.As(err, &ue) {
			t.Errorf("%q: got %v, want an UnsupportedError", pattern, err)
			continue
		}
		if ue.What != what || ue.Pattern != pattern {
			t.Errorf("%q: got %q for %q", pattern, ue.What, ue.Pattern)
		}
	}
}

func TestParseOptions(t *testing.T) {
	f, err := ParseOptions("ijoDmsxaJuUd")
	if err != nil {
		t.Fatal(err)
	}
	want := Flags{CaseInsensitive: true, Multiline: true, DotAll: true, Extended: true, Anchored: true, DupNames: true, Longest: true}
	if f != want {
		t.Errorf("got %+v", f)
	}
	if _, err := ParseOptions("z"); err == nil {
		t.Error("unknown flag accepted")
	}
}
