package proxywasm

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
)

func TestPairsRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		pairs [][2]string
	}{
		{"none", [][2]string{}},
		{"one", [][2]string{{"a", "b"}}},
		{"empty values", [][2]string{{"x", ""}, {"", ""}}},
		{"repeated names", [][2]string{{"set-cookie", "a=1"}, {"set-cookie", "b=2"}, {":status", "200"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := WritePairs(tt.pairs)
			got, ok := ReadPairs(b)
			if !ok || len(got) != len(tt.pairs) || (len(got) > 0 && !reflect.DeepEqual(got, tt.pairs)) {
				t.Fatalf("ReadPairs(WritePairs(%v)) = %v, %v", tt.pairs, got, ok)
			}
		})
	}
}

func TestReadPairsMalformed(t *testing.T) {
	u32 := func(vs ...uint32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		return b
	}
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"empty is no pairs", nil, true},
		{"short count", []byte{1, 0}, false},
		{"count past the end", u32(1000), false},
		{"huge count", u32(0xffffffff), false},
		{"sizes past the data", append(u32(1, 5, 5), "ab\x00cd\x00"...), false},
		{"missing NUL after key", append(u32(1, 1, 1), "abc\x00"...), false},
		{"missing NUL after value", append(u32(1, 1, 1), "a\x00bc"...), false},
		{"good", append(u32(1, 1, 1), "a\x00b\x00"...), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := ReadPairs(tt.in); ok != tt.ok {
				t.Fatalf("ReadPairs(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
		})
	}
}

func FuzzReadPairs(f *testing.F) {
	f.Add(WritePairs([][2]string{{"a", "b"}, {"c", ""}}))
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, ok := ReadPairs(b)
		if !ok {
			return
		}
		if again := WritePairs(pairs); len(b) >= 4 && !bytes.Equal(again, b[:len(again)]) {
			t.Fatalf("re-encoding %v gives %q, not a prefix of %q", pairs, again, b)
		}
	})
}

func TestPropertyPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"request\x00path", "request.path"},
		{"kong\x00route_id\x00", "kong.route_id"},
		{"plugin_name", "plugin_name"},
		{"request\x00headers\x00x-a", "request.headers.x-a"},
	}
	for _, tt := range tests {
		if got := propertyPath([]byte(tt.in)); got != tt.want {
			t.Errorf("propertyPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSharedDataCAS(t *testing.T) {
	s := &sharedData{vals: map[string]sharedValue{}}
	if _, _, ok := s.get("k"); ok {
		t.Fatal("a missing key was found")
	}
	if s.set("k", []byte("v"), 7) {
		t.Fatal("a CAS on a missing key succeeded")
	}
	if !s.set("k", []byte("v1"), 0) {
		t.Fatal("an unconditional set failed")
	}
	v, cas, ok := s.get("k")
	if !ok || string(v) != "v1" || cas == 0 {
		t.Fatalf("get = %q %d %v", v, cas, ok)
	}
	if !s.set("k", []byte("v2"), cas) {
		t.Fatal("a set with the current CAS failed")
	}
	if s.set("k", []byte("v3"), cas) {
		t.Fatal("a set with a stale CAS succeeded")
	}
	if v, _, _ := s.get("k"); string(v) != "v2" {
		t.Fatalf("value %q, want v2", v)
	}
}
