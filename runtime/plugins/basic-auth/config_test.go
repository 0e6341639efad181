package basicauth_test

import (
	"reflect"
	"testing"

	basicauth "github.com/gatehouse/gatehouse/runtime/plugins/basic-auth"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// TestConfigDefaults: a configuration with only its required fields
// (basic-auth has none without a default) decodes to the schema's
// defaults, whether the store filled them or not.
func TestConfigDefaults(t *testing.T) {
	want := basicauth.Config{Realm: "service"}
	for name, m := range map[string]map[string]any{
		"unprocessed":  {},
		"nil":          nil,
		"store-filled": plugintest.Config(t, basicauth.Schema(), nil),
	} {
		got, err := basicauth.ParseConfig(m)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ParseConfig = %+v, %v\nwant %+v", name, got, err, want)
		}
	}
	got, err := basicauth.ParseConfig(map[string]any{"hide_credentials": true, "anonymous": "anon"})
	want = basicauth.Config{Anonymous: "anon", HideCredentials: true, Realm: "service"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseConfig = %+v, %v\nwant %+v", got, err, want)
	}
}
