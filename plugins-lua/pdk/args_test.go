package pdk

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	cases := []struct {
		raw       string
		max       int
		want      []queryArg
		truncated bool
	}{
		{"", 100, nil, false},
		{"a=1&b", 100, []queryArg{{key: "a", value: "1"}, {key: "b", bare: true}}, false},
		{"a=&&=x&c=%41+b", 100, []queryArg{{key: "a"}, {key: "c", value: "A b"}}, false},
		{"a=%zz", 100, []queryArg{{key: "a", value: "%zz"}}, false},
		{"a=1&b=2&c=3", 2, []queryArg{{key: "a", value: "1"}, {key: "b", value: "2"}}, true},
	}
	for _, c := range cases {
		got, tr := parseArgs(c.raw, c.max)
		if !reflect.DeepEqual(got, c.want) || tr != c.truncated {
			t.Errorf("parseArgs(%q, %d) = %v, %v; want %v, %v", c.raw, c.max, got, tr, c.want, c.truncated)
		}
	}
	if v, ok := cookie([]string{"a=1; b=two", "c=3"}, "C"); !ok || v != "3" {
		t.Errorf("cookie c = %q %v", v, ok)
	}
	if v, ok := rawArg("x=1&Y=%20", "y"); !ok || v != "%20" {
		t.Errorf("arg y = %q %v", v, ok)
	}
}

// FuzzParseArgs feeds outside input (query strings, form bodies) to the
// argument parser: it must not panic, must honour max and never return an
// empty key; and encoding what it parsed parses back to the same.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{"a=1&b", "a=%zz&&=x", "k=v&k=w&flag", "%41=%42+c", strings.Repeat("a&", 50)} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, raw string, max int) {
		if max < 1 || max > 1000 {
			max = 100
		}
		args, truncated := parseArgs(raw, max)
		if len(args) > max || (truncated && len(args) != max) {
			t.Fatalf("%d args (max %d, truncated %v)", len(args), max, truncated)
		}
		var parts []string
		for _, a := range args {
			if a.key == "" {
				t.Fatalf("empty key from %q", raw)
			}
			if a.bare {
				parts = append(parts, escapeArg(a.key))
			} else {
				parts = append(parts, escapeArg(a.key)+"="+escapeArg(a.value))
			}
		}
		again, _ := parseArgs(strings.Join(parts, "&"), max)
		if len(again) != len(args) {
			t.Fatalf("round trip of %q: %v then %v", raw, args, again)
		}
		for i := range args {
			if again[i] != args[i] {
				t.Fatalf("round trip of %q: %v then %v", raw, args, again)
			}
		}
		_, _ = cookie([]string{raw}, "a")
		_, _ = rawArg(raw, "a")
	})
}
