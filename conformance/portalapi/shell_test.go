package portalapi

import (
	"reflect"
	"testing"
)

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{`curl -X PATCH http://h/w --data "config.portal=true"`, []string{"curl", "-X", "PATCH", "http://h/w", "--data", "config.portal=true"}, false},
		{"curl -i \\\n--url http://h/ \\\n--data 'name=crud'", []string{"curl", "-i", "--url", "http://h/", "--data", "name=crud"}, false},
		{`a 'x "y" z' "p 'q' \"r\" \\ \$"`, []string{"a", `x "y" z`, `p 'q' "r" \ $`}, false},
		{`--data-raw $'{"c":"a:\\n  - \'dev\'"}'`, []string{"--data-raw", `{"c":"a:\n  - 'dev'"}`}, false},
		{`a\ b c`, []string{"a b", "c"}, false},
		{`x'y'"z"`, []string{"xyz"}, false},
		{`'open`, nil, true},
		{`"open`, nil, true},
		{`$'open`, nil, true},
		{`$'\q'`, nil, true},
		{`end\`, nil, true},
	}
	for _, tc := range tests {
		got, err := SplitWords(tc.in)
		if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// FuzzSplitWords: any line splits or errs, never panics, and splitting is
// deterministic.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{`curl -X PATCH 'u' --data "a=b"`, `$'\n\\\''`, "a \\\nb", `"\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, errA := SplitWords(s)
		b, errB := SplitWords(s)
		if (errA == nil) != (errB == nil) || !reflect.DeepEqual(a, b) {
			t.Fatalf("nondeterministic split of %q", s)
		}
	})
}
