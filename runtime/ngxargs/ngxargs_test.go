package ngxargs_test

import (
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/ngxargs"
)

func TestParse(t *testing.T) {
	cases := []struct {
		raw  string
		want []ngxargs.Arg
	}{
		{"", nil},
		{"a=1", []ngxargs.Arg{{Key: "a", Value: "1"}}},
		{"a=1&b=2&a=3", []ngxargs.Arg{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}, {Key: "a", Value: "3"}}},
		{"a=1&&b=2&", []ngxargs.Arg{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}},
		{"debug", []ngxargs.Arg{{Key: "debug", Flag: true}}},
		{"a=", []ngxargs.Arg{{Key: "a"}}},
		{"a==b", []ngxargs.Arg{{Key: "a", Value: "=b"}}},
		{"=x&%41=1", []ngxargs.Arg{{Key: "A", Value: "1"}}},
		{"a+b=c+d%20e", []ngxargs.Arg{{Key: "a b", Value: "c d e"}}},
		{"k=%zz%4", []ngxargs.Arg{{Key: "k", Value: "%zz%4"}}},
	}
	for _, tc := range cases {
		if got := ngxargs.Parse(tc.raw); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.raw, got, tc.want)
		}
	}
}

func TestAll(t *testing.T) {
	type item struct {
		part string
		arg  ngxargs.Arg
	}
	var got []item
	for part, a := range ngxargs.All("a=1&&=x&b%3D&c") {
		got = append(got, item{part, a})
	}
	want := []item{
		{"a=1", ngxargs.Arg{Key: "a", Value: "1"}},
		{"=x", ngxargs.Arg{Key: "", Value: "x"}},
		{"b%3D", ngxargs.Arg{Key: "b=", Flag: true}},
		{"c", ngxargs.Arg{Key: "c", Flag: true}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("All = %+v, want %+v", got, want)
	}
	n := 0
	for range ngxargs.All("a&b&c") {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break: %d iterations", n)
	}
}

func TestUnescapeEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a+b", "a b"},
		{"%41%62%2f", "Ab/"},
		{"%", "%"},
		{"%4", "%4"},
		{"%g1", "%g1"},
		{"100%25", "100%"},
	} {
		if got := ngxargs.Unescape(tc.in); got != tc.want {
			t.Errorf("Unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"Az09-._~", "Az09-._~"},
		{"a b", "a%20b"},
		{"a+b&c=d/é", "a%2Bb%26c%3Dd%2F%C3%A9"},
	} {
		if got := ngxargs.Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back := ngxargs.Unescape(ngxargs.Escape(tc.in)); back != tc.in {
			t.Errorf("Unescape(Escape(%q)) = %q", tc.in, back)
		}
	}
}

func TestWithout(t *testing.T) {
	for _, c := range []struct {
		raw, name, want string
		removed         bool
	}{
		{"a=1&apikey=k&b=%20x", "apikey", "a=1&b=%20x", true},
		{"apikey=k&apikey=j", "apikey", "", true},
		{"a=1&b", "apikey", "a=1&b", false},
		{"", "apikey", "", false},
	} {
		got, removed := ngxargs.Without(c.raw, c.name)
		if got != c.want || removed != c.removed {
			t.Errorf("Without(%q, %q) = %q, %v; want %q, %v", c.raw, c.name, got, removed, c.want, c.removed)
		}
	}
}
