package routeregex

import (
	"reflect"
	"testing"
)

func TestTranslate(t *testing.T) {
	for in, want := range map[string]string{
		`/a/\d+`:      `/a/\p{Nd}+`,
		`[^\D]`:       `[^\P{Nd}]`,
		`\\d`:         `\\d`,
		`/plain`:      `/plain`,
		`\p{L}\d`:     `\p{L}\p{Nd}`,
		`(?<id>\d+)$`: `(?<id>\p{Nd}+)$`,
	} {
		if got := Translate(in); got != want {
			t.Errorf("Translate(%q) = %q, want %q", in, got, want)
		}
	}
	re, err := CompilePath(`~/v(?<v>\d)/(?<rest>.*)`)
	if err != nil {
		t.Fatal(err)
	}
	if got := re.SubexpNames(); !reflect.DeepEqual(got, []string{"", "v", "rest"}) {
		t.Errorf("names = %q", got)
	}
}

func TestChecks(t *testing.T) {
	for _, c := range []struct {
		check func(string) error
		in    string
		ok    bool
	}{
		{CheckPath, `~/v(?<v>\d)/`, true},
		{CheckPath, `~/a(?=b)`, false},  // look-ahead fails, as in Kong 3.x
		{CheckPath, `~/a{1001}`, false}, // counted repetition above 1000
		{CheckHeader, `~*^Bearer \d+$`, true},
		{CheckHeader, `~*(a`, false},
	} {
		if err := c.check(c.in); (err == nil) != c.ok {
			t.Errorf("%q: err = %v, want ok = %v", c.in, err, c.ok)
		}
	}
	if got := ASCIILower("ÄBC-x"); got != "Äbc-x" {
		t.Errorf("ASCIILower = %q", got)
	}
}
