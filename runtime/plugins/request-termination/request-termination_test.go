package requesttermination

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestQueryArgs(t *testing.T) {
	cases := map[string]map[string]any{
		"":                {},
		"a=1":             {"a": "1"},
		"a":               {"a": true},
		"a=":              {"a": ""},
		"a=1&a=2&a":       {"a": []any{"1", "2", true}},
		"x%20y=%zz&&=v&b": {"x y": "%zz", "b": true},
	}
	for in, want := range cases {
		if got := queryArgs(in); !reflect.DeepEqual(got, want) {
			t.Errorf("queryArgs(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	cases := []struct {
		c    map[string]any
		want string
	}{
		{map[string]any{"message": "m"}, ""},
		{map[string]any{"message": "", "body": "b"}, ""},
		{map[string]any{"message": "m", "content_type": "t"}, "message cannot be used with content_type or body"},
		{map[string]any{"content_type": "t"}, "content_type requires a body"},
		{map[string]any{"echo": true, "body": "b"}, "echo cannot be used with content_type and body"},
	}
	for _, c := range cases {
		got := strings.Join(checkConfig(c.c), ";")
		if got != c.want {
			t.Errorf("%v: %q, want %q", c.c, got, c.want)
		}
	}
}

func TestCaptures(t *testing.T) {
	got := captures(map[string]string{"0": "/a/1", "1": "1", "id": "1"})
	want := map[string]any{"named": map[string]any{"id": "1"}, "unnamed": []any{"/a/1", "1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("captures = %v, want %v", got, want)
	}
}

func FuzzQueryArgs(f *testing.F) {
	for _, s := range []string{"a=1&b", "%", "&&&=", "a=%41&a=b&a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for k, v := range queryArgs(s) {
			if k == "" {
				t.Fatalf("%q: empty name", s)
			}
			switch v.(type) {
			case string, bool, []any:
			default:
				t.Fatalf("%q: %s has a %T", s, k, v)
			}
		}
	})
}

func BenchmarkAccess(b *testing.B) {
	inst, err := New(map[string]any{"status_code": 403, "message": "no", "trigger": "x-stop"})
	if err != nil {
		b.Fatal(err)
	}
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/?x-stop"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
}
