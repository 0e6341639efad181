package pluginkit_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
)

func TestHeaderNames(t *testing.T) {
	const bad = "bad header name '%s', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
	cases := []struct {
		s     string
		valid bool   // IsHeaderName
		check string // CheckHeaderName's message, %s for s
	}{
		{"apikey", true, ""},
		{"X-Api_Key-09", true, ""},
		{"", false, ""}, // left to the length check
		{"api key", false, bad},
		{"api:key", false, bad},
		{"é", false, bad},
	}
	for _, tc := range cases {
		if got := pluginkit.IsHeaderName(tc.s); got != tc.valid {
			t.Errorf("IsHeaderName(%q) = %v", tc.s, got)
		}
		want := ""
		if tc.check != "" {
			want = strings.Replace(tc.check, "%s", tc.s, 1)
		}
		if got := pluginkit.CheckHeaderName(tc.s); got != want {
			t.Errorf("CheckHeaderName(%q) = %q, want %q", tc.s, got, want)
		}
	}
	if got := pluginkit.CheckHeaderName(nil); got != "" {
		t.Errorf("CheckHeaderName(nil) = %q", got)
	}
}
