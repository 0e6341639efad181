package keyauth

import (
	"testing"

	"github.com/gatehouse/gatehouse/runtime/ngxargs"
)

// queryValueRef is queryValue written over ngxargs.All, the parser the
// proxy uses for kong.request.get_query.
func queryValueRef(raw, name string) (string, int) {
	val, state, n := "", argAbsent, 0
	for _, a := range ngxargs.All(raw) {
		if a.Key != name {
			continue
		}
		n++
		if a.Flag {
			val, state = "", argAbsent
		} else {
			val, state = a.Value, argValue
		}
	}
	if n > 1 {
		return "", argDuplicate
	}
	return val, state
}

func TestQueryValue(t *testing.T) {
	cases := []struct {
		raw, name string
		val       string
		state     int
	}{
		{"apikey=kong", "apikey", "kong", argValue},
		{"a=1&apikey=kong&b", "apikey", "kong", argValue},
		{"api%6Bey=k%6Fng", "apikey", "kong", argValue},
		{"apikey=a+b%20c", "apikey", "a b c", argValue},
		{"apikey", "apikey", "", argAbsent},
		{"apikey=", "apikey", "", argValue},
		{"apikey=1&apikey=2", "apikey", "", argDuplicate},
		{"apikey&apikey=2", "apikey", "", argDuplicate},
		{"&&apikey=x&&", "apikey", "x", argValue},
		{"apikeys=x", "apikey", "", argAbsent},
		{"", "apikey", "", argAbsent},
	}
	for _, tc := range cases {
		val, state := queryValue(tc.raw, tc.name)
		if val != tc.val || state != tc.state {
			t.Errorf("queryValue(%q, %q) = %q, %d; want %q, %d", tc.raw, tc.name, val, state, tc.val, tc.state)
		}
	}
}

// FuzzQueryValue: the allocation-free walk agrees with ngxargs.All on any
// query string.
func FuzzQueryValue(f *testing.F) {
	for _, s := range []string{"apikey=kong", "a=1&apikey=k%6Fng&b", "apikey&apikey=", "%zz=1&apikey=+", "&&="} {
		f.Add(s, "apikey")
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		v1, s1 := queryValue(raw, name)
		v2, s2 := queryValueRef(raw, name)
		if v1 != v2 || s1 != s2 {
			t.Fatalf("queryValue(%q, %q) = %q, %d; ngxargs says %q, %d", raw, name, v1, s1, v2, s2)
		}
	})
}
