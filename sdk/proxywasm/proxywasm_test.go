package proxywasm

import (
	"fmt"
	"reflect"
	"testing"
)

func TestPairs(t *testing.T) {
	tests := [][][2]string{
		{{"a", "b"}},
		{{":status", "200"}, {"x", ""}, {"x", "y"}},
	}
	for _, pairs := range tests {
		got, err := DecodePairs(EncodePairs(pairs))
		if err != nil || !reflect.DeepEqual(got, pairs) {
			t.Fatalf("round trip of %v: %v %v", pairs, got, err)
		}
	}
	for _, bad := range [][]byte{{1}, {5, 0, 0, 0}, append(EncodePairs([][2]string{{"a", "b"}})[:12], "a\x00b"...)} {
		if _, err := DecodePairs(bad); err == nil {
			t.Errorf("DecodePairs(%q) succeeded", bad)
		}
	}
}

func FuzzDecodePairs(f *testing.F) {
	f.Add(EncodePairs([][2]string{{"a", "b"}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, err := DecodePairs(b)
		if err != nil {
			return
		}
		if _, err := DecodePairs(EncodePairs(pairs)); err != nil {
			t.Fatal(err)
		}
	})
}

func ExampleEncodePairs() {
	b := EncodePairs([][2]string{{":status", "200"}, {"x-a", "1"}})
	pairs, err := DecodePairs(b)
	fmt.Println(len(b), pairs, err)
	// Output: 38 [[:status 200] [x-a 1]] <nil>
}
