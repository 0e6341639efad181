package declarative

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	basicauth "github.com/gatehouse/gatehouse/runtime/plugins/basic-auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
	"github.com/gatehouse/gatehouse/store/sqlite"
	"github.com/gatehouse/gatehouse/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.export.yml golden files")

// testRegistry holds Kong's core entities and the bundled plugins' ones,
// the entities of a store opened with storetest.TestPlugins.
var testRegistry = func() *store.Registry {
	r, err := store.NewRegistry(store.MergeEntities(store.KongEntities(), storetest.TestPlugins{}.Entities())...)
	if err != nil {
		panic(err)
	}
	return r
}()

var fixedNow = func() time.Time { return time.Unix(1700000000, 0) }

func newStore(t testing.TB) *store.Store {
	t.Helper()
	b, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return store.New(b, store.Options{Plugins: storetest.TestPlugins{}, Now: fixedNow})
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustParse(t testing.TB, data []byte) *Config {
	t.Helper()
	cfg, err := Parse(data, testRegistry)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return cfg
}

func load(t testing.TB, data []byte) *store.Store {
	t.Helper()
	s := newStore(t)
	if err := mustParse(t, data).Load(context.Background(), s, true); err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

func mustExport(t testing.TB, s *store.Store) []byte {
	t.Helper()
	out, err := Export(context.Background(), s)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return out
}

// goldenFiles are the valid files under testdata, each with its export
// golden file <name>.export.yml.
var goldenFiles = []string{"training.yml", "references.yml", "legacy.yml", "keys.yml"}

func TestGoldenExports(t *testing.T) {
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			got := mustExport(t, load(t, readFile(t, name)))
			golden := strings.TrimSuffix(name, filepath.Ext(name)) + ".export.yml"
			if *update {
				if err := os.WriteFile(filepath.Join("testdata", golden), got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := readFile(t, golden); !bytes.Equal(got, want) {
				t.Errorf("export differs from testdata/%s (run with -update to accept):\n%s", golden, got)
			}
		})
	}
}

func TestJSONIsYAML(t *testing.T) {
	fromYAML := mustExport(t, load(t, readFile(t, "training.yml")))
	fromJSON := mustExport(t, load(t, readFile(t, "training.json")))
	if !bytes.Equal(fromYAML, fromJSON) {
		t.Errorf("training.json and training.yml load differently:\n%s\n%s", fromJSON, fromYAML)
	}
}

func TestGenerateIDFollowsKong(t *testing.T) {
	// Kong 2.x's spec/02-integration/04-admin_api/15-off_spec.lua addresses
	// target 10.20.30.40 of upstream foo, declared without ids, by this id:
	// the key is "<target>:<upstream id>" in the "targets" namespace.
	upstream := GenerateID("upstreams", "foo")
	if got := GenerateID("targets", "10.20.30.40:"+upstream); got != "c830b59e-59cc-5392-adfd-b414d13adfc4" {
		t.Errorf("target id = %s", got)
	}
}

func TestTrainingIDs(t *testing.T) {
	cfg := mustParse(t, readFile(t, "training.yml"))
	if cfg.FormatVersion != "3.0" || !cfg.Transform || !strings.HasPrefix(cfg.Comment, "IAM training") {
		t.Errorf("metadata = %q %v %q", cfg.FormatVersion, cfg.Transform, cfg.Comment)
	}
	ents := cfg.Entities()
	// Kong 3.x's keys: endpoint keys for services, routes and consumers,
	// "<entity>:*:<cache key>" for entities with a cache key.
	const (
		crud  = "8f778753-139e-550d-ba7d-9e77f667d284"
		route = "5b7efafb-c6f4-5fff-9667-5f2752cbb3ba"
		anon  = "1cd57acc-61b9-5afa-9668-80123fa9b98d"
		user  = "c293c4f1-ab40-5dee-8aea-83b649e34200"
	)
	want := map[string]string{
		"services":              GenerateID("services", "crud"),
		"routes":                GenerateID("routes", "crud-route"),
		"basicauth_credentials": GenerateID("basicauth_credentials", "basicauth_credentials:*:user"),
		"acls":                  GenerateID("acls", "acls:*:"+GenerateID("consumers", "user")+":user"),
		"plugins":               GenerateID("plugins", "plugins:*:test-transformer::"+GenerateID("services", "crud")+"::"),
	}
	for entity, id := range want {
		if len(ents[entity]) != 1 || ents[entity][0]["id"] != id {
			t.Errorf("%s = %v, want id %s", entity, ents[entity], id)
		}
	}
	for name, id := range map[string]string{"crud": crud, "crud-route": route, "anonymous": anon, "user": user} {
		entity := "services"
		switch name {
		case "crud-route":
			entity = "routes"
		case "anonymous", "user":
			entity = "consumers"
		}
		key := "name"
		if entity == "consumers" {
			key = "username"
		}
		found := false
		for _, rec := range ents[entity] {
			if rec[key] == name {
				found = true
				if rec["id"] != id {
					t.Errorf("%s %s id = %v, want %s", entity, name, rec["id"], id)
				}
			}
		}
		if !found {
			t.Errorf("%s %s missing", entity, name)
		}
	}
	svc := map[string]any{"id": crud}
	if r := ents["routes"][0]; !reflect.DeepEqual(r["service"], svc) {
		t.Errorf("route service = %v", r["service"])
	}
	if p := ents["plugins"][0]; !reflect.DeepEqual(p["service"], svc) || p["route"] != nil || p["consumer"] != nil {
		t.Errorf("plugin = %v", p)
	}
	for _, entity := range []string{"basicauth_credentials", "acls"} {
		if c := ents[entity][0]; !reflect.DeepEqual(c["consumer"], map[string]any{"id": user}) {
			t.Errorf("%s consumer = %v", entity, c["consumer"])
		}
	}

	s := load(t, readFile(t, "training.yml"))
	cred, err := s.Get(context.Background(), "basicauth_credentials", "user")
	if err != nil {
		t.Fatal(err)
	}
	if cred["password"] != basicauth.HashPassword("user", user) {
		t.Errorf("password stored as %v", cred["password"])
	}
	svcRec, err := s.Get(context.Background(), "services", "crud")
	if err != nil {
		t.Fatal(err)
	}
	if svcRec["host"] != "iris" || svcRec["port"] != int64(52773) || svcRec["path"] != "/crud/" {
		t.Errorf("service = %v", svcRec)
	}
}

func TestLoadIsRepeatable(t *testing.T) {
	data := readFile(t, "references.yml")
	s1, s2 := load(t, data), load(t, data)
	if a, b := mustExport(t, s1), mustExport(t, s2); !bytes.Equal(a, b) {
		t.Errorf("two loads differ:\n%s\n%s", a, b)
	}
	// Reloading with replace gives the same entities again.
	before, _ := s1.Export(context.Background())
	if err := mustParse(t, data).Load(context.Background(), s1, true); err != nil {
		t.Fatal(err)
	}
	after, _ := s1.Export(context.Background())
	if !reflect.DeepEqual(before, after) {
		t.Errorf("reload changed the store")
	}
	// Without replace the same entities collide.
	err := mustParse(t, data).Load(context.Background(), s1, false)
	if !IsInvalid(err) || !strings.Contains(err.Error(), "UNIQUE violation") {
		t.Errorf("load over itself: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			first := load(t, readFile(t, name))
			exported := mustExport(t, first)
			cfg := mustParse(t, exported)
			if cfg.Transform || cfg.FormatVersion != "3.0" {
				t.Errorf("export metadata: transform=%v version=%q", cfg.Transform, cfg.FormatVersion)
			}
			second := newStore(t)
			if err := cfg.Load(ctx, second, false); err != nil {
				t.Fatalf("loading the export: %v\n%s", err, exported)
			}
			a, err := first.Export(ctx)
			if err != nil {
				t.Fatal(err)
			}
			b, err := second.Export(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("round trip differs:\n%v\n%v", a, b)
			}
			if again := mustExport(t, second); !bytes.Equal(exported, again) {
				t.Errorf("second export differs:\n%s\n%s", exported, again)
			}
			if bytes.Contains(exported, []byte("null")) && name == "training.yml" {
				t.Errorf("export keeps nulls:\n%s", exported)
			}
			if name == "training.yml" {
				hash := basicauth.HashPassword("user", GenerateID("consumers", "user"))
				if !bytes.Contains(exported, []byte("password: "+hash)) || bytes.Contains(exported, []byte("password: user")) {
					t.Errorf("password not exported hashed:\n%s", exported)
				}
			}
		})
	}
}

