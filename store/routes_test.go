package store_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// TestRouteProtocolRules checks Kong's route protocol subschemas: errors on
// the field they concern, and grpc's strip_path default.
func TestRouteProtocolRules(t *testing.T) {
	ctx := context.Background()
	b, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := store.New(b, store.Options{})
	cases := []struct {
		in      map[string]any
		message string
	}{
		{map[string]any{"protocols": "grpc"}, "schema violation (must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc')"},
		{map[string]any{"paths": "/", "protocols": []any{"http", "tcp"}},
			"schema violation (protocols: these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp'))"},
		{map[string]any{"protocols": "http", "paths": "/", "sources": []any{map[string]any{"ip": "10.0.0.1"}}},
			"schema violation (sources: cannot set 'sources' when 'protocols' is 'http' or 'https')"},
		{map[string]any{"protocols": "grpc", "paths": "/", "strip_path": "true"},
			"schema violation (strip_path: cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs')"},
	}
	for _, c := range cases {
		_, err := s.Insert(ctx, "routes", c.in)
		e, ok := store.AsError(err)
		if !ok || e.Code != store.CodeSchemaViolation || e.Message != c.message {
			t.Errorf("%v: got %v, want %q", c.in, err, c.message)
		}
	}
	r, err := s.Insert(ctx, "routes", map[string]any{"protocols": "grpc", "paths": "/g"})
	if err != nil || r["strip_path"] != false {
		t.Fatalf("grpc route: %v %v", r, err)
	}
}
