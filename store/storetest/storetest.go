// Package storetest is the behaviour suite every store backend runs: the same
// entity rules, errors and paging on SQLite and Postgres (the fstest pattern).
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugins/acl"
	basicauth "github.com/gatehouse/gatehouse/runtime/plugins/basic-auth"
	hmacauth "github.com/gatehouse/gatehouse/runtime/plugins/hmac-auth"
	"github.com/gatehouse/gatehouse/runtime/plugins/jwt"
	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/runtime/plugins/oauth2"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Opener opens the backend under test. Calling it again with reopen=true
// must return a backend over the same data (a process restart); reopen=false
// starts from an empty database.
type Opener func(t *testing.T, reopen bool) store.Backend

// TestPlugins is a plugin catalog with one plugin, "test-transformer", whose
// config mimics request-transformer's nested records.
type TestPlugins struct{}

// PluginSchema implements store.PluginCatalog.
func (TestPlugins) PluginSchema(name string) (*store.PluginSchema, bool) {
	if name != "test-transformer" {
		return nil, false
	}
	testTransformerOnce.Do(func() { testTransformer = newTestTransformer(name) })
	return testTransformer, true
}

// Entities implements store.EntityCatalog: the entities of the bundled
// plugins (credentials, ACL groups), which the suite exercises as Kong's
// own tests do. Each call returns fresh declarations.
func (TestPlugins) Entities() []*store.Entity {
	return []*store.Entity{keyauth.Credentials(), basicauth.Credentials(), jwt.Secrets(), acl.Groups(),
		hmacauth.Credentials(), oauth2.Credentials()}
}

// The one test-transformer schema, shared as a registry shares a plugin's.
var (
	testTransformerOnce sync.Once
	testTransformer     *store.PluginSchema
)