func TestRawLoadKeepsValues(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	cfg := mustParse(t, []byte(`
_format_version: "3.0"
_transform: false
services:
- name: crud
  url: http://iris:52773/crud/
consumers:
- username: user
  basicauth_credentials:
  - username: user
    password: 0123456789abcdef0123456789abcdef01234567
upstreams:
- name: cluster
  targets:
  - target: 10.0.0.1
`))
	if err := cfg.Load(ctx, s, false); err != nil {
		t.Fatal(err)
	}
	cred, err := s.Get(ctx, "basicauth_credentials", "user")
	if err != nil {
		t.Fatal(err)
	}
	if cred["password"] != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("raw password changed to %v", cred["password"])
	}
	svc, err := s.Get(ctx, "services", "crud")
	if err != nil || svc["host"] != "iris" {
		t.Errorf("service = %v %v", svc, err)
	}
	page, err := s.List(ctx, "targets", store.ListQuery{})
	if err != nil || len(page.Data) != 1 || page.Data[0]["target"] != "10.0.0.1:8000" {
		t.Errorf("targets = %v %v", page, err)
	}
}

func TestLegacyRoutePaths(t *testing.T) {
	routes := mustParse(t, readFile(t, "legacy.yml")).Entities()["routes"]
	want := []any{`~/users/\d+/orders`, "/plain/~user/profile"}
	if len(routes) != 1 || !reflect.DeepEqual(routes[0]["paths"], want) {
		t.Errorf("paths = %v, want %v", routes, want)
	}
	for in, out := range map[string]string{
		"/a//b/../c/./d": "/a/c/d",
		"/%41%2f":        "/A%2F",
		"/.":             "/",
		`/\d%2e%2F`:      `~/\d\.%2F`,
	} {
		if got := migratePath(in); got != out {
			t.Errorf("migratePath(%q) = %q, want %q", in, got, out)
		}
	}
}

