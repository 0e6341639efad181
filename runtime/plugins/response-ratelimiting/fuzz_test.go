package responseratelimiting

import (
	"math"
	"testing"
)

// FuzzParseIncrements feeds the upstream's usage header (outside input)
// to the parser: it must not panic, keep only configured names, and
// return finite numbers.
func FuzzParseIncrements(f *testing.F) {
	for _, s := range []string{"videos=2, images=1", "videos", "=", "videos=1=2", " videos = 3 ,", "videos=abc", "videos=1e400", "images=-1,videos=NaN"} {
		f.Add(s)
	}
	p, err := NewPlugin(Config{Policy: "local", Limits: map[string]Limit{"videos": {Minute: 5}, "images": {Hour: 5}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		for name, n := range p.parseIncrements([]string{header}) {
			if name != "videos" && name != "images" {
				t.Fatalf("unconfigured name %q kept", name)
			}
			if math.IsNaN(n) || math.IsInf(n, 0) {
				t.Fatalf("%s = %v", name, n)
			}
		}
	})
}

func TestParseIncrements(t *testing.T) {
	p, _ := NewPlugin(Config{Policy: "local", Limits: map[string]Limit{"videos": {Minute: 5}, "images": {Hour: 5}}})
	for _, tc := range []struct {
		in   []string
		want map[string]float64
	}{
		{[]string{"videos=2, images=1"}, map[string]float64{"videos": 2, "images": 1}},
		{[]string{"videos=2", "images=3"}, map[string]float64{"videos": 2, "images": 3}},
		{[]string{" videos = 4 ,other=1,images"}, map[string]float64{"videos": 4}},
		{[]string{"videos=1=2,images=x"}, map[string]float64{}},
	} {
		got := p.parseIncrements(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%q: %s = %v, want %v", tc.in, k, got[k], v)
			}
		}
	}
}
