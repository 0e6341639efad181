package reqbody

import (
	"reflect"
	"testing"
	"unicode/utf8"
)

// standInsOK reports whether the invalid bytes of data, if any, can be
// carried through the decoder (see standInRawBytes).
func standInsOK(data []byte) bool {
	if utf8.Valid(data) {
		return true
	}
	_, err := standInRawBytes(data)
	return err == nil
}

// TestDecodeJSONStringsAsSent: strings come out of a JSON body byte for
// byte, invalid UTF-8 included (the schema refuses it), and unpaired
// surrogate escapes are refused as lua-cjson refuses them.
func TestDecodeJSONStringsAsSent(t *testing.T) {
	type M = map[string]any
	ok := []struct {
		name, body string
		want       M
	}{
		{"invalid byte kept", "{\"a\":\"x\xffy\"}", M{"a": "x\xffy"}},
		{"truncated sequence kept", "{\"a\":[\"\xe2\x82\"]}", M{"a": []any{"\xe2\x82"}}},
		{"invalid byte in a key", "{\"k\xc0\":{\"b\xfe\":\"\x80\"}}", M{"k\xc0": M{"b\xfe": "\x80"}}},
		{"stand-in range without invalid bytes", "{\"a\":\"\U0010FF80\U0010FFFF\"}", M{"a": "\U0010FF80\U0010FFFF"}},
		{"surrogate pair", `{"a":"\ud83d\ude00"}`, M{"a": "\U0001F600"}},
		{"upper-case pair", `{"a":"\uD83D\uDE00"}`, M{"a": "\U0001F600"}},
		{"escaped backslash", `{"a":"\\ud800"}`, M{"a": `\ud800`}},
		{"escaped quote then escape", `{"a":"\"\u00e9"}`, M{"a": `"é`}},
	}
	for _, tc := range ok {
		got, err := Decode("application/json", []byte(tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	bad := []struct{ name, body string }{
		{"lone high", `{"a":"\ud800"}`},
		{"lone low", `{"a":"\udc00"}`},
		{"high at the end", `{"a":"x\udbff"}`},
		{"high then not low", `{"a":"\ud800\u0041"}`},
		{"high then high", `{"a":"\ud800\ud800"}`},
		{"high then text", `{"a":"\ud800abcdef"}`},
		{"in a key", `{"\ude00":1}`},
		{"stand-in raw next to an invalid byte", "{\"a\":\"\U0010FF80\xff\"}"},
		{"stand-in escaped next to an invalid byte", "{\"a\":\"\\udbff\\udf80\xff\"}"},
	}
	for _, tc := range bad {
		if _, err := Decode("application/json", []byte(tc.body)); err == nil {
			t.Errorf("%s: accepted %q", tc.name, tc.body)
		} else if be, ok := err.(*BodyError); !ok || be.Message != CannotParseJSONMessage {
			t.Errorf("%s: error %v is not Kong's", tc.name, err)
		}
	}
}
