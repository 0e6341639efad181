package hostabi_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
)

func TestEncodeBody(t *testing.T) {
	args := map[string]any{"a": "x y", "list": []any{"1", int64(2)}, "n": int64(3), "none": nil}
	body, mt, err := hostabi.EncodeBody(args, "application/x-www-form-urlencoded")
	if err != nil || mt != "application/x-www-form-urlencoded" {
		t.Fatalf("form: %q %v", mt, err)
	}
	got, _ := url.ParseQuery(string(body))
	want := url.Values{"a": {"x y"}, "list": {"1", "2"}, "n": {"3"}, "none": {""}}
	for k, v := range want {
		if len(got[k]) != len(v) || (len(v) > 0 && got[k][0] != v[0]) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	body, mt, err = hostabi.EncodeBody(map[string]any{"a": int64(1)}, "text/plain")
	if err != nil || mt != "application/json" || string(body) != `{"a":1}` {
		t.Errorf("json: %s %q %v", body, mt, err)
	}
}
