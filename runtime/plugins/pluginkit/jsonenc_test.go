package pluginkit

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
)

// sameAsEncodingJSON checks that v encodes to JSON that decodes to what
// encoding/json's encoding of v decodes to.
func sameAsEncodingJSON(t *testing.T, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	got, err := AppendJSON(nil, v)
	if err != nil {
		t.Fatalf("AppendJSON(%#v): %v", v, err)
	}
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("AppendJSON(%#v) = %s, not JSON: %v", v, got, err)
	}
	_ = json.Unmarshal(want, &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("AppendJSON(%#v) = %s, encoding/json gives %s", v, got, want)
	}
}

func TestAppendJSON(t *testing.T) {
	cases := []any{
		nil, true, "", "plain", "quote\" back\\ nl\n cr\r tab\t bell\x07 nul\x00",
		"unicode é ✓ \u2028 \u2029", "bad utf8 \xff\xfe", "<script>&",
		0, -3, int64(math.MaxInt64), int32(-7), uint64(math.MaxUint64),
		0.5, -1e-7, 1e21, 123456789.125, float32(0.1), 1e-300,
		[]any{}, []any{nil, "a", 1.5, []any{map[string]any{}}},
		[]string{"a", "b"}, []string(nil),
		map[string]any{"a": 1, "b": map[string]any{"c": []any{"d"}}},
		map[string]string{"x": "y"},
		hostabi.Entity{"id": "e1", "tags": []any{"t"}},
		struct {
			A int `json:"a"`
		}{A: 3},
	}
	for _, v := range cases {
		sameAsEncodingJSON(t, v)
	}
	// Exact renderings where encoding/json's are the contract.
	for v, want := range map[any]string{1e-7: "1e-7", 1e21: "1e+21", 100.0: "100", "a\u2028": `"a\u2028"`} {
		got, _ := AppendJSON(nil, v)
		if string(got) != want {
			t.Errorf("AppendJSON(%v) = %s, want %s", v, got, want)
		}
	}
}

func TestAppendJSONErrors(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), []any{math.Inf(-1)}, map[string]any{"c": make(chan int)}} {
		if _, err := AppendJSON(nil, v); err == nil {
			t.Errorf("AppendJSON(%v): no error", v)
		}
	}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	if _, err := AppendJSON(nil, cyclic); err == nil {
		t.Error("a cyclic map encoded")
	}
}

// FuzzAppendJSON: any JSON document, decoded, encodes back to the same
// value.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x\n"],"b":null}`, `"\u2028\ud800"`, `[[[]]]`, `1e300`, `{"":{"":""}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			return
		}
		sameAsEncodingJSON(t, v)
	})
}

func BenchmarkAppendJSONLogRecord(b *testing.B) {
	rec := hostabi.LogRecord{RequestID: "abc", URI: "/orders/x?q=1", URL: "http://h:8000/orders/x?q=1", Method: "GET",
		Query: map[string][]string{"q": {"1"}}, RequestHeaders: map[string][]string{"host": {"h"}, "user-agent": {"bench"}, "accept": {"*/*"}},
		Status: 200, ResponseHeaders: map[string][]string{"content-type": {"text/plain"}, "content-length": {"2"}},
		Route:   hostabi.Entity{"id": "r", "name": "orders", "paths": []any{"/orders"}, "protocols": []any{"http", "https"}, "strip_path": true},
		Service: hostabi.Entity{"id": "s", "name": "svc", "host": "up", "port": int64(80), "protocol": "http", "retries": int64(5)}}
	m := rec.Map(nil)
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = AppendJSON(buf[:0], m)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(m)
		}
	})
}