// TestBadFiles loads every file under testdata/bad and expects an invalid
// declarative configuration error whose message contains the text of the
// file's first line, "# error: <text>".
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# error: ")
			if !ok {
				t.Fatalf("first line %q lacks '# error: '", first)
			}
			err = loadErr(t, data)
			checkInvalid(t, err, want)
		})
	}
}

// loadErr parses data and, when it parses, loads it into an empty store,
// checking that a failed load left the store empty.
func loadErr(t *testing.T, data []byte) error {
	t.Helper()
	cfg, err := Parse(data, testRegistry)
	if err != nil {
		return err
	}
	s := newStore(t)
	err = cfg.Load(context.Background(), s, false)
	if err != nil {
		for _, e := range s.Registry().All() {
			if n, _ := s.Count(context.Background(), e.Name); n != 0 {
				t.Errorf("failed load left %d %s", n, e.Name)
			}
		}
	}
	return err
}

func checkInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	e, ok := store.AsError(err)
	if !ok || e.Code != store.CodeDeclarativeConfig || e.Code.Name() != "invalid declarative configuration" {
		t.Fatalf("error %T %v is not a declarative configuration error", err, err)
	}
	if !strings.HasPrefix(e.Message, "declarative config is invalid: ") {
		t.Errorf("message %q lacks Kong's prefix", e.Message)
	}
	if !strings.Contains(e.Message, want) {
		t.Errorf("message %q does not contain %q", e.Message, want)
	}
	if e.Fields.Empty() {
		t.Errorf("no fields in %v", e)
	}
}

