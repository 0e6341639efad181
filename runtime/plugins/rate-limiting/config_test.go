package ratelimiting_test

import (
	"reflect"
	"testing"

	ratelimiting "github.com/gatehouse/gatehouse/runtime/plugins/rate-limiting"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// TestConfigDefaults: a configuration with only what is required (one
// limit) decodes to the schema's defaults, whether the store filled them
// or not.
func TestConfigDefaults(t *testing.T) {
	want := ratelimiting.Config{Minute: 5, LimitBy: "consumer", Policy: "local", FaultTolerant: true,
		ErrorCode: 429, ErrorMessage: "API rate limit exceeded", SyncRate: -1,
		Redis: ratelimiting.RedisConfig{Timeout: 2000}}
	minimal := map[string]any{"minute": 5}
	for name, m := range map[string]map[string]any{
		"unprocessed":  minimal,
		"store-filled": plugintest.Config(t, ratelimiting.Schema(), minimal),
	} {
		got, err := ratelimiting.ParseConfig(m)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ParseConfig = %+v, %v\nwant %+v", name, got, err, want)
		}
	}
	if got := want.Limits(); got != [6]float64{0, 5, 0, 0, 0, 0} {
		t.Errorf("Limits = %v", got)
	}
	for _, tc := range []struct {
		m    map[string]any
		want string
	}{
		{map[string]any{"hour": -1}, "rate-limiting: hour: value must be greater than 0"},
		{map[string]any{"day": "5"}, "rate-limiting: day: expected a number, got string"},
	} {
		if _, err := ratelimiting.ParseConfig(tc.m); err == nil || err.Error() != tc.want {
			t.Errorf("%v: err = %v, want %q", tc.m, err, tc.want)
		}
		if _, err := ratelimiting.New(tc.m); err == nil || err.Error() != tc.want {
			t.Errorf("New(%v): err = %v, want %q", tc.m, err, tc.want)
		}
	}
}
