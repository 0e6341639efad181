package requesttransformer_test

import (
	"reflect"
	"testing"

	requesttransformer "github.com/gatehouse/gatehouse/runtime/plugins/request-transformer"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// TestConfigDefaults: a configuration with only its required fields (none
// without a default) decodes to the schema's defaults: every rule record
// with empty lists, whether the store filled them or not.
func TestConfigDefaults(t *testing.T) {
	empty := requesttransformer.Rules{Body: []string{}, Headers: []string{}, Querystring: []string{}}
	want := requesttransformer.Config{Remove: empty, Rename: empty, Replace: requesttransformer.ReplaceRules{Rules: empty},
		Add: empty, Append: empty}
	for name, m := range map[string]map[string]any{
		"unprocessed":  {},
		"nil":          nil,
		"store-filled": plugintest.Config(t, requesttransformer.Schema(), nil),
	} {
		got, err := requesttransformer.ParseConfig(m)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ParseConfig = %+v, %v\nwant %+v", name, got, err, want)
		}
	}
	got, err := requesttransformer.ParseConfig(map[string]any{"http_method": "POST",
		"replace": map[string]any{"uri": "/new", "headers": []any{"a:b"}}})
	want.HTTPMethod = "POST"
	want.Replace = requesttransformer.ReplaceRules{URI: "/new",
		Rules: requesttransformer.Rules{Body: []string{}, Headers: []string{"a:b"}, Querystring: []string{}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseConfig = %+v, %v\nwant %+v", got, err, want)
	}
	if _, err := requesttransformer.ParseConfig(map[string]any{"add": map[string]any{"body": []any{1}}}); err == nil ||
		err.Error() != "request-transformer: add.body[1]: expected a string, got int" {
		t.Errorf("wrong type: %v", err)
	}
}