func newTestTransformer(name string) *store.PluginSchema {
	list := func(n string) *schema.Field {
		return &schema.Field{Name: n, Type: schema.Array, Default: []any{}, Elements: &schema.Field{Type: schema.String}}
	}
	part := func(n string) *schema.Field {
		return &schema.Field{Name: n, Type: schema.Record, Required: true, Fields: []*schema.Field{list("headers"), list("querystring")}}
	}
	return &store.PluginSchema{Name: name, Config: &schema.Schema{Fields: []*schema.Field{
		{Name: "http_method", Type: schema.String},
		{Name: "minute", Type: schema.Integer, Gt: schema.Float(0)},
		part("add"), part("replace"),
	}}}
}

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	ctx := context.Background()
	newStore := func(t *testing.T, reopen bool) (*store.Store, *[]store.Event) {
		b := open(t, reopen)
		t.Cleanup(func() { b.Close() })
		s := store.New(b, store.Options{Plugins: TestPlugins{}})
		var events []store.Event
		s.Bus().Subscribe(func(e store.Event) { events = append(events, e) })
		return s, &events
	}
	mustInsert := func(t *testing.T, s *store.Store, entity string, in map[string]any) map[string]any {
		t.Helper()
		rec, err := s.Insert(ctx, entity, in)
		if err != nil {
			t.Fatalf("insert %s %v: %v", entity, in, err)
		}
		return rec
	}
	wantCode := func(t *testing.T, err error, code store.Code) *store.Error {
		t.Helper()
		e, ok := store.AsError(err)
		if !ok || e.Code != code {
			t.Fatalf("got error %v, want code %d", err, code)
		}
		return e
	}

	t.Run("ServiceURLShorthandAndDefaults", func(t *testing.T) {
		s, events := newStore(t, false)
		svc := mustInsert(t, s, "services", map[string]any{"name": "crud", "url": "http://iris:52773/crud/"})
		want := map[string]any{"protocol": "http", "host": "iris", "port": int64(52773), "path": "/crud/",
			"retries": int64(5), "connect_timeout": int64(60000), "enabled": true, "tags": nil}
		for k, v := range want {
			if !reflect.DeepEqual(svc[k], v) {
				t.Errorf("%s = %#v, want %#v", k, svc[k], v)
			}
		}
		if !store.IsUUID(svc["id"].(string)) || svc["created_at"].(int64) == 0 {
			t.Errorf("id/created_at not generated: %v %v", svc["id"], svc["created_at"])
		}
		byName, err := s.Get(ctx, "services", "crud")
		if err != nil || byName["id"] != svc["id"] {
			t.Fatalf("get by name: %v %v", byName, err)
		}
		if len(*events) != 1 || (*events)[0].Op != store.OpCreate || (*events)[0].New["id"] != svc["id"] {
			t.Errorf("events = %v", *events)
		}
	})

	t.Run("SchemaViolations", func(t *testing.T) {
		s, _ := newStore(t, false)
		cases := []struct {
			entity string
			in     map[string]any
			field  string
		}{
			{"services", map[string]any{"name": "x"}, "host"},
			{"services", map[string]any{"host": "a", "port": "99999"}, "port"},
			{"services", map[string]any{"host": "a", "protocol": "ftp"}, "protocol"},
			{"services", map[string]any{"host": "a", "bogus": "1"}, "bogus"},
			{"services", map[string]any{"host": "a", "retries": "many"}, "retries"},
			{"routes", map[string]any{"paths": []any{"persons"}}, "paths"},
			{"routes", map[string]any{"protocols": []any{"http"}}, "@entity"},
			{"consumers", map[string]any{}, "@entity"},
			{"plugins", map[string]any{"name": "nope"}, "name"},
			{"plugins", map[string]any{"name": "test-transformer", "config": map[string]any{"minute": "0"}}, "config"},
		}
		for _, c := range cases {
			_, err := s.Insert(ctx, c.entity, c.in)
			e := wantCode(t, err, store.CodeSchemaViolation)
			if _, ok := e.Fields[c.field]; !ok {
				t.Errorf("%s %v: fields %v lack %q", c.entity, c.in, e.Fields, c.field)
			}
		}
		if n, _ := s.Count(ctx, "services"); n != 0 {
			t.Errorf("rejected writes left %d services", n)
		}
	})

	t.Run("UniqueAndForeignKeys", func(t *testing.T) {
		s, _ := newStore(t, false)
		mustInsert(t, s, "services", map[string]any{"name": "crud", "host": "example.com"})
		_, err := s.Insert(ctx, "services", map[string]any{"name": "crud", "host": "other.com"})
		e := wantCode(t, err, store.CodeUniqueViolation)
		if e.Message != `UNIQUE violation detected on '{name="crud"}'` {
			t.Errorf("message = %q", e.Message)
		}
		_, err = s.Insert(ctx, "routes", map[string]any{"paths": "/x", "service": map[string]any{"id": "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"}})
		wantCode(t, err, store.CodeForeignKeyViolation)
		route := mustInsert(t, s, "routes", map[string]any{"name": "r", "paths": "/persons", "service": map[string]any{"name": "crud"}})
		if route["paths"].([]any)[0] != "/persons" {
			t.Errorf("paths = %v", route["paths"])
		}
		_, err = s.Delete(ctx, "services", "crud")
		e = wantCode(t, err, store.CodeForeignKeyViolation)
		if e.Message != "an existing 'routes' entity references this 'services' entity" {
			t.Errorf("message = %q", e.Message)
		}
		if _, err := s.Delete(ctx, "routes", "r"); err != nil {
			t.Fatal(err)
		}
		if found, err := s.Delete(ctx, "services", "crud"); err != nil || !found {
			t.Fatalf("delete service: %v %v", found, err)
		}
		if found, err := s.Delete(ctx, "services", "crud"); err != nil || found {
			t.Fatalf("second delete: %v %v", found, err)
		}
	})

	t.Run("CascadeAndCredentials", func(t *testing.T) {
		s, events := newStore(t, false)
		c := mustInsert(t, s, "consumers", map[string]any{"username": "user", "custom_id": "user"})
		cred := mustInsert(t, s, "basicauth_credentials", map[string]any{"consumer": map[string]any{"id": c["id"]}, "username": "user", "password": "user"})
		if cred["password"] == "user" || cred["password"] != basicauth.HashPassword("user", c["id"].(string)) {
			t.Errorf("password stored as %v", cred["password"])
		}
		mustInsert(t, s, "acls", map[string]any{"consumer": map[string]any{"id": c["id"]}, "group": "user"})
		_, err := s.Insert(ctx, "acls", map[string]any{"consumer": map[string]any{"id": c["id"]}, "group": "user"})
		wantCode(t, err, store.CodeUniqueViolation)
		key := mustInsert(t, s, "keyauth_credentials", map[string]any{"consumer": map[string]any{"id": c["id"]}})
		if k, _ := key["key"].(string); len(k) != 32 {
			t.Errorf("generated key %q", k)
		}
		mustInsert(t, s, "plugins", map[string]any{"name": "test-transformer", "consumer": map[string]any{"id": c["id"]}})
		*events = nil
		if _, err := s.Delete(ctx, "consumers", "user"); err != nil {
			t.Fatal(err)
		}
		for _, entity := range []string{"basicauth_credentials", "acls", "keyauth_credentials", "plugins", "consumers"} {
			if n, _ := s.Count(ctx, entity); n != 0 {
				t.Errorf("%d %s left after cascade", n, entity)
			}
		}
		if len(*events) != 5 {
			t.Errorf("cascade published %d events, want 5", len(*events))
		}
	})

	t.Run("PatchMergesPutReplaces", func(t *testing.T) {
		s, _ := newStore(t, false)
		p := mustInsert(t, s, "plugins", map[string]any{"name": "test-transformer", "config": map[string]any{
			"add": map[string]any{"headers": "Authorization:Basic x"}, "http_method": "GET"}})
		cfg := p["config"].(map[string]any)
		if !reflect.DeepEqual(cfg["add"].(map[string]any)["headers"], []any{"Authorization:Basic x"}) || cfg["replace"] == nil {
			t.Fatalf("config = %#v", cfg)
		}
		id := p["id"].(string)
		up, err := s.Update(ctx, "plugins", id, map[string]any{"config": map[string]any{"minute": "5"}})
		if err != nil {
			t.Fatal(err)
		}
		cfg = up["config"].(map[string]any)
		if cfg["minute"] != int64(5) || cfg["http_method"] != "GET" {
			t.Errorf("patched config = %#v", cfg)
		}
		_, err = s.Update(ctx, "plugins", id, map[string]any{"name": "other"})
		wantCode(t, err, store.CodeSchemaViolation)
		put, err := s.Upsert(ctx, "plugins", id, map[string]any{"name": "test-transformer"})
		if err != nil {
			t.Fatal(err)
		}
		if put["config"].(map[string]any)["http_method"] != nil || put["created_at"] != p["created_at"] {
			t.Errorf("put = %#v", put)
		}
		_, err = s.Update(ctx, "services", "missing", map[string]any{"host": "x"})
		wantCode(t, err, store.CodeNotFound)
		svc, err := s.Upsert(ctx, "services", "made-by-put", map[string]any{"host": "example.com"})
		if err != nil || svc["name"] != "made-by-put" {
			t.Fatalf("upsert by name: %v %v", svc, err)
		}
	})

	t.Run("PagingAndTags", func(t *testing.T) {
		s, _ := newStore(t, false)
		for i := 0; i < 250; i++ {
			tags := []any{"all"}
			if i%2 == 0 {
				tags = append(tags, "even")
			}
			if i%5 == 0 {
				tags = append(tags, "five")
			}
			mustInsert(t, s, "consumers", map[string]any{"username": fmt.Sprintf("u%03d", i), "tags": tags})
		}
		var ids []string
		offset := ""
		pages := 0
		for {
			page, err := s.List(ctx, "consumers", store.ListQuery{Size: 100, Offset: offset})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, r := range page.Data {
				ids = append(ids, r["id"].(string))
			}
			if page.Offset == "" {
				break
			}
			offset = page.Offset
		}
		if pages != 3 || len(ids) != 250 || !sort.StringsAreSorted(ids) {
			t.Errorf("paged %d pages, %d ids, sorted=%v", pages, len(ids), sort.StringsAreSorted(ids))
		}
		count := func(q store.ListQuery) int {
			q.Size = 1000
			page, err := s.List(ctx, "consumers", q)
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Data)
		}
		if n := count(store.ListQuery{Tags: []string{"even", "five"}}); n != 25 {
			t.Errorf("even AND five = %d, want 25", n)
		}
		if n := count(store.ListQuery{Tags: []string{"even", "five"}, TagsAny: true}); n != 150 {
			t.Errorf("even OR five = %d, want 150", n)
		}
		_, err := s.List(ctx, "consumers", store.ListQuery{Size: 1001})
		wantCode(t, err, store.CodeInvalidSize)
		_, err = s.List(ctx, "consumers", store.ListQuery{Offset: "!!"})
		wantCode(t, err, store.CodeInvalidOffset)
		tags, err := s.ListTags(ctx, "five", 10, "")
		if err != nil || len(tags.Data) != 10 || tags.Offset == "" || tags.Data[0].Entity != "consumers" {
			t.Fatalf("tags page: %+v %v", tags, err)
		}
	})

	t.Run("InsertUnder", func(t *testing.T) {
		s, events := newStore(t, false)
		c := mustInsert(t, s, "consumers", map[string]any{"username": "alice"})
		other := mustInsert(t, s, "consumers", map[string]any{"username": "bob"})
		cases := []struct {
			name, key string
			in        map[string]any
			// code is the error's code; 0 is a create, -1 ErrNotFound.
			code store.Code
		}{
			{name: "by username", key: "alice", in: map[string]any{"key": "k1"}},
			{name: "by id", key: c["id"].(string), in: map[string]any{"key": "k2"}},
			// The URL's parent wins over the body's, as Kong's nested
			// endpoints scope the write.
			{name: "body names another consumer", key: "alice", in: map[string]any{"key": "k3", "consumer": map[string]any{"id": other["id"]}}},
			{name: "unknown username", key: "carol", in: map[string]any{"key": "k4"}, code: -1},
			{name: "unknown id", key: "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86", in: map[string]any{"key": "k5"}, code: -1},
			{name: "NUL in the key", key: "al\x00ice", in: map[string]any{"key": "k6"}, code: -1},
			{name: "duplicate key", key: "bob", in: map[string]any{"key": "k1"}, code: store.CodeUniqueViolation},
			{name: "schema violation", key: "alice", in: map[string]any{"key": "k7", "bogus": true}, code: store.CodeSchemaViolation},
		}
		for _, tc := range cases {
			*events = nil
			rec, err := s.InsertUnder(ctx, "keyauth_credentials", store.Parent{Entity: "consumers", Key: tc.key, Field: "consumer"}, tc.in)
			switch tc.code {
			case 0:
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if got := rec["consumer"].(map[string]any)["id"]; got != c["id"] {
					t.Errorf("%s: consumer %v, want %v", tc.name, got, c["id"])
				}
				stored, err := s.Get(ctx, "keyauth_credentials", rec["id"].(string))
				if err != nil || stored["consumer"].(map[string]any)["id"] != c["id"] {
					t.Errorf("%s: stored %v %v", tc.name, stored, err)
				}
				if len(*events) != 1 || (*events)[0].Op != store.OpCreate || (*events)[0].New["id"] != rec["id"] {
					t.Errorf("%s: events %v", tc.name, *events)
				}
			case -1:
				if !store.IsNotFound(err) {
					t.Errorf("%s: %v, want not found", tc.name, err)
				}
			default:
				wantCode(t, err, tc.code)
			}
			if tc.code != 0 && len(*events) != 0 {
				t.Errorf("%s: a refused write published %v", tc.name, *events)
			}
		}
		page, err := s.List(ctx, "keyauth_credentials", store.ListQuery{ForeignField: "consumer", ForeignKey: "alice"})
		if err != nil || len(page.Data) != 3 {
			t.Fatalf("alice's keys: %d %v", len(page.Data), err)
		}
		if n, _ := s.Count(ctx, "keyauth_credentials"); n != 3 {
			t.Errorf("%d credentials stored, want 3", n)
		}
	})

	t.Run("NestedListing", func(t *testing.T) {
		s, _ := newStore(t, false)
		a := mustInsert(t, s, "services", map[string]any{"name": "a", "host": "a.test"})
		mustInsert(t, s, "services", map[string]any{"name": "b", "host": "b.test"})
		for i := 0; i < 3; i++ {
			mustInsert(t, s, "routes", map[string]any{"paths": []any{fmt.Sprintf("/a%d", i)}, "service": map[string]any{"id": a["id"]}})
		}
		mustInsert(t, s, "routes", map[string]any{"paths": []any{"/b"}, "service": map[string]any{"name": "b"}})
		page, err := s.List(ctx, "routes", store.ListQuery{ForeignField: "service", ForeignKey: "a"})
		if err != nil || len(page.Data) != 3 {
			t.Fatalf("routes of a: %d %v", len(page.Data), err)
		}
		_, err = s.List(ctx, "routes", store.ListQuery{ForeignField: "service", ForeignKey: "nope"})
		wantCode(t, err, store.CodeNotFound)
	})

	t.Run("ReopenKeepsEntities", func(t *testing.T) {
		s, _ := newStore(t, false)
		mustInsert(t, s, "services", map[string]any{"name": "kept", "host": "example.com"})
		c := mustInsert(t, s, "consumers", map[string]any{"username": "kept"})
		mustInsert(t, s, "basicauth_credentials", map[string]any{"consumer": map[string]any{"id": c["id"]}, "username": "kept", "password": "pw"})
		before, err := s.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Backend().Close()
		s2, _ := newStore(t, true)
		after, err := s2.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, after) {
			t.Errorf("after reopen:\n%v\nbefore:\n%v", after, before)
		}
	})

	t.Run("ExportImportRoundTrip", func(t *testing.T) {
		s, _ := newStore(t, false)
		svc := mustInsert(t, s, "services", map[string]any{"name": "crud", "url": "http://iris:52773/crud/", "tags": []any{"t1"}})
		mustInsert(t, s, "routes", map[string]any{"name": "crud-route", "paths": []any{"/persons"}, "strip_path": false, "service": map[string]any{"id": svc["id"]}})
		c := mustInsert(t, s, "consumers", map[string]any{"username": "user"})
		mustInsert(t, s, "basicauth_credentials", map[string]any{"consumer": map[string]any{"id": c["id"]}, "username": "user", "password": "user"})
		mustInsert(t, s, "plugins", map[string]any{"name": "test-transformer", "service": map[string]any{"id": svc["id"]}})
		dump, err := s.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fresh, _ := newStore(t, false)
		if err := fresh.Import(ctx, dump, store.ImportOptions{Raw: true}); err != nil {
			t.Fatal(err)
		}
		again, err := fresh.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(dump, again) {
			t.Errorf("round trip differs:\n%v\n%v", dump, again)
		}
		// A bad entity in an import leaves nothing behind.
		bad := map[string][]map[string]any{
			"services": {{"name": "ok", "host": "ok.test"}},
			"routes":   {{"paths": []any{"nope"}}},
		}
		empty, _ := newStore(t, false)
		if err := empty.Import(ctx, bad, store.ImportOptions{}); err == nil {
			t.Fatal("bad import accepted")
		}
		if n, _ := empty.Count(ctx, "services"); n != 0 {
			t.Errorf("failed import left %d services", n)
		}
	})
	runWriteTimeChecks(t, open)
	runKeys(t, open)
	runFilterChains(t, open)
	runPolicies(t, open)
	runDeniedIPs(t, open)
	runCounters(t, open)
}
