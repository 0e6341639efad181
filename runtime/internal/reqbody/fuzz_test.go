package reqbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

var formSeeds = []string{
	"",
	"name=svc",
	"config.add.headers=a:b",
	"paths=/a&paths=/b",
	"paths[]=/a",
	"paths[1]=/a&paths[2]=/b",
	"config.add.headers[1]=x&config.add.headers[2]=y",
	"config[add][headers][]=x",
	"targets[1].target=a:80&targets[1].weight=10",
	"a[].b=1&a[].c=2&a[].b=3",
	"a[1][]=x&a[1][]=y",
	"name=&enabled&tags=",
	"name=a+b%20c%zz%4",
	"paths%5B%5D=/a&m%255bk%255d=v",
	"paths[999999999]=x",
	"paths[0]=x",
	"a=1&a.b=2",
	"a[1000]=x&a[]=y",
	".foo=1&foo.=2&a..b=3&[1]=x&a[1=y&a[1]x=z",
	"config.headers[x.y]=1",
}

var jsonSeeds = []string{
	"",
	`{}`,
	`{"name":"svc","port":8080,"tags":["a","b"],"x":null,"on":true}`,
	`{"config":{"add":{"headers":["a:b"]}}}`,
	`[1,2]`,
	`null`,
	`{"a":"\u00e9\"}"}`,
	`{} {}`,
	`{"a":`,
	`[[[[[[[[[[`,
	`{"n":1e400}`,
}

// FuzzDecodeForm checks that form decoding never panics, reports failures
// as *BodyError, respects the limits, and is deterministic.
func FuzzDecodeForm(f *testing.F) {
	for _, s := range formSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		decoders := map[string]func(string) (map[string]any, error){
			"body":  func(s string) (map[string]any, error) { return Decode(formCT, []byte(s)) },
			"query": DecodeQuery,
		}
		for name, decode := range decoders {
			a, errA := decode(s)
			b, errB := decode(s)
			if (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() {
				t.Fatalf("%s: nondeterministic errors for %q: %v / %v", name, s, errA, errB)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: nondeterministic result for %q:\n%#v\n%#v", name, s, a, b)
			}
			if errA != nil {
				var be *BodyError
				if !errors.As(errA, &be) || be.Message == "" {
					t.Fatalf("%s: error %v (%T) is not a *BodyError with a message", name, errA, errA)
				}
				continue
			}
			if a == nil {
				t.Fatalf("%s: nil map without error", name)
			}
			leaves := checkFormTree(t, a, 0)
			if leaves > MaxArgs {
				t.Fatalf("%s: %d leaves from at most %d arguments", name, leaves, MaxArgs)
			}
		}
	})
}

// checkFormTree verifies the value types and depth of a decoded form tree
// and returns its number of leaves.
func checkFormTree(t *testing.T, v any, depth int) int {
	t.Helper()
	if depth > MaxDepth {
		t.Fatalf("tree deeper than %d", MaxDepth)
	}
	switch v := v.(type) {
	case map[string]any:
		n := 0
		for _, c := range v {
			n += checkFormTree(t, c, depth+1)
		}
		return n
	case []any:
		if len(v) == 0 || len(v) > MaxArrayIndex {
			t.Fatalf("array of length %d", len(v))
		}
		n := 0
		for _, c := range v {
			n += checkFormTree(t, c, depth+1)
		}
		return n
	case string:
		if v == "" {
			t.Fatal("empty string leaf; empty values must decode to nil")
		}
		return 1
	case nil:
		return 1
	case bool:
		if !v {
			t.Fatal("false leaf in a form tree")
		}
		return 1
	}
	t.Fatalf("unexpected type %T in form tree", v)
	return 0
}

// FuzzDecodeJSON checks that JSON decoding never panics, accepts exactly
// the valid JSON objects within the depth limit, and reports failures as
// *BodyError with Kong's message.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode("application/json", data)
		if err != nil {
			var be *BodyError
			if !errors.As(err, &be) || be.Message != CannotParseJSONMessage {
				t.Fatalf("error %v (%T) is not a *BodyError with Kong's message", err, err)
			}
		} else if m == nil {
			t.Fatal("nil map without error")
		}
		if len(data) == 0 {
			if err != nil {
				t.Fatalf("empty body: %v", err)
			}
			return
		}
		isObject := json.Valid(data) && bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{"))
		switch {
		case err == nil && !isObject:
			t.Fatalf("accepted %q, which is not a JSON object", data)
		case err != nil && isObject && checkJSONDepth(data) == nil && checkSurrogates(data) == nil && standInsOK(data):
			t.Fatalf("rejected valid JSON object %q: %v", data, err)
		}
		m2, err2 := Decode("application/json", data)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(m, m2) {
			t.Fatalf("nondeterministic result for %q", data)
		}
	})
}
