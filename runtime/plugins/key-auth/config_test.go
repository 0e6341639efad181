package keyauth_test

import (
	"reflect"
	"testing"

	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// TestConfigDefaults: a configuration with only its required fields (key-auth
// has none without a default) decodes to the schema's defaults, whether the
// store filled them or not.
func TestConfigDefaults(t *testing.T) {
	want := keyauth.Config{KeyNames: []string{"apikey"}, KeyInHeader: true, KeyInQuery: true, RunOnPreflight: true}
	for name, m := range map[string]map[string]any{
		"unprocessed":  {},
		"nil":          nil,
		"store-filled": plugintest.Config(t, keyauth.Schema(), nil),
	} {
		got, err := keyauth.ParseConfig(m)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ParseConfig = %+v, %v\nwant %+v", name, got, err, want)
		}
	}
	got, err := keyauth.ParseConfig(map[string]any{"key_names": []any{"k"}, "key_in_query": false, "realm": "r"})
	want = keyauth.Config{KeyNames: []string{"k"}, KeyInHeader: true, RunOnPreflight: true, Realm: "r"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseConfig = %+v, %v\nwant %+v", got, err, want)
	}
	if _, err := keyauth.ParseConfig(map[string]any{"key_names": "apikey"}); err == nil ||
		err.Error() != "key-auth: key_names: expected an array, got string" {
		t.Errorf("wrong type: %v", err)
	}
}