func TestParseErrors(t *testing.T) {
	const v3 = "_format_version: \"3.0\"\n"
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", `{error="failed parsing declarative configuration: expected an object"}`},
		{"scalar", "hello", "expected an object"},
		{"json syntax", `{"_format_version": "3.0"`, "failed parsing declarative configuration"},
		{"version 2.0", `_format_version: "2.0"`, `_format_version="expected one of: 1.1, 2.1, 3.0"`},
		{"version list", `_format_version: ["3.0"]`, `_format_version="expected a string"`},
		{"comment", v3 + "_comment: [1]", `_comment="expected a string"`},
		{"unknown keys", v3 + "vaults: []\nfoo: 1", `{foo="unknown field",vaults="unknown field"}`},
		{"entity not a record", v3 + "services:\n- crud", `{services={"expected a record"}}`},
		{"second entity not a record", v3 + "services:\n- host: a\n- 5", `{services={[2]="expected a record"}}`},
		{"nested not a list", v3 + "services:\n- host: a\n  routes: r", `{services={{routes="expected an array"}}}`},
		{"reference by record", v3 + "routes:\n- paths: [/]\n  service: {name: crud}", `invalid reference 'service: {\"name\":\"crud\"}' (no such entry in 'services')`},
		{"reference to a consumer", v3 + "plugins:\n- name: test-transformer\n  consumer: anonymous", `{plugins={{consumer="invalid reference 'consumer: anonymous' (no such entry in 'consumers')"}}}`},
		{"reference by custom_id", v3 + "consumers:\n- custom_id: c1\nacls:\n- consumer: c1\n  group: g", `invalid reference 'consumer: c1'`},
		{"duplicate id", v3 + "services:\n- id: 5cc8dee4-066d-492e-b2f8-bd77eb0a4c86\n  host: a\n- id: 5cc8dee4-066d-492e-b2f8-bd77eb0a4c86\n  host: b",
			`{services={[2]={["@entity"]={"uniqueness violation: 'services' entity with primary key set to '5cc8dee4-066d-492e-b2f8-bd77eb0a4c86' already declared"}}}}`},
		{"duplicate nested route", v3 + "services:\n- host: a\n  routes:\n  - name: r\n    paths: [/a]\n- host: b\n  routes:\n  - name: r\n    paths: [/b]",
			`{services={[2]={routes={{["@entity"]={"uniqueness violation: 'routes' entity with name set to 'r' already declared"}}}}}}`},
		{"nested parent mismatch", v3 + "services:\n- name: a\n  host: a\n  routes:\n  - paths: [/]\n    service: b\n- name: b\n  host: b",
			`{services={{routes={{service="value must be null"}}}}}`},
		{"infinite number", v3 + "services:\n- host: a\n  retries: .inf", "infinite and NaN numbers are not supported"},
		{"duplicate yaml key", v3 + "services: []\nservices: []", "already defined"},
		{"several errors", "_transform: 1\nservices: 2", `{_format_version="required field missing",_transform="expected a boolean",services="expected an array"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in), testRegistry)
			checkInvalid(t, err, c.want)
		})
	}
}

func TestLoadErrorShape(t *testing.T) {
	err := loadErr(t, readFile(t, filepath.Join("bad", "route_path.yml")))
	e, ok := store.AsError(err)
	if !ok {
		t.Fatalf("error %v", err)
	}
	services, _ := e.Fields["services"].([]any)
	if len(services) != 1 {
		t.Fatalf("fields = %#v", e.Fields)
	}
	routes, _ := services[0].(schema.Errors)["routes"].([]any)
	if len(routes) != 2 || routes[0] != nil {
		t.Fatalf("routes = %#v", routes)
	}
	paths := routes[1].(schema.Errors)["paths"]
	if !reflect.DeepEqual(paths, []any{"should start with: / (fixed path) or ~/ (regex path)"}) {
		t.Errorf("paths error = %#v", paths)
	}
}

func TestFailedLoadKeepsStore(t *testing.T) {
	ctx := context.Background()
	s := load(t, readFile(t, "references.yml"))
	before, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := mustParse(t, []byte("_format_version: \"3.0\"\nservices:\n- name: ok\n  host: ok\nroutes:\n- paths: [nope]\n"))
	for _, replace := range []bool{true, false} {
		if err := bad.Load(ctx, s, replace); !IsInvalid(err) {
			t.Fatalf("replace=%v: %v", replace, err)
		}
		after, err := s.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, after) {
			t.Errorf("replace=%v: failed load changed the store", replace)
		}
	}
}

func TestLuaPretty(t *testing.T) {
	tree := schema.Errors{
		"services": []any{nil, schema.Errors{"@entity": []any{"a \"b\""}, "port": "bad", "end": "x"}},
		"list":     []any{"a", "b"},
		"empty":    schema.Errors{},
	}
	want := `{empty={},list={"a","b"},services={[2]={["@entity"]={"a \"b\""},["end"]="x",port="bad"}}}`
	if got := luaPretty(tree); got != want {
		t.Errorf("luaPretty = %s\nwant        %s", got, want)
	}
}
