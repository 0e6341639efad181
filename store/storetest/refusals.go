package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// runWriteTimeChecks checks that input Kong refuses when written is refused
// at write time, alike on every backend, and that key-auth credentials
// expire after their ttl.
func runWriteTimeChecks(t *testing.T, open Opener) {
	ctx := context.Background()
	clock := time.Unix(1_700_000_000, 0)
	newStore := func(t *testing.T) *store.Store {
		b := open(t, false)
		t.Cleanup(func() { b.Close() })
		return store.New(b, store.Options{Plugins: TestPlugins{}, Now: func() time.Time { return clock }})
	}

	t.Run("RefusedAtWriteTime", func(t *testing.T) {
		s := newStore(t)
		svc, err := s.Insert(ctx, "services", map[string]any{"name": "svc", "host": "svc.test"})
		if err != nil {
			t.Fatal(err)
		}
		consumer, err := s.Insert(ctx, "consumers", map[string]any{"username": "alice"})
		if err != nil {
			t.Fatal(err)
		}
		up, err := s.Insert(ctx, "upstreams", map[string]any{"name": "up.test"})
		if err != nil {
			t.Fatal(err)
		}
		cref := map[string]any{"id": consumer["id"]}
		uref := map[string]any{"id": up["id"]}
		long := strings.Repeat("n", store.MaxIndexedLen+1)
		cases := []struct {
			name   string
			entity string
			in     map[string]any
			code   store.Code
			field  string // a key of the error's fields
			msg    string // the message at field (top-level string messages only); "" skips
		}{
			{"NUL in a name", "services", map[string]any{"name": "a\x00b", "host": "h.test"}, store.CodeSchemaViolation, "name", "invalid NUL character detected at position 2"},
			{"invalid UTF-8 in a name", "services", map[string]any{"name": "a\xffb", "host": "h.test"}, store.CodeSchemaViolation, "name", "invalid utf-8 character sequence detected at position 2"},
			{"NUL in a consumer username", "consumers", map[string]any{"username": "x\x00"}, store.CodeSchemaViolation, "username", "invalid NUL character detected at position 2"},
			{"invalid UTF-8 in custom_id", "consumers", map[string]any{"custom_id": "\xc3("}, store.CodeSchemaViolation, "custom_id", "invalid utf-8 character sequence detected at position 1"},
			{"NUL in a key-auth key", "keyauth_credentials", map[string]any{"consumer": cref, "key": "k\x00"}, store.CodeSchemaViolation, "key", "invalid NUL character detected at position 2"},
			{"invalid UTF-8 in a tag", "consumers", map[string]any{"username": "t", "tags": []any{"\xff"}}, store.CodeSchemaViolation, "tags", ""},
			{"NUL in a header name", "routes", map[string]any{"headers": map[string]any{"x\x00": []any{"v"}}}, store.CodeSchemaViolation, "headers", ""},
			{"NUL in a header value", "routes", map[string]any{"headers": map[string]any{"x-a": []any{"v\x00"}}}, store.CodeSchemaViolation, "headers", ""},
			{"NUL in a plugin config string", "plugins", map[string]any{"name": "test-transformer", "config": map[string]any{"http_method": "G\x00"}}, store.CodeSchemaViolation, "config", ""},
			{"empty key-auth key", "keyauth_credentials", map[string]any{"consumer": cref, "key": ""}, store.CodeSchemaViolation, "key", "length must be at least 1"},
			{"negative credential ttl", "keyauth_credentials", map[string]any{"consumer": cref, "key": "neg", "ttl": int64(-1)}, store.CodeInvalidOptions, "ttl", "must be an integer between 0 and 100000000"},
			{"fractional credential ttl", "keyauth_credentials", map[string]any{"consumer": cref, "key": "frac", "ttl": 1.5}, store.CodeInvalidOptions, "ttl", "must be an integer between 0 and 100000000"},
			{"ttl on an entity without ttl", "services", map[string]any{"host": "h.test", "ttl": int64(5)}, store.CodeSchemaViolation, "ttl", "unknown field"},
			{"invalid header regex", "routes", map[string]any{"headers": map[string]any{"x-a": []any{"~*("}}}, store.CodeSchemaViolation, "@entity", ""},
			{"invalid path regex", "routes", map[string]any{"paths": []any{"~/a(b"}}, store.CodeSchemaViolation, "paths", ""},
			{"path regex the router cannot run", "routes", map[string]any{"paths": []any{`~/(?=a)`}}, store.CodeSchemaViolation, "paths", ""},
			{"unbalanced IPv6 target", "targets", map[string]any{"upstream": uref, "target": "[::1"}, store.CodeSchemaViolation, "target", "Invalid target ('[::1'); not a valid hostname or ip address"},
			{"bad IPv6 target", "targets", map[string]any{"upstream": uref, "target": "[::g]:80"}, store.CodeSchemaViolation, "target", "Invalid target ('[::g]:80'); not a valid hostname or ip address"},
			{"target with a bad port", "targets", map[string]any{"upstream": uref, "target": "a.test:99999"}, store.CodeSchemaViolation, "target", "Invalid target ('a.test:99999'); not a valid hostname or ip address"},
			{"target with a trailing dash", "targets", map[string]any{"upstream": uref, "target": "a-.test"}, store.CodeSchemaViolation, "target", "Invalid target ('a-.test'); not a valid hostname or ip address"},
			{"name over the indexed bound", "services", map[string]any{"name": long, "host": "h.test"}, store.CodeSchemaViolation, "name", "length must be at most 512"},
			{"custom_id over the indexed bound", "consumers", map[string]any{"custom_id": long}, store.CodeSchemaViolation, "custom_id", "length must be at most 512"},
			{"key over the indexed bound", "keyauth_credentials", map[string]any{"consumer": cref, "key": long}, store.CodeSchemaViolation, "key", "length must be at most 512"},
			{"tag over the indexed bound", "services", map[string]any{"host": "h.test", "tags": []any{long}}, store.CodeSchemaViolation, "tags", ""},
			{"health-check interval below the floor", "upstreams", map[string]any{"name": "fast.test", "healthchecks": map[string]any{"active": map[string]any{"healthy": map[string]any{"interval": 1e-6}}}},
				store.CodeSchemaViolation, "healthchecks", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.Insert(ctx, c.entity, c.in)
				e, ok := store.AsError(err)
				if !ok || e.Code != c.code {
					t.Fatalf("insert %s: got %v, want code %d", c.entity, err, c.code)
				}
				got, ok := e.Fields[c.field]
				if !ok {
					t.Fatalf("fields %v lack %q", e.Fields, c.field)
				}
				if c.msg != "" && got != c.msg {
					t.Errorf("%s = %v, want %q", c.field, got, c.msg)
				}
			})
		}
		// The refusals left nothing behind, and what is valid still lands.
		if n, _ := s.Count(ctx, "keyauth_credentials"); n != 0 {
			t.Errorf("%d key-auth credentials stored", n)
		}
		for _, ok := range []struct {
			entity string
			in     map[string]any
		}{
			{"services", map[string]any{"name: ": nil, "name": "ünïcode-ok", "host": "h.test", "tags": []any{"é", strings.Repeat("t", store.MaxIndexedLen)}}},
			{"routes", map[string]any{"service": map[string]any{"id": svc["id"]}, "headers": map[string]any{"x-a": []any{"~*^v\\d+$"}}, "paths": []any{`~/(?<v>\d+)$`}}},
			{"targets", map[string]any{"upstream": uref, "target": "[::1]:8080"}},
			{"targets", map[string]any{"upstream": uref, "target": "::2"}},
			{"targets", map[string]any{"upstream": uref, "target": "10.0.0.1"}},
			{"upstreams", map[string]any{"name": "slow.test", "healthchecks": map[string]any{"active": map[string]any{"healthy": map[string]any{"interval": 0.1}}}}},
		} {
			delete(ok.in, "name: ")
			if _, err := s.Insert(ctx, ok.entity, ok.in); err != nil {
				t.Errorf("insert %s %v: %v", ok.entity, ok.in, err)
			}
		}
		// Keys no entity can hold are simply not found, not a database error.
		for _, key := range []string{"a\x00b", "\xff"} {
			if _, err := s.Get(ctx, "services", key); !store.IsNotFound(err) {
				t.Errorf("get %q: %v, want not found", key, err)
			}
			if _, err := s.FindUnique(ctx, "keyauth_credentials", "key", key); !store.IsNotFound(err) {
				t.Errorf("find key %q: %v, want not found", key, err)
			}
			if _, err := s.List(ctx, "services", store.ListQuery{Tags: []string{key}}); err != nil {
				t.Errorf("list by tag %q: %v", key, err)
			}
			if _, err := s.Update(ctx, "services", key, map[string]any{"retries": int64(1)}); !store.IsNotFound(err) {
				t.Errorf("patch %q: %v, want not found", key, err)
			}
		}
	})

	t.Run("CredentialTTL", func(t *testing.T) {
		s := newStore(t)
		consumer, err := s.Insert(ctx, "consumers", map[string]any{"username": "bob"})
		if err != nil {
			t.Fatal(err)
		}
		cref := map[string]any{"id": consumer["id"]}
		cred, err := s.Insert(ctx, "keyauth_credentials", map[string]any{"consumer": cref, "key": "short", "ttl": int64(10)})
		if err != nil {
			t.Fatal(err)
		}
		if cred["ttl"] != int64(10) {
			t.Errorf("inserted ttl = %#v, want 10", cred["ttl"])
		}
		forever, err := s.Insert(ctx, "keyauth_credentials", map[string]any{"consumer": cref, "key": "forever"})
		if err != nil {
			t.Fatal(err)
		}
		if v, has := forever["ttl"]; !has || v != nil {
			t.Errorf("ttl of a credential without one = %#v, want null", v)
		}
		clock = clock.Add(4 * time.Second)
		got, err := s.FindUnique(ctx, "keyauth_credentials", "key", "short")
		if err != nil || got["ttl"] != int64(6) {
			t.Fatalf("after 4 s: %v %v, want ttl 6", got, err)
		}
		clock = clock.Add(6 * time.Second)
		if _, err := s.FindUnique(ctx, "keyauth_credentials", "key", "short"); !store.IsNotFound(err) {
			t.Errorf("expired credential found by key: %v", err)
		}
		if _, err := s.Get(ctx, "keyauth_credentials", cred["id"].(string)); !store.IsNotFound(err) {
			t.Errorf("expired credential found by id: %v", err)
		}
		page, err := s.List(ctx, "keyauth_credentials", store.ListQuery{ForeignField: "consumer", ForeignKey: "bob"})
		if err != nil || len(page.Data) != 1 || page.Data[0]["key"] != "forever" {
			t.Errorf("listing after expiry = %v %v, want only 'forever'", page, err)
		}
		// The expired key gives way to a new credential with the same key.
		again, err := s.Insert(ctx, "keyauth_credentials", map[string]any{"consumer": cref, "key": "short"})
		if err != nil {
			t.Fatalf("reusing an expired key: %v", err)
		}
		// A write without ttl clears it, as Kong's does.
		if _, err := s.Update(ctx, "keyauth_credentials", again["id"].(string), map[string]any{"ttl": int64(100)}); err != nil {
			t.Fatal(err)
		}
		upd, err := s.Update(ctx, "keyauth_credentials", again["id"].(string), map[string]any{"tags": []any{"x"}})
		if err != nil || upd["ttl"] != nil {
			t.Errorf("patch without ttl: %v %v, want ttl null", upd, err)
		}
	})
}
