package sdk

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
)

func TestDecodeResult(t *testing.T) {
	var s string
	var found bool
	if err := decodeResult("kong.request.get_query_arg", []byte(` ["v", true] `), &s, &found); err != nil || s != "v" || !found {
		t.Errorf("got %q %v %v", s, found, err)
	}
	var e Entity
	if err := decodeResult("kong.client.get_consumer", []byte(`[null]`), &e); err != nil || e != nil {
		t.Errorf("null entity: %v %v", e, err)
	}
	err := decodeResult("kong.client.load_consumer", []byte(`{"error":{"message":"db down"}}`), &e)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Message != "db down" || ce.Op != "kong.client.load_consumer" {
		t.Errorf("call error: %v", err)
	}
	err = decodeResult("kong.db.insert", []byte(`{"error":{"message":"schema violation (name: required field missing)","code":2,"name":"schema violation","fields":{"name":"required field missing"}}}`), &e)
	var de *hostabi.DBError
	if !errors.As(err, &de) || de.Code != 2 || de.Name != "schema violation" || de.Fields["name"] != "required field missing" {
		t.Errorf("db error: %#v", err)
	}
	for _, bad := range []string{``, `[`, `{`, `"x"`, `[1]`} {
		var pe *ProtocolError
		if err := decodeResult("kong.node.get_id", []byte(bad), &s, &found); !errors.As(err, &pe) {
			t.Errorf("%q: %v, want a ProtocolError", bad, err)
		}
	}
	if b, err := encodeArgs(nil); b != nil || err != nil {
		t.Errorf("no args: %q %v", b, err)
	}
	if b, _ := encodeArgs([]any{"k", 1.5, nil}); string(b) != `["k",1.5,null]` {
		t.Errorf("args %s", b)
	}
}

// FuzzDecodeResult: whatever a host answers, decoding gives values or an
// error, never a panic.
func FuzzDecodeResult(f *testing.F) {
	for _, s := range []string{`[]`, `["a",true]`, `[null,null,null]`, `{"error":{"message":"x","code":6}}`, `{"error":1}`, `[{"a":[1]}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s string
		var ok bool
		var e Entity
		_ = decodeResult("op", b, &s, &ok, &e)
	})
}
